"""SIIM-scale rehearsal: the README's five console commands on a synthetic set of the SIIM-ACR training set's size.

Run from the repository root with the project's venv (nice it on a shared machine):
    nice -n 19 python bench/siim_scale.py --dest /tmp/siim_scale [--n-train 12047 --n-test 3205 --reuse]

1. Data. `make_synth_siim(..., size=1024, res=256)` renders `--distinct` films (default 1,000, 22 % positive) at 256 px
   and upsamples them to 1024² JPEG-Baseline DICOMs (the labels by nearest neighbour, so the RLEs match the pixels).
   To keep generation affordable, the `--n-train` training DICOMs (default 12,047, SIIM's count) are **copies** of
   those distinct films under fresh unique UIDs: film `i` is distinct film `i % distinct`, re-saved with pydicom with a
   new SOPInstanceUID (also in the file meta), StudyInstanceUID and SeriesInstanceUID, in SIIM's nested layout
   `dicom-images-train/<study>/<series>/<sop>.dcm`; its `train-rle.csv` rows are the original's (the leading-space
   header, ` -1`, one row per region) under the new ImageId. So the positive fraction is 22 % up to the last partial
   cycle. The `--n-test` test DICOMs (`dicom-images-test/`, SIIM's 3,205) are copies too, under another UID stream,
   without labels. Pixels repeat, so nothing here measures accuracy; it measures time and memory at SIIM's size.
   `--reuse` keeps a set already in `--dest` (checked by its counts) instead of generating it again.
2. The README's commands, each a subprocess (the console scripts, so whatever PYTHONPATH says is the package):
   ptx_prepare (256 px cache, 5 folds), ptx_train --task cls and --task seg on fold 0 with tiny networks (the demo's
   `resnet10t` classifier, `mobilenetv3_small_050` U-Net, random initial weights, no download) for ONE epoch at
   `--train-size` px, ptx_evaluate --folds 0 --bundle-fold 0 (out-of-fold calibration, Table 5.1, a bundle), and
   ptx_predict with --report on the `--n-test` test films, and again on the first `--n-small` of them (hard links) to
   see whether its memory grows with the number of films.
3. Each stage is timed (wall) and its CPU seconds are the user+sys of all its finished descendants
   (`getrusage(RUSAGE_CHILDREN)` before/after). A thread samples the stage's whole process tree with psutil every
   0.2 s: the peak over time of the summed RSS (which counts shared pages once per process: an upper bound) and the
   summed PSS (shared pages split between the processes: what the tree really holds), and the largest single process.
   Time the run spent stopped (SIGSTOP, e.g. paused by someone who needs a quiet machine) is counted apart: wall
   includes it, "of it stopped" says how much.
It prints a Markdown table. Under `nice` on a shared machine the wall times are upper bounds; the CPU seconds are
closer to what a quiet machine would take in wall time (divided by the cores each stage keeps busy).
"""
import argparse, os, platform, resource, shutil, subprocess, sys, threading, time, warnings
from pathlib import Path
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]   # keep bench/*.py from shadowing modules
import psutil

def load() -> str: return '/'.join(f'{x:.2f}' for x in os.getloadavg())

# ---------------------------------------------------------------- data

def _copy_one(job):
    "Re-save DICOM `src` under the UIDs of copy `i` of stream `what`, in SIIM's layout under `root`; its new ImageId"
    import pydicom
    from pydicom.uid import generate_uid
    src, i, what, root = job
    ds = pydicom.dcmread(src)   # the JPEG frame is copied as bytes, never decoded
    uid = lambda k: generate_uid('1.2.826.0.1.3680043.8.498.', entropy_srcs=['siim_scale', what, str(i), k])
    sop = uid('sop')
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid('study'), uid('series')
    d = Path(root)/ds.StudyInstanceUID/ds.SeriesInstanceUID
    d.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # SIIM's bare-number ages
        ds.save_as(d/f'{sop}.dcm', enforce_file_format=True)
    return sop

def _count(d:Path) -> int: return sum(1 for _ in d.rglob('*.dcm')) if d.exists() else 0

def make_set(dest:Path, n_train:int, n_test:int, distinct:int, res:int, workers:int, reuse:bool) -> dict:
    "The training and test sets in `dest/siim` (see the docstring); what was done and how long it took"
    from fastcore.parallel import parallel
    from ptx_cascade.synth import make_synth_siim
    from ptx_cascade.rle import read_rle_csv
    from ptx_cascade.core import write_text
    siim = dest/'siim'
    csv, train_dir, test_dir = siim/'train-rle.csv', siim/'dicom-images-train', siim/'dicom-images-test'
    if reuse and csv.exists() and _count(train_dir) == n_train and _count(test_dir) == n_test:
        return dict(reused=True, distinct=None, s=0.)
    t0 = time.perf_counter()
    shutil.rmtree(siim, ignore_errors=True)
    base = make_synth_siim(dest/'distinct', n=min(distinct, n_train), size=1024, res=res, seed=0,
                           num_workers=workers, overwrite=True, progress=False)
    t_gen = time.perf_counter() - t0
    files = {f.stem: f for f in sorted((base/'dicom-images-train').rglob('*.dcm'))}
    df = read_rle_csv(base/'train-rle.csv')
    ids = list(dict.fromkeys(df.ImageId))          # CSV order
    rows = df.groupby('ImageId', sort=False).EncodedPixels.apply(list).to_dict()
    train_dir.mkdir(parents=True); test_dir.mkdir(parents=True)
    jobs = [(files[ids[i % len(ids)]], i, 'train', train_dir) for i in range(n_train)]
    new = parallel(_copy_one, jobs, n_workers=workers, progress=False, chunksize=64)
    text = ''.join(f'{sop}, {r}\n' for (src, *_), sop in zip(jobs, new) for r in rows[src.stem])
    write_text(csv, 'ImageId, EncodedPixels\n' + text)
    parallel(_copy_one, [(files[ids[i % len(ids)]], i, 'test', test_dir) for i in range(n_test)],
             n_workers=workers, progress=False, chunksize=64)
    shutil.rmtree(base)
    return dict(reused=False, distinct=len(ids), s=time.perf_counter() - t0, s_render=t_gen)

def small_test(dest:Path, n_small:int) -> Path:
    "A folder of hard links to the first `n_small` test DICOMs (sorted), for the second `ptx_predict`"
    d = dest/f'test{n_small}'
    if _count(d) == n_small: return d
    shutil.rmtree(d, ignore_errors=True)
    for f in sorted((dest/'siim'/'dicom-images-test').rglob('*.dcm'))[:n_small]:
        g = d/f.relative_to(dest/'siim'/'dicom-images-test'); g.parent.mkdir(parents=True, exist_ok=True)
        os.link(f, g)
    return d

# ---------------------------------------------------------------- measuring a stage

class TreeSampler(threading.Thread):
    "Peak summed RSS and PSS (MB) of the process tree of `pid`, and the largest single RSS, every `dt` s"
    def __init__(self, pid:int, dt:float=0.2):
        super().__init__(daemon=True); self.pid, self.dt, self.stop = pid, dt, threading.Event()
        self.rss = self.pss = self.one = self.paused = 0.; self.nproc = 0
    def run(self):
        try: root = psutil.Process(self.pid)
        except psutil.NoSuchProcess: return
        last = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            try: stopped = root.status() == psutil.STATUS_STOPPED
            except psutil.NoSuchProcess: break
            # a gap of seconds between samples: this process was stopped too (SIGSTOP of the process group, by someone
            # pausing the run for a quiet machine); a stopped stage itself is counted sample by sample
            if now - last > 5: self.paused += now - last - self.dt
            elif stopped: self.paused += now - last
            last = now
            rss = pss = one = 0.; n = 0
            try: procs = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess: break
            for p in procs:
                try: m = p.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess): continue
                rss += m.rss/2**20; pss += getattr(m, 'pss', m.rss)/2**20; one = max(one, m.rss/2**20); n += 1
            self.rss, self.pss, self.one = max(self.rss, rss), max(self.pss, pss), max(self.one, one)
            self.nproc = max(self.nproc, n)
            time.sleep(self.dt)

def run_stage(name:str, cmd:list, log:Path) -> dict:
    "Run `cmd` (its output to `log`); wall s, CPU s of it and its descendants, peak memory of its tree"
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {' '.join(map(str, cmd))}", flush=True)
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    with open(log, 'w') as fh:
        p = subprocess.Popen([str(c) for c in cmd], stdout=fh, stderr=subprocess.STDOUT)
        s = TreeSampler(p.pid); s.start()
        rc = p.wait()
    wall = time.perf_counter() - t0
    s.stop.set(); s.join()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if rc: print(log.read_text()[-3000:]); raise SystemExit(f"{name} failed with exit status {rc}; log: {log}")
    return dict(stage=name, wall=wall, paused=s.paused, cpu=cpu, rss=s.rss, pss=s.pss, one=s.one, nproc=s.nproc)

# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dest', type=Path, default=Path('/tmp/siim_scale'), help='working folder (data, cache, runs, logs)')
    ap.add_argument('--n-train', type=int, default=12047); ap.add_argument('--n-test', type=int, default=3205)
    ap.add_argument('--n-small', type=int, default=800, help='films of the second ptx_predict (RSS vs number of films)')
    ap.add_argument('--distinct', type=int, default=1000, help='distinct rendered films the copies are made of')
    ap.add_argument('--res', type=int, default=256, help='render resolution of make_synth_siim (upsampled to 1024)')
    ap.add_argument('--reuse', action='store_true', help='keep a generated set already in DEST/siim (same counts)')
    ap.add_argument('--cache-size', type=int, default=256); ap.add_argument('--train-size', type=int, default=128)
    ap.add_argument('--cls-arch', default='resnet10t'); ap.add_argument('--seg-arch', default='mobilenetv3_small_050')
    ap.add_argument('--workers', type=int, default=os.cpu_count(), help='processes of the generation')
    ap.add_argument('--stages', default='prepare,cls,seg,evaluate,predict,predict_small')
    a = ap.parse_args()
    dest = a.dest.resolve(); dest.mkdir(parents=True, exist_ok=True); logs = dest/'logs'; logs.mkdir(exist_ok=True)
    print(f"machine: {platform.node()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{psutil.virtual_memory().total/2**30:.0f} GiB; Python {platform.python_version()}; load {load()}", flush=True)
    g = make_set(dest, a.n_train, a.n_test, a.distinct, a.res, a.workers, a.reuse)
    how = 'reused' if g['reused'] else f"made in {g['s']:.0f} s (rendering {g['distinct']} distinct films: {g['s_render']:.0f} s)"
    print(f"data: {how} -> {a.n_train} train + {a.n_test} test DICOMs in {dest/'siim'}; load {load()}", flush=True)
    siim, cache, rep = dest/'siim', dest/f'cache{a.cache_size}', dest/'report'
    bin_ = Path(sys.executable).parent
    tiny = ['--fold', 0, '--size', a.train_size, '--epochs', 1, '--freeze-epochs', 0, '--no-pretrained']
    stages = dict(
        prepare=['ptx_prepare', '--src', siim, '--dest', cache, '--size', a.cache_size],
        cls=['ptx_train', '--cache', cache, '--task', 'cls', '--arch', a.cls_arch, *tiny],
        seg=['ptx_train', '--cache', cache, '--task', 'seg', '--arch', a.seg_arch, *tiny],
        evaluate=['ptx_evaluate', '--cache', cache, '--out', rep, '--folds', 0, '--bundle-fold', 0],
        predict=['ptx_predict', '--model', rep/'bundle', '--src', siim/'dicom-images-test', '--out', dest/'submission.csv',
                 '--report', dest/'worklist', '--device', 'cpu'],
        predict_small=['ptx_predict', '--model', rep/'bundle', '--src', 'SMALL', '--out', dest/'submission_small.csv',
                       '--report', dest/'worklist_small', '--device', 'cpu'])
    res = []
    for k in a.stages.split(','):
        cmd = list(stages[k])
        if k == 'prepare': shutil.rmtree(cache, ignore_errors=True)   # a cold cache: prepare would skip cached films
        if k in ('cls', 'seg'): shutil.rmtree(cache/'models'/f'{k}_fold0', ignore_errors=True)
        if k == 'evaluate': shutil.rmtree(rep, ignore_errors=True)
        if k == 'predict_small': cmd[cmd.index('SMALL')] = small_test(dest, a.n_small)
        cmd[0] = bin_/cmd[0]
        r = run_stage(k, cmd, logs/f'{k}.log'); r['load'] = load(); res.append(r)
        print(f"  {r['wall']:.0f} s wall ({r['paused']:.0f} s of it stopped), {r['cpu']:.0f} CPU-s, peak RSS sum {r['rss']:.0f} MB (PSS {r['pss']:.0f} MB, "
              f"largest process {r['one']:.0f} MB, {r['nproc']} processes); load {r['load']}", flush=True)
    films = dict(prepare=a.n_train, cls=a.n_train, seg=a.n_train, evaluate='fold 0', predict=a.n_test, predict_small=a.n_small)
    print(f"\n{a.n_train} training / {a.n_test} test DICOMs at 1024², cache {a.cache_size} px, networks at {a.train_size} px, "
          f"one epoch, fold 0\n")
    print('| stage | films | wall s | of it stopped (s) | CPU s (user+sys) | peak RSS, tree sum (MB) | peak PSS, tree sum (MB) | largest process RSS (MB) | processes | load after |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|')
    for r in res:
        print(f"| {r['stage']} | {films[r['stage']]} | {r['wall']:.0f} | {r['paused']:.0f} | {r['cpu']:.0f} | {r['rss']:.0f} | {r['pss']:.0f} | "
              f"{r['one']:.0f} | {r['nproc']} | {r['load']} |")

if __name__ == '__main__': main()

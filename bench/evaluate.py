"""Memory and time of out-of-fold evaluation (`ptx_cascade.evaluate`) on a store of the full SIIM training size.

Run from the repository root with the project's venv:
    .venv/bin/python bench/evaluate.py [--n 12047 --size 256 --arrays cls,seg --report none|given|full --keep]
Builds, in a temporary folder (never the repository), a fake cache-like index of `--n` images (22 % positive, 5
folds) with a real 0/1 mask PNG (a random ellipse) for every positive, and an `OOFStore` at `--size` px. It writes
the arrays of `--arrays` fold by fold, 64 rows per `store.write` (as `collect_oof` does): `cls` (float32 per image,
higher for positives) and the uint8 maps (`seg`, `base`: a smooth low background plus a soft blob near the true
mask of positives, and a fainter false blob in some negatives). It then times
  * `calibrate_store(store, 'seg')` (pixel sums over the 19 thresholds x 11 min areas, then the gate search),
  * `fold_scores` at those settings (argmax and raw rows per fold),
  * `write_report` with `--report given` (at those settings, no second calibration) or `full` (calibrates again); default none,
while a thread samples /proc/self/status every 20 ms: VmRSS, and its split into RssAnon (heap: what the process
really holds) and RssFile (pages of the memory-mapped arrays, which the kernel can drop at any time). The point:
memory must stay far below the size of the arrays, so the whole 12k-image set fits on a Kaggle kernel.
"""
import argparse, os, platform, resource, shutil, sys, tempfile, threading, time, warnings
from pathlib import Path
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]   # keep bench/*.py from shadowing modules
warnings.filterwarnings('ignore')
import numpy as np, pandas as pd
from PIL import Image
import matplotlib; matplotlib.use('Agg')
from ptx_cascade.oof import OOFStore
from ptx_cascade.calibration import calibrate_store, fold_scores, table51
from ptx_cascade.evaluate import write_report

def status_mb() -> dict:
    "VmRSS, RssAnon, RssFile of this process in MB"
    out = {}
    for line in Path('/proc/self/status').read_text().splitlines():
        k, _, v = line.partition(':')
        if k in ('VmRSS', 'RssAnon', 'RssFile'): out[k] = int(v.split()[0]) / 1024
    return out

class Sampler(threading.Thread):
    "Peak VmRSS / RssAnon / RssFile since the last `reset`, sampled every `dt` seconds"
    def __init__(self, dt=0.02):
        super().__init__(daemon=True); self.dt, self.stop, self.lock = dt, threading.Event(), threading.Lock(); self.reset()
    def reset(self):
        with self.lock: self.peak = status_mb()
    def run(self):
        while not self.stop.is_set():
            s = status_mb()
            with self.lock: self.peak = {k: max(v, self.peak.get(k, 0)) for k, v in s.items()}
            time.sleep(self.dt)
    def read(self):
        with self.lock: return dict(self.peak)

def maxrss_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KiB
def load() -> str: return '/'.join(f'{x:.1f}' for x in os.getloadavg())
def du_mb(p:Path) -> float: return sum(f.stat().st_blocks * 512 for f in Path(p).rglob('*') if f.is_file()) / 2**20

def grid(size):
    y, x = np.mgrid[:size, :size].astype(np.float32)
    return y, x

def ellipses(rng, n, size, scale=1.0):
    "Centres (n,2), radii (n,2) and angles of `n` random ellipses fitting a `size`² image"
    r = rng.uniform(0.04, 0.16, (n, 2)) * size * scale
    c = rng.uniform(0.2, 0.8, (n, 2)) * size
    return c, r, rng.uniform(0, np.pi, n)

def ell_dist(c, r, th, yx):
    "Normalised elliptical distance (n,S,S): < 1 inside"
    y, x = yx
    dy, dx = y[None] - c[:, 0, None, None], x[None] - c[:, 1, None, None]
    co, si = np.cos(th)[:, None, None], np.sin(th)[:, None, None]
    u, v = (co * dx + si * dy) / r[:, 1, None, None], (-si * dx + co * dy) / r[:, 0, None, None]
    return np.sqrt(u * u + v * v, dtype=np.float32)

def build_index(root:Path, n:int, size:int, pos_frac:float, seed:int):
    "Fake `load_cache` table of `n` images with 0/1 mask PNGs for the positives; also the true ellipses"
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < pos_frac).astype(int)
    fold = rng.permutation(np.arange(n) % 5)
    ids = [f'1.2.276.0.7230010.3.1.4.{seed}.{i}' for i in range(n)]
    (root/'masks').mkdir(parents=True); (root/'images').mkdir()
    c, r, th = ellipses(rng, n, size)
    yx, masks = grid(size), []
    img = np.full((size, size), 128, np.uint8)
    for i in np.flatnonzero(label):
        fn = root/'masks'/f'{ids[i]}.png'
        Image.fromarray((ell_dist(c[i:i+1], r[i:i+1], th[i:i+1], yx)[0] < 1).astype(np.uint8)).save(fn, compress_level=1)
        masks.append(str(fn))
    mask_col = np.full(n, '', object); mask_col[label == 1] = masks
    # one shared grey image file for every row: only the overlays of write_report read images
    Image.fromarray(img).save(root/'images'/'grey.png')
    df = pd.DataFrame(dict(ImageId=ids, fold=fold, label=label, image=str(root/'images'/'grey.png'), mask=mask_col))
    return df, (c, r, th)

def fake_maps(rng, rows, label, ell, size, yx, gain=1.0):
    "Float32 probability maps (len(rows),S,S): smooth low background, a soft blob near the true mask of positives"
    k, b = len(rows), 8
    bg = rng.random((k, size // b + 1, size // b + 1), dtype=np.float32) ** 3 * 0.12
    p = np.repeat(np.repeat(bg, b, 1), b, 2)[:, :size, :size]
    c, r, th = (a[rows] for a in ell)
    pos = label[rows] == 1
    c = c + rng.normal(0, 0.15, c.shape) * r                       # predicted blob: the true one, shifted and rescaled
    r = r * rng.uniform(0.8, 1.2, r.shape)
    peak = np.where(pos, rng.uniform(0.55, 0.98, k), (rng.random(k) < 0.25) * rng.uniform(0.2, 0.7, k)) * gain   # false blobs in 25 % of negatives
    r = np.where(pos[:, None], r, r * 0.5)
    blob = np.clip(1.3 - ell_dist(c, r, th, yx), 0, 1) * peak[:, None, None].astype(np.float32)
    return np.clip(np.maximum(p, blob), 0, 1, dtype=np.float32)

def write_arrays(store, arrays, label, ell, size, seed, bs=64):
    "Write every array of `arrays` fold by fold, `bs` rows per `store.write`; seconds per array"
    rng, yx, secs = np.random.default_rng(seed + 1), grid(size), {}
    for name in arrays:
        t0 = time.perf_counter()
        for f in store.meta['folds']:
            rows = store.fold_idxs(f)
            for i in range(0, len(rows), bs):
                r = rows[i:i+bs]
                if name.startswith('cls'):
                    p = np.clip(np.where(label[r] == 1, rng.beta(5, 2, len(r)), rng.beta(1.5, 6, len(r))), 0, 1)
                else: p = fake_maps(rng, r, label, ell, size, yx, 0.9 if name.startswith('base') else 1.0)
                store.write(name, r, p)
        secs[name] = time.perf_counter() - t0
    return secs

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=12047, help='images (12,047: the SIIM training set)')
    ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--arrays', default='cls,seg', help="comma-separated: cls and maps such as seg, base")
    ap.add_argument('--pos', type=float, default=0.22)
    ap.add_argument('--report', choices=['given', 'full', 'none'], default="none", help="write_report (skipped by default: it repeats fold_scores' passes, ~1.5x its time) at calibrate_store's settings, calibrating again, or not at all")
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--keep', action='store_true', help='keep the temporary folder')
    ap.add_argument('--dir', default=None, help='parent of the temporary folder (default: $TMPDIR or /tmp)')
    a = ap.parse_args()
    arrays = [s.strip() for s in a.arrays.split(',') if s.strip()]
    maps = [s for s in arrays if not s.startswith('cls')]
    need = a.n * a.size**2 * len(maps) / 2**20
    free = shutil.disk_usage(a.dir or tempfile.gettempdir()).free / 2**20
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}, load average {load()}")
    print(f"N {a.n} images at {a.size} px, arrays {arrays}: {need:.0f} MB of uint8 maps; {free/1024:.1f} GB free in {a.dir or tempfile.gettempdir()}")
    if need * 1.2 + 200 > free: sys.exit(f"not enough free disk for {need:.0f} MB of maps")
    root = Path(tempfile.mkdtemp(prefix='ptx_bench_eval_', dir=a.dir))
    smp = Sampler(); smp.start(); base = status_mb()
    print(f"RSS after imports: VmRSS {base['VmRSS']:.0f} MB (RssAnon {base['RssAnon']:.0f}, RssFile {base['RssFile']:.0f})\n")
    rows = []
    def stage(name, fn):
        smp.reset(); t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        dt, cpu, pk = time.perf_counter() - t0, time.process_time() - c0, smp.read()
        rows.append(dict(stage=name, s=dt, cpu_s=cpu, VmRSS=pk['VmRSS'], RssAnon=pk['RssAnon'], RssFile=pk['RssFile'], maxrss=maxrss_mb(), load=load()))
        r = rows[-1]
        print(f"  {name:<28} {dt:7.1f} s (CPU {cpu:6.1f} s)  peak VmRSS {r['VmRSS']:6.0f} MB = RssAnon {r['RssAnon']:6.0f} + RssFile {r['RssFile']:6.0f}; ru_maxrss {r['maxrss']:6.0f} MB; load {r['load']}", flush=True)
        return out
    try:
        df, ell = stage('index + mask PNGs', lambda: build_index(root/'cache', a.n, a.size, a.pos, a.seed))
        store = stage('OOFStore.create', lambda: OOFStore.create(root/'oof', df, a.size))
        label = store.labels
        secs = stage(f'write {",".join(arrays)}', lambda: write_arrays(store, arrays, label, ell, a.size, a.seed))
        per_img = {k: v / a.n * 1000 for k, v in secs.items()}
        print('    per array: ' + ', '.join(f'{k} {v:.1f} s ({per_img[k]:.2f} ms/image)' for k, v in secs.items()))
        sizes = {p.name: p.stat().st_size / 2**20 for p in sorted((root/'oof').glob('*.npy'))}
        print(f"    store on disk: {du_mb(root/'oof'):.0f} MB allocated; " + ', '.join(f'{k} {v:.1f} MB' for k, v in sizes.items() if not k.endswith('.written.npy'))
              + f"; masks {du_mb(root/'cache'/'masks'):.0f} MB ({int(label.sum())} positive PNGs)")
        seg = 'seg' if 'seg' in maps else maps[0]
        cal = stage(f"calibrate_store('{seg}')", lambda: calibrate_store(store, seg, gate='cls' in arrays))
        s, surf = cal
        print(f"    best: {s} ({len(surf)} grid points)")
        base_s = None
        if 'base' in maps:
            base_s = stage("calibrate_store('base')", lambda: calibrate_store(store, 'base', gate=False))[0]
            print(f"    best: {base_s}")
        if seg == 'seg' and 'cls' in arrays:
            sc = stage('fold_scores (given settings)', lambda: fold_scores(store, s, base_s))
            print('    ' + table51(sc)[[('kaggle_dice', 'mean'), ('kaggle_dice', 'std')]].round(4).to_string().replace('\n', '\n    '))
            if a.report != 'none':
                kw = dict(cascade=s, baseline=base_s) if a.report == 'given' else {}
                rep = stage(f'write_report ({a.report})', lambda: write_report(store, root/'report', **kw))
                print(f"    {rep.name}: {len(rep.read_text())} chars, files {sorted(p.name for p in rep.parent.iterdir())}")
        total_maps = sum(v for k, v in sizes.items() if not k.startswith('cls') and not k.endswith('.written.npy'))
        one = max(v for k, v in sizes.items() if not k.startswith('cls') and not k.endswith('.written.npy'))
        ev = [r for r in rows if r['stage'].startswith(('calibrate', 'fold', 'write_report'))]
        pa, pv = max(r['RssAnon'] for r in ev), max(r['VmRSS'] for r in ev)
        print(f"\nmaps {total_maps:.0f} MB in all ({one:.0f} MB per array); RSS after imports {base['VmRSS']:.0f} MB (RssAnon {base['RssAnon']:.0f})")
        print(f"evaluation stages: peak RssAnon {pa:.0f} MB = +{pa - base['RssAnon']:.0f} MB over imports = {(pa - base['RssAnon'])/one:.1%} of one array; "
              f"peak VmRSS {pv:.0f} MB = +{pv - base['VmRSS']:.0f} MB = {(pv - base['VmRSS'])/one:.1%} of one array (file pages of the memmap included)")
        print(f"ru_maxrss {maxrss_mb():.0f} MB; load average at the end {load()}")
    finally:
        smp.stop.set()
        if a.keep: print(f"kept {root}")
        else: shutil.rmtree(root, ignore_errors=True)

if __name__ == '__main__': main()

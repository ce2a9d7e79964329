"""One process vs several: `ptx_train` and `ptx_predict` under `torchrun` on this machine's CPU, timed in one run.

    python bench/distributed.py [--n 240] [--nproc 2] [--dest /tmp/ptx_dist_bench]

Makes a synthetic SIIM-style set (`--n` DICOMs at 256 px), a 64 px cache, then times, each as a subprocess:
  * `ptx_train --task cls` (resnet18, random weights, 2 epochs, batch 8) on 1 process and on `--nproc` under torchrun;
  * `ptx_predict` with a bundle of those runs on the `--n` DICOMs, on 1 process and on `--nproc`.
Every run gets the same number of CPU threads in all (`OMP_NUM_THREADS`: nproc on one process, 1 per process under
torchrun), so the ratio says what splitting the work costs or gains, not what extra threads do. Prints a Markdown table
and checks that the sharded prediction's submission equals the one-process one. On a GPU node the same commands give
each process its own GPU; that is not measured here.
"""
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--n', type=int, default=240); p.add_argument('--nproc', type=int, default=2)
p.add_argument('--dest', default='/tmp/ptx_dist_bench'); p.add_argument('--keep', action='store_true')
a = p.parse_args()
dest = Path(a.dest); shutil.rmtree(dest, ignore_errors=True); dest.mkdir(parents=True)
bindir = Path(sys.executable).parent

from ptx_cascade.synth import make_synth_siim
from ptx_cascade.data import prepare_siim
from ptx_cascade.distributed import torchrun_cmd
siim = make_synth_siim(dest/'siim', n=a.n, size=256, seed=0, num_workers=0, progress=False)
prepare_siim(siim, dest/'cache', size=64, num_workers=0, progress=False)

def timed(cmd, threads):
    "Run `cmd` with `threads` OpenMP threads per process; its wall seconds (raises on failure)"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter(); r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if r.returncode: sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0

train = [bindir/'ptx_train', '--cache', dest/'cache', '--task', 'cls', '--fold', '0', '--arch', 'resnet18',
         '--size', '64', '--epochs', '2', '--bs', '8', '--no-pretrained', '--num-workers', '0']
rows = []
t1 = timed(train + ['--out', dest/'cls_p1'], threads=a.nproc)
tn = timed(torchrun_cmd(bindir/'ptx_train', *train[1:], '--out', dest/f'cls_p{a.nproc}', nproc=a.nproc), threads=1)
steps = [json.loads((dest/f'cls_p{n}'/'train.json').read_text())['steps_per_epoch'] for n in (1, a.nproc)]
rows.append(('ptx_train cls, 2 epochs', t1, tn, f'steps an epoch per process: {steps[0]} vs {steps[1]}'))

seg = [x if x != 'cls' else 'seg' for x in train]
timed(seg + ['--out', dest/'seg_p1'], threads=a.nproc)
from ptx_cascade.cascade import bundle_from_runs
bd = bundle_from_runs(dest/'cls_p1', dest/'seg_p1', dest/'bundle', calibration=dict(cls_thresh=0.5))
src = dest/'siim'/'dicom-images-train'
pred = [bindir/'ptx_predict', '--model', bd, '--src', src, '--device', 'cpu']
t1 = timed(pred + ['--out', dest/'p1'/'sub.csv'], threads=a.nproc)
tn = timed(torchrun_cmd(bindir/'ptx_predict', *pred[1:], '--out', dest/'pn'/'sub.csv', nproc=a.nproc), threads=1)
same = (dest/'p1'/'sub.csv').read_bytes() == (dest/'pn'/'sub.csv').read_bytes()
rows.append((f'ptx_predict, {a.n} DICOMs', t1, tn, f'submission identical: {same}'))

print(f'\nload average at the end (1, 5, 15 min): {os.getloadavg()}; {os.cpu_count()} CPUs\n')
print(f'| job | 1 process ({a.nproc} threads) s | {a.nproc} processes (1 thread each) s | ratio | note |')
print('|---|---|---|---|---|')
for job, t1, tn, note in rows: print(f'| {job} | {t1:.1f} | {tn:.1f} | {t1/tn:.2f} | {note} |')
if not a.keep: shutil.rmtree(dest, ignore_errors=True)

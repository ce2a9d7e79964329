"""Can the CPU demo's classifier (`ptx_demo`) rank the held-out test films at ROC AUC >= 0.90?

Builds the demo's data exactly as `cli.demo` does (400 synthetic 256 px DICOMs, `conspicuity=(2, 3)`, 22 % positive,
`siim_index(n_folds=5, seed=seed)`, fold 4 = held-out test films, fold 3 = validation, folds 0-2 train), optionally
adds `--extra` films generated with seed `seed + 1000` (other UIDs, never in fold 3 or 4) to the classifier's
training folds only, caches them at `--size` with `prepare_cache`, and trains the classifier with the library's
`cls_dls` / `cls_learner` / `cls_recipe` (random weights, flips only, `num_workers=0`, `set_seed(seed,
reproducible=True)`: what `cli.train(task='cls')` does). It prints the validation ROC AUC (fold 3) and the test-fold
ROC AUC, scored two ways: the test DICOMs read at `--size` (as a cache at that size would hold them), and as the
demo's bundle would score them (`CascadePredictor.cls_probs` on the DICOMs read at `--read-size`, the U-Nets' cache
size 128, resized to `--size`; without and with flip TTA). Also the wall time of generation, caching and training.

Run from the repository root with the project's venv, e.g.
    nice -n 10 python bench/demo_classifier_probe.py --seed 0 --extra 1500 --arch resnet10t --size 64 \
        --epochs 12 --bs 32 --lr 1e-2 --threads 1 --dest /tmp/probe
`--dest` keeps the generated films (`<dest>/s<seed>/data`, `<dest>/s<seed>/extra<N>`) and caches between runs: a
second run with the same seed and `--extra` skips generation, one with the same size also the caching.
"""
import argparse, sys, time, warnings
from pathlib import Path
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]
warnings.filterwarnings('ignore')
import numpy as np, pandas as pd, torch
from fastai.vision.all import set_seed, defaults
from ptx_cascade.synth import make_synth_siim
from ptx_cascade.data import siim_index, prepare_cache, cls_dls, rles_mask
from ptx_cascade.classifier import cls_learner, cls_recipe
from ptx_cascade.losses import get_loss
from ptx_cascade.dicom import read_dicom
from ptx_cascade.cascade import CascadePredictor
from ptx_cascade.metrics import roc_auc

p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
p.add_argument('--seed', type=int, default=0)
p.add_argument('--extra', type=int, default=0, help='extra films for the classifier (seed + 1000), training folds only')
p.add_argument('--extra-seed-offset', type=int, default=1000)
p.add_argument('--arch', default='resnet10t'); p.add_argument('--size', type=int, default=64)
p.add_argument('--epochs', type=int, default=12); p.add_argument('--bs', type=int, default=32)
p.add_argument('--lr', type=float, default=1e-2); p.add_argument('--loss', default='bce')
p.add_argument('--monitor', default='f1', help="best epoch by this validation metric ('f1' as cli.train, 'roc_auc', 'valid_loss')")
p.add_argument('--aug', default='flip'); p.add_argument('--threads', type=int, default=1)
p.add_argument('--n-workers', type=int, default=None, help='processes generating/indexing/caching; default all CPUs')
p.add_argument('--read-size', type=int, default=128, help="the demo's cache size, at which its bundle decodes test DICOMs")
p.add_argument('--n', type=int, default=400); p.add_argument('--gen-size', type=int, default=256)
p.add_argument('--dest', default='/tmp/demo_cls_probe')
a = p.parse_args()
torch.set_num_threads(a.threads)
nw = defaults.cpus if a.n_workers is None else a.n_workers
cons, test_fold, valid_fold = (2., 3.), 4, 3
root = Path(a.dest)/f's{a.seed}'
T = {}

def films(data:Path, n:int, seed:int) -> pd.DataFrame:
    "`make_synth_siim` + `siim_index` as `cli.demo` (generation skipped when `data` already holds the set)"
    if not (data/'train-rle.csv').is_file():
        make_synth_siim(data, n, a.gen_size, seed=seed, conspicuity=cons, n_workers=nw, progress=False)
    return siim_index(data/'train-rle.csv', data/'dicom-images-train', n_folds=5, seed=seed, n_workers=nw, progress=False)[0]

# 1. the demo's 400 films and their folds; the extra films (all training, fold 0)
t0 = time.perf_counter()
index = films(root/'data', a.n, a.seed)
if a.extra:
    ex = films(root/f'extra{a.extra}', a.extra, a.seed + a.extra_seed_offset).assign(fold=0)
    assert not set(ex.ImageId) & set(index.ImageId), 'extra films share ImageIds with the demo set'
else: ex = index.iloc[:0]
T['generate+index'] = time.perf_counter() - t0
te, dev = index[index.fold == test_fold].reset_index(drop=True), index[index.fold != test_fold]
cidx_in = pd.concat([dev, ex], ignore_index=True)

# 2. caches at --size: the classifier's (demo train/valid films + extra), and the test films (scoring only)
t0 = time.perf_counter()
tag = f'{a.size}_e{a.extra}'
cidx = prepare_cache(cidx_in, root/f'cls_cache{tag}', a.size, nw, progress=False)
tidx = prepare_cache(te, root/f'test_cache{a.size}', a.size, nw, progress=False)
T['cache'] = time.perf_counter() - t0
tr = cidx[cidx.fold != valid_fold]
print(f"seed {a.seed}: classifier trains on {len(tr)} films ({int(tr.label.sum())} positive; {len(ex)} extra), "
      f"validates on {int((cidx.fold == valid_fold).sum())} ({int(cidx[cidx.fold == valid_fold].label.sum())} positive), "
      f"test {len(te)} ({int(te.label.sum())} positive)", flush=True)

# 3. train as cli.train(task='cls') does, with the probe's settings
t0, c0 = time.perf_counter(), time.process_time()
set_seed(a.seed, reproducible=True)
dls = cls_dls(cidx, valid_fold, a.size, a.bs, aug=a.aug, num_workers=0)
learn = cls_learner(dls, a.arch, False, loss_func=get_loss(a.loss))
out = Path(a.dest)/'runs'/f's{a.seed}_{a.arch}_{a.size}_e{a.extra}_ep{a.epochs}_bs{a.bs}_lr{a.lr:g}_{a.monitor}'
with learn.no_bar(): cls_recipe(learn, a.epochs, a.lr, out_dir=out, monitor=a.monitor, freeze_epochs=0)
T['train'], cpu = time.perf_counter() - t0, time.process_time() - c0
hist = pd.read_csv(out/'history.csv')
print(hist.to_string(index=False, float_format=lambda v: f'{v:.3f}'))

# 4. score: validation fold (best epoch's weights), test films from their cache, test films as the demo's bundle would
vp, vt = learn.get_preds(dl=dls.valid)
v_auc = roc_auc(vp.flatten().numpy(), vt.flatten().numpy())
tp, _ = learn.get_preds(dl=dls.test_dl(tidx))
yt = tidx.label.to_numpy()
t_auc = roc_auc(tp.flatten().numpy(), yt)
imgs = [read_dicom(f, a.read_size) for f in te.fname]
net = learn.model.eval()
bund = {tta: roc_auc(CascadePredictor(net, None, cls_size=a.size, seg_size=a.read_size, read_size=a.read_size, tta=tta,
                                      device='cpu').cls_probs(imgs), te.label.to_numpy()) for tta in (False, True)}
area = np.array([rles_mask(r.rles, (r.Rows, r.Columns)).sum() if r.label else 0 for r in te.itertuples()])
neg = np.sort(tp.flatten().numpy()[yt == 0])[::-1]
print('test positives (prob, region area px at %d, negatives scoring higher):' % a.gen_size,
      ', '.join(f'{q:.2f}/{ar}/{int((neg > q).sum())}' for q, ar in sorted(zip(tp.flatten().numpy()[yt == 1], area[yt == 1]))))
times = ', '.join(f'{k} {v:.0f} s' for k, v in T.items())
print(f"RESULT seed {a.seed} {a.arch} size {a.size} extra {a.extra} epochs {a.epochs} bs {a.bs} lr {a.lr:g} loss {a.loss} "
      f"monitor {a.monitor}: valid AUC {v_auc:.3f} | test AUC {t_auc:.3f} (cache at {a.size}) | test AUC as bundle "
      f"(read {a.read_size}) {bund[False]:.3f}, TTA {bund[True]:.3f} | {times} "
      f"({T['train']/a.epochs:.1f} s/epoch; training CPU time {cpu:.0f} s, {cpu/a.epochs:.1f} s/epoch)", flush=True)

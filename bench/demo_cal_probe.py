"""Probe issue 12: does a larger calibration set make the demo's gate help more? Reuses a finished `ptx_demo` run.

    python bench/demo_cal_probe.py /tmp/demo_s100 --cal-extra 0 160 320 640

For each `--cal-extra N` it calibrates the demo's *trained* networks (its `models/`, untouched) on the validation
fold's films plus N fresh synthetic films (seed + 2000, the demo's generator settings; never trained on), then predicts
the demo's held-out test DICOMs through the bundle so calibrated, gated and ungated (the segmenter alone with its own
calibration), and prints one row: validation and test kaggle_dice of both, and the chosen settings. N = 0 repeats the
demo's own calibration (a check: its test scores must equal the demo's `metrics.json`).
Everything is written under `DEMO/probe_cal/`; the demo's own files are not changed.
"""
import argparse, json, shutil, warnings
from pathlib import Path
import numpy as np, pandas as pd
from ptx_cascade.all import *
from ptx_cascade.demo import _films, _scores, VALID_FOLD, DemoConfig

p = argparse.ArgumentParser(); p.add_argument('dest'); p.add_argument('--cal-extra', type=int, nargs='+', default=[0])
p.add_argument('--workers', type=int, default=2)
a = p.parse_args()
dest = Path(a.dest); work = dest/'probe_cal'
m = json.loads((dest/'metrics.json').read_text())
c = DemoConfig(**{k: v for k, v in m['config'].items() if k in DemoConfig.__dataclass_fields__})
c.conspicuity = tuple(c.conspicuity)
src = dest/'data'/'dicom-images-test'
te = siim_index(dest/'data'/'test-rle.csv', src, n_folds=5, seed=c.seed, num_workers=0, progress=False, warn=False)[0]
truth = {r.ImageId: rles_mask(r.rles, (r.Rows, r.Columns)).astype(bool) for r in te.itertuples()}
val = pd.read_csv(dest/'cache'/'index.csv')
val = val[val.fold == VALID_FOLD].drop(columns=['image', 'mask'])
cal_all = None
if max(a.cal_extra):
    cal_all = _films(work/'cal_data', max(a.cal_extra), c=c, seed=c.seed + 2000, nw=a.workers, progress=False)
print('| seed | cal films (pos) | val cascade | val seg alone | test cascade | test seg alone | margin | '
      'cascade settings (gate, thresh, area) | seg alone (thresh, area) | TP/FP cascade | TP/FP alone |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
for n in a.cal_extra:
    idx = pd.concat([val, cal_all.head(n).assign(fold=VALID_FOLD)] if n else [val], ignore_index=True)
    cache, out = work/f'cache_{n}', work/f'eval_{n}'
    for d in (cache, out): shutil.rmtree(d, ignore_errors=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        prepare_cache(idx, cache, size=c.size, num_workers=a.workers, progress=False)
        evaluate_models(cache, dest/'models', out, folds=[VALID_FOLD], tta=False, bundle_fold=VALID_FOLD,
                        device='cpu', progress=False)
    sets = json.loads((out/'settings.json').read_text())
    store = OOFStore(out/'oof')
    solo = calibrate_store(store, 'seg', gate=False)[0]
    pr = load_bundle(out/'bundle', device='cpu')
    res = pr.predict(src, progress=False, keep_masks=True)
    res_solo = pr.updated(cls_thresh=None, thresh=solo['thresh'], min_area=solo['min_area']).predict(
        src, progress=False, keep_masks=True)
    T = [truth[i] for i in res.ImageId]
    sc = _scores(list(res['mask']), T)
    ss = _scores(list(res_solo.set_index('ImageId').loc[res.ImageId, 'mask']), T)
    cs = sets['cascade']
    print(f"| {c.seed} | {len(idx)} ({int(idx.label.sum())}) | {cs['kaggle_dice']:.4f} | {solo['kaggle_dice']:.4f} | "
          f"{sc['kaggle_dice']:.4f} | {ss['kaggle_dice']:.4f} | {sc['kaggle_dice'] - ss['kaggle_dice']:+.4f} | "
          f"{cs['cls_thresh']}, {cs['thresh']}, {cs['min_area']} | {solo['thresh']}, {solo['min_area']} | "
          f"{sc['TP']}/{sc['FP']} | {ss['TP']}/{ss['FP']} |", flush=True)

#!/usr/bin/env python3
"""Smoke test of an installed ptx_cascade on whatever stack is installed (CI's oldest stack, a Kaggle kernel, ...).

Checks, in order, and stops at the first failure (exit status 1, the traceback printed):
the star import `from ptx_cascade.all import *`; a synthetic SIIM folder (`make_synth_siim`); `read_dicom` on one of
its DICOMs; RLE encode/decode; a tiny cache (`prepare_siim`); one epoch of the classifier, the segmenter and the
baseline (`train`, resnet18, random weights, 64 px); a bundle (`bundle_from_runs`, `load_bundle`) and a prediction on
the folder; the console scripts' error path (exit status 1, one line on stderr) and a Python call's `CliError`.

usage: python tools/smoke.py [--keep DIR]   (about a minute on 2 CPU cores; no network, no GPU needed)
"""
import argparse, os, shutil, subprocess, sys, tempfile, time, traceback, warnings
from pathlib import Path

t0 = time.time()
checks = []
def ok(what):
    checks.append(what); print(f"ok   {what} ({time.time() - t0:.0f} s)", flush=True)

def console_script(name, *args):
    "Run console script `name` as pip installs it (`sys.exit(main())` in a script file); its `CompletedProcess`"
    exe = Path(sys.executable).parent/name
    if exe.is_file(): cmd = [str(exe)]
    else:   # not installed as a console script (e.g. run from a source tree on PYTHONPATH): the same script pip writes
        mod, fn = {'ptx_prepare': ('ptx_cascade.data', 'ptx_prepare')}[name]
        sc = Path(tempfile.mkdtemp())/name
        sc.write_text(f"import sys\nfrom {mod} import {fn}\nif __name__ == '__main__': sys.exit({fn}())\n")
        cmd = [sys.executable, str(sc)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300)

def main(keep=None):
    tmp = Path(keep or tempfile.mkdtemp(prefix='ptx_smoke_')); tmp.mkdir(parents=True, exist_ok=True)
    ns = {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        exec('from ptx_cascade.all import *', ns)
    import fastai, fastcore, torch, ptx_cascade
    print(f"ptx_cascade {ptx_cascade.__version__} from {Path(ptx_cascade.__file__).parent}; fastai {fastai.__version__}, "
          f"fastcore {fastcore.__version__}, torch {torch.__version__}, Python {sys.version.split()[0]}", flush=True)
    ok(f"from ptx_cascade.all import * ({sum(not k.startswith('_') for k in ns)} names)")
    np = ns['np']

    siim = ns['make_synth_siim'](tmp/'siim', n=24, size=128, pos_frac=0.5, seed=0, num_workers=0, progress=False)
    fns = sorted((tmp/'siim'/'dicom-images-train').rglob('*.dcm'))
    assert len(fns) == 24, len(fns)
    ok(f"make_synth_siim: {len(fns)} DICOMs and train-rle.csv")

    img = ns['read_dicom'](fns[0])
    assert img.dtype == np.uint8 and img.shape == (128, 128), (img.dtype, img.shape)
    assert ns['read_dicom'](fns[0], size=64).shape == (64, 64)
    ok("read_dicom: uint8 128x128, and resized to 64")

    m = np.zeros((128, 128), np.uint8); m[10:40, 20:30] = 1; m[100:, 120:] = 1
    rle = ns['rle_encode'](m)
    assert (ns['rle_decode'](rle, shape=(128, 128)) == m).all()
    df = ns['read_rle_csv'](tmp/'siim'/'train-rle.csv')
    assert len(df) >= 24, len(df)
    ok("rle_encode/rle_decode round trip; read_rle_csv")

    idx = ns['prepare_siim'](siim, tmp/'cache', size=64, n_folds=4, num_workers=0, progress=False, verbose=False)
    assert len(idx) == 24, len(idx)
    ok(f"prepare_siim: a 64 px cache of {len(idx)} images, {int(idx.label.sum())} positive")

    train, runs = ns['train'], {}
    for task in ('cls', 'seg', 'baseline'):
        runs[task] = tmp/'runs'/task
        train(tmp/'cache', task=task, fold=0, arch='resnet18', size=64, epochs=1, freeze_epochs=0, bs=4,
              pretrained=False, num_workers=0, out=runs[task])
        assert (runs[task]/'models'/'best.pth').is_file(), f"{task}: no best.pth"
        ok(f"train {task!r}: one epoch, resnet18, random weights, 64 px")

    bd = ns['bundle_from_runs'](runs['cls'], runs['seg'], tmp/'bundle')
    pred = ns['load_bundle'](bd, device='cpu')
    res = pred.predict(tmp/'siim'/'dicom-images-train', progress=False)
    assert len(res) == 24 and list(res.columns) == ns['RESULT_COLS'], (len(res), list(res.columns))
    assert res.error.isna().all(), res.error.dropna().tolist()
    ok(f"bundle_from_runs + load_bundle(...).predict(folder): {len(res)} rows, {int(res.positive.sum())} positive")

    CliError = ns['CliError']
    try: ns['ptx_prepare'](src=None, dest=None); raise AssertionError("ptx_prepare(src=None) did not raise")
    except CliError as e: assert str(e).startswith('ptx_prepare:'), e
    for args, expect in [((), 'ptx_prepare: --src and --dest are required'),
                         (('--src', str(tmp/'nope'), '--dest', str(tmp/'c2')), 'ptx_prepare: source folder not found')]:
        r = console_script('ptx_prepare', *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith(expect), (r.returncode, r.stderr[-2000:])
    ok("console script error path: `ptx_prepare` exits 1 with one line on stderr; a Python call raises CliError")
    return tmp

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--keep', help='work in this folder and keep it (default: a temporary folder)')
    a = ap.parse_args()
    try: tmp = main(a.keep)
    except Exception:
        traceback.print_exc()
        print(f"SMOKE FAILED after {len(checks)} checks passed")
        sys.exit(1)
    if not a.keep: shutil.rmtree(tmp, ignore_errors=True)
    print(f"SMOKE OK: {len(checks)} checks passed in {time.time() - t0:.0f} s")

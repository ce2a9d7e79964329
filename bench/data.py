"""Throughput of `prepare_cache`: SIIM-style 1024x1024 JPEG DICOMs -> 256 px PNG image + mask cache.

Run from the repository root with the project's venv:
    PTX_SIIM_SAMPLE=../shared/fixtures/siim .venv/bin/python bench/data.py [--n 300 --size 256 --num_workers 2]
Two sets of `--n` images each, written to a temporary folder (never the repository):
  * synthetic: `make_synth_siim(60, size=1024)` (22% positive, real JPEG Baseline DICOMs; rendering is slow,
    so the 60 files are copied under new ImageIds, with their labels, up to `--n`);
  * real: the real SIIM DICOM from $PTX_SIIM_SAMPLE copied `--n` times under new ImageIds, with real RLE
    rows of the real `train-rle.csv` as labels for 22% of them (real JPEG complexity, real mask shapes).
Each set is indexed (`siim_index`, not timed in img/s) and cached from scratch (`prepare_cache`, timed);
the goal is 12,000 images in <= 60 s (>= 200 img/s). Peak RSS of this process and of the worker
processes shows that memory does not grow with the number of images.
"""
import argparse, os, platform, resource, shutil, sys, tempfile, time, warnings
from pathlib import Path
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]   # keep bench/*.py from shadowing modules
import numpy as np, pandas as pd
from ptx_cascade.data import siim_index, prepare_cache
from ptx_cascade.rle import read_rle_csv
from ptx_cascade.synth import make_synth_siim

SIIM_NAME = '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm'

def rss_mb(who=resource.RUSAGE_SELF): return resource.getrusage(who).ru_maxrss / 1024   # Linux: KiB

def cpu_s() -> float:
    "CPU seconds used so far by this process and its finished children (the worker processes)"
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))

def real_set(dest:Path, n:int, sample:Path, pos_frac:float=0.22, seed:int=0) -> Path:
    "`n` copies of the real SIIM DICOM under new ImageIds, labelled with real RLE rows for `pos_frac` of them"
    img_dir = dest/'dicom-images-train'; img_dir.mkdir(parents=True)
    labels = read_rle_csv(sample/'train-rle.csv.gz')
    pos = labels[labels.EncodedPixels != '-1']
    groups = [g.EncodedPixels.tolist() for _, g in pos.groupby('ImageId')]
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        iid = f'1.2.826.0.1.3680043.8.498.{seed}.{i}'
        shutil.copyfile(sample/SIIM_NAME, img_dir/f'{iid}.dcm')
        rles = groups[rng.integers(len(groups))] if rng.random() < pos_frac else ['-1']
        rows += [f'{iid}, {r}' for r in rles]
    (dest/'train-rle.csv').write_text('ImageId, EncodedPixels\n' + '\n'.join(rows) + '\n')
    return dest

def replicate(src:Path, dest:Path, n:int) -> Path:
    "`n` images from the SIIM-style set `src`, its files copied (with their label rows) under new ImageIds"
    labels = read_rle_csv(src/'train-rle.csv')
    files = {p.stem: p for p in (src/'dicom-images-train').rglob('*.dcm')}
    ids = list(dict.fromkeys(labels.ImageId))
    (dest/'dicom-images-train').mkdir(parents=True)
    rows = []
    for k in range(n):
        iid = ids[k % len(ids)]; new = f'{iid}.{k}'
        shutil.copyfile(files[iid], dest/'dicom-images-train'/f'{new}.dcm')
        rows += [f'{new}, {r}' for r in labels.EncodedPixels[labels.ImageId == iid]]
    (dest/'train-rle.csv').write_text('ImageId, EncodedPixels\n' + '\n'.join(rows) + '\n')
    return dest

def run(name:str, src:Path, cache:Path, size:int, num_workers:int):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        index, probs = siim_index(src/'train-rle.csv', src/'dicom-images-train', num_workers=num_workers, progress=False)
    t_index = time.perf_counter() - t0
    rss0, c0, t0 = rss_mb(), cpu_s(), time.perf_counter()
    out = prepare_cache(index, cache, size=size, num_workers=num_workers, progress=False)
    t, cpu = time.perf_counter() - t0, cpu_s() - c0
    rate, cpu_rate = len(out) / t, len(out) * min(num_workers or 1, os.cpu_count()) / cpu
    print(f"{name:9s} {len(out):4d} images ({out.label.sum()} positive): index {t_index:.2f} s; cache {t:.2f} s wall = {rate:.0f} img/s"
          f" -> 12,000 images in {12000/rate:.0f} s; failed {out.attrs['cache']['failed']}\n"
          f"          CPU {cpu/len(out)*1e3:.1f} ms per image -> {cpu_rate:.0f} img/s with {num_workers} uncontended cores -> 12,000 images in {12000/cpu_rate:.0f} s\n"
          f"          peak RSS: main {rss0:.0f} MB before, {rss_mb():.0f} MB after; largest worker {rss_mb(resource.RUSAGE_CHILDREN):.0f} MB (forked from main, pages shared)")
    return rate, cpu_rate

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=300); p.add_argument('--size', type=int, default=256)
    p.add_argument('--num_workers', type=int, default=2)
    a = p.parse_args()
    sample = Path(os.environ.get('PTX_SIIM_SAMPLE', Path(__file__).resolve().parents[2]/'shared/fixtures/siim'))
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, load average {os.getloadavg()[0]:.1f}; n={a.n} per set, 1024 px -> {a.size} px, num_workers={a.num_workers}")
    with tempfile.TemporaryDirectory(prefix='ptx_bench_data_') as d:
        d = Path(d)
        t0 = time.perf_counter()
        make_synth_siim(d/'synth60', n=60, size=1024, num_workers=a.num_workers, progress=False)
        print(f"(generated 60 synthetic 1024 px DICOMs in {time.perf_counter() - t0:.0f} s)")
        rates = [run('synthetic', replicate(d/'synth60', d/'synth', a.n), d/'cache_synth', a.size, a.num_workers)]
        if (sample/SIIM_NAME).exists():
            rates.append(run('real', real_set(d/'real', a.n, sample), d/'cache_real', a.size, a.num_workers))
        else: print(f"real: skipped, no {SIIM_NAME} in {sample} (set PTX_SIIM_SAMPLE)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes on the machine share its {os.cpu_count()} CPUs)")
    wall, cpu = min(r[0] for r in rates), min(r[1] for r in rates)
    print(f"wall clock {'PASS' if wall >= 200 else 'FAIL'}: slowest set {wall:.0f} img/s; "
          f"CPU-time bound {'PASS' if cpu >= 200 else 'FAIL'}: slowest set {cpu:.0f} img/s (goal >= 200 img/s, 12,000 images in <= 60 s)")

if __name__ == '__main__': main()

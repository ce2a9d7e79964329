"""Throughput of `read_dicom(fn, size=256)` (reduced-scale JPEG decode) vs pydicom full decode + Pillow resize.

Run from the repository root with the project's venv:  .venv/bin/python bench/dicom.py [--reps 7 --n 40 --size 256]
Uses the real SIIM DICOM from $PTX_SIIM_SAMPLE (default ../shared/fixtures/siim when it exists) and a
generated SIIM-style 1024x1024 8-bit JPEG Baseline DICOM. Both methods are timed warm (after a warm-up),
in alternating blocks, and the median of the blocks is reported.
"""
import argparse, os, platform, statistics, sys, tempfile, time
from pathlib import Path
# this folder holds rle.py, dicom.py...: keep them from shadowing the `rle` module of pylibjpeg-rle
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]
import numpy as np, PIL, pydicom
from PIL import Image
from ptx_cascade.dicom import read_dicom, write_jpeg_dicom, _test_image

SIIM_NAME = '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm'

def full_then_resize(fn, size):
    "The baseline: pydicom reads and fully decodes the frame, Pillow resizes it (Lanczos, antialiased)"
    return np.asarray(Image.fromarray(pydicom.dcmread(fn).pixel_array).resize((size, size), Image.Resampling.LANCZOS))

def fast(fn, size): return read_dicom(fn, size=size)

def block(f, fn, size, n):
    "Images per second of `f` over `n` reads of `fn`"
    t0 = time.perf_counter()
    for _ in range(n): f(fn, size)
    return n / (time.perf_counter() - t0)

def bench(fn, size, reps, n):
    for f in (fast, full_then_resize): f(fn, size)          # warm-up: imports, caches, page cache
    res = {fast: [], full_then_resize: []}
    for r in range(reps):                                    # alternate the order so drift hits both alike
        for f in ((fast, full_then_resize) if r % 2 == 0 else (full_then_resize, fast)): res[f].append(block(f, fn, size, n))
    mad = np.abs(fast(fn, size).astype(float) - full_then_resize(fn, size)).mean()
    return statistics.median(res[fast]), statistics.median(res[full_then_resize]), mad

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--size', type=int, default=256); p.add_argument('--reps', type=int, default=7); p.add_argument('--n', type=int, default=40)
    a = p.parse_args()
    files = []
    root = Path(os.environ.get('PTX_SIIM_SAMPLE') or Path(__file__).resolve().parents[1]/'../shared/fixtures/siim')
    if (root/SIIM_NAME).exists(): files.append(('real SIIM DICOM', root/SIIM_NAME))
    else: print(f"(no real SIIM DICOM at {root}: set PTX_SIIM_SAMPLE to include it)")
    with tempfile.TemporaryDirectory() as d:
        files.append(('generated 1024² JPEG q95', write_jpeg_dicom(_test_image(), Path(d)/'synthetic.dcm', quality=95)))
        print(f"python {platform.python_version()}, pydicom {pydicom.__version__}, Pillow {PIL.__version__}, numpy {np.__version__}, "
              f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; size={a.size}, {a.reps} alternating blocks of {a.n} reads, median")
        print(f"| file | read_dicom(fn, size={a.size}) img/s | pydicom full decode + PIL resize img/s | speed-up | MAD (grey levels) |")
        print("|---|---:|---:|---:|---:|")
        ok = True
        for name, fn in files:
            f, s, mad = bench(fn, a.size, a.reps, a.n)
            print(f"| {name} | {f:.0f} | {s:.0f} | {f/s:.1f}× | {mad:.3f} |")
            ok &= f/s >= 2 and mad <= 1.5
    print('PASS' if ok else 'FAIL: need ≥ 2× and MAD ≤ 1.5')
    return 0 if ok else 1

if __name__ == '__main__': sys.exit(main())

"""Speed of `ptx_cascade.rle` against a per-pixel reference, and the exact round-trip of the real labels.

    python bench/rle_speed.py [--n-ref 20] [--csv PATH]

The reference below is written from the published description of the SIIM-ACR encoding (walk the pixels
of the transposed image; each start counts from the end of the previous run) and, unlike the sample code
published with the data, handles 0/1 masks and a run that touches the last pixel, so both sides give the
same strings. Labels: the real `train-rle.csv.gz` from `$PTX_SIIM_SAMPLE` (default `../shared/fixtures/siim`),
else synthetic masks. Ratios are measured in one run, interleaved, on the same masks.
"""
import argparse, os, time, statistics
from pathlib import Path
import numpy as np
from ptx_cascade.rle import rle_decode, rle_encode, read_rle_csv

def ref_encode(mask):
    "Per-pixel reference: visit the pixels of the transposed image in order, emit relative `start length` pairs"
    h, w = mask.shape
    out, prev_end, run_start, pos = [], 0, None, 0
    for x in range(w):
        for y in range(h):
            if mask[y, x] and run_start is None: run_start = pos
            elif not mask[y, x] and run_start is not None:
                out += [run_start - prev_end, pos - run_start]; prev_end, run_start = pos, None
            pos += 1
    if run_start is not None: out += [run_start - prev_end, pos - run_start]
    return ' '.join(map(str, out)) if out else '-1'

def ref_decode_pixels(rle, shape=(1024, 1024)):
    "Per-pixel reference: set the pixels of each run one by one in the column-major vector, then transpose"
    h, w = shape
    flat = np.zeros(h * w, np.uint8)
    if rle.strip() != '-1':
        vals = [int(x) for x in rle.split()]
        pos = 0
        for start, length in zip(vals[0::2], vals[1::2]):
            pos += start
            for _ in range(length): flat[pos] = 1; pos += 1
    return flat.reshape(w, h).T

def ref_decode_runs(rle, shape=(1024, 1024)):
    "Per-run variant (as the code published with the data): one slice per run, returns a transposed view"
    h, w = shape
    flat = np.zeros(h * w, np.uint8)
    if rle.strip() != '-1':
        vals = [int(x) for x in rle.split()]
        pos = 0
        for start, length in zip(vals[0::2], vals[1::2]):
            pos += start; flat[pos:pos + length] = 1; pos += length
    return flat.reshape(w, h).T

def timeit(f, items, repeat=3):
    "Best-of-`repeat` seconds per item of `f` over `items`"
    best = float('inf')
    for _ in range(repeat):
        t = time.perf_counter()
        for x in items: f(x)
        best = min(best, time.perf_counter() - t)
    return best / len(items)

def load_rles(csv):
    if csv and Path(csv).exists():
        df = read_rle_csv(csv)
        return df.EncodedPixels[df.EncodedPixels != '-1'].tolist(), f'real labels ({csv})'
    rng = np.random.default_rng(0); rles = []
    for _ in range(500):
        m = np.zeros((1024, 1024), np.uint8)
        r, c = rng.integers(100, 900, 2); m[r:r + rng.integers(20, 200), c:c + rng.integers(20, 200)] = 1
        rles.append(rle_encode(m))
    return rles, 'synthetic rectangles (no real labels found)'

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sample = os.environ.get('PTX_SIIM_SAMPLE', str(Path(__file__).resolve().parents[2]/'shared/fixtures/siim'))
    p.add_argument('--csv', default=str(Path(sample)/'train-rle.csv.gz'))
    p.add_argument('--n-ref', type=int, default=20, help='masks timed with the slow per-pixel reference encoder')
    a = p.parse_args()
    rles, src = load_rles(a.csv)
    print(f'source: {src}; {len(rles)} positive rows')
    # correctness first: every row round-trips exactly, and the references agree with the library
    t = time.perf_counter()
    bad = [i for i, r in enumerate(rles) if rle_encode(rle_decode(r)) != r]
    print(f'round-trip: {len(rles) - len(bad)}/{len(rles)} rows identical after decode+encode ({time.perf_counter() - t:.1f} s)')
    step = max(1, len(rles) // a.n_ref)
    sub = rles[::step][:a.n_ref]
    masks = [rle_decode(r) for r in sub]
    assert all(ref_encode(m) == r for m, r in zip(masks, sub)), 'reference encoder disagrees with the labels'
    assert all((ref_decode_pixels(r) == m).all() and (ref_decode_runs(r) == m).all() for m, r in zip(masks, sub)), 'reference decoder disagrees'
    enc, enc_ref = timeit(rle_encode, masks), timeit(ref_encode, masks, repeat=1)
    dec, dec_pix = timeit(rle_decode, sub), timeit(ref_decode_pixels, sub, repeat=1)
    dec_run, dec_run_c = timeit(ref_decode_runs, sub), timeit(lambda r: np.ascontiguousarray(ref_decode_runs(r)), sub)
    print(f'encode 1024x1024: ptx_cascade {enc * 1e3:.2f} ms, per-pixel reference {enc_ref * 1e3:.0f} ms -> {enc_ref / enc:.0f}x (goal >= 100x)')
    print(f'decode 1024x1024: ptx_cascade {dec * 1e3:.2f} ms, per-pixel reference {dec_pix * 1e3:.2f} ms -> {dec_pix / dec:.1f}x (goal >= 1x)')
    print(f'  per-run reference: {dec_run * 1e3:.2f} ms as a transposed view -> {dec_run / dec:.2f}x; '
          f'{dec_run_c * 1e3:.2f} ms made C-contiguous like ours -> {dec_run_c / dec:.1f}x')
    all_dec = timeit(rle_decode, rles, repeat=1); all_enc = timeit(rle_encode, [rle_decode(r) for r in rles[:500]], repeat=1)
    print(f'all {len(rles)} rows: decode {all_dec * 1e3:.2f} ms/row; encode {all_enc * 1e3:.2f} ms/mask (first 500)')
    if bad: raise SystemExit(f'{len(bad)} rows did not round-trip, first at index {bad[0]}')

if __name__ == '__main__': main()

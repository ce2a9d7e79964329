"""Cascade throughput: gated vs ungated `CascadePredictor.predict_images`, and end-to-end `predict` from DICOM files.

    python bench/cascade.py [--n 32] [--bs 16] [--repeats 2] [--pos-frac 0.22] [--device cpu|cuda] [--threads N] [--workers 0]

Reference sizes: classifier ResNeXt-50 32x4d at 224 px (Table 4.3), segmenter DynamicUnet with a ResNet-34 encoder at
256 px (Tables 4.2/4.4), both `pretrained=False` (nothing can be downloaded here; the weights do not change the
speed), eval mode, amp on CUDA (the predictor's default). Images: `--n` synthetic 1024x1024 JPEG Baseline DICOMs
(`make_synth_siim`) in a temporary folder, decoded at 256 px for the in-memory part, with their 1024x1024 shapes so
that the upscaling of the probabilities and the post-processing at full size are timed too.

The gate. Random weights make the classifier's probabilities meaningless, so the 78 %-negative set is made explicit:
the classifier is run once over the images (same batches as later), and `cls_thresh` is set to the value that leaves
exactly `round(pos_frac * n)` probabilities strictly above it. The gated predictor then runs the real classifier on
every image and the segmenter on those images only; the ungated one runs the segmenter on every image (Algorithm 1
still empties the others). Post-processing: the random segmenter's pixel probabilities sit near 0.5, so the default
threshold 0.5 would fill most of each mask; the mask threshold is set to the 97th percentile of the segmenter's
probabilities on the positive images instead (masks of a few % of the image, like real ones), no component removal.

Timing: the two predictors take turns (`--repeats` rounds, the order alternating), on the same images, batches of
`--bs`. Both networks are wrapped in a timer of their forward passes, so the run also prints the ideal speed-up
1 / (c + f (1 - c)) from the ungated calls themselves (c: the share of the ungated time outside the segmenter's forward
passes, i.e. classifier + pre/post-processing; f: the positive fraction). The gated masks and probabilities are compared with the ungated ones from the same run.
"""
import argparse, os, platform, resource, sys, tempfile, time, warnings
from pathlib import Path
# this folder holds rle.py, dicom.py...: keep them from shadowing the `rle` module of pylibjpeg-rle
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]
warnings.filterwarnings('ignore')
import numpy as np, torch
from ptx_cascade.synth import make_synth_siim
from ptx_cascade.dicom import read_dicom, dicom_meta
from ptx_cascade.models import cls_model, unet_model
from ptx_cascade.rle import rle_encode
from ptx_cascade.cascade import CascadePredictor

def load() -> str: return '/'.join(f'{v:.1f}' for v in os.getloadavg())

def cpu_s() -> float:
    "CPU seconds used so far by this process, all its threads (the cost, whatever else shares the cores)"
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def chunks(xs, bs): return [xs[i:i+bs] for i in range(0, len(xs), bs)]

def timed_predict(p, batches, shapes):
    "Seconds for `p.predict_images` over `batches`, with the probabilities and masks"
    sync(p.device); t0, c0 = time.perf_counter(), cpu_s()
    cps, masks = [], []
    for b, s in zip(batches, shapes):
        cp, m = p.predict_images(b, s); cps.append(cp); masks += m
    sync(p.device)
    return time.perf_counter() - t0, cpu_s() - c0, np.concatenate(cps), masks

class Timed(torch.nn.Module):
    "`net` with the seconds spent in its forward passes added up in `.t` (to split a predictor's time in the same run)"
    def __init__(self, net): super().__init__(); self.net, self.t = net, 0.
    def forward(self, x):
        sync(x.device); t0 = time.perf_counter()
        y = self.net(x); sync(x.device)
        self.t += time.perf_counter() - t0
        return y

def timed_cls(p, batches):
    sync(p.device); t0 = time.perf_counter()
    cp = np.concatenate([p.cls_probs(b) for b in batches])
    sync(p.device)
    return time.perf_counter() - t0, cp

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=32, help='synthetic 1024 px DICOMs (used by both parts)')
    ap.add_argument('--bs', type=int, default=16)
    ap.add_argument('--repeats', type=int, default=2, help='rounds of gated + ungated (order alternating)')
    ap.add_argument('--pos-frac', type=float, default=0.22, help='fraction of images the gate lets through')
    ap.add_argument('--device', default=None, help='cpu, cuda, ... (default: cuda when available)')
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    ap.add_argument('--workers', type=int, default=0, help='num_workers of predict (DICOM decoding processes)')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = torch.device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)'
    print(f'device: {name}; torch {torch.__version__}; python {platform.python_version()}; amp: {dev.type == "cuda"}; load average {load()}')
    torch.manual_seed(0)
    cnet = Timed(cls_model('resnext50_32x4d', pretrained=False)).eval()
    snet = Timed(unet_model('resnet34', pretrained=False, img_size=(256, 256))).eval()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        t0 = time.perf_counter(); make_synth_siim(d, n=a.n, size=1024, seed=0, progress=False)
        fns = sorted((d/'dicom-images-train').rglob('*.dcm'))
        print(f'{len(fns)} synthetic 1024x1024 JPEG Baseline DICOMs written in {time.perf_counter() - t0:.1f} s')
        # decode alone, as predict's reader does it (header + 1/4-scale JPEG decode), twice, the faster pass
        dec = []
        for _ in range(2):
            t0 = time.perf_counter(); imgs = [read_dicom(f, 256) for f in fns]; metas = [dicom_meta(f) for f in fns]; dec.append(time.perf_counter() - t0)
        t_dec = min(dec) / len(fns)
        shapes = [(int(m['Rows']), int(m['Columns'])) for m in metas]
        n, k = len(imgs), round(a.pos_frac * len(imgs))
        batches, shp = chunks(imgs, a.bs), chunks(shapes, a.bs)

        # the gate: the threshold that lets exactly k of the n images through (computed beforehand, same batches)
        probe = CascadePredictor(cnet, snet, cls_size=224, seg_size=256, bs=a.bs, device=dev)
        _, cp0 = timed_cls(probe, batches)   # also warms the classifier up
        srt = np.sort(cp0); thr = float(srt[n - k - 1]) if k < n else -1.
        print(f'gate: classifier probabilities of the random-weight ResNeXt-50 span {srt[0]:.4f}..{srt[-1]:.4f} '
              f'({len(np.unique(cp0))} distinct of {n}); cls_thresh := {thr:.6f}, the value with {k} of {n} above it '
              f'({100 * k / n:.0f} % positive, {100 * (n - k) / n:.0f} % negative)')
        pos = np.flatnonzero(cp0 > thr)
        sp = probe.seg_probs([imgs[i] for i in pos[:a.bs]])   # also warms the segmenter up
        mthr = float(np.quantile(sp, 0.97))
        print(f'post: segmenter probabilities on the positives {sp.min():.3f}..{sp.max():.3f}; mask threshold := {mthr:.4f} '
              f'(their 97th percentile), no component removal')
        post = dict(thresh=mthr)
        gated = CascadePredictor(cnet, snet, cls_size=224, seg_size=256, cls_thresh=thr, post=post, bs=a.bs, device=dev)
        ungated = gated.updated(segment_all=True)   # same output, the segmenter on every film

        print(f'\npredict_images: {n} images at 256 px, shapes 1024x1024, bs {a.bs}, {a.repeats} rounds; load average {load()}')
        T = {'gated': [], 'ungated': []}; C = {'gated': [], 'ungated': []}; net_t = {'gated': [], 'ungated': []}; out = {}
        for r in range(a.repeats):
            for mode in (('gated', 'ungated') if r % 2 == 0 else ('ungated', 'gated')):
                cnet.t = snet.t = 0.
                t, cpu, cp, masks = timed_predict(gated if mode == 'gated' else ungated, batches, shp)
                T[mode].append(t); C[mode].append(cpu); net_t[mode].append((cnet.t, snet.t)); out.setdefault(mode, (cp, masks))
            (gc, gs), (uc, us) = net_t['gated'][-1], net_t['ungated'][-1]
            print(f'  round {r + 1}: gated {T["gated"][-1]:.1f} s (classifier {gc:.1f}, segmenter {gs:.1f}), '
                  f'ungated {T["ungated"][-1]:.1f} s (classifier {uc:.1f}, segmenter {us:.1f}) '
                  f'-> ratio {T["ungated"][-1] / T["gated"][-1]:.2f}; CPU {C["gated"][-1]:.0f} s vs {C["ungated"][-1]:.0f} s -> '
                  f'{C["ungated"][-1] / C["gated"][-1]:.2f}; load average {load()}')
        (cg, mg), (cu, mu) = out['gated'], out['ungated']
        same = sum(np.array_equal(x, y) for x, y in zip(mg, mu))
        npos = int((cg > thr).sum())
        frac = np.mean([m.mean() for m, p in zip(mg, cg > thr) if p]) if npos else 0.
        print(f'  gated == ungated: {same}/{n} masks identical, classifier probabilities identical: {np.array_equal(cg, cu)}; '
              f'{npos} positive, {sum(m.any() for m in mg)} non-empty masks (mean {100 * frac:.1f} % of a positive image)')
        med = {m: float(np.median(v)) for m, v in T.items()}
        f = npos / n
        c = float(np.median([1 - su / tu for (_, su), tu in zip(net_t['ungated'], T['ungated'])]))
        print(f'  median: gated {n / med["gated"]:.2f} img/s, ungated {n / med["ungated"]:.2f} img/s -> gated / ungated = '
              f'{med["ungated"] / med["gated"]:.2f}x (goal >= 2.5x); by CPU time {np.median(C["ungated"]) / np.median(C["gated"]):.2f}x')
        print(f'  shares of the ungated time: segmenter forward passes {100 * (1 - c):.0f} %, the rest (classifier, pre/post-processing) c = {100 * c:.0f} %; '
              f'ideal speed-up at {100 * f:.0f} % positives 1/(c + f s) = {1 / (c + f * (1 - c)):.2f}x')

        # end to end: folder of DICOMs -> results table (decode at 256 px, both networks, post-processing, RLE)
        print(f'\npredict(folder), gated, num_workers={a.workers}: load average {load()}')
        t0, c0 = time.perf_counter(), cpu_s(); res = gated.predict(d/'dicom-images-train', num_workers=a.workers, progress=False); sync(dev)
        t_e2e, c_e2e = time.perf_counter() - t0, cpu_s() - c0
        ok = int(res.error.isna().sum())
        ref = {f.stem: (rle_encode(m) if m.any() else '-1') for f, m in zip(fns, mg)}
        agree = sum(ref.get(i) == e for i, e in zip(res.ImageId, res.EncodedPixels))
        print(f'  {len(res)} DICOMs ({ok} read, {int(res.positive.sum())} positive) in {t_e2e:.1f} s = {len(res) / t_e2e:.2f} img/s; '
              f'RLE equal to the in-memory gated masks: {agree}/{len(res)}; CPU {c_e2e:.0f} s (this process)')
        print(f'  split: DICOM header + 1/4-scale decode {1e3 * t_dec:.1f} ms/image ({100 * t_dec * len(res) / t_e2e:.0f} %), '
              f'networks + post-processing + RLE {1e3 * (t_e2e / len(res) - t_dec):.0f} ms/image; '
              f'decode alone {1 / t_dec:.0f} img/s')
        # the same folder ungated: `predict` queues the gated positives into full segmenter batches, `predict_images` above cannot
        t0 = time.perf_counter(); res_u = ungated.predict(d/'dicom-images-train', num_workers=a.workers, progress=False); sync(dev)
        t_u = time.perf_counter() - t0
        same_e2e = bool((res_u.EncodedPixels.to_numpy() == res.EncodedPixels.to_numpy()).all())
        print(f'  predict(folder) ungated: {len(res_u) / t_u:.2f} img/s -> gated / ungated end to end = {t_u / t_e2e:.2f}x; '
              f'same RLEs: {same_e2e}; load average {load()}')
    print(f'load average at the end {load()}')

if __name__ == '__main__': main()

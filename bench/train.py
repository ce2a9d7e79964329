"""Training throughput of the two Learners at the reference sizes, fed by their DataLoaders and by random tensors.

    python bench/train.py [--n 96] [--batches 6] [--cls-bs 16] [--seg-bs 8] [--threads N]

The classifier is ResNeXt-50 32x4d at 224 px (Table 4.3), the segmenter a DynamicUnet with a ResNet-34 encoder
at 256 px (Tables 4.2/4.4), both `pretrained=False` (nothing can be downloaded here; the weights do not change the
speed). Each is timed twice in one run, on the same model and optimiser: (a) batches from the real DataLoaders
over a synthetic SIIM-style cache (decode PNG, Table 4.1 augmentation, normalisation), and (b) the same number of
pre-made random tensors already on the device: the loader-free upper bound. `loader / random` near 1 means the
model is the bottleneck; well below 1 means the loader starves it. On CUDA, mixed precision and channels-last are on.
"""
import argparse, os, platform, sys, tempfile, time, warnings
from pathlib import Path
# this folder holds rle.py, dicom.py...: keep them from shadowing the `rle` module of pylibjpeg-rle
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]
warnings.filterwarnings('ignore')
import torch
from ptx_cascade.synth import make_synth_siim
from ptx_cascade.data import prepare_siim, cls_dls, seg_dls
from ptx_cascade.classifier import cls_learner
from ptx_cascade.segmenter import seg_learner

def steps(learn, batches, n_batches:int, warmup:int=1):
    "Images per second of forward + backward + optimiser step over `n_batches` of `batches` (after `warmup`)"
    model, loss_func = learn.model.train(), learn.loss_func
    if learn.opt is None: learn.create_opt()
    amp = torch.cuda.is_available()
    it, n_img, t0 = iter(batches), 0, None
    for i in range(warmup + n_batches):
        if i == warmup:
            if amp: torch.cuda.synchronize()
            t0 = time.perf_counter()
        xb, yb = next(it)
        with torch.autocast('cuda', enabled=amp):
            loss = loss_func(model(xb), yb)
        loss.backward(); learn.opt.step(); learn.opt.zero_grad()
        if i >= warmup: n_img += len(xb)
    if amp: torch.cuda.synchronize()
    return n_img / (time.perf_counter() - t0)

def random_batches(dls, n:int):
    "`n` random batches shaped like `dls.train`'s, already on its device"
    xb, yb = dls.train.one_batch()
    xs = [torch.randn_like(xb.float()) for _ in range(n)]
    ys = [torch.randint_like(yb, 0, 2) if yb.dtype == torch.long else torch.randint(0, 2, yb.shape, device=yb.device).float() for _ in range(n)]
    return [(type(xb)(x), type(yb)(y)) for x, y in zip(xs, ys)]

def loop(dl):
    "The batches of `dl`, epoch after epoch"
    while True: yield from dl

def bench(name, learn, dls, n_batches):
    if torch.cuda.is_available(): learn.model.to(memory_format=torch.channels_last)
    real = steps(learn, loop(dls.train), n_batches)
    rand = steps(learn, iter(random_batches(dls, n_batches + 1)), n_batches)
    print(f'{name}: loader {real:.1f} img/s, random tensors {rand:.1f} img/s, loader / random = {real / rand:.2f}')
    return real, rand

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=96, help='synthetic images in the cache')
    p.add_argument('--batches', type=int, default=6, help='timed batches per measurement')
    p.add_argument('--cls-bs', type=int, default=16); p.add_argument('--seg-bs', type=int, default=8)
    p.add_argument('--workers', type=int, default=None, help='DataLoader workers (default: fastai\'s)')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)'
    print(f'device: {dev}; torch {torch.__version__}; python {platform.python_version()}; AMP + channels-last: {torch.cuda.is_available()}')
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        make_synth_siim(d/'siim', n=a.n, size=512, pos_frac=0.5, seed=0, progress=False)
        index = prepare_siim(d/'siim', d/'cache', size=256, progress=False, verbose=False)
        kw = {} if a.workers is None else dict(num_workers=a.workers)
        dls = cls_dls(index, fold=0, size=224, bs=a.cls_bs, **kw)
        bench(f'classifier resnext50_32x4d 224 px bs {a.cls_bs}', cls_learner(dls, pretrained=False), dls, a.batches)
        dls = seg_dls(index, fold=0, size=256, bs=a.seg_bs, **kw)
        bench(f'segmenter DynamicUnet resnet34 256 px bs {a.seg_bs}', seg_learner(dls, pretrained=False), dls, a.batches)

if __name__ == '__main__': main()

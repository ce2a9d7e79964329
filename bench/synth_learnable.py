"""Is the synthetic SIIM set (`ptx_cascade.synth`) fast to make, and learnable but not trivial?

Run from the repository root with the project's venv:
    .venv/bin/python bench/synth_learnable.py [--n 400 --gen-size 256 --size 128 --minutes 5 --seed 0]

1. times `make_synth_siim` (images/min at --gen-size, and at 1024 px on a few images),
2. reads the DICOMs back at --size with `read_dicom` and the masks from `train-rle.csv`,
3. trains a small U-Net on 75% of the images for about --minutes of CPU time with a fastai `Learner`
   (`--arch tiny`, the default: a 4-level U-Net with 16-128 channels, ~0.5 M parameters, which does several
   epochs a minute on 2 cores; `--arch resnet18`: `unet_learner(dls, resnet18, pretrained=False)`, about
   2 minutes an epoch there), and
4. scores the held-out 25% with the competition metric `kaggle_dice` against the all-empty floor (the
   fraction of negative images), and the image-level classification by the largest predicted probability.
"""
import argparse, platform, sys, tempfile, time, warnings
from pathlib import Path
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]
warnings.filterwarnings('ignore', category=FutureWarning)
import numpy as np, torch
from fastai.vision.all import *
from ptx_cascade.synth import make_synth_siim
from ptx_cascade.dicom import read_dicom
from ptx_cascade.rle import read_rle_csv, rles_to_mask
from ptx_cascade.metrics import kaggle_dice, roc_auc

p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=400); p.add_argument('--gen-size', type=int, default=256)
p.add_argument('--size', type=int, default=128); p.add_argument('--minutes', type=float, default=5)
p.add_argument('--seed', type=int, default=0); p.add_argument('--arch', default='tiny', choices=['tiny', 'resnet18']); p.add_argument('--bs', type=int, default=8)
a = p.parse_args()
torch.manual_seed(a.seed); np.random.seed(a.seed)
print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, python {platform.python_version()}, torch {torch.__version__}")

# 1. generation speed
tmp = Path(tempfile.mkdtemp())
t0 = time.perf_counter(); make_synth_siim(tmp/'big', n=8, size=1024, seed=a.seed + 1, progress=False)
print(f"make_synth_siim size=1024: {8/(time.perf_counter()-t0)*60:.0f} images/min (8 images, default n_workers)")
t0 = time.perf_counter(); root = make_synth_siim(tmp/'ds', n=a.n, size=a.gen_size, seed=a.seed, progress=False)
print(f"make_synth_siim size={a.gen_size}: {a.n/(time.perf_counter()-t0)*60:.0f} images/min ({a.n} images, default n_workers)")

# 2. read back
df = read_rle_csv(root/'train-rle.csv')
fns = {f.stem: f for f in (root/'dicom-images-train').glob('*/*/*.dcm')}
ids = list(dict.fromkeys(df.ImageId))
X = np.stack([read_dicom(fns[i], size=a.size) for i in ids]).astype(np.float32)/255
gen = a.gen_size
Y = np.stack([rles_to_mask(df.EncodedPixels[df.ImageId == i].tolist(), (gen, gen)) for i in ids])
Y = F.interpolate(torch.from_numpy(Y[:, None]).float(), size=(a.size, a.size), mode='area').numpy()[:, 0] >= 0.5
pos = Y.reshape(len(Y), -1).any(1)
rng = np.random.default_rng(a.seed); idx = rng.permutation(len(ids)); nv = len(ids)//4
vi, ti = idx[:nv], idx[nv:]
print(f"data: {len(ids)} images ({pos.mean():.0%} positive) at {a.size} px; train {len(ti)}, valid {len(vi)} ({pos[vi].sum()} positive)")
floor = 1 - pos[vi].mean()
print(f"all-empty floor (kaggle_dice of predicting nothing) on valid: {floor:.3f}")

# 3. train a small U-Net
class Flip(Transform):
    split_idx = 0
    def encodes(self, o:TensorImage): return o.flip(-1) if self.f else o
    def encodes(self, o:TensorMask): return o.flip(-1) if self.f else o
    def before_call(self, b, split_idx): self.f = random.random() < 0.5
def items(ii): return [(TensorImage(torch.from_numpy(X[i][None])), TensorMask(torch.from_numpy(Y[i][None].astype(np.float32)))) for i in ii]
ti_over = np.concatenate([ti, ti[pos[ti]]])   # positives twice per epoch: more of the rarer signal
dls = DataLoaders.from_dsets(items(ti_over), items(vi), bs=a.bs, after_item=[Flip()], num_workers=0)

def loss_func(out, targ):
    "BCE + soft Dice over the batch"
    p = out.sigmoid()
    dice = 1 - (2*(p*targ).sum() + 1)/(p.sum() + targ.sum() + 1)
    return F.binary_cross_entropy_with_logits(out, targ) + dice

def block(i, o): return nn.Sequential(ConvLayer(i, o), ConvLayer(o, o))
class TinyUnet(nn.Module):
    "A plain 4-level U-Net (16-128 channels)"
    def __init__(self, ch=(16, 32, 64, 128)):
        super().__init__()
        self.down = nn.ModuleList([block(i, o) for i, o in zip((1,) + ch[:-1], ch)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(o, i, 2, stride=2) for i, o in zip(ch[:-1], ch[1:])])
        self.dec = nn.ModuleList([block(2*i, i) for i in ch[:-1]])
        self.head = nn.Conv2d(ch[0], 1, 1)
    def forward(self, x):
        skips = []
        for i, d in enumerate(self.down):
            x = d(x if i == 0 else F.max_pool2d(x, 2)); skips.append(x)
        for up, dec, s in reversed(list(zip(self.up, self.dec, skips[:-1]))): x = dec(torch.cat([up(x), s], 1))
        return self.head(x)

if a.arch == 'tiny': learn = Learner(dls, TinyUnet(), loss_func=loss_func)
else: learn = unet_learner(dls, resnet18, pretrained=False, n_in=1, n_out=1, loss_func=loss_func)
print(f"model: {a.arch}, {sum(p.numel() for p in learn.model.parameters())/1e6:.2f} M parameters")
t0 = time.perf_counter(); learn.fit_one_cycle(1, 1e-3)
epoch_s = time.perf_counter() - t0
n_ep = max(1, int(a.minutes*60/epoch_s) - 1)
learn.fit_one_cycle(n_ep, 1e-2)
print(f"trained {n_ep + 1} epochs in {(time.perf_counter()-t0)/60:.1f} min ({epoch_s:.0f} s/epoch)")

# 4. evaluate
probs, targs = learn.get_preds(dl=dls.valid)
probs = probs.sigmoid()[:, 0].numpy(); targs = targs[:, 0].numpy() > 0.5
score = probs.max((1, 2))
print(f"image-level AUC of max probability: {roc_auc(score, targs.reshape(len(targs), -1).any(1)):.3f}")
best = None
for thr in (0.5,):
    for min_area in (0, 5, 10, 20, 40):
        pred = probs > thr
        pred[pred.reshape(len(pred), -1).sum(1) < min_area] = False
        kd = kaggle_dice(pred, targs)
        cls = pred.reshape(len(pred), -1).any(1) == targs.reshape(len(targs), -1).any(1)
        print(f"  threshold {thr}, min area {min_area:3d} px: kaggle_dice {kd:.3f} (floor {floor:.3f}), image accuracy {cls.mean():.3f}")
        best = max(best or (0,), (kd, min_area))
print(f"best kaggle_dice {best[0]:.3f} (min area {best[1]}) vs floor {floor:.3f}: {'BEATS' if best[0] > floor else 'does not beat'} the floor")

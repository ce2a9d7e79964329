"Everything a notebook or Kaggle kernel needs, in one import: `from ptx_cascade.all import *` (hand-written, not exported by nbdev)"
# Our `DiceLoss`/`FocalLoss` (sigmoid, one logit) share names with fastai's softmax losses: import this after
# `from fastai.vision.all import *` to get ours.
from .rle import *
from .dicom import *
from .metrics import *
from .synth import *
from .data import *
from .losses import *
from .models import *
from .classifier import *
from .segmenter import *
from .postprocess import *
from .cascade import *
from .evaluate import *
from .cli import *

"Everything a notebook or Kaggle kernel needs, in one import: `from ptx_cascade.all import *` (hand-written, not exported by nbdev)"
# Our `DiceLoss`/`FocalLoss` (sigmoid, one logit) share names with fastai's softmax losses: import this after
# `from fastai.vision.all import *` to get ours.
# The everyday names a notebook needs besides ours, so that this one import is enough in a Kaggle kernel
import os, json
from pathlib import Path
import numpy as np, pandas as pd, torch
import matplotlib.pyplot as plt
from fastcore.test import test_eq, test_close, test_fail
from .core import quiet_imports
with quiet_imports():   # fastai's import-time warnings (`metrics`, `models` import it)
    from .core import *
    from .rle import *
    from .dicom import *
    from .metrics import *
    from .synth import *
    from .data import *
    from .losses import *
    from .models import *
    from .classifier import *
    from .segmenter import *
    from .distributed import *
    from .postprocess import *
    from .triage import *
    from .cascade import *
    from .oof import *
    from .calibration import *
    from .evaluate import *
    from .train import *
    from .demo import *

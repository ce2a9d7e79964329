"Everything a notebook or Kaggle kernel needs, in one import: `from ptx_cascade.all import *` (hand-written, not exported by nbdev)"
from .rle import *
from .dicom import *
from .metrics import *

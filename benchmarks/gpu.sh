#!/usr/bin/env bash
# The GPU figures on a lent machine with no network: install the carried wheels, run benchmarks/gpu.py.
# Prepared here by `bash benchmarks/gpu_prepare.sh` (fills the ignored .gpu/); run through the device tool as
#     run(command="bash benchmarks/gpu.sh", carry=[".gpu"], timeout_s=540)
# Writes $OUT/gpu.json (and $OUT/gpu.log); see benchmarks/gpu.py's docstring for the parts and their times.
# Extra arguments go to gpu.py (e.g. `bash benchmarks/gpu.sh --parts craft,pipeline`).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
if ls .gpu/whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
else
    echo "gpu.sh: no wheels in .gpu/whl (run benchmarks/gpu_prepare.sh here and carry .gpu)" >&2
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$OUT/gpu.log"
python3 benchmarks/gpu.py --out "$OUT/gpu.json" "$@" 2>&1 | tee -a "$OUT/gpu.log"

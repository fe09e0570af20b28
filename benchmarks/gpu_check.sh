#!/usr/bin/env bash
# The device check, prepared for a session with a GPU machine. The device image has torch, numpy,
# pandas, scipy, pytest and hypothesis but not krippendorff and nothing can be fetched there, so
# download its wheel here first and carry it:
#   pip download --no-deps -d benchmarks/wheels krippendorff      (then run: carry ["benchmarks/wheels"])
# On the device, from the repository root:  bash benchmarks/gpu_check.sh
set -euo pipefail
python3 -m pip install -q --no-deps --no-index benchmarks/wheels/*.whl
export PYTHONPATH=$PWD
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
python3 -m pytest -q tests/test_reliability.py -k cuda -p no:cacheprovider -o addopts=""
python3 benchmarks/bench_agreement.py --device cuda --json "${OUT:-/tmp}/bench_cuda.json"

#!/usr/bin/env bash
# The device check, prepared for a session with a GPU machine (run there from the repository root):
# installs CPU+CUDA-capable torch from the machine's own environment, runs the CUDA test and the
# benchmark on CUDA. Keep it under ~8 minutes.
set -euo pipefail
python3 -m venv .venv-gpu
.venv-gpu/bin/pip install -q -e '.[test]'
.venv-gpu/bin/python -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
.venv-gpu/bin/pytest -q tests/test_reliability.py -k cuda -p no:cacheprovider
mkdir -p "${OUT:-/tmp}"
.venv-gpu/bin/python benchmarks/bench_agreement.py --device cuda --json "${OUT:-/tmp}/bench_cuda.json"

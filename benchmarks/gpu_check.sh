#!/usr/bin/env bash
# The device check, prepared for a session with a GPU machine. The device image has torch, numpy,
# pandas, scipy, pyarrow, transformers, tokenizers, safetensors, scikit-learn, statsmodels, pytest and
# hypothesis but not krippendorff, and nothing can be fetched there, so download its wheel here first
# and carry it:
#   pip download --no-deps -d benchmarks/wheels krippendorff      (then run: carry ["benchmarks/wheels"])
# On the device, from the repository root:  bash benchmarks/gpu_check.sh   (about 8 minutes)
# Kernels, scoring, training and comparison only: nothing here imports Panel.
set -uo pipefail
OUT=${OUT:-/tmp}
python3 -m pip install -q --no-deps --no-index benchmarks/wheels/*.whl
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
python3 -c "import torch, pandas, transformers; print('torch', torch.__version__, torch.cuda.get_device_name(), '| pandas', pandas.__version__, '| transformers', transformers.__version__)"
timeout 150 python3 -m pytest -q -p no:cacheprovider -o addopts="" -rs -k "cuda or gpu" \
    tests/test_reliability.py tests/test_agreement_edges.py tests/test_scoring.py tests/test_reward_training.py tests/test_models.py \
    tests/test_decoder_scoring.py tests/test_dpo_scoring.py \
    2>&1 | tee "$OUT/gpu_tests.log"
timeout 100 python3 benchmarks/bench_agreement.py --device cuda --json "$OUT/bench_agreement_cuda.json" 2>&1 | tail -25
timeout 100 python3 benchmarks/bench_models.py --device cuda --dtype bfloat16 --pairs 2000 --json "$OUT/bench_models_cuda.json" 2>&1 | tail -15
timeout 120 python3 benchmarks/bench_explorer.py --device cuda --json "$OUT/bench_explorer_cuda.json" 2>&1 | tail -10
# A 0.5B-class decoder (Qwen2-0.5B's shape, random weights from a config) and a DPO pair of them, fp32 vs bf16:
# the same ranking of pairs, scores to bf16 tolerance, pairs/s and peak GPU memory (builds ~6 GB of checkpoints in /tmp).
timeout 240 python3 benchmarks/bench_decoder_large.py --device cuda --pairs 1000 --json "$OUT/bench_decoder_large_cuda.json" 2>&1 \
    | grep -v "^Loading\|Token indices" | tail -12

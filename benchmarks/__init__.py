"""Benchmarks (run by hand: ``python benchmarks/bench_*.py``); ``harness`` holds the load guard they share."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # as a package (python -m benchmarks.bench_x), ``import harness`` still resolves

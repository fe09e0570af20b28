"""Torch kernels: integer-coded tensors in, tensors out; no pandas, device-agnostic.

Every metric is split torchmetrics-style into per-item *statistics* (additive over items) and a
*compute* step on summed statistics, so one value, a bootstrap (replicate weights × items) and
per-slice values (sums over slice ids) run through the same code.
"""

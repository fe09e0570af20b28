"""Sums of per-item statistics over slices and bootstrap replicates, in bounded memory.

Rows of a statistics matrix (K × F) are items, or (slice, item) pairs sorted by slice. A
bootstrap replicate resamples rows *within* each slice with replacement; its statistics are the
count-weighted sum of rows — a (replicates × rows) @ (rows × F) product done in chunks of
replicates. Replicate b's draws come from its own generator seeded by (seed, b), so results do
not depend on the chunk size or the device.
"""

from __future__ import annotations

import numpy as np
import torch

from .device import DTYPE


def slice_sums(stats: torch.Tensor, bounds: np.ndarray) -> torch.Tensor:
    """Sum rows ``bounds[g]:bounds[g+1]`` for each slice g → (G, F)."""
    cumulative = torch.cat([torch.zeros(1, stats.shape[1], dtype=stats.dtype, device=stats.device), stats.cumsum(dim=0)])
    index = torch.as_tensor(bounds, device=stats.device)
    return cumulative[index[1:]] - cumulative[index[:-1]]


def replicate_counts(n_rows: int, bounds: np.ndarray, replicates: range, seed: int) -> np.ndarray:
    """(len(replicates) × n_rows) resampling counts: each slice's rows drawn with replacement, own size."""
    sizes = np.diff(bounds)
    starts = np.repeat(bounds[:-1], sizes)
    spans = np.repeat(sizes, sizes)
    out = np.empty((len(replicates), n_rows), dtype=np.float64)
    for k, b in enumerate(replicates):
        u = np.random.default_rng([seed, b]).random(n_rows)
        out[k] = np.bincount(starts + (u * spans).astype(np.int64), minlength=n_rows)
    return out


def bootstrap_sums(
    stats: torch.Tensor, bounds: np.ndarray, n_boot: int, seed: int, chunk_elements: int = 1 << 24
) -> torch.Tensor:
    """(n_boot × G × F) statistics of bootstrap replicates, resampling rows within slices."""
    n_rows, n_features = stats.shape
    n_slices = len(bounds) - 1
    out = torch.empty(n_boot, n_slices, n_features, dtype=DTYPE, device=stats.device)
    per_chunk = max(1, chunk_elements // max(n_rows, 1))
    for first in range(0, n_boot, per_chunk):
        batch = range(first, min(n_boot, first + per_chunk))
        weights = torch.as_tensor(replicate_counts(n_rows, bounds, batch, seed), dtype=DTYPE, device=stats.device)
        for g in range(n_slices):
            lo, hi = int(bounds[g]), int(bounds[g + 1])
            out[batch.start : batch.stop, g] = weights[:, lo:hi] @ stats[lo:hi]
    return out


def percentile_interval(values: torch.Tensor, level: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Percentile interval per column of (B × G) replicate values, ignoring undefined (NaN) replicates.

    Returns (low, high, number of defined replicates) per column.
    """
    alpha = (1.0 - level) / 2
    lows, highs = [], []
    defined = (~torch.isnan(values)).sum(dim=0)
    for g in range(values.shape[1]):
        column = values[:, g]
        column = column[~torch.isnan(column)]
        if len(column) == 0:
            lows.append(float("nan"))
            highs.append(float("nan"))
            continue
        q = torch.quantile(column, torch.tensor([alpha, 1 - alpha], dtype=column.dtype, device=column.device))
        lows.append(float(q[0]))
        highs.append(float(q[1]))
    return torch.tensor(lows, dtype=DTYPE), torch.tensor(highs, dtype=DTYPE), defined.cpu()

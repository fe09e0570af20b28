"""Sums of per-item statistics over slices and bootstrap replicates, in bounded memory.

Rows of a statistics matrix (K × F) are items, or (slice, item) pairs sorted by slice. A
bootstrap replicate resamples rows *within* each slice with replacement; its statistics are the
count-weighted sum of rows — a (replicates × rows) @ (rows × F) product done in chunks of
replicates. The draws come from one NumPy generator read in replicate order (one float64 per
draw, so a chunk of a replicates then b replicates reads exactly what a + b would), so results
do not depend on the chunk size or the device.

:func:`replicate_counts` (items) and :func:`rater_counts` (raters) are the resampling counts
themselves: given the seed a bootstrap used, they return exactly the replicates it drew, so an
interval can be rebuilt from them by any other route (tests do: tests/test_interval_values.py).
"""

from __future__ import annotations

import numpy as np
import torch

from .device import DTYPE


def slice_sums(stats: torch.Tensor, bounds: np.ndarray) -> torch.Tensor:
    """Sum rows ``bounds[g]:bounds[g+1]`` for each slice g: (…, rows, F) → (…, G, F)."""
    zeros = torch.zeros(*stats.shape[:-2], 1, stats.shape[-1], dtype=stats.dtype, device=stats.device)
    cumulative = torch.cat([zeros, stats.cumsum(dim=-2)], dim=-2)
    index = torch.as_tensor(bounds, device=stats.device)
    return cumulative[..., index[1:], :] - cumulative[..., index[:-1], :]


def replicate_counts(seed, n_replicates: int, bounds) -> np.ndarray:
    """(n_replicates × rows) resampling counts: each slice's rows drawn with replacement, own size.

    ``seed`` is an int (the ``seed`` given to the bootstrap) or a NumPy Generator, from which
    exactly ``n_replicates × rows`` uniforms are read (replicate-major). Slice g owns rows
    ``bounds[g]:bounds[g+1]``; row r of slice g is drawn when ``⌊u · size_g⌋ = r − bounds[g]``.

    >>> replicate_counts(0, 2, [0, 3, 5])
    array([[2., 1., 0., 1., 1.],
           [0., 1., 2., 0., 2.]])
    """
    rng = np.random.default_rng(seed)
    bounds = np.asarray(bounds, dtype=np.int64)
    n_rows = int(bounds[-1])
    sizes = np.diff(bounds)
    starts = np.repeat(bounds[:-1], sizes)
    spans = np.repeat(sizes, sizes)
    u = rng.random((n_replicates, n_rows))
    drawn = starts + (u * spans).astype(np.int64) + (np.arange(n_replicates) * n_rows)[:, None]
    return np.bincount(drawn.ravel(), minlength=n_replicates * n_rows).reshape(n_replicates, n_rows).astype(np.float64)


def rater_counts(seed, n_replicates: int, n_raters: int, strata=None) -> np.ndarray:
    """(n_replicates × n_raters) counts of a rater bootstrap: each replicate draws n_raters raters with replacement.

    ``seed`` is an int (the bootstrap's seed) or a NumPy Generator; each replicate reads one
    ``integers(0, n_raters, n_raters)`` call, so chunks of replicates read what one run would.
    With ``strata`` (a group code per rater), each group's raters are drawn from that group,
    as many as it has (the draws of :func:`replicate_counts` over the raters sorted by group).

    >>> rater_counts(0, 2, 4)
    array([[0., 1., 2., 1.],
           [3., 1., 0., 0.]])
    >>> rater_counts(0, 2, 4, strata=[0, 1, 0, 1]).tolist()  # raters 0, 2 and 1, 3 keep two draws each
    [[1.0, 2.0, 1.0, 0.0], [0.0, 0.0, 2.0, 2.0]]
    """
    rng = np.random.default_rng(seed)
    if strata is not None:
        strata = np.asarray(strata, dtype=np.int64)
        order = np.argsort(strata, kind="stable")
        bounds = np.searchsorted(strata[order], np.arange(strata.max(initial=0) + 2))
        out = np.empty((n_replicates, n_raters), dtype=np.float64)
        out[:, order] = replicate_counts(rng, n_replicates, bounds)
        return out
    out = np.empty((n_replicates, n_raters), dtype=np.float64)
    for b in range(n_replicates):
        out[b] = np.bincount(rng.integers(0, n_raters, n_raters), minlength=n_raters)
    return out


def bootstrap_sums(
    stats: torch.Tensor, bounds: np.ndarray, n_boot: int, seed: int, chunk_elements: int = 1 << 24
) -> torch.Tensor:
    """(n_boot × G × F) statistics of bootstrap replicates, resampling rows within slices."""
    n_rows, n_features = stats.shape
    n_slices = len(bounds) - 1
    out = torch.empty(n_boot, n_slices, n_features, dtype=DTYPE, device=stats.device)
    per_chunk = max(1, chunk_elements // max(n_rows, 1))
    rng = np.random.default_rng(seed)
    for first in range(0, n_boot, per_chunk):
        batch = range(first, min(n_boot, first + per_chunk))
        weights = torch.as_tensor(replicate_counts(rng, len(batch), bounds), dtype=DTYPE, device=stats.device)
        for g in range(n_slices):
            lo, hi = int(bounds[g]), int(bounds[g + 1])
            out[batch.start : batch.stop, g] = weights[:, lo:hi] @ stats[lo:hi]
    return out


def percentile_interval(values: torch.Tensor, level: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Percentile interval per column of (B × G) replicate values, ignoring undefined (NaN) replicates.

    Returns (low, high, number of defined replicates) per column.
    """
    tail = torch.full((values.shape[1],), (1.0 - level) / 2, dtype=DTYPE)
    return _quantiles(values, tail, 1 - tail)


def bca_interval(
    values: torch.Tensor, point: torch.Tensor, acceleration: torch.Tensor, level: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bias-corrected and accelerated (BCa) interval per column of (B × G) replicate values (Efron 1987).

    The percentiles move to ``Φ(z₀ + (z₀ + z)/(1 − a(z₀ + z)))`` for z = Φ⁻¹ of each tail, with
    bias ``z₀ = Φ⁻¹(share of replicates below the point value, ties (to 1e-12) counting half)`` and
    ``a`` from :func:`jackknife_acceleration`. Undefined replicates are ignored; the share is kept
    within [1/(2B), 1 − 1/(2B)] so that z₀ stays finite. Returns (low, high, defined replicates).

    >>> values = torch.arange(1.0, 101.0, dtype=torch.float64)[:, None]
    >>> low, high, _ = bca_interval(values, torch.tensor([50.5]), torch.tensor([0.0]), 0.9)
    >>> round(float(low[0]), 2), round(float(high[0]), 2)
    (5.95, 95.05)
    """
    values = values.cpu()
    point, acceleration = point.cpu().to(DTYPE), acceleration.cpu().to(DTYPE)
    defined = ~torch.isnan(values)
    n = defined.sum(dim=0).to(DTYPE).clamp(min=1)
    tie = (values - point).abs() <= 1e-12 * point.abs().clamp(min=1)  # a replicate that redraws the data (sums in another order)
    below = ((values < point) & ~tie).sum(dim=0) + 0.5 * tie.sum(dim=0)
    share = torch.minimum(torch.maximum(below / n, 0.5 / n), 1 - 0.5 / n)
    bias = torch.special.ndtri(share)[:, None]
    z = torch.special.ndtri(torch.tensor([(1.0 - level) / 2, (1.0 + level) / 2], dtype=DTYPE))[None, :]
    adjusted = torch.special.ndtr(bias + (bias + z) / (1 - acceleration[:, None] * (bias + z)))
    return _quantiles(values, adjusted[:, 0], adjusted[:, 1])


def jackknife_acceleration(values: torch.Tensor, group: torch.Tensor, n_groups: int) -> torch.Tensor:
    """BCa acceleration ``a = Σ d³ / (6 (Σ d²)^{3/2})``, d = mean − leave-one-out value, per group.

    ``values`` are leave-one-out values, ``group`` the slice of each; NaN values are left out and a
    group without spread gets a = 0.

    >>> a = jackknife_acceleration(torch.tensor([1.0, 2.0, 6.0]), torch.tensor([0, 0, 0]), 1)  # d = 2, 1, −3
    >>> round(float(a[0]), 4)  # −18 / (6 · 14^1.5)
    -0.0573
    """
    values, group = values.cpu().to(DTYPE), group.cpu()
    keep = ~torch.isnan(values)
    values, group = values[keep], group[keep]
    count = torch.bincount(group, minlength=n_groups).to(DTYPE)
    mean = torch.bincount(group, weights=values, minlength=n_groups) / count.clamp(min=1)
    d = mean[group] - values
    squares = torch.bincount(group, weights=d**2, minlength=n_groups)
    cubes = torch.bincount(group, weights=d**3, minlength=n_groups)
    return torch.where(squares > 0, cubes / (6 * squares.clamp(min=1e-300) ** 1.5), 0.0)


def _quantiles(values: torch.Tensor, low_q: torch.Tensor, high_q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per column g, the quantiles ``low_q[g]`` and ``high_q[g]`` of its defined (non-NaN) values (linear interpolation)."""
    lows, highs = [], []
    defined = (~torch.isnan(values)).sum(dim=0)
    for g in range(values.shape[1]):
        column = values[:, g]
        column = column[~torch.isnan(column)]
        if len(column) == 0 or torch.isnan(low_q[g]) or torch.isnan(high_q[g]):
            lows.append(float("nan"))
            highs.append(float("nan"))
            continue
        q = torch.quantile(column, torch.tensor([float(low_q[g]), float(high_q[g])], dtype=column.dtype, device=column.device))
        lows.append(float(q[0]))
        highs.append(float(q[1]))
    return torch.tensor(lows, dtype=DTYPE), torch.tensor(highs, dtype=DTYPE), defined.cpu()

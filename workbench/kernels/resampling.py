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

Big studies repeat themselves: a million items rated by ten raters on five labels hold about a
thousand distinct per-item count vectors. :func:`row_types` finds the distinct input rows of each
slice; a replicate then draws, per slice, how often each *type* is drawn — one multinomial over
the types, with probabilities their multiplicities — which has exactly the distribution of
drawing the slice's rows one by one, at a cost of (replicates × types) instead of
(replicates × rows). Which path a study takes depends on the data only (:data:`TYPES_MIN_ROWS`,
:data:`TYPES_MAX_SHARE`), so a seed still gives one interval on any device.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .device import DTYPE

#: Draw types instead of rows when a study has at least this many rows ...
TYPES_MIN_ROWS = 1 << 16
#: ... and at most this share of them are distinct (a multinomial draw costs several uniform ones).
TYPES_MAX_SHARE = 1 / 8
#: Rows wider than this are not compared for types.
TYPES_MAX_WIDTH = 64
_HASH = np.uint64(0x9E3779B97F4A7C15)


def slice_sums(stats: torch.Tensor, bounds: np.ndarray) -> torch.Tensor:
    """Sum rows ``bounds[g]:bounds[g+1]`` for each slice g: (…, rows, F) → (…, G, F)."""
    zeros = torch.zeros(*stats.shape[:-2], 1, stats.shape[-1], dtype=stats.dtype, device=stats.device)
    cumulative = torch.cat([zeros, stats.cumsum(dim=-2)], dim=-2)
    index = torch.as_tensor(bounds, device=stats.device)
    return cumulative[..., index[1:], :] - cumulative[..., index[:-1], :]


def replicate_counts(seed, n_replicates: int, bounds, multiplicity=None) -> np.ndarray:
    """(n_replicates × rows) resampling counts: each slice's rows drawn with replacement, own size.

    ``seed`` is an int (the ``seed`` given to the bootstrap) or a NumPy Generator, from which
    exactly ``n_replicates × rows`` uniforms are read (replicate-major). Slice g owns rows
    ``bounds[g]:bounds[g+1]``; row r of slice g is drawn when ``⌊u · size_g⌋ = r − bounds[g]``.

    With ``multiplicity`` (rows are types standing for that many identical rows, see
    :func:`row_types`), slice g draws ``Σ multiplicity`` rows as one multinomial over its types per
    replicate, from its own stream (``spawn`` of the seed's generator, read replicate-major).

    >>> replicate_counts(0, 2, [0, 3, 5])
    array([[2., 1., 0., 1., 1.],
           [0., 1., 2., 0., 2.]])
    >>> replicate_counts(0, 2, [0, 2, 3], multiplicity=[3, 1, 2]).tolist()  # 4 rows drawn in slice 0, 2 in slice 1
    [[2.0, 2.0, 2.0], [4.0, 0.0, 2.0]]
    """
    if multiplicity is not None:
        return _TypeDraws(seed, bounds, multiplicity)(n_replicates)
    rng = np.random.default_rng(seed)
    bounds = np.asarray(bounds, dtype=np.int64)
    n_rows = int(bounds[-1])
    sizes = np.diff(bounds)
    u = rng.random((n_replicates, n_rows))
    # in place, one temporary: this draw is most of a bootstrap's time (the same draws as ⌊u · size⌋ + start)
    u *= n_rows if len(sizes) == 1 else np.repeat(sizes, sizes).astype(np.float64)
    drawn = u.astype(np.int64)
    del u
    if len(sizes) > 1:
        drawn += np.repeat(bounds[:-1], sizes)
    drawn += (np.arange(n_replicates, dtype=np.int64) * n_rows)[:, None]
    return np.bincount(drawn.ravel(), minlength=n_replicates * n_rows).reshape(n_replicates, n_rows).astype(np.float64)


class _TypeDraws:
    """Replicates of a type bootstrap, read in chunks: one multinomial per (replicate, slice), a stream per slice."""

    def __init__(self, seed, bounds, multiplicity):
        self.bounds = np.asarray(bounds, dtype=np.int64)
        self.multiplicity = np.asarray(multiplicity, dtype=np.float64)
        self.streams = np.random.default_rng(seed).spawn(len(self.bounds) - 1)

    def __call__(self, n_replicates: int) -> np.ndarray:
        out = np.zeros((n_replicates, int(self.bounds[-1])), dtype=np.float64)
        for g, stream in enumerate(self.streams):
            lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
            m = self.multiplicity[lo:hi]
            if hi > lo:
                out[:, lo:hi] = stream.multinomial(int(m.sum()), m / m.sum(), size=n_replicates)
        return out


class RowTypes(NamedTuple):
    """Distinct rows per slice: ``of_row`` (type of each row), ``first`` (a representative row per
    type), ``bounds`` (types of slice g are ``bounds[g]:bounds[g+1]``), ``multiplicity`` (rows per type)."""

    of_row: np.ndarray
    first: np.ndarray
    bounds: np.ndarray
    multiplicity: np.ndarray


def row_types(
    rows: torch.Tensor, bounds, min_rows: int | None = None, max_share: float | None = None
) -> RowTypes | None:
    """Distinct rows of each slice, when a study is big and repetitive enough to draw them as types.

    ``rows`` (rows × F, a kernel's per-row input: equal inputs give equal statistics) are grouped
    by exact equality within each slice (a 64-bit row hash, then checked). Returns
    :class:`RowTypes`, the types of slice g contiguous and in order of first appearance, or ``None`` when the study
    has fewer than ``min_rows`` (default :data:`TYPES_MIN_ROWS`) rows, more than ``max_share``
    (default :data:`TYPES_MAX_SHARE`) of them distinct, or rows wider than :data:`TYPES_MAX_WIDTH`.

    >>> types = row_types(torch.tensor([[1.0], [2.0], [1.0], [1.0]]), [0, 3, 4], min_rows=1, max_share=1)
    >>> types.of_row.tolist(), types.first.tolist(), types.bounds.tolist(), types.multiplicity.tolist()
    ([0, 1, 0, 2], [0, 1, 3], [0, 2, 3], [2, 1, 1])
    """
    min_rows = TYPES_MIN_ROWS if min_rows is None else min_rows
    max_share = TYPES_MAX_SHARE if max_share is None else max_share
    bounds = np.asarray(bounds, dtype=np.int64)
    n_rows = int(bounds[-1])
    if n_rows < min_rows or rows.ndim != 2 or rows.shape[1] > TYPES_MAX_WIDTH:
        return None
    values = np.ascontiguousarray(rows.detach().cpu().numpy().astype(np.float64) + 0.0)  # + 0.0: −0.0 and 0.0 hash alike
    slice_of_row = np.repeat(np.arange(len(bounds) - 1, dtype=np.uint64), np.diff(bounds))
    code = _packed_codes(values, slice_of_row)
    exact = code is not None
    if not exact:
        key = slice_of_row.copy()
        with np.errstate(over="ignore"):
            for column in values.view(np.uint64).T:
                key = _mix(key * _HASH + column)
        _, code = np.unique(key, return_inverse=True)
    n_types = int(code.max(initial=-1)) + 1
    if n_types > max_share * n_rows:
        return None
    first = np.full(n_types, n_rows, dtype=np.int64)
    np.minimum.at(first, code, np.arange(n_rows))
    if not exact:
        same = (values == values[first[code]]) | (np.isnan(values) & np.isnan(values[first[code]]))
        if not same.all() or not (slice_of_row == slice_of_row[first[code]]).all():
            return None  # a hash collision: draw rows instead
    order = np.lexsort((first, slice_of_row[first]))  # by slice, then first appearance
    rank = np.empty(n_types, dtype=np.int64)
    rank[order] = np.arange(n_types)
    first = first[order]
    multiplicity = np.bincount(code, minlength=n_types)[order]
    type_bounds = np.searchsorted(slice_of_row[first], np.arange(len(bounds)))
    return RowTypes(rank[code], first, type_bounds, multiplicity)


def _packed_codes(values: np.ndarray, slice_of_row: np.ndarray) -> np.ndarray | None:
    """Type codes without hashing when rows are small counts: (slice, row) packed into one integer, ranked by a
    presence table. ``None`` when the rows are not small non-negative integers (then they are hashed)."""
    n_rows = len(values)
    if not n_rows or not np.isfinite(values).all() or values.min() < 0 or (values != np.floor(values)).any():
        return None
    bits = max(1, int(values.max()).bit_length())
    n_slices = int(slice_of_row[-1]) + 1
    if bits * values.shape[1] + max(1, (n_slices - 1).bit_length()) > 62 or n_slices << (bits * values.shape[1]) > 4 * n_rows:
        return None
    key = slice_of_row.astype(np.int64)
    for column in values.T:
        key = (key << bits) | column.astype(np.int64)
    present = np.zeros(n_slices << (bits * values.shape[1]), dtype=bool)
    present[key] = True
    return (np.cumsum(present, dtype=np.int64) - 1)[key]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit moves every output bit (float bits differ in the high ones only)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def spread_type_counts(seed, type_counts: np.ndarray, types: RowTypes) -> np.ndarray:
    """Row counts behind type counts: each draw of a type goes to one of its rows, uniformly at random.

    For (replicates × types) counts from :func:`replicate_counts` with ``multiplicity``, this is a
    draw of the rows themselves (drawing a type, then one of its rows, is drawing a row), so a
    naive resampler given these counts rebuilds the same replicates. Uses its own stream (the
    seed's generator's child after the slices' ones).

    >>> types = row_types(torch.tensor([[1.0], [2.0], [1.0]]), [0, 3], min_rows=1, max_share=1)
    >>> spread_type_counts(0, np.array([[2.0, 1.0]]), types).sum(axis=1).tolist()
    [3.0]
    """
    rng = np.random.default_rng(seed).spawn(len(types.bounds))[-1]
    members = np.argsort(types.of_row, kind="stable")
    start = np.concatenate([[0], np.cumsum(types.multiplicity)[:-1]])
    n_rows = len(types.of_row)
    out = np.empty((len(type_counts), n_rows), dtype=np.float64)
    for b, counts in enumerate(np.asarray(type_counts, dtype=np.int64)):
        drawn = np.repeat(np.arange(len(counts)), counts)
        member = members[start[drawn] + (rng.random(len(drawn)) * types.multiplicity[drawn]).astype(np.int64)]
        out[b] = np.bincount(member, minlength=n_rows)
    return out


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
    stats: torch.Tensor, bounds: np.ndarray, n_boot: int, seed: int, chunk_elements: int = 1 << 24, multiplicity=None
) -> torch.Tensor:
    """(n_boot × G × F) statistics of bootstrap replicates, resampling rows within slices.

    With ``multiplicity``, each row is a type standing for that many identical rows (see
    :func:`row_types` and :func:`replicate_counts`).
    """
    n_rows, n_features = stats.shape
    n_slices = len(bounds) - 1
    out = torch.empty(n_boot, n_slices, n_features, dtype=DTYPE, device=stats.device)
    per_chunk = max(1, chunk_elements // max(n_rows, 1))
    draw = _TypeDraws(seed, bounds, multiplicity) if multiplicity is not None else None
    rng = np.random.default_rng(seed)
    for first in range(0, n_boot, per_chunk):
        batch = range(first, min(n_boot, first + per_chunk))
        counts = draw(len(batch)) if draw is not None else replicate_counts(rng, len(batch), bounds)
        weights = torch.as_tensor(counts, dtype=DTYPE, device=stats.device)
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


# ---------------------------------------------------------------------- Poisson bootstrap, counter-based
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: P(K ≤ k) for K ~ Poisson(1), k = 0, 1, …: the inverse CDF turns a uniform into a weight.
_POISSON1_CDF = np.cumsum(np.exp(-1.0) / np.cumprod(np.concatenate([[1.0], np.arange(1.0, 24.0)])))


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's output function on uint64 arrays (wraps modulo 2⁶⁴)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def poisson_weights(keys, n_replicates: int, seed: int, first: int = 0) -> np.ndarray:
    """(n_replicates × len(keys)) Poisson(1) bootstrap weights, each a pure function of (seed, key, replicate).

    ``keys`` are stable 64-bit unit keys (:func:`workbench.data.keys.stable_keys` of the item ids).
    The weight of unit ``key`` in replicate ``b`` is the inverse Poisson(1) CDF of the (b + 1)-th
    splitmix64 output from the state ``mix(key ^ mix(seed))``: no generator is read in order, so
    any subset of units, in any order, on any worker, gets the same weights. ``first`` is the
    number of the first replicate returned (replicates ``first … first + n_replicates − 1``).

    >>> poisson_weights(np.array([1, 2, 3], dtype=np.uint64), 2, seed=0).tolist()
    [[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]
    >>> poisson_weights(np.array([3], dtype=np.uint64), 1, seed=0, first=1).tolist()  # replicate 1 of unit 3 alone
    [[0.0]]
    """
    keys = np.asarray(keys, dtype=np.uint64)
    with np.errstate(over="ignore"):
        state = _mix64(keys ^ _mix64(np.asarray([int(seed) % 2**64], dtype=np.uint64) + _GOLDEN))
        step = (np.arange(first + 1, first + n_replicates + 1, dtype=np.uint64) * _GOLDEN)[:, None]
        bits = _mix64(state[None, :] + step)
    uniform = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.searchsorted(_POISSON1_CDF, uniform, side="right").astype(np.float64)


def poisson_sums(stats: torch.Tensor, bounds: np.ndarray, keys, n_boot: int, seed: int, chunk_elements: int = 1 << 24) -> torch.Tensor:
    """(n_boot × G × F) statistics of Poisson-bootstrap replicates: row r weighted by :func:`poisson_weights` of ``keys[r]``.

    Sums over any split of the rows add up to the sums over all of them (a map/reduce), since
    each row's weights depend on its key alone.
    """
    n_rows, n_features = stats.shape
    n_slices = len(bounds) - 1
    out = torch.empty(n_boot, n_slices, n_features, dtype=DTYPE, device=stats.device)
    per_chunk = max(1, chunk_elements // max(n_rows, 1))
    for first in range(0, n_boot, per_chunk):
        size = min(per_chunk, n_boot - first)
        weights = torch.as_tensor(poisson_weights(keys, size, seed, first), dtype=DTYPE, device=stats.device)
        for g in range(n_slices):
            lo, hi = int(bounds[g]), int(bounds[g + 1])
            out[first : first + size, g] = weights[:, lo:hi] @ stats[lo:hi]
    return out

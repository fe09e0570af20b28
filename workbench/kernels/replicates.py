"""Bootstrap replicates of categorical agreement from sparse (item, category, count) entries: any number of categories.

A replicate with item weights w (a row of the (replicates × items) resampling matrix) needs, for
nominal alpha, only its category totals ``n_c = Σ_i w_i a_ic`` and ``Σ_i w_i o_i`` (o_i: each item's
observed disagreement, fixed); for ordinal alpha, the same totals give the replicate's own mid-ranks
``t_c = Σ_{g≤c} n_g − n_c/2``, and each item's squared deviations are recomputed on them; for the
kappa family, category totals of counts and of shares plus per-item sums. With E entries, V categories,
R rows and B replicates, a chunk of b replicates costs O(b·(E + V + R)) memory — never rows × V, never
V × V — and the chunk size keeps it within :data:`~workbench.kernels.agreement.CHUNK_BYTES` (times a
small constant). Each replicate's per-entry work is a gather of its item weights and a scatter-add
by category: the (replicates × items) @ (items × categories) sparse product, done as index arithmetic
so that the same code runs on CPU and CUDA, in float64.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .agreement import CHUNK_BYTES, SparseCounts, _sum_by, pair_scale
from .device import DTYPE

#: float64 temporaries of size b × max(E, V, R) alive at once in one chunk (sizes the chunk).
_TEMPORARIES = 6


def replicates_per_chunk(counts: SparseCounts, n_rows: int, chunk_bytes: int | None = None) -> int:
    """How many replicates one chunk holds so that its temporaries stay within ``chunk_bytes`` (default CHUNK_BYTES).

    >>> c = SparseCounts(torch.tensor([0]), torch.tensor([0]), torch.ones(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64), 1, 10**6)
    >>> replicates_per_chunk(c, 1, chunk_bytes=96 * 10**6)
    2
    """
    chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    widest = max(len(counts.count), counts.n_values, n_rows, 1)
    return max(1, chunk_bytes // (8 * _TEMPORARIES * widest))


def _row_sums(weights: torch.Tensor, per_row: torch.Tensor) -> torch.Tensor:
    """Σ_i w_bi x_i for each replicate b: (b × R) @ (R,)."""
    return weights @ per_row


def _entry_totals(weights: torch.Tensor, e: SparseCounts, per_entry: torch.Tensor) -> torch.Tensor:
    """(b × V) Σ over entries of w_b[row] · per_entry, by category: the weighted sparse product W @ A."""
    contribution = weights[:, e.row] * per_entry  # b × E
    out = torch.zeros(len(weights), e.n_values, dtype=DTYPE, device=weights.device)
    return out.index_add_(1, e.code, contribution)


def alpha_replicate_summaries(level: str, e: SparseCounts, weights: torch.Tensor) -> torch.Tensor:
    """(b × 3) ``(n, Σ o·δ², Σ n_c n_k δ²)`` of each replicate (item weights ``weights``, b × rows) for nominal or ordinal alpha.

    Equal to :meth:`AlphaCategorical._summary <workbench.kernels.agreement.AlphaCategorical>` of the data set
    in which row i appears ``weights[b, i]`` times (nominal needs aggregated entries: unique (row, code)).

    >>> e = SparseCounts(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64),
    ...                  torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64), 2, 2)
    >>> alpha_replicate_summaries("nominal", e, torch.tensor([[1.0, 1.0], [0.0, 2.0]], dtype=torch.float64)).tolist()
    [[4.0, 2.0, 6.0], [4.0, 0.0, 0.0]]
    """
    m = _sum_by(e.row, e.n_rows, e.count)
    self_pairs = m if e.self_count is e.count else _sum_by(e.row, e.n_rows, e.self_count)
    scale = pair_scale(m, self_pairs)
    n_c = _entry_totals(weights, e, scale[e.row] * (e.count * m[e.row] - e.self_count))  # coincidence marginals, b × V
    n = n_c.sum(dim=1)
    if level == "nominal":
        observed = _row_sums(weights, scale * (m * m - _sum_by(e.row, e.n_rows, e.count * e.count)))
        expected = n * n - (n_c * n_c).sum(dim=1)
        return torch.stack([n, observed, expected], dim=1)
    if level != "ordinal":
        raise ValueError(f"replicate summaries cover nominal and ordinal alpha, not {level!r}")
    t = torch.cumsum(n_c, dim=1) - n_c / 2  # each replicate's own mid-ranks
    t = t - ((n_c * t).sum(dim=1) / n.clamp(min=1e-300))[:, None]  # centred: sums of squares stay small
    entry_t = t[:, e.code]  # b × E
    mean = torch.zeros(len(weights), e.n_rows, dtype=DTYPE, device=weights.device).index_add_(1, e.row, e.count * entry_t)
    mean = mean / m.clamp(min=1e-300)
    entry_t.sub_(mean[:, e.row]).square_().mul_(e.count)
    squares = torch.zeros_like(mean).index_add_(1, e.row, entry_t)
    observed = (weights * squares * (scale * 2 * m)).sum(dim=1)
    expected = 2 * n * (n_c * t * t).sum(dim=1)
    return torch.stack([n, observed, expected], dim=1)


def kappa_replicate_totals(e: SparseCounts, weights: torch.Tensor) -> torch.Tensor:
    """(b × (2q + 3)) summed :class:`~workbench.kernels.coefficients.KappaFamily` statistics (identity weights) of each replicate.

    Columns as the kernel's: counts of pairable items (q), shares r_k/m of rated items (q), p_a,
    pairable items, rated items. ``e`` must hold unique (row, code) entries; with rating weights
    (``self_count`` = Σ weight²), pairs between copies of one rater are left out, as in
    :func:`~workbench.kernels.agreement.pair_agreement`.

    >>> e = SparseCounts(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), torch.tensor([2.0, 1.0, 2.0], dtype=torch.float64),
    ...                  torch.tensor([2.0, 1.0, 2.0], dtype=torch.float64), 2, 2)
    >>> kappa_replicate_totals(e, torch.tensor([[1.0, 1.0]], dtype=torch.float64))[0, -3:].tolist()  # p_a: 1/3 + 1
    [1.3333333333333333, 2.0, 2.0]
    """
    m = _sum_by(e.row, e.n_rows, e.count)
    self_total = m if e.self_count is e.count else _sum_by(e.row, e.n_rows, e.self_count)
    pairs = m * m - self_total
    pairable = pairs > 1e-9
    same = _sum_by(e.row, e.n_rows, e.count * e.count)
    agreement = torch.where(pairable, (same - self_total) / torch.where(pairable, pairs, 1.0), 0.0)
    pairable_f = pairable.to(DTYPE)
    counts = _entry_totals(weights, e, e.count * pairable_f[e.row])
    shares = _entry_totals(weights, e, e.count / m.clamp(min=1e-300)[e.row])
    rest = torch.stack([_row_sums(weights, agreement), _row_sums(weights, pairable_f), _row_sums(weights, (m > 0).to(DTYPE))], dim=1)
    return torch.cat([counts, shares, rest], dim=1)


def replicate_values(
    kernel,
    inputs: tuple,
    bounds: np.ndarray,
    n_boot: int,
    draw: Callable[[int, int], np.ndarray],
    chunk_bytes: int | None = None,
) -> torch.Tensor:
    """(n_boot × slices) values of a kernel with ``replicate_totals(inputs, weights)``, a chunk of replicates at a time.

    ``draw(first, size)`` returns the (size × rows) item weights of replicates first … first + size − 1
    (the multinomial counts of :func:`~workbench.kernels.resampling.replicate_counts` read in order, or
    Poisson weights); slice g's replicate uses the columns ``bounds[g]:bounds[g+1]``.
    """
    counts = inputs[0]
    n_rows = counts.n_rows
    per_chunk = replicates_per_chunk(counts, n_rows, chunk_bytes)
    device = counts.count.device
    values = torch.empty(n_boot, len(bounds) - 1, dtype=DTYPE, device=device)
    parts = [counts[int(lo):int(hi)] for lo, hi in zip(bounds[:-1], bounds[1:])]
    for first in range(0, n_boot, per_chunk):
        size = min(per_chunk, n_boot - first)
        weights = torch.as_tensor(draw(first, size), dtype=DTYPE, device=device)
        for g, part in enumerate(parts):
            lo, hi = int(bounds[g]), int(bounds[g + 1])
            values[first : first + size, g] = kernel.compute(kernel.replicate_totals(part, weights[:, lo:hi]))[0]
    return values

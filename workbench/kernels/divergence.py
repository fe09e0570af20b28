"""Group divergence per item and its permutation null (batched, seeded).

Ratings arrive integer-coded: ``item`` and ``value`` (category) per rating, and the *unit* that
carries the group (a rater, or the rating itself for per-rating columns). A permutation shuffles
the units' group codes, so a rater keeps one group across all their items.

Counting every (item, category, group) cell for a batch of permutations is one sparse-dense
product, ``A (items·categories × units) @ V (units × permutations)``, where V holds each unit's
group as a power of two: several groups ride as bit fields of one float64 (exact below 2⁵³).

The JSD of two count vectors a and b needs no logarithm of a real number: with s = a·|b| + b·|a|
(proportional to their mixture), ``JSD = H(s) − (H(a) + H(b)) / 2`` and ``H(c) = (ξ(|c|) − Σ ξ(c_k)) / |c|``
with ξ(x) = x·log₂x, which a table over the integers gives exactly. Equal counts thus give
bit-identical statistics, so ties between the observed and a permuted statistic are exact.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from .device import DTYPE

#: Elements of the largest temporary a batch of permutations may hold (≈128 MiB of int64).
CHUNK_ELEMENTS = 1 << 24
#: ξ(x) = x·log₂x is tabulated up to this integer; larger counts use the logarithm itself.
TABLE_LIMIT = 1 << 22
#: Per-item JSD tables (:class:`ItemJSD`) are used up to this many entries in all (128 MiB of float64).
TABLE_ENTRIES = 1 << 24


class GroupCounter:
    """Counts of ratings per (item, category, group) for many group assignments of the units at once.

    >>> item = torch.tensor([0, 0, 0, 1]); value = torch.tensor([0, 1, 1, 0]); unit = torch.tensor([0, 1, 2, 0])
    >>> counter = GroupCounter(item, value, unit, n_items=2, n_values=2, n_units=3)
    >>> counter.counts(torch.tensor([[0, 1, 1]]), n_groups=2)[..., 0].tolist()  # (groups, items, categories)
    [[[1, 0], [1, 0]], [[0, 2], [0, 0]]]
    """

    def __init__(self, item: torch.Tensor, value: torch.Tensor, unit: torch.Tensor, *, n_items: int, n_values: int, n_units: int):
        self.n_items, self.n_values, self.n_units = n_items, n_values, n_units
        self.rows, self.unit = item * n_values + value, unit
        self.total = torch.bincount(self.rows, minlength=n_items * n_values).reshape(n_items, n_values)
        # a group's count in one (item, category) cell is at most that cell's total
        self.bits = max(1, int(self.total.max().item()).bit_length()) if len(self.rows) else 1
        n_item = self.total.sum(dim=1)
        self.xlog = XLog(int((n_item.max().item() ** 2) // 2 + 1) if len(self.rows) else 2, device=item.device)
        self._matrix = None

    @property
    def matrix(self) -> torch.Tensor:
        """The (items·categories × units) 0/1 matrix, sparse CSR; built on first use (permutations only)."""
        if self._matrix is None:
            with warnings.catch_warnings():  # "sparse CSR support is in beta": the product used here is stable
                warnings.simplefilter("ignore", UserWarning)
                ones = torch.ones(len(self.rows), dtype=DTYPE, device=self.rows.device)
                coo = torch.sparse_coo_tensor(torch.stack([self.rows, self.unit]), ones, (self.n_items * self.n_values, self.n_units))
                self._matrix = coo.coalesce().to_sparse_csr()
        return self._matrix

    def observed(self, unit_group: torch.Tensor, n_groups: int) -> torch.Tensor:
        """(groups, items, categories) int64 counts for one assignment (a count, no matrix product).

        >>> item = torch.tensor([0, 0, 0, 1]); value = torch.tensor([0, 1, 1, 0]); unit = torch.tensor([0, 1, 2, 0])
        >>> GroupCounter(item, value, unit, n_items=2, n_values=2, n_units=3).observed(torch.tensor([0, 1, 1]), 2).tolist()
        [[[1, 0], [1, 0]], [[0, 2], [0, 0]]]
        """
        cells = self.n_items * self.n_values
        flat = torch.bincount(unit_group[self.unit] * cells + self.rows, minlength=n_groups * cells)
        return flat.reshape(n_groups, self.n_items, self.n_values)

    def counts(self, unit_group: torch.Tensor, n_groups: int, *, all_groups: bool = True) -> torch.Tensor:
        """(groups, items, categories, B) int64 counts for B assignments ``unit_group`` (B × units, codes < n_groups).

        ``all_groups=False`` leaves out the last group (the total minus the others).
        """
        n_assign = unit_group.shape[0]
        counted = n_groups - 1
        per_column = max(1, min(52 // self.bits, counted))
        n_columns = max(1, math.ceil(counted / per_column))
        column = unit_group // per_column  # == n_columns for the last group: not packed
        power = torch.ldexp(torch.ones_like(unit_group, dtype=DTYPE), (unit_group % per_column) * self.bits)
        weights = torch.where(column < n_columns, power, 0.0)
        packed = torch.zeros(self.n_units, n_columns, n_assign, dtype=DTYPE, device=unit_group.device)
        packed.scatter_(1, column.clamp(max=n_columns - 1).T[:, None, :], weights.T[:, None, :])
        product = (self.matrix @ packed.reshape(self.n_units, -1)).to(torch.int64)
        product = product.reshape(self.n_items, self.n_values, n_columns, n_assign)
        mask = (1 << self.bits) - 1
        groups = [(product[:, :, g // per_column] >> ((g % per_column) * self.bits)) & mask for g in range(counted)]
        if all_groups:
            groups.append(self.total[:, :, None] - sum(groups))
        return torch.stack(groups)


class XLog:
    """ξ(x) = x·log₂x (ξ(0) = 0) on non-negative integer tensors, from a table when small enough."""

    def __init__(self, limit: int, device=None):
        self.limit = limit
        if limit <= TABLE_LIMIT:
            x = torch.arange(limit + 1, dtype=DTYPE, device=device)
            self.table = torch.where(x > 0, x * torch.log2(x.clamp(min=1)), 0.0)
        else:
            self.table = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.table is not None:
            return self.table[x]
        real = x.to(DTYPE)
        return torch.where(real > 0, real * torch.log2(real.clamp(min=1)), 0.0)


def count_entropy(counts: torch.Tensor, xlog: XLog) -> torch.Tensor:
    """Entropy in bits of count vectors along dim 1 (categories): (ξ(n) − Σ ξ(c)) / n; 0 where n = 0."""
    n = sum(counts[:, k] for k in range(counts.shape[1]))
    inner = sum(xlog(counts[:, k]) for k in range(counts.shape[1]))
    return (xlog(n) - inner) / n.clamp(min=1)


def count_jsd(a: torch.Tensor, b: torch.Tensor, xlog: XLog, min_count: int = 1) -> torch.Tensor:
    """JSD in bits between the distributions of count vectors a and b (int64, categories along dim 1).

    NaN where either side has fewer than ``min_count`` (at least 1) ratings. ``xlog`` must cover
    2·|a|·|b|.

    >>> a = torch.tensor([[3, 1]]); b = torch.tensor([[0, 4]])
    >>> round(count_jsd(a, b, XLog(64)).item(), 6)  # = jsd([.75, .25], [0, 1])
    0.548795
    """
    n_a, n_b = a.sum(dim=1, keepdim=True), b.sum(dim=1, keepdim=True)
    mixture = a * n_b + b * n_a
    value = count_entropy(mixture, xlog) - (count_entropy(a, xlog) + count_entropy(b, xlog)) / 2
    least = max(min_count, 1)
    return torch.where((n_a[:, 0] >= least) & (n_b[:, 0] >= least), value.clamp(min=0.0, max=1.0), torch.nan)


class ItemJSD:
    """JSD between a group's counts on an item and the rest's, as one table lookup per item.

    For each item every possible group count vector a (0 ≤ a_k ≤ total_k) is enumerated once and
    its JSD against ``total − a`` computed with :func:`count_jsd` (NaN below ``min_count``); a batch
    of permutations then costs an index computation and a gather instead of some thirty passes.
    ``None`` from :meth:`build` when the enumeration would exceed ``TABLE_ENTRIES``.
    """

    def __init__(self, table: torch.Tensor, offsets: torch.Tensor, strides: torch.Tensor):
        self.table, self.offsets, self.strides = table, offsets, strides

    @classmethod
    def build(cls, total: torch.Tensor, xlog: XLog, min_count: int) -> "ItemJSD | None":
        sizes = total + 1  # (items, categories)
        per_item = sizes.to(DTYPE).prod(dim=1)
        if float(per_item.sum()) > TABLE_ENTRIES:
            return None
        per_item = sizes.prod(dim=1)
        strides = torch.cumprod(torch.flip(sizes, [1]), dim=1)
        strides = torch.flip(torch.cat([torch.ones_like(strides[:, :1]), strides[:, :-1]], dim=1), [1])
        offsets = torch.cumsum(per_item, 0) - per_item
        item = torch.repeat_interleave(torch.arange(len(total), device=total.device), per_item)
        local = torch.arange(len(item), device=total.device) - offsets[item]
        a = (local[:, None] // strides[item]) % sizes[item]
        return cls(count_jsd(a, total[item] - a, xlog, min_count), offsets, strides)

    def __call__(self, counts: torch.Tensor) -> torch.Tensor:
        """JSD (items, …) of group counts (items, categories, …) against the rest of each item."""
        shape = (-1,) + (1,) * (counts.dim() - 2)
        index = self.offsets.view(shape) + sum(counts[:, k] * self.strides[:, k].view(shape) for k in range(counts.shape[1]))
        return self.table[index]


def group_vs_rest(counts: torch.Tensor, total: torch.Tensor, xlog: XLog, min_count: int, lookup=None, *, best: bool = True):
    """Largest JSD between a group's label counts on an item and the rest's, and that group.

    ``counts`` is (groups, items, categories, …) and ``total`` the counts of all groups together.
    Only groups with ``min_count`` ratings or more, against a rest with as many, compete; the value
    is NaN where none does. With two groups the two comparisons are one (group 0 vs group 1), so
    ``counts`` may hold group 0 alone. ``lookup`` (an :class:`ItemJSD` for ``total`` and
    ``min_count``) gives the same values faster; ``best=False`` returns every group's value (groups, items, …).
    """
    if lookup is not None:
        values = torch.stack([lookup(counts[g]) for g in range(len(counts))])
    else:
        values = torch.stack([count_jsd(counts[g], total - counts[g], xlog, min_count) for g in range(len(counts))])
    if not best:
        return values
    best, group = torch.where(torch.isnan(values), -1.0, values).max(dim=0)
    return torch.where(best < 0, torch.nan, best), group


def permutation_null(
    counter: GroupCounter,
    unit_group: np.ndarray,
    n_groups: int,
    observed: torch.Tensor,
    tested: torch.Tensor,
    *,
    n_perm: int,
    seed: int,
    min_count: int,
    progress=None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Permutation null of the per-item statistic, in batches of permutations (no loop per permutation).

    Each permutation shuffles ``unit_group`` (the group code of every unit). Returns, per item,
    how many permutations reached the ``observed`` statistic and how many defined it, and per
    permutation the mean statistic over the ``tested`` items (for the overall test). The draws
    come from one NumPy generator read permutation by permutation (``n_units`` uniforms each,
    ranked), so the result does not depend on the batch size or the device. ``progress(done,
    total)`` is called after each batch. See :func:`permutation_sums` for the parts.
    """
    reached, defined, sums, kept = permutation_sums(counter, unit_group, n_groups, observed, tested, n_perm=n_perm, seed=seed,
                                                    min_count=min_count, progress=progress)
    return reached, defined, torch.where(kept > 0, sums / kept.clamp(min=1), torch.nan)


def permutation_sums(
    counter: GroupCounter,
    unit_group: np.ndarray,
    n_groups: int,
    observed: torch.Tensor,
    tested: torch.Tensor,
    *,
    n_perm: int,
    seed: int,
    min_count: int,
    progress=None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`permutation_null` in additive parts: per item (reached, defined); per permutation the sum of
    the statistic over the tested items where it is defined, and how many those are.

    Each item's counts depend only on its own ratings and the permuted groups of all units, so
    ``counter`` may hold any subset of whole items (a partition): the parts of disjoint subsets,
    drawn with the same seed over the same units, add up to those of their union.
    """
    device = observed.device
    n_units = len(unit_group)
    per_perm = max(n_units, counter.n_items * counter.n_values * max(n_groups - 1, 1))
    per_batch = max(1, min(n_perm, CHUNK_ELEMENTS // per_perm))
    rng = np.random.default_rng(seed)
    groups = torch.as_tensor(unit_group, device=device)
    reached = torch.zeros(counter.n_items, dtype=torch.int64, device=device)
    defined = torch.zeros(counter.n_items, dtype=torch.int64, device=device)
    sums = torch.zeros(n_perm, dtype=DTYPE, device=device)
    kept_counts = torch.zeros(n_perm, dtype=torch.int64, device=device)
    kept_items = tested[:, None]
    lookup = ItemJSD.build(counter.total, counter.xlog, min_count)
    for start in range(0, n_perm, per_batch):
        size = min(per_batch, n_perm - start)
        order = torch.as_tensor(np.argsort(rng.random((size, n_units)), axis=1), device=device)
        counts = counter.counts(groups[order], n_groups, all_groups=n_groups > 2)
        value, _ = group_vs_rest(counts, counter.total[:, :, None], counter.xlog, min_count, lookup)  # (items, B)
        ok = ~torch.isnan(value)
        reached += (ok & (value >= observed[:, None])).sum(dim=1)
        defined += ok.sum(dim=1)
        kept = ok & kept_items
        kept_counts[start : start + size] = kept.sum(dim=0)
        sums[start : start + size] = torch.where(kept, value, 0.0).sum(dim=0)
        if progress is not None:
            progress(start + size, n_perm)
    return reached, defined, sums, kept_counts


def benjamini_hochberg(p: torch.Tensor) -> torch.Tensor:
    """Benjamini–Hochberg q-values of the defined entries of ``p`` (NaN stays NaN).

    >>> benjamini_hochberg(torch.tensor([0.01, 0.04, float("nan"), 0.03], dtype=torch.float64)).tolist()
    [0.03, 0.04, nan, 0.04]
    """
    q = torch.full_like(p, torch.nan)
    defined = ~torch.isnan(p)
    values = p[defined]
    m = len(values)
    if m == 0:
        return q
    order = torch.argsort(values)
    ranked = values[order] * m / torch.arange(1, m + 1, dtype=p.dtype, device=p.device)
    ranked = torch.flip(torch.cummin(torch.flip(ranked, [0]), 0).values, [0]).clamp(max=1.0)
    out = torch.empty_like(values)
    out[order] = ranked
    q[defined] = out
    return q

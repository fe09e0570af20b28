"""Agreement metrics as (per-item statistics, compute) pairs — docs/METHODS.md, “Agreement”.

Statistics rows are items (or (slice, item) pairs); summing rows over any subset, with any
non-negative weights, gives the statistics of that subset or bootstrap replicate. ``compute``
maps summed statistics of shape (..., F) to values (...) and reason codes (...).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import WorkbenchDataError
from .device import DTYPE

#: Reason codes for undefined values (index into this tuple; 0 = defined).
REASONS = ("", "no_pairable_values", "zero_expected_disagreement", "no_items")
NO_PAIRABLE, ZERO_EXPECTED, NO_ITEMS = 1, 2, 3

#: Largest dense array (bytes) a kernel builds; beyond it a WorkbenchDataError names the table and, in plain words, the option to change.
MAX_DENSE_BYTES = 1 << 31
#: Memory (bytes) of one block of a chunked computation (ratio expected disagreement, within-item pairs).
CHUNK_BYTES = 1 << 25
#: Above this many distinct values, categorical alpha works from sparse (row, value, count) entries
#: in O(V) (nominal, ordinal) or in bounded-memory chunks (ratio) instead of V × V coincidences.
COINCIDENCE_MAX_VALUES = 64
#: Ratio alpha's expected disagreement costs V² pair evaluations; refused above this many.
MAX_RATIO_PAIRS = 2 * 10**11


def check_dense(shape: tuple, what: str, way_out: str) -> None:
    """Raise WorkbenchDataError when a float64 array of ``shape`` would exceed MAX_DENSE_BYTES."""
    cells = 1
    for size in shape:
        cells *= int(size)
    if cells * 8 > MAX_DENSE_BYTES:
        shown = " × ".join(f"{int(size):,}" for size in shape)
        raise WorkbenchDataError(f"{what} would need a {shown} table, too large to hold in memory; {way_out}")


def _sum_by(index: torch.Tensor, n: int, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Σ weight (or count) per index value, float64 (``bincount``: about 3× faster than ``index_add_`` on CPU)."""
    return torch.bincount(index, weights=weight, minlength=n).to(DTYPE)


def category_counts(row: torch.Tensor, code: torch.Tensor, n_rows: int, n_categories: int, weight=None) -> torch.Tensor:
    """Rows × categories count matrix from ratings (row index, category code), optionally weighted."""
    check_dense((n_rows, n_categories), "an items × categories count table",
                "use metric='alpha' (it handles any number of distinct values) or round the labels to fewer values")
    flat = _sum_by(row * n_categories + code, n_rows * n_categories, None if weight is None else weight.to(DTYPE))
    return flat.view(n_rows, n_categories)


@dataclass
class SparseCounts:
    """Items × values counts as (row, code, count) entries: the form for many distinct values.

    Entries may repeat a (row, code) pair unless built with ``aggregate=True`` (then they are
    unique and sorted by row, then code). ``self_count`` is Σ weight² per entry (equal to ``count``
    without rating weights). ``counts[lo:hi]`` keeps rows lo..hi-1, renumbered from 0, as for a
    dense count matrix.
    """

    row: torch.Tensor
    code: torch.Tensor
    count: torch.Tensor
    self_count: torch.Tensor
    n_rows: int
    n_values: int

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, rows: slice) -> "SparseCounts":
        lo, hi, _ = rows.indices(self.n_rows)
        keep = (self.row >= lo) & (self.row < hi)
        return SparseCounts(self.row[keep] - lo, self.code[keep], self.count[keep], self.self_count[keep], hi - lo, self.n_values)

    def to_dense(self, what: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(counts, self counts) as dense rows × values matrices (within MAX_DENSE_BYTES)."""
        check_dense((self.n_rows, self.n_values), what, "give fewer distinct values")
        flat = self.row * self.n_values + self.code
        size = self.n_rows * self.n_values
        return (_sum_by(flat, size, self.count).view(self.n_rows, -1), _sum_by(flat, size, self.self_count).view(self.n_rows, -1))


def sparse_counts(row: torch.Tensor, code: torch.Tensor, n_rows: int, n_values: int, weight=None, aggregate: bool = False) -> SparseCounts:
    """Ratings (row, value code, optional weight) as :class:`SparseCounts`: one entry per rating in O(1),
    or, with ``aggregate``, summed into unique entries sorted by (row, code) (a sort, O(n log n))."""
    w = torch.ones(len(row), dtype=DTYPE, device=row.device) if weight is None else weight.to(DTYPE)
    if not aggregate:
        return SparseCounts(row, code, w, w if weight is None else w * w, n_rows, n_values)
    key, inverse = torch.unique(row * n_values + code, sorted=True, return_inverse=True)
    count = _sum_by(inverse, len(key), w)
    self_count = count if weight is None else _sum_by(inverse, len(key), w * w)
    return SparseCounts(key // n_values, key % n_values, count, self_count, n_rows, n_values)


def interval_moments(row: torch.Tensor, value: torch.Tensor, n_rows: int, weight=None) -> torch.Tensor:
    """Per-row (count, sum of centred values, squared deviations from the row mean, Σ weight²), two-pass.

    With rating weights (a rater drawn k times in a rater bootstrap has weight k), Σ weight² lets
    the kernels leave out pairs between copies of the same rater, and two more columns carry the
    sum and the sum of squares over Krippendorff's marginals ``n_c = Σ_k o[c,k]``: a rating of
    weight w pairs with the m − w ratings of other raters, so it counts ``w (m − w) · m/(m² − Σw²)``.
    Without copies these equal the plain count, and the categorical kernels agree with this one.
    """
    w = torch.ones_like(value, dtype=DTYPE) if weight is None else weight.to(DTYPE)
    value = value.to(DTYPE)
    value = value - (w * value).sum() / w.sum().clamp(min=1e-300)  # centred: alpha is shift-invariant, sums stay small
    count = _sum_by(row, n_rows, w)
    total = _sum_by(row, n_rows, w * value)
    mean = total / count.clamp(min=1)
    squares = _sum_by(row, n_rows, w * (value - mean[row]) ** 2)
    if weight is None:
        return torch.stack([count, total, squares, count], dim=1)
    self_pairs = _sum_by(row, n_rows, w * w)
    margin = w * (count[row] - w) * pair_scale(count, self_pairs)[row]
    return torch.stack([count, total, squares, self_pairs, _sum_by(row, n_rows, margin * value),
                        _sum_by(row, n_rows, margin * value**2)], dim=1)


def pair_scale(m: torch.Tensor, self_pairs: torch.Tensor) -> torch.Tensor:
    """Krippendorff's 1/(m − 1) per item, generalised to weighted copies: m / (m² − Σ w²); 0 if unpairable."""
    denominator = m * m - self_pairs
    return torch.where(denominator > 1e-9, m / torch.where(denominator > 1e-9, denominator, 1.0), 0.0)


def with_reasons(value: torch.Tensor, *conditions: tuple[torch.Tensor, int]):
    """NaN where a (mask, reason code) condition holds; the first condition that holds gives the reason."""
    reason = torch.zeros(value.shape, dtype=torch.int64, device=value.device)
    for mask, code in conditions:
        reason = torch.where(mask & (reason == 0), torch.full_like(reason, code), reason)
        value = torch.where(mask, torch.full_like(value, float("nan")), value)
    return value, reason


def _alpha(n: torch.Tensor, observed: torch.Tensor, expected: torch.Tensor):
    """α = 1 − (n − 1)·Σ o·δ² / Σ n_c n_k δ², undefined without pairable values or expected disagreement."""
    value = 1.0 - (n - 1) * observed / torch.where(expected > 0, expected, 1.0)
    return with_reasons(value, (n < 2, NO_PAIRABLE), (expected <= 0, ZERO_EXPECTED))


class AlphaCategorical:
    """Krippendorff's alpha from the item × value counts (nominal, ordinal, interval, ratio; any number of values).

    Statistics come in two layouts, and :meth:`compute` takes either (the last dimension tells
    them apart: it is V² for coincidences and 3 for a summary, and V² ≠ 3):

    - *coincidences*: each item's coincidence matrix flattened (V² numbers, additive over items:
      bootstrap replicates and slices are sums). :meth:`stats` returns these; :meth:`total_stats`
      too for dense counts with at most ``COINCIDENCE_MAX_VALUES`` values (one matrix product).
    - *summary*: ``(n, Σ o·δ², Σ n_c n_k δ²)``, which :meth:`total_stats` returns for
      :class:`SparseCounts` (many distinct values). Cost with V values and E (item, value) entries:
      nominal and ordinal O(E + V) — the ordinal δ²(c, k) is (t_c − t_k)² with mid-ranks
      t_c = Σ_{g≤c} n_g − n_c/2, so both sums are moments of t; ratio O(E + Σ_i u_i²) for the
      observed part (u_i distinct values in item i) and V²/2 pair evaluations for the expected
      part, done exactly in blocks of ``CHUNK_BYTES``: memory stays O(E + V + CHUNK_BYTES), time
      grows as V² (measured on a shared, heavily loaded 2-core CPU: 4,817 values 4.6 s, 49,817
      values 296 s; see benchmarks/RESULTS.md; a GPU helps most here). Above ``MAX_RATIO_PAIRS``
      pair evaluations it is refused with a WorkbenchDataError that names the way out.
    """

    def __init__(self, level: str, n_values: int, values: torch.Tensor | None = None, device=None):
        """``values`` (the numbers behind the categories) are needed for the ratio and interval levels only."""
        if level in ("ratio", "interval") and values is None:
            raise ValueError(f"the {level} level needs the category values")
        self.level = level
        self.n_values = n_values
        self.n_features = n_values**2
        self.values = None if values is None else values.to(device=device, dtype=DTYPE)
        self.device = device
        #: True when totals are computed from sparse entries (no V × V matrix anywhere).
        self.sparse = n_values > COINCIDENCE_MAX_VALUES
        self._delta = None if self.sparse else self._fixed_delta()

    def _fixed_delta(self) -> torch.Tensor | None:
        """The V × V δ² for levels whose metric does not depend on the data (None for ordinal)."""
        if self.level == "nominal":
            return 1.0 - torch.eye(self.n_values, dtype=DTYPE, device=self.device)
        if self.level == "ordinal":
            return None
        check_dense((self.n_values, self.n_values), f"{self.level} alpha from per-item coincidences", _NO_COINCIDENCES)
        v = self.values
        if self.level == "interval":
            return (v[:, None] - v[None, :]) ** 2
        return _ratio_delta(v[:, None], v[None, :])

    def inputs(self, row: torch.Tensor, code: torch.Tensor, n_rows: int, weight=None) -> tuple:
        """The per-row input for :meth:`stats`/:meth:`total_stats` from ratings (row, value code, optional weight).

        Dense counts (and Σ weight² when weighted) for few values; :class:`SparseCounts` for many.
        """
        if self.sparse:  # nominal sums squares of per-(item, value) counts and ratio pairs distinct values: aggregate
            return (sparse_counts(row, code, n_rows, self.n_values, weight, aggregate=self.level in ("nominal", "ratio")),)
        counts = category_counts(row, code, n_rows, self.n_values, weight)
        return (counts,) if weight is None else (counts, category_counts(row, code, n_rows, self.n_values, weight * weight))

    def stats(self, counts, self_counts: torch.Tensor | None = None) -> torch.Tensor:
        """Per-item coincidences ``(n nᵀ − diag n) / (m − 1)``; items with one value contribute zero.

        ``self_counts`` (Σ weight² per cell, for weighted copies of raters) replaces ``diag n`` so
        that pairs between copies of one rater are left out. Needs rows × V² numbers (bootstrap);
        beyond ``MAX_DENSE_BYTES`` a WorkbenchDataError says so.
        """
        check_dense((len(counts), self.n_values, self.n_values), "per-item alpha statistics (for bootstrap intervals)", _NO_COINCIDENCES)
        if isinstance(counts, SparseCounts):
            counts, self_counts = counts.to_dense("per-item alpha statistics")
        self_counts = counts if self_counts is None else self_counts
        scale = pair_scale(counts.sum(dim=1), self_counts.sum(dim=1))
        outer = counts[:, :, None] * counts[:, None, :] - torch.diag_embed(self_counts)
        return (outer * scale[:, None, None]).reshape(len(counts), -1)

    @property
    def by_entries(self) -> bool:
        """True when bootstrap replicates are summed from sparse entries (:meth:`replicate_totals`): many nominal or ordinal values."""
        return self.sparse and self.level in ("nominal", "ordinal")

    def replicate_totals(self, counts: SparseCounts, weights: torch.Tensor) -> torch.Tensor:
        """(b × 3) summaries of b replicates with row weights ``weights`` (b × rows), without per-item V² statistics."""
        from .replicates import alpha_replicate_summaries  # the replicate kernels build on this module

        return alpha_replicate_summaries(self.level, counts, weights)

    def total_stats(self, counts) -> torch.Tensor:
        """Sum of :meth:`stats` over all rows: V² coincidences (dense counts, few values) or the 3-number summary."""
        if isinstance(counts, SparseCounts):
            return self._summary(counts)
        if self.sparse:
            row, code = torch.nonzero(counts, as_tuple=True)
            count = counts[row, code]
            return self._summary(SparseCounts(row, code, count, count, len(counts), self.n_values))
        m = counts.sum(dim=1)
        scale = torch.where(m > 1, 1.0 / (m - 1).clamp(min=1), 0.0)
        weighted = counts * scale[:, None]
        o = weighted.T @ counts - torch.diag(weighted.sum(dim=0))
        return o.reshape(-1)

    def _summary(self, e: SparseCounts) -> torch.Tensor:
        """(n, Σ o·δ², Σ n_c n_k δ²) from sparse entries, without any V × V matrix."""
        m = _sum_by(e.row, e.n_rows, e.count)
        scale = pair_scale(m, m if e.self_count is e.count else _sum_by(e.row, e.n_rows, e.self_count))
        item_scale, item_m = scale[e.row], m[e.row]
        n_c = _sum_by(e.code, e.n_values, item_scale * (e.count * item_m - e.self_count))  # coincidence marginals
        n = n_c.sum()
        if self.level == "nominal":
            observed = (scale * (m * m - _sum_by(e.row, e.n_rows, e.count * e.count))).sum()
            expected = n * n - (n_c * n_c).sum()
        elif self.level == "ratio":
            observed = _ratio_within_items(e, scale, self.values)
            expected = _ratio_expected(n_c, self.values)
        else:  # ordinal (mid-ranks) and interval (values): δ² = (t_c − t_k)², sums of squared deviations
            t = torch.cumsum(n_c, dim=0) - n_c / 2 if self.level == "ordinal" else self.values
            t = t - (n_c * t).sum() / n.clamp(min=1e-300)
            entry_t = t[e.code]
            mean = _sum_by(e.row, e.n_rows, e.count * entry_t) / m.clamp(min=1e-300)
            squares = _sum_by(e.row, e.n_rows, e.count * (entry_t - mean[e.row]) ** 2)
            observed = (scale * 2 * m * squares).sum()
            expected = 2 * n * (n_c * t * t).sum()
        return torch.stack([n, observed, expected])

    def delta(self, n_c: torch.Tensor) -> torch.Tensor:
        if self.level != "ordinal":
            if self._delta is None:
                self._delta = self._fixed_delta()
            return self._delta
        # ordinal: δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)² = (t_k − t_c)² with mid-ranks t, batched over leading dims
        t = torch.cumsum(n_c, dim=-1) - n_c / 2
        return (t[..., :, None] - t[..., None, :]) ** 2

    def compute(self, totals: torch.Tensor):
        if totals.shape[-1] == 3:  # summary layout (V² is never 3)
            n, observed, expected = totals.unbind(dim=-1)
            return _alpha(n, observed, expected)
        o = totals.reshape(*totals.shape[:-1], self.n_values, self.n_values)
        n_c = o.sum(dim=-1)
        n = n_c.sum(dim=-1)
        delta = self.delta(n_c)
        observed = (o * delta).sum(dim=(-2, -1))
        expected = (n_c[..., :, None] * n_c[..., None, :] * delta).sum(dim=(-2, -1))
        return _alpha(n, observed, expected)


_NO_COINCIDENCES = (
    "with this many distinct values, ask for point values and slices only (ci=None), use level='interval', "
    "or round the values to fewer distinct ones"
)


def _ratio_delta(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Ratio δ² = ((a − b)/(a + b))², 0 where a + b = 0."""
    total = a + b
    return torch.where(total != 0, (a - b) / torch.where(total != 0, total, 1.0), 0.0) ** 2


def _ratio_expected(n_c: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Σ_c Σ_k n_c n_k δ²(c, k) over the values that occur: exact, V²/2 pair evaluations in blocks of CHUNK_BYTES.

    A zero value is at ratio distance 1 from every positive one, so it is added in closed form.
    """
    zero = (values == 0) & (n_c > 0)
    used = (values != 0) & (n_c > 0)
    weight, v = n_c[used], values[used]
    size = len(v)
    if size * size > MAX_RATIO_PAIRS:
        raise WorkbenchDataError(
            f"ratio alpha over {size:,} distinct values needs {size * size:.1e} pair evaluations (limit {MAX_RATIO_PAIRS:.0e}); "
            "round the values to fewer distinct ones, or use level='interval'"
        )
    total = 2 * n_c[zero].sum() * weight.sum()
    block = max(1, CHUNK_BYTES // (8 * 2 * max(size, 1)))
    for lo in range(0, size, block):
        hi = min(size, lo + block)
        # columns from lo on: pairs inside the block both ways, pairs with later values once (counted twice by weight)
        a, b = v[lo:hi, None], v[None, lo:]
        difference = a - b
        difference.div_(a + b).square_()
        later = torch.cat([weight[lo:hi], 2 * weight[hi:]])
        total = total + weight[lo:hi] @ (difference @ later)
    return total


def _ratio_within_items(e: SparseCounts, scale: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Σ_i scale_i Σ_{c,k} n_ic n_ik δ²(c, k): all pairs of entries within each item, in bounded chunks."""
    per_row = _sum_by(e.row, e.n_rows).to(torch.int64)
    start = torch.cumsum(per_row, dim=0) - per_row
    partners = per_row[e.row]  # pairs each entry heads
    total_pairs = int(partners.sum())
    if total_pairs > MAX_RATIO_PAIRS:
        raise WorkbenchDataError(
            f"ratio alpha needs {total_pairs:.1e} within-item pairs of distinct values (limit {MAX_RATIO_PAIRS:.0e}); "
            "round the values to fewer distinct ones, or use level='interval'"
        )
    ends = torch.cumsum(partners, dim=0)
    per_chunk = max(1, CHUNK_BYTES // (8 * 6))  # pairs per chunk (about six float64 temporaries each)
    total = torch.zeros((), dtype=DTYPE, device=scale.device)
    first, done = 0, 0
    while first < len(partners):
        last = max(int(torch.searchsorted(ends, done + per_chunk, right=True)), first + 1)
        reps = partners[first:last]
        a = torch.repeat_interleave(torch.arange(first, last, device=reps.device), reps)
        offset = torch.arange(len(a), device=a.device) - torch.repeat_interleave(torch.cumsum(reps, 0) - reps, reps)
        b = start[e.row[a]] + offset
        total = total + (scale[e.row[a]] * e.count[a] * e.count[b] * _ratio_delta(values[e.code[a]], values[e.code[b]])).sum()
        first, done = last, int(ends[last - 1])
    return total


class AlphaInterval:
    """Krippendorff's alpha, interval level, from per-item moments (4 numbers per item, any number of values).

    With m values in a pairable item, Σ_{i≠j}(x_i − x_j)² = 2·m·SS, so D_o·n = Σ 2·m·SS/(m − 1) and
    D_e·n(n − 1) = 2(n·Σx² − (Σx)²) over pairable values. The moment builders centre the values, so
    that n·Σx² − (Σx)² does not cancel catastrophically.
    """

    n_features = 4

    def stats(self, moments: torch.Tensor) -> torch.Tensor:
        count, total, squares = moments[:, :3].unbind(dim=1)
        self_pairs = moments[:, 3] if moments.shape[1] > 3 else count
        scale = pair_scale(count, self_pairs)
        pairable = scale > 0
        if moments.shape[1] > 4:  # weighted copies: D_e over the coincidence marginals
            total, sum_sq = moments[:, 4], moments[:, 5]
        else:
            sum_sq = squares + count * (total / count.clamp(min=1e-300)) ** 2
        within = 2 * count * squares * scale
        zero = torch.zeros_like(count)
        return torch.stack(
            [torch.where(pairable, count, zero), torch.where(pairable, total, zero), torch.where(pairable, sum_sq, zero), within],
            dim=1,
        )

    def total_stats(self, moments: torch.Tensor) -> torch.Tensor:
        return self.stats(moments).sum(dim=0)

    def compute(self, totals: torch.Tensor):
        n, total, sum_sq, within = totals.unbind(dim=-1)
        expected = 2 * (n * sum_sq - total**2)
        expected = torch.where(expected > 1e-12 * (n * sum_sq).abs(), expected, torch.zeros_like(expected))
        return _alpha(n, within, expected)


def pair_agreement(counts: torch.Tensor, self_counts: torch.Tensor | None = None, weights: torch.Tensor | None = None):
    """Per item: the share of agreeing ordered pairs of ratings (0 if unpairable) and whether it is pairable (0/1).

    With agreement ``weights`` (q × q) a pair (k, l) counts w_kl; ``self_counts`` (Σ weight² per
    cell) leaves out pairs between weighted copies of one rater.
    """
    self_counts = counts if self_counts is None else self_counts
    m, self_total = counts.sum(dim=1), self_counts.sum(dim=1)
    pairs = m * m - self_total
    pairable = pairs > 1e-9
    same = (counts * counts).sum(dim=1) if weights is None else ((counts @ weights) * counts).sum(dim=1)
    agreement = torch.where(pairable, (same - self_total) / torch.where(pairable, pairs, 1.0), 0.0)
    return agreement, pairable.to(DTYPE)


class PercentAgreement:
    """Share of agreeing pairs of ratings within an item, averaged over items with ≥ 2 ratings."""

    n_features = 2

    def stats(self, counts: torch.Tensor, self_counts: torch.Tensor | None = None) -> torch.Tensor:
        return torch.stack(pair_agreement(counts, self_counts), dim=1)

    def total_stats(self, counts: torch.Tensor, self_counts: torch.Tensor | None = None) -> torch.Tensor:
        return self.stats(counts, self_counts).sum(dim=0)

    def compute(self, totals: torch.Tensor):
        agreement, items = totals[..., 0], totals[..., 1]
        return with_reasons(agreement / items.clamp(min=1e-300), (items <= 0, NO_PAIRABLE))


_COHEN_WAY_OUT = ("ask for the value alone (ci=None), or use metric='scott_pi' or 'fleiss' without weights "
                  "(their intervals cover any number of categories)")


class CohenKappa:
    """Cohen's kappa (unweighted, linear, quadratic or ordinal weights) from paired category codes.

    Statistics per item: the one-hot (rater 1 category, rater 2 category) cell of the V × V table.
    """

    def __init__(self, n_categories: int, weights: str | None, device=None):
        self.n_categories = n_categories
        self.n_features = n_categories**2
        check_dense((n_categories, n_categories), f"Cohen's kappa over {n_categories:,} categories", _COHEN_WAY_OUT)
        i = torch.arange(n_categories, dtype=DTYPE, device=device)
        distance = (i[:, None] - i[None, :]).abs()
        if weights in (None, "identity"):
            self.weights = (distance > 0).to(DTYPE)
        elif weights == "linear":
            self.weights = distance
        elif weights == "ordinal":  # irrCAC's ordinal weights, as disagreements: C(|k − l| + 1, 2)
            self.weights = (distance + 1) * distance / 2
        else:
            self.weights = distance**2

    def stats(self, codes: torch.Tensor) -> torch.Tensor:
        check_dense((len(codes), self.n_features), "per-item Cohen's kappa tables (for bootstrap intervals)", _COHEN_WAY_OUT)
        a, b = codes.unbind(dim=1)
        table = torch.zeros(len(a), self.n_features, dtype=DTYPE, device=codes.device)
        table[torch.arange(len(a), device=codes.device), a * self.n_categories + b] = 1.0
        return table

    def total_stats(self, codes: torch.Tensor) -> torch.Tensor:
        a, b = codes.unbind(dim=1)
        flat = torch.zeros(self.n_features, dtype=DTYPE, device=codes.device)
        return flat.index_add_(0, a * self.n_categories + b, torch.ones(len(a), dtype=DTYPE, device=codes.device))

    def compute(self, totals: torch.Tensor):
        table = totals.reshape(*totals.shape[:-1], self.n_categories, self.n_categories)
        n = table.sum(dim=(-2, -1))
        expected_table = table.sum(dim=-1)[..., :, None] * table.sum(dim=-2)[..., None, :] / n.clamp(min=1e-300)[..., None, None]
        observed = (self.weights * table).sum(dim=(-2, -1))
        expected = (self.weights * expected_table).sum(dim=(-2, -1))
        value = 1.0 - observed / torch.where(expected > 0, expected, 1.0)
        return with_reasons(value, (n <= 0, NO_ITEMS), (expected <= 1e-15 * n, ZERO_EXPECTED))

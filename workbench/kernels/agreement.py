"""Agreement metrics as (per-item statistics, compute) pairs — methods.md M1.2.

Statistics rows are items (or (slice, item) pairs); summing rows over any subset, with any
non-negative weights, gives the statistics of that subset or bootstrap replicate. ``compute``
maps summed statistics of shape (..., F) to values (...) and reason codes (...).
"""

from __future__ import annotations

import torch

from .device import DTYPE

#: Reason codes for undefined values (index into this tuple; 0 = defined).
REASONS = ("", "no_pairable_values", "zero_expected_disagreement", "no_items")
NO_PAIRABLE, ZERO_EXPECTED, NO_ITEMS = 1, 2, 3


def _sum_by(index: torch.Tensor, n: int, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Σ weight (or count) per index value, float64 (``bincount``: about 3× faster than ``index_add_`` on CPU)."""
    return torch.bincount(index, weights=weight, minlength=n).to(DTYPE)


def category_counts(row: torch.Tensor, code: torch.Tensor, n_rows: int, n_categories: int, weight=None) -> torch.Tensor:
    """Rows × categories count matrix from ratings (row index, category code), optionally weighted."""
    flat = _sum_by(row * n_categories + code, n_rows * n_categories, None if weight is None else weight.to(DTYPE))
    return flat.view(n_rows, n_categories)


def interval_moments(row: torch.Tensor, value: torch.Tensor, n_rows: int, weight=None) -> torch.Tensor:
    """Per-row (count, sum of centred values, squared deviations from the row mean, Σ weight²), two-pass.

    With rating weights (a rater drawn k times in a rater bootstrap has weight k), Σ weight² lets
    the kernels leave out pairs between copies of the same rater.
    """
    w = torch.ones_like(value, dtype=DTYPE) if weight is None else weight.to(DTYPE)
    value = value.to(DTYPE)
    value = value - (w * value).sum() / w.sum().clamp(min=1e-300)  # centred: alpha is shift-invariant, sums stay small
    count = _sum_by(row, n_rows, w)
    total = _sum_by(row, n_rows, w * value)
    mean = total / count.clamp(min=1)
    squares = _sum_by(row, n_rows, w * (value - mean[row]) ** 2)
    self_pairs = count if weight is None else _sum_by(row, n_rows, w * w)
    return torch.stack([count, total, squares, self_pairs], dim=1)


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
    """Krippendorff's alpha from the item × value count matrix (nominal, ordinal, ratio; any value set).

    Statistics per item: the item's coincidence matrix, flattened (V² numbers).
    """

    def __init__(self, level: str, n_values: int, values: torch.Tensor | None = None, device=None):
        """``values`` (the numbers behind the categories) are needed for the ratio and interval levels only."""
        if level in ("ratio", "interval") and values is None:
            raise ValueError(f"the {level} level needs the category values")
        self.level = level
        self.n_values = n_values
        self.n_features = n_values**2
        if level == "nominal":
            self._delta = 1.0 - torch.eye(n_values, dtype=DTYPE, device=device)
        elif level == "ratio":
            v = values.to(DTYPE)
            total = v[:, None] + v[None, :]
            diff = v[:, None] - v[None, :]
            self._delta = torch.where(total != 0, diff / torch.where(total != 0, total, 1.0), 0.0) ** 2
        elif level == "interval":
            v = values.to(DTYPE)
            self._delta = (v[:, None] - v[None, :]) ** 2
        else:
            self._delta = None  # ordinal: depends on the marginals of the data at hand

    def stats(self, counts: torch.Tensor, self_counts: torch.Tensor | None = None) -> torch.Tensor:
        """Per-item coincidences ``(n nᵀ − diag n) / (m − 1)``; items with one value contribute zero.

        ``self_counts`` (Σ weight² per cell, for weighted copies of raters) replaces ``diag n`` so
        that pairs between copies of one rater are left out.
        """
        self_counts = counts if self_counts is None else self_counts
        scale = pair_scale(counts.sum(dim=1), self_counts.sum(dim=1))
        outer = counts[:, :, None] * counts[:, None, :] - torch.diag_embed(self_counts)
        return (outer * scale[:, None, None]).reshape(len(counts), -1)

    def total_stats(self, counts: torch.Tensor) -> torch.Tensor:
        """Sum of :meth:`stats` over all rows without materialising rows × V² (one matrix product)."""
        m = counts.sum(dim=1)
        scale = torch.where(m > 1, 1.0 / (m - 1).clamp(min=1), 0.0)
        weighted = counts * scale[:, None]
        o = weighted.T @ counts - torch.diag(weighted.sum(dim=0))
        return o.reshape(-1)

    def delta(self, n_c: torch.Tensor) -> torch.Tensor:
        if self._delta is not None:
            return self._delta
        # ordinal: δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)², batched over leading dims
        index = torch.arange(self.n_values, device=n_c.device)
        cum = torch.cumsum(n_c, dim=-1)
        cum_c, cum_k = cum[..., :, None], cum[..., None, :]
        n_cc, n_kk = n_c[..., :, None], n_c[..., None, :]
        between = torch.where(index[:, None] <= index[None, :], cum_k - cum_c + n_cc, cum_c - cum_k + n_kk)
        return (between - (n_c[..., :, None] + n_c[..., None, :]) / 2) ** 2

    def compute(self, totals: torch.Tensor):
        o = totals.reshape(*totals.shape[:-1], self.n_values, self.n_values)
        n_c = o.sum(dim=-1)
        n = n_c.sum(dim=-1)
        delta = self.delta(n_c)
        observed = (o * delta).sum(dim=(-2, -1))
        expected = (n_c[..., :, None] * n_c[..., None, :] * delta).sum(dim=(-2, -1))
        return _alpha(n, observed, expected)


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
        mean = total / count.clamp(min=1e-300)
        sum_sq = squares + count * mean**2
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


class FleissKappa:
    """Fleiss' kappa from item × category counts; items may have different numbers of raters.

    Statistics per item with m ≥ 2 ratings: its counts (V), its pairwise agreement P_i and 1.
    With equal m per item this is Fleiss (1971) exactly.
    """

    def __init__(self, n_categories: int):
        self.n_categories = n_categories
        self.n_features = n_categories + 2

    def stats(self, counts: torch.Tensor, self_counts: torch.Tensor | None = None) -> torch.Tensor:
        self_counts = counts if self_counts is None else self_counts
        m = counts.sum(dim=1)
        pairs = m * m - self_counts.sum(dim=1)
        pairable = (pairs > 1e-9).to(DTYPE)
        agreement = (counts * counts - self_counts).sum(dim=1) / torch.where(pairs > 1e-9, pairs, 1.0)
        return torch.cat([counts * pairable[:, None], (agreement * pairable)[:, None], pairable[:, None]], dim=1)

    def total_stats(self, counts: torch.Tensor) -> torch.Tensor:
        return self.stats(counts).sum(dim=0)

    def compute(self, totals: torch.Tensor):
        counts, agreement, items = totals[..., :-2], totals[..., -2], totals[..., -1]
        share = counts / counts.sum(dim=-1, keepdim=True).clamp(min=1e-300)
        chance = (share**2).sum(dim=-1)
        observed = agreement / items.clamp(min=1e-300)
        value = (observed - chance) / torch.where(chance < 1, 1 - chance, 1.0)
        return with_reasons(value, (items <= 0, NO_PAIRABLE), (chance >= 1 - 1e-15, ZERO_EXPECTED))


class PercentAgreement:
    """Share of agreeing pairs of ratings within an item, averaged over items with ≥ 2 ratings."""

    n_features = 2

    def stats(self, counts: torch.Tensor, self_counts: torch.Tensor | None = None) -> torch.Tensor:
        return FleissKappa(counts.shape[1]).stats(counts, self_counts)[:, -2:]

    def total_stats(self, counts: torch.Tensor) -> torch.Tensor:
        return self.stats(counts).sum(dim=0)

    def compute(self, totals: torch.Tensor):
        agreement, items = totals[..., 0], totals[..., 1]
        return with_reasons(agreement / items.clamp(min=1e-300), (items <= 0, NO_PAIRABLE))


class CohenKappa:
    """Cohen's kappa (unweighted, linear or quadratic weights) from paired category codes.

    Statistics per item: the one-hot (rater 1 category, rater 2 category) cell of the V × V table.
    """

    def __init__(self, n_categories: int, weights: str | None, device=None):
        self.n_categories = n_categories
        self.n_features = n_categories**2
        i = torch.arange(n_categories, dtype=DTYPE, device=device)
        if weights is None:
            self.weights = 1.0 - torch.eye(n_categories, dtype=DTYPE, device=device)
        elif weights == "linear":
            self.weights = (i[:, None] - i[None, :]).abs()
        else:
            self.weights = (i[:, None] - i[None, :]) ** 2

    def stats(self, codes: torch.Tensor) -> torch.Tensor:
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

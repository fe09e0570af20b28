"""Chance-corrected agreement coefficients beyond alpha, and the intraclass correlation, as (statistics, compute) pairs.

The kappa family (Fleiss, Scott's pi, Gwet's AC1/AC2, Brennan–Prediger, Conger) shares one
observed agreement and differs in its chance agreement p_e; all follow Gwet, *Handbook of
Inter-Rater Reliability* (4th ed., 2014) as implemented in irrCAC, including weights and missing
ratings:

- observed ``p_a``: per item with m ≥ 2 ratings, Σ_k r_k (Σ_l w_kl r_l − 1) / (m (m − 1)), averaged
  over those items (with weighted copies of raters, pairs between copies are left out);
- *averaged* category shares π_k: per item r_k / m, averaged over items with at least one rating;
  *pooled* shares: all ratings of pairable items together;
- Fleiss: p_e = Σ w_kl π_k π_l (averaged shares); Scott's pi: the same with pooled shares (with
  two raters and no missing ratings Scott 1955 exactly; with equal m per item both are Fleiss 1971);
  Gwet: p_e = Σ w / (q (q − 1)) · Σ π_k (1 − π_k); Brennan–Prediger: p_e = Σ w / q²;
  Conger: p_e = Σ w_kl (p̄_k p̄_l − s²_kl / R) from each rater's own shares.

Statistics rows are items (or (slice, item) pairs), summable over any subset and bootstrap
replicate, as in :mod:`workbench.kernels.agreement`.
"""

from __future__ import annotations

import torch

from .agreement import (
    COINCIDENCE_MAX_VALUES,
    NO_ITEMS,
    NO_PAIRABLE,
    ZERO_EXPECTED,
    SparseCounts,
    _sum_by,
    check_dense,
    pair_agreement,
    with_reasons,
)
from .device import DTYPE

#: Agreement weight schemes (irrCAC's): identity, linear, quadratic, ordinal.
WEIGHTS = ("identity", "linear", "quadratic", "ordinal")
#: Chance-agreement rules of the kappa family.
CHANCE = ("fleiss", "scott", "gwet", "brennan_prediger")


def agreement_weights(n_categories: int, scheme: str | None, device=None) -> torch.Tensor:
    """q × q agreement weights on category positions 0..q−1 (1 on the diagonal, 0 for the farthest pair).

    linear 1 − |k − l|/(q − 1); quadratic 1 − (k − l)²/(q − 1)²; ordinal 1 − C(|k − l| + 1, 2)/C(q, 2).

    >>> agreement_weights(3, "quadratic").tolist()
    [[1.0, 0.75, 0.0], [0.75, 1.0, 0.75], [0.0, 0.75, 1.0]]
    """
    check_dense((n_categories, n_categories), f"agreement weights over {n_categories:,} categories",
                "with this many categories use weights=None (identity) with fleiss, scott_pi, gwet_ac1 or brennan_prediger, "
                "or Krippendorff's alpha (level='ordinal' for ordered categories)")
    i = torch.arange(n_categories, dtype=DTYPE, device=device)
    distance = (i[:, None] - i[None, :]).abs()
    if scheme in (None, "identity") or n_categories < 2:
        return (distance == 0).to(DTYPE)
    if scheme == "linear":
        disagreement = distance
    elif scheme == "quadratic":
        disagreement = distance**2
    elif scheme == "ordinal":
        disagreement = (distance + 1) * distance / 2
    else:
        raise ValueError(f"unknown weights {scheme!r}; choose one of {WEIGHTS}")
    return 1.0 - disagreement / disagreement.max()


class KappaFamily:
    """Fleiss' kappa, Scott's pi, Gwet's AC1/AC2 or Brennan–Prediger from item × category counts.

    Statistics per item (2q + 3 numbers): counts if pairable (q), shares r_k/m if rated (q), p_a if
    pairable, pairable (0/1), rated (0/1).

    With identity weights and more than ``COINCIDENCE_MAX_VALUES`` categories the kernel is *sparse*
    (``sparse=None`` decides so; True or False forces it): no q × q weight matrix, inputs are
    :class:`SparseCounts`, and bootstrap replicates are summed from the entries
    (:meth:`replicate_totals`, O(E + q) per replicate: never items × q).
    """

    def __init__(self, n_categories: int, chance: str = "fleiss", weights: str | None = None, device=None, sparse: bool | None = None):
        if chance not in CHANCE:
            raise ValueError(f"unknown chance agreement {chance!r}; choose one of {CHANCE}")
        self.n_categories = n_categories
        self.chance = chance
        identity = weights in (None, "identity")
        self.sparse = identity and n_categories > COINCIDENCE_MAX_VALUES if sparse is None else sparse
        if self.sparse and not identity:
            raise ValueError("the sparse kappa kernel takes identity weights only")
        self.weights = None if self.sparse else agreement_weights(n_categories, weights, device)
        self.n_features = 2 * n_categories + 3

    @property
    def by_entries(self) -> bool:
        """True when inputs are sparse entries and bootstrap replicates are summed from them."""
        return self.sparse

    def replicate_totals(self, counts: SparseCounts, weights: torch.Tensor) -> torch.Tensor:
        """(b × (2q + 3)) summed statistics of b replicates with row weights ``weights`` (b × rows), from sparse entries."""
        from .replicates import kappa_replicate_totals  # the replicate kernels build on this module

        return kappa_replicate_totals(counts, weights)

    def stats(self, counts: torch.Tensor, self_counts: torch.Tensor | None = None) -> torch.Tensor:
        agreement, pairable = pair_agreement(counts, self_counts, self.weights)
        m = counts.sum(dim=1)
        shares = counts / torch.where(m > 0, m, 1.0)[:, None]
        rated = (m > 0).to(DTYPE)
        return torch.cat([counts * pairable[:, None], shares, agreement[:, None], pairable[:, None], rated[:, None]], dim=1)

    def total_stats(self, counts, self_counts: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(counts, SparseCounts):
            return self.replicate_totals(counts, torch.ones(1, counts.n_rows, dtype=DTYPE, device=counts.count.device))[0]
        return self.stats(counts, self_counts).sum(dim=0)

    def observed(self, totals: torch.Tensor):
        """(p_a, pairable items) from summed statistics."""
        q = self.n_categories
        agreement, items = totals[..., 2 * q], totals[..., 2 * q + 1]
        return agreement / items.clamp(min=1e-300), items

    def chance_agreement(self, totals: torch.Tensor) -> torch.Tensor:
        q, w = self.n_categories, self.weights
        weight_sum = float(q) if w is None else float(w.sum())  # None: identity weights (sparse kernel)
        if self.chance == "brennan_prediger":
            return torch.full(totals.shape[:-1], weight_sum / q**2, dtype=DTYPE, device=totals.device)
        if self.chance == "scott":
            pooled = totals[..., :q]
            share = pooled / pooled.sum(dim=-1, keepdim=True).clamp(min=1e-300)
        else:
            share = totals[..., q : 2 * q] / totals[..., 2 * q + 2, None].clamp(min=1e-300)
        if self.chance == "gwet":
            return weight_sum * (share * (1 - share)).sum(dim=-1) / max(q * (q - 1), 1)
        return (share * share).sum(dim=-1) if w is None else ((share @ w) * share).sum(dim=-1)

    def compute(self, totals: torch.Tensor):
        observed, items = self.observed(totals)
        return chance_corrected(observed, self.chance_agreement(totals), items)


def chance_corrected(observed: torch.Tensor, chance: torch.Tensor, items: torch.Tensor, *conditions):
    """(p_a − p_e)/(1 − p_e); NaN without pairable items, under further (mask, reason) conditions, or when p_e = 1."""
    value = (observed - chance) / torch.where(chance < 1 - 1e-15, 1 - chance, 1.0)
    return with_reasons(value, (items <= 0, NO_PAIRABLE), *conditions, (chance >= 1 - 1e-15, ZERO_EXPECTED))


class CongerKappa:
    """Conger's (1980) kappa: the kappa family's p_a with chance agreement from each rater's own shares.

    Inputs: item × category counts and :class:`SparseCounts` of per-item (rater, category) ratings
    (code = rater · q + category). Statistics per item: the kappa family's, then that item's
    rater × category one-hots (R·q numbers). Raters without ratings in a slice are left out of it.
    """

    def __init__(self, n_categories: int, n_raters: int, weights: str | None = None, device=None):
        self.base = KappaFamily(n_categories, "fleiss", weights, device, sparse=False)
        self.n_categories, self.n_raters = n_categories, n_raters
        self.n_features = self.base.n_features + n_raters * n_categories

    def stats(self, counts: torch.Tensor, rater_counts: SparseCounts) -> torch.Tensor:
        check_dense((len(counts), self.n_raters * self.n_categories), "per-item Conger statistics (for bootstrap intervals)",
                    "ask for ci=None, or use fleiss/gwet_ac1 (their statistics do not grow with the number of raters)")
        return torch.cat([self.base.stats(counts), rater_counts.to_dense("per-item Conger statistics")[0]], dim=1)

    def total_stats(self, counts: torch.Tensor, rater_counts: SparseCounts) -> torch.Tensor:
        by_rater = _sum_by(rater_counts.code, self.n_raters * self.n_categories, rater_counts.count)
        return torch.cat([self.base.total_stats(counts), by_rater])

    def compute(self, totals: torch.Tensor):
        base = self.base.n_features
        observed, items = self.base.observed(totals[..., :base])
        table = totals[..., base:].reshape(*totals.shape[:-1], self.n_raters, self.n_categories)
        rated = table.sum(dim=-1)
        present = (rated > 0).to(DTYPE)
        raters = present.sum(dim=-1)
        share = table / torch.where(rated > 0, rated, 1.0)[..., None]  # each rater's category shares (0 if absent)
        mean = share.sum(dim=-2) / raters.clamp(min=1)[..., None]
        centred = (share - mean[..., None, :]) * present[..., None]
        covariance = centred.transpose(-1, -2) @ centred / (raters - 1).clamp(min=1)[..., None, None]
        w = self.base.weights
        chance = (w * (mean[..., :, None] * mean[..., None, :] - covariance / raters.clamp(min=1)[..., None, None])).sum(dim=(-2, -1))
        return chance_corrected(observed, chance, items, (raters < 2, NO_PAIRABLE))


#: ICC forms as McGraw & Wong (1996) name them, with Shrout & Fleiss (1979) aliases.
ICC_FORMS = ("ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)")
ICC_ALIASES = {"ICC1": "ICC(1,1)", "ICC2": "ICC(A,1)", "ICC3": "ICC(C,1)", "ICC1k": "ICC(1,k)", "ICC2k": "ICC(A,k)",
               "ICC3k": "ICC(C,k)", "ICC(2,1)": "ICC(A,1)", "ICC(3,1)": "ICC(C,1)", "ICC(2,k)": "ICC(A,k)", "ICC(3,k)": "ICC(C,k)"}


class IntraclassCorrelation:
    """Intraclass correlation from a complete items × raters matrix of numbers (two-way ANOVA mean squares).

    Statistics per item (k + 4 numbers): 1, Σ_j x_ij, Σ_j x_ij², (Σ_j x_ij)², x_i1..x_ik. Forms:
    ICC(1,1) = (MSR − MSW)/(MSR + (k−1)MSW); ICC(A,1) = (MSR − MSE)/(MSR + (k−1)MSE + k(MSC − MSE)/n);
    ICC(C,1) = (MSR − MSE)/(MSR + (k−1)MSE); the k-rater forms: (MSR − MSW)/MSR,
    (MSR − MSE)/(MSR + (MSC − MSE)/n), (MSR − MSE)/MSR.
    """

    def __init__(self, n_raters: int, form: str = "ICC(A,1)"):
        form = ICC_ALIASES.get(form, form)
        if form not in ICC_FORMS:
            raise ValueError(f"unknown ICC form {form!r}; choose one of {ICC_FORMS}")
        self.form, self.n_raters = form, n_raters
        self.n_features = n_raters + 4

    def stats(self, values: torch.Tensor) -> torch.Tensor:
        rows = values.sum(dim=1)
        ones = torch.ones_like(rows)
        return torch.cat([torch.stack([ones, rows, (values * values).sum(dim=1), rows * rows], dim=1), values], dim=1)

    def total_stats(self, values: torch.Tensor) -> torch.Tensor:
        return self.stats(values).sum(dim=0)

    def compute(self, totals: torch.Tensor):
        n, total, squares, row_squares = totals[..., :4].unbind(dim=-1)
        columns = totals[..., 4:]
        k = self.n_raters
        correction = total**2 / (n * k).clamp(min=1e-300)
        ss_total = squares - correction
        ss_rows = row_squares / k - correction
        ss_columns = (columns * columns).sum(dim=-1) / n.clamp(min=1e-300) - correction
        ss_error = ss_total - ss_rows - ss_columns
        ms_rows = ss_rows / (n - 1).clamp(min=1e-300)
        ms_columns = ss_columns / max(k - 1, 1)
        ms_error = ss_error / ((n - 1) * (k - 1)).clamp(min=1e-300)
        ms_within = (ss_total - ss_rows) / (n * (k - 1)).clamp(min=1e-300)
        numerator, denominator = {
            "ICC(1,1)": (ms_rows - ms_within, ms_rows + (k - 1) * ms_within),
            "ICC(A,1)": (ms_rows - ms_error, ms_rows + (k - 1) * ms_error + k * (ms_columns - ms_error) / n.clamp(min=1e-300)),
            "ICC(C,1)": (ms_rows - ms_error, ms_rows + (k - 1) * ms_error),
            "ICC(1,k)": (ms_rows - ms_within, ms_rows),
            "ICC(A,k)": (ms_rows - ms_error, ms_rows + (ms_columns - ms_error) / n.clamp(min=1e-300)),
            "ICC(C,k)": (ms_rows - ms_error, ms_rows),
        }[self.form]
        flat = denominator.abs() <= 1e-12 * (squares.abs() + 1e-300)
        value = numerator / torch.where(flat, 1.0, denominator)
        too_few = (n < 2) | torch.full_like(n, k < 2, dtype=torch.bool)
        return with_reasons(value, (n <= 0, NO_ITEMS), (too_few, NO_PAIRABLE), (flat, ZERO_EXPECTED))

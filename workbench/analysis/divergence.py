"""Where rater groups disagree, item by item (``group_divergence``), and how well they agree with each other (``cross_reliability``).

Methods: docs/METHODS.md, “Disagreement as signal” (JSD in bits; cross-replication reliability, Wong, Paritosh & Aroyo 2021). The statistics are
in :mod:`workbench.kernels.divergence` and :mod:`workbench.kernels.cross`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
import torch

from ..data.ratings import Ratings
from ..data.validate import check_level
from ..errors import WorkbenchDataError
from ..kernels.agreement import REASONS, AlphaCategorical
from ..kernels.cross import CrossAgreement, cross_stats
from ..kernels.device import resolve_device, to_tensor
from ..kernels.divergence import GroupCounter, benjamini_hochberg, group_vs_rest, permutation_sums
from ..kernels.resampling import bootstrap_sums, percentile_interval

CANONICAL = ("item_id", "rater_id", "label")


@dataclass
class Groups:
    """Each rating's group, through the unit that carries it (a rater, or the rating itself)."""

    by: str
    names: list
    per: str  # "rater" or "rating"
    unit: np.ndarray  # unit of each rating
    unit_group: np.ndarray  # group code of each unit

    @property
    def of_rating(self) -> np.ndarray:
        return self.unit_group[self.unit]


def rater_groups(ratings: Ratings, by: str, what: str) -> Groups:
    """Groups from a rater column (a rater keeps one group) or a per-rating column, validated.

    >>> import workbench
    >>> r = workbench.simulate_study(n_items=20, ratings_per_item=4, n_raters=12).ratings
    >>> g = rater_groups(r, "age_band", "group_divergence")
    >>> g.names, g.per
    (['18-34', '35-54', '55+'], 'rater')
    """
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"{what}() takes a workbench Ratings, got {type(ratings).__name__}; see workbench.read_ratings")
    if not ratings.has_raters:
        raise WorkbenchDataError(
            f"{what}() compares groups of raters, but this data set has only per-item counts "
            f"({ratings.meta.get('source', 'from_counts')}); no rater belongs to any group"
        )
    codes = ratings.codes
    if by in ratings.raters.columns:
        source, per, unit = ratings.raters[by], "rater", codes.rater
    elif by in ratings.ratings.columns and by not in CANONICAL:
        source, per, unit = ratings.ratings[by], "rating", np.arange(len(codes.item))
    elif by in ratings.items.columns:
        raise WorkbenchDataError(
            f"by={by!r} is an item column: each item has one value of it, so no item is rated by two of its groups; "
            f"group by a rater column ({', '.join(map(repr, ratings.raters.columns)) or 'none in this data set'}) "
            "and filter items by this one"
        )
    else:
        options = list(ratings.raters.columns) + [c for c in ratings.ratings.columns if c not in CANONICAL]
        raise WorkbenchDataError(
            f"by={by!r} is not a rater or rating column; choose one of {', '.join(map(repr, options)) or 'none (no columns)'}"
        )
    try:
        group, names = pd.factorize(source, sort=True)
    except TypeError:  # mixed types: order as text
        group, names = pd.factorize(source.astype(str).where(source.notna()), sort=True)
    names = [n.item() if hasattr(n, "item") else n for n in names]
    if (group < 0).any():
        group = np.where(group < 0, len(names), group)
        names.append("(missing)")
    used = np.unique(group[np.unique(unit)] if per == "rater" else group)
    if len(used) < 2:
        raise WorkbenchDataError(
            f"{what}() needs at least two groups, but column {by!r} has one value among the rated "
            f"{'raters' if per == 'rater' else 'ratings'}: {names[used[0]]!r}"
        )
    return Groups(by, names, per, np.asarray(unit, dtype=np.int64), group.astype(np.int64))


def _check_common(n, name, least=0):
    if isinstance(n, bool) or int(n) != n or n < least:
        raise WorkbenchDataError(f"{name} must be a whole number ≥ {least}, got {n!r}")
    return int(n)


def group_divergence(
    ratings: Ratings,
    by: str,
    *,
    min_per_group: int = 3,
    n_perm: int = 1000,
    seed: int = 0,
    device="auto",
    progress=None,
) -> pd.DataFrame:
    """Per item, how far one rater group's label distribution is from the rest's, with a permutation test.

    For each group, the Jensen–Shannon divergence (bits) between that group's label distribution on
    the item and everyone else's; the row's ``jsd`` is the largest and ``group`` names that group
    (with two groups this is exactly JSD(group 1, group 2)). Only groups with at least
    ``min_per_group`` ratings on the item, against a rest with as many, compete; an item where none
    does keeps its ``jsd`` over the groups present but gets ``p_value`` NaN and a ``note``.

    The null shuffles group membership among raters (a rater keeps their group across items; for a
    per-rating column, among ratings) ``n_perm`` times, all permutations batched as tensor work.
    ``p_value = (1 + #{null ≥ observed}) / (1 + #defined)``; ``q_value`` is Benjamini–Hochberg over
    the tested items. Small groups inflate JSD: the null is what tells a real split from noise.

    Parameters
    ----------
    ratings : Ratings with rater-level labels
    by : a rater column (or per-rating column) naming each rater's group
    min_per_group : fewest ratings a group needs on an item to be compared there
    n_perm : permutations (0: no test, p-values NaN)
    seed : the same seed gives the same p-values on any device
    progress : optional ``callable(done, total)``, called after each batch of permutations

    Returns
    -------
    DataFrame, one row per item sorted by ``jsd`` descending: ``item_id, jsd, group, p_value,
    q_value, n_<group>…, note``. ``.attrs["overall"]`` holds one test over all tested items (mean
    JSD against its permutation null).

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=200, ratings_per_item=20, n_raters=60)
    >>> table = workbench.group_divergence(study.ratings, by="age_band", n_perm=200)
    >>> list(table.columns)
    ['item_id', 'jsd', 'group', 'p_value', 'q_value', 'n_18-34', 'n_35-54', 'n_55+', 'note']
    >>> planted = study.truth["items"]["planted_split"]
    >>> bool(planted[table["item_id"].head(10)].mean() > 0.8)  # the top of the ranking is the planted split
    True
    """
    if getattr(ratings, "distributed", False):  # a Dask-backed source: the same test, partition by partition
        from ..distributed.tables import group_divergence as distributed_group_divergence

        return distributed_group_divergence(ratings, by, min_per_group=min_per_group, n_perm=n_perm, seed=seed, device=device)
    min_per_group = _check_common(min_per_group, "min_per_group", 1)
    n_perm = _check_common(n_perm, "n_perm")
    groups = rater_groups(ratings, by, "group_divergence")
    codes = ratings.codes
    found = item_divergence(codes.item, _value_codes(ratings), groups.unit, groups.unit_group, n_items=len(codes.items),
                            n_values=_n_values(ratings), n_groups=len(groups.names), min_per_group=min_per_group,
                            n_perm=n_perm, seed=seed, device=device, progress=progress)
    return divergence_table(codes.items, found, groups, min_per_group=min_per_group, n_perm=n_perm, seed=seed)


@dataclass
class ItemDivergence:
    """Per item: the largest group-vs-rest JSD, its group, whether tested, counts per group, and the null's parts.

    ``reached``/``defined`` count permutations per item; ``null_sums``/``null_kept`` are per
    permutation (see :func:`~workbench.kernels.divergence.permutation_sums`); all additive over
    disjoint sets of items. None without permutations.
    """

    value: np.ndarray
    group: np.ndarray
    tested: np.ndarray
    n_group: np.ndarray  # (groups, items)
    reached: np.ndarray | None = None
    defined: np.ndarray | None = None
    null_sums: np.ndarray | None = None
    null_kept: np.ndarray | None = None


def item_divergence(item, value_code, unit, unit_group, *, n_items: int, n_values: int, n_groups: int, min_per_group: int,
                    n_perm: int, seed: int, device="auto", progress=None) -> ItemDivergence:
    """The per-item statistic and permutation null of :func:`group_divergence` for coded ratings (any set of whole items)."""
    dev = resolve_device(device)
    counter = GroupCounter(
        to_tensor(item, device=dev), to_tensor(value_code, device=dev), to_tensor(unit, device=dev),
        n_items=n_items, n_values=n_values, n_units=len(unit_group),
    )
    counts = counter.observed(to_tensor(unit_group, device=dev), n_groups)  # (groups, items, categories)
    per_group = group_vs_rest(counts, counter.total, counter.xlog, 1, best=False)  # (groups, items); NaN: a side is empty
    n_group = counts.sum(dim=2)
    n_rest = n_group.sum(dim=0, keepdim=True) - n_group
    eligible = (n_group >= min_per_group) & (n_rest >= min_per_group)
    tested_value, tested_group = _largest(torch.where(eligible, per_group, torch.nan))
    shown_value, shown_group = _largest(per_group)
    tested = ~torch.isnan(tested_value)
    value = torch.where(tested, tested_value, shown_value)
    best = torch.where(tested, tested_group, shown_group)
    found = ItemDivergence(value.cpu().numpy(), best.cpu().numpy(), tested.cpu().numpy(), n_group.cpu().numpy())
    if n_perm > 0 and tested.any():
        parts = permutation_sums(counter, unit_group, n_groups, value, tested, n_perm=n_perm, seed=seed,
                                 min_count=min_per_group, progress=progress)
        found.reached, found.defined, found.null_sums, found.null_kept = (x.cpu().numpy() for x in parts)
    return found


def divergence_table(item_ids, found: ItemDivergence, groups: Groups, *, min_per_group: int, n_perm: int, seed: int) -> pd.DataFrame:
    """The ranking :func:`group_divergence` returns, from the per-item parts (items in their natural order)."""
    value, tested = found.value, found.tested
    p = np.full(len(value), np.nan)
    overall = {"statistic": "mean jsd over tested items", "value": float(value[tested].mean()) if tested.any() else np.nan,
               "p_value": np.nan, "n_items": int(tested.sum()), "n_perm": n_perm, "permuted": f"{groups.by} among {groups.per}s"}
    if found.reached is not None:
        p = np.where(tested, (1 + found.reached) / (1 + found.defined).astype(np.float64), np.nan)
        means = np.where(found.null_kept > 0, found.null_sums / np.maximum(found.null_kept, 1), np.nan)
        finite = means[~np.isnan(means)]
        overall["p_value"] = float((1 + (finite >= overall["value"] - 1e-12).sum()) / (1 + len(finite)))
    q = benjamini_hochberg(torch.as_tensor(p)).numpy()
    out = pd.DataFrame({
        "item_id": item_ids,
        "jsd": value,
        "group": pd.Series(np.asarray(groups.names, dtype=object)[found.group]).where(~np.isnan(value)).to_numpy(),
        "p_value": p,
        "q_value": q,
    })
    for g, name in enumerate(groups.names):
        out[f"n_{name}"] = found.n_group[g]
    out["note"] = _notes(found.n_group, tested, groups.names, min_per_group)
    out = out.sort_values("jsd", ascending=False, kind="stable", na_position="last").reset_index(drop=True)
    out.attrs.update({"by": groups.by, "min_per_group": min_per_group, "n_perm": n_perm, "seed": seed, "overall": overall})
    return out


def _largest(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Largest defined value over groups (dim 0) and its group; NaN where none is defined."""
    best, group = torch.where(torch.isnan(values), -1.0, values).max(dim=0)
    return torch.where(best < 0, torch.nan, best), group


def _notes(per_group: np.ndarray, tested: np.ndarray, names: list, min_per_group: int) -> list:
    notes = [""] * per_group.shape[1]
    for i in np.flatnonzero(~tested):
        present = ", ".join(f"{name}: {int(n)}" for name, n in zip(names, per_group[:, i]) if n > 0)
        notes[i] = f"not tested: no group has {min_per_group}+ ratings against {min_per_group}+ from the rest ({present})"
    return notes


def _n_values(ratings: Ratings) -> int:
    return len(ratings.categories) if ratings.categories is not None else ratings.label_counts().shape[1]


def _value_codes(ratings: Ratings) -> np.ndarray:
    """Category code of each rating (interval/ratio: index of its value among the distinct values)."""
    codes = ratings.codes
    if ratings.categories is not None:
        return codes.value
    return np.searchsorted(ratings.label_counts().columns.to_numpy(dtype=np.float64), codes.value)


def _domain(ratings: Ratings, level: str) -> np.ndarray | None:
    """Numeric category values where the level needs them (interval, ratio), else None."""
    if level not in ("interval", "ratio"):
        return None
    values = ratings.label_counts().columns if ratings.categories is None else pd.Index(ratings.categories)
    try:
        return values.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise WorkbenchDataError(f"the {level} level needs numeric labels, but the categories are {list(values)[:5]!r}") from None


#: Categorical cross statistics hold categories² numbers per item; beyond this, bin the labels first.
MAX_CROSS_VALUES = 64


def cross_reliability(
    ratings: Ratings,
    by: str,
    *,
    level: str | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    device="auto",
) -> pd.DataFrame:
    """Cross-group agreement (xRR, Wong, Paritosh & Aroyo 2021; docs/METHODS.md) for every pair of rater groups, with bootstrap intervals.

    On the items both groups rated: ``kappa_x = 1 − d_o/d_e``, where d_o is the mean disagreement δ
    over all (rating from A, rating from B) pairs within items and d_e the disagreement expected
    from the two groups' label distributions on those items; ``alpha_a``, ``alpha_b`` are each
    group's own Krippendorff alpha there, and ``xrr = kappa_x / sqrt(alpha_a · alpha_b)`` (NaN with a
    ``note`` unless both alphas are > 0). δ is alpha's for ``level`` (ordinal: from both groups'
    pooled labels). Intervals are percentile bootstraps over items. Items rated by only one of the
    two groups are left out and counted (``n_items_one_group``).

    Returns
    -------
    DataFrame, one row per pair of groups: ``group_a, group_b, n_items, n_items_one_group, kappa_x,
    kappa_x_ci_low, kappa_x_ci_high, alpha_a, alpha_b, xrr, xrr_ci_low, xrr_ci_high, note``.

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=20, n_raters=60, planted_share=0.0)
    >>> table = workbench.cross_reliability(study.ratings, by="age_band", n_boot=200)
    >>> table[["group_a", "group_b", "n_items"]].to_string(index=False)
    'group_a group_b  n_items\\n  18-34   35-54      300\\n  18-34     55+      300\\n  35-54     55+      300'
    >>> bool(table["xrr"].between(0.8, 1.2).all())  # one population: the groups agree as much as within
    True
    """
    groups = rater_groups(ratings, by, "cross_reliability")
    level = check_level(level or ratings.level)
    if ci is not None and not 0 < ci < 1:
        raise WorkbenchDataError(f"ci must lie in (0, 1), got {ci!r}")
    n_boot = _check_common(n_boot, "n_boot")
    n_values = _n_values(ratings)
    if n_values > MAX_CROSS_VALUES:
        raise WorkbenchDataError(
            f"cross_reliability compares category by category; column 'label' has {n_values} distinct values "
            f"(more than {MAX_CROSS_VALUES}): bin the labels first"
        )
    _refuse_twins(ratings, groups)
    dev = resolve_device(device)
    domain = _domain(ratings, level)
    kernel = CrossAgreement(AlphaCategorical(level, n_values, None if domain is None else to_tensor(domain, device=dev), device=dev))
    codes = ratings.codes
    counter = GroupCounter(
        to_tensor(codes.item, device=dev), to_tensor(_value_codes(ratings), device=dev), to_tensor(groups.unit, device=dev),
        n_items=len(codes.items), n_values=n_values, n_units=len(groups.unit_group),
    )
    counts = counter.observed(to_tensor(groups.unit_group, device=dev), len(groups.names)).to(torch.float64)
    rows = []
    bootstrapped = ci is not None and n_boot > 0
    for a, b in combinations(range(len(groups.names)), 2):
        has_a, has_b = counts[a].sum(dim=1) > 0, counts[b].sum(dim=1) > 0
        shared = has_a & has_b
        row = {"group_a": groups.names[a], "group_b": groups.names[b], "n_items": int(shared.sum()),
               "n_items_one_group": int((has_a ^ has_b).sum())}
        row.update({name: np.nan for name in ("kappa_x", "alpha_a", "alpha_b", "xrr", "kappa_x_ci_low", "kappa_x_ci_high",
                                              "xrr_ci_low", "xrr_ci_high")}, note="no item is rated by both groups")
        rows.append(row)
        if not shared.any():
            continue
        stats = cross_stats(counts[a][shared], counts[b][shared], kernel)
        (kappa, alpha_a, alpha_b, xrr), reasons = kernel.compute(stats.sum(dim=0))
        row.update(kappa_x=float(kappa), alpha_a=float(alpha_a), alpha_b=float(alpha_b), xrr=float(xrr))
        row["note"] = _cross_note(reasons, (row["alpha_a"], row["alpha_b"]), (groups.names[a], groups.names[b]))
        if bootstrapped:
            replicates = bootstrap_sums(stats, np.array([0, len(stats)]), n_boot, seed)[:, 0]
            (kappa_r, _, _, xrr_r), _ = kernel.compute(replicates)
            low, high, _ = percentile_interval(torch.stack([kappa_r, xrr_r], dim=1), ci)
            row["kappa_x_ci_low"], row["xrr_ci_low"] = low.tolist()
            row["kappa_x_ci_high"], row["xrr_ci_high"] = high.tolist()
    columns = ["group_a", "group_b", "n_items", "n_items_one_group", "kappa_x", "kappa_x_ci_low", "kappa_x_ci_high",
               "alpha_a", "alpha_b", "xrr", "xrr_ci_low", "xrr_ci_high", "note"]
    out = pd.DataFrame(rows, columns=columns)
    out.attrs.update({"by": by, "level": level, "ci": ci if bootstrapped else None, "n_boot": n_boot if bootstrapped else 0,
                      "resample": "items", "seed": seed})
    return out


def _cross_note(reasons, alphas, names) -> str:
    kappa_reason = int(reasons[0])
    if kappa_reason:
        return f"kappa_x undefined: {REASONS[kappa_reason]}"
    if int(reasons[3]):
        bad = [f"alpha of {name!r} is " + (f"undefined ({REASONS[int(r)]})" if int(r) else f"{value:.3f}")
               for name, value, r in zip(names, alphas, reasons[1:3]) if not value > 0]
        return "xrr undefined: needs both alphas > 0; " + "; ".join(bad)
    return ""


def _refuse_twins(ratings: Ratings, groups: Groups) -> None:
    """Refuse two groups that hold the same ratings twice (each rater of one has a twin in the other).

    A rating paired with its own copy is no evidence of agreement between groups (Wong, Paritosh & Aroyo 2021).
    """
    if groups.per != "rater":
        return
    codes = ratings.codes
    n_values = _n_values(ratings)
    key = (codes.item * n_values + _value_codes(ratings)).astype(np.uint64)
    mixed = (key + np.uint64(0x9E3779B97F4A7C15)) * np.uint64(0xBF58476D1CE4E5B9)  # a 64-bit mix, order-free after summing
    mixed ^= mixed >> np.uint64(31)
    signature = pd.Series(mixed).groupby(codes.rater).sum()  # wraps modulo 2⁶⁴: a set hash of (item, label)
    raters = signature.index.to_numpy()
    group_of = groups.unit_group[raters]
    for a, b in combinations(range(len(groups.names)), 2):
        sig_a = np.sort(signature.to_numpy()[group_of == a])
        sig_b = np.sort(signature.to_numpy()[group_of == b])
        if len(sig_a) and len(sig_a) == len(sig_b) and np.array_equal(sig_a, sig_b):
            raise WorkbenchDataError(
                f"groups {groups.names[a]!r} and {groups.names[b]!r} of {groups.by!r} hold the same ratings twice "
                "(every rater of one has a twin with identical labels on identical items in the other): "
                "a rating paired with its own copy says nothing about agreement between groups"
            )


def item_groups(ratings: Ratings, item_id, by: str | None = None) -> pd.DataFrame:
    """One item's label counts and shares, overall and per group of ``by`` (a rater or rating column).

    >>> import workbench
    >>> r = workbench.simulate_study(n_items=10, ratings_per_item=6, n_raters=12).ratings
    >>> table = item_groups(r, "demo-000000", "age_band")
    >>> list(table.columns), table["group"].unique().tolist()
    (['group', 'label', 'count', 'share'], ['(all)', '18-34', '35-54', '55+'])
    """
    if str(item_id) not in ratings.items.index:
        raise WorkbenchDataError(f"item_id {item_id!r} is not in this data set")
    counts = ratings.label_counts().loc[[str(item_id)]]
    rows = [("(all)", counts.iloc[0])]
    if by is not None and ratings.has_raters:
        groups = rater_groups(ratings, by, "item_groups")
        codes = ratings.codes
        mine = np.flatnonzero(codes.item == ratings.items.index.get_loc(str(item_id)))
        labels = ratings.ratings["label"].to_numpy()[mine]
        group = groups.of_rating[mine]
        for g, name in enumerate(groups.names):
            if (group == g).any():
                rows.append((name, pd.Series(labels[group == g]).value_counts().reindex(counts.columns, fill_value=0)))
    frames = []
    for name, series in rows:
        total = series.sum()
        frames.append(pd.DataFrame({"group": name, "label": list(counts.columns), "count": series.to_numpy(),
                                    "share": series.to_numpy() / total if total else np.nan}))
    return pd.concat(frames, ignore_index=True)

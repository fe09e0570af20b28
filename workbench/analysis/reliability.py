"""``reliability()``: an agreement coefficient per slice, with bootstrap intervals (docs/METHODS.md, “Agreement”).

One pass builds per-(slice, item) statistics; point values, slices and bootstrap replicates are
sums of those rows (see :mod:`workbench.kernels.resampling`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from ..data.keys import stable_keys
from ..data.ratings import Ratings
from ..data.validate import check_level
from ..errors import WorkbenchDataError
from ..kernels.agreement import (
    REASONS,
    AlphaCategorical,
    AlphaInterval,
    CohenKappa,
    PercentAgreement,
    SparseCounts,
    category_counts,
    interval_moments,
    sparse_counts,
)
from ..kernels.device import DTYPE, resolve_device, to_tensor
from ..kernels.inputs import alpha_kernel, moments_from_counts
from ..kernels.resampling import (
    bca_interval,
    bootstrap_sums,
    jackknife_acceleration,
    percentile_interval,
    poisson_sums,
    poisson_weights,
    rater_counts,
    replicate_counts,
    row_types,
    slice_sums,
    spread_type_counts,
)
from ..kernels.replicates import replicate_values
from . import coefficients

METRICS = ("alpha", "cohen", "percent_agreement", *coefficients.COEFFICIENTS)
RESAMPLE = ("items", "raters")
INTERVALS = ("percentile", "bca")
BOOTSTRAPS = ("multinomial", "poisson")
#: Landis & Koch bands, for display only (docs/METHODS.md, “Agreement”).
BANDS = ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial"), (np.inf, "almost perfect"))


def check_bootstrap(bootstrap: str, resample: str) -> None:
    """Refuse an unknown bootstrap draw, or a Poisson draw over raters (it weights items)."""
    if bootstrap not in BOOTSTRAPS:
        raise WorkbenchDataError(f"bootstrap must be 'multinomial' or 'poisson', got {bootstrap!r}")
    if bootstrap == "poisson" and resample != "items":
        raise WorkbenchDataError("bootstrap='poisson' weights items; use it with resample='items'")


def band(value: float) -> str | None:
    """Landis & Koch label of an agreement value (``None`` for NaN; 'poor' below 0)."""
    if not np.isfinite(value):
        return None
    if value < 0:
        return "poor"
    return next(name for upper, name in BANDS if value <= upper)


@dataclass
class _Coded:
    """Ratings reduced to what a kernel needs, with rows = (slice, item) pairs sorted by slice."""

    row: np.ndarray  # row of each rating
    code: np.ndarray  # category code (categorical) or value (interval), per rating
    rater: np.ndarray | None  # rater index per rating (None for counts-only data)
    counts: np.ndarray | None  # counts-only data: per-row counts
    n_rows: int
    bounds: np.ndarray  # rows of slice g are bounds[g]:bounds[g+1]
    slices: list
    domain: np.ndarray
    rater_slices: bool = False  # slices are rater groups: a rater bootstrap draws within each


def _slice_codes(ratings: Ratings, by: str | None) -> tuple[np.ndarray | None, list, str]:
    """Slice code of each item, rater or rating (where ``by`` lives), the slice names in natural order, and where."""
    if by is None:
        return None, ["all"], "item"
    if by in ratings.items.columns:
        source, per = ratings.items[by], "item"
    elif ratings.has_raters and by in ratings.raters.columns:
        source, per = ratings.raters[by], "rater"
    elif ratings.has_raters and by in ratings.rating_columns.columns:
        source, per = ratings.rating_columns[by], "rating"
    else:
        options = list(ratings.items.columns) + (list(ratings.raters.columns) if ratings.has_raters else [])
        raise WorkbenchDataError(f"by={by!r} is not an item or rater column; choose one of {', '.join(map(repr, options)) or 'none (no columns)'}")
    try:
        codes, names = pd.factorize(source, sort=True)
    except TypeError:  # mixed types: order as text
        codes, names = pd.factorize(source.astype(str).where(source.notna()), sort=True)
    names = list(names)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(names), codes)
        names.append("(missing)")
    return codes.astype(np.int64), names, per


def _code(ratings: Ratings, metric: str, level: str, by: str | None) -> _Coded:
    slice_code, slices, per = _slice_codes(ratings, by)
    n_items = ratings.n_items
    if not ratings.has_raters:
        counts = ratings.label_counts().to_numpy(dtype=np.float64)
        slice_of_item = np.zeros(n_items, dtype=np.int64) if slice_code is None else slice_code
        order = np.argsort(slice_of_item, kind="stable")
        bounds = np.searchsorted(slice_of_item[order], np.arange(len(slices) + 1))
        return _Coded(order, None, None, counts[order], n_items, bounds, slices, _domain(ratings, level))
    codes = ratings.codes
    if per == "item":
        # item-level slices: rows are items, ordered by slice (no hashing over ratings)
        slice_of_item = np.zeros(n_items, dtype=np.int64) if slice_code is None else slice_code
        order = np.argsort(slice_of_item, kind="stable")
        row_of_item = np.empty(n_items, dtype=np.int64)
        row_of_item[order] = np.arange(n_items)
        row, n_rows = row_of_item[codes.item], n_items
        bounds = np.searchsorted(slice_of_item[order], np.arange(len(slices) + 1))
    else:
        slice_of_rating = slice_code[codes.rater] if per == "rater" else slice_code
        key = slice_of_rating * n_items + codes.item
        row, unique_keys = _rank(key, len(slices) * n_items)  # rows = (slice, item) pairs, sorted by slice then item
        n_rows = len(unique_keys)
        bounds = np.searchsorted(unique_keys // n_items, np.arange(len(slices) + 1))
    domain = _domain(ratings, level)
    if level == "interval" and metric == "alpha":
        value = codes.value.astype(np.float64) if ratings.level in ("interval", "ratio") else domain[codes.value]
    elif ratings.level in ("interval", "ratio"):
        value = np.searchsorted(domain, codes.value)
    else:
        value = codes.value
    rater_slices = by is not None and by not in ratings.items.columns and by in ratings.raters.columns
    return _Coded(row, value, codes.rater, None, n_rows, bounds, slices, domain, rater_slices)


def _rank(key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each key among the distinct keys, the distinct keys sorted) for keys in ``[0, n_keys)``.

    A presence table when it is small next to the keys (no hashing, no sort), else sorted hashing.
    """
    if n_keys > 4 * len(key):
        return pd.factorize(key, sort=True)
    present = np.zeros(n_keys, dtype=bool)
    present[key] = True
    rank = np.cumsum(present, dtype=np.int64) - 1
    return rank[key], np.flatnonzero(present)


def _domain(ratings: Ratings, level: str) -> np.ndarray:
    """Values of the categories (numbers needed for interval/ratio), in order."""
    if ratings.level in ("interval", "ratio"):
        return ratings.label_counts().columns.to_numpy(dtype=np.float64)  # the distinct values, sorted
    categories = np.asarray(ratings.categories, dtype=object)
    if level in ("interval", "ratio"):
        try:
            return categories.astype(np.float64)
        except (TypeError, ValueError):
            raise WorkbenchDataError(
                f"the {level} level needs numeric labels, but the categories are {list(categories)[:5]!r}; use level='ordinal' or 'nominal'"
            ) from None
    return categories


def _kernel(metric: str, level: str, domain: np.ndarray, device, weights=None, form=None, n_raters=None):
    if metric == "alpha":
        return AlphaInterval() if level == "interval" else alpha_kernel(level, domain, device)
    if metric == "percent_agreement":
        return PercentAgreement()
    if metric == "cohen":
        return CohenKappa(len(domain), weights, device=device)
    return coefficients.kernel(metric, len(domain), n_raters, weights, form, device)


def _inputs(coded: _Coded, kernel, device, weight=None) -> tuple:
    """The kernel's per-row input (counts, moments or rater pairs), optionally with rating weights."""
    if coded.counts is not None:
        counts = to_tensor(coded.counts, dtype=DTYPE, device=device)
        if isinstance(kernel, AlphaInterval):
            return (moments_from_counts(counts, to_tensor(coded.domain, dtype=DTYPE, device=device)),)
        if _by_entries(kernel):  # many categories: the table's non-zero cells as sparse entries
            row, code = torch.nonzero(counts, as_tuple=True)
            cell = counts[row, code]
            return (SparseCounts(row, code, cell, cell, coded.n_rows, counts.shape[1]),)
        return (counts,)
    row = to_tensor(coded.row, device=device)
    w = None if weight is None else to_tensor(weight, dtype=DTYPE, device=device)
    if isinstance(kernel, AlphaInterval):
        return (interval_moments(row, to_tensor(coded.code, dtype=DTYPE, device=device), coded.n_rows, w),)
    if isinstance(kernel, CohenKappa):
        return (_cohen_pairs(coded, device),)
    if isinstance(kernel, (coefficients.CongerKappa, coefficients.IntraclassCorrelation)):
        return coefficients.inputs(coded, kernel, device, weight)
    code = to_tensor(coded.code, device=device)
    if isinstance(kernel, AlphaCategorical):
        return kernel.inputs(row, code, coded.n_rows, w)
    if _by_entries(kernel):  # the kappa family over many categories: unique (item, category) entries, no items × q table
        return (sparse_counts(row, code, coded.n_rows, len(coded.domain), w, aggregate=True),)
    counts = category_counts(row, code, coded.n_rows, len(coded.domain), w)
    if w is None:
        return (counts,)
    return counts, category_counts(row, code, coded.n_rows, len(coded.domain), w * w)


def _slice_totals(kernel, inputs: tuple, bounds: np.ndarray) -> torch.Tensor:
    """Summed statistics per slice, each slice reduced by the kernel's own (matrix-product) total."""
    return torch.stack([kernel.total_stats(*(x[lo:hi] for x in inputs)) for lo, hi in zip(bounds[:-1], bounds[1:])])


def _cohen_pairs(coded: _Coded, device) -> torch.Tensor:
    """(rows × 2) codes of rater 1 and rater 2 per row; rows lacking either rater get code pair (-1)."""
    pairs = np.full((coded.n_rows, 2), -1, dtype=np.int64)
    pairs[coded.row, coded.rater] = coded.code
    if (pairs < 0).any():
        raise WorkbenchDataError(
            f"Cohen's kappa needs both raters on every item; {int((pairs < 0).any(axis=1).sum())} items have only one "
            "(subset to the shared items, or use alpha, which handles missing ratings)"
        )
    return to_tensor(pairs, device=device)


def reliability(
    ratings: Ratings,
    metric: str = "alpha",
    level: str | None = None,
    by: str | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    device="auto",
    resample: str = "items",
    weights: str | None = None,
    form: str | None = None,
    interval: str = "percentile",
    bootstrap: str | None = None,
) -> pd.DataFrame:
    """Agreement per slice with a bootstrap interval (percentile, or BCa on request).

    Parameters
    ----------
    ratings : Ratings
    metric : {"alpha", "fleiss", "scott_pi", "gwet_ac1", "gwet_ac2", "brennan_prediger", "conger_kappa", "cohen", "icc", "percent_agreement"}
        Krippendorff's alpha; the kappa family as in Gwet's handbook and irrCAC (missing ratings
        allowed; see :mod:`workbench.kernels.coefficients`): Fleiss' kappa (chance agreement from
        per-item shares averaged over items), Scott's pi (from pooled shares), Gwet's AC1/AC2,
        Brennan–Prediger, Conger's kappa; Cohen's kappa (two raters); the intraclass correlation
        (numeric ratings, every item rated by every rater); percent agreement.
    level : level of measurement for alpha and icc (default: the data's own)
    by : item or rater column to slice by (``None``: the whole data set)
    ci : interval level (``None`` or ``n_boot=0``: no interval)
    n_boot, seed : bootstrap size and seed; the same seed gives the same interval on any device.
        Big studies (≥ 65,536 rows, at most 1 in 8 distinct) draw each slice's distinct per-item
        inputs as types, one multinomial per replicate — the same distribution as drawing items,
        at a cost that does not grow with the items (:mod:`workbench.kernels.resampling`).
        Any number of categories gets an interval: with more than 64, nominal and ordinal alpha and the
        unweighted kappa family sum each replicate from sparse (item, category) entries, in memory that
        grows with the ratings and the categories, never with items × categories²
        (:mod:`workbench.kernels.replicates`)
    resample : "items" (default) or "raters" (draws raters with replacement; a rater drawn k
        times counts k times in each item, and pairs between copies of one rater are left out;
        sliced by a rater column, each group's raters are drawn from that group)
    weights : agreement weights for cohen, fleiss, scott_pi, gwet_ac2, brennan_prediger and
        conger_kappa: "identity" (None), "linear", "quadratic" or "ordinal", over the category order
        (gwet_ac2 defaults to "quadratic"; gwet_ac1 is AC2 with identity weights)
    form : for icc: "ICC(1,1)", "ICC(A,1)" (default), "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)"
        (McGraw & Wong); Shrout & Fleiss names "ICC(2,1)", "ICC3k", … are accepted
    interval : "percentile" (default) or "bca" (bias-corrected and accelerated, with a jackknife
        over the resampled units). The percentile interval under-covers in small studies (about
        90 % for a 95 % interval over 20 items; see tests/test_coverage.py); BCa holds 95 % there.
    bootstrap : "multinomial" (the default in memory: each replicate redraws as many items as there are) or
        "poisson" (each item enters a replicate Poisson(1) times, from a counter-based generator
        keyed by (seed, item id, replicate): the interval does not depend on the order, split or
        partitioning of the data, and equals the one a Dask cluster computes, where it is the default; items only)

    Returns
    -------
    DataFrame, one row per slice: ``metric, level, value, ci_low, ci_high, n_items, n_ratings,
    n_raters, band, note`` (``note`` gives the reason when ``value`` is NaN).

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=10, n_raters=60)
    >>> table = workbench.reliability(study.ratings, by="split", n_boot=200)
    >>> table[["split", "n_items", "n_ratings"]].to_string(index=False)
    '   split  n_items  n_ratings\\nharmless      136       1360\\n helpful      164       1640'
    >>> bool((table["ci_low"] <= table["value"]).all() and (table["value"] <= table["ci_high"]).all())
    True
    """
    if getattr(ratings, "distributed", False):  # a Dask-backed source (workbench.read_ratings(..., engine="dask"))
        from ..distributed.reliability import reliability as distributed_reliability

        return distributed_reliability(ratings, metric=metric, level=level, by=by, ci=ci, n_boot=n_boot, seed=seed, device=device,
                                       resample=resample, weights=weights, form=form, interval=interval, bootstrap=bootstrap)
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"reliability() takes a workbench Ratings, got {type(ratings).__name__}; see workbench.read_ratings")
    bootstrap = bootstrap or "multinomial"
    check_bootstrap(bootstrap, resample)
    if metric not in METRICS:
        raise WorkbenchDataError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    level = check_level(level or ratings.level)
    if metric not in ("alpha", "icc") and level != ratings.level and level in ("interval", "ratio"):
        raise WorkbenchDataError(f"level={level!r} applies to alpha and icc only; {metric} treats labels as categories")
    if metric == "icc" and level not in ("interval", "ratio"):
        raise WorkbenchDataError(f"the intraclass correlation needs numeric ratings; these are {level} (pass level='interval' if the labels are numbers)")
    weights, form = coefficients.check_options(metric, weights, form, ratings, by, resample)
    if resample not in RESAMPLE:
        raise WorkbenchDataError(f"resample must be 'items' or 'raters', got {resample!r}")
    if interval not in INTERVALS:
        raise WorkbenchDataError(f"interval must be 'percentile' or 'bca', got {interval!r}")
    if ci is not None and not 0 < ci < 1:
        raise WorkbenchDataError(f"ci must lie in (0, 1), got {ci!r}")
    if int(n_boot) != n_boot or n_boot < 0:
        raise WorkbenchDataError(f"n_boot must be a non-negative whole number, got {n_boot!r}")
    if resample == "raters" and not ratings.has_raters:
        ratings._need_raters("resampling raters")
    if metric == "cohen":
        if not ratings.has_raters or ratings.n_raters != 2:
            raise WorkbenchDataError(
                f"Cohen's kappa compares exactly two raters; this data set has {ratings.n_raters or 'no'} raters (use alpha or fleiss)"
            )
        if by is not None and ratings.has_raters and by in ratings.raters.columns:
            raise WorkbenchDataError("Cohen's kappa cannot be sliced by a rater column (each slice would hold one rater)")
        if resample == "raters":
            raise WorkbenchDataError("resampling raters is meaningless for Cohen's kappa (two fixed raters)")
    dev = resolve_device(device)
    coded = _code(ratings, metric, level, by)
    kernel = _kernel(metric, level, coded.domain, dev, weights, form, ratings.n_raters)
    inputs = _inputs(coded, kernel, dev)
    value, reason = kernel.compute(_slice_totals(kernel, inputs, coded.bounds))
    replicates = acceleration = None
    if ci is not None and n_boot > 0:
        # items drawn (and left out, for BCa) by type when the study repeats itself; found once for both
        types = _row_types(inputs, coded.bounds) if resample == "items" and (bootstrap != "poisson" or interval == "bca") else None
        if bootstrap == "poisson":
            keys = stable_keys(_item_of_row(ratings, coded))
            if _by_entries(kernel):  # many categories: replicate totals from sparse entries, no per-item V² statistics
                replicates = replicate_values(kernel, inputs, coded.bounds, n_boot, lambda first, size: poisson_weights(keys, size, seed, first))
            else:
                replicates = kernel.compute(poisson_sums(kernel.stats(*inputs), coded.bounds, keys, n_boot, seed))[0]
        else:
            replicates = _bootstrap(coded, kernel, inputs, types, n_boot, seed, resample, dev)
        if interval == "bca":
            acceleration = _acceleration(coded, kernel, inputs, types, resample, dev)
    level_shown = level if metric in ("alpha", "icc") else "ordinal" if weights else "nominal"
    return _table(_describe(ratings, coded), by, coefficients.label(metric, weights, form), level_shown, value, reason,
                  replicates, acceleration, ci=ci, n_boot=n_boot, resample=resample, interval=interval, bootstrap=bootstrap)


def _table(out: pd.DataFrame, by, metric_label: str, level_shown: str, value: torch.Tensor, reason: torch.Tensor,
           replicates: torch.Tensor | None, acceleration: torch.Tensor | None, *, ci, n_boot: int, resample: str,
           interval: str, bootstrap: str) -> pd.DataFrame:
    """The reliability table from per-slice facts (``slice, n_items, n_ratings, n_raters``), values and replicates."""
    out.insert(0, "metric", metric_label)
    out.insert(1, "level", level_shown)
    out["value"] = value.cpu().numpy()
    notes = [REASONS[int(r)] for r in reason.cpu()]
    bootstrapped = replicates is not None
    out["ci_low"], out["ci_high"] = np.nan, np.nan
    if bootstrapped:
        if interval == "bca":
            low, high, defined = bca_interval(replicates, value, acceleration, ci)
        else:
            low, high, defined = percentile_interval(replicates, ci)
        out["ci_low"], out["ci_high"] = low.numpy(), high.numpy()
        for g, k in enumerate(defined.tolist()):
            if k < n_boot and not notes[g]:
                notes[g] = f"{n_boot - k} of {n_boot} bootstrap replicates undefined"
    out["ci"] = ci if bootstrapped else None
    out["n_boot"] = n_boot if bootstrapped else 0
    out["resample"] = resample
    out["interval"] = interval if bootstrapped else None
    out["band"] = [band(v) for v in out["value"]]
    out["note"] = notes
    if by is None:
        out = out.drop(columns="slice")
    else:
        out = out.rename(columns={"slice": by})
    columns = ([by] if by else []) + ["metric", "level", "value", "ci_low", "ci_high", "n_items", "n_ratings", "n_raters",
                                      "band", "ci", "n_boot", "resample", "interval", "note"]
    out = out[columns]
    out.attrs["bootstrap"] = bootstrap if bootstrapped else None
    return out


def _item_of_row(ratings: Ratings, coded: _Coded) -> pd.Index:
    """The item id of each statistics row (rows are items, or (slice, item) pairs)."""
    if coded.counts is not None:  # counts-only data: rows are items in order ``coded.row``
        return ratings.items.index[coded.row]
    item_of_row = np.empty(coded.n_rows, dtype=np.int64)
    item_of_row[coded.row] = ratings.codes.item
    return ratings.items.index[item_of_row]


def _describe(ratings: Ratings, coded: _Coded) -> pd.DataFrame:
    slice_of_row = np.repeat(np.arange(len(coded.slices)), np.diff(coded.bounds))
    n_items = np.diff(coded.bounds)
    if coded.counts is not None:
        n_ratings = np.bincount(slice_of_row, weights=coded.counts.sum(axis=1), minlength=len(coded.slices)).astype(np.int64)
        n_raters = [None] * len(coded.slices)
    else:
        slice_of_rating = slice_of_row[coded.row]
        n_ratings = np.bincount(slice_of_rating, minlength=len(coded.slices))
        n_all = int(coded.rater.max()) + 1
        seen = np.zeros(len(coded.slices) * n_all, dtype=bool)
        seen[slice_of_rating * n_all + coded.rater] = True
        n_raters = seen.reshape(len(coded.slices), n_all).sum(axis=1)
    return pd.DataFrame({"slice": coded.slices, "n_items": n_items, "n_ratings": n_ratings, "n_raters": n_raters})


def _bootstrap(coded, kernel, inputs, types, n_boot, seed, resample, device) -> torch.Tensor:
    """(n_boot × slices) replicate values; items are drawn by type when ``types`` (see :func:`_row_types`) is given."""
    if resample == "items":
        if _by_entries(kernel):  # many categories: the same draws, replicate totals from sparse entries
            rng = np.random.default_rng(seed)
            return replicate_values(kernel, inputs, coded.bounds, n_boot, lambda first, size: replicate_counts(rng, size, coded.bounds))
        if types is None:
            return kernel.compute(bootstrap_sums(kernel.stats(*inputs), coded.bounds, n_boot, seed))[0]
        stats = kernel.stats(inputs[0][torch.as_tensor(types.first, device=inputs[0].device)])  # one row per type
        return kernel.compute(bootstrap_sums(stats, types.bounds, n_boot, seed, multiplicity=types.multiplicity))[0]
    n_raters = int(coded.rater.max()) + 1
    rng = np.random.default_rng(seed)
    strata = _rater_strata(coded) if coded.rater_slices else None
    return _rater_weighted_values(coded, kernel, device, n_boot, lambda batch: rater_counts(rng, len(batch), n_raters, strata))


def _by_entries(kernel) -> bool:
    """Whether the kernel sums bootstrap replicates from sparse (item, category) entries (many categories)."""
    return bool(getattr(kernel, "by_entries", False))


def _row_types(inputs: tuple, bounds: np.ndarray):
    """Distinct kernel inputs per slice (equal inputs, equal statistics), when drawing them as types pays."""
    if len(inputs) != 1 or not isinstance(inputs[0], torch.Tensor):
        return None
    return row_types(inputs[0], bounds)


def _rater_strata(coded) -> np.ndarray:
    """The slice of each rater when slices are rater groups (raters without ratings: a stratum of their own)."""
    strata = np.full(int(coded.rater.max()) + 1, len(coded.slices), dtype=np.int64)
    strata[coded.rater] = np.repeat(np.arange(len(coded.slices)), np.diff(coded.bounds))[coded.row]
    return strata


def _rater_weighted_values(coded, kernel, device, n_replicates, draw, chunk_elements: int = 1 << 22) -> torch.Tensor:
    """(n_replicates × slices) values with rater weights ``draw(batch)`` (len(batch) × raters), a chunk of replicates at a time."""
    values = torch.empty(n_replicates, len(coded.slices), dtype=DTYPE, device=device)
    if _by_entries(kernel):  # many categories: each replicate's slice totals from its sparse entries
        for first in range(n_replicates):
            weight = draw(range(first, first + 1))[0]
            inputs = _inputs(coded, kernel, device, weight=weight[coded.rater])
            values[first] = kernel.compute(_slice_totals(kernel, inputs, coded.bounds))[0]
        return values
    per_chunk = max(1, chunk_elements // max(len(coded.row), coded.n_rows * len(coded.domain) ** 2, 1))
    for first in range(0, n_replicates, per_chunk):
        weights = draw(range(first, min(n_replicates, first + per_chunk)))
        b = len(weights)
        stacked = replace(coded, row=(np.arange(b)[:, None] * coded.n_rows + coded.row).ravel(),
                          code=np.tile(coded.code, b), rater=np.tile(coded.rater, b), n_rows=b * coded.n_rows)
        stats = kernel.stats(*_inputs(stacked, kernel, device, weight=weights[:, coded.rater].ravel()))
        values[first : first + b] = kernel.compute(slice_sums(stats.reshape(b, coded.n_rows, -1), coded.bounds))[0]
    return values


def _acceleration(coded, kernel, inputs, types, resample, device) -> torch.Tensor:
    """BCa acceleration per slice from the jackknife over the resampled units (items or raters of the slice)."""
    slice_of_row = np.repeat(np.arange(len(coded.slices)), np.diff(coded.bounds))
    if resample == "items":
        if _by_entries(kernel):  # leave each row out in turn: weights 1 except a 0, replicate totals from sparse entries
            values = replicate_values(kernel, inputs, coded.bounds, coded.n_rows, lambda first, size: _leave_one_out(first, size, coded.n_rows))
            picked = values[torch.arange(coded.n_rows, device=values.device), torch.as_tensor(slice_of_row, device=values.device)]
            return jackknife_acceleration(picked, torch.as_tensor(slice_of_row), len(coded.slices))
        if types is None:
            stats = kernel.stats(*inputs)
            left_out = slice_sums(stats, coded.bounds)[torch.as_tensor(slice_of_row, device=stats.device)] - stats
            return jackknife_acceleration(kernel.compute(left_out)[0], torch.as_tensor(slice_of_row), len(coded.slices))
        stats = kernel.stats(inputs[0][torch.as_tensor(types.first, device=inputs[0].device)])  # leaving out any row of a type: one value
        slice_of_type = torch.as_tensor(np.repeat(np.arange(len(coded.slices)), np.diff(types.bounds)), device=stats.device)
        totals = slice_sums(stats * torch.as_tensor(types.multiplicity, dtype=DTYPE, device=stats.device)[:, None], types.bounds)
        values = kernel.compute(totals[slice_of_type] - stats)[0].cpu()
        return jackknife_acceleration(values[torch.as_tensor(types.of_row)], torch.as_tensor(slice_of_row), len(coded.slices))
    n_raters = int(coded.rater.max()) + 1
    values = _rater_weighted_values(coded, kernel, device, n_raters, lambda batch: _all_but_one(batch, n_raters))
    present = np.zeros((n_raters, len(coded.slices)), dtype=bool)
    present[coded.rater, slice_of_row[coded.row]] = True  # a rater outside a slice does not move it
    group = np.broadcast_to(np.arange(len(coded.slices)), present.shape)[present]
    return jackknife_acceleration(values.cpu()[torch.as_tensor(present)], torch.as_tensor(group), len(coded.slices))


def _leave_one_out(first: int, size: int, n_rows: int) -> np.ndarray:
    """Row weights of jackknife replicates first … first + size − 1: every row once, except row j in replicate j.

    >>> _leave_one_out(1, 2, 3).tolist()
    [[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    """
    weights = np.ones((size, n_rows))
    weights[np.arange(size), np.arange(first, first + size)] = 0.0
    return weights


def _all_but_one(left_out: range, n_raters: int) -> np.ndarray:
    """Rater weights of jackknife replicates: every rater once, except rater j in replicate j."""
    weights = np.ones((len(left_out), n_raters))
    weights[np.arange(len(left_out)), np.asarray(left_out)] = 0.0
    return weights


def bootstrap_weights(
    ratings: Ratings,
    n_boot: int = 1000,
    seed: int = 0,
    resample: str = "items",
    by: str | None = None,
    metric: str = "alpha",
    level: str | None = None,
    bootstrap: str = "multinomial",
) -> pd.DataFrame:
    """The resampling counts :func:`reliability` draws for a seed: one row per replicate.

    Columns are the items (``resample="items"``; a (slice, item) MultiIndex when ``by`` is a
    rater or per-rating column, since items are then resampled within each slice) or the raters
    (``resample="raters"``; drawn within each group when ``by`` is a rater column). A count k
    means the item or rater enters that replicate k times. ``bootstrap="poisson"`` gives the
    Poisson weights instead (an item keeps its weight in every slice it is in).

    Big, repetitive studies draw items by type (items whose ``metric``'s inputs are equal; see
    :mod:`workbench.kernels.resampling`); their counts are spread over the items of each type
    at random, which is again an item bootstrap and gives the same replicates.

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=4, ratings_per_item=2, n_raters=3)
    >>> w = bootstrap_weights(study.ratings, n_boot=3, seed=1)
    >>> w.shape, w.sum(axis=1).tolist()
    ((3, 4), [4, 4, 4])
    """
    if resample not in RESAMPLE:
        raise WorkbenchDataError(f"resample must be 'items' or 'raters', got {resample!r}")
    check_bootstrap(bootstrap, resample)
    if metric not in METRICS:
        raise WorkbenchDataError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    level = check_level(level or ratings.level)
    coded = _code(ratings, metric, level, by)
    if resample == "raters":
        ratings._need_raters("resampling raters")
        strata = _rater_strata(coded) if coded.rater_slices else None
        n_raters = int(coded.rater.max()) + 1  # as the bootstrap draws
        return pd.DataFrame(rater_counts(seed, n_boot, n_raters, strata).astype(np.int64), columns=ratings.raters.index[:n_raters])
    if bootstrap == "poisson":
        counts = poisson_weights(stable_keys(_item_of_row(ratings, coded)), n_boot, seed)
    else:
        device = torch.device("cpu")
        weights, form = coefficients.check_options(metric, None, None, ratings, by, resample)
        types = _row_types(_inputs(coded, _kernel(metric, level, coded.domain, device, weights, form, ratings.n_raters), device), coded.bounds)
        if types is None:
            counts = replicate_counts(seed, n_boot, coded.bounds)
        else:
            counts = spread_type_counts(seed, replicate_counts(seed, n_boot, types.bounds, types.multiplicity), types)
    counts = counts.astype(np.int64)
    if coded.counts is not None:  # counts-only data: rows are items in order ``coded.row``
        columns = ratings.items.index[coded.row]
    else:
        item_of_row = np.empty(coded.n_rows, dtype=np.int64)
        item_of_row[coded.row] = ratings.codes.item
        columns = ratings.items.index[item_of_row]
        if by is not None and by not in ratings.items.columns:
            slice_of_row = np.repeat(np.arange(len(coded.slices)), np.diff(coded.bounds))
            columns = pd.MultiIndex.from_arrays([np.asarray(coded.slices, dtype=object)[slice_of_row], columns], names=[by, "item_id"])
    return pd.DataFrame(counts, columns=columns)

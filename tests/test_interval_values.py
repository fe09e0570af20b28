"""Bootstrap intervals checked by value: the same draws, resampled data sets built one by one.

``bootstrap_weights`` returns the replicate counts ``reliability`` draws for a seed. For each
replicate a naive loop builds the resampled data set explicitly (items repeated as new units, or
raters copied), computes alpha by another route — the ``krippendorff`` package for items, a
loop over every pair of rating copies for raters — and takes the percentiles. The interval must
agree to 1e-12, with and without slices.
"""

from itertools import product

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import workbench
from workbench.analysis.reliability import bootstrap_weights

N_BOOT = 120
LEVEL = 0.95


def _study(seed: int, level: str) -> workbench.Ratings:
    """30 items × 10 raters, 3–7 ratings per item; an item column, a rater column and a per-rating column."""
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(30):
        lean = rng.beta(1.5, 1.5)
        for rater in rng.choice(10, size=rng.integers(3, 8), replace=False):
            score = int(np.clip(round(1 + 4 * lean + rng.normal(0, 0.8)), 1, 5))
            rows.append({"item": f"i{item:02d}", "rater": f"r{rater}", "label": score if level == "interval" else "abcde"[score - 1],
                         "topic": "xyz"[item % 3], "group": "gh"[rater % 2], "mode": "pq"[int(rng.random() < 0.5)]})
    frame = pd.DataFrame(rows)
    return workbench.Ratings.from_frame(frame, item="item", rater="rater", label="label", level=level,
                                        item_columns=["topic"], rater_columns=["group"])


STUDIES = {level: _study(seed, level) for seed, level in ((1, "nominal"), (2, "interval"))}


def _rows(ratings: workbench.Ratings, by: str | None, slice_name) -> pd.DataFrame:
    """The ratings that make up one slice (long table with item, rater, label)."""
    frame = ratings.to_frame()
    return frame if by is None else frame[frame[by] == slice_name]


def _matrix(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """Raters × items matrix of the slice's ratings, as numbers (category positions for nominal labels)."""
    matrix = frame.pivot(index="rater_id", columns="item_id", values="label")
    if level == "nominal":
        return matrix.apply(lambda column: column.map({c: float(k) for k, c in enumerate(sorted(frame["label"].unique()))}))
    return matrix.astype(float)


def _package_alpha(matrix: pd.DataFrame, items: pd.Series, level: str) -> float:
    """Alpha by the krippendorff package of the data set in which item i appears ``items[i]`` times."""
    expanded = np.repeat(matrix[items.index].to_numpy(), items.to_numpy(), axis=1)
    try:
        return krippendorff.alpha(expanded, level_of_measurement=level)
    except ValueError:  # one value in the replicate's domain: alpha undefined
        return np.nan


def _units(frame: pd.DataFrame) -> list[list[tuple]]:
    """Each item's (rater, label) ratings."""
    return [list(zip(unit["rater_id"], unit["label"])) for _, unit in frame.groupby("item_id")]


def _pairs_alpha(units: list[list[tuple]], copies: pd.Series, level: str) -> float:
    """Alpha over every ordered pair of rating copies from different raters, item by item.

    Rater r enters ``copies[r]`` times; an item with m copies spreads weight m evenly over its
    pairs (Krippendorff's 1/(m − 1) when no rater is copied).
    """
    delta = (lambda a, b: float(a != b)) if level == "nominal" else (lambda a, b: (float(a) - float(b)) ** 2)
    copies = copies.to_dict()
    coincidence: dict = {}
    for unit in units:
        expanded = [(rater, label) for rater, label in unit for _ in range(int(copies[rater]))]
        pairs = [(a[1], b[1]) for i, a in enumerate(expanded) for j, b in enumerate(expanded) if i != j and a[0] != b[0]]
        for pair in pairs:
            coincidence[pair] = coincidence.get(pair, 0.0) + len(expanded) / len(pairs)
    marginal: dict = {}
    for (c, _), weight in coincidence.items():
        marginal[c] = marginal.get(c, 0.0) + weight
    n = sum(marginal.values())
    observed = sum(weight * delta(c, k) for (c, k), weight in coincidence.items())
    expected = sum(marginal[c] * marginal[k] * delta(c, k) for c, k in product(marginal, repeat=2))
    return np.nan if expected == 0 or n <= 1 else 1 - (n - 1) * observed / expected


def _percentiles(values: list[float]) -> tuple[float, float]:
    low, high = np.nanpercentile(np.asarray(values, dtype=float), [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return float(low), float(high)


def _bca(values: list[float], point: float, jackknife: list[float]) -> tuple[float, float]:
    """Efron & Tibshirani (1993) §14.3, written out: bias from the share below the point, acceleration from the jackknife."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    tie = np.abs(values - point) <= 1e-12 * max(1.0, abs(point))  # a replicate that redraws the data itself
    share = (np.sum((values < point) & ~tie) + 0.5 * np.sum(tie)) / len(values)
    z0 = norm.ppf(min(max(share, 0.5 / len(values)), 1 - 0.5 / len(values)))
    d = np.mean(jackknife) - np.asarray(jackknife)
    a = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
    tails = [norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in norm.ppf([(1 - LEVEL) / 2, (1 + LEVEL) / 2])]
    low, high = np.percentile(values, [100 * t for t in tails])
    return float(low), float(high)


def _intervals(ratings, level, by, resample, seed):
    """reliability()'s percentile and BCa tables for the same draws."""
    return [workbench.reliability(ratings, level=level, by=by, n_boot=N_BOOT, seed=seed, ci=LEVEL, resample=resample, interval=kind)
            for kind in ("percentile", "bca")]


@pytest.mark.parametrize("level", ["nominal", "interval"])
def test_pair_loop_is_the_package_alpha_without_copies(level):
    """The naive pair loop used for rater replicates agrees with the package when nobody is copied."""
    ratings = STUDIES[level]
    frame = ratings.to_frame()
    once = pd.Series(1, index=ratings.raters.index)
    every_item_once = pd.Series(1, index=ratings.items.index)
    assert _pairs_alpha(_units(frame), once, level) == pytest.approx(_package_alpha(_matrix(frame, level), every_item_once, level), abs=1e-12)


@pytest.fixture(params=["rows", "types"])
def draw(request, monkeypatch):
    """Run a test with items drawn one by one, and again drawn by type (forced on these small studies)."""
    from workbench.kernels import resampling

    if request.param == "types":
        monkeypatch.setattr(resampling, "TYPES_MIN_ROWS", 1)
        monkeypatch.setattr(resampling, "TYPES_MAX_SHARE", 1.0)
    return request.param


@pytest.mark.parametrize("level", ["nominal", "interval"])
@pytest.mark.parametrize("by", [None, "topic", "group", "mode"])
def test_item_bootstrap_interval_equals_naive_loop(level, by, draw):
    ratings = STUDIES[level]
    percentile, bca = _intervals(ratings, level, by, "items", seed=11)
    weights = bootstrap_weights(ratings, n_boot=N_BOOT, seed=11, by=by)
    for (_, row), (_, bca_row) in zip(percentile.iterrows(), bca.iterrows()):
        name = None if by is None else row[by]
        frame = _rows(ratings, by, name)
        if isinstance(weights.columns, pd.MultiIndex):  # per-rating slices: items resampled within the slice
            own = weights.xs(name, axis=1, level=0)
        else:
            own = weights[frame["item_id"].unique()]
            assert own.sum(axis=1).eq(own.shape[1]).all()  # a slice's items are drawn from that slice only
        matrix = _matrix(frame, level)
        values = [_package_alpha(matrix, counts, level) for _, counts in own.iterrows()]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(_percentiles(values), abs=1e-12)
        once = pd.Series(1, index=own.columns)
        jackknife = [_package_alpha(matrix, once.drop(item), level) for item in own.columns]
        point = _package_alpha(matrix, once, level)
        assert row["value"] == pytest.approx(point, abs=1e-12)
        assert (bca_row["ci_low"], bca_row["ci_high"]) == pytest.approx(_bca(values, row["value"], jackknife), abs=1e-12)


@pytest.mark.parametrize("level", ["nominal", "interval"])
@pytest.mark.parametrize("by", [None, "topic", "group"])
def test_rater_bootstrap_interval_equals_naive_loop(level, by):
    ratings = STUDIES[level]
    percentile, bca = _intervals(ratings, level, by, "raters", seed=5)
    weights = bootstrap_weights(ratings, n_boot=N_BOOT, seed=5, resample="raters", by=by)
    assert list(weights.columns) == list(ratings.raters.index)
    groups = ratings.raters["group"] if by == "group" else pd.Series(0, index=ratings.raters.index)
    assert (weights.T.groupby(groups).sum().T == groups.value_counts()).all(axis=None)  # drawn within each rater group
    for (_, row), (_, bca_row) in zip(percentile.iterrows(), bca.iterrows()):
        frame = _rows(ratings, by, None if by is None else row[by])
        units = _units(frame)
        values = [_pairs_alpha(units, copies, level) for _, copies in weights.iterrows()]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(_percentiles(values), abs=1e-12)
        everyone = pd.Series(1, index=ratings.raters.index)
        jackknife = [_pairs_alpha(units, everyone.mask(everyone.index == rater, 0), level) for rater in frame["rater_id"].unique()]
        assert (bca_row["ci_low"], bca_row["ci_high"]) == pytest.approx(_bca(values, row["value"], jackknife), abs=1e-12)


def test_weights_are_what_the_interval_used():
    """Another seed gives other draws and another interval (the check above is not vacuous)."""
    ratings = STUDIES["nominal"]
    a, b = bootstrap_weights(ratings, n_boot=20, seed=1), bootstrap_weights(ratings, n_boot=20, seed=2)
    assert not a.equals(b) and a.sum(axis=1).eq(ratings.n_items).all()
    assert bootstrap_weights(ratings, n_boot=20, seed=1).equals(a)
    counts_only = workbench.Ratings.from_counts(ratings.label_counts())
    assert list(bootstrap_weights(counts_only, n_boot=3).columns) == list(counts_only.items.index)
    with pytest.raises(workbench.WorkbenchDataError, match="resample"):
        bootstrap_weights(ratings, resample="items_and_raters")


def test_draws_give_every_unit_the_same_chance():
    """The naive loops reuse the draws, so the draws are checked on their own: each item of a slice
    and each rater (within its group, if any) is drawn once per replicate on average (5 standard errors)."""
    from workbench.kernels.resampling import rater_counts, replicate_counts

    n_replicates = 4000
    tolerance = 5 / np.sqrt(n_replicates)  # a count has variance 1 − 1/n ≤ 1
    items = replicate_counts(3, n_replicates, [0, 4, 11, 30])
    assert np.abs(items.mean(axis=0) - 1).max() < tolerance and items[:, :4].sum(axis=1).max() == 4
    for strata in (None, [0, 1, 0, 1, 1, 2, 0]):
        raters = rater_counts(4, n_replicates, 7, strata)
        assert np.abs(raters.mean(axis=0) - 1).max() < tolerance and (raters.sum(axis=1) == 7).all()


def test_type_draws_give_every_row_the_same_chance():
    """Types are drawn as often as their rows would be, and spreading their counts gives each row one draw on average."""
    import torch

    from workbench.kernels.resampling import replicate_counts, row_types, spread_type_counts

    n_replicates = 4000
    tolerance = 5 / np.sqrt(n_replicates)
    rows = torch.tensor([[0.0], [1.0], [0.0], [0.0], [2.0], [2.0], [0.0]])
    types = row_types(rows, [0, 4, 7], min_rows=1, max_share=1)
    assert types.multiplicity.tolist() == [3, 1, 2, 1] and types.bounds.tolist() == [0, 2, 4]
    counts = replicate_counts(3, n_replicates, types.bounds, types.multiplicity)
    assert (counts[:, :2].sum(axis=1) == 4).all() and (counts[:, 2:].sum(axis=1) == 3).all()
    assert np.abs(counts.mean(axis=0) / types.multiplicity - 1).max() < tolerance
    spread = spread_type_counts(3, counts, types)
    assert np.abs(spread.mean(axis=0) - 1).max() < tolerance
    per_type = np.stack([spread[:, types.of_row == t].sum(axis=1) for t in range(4)], axis=1)
    assert (per_type == counts).all()


def test_big_repetitive_studies_are_drawn_by_type():
    """A study with many rows and few distinct ones takes the type path; small ones and distinct rows do not."""
    import torch

    from workbench.kernels.resampling import TYPES_MIN_ROWS, row_types

    rng = np.random.default_rng(0)
    repetitive = torch.as_tensor(rng.integers(0, 3, (TYPES_MIN_ROWS, 2)), dtype=torch.float64)
    types = row_types(repetitive, [0, TYPES_MIN_ROWS // 2, TYPES_MIN_ROWS])
    assert types is not None and len(types.first) == 18  # 9 count pairs in each of two slices
    assert (repetitive[types.first[types.of_row]] == repetitive).all()
    hashed = row_types(repetitive / 3 - 0.5, [0, TYPES_MIN_ROWS // 2, TYPES_MIN_ROWS])  # not small counts: rows are hashed
    assert all((a == b).all() for a, b in zip(hashed, types))
    assert row_types(repetitive[:100], [0, 100]) is None
    assert row_types(torch.as_tensor(rng.random((TYPES_MIN_ROWS, 2))), [0, TYPES_MIN_ROWS]) is None


@pytest.mark.parametrize("point, acceleration", [(0.0, 0.0), (200.0, 0.0), (0.0, 0.1), (37.25, -0.05)])
def test_bca_percentiles_follow_efron_when_the_point_lies_anywhere(point, acceleration):
    """bca_interval against scipy's normal functions and numpy's quantiles: the bias share kept within
    [1/(2B), 1 − 1/(2B)] when every replicate lies above (point 0) or below (point 200) the point value."""
    import torch

    from workbench.kernels.resampling import bca_interval

    values = np.arange(1.0, 101.0)
    low, high, defined = bca_interval(torch.tensor(values)[:, None], torch.tensor([point]), torch.tensor([acceleration]), 0.9)
    share = np.clip(np.mean(values < point), 0.5 / 100, 1 - 0.5 / 100)
    bias, z = norm.ppf(share), norm.ppf([0.05, 0.95])
    expected = np.quantile(values, norm.cdf(bias + (bias + z) / (1 - acceleration * (bias + z))))
    assert [float(low[0]), float(high[0])] == pytest.approx(expected, rel=1e-8) and int(defined[0]) == 100  # torch vs scipy ndtri

"""rater_table: the leave-one-out change equals recomputing the metric without each rater, to 1e-9."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import krippendorff

import workbench
from workbench import WorkbenchDataError
from workbench.errors import UndefinedMetricWarning


def _independent(matrix: np.ndarray, metric: str, level: str | None, q: int) -> float:
    """The metric of a raters × items matrix (NaN: missing) by another route: the krippendorff package for alpha,
    Gwet's (2014) formulas written out in NumPy for the kappa family and percent agreement (q: declared categories)."""
    if metric == "alpha":
        try:
            return krippendorff.alpha(matrix, level_of_measurement=level)
        except ValueError:  # one value in the domain: undefined
            return np.nan
    used, codes = np.unique(matrix[~np.isnan(matrix)], return_inverse=True)
    position = np.full(matrix.shape, -1)
    position[~np.isnan(matrix)] = codes
    r = np.stack([(position == k).sum(axis=0) for k in range(len(used))], axis=1).astype(float)
    m = r.sum(axis=1)
    pairable = m >= 2
    if not pairable.any():
        return np.nan
    p_a = ((r * (r - 1)).sum(axis=1)[pairable] / (m * (m - 1))[pairable]).mean()
    if metric == "percent_agreement":
        return p_a
    pi = (r[m > 0] / m[m > 0, None]).mean(axis=0)
    p_e = (pi**2).sum() if metric == "fleiss" else (pi * (1 - pi)).sum() / max(q - 1, 1)  # one category: no chance term
    return (p_a - p_e) / (1 - p_e) if p_e < 1 - 1e-15 else np.nan


def _loop(ratings, metric, level):
    """The slow reference: the metric without each rater, recomputed independently (not by reliability(), whose kernels
    rater_table shares) on the raters × items matrix less that rater's row."""
    matrix = ratings.to_frame().pivot(index="rater_id", columns="item_id", values="label").astype(float)
    q = len(ratings.categories) if ratings.categories is not None else None
    level = level or ratings.level
    everyone = _independent(matrix.to_numpy(), metric, level, q)
    return pd.Series({rater: _independent(matrix.drop(index=rater).to_numpy(), metric, level, q) - everyone
                      for rater in matrix.index})


@st.composite
def studies(draw, numeric=False):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    raters, items = draw(st.integers(3, 7)), draw(st.integers(2, 20))
    if numeric:
        data = rng.normal(3, 1, size=(raters, items)).round(1)
    else:
        data = rng.integers(0, draw(st.integers(2, 4)), size=(raters, items)).astype(float)
    data[rng.random(data.shape) < draw(st.sampled_from([0.0, 0.3]))] = np.nan
    data[:, 0] = data[0, 0] if not np.isnan(data[0, 0]) else 1.0  # every rater rated something
    return data


CASES = [("alpha", "nominal"), ("alpha", "ordinal"), ("fleiss", None), ("gwet_ac1", None), ("percent_agreement", None)]


@pytest.mark.parametrize("metric, level", CASES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=studies())
def test_change_equals_per_rater_recomputation(metric, level, data):
    ratings = workbench.Ratings.from_matrix(data, level="ordinal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        table = workbench.rater_table(ratings, metric=metric, level=level)
    expected = _loop(ratings, metric, level)
    got = table[f"{metric}_change"].reindex(expected.index)
    assert np.allclose(got, expected, atol=1e-9, equal_nan=True), pd.DataFrame({"got": got, "loop": expected})


@pytest.mark.parametrize("level", ["interval", "ratio"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=studies(numeric=True))
def test_change_equals_recomputation_for_numeric_levels(level, data):
    ratings = workbench.Ratings.from_matrix(np.abs(data), level=level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        table = workbench.rater_table(ratings)
    expected = _loop(ratings, "alpha", None)
    assert np.allclose(table["alpha_change"].reindex(expected.index), expected, atol=1e-9, equal_nan=True)


def test_columns_on_a_small_example():
    # raters w, x, y agree everywhere; z disagrees on every item
    data = pd.DataFrame([[1, 2, 1, 2]] * 3 + [[2, 1, 2, 1]], index=["w", "x", "y", "z"], dtype=float)
    ratings = workbench.Ratings.from_matrix(data, level="nominal")
    table = workbench.rater_table(ratings)
    assert list(table.index) == ["z", "w", "x", "y"]  # leaving z out helps most
    assert table.loc["z", "alpha_change"] > 0 > table.loc["x", "alpha_change"]
    assert table.loc["x", "pairwise_agreement"] == pytest.approx(2 / 3) and table.loc["z", "pairwise_agreement"] == 0.0
    assert table.loc["z", "kappa_vs_majority"] == -1.0 and table.loc["x", "kappa_vs_majority"] == 1.0
    assert (table["share_1.0"] == 0.5).all() and (table["n_ratings"] == 4).all() and (table["shared_items"] == 4).all()


def test_numeric_columns():
    ratings = workbench.Ratings.from_matrix(pd.DataFrame([[1.0, 2.0], [2.0, 3.0]], index=["lo", "hi"]), level="interval")
    table = workbench.rater_table(ratings)
    assert table.loc["hi", "mean_label"] == 2.5 and table.loc["hi", "mean_deviation"] == 1.0 and table.loc["lo", "mean_deviation"] == -1.0


def test_rater_attributes_are_joined(demo):
    small = demo.ratings.subset(items=demo.ratings.items.index[:100])
    table = workbench.rater_table(small)
    assert {"age_band", "attention_check"} <= set(table.columns)


@pytest.mark.parametrize("kwargs, message", [
    (dict(metric="cohen"), "leave-one-out change for"),
    (dict(level="interval"), "needs numeric labels"),
])
def test_wrong_input(kwargs, message):
    ratings = workbench.Ratings.from_matrix([["a", "b"], ["a", "a"]], level="nominal")
    with pytest.raises(WorkbenchDataError, match=message):
        workbench.rater_table(ratings, **kwargs)


def test_counts_only_data_is_refused():
    ratings = workbench.Ratings.from_counts(pd.DataFrame({"a": [2, 1], "b": [0, 1]}))
    with pytest.raises(WorkbenchDataError, match="rater-level"):
        workbench.rater_table(ratings)


def _naive_kappa_vs_majority(frame: pd.DataFrame, categories) -> pd.Series:
    """Per rater: Cohen's kappa of their label against the single most frequent label of the *other* raters on the
    item, over items where that label is unique (ties left out), written out with Python counters."""
    from collections import Counter

    index = {c: k for k, c in enumerate(categories)}
    tables = {rater: np.zeros((len(categories), len(categories))) for rater in frame["rater_id"].unique()}
    for _, unit in frame.groupby("item_id"):
        for rater, label in zip(unit["rater_id"], unit["label"]):
            others = Counter(unit.loc[unit["rater_id"] != rater, "label"])
            if not others:
                continue
            top = max(others.values())
            leaders = [c for c, n in others.items() if n == top]
            if len(leaders) == 1:
                tables[rater][index[label], index[leaders[0]]] += 1
    out = {}
    for rater, table in tables.items():
        n = table.sum()
        if n == 0:
            out[rater] = np.nan
            continue
        observed = np.trace(table) / n
        chance = (table.sum(axis=1) @ table.sum(axis=0)) / n**2
        out[rater] = np.nan if chance >= 1 else (observed - chance) / (1 - chance)
    return pd.Series(out)


@pytest.mark.parametrize("seed", [0, 1])
def test_kappa_vs_majority_leaves_tied_majorities_out(seed):
    """Four raters on three labels: the other three often tie (one vote each), and those items must not count."""
    rng = np.random.default_rng(seed)
    rows = [(f"i{i}", f"r{r}", "abc"[rng.integers(0, 3)]) for i in range(40) for r in range(4) if rng.random() < 0.9]
    frame = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"])
    ratings = workbench.read_ratings(frame)
    table = workbench.rater_table(ratings)
    expected = _naive_kappa_vs_majority(ratings.to_frame(), list(ratings.categories))
    pd.testing.assert_series_equal(table["kappa_vs_majority"].sort_index(), expected.sort_index(), check_names=False, atol=1e-12)

"""Gwet's AC1/AC2, Fleiss, Scott's pi, Brennan–Prediger, Conger and the ICC against independent values.

References: shared/reference/coefficient_vectors.json (irrCAC 0.4.4 on 6 data sets with missing
ratings × 4 weightings; pingouin's six ICC forms on 4 complete data sets). A copy lives in tests/data.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench
from conftest import ROOT, SHARED_REFERENCE
from workbench import WorkbenchDataError
from workbench.errors import UndefinedMetricWarning

ENTRIES = json.loads((ROOT / "tests" / "data" / "coefficient_vectors.json").read_text())["entries"]
#: irrCAC's name → ours (gwet is AC1 with identity weights, AC2 otherwise).
IRRCAC = {"fleiss": "fleiss", "conger": "conger_kappa", "brennan_prediger": "brennan_prediger"}


def _ratings(entry, level):
    data = np.array([[np.nan if v is None else v for v in row] for row in entry["data"]], dtype=float)  # units × raters
    return workbench.Ratings.from_matrix(data.T, level=level, categories=entry.get("categories"))


def _value(ratings, **kwargs):
    return workbench.reliability(ratings, ci=None, **kwargs)["value"].iloc[0]


def test_copy_matches_shared_reference():
    shared = SHARED_REFERENCE / "coefficient_vectors.json"
    if not shared.is_file():
        pytest.skip("shared/reference not available")
    assert json.loads(shared.read_text())["entries"] == ENTRIES


@pytest.mark.parametrize("entry", ENTRIES["irrcac"], ids=lambda e: e["name"])
def test_kappa_family_matches_irrcac(entry):
    ratings = _ratings(entry, "ordinal")
    weights = entry["weights"]
    expected = entry["expected"]
    for theirs, ours in IRRCAC.items():
        assert _value(ratings, metric=ours, weights=weights) == pytest.approx(expected[theirs], abs=1e-12), ours
    gwet = "gwet_ac1" if weights == "identity" else "gwet_ac2"
    assert _value(ratings, metric=gwet, weights=None if gwet == "gwet_ac1" else weights) == pytest.approx(expected["gwet"], abs=1e-12)
    level = {"identity": "nominal", "quadratic": "interval"}.get(weights)  # irrCAC's weighted alpha = alpha at that level
    if level:
        assert _value(ratings, level=level) == pytest.approx(expected["krippendorff"], abs=1e-12)


@pytest.mark.parametrize("entry", [e for e in ENTRIES["irrcac"] if e["weights"] == "identity"], ids=lambda e: e["name"])
def test_fleiss_function_follows_irrcac_and_keeps_pooled_as_option(entry):
    data = np.array([[np.nan if v is None else v for v in row] for row in entry["data"]], dtype=float)
    counts = np.stack([(data == c).sum(axis=1) for c in entry["categories"]], axis=1)
    assert workbench.fleiss_kappa(counts) == pytest.approx(entry["expected"]["fleiss"], abs=1e-12)
    pooled = workbench.fleiss_kappa(counts, chance="pooled")
    assert pooled == pytest.approx(_scott_by_hand(data), abs=1e-12)  # an independent transcription, not scott_pi again
    assert _value(_ratings(entry, "nominal"), metric="scott_pi") == pytest.approx(_scott_by_hand(data), abs=1e-12)
    if (counts.sum(axis=1) == counts.sum(axis=1)[0]).all():  # equal numbers of ratings: the two rules coincide
        assert pooled == pytest.approx(entry["expected"]["fleiss"], abs=1e-12)


def _scott_by_hand(data, weights=None):
    """Scott's pi generalised to missing ratings (Gwet 2014, pooled shares), written out with Python loops.

    ``data`` is units × raters with NaN for a missing rating. Items with m ≥ 2 ratings are pairable:
    p_a averages Σ_k r_k (Σ_l w_kl r_l − 1) / (m (m − 1)) over them; π_k = (ratings k in pairable items) /
    (ratings in pairable items); p_e = Σ_kl w_kl π_k π_l; pi = (p_a − p_e) / (1 − p_e).
    """
    categories = sorted({v for row in data for v in row if v == v})
    q = len(categories)
    w = np.eye(q) if weights is None else weights
    agreements, pooled = [], [0.0] * q
    for row in data:
        r = [sum(1 for v in row if v == c) for c in categories]
        m = sum(r)
        if m < 2:
            continue
        agreements.append(sum(r[k] * (sum(w[k][l] * r[l] for l in range(q)) - 1) for k in range(q)) / (m * (m - 1)))
        for k in range(q):
            pooled[k] += r[k]
    p_a = sum(agreements) / len(agreements)
    share = [x / sum(pooled) for x in pooled]
    p_e = sum(w[k][l] * share[k] * share[l] for k in range(q) for l in range(q))
    return (p_a - p_e) / (1 - p_e)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scott_pi_with_unequal_numbers_of_ratings_follows_the_hand_formula(seed):
    """Items with 1 to 6 ratings: Scott's pi uses pooled shares, not Fleiss' per-item averages.

    The reference is :func:`_scott_by_hand` (loops over a units × raters matrix), never
    ``fleiss_kappa(chance="pooled")``, which runs the same kernel as ``scott_pi``. Checked: with Scott's
    chance agreement falling back to Fleiss' averaged shares when the numbers of ratings differ, this fails.
    """
    rng = np.random.default_rng(seed)
    data = rng.choice(3, size=(60, 6), p=[0.6, 0.3, 0.1]).astype(float)
    data[:20] = np.where(rng.random((20, 6)) < 0.5, np.nan, data[:20])  # 0–6 ratings on the first items
    data[:20, 0] = np.where(np.isnan(data[:20]).all(axis=1), 0.0, data[:20, 0])
    data[20:40] = np.where(data[20:40] == 0, data[20:40], np.where(rng.random((20, 6)) < 0.6, np.nan, data[20:40]))
    data[40, 1:] = np.nan  # one item with a single rating
    ratings = workbench.Ratings.from_matrix(data.T, level="ordinal", categories=[0.0, 1.0, 2.0])
    ours = _value(ratings, metric="scott_pi")
    assert ours == pytest.approx(_scott_by_hand(data), abs=1e-12)
    assert abs(ours - _value(ratings, metric="fleiss")) > 1e-3  # the data tell the two chance rules apart
    quadratic = [[1 - (k - l) ** 2 / 4 for l in range(3)] for k in range(3)]
    assert _value(ratings, metric="scott_pi", weights="quadratic") == pytest.approx(_scott_by_hand(data, quadratic), abs=1e-12)


@pytest.mark.parametrize("entry", ENTRIES["pingouin"], ids=lambda e: e["name"])
def test_icc_matches_pingouin(entry):
    ratings = _ratings(entry, "interval")
    for form, expected in entry["expected"].items():
        assert _value(ratings, metric="icc", form=form) == pytest.approx(expected, abs=1e-9), form


def test_icc_shrout_fleiss_names_are_aliases():
    ratings = _ratings(ENTRIES["pingouin"][0], "interval")
    assert _value(ratings, metric="icc", form="ICC(2,1)") == _value(ratings, metric="icc", form="ICC(A,1)")
    assert _value(ratings, metric="icc", form="ICC3k") == _value(ratings, metric="icc", form="ICC(C,k)")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40), k=st.integers(2, 5))
def test_scott_pi_two_raters_is_scotts_formula(seed, n, k):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, k, n), rng.integers(0, k, n)
    ratings = workbench.Ratings.from_matrix(np.stack([a, b]).astype(float), level="nominal")
    joint = np.bincount(np.concatenate([a, b]), minlength=k) / (2 * n)
    chance = (joint**2).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        ours = _value(ratings, metric="scott_pi")
    if chance >= 1 - 1e-15:
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(((a == b).mean() - chance) / (1 - chance), abs=1e-12)


METRICS = ["fleiss", "scott_pi", "gwet_ac1", "gwet_ac2", "brennan_prediger", "conger_kappa"]


@pytest.mark.parametrize("metric", METRICS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), cut=st.integers(1, 29))
def test_slice_statistics_sum_to_the_whole(metric, seed, cut):
    """Per-item statistics summed over two parts give the whole data set's value (what bootstrap and slices rely on)."""
    from workbench.analysis.reliability import _code, _inputs, _kernel
    from workbench.kernels.resampling import slice_sums

    rng = np.random.default_rng(seed)
    data = rng.integers(0, 3, size=(4, 30)).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    ratings = workbench.Ratings.from_matrix(data, level="ordinal")
    coded = _code(ratings, metric, "ordinal", None)
    weights = "linear" if metric != "gwet_ac1" else None
    kernel = _kernel(metric, "ordinal", coded.domain, "cpu", weights, None, ratings.n_raters)
    inputs = _inputs(coded, kernel, "cpu")
    parts = slice_sums(kernel.stats(*inputs), np.array([0, min(cut, coded.n_rows), coded.n_rows])).sum(dim=0)  # items without ratings drop out
    whole = kernel.total_stats(*inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.allclose(kernel.compute(parts)[0].numpy(), kernel.compute(whole)[0].numpy(), atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("metric", METRICS + ["icc"])
def test_every_coefficient_gets_slices_and_intervals(metric):
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, 120)
    data = np.where(rng.random((5, 120)) < 0.7, truth, rng.integers(1, 6, (5, 120))).astype(float)
    ratings = workbench.Ratings.from_matrix(data, level="interval" if metric == "icc" else "ordinal")
    ratings.items["half"] = np.arange(ratings.n_items) % 2
    table = workbench.reliability(ratings, metric=metric, by="half", n_boot=100, seed=0)
    assert len(table) == 2 and table["note"].eq("").all()
    assert ((table["ci_low"] <= table["value"]) & (table["value"] <= table["ci_high"])).all()
    assert table["value"].between(0.3, 1).all()


def test_metric_column_names_the_variant():
    ratings = _ratings(ENTRIES["irrcac"][4], "ordinal")
    assert workbench.reliability(ratings, metric="gwet_ac2", ci=None)["metric"].iloc[0] == "gwet_ac2 (quadratic weights)"
    assert workbench.reliability(ratings, metric="gwet_ac1", ci=None)["metric"].iloc[0] == "gwet_ac1"


@pytest.mark.parametrize("kwargs, message", [
    (dict(metric="alpha", weights="linear"), "weights apply to"),
    (dict(metric="fleiss", weights="cubic"), "weights must be one of"),
    (dict(metric="fleiss", form="ICC(1,1)"), "form applies to metric='icc'"),
    (dict(metric="icc"), "needs numeric ratings"),
    (dict(metric="icc", level="interval", form="ICC(9)"),
     r"unknown ICC form 'ICC\(9\)'; choose one of ICC\(1,1\), ICC\(A,1\), ICC\(C,1\), ICC\(1,k\), ICC\(A,k\), ICC\(C,k\) \(or ICC1, ICC2, "),
    (dict(metric="conger_kappa", resample="raters"), "not offered for Conger"),
    (dict(metric="icc", level="interval", resample="raters"), "not offered for the ICC"),
])
def test_wrong_options_are_data_errors(kwargs, message):
    ratings = workbench.Ratings.from_matrix([[1, 2, 3], [1, 2, 2]], level="ordinal")
    with pytest.raises(WorkbenchDataError, match=message):
        workbench.reliability(ratings, ci=None, **kwargs)


def test_icc_with_incomplete_items_is_a_data_error():
    ratings = workbench.Ratings.from_matrix([[1, 2, np.nan], [1, 2, 2]], level="interval")
    with pytest.raises(WorkbenchDataError, match="1 of 3 items miss ratings"):
        workbench.reliability(ratings, metric="icc", ci=None)


def test_conger_needs_raters():
    ratings = workbench.Ratings.from_counts(pd.DataFrame({"a": [2, 1], "b": [0, 1]}))
    with pytest.raises(WorkbenchDataError, match="counts only"):
        workbench.reliability(ratings, metric="conger_kappa", ci=None)


def test_undefined_coefficients_are_nan_with_reason():
    ratings = workbench.Ratings.from_matrix([[1, np.nan], [np.nan, 2]], level="nominal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for metric in METRICS:
            row = workbench.reliability(ratings, metric=metric, ci=None).iloc[0]
            assert np.isnan(row["value"]) and row["note"] == "no_pairable_values", metric


def _conger_written_out(frame: pd.DataFrame, categories) -> float:
    """Conger's kappa (Gwet's handbook, unweighted) in NumPy: p_a over items with two or more ratings; chance from
    each rater's own category shares, over every rater with at least one rating (a rater with one rating counts)."""
    items, raters = sorted(frame["item_id"].unique()), sorted(frame["rater_id"].unique())
    q = len(categories)
    counts = np.zeros((len(items), q))
    by_rater = np.zeros((len(raters), q))
    for item, rater, label in zip(frame["item_id"], frame["rater_id"], frame["label"]):
        counts[items.index(item), categories.index(label)] += 1
        by_rater[raters.index(rater), categories.index(label)] += 1
    m = counts.sum(axis=1)
    pairable = m >= 2
    observed = np.mean((counts[pairable] * (counts[pairable] - 1)).sum(axis=1) / (m[pairable] * (m[pairable] - 1)))
    shares = by_rater / by_rater.sum(axis=1, keepdims=True)
    mean = shares.mean(axis=0)
    covariance = np.cov(shares, rowvar=False, ddof=1)
    chance = np.trace(np.outer(mean, mean) - covariance / len(raters))  # identity weights: agreement on the same category
    return (observed - chance) / (1 - chance)


def test_conger_counts_a_rater_with_a_single_rating():
    """A rater who rated one item still has category shares (a one-hot) in Conger's chance term."""
    rng = np.random.default_rng(3)
    rows = [(f"i{i}", f"r{r}", "xyz"[min(2, int(rng.integers(0, 3) + (r == 0)))]) for i in range(25) for r in range(4)]
    rows.append(("i0", "r_once", "z"))
    frame = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"])
    ratings = workbench.read_ratings(frame)
    value = workbench.reliability(ratings, metric="conger_kappa", ci=None)["value"].iloc[0]
    assert value == pytest.approx(_conger_written_out(ratings.to_frame(), list(ratings.categories)), abs=1e-12)
    without = workbench.reliability(ratings.subset(raters=ratings.raters.index.drop("r_once")), metric="conger_kappa", ci=None)["value"].iloc[0]
    assert abs(value - without) > 1e-6  # the single rating moves the chance term (the check above is not vacuous)

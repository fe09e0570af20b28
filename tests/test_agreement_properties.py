"""Property tests against independent implementations: krippendorff, scikit-learn, statsmodels."""

import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

import workbench
from workbench.errors import UndefinedMetricWarning

LEVELS = ["nominal", "ordinal", "interval", "ratio"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def reliability_matrices(draw, continuous=False):
    raters = draw(st.integers(2, 6))
    units = draw(st.integers(1, 25))
    seed = draw(st.integers(0, 2**32 - 1))
    missing = draw(st.sampled_from([0.0, 0.3, 0.7]))
    rng = np.random.default_rng(seed)
    if continuous:
        data = rng.normal(10, 3, size=(raters, units)).round(3)
    else:
        data = rng.integers(0, draw(st.integers(2, 6)), size=(raters, units)).astype(float)
    data[rng.random(data.shape) < missing] = np.nan
    return data


def _reference(data, level):
    try:
        with np.errstate(all="ignore"):  # the package divides 0/0 in some undefined cases
            return krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    except ValueError:  # the package refuses undefined cases; we return NaN with a reason
        return np.nan


def _ours(data, level, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return workbench.krippendorff_alpha(data, level_of_measurement=level, **kwargs)


def _same(ours, ref, tol=1e-9):
    if np.isnan(ref) or not np.isfinite(ref):
        return np.isnan(ours)
    return abs(ours - ref) <= tol * max(1.0, abs(ref))


@pytest.mark.parametrize("level", LEVELS)
@SETTINGS
@given(data=reliability_matrices())
def test_alpha_matches_krippendorff_package(level, data):
    ours, ref = _ours(data, level), _reference(data, level)
    assert _same(ours, ref), (ours, ref)


@pytest.mark.parametrize("level", LEVELS)
@SETTINGS
@given(data=reliability_matrices())
def test_alpha_off_the_unit_grid_takes_the_general_path(level, data):
    """Values 0.37 apart (not on a unit grid) exercise the long-format path instead of dense counting."""
    scaled = data * 0.37 + 0.1
    ours, ref = _ours(scaled, level), _reference(scaled, level)
    assert _same(ours, ref), (ours, ref)


@SETTINGS
@given(data=reliability_matrices(continuous=True))
def test_interval_alpha_on_continuous_values(data):
    ours, ref = _ours(data, "interval"), _reference(data, "interval")
    assert _same(ours, ref, tol=1e-9), (ours, ref)


@pytest.mark.parametrize("level", LEVELS)
@SETTINGS
@given(data=reliability_matrices())
def test_value_counts_path_equals_matrix_path(level, data):
    present = data[~np.isnan(data)]
    if len(present) == 0:
        return
    domain = np.unique(present)
    counts = np.stack([(data == v).sum(axis=0) for v in domain], axis=1)
    assert _same(_ours(None, level, value_counts=counts, value_domain=domain), _ours(data, level))


@pytest.mark.parametrize("level", LEVELS)
@SETTINGS
@given(data=reliability_matrices(), seed=st.integers(0, 1000))
def test_invariant_to_permuting_raters_and_items(level, data, seed):
    rng = np.random.default_rng(seed)
    shuffled = data[rng.permutation(data.shape[0])][:, rng.permutation(data.shape[1])]
    assert _same(_ours(shuffled, level), _ours(data, level), tol=1e-12)


@SETTINGS
@given(data=reliability_matrices(), seed=st.integers(0, 1000))
def test_nominal_invariant_to_relabelling(data, seed):
    rng = np.random.default_rng(seed)
    mapping = rng.permutation(10) * 7 + 100  # any one-to-one relabelling
    relabelled = np.where(np.isnan(data), np.nan, mapping[np.nan_to_num(data).astype(int)])
    assert _same(_ours(relabelled, "nominal"), _ours(data, "nominal"), tol=1e-12)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 60), k=st.integers(2, 5))
def test_cohen_matches_sklearn(weights, seed, n, k):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, k, n), rng.integers(0, k, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cohen_kappa_score(a, b, weights=weights, labels=list(range(k)))
        ours = workbench.cohen_kappa(a, b, weights=weights, labels=list(range(k)))
    assert _same(ours, ref)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), items=st.integers(1, 40), raters=st.integers(2, 8), k=st.integers(2, 5))
def test_fleiss_matches_statsmodels(seed, items, raters, k):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=(items, raters))
    counts = np.stack([(labels == c).sum(axis=1) for c in range(k)], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm_fleiss(counts)
        ours = workbench.fleiss_kappa(counts)
    assert _same(ours, ref)


@pytest.mark.parametrize("level", LEVELS)
@SETTINGS
@given(data=reliability_matrices(), cuts=st.lists(st.integers(0, 25), max_size=4))
def test_partitioned_statistics_sum_to_the_whole(level, data, cuts):
    """Items split into chunks, per-chunk statistics summed, give the whole data set's alpha."""
    from workbench.analysis.reliability import _code, _inputs, _kernel
    from workbench.kernels.resampling import slice_sums

    if np.isnan(data).all():
        return
    ratings = workbench.Ratings.from_matrix(data, level=level)
    coded = _code(ratings, "alpha", level, None)
    kernel = _kernel("alpha", level, coded.domain, "cpu")
    stats = kernel.stats(*_inputs(coded, kernel, "cpu"))
    bounds = np.unique(np.clip([0, *cuts, len(stats)], 0, len(stats)))
    parts = slice_sums(stats, bounds).sum(dim=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = workbench.reliability(ratings, ci=None)["value"].iloc[0]
    value, _ = kernel.compute(parts)
    assert _same(float(value), whole, tol=1e-12)

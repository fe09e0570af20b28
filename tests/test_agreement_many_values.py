"""Alpha with many distinct values: the sparse O(V) / chunked path equals the V × V computation,
and sizes that cannot be done are a WorkbenchDataError, never an allocator error."""

import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench
import workbench.kernels.agreement as kernels
from workbench import WorkbenchDataError
from workbench.errors import UndefinedMetricWarning

LEVELS = ["nominal", "ordinal", "interval", "ratio"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def matrices(draw):
    raters, units = draw(st.integers(2, 6)), draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = draw(st.sampled_from([2, 5, 40]))
    data = rng.integers(0, values, size=(raters, units)) * 0.37 + draw(st.sampled_from([0.0, 0.1]))  # zero included sometimes
    data[rng.random(data.shape) < draw(st.sampled_from([0.0, 0.3, 0.7]))] = np.nan
    return data


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*args, **kwargs)


def same(a, b, tol=1e-9):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= tol * np.maximum(1, np.abs(b)))))


def both_paths(monkeypatch, fn):
    """fn() with V × V coincidences, then with the sparse path forced (every value count is 'many')."""
    dense = fn()
    monkeypatch.setattr(kernels, "COINCIDENCE_MAX_VALUES", 0)
    sparse = fn()
    monkeypatch.setattr(kernels, "COINCIDENCE_MAX_VALUES", 64)
    return dense, sparse


@pytest.mark.parametrize("level", LEVELS)
@SETTINGS
@given(data=matrices())
def test_sparse_path_equals_coincidence_matrix(monkeypatch, level, data):
    dense, sparse = both_paths(monkeypatch, lambda: quiet(workbench.krippendorff_alpha, data, level_of_measurement=level))
    assert same(sparse, dense), (sparse, dense)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "ratio"])
@SETTINGS
@given(data=matrices())
def test_sparse_path_per_slice_and_rater_bootstrap(monkeypatch, level, data):
    """Slices cut SparseCounts by rows; the rater bootstrap's weighted copies go through the same kernel."""
    if np.isnan(data).all():
        return
    ratings = workbench.Ratings.from_matrix(data, level=level)
    ratings.items["half"] = np.arange(ratings.n_items) % 2
    run = lambda: quiet(workbench.reliability, ratings, by="half", resample="raters", n_boot=5, seed=1)[["value", "ci_low", "ci_high"]]
    dense, sparse = both_paths(monkeypatch, run)
    assert same(sparse.to_numpy(), dense.to_numpy()), (sparse, dense)


@pytest.mark.parametrize("level", ["ordinal", "ratio"])
def test_hundreds_of_distinct_values_match_krippendorff(level):
    rng = np.random.default_rng(3)
    data = np.abs(rng.normal(5, 2, size=(4, 150))).round(2)
    data[rng.random(data.shape) < 0.2] = np.nan
    assert len(np.unique(data[~np.isnan(data)])) > kernels.COINCIDENCE_MAX_VALUES
    ours = workbench.krippendorff_alpha(data, level_of_measurement=level)
    assert ours == pytest.approx(krippendorff.alpha(data, level_of_measurement=level), abs=1e-9)


def test_bootstrap_too_large_is_a_data_error(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_DENSE_BYTES", 1 << 16)
    data = np.random.default_rng(0).normal(size=(3, 200)).round(3)
    ratings = workbench.Ratings.from_matrix(data, level="ordinal")
    assert np.isfinite(workbench.reliability(ratings, ci=None)["value"].iloc[0])  # point value: no per-item V² statistics
    with pytest.raises(WorkbenchDataError, match=r"ci=None"):
        workbench.reliability(ratings, n_boot=10)


def test_ratio_beyond_the_pair_limit_is_a_data_error(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_RATIO_PAIRS", 10_000)
    data = np.abs(np.random.default_rng(0).normal(size=(3, 200))) + 0.1
    with pytest.raises(WorkbenchDataError, match=r"distinct values.*level='interval'"):
        workbench.krippendorff_alpha(data, level_of_measurement="ratio")


def test_huge_count_table_is_a_data_error(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_DENSE_BYTES", 1 << 12)
    ratings = workbench.Ratings.from_matrix(np.arange(600.0).reshape(3, 200), level="interval")
    with pytest.raises(WorkbenchDataError, match=r"200 × 600 table, too large to hold in memory; "):
        workbench.reliability(ratings, metric="percent_agreement", ci=None)

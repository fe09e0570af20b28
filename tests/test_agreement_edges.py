"""Undefined cases give NaN with a reason; wrong input gives WorkbenchDataError naming what is wrong."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import workbench
from workbench import WorkbenchDataError
from workbench.errors import UndefinedMetricWarning

nan = np.nan


@pytest.mark.parametrize("data, level, reason", [
    ([[1, nan, nan], [nan, 2, nan], [nan, nan, 3]], "nominal", "no_pairable_values"),  # one rater per item
    ([[2, 2, 2], [2, 2, 2]], "interval", "zero_expected_disagreement"),                 # all labels identical
    ([[1], [1]], "ordinal", "zero_expected_disagreement"),                              # one item, one category
    ([[nan, nan], [nan, nan]], "nominal", "no_pairable_values"),                        # nothing at all
    ([[5]], "ratio", "no_pairable_values"),                                             # one rating
])
def test_undefined_alpha_is_nan_with_reason(data, level, reason):
    with pytest.warns(UndefinedMetricWarning, match=reason):
        assert np.isnan(workbench.krippendorff_alpha(data, level_of_measurement=level))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        if not np.isnan(np.asarray(data, dtype=float)).all():
            row = workbench.reliability(workbench.Ratings.from_matrix(data, level=level), n_boot=20).iloc[0]
            assert np.isnan(row["value"]) and row["note"] == reason and row["band"] is None


def test_one_item_with_two_values_is_defined():
    assert workbench.krippendorff_alpha([[1], [2]], level_of_measurement="nominal") == 0.0


def test_cohen_undefined_when_both_use_one_category():
    with pytest.warns(UndefinedMetricWarning, match="zero_expected_disagreement"):
        assert np.isnan(workbench.cohen_kappa(["a", "a"], ["a", "a"]))


def test_fleiss_undefined_cases():
    with pytest.warns(UndefinedMetricWarning, match="no_pairable_values"):
        assert np.isnan(workbench.fleiss_kappa([[1, 0], [0, 1]]))
    with pytest.warns(UndefinedMetricWarning, match="zero_expected_disagreement"):
        assert np.isnan(workbench.fleiss_kappa([[3, 0], [2, 0]]))


@pytest.mark.parametrize("call, match", [
    (lambda: workbench.krippendorff_alpha([[1, 2, 3], [1, 2]]), "rectangular"),
    (lambda: workbench.krippendorff_alpha([["a", "b"], ["a", "c"]], level_of_measurement="interval"), "non-numeric values such as 'a'"),
    (lambda: workbench.krippendorff_alpha(value_counts=[[1, -1], [2, 0]]), "non-negative counts; row 0, column 1 has -1"),
    (lambda: workbench.krippendorff_alpha([[1, 2]], level_of_measurement="nominel"), "unknown level of measurement 'nominel'"),
    (lambda: workbench.krippendorff_alpha([[1, 2]], value_counts=[[1]]), "exactly one of"),
    (lambda: workbench.krippendorff_alpha([[1, 2], [1, 3]], level_of_measurement="nominal", value_domain=[1, 2]), r"holds 3(\.0)?, which is not in value_domain"),
    (lambda: workbench.krippendorff_alpha([[1, -2], [1, 3]], level_of_measurement="ratio"), "non-negative"),
    (lambda: workbench.cohen_kappa([1, 2], [1]), "same length"),
    (lambda: workbench.cohen_kappa([1, 2], [1, 2], weights="cubic"), "weights must be"),
    (lambda: workbench.cohen_kappa(["a", "b"], ["a", "c"], labels=["a", "b"]), "^the labels holds 'c', which is not in value_domain"),
    (lambda: workbench.fleiss_kappa([1, 2, 3]), "^counts must be a 2-D"),
    (lambda: workbench.fleiss_kappa([[1, 2], [-1, 3]]), "^counts must hold non-negative counts; row 1, column 0 has -1"),
    (lambda: workbench.krippendorff_alpha(value_counts=[[1, 1]], value_domain=["a", "b"], level_of_measurement="interval"),
     "^value_domain holds non-numeric values such as 'a'; the interval level needs numbers"),
    (lambda: workbench.jsd([0.5, 0.5], [1, 0, 0]), "same shape"),
    (lambda: workbench.jsd([-0.5, 1.5], [1, 0]), "non-negative"),
    (lambda: workbench.entropy([0, 0]), "sums to 0"),
    (lambda: workbench.entropy([np.nan, 1.0]), "^p must hold non-negative numbers; found NaN"),
    (lambda: workbench.entropy([-0.5, 1.0]), "^p must hold non-negative numbers; found a negative value"),
])
def test_wrong_input_is_named(call, match):
    with pytest.raises(WorkbenchDataError, match=match):
        call()


def test_reliability_input_errors(demo):
    with pytest.raises(WorkbenchDataError, match="unknown metric 'kappa'"):
        workbench.reliability(demo.ratings, metric="kappa")
    with pytest.raises(WorkbenchDataError, match="by='agee_band' is not an item or rater column; choose one of 'prompt', "
                                                 "'response_a', .*'topic', 'age_band', 'region', 'attention_check'$"):
        workbench.reliability(demo.ratings, by="agee_band")
    with pytest.raises(WorkbenchDataError, match="interval level needs numeric labels"):
        workbench.reliability(demo.ratings, level="interval")
    with pytest.raises(WorkbenchDataError, match="exactly two raters"):
        workbench.reliability(demo.ratings, metric="cohen")
    with pytest.raises(WorkbenchDataError, match="Ratings"):
        workbench.reliability(pd.DataFrame())
    with pytest.raises(WorkbenchDataError, match="ci must lie"):
        workbench.reliability(demo.ratings, ci=95)


def test_device_argument():
    assert workbench.krippendorff_alpha([[1, 2], [1, 2]], level_of_measurement="nominal", device="cpu") == 1.0
    if not torch.cuda.is_available():
        with pytest.raises(WorkbenchDataError, match="CUDA is not available"):
            workbench.krippendorff_alpha([[1, 2], [1, 2]], device="cuda")


def test_python_ints_and_floats_are_one_kind_of_label():
    """Labels mixing int and float (2 == 2.0) are numbers, not a mix of kinds: sklearn's kappa of the floats."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    a, b = [1, 2, 2.0, 1, 3, 2], [1, 2.0, 2, 2, 3.0, 2]
    expected = sklearn_metrics.cohen_kappa_score(np.array(a, dtype=float), np.array(b, dtype=float))
    assert workbench.cohen_kappa(a, b) == pytest.approx(expected, abs=1e-12)


def test_numbers_on_a_unit_grid_are_counted_densely():
    """The fast path (one comparison per grid value) gives the counts the general path gives."""
    from workbench.analysis.agreement import _alpha_from_matrix, _dense_numeric

    data = np.array([[1, 2, np.nan, 3, 1], [1, 3, 2, 3, np.nan], [2, 2, 2, np.nan, 1]])
    fast = _dense_numeric(data, "ordinal", torch.device("cpu"))
    assert fast is not None
    general = _alpha_from_matrix(data.astype(object), "ordinal", None, torch.device("cpu"))  # object: no fast path
    torch.testing.assert_close(fast[1], general[1], rtol=1e-15, atol=0)


@pytest.mark.parametrize("level", ["nominal", "interval", "ratio"])
def test_the_coincidence_kernel_at_every_level_is_the_package_alpha(level):
    """AlphaCategorical from item × value counts (the kernel convergence and cross-group agreement use),
    interval and ratio included, against the krippendorff package."""
    krippendorff = pytest.importorskip("krippendorff")
    from workbench.kernels.agreement import AlphaCategorical

    counts = np.array([[2, 1, 0], [0, 2, 1], [1, 1, 1], [3, 0, 0], [0, 0, 2]], dtype=float)
    values = np.array([0.0, 1.0, 3.0])
    kernel = AlphaCategorical(level, 3, torch.tensor(values), device=torch.device("cpu"))
    value = float(kernel.compute(kernel.total_stats(torch.tensor(counts)))[0])
    expected = krippendorff.alpha(value_counts=counts, value_domain=values, level_of_measurement=level)
    assert value == pytest.approx(expected, abs=1e-12)

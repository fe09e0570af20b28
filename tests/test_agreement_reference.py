"""Published reference values (shared/reference/agreement_vectors.json; a copy lives in tests/data)."""

import json

import numpy as np
import pytest

import workbench
from conftest import ROOT, SHARED_REFERENCE

VECTORS = json.loads((ROOT / "tests" / "data" / "agreement_vectors.json").read_text())["vectors"]


def _matrix(vector) -> np.ndarray:
    return np.array([[np.nan if x is None else x for x in row] for row in vector["data"]], dtype=float)


def test_copy_matches_shared_reference():
    shared = SHARED_REFERENCE / "agreement_vectors.json"
    if not shared.is_file():
        pytest.skip("shared/reference not available")
    assert json.loads(shared.read_text())["vectors"] == VECTORS


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_reference_vector(vector):
    data = _matrix(vector)
    if vector["metric"] == "krippendorff_alpha":
        got = workbench.krippendorff_alpha(data, level_of_measurement=vector["level_of_measurement"])
    elif vector["metric"] == "fleiss_kappa":
        categories = np.unique(data[~np.isnan(data)])
        got = workbench.fleiss_kappa(np.stack([(data == c).sum(axis=0) for c in categories], axis=1))
    else:
        got = workbench.cohen_kappa(data[0], data[1], weights=vector.get("weights"))
    assert abs(got - vector["expected"]) <= vector["tolerance"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["metric"] == "krippendorff_alpha"], ids=lambda v: v["name"])
def test_reference_vector_through_reliability(vector):
    """The same numbers through the Ratings → reliability() path."""
    ratings = workbench.Ratings.from_matrix(_matrix(vector), level=vector["level_of_measurement"])
    table = workbench.reliability(ratings, ci=None)
    assert abs(table["value"].iloc[0] - vector["expected"]) <= vector["tolerance"]


def test_cohen_worked_example_from_methods():
    """methods.md M1.2: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → κ = 0.40."""
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert workbench.cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)

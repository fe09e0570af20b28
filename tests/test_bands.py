"""Landis & Koch bands at their boundaries (methods.md M1.2: ≤0.20 slight, 0.21–0.40 fair, …, >0.80 almost perfect)."""

import math

import pytest

import workbench
from workbench.analysis.reliability import band

BELOW = math.nextafter  # the float next to a boundary, towards a value


@pytest.mark.parametrize("value, name", [
    (-1.0, "poor"), (BELOW(0.0, -1), "poor"), (0.0, "slight"), (0.2, "slight"), (BELOW(0.2, 1), "fair"),
    (0.4, "fair"), (BELOW(0.4, 1), "moderate"), (0.6, "moderate"), (BELOW(0.6, 1), "substantial"),
    (0.8, "substantial"), (BELOW(0.8, 1), "almost perfect"), (1.0, "almost perfect"),
])
def test_band_boundaries(value, name):
    assert band(value) == name


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_no_band_without_a_finite_value(value):
    assert band(value) is None


def test_reliability_reports_the_band_of_its_value():
    """Two raters agreeing on 4 of 5 items, marginals 2/5 and 3/5: κ = 0.32/0.52 ≈ 0.615, 'substantial'."""
    ratings = workbench.Ratings.from_matrix([list("aabbb"), list("aabba")])
    table = workbench.reliability(ratings, metric="cohen", ci=None)
    assert table["value"].iloc[0] == pytest.approx(0.6154, abs=1e-4)
    assert table["band"].iloc[0] == "substantial"

"""More property tests against independent implementations, on the inputs the first ones left out.

Text labels, a ``value_domain`` with its own order and categories nobody used, Cohen's kappa with
missing values and no ``labels``, and probability vectors with zeros.
"""

import warnings
from contextlib import contextmanager

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy
from sklearn.metrics import cohen_kappa_score

import workbench
from workbench.errors import UndefinedMetricWarning

@contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        yield


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = ["low", "mid", "high", "very high", "n/a"]


@st.composite
def text_matrices(draw):
    """Raters × units of text labels (None = missing) and a domain order with unused categories."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    used = draw(st.integers(2, 4))
    data = np.asarray(WORDS[:used], dtype=object)[rng.integers(0, used, size=(draw(st.integers(2, 5)), draw(st.integers(2, 20))))]
    data[rng.random(data.shape) < draw(st.sampled_from([0.0, 0.3]))] = None
    domain = list(rng.permutation(WORDS))  # its own order, including labels nobody used
    return data, domain


def _package(data, domain, level):
    codes = np.vectorize(lambda v: np.nan if v is None else float(domain.index(v)), otypes=[float])(data)
    try:
        with np.errstate(all="ignore"):
            return krippendorff.alpha(codes, level_of_measurement=level, value_domain=list(range(len(domain))))
    except ValueError:
        return np.nan


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
@SETTINGS
@given(case=text_matrices())
def test_text_labels_with_a_custom_domain_match_the_package(level, case):
    data, domain = case
    with _quiet():
        ours = workbench.krippendorff_alpha(data, level_of_measurement=level, value_domain=domain)
    theirs = _package(data, domain, level)
    assert (np.isnan(ours) and np.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 40), missing=st.sampled_from([0.0, 0.2, 0.5]))
def test_cohen_with_missing_values_and_no_labels_matches_sklearn(seed, n, missing):
    rng = np.random.default_rng(seed)
    a = np.asarray(WORDS[:3], dtype=object)[rng.integers(0, 3, n)]
    b = np.where(rng.random(n) < 0.6, a, np.asarray(WORDS[:3], dtype=object)[rng.integers(0, 3, n)])
    a[rng.random(n) < missing] = None
    b[rng.random(n) < missing] = None
    both = np.array([x is not None and y is not None for x, y in zip(a, b)])
    with _quiet():
        ours = workbench.cohen_kappa(a, b)
    if both.sum() == 0 or len(set(a[both]) | set(b[both])) < 2:
        assert np.isnan(ours)
        return
    with np.errstate(all="ignore"):
        theirs = cohen_kappa_score(list(a[both]), list(b[both]))
    assert (np.isnan(ours) and np.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-12)


@st.composite
def distributions_with_zeros(draw):
    k = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p = rng.random((draw(st.integers(1, 8)), k))
    p[rng.random(p.shape) < 0.4] = 0.0
    p[:, draw(st.integers(0, k - 1))] += 0.1  # every row keeps some mass
    return p


@SETTINGS
@given(p=distributions_with_zeros(), q=distributions_with_zeros())
def test_entropy_and_jsd_with_zeros_match_scipy(p, q):
    rows = min(len(p), len(q))
    k = min(p.shape[1], q.shape[1])
    p, q = p[:rows, :k] + 0.0, q[:rows, :k] + 0.0
    p[:, 0] += 0.1  # trimming columns must not leave a row without mass
    q[:, 0] += 0.1
    assert np.allclose(workbench.entropy(p), scipy_entropy(p, base=2, axis=1), atol=1e-12)
    assert np.allclose(workbench.jsd(p, q), jensenshannon(p, q, base=2, axis=1) ** 2, atol=1e-12)
    assert np.allclose(workbench.jsd(p, p), 0.0, atol=1e-12)


def test_a_domain_reorders_ordinal_alpha():
    """The same text labels give another ordinal alpha when the domain puts them in another order."""
    data = np.array([["low", "mid", "high", "mid"], ["low", "high", "high", "low"]], dtype=object)
    natural = workbench.krippendorff_alpha(data, level_of_measurement="ordinal", value_domain=["low", "mid", "high"])
    shuffled = workbench.krippendorff_alpha(data, level_of_measurement="ordinal", value_domain=["mid", "low", "high", "n/a"])
    assert natural == pytest.approx(_package(data, ["low", "mid", "high"], "ordinal"), abs=1e-12)
    assert shuffled == pytest.approx(_package(data, ["mid", "low", "high", "n/a"], "ordinal"), abs=1e-12)
    assert natural != pytest.approx(shuffled)

"""Bootstrap intervals checked by coverage: many simulated studies from a population whose alpha is known.

The band. If an interval truly covers 95 % of the time, the number of N studies it covers is
Binomial(N, 0.95); the test accepts the central 99.9 % of that distribution, so a correct method
fails it one time in a thousand designs (the seeds are fixed, so a given run is deterministic).
With N = 1000 the band is [0.926, 0.971]: a 90 % interval (~0.90) or a biased resampling falls
outside it. Bootstrap intervals are approximate, so the designs are ones where the method should
hold; where it does not (the percentile interval over 20 items) the test says so, as the docs do.

Measured here (1000–2000 studies each, alpha = 0.25, 5 ratings per item): percentile coverage
0.865 / 0.899 / 0.938 / 0.941 for 10 / 20 / 40 / 80 items, BCa 0.917 / 0.937 / 0.956 / 0.948.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

import workbench

BAND_PROBABILITY = 0.999
NOMINAL = 0.95


def _band(n_studies: int) -> tuple[float, float]:
    low, high = binom.interval(BAND_PROBABILITY, n_studies, NOMINAL)
    return low / n_studies, high / n_studies


def _coverage(table: pd.DataFrame, truth: float) -> float:
    return float(((table["ci_low"] <= truth) & (truth <= table["ci_high"])).mean())


# Items: each item's chance of label "a" is p ~ Beta(A, B), and it gets M independent ratings.
# Two ratings of one item disagree with probability 2p(1 − p), two ratings of different items with
# 2p̄(1 − p̄), so the population alpha is 1 − E[p(1 − p)] / (p̄(1 − p̄)) = 1 / (A + B + 1).
A, B, M = 1.5, 1.5, 5
ITEM_ALPHA = 1 / (A + B + 1)


def _item_studies(seed: int, n_studies: int, n_items: int) -> workbench.Ratings:
    """``n_studies`` independent studies of ``n_items`` items each, as the slices of one counts-only data set."""
    rng = np.random.default_rng(seed)
    chosen = rng.binomial(M, rng.beta(A, B, (n_studies, n_items))).ravel()
    ids = [f"s{s}-{i}" for s in range(n_studies) for i in range(n_items)]
    counts = pd.DataFrame({"a": chosen, "b": M - chosen}, index=ids)
    return workbench.Ratings.from_counts(counts, items=pd.DataFrame({"study": np.repeat(np.arange(n_studies), n_items)}, index=ids))


def test_item_population_alpha_is_what_a_very_large_draw_gives():
    whole = _item_studies(seed=0, n_studies=1, n_items=50_000)
    assert workbench.reliability(whole, ci=None)["value"].iloc[0] == pytest.approx(ITEM_ALPHA, abs=0.01)


def test_item_bootstrap_bca_covers_95_percent():
    """1000 studies of 40 items; the item bootstrap resamples within each study (slice) independently."""
    studies = _item_studies(seed=40, n_studies=1000, n_items=40)
    table = workbench.reliability(studies, by="study", n_boot=1000, seed=1, interval="bca")
    low, high = _band(len(table))
    assert low <= _coverage(table, ITEM_ALPHA) <= high


def test_percentile_interval_under_covers_small_studies_and_bca_does_better():
    """Over 20 items the percentile interval covers ~90 %, below the band; BCa comes back towards 95 %."""
    studies = _item_studies(seed=20, n_studies=1000, n_items=20)
    percentile = _coverage(workbench.reliability(studies, by="study", n_boot=1000, seed=1), ITEM_ALPHA)
    bca = _coverage(workbench.reliability(studies, by="study", n_boot=1000, seed=1, interval="bca"), ITEM_ALPHA)
    assert percentile < _band(1000)[0] and bca > percentile + 0.02


# Raters: 30 fixed items, item i with chance P[i] of "a". A rater from the population has
# attentiveness η ~ Beta(3, 2) and answers item i from P[i] when attentive, at random otherwise,
# so a rater's ratings are correlated through η. Two different raters answer item i "a" with
# probability q_i = E[η]·P[i] + (1 − E[η])/2 each, independently: the alpha of these items over
# the whole rater population is 1 − mean q(1 − q) / (q̄(1 − q̄)). A study draws R raters.
N_ITEMS, ETA = 30, (3.0, 2.0)
P = np.random.default_rng(7).beta(1.0, 1.0, N_ITEMS)
Q = ETA[0] / sum(ETA) * P + (1 - ETA[0] / sum(ETA)) / 2
RATER_ALPHA = 1 - np.mean(Q * (1 - Q)) / (Q.mean() * (1 - Q.mean()))


def _rater_studies(seed: int, n_studies: int, n_raters: int) -> workbench.Ratings:
    """``n_studies`` studies of ``n_raters`` raters drawn from the population, all rating the 30 items; study = a rater column."""
    rng = np.random.default_rng(seed)
    shape = (n_studies * n_raters, N_ITEMS)
    eta = rng.beta(*ETA, shape[0])[:, None]
    chose_a = np.where(rng.random(shape) < eta, rng.random(shape) < P, rng.random(shape) < 0.5)
    frame = pd.DataFrame({
        "item_id": np.tile([f"i{i}" for i in range(N_ITEMS)], shape[0]),
        "rater_id": np.repeat([f"r{k}" for k in range(shape[0])], N_ITEMS),
        "label": np.where(chose_a, "a", "b").ravel(),
        "study": np.repeat(np.arange(n_studies), n_raters * N_ITEMS),
    })
    return workbench.Ratings.from_frame(frame, item_columns=[], rater_columns=["study"])


def test_rater_population_alpha_is_what_a_very_large_draw_gives():
    whole = _rater_studies(seed=0, n_studies=1, n_raters=5000)
    assert workbench.reliability(whole, ci=None)["value"].iloc[0] == pytest.approx(RATER_ALPHA, abs=0.005)


def test_rater_bootstrap_covers_95_percent():
    """400 studies of 10 raters; sliced by study (a rater column), raters are resampled within each study."""
    studies = _rater_studies(seed=10, n_studies=400, n_raters=10)
    table = workbench.reliability(studies, by="study", resample="raters", n_boot=500, seed=1)
    low, high = _band(len(table))
    assert low <= _coverage(table, RATER_ALPHA) <= high

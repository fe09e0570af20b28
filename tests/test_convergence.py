"""convergence and sample_size on simulations with a known truth, and ChaosNLI (counts only)."""

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import WorkbenchDataError


def counts_study(seed=0, n_items=300, n_labels=400, n_values=3):
    """Items with Dirichlet(1) true distributions and ``n_labels`` multinomial labels each (counts only)."""
    rng = np.random.default_rng(seed)
    truth = rng.dirichlet(np.ones(n_values), size=n_items)
    counts = np.stack([rng.multinomial(n_labels, p) for p in truth])
    frame = pd.DataFrame(counts, index=[f"q{i}" for i in range(n_items)], columns=[f"c{k}" for k in range(n_values)])
    return workbench.Ratings.from_counts(frame), truth


def slope(curve):
    return np.polyfit(np.log(curve["size"]), np.log(curve["distance"]), 1)[0]


def test_distance_falls_like_one_over_root_n_for_tvd_and_one_over_n_for_jsd():
    ratings, _ = counts_study()
    sizes = [5, 10, 20, 40]  # well below the 400 labels per item: the finite panel hardly matters
    tvd = workbench.convergence(ratings, sizes, distance="tvd", n_draws=30)
    jsd = workbench.convergence(ratings, sizes, distance="jsd", n_draws=30)
    assert slope(tvd) == pytest.approx(-0.5, abs=0.08)
    assert slope(jsd) == pytest.approx(-1.0, abs=0.12)
    assert (tvd["low"] <= tvd["distance"]).all() and (tvd["distance"] <= tvd["high"]).all()


def test_items_with_too_few_ratings_are_left_out_and_counted():
    study = workbench.simulate_study(seed=0, n_items=60, ratings_per_item=6, n_raters=20)
    ratings = study.ratings.subset(items=study.ratings.items.index[:50]).subset(
        raters=study.ratings.raters.index[:15])  # uneven ratings per item
    m = ratings.raters_per_item()
    curve = workbench.convergence(ratings, [2, 6], n_draws=10)
    assert curve["n_items"].tolist() == [int((m >= 2).sum()), int((m >= 6).sum())]
    assert curve["n_items_left_out"].tolist() == [int((m < 2).sum()), int((m < 6).sum())]
    per_item = workbench.convergence(ratings, [6], n_draws=10, per_item=True)
    assert set(per_item["item_id"]) == set(m.index[m >= 6])
    full = workbench.convergence(ratings, [int(m.max())], n_draws=5, per_item=True)
    assert (full["distance"] == 0).all()  # all of an item's ratings: its own distribution


def test_alpha_distance_shrinks_with_the_subsample():
    study = workbench.simulate_study(seed=1, n_items=200, ratings_per_item=20, n_raters=60)
    curve = workbench.convergence(study.ratings, [3, 10, 20], distance="alpha", n_draws=40)
    assert curve["distance"].iloc[0] > curve["distance"].iloc[1] > curve["distance"].iloc[2] == 0
    with pytest.raises(WorkbenchDataError, match="per_item=False"):
        workbench.convergence(study.ratings, [3], distance="alpha", per_item=True)


def test_sample_size_meets_its_target_when_resimulated():
    ratings, truth = counts_study(seed=3, n_items=400, n_labels=40)
    target, quantile = 0.02, 0.9
    answer = workbench.sample_size(ratings, target, quantile=quantile, n_draws=100).iloc[0]
    n = int(answer["n_multinomial"])
    rng = np.random.default_rng(4)

    def reached(n):
        draws = np.stack([rng.multinomial(n, p, size=50) for p in truth]) / n  # items × repeats × categories
        distance = workbench.jsd(draws.reshape(-1, truth.shape[1]) + 1e-300, np.repeat(truth, 50, axis=0))
        return np.quantile(distance, quantile)

    assert reached(n) <= target * 1.1  # what the answer promised, with new raters from the truth
    assert reached(max(1, n // 2)) > target  # and it is not wastefully large
    easier = workbench.sample_size(ratings, 0.06, quantile=quantile, n_draws=20)
    assert 2 <= easier["n_curve"].iloc[0] <= 20 and "without replacement" in easier["assumption"].iloc[0]
    curve = easier.attrs["curve"]
    assert list(curve.columns) == ["size", "pilot", "multinomial", "n_items"] and curve["pilot"].is_monotonic_decreasing
    assert (curve["pilot"] <= curve["multinomial"] * 1.2).all()  # a finite pilot looks converged sooner than the truth


def test_sample_size_for_tvd_meets_its_target_when_resimulated():
    """The TVD answer, checked by drawing new raters from the truth in plain NumPy (TVD = ½ Σ |p̂ − p|).

    TVD falls like 1/√n, so the large-sample answer is (q₁ / target)² for the quantile q₁ at n = 1; a
    wrong power there (e.g. ``** (1 / power)`` written ``** power``, which turned 52 raters into 3)
    misses the target by far. Checked: with that edit in ``answer_from_curve`` this test fails.
    """
    ratings, truth = counts_study(seed=3, n_items=300, n_labels=400)
    target, quantile = 0.08, 0.9
    n = int(workbench.sample_size(ratings, target, metric="tvd", quantile=quantile, n_draws=100)["n_multinomial"].iloc[0])
    rng = np.random.default_rng(4)

    def reached(size):
        distances = [0.5 * np.abs(rng.multinomial(size, p, size=100) / size - p).sum(axis=1) for p in truth]
        return np.quantile(np.concatenate(distances), quantile)

    assert reached(n) <= target * 1.05  # enough raters ...
    assert reached(int(0.75 * n)) > target  # ... and not a quarter too many
    assert 80 <= n <= 180  # (q₁/target)² here: about 120


def test_sample_size_says_when_the_pilot_is_too_small():
    ratings, _ = counts_study(seed=5, n_items=50, n_labels=6)
    answer = workbench.sample_size(ratings, 0.001, n_draws=20).iloc[0]
    assert np.isnan(answer["n_curve"]) and "pilot is too small" in answer["note"]
    assert answer["n_multinomial"] > 100


def test_input_errors():
    ratings, _ = counts_study(n_items=5, n_labels=5)
    with pytest.raises(WorkbenchDataError, match="sizes must be whole numbers"):
        workbench.convergence(ratings, [0, 2])
    with pytest.raises(WorkbenchDataError, match="unknown distance 'kl'"):
        workbench.convergence(ratings, [2], distance="kl")
    with pytest.raises(WorkbenchDataError, match="target must be a distance in"):
        workbench.sample_size(ratings, 2.0)
    with pytest.raises(WorkbenchDataError, match="metric must be 'jsd' or 'tvd'"):
        workbench.sample_size(ratings, 0.1, metric="alpha")


@pytest.mark.realdata
def test_chaosnli_convergence_from_5_to_100_labels(shared_data):
    from workbench.datasets import read_chaosnli

    ratings = read_chaosnli(shared_data / "chaosnli" / "chaosNLI_mnli_m.jsonl.gz")
    curve = workbench.convergence(ratings, [5, 10, 25, 50, 100], n_draws=20)
    assert (curve["n_items"] == 1599).all()
    assert curve["distance"].is_monotonic_decreasing and curve["distance"].iloc[-1] == 0
    assert slope(curve.iloc[:3]) < -0.8  # JSD ~ 1/n well below the 100-label panel


@pytest.mark.parametrize("distance", ["tvd", "jsd"])
def test_the_curve_is_the_mean_and_spread_of_the_per_item_distances(distance):
    """per_item=False summarises the per-item curve of the same draws: its mean, and 5–95 % quantiles over items."""
    ratings, _ = counts_study(n_items=40, n_labels=30)
    curve = workbench.convergence(ratings, [3, 8], distance=distance, n_draws=20, seed=4)
    per_item = workbench.convergence(ratings, [3, 8], distance=distance, n_draws=20, seed=4, per_item=True)
    for row, (size, items) in zip(curve.itertuples(), per_item.groupby("size")):
        assert row.size == size and row.distance == pytest.approx(items["distance"].mean(), rel=1e-12)
        assert [row.low, row.high] == pytest.approx(np.quantile(items["distance"], [0.05, 0.95]), rel=1e-12)


def test_sample_size_states_its_assumptions():
    ratings, _ = counts_study(n_items=40, n_labels=30)
    for metric, limit in (("jsd", "JSD ≈ χ²/(8n ln 2)"), ("tvd", "TVD ∝ 1/√n")):
        assumption = workbench.sample_size(ratings, 0.1, metric=metric, n_draws=10)["assumption"].iloc[0]
        assert assumption == ("n_curve: subsamples of the pilot's own ratings without replacement, measured against the "
                              "pilot's distribution; n_multinomial: labels are independent draws from each item's pilot "
                              f"distribution (large-n limit: {limit}); unanimous pilot items count as converged")

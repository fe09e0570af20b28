"""compare_models' metrics against soft human targets, against scipy / scikit-learn / numpy on random data."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

import workbench

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture(scope="module")
def random_study():
    """Votes A / B / tie from 1–7 raters per item, random response texts and one model's P(A)."""
    rng = np.random.default_rng(11)
    n_items = 200
    rows = [(f"i{i:03d}", f"r{r}", rng.choice(["A", "B", "tie"], p=[0.5, 0.4, 0.1]))
            for i in range(n_items) for r in rng.choice(12, size=rng.integers(1, 8), replace=False)]
    frame = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"])
    words = {f"i{i:03d}": ("word " * rng.integers(1, 30), "word " * rng.integers(1, 30)) for i in range(n_items)}
    frame["response_a"] = frame["item_id"].map(lambda i: words[i][0])
    frame["response_b"] = frame["item_id"].map(lambda i: words[i][1])
    frame["group"] = np.where(frame["item_id"].str[-1].astype(int) % 2 == 0, "even", "odd")
    ratings = workbench.Ratings.from_frame(frame, item_columns=["group", "response_a", "response_b"])
    p_model = pd.Series(rng.uniform(0.01, 0.99, size=n_items), index=ratings.items.index, name="p_a")
    return ratings, p_model


def _expected(ratings, p_model):
    pairs = ratings.pairs()
    p = p_model.loc[pairs.index].to_numpy()
    human = pairs["p_a"].to_numpy()
    share = np.maximum(human, 1 - human)
    level = np.where(share == 1, "unanimous", np.where(share < 2 / 3 - 1e-9, "split", "majority"))
    decided = human != 0.5
    out = {}
    for name in ("unanimous", "majority", "split"):
        on = (level == name) & decided
        out[f"accuracy_{name}"] = sklearn_metrics.accuracy_score(human[on] > 0.5, p[on] > 0.5)
    out["n_unanimous"] = int((level == "unanimous").sum())
    out["n_clear_majority"] = int((level == "majority").sum())
    out["n_split"] = int((level == "split").sum())
    out["brier_soft"] = sklearn_metrics.mean_squared_error(human, p)
    bins = np.minimum((p * 10).astype(int), 9)
    out["ece"] = sum((bins == b).sum() / len(p) * abs(p[bins == b].mean() - human[bins == b].mean())
                     for b in range(10) if (bins == b).any())
    margin = np.log(p / (1 - p))
    length = pairs["response_a"].str.len().to_numpy() - pairs["response_b"].str.len().to_numpy()
    out["length_bias_r"] = pearsonr(margin, length)[0]
    split = level == "split"
    out["split_uncertainty"] = np.mean(1 - np.abs(2 * p[split] - 1))
    return out


def test_soft_metrics_match_scipy_and_sklearn_per_slice(random_study):
    ratings, p_model = random_study
    table = workbench.compare_models(ratings, {"m": p_model}, by="group", n_boot=200)
    for group, row in table.set_index("group").iterrows():
        subset = ratings if group == "all" else ratings.subset(items=ratings.items.index[ratings.items["group"] == group])
        expected = _expected(subset, p_model)
        assert min(expected["n_unanimous"], expected["n_clear_majority"], expected["n_split"]) > 5
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (group, key)
        for key in ("accuracy_unanimous", "accuracy_majority", "accuracy_split", "brier_soft", "ece", "length_bias_r",
                    "split_uncertainty"):
            assert row[f"{key}_low"] <= row[key] <= row[f"{key}_high"], (group, key)
            assert row[f"{key}_low"] < row[f"{key}_high"], (group, key)


def test_agreement_levels_on_a_hand_made_case():
    votes = {"u1": "AAAA", "u2": "BBB", "m1": "AAB", "m2": "ABBB", "s1": "AAABB", "s2": "AB", "s3": "AABB",
             "t1": "A", "x1": "AAT"}  # T = tie vote: 2 A + 1 tie → p = 5/6, a clear majority, not unanimous
    rows = [(item, f"r{k}", {"A": "A", "B": "B", "T": "tie"}[v]) for item, vs in votes.items() for k, v in enumerate(vs)]
    ratings = workbench.read_ratings(pd.DataFrame(rows, columns=["item_id", "rater_id", "label"]))
    model = pd.Series({"u1": 0.9, "u2": 0.9, "m1": 0.8, "m2": 0.2, "s1": 0.3, "s2": 0.5, "s3": 0.9, "t1": 0.6, "x1": 0.4})
    row = workbench.compare_models(ratings, {"m": model.rename_axis("item_id")}, ci=None).iloc[0]
    # unanimous: u1 (right), u2 (wrong), t1 (one voter, right); majority: m1, m2 (right), x1 (wrong)
    assert (row["n_unanimous"], row["n_clear_majority"], row["n_split"]) == (3, 3, 3)
    assert row["accuracy_unanimous"] == pytest.approx(2 / 3) and row["accuracy_majority"] == pytest.approx(2 / 3)
    # split: s1 (3–2, model says B: wrong); s2 and s3 are exact ties: left out of the accuracy, kept for uncertainty
    assert row["accuracy_split"] == 0.0
    assert row["split_uncertainty"] == pytest.approx(np.mean([1 - 0.4, 1.0, 1 - 0.8]))
    assert np.isnan(row["length_bias_r"])  # no response texts


def test_a_model_that_says_fifty_fifty_where_people_split_scores_better(random_study):
    ratings, p_model = random_study
    human = ratings.pairs()["p_a"]
    hedging = p_model.where((np.maximum(human, 1 - human) >= 2 / 3).loc[p_model.index], 0.5)
    table = workbench.compare_models(ratings, {"sure": p_model, "hedging": hedging}, ci=None).set_index("model")
    assert table.loc["hedging", "split_uncertainty"] == 1.0 > table.loc["sure", "split_uncertainty"]


def test_length_bias_is_found_in_a_model_that_prefers_long_answers(random_study):
    ratings, _ = random_study
    pairs = ratings.pairs()
    longer = pairs["response_a"].str.len() - pairs["response_b"].str.len()
    biased = pd.Series(1 / (1 + np.exp(-longer / 20)), index=pairs.index)
    table = workbench.compare_models(ratings, {"biased": biased}, n_boot=200)
    assert table.loc[0, "length_bias_r"] > 0.95 and table.loc[0, "length_bias_r_low"] > 0.8


def test_compare_two_does_not_rank_length_bias(random_study):
    ratings, p_model = random_study
    diff = workbench.compare_two(ratings, {"a": p_model, "b": 1 - p_model}, "a", "b", n_boot=100).set_index("metric")
    assert diff.loc["length_bias_r", "better"] == "not ranked"
    assert diff.loc["brier_soft", "difference"] == pytest.approx(
        ((1 - p_model - ratings.pairs()["p_a"]) ** 2).mean() - ((p_model - ratings.pairs()["p_a"]) ** 2).mean())

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import WorkbenchDataError


def test_deterministic_for_a_seed():
    a, b = workbench.simulate_study(seed=3, n_items=200), workbench.simulate_study(seed=3, n_items=200)
    pd.testing.assert_frame_equal(a.ratings.to_frame(), b.ratings.to_frame())
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert not a.ratings.to_frame().equals(workbench.simulate_study(seed=4, n_items=200).ratings.to_frame())


def test_default_size_and_shape(demo):
    r = demo.ratings
    assert (r.n_items, r.n_raters, r.n_ratings) == (2000, 200, 40000)
    assert (r.raters_per_item() == 20).all()
    assert not r.ratings.duplicated(["item_id", "rater_id"]).any()
    assert {"prompt", "response_a", "response_b", "model_a", "model_b", "split"} <= set(r.items.columns)
    assert set(r.items["split"]) == {"helpful", "harmless"}
    assert set(demo.truth["items"]["subjectivity"]) == {"manifest", "latent_pattern", "latent_projective"}
    assert {"age_band", "region"} <= set(r.raters.columns)


def test_display_position_is_randomised(demo):
    share = (demo.ratings.items["model_a"] == "model-strong").mean()
    assert 0.45 < share < 0.55


def test_majority_recovers_truth_by_class(demo):
    pairs = demo.ratings.pairs().join(demo.truth["items"])
    agree = ((pairs["p_a"] > 0.5) == (pairs["better_position"] == "A")).groupby(pairs["subjectivity"]).mean()
    assert agree["manifest"] > 0.9 and agree["manifest"] > agree["latent_pattern"] > agree["latent_projective"]


def test_planted_group_split_is_visible(demo):
    frame = demo.ratings.to_frame().join(demo.truth["items"][["planted_split", "better_position"]], on="item_id")
    frame["chose_better"] = frame["label"] == frame["better_position"]
    planted = frame[frame["planted_split"]]
    by_group = planted.groupby(planted["age_band"] == "18-34")["chose_better"].mean()
    assert by_group[True] < 0.35 and by_group[False] > 0.65


def test_inattentive_raters_disagree_more(demo):
    """Per-rater hit rates on manifest items match the generator's expectation within 4 standard errors.

    A rater with attentiveness η picks the better response of an item with probability
    ``η·p_better + (1 − η)/2``; given the truth, a rating is a Bernoulli draw with that mean, so the
    mean hit rate of a group of raters has a known expectation and standard error. Testing at the
    expectation itself (0.80 × 0.878 + 0.1 ≈ 0.803) fails half the time on other streams.
    """
    frame = demo.ratings.to_frame().join(demo.truth["items"][["better_position", "subjectivity", "p_better"]], on="item_id")
    manifest = frame[frame["subjectivity"] == "manifest"]
    eta = demo.truth["raters"]["attentiveness"].reindex(manifest["rater_id"]).to_numpy()
    expected = eta * manifest["p_better"].to_numpy() + (1 - eta) / 2
    per_rating = pd.DataFrame({"rater": manifest["rater_id"].to_numpy(), "hit": (manifest["label"] == manifest["better_position"]).to_numpy(),
                               "expected": expected, "variance": expected * (1 - expected)})
    per_rater = per_rating.groupby("rater").agg(hit=("hit", "mean"), expected=("expected", "mean"),
                                                variance=("variance", "sum"), n=("hit", "size"))
    per_rater["variance"] /= per_rater["n"] ** 2
    inattentive = demo.truth["raters"]["inattentive"].reindex(per_rater.index)
    for group in (per_rater[inattentive], per_rater[~inattentive]):
        standard_error = np.sqrt(group["variance"].sum()) / len(group)
        assert abs(group["hit"].mean() - group["expected"].mean()) < 4 * standard_error
    assert per_rater.loc[inattentive, "hit"].mean() < 0.6 < 0.75 < per_rater.loc[~inattentive, "hit"].mean()


def test_committee_accuracy_follows_quality(demo):
    scores = demo.scores.join(demo.truth["items"]["better_position"], on="item_id")
    correct = (scores["score_a"] > scores["score_b"]) == (scores["better_position"] == "A")
    accuracy = correct.groupby(scores["model"]).mean()
    quality = demo.truth["committee"].set_index("model")["quality"]
    assert np.allclose(accuracy[quality.index], quality, atol=0.04)


def test_text_carries_quality_cues(demo):
    items = demo.ratings.items.join(demo.truth["items"]["better_position"])
    better = np.where(items["better_position"] == "A", items["response_a"], items["response_b"])
    assert pd.Series(better).str.contains("step-by-step|careful|Specifically|sources").mean() > 0.7


def test_scales_up():
    big = workbench.simulate_study(seed=1, n_items=50_000, ratings_per_item=20)
    assert big.ratings.n_ratings == 1_000_000


@pytest.mark.parametrize("kwargs, match", [
    ({"n_items": 0}, "n_items"),
    ({"ratings_per_item": 30, "n_raters": 10}, "cannot exceed"),
    ({"mu": 0.5}, "mu"),
    ({"inattentive_share": 2}, "inattentive_share"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(WorkbenchDataError, match=match):
        workbench.simulate_study(**kwargs)

"""Committee agreement groups (methods.md M4): hand-made cases for each cut-off and tie rule."""

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import WorkbenchDataError


def _pairs(majorities: dict[str, str]) -> workbench.Ratings:
    """Items whose human majority is as given ('A', 'B' or 'tie'), three or two raters each."""
    votes = {"A": ["A", "A", "B"], "B": ["B", "B", "A"], "tie": ["A", "B"]}
    rows = [(item, f"r{k}", label) for item, side in majorities.items() for k, label in enumerate(votes[side])]
    frame = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"])
    frame["split"] = frame["item_id"].map(lambda i: "harmless" if i.startswith("h") else "helpful")
    return workbench.Ratings.from_frame(frame, item_columns=["split"])


def _scores(prefs: dict[str, str]) -> pd.DataFrame:
    """One row per (item, model) from strings such as 'AAB=' (A, B, '=' tie, '-' missing score)."""
    rows = []
    for item, members in prefs.items():
        for k, side in enumerate(members):
            a, b = {"A": (1.0, 0.0), "B": (0.0, 1.0), "=": (0.5, 0.5), "-": (np.nan, 0.0)}[side]
            rows.append((item, f"rm{k}", a, b))
    return pd.DataFrame(rows, columns=["item_id", "model", "score_a", "score_b"])


def test_default_cutoffs_follow_the_m4_table_for_k_8():
    # v agreeing members of 8 → NoAgree (0), LowAgree (1–4), HighAgree (5–7), AllAgree (8)
    prefs = {f"i{v}": "A" * v + "B" * (8 - v) for v in range(9)}
    out = workbench.committee_groups(_pairs(dict.fromkeys(prefs, "A")), _scores(prefs))
    assert out["n_agree"].tolist() == list(range(9)) and (out["n_models"] == 8).all()
    assert out["committee_group"].tolist() == ["NoAgree"] + ["LowAgree"] * 4 + ["HighAgree"] * 3 + ["AllAgree"]
    assert out["share_agree"].tolist() == [v / 8 for v in range(9)]


def test_custom_cutoffs_move_the_boundaries():
    prefs = {f"i{v}": "A" * v + "B" * (4 - v) for v in range(5)}
    ratings = _pairs(dict.fromkeys(prefs, "A"))
    out = workbench.committee_groups(ratings, _scores(prefs), cutoffs=(0.25, 0.25, 0.75))
    assert out["committee_group"].tolist() == ["NoAgree", "NoAgree", "HighAgree", "AllAgree", "AllAgree"]
    with pytest.raises(WorkbenchDataError, match="cutoffs must satisfy"):
        workbench.committee_groups(ratings, _scores(prefs), cutoffs=(0.5, 0.2, 1.0))


def test_one_member_leaves_low_and_high_empty_and_odd_k_splits_at_half():
    out = workbench.committee_groups(_pairs({"i1": "A", "i2": "A"}), _scores({"i1": "A", "i2": "B"}))
    assert out["committee_group"].tolist() == ["AllAgree", "NoAgree"]
    prefs = {f"i{v}": "A" * v + "B" * (3 - v) for v in range(4)}
    out = workbench.committee_groups(_pairs(dict.fromkeys(prefs, "A")), _scores(prefs))
    assert out["committee_group"].tolist() == ["NoAgree", "LowAgree", "HighAgree", "AllAgree"]


@pytest.mark.parametrize("ties, n_models, n_agree", [
    ("disagree", [4, 4, 4], [2, 0, 0]),
    ("agree", [4, 4, 4], [3, 4, 4]),
    ("exclude", [3, 0, 0], [2, 0, 0]),
])
def test_tie_rules(ties, n_models, n_agree):
    # i1: human A, members A A = B; i2: human tie, members A B A A; i3: human tie, members ====
    ratings = _pairs({"i1": "A", "i2": "tie", "i3": "tie"})
    out = workbench.committee_groups(ratings, _scores({"i1": "AA=B", "i2": "ABAA", "i3": "===="}), ties=ties)
    assert out["human_majority"].tolist() == ["A", "tie", "tie"]
    assert out["n_models"].tolist() == n_models and out["n_agree"].tolist() == n_agree
    if ties == "exclude":
        assert out["committee_group"].isna().tolist() == [False, True, True]


def test_missing_scores_are_left_out_and_counted():
    out = workbench.committee_groups(_pairs({"i1": "B", "i2": "B"}), _scores({"i1": "B-B", "i2": "AAA"}))
    assert out.loc["i1", ["n_models", "n_agree"]].tolist() == [2, 2]
    assert out.loc["i1", "committee_group"] == "AllAgree" and out.loc["i2", "committee_group"] == "NoAgree"


def test_summary_counts_groups_overall_and_by_split():
    prefs = {"h1": "AA", "h2": "BB", "g1": "AB", "g2": "AA"}
    out = workbench.committee_groups(_pairs(dict.fromkeys(prefs, "A")), _scores(prefs))
    summary = out.attrs["summary"]
    assert summary.loc["AllAgree"].to_dict() == {"all": 2, "harmless": 1, "helpful": 1}
    assert summary.loc["NoAgree"].to_dict() == {"all": 1, "harmless": 1, "helpful": 0}
    assert summary["all"].sum() == 4


def test_bad_scores_are_named():
    ratings = _pairs({"i1": "A"})
    with pytest.raises(WorkbenchDataError, match="missing column 'score_b'"):
        workbench.committee_groups(ratings, pd.DataFrame({"item_id": ["i1"], "model": ["m"], "score_a": [1.0]}))
    with pytest.raises(WorkbenchDataError, match="repeat model 'm' for item_id 'i1'"):
        workbench.committee_groups(ratings, pd.DataFrame({"item_id": ["i1", "i1"], "model": ["m", "m"], "score_a": [1, 2], "score_b": [0, 0]}))
    with pytest.raises(WorkbenchDataError, match="non-number 'high'"):
        workbench.committee_groups(ratings, pd.DataFrame({"item_id": ["i1"], "model": ["m"], "score_a": ["high"], "score_b": [0]}))
    with pytest.raises(WorkbenchDataError, match="ties must be one of"):
        workbench.committee_groups(ratings, _scores({"i1": "A"}), ties="half")


def test_demo_committee_agrees_more_where_people_agree(demo):
    groups = workbench.committee_groups(demo.ratings, demo.scores)
    assert len(groups) == demo.ratings.n_items and (groups["n_models"] == 5).all()
    agreement = demo.ratings.pairs()["p_a"].sub(0.5).abs()
    by_group = agreement.groupby(groups["committee_group"], observed=True).mean()
    assert by_group["AllAgree"] > by_group["NoAgree"]


def test_committee_agreement_averages_the_items_that_have_votes():
    from workbench.analysis.cleaning import committee_agreement, committee_votes

    ratings = _pairs({"i1": "A", "i2": "B", "i3": "A"})
    votes = committee_votes(_scores({"i1": "AAB", "i2": "AAB"}), ["i1", "i2"])  # i3: no member voted
    assert committee_agreement(ratings, votes) == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert committee_agreement(ratings, votes, ties="agree") == pytest.approx((2 / 3 + 1 / 3) / 2)
    with pytest.raises(WorkbenchDataError, match=r"committee_agreement\(\) takes a workbench Ratings"):
        committee_agreement(ratings.pairs(), votes)
    with pytest.raises(WorkbenchDataError, match="ties must be one of"):
        committee_agreement(ratings, votes, ties="half")

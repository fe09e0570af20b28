import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import Ratings, WorkbenchDataError


@pytest.fixture
def frame():
    return pd.DataFrame({
        "item": [1, 1, 1, 2, 2, 3],
        "who": ["x", "y", "z", "x", "y", "z"],
        "vote": ["A", "B", "A", "A", "A", "tie"],
        "prompt": ["p1", "p1", "p1", "p2", "p2", "p3"],
        "age": [30, 40, 50, 30, 40, 50],
        "rationale": ["r1", None, "r3", "r4", "r5", "r6"],
        "feedback_type": "pairwise",
    })


def test_from_frame_splits_item_rater_and_rating_columns(frame):
    r = Ratings.from_frame(frame, item="item", rater="who", label="vote")
    assert (r.n_items, r.n_raters, r.n_ratings) == (3, 3, 6)
    assert list(r.items.columns) == ["prompt"]
    assert list(r.raters.columns) == ["age"]
    assert list(r.ratings.columns) == ["item_id", "rater_id", "label", "rationale", "feedback_type"]
    assert r.categories == ("A", "B", "tie")


def test_round_trip_keeps_rater_rows_rationales_and_metadata(frame):
    """M2: annotator-level rows, rationales, feedback types and rater metadata survive."""
    r = Ratings.from_frame(frame, item="item", rater="who", label="vote")
    out = r.to_frame()
    assert len(out) == len(frame)
    merged = out.merge(frame.assign(item=frame["item"].astype(str)), left_on=["item_id", "rater_id"], right_on=["item", "who"])
    assert (merged["label"] == merged["vote"]).all()
    assert merged["rationale_x"].equals(merged["rationale_y"])
    assert (merged["age_x"] == merged["age_y"]).all()
    again = workbench.read_ratings(out, level="nominal")
    assert again.to_frame()[["item_id", "rater_id", "label", "rationale"]].equals(out[["item_id", "rater_id", "label", "rationale"]])


def test_source_frame_is_not_mutated(frame):
    before = frame.copy()
    Ratings.from_frame(frame, item="item", rater="who", label="vote")
    pd.testing.assert_frame_equal(frame, before)


def test_label_counts_and_distribution(frame):
    r = Ratings.from_frame(frame, item="item", rater="who", label="vote")
    counts = r.label_counts()
    assert counts.loc["1"].tolist() == [2, 1, 0]
    assert np.allclose(r.distribution().sum(axis=1), 1)
    assert r.raters_per_item().tolist() == [3, 2, 1]


def test_pairs_view(frame):
    pairs = Ratings.from_frame(frame, item="item", rater="who", label="vote").pairs()
    assert pairs.loc["1", ["n_a", "n_b", "n_tie", "n"]].tolist() == [2, 1, 0, 3]
    assert pairs.loc["3", "p_a"] == 0.5  # a tie counts half
    assert pairs.loc["2", "prompt"] == "p2"


def test_pairs_refuses_other_labels():
    r = Ratings.from_matrix([[1, 2], [2, 2]], level="nominal")
    with pytest.raises(WorkbenchDataError, match="pairs"):
        r.pairs()


def test_from_matrix_matches_krippendorff_layout():
    data = [[1, np.nan, 3], [2, 2, np.nan]]
    r = Ratings.from_matrix(data, level="interval")
    assert r.n_ratings == 4 and r.n_items == 3 and r.n_raters == 2
    table = r.ratings.set_index(["rater_id", "item_id"])["label"]
    assert table.loc[("0", "0")] == 1 and table.loc[("1", "1")] == 2


def test_from_counts_has_item_views_and_refuses_rater_views():
    r = Ratings.from_counts(pd.DataFrame({"e": [60, 10], "n": [30, 10], "c": [10, 80]}, index=["a", "b"]))
    assert r.n_ratings == 200 and not r.has_raters
    assert r.distribution().loc["b", "c"] == 0.8
    with pytest.raises(WorkbenchDataError, match="only per-item counts"):
        r.to_frame()
    with pytest.raises(WorkbenchDataError, match="only per-item counts"):
        r.codes


def test_ordinal_categories_keep_declared_order():
    frame = pd.DataFrame({"item_id": [1, 1, 2], "rater_id": [1, 2, 1], "label": [0, -3, 1]})
    r = workbench.read_ratings(frame, level="ordinal", categories=[1, 0, -1, -2, -3])
    assert r.categories == (1, 0, -1, -2, -3)
    assert r.codes.value.tolist() == [1, 4, 0]


def test_subset_leaves_original_alone(frame):
    r = Ratings.from_frame(frame, item="item", rater="who", label="vote")
    small = r.subset(raters=["x", "y"])
    assert small.n_ratings == 4 and r.n_ratings == 6
    assert set(small.items.index) == {"1", "2"}


def test_summary_flags_data_without_annotator_level_labels():
    """M2 datasheet check: aggregated-only data are flagged, as are data with one rating per item."""
    counts = Ratings.from_counts(pd.DataFrame({"y": [3], "n": [1]}, index=["q"]))
    assert counts.summary()["annotator-level labels"].startswith("no")
    single = workbench.read_ratings(pd.DataFrame({"item_id": [1, 2], "rater_id": ["a", "b"], "label": ["x", "y"]}))
    assert "one rating per item" in single.summary()["annotator-level labels"]


def test_with_columns_adds_item_and_rater_columns_without_touching_the_source(frame):
    r = Ratings.from_frame(frame, item="item", rater="who", label="vote")
    groups = pd.DataFrame({"item_id": ["1", "3"], "group": ["low", "high"]})
    skill = pd.Series([0.9, 0.2], index=pd.Index(["x", "z"], name="rater_id"), name="skill")
    out = r.with_columns(items=groups, raters=skill)
    assert out.items["group"].isna().tolist() == [False, True, False]
    assert out.items.loc["3", "group"] == "high" and out.raters.loc["z", "skill"] == 0.2
    assert np.isnan(out.raters.loc["y", "skill"])
    assert "group" not in r.items.columns and "skill" not in r.raters.columns
    assert out.ratings.equals(r.ratings) and out.categories == r.categories
    assert out.to_frame().loc[lambda f: f["item_id"] == "1", "group"].eq("low").all()


@pytest.mark.parametrize("items, message", [
    (pd.DataFrame({"item_id": ["1"], "prompt": ["again"]}), "'prompt' is already in the item table"),
    (pd.DataFrame({"item_id": ["9"], "g": [1]}), "item_id '9' is not in this data set"),
    (pd.DataFrame({"item_id": ["1", "1"], "g": [1, 2]}), "item_id '1' appears more than once"),
    (pd.DataFrame({"item_id": ["1"], "label": ["A"]}), "'label' is already in the item table"),
    ([1, 2], "takes a DataFrame"),
])
def test_with_columns_refuses_clashes_and_unknown_ids(frame, items, message):
    r = Ratings.from_frame(frame, item="item", rater="who", label="vote")
    with pytest.raises(WorkbenchDataError, match=message):
        r.with_columns(items=items)


def test_with_columns_on_counts_only_data():
    c = pd.DataFrame({"yes": [3, 1], "no": [0, 2]}, index=["q1", "q2"])
    r = Ratings.from_counts(c).with_columns(items=pd.DataFrame({"hard": [True]}, index=["q2"]))
    assert r.items["hard"].isna().tolist() == [True, False] and r.label_counts().equals(c.rename_axis(index="item_id", columns="label"))
    with pytest.raises(WorkbenchDataError, match="rater-level"):
        r.with_columns(raters=pd.DataFrame({"x": [1]}, index=["a"]))

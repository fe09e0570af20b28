"""Public paths a review found untested: odd inputs, error messages, rarely taken branches."""

import sqlite3

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest

import workbench
from workbench import Ratings, WorkbenchDataError


@pytest.fixture(scope="module")
def counts_only():
    return Ratings.from_counts(pd.DataFrame({"y": [3, 1, 0], "n": [0, 2, 4]}, index=["a", "b", "c"]))


@pytest.fixture(scope="module")
def small():
    return workbench.simulate_study(seed=3, n_items=40, ratings_per_item=4, n_raters=10).ratings


# ------------------------------------------------------------------ constructors and subsets
def test_from_matrix_all_missing_is_an_error():
    with pytest.raises(WorkbenchDataError, match="holds no values"):
        Ratings.from_matrix([[np.nan, None], [None, np.nan]])


def test_from_matrix_keeps_dataframe_ids():
    matrix = pd.DataFrame([[1, 2, None], [1, 3, 3]], index=["ann", "bob"], columns=["q1", "q2", "q3"])
    ratings = Ratings.from_matrix(matrix, level="interval")
    assert list(ratings.items.index) == ["q1", "q2", "q3"] and list(ratings.raters.index) == ["ann", "bob"]
    assert ratings.ratings.set_index(["item_id", "rater_id"])["label"].to_dict() == {
        ("q1", "ann"): 1.0, ("q2", "ann"): 2.0, ("q1", "bob"): 1.0, ("q2", "bob"): 3.0, ("q3", "bob"): 3.0}


def test_from_counts_refuses_non_integer_counts():
    with pytest.raises(WorkbenchDataError, match=r"whole numbers; column 'y' has 1.5 at item"):
        Ratings.from_counts(pd.DataFrame({"y": [1.5, 2], "n": [0, 1]}))


def test_subset_of_counts_only_data(counts_only):
    sub = counts_only.subset(items=["a", "c"])
    assert sub.label_counts().to_dict("index") == {"a": {"y": 3, "n": 0}, "c": {"y": 0, "n": 4}}
    assert counts_only.n_items == 3  # the source is left unchanged
    with pytest.raises(WorkbenchDataError, match="only per-item counts"):
        counts_only.subset(raters=["x"])


@pytest.mark.parametrize("kind", ["counts", "raters"])
def test_subset_to_nothing_is_an_error(kind, counts_only, small):
    ratings = counts_only if kind == "counts" else small
    with pytest.raises(WorkbenchDataError, match="holds no ratings"):
        ratings.subset(items=["no such item"])


# ------------------------------------------------------------------ store
def test_store_refuses_a_directory(tmp_path):
    with pytest.raises(WorkbenchDataError, match="is a directory"):
        workbench.Store(tmp_path)


def test_store_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "project.sqlite"
    workbench.Store(path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(WorkbenchDataError, match="newer than this workbench"):
        workbench.Store(path)


def test_save_scores_names_the_missing_column(tmp_path):
    store = workbench.Store(tmp_path / "project.sqlite")
    with pytest.raises(WorkbenchDataError, match="missing 'score_b'"):
        store.save_scores("rm", pd.DataFrame({"item_id": ["a"], "score_a": [1.0]}))


# ------------------------------------------------------------------ reliability
@pytest.mark.parametrize("kwargs, match", [
    ({"n_boot": 2.5}, "n_boot must be a non-negative whole number"),
    ({"n_boot": -1}, "n_boot must be a non-negative whole number"),
    ({"resample": "both"}, "resample must be 'items' or 'raters'"),
    ({"interval": "studentized"}, "interval must be 'percentile' or 'bca'"),
    ({"ci": 1.0}, r"ci must lie in \(0, 1\)"),
])
def test_reliability_argument_errors(small, kwargs, match):
    with pytest.raises(WorkbenchDataError, match=match):
        workbench.reliability(small, **kwargs)


def test_no_bootstrap_with_n_boot_zero(small):
    row = workbench.reliability(small, n_boot=0).iloc[0]
    assert np.isfinite(row["value"]) and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    assert row["n_boot"] == 0 and row["ci"] is None and row["interval"] is None


def test_missing_slice_value_gets_its_own_slice(small):
    frame = small.to_frame()
    frame["batch"] = np.where(frame["item_id"] < frame["item_id"].iloc[len(frame) // 2], "early", None)
    ratings = Ratings.from_frame(frame[["item_id", "rater_id", "label", "batch"]], item_columns=["batch"], rater_columns=[])
    table = workbench.reliability(ratings, by="batch", ci=None).set_index("batch")
    assert list(table.index) == ["early", "(missing)"]
    assert table["n_items"].sum() == ratings.n_items and table["n_ratings"].sum() == ratings.n_ratings


def test_slicing_by_a_per_rating_column(small):
    frame = small.ratings.assign(mode=np.where(np.arange(small.n_ratings) % 3 == 0, "chat", "form"))
    ratings = Ratings.from_frame(frame, item_columns=[], rater_columns=[])
    table = workbench.reliability(ratings, by="mode", ci=None).set_index("mode")
    assert table.loc["chat", "n_ratings"] == (frame["mode"] == "chat").sum()
    chat = frame[frame["mode"] == "chat"]
    alone = workbench.reliability(Ratings.from_frame(chat[["item_id", "rater_id", "label"]]), ci=None)["value"].iloc[0]
    assert table.loc["chat", "value"] == pytest.approx(alone, abs=1e-12)


def test_note_counts_undefined_replicates():
    """Two unanimous 'a' items and one unanimous 'b': a replicate without the 'b' item has no expected disagreement."""
    ratings = Ratings.from_matrix([list("aab"), list("aab")])
    row = workbench.reliability(ratings, n_boot=200, seed=0).iloc[0]
    undefined = int(row["note"].split(" of ")[0])
    assert row["value"] == 1.0 and row["note"] == f"{undefined} of 200 bootstrap replicates undefined"
    assert 200 * (2 / 3) ** 3 * 0.5 < undefined < 200 * (2 / 3) ** 3 * 1.5  # P(no 'b' item drawn) = (2/3)³


# ------------------------------------------------------------------ item table
def test_item_table_three_way_tie_is_flagged():
    frame = pd.DataFrame({"item_id": [1, 1, 1, 2, 2, 2], "rater_id": list("abcabc"), "label": list("xyzxxy")})
    table = workbench.item_table(Ratings.from_frame(frame))
    assert table.loc["1", "majority_tie"] and not table.loc["2", "majority_tie"]
    assert table.loc["2", "majority"] == "x"
    assert table.loc["1", "entropy_bits"] == pytest.approx(np.log2(3))


def test_item_table_of_counts_only_data(counts_only):
    table = workbench.item_table(counts_only)
    assert table["n_ratings"].tolist() == [3, 3, 4]
    assert table["majority"].tolist() == ["y", "n", "n"]
    assert table.loc["b", "entropy_bits"] == pytest.approx(-(1 / 3) * np.log2(1 / 3) - (2 / 3) * np.log2(2 / 3))


# ------------------------------------------------------------------ overview
def test_overview_without_data_shows_an_alert():
    view = workbench.Overview().__panel__()
    assert isinstance(view, pn.pane.Alert) and "No data set loaded" in view.object


def test_overview_bins_many_numeric_values_into_a_histogram():
    rng = np.random.default_rng(0)
    ratings = Ratings.from_matrix(rng.normal(size=(3, 40)).round(3), level="interval")
    plot = workbench.Overview(ratings=ratings).label_plot()
    assert isinstance(plot, hv.Histogram)
    assert plot.dimension_values("ratings").sum() == ratings.n_ratings
    few = workbench.Overview(ratings=Ratings.from_matrix([[1, 2, 3], [1, 2, 2]], level="interval")).label_plot()
    assert isinstance(few, hv.Bars)


def test_reliability_reports_its_replicates(demo):
    assert workbench.reliability(demo.ratings, n_boot=40)["n_boot"].tolist() == [40]
    assert workbench.reliability(demo.ratings, ci=None)["n_boot"].tolist() == [0]

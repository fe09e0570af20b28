"""The Explorer component, headless: grouping, filter, entropy range and item selection drive its views."""

import time

import holoviews as hv
import pandas as pd
import panel as pn
import pytest

import workbench


def settled(explorer, timeout=120):
    """Wait for the off-thread tests of the current view."""
    deadline = time.monotonic() + timeout
    while explorer._current() is None or explorer.status:
        assert not explorer.error, explorer.error
        assert time.monotonic() < deadline, "the background tests did not finish"
        time.sleep(0.1)
    return explorer


@pytest.fixture(scope="module")
def ratings():
    return workbench.simulate_study(seed=0, n_items=120, ratings_per_item=12, n_raters=40).ratings


@pytest.fixture
def explorer(ratings):
    explorer = workbench.Explorer(ratings=ratings, n_perm=100, n_boot=30, n_draws=10)
    explorer.start()
    return explorer


def find(layout, kind):
    return [obj for obj in layout.select(kind)]


def test_regrouping_changes_the_tables_and_plots(explorer):
    settled(explorer)
    by_age = explorer.items_frame()
    assert set(by_age["group"].dropna()) <= {"18-34", "35-54", "55+"} and by_age["p_value"].notna().any()
    volcano = explorer.volcano()
    alphas = explorer.agreement()
    explorer.group_by = "region"
    quick = explorer.items_frame()  # the item-level view follows at once, before the test
    assert set(quick["group"].dropna()) <= {"Americas", "Europe", "Asia-Pacific"}
    assert not quick.set_index("item_id")["jsd"].equals(by_age.set_index("item_id")["jsd"])
    settled(explorer)
    assert explorer.items_frame()["p_value"].notna().any()
    assert len(explorer.volcano().data) and not explorer.volcano().data.equals(volcano.data)
    cross = find(explorer.agreement(), pn.pane.DataFrame)[0].object
    assert set(cross["group_a"]) | set(cross["group_b"]) == {"Americas", "Europe", "Asia-Pacific"}
    assert find(alphas, pn.pane.DataFrame)[0].object["group_a"].iloc[0] == "18-34"


def test_the_filter_and_the_entropy_range_narrow_the_items(explorer, ratings):
    assert len(explorer.listed_items()) == 120
    explorer.filter_column = "split"
    assert explorer.param.filter_value.objects == ["(all items)", "harmless", "helpful"]
    explorer.filter_value = "harmless"
    listed = explorer.listed_items()
    assert len(listed) == (ratings.items["split"] == "harmless").sum()
    explorer.entropy_range = (0.9, 1.0)
    narrow = explorer.listed_items()
    assert 0 < len(narrow) < len(listed) and (narrow["entropy"] >= 0.9 - 1e-12).all()
    histogram = explorer.entropy_plot()
    assert isinstance(histogram, hv.Overlay)
    settled(explorer)
    assert explorer.tests["key"] == explorer._key() and explorer._key()[:5] == ("age_band", None, 3, "split", "harmless")
    assert explorer.tests["divergence"]["item_id"].isin(listed["item_id"]).all()


def test_selecting_an_item_shows_its_text_and_distributions(explorer, ratings):
    explorer.layout()
    table = explorer.item_table
    first = table.value["item_id"].iloc[0]
    table.selection = [0]  # what a click on the first row does
    assert explorer.item == first
    detail = explorer.item_detail()
    text = find(detail, pn.pane.Markdown)[0].object
    assert f"Item {first}" in text and ratings.items.loc[first, "prompt"] in text
    bars = find(detail, pn.pane.HoloViews)[0].object
    shares = bars.data
    assert set(shares["group"]) >= {"(all)"} and shares.groupby("group")["share"].sum().round(12).eq(1).all()


def test_the_planner_answers_a_new_target_without_drawing_again(explorer):
    settled(explorer)
    before = explorer.plan().object
    explorer.target = 0.02
    after = explorer.plan().object
    assert "JSD 0.020" in after and before != after


def test_counts_only_data_offer_convergence_and_no_groups():
    counts = workbench.Ratings.from_counts(pd.DataFrame({"e": [60, 10, 40], "n": [30, 80, 20], "c": [10, 10, 40]}))
    explorer = workbench.Explorer(ratings=counts, n_draws=10)
    layout = explorer.layout()  # the first display starts the draws
    assert "only per-item counts" in find(layout, pn.pane.Alert)[0].object
    settled(explorer)
    assert len(explorer.convergence_plot().Curve.I.data) > 1


def test_an_input_error_is_shown_not_raised(explorer, monkeypatch):
    from workbench.ui import explorer as module

    settled(explorer)

    def refuse(*args, **kwargs):
        raise workbench.WorkbenchDataError("column 'region' has a value the test refuses")

    monkeypatch.setattr(module, "reliability", refuse)  # fails in the background, after the permutation test
    explorer.group_by = "region"
    deadline = time.monotonic() + 60
    while not explorer.error and time.monotonic() < deadline:
        time.sleep(0.1)
    assert explorer.error == "column 'region' has a value the test refuses" and not explorer.status
    assert explorer._error().object == explorer.error

"""The Explorer's group choices, bins, 'why nothing is tested', selection by item id and the one ranking table (no browser)."""

import numpy as np
import pandas as pd
import panel as pn
import pytest

import workbench
from workbench.analysis.groups import group_attributes, grouping, quantile_bins
from workbench.errors import WorkbenchDataError


@pytest.fixture(scope="module")
def ratings():
    """The demo study plus a per-rating column, a rater id-like column and a many-valued numeric rater attribute."""
    base = workbench.simulate_study(seed=1, n_items=80, ratings_per_item=10, n_raters=40).ratings
    rng = np.random.default_rng(0)
    frame = base.ratings.assign(**{"type.ableism": rng.integers(0, 2, len(base.ratings))})
    raters = base.raters.assign(age=rng.integers(18, 70, len(base.raters)), login=[f"u{i}" for i in range(len(base.raters))])
    return workbench.read_ratings(frame, raters=raters, items=base.items)


def explorer_of(ratings, **params):
    return workbench.Explorer(ratings=ratings, n_perm=50, n_boot=0, n_draws=2, **params)


def test_groups_are_rater_attributes_only(ratings):
    explorer = explorer_of(ratings)
    choices = explorer.param.group_by.objects
    assert "type.ableism" in ratings.ratings.columns and "type.ableism" not in choices  # a per-rating label column
    assert "login" not in choices  # one value per rater: an id, not a group
    assert not set(choices) & set(ratings.items.columns)  # item columns slice (the filter), they do not group raters
    assert {"age_band", "region", "age"} <= set(choices)
    assert "split" in explorer.param.filter_column.objects


def test_a_many_valued_numeric_attribute_is_binned_and_the_bins_are_shown(ratings):
    explorer = explorer_of(ratings, group_by="age")
    assert explorer.binned() and explorer.group_column == "age (4 bins)"
    labels = list(explorer.grouped()[0].raters["age (4 bins)"].cat.categories)
    assert len(labels) == 4 and all("–" in label for label in labels)
    low, high = labels[0].split("–")
    assert int(low) == ratings.raters["age"].min() and int(high) < int(labels[1].split("–")[0])
    assert set(explorer.items_frame()["group"].dropna()) <= set(labels)
    explorer.bins = 6
    assert explorer.group_column == "age (6 bins)"
    assert len(explorer.grouped()[0].raters["age (6 bins)"].cat.categories) == 6
    explorer.group_by = "region"
    assert not explorer.binned() and explorer.group_column == "region"


def test_quantile_bins_keep_ties_together_and_refuse_nonsense():
    values = pd.Series([1, 1, 1, 1, 2, 3, 4, 5])
    bins = quantile_bins(values, 4)
    assert bins[:4].nunique() == 1  # a tie never splits across bins
    with pytest.raises(WorkbenchDataError, match="at least 2"):
        quantile_bins(values, 1)
    with pytest.raises(WorkbenchDataError, match="two different"):
        quantile_bins(pd.Series([3, 3, 3]), 2)


def test_the_default_grouping_has_few_groups():
    base = workbench.simulate_study(seed=2, n_items=30, ratings_per_item=6, n_raters=60).ratings
    raters = base.raters.drop(columns=list(base.raters.columns)).assign(
        country=[f"c{i % 40}" for i in range(60)], gender=["f", "m"] * 30)
    many = workbench.read_ratings(base.ratings, raters=raters)
    assert group_attributes(many).loc["country", "n_values"] > 30
    explorer = explorer_of(many)
    assert explorer.param.group_by.objects[0] == "country" and explorer.group_by == "gender"


def test_a_grouping_that_tests_no_item_says_why_in_a_sentence(ratings):
    explorer = explorer_of(ratings, group_by="region", min_per_group=20)
    reason = explorer.untested_reason()
    assert reason == ("No item has 20 ratings from one region group and 20 from the others; "
                      "lower the minimum or choose another attribute.")
    shown = explorer.ranking()
    assert isinstance(shown, pn.pane.Alert) and shown.object == reason
    assert "nan" not in reason.lower()
    explorer.min_per_group = 2
    assert explorer.untested_reason() == ""


def test_selection_follows_the_item_id_across_regrouping_and_filtering(ratings):
    explorer = explorer_of(ratings, group_by="age_band")
    explorer.layout()
    table = explorer.item_table
    table.selection = [7]  # a click on the eighth row
    item = explorer.item
    assert item == table.value["item_id"].iloc[7]
    explorer.group_by = "region"  # the ranking reorders
    assert explorer.item == item and explorer.selected_row() == item
    assert table.value["item_id"].iloc[table.selection[0]] == item
    split = ratings.items.loc[item, "split"]
    explorer.filter_column = "split"
    explorer.filter_value = split
    assert explorer.selected_row() == item
    explorer.filter_value = next(v for v in explorer.param.filter_value.objects[1:] if v != split)
    assert explorer.selected_row() is None and explorer.item == item  # filtered out: no other row is highlighted
    explorer.filter_value = split
    assert explorer.selected_row() == item


def test_one_ranking_table(ratings):
    explorer = explorer_of(ratings)
    page = explorer.layout()
    tables = [obj for obj in page.select(pn.widgets.Tabulator)]
    assert len(tables) == 1
    assert not list(page.select(pn.pane.DataFrame)) or all("group_a" in p.object for p in page.select(pn.pane.DataFrame))
    assert isinstance(explorer.ranking(), (pn.pane.Markdown, pn.pane.Alert))  # the overall test only, no second item table


def test_grouping_refuses_a_per_rating_column(ratings):
    with pytest.raises(WorkbenchDataError, match="not a rater attribute"):
        grouping(ratings, "type.ableism")


@pytest.mark.realdata
def test_convabuse_offers_no_per_rating_label_columns(shared_data):
    convabuse = workbench.datasets.read_convabuse(shared_data / "convabuse" / "ConvAbuseEMNLPfull.csv.gz")
    explorer = explorer_of(convabuse)
    assert explorer.param.group_by.objects == []  # ConvAbuse has no rater attributes
    text = str(explorer.layout()[0].object)
    assert "no rater attribute" in text and "nan" not in text


@pytest.mark.realdata
def test_multipico_age_is_binned_and_the_default_is_small(shared_data):
    folder = shared_data / "multipico_lewidi2025"
    multipico = workbench.datasets.read_multipico(folder / "MP_dev.json.gz", annotators_meta=folder / "MP_annotators_meta.json.gz")
    explorer = explorer_of(multipico)
    assert {"age", "gender"} <= set(explorer.param.group_by.objects)
    groups = explorer.grouped()[0].raters[explorer.group_column].nunique()
    assert groups <= 8
    explorer.group_by = "age"
    labels = list(explorer.grouped()[0].raters["age (4 bins)"].cat.categories)
    assert len(labels) == 4 and labels[0].startswith("18")


def test_tags_slice_the_items_and_follow_new_tags(tmp_path):
    study = workbench.simulate_study(seed=7, n_items=60, ratings_per_item=6, n_raters=20)
    store = workbench.Store(tmp_path / "p.sqlite")
    workspace = workbench.ui.workspace.Workspace(ratings=study.ratings, store=store)
    explorer = workbench.Explorer(workspace=workspace, n_perm=0, n_boot=0, n_draws=2)
    assert "subjectivity" not in explorer.param.filter_column.objects
    items = list(study.ratings.items.index)
    for item in items[:20]:
        store.add_tag(item, "subjectivity", "manifest", tagger="ana")
    for item in items[20:30]:
        store.add_tag(item, "subjectivity", "latent_projective", tagger="ana")
    workspace.tags_changed()  # what the Tagger does after a write
    assert "subjectivity" in explorer.param.filter_column.objects  # a tag scheme is a slice, like an item column
    assert "subjectivity" not in explorer.param.group_by.objects  # not a rater group
    explorer.filter_column = "subjectivity"
    explorer.filter_value = "manifest"
    assert set(explorer.listed_items()["item_id"]) == set(items[:20])
    store.add_tag(items[40], "subjectivity", "manifest", tagger="ana")
    workspace.tags_changed()
    assert set(explorer.listed_items()["item_id"]) == set(items[:20]) | {items[40]}

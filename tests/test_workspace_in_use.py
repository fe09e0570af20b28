"""One workspace: the Clean tab's "use the cleaned data" switches every view given the workspace, and back (no browser)."""

import tempfile
from pathlib import Path

import panel as pn
import pytest

import workbench
from workbench.ui.app import build_app
from workbench.ui.workspace import InUseBanner, Workspace


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=3, n_items=120, ratings_per_item=6, n_raters=30)


@pytest.fixture
def workspace(study):
    return Workspace(ratings=study.ratings, store=workbench.Store(Path(tempfile.mkdtemp()) / "p.sqlite"))


def cleaned_half(ratings):
    return ratings.subset(items=ratings.items.index[:60])


def test_in_use_follows_active_and_cleaned(workspace, study):
    assert workspace.in_use is study.ratings and workspace.active == "raw"
    half = cleaned_half(study.ratings)
    workspace.use_cleaned(half, {"name": "half", "rules": []})
    assert workspace.in_use is half and workspace.active == "cleaned" and workspace.recipe_name() == "half"
    workspace.use_raw()
    assert workspace.in_use is study.ratings and workspace.cleaned is half  # the cleaned data stays at hand
    workspace.active = "cleaned"
    assert workspace.in_use is half
    with pytest.raises(TypeError):
        workspace.in_use = study.ratings  # derived: read only


def test_a_new_data_set_drops_the_old_recipe(workspace, study):
    workspace.use_cleaned(cleaned_half(study.ratings), {"name": "half"})
    other = workbench.simulate_study(seed=4, n_items=30, ratings_per_item=3, n_raters=8).ratings
    workspace.ratings = other
    assert workspace.in_use is other and workspace.cleaned is None and workspace.active == "raw"


def test_every_component_given_the_workspace_follows_it(workspace, study):
    overview = workbench.Overview(workspace=workspace)
    explorer = workbench.Explorer(workspace=workspace, n_perm=0, n_boot=0, n_draws=2)
    tagger = workbench.Tagger(workspace=workspace, tagger="ana")
    banner = InUseBanner(workspace=workspace)
    assert overview.facts().loc["items", "value"] == "120" and len(explorer.items_frame()) == 120
    assert tagger.progress() == (0, 120) and banner.text() == ""

    cleaner = workbench.Cleaner(workspace=workspace, fit_now=False,
                                recipe=[{"rule": "drop", "where": "split == 'harmless'"}], recipe_name="helpful only")
    cleaner.use()
    kept = cleaner.cleaned.n_items
    assert 0 < kept < 120
    assert overview.facts().loc["items", "value"] == str(kept)
    assert len(explorer.items_frame()) == kept and explorer.ratings is cleaner.cleaned
    assert tagger.progress() == (0, kept) and set(tagger.queue) <= set(cleaner.cleaned.items.index)
    assert "helpful only" in banner.text() and f"{kept} of 120 items" in banner.text()
    assert cleaner.ratings is study.ratings  # the Clean tab keeps cleaning the raw data

    banner.back()  # the one-click way back
    assert overview.facts().loc["items", "value"] == "120" and len(explorer.items_frame()) == 120
    assert tagger.progress() == (0, 120) and banner.text() == ""
    assert not banner.__panel__().visible


def test_the_explorer_keeps_its_grouping_and_selection_across_the_switch(workspace, study):
    explorer = workbench.Explorer(workspace=workspace, n_perm=0, n_boot=0, n_draws=2)
    explorer.group_by = "region"
    explorer.layout()
    item = explorer.listed_items()["item_id"].iloc[5]
    explorer.item = item
    assert explorer.selected_row() == item
    others = [i for i in study.ratings.items.index if i != item]
    workspace.use_cleaned(study.ratings.subset(items=[item] + others[::2]), {"name": "every other"})
    explorer.layout()  # the page as rebuilt for the cleaned data
    assert explorer.group_by == "region" and explorer.item == item and explorer.selected_row() == item
    workspace.use_cleaned(study.ratings.subset(items=others), {"name": "without it"})
    assert explorer.item == item and explorer.selected_row() is None  # not listed: no row highlighted, none wrong
    assert "is not in the data shown" in explorer.item_detail().object


def test_the_served_app_has_the_banner_and_rebuilds_nothing_on_the_switch(study):
    app = build_app(study.ratings)
    banner = next(obj for obj in app.main.objects if "workbench-in-use" in obj.css_classes)
    tabs = next(obj for obj in app.main.objects if isinstance(obj, pn.Tabs))
    before = list(tabs.objects)
    assert not banner.visible
    workspace = app.workspace
    workspace.use_cleaned(cleaned_half(study.ratings), {"name": "half"})
    assert list(tabs.objects) == before  # each tab follows by itself: the Clean tab's switches are not lost
    assert banner.visible and "recipe “half”" in banner[0].object
    banner[1].clicks += 1  # “Back to the raw data”
    assert workspace.active == "raw" and not banner.visible


def test_the_models_tab_compares_against_the_ratings_in_use(study):
    from workbench.ui.models import ModelComparison

    workspace = Workspace(ratings=study.ratings)
    view = ModelComparison(workspace=workspace, scores=study.scores, n_boot=20)
    view.compare(wait=True)
    raw_items = int(view.table["n_items"].iloc[0])
    workspace.use_cleaned(cleaned_half(study.ratings), {"name": "half"})
    assert view.table is None and "cleaned data" in view.status  # the old comparison is not shown as current
    view.compare(wait=True)
    assert int(view.table["n_items"].iloc[0]) < raw_items

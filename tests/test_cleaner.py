"""The Cleaner component without a browser: switches, live counts, views, saving, exporting, the workspace."""

import io

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.ui.workspace import Workspace


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=2, n_items=300, ratings_per_item=6, n_raters=30)


@pytest.fixture
def cleaner(study, tmp_path):
    store = workbench.Store(tmp_path / "p.sqlite")
    component = workbench.Cleaner(ratings=study.ratings, store=store, scores=study.scores)
    component.wait()
    return component


def test_counts_follow_the_switches_and_match_the_recipe(cleaner, study):
    flips = cleaner.counts()["flip"]
    assert flips > 0 and cleaner.attentiveness is not None
    cleaner.switch(0, False)
    assert cleaner.counts().get("flip", 0) == 0
    cleaner.switch(0, True)
    assert cleaner.counts()["flip"] == flips
    _, provenance = cleaner._live.apply(cleaner.enriched)
    assert provenance["action"].value_counts().to_dict() == cleaner.provenance["action"].value_counts().to_dict()
    assert sum(cleaner.counts().values()) == study.ratings.n_ratings


def test_rules_without_their_columns_stay_off(study):
    component = workbench.Cleaner(ratings=study.ratings, fit_now=False)  # no store, no scores, not the demo
    assert [component.available(k) for k in range(5)] == [False, False, False, False, True]
    assert "No committee scores" in component._committee.object
    assert set(component.provenance["rule"].dropna().unique()) <= {"5. min_ratings: k=3"}


def test_views_show_alpha_balance_committee_histogram_and_diff(cleaner):
    cleaner.wait()
    assert cleaner._alpha_before_pane.object.startswith("alpha before: **0.")
    assert cleaner._alpha_after.object.startswith("alpha after: **")
    assert list(cleaner._balance.object.columns) == ["label", "before", "after"]
    assert "Committee agreement" in cleaner._committee.object and "→" in cleaner._committee.object
    assert "VLine" in repr(cleaner._histogram.object)  # the threshold of the drop_raters rule is marked
    diff = cleaner._diff.object
    assert {"item_id", "flipped", "dropped", "first rule", "p_a before", "p_a after"} <= set(diff.columns)
    assert len(diff) > 0 and (diff["flipped"] + diff["dropped"] > 0).all()


def test_a_bad_expression_is_a_message_and_changes_nothing(cleaner):
    before = cleaner.counts()
    cleaner._rule_rows[1]["params"]["where"].value = "committee_grop == 'LowAgree'"
    assert "unknown column 'committee_grop'" in cleaner.message and cleaner._alert.visible
    assert cleaner.counts() == before
    cleaner._rule_rows[1]["params"]["where"].value = "committee_group == 'LowAgree'"
    assert cleaner.message == "" and cleaner.counts()["drop"] >= before["drop"]


def test_save_load_use_and_export(cleaner, study):
    cleaner.switch(1, False)
    cleaner.recipe_name = "no-low-drop"
    cleaner.save()
    assert cleaner.workspace.store.recipe_names() == ["no-low-drop"]
    cleaner.switch(1, True)
    cleaner.load("no-low-drop")
    assert cleaner._rule_rows[1]["switch"].value is False and cleaner.recipe.rules[1]["enabled"] is False
    cleaner.use()
    assert cleaner.workspace.cleaned is cleaner.cleaned and cleaner.workspace.recipe["rules"][1]["enabled"] is False
    assert cleaner.workspace.cleaned.n_ratings == cleaner.counts()["keep"] + cleaner.counts().get("flip", 0)
    csv = pd.read_csv(io.BytesIO(cleaner._download("csv").getvalue()))  # the kept ratings only, labels as cleaned
    assert len(csv) == cleaner.cleaned.n_ratings and "feedback_type" in csv.columns
    assert "action" not in csv.columns and (csv["label"].astype(str).to_numpy() == cleaner.cleaned.ratings["label"].astype(str).to_numpy()).all()
    parquet = pd.read_parquet(cleaner._download("parquet"))
    assert len(parquet) == len(csv)
    provenance = pd.read_csv(io.BytesIO(cleaner._download("provenance").getvalue()))  # every input rating, with what happened to it
    assert len(provenance) == study.ratings.n_ratings and {"new_label", "action", "rule", "feedback_type"} <= set(provenance.columns)
    assert (provenance["action"] != "drop").sum() == len(csv)
    assert workbench.Recipe.from_yaml(cleaner._download("yaml").getvalue().decode()) == cleaner.current_recipe()


def test_the_source_is_never_modified(study):
    before = study.ratings.ratings.copy()
    component = workbench.Cleaner(workspace=Workspace(ratings=study.ratings), scores=study.scores)
    component.wait()
    component.switch(2, False)
    pd.testing.assert_frame_equal(study.ratings.ratings, before)
    assert "attentiveness" not in study.ratings.raters.columns


def test_demo_scores_only_for_the_demo():
    demo = workbench.simulate_study(seed=0, n_items=50, ratings_per_item=3, n_raters=10)
    from workbench.ui.cleaner import demo_scores

    assert demo_scores(demo.ratings) is None  # not the default demo: its items are not the demo's own
    plain = workbench.Ratings.from_frame(pd.DataFrame({"item_id": [1, 1], "rater_id": ["a", "b"], "label": ["A", "B"]}))
    assert demo_scores(plain) is None
    assert np.isfinite(workbench.Cleaner(ratings=plain, fit_now=False).counts()["keep"])


def test_tag_writes_refresh_the_tag_rule(study, tmp_path):
    store = workbench.Store(tmp_path / "tags.sqlite")
    workspace = Workspace(ratings=study.ratings, store=store)
    component = workbench.Cleaner(workspace=workspace, scores=study.scores, fit_now=False)
    by_tag_rule = component.provenance["rule"].astype(str).str.startswith("4.")
    assert not by_tag_rule.any()  # no unreliability_source tags yet
    store.add_tag(study.ratings.items.index[0], "unreliability_source", "both_harmful", tagger="ana")
    workspace.tags_changed()
    dropped = component.provenance.loc[component.provenance["rule"].astype(str).str.startswith("4."), "item_id"].unique()
    assert list(dropped) == [study.ratings.items.index[0]]


def test_a_rule_without_its_columns_names_them_and_where_they_come_from(study):
    component = workbench.Cleaner(ratings=study.ratings, fit_now=False)
    notes = [row["note"].object for row in component._rule_rows]
    assert "committee_group: score reward models in the Models tab" in notes[0]
    assert "attentiveness: fit attentiveness below" in notes[2]
    assert "unreliability_source: tag items in the Tag tab" in notes[3]
    assert not any("see the note above" in note for note in notes)


def test_defaults_adapt_to_the_data_and_say_what_a_rule_would_drop():
    base = workbench.simulate_study(seed=5, n_items=90, ratings_per_item=3, n_raters=12).ratings
    two = base.ratings.groupby("item_id", sort=False).head(2)  # a third of the items keeps two ratings only
    keep = set(base.items.index[:30])
    frame = pd.concat([base.ratings[~base.ratings["item_id"].isin(keep)], two[two["item_id"].isin(keep)]])
    ratings = workbench.read_ratings(frame, items=base.items, raters=base.raters)
    component = workbench.Cleaner(ratings=ratings, fit_now=False)
    floor = component._rule_rows[4]
    assert floor["params"]["k"].value == 2 and component.counts().get("drop", 0) == 0  # nothing silently dropped
    floor["params"]["k"].value = 3
    assert component.counts()["drop"] == 60 and "(30 of 90 items)" in floor["note"].object
    csv = pd.read_csv(io.BytesIO(component._download("csv").getvalue()))
    assert len(csv) == 180 and not csv["item_id"].isin(keep).any()  # the dropped ratings are not in the cleaned file
    floor["switch"].value = False
    assert floor["note"].object.startswith("*off; switched on: 60 ratings dropped (30 of 90 items)")
    given = workbench.Cleaner(ratings=ratings, fit_now=False, recipe=[{"rule": "min_ratings", "k": 3}])
    assert given.counts()["drop"] == 60  # a recipe given is taken as it is


def test_a_default_rule_that_would_drop_much_starts_off_and_says_so():
    base = workbench.simulate_study(seed=6, n_items=60, ratings_per_item=4, n_raters=12).ratings
    tagged = base.with_columns(items=pd.DataFrame({"unreliability_source": ["both_harmful"] * 30 + [None] * 30}, index=base.items.index))
    component = workbench.Cleaner(ratings=tagged, fit_now=False)
    row = component._rule_rows[3]  # drop_tagged would drop half of the items
    assert row["switch"].value is False and component.counts().get("drop", 0) == 0
    assert "off by default: on its own it would drop 30 of 60 items" in row["note"].object
    row["switch"].value = True  # the researcher's choice stands
    assert component.counts()["drop"] == 120 and row["switch"].value is True

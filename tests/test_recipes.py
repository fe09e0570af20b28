"""Cleaning recipes: every invariant of the issue, the rules one by one, formats and the store."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import workbench
from workbench import Recipe, WorkbenchDataError


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=3, n_items=300, ratings_per_item=6, n_raters=30)


@pytest.fixture(scope="module")
def enriched(study):
    """The study's ratings with committee groups, attentiveness and a tag column."""
    groups = workbench.committee_groups(study.ratings, study.scores)
    fit = workbench.fit_attentiveness(study.ratings, "model-strong", mu=0.7, prior_eta=None)
    tags = pd.Series(np.where(np.arange(300) % 10 == 0, "both_harmful", None), index=study.ratings.items.index, name="unreliability_source")
    return study.ratings.with_columns(items=groups[["committee_group", "n_agree"]].join(tags), raters=fit.users[["attentiveness"]])


SAC = [
    {"rule": "flip", "where": "committee_group == 'NoAgree'"},
    {"rule": "drop", "where": "committee_group == 'LowAgree' and split == 'harmless'"},
    {"rule": "drop_raters", "where": "attentiveness < 0.3"},
    {"rule": "drop_tagged", "scheme": "unreliability_source", "values": ["both_harmful"]},
    {"rule": "min_ratings", "k": 3},
]


def _snapshot(ratings):
    return ratings.ratings.copy(), ratings.items.copy(), ratings.raters.copy()


def test_the_issues_recipe_applies_and_never_modifies_its_input(enriched):
    before = _snapshot(enriched)
    cleaned, provenance = Recipe(SAC).apply(enriched)
    for was, now in zip(before, _snapshot(enriched)):
        pd.testing.assert_frame_equal(was, now)
    assert len(provenance) == enriched.n_ratings
    assert list(provenance.columns) == ["item_id", "rater_id", "label", "new_label", "action", "rule"]
    counts = provenance["action"].value_counts()
    assert counts.sum() == enriched.n_ratings and counts["keep"] + counts["flip"] == cleaned.n_ratings
    assert set(provenance.loc[provenance["action"] != "keep", "rule"].str[:1]) <= {"1", "2", "3", "4", "5"}


def test_provenance_matches_each_rule(enriched):
    _, provenance = Recipe(SAC).apply(enriched)
    frame = enriched.to_frame()
    flipped = provenance["action"] == "flip"
    assert (frame.loc[flipped, "committee_group"] == "NoAgree").all()
    assert (provenance.loc[flipped, "new_label"].astype(str) != provenance.loc[flipped, "label"].astype(str)).all()
    by_rule = provenance.groupby("rule", observed=True)["action"].agg(lambda a: set(a))
    assert by_rule.iloc[0] <= {"flip", "keep"}
    dropped_low = frame["committee_group"].eq("LowAgree") & frame["split"].eq("harmless")
    assert (provenance.loc[dropped_low, "action"] == "drop").all()
    inattentive = frame["attentiveness"] < 0.3
    assert inattentive.any() and (provenance.loc[inattentive, "action"] == "drop").all()
    tagged = frame["unreliability_source"].eq("both_harmful")
    assert (provenance.loc[tagged, "action"] == "drop").all()
    assert provenance.loc[provenance["action"] == "drop", "new_label"].isna().all()


def test_flip_swaps_a_and_b_and_leaves_ties():
    frame = pd.DataFrame({"item_id": [1, 1, 1, 2, 2], "rater_id": list("abcab"), "label": ["A", "B", "tie", "A", "tie"]})
    ratings = workbench.Ratings.from_frame(frame)
    cleaned, provenance = Recipe([{"rule": "flip", "where": "item_id == '1'"}]).apply(ratings)
    assert provenance["new_label"].astype(str).tolist() == ["B", "A", "tie", "A", "tie"]
    assert provenance["action"].astype(str).tolist() == ["flip", "flip", "keep", "keep", "keep"]
    assert cleaned.ratings["label"].tolist() == ["B", "A", "tie", "A", "tie"]
    assert ratings.ratings["label"].tolist() == ["A", "B", "tie", "A", "tie"]


def test_flipping_twice_is_the_identity(enriched):
    flip = {"rule": "flip", "where": "split == 'harmless'"}
    once, _ = Recipe([flip]).apply(enriched)
    twice, provenance = Recipe([flip, flip]).apply(enriched)
    again, _ = Recipe([flip]).apply(once)
    for result in (twice, again):
        pd.testing.assert_frame_equal(result.ratings, enriched.ratings)
    assert (provenance["action"] == "keep").all()


def test_a_disabled_rule_changes_nothing(enriched):
    rules = [dict(rule) for rule in SAC]
    full_cleaned, full = Recipe(rules).apply(enriched)
    for position in range(len(rules)):
        off = Recipe(rules).with_enabled(position, False)
        without = Recipe([r for k, r in enumerate(rules) if k != position])
        a, b = off.apply(enriched)[1], without.apply(enriched)[1]
        pd.testing.assert_series_equal(a["action"], b["action"])
        pd.testing.assert_series_equal(a["new_label"], b["new_label"])
    nothing = Recipe([{**r, "enabled": False} for r in rules]).apply(enriched)
    pd.testing.assert_frame_equal(nothing[0].ratings, enriched.ratings)
    assert (nothing[1]["action"] == "keep").all() and nothing[1]["rule"].isna().all()


def test_the_same_recipe_on_the_same_data_gives_the_same_result(enriched):
    first, second = Recipe(SAC).apply(enriched), Recipe(SAC).apply(enriched)
    pd.testing.assert_frame_equal(first[1], second[1])
    pd.testing.assert_frame_equal(first[0].ratings, second[0].ratings)
    pd.testing.assert_frame_equal(first[0].items, second[0].items)


def test_min_ratings_counts_what_is_left():
    frame = pd.DataFrame({"item_id": [1, 1, 1, 2, 2, 2], "rater_id": list("abcabc"), "label": list("AABABB")})
    ratings = workbench.Ratings.from_frame(frame)
    cleaned, provenance = Recipe([{"rule": "drop", "where": "rater_id == 'a' and item_id == '2'"},
                                  {"rule": "min_ratings", "k": 3}]).apply(ratings)
    assert cleaned.items.index.tolist() == ["1"]
    assert provenance["rule"].astype(str).tolist()[3:] == ["1. drop: rater_id == 'a' and item_id == '2'"] + ["2. min_ratings: k=3"] * 2


@pytest.mark.parametrize("rules, message", [
    ([{"rule": "shuffle", "where": "x"}], "rule 1: unknown rule 'shuffle'"),
    ([{"rule": "drop"}], "rule 1 \\(drop\\) needs 'where'"),
    ([{"rule": "drop", "where": "split == 'a'", "k": 2}], "unknown parameter 'k'"),
    ([{"rule": "min_ratings", "k": 0}], "'k' must be a whole number"),
    ([{"rule": "drop", "where": "split == 'a'", "enabled": "yes"}], "'enabled' must be true or false"),
    ([{"rule": "drop_tagged", "scheme": "s", "values": [1]}], "'values' must be a list of tag values"),
    ("drop everything", "a recipe is a list of rule dicts"),
])
def test_malformed_recipes_are_refused_when_built(rules, message):
    with pytest.raises(WorkbenchDataError, match=message):
        Recipe(rules)


@pytest.mark.parametrize("where, message", [
    ("spilt == 'harmless'", "rule 2 \\(drop\\): unknown column 'spilt'.*did you mean 'split'"),
    ("split == ", "malformed expression"),
    ("split.__class__", "uses .__class__"),
    ("__import__('os').system('true')", "uses .system"),
    ("__import__('os')", "calls something other than a column method"),
    ("[x for x in split]", "ListComp"),
    ("@flag", "malformed expression"),
    ("split[0] == 'a'", "Subscript"),
    ("n_agree", "must give true/false"),
])
def test_bad_expressions_are_named_and_nothing_is_applied(enriched, where, message):
    before = _snapshot(enriched)
    recipe = Recipe([{"rule": "flip", "where": "split == 'helpful'"}, {"rule": "drop", "where": where}])
    with pytest.raises(WorkbenchDataError, match=message):
        recipe.apply(enriched)
    for was, now in zip(before, _snapshot(enriched)):
        pd.testing.assert_frame_equal(was, now)


def test_rules_need_their_columns(enriched, study):
    with pytest.raises(WorkbenchDataError, match="no tags of scheme 'plurality'"):
        Recipe([{"rule": "drop_tagged", "scheme": "plurality", "values": ["multiple_correct"]}]).apply(enriched)
    with pytest.raises(WorkbenchDataError, match="rule 1 \\(drop_raters\\): unknown column 'split'"):
        Recipe([{"rule": "drop_raters", "where": "split == 'harmless'"}]).apply(enriched)
    with pytest.raises(WorkbenchDataError, match="drops every rating"):
        Recipe([{"rule": "drop", "where": "n_agree >= 0"}]).apply(enriched)
    numbers = workbench.Ratings.from_matrix([[1, 2], [3, 4]], level="interval")
    with pytest.raises(WorkbenchDataError, match="a flip rule needs pairwise labels"):
        Recipe([{"rule": "flip", "where": "label > 1"}]).apply(numbers)


def test_expressions_mix_rating_item_and_rater_columns(enriched):
    recipe = Recipe([{"rule": "drop", "where": "label == 'A' and split == 'helpful' and age_band in ['18-34', '55+']"}])
    _, provenance = recipe.apply(enriched)
    frame = enriched.to_frame()
    expected = frame["label"].eq("A") & frame["split"].eq("helpful") & frame["age_band"].isin(["18-34", "55+"])
    assert (provenance["action"].eq("drop") == expected).all() and expected.any()
    methods = Recipe([{"rule": "drop", "where": "prompt.str.contains('lock') or unreliability_source.notna()"}])
    _, provenance = methods.apply(enriched)
    expected = frame["prompt"].str.contains("lock") | frame["unreliability_source"].notna()
    assert (provenance["action"].eq("drop") == expected).all()


def test_multi_choice_tags_as_boolean_columns(study):
    flags = pd.DataFrame({"unreliability_source=both_harmful": [True, False, None]},
                         index=study.ratings.items.index[:3]).astype("boolean")
    ratings = study.ratings.with_columns(items=flags)
    _, provenance = Recipe([{"rule": "drop_tagged", "scheme": "unreliability_source", "values": ["both_harmful"]}]).apply(ratings)
    dropped = provenance.loc[provenance["action"] == "drop", "item_id"].unique().tolist()
    assert dropped == [study.ratings.items.index[0]]


rule_strategy = st.one_of(
    st.builds(lambda g, on: {"rule": "flip", "where": f"committee_group == '{g}'", "enabled": on},
              st.sampled_from(["NoAgree", "LowAgree", "HighAgree"]), st.booleans()),
    st.builds(lambda s, on: {"rule": "drop", "where": f"split == '{s}' and label == 'B'", "enabled": on},
              st.sampled_from(["helpful", "harmless"]), st.booleans()),
    st.builds(lambda t, on: {"rule": "drop_raters", "where": f"attentiveness < {t}", "enabled": on},
              st.sampled_from([0.1, 0.3, 0.5]), st.booleans()),
    st.builds(lambda k, on: {"rule": "min_ratings", "k": k, "enabled": on}, st.integers(1, 6), st.booleans()),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(rule_strategy, min_size=1, max_size=5))
def test_keep_flip_drop_account_for_every_input_row(enriched, rules):
    try:
        cleaned, provenance = Recipe(rules).apply(enriched)
    except WorkbenchDataError as err:
        assert "drops every rating" in str(err)
        return
    counts = provenance["action"].value_counts()
    assert counts["keep"] + counts["flip"] + counts["drop"] == enriched.n_ratings
    assert counts["keep"] + counts["flip"] == cleaned.n_ratings
    survived = provenance[provenance["action"] != "drop"]
    assert survived["new_label"].astype(str).tolist() == cleaned.ratings["label"].tolist()
    assert (provenance["rule"].isna() == (provenance["action"] == "keep")).sum() >= counts["drop"]


def test_json_yaml_and_store_round_trips(tmp_path):
    recipe = Recipe(SAC, name="sac")
    assert Recipe.from_json(recipe.to_json()) == recipe
    assert Recipe.from_yaml(recipe.to_yaml()) == recipe
    assert "enabled: true" in recipe.to_yaml() and recipe.to_dict()["rules"][3]["values"] == ["both_harmful"]
    store = workbench.Store(tmp_path / "p.sqlite")
    recipe.save(store)
    recipe.with_enabled(0, False).save(store, "sac")  # a second version under the same name
    assert Recipe.load(store, "sac") == recipe.with_enabled(0, False)
    assert store.recipe_names() == ["sac"]
    recipe.save(store, "sac-copy")  # the stored document carries the name it was saved under
    assert store.load_recipe("sac-copy") == {**recipe.to_dict(), "name": "sac-copy"}
    with pytest.raises(WorkbenchDataError, match="recipe YAML is malformed"):
        Recipe.from_yaml("rules: [")


def test_recipe_effect_reports_counts_and_alpha_with_intervals(enriched):
    effect = workbench.recipe_effect(enriched, SAC, n_boot=100)
    _, provenance = Recipe(SAC).apply(enriched)
    assert effect["dropped"].sum() == (provenance["action"] == "drop").sum()
    assert effect["n_ratings"].iloc[-1] == enriched.n_ratings - effect["dropped"].sum()
    assert (effect["before_low"] <= effect["before"]).all() and (effect["after"] <= effect["after_high"]).all()
    assert np.allclose(effect["after"].iloc[:-1].to_numpy(), effect["before"].iloc[1:].to_numpy())
    first = workbench.reliability(enriched, n_boot=100)["value"].iloc[0]
    assert effect["before"].iloc[0] == pytest.approx(first)


def test_dropped_numeric_ratings_have_no_new_label():
    frame = pd.DataFrame({"item_id": ["q1", "q1", "q2", "q2"], "rater_id": ["a", "b", "a", "b"],
                          "label": [1.5, 2.0, 3.25, 3.0], "split": ["x", "x", "y", "y"]})
    ratings = workbench.read_ratings(frame, level="interval")
    cleaned, provenance = Recipe([{"rule": "drop", "where": "split == 'y'"}]).apply(ratings)
    assert provenance["action"].tolist() == ["keep", "keep", "drop", "drop"]
    assert provenance["new_label"].tolist()[:2] == [1.5, 2.0] and provenance["new_label"].iloc[2:].isna().all()
    assert cleaned.ratings["label"].tolist() == [1.5, 2.0]


def test_a_constant_condition_applies_to_every_rating_or_none(enriched):
    cleaned, provenance = Recipe([{"rule": "drop", "where": "1 == 0"}]).apply(enriched)
    assert cleaned.n_ratings == enriched.n_ratings and (provenance["action"] == "keep").all()
    with pytest.raises(WorkbenchDataError, match="drops every rating"):
        Recipe([{"rule": "drop", "where": "1 == 1"}]).apply(enriched)

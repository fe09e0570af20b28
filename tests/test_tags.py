"""Tags as slices, the tagging queue, and agreement among taggers (workbench.analysis.tags)."""

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import Store, WorkbenchDataError


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=3, n_items=120, ratings_per_item=8, n_raters=40)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "p.sqlite")


def test_with_tags_single_and_multi_columns(study, store):
    items = study.ratings.items.index
    store.add_tag(items[0], "subjectivity", "manifest", tagger="ana")
    store.add_tag(items[1], "subjectivity", "latent_projective", tagger="ana")
    store.add_tag(items[1], "unreliability_source", "subjective_preference", tagger="ana")
    store.add_tag(items[1], "unreliability_source", "quality_threshold", tagger="ana")
    store.add_tag(items[2], "unreliability_source", "mislabeling", tagger="ana")
    store.add_tag("not-in-this-study", "subjectivity", "manifest", tagger="ana")  # ignored
    tagged = workbench.with_tags(study.ratings, store)
    assert "subjectivity" not in study.ratings.items  # the source is untouched
    table = tagged.items
    assert table["subjectivity"].iloc[:2].tolist() == ["manifest", "latent_projective"]
    assert table["subjectivity"].notna().sum() == 2
    assert table["plurality"].isna().all()
    multi = [f"unreliability_source={v}" for v in store.scheme("unreliability_source").values]
    assert set(multi) <= set(table.columns)
    assert table.loc[items[1], multi].tolist() == [False, True, False, True, False, False]
    assert table["unreliability_source=mislabeling"].dtype == "boolean"
    assert table.loc[items[2], "unreliability_source=mislabeling"] == True  # noqa: E712
    assert table["unreliability_source=mislabeling"].isna().sum() == len(items) - 2  # untagged: missing, not False
    assert tagged.n_ratings == study.ratings.n_ratings and tagged.meta["tag_conflicts"]["subjectivity"] == 0


def test_resolve_rules_and_conflict_counts(study, store):
    a, b, c = study.ratings.items.index[:3]
    for tagger, value in [("ana", "manifest"), ("ben", "manifest"), ("cy", "latent_pattern")]:
        store.add_tag(a, "subjectivity", value, tagger=tagger)  # 2 : 1
    for tagger, value in [("ana", "manifest"), ("ben", "latent_pattern")]:
        store.add_tag(b, "subjectivity", value, tagger=tagger)  # a tie, ben last
    store.add_tag(c, "subjectivity", "latent_projective", tagger="ana")
    store.add_tag(c, "subjectivity", "latent_projective", tagger="ben")
    for tagger in ("ana", "ben", "cy"):
        store.add_tag(a, "unreliability_source", "mislabeling", tagger=tagger)
    store.add_tag(a, "unreliability_source", "both_harmful", tagger="cy")  # 1 of 3: majority says no
    store.add_tag(b, "unreliability_source", "both_harmful", tagger="ana")
    store.add_tag(b, "unreliability_source", "mislabeling", tagger="ben")  # 1 of 2 each: ties

    def column(resolve, name):
        frame = workbench.tag_columns(store, [a, b, c], resolve=resolve)
        return frame[name].tolist(), frame.attrs["conflicts"][name]

    latest, _ = column("latest", "subjectivity")
    assert latest == ["latent_pattern", "latent_pattern", "latent_projective"]
    majority, n = column("majority", "subjectivity")
    assert majority[0] == "manifest" and pd.isna(majority[1]) and majority[2] == "latent_projective" and n == 1
    agreed, n = column("conflict", "subjectivity")
    assert pd.isna(agreed[0]) and pd.isna(agreed[1]) and agreed[2] == "latent_projective" and n == 2
    harmful = "unreliability_source=both_harmful"
    assert column("latest", harmful)[0][:2] == [True, False]  # cy wrote last on a, ben on b
    values, n = column("majority", harmful)
    assert values[0] == False  # noqa: E712 (nullable boolean)
    assert pd.isna(values[1]) and pd.isna(values[2]) and n == 1
    values, n = column("conflict", "unreliability_source=mislabeling")
    assert values[0] == True and pd.isna(values[1]) and n == 1  # noqa: E712
    with pytest.raises(WorkbenchDataError, match="unknown resolve rule 'vote'"):
        workbench.tag_columns(store, [a], resolve="vote")


def test_tags_slice_reliability_like_any_item_column(study, store):
    classes = study.truth["items"]["subjectivity"]
    for item, value in classes.items():
        store.add_tag(item, "subjectivity", value, tagger="truth")
    tagged = workbench.with_tags(study.ratings, store, schemes=["subjectivity"])
    by_tag = workbench.reliability(tagged, by="subjectivity", ci=None).set_index("subjectivity")["value"]
    for name in classes.unique():
        direct = workbench.reliability(study.ratings.subset(items=classes.index[classes == name]), ci=None)["value"].iloc[0]
        assert by_tag[name] == pytest.approx(direct, abs=1e-12)
    assert by_tag["manifest"] > by_tag["latent_projective"]
    with pytest.raises(WorkbenchDataError, match="already has a column 'subjectivity'"):
        workbench.with_tags(tagged, store, schemes=["subjectivity"])


def test_entropy_queue_puts_untagged_and_disputed_items_first(study, store):
    ratings = study.ratings
    entropy = workbench.entropy(ratings.label_counts(), normalize=True)
    most = entropy.idxmax()
    store.add_tag(most, "subjectivity", "latent_projective", tagger="ana")
    queue = workbench.tag_queue(ratings, store, "subjectivity")
    assert len(queue) == ratings.n_items and queue["item_id"].is_unique
    assert queue["tagged"].tolist() == [False] * (ratings.n_items - 1) + [True]
    untagged = queue[~queue["tagged"]]
    assert untagged["score"].is_monotonic_decreasing
    assert np.allclose(untagged["score"], entropy[untagged["item_id"]].to_numpy())
    # per tagger: ben has tagged nothing, so the disputed item is first for him
    ben = workbench.tag_queue(ratings, store, "subjectivity", tagger="ben")
    assert ben["item_id"].iloc[0] == most and not ben["tagged"].any() and ben["n_taggers"].iloc[0] == 1


def test_random_queue_is_seeded(study, store):
    one = workbench.tag_queue(study.ratings, store, "plurality", strategy="random", seed=1)
    assert one.equals(workbench.tag_queue(study.ratings, store, "plurality", strategy="random", seed=1))
    assert not one["item_id"].equals(workbench.tag_queue(study.ratings, store, "plurality", strategy="random", seed=2)["item_id"])


def test_divergence_queue_finds_the_planted_split(study, store):
    from scipy.stats import entropy as scipy_entropy

    ratings = study.ratings
    queue = workbench.tag_queue(ratings, store, "subjectivity", strategy="divergence", by="age_band").set_index("item_id")
    assert queue["score"].is_monotonic_decreasing
    planted = study.truth["items"]["planted_split"]
    means = queue["score"].groupby(planted).mean()
    assert means[True] > 1.4 * means[False]  # 8 ratings per item: small groups inflate the unplanted score
    # one item by hand: H(pooled) - sum_g w_g H(p_g), in bits
    item = queue.index[0]
    frame = ratings.to_frame()
    rows = frame[frame["item_id"] == item]
    pooled = rows["label"].value_counts().to_numpy()
    within = sum(len(g) / len(rows) * scipy_entropy(g["label"].value_counts().to_numpy(), base=2) for _, g in rows.groupby("age_band"))
    assert queue.loc[item, "score"] == pytest.approx(scipy_entropy(pooled, base=2) - within, abs=1e-12)
    with pytest.raises(WorkbenchDataError, match="needs by=<a rater column>"):
        workbench.tag_queue(ratings, store, "subjectivity", strategy="divergence")
    with pytest.raises(WorkbenchDataError, match="by='topic' is not a rater column"):
        workbench.tag_queue(ratings, store, "subjectivity", strategy="divergence", by="topic")


def test_conflict_queue_and_conflict_table(study, store):
    a, b, c = study.ratings.items.index[5:8]
    store.add_tag(a, "plurality", "single_correct", tagger="ana")
    store.add_tag(a, "plurality", "multiple_correct", tagger="ben", note="two good answers")
    store.add_tag(b, "plurality", "single_correct", tagger="ana")
    store.add_tag(b, "plurality", "single_correct", tagger="ben")
    store.add_tag(c, "plurality", "single_correct", tagger="ana")
    queue = workbench.tag_queue(study.ratings, store, "plurality", strategy="conflict")
    assert queue["item_id"].iloc[0] == a and queue["score"].iloc[0] == 1.0 and (queue["score"].iloc[1:] == 0).all()
    conflicts = workbench.tag_conflicts(store, "plurality")
    assert conflicts[["item_id", "tagger", "values"]].values.tolist() == [[a, "ana", "single_correct"], [a, "ben", "multiple_correct"]]
    assert conflicts["note"].tolist()[1] == "two good answers"
    with pytest.raises(WorkbenchDataError, match="unknown queue strategy 'hardest'"):
        workbench.tag_queue(study.ratings, store, "plurality", strategy="hardest")
    with pytest.raises(WorkbenchDataError, match="scheme 'mood' is not registered"):
        workbench.tag_queue(study.ratings, store, "mood")


def test_tagger_agreement_matches_krippendorff(store):
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(7)
    values = ["manifest", "latent_pattern", "latent_projective"]
    truth = rng.integers(0, 3, size=60)
    matrix = np.full((3, 60), np.nan)
    for t, tagger in enumerate(["ana", "ben", "cy"]):
        for item in range(60):
            if rng.random() < 0.8:
                code = truth[item] if rng.random() < 0.7 else rng.integers(0, 3)
                store.add_tag(f"q{item}", "subjectivity", values[code], tagger=tagger)
                matrix[t, item] = code
    row = workbench.tagger_agreement(store, "subjectivity", n_boot=200).iloc[0]
    assert row["alpha"] == pytest.approx(krippendorff.alpha(matrix, level_of_measurement="nominal"), abs=1e-12)
    assert row["ci_low"] <= row["alpha"] <= row["ci_high"]
    assert row["n_items"] == int(((~np.isnan(matrix)).sum(axis=0) >= 2).sum()) and row["n_taggers"] == 3


def test_tagger_agreement_per_value_of_a_multi_choice_scheme(store):
    krippendorff = pytest.importorskip("krippendorff")
    tags = {  # item: (ana's values, ben's values)
        "q1": ({"mislabeling"}, {"mislabeling"}),
        "q2": ({"mislabeling", "both_harmful"}, {"both_harmful"}),
        "q3": ({"quality_threshold"}, {"mislabeling", "quality_threshold"}),
        "q4": ({"both_harmful"}, {"both_harmful"}),
    }
    for item, (ana, ben) in tags.items():
        for tagger, chosen in (("ana", ana), ("ben", ben)):
            for value in sorted(chosen):
                store.add_tag(item, "unreliability_source", value, tagger=tagger)
    store.add_tag("q5", "unreliability_source", "mislabeling", tagger="ana")  # one tagger only: left out
    table = workbench.tagger_agreement(store, "unreliability_source", ci=None).set_index("value")
    assert list(table.index) == list(store.scheme("unreliability_source").values)
    for value in ("mislabeling", "both_harmful", "quality_threshold"):
        matrix = [[float(value in tags[i][k]) for i in sorted(tags)] for k in (0, 1)]
        assert table.loc[value, "alpha"] == pytest.approx(krippendorff.alpha(matrix, level_of_measurement="nominal"), abs=1e-12)
    assert table.loc["mislabeling", "n_items"] == 4
    assert np.isnan(table.loc["both_misinformation", "alpha"]) and table.loc["both_misinformation", "note"]


def test_tagger_agreement_without_shared_items(store):
    store.add_tag("q1", "subjectivity", "manifest", tagger="ana")
    row = workbench.tagger_agreement(store, "subjectivity").iloc[0]
    assert np.isnan(row["alpha"]) and row["note"] == "no item has tags from two or more taggers"


def test_entropy_queue_scores_are_normalised_like_the_explorer(tmp_path):
    """Three categories: an even three-way split scores 1 (bits would give log2(3) = 1.585), unanimity 0."""
    ratings = workbench.Ratings.from_matrix([["A", "B", "C"], ["A", "A", "A"], ["A", "A", "B"]])  # raters × items
    queue = workbench.tag_queue(ratings, workbench.Store(tmp_path / "p.sqlite"), "subjectivity").set_index("item_id")
    assert queue.loc["2", "score"] == pytest.approx(1.0)
    assert queue.loc["0", "score"] == pytest.approx(0.0)
    assert queue.loc["1", "score"] == pytest.approx(workbench.entropy([2, 1]) / np.log2(3))

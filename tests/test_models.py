"""compare_models / compare_two / calibration_table against independent numpy, scipy, scikit-learn and krippendorff computations."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import pearsonr

import workbench

krippendorff = pytest.importorskip("krippendorff")
sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=2, n_items=240, ratings_per_item=6, n_raters=30)


@pytest.fixture(scope="module")
def with_ties():
    """Votes A / B / tie, some items split evenly, and one model's P(A)."""
    rng = np.random.default_rng(5)
    rows = [(f"i{i:03d}", f"r{r}", rng.choice(["A", "B", "tie"], p=[0.5, 0.35, 0.15]))
            for i in range(150) for r in rng.choice(12, size=rng.integers(2, 6), replace=False)]
    frame = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"])
    frame["group"] = np.where(frame["item_id"].str[-1].astype(int) % 2 == 0, "even", "odd")
    ratings = workbench.Ratings.from_frame(frame, item_columns=["group"])
    p_model = pd.Series(rng.uniform(0.05, 0.95, size=150), index=ratings.items.index, name="p_a")
    p_model.iloc[:3] = 0.5  # exact model ties count half
    return ratings, p_model


def _reference(ratings, p_model):
    pairs = ratings.pairs()
    p = p_model.loc[pairs.index].to_numpy()
    human = pairs["p_a"].to_numpy()
    decided = human != 0.5
    majority_a = human > 0.5
    correct = np.where(p == 0.5, 0.5, (p > 0.5) == majority_a)[decided].mean()
    model_label = np.where(p > 0.5, "A", np.where(p < 0.5, "B", None))
    usable = decided & (model_label != None)  # noqa: E711
    kappa = sklearn_metrics.cohen_kappa_score(model_label[usable], np.where(majority_a, "A", "B")[usable])
    jsd = np.mean([jensenshannon([a, 1 - a], [b, 1 - b], base=2) ** 2 for a, b in zip(p, human)])
    matrix = ratings.ratings.pivot(index="rater_id", columns="item_id", values="label").reindex(columns=pairs.index)
    codes = matrix.replace({"A": 0, "B": 1, "tie": 2}).astype(float).to_numpy()
    model_row = np.where(p > 0.5, 0.0, np.where(p < 0.5, 1.0, np.nan))
    return {
        "n_items": len(pairs), "n_human_ties": int((~decided).sum()), "accuracy": correct,
        "pearson_r": pearsonr(p, human)[0], "mean_l1": np.abs(p - human).mean(),
        "brier": ((p - majority_a) ** 2)[decided].mean(), "jsd": jsd, "kappa": kappa,
        "alpha_with_model": krippendorff.alpha(np.vstack([codes, model_row]), level_of_measurement="nominal", value_domain=[0, 1, 2]),
        "alpha_humans": krippendorff.alpha(codes, level_of_measurement="nominal", value_domain=[0, 1, 2]),
    }


def test_metrics_match_independent_computations(with_ties):
    ratings, p_model = with_ties
    table = workbench.compare_models(ratings, {"m": p_model}, by="group", n_boot=50)
    assert table["group"].tolist() == ["all", "even", "odd"]
    for group, row in table.set_index("group").iterrows():
        subset = ratings if group == "all" else ratings.subset(items=ratings.items.index[ratings.items["group"] == group])
        expected = _reference(subset, p_model)
        assert expected["n_human_ties"] > 0
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (group, key)


def test_intervals_bracket_the_values(study):
    table = workbench.compare_models(study.ratings, study.scores, n_boot=300)
    assert len(table) == study.scores["model"].nunique()
    for metric in ("accuracy", "pearson_r", "mean_l1", "jsd", "kappa", "alpha_with_model"):
        assert (table[f"{metric}_low"] <= table[metric]).all() and (table[metric] <= table[f"{metric}_high"]).all(), metric
    ordered = table.set_index("model")["accuracy"]
    assert ordered["rm-1"] > ordered["rm-5"]  # the committee's quality shows through the people's votes


def test_scores_from_score_columns_equal_probabilities(study):
    one = study.scores[study.scores["model"] == "rm-2"]
    p = 1 / (1 + np.exp(one["score_b"] - one["score_a"]))
    by_scores = workbench.compare_models(study.ratings, {"x": one.drop(columns="model")}, ci=None)
    by_p = workbench.compare_models(study.ratings, {"x": pd.DataFrame({"item_id": one["item_id"], "p_a": p})}, ci=None)
    pd.testing.assert_frame_equal(by_scores, by_p)


def test_two_copies_of_one_model_differ_by_zero(study):
    one = study.scores[study.scores["model"] == "rm-3"].drop(columns="model")
    diff = workbench.compare_two(study.ratings, {"a": one, "b": one.copy()}, "a", "b", n_boot=200)
    defined = diff["difference"].notna()
    # with 6 votes an item is unanimous, a clear majority (≥ 4 of 6) or an exact tie: no decided split item
    assert diff.loc[~defined, "metric"].tolist() == ["accuracy_split"]
    assert (diff.loc[defined, "difference"] == 0).all()
    assert ((diff.loc[defined, "ci_low"] <= 0) & (diff.loc[defined, "ci_high"] >= 0)).all()
    assert set(diff["better"]) == {"undecided", "not ranked"}
    assert set(diff.loc[diff["better"] == "not ranked", "metric"]) == {"accuracy_split", "length_bias_r"}


def test_the_difference_interval_finds_the_better_model(study):
    diff = workbench.compare_two(study.ratings, study.scores, "rm-5", "rm-1", by="split", n_boot=300)
    overall = diff[diff["split"] == "all"].set_index("metric")
    assert overall.loc["accuracy", "better"] == "rm-1" and overall.loc["accuracy", "ci_low"] > 0
    assert overall.loc["pearson_r", "better"] == "rm-1" and overall.loc["pearson_r", "ci_low"] > 0
    from workbench.kernels.model_metrics import HIGHER_IS_BETTER

    for _, row in diff[~diff["better"].isin(["undecided", "not ranked"])].iterrows():  # the named model has the better value
        winner_b = row["better"] == "rm-1"
        assert (row["value_b"] > row["value_a"]) == (winner_b == HIGHER_IS_BETTER[row["metric"]]), row["metric"]
    table = workbench.compare_models(study.ratings, study.scores, by="split", ci=None).set_index(["model", "split"])
    for split, row in diff[diff["metric"] == "pearson_r"].set_index("split").iterrows():
        expected = table.loc[("rm-1", split), "pearson_r"] - table.loc[("rm-5", split), "pearson_r"]
        assert row["difference"] == pytest.approx(expected)
    lines = workbench.analysis.models.verdict(diff)
    assert lines[0].startswith("all: rm-1 agrees with people better: Δr = +")
    for metric, symbol in (("kappa", "Δκ"), ("alpha_with_model", "Δα"), ("mean_l1", "ΔL1"), ("jsd", "ΔJSD")):
        lines = workbench.analysis.models.verdict(diff, metric)
        assert len(lines) == diff["split"].nunique() and all(f" {symbol} = " in line for line in lines), metric


def test_paired_interval_is_narrower_than_unpaired(study):
    """Pairing removes the shared item-to-item variation: the difference's interval is tighter than the sum of widths."""
    diff = workbench.compare_two(study.ratings, study.scores, "rm-2", "rm-1", n_boot=300).set_index("metric")
    single = workbench.compare_models(study.ratings, study.scores, n_boot=300).set_index("model")
    width = diff.loc["mean_l1", "ci_high"] - diff.loc["mean_l1", "ci_low"]
    separate = sum(single.loc[m, "mean_l1_high"] - single.loc[m, "mean_l1_low"] for m in ("rm-1", "rm-2"))
    assert width < separate


def test_two_column_slices_make_a_combined_category(study):
    truth = study.truth["items"][["plurality", "distinguishability"]]
    ratings = study.ratings.with_columns(items=truth)
    table = workbench.compare_models(ratings, study.scores, by=["plurality", "distinguishability"], ci=None)
    names = set(table["plurality × distinguishability"])
    assert "multiple_correct × indistinguishable" in names and "all" in names
    sizes = table[table["model"] == "rm-1"].set_index("plurality × distinguishability")["n_items"]
    assert sizes.drop("all").sum() == sizes["all"] == 240


def test_calibration_table_bins_every_item(study):
    table = workbench.calibration_table(study.ratings, study.scores, bins=4)
    one = table[table["model"] == "rm-1"]
    assert one["n_items"].sum() == 240 and len(one) == 4
    scores = study.scores[study.scores["model"] == "rm-1"].set_index("item_id")
    p = 1 / (1 + np.exp(scores["score_b"] - scores["score_a"]))
    top = p[p >= 0.75].index
    assert one["human_p_a"].iloc[-1] == pytest.approx(study.ratings.pairs().loc[top, "p_a"].mean())


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda r, s: workbench.compare_models(r, s, by="nope"), "not an item column"),
        (lambda r, s: workbench.compare_models(r, {"m": pd.DataFrame({"x": [1]})}), "need an item_id"),
        (lambda r, s: workbench.compare_models(r, {"m": pd.DataFrame({"item_id": ["zzz"], "p_a": [0.3]})}), "no item is both rated"),
        (lambda r, s: workbench.compare_models(r, {"m": pd.DataFrame({"item_id": ["demo-000001"], "p_a": [1.3]})}), "no usable probability"),
        (lambda r, s: workbench.compare_models(r, s, ci=1.5), "ci must lie"),
        (lambda r, s: workbench.compare_two(r, s, "rm-1", "rm-9"), "no scores for model 'rm-9'"),
        (lambda r, s: workbench.compare_models(r, {}), "^scores must map model name"),
        (lambda r, s: workbench.compare_two(r, s, "rm-1", "rm-2", ci=None), "^compare_two needs an interval level ci"),
        (lambda r, s: workbench.compare_models(r, s, n_boot=0), "^n_boot must be a positive whole number, got 0"),
    ],
)
def test_bad_input_is_named(study, call, match):
    with pytest.raises(workbench.WorkbenchDataError, match=match):
        call(study.ratings, study.scores)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_cuda_comparison_matches_cpu(study):
    cpu = workbench.compare_models(study.ratings, study.scores, by="split", n_boot=200, device="cpu")
    cuda = workbench.compare_models(study.ratings, study.scores, by="split", n_boot=200, device="cuda")
    pd.testing.assert_frame_equal(cuda, cpu, atol=1e-10, rtol=0)


def test_model_vs_human_pairs_each_models_p_a_with_the_peoples(with_ties):
    from workbench.analysis.models import model_vs_human

    ratings, p_model = with_ties
    human = ratings.pairs()["p_a"]
    scores = {"full": p_model, "half": p_model.iloc[::2] * 0.5}
    out = model_vs_human(ratings, scores, by=["group", "group"])
    assert out.columns.tolist() == ["item_id", "model", "model_p_a", "human_p_a", "group × group"]
    for name, p in scores.items():
        rows = out[out["model"] == name]
        assert rows["item_id"].tolist() == p.index.tolist()
        assert rows["model_p_a"].tolist() == p.tolist()
        assert rows["human_p_a"].tolist() == human.loc[p.index].tolist()
        group = ratings.items.loc[p.index, "group"]
        assert rows["group × group"].tolist() == (group + " × " + group).tolist()
    assert model_vs_human(ratings, scores, by="group")["group"].tolist() == out["group × group"].str.split(" × ").str[0].tolist()
    assert "group" not in model_vs_human(ratings, scores).columns


def test_one_replicate_is_a_valid_bootstrap(study):
    """n_boot=1, the smallest allowed: both interval ends are that replicate's value."""
    table = workbench.compare_models(study.ratings, study.scores, n_boot=1)
    low = [c for c in table.columns if c.endswith("_low")]
    assert low and np.array_equal(table[low].to_numpy(), table[[c[:-4] + "_high" for c in low]].to_numpy(), equal_nan=True)


def test_the_documented_defaults_are_1000_replicates_at_95_percent(with_ties):
    ratings, p_model = with_ties
    default = workbench.compare_models(ratings, {"m": p_model})
    pd.testing.assert_frame_equal(default, workbench.compare_models(ratings, {"m": p_model}, ci=0.95, n_boot=1000, seed=0))
    assert not default.equals(workbench.compare_models(ratings, {"m": p_model}, n_boot=999))

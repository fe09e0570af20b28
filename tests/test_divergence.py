"""group_divergence and cross_reliability on simulations written here (the truth is known), plus real data."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

import workbench
from workbench import WorkbenchDataError
from workbench.kernels import divergence as kernel


def pools(seed=0, n_items=200, per_pool=10, raters_per_pool=40, split=0, shift=0.6, n_values=2, names=("a", "b")):
    """Two rater pools label every item, ``per_pool`` raters from each; pool b leans away on the first ``split`` items.

    An item's base distribution is Dirichlet(2); on split items pool b puts ``shift`` more mass on the
    category that pool a uses least. Raters keep their pool on every item.
    """
    rng = np.random.default_rng(seed)
    base = rng.dirichlet(np.full(n_values, 2.0), size=n_items)
    leaning = base.copy()
    least = base.argmin(axis=1)
    for i in range(split):
        leaning[i] = (1 - shift) * base[i]
        leaning[i, least[i]] += shift
    rows = []
    for pool, probs in zip(names, (base, leaning)):
        raters = [f"{pool}{k}" for k in range(raters_per_pool)]
        for i in range(n_items):
            who = rng.choice(raters, size=per_pool, replace=False)
            labels = rng.choice(n_values, size=per_pool, p=probs[i])
            rows += [(f"i{i:04d}", r, int(v), pool) for r, v in zip(who, labels)]
    frame = pd.DataFrame(rows, columns=["item", "rater", "label", "pool"])
    return workbench.Ratings.from_frame(frame, item="item", rater="rater", label="label", rater_columns=["pool"], item_columns=[])


def numpy_jsd(p, q):
    m = (p + q) / 2

    def h(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.nansum(np.where(x > 0, x * np.log2(x), 0.0), axis=-1)

    return h(m) - (h(p) + h(q)) / 2


def test_planted_split_items_rank_at_the_top():
    ratings = pools(seed=1, split=20, per_pool=15, shift=0.9)
    table = workbench.group_divergence(ratings, by="pool", n_perm=500, seed=0)  # p ≥ 1/501: enough for BH over 200
    top = set(table["item_id"].head(20))
    precision = len(top & {f"i{i:04d}" for i in range(20)}) / 20
    assert precision >= 0.85, precision  # 0.9 here; pure noise would give 0.1
    assert table["q_value"].head(10).max() < 0.05


def test_false_positive_rate_is_nominal_without_a_split():
    ratings = pools(seed=2, n_items=400, per_pool=12, n_values=3)
    table = workbench.group_divergence(ratings, by="pool", n_perm=200, seed=0)
    share = float((table["p_value"] < 0.05).mean())
    low, high = binom.ppf([0.001, 0.999], 400, 0.05) / 400  # 99.8 % band around 5 %
    assert table["p_value"].notna().all()
    assert low - 0.01 <= share <= high, share  # permutation p-values of discrete statistics are slightly conservative
    assert table.attrs["overall"]["p_value"] > 0.01


def test_power_on_strong_planted_splits():
    ratings = pools(seed=3, n_items=100, split=50, per_pool=15, shift=0.9)
    table = workbench.group_divergence(ratings, by="pool", n_perm=200, seed=0).set_index("item_id")
    split = table.loc[[f"i{i:04d}" for i in range(50)], "p_value"]
    assert (split < 0.05).mean() >= 0.8
    assert table.attrs["overall"]["p_value"] < 0.01


def test_jsd_equals_an_independent_numpy_computation():
    ratings = pools(seed=4, n_items=60, per_pool=6, n_values=3, split=10)
    table = workbench.group_divergence(ratings, by="pool", n_perm=0).set_index("item_id")
    frame = ratings.to_frame()
    counts = pd.crosstab([frame["item_id"], frame["pool"]], frame["label"]).reindex(columns=[0, 1, 2], fill_value=0)
    p = counts.xs("a", level="pool").to_numpy(float)
    q = counts.xs("b", level="pool").to_numpy(float)
    expected = numpy_jsd(p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True))
    items = counts.xs("a", level="pool").index
    np.testing.assert_allclose(table.loc[items, "jsd"].to_numpy(), expected, atol=1e-12)
    assert (table["n_a"] == 6).all() and (table["n_b"] == 6).all()
    assert table["p_value"].isna().all()  # n_perm=0: no test


def test_p_values_count_the_observed_split_as_one_permutation():
    """Permutation p-values are (1 + #{null ≥ observed}) / (1 + n_perm) and never 0 (synthetic; no shared data needed).

    Every rater rates every item, pool a always says 0 and pool b always says 1: the observed JSD is
    1 bit, and a relabelling of the 20 raters reaches it only by restoring the split (2 of
    C(20, 10) = 184,756 assignments). So, by hand, 200 permutations give p = 1/201 for every item and
    for the overall test; without the +1 correction they would give 0. (Checked: with
    ``(1 + found.reached) / (1 + found.defined)`` changed to ``found.reached / found.defined`` in
    analysis/divergence.py this test fails; see tests/MUTANTS.md, "Planted bugs of issue 23".)
    """
    rows = [(f"i{i}", f"{pool}{k}", int(pool == "b"), pool) for i in range(12) for pool in "ab" for k in range(10)]
    frame = pd.DataFrame(rows, columns=["item", "rater", "label", "pool"])
    ratings = workbench.Ratings.from_frame(frame, item="item", rater="rater", label="label", rater_columns=["pool"], item_columns=[])
    table = workbench.group_divergence(ratings, by="pool", n_perm=200, seed=0)
    np.testing.assert_allclose(table["jsd"].to_numpy(), 1.0, atol=1e-12)
    np.testing.assert_allclose(table["p_value"].to_numpy(), 1 / 201, rtol=1e-12)
    assert table.attrs["overall"]["p_value"] == pytest.approx(1 / 201, rel=1e-12)
    noise = workbench.group_divergence(pools(seed=9, n_items=40, per_pool=8), by="pool", n_perm=50, seed=1)
    assert (noise["p_value"] >= 1 / 51 - 1e-15).all() and (noise["p_value"] <= 1).all()


def test_three_groups_take_the_group_furthest_from_the_rest():
    study = workbench.simulate_study(seed=0, n_items=80, ratings_per_item=20, n_raters=60)
    table = workbench.group_divergence(study.ratings, by="age_band", n_perm=0, min_per_group=1).set_index("item_id")
    frame = study.ratings.to_frame()
    for item in table.index[:5]:
        rows = frame[frame["item_id"] == item]
        best = {}
        for band in rows["age_band"].unique():
            inside = rows["age_band"] == band
            p = rows.loc[inside, "label"].value_counts(normalize=True).reindex(["A", "B"], fill_value=0).to_numpy()
            q = rows.loc[~inside, "label"].value_counts(normalize=True).reindex(["A", "B"], fill_value=0).to_numpy()
            best[band] = numpy_jsd(p, q)
        assert table.loc[item, "jsd"] == pytest.approx(max(best.values()), abs=1e-12)
        assert best[table.loc[item, "group"]] == pytest.approx(max(best.values()), abs=1e-12)


def test_the_demo_split_is_found():
    study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=20, n_raters=80)
    table = workbench.group_divergence(study.ratings, by="age_band", n_perm=500)
    planted = study.truth["items"]["planted_split"]
    assert planted.mean() < 0.2  # the base rate
    found = table[table["p_value"] < 0.01]
    assert len(found) >= 10 and planted[found["item_id"]].mean() > 0.6
    assert planted[table["item_id"].head(20)].mean() > 0.6 and (table["group"].head(20) == "18-34").mean() >= 0.5  # chance: 1/3
    assert table.attrs["overall"]["p_value"] < 0.01


def test_permutation_null_is_seeded_and_does_not_depend_on_the_batch_size(monkeypatch):
    ratings = pools(seed=5, n_items=50, split=5)
    first = workbench.group_divergence(ratings, by="pool", n_perm=50, seed=7)
    monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 150)  # batches of one permutation
    second = workbench.group_divergence(ratings, by="pool", n_perm=50, seed=7)
    pd.testing.assert_frame_equal(first, second)
    other = workbench.group_divergence(ratings, by="pool", n_perm=50, seed=8)
    assert not np.array_equal(first["p_value"].to_numpy(), other["p_value"].to_numpy())


def test_small_groups_are_kept_untested_with_a_note():
    ratings = pools(seed=6, n_items=30, per_pool=2)
    table = workbench.group_divergence(ratings, by="pool", n_perm=20, min_per_group=3)
    assert table["p_value"].isna().all() and table["q_value"].isna().all()
    assert table["jsd"].notna().all()
    assert table["note"].str.contains("not tested: no group has 3\\+ ratings").all()
    assert np.isnan(table.attrs["overall"]["p_value"])


def test_per_rating_groups_are_permuted_among_ratings():
    ratings = pools(seed=7, n_items=40, split=10)
    frame = ratings.to_frame().rename(columns={"pool": "batch"})
    per_rating = workbench.Ratings.from_frame(frame, item_columns=[], rater_columns=[])
    assert "batch" in per_rating.ratings.columns
    table = workbench.group_divergence(per_rating, by="batch", n_perm=100)
    by_rater = workbench.group_divergence(ratings, by="pool", n_perm=0)
    np.testing.assert_allclose(np.sort(table["jsd"]), np.sort(by_rater["jsd"]), atol=1e-12)
    assert table.attrs["overall"]["permuted"] == "batch among ratings"


def test_input_errors_name_the_cause():
    study = workbench.simulate_study(seed=0, n_items=30, ratings_per_item=4, n_raters=12)
    with pytest.raises(WorkbenchDataError, match="'nope' is not a rater or rating column; choose one of 'age_band'"):
        workbench.group_divergence(study.ratings, by="nope")
    with pytest.raises(WorkbenchDataError, match="'split' is an item column"):
        workbench.group_divergence(study.ratings, by="split")
    one = study.ratings.subset(raters=study.ratings.raters.index[study.ratings.raters["region"] == "Europe"])
    with pytest.raises(WorkbenchDataError, match="at least two groups, but column 'region' has one value"):
        workbench.cross_reliability(one, by="region")
    counts = workbench.Ratings.from_counts(pd.DataFrame({"x": [3, 1], "y": [0, 2]}, index=["q1", "q2"]))
    with pytest.raises(WorkbenchDataError, match=r"only per-item counts \(from_counts\)"):
        workbench.group_divergence(counts, by="age_band")
    read = workbench.Ratings.from_counts(counts.label_counts(), meta={"source": "chaos.jsonl"})
    with pytest.raises(WorkbenchDataError, match=r"^cross_reliability\(\) compares groups of raters, but this data set "
                                                 r"has only per-item counts \(chaos.jsonl\)"):
        workbench.cross_reliability(read, by="age_band")
    with pytest.raises(WorkbenchDataError, match="n_perm must be a whole number"):
        workbench.group_divergence(study.ratings, by="age_band", n_perm=-1)
    with pytest.raises(WorkbenchDataError, match="takes a workbench Ratings"):
        workbench.cross_reliability(study.ratings.to_frame(), by="age_band")


# ---------------------------------------------------------------- cross-group agreement (M6)

def test_xrr_is_one_for_two_pools_of_one_population_and_falls_with_the_planted_share():
    values = []
    for split in (0, 60, 120):
        ratings = pools(seed=8, n_items=200, per_pool=8, split=split, shift=0.6, n_values=2)
        row = workbench.cross_reliability(ratings, by="pool", n_boot=200).iloc[0]
        values.append(row["xrr"])
        if split == 0:
            assert 0.85 <= row["xrr"] <= 1.15 and row["xrr_ci_low"] <= 1 <= row["xrr_ci_high"]
            assert row["kappa_x_ci_low"] <= row["kappa_x"] <= row["kappa_x_ci_high"]
    assert values[0] > values[1] > values[2]
    assert values[2] < 0.6


def test_kappa_x_matches_a_direct_pair_count():
    ratings = pools(seed=9, n_items=40, per_pool=4, n_values=3, split=10)
    row = workbench.cross_reliability(ratings, by="pool", ci=None).iloc[0]
    frame = ratings.to_frame()
    disagree = pairs = 0
    for _, rows in frame.groupby("item_id"):
        a = rows.loc[rows["pool"] == "a", "label"].to_numpy()
        b = rows.loc[rows["pool"] == "b", "label"].to_numpy()
        disagree += (a[:, None] != b[None, :]).sum()
        pairs += len(a) * len(b)
    p_a = frame.loc[frame["pool"] == "a", "label"].value_counts(normalize=True).reindex([0, 1, 2], fill_value=0)
    p_b = frame.loc[frame["pool"] == "b", "label"].value_counts(normalize=True).reindex([0, 1, 2], fill_value=0)
    expected = 1 - (disagree / pairs) / (1 - (p_a * p_b).sum())
    assert row["kappa_x"] == pytest.approx(expected, abs=1e-12)
    alpha_a = workbench.reliability(ratings.subset(raters=[r for r in ratings.raters.index if r.startswith("a")]), ci=None)
    assert row["alpha_a"] == pytest.approx(alpha_a["value"].iloc[0], abs=1e-12)
    assert np.isnan(row["xrr_ci_low"])


def test_items_rated_by_one_group_are_left_out_and_counted():
    ratings = pools(seed=10, n_items=30, per_pool=4)
    keep = ratings.ratings[~((ratings.ratings["item_id"] < "i0005") & ratings.ratings["rater_id"].str.startswith("b"))]
    partial = workbench.Ratings(keep.reset_index(drop=True), ratings.items, ratings.raters, level="nominal", categories=ratings.categories)
    row = workbench.cross_reliability(partial, by="pool", ci=None).iloc[0]
    assert (row["n_items"], row["n_items_one_group"]) == (25, 5)


def test_identical_ratings_twice_as_two_groups_are_refused():
    ratings = pools(seed=11, n_items=20, per_pool=4)
    frame = ratings.to_frame()
    a = frame[frame["pool"] == "a"]
    twice = pd.concat([a.assign(copy="first"), a.assign(copy="second", rater_id=a["rater_id"] + "-copy")])
    doubled = workbench.Ratings.from_frame(twice.drop(columns="pool"), rater_columns=["copy"], item_columns=[])
    with pytest.raises(WorkbenchDataError, match="'first' and 'second' of 'copy' hold the same ratings twice"):
        workbench.cross_reliability(doubled, by="copy")


def test_undefined_xrr_is_nan_with_a_note():
    ratings = pools(seed=12, n_items=40, per_pool=1)  # one rating per group per item: no alpha within a group
    row = workbench.cross_reliability(ratings, by="pool", n_boot=50).iloc[0]
    assert np.isfinite(row["kappa_x"]) and np.isnan(row["xrr"])
    assert "xrr undefined: needs both alphas > 0" in row["note"] and "no_pairable_values" in row["note"]


# ---------------------------------------------------------------- real data (skipped without ../shared/data)

@pytest.fixture(scope="module")
def multipico(shared_data):
    from workbench.datasets import read_multipico

    folder = shared_data / "multipico_lewidi2025"
    return read_multipico(folder / "MP_dev.json.gz", folder / "MP_annotators_meta.json.gz")


@pytest.mark.realdata
def test_multipico_by_gender(multipico):
    table = workbench.group_divergence(multipico, by="gender", n_perm=200)
    assert len(table) == 3005 and {"n_Male", "n_Female", "n_Prefer not to say", "n_(missing)"} <= set(table.columns)
    tested = table["p_value"].notna()
    assert 200 < tested.sum() < 400  # most items have ~5 ratings: few have 3+ from one gender and 3+ from the rest
    assert table.loc[tested, "p_value"].between(1 / 201, 1).all()
    assert table.loc[~tested, "note"].str.startswith("not tested").all()
    cross = workbench.cross_reliability(multipico, by="gender", n_boot=100)
    male_female = cross[(cross["group_a"] == "Female") & (cross["group_b"] == "Male")].iloc[0]
    assert male_female["n_items"] > 2000 and np.isfinite(male_female["kappa_x"])


@pytest.mark.realdata
def test_multipico_by_language(multipico):
    with pytest.raises(WorkbenchDataError, match="'lang' is an item column"):
        workbench.group_divergence(multipico, by="lang")
    languages = multipico.items["lang"]
    for lang in ("es", "en"):
        subset = multipico.subset(items=languages.index[languages == lang])
        table = workbench.group_divergence(subset, by="gender", n_perm=100)
        assert len(table) == (languages == lang).sum()
        assert table["p_value"].notna().any()


def test_item_groups_counts_one_item_per_group_as_a_crosstab_does():
    from workbench.analysis.divergence import item_groups

    frame = pd.DataFrame({
        "item": ["q1"] * 5 + ["q2"] * 3,
        "rater": ["a0", "a1", "b0", "b1", "b2", "a0", "b0", "c0"],
        "label": ["x", "y", "y", "y", "x", "x", "x", "y"],
        "pool": ["a", "a", "b", "b", "b", "a", "b", "c"],
    })
    ratings = workbench.Ratings.from_frame(frame, item="item", rater="rater", label="label", rater_columns=["pool"],
                                           item_columns=[])
    table = item_groups(ratings, "q1", "pool")
    q1 = frame[frame["item"] == "q1"]
    expected = pd.concat([q1.assign(pool="(all)"), q1]).pipe(lambda f: pd.crosstab(f["pool"], f["label"]))
    assert table["group"].unique().tolist() == ["(all)", "a", "b"]  # pool c did not rate q1
    got = table.pivot(index="group", columns="label", values="count")
    pd.testing.assert_frame_equal(got.loc[expected.index, expected.columns], expected, check_names=False,
                                  check_dtype=False)
    shares = expected.div(expected.sum(axis=1), axis=0)
    assert table["share"].tolist() == [shares.loc[g, v] for g, v in zip(table["group"], table["label"])]
    overall = item_groups(ratings, "q1")
    assert overall["group"].tolist() == ["(all)", "(all)"] and overall["count"].sum() == 5
    with pytest.raises(WorkbenchDataError, match="item_id 'q9' is not in this data set"):
        item_groups(ratings, "q9")


import krippendorff
import numpy as np
import pandas as pd
import pytest
import torch

import workbench
from workbench.kernels.resampling import bootstrap_sums


@pytest.fixture(scope="module")
def small():
    return workbench.simulate_study(seed=2, n_items=300, ratings_per_item=8, n_raters=40)


def _package_alpha(ratings, level="nominal"):
    matrix = ratings.ratings.pivot(index="rater_id", columns="item_id", values="label")
    codes = {c: k for k, c in enumerate(ratings.categories)}
    return krippendorff.alpha(matrix.map(lambda v: codes.get(v, np.nan)).to_numpy(dtype=float), level_of_measurement=level)


def test_whole_data_value_matches_package(small):
    table = workbench.reliability(small.ratings, n_boot=100)
    assert table.shape[0] == 1
    assert table["value"].iloc[0] == pytest.approx(_package_alpha(small.ratings), abs=1e-12)
    assert table[["n_items", "n_ratings", "n_raters"]].iloc[0].tolist() == [300, 2400, 40]
    assert table["ci_low"].iloc[0] < table["value"].iloc[0] < table["ci_high"].iloc[0]


@pytest.mark.parametrize("by", ["split", "age_band"])
def test_each_slice_equals_alpha_on_its_subset(small, by):
    table = workbench.reliability(small.ratings, by=by, ci=None).set_index(by)
    frame = small.ratings.to_frame()
    for name, row in table.iterrows():
        subset = frame[frame[by] == name]
        sub = small.ratings.subset(items=subset["item_id"].unique(), raters=subset["rater_id"].unique())
        if by in small.ratings.raters.columns:
            sub = small.ratings.subset(raters=subset["rater_id"].unique())
        assert row["value"] == pytest.approx(_package_alpha(sub), abs=1e-12)
        assert row["n_ratings"] == len(subset)


def test_same_seed_same_interval_and_chunking_does_not_matter(small):
    a = workbench.reliability(small.ratings, by="split", n_boot=300, seed=7)
    b = workbench.reliability(small.ratings, by="split", n_boot=300, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = workbench.reliability(small.ratings, by="split", n_boot=300, seed=8)
    assert not np.allclose(a["ci_low"], c["ci_low"])
    stats = torch.rand(50, 4, dtype=torch.float64)
    bounds = np.array([0, 20, 50])
    whole = bootstrap_sums(stats, bounds, 64, seed=3)
    chunked = bootstrap_sums(stats, bounds, 64, seed=3, chunk_elements=50 * 5)
    assert torch.equal(whole, chunked)


def test_bootstrap_interval_covers_truth_shrinks_with_data():
    small = workbench.reliability(workbench.simulate_study(seed=5, n_items=200, ratings_per_item=10, n_raters=50).ratings, n_boot=300)
    large = workbench.reliability(workbench.simulate_study(seed=5, n_items=3200, ratings_per_item=10, n_raters=50).ratings, n_boot=300)
    width = lambda t: float(t["ci_high"].iloc[0] - t["ci_low"].iloc[0])
    assert width(large) < width(small) / 2.5  # ~1/√n: 16× the items → ~4× narrower


@pytest.mark.parametrize("metric", ["alpha", "fleiss", "percent_agreement"])
def test_rater_bootstrap_brackets_the_value(small, metric):
    table = workbench.reliability(small.ratings, metric=metric, n_boot=200, resample="raters")
    row = table.iloc[0]
    assert row["ci_low"] < row["value"] < row["ci_high"] and row["resample"] == "raters"


def test_fleiss_and_percent_agreement_match_loops_and_the_direct_calls(small):
    """Fleiss' kappa (irrCAC's averaged shares) and percent agreement written out as loops over items.

    The direct calls ``fleiss_kappa`` and ``percent_agreement`` run the same kernels as ``reliability``,
    so agreeing with them alone proves nothing; the loops are the reference.
    """
    counts = small.ratings.label_counts()
    agreements, shares = [], []
    for r in counts.to_numpy(dtype=float):
        m = r.sum()
        if m >= 1:
            shares.append(r / m)
        if m >= 2:
            agreements.append(sum(x * (x - 1) for x in r) / (m * (m - 1)))
    p_a = sum(agreements) / len(agreements)
    pi = np.mean(shares, axis=0)
    p_e = float((pi**2).sum())
    fleiss = workbench.reliability(small.ratings, metric="fleiss", ci=None)["value"].iloc[0]
    assert fleiss == pytest.approx((p_a - p_e) / (1 - p_e), abs=1e-12)
    assert fleiss == pytest.approx(workbench.fleiss_kappa(counts), abs=1e-12)
    pa = workbench.reliability(small.ratings, metric="percent_agreement", ci=None)["value"].iloc[0]
    assert pa == pytest.approx(p_a, abs=1e-12)
    assert pa == pytest.approx(workbench.percent_agreement(small.ratings), abs=1e-12)


def test_cohen_through_reliability():
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    ratings = workbench.Ratings.from_matrix([a, b], level="nominal")
    table = workbench.reliability(ratings, metric="cohen", n_boot=200)
    assert table["value"].iloc[0] == pytest.approx(0.4)


def test_counts_only_data():
    counts = pd.DataFrame({"e": [8, 0, 5, 9], "n": [1, 9, 5, 0], "c": [1, 1, 0, 1]}, index=list("abcd"))
    ratings = workbench.Ratings.from_counts(counts, items=pd.DataFrame({"genre": ["x", "x", "y", "y"]}, index=list("abcd")))
    table = workbench.reliability(ratings, by="genre", n_boot=50)
    assert table["n_raters"].isna().all() and table["n_ratings"].tolist() == [20, 20]
    assert table["value"].iloc[0] == pytest.approx(krippendorff.alpha(value_counts=counts.iloc[:2].to_numpy(), level_of_measurement="nominal"))
    with pytest.raises(workbench.WorkbenchDataError, match="only per-item counts"):
        workbench.reliability(ratings, resample="raters")


def test_ordinal_and_interval_levels_on_numeric_data():
    rng = np.random.default_rng(0)
    data = rng.integers(1, 6, size=(4, 60)).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    for level in ("ordinal", "interval", "ratio"):
        ratings = workbench.Ratings.from_matrix(data, level="interval")
        got = workbench.reliability(ratings, level=level, ci=None)["value"].iloc[0]
        assert got == pytest.approx(krippendorff.alpha(data, level_of_measurement=level), abs=1e-12)
    ordinal = workbench.Ratings.from_matrix(data, level="ordinal")
    got = workbench.reliability(ordinal, level="interval", ci=None)["value"].iloc[0]
    assert got == pytest.approx(krippendorff.alpha(data, level_of_measurement="interval"), abs=1e-12)


def test_planted_group_structure_is_visible_per_slice(demo):
    """Latent-projective items: agreement across all raters is lower than within the youngest band."""
    projective = demo.truth["items"].index[demo.truth["items"]["subjectivity"] == "latent_projective"]
    sub = demo.ratings.subset(items=projective)
    whole = workbench.reliability(sub, ci=None)["value"].iloc[0]
    young = workbench.reliability(sub.subset(raters=demo.ratings.raters.index[demo.ratings.raters["age_band"] == "18-34"]), ci=None)
    assert young["value"].iloc[0] > whole


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_equals_cpu(small):
    cpu = workbench.reliability(small.ratings, by="age_band", n_boot=200, device="cpu")
    gpu = workbench.reliability(small.ratings, by="age_band", n_boot=200, device="cuda")
    assert np.allclose(cpu["value"], gpu["value"], atol=1e-9, rtol=0)
    assert np.allclose(cpu["ci_low"], gpu["ci_low"], atol=1e-9, rtol=0)


@pytest.mark.realdata
def test_real_data_alpha_matches_package(shared_data):
    """ConvAbuse severity (ordinal, 1 > 0 > -1 > -2 > -3) and MultiPICo irony (nominal), against krippendorff."""
    from workbench.datasets import read_convabuse, read_multipico

    convabuse = read_convabuse(shared_data / "convabuse" / "ConvAbuseEMNLPfull.csv.gz")
    matrix = convabuse.ratings.assign(label=convabuse.ratings["label"].astype(int)).pivot(
        index="rater_id", columns="item_id", values="label").to_numpy(dtype=float)
    for level in ("ordinal", "nominal"):
        ours = workbench.reliability(convabuse, level=level, ci=None)["value"].iloc[0]
        theirs = krippendorff.alpha(matrix, level_of_measurement=level, value_domain=[1, 0, -1, -2, -3])
        assert ours == pytest.approx(theirs, abs=1e-12)
    multipico = read_multipico(shared_data / "multipico_lewidi2025" / "MP_dev.json.gz")
    ours = workbench.reliability(multipico, ci=None)["value"].iloc[0]
    assert ours == pytest.approx(_package_alpha(multipico), abs=1e-12)

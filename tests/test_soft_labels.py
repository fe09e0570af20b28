"""soft_label_scores / perspectivist_scores against a plain-Python transcription of the LeWiDi definitions,
their properties, the baselines, and the errors they raise.

The reference loops below read the raw JSON themselves (not through read_lewidi) and follow the
LeWiDi readmes' and the issue's wording: manhattan Σ|p − t| (multi-label: per label over [1 − p, p],
averaged), cross-entropy −Σ t·log(clip(p) + 1e-9), Wasserstein as 1-D optimal transport (SciPy's),
JSD in bits, error rate per item averaged, absolute distance / number of scale points.
"""

import gzip
import json
import math
import random
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

import workbench
from workbench import WorkbenchDataError
from workbench.analysis.baselines import (annotator_baseline, crossfit_baseline, group_baseline, majority_baseline,
                                          prior_baseline)
from workbench.datasets import read_lewidi
from workbench.kernels import soft_labels as K

# dev file → (categories in scale order as the raw labels read, multi-label?)
DEV = {
    "lewidi_2023/ArMIS_dev": (["0", "1"], False),
    "lewidi_2023/HS-Brexit_dev": (["0", "1"], False),
    "lewidi_2023/MD-Agreement_dev": (["0", "1"], False),
    "lewidi_2023/ConvAbuse_dev": (["-3", "-2", "-1", "0", "1"], False),
    "lewidi_2025/CSC_dev": (["1", "2", "3", "4", "5", "6"], False),
    "lewidi_2025/Paraphrase_dev": ([str(k) for k in range(-5, 6)], False),
    "lewidi_2025/VariErrNLI_dev": (["contradiction", "entailment", "neutral"], True),
    "multipico_lewidi2025/MP_dev": (["0", "1"], False),
}
ORDINAL = {"lewidi_2023/ConvAbuse_dev", "lewidi_2025/CSC_dev", "lewidi_2025/Paraphrase_dev"}


def raw_ratings(path):
    """{item: [(annotator, label or label set)]} straight from the JSON."""
    data = json.load(gzip.open(path, "rt"))
    out = {}
    for item, entry in data.items():
        if isinstance(entry["annotations"], dict):
            pairs = list(entry["annotations"].items())
        else:
            pairs = list(zip(entry["annotators"].split(","), entry["annotations"].split(",")))
        out[item] = pairs
    return out


def raw_targets(ratings, categories, multilabel):
    targets = {}
    for item, pairs in ratings.items():
        if multilabel:
            targets[item] = [sum(lab in value.split(",") for _, value in pairs) / len(pairs) for lab in categories]
        else:
            targets[item] = [sum(value == c for _, value in pairs) / len(pairs) for c in categories]
    return targets


def fixed_prediction(items, categories, multilabel, seed=1):
    rng = random.Random(seed)
    out = {}
    for item in sorted(items):
        if multilabel:
            out[item] = [rng.random() for _ in categories]
        else:
            w = [rng.random() ** 3 for _ in categories]  # some near-zero probabilities, for the clipping
            out[item] = [x / sum(w) for x in w]
    return out


def ref_manhattan(p, t, multilabel):
    if multilabel:
        return sum(abs(a - b) + abs((1 - a) - (1 - b)) for a, b in zip(p, t)) / len(p)
    return sum(abs(a - b) for a, b in zip(p, t))


def ref_cross_entropy(p, t):
    return -sum(b * math.log(min(max(a, 1e-12), 1 - 1e-12) + 1e-9) for a, b in zip(p, t))


def ref_jsd(p, t):
    def h(d):
        return -sum(x * math.log2(x) for x in d if x > 0)
    m = [(a + b) / 2 for a, b in zip(p, t)]
    return h(m) - (h(p) + h(t)) / 2


def _read(shared_data, stem):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_lewidi(shared_data / f"{stem}.json.gz")


@pytest.mark.realdata
@pytest.mark.parametrize("stem", sorted(DEV))
def test_soft_label_scores_match_the_definitions(shared_data, stem):
    categories, multilabel = DEV[stem]
    raw = raw_ratings(shared_data / f"{stem}.json.gz")
    targets = raw_targets(raw, categories, multilabel)
    pred = fixed_prediction(targets, categories, multilabel)
    expected = {
        "manhattan": sum(ref_manhattan(pred[i], targets[i], multilabel) for i in targets) / len(targets),
    }
    if multilabel:
        expected["cross_entropy"] = sum(
            sum(ref_cross_entropy([1 - a, a], [1 - b, b]) for a, b in zip(pred[i], targets[i])) / len(categories)
            for i in targets) / len(targets)
        expected["jsd"] = sum(sum(ref_jsd([1 - a, a], [1 - b, b]) for a, b in zip(pred[i], targets[i])) / len(categories)
                              for i in targets) / len(targets)
    else:
        expected["cross_entropy"] = sum(ref_cross_entropy(pred[i], targets[i]) for i in targets) / len(targets)
        expected["jsd"] = sum(ref_jsd(pred[i], targets[i]) for i in targets) / len(targets)
    if stem in ORDINAL:
        positions = list(range(len(categories)))
        expected["wasserstein"] = sum(wasserstein_distance(positions, positions, pred[i], targets[i])
                                      for i in targets) / len(targets)
    ratings = _read(shared_data, stem)
    frame = pd.DataFrame.from_dict(pred, orient="index", columns=categories)
    table = workbench.soft_label_scores(ratings, frame, n_boot=50).set_index("metric")
    assert set(table.index) == set(expected)
    for metric, value in expected.items():
        assert table.loc[metric, "value"] == pytest.approx(value, abs=1e-9), metric
        assert table.loc[metric, "ci_low"] <= table.loc[metric, "value"] <= table.loc[metric, "ci_high"]
    assert (table["n_items"] == len(targets)).all()


@pytest.mark.realdata
@pytest.mark.parametrize("stem", sorted(DEV))
def test_perspectivist_scores_match_the_definitions(shared_data, stem):
    categories, multilabel = DEV[stem]
    raw = raw_ratings(shared_data / f"{stem}.json.gz")
    rng = random.Random(7)
    rows, errors, distances = [], [], []
    for item, pairs in raw.items():
        seen = set()
        item_errors, item_distances = [], []
        for annotator, value in pairs:
            if annotator in seen:  # MD-Agreement test only; not in the dev files
                continue
            seen.add(annotator)
            if multilabel:
                guess = sorted(rng.sample(categories, rng.randint(1, 2)))
                truth = value.split(",")
                item_errors.append(sum((c in guess) != (c in truth) for c in categories) / len(categories))
                rows.append((item, annotator, guess if rng.random() < 0.5 else ",".join(guess)))
            else:
                guess = rng.choice(categories)
                item_errors.append(float(guess != value))
                item_distances.append(abs(categories.index(guess) - categories.index(value)) / len(categories))
                rows.append((item, annotator, guess))
        errors.append(sum(item_errors) / len(item_errors))
        if item_distances:
            distances.append(sum(item_distances) / len(item_distances))
    ratings = _read(shared_data, stem)
    predicted = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"])
    table = workbench.perspectivist_scores(ratings, predicted, n_boot=50).set_index("metric")
    assert table.loc["error_rate", "value"] == pytest.approx(sum(errors) / len(errors), abs=1e-9)
    if stem in ORDINAL:
        assert table.loc["absolute_distance", "value"] == pytest.approx(sum(distances) / len(distances), abs=1e-9)
    else:
        assert "absolute_distance" not in table.index


@pytest.mark.realdata
def test_slices_by_rater_group_score_each_groups_own_shares(shared_data):
    train, dev = _read(shared_data, "lewidi_2023/HS-Brexit_train"), _read(shared_data, "lewidi_2023/HS-Brexit_dev")
    base = prior_baseline(train, dev)
    table = workbench.soft_label_scores(dev, base.soft, by="group", n_boot=100)
    per_person = workbench.perspectivist_scores(dev, annotator_baseline(train, dev).perspectivist, by="group", n_boot=100)
    for group in ("target", "control"):
        members = dev.raters.index[dev.raters["group"] == group]
        alone = dev.subset(raters=members)
        expected = workbench.soft_label_scores(alone, base.soft, ci=None).set_index("metric")["value"]
        got = table[table["group"] == group].set_index("metric")["value"]
        pd.testing.assert_series_equal(got, expected, check_names=False, atol=1e-12)
        p = annotator_baseline(train, dev).perspectivist
        expected = workbench.perspectivist_scores(alone, p[p["rater_id"].isin(members)], ci=None)["value"].iloc[0]
        assert per_person[per_person["group"] == group]["value"].iloc[0] == pytest.approx(expected, abs=1e-12)
    assert list(table["group"].unique()) == ["all", "control", "target"]


@pytest.mark.realdata
def test_item_slices_and_counts_only_data(shared_data):
    mp = _read(shared_data, "multipico_lewidi2025/MP_dev")
    prior = mp.distribution().mean()
    guess = pd.DataFrame([prior.to_numpy()] * mp.n_items, index=mp.items.index, columns=list(mp.categories))
    table = workbench.soft_label_scores(mp, guess, by="lang", ci=None)
    for lang in ("en", "hi"):
        alone = mp.subset(items=mp.items.index[mp.items["lang"] == lang])
        expected = workbench.soft_label_scores(alone, guess, ci=None).set_index("metric")
        got = table[table["lang"] == lang].set_index("metric")
        assert np.allclose(got["value"], expected["value"], atol=1e-12)
        assert (got["n_items"] == alone.n_items).all()
    chaos = workbench.datasets.read_chaosnli(shared_data / "chaosnli/chaosNLI_snli.jsonl.gz")
    uniform = pd.DataFrame(1 / 3, index=chaos.items.index, columns=["e", "n", "c"])
    value = workbench.soft_label_scores(chaos, uniform, ci=None).set_index("metric").loc["jsd", "value"]
    assert value == pytest.approx(float(workbench.jsd(chaos.distribution(), uniform.to_numpy()).mean()), abs=1e-12)


# ---------------------------------------------------------------- baselines


@pytest.mark.realdata
def test_baselines_on_dev_files(shared_data):
    train, dev = _read(shared_data, "lewidi_2025/Paraphrase_train"), _read(shared_data, "lewidi_2025/Paraphrase_dev")
    prior = prior_baseline(train, dev)
    shares = train.label_counts().sum() / train.n_ratings
    assert np.allclose(prior.soft.to_numpy(), shares.to_numpy()[None, :])
    # the training median, the best constant for absolute distance
    expected = train.categories[int(np.searchsorted(np.cumsum(shares.to_numpy()), 0.5 - 1e-12))]
    assert (prior.perspectivist["label"] == expected).all()
    for baseline in (prior, majority_baseline(dev, train), annotator_baseline(train, dev)):
        scores = workbench.perspectivist_scores(dev, baseline.perspectivist, ci=None)
        assert set(scores["metric"]) == {"absolute_distance", "error_rate"}
        workbench.soft_label_scores(dev, baseline.soft, ci=None)
    nli_train, nli_dev = _read(shared_data, "lewidi_2025/VariErrNLI_train"), _read(shared_data, "lewidi_2025/VariErrNLI_dev")
    soft = annotator_baseline(nli_train, nli_dev).soft
    assert list(soft.columns) == ["contradiction", "entailment", "neutral"]
    csc = _read(shared_data, "lewidi_2025/CSC_dev")
    fitted = crossfit_baseline(annotator_baseline, csc)
    assert len(fitted.perspectivist) == csc.n_ratings and len(fitted.soft) == csc.n_items
    armis_train, armis_dev = _read(shared_data, "lewidi_2023/ArMIS_train"), _read(shared_data, "lewidi_2023/ArMIS_dev")
    # ArMIS has one annotator per group: the group model is the annotator model
    a, g = annotator_baseline(armis_train, armis_dev), group_baseline(armis_train, armis_dev, by="group")
    assert np.allclose(a.soft.to_numpy(), g.soft.to_numpy()) and a.perspectivist.equals(g.perspectivist)


def test_leave_one_out_majority_against_a_loop():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"item_id": np.repeat(np.arange(40), 5), "rater_id": np.tile(list("abcde"), 40),
                          "label": rng.choice(["x", "y", "z"], size=200, p=[0.5, 0.3, 0.2])})
    r = workbench.read_ratings(frame)
    got = majority_baseline(r).perspectivist
    overall = frame["label"].value_counts()
    for (item, rater, label), row in zip(frame.itertuples(index=False), got.itertuples(index=False)):
        others = frame[(frame["item_id"] == item) & (frame["rater_id"] != rater)]["label"].value_counts()
        top = others[others == others.max()].index
        assert row.label == max(top, key=lambda c: overall[c])  # ties go to the commoner label
    soft = majority_baseline(r).soft
    assert (soft.sum(axis=1) == 1).all() and set(np.unique(soft.to_numpy())) == {0.0, 1.0}


def test_annotator_and_group_baselines_on_a_small_example():
    train = workbench.read_ratings(pd.DataFrame({
        "item_id": [1, 1, 1, 2, 2, 2], "rater_id": list("abcabc"), "label": ["x", "y", "y", "x", "y", "x"],
        "team": ["t", "u", "u", "t", "u", "u"]}))
    test = workbench.read_ratings(pd.DataFrame({
        "item_id": [3, 3, 3], "rater_id": list("abd"), "label": ["x", "y", "x"], "team": ["t", "u", "u"]}))
    a = annotator_baseline(train, test, smoothing=0)
    assert a.perspectivist["label"].tolist() == ["x", "y", "x"]  # d is unseen: the training mode (x 3, y 3: tie → x)
    prior = np.array([0.5, 0.5])
    assert np.allclose(a.soft.loc["3"].to_numpy(), (np.array([1, 0]) + np.array([0, 1]) + prior) / 3)
    g = group_baseline(train, test, by="team", smoothing=0)
    # team t is a alone (x, x); team u is b and c (y, y, y, x); the unseen d is in team u
    assert np.allclose(g.soft.loc["3"].to_numpy(), (np.array([1, 0]) + 2 * np.array([0.25, 0.75])) / 3)
    assert g.perspectivist["label"].tolist() == ["x", "y", "y"]
    with pytest.raises(WorkbenchDataError, match="by='nope' is not a rater column of train"):
        group_baseline(train, test, by="nope")


# ---------------------------------------------------------------- properties

probabilities = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=8).filter(lambda w: sum(w) > 1e-3)


def _tensor(w):
    import torch

    x = torch.tensor(w, dtype=torch.float64)
    return (x / x.sum())[None, :]


@settings(max_examples=150, deadline=None)
@given(probabilities, st.data())
def test_metric_properties(w, data):
    v = data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(w), max_size=len(w)).filter(lambda x: sum(x) > 1e-3))
    p, t = _tensor(w), _tensor(v)
    for metric in (K.manhattan, K.wasserstein, K.jsd):
        assert metric(t, t).item() == pytest.approx(0.0, abs=1e-12)  # zero for a perfect prediction
        assert metric(p, t).item() == pytest.approx(metric(t, p).item(), abs=1e-12)  # symmetric
        assert metric(p, t).item() >= -1e-15
    # Wasserstein: the CDF-difference formula, and SciPy's optimal transport
    cdf = sum(abs(sum(p[0, : k + 1]) - sum(t[0, : k + 1])) for k in range(p.shape[1] - 1))
    assert K.wasserstein(p, t).item() == pytest.approx(float(cdf), abs=1e-12)
    positions = np.arange(p.shape[1])
    assert K.wasserstein(p, t).item() == pytest.approx(wasserstein_distance(positions, positions, p[0].numpy(), t[0].numpy()), abs=1e-9)
    # cross-entropy is smallest at the truth (Gibbs), up to the 1e-9 inside the log
    assert K.cross_entropy(t, t).item() <= K.cross_entropy(p, t).item() + 1e-6
    assert 0 <= K.manhattan(p, t).item() <= 2 + 1e-12


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from("abcd"), st.integers(0, 3)), min_size=1, max_size=40))
def test_perfect_predictions_score_zero(rows):
    frame = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"]).drop_duplicates(["item_id", "rater_id"])
    r = workbench.read_ratings(frame, level="ordinal", categories=[0, 1, 2, 3])
    scores = workbench.perspectivist_scores(r, frame, by="rater_id", ci=None)
    assert (scores["value"] == 0).all()
    soft = r.distribution()
    table = workbench.soft_label_scores(r, soft, ci=None).set_index("metric")["value"]
    assert table[["manhattan", "wasserstein", "jsd"]].abs().max() < 1e-12


# ---------------------------------------------------------------- errors


@pytest.fixture
def small():
    return workbench.read_ratings(pd.DataFrame({"item_id": [1, 1, 2, 2], "rater_id": list("abab"), "label": ["x", "y", "y", "y"]}))


def test_soft_label_errors_name_the_problem(small):
    good = pd.DataFrame({"x": [0.5, 0.0], "y": [0.5, 1.0]}, index=["1", "2"])
    with pytest.raises(WorkbenchDataError, match="no row for 1 rated item.*'2'"):
        workbench.soft_label_scores(small, good.iloc[:1])
    with pytest.raises(WorkbenchDataError, match="no column for label 'y'"):
        workbench.soft_label_scores(small, good[["x"]])
    with pytest.raises(WorkbenchDataError, match="item '2' sums to 1.5, not 1"):
        workbench.soft_label_scores(small, good.assign(x=[0.5, 0.5]))
    with pytest.raises(WorkbenchDataError, match=r"predicted\['x'\] for item '1' is -0.5"):
        workbench.soft_label_scores(small, good.assign(x=[-0.5, 0.0]))
    with pytest.raises(WorkbenchDataError, match="repeats item_id '1'"):
        workbench.soft_label_scores(small, pd.concat([good, good.iloc[:1]]))
    with pytest.raises(WorkbenchDataError, match="by='nope' is not an item or rater column"):
        workbench.soft_label_scores(small, good, by="nope")
    with pytest.raises(WorkbenchDataError, match="takes a workbench Ratings"):
        workbench.soft_label_scores(good, good)
    with pytest.raises(WorkbenchDataError, match="ci must be between 0 and 1"):
        workbench.soft_label_scores(small, good, ci=95)
    numbers = workbench.read_ratings(pd.DataFrame({"item_id": [1], "rater_id": ["a"], "label": [0.5]}), level="interval")
    with pytest.raises(WorkbenchDataError, match="nominal or ordinal labels; these ratings are interval"):
        workbench.soft_label_scores(numbers, good)
    p_columns = good.add_prefix("p_").reset_index(names="item_id")  # score_items' p_<label> columns plug in
    assert workbench.soft_label_scores(small, p_columns, ci=None)["value"].iloc[0] == 0


def test_perspectivist_errors_name_the_problem(small):
    good = pd.DataFrame({"item_id": ["1", "1", "2", "2"], "rater_id": list("abab"), "label": ["x", "y", "y", "y"]})
    with pytest.raises(WorkbenchDataError, match="no label for 1 rating.*item '2' rated by 'b'"):
        workbench.perspectivist_scores(small, good.iloc[:3])
    with pytest.raises(WorkbenchDataError, match="no column 'label'"):
        workbench.perspectivist_scores(small, good.drop(columns="label"))
    with pytest.raises(WorkbenchDataError, match="predicted label 'z' .* is not one of the categories 'x', 'y'"):
        workbench.perspectivist_scores(small, good.assign(label=["x", "y", "y", "z"]))
    with pytest.raises(WorkbenchDataError, match="item '1', rater 'a' more than one label"):
        workbench.perspectivist_scores(small, pd.concat([good, good.iloc[:1]]))
    counts_only = workbench.Ratings.from_counts(pd.DataFrame({"x": [1, 2], "y": [1, 0]}, index=["1", "2"]))
    with pytest.raises(WorkbenchDataError, match="rater-level ratings"):
        workbench.perspectivist_scores(counts_only, good)


def _random_study(seed=0, n_items=300):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"item_id": np.repeat(np.arange(n_items), 4), "rater_id": np.tile(list("abcd"), n_items),
                          "label": rng.integers(0, 5, size=4 * n_items)})
    frame["team"] = frame["rater_id"].map({"a": "u", "b": "u", "c": "v", "d": "v"})
    r = workbench.read_ratings(frame, level="ordinal", categories=[0, 1, 2, 3, 4])
    w = rng.random((n_items, 5))
    soft = pd.DataFrame(w / w.sum(axis=1, keepdims=True), index=r.items.index, columns=[0, 1, 2, 3, 4])
    hard = frame.assign(label=rng.integers(0, 5, size=len(frame)), item_id=frame["item_id"].astype(str))
    return r, soft, hard


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device here")
def test_cuda_gives_the_cpu_numbers():
    r, soft, hard = _random_study()
    for function, predicted in ((workbench.soft_label_scores, soft), (workbench.perspectivist_scores, hard)):
        on_cpu = function(r, predicted, by="team", n_boot=300, device="cpu")
        on_gpu = function(r, predicted, by="team", n_boot=300, device="cuda")
        pd.testing.assert_frame_equal(on_cpu, on_gpu, atol=1e-10, rtol=0)


def test_intervals_are_the_percentiles_of_an_item_bootstrap():
    """The interval rebuilt by hand: items resampled with replacement (the shared generator's draws), means, percentiles."""
    from workbench.kernels.resampling import replicate_counts

    r, soft, hard = _random_study(n_items=60)
    table = workbench.perspectivist_scores(r, hard, n_boot=200, seed=5, ci=0.9).set_index("metric")
    truth = r.ratings.assign(guess=hard["label"].to_numpy())
    per_item = (truth["label"].astype(int) != truth["guess"]).groupby(truth["item_id"], sort=False).mean()
    per_item = per_item.loc[r.items.index].to_numpy()
    counts = replicate_counts(5, 200, [0, len(per_item)])
    means = counts @ per_item / counts.sum(axis=1)
    low, high = np.quantile(means, [0.05, 0.95])
    assert table.loc["error_rate", "value"] == pytest.approx(per_item.mean(), abs=1e-12)
    assert (table.loc["error_rate", "ci_low"], table.loc["error_rate", "ci_high"]) == pytest.approx((low, high), abs=1e-12)


def test_counts_only_data_sliced_by_an_item_column():
    counts = pd.DataFrame({"y": [3, 1, 0, 2], "n": [1, 3, 4, 2]}, index=["a", "b", "c", "d"])
    items = pd.DataFrame({"topic": ["p", "q", "p", "q"]}, index=counts.index)
    r = workbench.Ratings.from_counts(counts, items=items)
    guess = pd.DataFrame({"y": [0.5, 0.5, 0.1, 0.9], "n": [0.5, 0.5, 0.9, 0.1]}, index=counts.index)
    table = workbench.soft_label_scores(r, guess, by="topic", ci=None)
    shares = counts.div(counts.sum(axis=1), axis=0)
    manhattan = (guess - shares).abs().sum(axis=1)
    got = table[table["metric"] == "manhattan"].set_index("topic")["value"]
    assert got.to_dict() == pytest.approx({"all": manhattan.mean(), "p": manhattan[["a", "c"]].mean(),
                                           "q": manhattan[["b", "d"]].mean()}, abs=1e-12)
    with pytest.raises(WorkbenchDataError, match="by='rater_id' is not an item or rater column"):
        workbench.soft_label_scores(r, guess, by="rater_id")


ALL_FILES = [
    "lewidi_2023/ArMIS_train", "lewidi_2023/ArMIS_test", "lewidi_2023/ConvAbuse_train", "lewidi_2023/ConvAbuse_test",
    "lewidi_2023/HS-Brexit_train", "lewidi_2023/MD-Agreement_train", "lewidi_2023/MD-Agreement_test",
    "lewidi_2025/Paraphrase_train", "lewidi_2025/Paraphrase_test", "lewidi_2025/VariErrNLI_train",
    "lewidi_2025/VariErrNLI_test", *sorted(DEV),
]


@pytest.mark.realdata
@pytest.mark.parametrize("stem", ALL_FILES)
def test_every_metric_and_baseline_runs_on_every_file(shared_data, stem):
    r = _read(shared_data, stem)
    group = "group" if "group" in r.raters.columns else None
    predictions = [prior_baseline(r, r), majority_baseline(r), annotator_baseline(r, r)]
    if group:
        predictions.append(group_baseline(r, r, by=group))
    for p in predictions:
        soft = workbench.soft_label_scores(r, p.soft, by=group, ci=None)
        hard = workbench.perspectivist_scores(r, p.perspectivist, by=group, ci=None)
        assert np.isfinite(soft["value"]).all() and np.isfinite(hard["value"]).all()
        assert (soft.loc[soft["metric"] == "manhattan", "value"] <= 2).all()
        assert ((hard["value"] >= 0) & (hard["value"] <= 1)).all()

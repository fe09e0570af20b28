"""Reward models trained in the workbench (Bradley–Terry with the M5 margin), on the demo study's learnable cues."""

import numpy as np
import pandas as pd
import pytest

import workbench

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=3, n_items=600, ratings_per_item=5, n_raters=40)


@pytest.mark.parametrize(
    "n_a, n_b, n_tie, expected",
    [(10, 0, 0, 1.0), (5, 5, 0, 0.0), (7, 3, 0, 0.4), (3, 7, 0, 0.4), (5, 4, 0, 1 / 9), (0, 0, 4, 0.0), (3, 1, 2, 1 / 3)],
)
def test_margin_unit_cases(n_a, n_b, n_tie, expected):
    votes = pd.DataFrame({"n_a": [n_a], "n_b": [n_b], "n_tie": [n_tie]})
    assert workbench.disagreement_margin(votes).iloc[0] == pytest.approx(expected)


def test_margin_from_ratings_matches_the_votes(study):
    pairs = study.ratings.pairs()
    expected = np.abs(pairs["n_a"] - pairs["n"] / 2) / (pairs["n"] / 2)
    np.testing.assert_allclose(workbench.disagreement_margin(study.ratings), expected)


def test_loss_with_zero_margin_is_bradley_terry_and_the_margin_raises_it():
    from workbench.kernels.reward_training import margin_loss

    rng = np.random.default_rng(0)
    r_a, r_b = torch.tensor(rng.normal(size=50)), torch.tensor(rng.normal(size=50))
    chosen = torch.tensor(rng.random(50) < 0.5)
    gap = np.where(chosen.numpy(), r_a.numpy() - r_b.numpy(), r_b.numpy() - r_a.numpy())
    plain = np.mean(np.log1p(np.exp(-gap)))  # -log σ(gap), written out
    assert float(margin_loss(r_a, r_b, chosen, torch.zeros(50))) == pytest.approx(plain, rel=1e-12)
    m = torch.tensor(rng.random(50))
    assert float(margin_loss(r_a, r_b, chosen, m)) == pytest.approx(np.mean(np.log1p(np.exp(-(gap - m.numpy())))), rel=1e-12)


def test_the_margin_pushes_the_gap_above_it():
    pairs = pd.DataFrame({"prompt": ["q"] * 2, "response_a": ["good answer", "good reply"], "response_b": ["bad answer", "bad reply"],
                          "n_a": [10, 10], "n_b": [0, 0]})
    gaps = {}
    for margin in (None, 3.0):
        scored = workbench.train_reward_model(pairs, margin=margin, epochs=100, weight_decay=0.0, lr=0.2).score_pairs(pairs)
        gaps[margin] = (scored["score_a"] - scored["score_b"]).min()
    assert gaps[3.0] > 3.0 and gaps[3.0] > gaps[None] + 1 > 1


def test_training_beats_chance_on_held_out_pairs(study):
    pairs = study.ratings.pairs()
    train, test = pairs.iloc[:400], pairs.iloc[400:]
    model = workbench.train_reward_model(train, epochs=100)
    scored = model.score_pairs(test)
    decided = test["p_a"] != 0.5
    accuracy = ((scored["p_a"] > 0.5) == (test["p_a"] > 0.5))[decided].mean()
    assert accuracy > 0.7, accuracy  # the responses carry wording cues of quality
    assert model.info["pairs"] + model.info["ties_left_out"] == len(train)
    assert model.loss_history_[-1] < model.loss_history_[0] == pytest.approx(np.log(2))


def test_training_is_deterministic_for_a_seed(study):
    pairs = study.ratings.pairs().iloc[:200]
    first = workbench.train_reward_model(pairs, hidden=4, epochs=30, seed=1)
    again = workbench.train_reward_model(pairs, hidden=4, epochs=30, seed=1)
    other = workbench.train_reward_model(pairs, hidden=4, epochs=30, seed=2)
    assert first.fingerprint == again.fingerprint != other.fingerprint
    assert first.loss_history_ == again.loss_history_


def test_save_and_load_round_trip(study, tmp_path):
    pairs = study.ratings.pairs().iloc[:100]
    model = workbench.train_reward_model(pairs, margin="disagreement", epochs=20, name="mine")
    folder = model.save(tmp_path / "mine")
    assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors", "workbench_reward_model.json"]
    loaded = workbench.load_reward_model(folder)
    assert loaded.fingerprint == model.fingerprint and loaded.name == "mine"
    assert loaded.info == model.info and loaded.config == model.config  # training facts (mean margin, epochs…) kept
    with pytest.raises(workbench.WorkbenchDataError, match="pairs must be a DataFrame with columns prompt, response_a, response_b; got list"):
        loaded.score_pairs([("p", "a", "b")])
    with pytest.raises(workbench.WorkbenchDataError, match=r"'.*elsewhere' is not a saved workbench reward model \(no workbench_reward_model.json\)"):
        workbench.load_reward_model(tmp_path / "elsewhere")
    pd.testing.assert_frame_equal(workbench.score_pairs(str(folder), pairs), model.score_pairs(pairs))


def test_unseen_words_add_nothing(study):
    model = workbench.train_reward_model(study.ratings.pairs().iloc[:100], epochs=20)
    seen = model.score_texts(["How do I plan a week of meals?"], ["Here is a clear, step-by-step answer."])
    padded = model.score_texts(["How do I plan a week of meals?"], ["Here is a clear, step-by-step answer."])
    assert seen == padded
    assert model.score_texts(["zzz"], ["qqq xxyyzz"])[0] == 0.0


def test_a_dense_encoder_can_be_plugged_in(study):
    cues = ["clear", "careful", "specifically", "sources", "um", "whatever", "lol", "idk"]

    def cue_counts(texts):
        return np.array([[t.lower().count(c) for c in cues] for t in texts], dtype=float)

    pairs = study.ratings.pairs()
    model = workbench.train_reward_model(pairs.iloc[:400], encoder=cue_counts, epochs=150)
    assert model.config["encoder"] == "cue_counts"
    scored = model.score_pairs(pairs.iloc[400:])
    assert ((scored["p_a"] > 0.5) == (pairs["p_a"].iloc[400:] > 0.5)).mean() > 0.7
    with pytest.raises(workbench.WorkbenchDataError, match="cannot be saved"):
        model.save("unused")


@pytest.mark.parametrize(
    "data, options, match",
    [
        (lambda p: p.drop(columns="prompt"), {}, "missing 'prompt'"),
        (lambda p: p.assign(n_a=2, n_b=2), {}, "split evenly"),
        (lambda p: p, {"margin": "huge"}, "margin must be"),
        (lambda p: p, {"margin": -1.0}, "margin must be"),
        (lambda p: p, {"encoder": "bert"}, "encoder must be"),
        (lambda p: p, {"epochs": 0}, "epochs"),
        (lambda p: p[["prompt", "response_a", "response_b"]], {}, "need votes"),
        (lambda p: p[["prompt", "response_a", "response_b"]].assign(p_a=1.5), {}, "p_a must be a share"),
        (lambda p: p[["prompt", "response_a", "response_b"]].assign(label=["A", "B"] * 9 + ["tie", "B"]), {},
         r"column 'label' must be 'A' or 'B'; row '[^']+' has 'tie'"),
    ],
)
def test_bad_training_input_is_named(study, data, options, match):
    options = {"epochs": 2, **options}  # a copy: the parameter dict is shared by every run of the test
    with pytest.raises(workbench.WorkbenchDataError, match=match):
        workbench.train_reward_model(data(study.ratings.pairs().iloc[:20]), **options)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_matches_cpu(study):
    pairs = study.ratings.pairs().iloc[:300]
    cpu = workbench.train_reward_model(pairs, margin="disagreement", epochs=50, device="cpu").score_pairs(pairs)
    cuda = workbench.train_reward_model(pairs, margin="disagreement", epochs=50, device="cuda").score_pairs(pairs)
    np.testing.assert_allclose(cuda, cpu, atol=1e-8)


def test_large_bag_matrices_go_sparse_with_the_same_values(monkeypatch):
    """Bags of hashed ids as a texts × used-buckets matrix of means; above _DENSE_CELLS the same matrix is sparse
    (its shape given, so a last text without ids keeps its row)."""
    from workbench.kernels import reward_training

    ids, offsets = np.array([9, 5, 5, 7, 9, 9]), np.array([0, 2, 3, 6, 6])  # texts {9, 5}, {5}, {7, 9, 9}, {}
    expected = np.array([[0.5, 0, 0.5], [1, 0, 0], [0, 1 / 3, 2 / 3], [0, 0, 0]])  # columns: buckets 5, 7, 9
    used, dense = reward_training._bag_matrix(ids, offsets, torch.device("cpu"))
    assert used.tolist() == [5, 7, 9] and not dense.is_sparse
    np.testing.assert_allclose(dense.numpy(), expected, rtol=1e-15)
    monkeypatch.setattr(reward_training, "_DENSE_CELLS", 0)
    used, sparse = reward_training._bag_matrix(ids, offsets, torch.device("cpu"))
    assert used.tolist() == [5, 7, 9] and sparse.is_sparse and sparse.shape == (4, 3)
    np.testing.assert_allclose(sparse.to_dense().numpy(), expected, rtol=1e-15)


def test_an_a_b_label_column_trains_like_unanimous_votes(study):
    pairs = study.ratings.pairs().iloc[:60]
    decided = pairs[pairs["p_a"] != 0.5]
    labels = decided[["prompt", "response_a", "response_b"]].assign(label=np.where(decided["p_a"] > 0.5, "A", "B"))
    votes = labels.drop(columns="label").assign(p_a=(labels["label"] == "A").astype(float))
    from_labels = workbench.train_reward_model(labels, epochs=20).score_pairs(decided)
    pd.testing.assert_frame_equal(from_labels, workbench.train_reward_model(votes, epochs=20).score_pairs(decided))
    assert from_labels.attrs["scoring"]["texts"] == 2 * len(decided) and from_labels.attrs["scoring"]["truncated"] == 0

"""compare_classifiers: the guardrail case, checked against numpy, scipy and scikit-learn written out per item."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import cohen_kappa_score

import workbench

LABELS = ["safe", "borderline", "unsafe"]


def _study(seed: int, n_items: int = 120):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        share = rng.dirichlet([1.0, 0.5, 1.0])
        for r in rng.choice(12, size=int(rng.integers(2, 7)), replace=False):
            rows.append((f"i{i}", f"r{r}", LABELS[rng.choice(3, p=share)]))
    frame = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"])
    frame["topic"] = frame["item_id"].map(lambda item: "chat" if int(item[1:]) % 3 else "code")
    ratings = workbench.read_ratings(frame, categories=LABELS)
    probabilities = pd.DataFrame(rng.dirichlet([2.0, 1.0, 2.0], size=n_items), columns=[f"p_{c}" for c in LABELS],
                                 index=pd.Index([f"i{i}" for i in range(n_items)], name="item_id"))
    return ratings, probabilities


def _written_out(ratings, probabilities) -> dict:
    counts = ratings.label_counts()[LABELS].to_numpy(dtype=float)
    model = probabilities.loc[ratings.label_counts().index, [f"p_{c}" for c in LABELS]].to_numpy()
    human = counts / counts.sum(axis=1, keepdims=True)
    decided = np.array([(row == row.max()).sum() == 1 for row in counts])
    choice, majority = model.argmax(axis=1), counts.argmax(axis=1)
    with np.errstate(divide="ignore"):
        cross_entropy = [-sum(h * np.log2(m) for h, m in zip(hs, ms) if h > 0) for hs, ms in zip(human, model)]
    return {
        "n_items": len(counts), "n_tied_majority": int((~decided).sum()),
        "accuracy": np.mean(choice[decided] == majority[decided]),
        "kappa": cohen_kappa_score(choice[decided], majority[decided], labels=[0, 1, 2]),
        "human_agreement": np.mean(human[np.arange(len(human)), choice]),
        "jsd": np.mean([jensenshannon(m, h, base=2) ** 2 for m, h in zip(model, human)]),
        "tvd": np.mean(np.abs(model - human).sum(axis=1) / 2),
        "cross_entropy": np.mean(cross_entropy),
        "brier": np.mean(((model - human) ** 2).sum(axis=1)),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_a_written_out_computation_per_slice(seed):
    ratings, probabilities = _study(seed)
    table = workbench.compare_classifiers(ratings, {"guard": probabilities}, by="topic", ci=None, device="cpu")
    assert table["topic"].tolist() == ["all", "chat", "code"]
    for _, row in table.iterrows():
        subset = ratings if row["topic"] == "all" else ratings.subset(items=ratings.items.index[ratings.items["topic"] == row["topic"]])
        expected = _written_out(subset, probabilities)
        for metric, value in expected.items():
            assert row[metric] == pytest.approx(value, abs=1e-12), (row["topic"], metric)


def test_intervals_bracket_the_values_and_are_seeded():
    ratings, probabilities = _study(3)
    first = workbench.compare_classifiers(ratings, {"guard": probabilities}, n_boot=300, seed=5, device="cpu")
    again = workbench.compare_classifiers(ratings, {"guard": probabilities}, n_boot=300, seed=5, device="cpu")
    pd.testing.assert_frame_equal(first, again)
    for metric in ("accuracy", "kappa", "human_agreement", "jsd", "tvd", "brier"):
        assert (first[f"{metric}_low"] <= first[metric]).all() and (first[metric] <= first[f"{metric}_high"]).all(), metric
        assert (first[f"{metric}_high"] > first[f"{metric}_low"]).all(), metric


def test_two_models_and_score_items_output(tmp_path):
    from workbench.analysis.scoring import tiny_reward_model

    texts = ["how do i plan meals?", "lol just do anything.", "pick lock", "learn basic spanish"]
    frame = pd.DataFrame([(f"t{i}", r, lab) for i, labels in enumerate([["safe"] * 3, ["unsafe", "unsafe", "safe"],
                          ["unsafe"] * 2 + ["safe"], ["safe", "safe", "unsafe"]]) for r, lab in zip("abc", labels)],
                         columns=["item_id", "rater_id", "label"])
    ratings = workbench.read_ratings(frame)
    path = tiny_reward_model(tmp_path, num_labels=2)
    scored = workbench.score_items(path, pd.Series(texts, index=pd.Index([f"t{i}" for i in range(4)], name="item_id")),
                                   progress=False)
    always_safe = pd.DataFrame({"safe": 1.0, "unsafe": 0.0}, index=scored.index)
    table = workbench.compare_classifiers(ratings, {"tiny": scored, "always safe": always_safe}, ci=None)
    assert table["model"].tolist() == ["tiny", "always safe"]
    safe = table.set_index("model").loc["always safe"]
    assert safe["accuracy"] == pytest.approx(0.5) and safe["human_agreement"] == pytest.approx((1 + 1 / 3 + 1 / 3 + 2 / 3) / 4)
    assert safe["cross_entropy"] == np.inf  # people voted unsafe where the model gave it probability 0


def test_bad_input_is_named():
    ratings, probabilities = _study(0, n_items=20)
    with pytest.raises(workbench.WorkbenchDataError, match="no column for label 'borderline'"):
        workbench.compare_classifiers(ratings, {"guard": probabilities.drop(columns="p_borderline")})
    broken = probabilities.copy()
    broken.iloc[3, 0] += 0.5
    with pytest.raises(workbench.WorkbenchDataError, match="item 'i3' is not a distribution"):
        workbench.compare_classifiers(ratings, {"guard": broken})
    repeated = pd.concat([probabilities, probabilities.iloc[[5]]])  # one item scored twice
    with pytest.raises(workbench.WorkbenchDataError, match="probabilities of 'guard' repeat item_id 'i5'"):
        workbench.compare_classifiers(ratings, {"guard": repeated})
    with pytest.raises(workbench.WorkbenchDataError, match="no item is both rated and scored"):
        workbench.compare_classifiers(ratings, {"guard": probabilities.set_axis([f"x{i}" for i in range(20)])})
    with pytest.raises(workbench.WorkbenchDataError, match="not an item column"):
        workbench.compare_classifiers(ratings, {"guard": probabilities}, by="nowhere")
    numbers = workbench.read_ratings(pd.DataFrame({"item_id": [1, 1], "rater_id": ["a", "b"], "label": [0.5, 1.5]}), level="interval")
    with pytest.raises(workbench.WorkbenchDataError, match="nominal or ordinal"):
        workbench.compare_classifiers(numbers, {"guard": probabilities})

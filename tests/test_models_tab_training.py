"""The Models tab without a browser: held-out training, in-sample only when asked, split columns, committee scores,
a DPO pair of folders, the verdict's sign, and failures as sentences in the page."""

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.ui.models import BY_COLUMN, HELD_OUT, IN_SAMPLE, ModelComparison, held_out_split


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=4, n_items=150, ratings_per_item=5, n_raters=20)


def test_a_trained_model_is_compared_on_items_it_never_saw(study, monkeypatch):
    import workbench.ui.models as tab

    seen = {}
    real = tab.train_reward_model

    def spy(ratings, **kwargs):
        seen["items"] = set(ratings.items.index)
        return real(ratings, epochs=20, **kwargs)

    monkeypatch.setattr(tab, "train_reward_model", spy)
    view = ModelComparison(ratings=study.ratings, n_boot=50, seed=3)
    assert view.evaluation == HELD_OUT
    view.train(wait=True)
    name = "trained: raw (held out 20 %, seed 3)"
    scored = view.workspace.scores[name]
    expected_train, expected_test = held_out_split(study.ratings.pairs().index, seed=3)
    assert set(scored["item_id"]) == set(expected_test) and len(scored) == 30
    assert seen["items"] == set(expected_train) and not seen["items"] & set(scored["item_id"])
    assert "compared on held out: 30 items (20 % at random by item, seed 3)" in view.status
    view.add_scores(study.scores)
    view.param.update(selected=[name, "rm-1"])
    view.compare(wait=True)
    assert set(view.table["n_items"]) == {30}  # the committee model is judged on the same held-out items
    html = view.metrics_view()[1].object  # the table as the page shows it (it scrolls sideways)
    assert f"<td>{name}</td>\n      <td>held out: 30 items" in html


def test_in_sample_only_when_asked_and_named_so(study):
    view = ModelComparison(ratings=study.ratings, n_boot=50, evaluation=IN_SAMPLE)
    view.train(wait=True)
    name = "trained: raw (in-sample)"
    assert len(view.workspace.scores[name]) == 150
    assert view.evaluated_on[name].startswith("IN-SAMPLE")


def test_a_split_column_chooses_the_training_items(study):
    marks = pd.Series(np.where(np.arange(150) % 3 == 0, "test", "Train"), index=study.ratings.items.index)
    ratings = study.ratings.with_columns(items=marks.rename("fold").to_frame())
    view = ModelComparison(ratings=ratings, n_boot=50, evaluation=BY_COLUMN)
    view.train(wait=True)
    assert view.status == "Training trained: raw failed: pick the split column that marks the training items 'train'"
    view.split_column = "split"  # harmless / helpful: no 'train'
    view.train(wait=True)
    assert "split column 'split' must mark training items 'train'" in view.status
    view.split_column = "fold"
    view.train(wait=True)
    scored = view.workspace.scores["trained: raw (held out by fold)"]
    assert set(scored["item_id"]) == set(marks.index[marks == "test"])


def test_training_without_preference_pairs_says_so_in_the_page():
    ratings = workbench.read_ratings(pd.DataFrame({"item_id": [1, 1, 2, 2], "rater_id": list("abab"),
                                                   "label": ["safe", "unsafe", "safe", "safe"]}))
    view = ModelComparison(ratings=ratings, n_boot=50)
    view.train(wait=True)  # no exception escapes to the console
    assert view.status.startswith("Training trained: raw failed: pairs() needs labels among")
    assert not view.busy


def test_the_demo_studys_committee_is_offered():
    from workbench.data.sources import open_ratings

    ratings = open_ratings(None)  # what `workbench serve` opens without --data
    view = ModelComparison(ratings=ratings, n_boot=50)
    assert view.param.selected.objects == ["rm-1", "rm-2", "rm-3", "rm-4", "rm-5"]


def test_the_verdict_sign_follows_the_table(study):
    view = ModelComparison(ratings=study.ratings, scores=study.scores, n_boot=100)
    view.param.update(selected=["rm-1", "rm-5"], model_a="rm-1", model_b="rm-5", metric="pearson_r")
    view.compare(wait=True)
    row = view.difference.query("metric == 'pearson_r'").iloc[0]
    assert row["difference"] < 0 and row["better"] == "rm-1"
    assert f"Δr = {row['difference']:+.3f} (rm-5 − rm-1)" in view.verdict_text
    assert "rm-1 agrees with people better" in view.verdict_text
    html = view.difference_view()[1].object  # the table as the page shows it
    assert "<th>rm-5 − rm-1</th>" in html and f"<td>{round(row['difference'], 3)}</td>" in html


def test_a_dpo_pair_of_folders_is_scored_in_the_tab(study, tmp_path):
    from workbench.analysis.tiny_decoders import tiny_decoder

    folder = tmp_path / "models"
    tiny_decoder(folder / "policy", "llama", head="causal", seed=1)
    tiny_decoder(folder / "reference", "llama", head="causal", seed=2)
    small = study.ratings.subset(items=study.ratings.items.index[:12])
    view = ModelComparison(ratings=small, model_folder=str(folder), n_boot=50)
    view.param.update(checkpoint="policy", reference="reference", beta=0.5)
    view.score_checkpoint(wait=True)
    name = "policy (DPO vs reference, β=0.5)"
    assert view.status.startswith(f"Scored {name}"), view.status
    expected = workbench.score_pairs(str(folder / "policy"), small.pairs(), reference=str(folder / "reference"), beta=0.5,
                                     progress=False)
    np.testing.assert_allclose(view.workspace.scores[name]["score_a"], expected["score_a"], atol=1e-6)
    view.reference = "policy"
    view.score_checkpoint(wait=True)
    assert view.status == "Scoring policy failed: the DPO reference must be another folder than the policy"

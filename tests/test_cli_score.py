"""``workbench score CHECKPOINT PAIRS_FILE -o OUT``: the terminal path to score_pairs (tiny local models, no downloads)."""

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.analysis.tiny_decoders import tiny_decoder
from workbench.cli import main

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def pairs():
    return workbench.simulate_study(seed=3, n_items=12, ratings_per_item=3, n_raters=6).ratings.pairs()


def test_score_writes_the_scores_of_score_pairs(tmp_path, pairs, capsys):
    model = tiny_decoder(tmp_path / "rm", "llama")
    source = tmp_path / "pairs.csv"
    pairs.rename_axis("item_id").reset_index()[["item_id", "prompt", "response_a", "response_b"]].to_csv(source, index=False)
    out = tmp_path / "scores.parquet"
    store = tmp_path / "s.sqlite"
    assert main(["score", model, str(source), "-o", str(out), "--store", str(store)]) == 0
    err = capsys.readouterr().err
    assert "scoring pairs" in err and "scored 12 pairs with rm" in err  # the progress bar, then the summary
    written = pd.read_parquet(out)
    assert written.columns.tolist() == ["item_id", "score_a", "score_b", "p_a"]
    expected = workbench.score_pairs(model, pairs, progress=False)
    np.testing.assert_allclose(written.set_index("item_id").loc[pairs.index, ["score_a", "score_b"]],
                               expected[["score_a", "score_b"]], atol=1e-6)
    saved = workbench.Store(store).load_scores("rm")
    assert len(saved) == 12 and saved["fingerprint"].notna().all()  # offered to the app as a model
    assert main(["score", model, str(source), "-o", str(tmp_path / "again.csv"), "--store", str(store), "--quiet"]) == 0
    assert "24 of 24 texts from the cache" in capsys.readouterr().err


def test_score_a_dpo_pair_from_a_long_ratings_table(tmp_path, pairs, capsys):
    policy = tiny_decoder(tmp_path / "policy", "gpt2", head="causal", seed=1)
    reference = tiny_decoder(tmp_path / "ref", "gpt2", head="causal", seed=2)
    long = pairs.rename_axis("item_id").reset_index()[["item_id", "prompt", "response_a", "response_b"]]
    long = pd.concat([long.assign(rater_id="r1", label="A"), long.assign(rater_id="r2", label="B")])
    source = tmp_path / "ratings.jsonl"
    long.to_json(source, orient="records", lines=True)
    out = tmp_path / "dpo.csv"
    assert main(["score", policy, str(source), "-o", str(out), "--reference", reference, "--beta", "0.5", "--quiet"]) == 0
    written = pd.read_csv(out, dtype={"item_id": str}).set_index("item_id")
    expected = workbench.score_pairs(policy, pairs, reference=reference, beta=0.5, progress=False)
    np.testing.assert_allclose(written.loc[pairs.index, "score_a"], expected["score_a"], atol=1e-6)
    assert "DPO implicit reward" in capsys.readouterr().err


@pytest.mark.parametrize("problem, match", [
    ("missing", "does not exist"), ("columns", "missing 'response_b'"), ("suffix", "cannot tell the format"),
    ("conflict", "item 'x' appears with different texts"), ("model", "not a local directory")])
def test_score_explains_bad_input_without_traceback(tmp_path, capsys, problem, match):
    model = str(tmp_path / "nothing-here") if problem == "model" else tiny_decoder(tmp_path / "rm", "gpt2")
    source = tmp_path / ("pairs.txt" if problem == "suffix" else "pairs.csv")
    rows = {"item_id": ["x", "x"], "prompt": ["p", "p"], "response_a": ["a", "a" if problem != "conflict" else "b"],
            "response_b": ["b", "b"]}
    frame = pd.DataFrame(rows)
    if problem != "missing":
        (frame.drop(columns="response_b") if problem == "columns" else frame).to_csv(source, index=False)
    assert main(["score", model, str(source), "-o", str(tmp_path / "o.parquet"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err

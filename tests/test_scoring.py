"""Scoring local sequence classifiers: tiny BERT checkpoints built in a temporary folder (nothing downloaded)."""

import sqlite3
import warnings

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.analysis.scoring import TruncationWarning, tiny_reward_model
from workbench.data.store import SCHEMA_VERSION

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_reward_model(tmp_path_factory.mktemp("tiny-rm"))


@pytest.fixture(scope="module")
def pairs():
    return workbench.simulate_study(seed=1, n_items=40, ratings_per_item=3, n_raters=6).ratings.pairs()


def _direct_scores(path, prompts, responses):
    """One text at a time, straight through transformers: the independent reference."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    with torch.inference_mode():
        return np.array([float(model(**tokenizer(p, r, return_tensors="pt")).logits[0, 0]) for p, r in zip(prompts, responses)])


def test_round_trip_matches_one_by_one_transformers(checkpoint, pairs):
    scored = workbench.score_pairs(checkpoint, pairs, progress=False)
    assert list(scored.columns) == ["score_a", "score_b", "p_a"]
    assert scored.index.equals(pairs.index)
    head = pairs.head(6)
    np.testing.assert_allclose(scored["score_a"].head(6), _direct_scores(checkpoint, head["prompt"], head["response_a"]), atol=1e-5)
    np.testing.assert_allclose(scored["score_b"].head(6), _direct_scores(checkpoint, head["prompt"], head["response_b"]), atol=1e-5)
    np.testing.assert_allclose(scored["p_a"], 1 / (1 + np.exp(scored["score_b"] - scored["score_a"])))
    assert scored["score_a"].std() > 1e-3  # the random model does tell texts apart
    report = scored.attrs["scoring"]
    assert report["truncated"] == 0 and report["text_format"] == "tokenizer pair (prompt, response)"
    assert report["padded_tokens"] >= report["real_tokens"] > 0


def test_scores_do_not_depend_on_batch_size(checkpoint, pairs):
    runs = [workbench.score_pairs(checkpoint, pairs.head(15), batch_size=b, progress=False) for b in (1, 7, 32)]
    for other in runs[1:]:
        np.testing.assert_allclose(other[["score_a", "score_b"]], runs[0][["score_a", "score_b"]], atol=1e-5, rtol=0)


def test_length_sorting_keeps_padding_small(checkpoint):
    rng = np.random.default_rng(0)
    words = "how do i plan a week of meals here is a clear step by step answer".split()
    texts = [" ".join(rng.choice(words, size=int(n))) for n in rng.integers(2, 60, size=200)]
    scored = workbench.score_items(checkpoint, texts, batch_size=16, progress=False)
    report = scored.attrs["scoring"]
    from transformers import AutoTokenizer

    lengths = np.array([len(ids) for ids in AutoTokenizer.from_pretrained(checkpoint)(texts)["input_ids"]])
    assert report["real_tokens"] == lengths.sum()
    unsorted_padded = sum(chunk.max() * len(chunk) for chunk in np.array_split(lengths, np.arange(16, 200, 16)))
    assert report["padding_overhead"] <= 0.05 and report["padded_tokens"] < lengths.sum() + (unsorted_padded - lengths.sum()) / 5


def test_loaded_model_and_tokenizer_give_the_same_scores(checkpoint, pairs):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    loaded = (AutoModelForSequenceClassification.from_pretrained(checkpoint), AutoTokenizer.from_pretrained(checkpoint))
    np.testing.assert_allclose(
        workbench.score_pairs(loaded, pairs, progress=False), workbench.score_pairs(checkpoint, pairs, progress=False), atol=1e-6
    )


def test_cache_hits_run_no_model(checkpoint, pairs, tmp_path):
    from workbench.kernels.scoring import SequenceScorer

    store = workbench.Store(tmp_path / "project.sqlite")
    first = SequenceScorer.from_checkpoint(checkpoint)
    before = workbench.score_pairs(first, pairs, store=store, progress=False)
    assert first.forward_calls > 0
    again = SequenceScorer.from_checkpoint(checkpoint)
    after = workbench.score_pairs(again, pairs, store=store, progress=False)
    assert again.forward_calls == 0 and again.model is None  # the weights were not even loaded
    assert after.attrs["scoring"]["cached"] == after.attrs["scoring"]["unique_texts"]
    pd.testing.assert_frame_equal(before, after)
    grown = pd.concat([pairs, pairs.head(2).assign(response_a="a brand new answer .").rename(index=lambda i: i + "-new")])
    third = SequenceScorer.from_checkpoint(checkpoint)
    report = workbench.score_pairs(third, grown, store=store, progress=False).attrs["scoring"]
    assert report["scored"] == 2 and report["cached"] == report["unique_texts"] - 2  # only the two new texts ran
    assert 1 <= third.forward_calls <= 2


def test_changed_weights_are_a_new_fingerprint(checkpoint, tmp_path):
    import shutil

    from transformers import AutoModelForSequenceClassification

    from workbench.kernels.scoring import checkpoint_fingerprint, check_checkpoint

    copy = shutil.copytree(checkpoint, tmp_path / "copy")
    assert checkpoint_fingerprint(check_checkpoint(copy)) == checkpoint_fingerprint(check_checkpoint(checkpoint))
    model = AutoModelForSequenceClassification.from_pretrained(copy)
    with torch.no_grad():
        model.classifier.bias += 0.5
    model.save_pretrained(copy)
    assert checkpoint_fingerprint(check_checkpoint(copy)) != checkpoint_fingerprint(check_checkpoint(checkpoint))
    store = workbench.Store(tmp_path / "s.sqlite")
    texts = ["how do i plan meals ?", "here is a clear answer ."]
    base = workbench.score_items(checkpoint, texts, store=store, progress=False)
    moved = workbench.score_items(copy, texts, store=store, progress=False)
    assert moved.attrs["scoring"]["cached"] == 0
    np.testing.assert_allclose(moved["score_score"] - base["score_score"], 0.5, atol=1e-5)


def test_truncation_is_counted_and_reported(checkpoint, pairs):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    texts = set(zip(pairs["prompt"], pairs["response_a"])) | set(zip(pairs["prompt"], pairs["response_b"]))
    lengths = np.array([len(tokenizer(p, r)["input_ids"]) for p, r in texts])
    limit = int(np.median(lengths))
    expected = int((lengths > limit).sum())
    assert 0 < expected < len(texts)
    with pytest.warns(TruncationWarning, match=f"{expected} of {len(texts)} distinct texts"):
        scored = workbench.score_pairs(checkpoint, pairs, max_length=limit, progress=False)
    assert scored.attrs["scoring"]["truncated"] == expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        workbench.score_pairs(checkpoint, pairs, progress=False)  # no truncation, no warning


def test_chat_template_is_used_when_present(checkpoint, tmp_path):
    import shutil

    from transformers import AutoTokenizer

    copy = shutil.copytree(checkpoint, tmp_path / "chat")
    tokenizer = AutoTokenizer.from_pretrained(copy)
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}"
    tokenizer.save_pretrained(copy)
    frame = pd.DataFrame({"prompt": ["how do i plan meals ?"], "response_a": ["here is a clear answer ."], "response_b": ["lol ."]})
    scored = workbench.score_pairs(copy, frame, progress=False)
    assert scored.attrs["scoring"]["text_format"] == "chat template"
    from workbench.kernels.scoring import SequenceScorer

    assert SequenceScorer.from_checkpoint(copy).pair_texts(["how ?"], ["fine ."]) == ["user : how ? assistant : fine . "]
    # the template's text is tokenized as apply_chat_template(tokenize=True) does: no special tokens added to it
    from transformers import AutoModelForSequenceClassification

    conversation = [{"role": "user", "content": "how do i plan meals ?"}, {"role": "assistant", "content": "here is a clear answer ."}]
    ids = AutoTokenizer.from_pretrained(copy).apply_chat_template(conversation, tokenize=True)["input_ids"]
    assert 2 not in ids  # no [CLS] the template did not write
    with torch.inference_mode():
        direct = float(AutoModelForSequenceClassification.from_pretrained(copy).eval()(input_ids=torch.tensor([ids])).logits[0, 0])
    assert scored["score_a"].iloc[0] == pytest.approx(direct, abs=1e-6)


def test_score_items_gives_label_probabilities(tmp_path):
    path = tiny_reward_model(tmp_path / "guard", num_labels=2)
    out = workbench.score_items(path, pd.Series(["pick a lock", "plan meals"], index=["x", "y"]), progress=False)
    assert list(out.index) == ["x", "y"]
    np.testing.assert_allclose(out[["p_safe", "p_unsafe"]].sum(axis=1), 1.0)
    logits = out[["score_safe", "score_unsafe"]].to_numpy()
    np.testing.assert_allclose(out["p_unsafe"], 1 / (1 + np.exp(logits[:, 0] - logits[:, 1])))


def test_progress_callable_sees_every_text(checkpoint):
    seen = []
    workbench.score_items(checkpoint, ["a", "b", "c plan", "d"], batch_size=3, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4, 4) and [d for d, _ in seen] == sorted(d for d, _ in seen) and all(d <= 3 for d, _ in seen[:1])


@pytest.mark.parametrize("problem", ["missing", "file", "no_config", "pickle", "no_tokenizer", "hub_id"])
def test_bad_checkpoints_give_clear_errors(checkpoint, tmp_path, problem):
    import shutil

    folder = tmp_path / "model"
    if problem == "missing":
        target, match = folder, "not a local directory"
    elif problem == "hub_id":
        target, match = "OpenAssistant/reward-model-deberta-v3-large-v2", "never downloads"
    elif problem == "file":
        folder.write_text("x")
        target, match = folder, "is a file"
    else:
        shutil.copytree(checkpoint, folder)
        target = folder
        if problem == "no_config":
            (folder / "config.json").unlink()
            match = "no config.json"
        elif problem == "pickle":
            (folder / "model.safetensors").unlink()
            torch.save({"weights": torch.zeros(1)}, folder / "pytorch_model.bin")
            match = "only pickle weights"
        else:
            for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
                (folder / name).unlink(missing_ok=True)
            match = "no tokenizer files"
    with pytest.raises(workbench.WorkbenchDataError, match=match):
        workbench.score_items(target, ["plan meals"], progress=False)


def test_pickle_weights_are_never_opened(checkpoint, tmp_path, monkeypatch):
    import shutil

    folder = shutil.copytree(checkpoint, tmp_path / "model")
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not even a pickle")
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(workbench.WorkbenchDataError, match="safetensors only"):
        workbench.score_pairs(folder, pd.DataFrame({"prompt": ["p"], "response_a": ["a"], "response_b": ["b"]}), progress=False)


def test_pairs_need_a_one_output_model(tmp_path, pairs):
    path = tiny_reward_model(tmp_path / "two", num_labels=2)
    with pytest.raises(workbench.WorkbenchDataError, match="one output; this model has 2 .safe, unsafe."):
        workbench.score_pairs(path, pairs, progress=False)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda p: p.drop(columns="response_b"), "missing 'response_b'"),
        (lambda p: p.assign(prompt=[None] + [""] * (len(p) - 1)), "column 'prompt' must hold text; row 'demo-000000'"),
        (lambda p: p.iloc[:0], "empty"),
    ],
)
def test_bad_pairs_are_named(checkpoint, pairs, change, match):
    with pytest.raises(workbench.WorkbenchDataError, match=match):
        workbench.score_pairs(checkpoint, change(pairs), progress=False)


def test_bad_options(checkpoint, pairs):
    with pytest.raises(workbench.WorkbenchDataError, match="batch_size"):
        workbench.score_pairs(checkpoint, pairs, batch_size=0, progress=False)
    with pytest.raises(workbench.WorkbenchDataError, match="dtype"):
        workbench.score_pairs(checkpoint, pairs, dtype="int8", progress=False)
    with pytest.raises(workbench.WorkbenchDataError, match="unknown device"):
        workbench.score_pairs(checkpoint, pairs, device="tpu9", progress=False)


def test_bfloat16_on_cpu_is_close_to_float32(checkpoint, pairs):
    full = workbench.score_pairs(checkpoint, pairs, progress=False)
    half = workbench.score_pairs(checkpoint, pairs, dtype="bfloat16", progress=False)
    assert half.attrs["scoring"]["dtype"] == "bfloat16"
    assert np.corrcoef(full["score_a"], half["score_a"])[0, 1] > 0.95


def test_a_version_1_store_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
            CREATE TABLE tags (id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, scheme TEXT NOT NULL,
                               value TEXT NOT NULL, note TEXT, tagger TEXT NOT NULL, time TEXT NOT NULL);
            CREATE TABLE recipes (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, recipe TEXT NOT NULL,
                                  author TEXT, time TEXT NOT NULL);
            CREATE TABLE scores (model TEXT NOT NULL, item_id TEXT NOT NULL, score_a REAL, score_b REAL, time TEXT NOT NULL,
                                 PRIMARY KEY (model, item_id));
            INSERT INTO scores VALUES ('rm', 'i1', 0.5, 0.25, '2026-01-01');
        """)
    store = workbench.Store(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    old = store.load_scores("rm")
    assert old[["item_id", "score_a", "score_b"]].values.tolist() == [["i1", 0.5, 0.25]] and old["fingerprint"].isna().all()
    store.save_text_scores("key", ["h1"], [[1.5, -2.0]])
    assert store.cached_text_scores("key", ["h1", "h2"]) == {"h1": [1.5, -2.0]}


def test_a_version_2_store_gains_the_fingerprint_column(tmp_path):
    path = tmp_path / "v2.sqlite"
    workbench.Store(path)
    with sqlite3.connect(path) as conn:  # what a version-2 file looked like: no fingerprint column
        conn.execute("ALTER TABLE scores DROP COLUMN fingerprint")
        conn.execute("UPDATE schema_version SET version = 2")
    store = workbench.Store(path)
    store.save_scores("rm", pd.DataFrame({"item_id": ["i"], "score_a": [1.0], "score_b": [0.0]}), fingerprint="abc")
    assert store.load_scores("rm")["fingerprint"].tolist() == ["abc"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_scores_match_cpu_and_bfloat16_is_close(checkpoint, pairs):
    cpu = workbench.score_pairs(checkpoint, pairs, device="cpu", progress=False)
    cuda = workbench.score_pairs(checkpoint, pairs, device="auto", progress=False)
    assert cuda.attrs["scoring"]["device"].startswith("cuda")
    np.testing.assert_allclose(cuda[["score_a", "score_b"]], cpu[["score_a", "score_b"]], atol=1e-4)
    half = workbench.score_pairs(checkpoint, pairs, device="cuda", dtype="bfloat16", progress=False)
    assert half.attrs["scoring"]["dtype"] == "bfloat16"
    assert np.corrcoef(half["score_a"], cpu["score_a"])[0, 1] > 0.95


def test_padding_is_masked_when_the_pad_token_is_not_id_0(checkpoint, pairs, tmp_path):
    """Batches pad input_ids with the tokenizer's pad id but the attention mask (and token types) with 0."""
    import shutil

    from transformers import AutoTokenizer

    copy = shutil.copytree(checkpoint, tmp_path / "pad4")
    tokenizer = AutoTokenizer.from_pretrained(copy)
    tokenizer.pad_token = "[MASK]"
    tokenizer.save_pretrained(copy)
    assert AutoTokenizer.from_pretrained(copy).pad_token_id == 4
    head = pairs.head(8)
    scored = workbench.score_pairs(str(copy), head, batch_size=8, progress=False)
    np.testing.assert_allclose(scored["score_a"], _direct_scores(copy, head["prompt"], head["response_a"]), atol=1e-5)


def test_a_frame_of_prompts_and_responses_is_scored_as_conversations(checkpoint, pairs):
    head = pairs.head(5)
    frame = head[["prompt", "response_b"]].rename(columns={"response_b": "response"})
    scored = workbench.score_items(checkpoint, frame, progress=False)
    assert scored.index.equals(head.index) and scored.columns.tolist() == ["score_score", "p"]
    np.testing.assert_allclose(scored["score_score"], _direct_scores(checkpoint, head["prompt"], head["response_b"]), atol=1e-5)
    with pytest.raises(workbench.WorkbenchDataError, match="needs columns prompt, response; missing 'response'"):
        workbench.score_items(checkpoint, head[["prompt"]], progress=False)
    with pytest.raises(workbench.WorkbenchDataError, match="column 'response' must hold text"):
        workbench.score_items(checkpoint, frame.assign(response=1.0), progress=False)


def test_a_loaded_model_and_tokenizer_score_like_their_checkpoint_in_each_dtype(checkpoint, pairs):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    head = pairs.head(6)
    for dtype in (None, "bfloat16"):
        loaded = (AutoModelForSequenceClassification.from_pretrained(checkpoint), AutoTokenizer.from_pretrained(checkpoint))
        from_pair = workbench.score_pairs(loaded, head, dtype=dtype, progress=False)
        from_folder = workbench.score_pairs(checkpoint, head, dtype=dtype, progress=False)
        np.testing.assert_array_equal(from_pair[["score_a", "score_b"]], from_folder[["score_a", "score_b"]])
        assert from_pair.attrs["scoring"]["dtype"] == from_folder.attrs["scoring"]["dtype"]
    float32 = workbench.score_pairs(checkpoint, head, progress=False)
    assert not np.array_equal(from_pair["score_a"], float32["score_a"])  # bfloat16 did round


def test_the_tiny_models_tokenizer_knows_its_special_tokens(checkpoint):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert tokenizer.convert_tokens_to_ids(specials) == [0, 1, 2, 3, 4]
    assert [tokenizer.pad_token, tokenizer.unk_token, tokenizer.cls_token, tokenizer.sep_token, tokenizer.mask_token] == specials
    ids = tokenizer("plan meals", "a clear answer")["input_ids"]
    assert ids[0] == 2 and ids.count(3) == 2 and 1 not in ids  # [CLS] … [SEP] … [SEP], no unknown word


def test_one_string_is_one_text(checkpoint):
    one = workbench.score_items(checkpoint, "plan meals for a week", progress=False)
    listed = workbench.score_items(checkpoint, ["plan meals for a week"], progress=False)
    assert len(one) == 1 and one.equals(listed)

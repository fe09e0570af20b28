"""Decoder reward models (Llama, Qwen2, Gemma, Gemma2, Mistral, GPT-2 sequence classifiers) built tiny from configs."""

import shutil

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.analysis.tiny_decoders import ARCHITECTURES, tiny_decoder

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def pairs():
    # a few pairs with lengths far apart, so batches do pad
    frame = workbench.simulate_study(seed=1, n_items=8, ratings_per_item=3, n_raters=6).ratings.pairs()
    return frame.assign(response_b=[r * (1 + k % 3) for k, r in enumerate(frame["response_b"])])


def _one_by_one(path, pairs, column):
    """Each text alone, unpadded, through the model's own forward; the pooled token is the text's last one."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    model.config.pad_token_id = None  # batch of one: pool on the last token, whatever it is
    out = []
    with torch.inference_mode():
        for prompt, response in zip(pairs["prompt"], pairs[column]):
            if tokenizer.chat_template:
                conversation = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
                ids = tokenizer.apply_chat_template(conversation, tokenize=True)["input_ids"]
            else:
                ids = tokenizer(prompt, response)["input_ids"]
            out.append(float(model(input_ids=torch.tensor([ids])).logits[0, 0]))
    return np.array(out)


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("pad, chat, side", [(None, True, "right"), ("eos", True, "left"), ("pad", False, "left"),
                                             ("eos", False, "right")])
def test_batched_scores_equal_the_models_own_pass_on_each_text(tmp_path, pairs, arch, pad, chat, side):
    path = tiny_decoder(tmp_path / arch, arch, pad=pad, chat_template=chat, padding_side=side)
    scored = workbench.score_pairs(path, pairs, batch_size=16, progress=False)
    assert scored.attrs["scoring"]["padded_tokens"] > scored.attrs["scoring"]["real_tokens"]  # batches did pad
    for column, score in (("response_a", "score_a"), ("response_b", "score_b")):
        np.testing.assert_allclose(scored[score], _one_by_one(path, pairs, column), atol=1e-5, rtol=0)
    assert scored["score_a"].std() > 1e-3


def test_left_and_right_padding_tokenizers_give_the_same_scores(tmp_path, pairs):
    left = workbench.score_pairs(tiny_decoder(tmp_path / "l", "llama", pad="eos", padding_side="left"), pairs, progress=False)
    right = workbench.score_pairs(tiny_decoder(tmp_path / "r", "llama", pad="eos", padding_side="right"), pairs, progress=False)
    np.testing.assert_allclose(left[["score_a", "score_b"]], right[["score_a", "score_b"]], atol=1e-6, rtol=0)


def test_chat_texts_get_no_second_bos(tmp_path):
    from transformers import AutoTokenizer

    from workbench.kernels.scoring import SequenceScorer

    path = tiny_decoder(tmp_path / "m", "qwen2", pad=None)
    scorer = SequenceScorer.from_checkpoint(path)
    texts = scorer.pair_texts(["plan meals ?"], ["here is a clear answer ."])
    encoded, _ = scorer.encode(texts, 256)
    tokenizer = AutoTokenizer.from_pretrained(path)
    conversation = [{"role": "user", "content": "plan meals ?"}, {"role": "assistant", "content": "here is a clear answer ."}]
    expected = tokenizer.apply_chat_template(conversation, tokenize=True)["input_ids"]
    assert encoded[0]["input_ids"] == expected
    assert expected.count(tokenizer.bos_token_id) == 1 and expected[-1] == tokenizer.eos_token_id


def test_the_pad_id_is_one_no_real_token_uses():
    from workbench.kernels.scoring import free_pad_id

    class Tok:
        pad_token_id = 2

    assert free_pad_id(Tok(), {5, 7}, 10) == 2  # the tokenizer's own, when free
    assert free_pad_id(Tok(), {0, 1, 2, 3}, 10) == 4  # its pad (= EOS here) is a real token of the batch
    Tok.pad_token_id = None
    assert free_pad_id(Tok(), {0, 2}, 10) == 1
    with pytest.raises(workbench.WorkbenchDataError, match="every one of the model's 3 token ids"):
        free_pad_id(Tok(), {0, 1, 2}, 3)


def test_a_loaded_decoder_keeps_its_pad_setting(tmp_path, pairs):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = tiny_decoder(tmp_path / "m", "gpt2", pad=None)
    model, tokenizer = AutoModelForSequenceClassification.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    scored = workbench.score_pairs((model, tokenizer), pairs, progress=False)
    assert model.config.pad_token_id is None  # told the pad id for the batches, then restored
    np.testing.assert_allclose(scored["score_a"], _one_by_one(path, pairs, "response_a"), atol=1e-5, rtol=0)


def test_cache_keys_differ_between_a_chat_text_and_the_same_plain_string():
    from workbench.kernels.scoring import ChatText, text_hash

    assert text_hash(ChatText("<bos>user : hi")) != text_hash("<bos>user : hi")


def test_max_length_defaults_to_the_models_positions(tmp_path):
    import json

    from workbench.kernels.scoring import SequenceScorer

    path = tiny_decoder(tmp_path / "m", "llama", max_positions=64)
    config = json.loads((tmp_path / "m" / "tokenizer_config.json").read_text())
    config["model_max_length"] = 10**30  # the tokenizer's "no limit"
    (tmp_path / "m" / "tokenizer_config.json").write_text(json.dumps(config))
    assert SequenceScorer.from_checkpoint(path).max_length == 64


def test_batches_are_bounded_by_tokens():
    from workbench.kernels.scoring import _batches

    lengths = np.array([100, 100, 100, 100, 10, 10])
    order = np.argsort(-lengths, kind="stable")
    assert [len(b) for b in _batches(order, lengths, 32, max_tokens=250)] == [2, 2, 2]
    assert [len(b) for b in _batches(order, lengths, 32, max_tokens=50)] == [1, 1, 1, 1, 2]  # a long text goes alone


def test_out_of_memory_halves_the_batch_and_retries(tmp_path, pairs):
    from workbench.kernels.scoring import SequenceScorer

    path = tiny_decoder(tmp_path / "m", "llama", pad=None)
    plain = workbench.score_pairs(path, pairs, progress=False)
    scorer = SequenceScorer.from_checkpoint(path)
    model = scorer.load_model()
    real_forward = model.forward

    def small_batches_only(*args, **kwargs):
        if kwargs["input_ids"].shape[0] > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_forward(*args, **kwargs)

    model.forward = small_batches_only
    with pytest.warns(UserWarning, match="out of memory"):
        halved = workbench.score_pairs(scorer, pairs, batch_size=16, progress=False)
    assert halved.attrs["scoring"]["oom_retries"] >= 1
    np.testing.assert_allclose(halved[["score_a", "score_b"]], plain[["score_a", "score_b"]], atol=1e-5, rtol=0)


def test_transformers_errors_become_one_sentence_naming_the_folder(tmp_path, pairs):
    import json

    path = tiny_decoder(tmp_path / "m", "llama")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["model_type"] = "no-such-architecture"
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(workbench.WorkbenchDataError, match=r"cannot read config.json of '.*m'") as err:
        workbench.score_pairs(path, pairs, progress=False)
    assert "\n" not in str(err.value)
    broken = tiny_decoder(tmp_path / "c", "llama")
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    config["vocab_size"] = 5  # the embedding no longer matches the weights
    (tmp_path / "c" / "config.json").write_text(json.dumps(config))
    with pytest.raises(workbench.WorkbenchDataError, match=r"cannot load the model in '.*c'") as err:
        workbench.score_pairs(broken, pairs, progress=False)
    assert "\n" not in str(err.value)


def test_a_decoder_with_pickle_weights_only_is_refused(tmp_path, pairs):
    path = tiny_decoder(tmp_path / "m", "mistral")
    (tmp_path / "m" / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(1)}, tmp_path / "m" / "pytorch_model.bin")
    with pytest.raises(workbench.WorkbenchDataError, match="only pickle weights"):
        workbench.score_pairs(path, pairs, progress=False)


def test_remote_code_is_never_trusted(tmp_path, pairs, monkeypatch):
    import transformers

    seen = []
    original = transformers.AutoModelForSequenceClassification.from_pretrained

    def spy(*args, **kwargs):
        seen.append(kwargs.get("trust_remote_code"))
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", spy)
    workbench.score_pairs(tiny_decoder(tmp_path / "m", "gemma"), pairs.head(2), progress=False)
    assert seen == [False]


def test_bfloat16_decoder_is_close_to_float32(tmp_path, pairs):
    path = tiny_decoder(tmp_path / "m", "qwen2", pad="eos")
    full = workbench.score_pairs(path, pairs, progress=False)
    half = workbench.score_pairs(path, pairs, dtype="bfloat16", progress=False)
    assert half.attrs["scoring"]["dtype"] == "bfloat16"
    np.testing.assert_allclose(half["score_a"], full["score_a"], atol=0.1)
    assert not pd.Series(half["score_a"]).equals(pd.Series(full["score_a"]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_decoder_and_dpo_scores_match_cpu(tmp_path, pairs):
    rm = tiny_decoder(tmp_path / "rm", "llama", pad="eos")
    policy = tiny_decoder(tmp_path / "p", "qwen2", head="causal", seed=1)
    reference = tiny_decoder(tmp_path / "r", "qwen2", head="causal", seed=2)
    for kwargs in ({"model": rm}, {"model": policy, "reference": reference, "beta": 0.1}):
        model = kwargs.pop("model")
        cpu = workbench.score_pairs(model, pairs, device="cpu", progress=False, **kwargs)
        cuda = workbench.score_pairs(model, pairs, device="cuda", progress=False, **kwargs)
        assert cuda.attrs["scoring"]["device"].startswith("cuda")
        np.testing.assert_allclose(cuda[["score_a", "score_b"]], cpu[["score_a", "score_b"]], atol=1e-4)
        half = workbench.score_pairs(model, pairs, device="cuda", dtype="bfloat16", progress=False, **kwargs)
        assert np.corrcoef(half["score_a"], cpu["score_a"])[0, 1] > 0.95

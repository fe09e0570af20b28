"""DPO implicit rewards from tiny causal LMs built from configs (no downloads), against a direct log-prob sum."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.analysis.tiny_decoders import tiny_decoder

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def pairs():
    frame = workbench.simulate_study(seed=2, n_items=6, ratings_per_item=3, n_raters=6).ratings.pairs()
    return frame.assign(response_b=[r * (1 + k % 3) for k, r in enumerate(frame["response_b"])])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("dpo")
    return {arch: (tiny_decoder(root / f"{arch}-policy", arch, head="causal", seed=1),
                   tiny_decoder(root / f"{arch}-ref", arch, head="causal", seed=2))
            for arch in ("llama", "gpt2", "gemma2")}


def _logprob(model, tokenizer, prompt, response):
    """Σ log p(response token | all before), one text, unpadded, straight from the logits."""
    user = [{"role": "user", "content": prompt}]
    head = tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=True)["input_ids"]
    full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": response}], tokenize=True)["input_ids"]
    assert full[: len(head)] == head
    with torch.inference_mode():
        logp = torch.log_softmax(model(input_ids=torch.tensor([full])).logits[0].double(), dim=-1)
    return sum(float(logp[t - 1, full[t]]) for t in range(len(head), len(full))), len(full) - len(head)


def _direct(policy, reference, pairs, column, beta, normalise=False):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(policy)
    pi = AutoModelForCausalLM.from_pretrained(policy).eval()
    ref = AutoModelForCausalLM.from_pretrained(reference).eval() if reference else None
    out = []
    for prompt, response in zip(pairs["prompt"], pairs[column]):
        value, n = _logprob(pi, tokenizer, prompt, response)
        if ref is not None:
            value -= _logprob(ref, tokenizer, prompt, response)[0]
        out.append(beta * (value / n if normalise else value))
    return np.array(out)


@pytest.mark.parametrize("arch", ["llama", "gpt2", "gemma2"])
def test_dpo_reward_is_beta_times_the_log_ratio_of_the_response(models, pairs, arch):
    policy, reference = models[arch]
    scored = workbench.score_pairs(policy, pairs, reference=reference, beta=0.1, batch_size=4, progress=False)
    assert scored.attrs["scoring"]["text_format"].startswith("DPO implicit reward")
    assert scored.attrs["scoring"]["padded_tokens"] > scored.attrs["scoring"]["real_tokens"]
    np.testing.assert_allclose(scored["score_a"], _direct(policy, reference, pairs, "response_a", 0.1), atol=1e-5, rtol=0)
    np.testing.assert_allclose(scored["score_b"], _direct(policy, reference, pairs, "response_b", 0.1), atol=1e-5, rtol=0)
    np.testing.assert_allclose(scored["p_a"], 1 / (1 + np.exp(scored["score_b"] - scored["score_a"])))


def test_reference_free_and_length_normalised(models, pairs):
    policy, _ = models["llama"]
    plain = workbench.score_pairs(policy, pairs, progress=False)  # a causal folder: reference-free, beta 0.1
    np.testing.assert_allclose(plain["score_b"], _direct(policy, None, pairs, "response_b", 0.1), atol=1e-5, rtol=0)
    simpo = workbench.score_pairs(policy, pairs, beta=2.0, length_normalize=True, progress=False)
    np.testing.assert_allclose(simpo["score_b"], _direct(policy, None, pairs, "response_b", 2.0, normalise=True), atol=1e-5, rtol=0)
    assert "SimPO" in simpo.attrs["scoring"]["text_format"]


def test_the_policy_against_itself_scores_zero(models, pairs):
    policy, _ = models["gpt2"]
    scored = workbench.score_pairs(policy, pairs, reference=policy, progress=False)
    np.testing.assert_allclose(scored[["score_a", "score_b"]], 0.0, atol=1e-9)


def test_the_cache_keys_on_reference_and_beta(models, pairs, tmp_path):
    from workbench.kernels.causal_scoring import ImplicitRewardScorer

    policy, reference = models["llama"]
    store = workbench.Store(tmp_path / "s.sqlite")
    first = workbench.score_pairs(policy, pairs, reference=reference, beta=0.1, store=store, progress=False)
    again = ImplicitRewardScorer.from_checkpoints(policy, reference, beta=0.1)
    cached = workbench.score_pairs(again, pairs, store=store, progress=False)
    assert again.policy is None and cached.attrs["scoring"]["cached"] == cached.attrs["scoring"]["unique_texts"]
    pd.testing.assert_frame_equal(first, cached)
    other_beta = workbench.score_pairs(policy, pairs, reference=reference, beta=0.2, store=store, progress=False)
    assert other_beta.attrs["scoring"]["cached"] == 0
    np.testing.assert_allclose(other_beta["score_a"], 2 * first["score_a"], rtol=1e-6)
    no_reference = workbench.score_pairs(policy, pairs, beta=0.1, store=store, progress=False)
    assert no_reference.attrs["scoring"]["cached"] == 0
    other_reference = workbench.score_pairs(policy, pairs, reference=models["llama"][0], beta=0.1, store=store, progress=False)
    assert other_reference.attrs["scoring"]["cached"] == 0


def test_dpo_batches_do_not_change_the_rewards(models, pairs):
    policy, reference = models["gemma2"]
    one = workbench.score_pairs(policy, pairs, reference=reference, batch_size=1, progress=False)
    many = workbench.score_pairs(policy, pairs, reference=reference, batch_size=16, progress=False)
    np.testing.assert_allclose(one[["score_a", "score_b"]], many[["score_a", "score_b"]], atol=1e-5, rtol=0)


def test_without_a_chat_template_the_response_follows_the_prompt(tmp_path, pairs):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    policy = tiny_decoder(tmp_path / "p", "llama", head="causal", chat_template=False)
    scored = workbench.score_pairs(policy, pairs.head(3), progress=False)
    tokenizer = AutoTokenizer.from_pretrained(policy)
    model = AutoModelForCausalLM.from_pretrained(policy).eval()
    expected = []
    for prompt, response in zip(pairs["prompt"].head(3), pairs["response_a"].head(3)):
        head = tokenizer(prompt)["input_ids"]
        full = head + tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        with torch.inference_mode():
            logp = torch.log_softmax(model(input_ids=torch.tensor([full])).logits[0].double(), dim=-1)
        expected.append(0.1 * sum(float(logp[t - 1, full[t]]) for t in range(len(head), len(full))))
    np.testing.assert_allclose(scored["score_a"], expected, atol=1e-5, rtol=0)


def test_bad_dpo_arguments_are_named(models, pairs, tmp_path):
    policy, reference = models["llama"]
    with pytest.raises(workbench.WorkbenchDataError, match="beta must be a positive number"):
        workbench.score_pairs(policy, pairs, reference=reference, beta=-1, progress=False)
    other_vocab = tiny_decoder(tmp_path / "bert-like", "gpt2", head="causal")
    import json

    config = json.loads((tmp_path / "bert-like" / "tokenizer.json").read_text())
    config["model"]["vocab"]["zebra"] = len(config["model"]["vocab"])
    (tmp_path / "bert-like" / "tokenizer.json").write_text(json.dumps(config))
    with pytest.raises(workbench.WorkbenchDataError, match="another vocabulary than the policy"):
        workbench.score_pairs(policy, pairs, reference=other_vocab, progress=False)
    from workbench.analysis.scoring import tiny_reward_model

    classifier = tiny_reward_model(tmp_path / "rm")
    with pytest.raises(workbench.WorkbenchDataError, match="beta and length_normalize are for causal LMs"):
        workbench.score_pairs(classifier, pairs, beta=0.1, progress=False)
    with pytest.raises(workbench.WorkbenchDataError, match="the policy '.*rm' is not a causal LM .its config names BertFor"):
        workbench.score_pairs(classifier, pairs, reference=reference, progress=False)
    with pytest.raises(workbench.WorkbenchDataError, match="the reference '.*rm' is not a causal LM"):
        workbench.score_pairs(policy, pairs, reference=classifier, progress=False)
    (tmp_path / "pickled").mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / "pickled" / name).write_bytes((Path(policy) / name).read_bytes())
    torch.save({"w": torch.zeros(1)}, tmp_path / "pickled" / "pytorch_model.bin")
    with pytest.raises(workbench.WorkbenchDataError, match="only pickle weights"):
        workbench.score_pairs(policy, pairs, reference=tmp_path / "pickled", progress=False)


def test_a_causal_lm_is_never_read_as_a_classifier_with_a_random_head(models):
    policy, _ = models["llama"]
    with pytest.raises(workbench.WorkbenchDataError, match="holds a causal LM .LlamaForCausalLM., not a sequence classifier"):
        workbench.score_items(policy, ["plan meals"], progress=False)

"""``score_pairs`` and ``score_items``: score preference pairs or single texts with a local model.

pandas in, pandas out around :mod:`workbench.kernels.scoring`. A model is a local checkpoint folder,
a ``(model, tokenizer)`` pair already loaded, or a reward model trained in the workbench. With a
:class:`~workbench.Store`, every scored text is cached under the model's fingerprint (config +
weights + tokenizer), so scoring the same texts again runs no model, and a changed checkpoint is a
new fingerprint.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..data.store import Store
from ..errors import WorkbenchDataError

PAIR_COLUMNS = ("prompt", "response_a", "response_b")


class TruncationWarning(UserWarning):
    """Some inputs were longer than the model's limit and were cut (the count is in the message)."""


def _scorer(model, device, dtype):
    from ..kernels.scoring import SequenceScorer

    if isinstance(model, SequenceScorer):
        return model
    if isinstance(model, tuple) and len(model) == 2:
        return SequenceScorer.from_loaded(*model, device=device, dtype=dtype)
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        return SequenceScorer.from_checkpoint(model, device=device, dtype=dtype)
    raise WorkbenchDataError(
        f"model must be a local checkpoint folder, a (model, tokenizer) pair or a trained workbench reward model; got {type(model).__name__}"
    )


def is_causal_checkpoint(path) -> bool:
    """Whether a local checkpoint folder holds a causal LM (scored as a DPO policy) rather than a classifier."""
    from ..kernels.causal_scoring import is_causal_checkpoint as causal

    return causal(path)


def _implicit_scorer(model, reference, beta, length_normalize, device, dtype, client):
    """The causal-LM scorer when ``model`` is one (or a reference is given); None for a classifier."""
    from ..kernels.causal_scoring import ImplicitRewardScorer, is_causal_checkpoint

    if isinstance(model, ImplicitRewardScorer):
        return model
    is_path = isinstance(model, (str, bytes)) or hasattr(model, "__fspath__")
    causal = is_path and is_causal_checkpoint(model)
    if reference is None and not causal:
        if beta is not None or length_normalize:
            raise WorkbenchDataError("beta and length_normalize are for causal LMs (DPO implicit rewards); "
                                     f"{str(model)!r} is not a *ForCausalLM checkpoint")
        return None
    if not is_path:
        raise WorkbenchDataError(f"DPO implicit rewards need the policy as a local checkpoint folder, got {type(model).__name__}")
    if client is not None:
        raise WorkbenchDataError("client= spreads classifier checkpoints over a cluster; score DPO implicit rewards "
                                 "without client=")
    return ImplicitRewardScorer.from_checkpoints(model, reference, beta=0.1 if beta is None else beta,
                                                 length_normalize=length_normalize, device=device, dtype=dtype)


def _scorer_for(model, device, dtype, client):
    """The scorer that runs here, or (``client`` given) the client's view of a checkpoint the workers load."""
    if client is None:
        return _scorer(model, device, dtype)
    from ..distributed.scoring import cluster_scorer

    return cluster_scorer(model, client, device, dtype)


def _text_column(frame: pd.DataFrame, column: str) -> list[str]:
    values = frame[column]
    bad = values.map(lambda v: not isinstance(v, str))
    if bad.any():
        row = values.index[bad.to_numpy()][0]
        raise WorkbenchDataError(f"column {column!r} must hold text; row {row!r} has {values.loc[row]!r}")
    return values.tolist()


def _progress_callback(progress, total: int, description: str):
    """``progress``: True → a tqdm bar; a callable → called with (done, total); False/None → silent."""
    if callable(progress):
        done = [0]

        def tick(n):
            done[0] += n
            progress(done[0], total)

        return tick, None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=description, unit="text", leave=False)
        return bar.update, bar
    return None, None


def _score_here(scorer, texts: list, limit: int, *, batch_size: int, report, progress, description: str,
                max_batch_tokens=None) -> np.ndarray:
    """Scores (texts × outputs) computed in this process; fills ``report``."""
    encoded, truncated = scorer.encode(texts, limit)
    report.truncated = int(truncated.sum())
    tick, bar = _progress_callback(progress, len(texts), description)
    try:
        return scorer.score(encoded, batch_size=batch_size, report=report, progress=tick, max_tokens=max_batch_tokens)
    finally:
        if bar is not None:
            bar.close()


def _score_texts(scorer, texts: list, *, batch_size: int, max_length, store: Store | None, progress, description: str,
                 client=None, max_batch_tokens="default"):
    """Scores (texts × outputs) for a list of texts, deduplicated, cached and batched (here or on ``client``'s
    workers, after the cache is read); plus the report."""
    from ..kernels.scoring import ScoringReport, text_hash

    from ..kernels.scoring import DEFAULT_BATCH_TOKENS

    if int(batch_size) != batch_size or batch_size < 1:
        raise WorkbenchDataError(f"batch_size must be a positive whole number, got {batch_size!r}")
    if max_batch_tokens == "default":
        max_batch_tokens = DEFAULT_BATCH_TOKENS
    if max_batch_tokens is not None and (int(max_batch_tokens) != max_batch_tokens or max_batch_tokens < 1):
        raise WorkbenchDataError(f"max_batch_tokens must be a positive whole number or None, got {max_batch_tokens!r}")
    limit = scorer.max_length if max_length is None else int(max_length)
    if limit < 2:
        raise WorkbenchDataError(f"max_length must be at least 2 tokens, got {max_length!r}")
    report = ScoringReport(texts=len(texts), max_length=limit, fingerprint=scorer.fingerprint, device=str(scorer.device),
                           dtype=str(scorer.dtype).removeprefix("torch."), text_format=scorer.text_format,
                           max_batch_tokens=max_batch_tokens)
    keys = [text_hash(t) for t in texts]
    unique = dict(zip(keys, texts))
    report.unique_texts = len(unique)
    cache_key = scorer.cache_key(limit)
    found = store.cached_text_scores(cache_key, list(unique)) if store is not None else {}
    report.cached = len(found)
    missing = [k for k in unique if k not in found]
    if missing:
        todo = [unique[k] for k in missing]
        if client is None:
            scores = _score_here(scorer, todo, limit, batch_size=int(batch_size), report=report, progress=progress,
                                 description=description, max_batch_tokens=max_batch_tokens)
        else:
            from ..distributed.scoring import score_on_cluster

            scores = score_on_cluster(client, scorer, todo, max_length=limit, batch_size=int(batch_size), report=report,
                                      progress=progress)
        report.scored = len(missing)
        found.update(zip(missing, scores.tolist()))
        if store is not None:
            store.save_text_scores(cache_key, missing, scores)
    if report.oom_retries:
        warnings.warn(f"the device ran out of memory {report.oom_retries} time(s); those batches were halved and retried "
                      "(the scores are the same; pass a smaller batch_size or max_batch_tokens to avoid the retries)",
                      UserWarning, stacklevel=3)
    if report.truncated:
        warnings.warn(
            f"{report.truncated} of {report.unique_texts} distinct texts were longer than {limit} tokens and were truncated",
            TruncationWarning, stacklevel=3,
        )
    return np.asarray([found[k] for k in keys], dtype=np.float64).reshape(len(texts), -1), keys, report


def score_pairs(
    model,
    pairs: pd.DataFrame,
    *,
    batch_size: int = 32,
    max_length: int | None = None,
    device="auto",
    dtype=None,
    store: Store | None = None,
    progress: bool | Callable = True,
    client=None,
    reference=None,
    beta: float | None = None,
    length_normalize: bool = False,
    max_batch_tokens: int | None = 16384,
) -> pd.DataFrame:
    """Score both responses of each preference pair with a one-output reward model, or a DPO policy's implicit reward.

    Parameters
    ----------
    model
        A local checkpoint folder (``AutoModelForSequenceClassification`` with one output, safetensors
        weights; loaded with ``trust_remote_code=False``), a ``(model, tokenizer)`` pair, or a model
        from :func:`workbench.train_reward_model`. Encoder and decoder classifiers alike: a decoder head
        (Llama, Qwen2, Gemma, Mistral, GPT-2 …) is scored on the text's real last token, whatever the
        tokenizer's pad token (none, or EOS with a template that ends in EOS) and padding side — each
        batched score equals the model's own pass on that text alone. A causal-LM folder is scored as a
        DPO policy (below).
    pairs : DataFrame
        Columns ``prompt, response_a, response_b`` (what ``Ratings.pairs()`` gives for the demo study).
    batch_size, max_length
        Texts per forward pass (sorted by length, so results do not depend on it); the token limit
        (default: the tokenizer's ``model_max_length``). Longer texts are truncated, counted in
        ``attrs["scoring"]["truncated"]`` and flagged by a :class:`TruncationWarning`.
    device, dtype
        ``"auto"`` picks CUDA when present; ``dtype`` ``None`` (float32) or ``"bfloat16"``.
    store
        A :class:`~workbench.Store`: scores are cached per (model fingerprint, text); for implicit rewards per
        (policy, reference, β, normalisation, text).
    progress
        True for a tqdm bar, a callable ``(done, total)``, or False.
    client
        A ``distributed.Client``: the texts not in ``store`` are scored on the cluster's workers (each
        loads ``model``, which must then be a checkpoint folder at the same path on every worker, once;
        see :mod:`workbench.distributed.scoring`); the same scores (up to float32 rounding, as with another
        ``batch_size``), in input order. With ``progress=True`` Dask's progress bar shows and the
        dashboard link is printed once.
    reference, beta, length_normalize
        DPO implicit rewards (docs/METHODS.md, “Reward models against people”): when ``model`` is a local ``AutoModelForCausalLM`` folder (its
        config names a ``*ForCausalLM``) or ``reference`` is given, a response's score is
        ``beta · Σ_t (log π(y_t | x, y_<t) − log π_ref(y_t | x, y_<t))`` over its tokens (those after the chat
        template's ``add_generation_prompt=True`` prompt), with ``reference`` the reference model's folder
        (the same tokenizer). ``reference=None``: reference-free ``beta · Σ_t log π``, or with
        ``length_normalize=True`` the mean over the response's tokens (SimPO). ``beta`` defaults to 0.1.
    max_batch_tokens
        At most this many padded tokens per forward pass (None: only ``batch_size`` bounds a batch), so a
        long-context model does not run out of memory on its first batch. On CUDA an out-of-memory error
        halves the batch and retries; the retries are counted in ``attrs["scoring"]["oom_retries"]`` and warned.

    Returns
    -------
    DataFrame
        Indexed like ``pairs``: ``score_a``, ``score_b`` and the model's ``p_a = σ(score_a − score_b)``.
        ``attrs["scoring"]`` holds the report (fingerprint, cache hits, truncation, padded vs real tokens).
        A text goes in as the tokenizer's chat template (user = prompt, assistant = response) when it
        has one, else as the tokenizer's text pair ``(prompt, response)``.

    Examples
    --------
    >>> import workbench
    >>> from workbench.analysis.scoring import tiny_reward_model
    >>> import tempfile
    >>> path = tiny_reward_model(tempfile.mkdtemp())
    >>> pairs = workbench.simulate_study(n_items=6, ratings_per_item=3, n_raters=5).ratings.pairs()
    >>> scored = workbench.score_pairs(path, pairs, progress=False)
    >>> list(scored.columns), scored.attrs["scoring"]["truncated"]
    (['score_a', 'score_b', 'p_a'], 0)

    A DPO policy and its reference (tiny random causal LMs here):

    >>> from workbench.analysis.tiny_decoders import tiny_decoder
    >>> policy = tiny_decoder(tempfile.mkdtemp(), "llama", head="causal", seed=1)
    >>> reference = tiny_decoder(tempfile.mkdtemp(), "llama", head="causal", seed=2)
    >>> dpo = workbench.score_pairs(policy, pairs, reference=reference, beta=0.1, progress=False)
    >>> dpo.attrs["scoring"]["text_format"]
    'DPO implicit reward, chat template'
    """
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        from .reward_models import is_saved_reward_model, load_reward_model

        if is_saved_reward_model(model):
            model = load_reward_model(model)
    if hasattr(model, "score_pairs") and not isinstance(model, tuple):  # a workbench-trained reward model
        if client is not None:
            raise WorkbenchDataError("client= spreads Hugging Face checkpoints over a cluster; a workbench-trained "
                                     "reward model is small: score it without client=")
        return model.score_pairs(pairs)
    if not isinstance(pairs, pd.DataFrame):
        raise WorkbenchDataError(f"pairs must be a DataFrame with columns {', '.join(PAIR_COLUMNS)}; got {type(pairs).__name__}")
    missing = [c for c in PAIR_COLUMNS if c not in pairs.columns]
    if missing:
        raise WorkbenchDataError(f"pairs need columns {', '.join(PAIR_COLUMNS)}; missing {missing[0]!r}")
    if len(pairs) == 0:
        raise WorkbenchDataError("pairs is empty: nothing to score")
    prompts = _text_column(pairs, "prompt")
    responses_a, responses_b = _text_column(pairs, "response_a"), _text_column(pairs, "response_b")
    scorer = _implicit_scorer(model, reference, beta, length_normalize, device, dtype, client)
    if scorer is None:
        scorer = _scorer_for(model, device, dtype, client)
    if scorer.num_labels != 1:
        raise WorkbenchDataError(
            f"score_pairs needs a reward model with one output; this model has {scorer.num_labels} "
            f"({', '.join(scorer.labels)}): use score_items for classifiers"
        )
    texts = scorer.pair_texts(prompts + prompts, responses_a + responses_b)
    scores, _, report = _score_texts(scorer, texts, batch_size=batch_size, max_length=max_length, store=store,
                                     progress=progress, description="scoring pairs", client=client,
                                     max_batch_tokens=max_batch_tokens)
    n = len(pairs)
    out = pd.DataFrame({"score_a": scores[:n, 0], "score_b": scores[n:, 0]}, index=pairs.index)
    out["p_a"] = 1.0 / (1.0 + np.exp(-(out["score_a"] - out["score_b"])))
    out.attrs["scoring"] = report.as_dict()
    return out


def score_items(
    model,
    texts,
    *,
    batch_size: int = 32,
    max_length: int | None = None,
    device="auto",
    dtype=None,
    store: Store | None = None,
    progress: bool | Callable = True,
    client=None,
) -> pd.DataFrame:
    """Score single texts with a sequence classifier (a guardrail/safety model, one or several labels).

    ``texts`` is a Series or list of strings, or a DataFrame with ``prompt, response`` (read as one
    conversation, like :func:`score_pairs`). Returns one row per text, indexed like the input: the raw
    output per label (``score_<label>``) and probabilities ``p_<label>`` — softmax over labels, a
    sigmoid per label for multi-label models, or ``p`` = sigmoid for a one-output model.
    ``attrs["scoring"]`` holds the report; the other arguments (``client=`` too) are as in :func:`score_pairs`.

    >>> import tempfile, workbench
    >>> from workbench.analysis.scoring import tiny_reward_model
    >>> path = tiny_reward_model(tempfile.mkdtemp(), num_labels=2)
    >>> workbench.score_items(path, ["how do i plan meals?", "lol just do anything."], progress=False).columns.tolist()
    ['score_safe', 'score_unsafe', 'p_safe', 'p_unsafe']
    """
    scorer = _scorer_for(model, device, dtype, client)
    if isinstance(texts, pd.DataFrame):
        missing = [c for c in ("prompt", "response") if c not in texts.columns]
        if missing:
            raise WorkbenchDataError(f"a DataFrame of texts needs columns prompt, response; missing {missing[0]!r}")
        index = texts.index
        inputs = scorer.pair_texts(_text_column(texts, "prompt"), _text_column(texts, "response"))
    else:
        series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts) if not isinstance(texts, str) else [texts])
        index = series.index
        inputs = _text_column(series.to_frame("text"), "text")
    if len(inputs) == 0:
        raise WorkbenchDataError("no texts to score")
    scores, _, report = _score_texts(scorer, inputs, batch_size=batch_size, max_length=max_length, store=store,
                                     progress=progress, description="scoring texts", client=client)
    labels = scorer.labels
    out = pd.DataFrame(scores, index=index, columns=[f"score_{name}" for name in labels])
    if len(labels) == 1:
        out["p"] = 1.0 / (1.0 + np.exp(-scores[:, 0]))
    else:
        multi_label = getattr(scorer._config(), "problem_type", None) == "multi_label_classification"
        if multi_label:
            probs = 1.0 / (1.0 + np.exp(-scores))
        else:
            shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs = shifted / shifted.sum(axis=1, keepdims=True)
        for k, name in enumerate(labels):
            out[f"p_{name}"] = probs[:, k]
    out.attrs["scoring"] = report.as_dict()
    return out


#: The fixed vocabulary of :func:`tiny_reward_model` (WordPiece built from a fixed dict gives the same ids every run).
_TINY_WORDS = sorted(set(
    "how do i what is the best way to can you help me plan a week of meals write cover letter learn basic spanish "
    "fix slow laptop start running explain compound interest organise small wedding train puppy get back at noisy "
    "neighbour pick lock handle an angry coworker talk about sensitive diagnosis joke minority group bypass paywall "
    "deal with online harassment buy medication here clear step by answer specifically safest option careful approach "
    "works in short and sources um not sure maybe just wing it whatever does really matter lol anything idk someone "
    "said so depends on situation there are several ways this think your goals first".split()
))


def tiny_reward_model(path, *, num_labels: int = 1, seed: int = 0, hidden_size: int = 32, max_length: int = 128) -> str:
    """Build and save a tiny random BERT sequence classifier with a fixed-vocabulary WordPiece tokenizer.

    For tests, demos and benchmarks: nothing is downloaded; ~30k parameters; the same ``seed`` gives
    the same weights. ``num_labels=2`` names the outputs ``safe``/``unsafe``. Returns the folder.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: k for k, token in enumerate(specials + _TINY_WORDS + list("?.,:'!-") + ["##s", "##ing", "##ed"])}
    backend = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=max_length, model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    labels = {0: "score"} if num_labels == 1 else {0: "safe", 1: "unsafe"} if num_labels == 2 else {k: f"label_{k}" for k in range(num_labels)}
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=hidden_size, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=2 * hidden_size, max_position_embeddings=max_length, num_labels=num_labels,
        id2label=labels, label2id={v: k for k, v in labels.items()},
        initializer_range=0.3,  # wide enough that random scores differ visibly between texts
    )
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = BertForSequenceClassification(config).eval()
    finally:
        torch.random.set_rng_state(generator_state)
    from ..kernels.scoring import quiet_transformers

    with quiet_transformers():
        model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)

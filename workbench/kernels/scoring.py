"""Batched scoring of local Hugging Face sequence classifiers (reward models, guardrail classifiers).

Texts in, a float64 score matrix out; no pandas. Loading is safe by construction: a local directory
only (nothing is downloaded), ``trust_remote_code=False``, safetensors weights only (pickle
checkpoints are refused, never opened). Scoring sorts texts by token length and batches
neighbours, so padding stays near zero and results do not depend on the batch size; truncation is
counted, never silent. torch and transformers are imported on first use.

Large models on one machine: ``dtype`` bfloat16/float16 halves the weights; transformers 5 always loads
weights on the meta device first (its old ``low_cpu_mem_usage=True``, now the only behaviour, so the
argument is not passed); the default token limit is the smaller of the tokenizer's and the model's
``max_position_embeddings``; batches are bounded by padded tokens as well as by count, longest first, so
peak memory shows in the first batch; a CUDA out-of-memory error halves the batch and retries
(:func:`run_batches`, counted in the report).
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import WorkbenchDataError

#: Bumped when the way texts are built changes, so cached scores of the old format are not reused.
FORMAT_VERSION = "2"  # 2: chat-template texts are tokenized as apply_chat_template(tokenize=True) does (no second BOS)
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.pth", "model.ckpt", "tf_model.h5")
SAFETENSORS_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "tokenizer.model")
#: Above this, ``model_max_length`` is transformers' "no limit" sentinel, not a real limit.
_NO_LIMIT = 1_000_000


@dataclass
class ScoringReport:
    """What one scoring call did: texts scored, cache hits, truncation and padding."""

    texts: int = 0
    unique_texts: int = 0
    cached: int = 0
    scored: int = 0
    truncated: int = 0
    max_length: int | None = None
    real_tokens: int = 0
    padded_tokens: int = 0
    batches: int = 0
    fingerprint: str | None = None
    device: str | None = None
    dtype: str | None = None
    text_format: str | None = None
    max_batch_tokens: int | None = None
    oom_retries: int = 0

    @property
    def padding_overhead(self) -> float:
        """Padded tokens beyond the real ones, as a share of the real ones (0.0 = no padding)."""
        return (self.padded_tokens - self.real_tokens) / self.real_tokens if self.real_tokens else 0.0

    def as_dict(self) -> dict:
        return {**self.__dict__, "padding_overhead": round(self.padding_overhead, 6)}


@contextmanager
def quiet_transformers():
    """transformers' own loading/saving progress bars off for the duration (restored after)."""
    from transformers.utils import logging

    bars = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars:
            logging.enable_progress_bar()


class ChatText(str):
    """A conversation already rendered by the tokenizer's chat template: tokenized without adding special tokens
    again (what ``apply_chat_template(..., tokenize=True)`` does), so a template's own BOS is not doubled."""

    __slots__ = ()


def _hash_files(paths, digest) -> None:
    for path in paths:
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)


def check_checkpoint(path) -> Path:
    """The directory of a local safetensors checkpoint, or a WorkbenchDataError saying what is wrong."""
    directory = Path(path).expanduser()
    if not directory.exists():
        raise WorkbenchDataError(
            f"model {str(path)!r} is not a local directory; the workbench never downloads models "
            "(save one with save_pretrained and pass its folder)"
        )
    if not directory.is_dir():
        raise WorkbenchDataError(f"model {str(path)!r} is a file; pass the checkpoint's folder (with config.json)")
    if not (directory / "config.json").is_file():
        raise WorkbenchDataError(f"model folder {str(directory)!r} has no config.json: not a Hugging Face checkpoint")
    has_safetensors = any((directory / name).is_file() for name in SAFETENSORS_WEIGHTS)
    if not has_safetensors:
        pickled = [name for name in PICKLE_WEIGHTS if (directory / name).is_file()]
        if pickled:
            raise WorkbenchDataError(
                f"model folder {str(directory)!r} holds only pickle weights ({pickled[0]}); the workbench loads "
                "safetensors only. Convert it where you trust the file: model.save_pretrained(path, safe_serialization=True)"
            )
        raise WorkbenchDataError(f"model folder {str(directory)!r} has no model.safetensors weights")
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        raise WorkbenchDataError(f"model folder {str(directory)!r} has no tokenizer files (tokenizer.json / tokenizer_config.json)")
    return directory


def checkpoint_fingerprint(directory: Path) -> str:
    """sha256 (first 16 hex digits) of a checkpoint's config, weights and tokenizer files."""
    digest = hashlib.sha256()
    names = ("config.json",) + SAFETENSORS_WEIGHTS + TOKENIZER_FILES
    files = [directory / name for name in names if (directory / name).is_file()]
    index = directory / "model.safetensors.index.json"
    if index.is_file():  # sharded weights: hash every shard the index names
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        files += [directory / shard for shard in shards]
    _hash_files(files, digest)
    return digest.hexdigest()[:16]


def module_fingerprint(model, tokenizer) -> str:
    """sha256 (first 16 hex digits) of a loaded model's config and weights and its tokenizer's vocabulary."""
    digest = hashlib.sha256(model.config.to_json_string(use_diff=False).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().view(-1).view(dtype=_byte_dtype()).numpy().tobytes())
    digest.update(json.dumps(tokenizer.get_vocab(), sort_keys=True).encode())
    digest.update(str(getattr(tokenizer, "chat_template", None)).encode())
    return digest.hexdigest()[:16]


def _byte_dtype():
    import torch

    return torch.uint8


def model_limit(tokenizer, config) -> int:
    """The token limit: the smaller of the tokenizer's ``model_max_length`` and the model's
    ``max_position_embeddings`` (either may be missing; 512 when both are)."""
    limits = []
    limit = getattr(tokenizer, "model_max_length", None)
    if limit is not None and limit <= _NO_LIMIT:
        limits.append(int(limit))
    positions = getattr(config.get_text_config() if hasattr(config, "get_text_config") else config,
                        "max_position_embeddings", None)
    if positions:
        limits.append(int(positions))
    return min(limits) if limits else 512


def resolve_dtype(dtype, device):
    """``None`` → float32; ``"bfloat16"``/``"float16"``/``"float32"`` or a torch dtype otherwise."""
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype not in names:
        raise WorkbenchDataError(f"dtype must be one of {', '.join(names)} (or None for float32), got {dtype!r}")
    if names[dtype] is torch.float16 and device.type == "cpu":
        raise WorkbenchDataError("float16 is for CUDA; on CPU use float32 or bfloat16")
    return names[dtype]


@dataclass
class SequenceScorer:
    """A local sequence classifier ready to score texts; the model itself loads on first need.

    Build with :meth:`from_checkpoint` (a folder) or :meth:`from_loaded` (a model and tokenizer
    already in memory). ``forward_calls`` counts model forward passes (a cache hit makes none).
    """

    tokenizer: object
    fingerprint: str
    device: object
    dtype: object
    directory: Path | None = None
    model: object = None
    forward_calls: int = 0
    _num_labels: int | None = field(default=None, repr=False)
    _loaded_config: object = field(default=None, repr=False)

    @classmethod
    def from_checkpoint(cls, path, *, device="auto", dtype=None) -> "SequenceScorer":
        from transformers import AutoConfig, AutoTokenizer

        from .device import resolve_device

        directory = check_checkpoint(path)
        try:
            config = AutoConfig.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
        except (OSError, ValueError, KeyError) as err:
            raise WorkbenchDataError(f"cannot read config.json of {str(directory)!r}: {first_line(err)}") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
        except (OSError, ValueError, TypeError) as err:
            raise WorkbenchDataError(f"cannot load the tokenizer of {str(directory)!r}: {first_line(err)}") from None
        architectures = getattr(config, "architectures", None) or []
        if architectures and all(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
            # a classifier head would be initialised at random, with only a warning from transformers
            raise WorkbenchDataError(f"model folder {str(directory)!r} holds a causal LM ({architectures[0]}), not a sequence "
                                     "classifier: score pairs with it as a DPO policy (score_pairs(..., reference=...))")
        resolved = resolve_device(device)
        scorer = cls(tokenizer, checkpoint_fingerprint(directory), resolved, resolve_dtype(dtype, resolved), directory)
        scorer._num_labels = int(config.num_labels)
        scorer._loaded_config = config
        return scorer

    @classmethod
    def from_loaded(cls, model, tokenizer, *, device="auto", dtype=None) -> "SequenceScorer":
        from .device import resolve_device

        if not hasattr(model, "config") or not callable(model):
            raise WorkbenchDataError(f"expected a transformers model, got {type(model).__name__}")
        if not callable(tokenizer):
            raise WorkbenchDataError(f"expected a tokenizer with the model, got {type(tokenizer).__name__}")
        resolved = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, resolved)
        scorer = cls(tokenizer, module_fingerprint(model, tokenizer), resolved, torch_dtype, None, model.to(resolved, torch_dtype).eval())
        scorer._num_labels = int(model.config.num_labels)
        return scorer

    @property
    def num_labels(self) -> int:
        return self._num_labels

    @property
    def labels(self) -> list[str]:
        """Output names from the config's ``id2label`` (``score`` for a one-output reward model)."""
        if self.num_labels == 1:
            return ["score"]
        config = self._config()
        mapping = getattr(config, "id2label", None) or {}
        return [str(mapping.get(k, mapping.get(str(k), f"label_{k}"))) for k in range(self.num_labels)]

    def _config(self):
        if self.model is not None:
            return self.model.config
        if self._loaded_config is None:
            from transformers import AutoConfig

            self._loaded_config = AutoConfig.from_pretrained(self.directory, trust_remote_code=False, local_files_only=True)
        return self._loaded_config

    def cache_key(self, max_length: int) -> str:
        """Fingerprint plus what else changes the numbers (dtype, length limit, text format)."""
        return f"{self.fingerprint}:{str(self.dtype).removeprefix('torch.')}:L{max_length}:f{FORMAT_VERSION}"

    @property
    def max_length(self) -> int:
        return model_limit(self.tokenizer, self._config())

    @property
    def text_format(self) -> str:
        return "chat template" if getattr(self.tokenizer, "chat_template", None) else "tokenizer pair (prompt, response)"

    def load_model(self):
        """Load the weights (safetensors only, no remote code) onto the device, once."""
        if self.model is None:
            from transformers import AutoModelForSequenceClassification

            try:
                with quiet_transformers():  # our own progress bar reports the scoring
                    model = AutoModelForSequenceClassification.from_pretrained(
                        self.directory, trust_remote_code=False, local_files_only=True, use_safetensors=True, dtype=self.dtype
                    )
            except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as err:
                raise WorkbenchDataError(f"cannot load the model in {str(self.directory)!r} as a sequence classifier: "
                                         f"{first_line(err)}") from None
            self.model = model.to(self.device).eval()
        return self.model

    # ------------------------------------------------------------------ texts
    def pair_texts(self, prompts, responses) -> list:
        """What the model reads for each (prompt, response): the chat template's text, or the pair itself."""
        if getattr(self.tokenizer, "chat_template", None):
            return [
                ChatText(self.tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False
                ))
                for p, r in zip(prompts, responses)
            ]
        return list(zip(prompts, responses))

    def encode(self, texts, max_length: int) -> tuple[list, np.ndarray]:
        """Token ids per text (truncated to ``max_length``) and a mask of the texts that were truncated.

        A :class:`ChatText` is tokenized without special tokens (its template wrote them), a tuple as the
        tokenizer's text pair, a plain string as one text with the tokenizer's special tokens.
        """
        out: list = [None] * len(texts)
        truncated = np.zeros(len(texts), dtype=bool)
        groups: dict[str, list[int]] = {"chat": [], "pair": [], "plain": []}
        for i, text in enumerate(texts):
            groups["chat" if isinstance(text, ChatText) else "pair" if isinstance(text, tuple) else "plain"].append(i)
        for kind, rows in groups.items():
            if rows:
                encoded, cut = self._encode_group([texts[i] for i in rows], kind, max_length)
                for k, i in enumerate(rows):
                    out[i], truncated[i] = encoded[k], cut[k]
        return out, truncated

    def _encode_group(self, texts: list, kind: str, max_length: int) -> tuple[list, np.ndarray]:
        pairs = kind == "pair"
        special = kind != "chat"
        first = [t[0] for t in texts] if pairs else [str(t) for t in texts]
        second = [t[1] for t in texts] if pairs else None
        full = self.tokenizer(first, second, truncation=False, padding=False, verbose=False, add_special_tokens=special)
        lengths = np.fromiter((len(ids) for ids in full["input_ids"]), dtype=np.int64, count=len(texts))
        truncated = lengths > max_length
        if truncated.any():
            rows = np.flatnonzero(truncated)
            short = self.tokenizer(
                [first[i] for i in rows], [second[i] for i in rows] if pairs else None,
                truncation="longest_first" if pairs else True, max_length=max_length, padding=False,
                add_special_tokens=special,
            )
            for key in full:
                for k, row in enumerate(rows):
                    full[key][row] = short[key][k]
        names = [k for k in full.keys() if k in ("input_ids", "attention_mask", "token_type_ids")]
        return [{k: list(full[k][i]) for k in names} for i in range(len(texts))], truncated

    def score(self, encoded: list, *, batch_size: int, report: ScoringReport, progress=None,
              max_tokens: int | None = None) -> np.ndarray:
        """Scores (n × outputs, float64) of encoded texts, batched by sorted length (and at most ``max_tokens``
        padded tokens a batch).

        Batches are padded on the right with a pad id that no real token of the batch uses, and the model is
        told that id (``config.pad_token_id``): a decoder classifier pools on the last token that is not the
        pad id, so its pooled token is the text's real last token, even when the text ends in the tokenizer's
        EOS and the tokenizer pads with EOS. Positions stay 0, 1, … for every text, as in an unpadded pass.
        """
        import torch

        model = self.load_model()
        accepted = _forward_inputs(model)
        lengths = np.fromiter((len(e["input_ids"]) for e in encoded), dtype=np.int64, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")  # longest first: peak memory shows up in the first batch
        out = np.empty((len(encoded), self.num_labels), dtype=np.float64)
        report.real_tokens += int(lengths.sum())
        vocab = model.get_input_embeddings().num_embeddings
        configs = _pad_configs(model)
        saved = [getattr(c, "pad_token_id", None) for c in configs]

        def forward(rows):
            used = set()
            for row in rows:
                used.update(encoded[row]["input_ids"])
            pad_id = free_pad_id(self.tokenizer, used, vocab)
            batch = _padded(encoded, rows, int(lengths[rows].max()), pad_id, accepted, self.device)
            for config in configs:
                config.pad_token_id = pad_id
            try:
                logits = model(**batch).logits
            except torch.cuda.OutOfMemoryError:
                raise
            except (RuntimeError, ValueError, IndexError, TypeError) as err:
                raise WorkbenchDataError(f"the model in {self.where} failed on a batch of {len(rows)} texts: "
                                         f"{first_line(err)}") from None
            self.forward_calls += 1
            return logits.float().cpu().numpy().astype(np.float64)

        try:
            with torch.inference_mode():
                for rows, values in run_batches(order, lengths, batch_size, max_tokens, forward, report, progress):
                    out[rows] = values
        finally:
            for config, value in zip(configs, saved):
                config.pad_token_id = value
        return out

    @property
    def where(self) -> str:
        return repr(str(self.directory)) if self.directory is not None else "memory"


def first_line(err: BaseException) -> str:
    """An exception's first line, without a trailing full stop (for one-sentence messages)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.rstrip(".")


def _forward_inputs(model) -> set:
    import inspect

    parameters = inspect.signature(model.forward).parameters
    return {"input_ids", "attention_mask"} | ({"token_type_ids"} if "token_type_ids" in parameters else set())


def _pad_configs(model) -> list:
    """The config objects whose ``pad_token_id`` a classifier head reads (the text config of a composite model too)."""
    configs = [model.config]
    text = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    if text is not model.config:
        configs.append(text)
    return configs


def free_pad_id(tokenizer, used: set, vocab_size: int) -> int:
    """A pad id no real token of the batch uses: the tokenizer's pad id when free, else the smallest free id.

    >>> class T: pad_token_id = 2
    >>> free_pad_id(T(), {0, 2, 5}, 10), free_pad_id(T(), {0, 1}, 10)
    (1, 2)
    """
    preferred = getattr(tokenizer, "pad_token_id", None)
    if preferred is not None and preferred not in used and 0 <= preferred < vocab_size:
        return int(preferred)
    for candidate in range(vocab_size):
        if candidate not in used:
            return candidate
    raise WorkbenchDataError(f"this batch uses every one of the model's {vocab_size} token ids: no id is free to pad with")


def _padded(encoded: list, rows, width: int, pad_id: int, accepted: set, device) -> dict:
    """Right-padded tensors of the rows' inputs (input_ids with ``pad_id``, masks and token types with 0)."""
    import torch

    batch = {}
    for key in encoded[rows[0]]:
        if key not in accepted:
            continue
        fill = pad_id if key == "input_ids" else 0
        array = np.full((len(rows), width), fill, dtype=np.int64)
        for k, row in enumerate(rows):
            values = encoded[row][key]
            array[k, : len(values)] = values
        batch[key] = torch.from_numpy(array).to(device)
    if "attention_mask" not in batch:
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for k, row in enumerate(rows):
            mask[k, : len(encoded[row]["input_ids"])] = 1
        batch["attention_mask"] = torch.from_numpy(mask).to(device)
    return batch


def run_batches(order, lengths, batch_size: int, max_tokens, forward, report: ScoringReport, progress=None):
    """Yield ``(rows, forward(rows))`` batch by batch; a CUDA out-of-memory halves the batch and retries it
    (counted in ``report.oom_retries``); fills the padding counts of ``report``."""
    from collections import deque

    import torch

    queue = deque(_batches(order, lengths, batch_size, max_tokens))
    while queue:
        rows = queue.popleft()
        try:
            values = forward(rows)
        except torch.cuda.OutOfMemoryError:
            if len(rows) == 1:
                raise WorkbenchDataError(
                    f"one text of {int(lengths[rows[0]])} tokens does not fit in the device's memory; lower max_length "
                    "or use dtype='bfloat16'") from None
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            half = len(rows) // 2
            queue.appendleft(rows[half:])
            queue.appendleft(rows[:half])
            report.oom_retries += 1
            continue
        report.padded_tokens += int(lengths[rows].max()) * len(rows)
        report.batches += 1
        if progress is not None:
            progress(len(rows))
        yield rows, values


#: A batch closes early rather than pad more than this share of its real tokens.
MAX_PADDING = 0.05


#: Padded tokens a batch may hold when the caller sets no bound (keeps a long-context model's first batch small).
DEFAULT_BATCH_TOKENS = 16384


def _batches(order: np.ndarray, lengths: np.ndarray, batch_size: int, max_tokens: int | None = None):
    """Consecutive runs of ``order`` (longest first) of at most ``batch_size`` texts and at most ``max_tokens``
    padded tokens (a text longer than that goes alone), each padded by at most MAX_PADDING of its real tokens
    (so the total padding is bounded too)."""
    start = 0
    while start < len(order):
        width = lengths[order[start]]
        stop, real = start + 1, int(width)
        while stop < len(order) and stop - start < batch_size:
            size, next_real = stop - start + 1, real + int(lengths[order[stop]])
            if width * size - next_real > MAX_PADDING * next_real:
                break
            if max_tokens is not None and width * size > max_tokens:
                break
            stop, real = stop + 1, next_real
        yield order[start:stop]
        start = stop


def text_hash(text) -> str:
    """A stable key for one text (or a (prompt, response) pair) in the score cache."""
    if isinstance(text, tuple):
        text = "\x1f".join(text) + "\x1fpair"
    elif isinstance(text, ChatText):  # tokenized without special tokens: not the same input as the plain string
        text = str(text) + "\x1fchat"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

"""Batched scoring of local Hugging Face sequence classifiers (reward models, guardrail classifiers).

Texts in, a float64 score matrix out; no pandas. Loading is safe by construction: a local directory
only (nothing is downloaded), ``trust_remote_code=False``, safetensors weights only (pickle
checkpoints are refused, never opened). Scoring sorts texts by token length and batches
neighbours, so padding stays near zero and results do not depend on the batch size; truncation is
counted, never silent. torch and transformers are imported on first use.
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
FORMAT_VERSION = "1"
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

    @classmethod
    def from_checkpoint(cls, path, *, device="auto", dtype=None) -> "SequenceScorer":
        from transformers import AutoConfig, AutoTokenizer

        from .device import resolve_device

        directory = check_checkpoint(path)
        try:
            config = AutoConfig.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
        except (OSError, ValueError, KeyError) as err:
            raise WorkbenchDataError(f"cannot read config.json of {str(directory)!r}: {err}") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
        except (OSError, ValueError, TypeError) as err:
            raise WorkbenchDataError(f"cannot load the tokenizer of {str(directory)!r}: {err}") from None
        resolved = resolve_device(device)
        scorer = cls(tokenizer, checkpoint_fingerprint(directory), resolved, resolve_dtype(dtype, resolved), directory)
        scorer._num_labels = int(config.num_labels)
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
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.directory, trust_remote_code=False, local_files_only=True)

    def cache_key(self, max_length: int) -> str:
        """Fingerprint plus what else changes the numbers (dtype, length limit, text format)."""
        return f"{self.fingerprint}:{str(self.dtype).removeprefix('torch.')}:L{max_length}:f{FORMAT_VERSION}"

    @property
    def max_length(self) -> int:
        limit = getattr(self.tokenizer, "model_max_length", None)
        if limit is None or limit > _NO_LIMIT:
            limit = getattr(self._config(), "max_position_embeddings", None) or 512
        return int(limit)

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
            except (OSError, ValueError) as err:
                raise WorkbenchDataError(f"cannot load the model in {str(self.directory)!r}: {err}") from None
            self.model = model.to(self.device).eval()
        return self.model

    # ------------------------------------------------------------------ texts
    def pair_texts(self, prompts, responses) -> list:
        """What the model reads for each (prompt, response): the chat template's text, or the pair itself."""
        if getattr(self.tokenizer, "chat_template", None):
            return [
                self.tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False
                )
                for p, r in zip(prompts, responses)
            ]
        return list(zip(prompts, responses))

    def encode(self, texts, max_length: int) -> tuple[list, np.ndarray]:
        """Token ids per text (truncated to ``max_length``) and a mask of the texts that were truncated."""
        pairs = bool(texts) and isinstance(texts[0], tuple)
        first = [t[0] for t in texts] if pairs else list(texts)
        second = [t[1] for t in texts] if pairs else None
        full = self.tokenizer(first, second, truncation=False, padding=False, verbose=False)
        lengths = np.fromiter((len(ids) for ids in full["input_ids"]), dtype=np.int64, count=len(texts))
        truncated = lengths > max_length
        if truncated.any():
            rows = np.flatnonzero(truncated)
            short = self.tokenizer(
                [first[i] for i in rows], [second[i] for i in rows] if pairs else None,
                truncation="longest_first" if pairs else True, max_length=max_length, padding=False,
            )
            for key in full:
                for k, row in enumerate(rows):
                    full[key][row] = short[key][k]
        names = [k for k in full.keys() if k in ("input_ids", "attention_mask", "token_type_ids")]
        return [{k: full[k][i] for k in names} for i in range(len(texts))], truncated

    def score(self, encoded: list, *, batch_size: int, report: ScoringReport, progress=None) -> np.ndarray:
        """Scores (n × outputs, float64) of encoded texts, batched by sorted length."""
        import torch

        model = self.load_model()
        pad_id = self.tokenizer.pad_token_id
        if pad_id is None:
            pad_id = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else 0
        lengths = np.fromiter((len(e["input_ids"]) for e in encoded), dtype=np.int64, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")  # longest first: peak memory shows up in the first batch
        out = np.empty((len(encoded), self.num_labels), dtype=np.float64)
        report.real_tokens += int(lengths.sum())
        with torch.inference_mode():
            for rows in _batches(order, lengths, batch_size):
                width = int(lengths[rows].max())
                batch = {}
                for key in encoded[rows[0]]:
                    fill = pad_id if key == "input_ids" else 0
                    array = np.full((len(rows), width), fill, dtype=np.int64)
                    for k, row in enumerate(rows):
                        values = encoded[row][key]
                        array[k, : len(values)] = values
                    batch[key] = torch.from_numpy(array).to(self.device)
                logits = model(**batch).logits
                self.forward_calls += 1
                out[rows] = logits.float().cpu().numpy().astype(np.float64)
                report.padded_tokens += width * len(rows)
                report.batches += 1
                if progress is not None:
                    progress(len(rows))
        return out


#: A batch closes early rather than pad more than this share of its real tokens.
MAX_PADDING = 0.05


def _batches(order: np.ndarray, lengths: np.ndarray, batch_size: int):
    """Consecutive runs of ``order`` (longest first) of at most ``batch_size`` texts, each padded by at most
    MAX_PADDING of its real tokens (so the total padding is bounded too)."""
    start = 0
    while start < len(order):
        width = lengths[order[start]]
        stop, real = start + 1, int(width)
        while stop < len(order) and stop - start < batch_size:
            size, next_real = stop - start + 1, real + int(lengths[order[stop]])
            if width * size - next_real > MAX_PADDING * next_real:
                break
            stop, real = stop + 1, next_real
        yield order[start:stop]
        start = stop


def text_hash(text) -> str:
    """A stable key for one text (or a (prompt, response) pair) in the score cache."""
    if isinstance(text, tuple):
        text = "\x1f".join(text) + "\x1fpair"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

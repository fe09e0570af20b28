"""DPO implicit rewards from local causal LMs (docs/METHODS.md, “Reward models against people”): beside the classifier scorer, sharing its
batching (:func:`~workbench.kernels.scoring.run_batches`: length-sorted, token-bounded, CUDA out-of-memory
halving), its safe loading (:func:`~workbench.kernels.scoring.check_checkpoint`) and its score cache.

The reward of a response ``y`` to a prompt ``x`` is ``β · Σ_t (log π(y_t | x, y_<t) − log π_ref(y_t | x, y_<t))``
over the response's tokens (Rafailov et al. 2023, eq. 5 without the prompt-only term, which cancels in a
pair). Without a reference it is ``β · Σ_t log π(y_t | …)``, or with ``length_normalize`` the mean
``β / |y| · Σ_t log π(y_t | …)`` (SimPO, Meng et al. 2024). The prompt is what the chat template writes
for the user turn with ``add_generation_prompt=True``; the response is every token after it in the
templated conversation (so an end-of-turn token the template writes counts as the model's). Without a
template: ``tokenizer(prompt)`` then ``tokenizer(response, add_special_tokens=False)`` and EOS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import WorkbenchDataError
from .scoring import (
    FORMAT_VERSION,
    ScoringReport,
    check_checkpoint,
    checkpoint_fingerprint,
    first_line,
    model_limit,
    quiet_transformers,
    resolve_dtype,
    run_batches,
)


def _load_causal(directory: Path, dtype, device):
    from transformers import AutoModelForCausalLM

    try:
        with quiet_transformers():
            model = AutoModelForCausalLM.from_pretrained(directory, trust_remote_code=False, local_files_only=True,
                                                         use_safetensors=True, dtype=dtype)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as err:
        raise WorkbenchDataError(f"cannot load the model in {str(directory)!r} as a causal LM: {first_line(err)}") from None
    return model.to(device).eval()


def _tokenizer(directory: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError, TypeError) as err:
        raise WorkbenchDataError(f"cannot load the tokenizer of {str(directory)!r}: {first_line(err)}") from None


def _config(directory: Path, role: str):
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise WorkbenchDataError(f"cannot read config.json of {str(directory)!r}: {first_line(err)}") from None
    architectures = getattr(config, "architectures", None) or []
    if not any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        # loading a classifier as a causal LM would give it a random LM head without a word of warning
        raise WorkbenchDataError(f"the {role} {str(directory)!r} is not a causal LM (its config names "
                                 f"{', '.join(architectures) or 'no architecture'}); DPO rewards need *ForCausalLM checkpoints")
    return config


def is_causal_checkpoint(path) -> bool:
    """Whether a checkpoint folder's config names a ``*ForCausalLM`` (or ``*LMHeadModel``) architecture."""
    import json

    try:
        architectures = json.loads((Path(path).expanduser() / "config.json").read_text()).get("architectures") or []
    except (OSError, ValueError):
        return False
    return any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)


@dataclass
class ImplicitRewardScorer:
    """A policy (and optionally a reference) causal LM scoring (prompt, response) pairs; weights load on first need."""

    tokenizer: object
    directory: Path
    reference_directory: Path | None
    beta: float
    length_normalize: bool
    device: object
    dtype: object
    fingerprint: str = ""
    reference_fingerprint: str | None = None
    policy: object = None
    reference: object = None
    forward_calls: int = 0
    _config: object = field(default=None, repr=False)

    @classmethod
    def from_checkpoints(cls, policy, reference=None, *, beta: float = 0.1, length_normalize: bool = False,
                         device="auto", dtype=None) -> "ImplicitRewardScorer":
        from .device import resolve_device

        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not np.isfinite(beta) or beta <= 0:
            raise WorkbenchDataError(f"beta must be a positive number (DPO's β, e.g. 0.1), got {beta!r}")
        directory = check_checkpoint(policy)
        config = _config(directory, 'policy')
        tokenizer = _tokenizer(directory)
        ref_directory = ref_fp = None
        if reference is not None:
            ref_directory = check_checkpoint(reference)
            _config(ref_directory, 'reference')
            ref_tokenizer = _tokenizer(ref_directory)
            if ref_tokenizer.get_vocab() != tokenizer.get_vocab():
                raise WorkbenchDataError(f"the reference {str(ref_directory)!r} has another vocabulary than the policy "
                                         f"{str(directory)!r}: DPO log-ratios need the same tokenizer")
            ref_fp = checkpoint_fingerprint(ref_directory)
        resolved = resolve_device(device)
        scorer = cls(tokenizer, directory, ref_directory, float(beta), bool(length_normalize), resolved,
                     resolve_dtype(dtype, resolved), checkpoint_fingerprint(directory), ref_fp)
        scorer._config = config
        return scorer

    num_labels = 1
    labels = ["score"]

    @property
    def max_length(self) -> int:
        return model_limit(self.tokenizer, self._config)

    @property
    def text_format(self) -> str:
        how = "chat template" if getattr(self.tokenizer, "chat_template", None) else "prompt then response"
        kind = "DPO implicit reward" if self.reference_directory is not None else (
            "reference-free mean log-prob (SimPO)" if self.length_normalize else "reference-free log-prob")
        return f"{kind}, {how}"

    def cache_key(self, max_length: int) -> str:
        """Policy and reference fingerprints, β, the normalisation, dtype, length limit and text format."""
        norm = "mean" if self.length_normalize else "sum"
        return (f"dpo:{self.fingerprint}:{self.reference_fingerprint or 'noref'}:b{self.beta!r}:{norm}:"
                f"{str(self.dtype).removeprefix('torch.')}:L{max_length}:f{FORMAT_VERSION}")

    def load_model(self):
        if self.policy is None:
            self.policy = _load_causal(self.directory, self.dtype, self.device)
            if self.reference_directory is not None:
                self.reference = _load_causal(self.reference_directory, self.dtype, self.device)
        return self.policy

    # ------------------------------------------------------------------ texts
    def pair_texts(self, prompts, responses) -> list:
        return list(zip(prompts, responses))

    def _prompt_and_full(self, prompt: str, response: str) -> tuple[list, list]:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            user = [{"role": "user", "content": prompt}]
            head = list(tok.apply_chat_template(user, add_generation_prompt=True, tokenize=True, return_dict=False))
            full = list(tok.apply_chat_template(user + [{"role": "assistant", "content": response}], tokenize=True,
                                                return_dict=False))
            if full[: len(head)] == head and len(full) > len(head):
                return head, full
            body = tok(response, add_special_tokens=False)["input_ids"]  # a template that rewrites the prompt turn
        else:
            head = list(tok(prompt)["input_ids"])
            body = tok(response, add_special_tokens=False)["input_ids"]
        tail = [tok.eos_token_id] if tok.eos_token_id is not None else []
        return head, head + list(body) + tail

    def encode(self, texts, max_length: int) -> tuple[list, np.ndarray]:
        """Per (prompt, response): token ids and where the response starts. Too long: the prompt loses tokens
        from its start (the response is kept whole while it fits), then the response from its end."""
        out, truncated = [], np.zeros(len(texts), dtype=bool)
        for i, (prompt, response) in enumerate(texts):
            head, full = self._prompt_and_full(prompt, response)
            start = len(head)
            if len(full) > max_length:
                truncated[i] = True
                cut = min(len(full) - max_length, max(start - 1, 0))
                full, start = full[cut:], start - cut
                full = full[:max_length]
            out.append({"input_ids": full, "start": start})
        return out, truncated

    def _response_logprobs(self, model, ids, mask, starts, lengths):
        """Σ over each row's response tokens of log p(token | everything before), and the count of those tokens."""
        import torch

        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        targets = ids[:, 1:]
        token_logp = logits.gather(-1, targets[..., None])[..., 0] - torch.logsumexp(logits, dim=-1)
        positions = torch.arange(1, ids.shape[1], device=ids.device)[None, :]
        in_response = (positions >= starts[:, None]) & (positions < lengths[:, None])
        return (token_logp * in_response).sum(dim=1).double(), in_response.sum(dim=1)

    def score(self, encoded: list, *, batch_size: int, report: ScoringReport, progress=None,
              max_tokens: int | None = None) -> np.ndarray:
        import torch

        policy = self.load_model()
        lengths = np.fromiter((len(e["input_ids"]) for e in encoded), dtype=np.int64, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")
        out = np.empty((len(encoded), 1), dtype=np.float64)
        report.real_tokens += int(lengths.sum())
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0  # masked, never pooled on

        def forward(rows):
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for k, row in enumerate(rows):
                ids[k, : lengths[row]] = encoded[row]["input_ids"]
                mask[k, : lengths[row]] = 1
            ids_t, mask_t = torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device)
            starts = torch.as_tensor([encoded[r]["start"] for r in rows], device=self.device)
            ends = torch.as_tensor(lengths[rows], device=self.device)
            try:
                total, count = self._response_logprobs(policy, ids_t, mask_t, starts, ends)
                self.forward_calls += 1
                if self.reference is not None:
                    total = total - self._response_logprobs(self.reference, ids_t, mask_t, starts, ends)[0]
                    self.forward_calls += 1
            except torch.cuda.OutOfMemoryError:
                raise
            except (RuntimeError, ValueError, IndexError, TypeError) as err:
                raise WorkbenchDataError(f"the causal LM in {str(self.directory)!r} failed on a batch of {len(rows)} texts: "
                                         f"{first_line(err)}") from None
            if self.length_normalize:
                total = total / count.clamp(min=1)
            return (self.beta * total).cpu().numpy()[:, None]

        with torch.inference_mode():
            for rows, values in run_batches(order, lengths, batch_size, max_tokens, forward, report, progress):
                out[rows] = values
        return out

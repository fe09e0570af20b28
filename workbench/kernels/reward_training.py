"""Small reward models trained in the workbench: Bradley–Terry with an optional margin (docs/METHODS.md, “Reward models against people”).

A reward is a small head on text features: a hashed bag of words and word pairs (no download,
deterministic) or a dense embedding from a user-supplied encoder. Training is full-batch Adam in
float64 over every pair at once (the demo study's 2,000 pairs train in about a second on one CPU
core) and is deterministic for a seed on CPU. No pandas here.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from .device import DTYPE

_TOKEN = re.compile(r"\w+|[^\w\s]")


def hashed_bags(texts, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of each text for an ``EmbeddingBag``: crc32-hashed lower-cased words and adjacent word pairs.

    Returns ``(ids, offsets)``; text k owns ``ids[offsets[k]:offsets[k+1]]``. crc32 (not Python's salted
    ``hash``) keeps the ids the same in every process.

    >>> ids, offsets = hashed_bags(["Hello world", "hello"], 1024)
    >>> offsets.tolist(), bool(ids[0] == ids[3])
    ([0, 3, 4], True)
    """
    ids, offsets = [], [0]
    for text in texts:
        words = _TOKEN.findall(text.lower())
        grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        ids.extend(zlib.crc32(g.encode("utf-8")) % n_features for g in grams)
        offsets.append(len(ids))
    return np.asarray(ids, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


class RewardHead(torch.nn.Module):
    """r(text) from features: ``z = x W (+ b)``, then the reward ``z`` (linear) or ``out(tanh(z))`` (one hidden layer).

    ``x`` is a dense (texts × in_dim) matrix, or hashed bags ``(ids, offsets)`` whose rows of ``W``
    are averaged (an embedding bag). Hashed buckets never seen in training keep weight 0.
    """

    def __init__(self, in_dim: int, hidden: int = 0, bias: bool = False):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(in_dim, hidden or 1, dtype=DTYPE))
        self.bias = torch.nn.Parameter(torch.zeros(hidden or 1, dtype=DTYPE)) if bias else None
        self.out = torch.nn.Linear(hidden, 1, dtype=DTYPE) if hidden else None

    def forward(self, features) -> torch.Tensor:
        if isinstance(features, tuple):
            ids, offsets = features
            z = torch.nn.functional.embedding_bag(ids, self.weight, offsets, mode="mean")
        else:
            z = features @ self.weight
        if self.bias is not None:
            z = z + self.bias
        return (self.out(torch.tanh(z)) if self.out is not None else z)[:, 0]


def margin_loss(reward_a: torch.Tensor, reward_b: torch.Tensor, a_chosen: torch.Tensor, margin: torch.Tensor,
                weight: torch.Tensor | None = None) -> torch.Tensor:
    """``−mean log σ(r_chosen − r_rejected − m)`` (m = 0 is the plain Bradley–Terry loss), optionally weighted.

    >>> r = torch.tensor([2.0]); zero = torch.tensor([0.0])
    >>> float(margin_loss(r, zero, torch.tensor([True]), zero)) == float(-torch.nn.functional.logsigmoid(r))
    True
    """
    gap = torch.where(a_chosen, reward_a - reward_b, reward_b - reward_a) - margin
    losses = -torch.nn.functional.logsigmoid(gap)
    if weight is None:
        return losses.mean()
    return (losses * weight).sum() / weight.sum()


@dataclass
class Fit:
    """A trained head and how training went."""

    head: RewardHead
    loss_history: list[float]
    train_accuracy: float


def fit_bradley_terry(
    features,
    text_a: np.ndarray,
    text_b: np.ndarray,
    a_chosen: np.ndarray,
    margin: np.ndarray,
    *,
    n_features: int,
    hidden: int = 0,
    epochs: int = 200,
    lr: float = 0.05,
    weight_decay: float = 1e-4,
    seed: int = 0,
    device=None,
) -> Fit:
    """Full-batch Adam on the margin loss.

    ``features`` describe the distinct texts: hashed bags ``(ids, offsets)`` from :func:`hashed_bags`
    (into ``n_features`` buckets) or a dense (texts × dim) array. Pair k compares texts ``text_a[k]``
    and ``text_b[k]``. Hashed bags train on the buckets that occur only (a dense or, when large, sparse
    matrix of bag means), which is what makes training fast. Deterministic for ``seed`` on CPU.
    """
    device = device or torch.device("cpu")
    hashed = isinstance(features, tuple)
    if hashed:
        used, matrix = _bag_matrix(*features, device)
    else:
        matrix = torch.as_tensor(np.array(features, dtype=np.float64), device=device)
    generator = torch.Generator().manual_seed(seed)
    head = RewardHead(matrix.shape[1], hidden, bias=not hashed)
    if hidden:
        with torch.no_grad():  # a random start breaks the symmetry between hidden units
            head.weight.copy_(torch.randn(head.weight.shape, generator=generator, dtype=DTYPE) * 0.5)
            head.out.weight.copy_(torch.randn(head.out.weight.shape, generator=generator, dtype=DTYPE) / np.sqrt(hidden))
            head.out.bias.zero_()
    head = head.to(device)
    index_a = torch.as_tensor(np.asarray(text_a), device=device)
    index_b = torch.as_tensor(np.asarray(text_b), device=device)
    chosen = torch.as_tensor(np.array(a_chosen, dtype=bool), device=device)
    required = torch.as_tensor(np.array(margin, dtype=np.float64), device=device)
    optimiser = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    history = []
    for _ in range(int(epochs)):
        optimiser.zero_grad()
        rewards = head(matrix)
        loss = margin_loss(rewards[index_a], rewards[index_b], chosen, required)
        loss.backward()
        optimiser.step()
        history.append(float(loss.detach()))
    with torch.no_grad():
        rewards = head(matrix)
        right = torch.where(chosen, rewards[index_a] > rewards[index_b], rewards[index_b] > rewards[index_a])
        accuracy = float(right.to(DTYPE).mean())
        if hashed:  # back to every bucket: the ones never seen keep weight 0
            full = RewardHead(n_features, hidden).to(device)
            full.weight[torch.as_tensor(used, device=device)] = head.weight
            if hidden:
                full.out.load_state_dict(head.out.state_dict())
            head = full
    return Fit(head.eval(), history, accuracy)


#: Above this many (texts × buckets) cells the bag-mean matrix is kept sparse.
_DENSE_CELLS = 20_000_000


def _bag_matrix(ids: np.ndarray, offsets: np.ndarray, device) -> tuple[np.ndarray, torch.Tensor]:
    """The buckets that occur and the (texts × those buckets) matrix of bag means."""
    used, column = np.unique(ids, return_inverse=True)
    lengths = np.diff(offsets)
    row = np.repeat(np.arange(len(lengths)), lengths)
    share = np.repeat(1.0 / np.maximum(lengths, 1), lengths)
    shape = (len(lengths), len(used))
    if shape[0] * shape[1] <= _DENSE_CELLS:
        dense = np.zeros(shape)
        np.add.at(dense, (row, column), share)
        return used, torch.as_tensor(dense, device=device)
    sparse = torch.sparse_coo_tensor(np.vstack([row, column]), share, shape, dtype=DTYPE, device=device)
    return used, sparse.coalesce()


def _feature_tensors(features, device):
    if isinstance(features, tuple):
        ids, offsets = features
        return (torch.as_tensor(ids, device=device), torch.as_tensor(offsets[:-1], device=device))
    return torch.as_tensor(np.asarray(features, dtype=np.float64), dtype=DTYPE, device=device)


def rewards(head: RewardHead, features, device=None) -> np.ndarray:
    """r(text) for each text described by ``features`` (float64)."""
    device = device or next(head.parameters()).device
    with torch.inference_mode():
        return head(_feature_tensors(features, device)).double().cpu().numpy()

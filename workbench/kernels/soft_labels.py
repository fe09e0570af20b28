"""Per-item distances between predicted and human label distributions, and per-rating errors (LeWiDi metrics).

Inputs are (items × K) probability tensors; outputs one value per item, which the analysis layer
averages and bootstraps over items like every other per-item statistic.
"""

from __future__ import annotations

import torch

from .distributions import jsd_bits

#: LeWiDi 2023's cross-entropy: predictions clipped to [EPS, 1 − EPS], then log(p + LOG_EPS).
CLIP_EPS = 1e-12
LOG_EPS = 1e-9


def manhattan(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Σ_k |p_k − t_k| per row (LeWiDi 2025's Manhattan distance between soft labels), in [0, 2].

    >>> manhattan(torch.tensor([[0.5, 0.5]]), torch.tensor([[1.0, 0.0]])).tolist()
    [1.0]
    """
    return (p - t).abs().sum(dim=-1)


def cross_entropy(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """−Σ_k t_k log(clip(p_k) + 1e-9) per row (natural log; LeWiDi 2023).

    >>> round(cross_entropy(torch.tensor([[0.5, 0.5]], dtype=torch.float64), torch.tensor([[1.0, 0.0]], dtype=torch.float64)).item(), 6)
    0.693147
    """
    clipped = p.clamp(CLIP_EPS, 1 - CLIP_EPS)
    return -(t * torch.log(clipped + LOG_EPS)).sum(dim=-1)


def wasserstein(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """1-D optimal transport between distributions on scale positions 0…K−1 with cost |h − k|.

    On a line this is Σ_k |F_p(k) − F_t(k)| over the K − 1 gaps between positions (F the CDFs).

    >>> wasserstein(torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.0, 1.0]])).tolist()
    [2.0]
    """
    gaps = (p.cumsum(dim=-1) - t.cumsum(dim=-1)).abs()
    return gaps[..., :-1].sum(dim=-1)


def jsd(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Jensen–Shannon divergence in bits per row (the project's :func:`workbench.jsd`)."""
    return jsd_bits(p, t)


def as_binary(presence: torch.Tensor) -> torch.Tensor:
    """(items × L) label-presence probabilities → (items × L × 2) distributions [P(absent), P(present)]."""
    return torch.stack([1 - presence, presence], dim=-1)


def per_label_mean(metric, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A soft-label metric applied to each label's binary distribution, averaged over labels (multi-label sets).

    With :func:`manhattan` this is LeWiDi 2025's multi-label average Manhattan distance (MAMD).

    >>> per_label_mean(manhattan, torch.tensor([[0.5, 1.0]]), torch.tensor([[1.0, 1.0]])).tolist()
    [0.5]
    """
    return metric(as_binary(p), as_binary(t)).mean(dim=-1)


SOFT_METRICS = {"manhattan": manhattan, "cross_entropy": cross_entropy, "wasserstein": wasserstein, "jsd": jsd}


def group_means(values: torch.Tensor, group: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Mean of ``values`` within each group id 0…n_groups−1 (a scatter-add; NaN for an empty group).

    >>> group_means(torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0, 0, 1]), 2).tolist()
    [0.5, 1.0]
    """
    sums = torch.zeros(n_groups, dtype=values.dtype, device=values.device).index_add_(0, group, values)
    counts = torch.zeros(n_groups, dtype=values.dtype, device=values.device).index_add_(0, group, torch.ones_like(values))
    return sums / counts


def rating_errors(true_code: torch.Tensor, predicted_code: torch.Tensor, *, n_categories: int, ordinal: bool) -> torch.Tensor:
    """Per-rating error: 0/1 mismatch (nominal), or |position difference| / number of scale points (ordinal).

    >>> rating_errors(torch.tensor([0, 5]), torch.tensor([2, 5]), n_categories=6, ordinal=True).tolist()
    [0.3333333333333333, 0.0]
    """
    if ordinal:
        return (true_code - predicted_code).abs().to(torch.float64) / n_categories
    return (true_code != predicted_code).to(torch.float64)


def multilabel_errors(true_sets: torch.Tensor, predicted_sets: torch.Tensor) -> torch.Tensor:
    """Per-rating error on (ratings × L) 0/1 label indicators: the share of labels whose presence is wrong.

    >>> multilabel_errors(torch.tensor([[1, 0, 1]]), torch.tensor([[1, 1, 1]])).tolist()
    [0.3333333333333333]
    """
    return (true_sets != predicted_sets).to(torch.float64).mean(dim=-1)

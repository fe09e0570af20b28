"""Subsamples of each item's labels and their distance to the full distribution (docs/METHODS.md, “Disagreement as signal”).

Drawing n of an item's m labels without replacement is a multivariate hypergeometric draw on its
category counts: one vectorised hypergeometric draw per category (not per item, not per draw),
so rater identities are not needed (counts-only data such as ChaosNLI work the same way).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .device import DTYPE
from .distributions import jsd_bits

DISTANCES = ("jsd", "tvd")


def subsample_counts(rng: np.random.Generator, counts: np.ndarray, n: int, n_draws: int) -> np.ndarray:
    """(n_draws × items × categories) counts of n labels drawn without replacement from each item's labels.

    Every item must hold at least n labels.

    >>> draws = subsample_counts(np.random.default_rng(0), np.array([[5, 5], [0, 7]]), 4, 3)
    >>> draws.sum(axis=2).tolist(), draws[:, 1].tolist()
    ([[4, 4], [4, 4], [4, 4]], [[0, 4], [0, 4], [0, 4]])
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_items, n_values = counts.shape
    left_in_item = np.broadcast_to(counts.sum(axis=1), (n_draws, n_items)).copy()
    to_draw = np.full((n_draws, n_items), n, dtype=np.int64)
    out = np.empty((n_draws, n_items, n_values), dtype=np.int64)
    for k in range(n_values - 1):
        good = np.broadcast_to(counts[:, k], (n_draws, n_items))
        drawn = np.zeros((n_draws, n_items), dtype=np.int64)
        live = (to_draw > 0) & (good > 0)
        if live.any():
            drawn[live] = rng.hypergeometric(good[live], left_in_item[live] - good[live], to_draw[live])
        out[:, :, k] = drawn
        to_draw -= drawn
        left_in_item -= good
    out[:, :, -1] = to_draw
    return out


def distribution_distance(sample: torch.Tensor, full: torch.Tensor, metric: str) -> torch.Tensor:
    """Distance between count vectors' distributions along the last axis: JSD (bits) or total variation."""
    p = sample / sample.sum(dim=-1, keepdim=True).clamp(min=1e-300)
    q = full / full.sum(dim=-1, keepdim=True).clamp(min=1e-300)
    if metric == "jsd":
        return jsd_bits(p, q)
    return 0.5 * (p - q).abs().sum(dim=-1)


def alpha_of_draws(kernel, draws: torch.Tensor) -> torch.Tensor:
    """Alpha of each draw (draws × items × categories counts) with an alpha kernel over counts."""
    n_draws, n_items, n_values = draws.shape
    totals = kernel.stats(draws.reshape(-1, n_values)).reshape(n_draws, n_items, -1).sum(dim=1)
    return kernel.compute(totals)[0]


def multinomial_unit_distance(probs: torch.Tensor, n_draws: int, seed: int, metric: str) -> torch.Tensor:
    """(n_draws × items) draws of n^e·distance(p̂_n, p) in the large-n multinomial limit (e = 1 for JSD, ½ for TVD).

    p̂_n − p ≈ Z/√n with Z ~ N(0, diag p − p pᵀ), so JSD ≈ Σ Z²/(8 p ln 2) / n (a χ² with one degree
    of freedom fewer than the categories in use, over 8n ln 2) and TVD ≈ ½ Σ|Z| / √n. The
    distance at n raters per item is the returned value divided by n^e.
    """
    generator = torch.Generator(device="cpu").manual_seed(seed)
    normal = torch.randn(n_draws, *probs.shape, generator=generator, dtype=DTYPE).to(probs.device)
    spread = normal * probs.sqrt()
    z = spread - probs * spread.sum(dim=-1, keepdim=True)  # covariance diag p − p pᵀ
    if metric == "jsd":
        return torch.where(probs > 0, z * z / (8 * math.log(2) * probs.clamp(min=1e-300)), 0.0).sum(dim=-1)
    return 0.5 * z.abs().sum(dim=-1)


def exponent(metric: str) -> float:
    """How a distance shrinks with n under multinomial sampling: n^-1 for JSD, n^-½ for TVD."""
    return 1.0 if metric == "jsd" else 0.5

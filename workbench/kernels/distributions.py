"""Entropy and Jensen–Shannon divergence, base 2, row-wise on (…, K) probability tensors."""

from __future__ import annotations

import torch


def entropy_bits(p: torch.Tensor) -> torch.Tensor:
    """−Σ p log₂ p over the last axis, with 0·log 0 = 0."""
    logs = torch.where(p > 0, torch.log2(torch.where(p > 0, p, 1.0)), 0.0)
    return -(p * logs).sum(dim=-1) + 0.0  # + 0.0 turns -0.0 into 0.0


def jsd_bits(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """JSD(P‖Q) = H((P+Q)/2) − (H(P) + H(Q))/2 in bits, in [0, 1] (not its square root)."""
    value = entropy_bits((p + q) / 2) - (entropy_bits(p) + entropy_bits(q)) / 2
    return value.clamp(min=0.0, max=1.0)

"""Cross-group agreement (cross-replication reliability, Wong, Paritosh & Aroyo 2021; docs/METHODS.md) from per-item counts.

Per item, with a and b the two groups' category counts: the cross table a·bᵀ (all (rating from
A, rating from B) pairs), a and b themselves (each group's label distribution) and each group's
alpha coincidences. These are additive over items, so
a bootstrap over items is a weighted sum of rows (:mod:`workbench.kernels.resampling`).
"""

from __future__ import annotations

import torch

from .agreement import NO_PAIRABLE, ZERO_EXPECTED, AlphaCategorical, with_reasons

#: Reason code for xRR when an alpha is not positive (appended to the agreement reasons).
NOT_POSITIVE = 4


class CrossAgreement:
    """kappa_x, alpha_a, alpha_b and xRR = kappa_x / √(alpha_a·alpha_b) from summed statistics.

    >>> import torch
    >>> kernel = CrossAgreement(AlphaCategorical("nominal", 2))
    >>> a = torch.tensor([[3., 0.], [0., 3.], [2., 1.]]); b = torch.tensor([[2., 0.], [0., 2.], [1., 1.]])
    >>> (kappa, alpha_a, alpha_b, xrr), reasons = kernel.compute(cross_stats(a, b, kernel).sum(dim=0))
    >>> round(float(kappa), 4), round(float(alpha_a), 4)
    (0.6667, 0.6)
    """

    def __init__(self, alpha: AlphaCategorical):
        self.alpha = alpha
        self.n_values = alpha.n_values

    def compute(self, totals: torch.Tensor):
        """((kappa_x, alpha_a, alpha_b, xrr), reasons) for totals of shape (…, features)."""
        v = self.n_values
        cross = totals[..., : v * v].reshape(*totals.shape[:-1], v, v)
        labels_a, labels_b = totals[..., v * v : v * v + v], totals[..., v * v + v : v * v + 2 * v]
        alpha_a, reason_a = self.alpha.compute(totals[..., v * v + 2 * v : 2 * v * v + 2 * v])
        alpha_b, reason_b = self.alpha.compute(totals[..., 2 * v * v + 2 * v :])
        pairs = cross.sum(dim=(-2, -1))
        delta = self.alpha.delta(labels_a + labels_b)  # ordinal δ from both groups' labels together
        observed = (cross * delta).sum(dim=(-2, -1)) / pairs.clamp(min=1e-300)
        share_a = labels_a / labels_a.sum(dim=-1, keepdim=True).clamp(min=1e-300)
        share_b = labels_b / labels_b.sum(dim=-1, keepdim=True).clamp(min=1e-300)
        expected = (share_a[..., :, None] * share_b[..., None, :] * delta).sum(dim=(-2, -1))
        kappa, reason = with_reasons(
            1.0 - observed / torch.where(expected > 0, expected, 1.0), (pairs <= 0, NO_PAIRABLE), (expected <= 1e-15, ZERO_EXPECTED)
        )
        positive = (alpha_a > 0) & (alpha_b > 0)
        scale = torch.sqrt(torch.where(positive, alpha_a * alpha_b, 1.0))
        xrr, xrr_reason = with_reasons(kappa / scale, (torch.isnan(kappa), int(ZERO_EXPECTED)), (~positive, NOT_POSITIVE))
        xrr_reason = torch.where(torch.isnan(kappa), reason, xrr_reason)
        return (kappa, alpha_a, alpha_b, xrr), (reason, reason_a, reason_b, xrr_reason)


def cross_stats(a: torch.Tensor, b: torch.Tensor, kernel: CrossAgreement) -> torch.Tensor:
    """Per-item statistics (items × (3·V² + 2·V)): the cross table a·bᵀ, a, b, then A's and B's alpha coincidences."""
    cross = (a[:, :, None] * b[:, None, :]).reshape(len(a), a.shape[1] * b.shape[1])
    return torch.cat([cross, a, b, kernel.alpha.stats(a), kernel.alpha.stats(b)], dim=1)

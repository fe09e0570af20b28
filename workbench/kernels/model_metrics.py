"""Model-vs-human metrics on preference pairs as additive per-item statistics (docs/METHODS.md, “Reward models against people”).

Each item contributes one row of statistics; a metric is a function of the summed rows, so the
value, per-slice values and bootstrap replicates (weighted sums of rows) share one compute step.
"""

from __future__ import annotations

import torch

from .device import DTYPE
from .distributions import jsd_bits

#: Metrics against soft human targets: accuracy per agreement level, Brier and ECE against the
#: people's share choosing A, the reward margin's correlation with the length difference, uncertainty on split items.
SOFT_METRICS = ("accuracy_unanimous", "accuracy_majority", "accuracy_split", "brier_soft", "ece", "length_bias_r",
                "split_uncertainty")
METRICS = ("accuracy", "pearson_r", "mean_l1", "brier", "jsd", "kappa", "alpha_with_model", "alpha_humans") + SOFT_METRICS
#: Higher is better for these; lower for the rest; None: neither (used to say which of two models agrees more with people).
HIGHER_IS_BETTER = {"accuracy": True, "pearson_r": True, "mean_l1": False, "brier": False, "jsd": False,
                    "kappa": True, "alpha_with_model": True, "alpha_humans": True,
                    "accuracy_unanimous": True, "accuracy_majority": True, "accuracy_split": None, "brier_soft": False,
                    "ece": False, "length_bias_r": None, "split_uncertainty": True}
#: Items whose majority side holds less than this share of the votes are "split" (3 of 5 is split, 2 of 3 is not).
SPLIT_BELOW = 2 / 3
#: Equal-width bins of the model's P(A) for the expected calibration error.
ECE_BINS = 10
# Columns of the statistics matrix, before the per-category alpha columns.
_N, _TIE, _DECIDED, _CORRECT, _BRIER, _X, _Y, _XX, _YY, _XY, _L1, _JSD, _AA, _AB, _BA, _BB = range(16)
# Soft-target block: per level (unanimous, majority, split) decided items and correct; squared gap to the people's
# share; per ECE bin Σ (model P(A) − people's P(A)); length-bias sums; split items and their uncertainty.
_LEVEL = 16
_SQ = _LEVEL + 6
_BIN = _SQ + 1
_LEN = _BIN + ECE_BINS  # valid, Σm, Σd, Σm², Σd², Σmd (m = reward margin, d = length difference)
_SPLIT = _LEN + 6  # split items, Σ (1 − |2 P(A) − 1|) over them
_ALPHA = _SPLIT + 2  # then: disagreement and pairable count with the model, the same for humans only, then 2 × K totals


def agreement_level(p_human: torch.Tensor) -> torch.Tensor:
    """0 unanimous (every vote on one side), 1 clear majority, 2 split (majority share below SPLIT_BELOW, exact
    ties included), from the people's share choosing A."""
    share = torch.maximum(p_human, 1 - p_human)
    unanimous = (share >= 1 - 1e-12)
    split = share < SPLIT_BELOW - 1e-9
    return torch.where(unanimous, 0, torch.where(split, 2, 1))


def _soft_stats(p_model, p_human, decided, correct, length_diff) -> list:
    level = agreement_level(p_human)
    columns = []
    for k in range(3):
        on = (level == k).to(DTYPE) * decided
        columns += [on, on * correct]
    columns.append((p_model - p_human) ** 2)
    which = torch.clamp((p_model * ECE_BINS).floor().long(), 0, ECE_BINS - 1)
    member = torch.nn.functional.one_hot(which, ECE_BINS).to(DTYPE)
    columns += list((member * (p_model - p_human)[:, None]).T)  # ECE = Σ_bins |Σ_bin (P(A) − p)| / n
    if length_diff is None:
        length_diff = torch.full_like(p_model, torch.nan)
    valid = torch.isfinite(length_diff).to(DTYPE)
    clipped = p_model.clamp(1e-15, 1 - 1e-15)
    margin = torch.log(clipped) - torch.log1p(-clipped)  # score_a − score_b when p = σ(score_a − score_b)
    d = torch.nan_to_num(length_diff, nan=0.0)
    columns += [valid, valid * margin, valid * d, valid * margin**2, valid * d**2, valid * margin * d]
    split = (level == 2).to(DTYPE)
    columns += [split, split * (1 - (2 * p_model - 1).abs())]
    return columns


def pair_stats(p_model: torch.Tensor, counts: torch.Tensor, a: int, b: int, tie: int | None,
               length_diff: torch.Tensor | None = None) -> torch.Tensor:
    """Per-item statistics (items × features) comparing a model's P(A) with people's votes.

    ``counts`` is items × categories (float64); ``a``, ``b``, ``tie`` index the A, B and tie columns
    (``tie`` None when the data have no ties). The people's share is ``p = (n_A + n_tie/2) / n``; their
    majority is A (p > ½), B (p < ½) or a tie (p = ½, reported apart, never broken). The model
    chooses A when P(A) > ½, B when < ½; an exact ½ counts half right. ``length_diff`` (items, NaN where
    unknown) is len(response A) − len(response B), for the length-bias correlation.
    """
    n = counts.sum(dim=1)
    n_tie = counts[:, tie] if tie is not None else torch.zeros_like(n)
    p_human = (counts[:, a] + n_tie / 2) / n
    human_tie = (p_human == 0.5).to(DTYPE)
    decided = 1.0 - human_tie
    majority_a = (p_human > 0.5).to(DTYPE)
    model_a, model_b = (p_model > 0.5).to(DTYPE), (p_model < 0.5).to(DTYPE)
    correct = decided * (majority_a * model_a + (1 - majority_a) * model_b + 0.5 * (p_model == 0.5).to(DTYPE))
    brier = decided * (p_model - majority_a) ** 2
    two = lambda p: torch.stack([p, 1 - p], dim=-1)  # noqa: E731
    jsd = jsd_bits(two(p_model), two(p_human))
    columns = [torch.ones_like(n), human_tie, decided, correct, brier, p_model, p_human, p_model**2, p_human**2,
               p_model * p_human, (p_model - p_human).abs(), jsd,
               decided * model_a * majority_a, decided * model_a * (1 - majority_a),
               decided * model_b * majority_a, decided * model_b * (1 - majority_a)]
    columns += _soft_stats(p_model, p_human, decided, correct, length_diff)
    vote = torch.zeros_like(counts)
    vote[:, a] = model_a
    vote[:, b] = model_b
    with_model = counts + vote
    return torch.cat([torch.stack(columns, dim=1), _alpha_stats(with_model), _alpha_stats(counts),
                      with_model * _pairable(with_model)[:, None], counts * _pairable(counts)[:, None]], dim=1)


def _pairable(counts: torch.Tensor) -> torch.Tensor:
    return (counts.sum(dim=1) >= 2).to(DTYPE)


def _alpha_stats(counts: torch.Tensor) -> torch.Tensor:
    """Nominal alpha's per-item observed disagreement Σ_c n_c (m − n_c) / (m − 1) and pairable count m."""
    m = counts.sum(dim=1)
    ok = _pairable(counts)
    disagreement = torch.where(ok > 0, (counts * (m[:, None] - counts)).sum(dim=1) / (m - 1).clamp(min=1), 0.0)
    return torch.stack([disagreement, m * ok], dim=1)


def _nominal_alpha(disagreement, pairable, totals) -> torch.Tensor:
    expected = (totals * (pairable[..., None] - totals)).sum(dim=-1)
    return 1 - (pairable - 1) * disagreement / expected


def pair_metrics(sums: torch.Tensor) -> dict[str, torch.Tensor]:
    """Metrics from summed statistics (…, features); NaN where undefined (no decided items, constant vectors)."""
    s = lambda k: sums[..., k]  # noqa: E731
    n, decided = s(_N), s(_DECIDED)
    k = (sums.shape[-1] - _ALPHA - 4) // 2
    vx = n * s(_XX) - s(_X) ** 2
    vy = n * s(_YY) - s(_Y) ** 2
    total = s(_AA) + s(_AB) + s(_BA) + s(_BB)
    observed = (s(_AA) + s(_BB)) / total
    chance = ((s(_AA) + s(_AB)) * (s(_AA) + s(_BA)) + (s(_BA) + s(_BB)) * (s(_AB) + s(_BB))) / total**2
    with_model = sums[..., _ALPHA + 4 : _ALPHA + 4 + k]
    humans = sums[..., _ALPHA + 4 + k : _ALPHA + 4 + 2 * k]
    return {
        "accuracy": s(_CORRECT) / decided,
        "pearson_r": torch.where(vx * vy > 0, (n * s(_XY) - s(_X) * s(_Y)) / torch.sqrt(vx * vy), torch.nan),
        "mean_l1": s(_L1) / n,
        "brier": s(_BRIER) / decided,
        "jsd": s(_JSD) / n,
        "kappa": (observed - chance) / (1 - chance),
        "alpha_with_model": _nominal_alpha(s(_ALPHA), s(_ALPHA + 1), with_model),
        "alpha_humans": _nominal_alpha(s(_ALPHA + 2), s(_ALPHA + 3), humans),
        "accuracy_unanimous": s(_LEVEL + 1) / s(_LEVEL),
        "accuracy_majority": s(_LEVEL + 3) / s(_LEVEL + 2),
        "accuracy_split": s(_LEVEL + 5) / s(_LEVEL + 4),
        "brier_soft": s(_SQ) / n,
        "ece": sums[..., _BIN : _BIN + ECE_BINS].abs().sum(dim=-1) / n,
        "length_bias_r": _pearson(s(_LEN), s(_LEN + 1), s(_LEN + 2), s(_LEN + 3), s(_LEN + 4), s(_LEN + 5)),
        "split_uncertainty": s(_SPLIT + 1) / s(_SPLIT),
    }


def _pearson(n, sx, sy, sxx, syy, sxy) -> torch.Tensor:
    vx, vy = n * sxx - sx**2, n * syy - sy**2
    ok = (vx > 1e-12 * n**2) & (vy > 1e-12 * n**2)
    return torch.where(ok, (n * sxy - sx * sy) / torch.sqrt(torch.where(ok, vx * vy, 1.0)), torch.nan)


def counts_of(sums: torch.Tensor) -> dict[str, torch.Tensor]:
    """Items and human ties behind summed statistics."""
    return {"n_items": sums[..., _N], "n_human_ties": sums[..., _TIE], "n_unanimous": sums[..., _LEVEL],
            "n_clear_majority": sums[..., _LEVEL + 2], "n_split": sums[..., _SPLIT]}


#: Metrics of a classifier's label probabilities against people's labels per item (the guardrail case).
LABEL_METRICS = ("accuracy", "kappa", "human_agreement", "jsd", "tvd", "cross_entropy", "brier")
LABEL_HIGHER_IS_BETTER = {"accuracy": True, "kappa": True, "human_agreement": True, "jsd": False, "tvd": False,
                          "cross_entropy": False, "brier": False}
_L_N, _L_TIE, _L_CORRECT, _L_AGREE, _L_JSD, _L_TVD, _L_CE, _L_BRIER = range(8)
_L_CONFUSION = 8  # then K × K: model's choice × people's majority, on items with a single majority


def label_stats(p_model: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Per-item statistics (items × features) comparing a classifier's label probabilities with people's labels.

    ``p_model`` and ``counts`` are items × K (float64) over the same categories. Hard metrics use the
    model's most probable label and the people's majority; items whose majority is tied are counted
    apart (never broken at random). Soft metrics compare the two distributions: JSD and total variation,
    cross-entropy of the people's labels under the model (bits; a model probability of 0 where people
    voted gives ∞), Brier distance Σ (p_model − p_people)², and ``human_agreement``, the share of people
    who chose the model's label.
    """
    k = counts.shape[1]
    n = counts.sum(dim=1)
    p_human = counts / n[:, None]
    top = counts.max(dim=1, keepdim=True).values
    tied = ((counts == top).sum(dim=1) > 1).to(DTYPE)
    decided = 1.0 - tied
    majority = torch.nn.functional.one_hot(counts.argmax(dim=1), k).to(DTYPE) * decided[:, None]
    choice = torch.nn.functional.one_hot(p_model.argmax(dim=1), k).to(DTYPE)
    correct = (choice * majority).sum(dim=1)
    agree = (choice * p_human).sum(dim=1)
    log_model = torch.where(p_human > 0, torch.log2(p_model), 0.0)
    cross_entropy = -(p_human * log_model).sum(dim=1)
    columns = [torch.ones_like(n), tied, correct, agree, jsd_bits(p_model, p_human), (p_model - p_human).abs().sum(dim=1) / 2,
               cross_entropy, ((p_model - p_human) ** 2).sum(dim=1)]
    confusion = (choice[:, :, None] * majority[:, None, :]).reshape(len(n), k * k)
    return torch.cat([torch.stack(columns, dim=1), confusion], dim=1)


def label_metrics(sums: torch.Tensor) -> dict[str, torch.Tensor]:
    """Metrics from summed :func:`label_stats` rows (…, features); NaN where undefined."""
    s = lambda j: sums[..., j]  # noqa: E731
    k = int(round((sums.shape[-1] - _L_CONFUSION) ** 0.5))
    confusion = sums[..., _L_CONFUSION:].reshape(*sums.shape[:-1], k, k)
    decided = confusion.sum(dim=(-1, -2))
    observed = torch.diagonal(confusion, dim1=-2, dim2=-1).sum(dim=-1) / decided
    chance = (confusion.sum(dim=-1) * confusion.sum(dim=-2)).sum(dim=-1) / decided**2
    n = s(_L_N)
    return {
        "accuracy": s(_L_CORRECT) / decided,
        "kappa": torch.where(chance < 1, (observed - chance) / (1 - chance), torch.nan),
        "human_agreement": s(_L_AGREE) / n,
        "jsd": s(_L_JSD) / n,
        "tvd": s(_L_TVD) / n,
        "cross_entropy": s(_L_CE) / n,
        "brier": s(_L_BRIER) / n,
    }


def label_counts_of(sums: torch.Tensor) -> dict[str, torch.Tensor]:
    """Items and items with a tied majority behind summed :func:`label_stats` rows."""
    return {"n_items": sums[..., _L_N], "n_tied_majority": sums[..., _L_TIE]}

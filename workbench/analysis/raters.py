"""Per-rater diagnostics: who rates what, how often they agree with the others, and what agreement would be without them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch

from ..data.ratings import Ratings
from ..data.validate import check_level
from ..errors import WorkbenchDataError
from ..kernels.agreement import AlphaInterval, CohenKappa, PercentAgreement, category_counts, check_dense, interval_moments
from ..kernels.device import DTYPE, resolve_device, to_tensor
from ..kernels.inputs import alpha_kernel
from . import coefficients

#: Metrics whose leave-one-rater-out change rater_table computes (per-item statistics of counts or moments).
LOO_METRICS = ("alpha", "percent_agreement", *coefficients.KAPPA_FAMILY)
#: Ratings handled per block when subtracting each rating's contribution (bounds memory to block × statistics).
BLOCK_RATINGS = 1 << 18


def rater_table(ratings: Ratings, *, metric: str = "alpha", level: str | None = None, device="auto") -> pd.DataFrame:
    """One row per rater: how much they rated, how they label, how they agree, and ``<metric>_change``.

    Columns: ``n_ratings``, ``shared_items`` (items they rated that someone else rated too); for
    categorical data ``share_<label>`` (their label shares), ``pairwise_agreement`` (share of
    their pairs with other raters on the same item that agree) and ``kappa_vs_majority`` (Cohen's
    kappa between their labels and the majority of the *other* raters' labels, items with a tied
    majority left out); for numeric data ``mean_label`` and ``mean_deviation`` (their label minus
    the others' mean on the item, averaged). ``alpha_change`` (or ``<metric>_change``) is the
    metric without this rater minus the metric with everyone: positive means agreement rises when
    they are left out. It is exact and computed for all raters at once — each item's statistics
    minus that item's statistics without the rater, summed per rater and subtracted from the
    total — not by recomputing the metric once per rater. The rater table's own columns follow.
    Rows are sorted by the change, largest first.

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=200, ratings_per_item=5, n_raters=20)
    >>> table = workbench.rater_table(study.ratings)
    >>> table.index.name, len(table), list(table.columns[:5])
    ('rater_id', 20, ['n_ratings', 'shared_items', 'share_A', 'share_B', 'pairwise_agreement'])
    >>> bool(table["alpha_change"].is_monotonic_decreasing)
    True
    """
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"rater_table() takes a workbench Ratings, got {type(ratings).__name__}; see workbench.read_ratings")
    ratings._need_raters("rater_table")
    if metric not in LOO_METRICS:
        raise WorkbenchDataError(f"rater_table computes the leave-one-out change for {', '.join(LOO_METRICS)}; got {metric!r}")
    level = check_level(level or ratings.level)
    numeric_data = ratings.level in ("interval", "ratio")
    if level in ("interval", "ratio") and not numeric_data:
        raise WorkbenchDataError(f"level={level!r} needs numeric labels; these ratings are {ratings.level}")
    if metric != "alpha" and level in ("interval", "ratio"):
        raise WorkbenchDataError(f"{metric} treats labels as categories; use metric='alpha' for {level} data")
    dev = resolve_device(device)
    codes = ratings.codes
    n_items, n_raters = len(codes.items), len(codes.raters)
    item = to_tensor(codes.item, device=dev)
    rater = to_tensor(codes.rater, device=dev)
    if numeric_data:
        domain, code = np.unique(codes.value, return_inverse=True)
    else:
        domain, code = np.asarray(ratings.categories, dtype=object), codes.value
    code_t = to_tensor(code.astype(np.int64), device=dev)
    m = torch.bincount(item, minlength=n_items).to(DTYPE)

    out = pd.DataFrame(index=codes.raters)
    out["n_ratings"] = np.bincount(codes.rater, minlength=n_raters)
    out["shared_items"] = torch.bincount(rater, weights=(m[item] >= 2).to(DTYPE), minlength=n_raters).cpu().numpy().astype(np.int64)
    if numeric_data:
        _numeric_columns(out, item, rater, to_tensor(codes.value, dtype=DTYPE, device=dev), m, n_items, n_raters)
    else:
        shares = _categorical_columns(out, item, rater, code_t, domain, n_items, n_raters)
        out = pd.concat([out.iloc[:, :2], shares, out.iloc[:, 2:]], axis=1)  # one step, not one column per label
    change = _leave_one_out_change(metric, level, domain, item, rater, code_t, codes.value, n_items, n_raters, dev)
    out[f"{metric}_change"] = change
    out = out.join(ratings.raters.rename(columns=lambda c: f"{c}_rater" if c in out.columns else c))
    return out.sort_values(f"{metric}_change", ascending=False, na_position="last", kind="stable")


def _without_each_label(counts: torch.Tensor) -> torch.Tensor:
    """(items · q) × q: each item's counts with one rating of label c taken out (row i·q + c; clamped at 0)."""
    n_items, q = counts.shape
    check_dense((n_items, q, q), "the per-rater table", "with this many distinct labels, treat them as numbers "
                "(level of measurement 'interval') or merge rare labels")
    eye = torch.eye(q, dtype=DTYPE, device=counts.device)
    return (counts[:, None, :] - eye[None, :, :]).clamp(min=0).reshape(n_items * q, q)


def _categorical_columns(out, item, rater, code, domain, n_items: int, n_raters: int) -> pd.DataFrame:
    q = len(domain)
    counts = category_counts(item, code, n_items, q)
    by_rater = torch.bincount(rater * q + code, minlength=n_raters * q).to(DTYPE).view(n_raters, q)
    shares = by_rater / by_rater.sum(dim=1, keepdim=True).clamp(min=1)
    shares_frame = pd.DataFrame(shares.cpu().numpy(), index=out.index, columns=[f"share_{name}" for name in domain])
    # what the *other* raters said, per (item, own label): q rows per item, gathered per rating
    others = _without_each_label(counts)
    label = torch.arange(q, device=item.device).repeat(n_items)
    n_others = others.sum(dim=1)
    agreeing = others.gather(1, label[:, None])[:, 0]
    top = others.max(dim=1).values
    clear = (n_others > 0) & ((others == top[:, None]).sum(dim=1) == 1)  # a single most frequent label among the others
    majority = others.argmax(dim=1)
    key = item * q + code
    pairs = torch.bincount(rater, weights=n_others[key], minlength=n_raters)
    agree = torch.bincount(rater, weights=agreeing[key], minlength=n_raters)
    out["pairwise_agreement"] = torch.where(pairs > 0, agree / pairs.clamp(min=1), float("nan")).cpu().numpy()
    cells = (rater * q + code) * q + majority[key]
    tables = torch.bincount(cells[clear[key]], minlength=n_raters * q * q).to(DTYPE).view(n_raters, q * q)
    kappa, _ = CohenKappa(q, None, device=item.device).compute(tables)
    out["kappa_vs_majority"] = kappa.cpu().numpy()
    return shares_frame


def _numeric_columns(out, item, rater, value, m, n_items: int, n_raters: int) -> None:
    total = torch.bincount(item, weights=value, minlength=n_items)
    others = m[item] - 1
    deviation = value - (total[item] - value) / others.clamp(min=1)
    has_others = (others > 0).to(DTYPE)
    n = torch.bincount(rater, minlength=n_raters).to(DTYPE)
    shared = torch.bincount(rater, weights=has_others, minlength=n_raters)
    out["mean_label"] = (torch.bincount(rater, weights=value, minlength=n_raters) / n.clamp(min=1)).cpu().numpy()
    mean_deviation = torch.bincount(rater, weights=deviation * has_others, minlength=n_raters) / shared.clamp(min=1)
    out["mean_deviation"] = torch.where(shared > 0, mean_deviation, float("nan")).cpu().numpy()


def _leave_one_out_change(metric, level, domain, item, rater, code, raw_values, n_items, n_raters, device) -> np.ndarray:
    """metric(all raters but r) − metric(all raters), for every r: the total minus each rater's summed item deltas."""
    if metric == "alpha" and level == "interval":
        # the delta depends on the value taken out: per rating, from item moments (Welford downdate)
        kernel = AlphaInterval()
        moments = interval_moments(item, to_tensor(np.asarray(raw_values, dtype=np.float64), dtype=DTYPE, device=device), n_items)
        per_item = kernel.stats(moments)
        count, total, squares, self_pairs = moments[item].unbind(dim=1)
        v = _centred(raw_values, device)
        mean, left = total / count, count - 1
        new_mean = (total - v) / left.clamp(min=1)
        squares = torch.where(left > 0, squares - (v - mean) * (v - new_mean), 0.0).clamp(min=0)
        delta, key = per_item[item] - kernel.stats(torch.stack([left, total - v, squares, self_pairs - 1], dim=1)), None
    else:
        # the delta depends only on (item, label taken out): q rows per item, gathered per rating
        if metric == "alpha":
            kernel = alpha_kernel(level, domain, device)
        elif metric == "percent_agreement":
            kernel = PercentAgreement()
        else:
            kernel = coefficients.kernel(metric, len(domain), n_raters, None if metric != "gwet_ac2" else "quadratic", None, device)
        q = len(domain)
        counts = category_counts(item, code, n_items, q)
        per_item = kernel.stats(counts)
        delta = (per_item[:, None, :] - kernel.stats(_without_each_label(counts)).view(n_items, q, -1)).reshape(n_items * q, -1)
        key = item * q + code
    total = per_item.sum(dim=0)
    removed = torch.zeros(n_raters, per_item.shape[1], dtype=DTYPE, device=per_item.device)
    for lo in range(0, len(item), BLOCK_RATINGS):
        block = slice(lo, lo + BLOCK_RATINGS)
        removed.index_add_(0, rater[block], delta[block] if key is None else delta[key[block]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        everyone, reason = kernel.compute(total)
        left_out, _ = kernel.compute(total[None, :] - removed)
    if int(reason):
        return np.full(n_raters, np.nan)  # the metric is undefined with everyone: no change to report
    return (left_out - everyone).cpu().numpy()


def _centred(values, device) -> torch.Tensor:
    """The values shifted as interval_moments shifts them (by their mean), so downdates match its moments."""
    v = to_tensor(np.asarray(values, dtype=np.float64), dtype=DTYPE, device=device)
    return v - v.sum() / max(len(v), 1)

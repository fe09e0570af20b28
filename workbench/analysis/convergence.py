"""How many raters per item are enough: the convergence curve and a sample-size answer (docs/METHODS.md, “Disagreement as signal”).

Both work on per-item label counts, so counts-only data (ChaosNLI) work too; the statistics are in
:mod:`workbench.kernels.convergence`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..data.ratings import Ratings
from ..errors import WorkbenchDataError
from ..kernels.agreement import AlphaCategorical
from ..kernels.convergence import (
    DISTANCES,
    alpha_of_draws,
    distribution_distance,
    exponent,
    multinomial_unit_distance,
    subsample_counts,
)
from ..kernels.device import DTYPE, resolve_device, to_tensor

METRICS = DISTANCES + ("alpha",)
#: Draw batches are sized to hold at most this many counts (≈128 MiB of int64).
BATCH_ELEMENTS = 1 << 24


def _counts(ratings: Ratings, what: str) -> pd.DataFrame:
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"{what}() takes a workbench Ratings, got {type(ratings).__name__}; see workbench.read_ratings")
    return ratings.label_counts()


def _sizes(sizes) -> list[int]:
    values = [sizes] if np.ndim(sizes) == 0 else list(sizes)
    if not values:
        raise WorkbenchDataError("sizes is empty: give the numbers of raters per item to try, e.g. [2, 5, 10]")
    for n in values:
        if isinstance(n, bool) or not float(n).is_integer() or n < 1:
            raise WorkbenchDataError(f"sizes must be whole numbers ≥ 1 (raters per item), got {n!r}")
    return sorted({int(n) for n in values})


def _check(metric: str, n_draws) -> None:
    if metric not in METRICS:
        raise WorkbenchDataError(f"unknown distance {metric!r}; choose one of {', '.join(METRICS)}")
    if isinstance(n_draws, bool) or int(n_draws) != n_draws or n_draws < 1:
        raise WorkbenchDataError(f"n_draws must be a whole number ≥ 1, got {n_draws!r}")


def _alpha_kernel(ratings: Ratings, counts: pd.DataFrame, device) -> AlphaCategorical:
    values = None
    if ratings.level in ("interval", "ratio"):
        values = to_tensor(counts.columns.to_numpy(dtype=np.float64), device=device)
    return AlphaCategorical(ratings.level, counts.shape[1], values, device=device)


def draw_distances(counts: np.ndarray, n: int, n_draws: int, metric: str, rng: np.random.Generator, device, kernel=None) -> torch.Tensor:
    """(n_draws × items) distances of n-label subsamples to each item's full distribution (alpha: (n_draws,) |Δα|)."""
    full = to_tensor(counts, dtype=DTYPE, device=device)
    per_batch = max(1, BATCH_ELEMENTS // max(counts.size, 1))
    parts = []
    for start in range(0, n_draws, per_batch):
        draws = to_tensor(subsample_counts(rng, counts, n, min(per_batch, n_draws - start)), dtype=DTYPE, device=device)
        if metric == "alpha":
            parts.append(alpha_of_draws(kernel, draws))
        else:
            parts.append(distribution_distance(draws, full[None], metric))
    out = torch.cat(parts)
    if metric == "alpha":
        reference = alpha_of_draws(kernel, full[None])[0]
        return (out - reference).abs()
    return out


def convergence(
    ratings: Ratings,
    sizes,
    *,
    n_draws: int = 200,
    distance: str = "jsd",
    seed: int = 0,
    per_item: bool = False,
    device="auto",
) -> pd.DataFrame:
    """Distance of an n-rater subsample's label distribution to the item's full distribution, for each n.

    For each n in ``sizes``, each item with at least n ratings gets ``n_draws`` draws of n of its
    ratings without replacement (items with fewer are left out of that size and counted); a draw's
    distance to the item's full distribution is JSD (bits) or total variation (``"tvd"``). With
    ``distance="alpha"`` each draw is the alpha of all eligible items' subsamples, compared with the
    full panel's alpha on those items (|difference|).

    Returns
    -------
    DataFrame with ``size, distance, low, high, n_items, n_items_left_out``: ``distance`` is the mean
    over items of each item's mean distance over draws, and ``low``/``high`` the 5 % and 95 %
    quantiles of that per-item distance over items (alpha: of |Δα| over draws). With
    ``per_item=True``: one row per (item, size) with the mean and 5/95 % quantiles over draws.

    Examples
    --------
    >>> import workbench
    >>> ratings = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=20, n_raters=60).ratings
    >>> curve = workbench.convergence(ratings, [2, 5, 10], n_draws=50)
    >>> curve[["size", "n_items"]].to_string(index=False)
    ' size  n_items\\n    2      300\\n    5      300\\n   10      300'
    >>> bool(curve["distance"].is_monotonic_decreasing)
    True
    """
    frame = _counts(ratings, "convergence")
    _check(distance, n_draws)
    sizes = _sizes(sizes)
    if per_item and distance == "alpha":
        raise WorkbenchDataError("distance='alpha' compares whole panels, not items: use per_item=False, or 'jsd' / 'tvd'")
    dev = resolve_device(device)
    counts = frame.to_numpy(dtype=np.int64)
    m = counts.sum(axis=1)
    kernel = _alpha_kernel(ratings, frame, dev) if distance == "alpha" else None
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        eligible = m >= n
        base = {"size": n, "n_items": int(eligible.sum()), "n_items_left_out": int((~eligible).sum())}
        if not eligible.any():
            if not per_item:
                rows.append({**base, "distance": np.nan, "low": np.nan, "high": np.nan})
            continue
        d = draw_distances(counts[eligible], n, n_draws, distance, rng, dev, kernel).cpu()
        if per_item:
            quantiles = torch.quantile(d, torch.tensor([0.05, 0.95], dtype=DTYPE), dim=0).numpy()
            rows.append(pd.DataFrame({"item_id": frame.index[eligible], "size": n, "distance": d.mean(dim=0).numpy(),
                                      "low": quantiles[0], "high": quantiles[1]}))
            continue
        spread = d if distance == "alpha" else d.mean(dim=0)
        low, high = torch.quantile(spread, torch.tensor([0.05, 0.95], dtype=DTYPE)).tolist()
        rows.append({**base, "distance": float(spread.mean()), "low": low, "high": high})
    if per_item:
        out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["item_id", "size", "distance", "low", "high"])
    else:
        out = pd.DataFrame(rows, columns=["size", "distance", "low", "high", "n_items", "n_items_left_out"])
    out.attrs.update({"distance": distance, "n_draws": n_draws, "seed": seed, "resample": "ratings within items, without replacement"})
    return out


def sample_size(
    ratings: Ratings,
    target: float,
    *,
    metric: str = "jsd",
    quantile: float = 0.9,
    sizes=None,
    n_draws: int = 200,
    seed: int = 0,
    device="auto",
) -> pd.DataFrame:
    """Raters per item needed so that a share ``quantile`` of items lie within ``target`` of their distribution.

    Two answers, side by side:

    - ``n_curve``, from the pilot's convergence curve: at each pilot size n (``sizes``; default a
      grid up to half the median ratings per item) the ``quantile`` of the (item, draw) distances
      of n-label subsamples to the pilot's own distribution; the answer is where that crosses
      ``target`` (log-log interpolation). It cannot see beyond the pilot: NaN with a note when the
      target is not reached within ``sizes``.
    - ``n_multinomial``, from the multinomial approximation: each item's labels are independent
      draws from its pilot distribution; for large n, JSD ≈ χ²/(8n ln 2) and TVD ∝ 1/√n, so the
      quantile at n is the quantile at 1 over n (JSD) or √n (TVD). Items unanimous in the pilot
      count as converged.

    Returns
    -------
    One-row DataFrame: ``metric, target, quantile, n_curve, n_multinomial, pilot_median_raters,
    assumption, note``; ``.attrs["curve"]`` has, per size, the pilot curve's quantile and the
    multinomial one.

    Examples
    --------
    >>> import workbench
    >>> ratings = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=20, n_raters=60).ratings
    >>> answer = workbench.sample_size(ratings, target=0.05, n_draws=50)
    >>> int(answer["n_multinomial"].iloc[0]), int(answer["n_curve"].iloc[0])
    (10, 9)
    """
    frame = _counts(ratings, "sample_size")
    _check(metric, n_draws)
    if metric == "alpha":
        raise WorkbenchDataError("sample_size() plans per-item distances: metric must be 'jsd' or 'tvd'")
    if isinstance(target, bool) or not np.isfinite(target) or not 0 < target < 1:
        raise WorkbenchDataError(f"target must be a distance in (0, 1), got {target!r}")
    if not 0 < quantile < 1:
        raise WorkbenchDataError(f"quantile must lie in (0, 1), got {quantile!r}")
    counts = frame.to_numpy(dtype=np.int64)
    m = counts.sum(axis=1)
    median = float(np.median(m))
    if sizes is None:
        top = max(2, int(median // 2))
        sizes = np.unique(np.geomspace(2, top, num=min(top - 1, 8)).round().astype(int))
    sizes = _sizes(sizes)
    dev = resolve_device(device)
    rng = np.random.default_rng(seed)
    q = torch.tensor(quantile, dtype=DTYPE)

    probs = to_tensor(counts[m > 0] / m[m > 0, None], dtype=DTYPE, device=dev)
    unit = multinomial_unit_distance(probs, n_draws, seed, metric).cpu()
    at_one = float(torch.quantile(unit.reshape(-1), q))

    curve = []
    for n in sizes:
        eligible = m >= n
        pilot = float(torch.quantile(draw_distances(counts[eligible], n, n_draws, metric, rng, dev).reshape(-1).cpu(), q)) \
            if eligible.any() else np.nan
        curve.append({"size": n, "pilot": pilot, "multinomial": at_one / n ** exponent(metric), "n_items": int(eligible.sum())})
    curve = pd.DataFrame(curve)
    n_curve, n_multinomial, note = answer_from_curve(curve, target, metric)
    assumption = (
        "n_curve: subsamples of the pilot's own ratings without replacement, measured against the pilot's distribution; "
        "n_multinomial: labels are independent draws from each item's pilot distribution (large-n limit: "
        + ("JSD ≈ χ²/(8n ln 2)" if metric == "jsd" else "TVD ∝ 1/√n") + "); unanimous pilot items count as converged"
    )
    out = pd.DataFrame([{
        "metric": metric, "target": target, "quantile": quantile, "n_curve": n_curve, "n_multinomial": n_multinomial,
        "pilot_median_raters": median, "assumption": assumption, "note": note,
    }])
    out.attrs["curve"] = curve
    return out


def answer_from_curve(curve: pd.DataFrame, target: float, metric: str = "jsd") -> tuple[float, int, str]:
    """(n_curve, n_multinomial, note) for ``target`` from a curve as in ``sample_size(...).attrs["curve"]``.

    Lets a planner answer new targets without drawing again.

    >>> curve = pd.DataFrame({"size": [2, 4, 8], "pilot": [0.2, 0.1, 0.04], "multinomial": [0.25, 0.125, 0.0625]})
    >>> answer_from_curve(curve, 0.05)
    (7.0, 10, '')
    """
    first = curve.iloc[0]
    power = exponent(metric)
    n_multinomial = max(1, int(np.ceil((first["multinomial"] * first["size"] ** power / target) ** (1 / power) - 1e-9)))
    below = np.flatnonzero(curve["pilot"].to_numpy() <= target)
    if len(below) == 0:
        largest = int(curve["size"].max())
        return np.nan, n_multinomial, f"the pilot curve does not reach the target within sizes up to {largest}: the pilot is too small to tell"
    k = below[0]
    if k == 0:
        return float(curve["size"].iloc[0]), n_multinomial, ""
    (n0, d0), (n1, d1) = curve[["size", "pilot"]].iloc[k - 1], curve[["size", "pilot"]].iloc[k]
    if d1 <= 0 or d0 <= d1:
        return float(n1), n_multinomial, ""
    slope = (np.log(d1) - np.log(d0)) / (np.log(n1) - np.log(n0))  # log-log interpolation between the two sizes
    return float(np.ceil(np.exp(np.log(n0) + (np.log(target) - np.log(d0)) / slope))), n_multinomial, ""

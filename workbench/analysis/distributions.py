"""Per-item label distributions, entropy and Jensen–Shannon divergence (docs/METHODS.md, “Disagreement as signal”)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.ratings import Ratings
from ..errors import WorkbenchDataError
from ..kernels.agreement import PercentAgreement
from ..kernels.device import DTYPE, to_tensor
from ..kernels.distributions import entropy_bits, jsd_bits

#: Numeric labels with at most this many distinct values get per-value count columns.
MAX_VALUE_COLUMNS = 20


def _probabilities(p, name: str) -> tuple[np.ndarray, object]:
    """Rows of ``p`` normalised to sum to 1, and the index to label results with (or None)."""
    index = p.index if isinstance(p, (pd.DataFrame, pd.Series)) and np.ndim(p) == 2 else None
    array = np.asarray(p, dtype=np.float64) if not isinstance(p, pd.DataFrame) else p.to_numpy(dtype=np.float64)
    if array.ndim not in (1, 2) or array.shape[-1] == 0:
        raise WorkbenchDataError(f"{name} must be a probability vector or a 2-D array of them (rows), got shape {array.shape}")
    if np.isnan(array).any() or (array < 0).any():
        raise WorkbenchDataError(f"{name} must hold non-negative numbers; found {'NaN' if np.isnan(array).any() else 'a negative value'}")
    totals = array.sum(axis=-1, keepdims=True)
    if (totals <= 0).any():
        row = int(np.argmin(totals.ravel()))
        raise WorkbenchDataError(f"{name} row {row} sums to 0: not a distribution")
    return array / totals, index


def entropy(p, normalize: bool = False):
    """Shannon entropy in bits of each distribution (rows of a 2-D input; counts are normalised first).

    ``normalize=True`` divides by log₂(K), K the number of categories, giving a value in [0, 1].

    >>> import workbench
    >>> workbench.entropy([0.5, 0.5])
    1.0
    >>> workbench.entropy([[1, 0, 0], [1, 1, 1]], normalize=True).round(3).tolist()
    [0.0, 1.0]
    """
    probs, index = _probabilities(p, "p")
    value = entropy_bits(to_tensor(probs, dtype=DTYPE)).numpy()
    if normalize:
        value = value / np.log2(probs.shape[-1]) if probs.shape[-1] > 1 else np.zeros_like(value)
    return _shape(value, index, "entropy")


def jsd(p, q):
    """Jensen–Shannon divergence in bits, in [0, 1] — the divergence, not scipy's distance (its square root).

    Row-wise for 2-D inputs (same shape); rows are normalised to sum to 1.

    >>> import workbench
    >>> workbench.jsd([1, 0], [0, 1])
    1.0
    >>> round(workbench.jsd([0.5, 0.5], [0.9, 0.1]), 6)
    0.146793
    """
    p_probs, index = _probabilities(p, "p")
    q_probs, _ = _probabilities(q, "q")
    if p_probs.shape != q_probs.shape:
        raise WorkbenchDataError(f"p and q must have the same shape, got {p_probs.shape} and {q_probs.shape}")
    value = jsd_bits(to_tensor(p_probs, dtype=DTYPE), to_tensor(q_probs, dtype=DTYPE)).numpy()
    return _shape(value, index, "jsd")


def _shape(value: np.ndarray, index, name: str):
    if value.ndim == 0:
        return float(value)
    return pd.Series(value, index=index, name=name) if index is not None else value


def _tied(is_top: np.ndarray, ties: np.ndarray, categories: pd.Index) -> np.ndarray:
    """``"a|b"`` naming the tied top categories of each tied row (None elsewhere); one string per distinct pattern."""
    tied = np.full(len(ties), None, dtype=object)
    if ties.any():
        rows = is_top[ties]
        if rows.shape[1] <= 62:  # each pattern as the bits of one integer: a 1-D unique
            _, first, which = np.unique(rows @ (1 << np.arange(rows.shape[1], dtype=np.int64)), return_index=True, return_inverse=True)
            patterns = rows[first]
        else:
            patterns, which = np.unique(rows, axis=0, return_inverse=True)
        names = np.array(["|".join(map(str, categories[pattern])) for pattern in patterns], dtype=object)
        tied[ties] = names[which.ravel()]
    return tied


def item_table(ratings: Ratings, path=None) -> pd.DataFrame:
    """One row per item: ratings, counts and shares per category, majority, entropy, agreement.

    ``majority`` is missing where categories tie for the top count (``majority_tie`` is True and
    ``tied`` lists them); ties are never broken at random. ``entropy_bits`` is base 2 and
    ``entropy_norm`` divides it by log₂(number of categories). ``agreement`` is the share of
    agreeing pairs of ratings (NaN with one rating). Numeric labels with many distinct values get
    ``mean`` and ``std`` instead of per-value columns. With ``path`` the table is also written
    there as Parquet; for Dask-backed ratings (``read_ratings(..., engine="dask")``) it is written
    by the workers as a Parquet dataset, never collected, and returned as a Dask DataFrame reading it
    (one row per item, in no particular order; see :func:`workbench.distributed.item_table`).

    >>> import workbench
    >>> r = workbench.Ratings.from_matrix([["a", "a", "b"], ["a", "b", "b"]], level="nominal")
    >>> workbench.item_table(r)[["n_ratings", "majority", "majority_tie", "entropy_bits", "agreement"]]
             n_ratings majority  majority_tie  entropy_bits  agreement
    item_id
    0                2        a         False           0.0        1.0
    1                2      NaN          True           1.0        0.0
    2                2        b         False           0.0        1.0
    """
    if getattr(ratings, "distributed", False):  # a Dask-backed source: written as a Parquet dataset
        from ..distributed.tables import item_table as distributed_item_table

        return distributed_item_table(ratings, path)
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"item_table() takes a workbench Ratings, got {type(ratings).__name__}")
    table = table_from_counts(ratings.label_counts(), ratings.level in ("interval", "ratio"))
    if path is not None:
        table.to_parquet(path)
    return table


def table_from_counts(counts: pd.DataFrame, numeric: bool) -> pd.DataFrame:
    """:func:`item_table` from an items × categories count table (categories: numbers when ``numeric``)."""
    n = counts.sum(axis=1)
    out = pd.DataFrame({"n_ratings": n}, index=counts.index)
    if numeric:
        values = counts.columns.to_numpy(dtype=np.float64)
        matrix = counts.to_numpy(dtype=np.float64)
        mean = matrix @ values / n.to_numpy()
        out["mean"] = mean
        out["std"] = np.sqrt(np.maximum(matrix @ values**2 / n.to_numpy() - mean**2, 0.0))
    if not numeric or counts.shape[1] <= MAX_VALUE_COLUMNS:
        shares = counts.div(n, axis=0)
        for category in counts.columns:
            out[f"n_{category}"] = counts[category]
        for category in counts.columns:
            out[f"p_{category}"] = shares[category]
        top = counts.max(axis=1)
        is_top = counts.eq(top, axis=0)
        ties = is_top.sum(axis=1) > 1
        out["majority"] = counts.idxmax(axis=1).astype(object).where(~ties)
        out["majority_tie"] = ties
        out["tied"] = _tied(is_top.to_numpy(), ties.to_numpy(), counts.columns)
        probs = to_tensor(shares.to_numpy(dtype=np.float64), dtype=DTYPE)
        out["entropy_bits"] = entropy_bits(probs).numpy()
        out["entropy_norm"] = out["entropy_bits"] / np.log2(counts.shape[1]) if counts.shape[1] > 1 else 0.0
    stats = PercentAgreement().stats(to_tensor(counts.to_numpy(dtype=np.float64), dtype=DTYPE))
    agreement = stats[:, 0].numpy()
    out["agreement"] = np.where(stats[:, 1].numpy() > 0, agreement, np.nan)
    return out

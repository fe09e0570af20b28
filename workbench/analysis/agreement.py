"""Agreement coefficients on plain arrays: Krippendorff's alpha, Cohen's and Fleiss' kappa, percent agreement.

Each call validates its input, codes it, and runs the matching kernel from
:mod:`workbench.kernels.agreement`. Undefined values come back as NaN with an
:class:`~workbench.errors.UndefinedMetricWarning` that names the reason (docs/METHODS.md, “Agreement”).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch

from ..data.ratings import Ratings
from ..data.validate import as_matrix, check_level
from ..errors import UndefinedMetricWarning, WorkbenchDataError, show
from ..kernels.agreement import (
    REASONS,
    AlphaInterval,
    CohenKappa,
    PercentAgreement,
    category_counts,
    interval_moments,
)
from ..kernels.coefficients import WEIGHTS, KappaFamily
from ..kernels.device import DTYPE, resolve_device, to_tensor
from ..kernels.inputs import alpha_kernel, as_numbers, moments_from_counts

COHEN_WEIGHTS = (None, *WEIGHTS)
#: Chance agreement of fleiss_kappa: per-item shares averaged over items (Gwet, irrCAC) or pooled ratings.
FLEISS_CHANCE = {"averaged": "fleiss", "pooled": "scott"}


def finish(value: torch.Tensor, reason: torch.Tensor, what: str) -> float:
    """A scalar result as a float, warning with the reason when it is undefined."""
    code = int(reason)
    if code:
        warnings.warn(f"{what} is undefined: {REASONS[code]}", UndefinedMetricWarning, stacklevel=3)
        return float("nan")
    return float(value)


def _domain_codes(values: np.ndarray, value_domain, level: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(codes, domain) for categorical levels; the domain is given or the sorted distinct values."""
    if value_domain is not None:
        domain = np.asarray(value_domain)
        index = pd.Index(domain)
        if index.has_duplicates:
            raise WorkbenchDataError(f"value_domain repeats a value: {show(index[index.duplicated()][0])}")
        codes = index.get_indexer(values)
        if (codes < 0).any():
            raise WorkbenchDataError(f"{what} holds {show(values[codes < 0][0])}, which is not in value_domain")
        return codes.astype(np.int64), domain
    if values.dtype == object:
        kinds = {type(v).__name__ if isinstance(v, str) else "number" for v in values}
        if len(kinds) > 1:
            raise WorkbenchDataError(f"{what} mixes text and numbers; give one type (or a value_domain)")
    if values.dtype.kind == "f":  # numbers: one sort (faster than hashing when most values are distinct)
        domain, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64, copy=False), domain
    codes, domain = pd.factorize(values, sort=True)  # hashing: O(n), sorts only the distinct values
    return codes.astype(np.int64, copy=False), np.asarray(domain)


def krippendorff_alpha(
    reliability_data=None,
    value_counts=None,
    level_of_measurement: str = "interval",
    value_domain=None,
    device="auto",
) -> float:
    """Krippendorff's alpha — the same call as ``krippendorff.alpha``, computed exactly in torch.

    Parameters
    ----------
    reliability_data : array_like, shape (raters, units), optional
        Labels with NaN (or None) for missing; text labels are fine for nominal/ordinal.
    value_counts : array_like, shape (units, values), optional
        How many raters gave each value to each unit (instead of ``reliability_data``).
    level_of_measurement : {"nominal", "ordinal", "interval", "ratio"}
    value_domain : array_like, optional
        The possible values, in order for ordinal data (default: sorted distinct values, or
        ``range(values)`` with ``value_counts``).
    device : "auto", "cpu", "cuda", …

    Returns
    -------
    float
        Alpha; NaN with an :class:`UndefinedMetricWarning` when no unit has two values
        (``no_pairable_values``) or all pairable values are equal (``zero_expected_disagreement``).

    Examples
    --------
    >>> import numpy as np, workbench
    >>> data = [[np.nan, np.nan, np.nan, np.nan, np.nan, 3, 4, 1, 2, 1, 1, 3, 3, np.nan, 3],
    ...         [1, np.nan, 2, 1, 3, 3, 4, 3, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
    ...         [np.nan, np.nan, 2, 1, 3, 4, 4, np.nan, 2, 1, 1, 3, 3, np.nan, 4]]
    >>> round(workbench.krippendorff_alpha(data, level_of_measurement="nominal"), 6)
    0.691358
    >>> round(workbench.krippendorff_alpha(data, level_of_measurement="interval"), 6)
    0.810845
    """
    if not isinstance(level_of_measurement, str):
        raise WorkbenchDataError("level_of_measurement must be one of 'nominal', 'ordinal', 'interval', 'ratio' (custom metrics are not supported)")
    level = check_level(level_of_measurement)
    if (reliability_data is None) == (value_counts is None):
        raise WorkbenchDataError("give exactly one of reliability_data (raters × units) or value_counts (units × values)")
    dev = resolve_device(device)
    if reliability_data is not None:
        kernel, totals = _alpha_from_matrix(as_matrix(reliability_data), level, value_domain, dev)
    else:
        kernel, totals = _alpha_from_counts(_counts(value_counts, "value_counts"), level, value_domain, dev)
    return finish(*kernel.compute(totals), "Krippendorff's alpha")


def _alpha_from_matrix(matrix: np.ndarray, level: str, value_domain, device):
    """(kernel, summed statistics) from a raters × units matrix."""
    if matrix.dtype == np.float64 and value_domain is None and not (level == "ratio" and (matrix < 0).any()):
        dense = _dense_numeric(matrix, level, device)
        if dense is not None:
            return dense
    present = ~pd.isna(matrix)
    unit = to_tensor(np.nonzero(present)[1], device=device)  # unit of each present value (rater-major order)
    values = matrix[present]
    if level in ("interval", "ratio"):
        values = as_numbers(values, level, "reliability_data")
        if level == "ratio" and (values < 0).any():
            raise WorkbenchDataError("ratio data must be non-negative; reliability_data has negative values")
    if level == "interval":
        if value_domain is not None:
            _domain_codes(values, value_domain, level, "reliability_data")  # only checks membership
        kernel = AlphaInterval()
        return kernel, kernel.total_stats(interval_moments(unit, to_tensor(values, device=device), matrix.shape[1]))
    codes, domain = _domain_codes(values, value_domain, level, "reliability_data")
    kernel = alpha_kernel(level, domain, device)
    return kernel, kernel.total_stats(*kernel.inputs(unit, to_tensor(codes, device=device), matrix.shape[1]))


def _alpha_from_counts(counts: np.ndarray, level: str, value_domain, device):
    """(kernel, summed statistics) from a units × values count matrix."""
    domain = np.arange(counts.shape[1]) if value_domain is None else np.asarray(value_domain)
    if len(domain) != counts.shape[1]:
        raise WorkbenchDataError(f"value_domain has {len(domain)} values but value_counts has {counts.shape[1]} columns")
    counts = to_tensor(counts, dtype=DTYPE, device=device)
    if level == "interval":
        kernel = AlphaInterval()
        values = to_tensor(as_numbers(domain, level, "value_domain"), dtype=DTYPE, device=device)
        return kernel, kernel.total_stats(moments_from_counts(counts, values))
    kernel = alpha_kernel(level, domain, device)
    return kernel, kernel.total_stats(counts)


#: Numeric matrices whose values lie on a unit grid of at most this many points are counted densely.
DENSE_MAX_VALUES = 16


def _dense_numeric(data: np.ndarray, level: str, device):
    """(kernel, summed statistics) straight from a numeric raters × units matrix, or None for the general path.

    Interval: per-unit moments are column reductions. Other levels, when the values lie on a unit
    grid of ≤ DENSE_MAX_VALUES points: one comparison per value gives the unit × value counts. No
    long-format copy is made; this coding step runs in NumPy (fastest on the host), the statistics
    go to ``device``.
    """
    present = ~np.isnan(data)
    n_present = np.count_nonzero(present)
    if n_present == 0:
        return None
    units = data.shape[1]
    if level == "interval":
        # accumulate rater by rater: cache-friendly, no raters × units temporaries
        centre = np.nansum(data) / n_present
        count, total = np.zeros(units), np.zeros(units)
        for row, seen in zip(data, present):
            count += seen
            total += np.where(seen, row - centre, 0.0)
        mean = total / np.maximum(count, 1)
        squares = np.zeros(units)
        for row, seen in zip(data, present):
            squares += np.where(seen, row - centre - mean, 0.0) ** 2
        kernel = AlphaInterval()
        moments = to_tensor(np.stack([count, total, squares], axis=1), device=device)
        return kernel, kernel.total_stats(moments)
    low, high = np.nanmin(data), np.nanmax(data)
    if high - low >= DENSE_MAX_VALUES:
        return None
    grid = low + np.arange(int(high - low) + 1)
    columns = []
    for value in grid:  # one compare per grid value, accumulated rater by rater (cache-friendly)
        column = np.zeros(units)  # float64 from the start: the kernel takes it without a copy
        for row in data:
            column += row == value
        columns.append(column)
    totals = np.array([column.sum() for column in columns])
    if totals.sum() != n_present:  # some values are off the unit grid: take the general path
        return None
    used = totals > 0
    counts = to_tensor(np.stack([c for c, u in zip(columns, used) if u], axis=1), dtype=DTYPE, device=device)
    kernel = alpha_kernel(level, grid[used], device)
    return kernel, kernel.total_stats(counts)


def _counts(data, what: str) -> np.ndarray:
    """A non-negative items × categories count matrix as float64 (a fresh, writable array)."""
    if np.ndim(data) != 2:
        raise WorkbenchDataError(f"{what} must be a 2-D items × categories matrix")
    array = None if isinstance(data, pd.DataFrame) else np.asarray(data)
    if array is not None and array.dtype.kind in "iuf":  # numbers already: no per-column conversion
        frame, values = None, array.astype(np.float64)
    else:
        frame = data if array is None else pd.DataFrame(array.astype(object))
        values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) | (values < 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        shown = show(array[row, col] if frame is None else frame.iat[row, col])
        raise WorkbenchDataError(f"{what} must hold non-negative counts; row {row}, column {col} has {shown}")
    return values if frame is None else values.copy()


def cohen_kappa(a, b, weights: str | None = None, labels=None) -> float:
    """Cohen's kappa between two raters' labels of the same items (unweighted, linear, quadratic or ordinal weights).

    Items where either label is missing are left out. Weighted kappa orders categories by
    ``labels`` (or sorted values). Undefined (NaN + warning) when both raters use one identical
    category (p_e = 1).

    >>> import workbench
    >>> a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    >>> b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    >>> round(workbench.cohen_kappa(a, b), 6)
    0.4
    """
    if weights not in COHEN_WEIGHTS:
        raise WorkbenchDataError(f"weights must be one of {COHEN_WEIGHTS}, got {weights!r}")
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a.ndim != 1 or b.ndim != 1 or len(a) != len(b):
        raise WorkbenchDataError(f"cohen_kappa needs two 1-D label sequences of the same length, got shapes {a.shape} and {b.shape}")
    keep = ~(pd.isna(a) | pd.isna(b))
    a, b = a[keep], b[keep]
    codes, domain = _domain_codes(np.concatenate([a, b]), labels, "nominal", "the labels")
    codes_t = to_tensor(np.stack([codes[: len(a)], codes[len(a):]], axis=1))
    kernel = CohenKappa(len(domain), weights)
    return finish(*kernel.compute(kernel.total_stats(codes_t)), "Cohen's kappa")


def fleiss_kappa(counts, weights: str | None = None, chance: str = "averaged") -> float:
    """Fleiss' kappa from an items × categories count matrix (each item's ratings per category).

    Items may have different numbers of ratings. Observed agreement averages the items with ≥ 2
    ratings. Chance agreement by default follows Gwet (2014) and irrCAC: category shares taken per
    item (r_ik / r_i) and averaged over the items with a rating; ``chance="pooled"`` takes shares of
    all ratings of pairable items together (Scott's pi generalised; the workbench's rule before).
    With equal numbers of ratings per item the two coincide (Fleiss 1971). ``weights``: None
    (identity), "linear", "quadratic" or "ordinal" agreement weights over the column order.

    >>> import workbench
    >>> round(workbench.fleiss_kappa([[3, 0], [0, 3], [2, 1]]), 4)
    0.55
    >>> round(workbench.fleiss_kappa([[3, 0], [0, 2], [2, 1]]), 4), round(workbench.fleiss_kappa([[3, 0], [0, 2], [2, 1]], chance="pooled"), 4)
    (0.55, 0.5259)
    """
    if chance not in FLEISS_CHANCE:
        raise WorkbenchDataError(f"chance must be 'averaged' or 'pooled', got {chance!r}")
    if weights not in COHEN_WEIGHTS:
        raise WorkbenchDataError(f"weights must be one of {COHEN_WEIGHTS}, got {weights!r}")
    values = _counts(counts, "counts")
    kernel = KappaFamily(values.shape[1], FLEISS_CHANCE[chance], weights)
    return finish(*kernel.compute(kernel.total_stats(to_tensor(values, dtype=DTYPE))), "Fleiss' kappa")


def percent_agreement(data) -> float:
    """Share of agreeing pairs of ratings within an item, averaged over items with ≥ 2 ratings.

    ``data`` is a :class:`~workbench.Ratings` or an items × categories count matrix.

    >>> import workbench
    >>> workbench.percent_agreement([[3, 0], [1, 1]])
    0.5
    """
    values = data.label_counts().to_numpy(dtype=np.float64) if isinstance(data, Ratings) else _counts(data, "counts")
    kernel = PercentAgreement()
    return finish(*kernel.compute(kernel.total_stats(to_tensor(values, dtype=DTYPE))), "percent agreement")

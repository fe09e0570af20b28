"""Checks at the edge of the data model: every rule raises WorkbenchDataError naming what is wrong.

Inner layers (kernels, analysis) trust data that passed through here.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import WorkbenchDataError, describe_rows, show

LEVELS = ("nominal", "ordinal", "interval", "ratio")
DUPLICATE_POLICIES = ("error", "first", "last")


def check_level(level: str) -> str:
    """Return ``level`` if it is a known level of measurement, else raise naming the choices."""
    if level not in LEVELS:
        hint = difflib.get_close_matches(str(level), LEVELS, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise WorkbenchDataError(
            f"unknown level of measurement {level!r}{suggestion}; choose one of {', '.join(LEVELS)}"
        )
    return level


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str = "table") -> None:
    """Raise if any of ``columns`` is missing from ``frame``, suggesting close spellings."""
    present = [str(c) for c in frame.columns]
    for column in columns:
        if column not in frame.columns:
            hint = difflib.get_close_matches(str(column), present, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            listing = ", ".join(repr(c) for c in present[:12]) + (" …" if len(present) > 12 else "")
            raise WorkbenchDataError(
                f"missing column {column!r} (columns present: {listing}){suggestion}"
                + ("" if what == "table" else f" in the {what}")
            )


def require_rows(frame: pd.DataFrame, *, what: str = "ratings table") -> None:
    if len(frame) == 0:
        raise WorkbenchDataError(f"the {what} is empty: no rows to work with")


def check_ids(values: pd.Series, column: str) -> pd.Series:
    """Identifiers must be present; they are returned as strings (the store keys on text)."""
    missing = values.isna()
    if missing.any():
        raise WorkbenchDataError(f"column {column!r} has missing identifiers at {describe_rows(values.index[missing])}")
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return values.astype(str)
    if pd.api.types.is_float_dtype(values) and (values % 1 == 0).all():
        values = values.astype("int64")
    return values.astype(str)


def _kinds(values: pd.Series) -> pd.Series:
    """'number' or 'text' (or another type name) for each value of an object column."""

    def kind(v) -> str:
        if isinstance(v, (bool, np.bool_)):
            return "bool"
        if isinstance(v, numbers.Number):
            return "number"
        if isinstance(v, str):
            return "text"
        return type(v).__name__

    return values.map(kind)


def check_labels(labels: pd.Series, level: str, categories: Sequence | None, column: str = "label") -> pd.Series:
    """Validate and normalise a label column for ``level``; return the cleaned labels.

    Nominal labels keep their values (one type per column); ordinal labels become an ordered
    Categorical (``categories`` in order, or the sorted values); interval/ratio labels become float64.
    """
    check_level(level)
    missing = labels.isna()
    if missing.any():
        raise WorkbenchDataError(
            f"column {column!r} has missing (NaN) labels at {describe_rows(labels.index[missing])}; "
            "drop those rows or give them a label"
        )
    if isinstance(labels.dtype, pd.CategoricalDtype):
        labels = labels.astype(labels.cat.categories.dtype)
    if labels.dtype == object:
        kinds = _kinds(labels)
        found = kinds.value_counts()
        if len(found) > 1:
            minority = found.index[-1]
            raise WorkbenchDataError(
                f"column {column!r} mixes label types ({', '.join(f'{k}: {n}' for k, n in found.items())}); "
                f"the {minority} labels are at {describe_rows(labels.index[kinds == minority])}"
            )
        if found.index[0] == "number":
            labels = pd.to_numeric(labels)
    if level in ("interval", "ratio"):
        if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
            bad = labels.index[pd.to_numeric(labels, errors="coerce").isna()]
            raise WorkbenchDataError(
                f"column {column!r} must hold numbers for the {level} level; "
                f"non-numeric labels such as {show(labels.loc[bad[0]])} at {describe_rows(bad)}"
            )
        values = labels.astype("float64")
        if not np.isfinite(values).all():
            raise WorkbenchDataError(
                f"column {column!r} has infinite labels at {describe_rows(values.index[~np.isfinite(values)])}"
            )
        if level == "ratio" and (values < 0).any():
            raise WorkbenchDataError(
                f"ratio labels must be non-negative; column {column!r} has negative values at "
                f"{describe_rows(values.index[values < 0])}"
            )
        return values
    if categories is not None:
        categories = list(categories)
        if len(set(categories)) != len(categories):
            raise WorkbenchDataError(f"categories {categories!r} contain repeats")
        outside = ~labels.isin(categories)
        if outside.any():
            odd = pd.unique(labels[outside])[:5]
            raise WorkbenchDataError(
                f"column {column!r} has labels outside the declared categories {categories!r}: "
                f"{', '.join(show(v) for v in odd)} at {describe_rows(labels.index[outside])}"
            )
    if level == "ordinal":
        order = categories if categories is not None else sorted(pd.unique(labels))
        return pd.Series(pd.Categorical(labels, categories=order, ordered=True), index=labels.index, name=labels.name)
    return labels


def resolve_duplicates(frame: pd.DataFrame, policy: str, keys: Sequence[str] = ("item_id", "rater_id")) -> tuple[pd.DataFrame, dict]:
    """Apply the duplicate (item, rater) policy; return the frame and a report of what was dropped."""
    if policy not in DUPLICATE_POLICIES:
        raise WorkbenchDataError(f"unknown duplicates policy {policy!r}; choose one of {', '.join(DUPLICATE_POLICIES)}")
    repeated = frame.duplicated(list(keys), keep=False)
    if not repeated.any():
        return frame, {"duplicates_dropped": 0}
    if policy == "error":
        first = frame.loc[repeated, list(keys)].iloc[0]
        raise WorkbenchDataError(
            f"{int(repeated.sum())} rows repeat an (item, rater) pair, e.g. item {show(first.iloc[0])} rated by "
            f"{show(first.iloc[1])}, at {describe_rows(frame.index[repeated])}; "
            "pass duplicates='first' or 'last' to keep one of each"
        )
    kept = frame[~frame.duplicated(list(keys), keep=policy)]
    pairs = int(frame.loc[repeated, list(keys)].drop_duplicates().shape[0])
    return kept, {"duplicates_dropped": len(frame) - len(kept), "repeated_pairs": pairs, "duplicates_policy": policy}


def as_matrix(data, what: str = "reliability_data") -> np.ndarray:
    """A rectangular raters × units matrix: float64 when numeric (fast path), else objects; NaN/None = missing."""
    if isinstance(data, pd.DataFrame):
        data = data.to_numpy()
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        try:
            array = np.asarray(data, dtype=object)
        except ValueError as err:
            raise WorkbenchDataError(f"{what} must be a rectangular raters × units matrix: {err}") from None
    if array.ndim != 2:
        raise WorkbenchDataError(
            f"{what} must be a rectangular 2-D matrix (raters × units), got {array.ndim}-D"
            + (" — rows of different lengths?" if array.ndim == 1 else "")
        )
    return array

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


#: ``pandas.api.types.infer_dtype`` results of object columns that hold one kind of value only.
_ONE_KIND = {"string": "text", "integer": "number", "floating": "number", "mixed-integer-float": "number",
             "decimal": "number", "boolean": "bool"}


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(integer codes in order of first appearance, -1 for missing; the distinct values as an Index).

    A Categorical whose codes already follow first appearance (as dictionary-read Parquet text
    does) keeps them: one vectorised check instead of hashing.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        if _in_first_appearance_order(codes):
            return codes, pd.Index(values.cat.categories[: int(codes.max(initial=-1)) + 1])
    codes, uniques = pd.factorize(values)
    uniques = pd.Index(uniques)
    if isinstance(uniques.dtype, pd.CategoricalDtype):
        uniques = uniques.astype(uniques.categories.dtype)
    return codes, uniques


def _in_first_appearance_order(codes: np.ndarray) -> bool:
    """True when the codes (missing: -1, skipped) start at 0 and each is at most one above all before it.

    >>> _in_first_appearance_order(np.array([0, 1, -1, 0, 2])), _in_first_appearance_order(np.array([1, 0]))
    (True, False)
    """
    present = codes[codes >= 0]
    if len(present) == 0:
        return True
    return bool(present[0] == 0 and (present[1:] <= np.maximum.accumulate(present)[:-1] + 1).all())


def _merge_equal(codes: np.ndarray, uniques: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Merge distinct values that became equal (e.g. after conversion to text); order of first appearance kept."""
    merged, distinct = pd.factorize(uniques)
    if len(distinct) == len(uniques):
        return codes, uniques
    return merged[codes], pd.Index(distinct, name=uniques.name)


def _one_kind(values: pd.Series) -> bool:
    """True when an object column holds one kind of value that hashing cannot confuse (1 == 1.0 == True)."""
    return values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) in _ONE_KIND


def code_ids(values: pd.Series, column: str) -> tuple[np.ndarray, pd.Index]:
    """Identifiers coded once: (int32 codes, the distinct ids as strings in order of first appearance).

    Identifiers must be present; they become strings (the store keys on text), whole floats without
    their ``.0``. Only the distinct values are converted, so the cost is one hashing pass.

    >>> codes, ids = code_ids(pd.Series([10, 20, 10]), "item")
    >>> codes.tolist(), list(ids)
    ([0, 1, 0], ['10', '20'])
    """
    if not _one_kind(values):  # mixed objects: convert every value first, as text decides identity
        values = values.astype(str).where(values.notna())
    codes, uniques = _factorize(values)
    missing = codes < 0
    if missing.any():
        raise WorkbenchDataError(f"column {column!r} has missing identifiers at {describe_rows(values.index[missing])}")
    if pd.api.types.is_float_dtype(uniques) and (uniques % 1 == 0).all():
        uniques = uniques.astype("int64")
    if not pd.api.types.is_string_dtype(uniques) or uniques.dtype == object:
        uniques = uniques.astype(str)
    codes, uniques = _merge_equal(codes, uniques)
    return codes.astype(np.int32), uniques


def _kinds(values) -> pd.Series:
    """'number' or 'text' (or another type name) for each value of an object column."""

    def kind(v) -> str:
        if isinstance(v, (bool, np.bool_)):
            return "bool"
        if isinstance(v, numbers.Number):
            return "number"
        if isinstance(v, str):
            return "text"
        return type(v).__name__

    return pd.Series(values).map(kind)


def _check_one_kind(labels: pd.Series, column: str) -> str | None:
    """The one kind of value of an object column ('number', 'text', …); raise naming rows when kinds mix."""
    if labels.dtype != object:
        return None
    found = _ONE_KIND.get(pd.api.types.infer_dtype(labels, skipna=True))
    if found is not None:
        return found
    kinds = _kinds(labels)  # a slow pass, only for columns that mix kinds or hold odd objects
    counts = kinds.value_counts()
    if len(counts) > 1:
        minority = counts.index[-1]
        raise WorkbenchDataError(
            f"column {column!r} mixes label types ({', '.join(f'{k}: {n}' for k, n in counts.items())}); "
            f"the {minority} labels are at {describe_rows(labels.index[(kinds == minority).to_numpy()])}"
        )
    return counts.index[0]


def code_labels(
    labels: pd.Series, level: str, categories: Sequence | None, column: str = "label"
) -> tuple[np.ndarray, tuple | None, pd.Index | None]:
    """Validate a label column for ``level`` and code it once: ``(values, categories, shown)``.

    Nominal/ordinal labels become int32 codes into ``categories`` (nominal: the declared ones or
    the sorted distinct values; ordinal: the declared order or the sorted values); ``shown`` holds
    the categories as the labels' own type, for display. Interval/ratio labels become float64
    numbers (``categories`` and ``shown`` are None). Only the distinct labels are inspected.

    >>> values, cats, shown = code_labels(pd.Series(["b", "a", "b"]), "nominal", None)
    >>> values.tolist(), cats
    ([1, 0, 1], ('a', 'b'))
    """
    check_level(level)
    kind = _check_one_kind(labels, column)
    numeric_level = level in ("interval", "ratio")
    if numeric_level and pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels):
        codes, uniques = None, None
        missing = labels.isna().to_numpy()
    else:
        codes, uniques = _factorize(labels)
        missing = codes < 0
    if missing.any():
        raise WorkbenchDataError(
            f"column {column!r} has missing (NaN) labels at {describe_rows(labels.index[missing])}; "
            "drop those rows or give them a label"
        )
    if kind == "number":
        uniques = pd.Index(pd.to_numeric(uniques))

    def rows_of(unique_mask: np.ndarray) -> pd.Index:
        return labels.index[unique_mask[codes]]

    if numeric_level:
        if codes is not None:  # labels that are not numbers (or are booleans)
            if not pd.api.types.is_numeric_dtype(uniques) or pd.api.types.is_bool_dtype(uniques):
                bad = rows_of(pd.isna(pd.to_numeric(uniques, errors="coerce")))
                raise WorkbenchDataError(
                    f"column {column!r} must hold numbers for the {level} level; "
                    f"non-numeric labels such as {show(labels.loc[bad[0]])} at {describe_rows(bad)}"
                )
            values = uniques.to_numpy(dtype=np.float64)[codes]
        else:
            values = labels.to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.all():
            raise WorkbenchDataError(f"column {column!r} has infinite labels at {describe_rows(labels.index[~finite])}")
        negative = values < 0
        if level == "ratio" and negative.any():
            raise WorkbenchDataError(
                f"ratio labels must be non-negative; column {column!r} has negative values at "
                f"{describe_rows(labels.index[negative])}"
            )
        return values, None, None
    if categories is not None:
        categories = list(categories)
        if len(set(categories)) != len(categories):
            raise WorkbenchDataError(f"categories {categories!r} contain repeats")
        outside = ~uniques.isin(categories)
        if outside.any():
            odd = uniques[outside][:5]
            raise WorkbenchDataError(
                f"column {column!r} has labels outside the declared categories {categories!r}: "
                f"{', '.join(show(v) for v in odd)} at {describe_rows(rows_of(outside))}"
            )
        order = categories
    else:
        order = sorted(uniques.to_numpy())
    shown = _shown(order, uniques)
    position = shown.get_indexer(uniques)
    return position.astype(np.int32)[codes], tuple(shown), shown


def _shown(order: list, uniques: pd.Index) -> pd.Index:
    """The categories as an Index of the labels' own dtype when that holds them exactly."""
    shown = pd.Index(order)
    if shown.dtype != uniques.dtype:
        try:
            cast = shown.astype(uniques.dtype)
        except (TypeError, ValueError):
            return shown
        if (cast == shown).all() and cast.is_unique:
            return cast
    return shown


def find_duplicates(item: np.ndarray, rater: np.ndarray, n_raters: int, policy: str, rows: pd.Index, describe) -> tuple[np.ndarray | None, dict]:
    """Repeated (item, rater) pairs found on the integer key ``item·n_raters + rater`` (one stable sort).

    Returns the rows to keep (None when nothing repeats) and a report of what was dropped.
    ``describe(position)`` names the pair of a row for the error message.

    >>> keep, report = find_duplicates(np.array([0, 0, 1, 0]), np.array([0, 1, 0, 1]), 2, "last", pd.RangeIndex(4), None)
    >>> keep.tolist(), report["duplicates_dropped"]
    ([True, False, True, True], 1)
    """
    if policy not in DUPLICATE_POLICIES:
        raise WorkbenchDataError(f"unknown duplicates policy {policy!r}; choose one of {', '.join(DUPLICATE_POLICIES)}")
    key = item.astype(np.int64) * n_raters + rater
    order = np.argsort(key, kind="stable")  # equal keys stay in row order
    ordered = key[order]
    same = ordered[1:] == ordered[:-1]  # row order[k + 1] repeats row order[k]
    if not same.any():
        return None, {"duplicates_dropped": 0}
    in_run = np.zeros(len(key), dtype=bool)
    in_run[1:] |= same
    in_run[:-1] |= same
    repeated = np.zeros(len(key), dtype=bool)
    repeated[order] = in_run
    if policy == "error":
        first_item, first_rater = describe(int(np.flatnonzero(repeated)[0]))
        raise WorkbenchDataError(
            f"{int(repeated.sum())} rows repeat an (item, rater) pair, e.g. item {show(first_item)} rated by "
            f"{show(first_rater)}, at {describe_rows(rows[repeated])}; "
            "pass duplicates='first' or 'last' to keep one of each"
        )
    keep = np.ones(len(key), dtype=bool)
    keep[order[1:][same] if policy == "first" else order[:-1][same]] = False
    pairs = int(np.count_nonzero(same[1:] & ~same[:-1]) + same[0])
    dropped = len(key) - int(keep.sum())
    return keep, {"duplicates_dropped": dropped, "repeated_pairs": pairs, "duplicates_policy": policy}


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

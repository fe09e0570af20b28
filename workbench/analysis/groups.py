"""Rater groups to compare: which rater attributes can group raters, and quantile bins for numeric ones.

A *group* is a property of the rater (age, gender, country), so only the rater table's columns
qualify. Per-rating columns (ConvAbuse's ``type.ableism``, ``target.system`` …) describe a rating,
not who gave it; item columns and tags describe items — they slice the data (the Explorer's item
filter) rather than group raters. A numeric attribute with many values (MultiPICo's ``age``) is cut
into quantile bins labelled by the values they hold (``"18–24"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.ratings import Ratings
from ..errors import WorkbenchDataError

#: A numeric attribute with more distinct values than this is binned.
MAX_UNBINNED = 8
#: A categorical attribute with more distinct values than this is not offered (too many groups to compare).
MAX_GROUPS = 60
#: Default number of quantile bins.
DEFAULT_BINS = 4


def group_attributes(ratings: Ratings, *, max_unbinned: int = MAX_UNBINNED, max_groups: int = MAX_GROUPS) -> pd.DataFrame:
    """The rater attributes raters can be grouped by, one row each: ``n_values``, ``binned``, ``n_raters``.

    Only rater-table columns qualify, with at least two values among the raters; a numeric
    column with more than ``max_unbinned`` values is ``binned`` (see :func:`quantile_bins`); any
    other column with more than ``max_groups`` values, or one value per rater (an id), is left out.

    >>> import workbench
    >>> r = workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=12).ratings
    >>> group_attributes(r)[["n_values", "binned"]]  # doctest: +NORMALIZE_WHITESPACE
                     n_values  binned
    attribute
    age_band                3   False
    region                  3   False
    attention_check         2   False
    """
    rows = []
    if ratings.has_raters:
        raters = ratings.raters
        for column in raters.columns:
            values = raters[column].dropna()
            n_values = _distinct(values)
            if n_values < 2:
                continue
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
            binned = numeric and n_values > max_unbinned
            if not binned and (n_values > max_groups or (n_values == len(values) and n_values > max_unbinned)):
                continue
            rows.append({"attribute": column, "n_values": n_values, "binned": bool(binned), "n_raters": int(len(values))})
    return pd.DataFrame(rows, columns=["attribute", "n_values", "binned", "n_raters"]).set_index("attribute")


def quantile_bins(values: pd.Series, n_bins: int = DEFAULT_BINS) -> pd.Series:
    """Cut numeric ``values`` into (at most) ``n_bins`` quantile bins, labelled ``"lowest–highest"`` value held.

    Ties never split across bins, so fewer bins come back when values repeat; missing values stay missing.
    The result is an ordered categorical with the same index.

    >>> ages = pd.Series([18, 19, 22, 24, 25, 30, 31, 40, 55, 61, None], index=list("abcdefghijk"))
    >>> bins = quantile_bins(ages, 3)
    >>> list(bins.cat.categories)
    ['18–24', '25–31', '40–61']
    >>> bins["e"], bool(bins.isna()["k"])
    ('25–31', True)
    >>> list(quantile_bins(pd.Series([0.25, 0.5, 0.75, 1.0]), 2).cat.categories)
    ['0.25–0.5', '0.75–1']
    """
    if not isinstance(n_bins, (int, np.integer)) or isinstance(n_bins, bool) or n_bins < 2:
        raise WorkbenchDataError(f"the number of bins must be a whole number of at least 2, got {n_bins!r}")
    numeric = pd.to_numeric(values, errors="coerce")
    present = numeric.dropna()
    if present.nunique() < 2:
        raise WorkbenchDataError("binning needs at least two different numeric values")
    codes = pd.qcut(present.astype(float), q=min(int(n_bins), present.nunique()), labels=False, duplicates="drop")
    span = present.groupby(codes).agg(["min", "max"])
    names = {code: _span_label(low, high) for code, (low, high) in span.iterrows()}
    labels = [names[code] for code in sorted(names)]
    binned = pd.Series(pd.Categorical(codes.map(names), categories=labels, ordered=True), index=present.index)
    return binned.reindex(values.index).astype(binned.dtype)


def grouping(ratings: Ratings, attribute: str, n_bins: int = DEFAULT_BINS) -> tuple[Ratings, str]:
    """``ratings`` ready to be grouped by ``attribute``: ``(ratings, column)`` where ``column`` names the groups.

    A binned attribute gains a rater column ``"<attribute> (<n> bins)"`` holding its bins; any other
    attribute is returned as it is.

    >>> import workbench
    >>> r = workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=12).ratings
    >>> r = r.with_columns(raters=pd.DataFrame({"years": range(20, 32)}, index=r.raters.index))
    >>> grouped, column = grouping(r, "years", 3)
    >>> column, list(grouped.raters[column].cat.categories)
    ('years (3 bins)', ['20–23', '24–27', '28–31'])
    >>> grouping(r, "age_band")[1]
    'age_band'
    """
    table = group_attributes(ratings)
    if attribute not in table.index:
        raise WorkbenchDataError(f"{attribute!r} is not a rater attribute to group by; choose one of: {', '.join(map(str, table.index)) or 'none'}")
    if not table.loc[attribute, "binned"]:
        return ratings, attribute
    bins = quantile_bins(ratings.raters[attribute], n_bins)
    column = f"{attribute} ({len(bins.cat.categories)} bins)"
    if column in ratings.raters.columns:
        return ratings, column
    return ratings.with_columns(raters=pd.DataFrame({column: bins}, index=ratings.raters.index)), column


def _span_label(low: float, high: float) -> str:
    text = lambda x: f"{x:g}"  # noqa: E731  (18.0 → "18", 0.25 → "0.25")
    return text(low) if low == high else f"{text(low)}–{text(high)}"


def _distinct(column: pd.Series) -> int:
    """Distinct values of a column (0 for columns of lists or dicts, which cannot slice anything)."""
    try:
        return int(column.nunique(dropna=True))
    except TypeError:
        return 0


def columns_with_few_values(table: pd.DataFrame, max_values: int) -> list[str]:
    """The columns of ``table`` with 2 to ``max_values`` distinct values (columns of lists or dicts never qualify)."""
    return [c for c in table.columns if 2 <= _distinct(table[c]) <= max_values]


def slice_columns(ratings: Ratings, *, max_values: int = 12) -> list[str]:
    """Columns whose values make readable slices (2 to ``max_values`` values): rater attributes first, then item columns.

    >>> import workbench
    >>> slice_columns(workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=12).ratings)
    ['age_band', 'region', 'attention_check', 'model_a', 'model_b', 'split', 'topic']
    """
    tables = ([ratings.raters] if ratings.has_raters else []) + [ratings.items]
    return list(dict.fromkeys(c for table in tables for c in columns_with_few_values(table, max_values)))


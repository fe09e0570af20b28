"""Descriptive summaries of a data set (the Overview page and ``workbench info``)."""

from __future__ import annotations

import pandas as pd

from ..data.ratings import Ratings


def rater_attribute_summary(ratings: Ratings, top: int = 8) -> pd.DataFrame:
    """One row per (rater attribute, value): how many raters have it; numbers summarised by quartiles."""
    if not ratings.has_raters or ratings.raters.shape[1] == 0:
        return pd.DataFrame(columns=["attribute", "value", "raters"])
    rows = []
    for column in ratings.raters.columns:
        values = ratings.raters[column]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > top:
            q = values.quantile([0, 0.25, 0.5, 0.75, 1]).round(1).tolist()
            rows.append((column, f"min {q[0]} · q1 {q[1]} · median {q[2]} · q3 {q[3]} · max {q[4]}", int(values.notna().sum())))
        else:
            counts = values.astype(object).where(values.notna(), "(missing)").value_counts()
            rows.extend((column, str(value), int(n)) for value, n in counts.head(top).items())
            if len(counts) > top:
                rows.append((column, f"… {len(counts) - top} more values", int(counts.iloc[top:].sum())))
    return pd.DataFrame(rows, columns=["attribute", "value", "raters"])

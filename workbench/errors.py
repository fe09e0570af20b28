"""The one exception the workbench raises for bad input."""

from __future__ import annotations


class WorkbenchDataError(ValueError):
    """Input data the workbench cannot use; the message names the column, value or rows.

    Examples
    --------
    >>> import pandas as pd, workbench
    >>> try:
    ...     workbench.read_ratings(pd.DataFrame({"item": [1], "who": ["a"]}), item="item", rater="who", label="label")
    ... except workbench.WorkbenchDataError as err:
    ...     print(str(err).splitlines()[0])
    missing column 'label' (columns present: 'item', 'who')
    """


def show(value) -> str:
    """``repr`` of a value as a user wrote it: numpy scalars print as plain Python numbers."""
    return repr(value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value)


def describe_rows(index, limit: int = 5) -> str:
    """Format a few row labels for an error message: ``rows 3, 7, 9 (+12 more)``."""
    rows = list(index)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    return f"row{'s' if len(rows) != 1 else ''} {shown}{more}"


class UndefinedMetricWarning(UserWarning):
    """A statistic is undefined for this input (the value returned is NaN); the message gives the reason."""

"""Slices of a distributed data set (``by=``): names found once, then a code per rating on each worker."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import WorkbenchDataError
from .source import DistributedRatings, run


@dataclass
class Slices:
    """The slices of ``column`` (sorted as in memory; ``"(missing)"`` last) and how to code a partition's ratings."""

    column: str | None
    names: list
    known: list = field(default_factory=list)  # the values behind the names, without "(missing)"
    as_text: bool = False  # the column mixes types: values compare as text

    def codes(self, part: pd.DataFrame) -> np.ndarray:
        """Slice code of each rating of a partition (missing values: the "(missing)" slice)."""
        if self.column is None:
            return np.zeros(len(part), dtype=np.int64)
        values = part[self.column]
        if self.as_text:
            values = values.astype(str).where(values.notna())
        code = pd.Index(self.known).get_indexer(values)
        return np.where(code < 0, len(self.known), code).astype(np.int64)


def slices_of(dist: DistributedRatings, by: str | None) -> Slices:
    """The slices of an item, rater or per-rating column (distinct values by one distributed pass, or from the rater table)."""
    if by is None:
        return Slices(None, ["all"])
    if by in dist.rater_columns:
        source = dist.raters[by]
    elif by in dist.item_columns or by in dist.rating_columns and by not in ("item_id", "rater_id", "value"):
        (source,) = run(dist.client, dist.frame[by].drop_duplicates(), progress=dist.progress)
    else:
        options = dist.item_columns + dist.rater_columns
        raise WorkbenchDataError(f"by={by!r} is not an item or rater column; choose one of {', '.join(map(repr, options)) or 'none (no columns)'}")
    source = pd.Series(np.asarray(source, dtype=object) if not isinstance(source, pd.Series) else source)
    as_text = False
    try:
        codes, names = pd.factorize(source, sort=True)
    except TypeError:  # mixed types: order as text, as in memory
        source, as_text = source.astype(str).where(source.notna()), True
        codes, names = pd.factorize(source, sort=True)
    known = list(names)
    names = [n.item() if hasattr(n, "item") else n for n in known]
    if (codes < 0).any():
        names.append("(missing)")
    return Slices(by, names, known, as_text)

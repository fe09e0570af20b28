"""Open a data set by path and format name: the one entry point the CLI and the app share."""

from __future__ import annotations

import inspect
from pathlib import Path

from ..errors import WorkbenchDataError
from .datasets import READERS
from .io import FORMATS, _with_rater_attributes, read_ratings
from .ratings import Ratings
from .recognise import recognise

TABLE_FORMATS = tuple(sorted(set(FORMATS.values())))
FORMAT_NAMES = TABLE_FORMATS + tuple(READERS)


def open_ratings(path=None, format: str | None = None, *, raters=None, **options) -> Ratings:
    """Ratings from ``path`` read as ``format`` (a table format or a data-set name); the demo study without a path.

    Table formats (csv, tsv, parquet, jsonl) take ``item=`` (one column or a list: a composite key),
    ``rater=``, ``label=``, ``level=``; data-set formats (convabuse, multipico, chaosnli, hh, squality, …)
    take their reader's options. Without ``format`` a public data set is recognised by its content
    (:func:`workbench.data.recognise.recognise`; pass ``format="csv"`` etc. to map such a file by hand);
    ``ratings.meta["reader"]`` says which reader was used. ``raters``: a rater-attributes file joined by rater id (an annotator
    file for the LeWiDi readers).

    >>> open_ratings().meta["dataset"]
    'demo study (simulated)'
    """
    if path is None:
        if format not in (None, "demo"):
            raise WorkbenchDataError(f"format {format!r} needs a data path (--data)")
        from .simulate import simulate_study

        return simulate_study(seed=int(options.get("seed", 0))).ratings
    table_options = {k: v for k, v in options.items() if v is not None}
    if format is None:
        found = recognise(path)
        if found is not None and found.reader in READERS:
            ratings = open_ratings(path, found.reader, raters=raters, **options)
            ratings.meta["reader"] = found.what
            return ratings
    if format is None or format in TABLE_FORMATS:
        return read_ratings(Path(path), raters=raters, **table_options)
    reader = READERS.get(format)
    if reader is None:
        raise WorkbenchDataError(f"unknown format {format!r}; choose one of {', '.join(FORMAT_NAMES)}")
    given = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(reader).parameters
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise WorkbenchDataError(f"the {format} reader takes no {', '.join(unknown)} option (it takes: "
                                 f"{', '.join(p for p in accepted if p != 'path') or 'none'})")
    if raters is not None and "annotators_meta" in accepted:
        return reader(path, annotators_meta=raters, **given)
    ratings = reader(path, **given)
    return ratings if raters is None else _with_rater_attributes(ratings, raters)

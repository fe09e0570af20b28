"""Open a data set by path and format name: the one entry point the CLI and the app share."""

from __future__ import annotations

import inspect
from pathlib import Path

from ..errors import WorkbenchDataError
from .datasets import READERS
from .io import FORMATS, read_ratings
from .lewidi import is_lewidi
from .ratings import Ratings

TABLE_FORMATS = tuple(sorted(set(FORMATS.values())))
FORMAT_NAMES = TABLE_FORMATS + tuple(READERS)


def open_ratings(path=None, format: str | None = None, **options) -> Ratings:
    """Ratings from ``path`` read as ``format`` (a table format or a data-set name); the demo study without a path.

    Table formats (csv, tsv, parquet, jsonl) take ``item=``, ``rater=``, ``label=``, ``level=``;
    data-set formats (convabuse, lewidi, multipico, chaosnli, hh, squality) take their reader's options. A LeWiDi
    ``.json[.gz]`` file is recognised without a format.

    >>> open_ratings().meta["dataset"]
    'demo study (simulated)'
    """
    if path is None:
        if format not in (None, "demo"):
            raise WorkbenchDataError(f"format {format!r} needs a data path (--data)")
        from .simulate import simulate_study

        return simulate_study(seed=int(options.get("seed", 0))).ratings
    if format is None and is_lewidi(path):  # recognised by content: a LeWiDi shared-task file
        format = "lewidi"
    if format is None or format in TABLE_FORMATS:
        options = {k: v for k, v in options.items() if v is not None}
        return read_ratings(Path(path), **options)
    reader = READERS.get(format)
    if reader is None:
        raise WorkbenchDataError(f"unknown format {format!r}; choose one of {', '.join(FORMAT_NAMES)}")
    given = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(reader).parameters
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise WorkbenchDataError(f"the {format} reader takes no {', '.join(unknown)} option (it takes: "
                                 f"{', '.join(p for p in accepted if p != 'path') or 'none'})")
    return reader(path, **given)

"""Reading ratings from files or frames, with errors that say what is wrong with the file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from collections.abc import Sequence

import pandas as pd

from ..errors import WorkbenchDataError
from .ratings import Ratings

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def file_format(path: Path) -> str:
    """The table format a file name announces (``.gz`` allowed for text formats)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise WorkbenchDataError(
            f"cannot tell the format of {path.name!r} from its extension; use one of {', '.join(sorted(FORMATS))} "
            "(optionally .gz for text formats)"
        )
    return fmt


def _open_bytes(path: Path, n: int = 4096) -> bytes:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            return handle.read(n)
    except gzip.BadGzipFile:
        raise WorkbenchDataError(f"{path.name!r} ends in .gz but is not gzip-compressed") from None


def read_table(path) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet/JSONL file into a DataFrame, checking that it is what its name says."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchDataError(f"no such file: {str(path)!r}")
    fmt = file_format(path)
    head = _open_bytes(path)
    if fmt == "parquet":
        if head[:4] != b"PAR1":
            raise WorkbenchDataError(f"{path.name!r} is named .parquet but is not a Parquet file (no PAR1 header)")
        return pd.read_parquet(path)
    if head[:4] == b"PAR1" or b"\x00" in head:
        raise WorkbenchDataError(f"{path.name!r} is named .{fmt} but holds binary data (is it Parquet?)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # a cut multi-byte character at the end is fine
            raise WorkbenchDataError(f"{path.name!r} is not UTF-8 text (byte {err.start})") from None
    if fmt == "jsonl":
        rows = []
        opener = gzip.open if path.suffix.lower() == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise WorkbenchDataError(f"{path.name!r} line {number} is not valid JSON: {err.msg}") from None
        return pd.DataFrame(rows)
    try:
        return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise WorkbenchDataError(f"{path.name!r} could not be parsed as {fmt.upper()}: {err}") from None


def read_ratings(
    source,
    *,
    item: str = "item_id",
    rater: str = "rater_id",
    label: str = "label",
    level: str = "nominal",
    categories: Sequence | None = None,
    duplicates: str = "error",
    **options,
) -> Ratings:
    """Read annotator-level ratings from a file (CSV/TSV/Parquet/JSONL, optionally .gz) or a DataFrame.

    Parameters
    ----------
    source : path or DataFrame
        A long table with one row per (item, rater) rating.
    item, rater, label : str
        Names of the item, rater and label columns.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement of the label.
    categories : sequence, optional
        Allowed labels; for ordinal data, their order (lowest first).
    duplicates : {"error", "first", "last"}
        What to do with repeated (item, rater) rows.
    **options
        Passed to :meth:`Ratings.from_frame` (``items=``, ``raters=``, ``item_columns=``, …).

    Examples
    --------
    >>> import pandas as pd, workbench
    >>> frame = pd.DataFrame({"q": ["a", "a", "b"], "w": [1, 2, 1], "score": [3, 4, 4]})
    >>> workbench.read_ratings(frame, item="q", rater="w", label="score", level="ordinal", categories=[1, 2, 3, 4, 5])
    Ratings(2 items, 2 raters, 3 ratings, ordinal, categories=(1, 2, 3, 4, 5))
    """
    if isinstance(source, pd.DataFrame):
        frame, meta = source, {"source": "DataFrame"}
    elif isinstance(source, (str, Path)):
        frame, meta = read_table(source), {"source": str(source)}
    else:
        raise WorkbenchDataError(f"read_ratings takes a file path or a DataFrame, got {type(source).__name__}")
    return Ratings.from_frame(
        frame, item=item, rater=rater, label=label, level=level, categories=categories, duplicates=duplicates,
        meta=meta, **options,
    )

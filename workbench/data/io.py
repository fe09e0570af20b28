"""Reading ratings from files or frames, with errors that say what is wrong with the file."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import WorkbenchDataError
from .ratings import Codes, Ratings
from .recognise import composite_key, rater_attributes
from .validate import require_columns

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


def read_table(path, columns: Sequence[str] | None = None, text_as_categories: bool = False) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet/JSONL file into a DataFrame, checking that it is what its name says.

    ``columns``: read only these columns (each must be in the file). ``text_as_categories``: Parquet
    text columns come back as Categoricals read from the file's dictionaries (no string per row).
    """
    path = Path(path)
    if not path.is_file():
        raise WorkbenchDataError(f"no such file: {str(path)!r}")
    fmt = file_format(path)
    head = _open_bytes(path)
    if fmt == "parquet":
        if head[:4] != b"PAR1":
            raise WorkbenchDataError(f"{path.name!r} is named .parquet but is not a Parquet file (no PAR1 header)")
        if columns is not None:
            _require_names(path, pq.read_schema(path).names, columns)
        return _read_parquet(path, columns, text_as_categories)
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
        frame = pd.DataFrame(rows)
        if columns is not None:
            _require_names(path, frame.columns, columns)
            frame = frame[list(columns)]
        return frame
    sep = "\t" if fmt == "tsv" else ","
    try:
        if columns is not None:
            _require_names(path, pd.read_csv(path, sep=sep, nrows=0).columns, columns)
        return pd.read_csv(path, sep=sep, usecols=columns)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise WorkbenchDataError(f"{path.name!r} could not be parsed as {fmt.upper()}: {err}") from None


#: ``DataFrame.attrs`` key naming the text columns ``read_table(..., text_as_categories=True)`` turned into Categoricals.
TEXT_AS_CATEGORIES = "workbench_text_as_categories"


def _read_parquet(path: Path, columns: Sequence[str] | None, text_as_categories: bool) -> pd.DataFrame:
    if not text_as_categories:
        return pq.read_table(path, columns=columns).to_pandas()
    schema = pq.read_schema(path)
    index_columns = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
    names = list(columns) if columns is not None else [n for n in schema.names if n not in index_columns]
    text = [n for n in names if pa.types.is_string(schema.field(n).type) or pa.types.is_large_string(schema.field(n).type)]
    table = pq.read_table(path, columns=None if columns is None else list(columns), read_dictionary=text)
    rest = table.drop_columns(text)
    frame = rest.to_pandas() if rest.num_columns else pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    for name in text:
        frame[name] = _categorical(table.column(name))
    frame = frame[names]
    frame.attrs[TEXT_AS_CATEGORIES] = text
    return frame


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """One Categorical from a dictionary-read column whose row groups each carry their own dictionary.

    The chunk dictionaries are encoded together once (distinct values only), then each chunk's
    indices are mapped into that shared dictionary; missing values get code -1.
    """
    chunks = column.chunks
    if not chunks:
        return pd.Categorical([])
    stacked = pa.chunked_array([chunk.dictionary for chunk in chunks], type=column.type.value_type).dictionary_encode()
    shared = np.concatenate([chunk.indices.to_numpy() for chunk in stacked.chunks])
    offsets = np.cumsum([0] + [len(chunk.dictionary) for chunk in chunks])
    codes = np.empty(len(column), dtype=np.int32)
    start = 0
    for offset, chunk in zip(offsets, chunks):
        if chunk.null_count:
            local = pc.fill_null(chunk.indices, -1).to_numpy()
            codes[start : start + len(chunk)] = np.where(local < 0, -1, shared[offset + local])
        else:
            np.take(shared, chunk.indices.to_numpy() + offset, out=codes[start : start + len(chunk)])
        start += len(chunk)
    dictionary = stacked.chunk(0).dictionary if stacked.num_chunks else pa.array([], type=column.type.value_type)
    return pd.Categorical.from_codes(codes, categories=pd.Index(dictionary.to_pandas()))


def _require_names(path: Path, present, columns: Sequence[str]) -> None:
    require_columns(pd.DataFrame(columns=list(present)), columns, what=f"file {path.name!r}")


def read_ratings(
    source,
    *,
    item: str | Sequence[str] = "item_id",
    rater: str = "rater_id",
    label: str = "label",
    level: str | None = None,
    categories: Sequence | None = None,
    duplicates: str = "error",
    columns: Sequence[str] | None = None,
    engine: str = "pandas",
    raters=None,
    **options,
) -> Ratings:
    """Read annotator-level ratings from a file (CSV/TSV/Parquet/JSONL, optionally .gz) or a DataFrame.

    Parameters
    ----------
    source : path or DataFrame
        A long table with one row per (item, rater) rating.
    item : str or list of str
        The item id column, or several columns that together identify an item (a composite key, e.g.
        ConvAbuse's ``["conv_id", "prev_agent", "prev_user", "agent", "user"]``): items are then numbered
        ``"0"``, ``"1"``, … in order of first appearance and the key columns become item columns.
    rater, label : str
        Names of the rater and label columns.
    level : {"nominal", "ordinal", "interval", "ratio"}, optional
        Level of measurement of the label (default nominal; a file written by
        :meth:`Ratings.to_parquet` keeps its own).
    categories : sequence, optional
        Allowed labels; for ordinal data, their order (lowest first).
    duplicates : {"error", "first", "last"}
        What to do with repeated (item, rater) rows.
    columns : sequence of str, optional
        Extra columns to read besides the item, rater and label columns (default: all); Parquet
        files then read only those columns.
    raters : path or DataFrame, optional
        Rater attributes (CSV/TSV/JSON/JSONL/Parquet or a DataFrame) with one row per rater, keyed by
        the rater id (its index or a column; see :func:`workbench.data.recognise.rater_attributes`).
    engine : {"pandas", "dask"}
        "dask" keeps the ratings on a Dask cluster (paths, globs, directories of Parquet files or a
        Dask DataFrame; ``client=`` or the active ``distributed.Client``) and returns a
        :class:`~workbench.distributed.DistributedRatings`; see :func:`workbench.distributed.read_ratings`.
    **options
        Passed to :meth:`Ratings.from_frame` (``items=``, ``raters=``, ``item_columns=``, …).

    Examples
    --------
    >>> import pandas as pd, workbench
    >>> frame = pd.DataFrame({"q": ["a", "a", "b"], "w": [1, 2, 1], "score": [3, 4, 4]})
    >>> workbench.read_ratings(frame, item="q", rater="w", label="score", level="ordinal", categories=[1, 2, 3, 4, 5])
    Ratings(2 items, 2 raters, 3 ratings, ordinal, categories=(1, 2, 3, 4, 5))
    >>> frame = pd.DataFrame({"conv": [1, 1, 1, 1], "turn": [1, 1, 2, 2], "w": [1, 2, 1, 2], "y": [0, 0, 1, 0]})
    >>> workbench.read_ratings(frame, item=["conv", "turn"], rater="w", label="y").items
             conv  turn
    item_id
    0           1     1
    1           1     2
    """
    composite = not isinstance(item, str) and isinstance(item, Sequence)
    if composite and len(item) == 1:
        item, composite = item[0], False
    if engine == "dask":
        if composite or raters is not None:
            raise WorkbenchDataError("the dask engine takes one item column and no rater-attributes file; "
                                     "join them into the Parquet files first")
        from ..distributed.source import read_ratings as read_distributed

        return read_distributed(source, item=item, rater=rater, label=label, level=level, categories=categories,
                                duplicates=duplicates, columns=columns, **options)
    if engine != "pandas":
        raise WorkbenchDataError(f"engine must be 'pandas' or 'dask', got {engine!r}")
    keys = list(item) if composite else [item]
    if isinstance(source, pd.DataFrame):
        frame, meta = source, {"source": "DataFrame"}
        if columns is not None:
            require_columns(frame, columns)
            frame = frame[[c for c in frame.columns if c in {*keys, rater, label, *columns}]]
    elif isinstance(source, (str, Path)):
        saved = _saved_file(Path(source), level, categories, options)
        if saved is not None:
            ratings = read_saved(Path(source), saved, columns)
            return ratings if raters is None else _with_rater_attributes(ratings, raters)
        needed = None if columns is None else list(dict.fromkeys([*keys, rater, label, *columns]))
        frame, meta = read_table(source, columns=needed, text_as_categories=True), {"source": str(source)}
    else:
        raise WorkbenchDataError(f"read_ratings takes a file path or a DataFrame, got {type(source).__name__}")
    text = frame.attrs.pop(TEXT_AS_CATEGORIES, [])
    if composite:
        frame, item = composite_key(frame, keys), "item_id"
        meta["item_key"] = keys
    ratings = Ratings.from_frame(
        frame, item=item, rater=rater, label=label, level=level or "nominal", categories=categories,
        duplicates=duplicates, meta=meta, **options,
    )
    for table in (ratings.items, ratings.raters, ratings.rating_columns):  # text read as categories is text again
        for name in set(text) & set(table.columns):
            table[name] = table[name].astype(table[name].cat.categories.dtype)
    return ratings if raters is None else _with_rater_attributes(ratings, raters)


def _with_rater_attributes(ratings: Ratings, source) -> Ratings:
    """``ratings`` with the attributes in ``source`` joined as rater columns; the report lands in ``meta``."""
    table, report = rater_attributes(source, ratings.raters.index)
    clash = [c for c in table.columns if c in ratings.raters.columns]
    if clash:
        table = table.drop(columns=clash)
        report += f" ({', '.join(clash)} already in the ratings, kept from there)"
    joined = ratings.with_columns(raters=table)
    joined.meta.update(ratings.meta, rater_attributes=report)
    return joined


def _saved_file(path: Path, level, categories, options: dict) -> dict | None:
    """The metadata of a file written by ``to_parquet`` (None for other files); refuses options that would change it."""
    if not path.is_file() or file_format(path) != "parquet" or _open_bytes(path, 4) != b"PAR1":
        return None
    info = saved_info(path)
    if info is None:
        return None
    if level is not None and level != info["level"]:
        raise WorkbenchDataError(f"{path.name!r} holds {info['level']} ratings saved by to_parquet; omit level= or pass level={info['level']!r}")
    if categories is not None and list(categories) != info["categories"]:
        raise WorkbenchDataError(f"{path.name!r} holds categories {info['categories']!r} saved by to_parquet; omit categories=")
    if options:
        raise WorkbenchDataError(f"{path.name!r} is a Ratings saved by to_parquet; {', '.join(options)}= do not apply to it")
    return info


# ---------------------------------------------------------------------- saved Ratings (to_parquet)
#: Schema metadata key of a Parquet file written by :meth:`Ratings.to_parquet`.
SAVED_KEY = b"workbench.ratings"
SAVED_FORMAT = 1
_HIDDEN = "__workbench_"


def _padded(array: pa.Array, lo: int, hi: int) -> pa.Array:
    """Rows ``lo:hi`` of ``array`` continued with nulls (side tables ride along the long table)."""
    part = array.slice(lo, max(0, min(hi, len(array)) - lo)) if lo < len(array) else array.slice(0, 0)
    return pa.concat_arrays([part, pa.nulls(hi - lo - len(part), array.type)]) if len(part) < hi - lo else part


def _arrow(frame: pd.DataFrame, what: str, index: bool) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=index)
    except (pa.ArrowException, TypeError, ValueError) as err:
        raise WorkbenchDataError(f"the {what} cannot be written to Parquet: {err}") from None


def _json_value(value):
    if isinstance(value, np.generic):
        return value.item()
    raise WorkbenchDataError(f"meta value {value!r} cannot be saved to Parquet (not JSON)")


#: Rows per row group written by :func:`write_ratings` (memory of a write: one group, not the table).
WRITE_BATCH_ROWS = 1 << 20


def write_ratings(ratings: Ratings, path) -> Path:
    """Write ``ratings`` to one Parquet file that :func:`read_ratings` reopens as the same Ratings.

    The file is a readable long table (``item_id, rater_id, label``, per-rating columns) plus the
    codes, the item and rater tables (null-padded columns) and, in the schema metadata, the level,
    categories and ``meta``. Written a row group at a time to a temporary file, then renamed.
    """
    ratings._need_raters("to_parquet")
    path = Path(path)
    codes = ratings.codes
    n = len(codes.item)
    shown = ratings._shown
    extras = _arrow(ratings.rating_columns, "per-rating columns", index=False)
    info = {
        "format": SAVED_FORMAT, "level": ratings.level, "n_ratings": n,
        "categories": None if shown is None else shown.tolist(),
        "categories_dtype": None if shown is None else str(shown.dtype),
        "ratings": {"columns": extras.column_names, "pandas": extras.schema.metadata[b"pandas"].decode()},
        "meta": ratings.meta,
    }
    sides = {}
    for side, frame in (("items", ratings.items), ("raters", ratings.raters)):
        sides[side] = _arrow(frame, f"{side[:-1]} table", index=True).combine_chunks()
        if len(frame) > n:
            raise WorkbenchDataError(f"the {side[:-1]} table has more rows ({len(frame)}) than there are ratings ({n})")
        info[side] = {"columns": sides[side].column_names, "rows": len(frame), "pandas": sides[side].schema.metadata[b"pandas"].decode()}
    item_ids, rater_ids = pa.array(codes.items), pa.array(codes.raters)
    labels = None if shown is None else pa.array(shown)

    def batch(lo: int, hi: int) -> pa.Table:
        """Rows lo:hi. Ids are written as values, not as one file-wide dictionary: Parquet would repeat
        that dictionary in every row group (time and size growing as rows × items)."""
        item, rater, value = codes.item[lo:hi], codes.rater[lo:hi], codes.value[lo:hi]
        columns = {
            "item_id": item_ids.take(pa.array(item)),
            "rater_id": rater_ids.take(pa.array(rater)),
            "label": pa.array(value) if labels is None else pa.DictionaryArray.from_arrays(pa.array(value), labels),
        }
        columns.update(zip(extras.column_names, (column.slice(lo, hi - lo) for column in extras.columns)))
        columns[_HIDDEN + "item"] = pa.array(item)
        columns[_HIDDEN + "rater"] = pa.array(rater)
        columns[_HIDDEN + "label"] = pa.array(value)
        for side, table in sides.items():
            for k, column in enumerate(table.columns):
                columns[f"{_HIDDEN}{side}_{k}"] = _padded(column.chunk(0) if column.num_chunks else pa.array([], column.type), lo, hi)
        return pa.table(columns)

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        first = batch(0, min(n, WRITE_BATCH_ROWS))
        schema = first.schema.with_metadata({SAVED_KEY: json.dumps(info, default=_json_value).encode()})
        with pq.ParquetWriter(temporary, schema) as writer:
            writer.write_table(first.cast(schema))
            for lo in range(WRITE_BATCH_ROWS, n, WRITE_BATCH_ROWS):
                writer.write_table(batch(lo, min(n, lo + WRITE_BATCH_ROWS)).cast(schema))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def saved_info(path: Path) -> dict | None:
    """The workbench metadata of a Parquet file written by ``to_parquet`` (None for any other file)."""
    metadata = pq.read_schema(path).metadata or {}
    if SAVED_KEY not in metadata:
        return None
    info = json.loads(metadata[SAVED_KEY])
    if info.get("format") != SAVED_FORMAT:
        raise WorkbenchDataError(f"{path.name!r} was saved in workbench format {info.get('format')!r}; this version reads {SAVED_FORMAT}")
    return info


def _pandas(table: pa.Table, pandas_metadata: str) -> pd.DataFrame:
    return table.replace_schema_metadata({b"pandas": pandas_metadata.encode()}).to_pandas()


def read_saved(path: Path, info: dict, columns: Sequence[str] | None = None) -> Ratings:
    """Reopen a Ratings written by ``to_parquet``: the codes and side tables are read, not recomputed.

    Only a schema check is made (columns present, codes within range); ``columns`` picks the
    per-rating columns to read (default: all).
    """
    extras = info["ratings"]["columns"] if columns is None else [c for c in info["ratings"]["columns"] if c in columns]
    sides = {side: [f"{_HIDDEN}{side}_{k}" for k in range(len(info[side]["columns"]))] for side in ("items", "raters")}
    wanted = [_HIDDEN + "item", _HIDDEN + "rater", _HIDDEN + "label", *extras, *sides["items"], *sides["raters"]]
    present = set(pq.read_schema(path).names)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise WorkbenchDataError(f"{path.name!r} is a damaged workbench file: column {missing[0]!r} is missing")
    table = pq.read_table(path, columns=wanted)
    if table.num_rows != info["n_ratings"]:
        raise WorkbenchDataError(f"{path.name!r} is a damaged workbench file: {table.num_rows} rows, expected {info['n_ratings']}")
    tables = {}
    for side, names in sides.items():
        part = pa.table([table.column(c).slice(0, info[side]["rows"]) for c in names], names=info[side]["columns"])
        tables[side] = _pandas(part, info[side]["pandas"])
    item = table.column(_HIDDEN + "item").to_numpy()
    rater = table.column(_HIDDEN + "rater").to_numpy()
    value = table.column(_HIDDEN + "label").to_numpy()
    shown = None if info["categories"] is None else pd.Index(info["categories"], dtype=info["categories_dtype"])
    for what, code, n in (("item", item, len(tables["items"])), ("rater", rater, len(tables["raters"])),
                          ("label", value if shown is not None else None, 0 if shown is None else len(shown))):
        if code is not None and len(code) and (code.min() < 0 or code.max() >= n):
            raise WorkbenchDataError(f"{path.name!r} is a damaged workbench file: {what} codes out of range")
    rating_columns = _pandas(table.select(extras), info["ratings"]["pandas"]) if extras else pd.DataFrame(index=pd.RangeIndex(len(item)))
    categories = None if shown is None else tuple(shown)
    codes = Codes(item, rater, value, tables["items"].index, tables["raters"].index, categories)
    return Ratings._coded(codes, rating_columns, tables["items"], tables["raters"], level=info["level"], shown=shown, meta=info["meta"])

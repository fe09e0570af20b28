"""Getting a file in: recognise public data-set formats by content, guess a column mapping, check it before use.

One path for the CLI, the app's upload and :func:`workbench.read_ratings` alike. Nothing here computes
agreement: :func:`check_mapping` says, in plain words, whether a mapping can be analysed at all
(every item with one rating cannot), so that nothing is computed on a nonsense mapping.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from ..errors import WorkbenchDataError

#: Column names that announce a role (lower case, compared after stripping ``_``/``-``/spaces).
ITEM_HINTS = ("itemid", "item", "id", "uid", "questionid", "convid", "promptid", "pairid", "example", "exampleid", "text",
              "prompt", "question", "conversation", "post", "sentence", "tweet")
RATER_HINTS = ("raterid", "rater", "annotatorid", "annotator", "workerid", "worker", "userid", "user", "judge", "coder",
               "labeler", "labellerid", "annotatorname")
LABEL_HINTS = ("label", "score", "rating", "answer", "vote", "choice", "preference", "response", "class", "category",
               "severity", "grade", "judgement", "judgment", "isabuse", "toxic", "offensive")
#: The guesser looks at this many rows at most (the first ones: files are usually grouped by item).
GUESS_ROWS = 200_000
#: A label with more distinct values than this is suspicious (is it an id?).
MAX_LABELS = 50


@dataclass(frozen=True)
class Recognised:
    """A file recognised as a known format: ``reader`` is a key of ``workbench.data.sources.FORMAT_NAMES``."""

    reader: str
    what: str


def _head_text(path: Path, n: int = 65536) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            return handle.read(n).decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return ""


def recognise(path) -> Recognised | None:
    """The public data-set format of the file at ``path``, recognised by its content (None for a plain table).

    Known: ConvAbuse's full CSV, LeWiDi/MultiPICo JSON, ChaosNLI JSONL, HH-RLHF JSONL, SQuALITY's
    human evaluation JSONL and files written by :meth:`Ratings.to_parquet`.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
    >>> _ = path.write_text('{"chosen": "Human: hi Assistant: hello", "rejected": "Human: hi Assistant: go away"}\\n')
    >>> recognise(path)
    Recognised(reader='hh', what='HH-RLHF preference pairs (JSONL)')
    >>> _ = path.write_text('{"item": 1, "rater": "a", "label": 0}\\n'); recognise(path) is None
    True
    """
    from .io import saved_info

    path = Path(path)
    if not path.is_file():
        raise WorkbenchDataError(f"no such file: {str(path)!r}")
    head = _head_text(path)
    if head.startswith("PAR1"):
        return Recognised("parquet", "a workbench study saved with to_parquet") if saved_info(path) else None
    stripped = head.lstrip()
    if stripped.startswith("{"):
        first = stripped.splitlines()[0]
        try:
            record = json.loads(first)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict) and any(isinstance(v, dict) and "annotations" in v for v in record.values()):
            record = None  # a whole LeWiDi file on one line
        elif isinstance(record, dict):  # one JSON object per line
            keys = set(record)
            if {"uid", "label_count", "example"} <= keys:
                return Recognised("chaosnli", "ChaosNLI label counts (JSONL)")
            if {"chosen", "rejected"} <= keys:
                return Recognised("hh", "HH-RLHF preference pairs (JSONL)")
            if {"passage-id", "questions"} <= keys:
                return Recognised("squality", "SQuALITY human evaluation (JSONL)")
            return None
        if re.search(r'"annotations"\s*:', head) and re.search(r'"(annotators|soft_label|hard_label)"\s*:', head):
            from .datasets import READERS

            reader = "lewidi" if "lewidi" in READERS else "multipico"
            return Recognised(reader, "Learning-with-Disagreements (LeWiDi) JSON")
        return None
    header = stripped.splitlines()[0] if stripped else ""
    if {"annotator_id", "conv_id", "is_abuse.1", "is_abuse.-3"} <= set(header.split(",")):
        return Recognised("convabuse", "ConvAbuse full CSV (one row per annotation)")
    if {"conv_id", "Annotator1_is_abuse.1", "Annotator1_is_abuse.-3"} <= set(header.split(",")):
        return Recognised("convabuse", "ConvAbuse split CSV (one row per item, a column group per annotator)")
    return None


# -- the column guesser ---------------------------------------------------------------------------------------


def _norm(name) -> str:
    return re.sub(r"[\s_\-.]", "", str(name).lower())


def _hint(name, hints) -> float:
    """1 for an exact hint, 0.5 when a hint is part of the name, else 0."""
    n = _norm(name)
    if n in hints:
        return 1.0
    return 0.5 if any(h in n for h in hints if len(h) > 2) else 0.0


def _codes(column: pd.Series) -> np.ndarray:
    return pd.factorize(column, use_na_sentinel=False)[0]


def is_row_number(column: pd.Series) -> bool:
    """A column that numbers the rows (unique integers 0..n-1 or 1..n, in any order): never an item, rater or label.

    >>> is_row_number(pd.Series([3, 1, 2, 0])), is_row_number(pd.Series([1, 1, 2]))
    (True, False)
    """
    if not pd.api.types.is_integer_dtype(column) or len(column) < 2:
        return False
    values = np.sort(column.to_numpy())
    return bool(values[0] in (0, 1) and np.all(np.diff(values) == 1))


def _repeated_pairs(key: np.ndarray, rater: np.ndarray) -> int:
    pairs = key.astype(np.int64) * (int(rater.max()) + 1) + rater
    return int(len(pairs) - len(np.unique(pairs)))


def _combine(codes: list[np.ndarray]) -> np.ndarray:
    key = codes[0].astype(np.int64)
    for extra in codes[1:]:
        key = _codes(pd.Series(key * (int(extra.max()) + 1) + extra))
    return key


@dataclass
class MappingGuess:
    """The guessed roles of a table's columns: ``item`` is a list (a composite key when longer than one)."""

    item: list
    rater: object
    label: object
    reasons: list = field(default_factory=list)


def guess_mapping(frame: pd.DataFrame) -> MappingGuess:
    """Guess which columns hold the item key, the rater and the label of a long ratings table.

    Row-number columns are never chosen. The rater column repeats across items and has far fewer
    values than rows; the label has few distinct values and varies within items; the item key is the
    smallest set of columns (up to five) that leaves the fewest repeated (item, rater) pairs while
    items still get several ratings.

    >>> frame = pd.DataFrame({"row": range(6), "conv": [1, 1, 1, 1, 2, 2], "turn": ["a", "a", "b", "b", "a", "a"],
    ...                       "annotator": ["x", "y", "x", "y", "x", "y"], "is_bad": [0, 1, 0, 0, 1, 1]})
    >>> guess = guess_mapping(frame)
    >>> guess.item, guess.rater, guess.label
    (['conv', 'turn'], 'annotator', 'is_bad')
    """
    if not isinstance(frame, pd.DataFrame) or frame.shape[1] < 3 or len(frame) < 2:
        raise WorkbenchDataError("a ratings table needs at least three columns (item, rater, label) and two rows")
    frame = frame.head(GUESS_ROWS)  # the guess reads the first rows; check_mapping then checks the whole table
    n = len(frame)
    columns = [c for c in frame.columns if not is_row_number(frame[c])]
    reasons = [f"{c!r} numbers the rows, so it is not an item, rater or label" for c in frame.columns if c not in columns]
    if len(columns) < 3:
        raise WorkbenchDataError("the table has fewer than three columns besides row numbers: it needs item, rater and label")
    codes = {c: _codes(frame[c]) for c in columns}
    distinct = {c: int(codes[c].max()) + 1 for c in columns}

    def rater_score(c) -> float:
        k = distinct[c]
        if k < 2 or k > n / 2:
            return -1.0
        return 2 * _hint(c, RATER_HINTS) + (1 - k / n) - (0.5 if _hint(c, LABEL_HINTS) else 0)

    raters = sorted((c for c in columns if rater_score(c) >= 0), key=rater_score, reverse=True)[:4]
    if not raters:
        raise WorkbenchDataError("no column can serve as the rater id: it must repeat across items, with fewer values than half the rows")

    def best_key(rater, label) -> tuple[list, int, float]:
        many = [c for c in columns if c not in (rater, label) and min(20, n / 10) < distinct[c] < n]
        text = [c for c in columns if c not in (rater, label, *many) and distinct[c] > 1 and not is_numeric_dtype(frame[c])]
        candidates, chosen, key, best = many, [], None, (np.inf, 0.0)
        while candidates and len(chosen) < 5:
            trials = []
            for c in candidates:
                trial = _combine([key, codes[c]]) if key is not None else codes[c]
                repeats = _repeated_pairs(trial, codes[rater])
                per_item = n / (int(trial.max()) + 1)
                hint = _hint(c, ITEM_HINTS) if key is None else 0.0
                trials.append(((per_item < 1.5, repeats, -hint, -per_item), c, trial, repeats, per_item))
            trials.sort(key=lambda t: t[0])
            _, c, trial, repeats, per_item = trials[0]
            if key is not None and (repeats >= best[0] or per_item < 1.5):
                break
            chosen.append(c)
            key, best = trial, (repeats, per_item)
            candidates = [x for x in many + text if x not in chosen]  # a text column may refine a key (e.g. a turn name)
            if repeats == 0:
                break
        return chosen, best[0], best[1]

    def label_score(c) -> float:
        k = distinct[c]
        few = 1.0 if k <= 12 else 0.3 if k <= MAX_LABELS else -2.0
        return 2 * _hint(c, LABEL_HINTS) + few - 0.5 * _hint(c, ITEM_HINTS + RATER_HINTS)

    options = []
    for rater_rank, rater in enumerate(raters):
        labels = sorted((c for c in columns if c != rater and distinct[c] >= 2), key=label_score, reverse=True)[:6]
        for rank, label in enumerate(labels):
            key, repeats, per_item = best_key(rater, label)
            if key:
                score = (per_item < 1.5, repeats > 0, -label_score(label) - rater_score(rater), repeats, rater_rank, rank)
                options.append((score, rater, label, key, repeats, per_item))
    if not options:
        raise WorkbenchDataError("no column can serve as the item key: every column is either constant or unique per row")
    _, rater, label, item, repeats, per_item = min(options, key=lambda o: o[0])
    reasons.append(f"rater {rater!r}: {distinct[rater]:,} distinct values repeated over {n:,} rows")
    reasons.append(f"item {', '.join(map(repr, item))}: {per_item:.1f} ratings per item, {repeats:,} repeated (item, rater) pairs")
    reasons.append(f"label {label!r}: {distinct[label]:,} distinct values")
    return MappingGuess(item=item, rater=rater, label=label, reasons=reasons)


# -- checks before anything is computed ------------------------------------------------------------------------


@dataclass
class MappingCheck:
    """What a mapping would give, and whether it can be analysed: ``problems`` block it, ``warnings`` do not."""

    facts: dict
    problems: list
    warnings: list

    @property
    def ok(self) -> bool:
        return not self.problems

    def markdown(self) -> str:
        facts = " · ".join(f"{k}: {v}" for k, v in self.facts.items())
        lines = [facts]
        lines += [f"⛔ {p}" for p in self.problems]
        lines += [f"⚠ {w}" for w in self.warnings]
        return "\n\n".join(lines)


def check_mapping(frame: pd.DataFrame, item, rater, label, *, duplicates: str = "error") -> MappingCheck:
    """Check a mapping of ``frame``'s columns before any analysis: counts, and plain-language problems.

    ``item`` may be a list of columns (a composite key). Problems (the mapping cannot be analysed):
    a column missing, the same column in two roles, every item with a single rating, repeated
    (item, rater) pairs while ``duplicates="error"``. Warnings: a label with many distinct values, a row-number
    column in a role, items with one rating.

    >>> frame = pd.DataFrame({"row": range(4), "who": list("abcd"), "vote": [1, 0, 1, 1]})
    >>> check = check_mapping(frame, "row", "who", "vote")
    >>> check.ok, check.problems[0]
    (False, 'every item has one rating: agreement cannot be measured (is the item column right?)')
    """
    items = [item] if isinstance(item, (str, int)) or not isinstance(item, (list, tuple)) else list(item)
    roles = {"item": items, "rater": [rater], "label": [label]}
    missing = [c for cols in roles.values() for c in cols if c not in frame.columns]
    if missing:
        return MappingCheck({}, [f"the file has no column {missing[0]!r}"], [])
    used = [c for cols in roles.values() for c in cols]
    twice = sorted({str(c) for c in used if used.count(c) > 1})
    if twice:
        return MappingCheck({}, [f"column {twice[0]!r} is chosen for two roles; each role needs its own column"], [])
    if not items:
        return MappingCheck({}, ["choose at least one item column"], [])
    n = len(frame)
    key = _combine([_codes(frame[c]) for c in items])
    who = _codes(frame[rater])
    n_items, n_raters = int(key.max()) + 1, int(who.max()) + 1
    labels = frame[label]
    n_labels = int(labels.nunique(dropna=True))
    repeats = _repeated_pairs(key, who)
    per_item = np.bincount(key)
    facts = {
        "items": f"{n_items:,}",
        "raters": f"{n_raters:,}",
        "ratings": f"{n:,}",
        "ratings per item (min / median / max)": f"{per_item.min()} / {np.median(per_item):g} / {per_item.max()}",
        "distinct labels": f"{n_labels:,}",
        "repeated (item, rater) pairs": f"{repeats:,}",
    }
    problems, warnings = [], []
    if labels.isna().all():
        problems.append(f"the label column {label!r} is empty")
    if per_item.max() < 2:
        problems.append("every item has one rating: agreement cannot be measured (is the item column right?)")
    elif (per_item == 1).any():
        warnings.append(f"{int((per_item == 1).sum()):,} items have a single rating; they add nothing to agreement")
    if repeats and duplicates == "error":
        problems.append(f"{repeats:,} (item, rater) pairs occur more than once: choose which to keep under "
                        "'Repeated (item, rater) pairs', or add a column to the item key")
    elif repeats:
        warnings.append(f"{repeats:,} repeated (item, rater) pairs: only the {duplicates} of each is kept")
    if n_labels > MAX_LABELS:
        warnings.append(f"the label column {label!r} has {n_labels:,} distinct values: is it an id? "
                        "(for numbers, choose level 'interval' or 'ratio')")
    for role, cols in roles.items():
        for c in cols:
            if is_row_number(frame[c]):
                warnings.append(f"{c!r} (the {role} column) looks like a row number")
    if n_raters == n:
        warnings.append(f"every rating has its own rater in {rater!r}: is it the rater column?")
    return MappingCheck(facts, problems, warnings)


def composite_key(frame: pd.DataFrame, columns, *, name: str = "item_id", prefix: str = "", sort: bool = False,
                  width: int = 0) -> pd.DataFrame:
    """``frame`` with a new column ``name`` numbering the distinct combinations of ``columns`` (missing is a value).

    Used for items keyed by several columns (e.g. ConvAbuse's ``conv_id, prev_agent, prev_user, agent, user``);
    ids are ``prefix`` + the number (zero-padded to ``width``), in order of first appearance (or sorted, with
    ``sort=True``); the key columns stay, and become item columns of the Ratings built from the frame.

    >>> composite_key(pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"]}), ["a", "b"])["item_id"].tolist()
    ['0', '1', '2']
    """
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WorkbenchDataError(f"item key column {missing[0]!r} is not in the table (columns: {', '.join(map(str, frame.columns))})")
    if name in frame.columns and name not in columns:
        raise WorkbenchDataError(f"column {name!r} would be overwritten by the composite item key; rename it first")
    number = frame.groupby(columns, dropna=False, sort=sort).ngroup().to_numpy()
    out = frame.copy()
    out[name] = [f"{prefix}{k:0{width}d}" for k in number]
    return out


# -- rater attributes ----------------------------------------------------------------------------------------


def attribute_table(path: Path) -> pd.DataFrame:
    """The raw table of a rater-attributes file (CSV/TSV/Parquet/JSONL, or JSON keyed by rater id; trailing commas tolerated)."""
    from .io import read_table

    text = path.name.lower().removesuffix(".gz")
    if text.endswith(".json"):
        raw = _head_text(path, n=1 << 30)
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            try:  # annotator files released with trailing commas
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw))
            except json.JSONDecodeError as err:
                raise WorkbenchDataError(f"{path.name!r} is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})") from None
        if isinstance(data, dict):
            return pd.DataFrame.from_dict(data, orient="index")
        if isinstance(data, list):
            return pd.DataFrame(data)
        raise WorkbenchDataError(f"{path.name!r} should hold a JSON object keyed by rater id, or a list of records")
    return read_table(path)


def _snake(name) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def rater_attributes(source, rater_ids) -> tuple[pd.DataFrame, str]:
    """A rater-attributes table (file or DataFrame) keyed by the ids in ``rater_ids``, and a one-line report.

    The key is the table's index or the column whose values best match ``rater_ids`` — also when the
    ratings prefix the ids (``Ann12`` ↔ ``12``). Column names become snake_case; ``DATA_EXPIRED`` and
    empty strings become missing.

    >>> attrs = pd.DataFrame({"id": ["1", "2"], "Age": [30, 41], "Gender": ["F", "DATA_EXPIRED"]})
    >>> table, report = rater_attributes(attrs, pd.Index(["Ann1", "Ann2", "Ann3"]))
    >>> table.to_dict("index")["Ann1"], report
    ({'age': 30, 'gender': 'F'}, '2 of 3 raters matched, 2 attributes: age, gender')
    """
    if isinstance(source, pd.DataFrame):
        table = source.copy()
    else:
        path = Path(source)
        if not path.is_file():
            raise WorkbenchDataError(f"no such rater-attributes file: {str(path)!r}")
        table = attribute_table(path)
    if table.empty:
        raise WorkbenchDataError("the rater-attributes table is empty")
    wanted = pd.Index(rater_ids).astype(str)
    prefix = _common_prefix(wanted)
    candidates = [(c, table[c].astype(str)) for c in table.columns]
    if not isinstance(table.index, pd.RangeIndex):  # a JSON object keyed by rater id
        candidates.insert(0, ("index", table.index.astype(str)))
    best, best_hits, best_map = None, 0, None
    for name, values in candidates:
        for strip in ("", prefix):
            keys = (strip + pd.Index(values)) if strip else pd.Index(values)
            hits = int(keys.isin(wanted).sum())
            if hits > best_hits and keys.is_unique:
                best, best_hits, best_map = name, hits, keys
    if best is None:
        raise WorkbenchDataError(f"no column of the rater-attributes table matches the rater ids (e.g. {wanted[0]!r}); "
                                 "it needs one row per rater with the rater id")
    if best != "index":
        table = table.drop(columns=[best])
    table.index = pd.Index(best_map, name="rater_id")
    table = table.loc[table.index.isin(wanted)]
    table.columns = [_snake(c) for c in table.columns]
    table = table.replace({"DATA_EXPIRED": np.nan, "": np.nan})
    for c in table.columns:  # numbers stored as text (e.g. ages) become numbers
        if not is_numeric_dtype(table[c]):
            converted = pd.to_numeric(table[c], errors="coerce")
            if converted.notna().sum() == table[c].notna().sum() and converted.notna().any():
                table[c] = converted
    shown = ", ".join(table.columns[:8]) + (", …" if len(table.columns) > 8 else "")
    report = f"{len(table):,} of {len(wanted):,} raters matched, {len(table.columns)} attributes: {shown}"
    return table, report


def _common_prefix(ids: pd.Index) -> str:
    """The non-digit prefix every id shares (``Ann`` for ``Ann0``…``Ann505``), or ''."""
    match = ids.str.extract(r"^(\D+)\d+$")[0]
    if len(ids) and match.notna().all() and match.nunique() == 1:
        return str(match.iloc[0])
    return ""

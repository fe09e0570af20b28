"""The annotator-level data model: every rater's label is kept; aggregates are views."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import WorkbenchDataError, show
from .validate import (
    as_matrix,
    check_level,
    code_ids,
    code_labels,
    find_duplicates,
    require_columns,
    require_rows,
)

CANONICAL = ("item_id", "rater_id", "label")
#: Per-rating columns that every operation keeps.
PRESERVED = ("rationale", "feedback_type")
PREFERENCE_LABELS = ("A", "B", "tie")


@dataclass(frozen=True)
class Codes:
    """Integer-coded ratings, the form the kernels take; built once, when the Ratings is.

    ``item`` and ``rater`` are int32 codes into ``items`` and ``raters`` (the ids); ``value`` holds
    category codes (int32, into ``categories``) for nominal/ordinal data and the numbers themselves
    (float64) for interval/ratio data. Widen to int64 before multiplying codes into a key.
    """

    item: np.ndarray
    rater: np.ndarray
    value: np.ndarray
    items: pd.Index
    raters: pd.Index
    categories: tuple | None


class Ratings:
    """Annotator-level ratings: a long table ``item_id, rater_id, label`` plus item and rater tables.

    Build one with :func:`workbench.read_ratings`, :meth:`from_frame`, :meth:`from_matrix` or
    :meth:`from_counts`; the constructor trusts its input.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import Ratings
    >>> frame = pd.DataFrame({"item": [1, 1, 2, 2], "who": ["x", "y", "x", "y"], "vote": ["A", "B", "A", "A"]})
    >>> r = Ratings.from_frame(frame, item="item", rater="who", label="vote")
    >>> r
    Ratings(2 items, 2 raters, 4 ratings, nominal, categories=('A', 'B'))
    >>> r.label_counts()
    label    A  B
    item_id      
    1        1  1
    2        2  0
    """

    def __init__(
        self,
        ratings: pd.DataFrame | None,
        items: pd.DataFrame,
        raters: pd.DataFrame | None,
        *,
        level: str,
        categories: Sequence | None = None,
        counts: pd.DataFrame | None = None,
        meta: dict | None = None,
    ):
        """A Ratings from a trusted long table (``item_id, rater_id, label``, …) whose ids are in the side tables.

        The table is coded here, once; afterwards only the codes (and per-rating columns) are kept.
        """
        codes = columns = shown = None
        if ratings is not None:
            item = _positions(items.index, ratings["item_id"], "item")
            rater = _positions(raters.index, ratings["rater_id"], "rater")
            labels = ratings["label"]
            if level in ("interval", "ratio"):
                value = labels.to_numpy(dtype=np.float64)
            else:
                categories = tuple(categories) if categories is not None else tuple(sorted(pd.unique(labels)))
                shown = pd.Index(labels.cat.categories if isinstance(labels.dtype, pd.CategoricalDtype) else list(categories))
                value = _positions(shown, labels, "label")
            codes = Codes(item, rater, value, items.index, raters.index, tuple(categories) if categories is not None else None)
            columns = ratings.drop(columns=list(CANONICAL)).reset_index(drop=True)
        self._setup(codes, columns, items, raters, level=level, categories=categories, shown=shown, counts=counts, meta=meta)

    def _setup(self, codes, columns, items, raters, *, level, categories, shown=None, counts=None, meta=None) -> None:
        self._codes = codes
        self._columns = columns
        self.items = items
        self._raters = raters
        self.level = level
        self.categories = tuple(categories) if categories is not None else None
        self._shown = shown if shown is not None or self.categories is None else pd.Index(list(self.categories))
        self._counts = counts
        #: Facts about how the data were read (dropped repeats, source path, …).
        self.meta = dict(meta or {})

    @classmethod
    def _coded(cls, codes: Codes, columns: pd.DataFrame, items, raters, *, level, shown=None, meta=None) -> "Ratings":
        """A Ratings from codes that are already made (no coding, no checks)."""
        ratings = cls.__new__(cls)
        ratings._setup(codes, columns, items, raters, level=level, categories=codes.categories, shown=shown, meta=meta)
        return ratings

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        item: str = "item_id",
        rater: str = "rater_id",
        label: str = "label",
        level: str = "nominal",
        categories: Sequence | None = None,
        items: pd.DataFrame | None = None,
        raters: pd.DataFrame | None = None,
        item_columns: Sequence[str] | None = None,
        rater_columns: Sequence[str] | None = None,
        duplicates: str = "error",
        meta: dict | None = None,
    ) -> "Ratings":
        """Validate a long table, code it once and split it into ratings, item and rater tables.

        Columns other than the three named ones are sorted by where they vary: a column constant
        within every item goes to the item table, one constant within every rater to the rater table,
        and the rest (``rationale``, ``feedback_type``, …) stay with each rating. Pass
        ``item_columns``/``rater_columns`` to decide yourself, or ``items``/``raters`` tables (indexed
        by id) to join. Identifiers become strings.
        """
        if not isinstance(frame, pd.DataFrame):
            raise WorkbenchDataError(f"expected a pandas DataFrame of ratings, got {type(frame).__name__}")
        check_level(level)
        require_columns(frame, [item, rater, label])
        require_rows(frame)
        names = {item: "item_id", rater: "rater_id", label: "label"}
        if len(set(names)) < 3:
            raise WorkbenchDataError(f"item, rater and label must be three different columns, got {item!r}, {rater!r}, {label!r}")
        clashes = [c for c in CANONICAL if c in frame.columns and c not in names]
        if clashes:
            raise WorkbenchDataError(f"column {clashes[0]!r} would be overwritten by the renamed canonical columns; rename it first")
        item_code, item_ids = code_ids(frame[item], item)
        rater_code, rater_ids = code_ids(frame[rater], rater)
        item_ids, rater_ids = item_ids.rename("item_id"), rater_ids.rename("rater_id")
        value, cats, shown = code_labels(frame[label], level, categories, column=label)
        keep, report = find_duplicates(
            item_code, rater_code, len(rater_ids), duplicates, frame.index,
            lambda row: (item_ids[item_code[row]], rater_ids[rater_code[row]]),
        )
        rows = None
        if keep is not None:  # drop repeats; ids keep their order of first appearance among the rows kept
            rows = np.flatnonzero(keep)
            item_code, item_ids = _first_appearance(item_code[rows], item_ids)
            rater_code, rater_ids = _first_appearance(rater_code[rows], rater_ids)
            value = value[rows]
            if level == "nominal" and categories is None:  # categories are the labels seen in the rows kept
                value, cats, shown = _drop_unused(value, cats, shown)

        def column(name: str) -> pd.Series:
            values = frame[name]
            return values if rows is None else values.iloc[rows]

        value_codes: dict = {}  # each extra column is coded at most once

        def constant_within(group: np.ndarray, name: str) -> bool:
            if name not in value_codes:  # any coding will do (missing is a value of its own)
                values = column(name)
                categorical = isinstance(values.dtype, pd.CategoricalDtype)
                value_codes[name] = values.cat.codes.to_numpy() if categorical else pd.factorize(values, use_na_sentinel=False)[0]
            return _constant_within(group, value_codes[name])

        extra = [c for c in frame.columns if c not in names]
        if item_columns is None:
            item_columns = [c for c in extra if c not in PRESERVED and constant_within(item_code, c)]
        if rater_columns is None:
            rater_columns = [
                c for c in extra if c not in PRESERVED and c not in item_columns and constant_within(rater_code, c)
            ]
        require_columns(frame, list(item_columns) + list(rater_columns))
        item_table = _side_table(item_code, item_ids, [column(c) for c in item_columns])
        rater_table = _side_table(rater_code, rater_ids, [column(c) for c in rater_columns])
        item_table = _join_side_table(item_table, items, "item")
        rater_table = _join_side_table(rater_table, raters, "rater")
        kept = [c for c in extra if c not in item_columns and c not in rater_columns]
        columns = (frame[kept] if rows is None else frame[kept].iloc[rows]).reset_index(drop=True)
        codes = Codes(item_code, rater_code, value, item_table.index, rater_table.index, cats)
        info = {**report, **(meta or {})}
        return cls._coded(codes, columns, item_table, rater_table, level=level, shown=shown, meta=info)

    @classmethod
    def from_matrix(
        cls,
        reliability_data,
        *,
        level: str = "nominal",
        categories: Sequence | None = None,
    ) -> "Ratings":
        """Ratings from a raters × items matrix with NaN for missing (the ``krippendorff`` package layout).

        A DataFrame keeps its index (raters) and columns (items) as identifiers.

        >>> Ratings.from_matrix([[1, 2, None], [1, 3, 3]], level="interval").n_ratings
        5
        """
        matrix = reliability_data if isinstance(reliability_data, pd.DataFrame) else pd.DataFrame(as_matrix(reliability_data, "the reliability matrix"))
        if matrix.shape[0] == 0 or matrix.shape[1] == 0:
            raise WorkbenchDataError("the reliability matrix is empty: expected raters × items")
        matrix = matrix.copy()
        matrix.index = matrix.index.rename("rater_id")
        matrix.columns = matrix.columns.rename("item_id")
        long = matrix.stack(future_stack=True).rename("label").reset_index()
        long = long[long["label"].notna()]
        if long.empty:
            raise WorkbenchDataError("the reliability matrix holds no values (all missing)")
        return cls.from_frame(long, level=level, categories=categories, item_columns=[], rater_columns=[])

    @classmethod
    def from_counts(
        cls,
        counts: pd.DataFrame,
        *,
        items: pd.DataFrame | None = None,
        level: str = "nominal",
        meta: dict | None = None,
    ) -> "Ratings":
        """Ratings known only as per-item counts (items × categories), such as ChaosNLI.

        Category order is the column order. Item-level views work; rater-level operations raise.

        >>> c = pd.DataFrame({"yes": [3, 1], "no": [0, 2]}, index=["q1", "q2"])
        >>> Ratings.from_counts(c).distribution().round(2).loc["q2", "no"]
        np.float64(0.67)
        """
        if not isinstance(counts, pd.DataFrame):
            raise WorkbenchDataError(f"expected an items × categories DataFrame of counts, got {type(counts).__name__}")
        check_level(level)
        require_rows(counts, what="counts table")
        if level in ("interval", "ratio"):
            bad = [c for c in counts.columns if not isinstance(c, (int, float, np.number))]
            if bad:
                raise WorkbenchDataError(f"{level} counts need numeric category columns; got {bad[0]!r}")
        values = counts.apply(pd.to_numeric, errors="coerce")
        bad = values.isna() | (values < 0) | (values % 1 != 0)
        if bad.any(axis=None):
            row, col = next((r, c) for c in bad.columns for r in bad.index[bad[c]])
            raise WorkbenchDataError(
                f"counts must be non-negative whole numbers; column {col!r} has {show(counts.loc[row, col])} at item {row!r}"
            )
        values = values.astype("int64")
        code, ids = code_ids(pd.Series(values.index, index=values.index), "item")
        values.index = ids.take(code).rename("item_id")
        values.columns.name = "label"
        item_table = _join_side_table(pd.DataFrame(index=values.index), items, "item")
        return cls(None, item_table, None, level=level, categories=list(values.columns), counts=values, meta=meta)

    # ------------------------------------------------------------------ basic facts
    @property
    def has_raters(self) -> bool:
        """False for counts-only data, where no rater identities exist."""
        return self._codes is not None

    def _need_raters(self, operation: str) -> None:
        if not self.has_raters:
            raise WorkbenchDataError(
                f"{operation} needs rater-level ratings, but this data set has only per-item counts "
                f"({self.meta.get('source', 'from_counts')}); use item-level views such as label_counts()"
            )

    @property
    def ratings(self) -> pd.DataFrame:
        """The long table (``item_id, rater_id, label`` and per-rating columns), without joins.

        Built from the codes when first asked for (ids as strings), then cached.
        """
        self._need_raters("the ratings table")
        return self._long

    @cached_property
    def _long(self) -> pd.DataFrame:
        codes = self._codes
        ids = pd.DataFrame(
            {"item_id": codes.items.take(codes.item), "rater_id": codes.raters.take(codes.rater), "label": self._labels()},
            index=self._columns.index,
        )
        return pd.concat([ids, self._columns], axis=1) if len(self._columns.columns) else ids

    def _labels(self):
        """The label of each rating, as read (category values, an ordered Categorical, or numbers)."""
        value = self._codes.value
        if self.level in ("interval", "ratio"):
            return value
        if self.level == "ordinal":
            return pd.Categorical.from_codes(value, categories=self._shown, ordered=True)
        return self._shown.take(value)

    @property
    def rating_columns(self) -> pd.DataFrame:
        """Per-rating columns other than the ids and the label (``rationale``, …), one row per rating."""
        self._need_raters("per-rating columns")
        return self._columns

    @property
    def raters(self) -> pd.DataFrame:
        """Rater table indexed by ``rater_id`` (demographics, attention checks)."""
        self._need_raters("the rater table")
        return self._raters

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_raters(self) -> int | None:
        return len(self._raters) if self.has_raters else None

    @property
    def n_ratings(self) -> int:
        return len(self._codes.item) if self.has_raters else int(self._counts.to_numpy().sum())

    def __len__(self) -> int:
        return self.n_ratings

    def __repr__(self) -> str:
        raters = f"{self.n_raters} raters" if self.has_raters else "counts only"
        cats = f", categories={self.categories!r}" if self.categories is not None and len(self.categories) <= 8 else ""
        return f"Ratings({self.n_items} items, {raters}, {self.n_ratings} ratings, {self.level}{cats})"

    def to_frame(self) -> pd.DataFrame:
        """The long table with the item and rater columns joined: one row per rating (built on demand)."""
        long = self.ratings
        items = _without_clashes(self.items, long.columns, "_item")
        raters = _without_clashes(self._raters, list(long.columns) + list(items.columns), "_rater")
        parts = [long]
        for side, code in ((items, self._codes.item), (raters, self._codes.rater)):
            if len(side.columns):
                parts.append(side.take(code).set_axis(long.index))
        return pd.concat(parts, axis=1) if len(parts) > 1 else long.copy()

    def to_parquet(self, path) -> None:
        """Save to one Parquet file; :func:`workbench.read_ratings` reopens it as the same Ratings, fast.

        The file also reads as a plain long table elsewhere (``item_id, rater_id, label`` and the
        per-rating columns, next to ``__workbench_*`` columns that hold the codes and side tables).

        >>> import tempfile, pathlib, workbench
        >>> r = workbench.simulate_study(seed=0, n_items=20, ratings_per_item=3, n_raters=6).ratings
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "study.parquet"
        >>> r.to_parquet(path)
        >>> workbench.read_ratings(path).to_frame().equals(r.to_frame())
        True
        """
        from .io import write_ratings  # io builds on this module

        write_ratings(self, path)

    # ------------------------------------------------------------------ coded form for kernels
    @property
    def codes(self) -> Codes:
        """Integer codes for the kernels, made once when this Ratings was built."""
        self._need_raters("coding ratings")
        return self._codes

    # ------------------------------------------------------------------ views
    def label_counts(self) -> pd.DataFrame:
        """Items × categories counts (every item, every category, zeros included); a copy of a cached table."""
        return self._label_counts.copy()

    @cached_property
    def _label_counts(self) -> pd.DataFrame:
        if not self.has_raters:
            return self._counts
        codes = self._codes
        if self.categories is not None:
            cats, col = self.categories, codes.value
        else:  # interval/ratio: the distinct values are the columns
            values, col = np.unique(codes.value, return_inverse=True)
            cats = tuple(values)
        flat = np.bincount(codes.item.astype(np.int64) * len(cats) + col, minlength=len(codes.items) * len(cats))
        return pd.DataFrame(flat.reshape(len(codes.items), len(cats)), index=codes.items, columns=pd.Index(cats, name="label"))

    def distribution(self) -> pd.DataFrame:
        """Per-item label distribution (rows sum to 1): the soft label."""
        counts = self.label_counts()
        return counts.div(counts.sum(axis=1), axis=0)

    def raters_per_item(self) -> pd.Series:
        """Number of ratings of each item."""
        if self.has_raters:
            counts = np.bincount(self._codes.item, minlength=self.n_items)
            return pd.Series(counts, index=self._codes.items, name="n_ratings")
        return self._counts.sum(axis=1).rename("n_ratings")

    def pairs(self) -> pd.DataFrame:
        """One row per preference pair: item columns plus ``n_a, n_b, n_tie, n, p_a``.

        ``p_a = (n_a + n_tie / 2) / n``: a tie counts half for each side (Bradley–Terry reading).
        Needs nominal labels among ``'A'``, ``'B'``, ``'tie'``.
        """
        if self.level != "nominal" or self.categories is None:
            raise WorkbenchDataError(f"pairs() needs nominal preference labels {PREFERENCE_LABELS}, not {self.level} data")
        unknown = [c for c in self.categories if c not in PREFERENCE_LABELS]
        if unknown:
            raise WorkbenchDataError(
                f"pairs() needs labels among {PREFERENCE_LABELS}; column 'label' also has {unknown[:5]!r}"
            )
        counts = self._label_counts.to_numpy()
        position = {c: k for k, c in enumerate(self.categories)}
        n = {name: counts[:, position[c]] if c in position else np.zeros(len(counts), dtype=counts.dtype)
             for name, c in zip(("n_a", "n_b", "n_tie"), PREFERENCE_LABELS)}
        out = pd.DataFrame(n, index=self._label_counts.index)
        out["n"] = counts.sum(axis=1)
        out["p_a"] = (out["n_a"] + out["n_tie"] / 2) / out["n"]
        return pd.concat([self.items, out.set_axis(self.items.index)], axis=1)

    def subset(self, *, items=None, raters=None) -> "Ratings":
        """A new Ratings restricted to some items and/or raters (this object is left unchanged)."""
        if not self.has_raters:
            if raters is not None:
                self._need_raters("subsetting by rater")
            keep = self._counts.index.isin(pd.Index(items).astype(str)) if items is not None else slice(None)
            if not self._counts[keep].size:
                raise WorkbenchDataError("the subset holds no ratings")
            return Ratings(None, self.items[keep], None, level=self.level, categories=self.categories,
                           counts=self._counts[keep], meta=self.meta)
        codes = self._codes
        mask = np.ones(len(codes.item), dtype=bool)
        if items is not None:
            mask &= codes.items.isin(pd.Index(items).astype(str))[codes.item]
        if raters is not None:
            mask &= codes.raters.isin(pd.Index(raters).astype(str))[codes.rater]
        rows = np.flatnonzero(mask)
        if len(rows) == 0:
            raise WorkbenchDataError("the subset holds no ratings")
        item, kept_items = _first_appearance(codes.item[rows], np.arange(len(codes.items)))
        rater, kept_raters = _first_appearance(codes.rater[rows], np.arange(len(codes.raters)))
        item_table, rater_table = self.items.iloc[kept_items], self._raters.iloc[kept_raters]
        new = Codes(item, rater, codes.value[rows], item_table.index, rater_table.index, codes.categories)
        columns = self._columns.iloc[rows].reset_index(drop=True)
        return Ratings._coded(new, columns, item_table, rater_table, level=self.level, shown=self._shown, meta=self.meta)

    def with_columns(self, *, items: pd.DataFrame | None = None, raters: pd.DataFrame | None = None) -> "Ratings":
        """A new Ratings whose item and/or rater table gains the columns of ``items`` / ``raters``.

        Each frame is keyed by ``item_id`` / ``rater_id`` (its index, or a column of that name);
        ids it does not cover get missing values. A column the table already has, a repeated id or
        an id this data set lacks raises :class:`WorkbenchDataError`. This object is left unchanged.

        >>> import workbench
        >>> r = workbench.simulate_study(n_items=3, ratings_per_item=2, n_raters=4).ratings
        >>> tagged = r.with_columns(items=pd.DataFrame({"item_id": ["demo-000001"], "tag": ["hard"]}))
        >>> tagged.items["tag"].tolist(), "tag" in r.items
        ([nan, 'hard', nan], False)
        """
        new_items = self.items if items is None else _with_columns(self.items, items, "item")
        if raters is not None:
            self._need_raters("adding rater columns")
        if not self.has_raters:
            return Ratings(None, new_items, None, level=self.level, categories=self.categories, counts=self._counts, meta=self.meta)
        new_raters = self.raters if raters is None else _with_columns(self.raters, raters, "rater")
        codes = replace(self._codes, items=new_items.index, raters=new_raters.index)
        return Ratings._coded(codes, self._columns, new_items, new_raters, level=self.level, shown=self._shown, meta=self.meta)

    def summary(self) -> dict:
        """Headline facts for the Overview page and ``workbench info``."""
        per_item = self.raters_per_item()
        facts = {
            "items": self.n_items,
            "raters": self.n_raters,
            "ratings": self.n_ratings,
            "level": self.level,
            "categories": len(self.categories) if self.categories is not None else None,
            "ratings per item (min / median / max)": (int(per_item.min()), float(per_item.median()), int(per_item.max())),
        }
        facts["annotator-level labels"] = (
            "no: per-item counts only (rater-level analyses unavailable)" if not self.has_raters
            else "yes, but one rating per item: agreement cannot be measured" if int(per_item.max()) < 2
            else "yes"
        )
        if self.meta.get("duplicates_dropped"):
            facts["repeated (item, rater) rows dropped"] = (
                f"{self.meta['duplicates_dropped']} rows over {self.meta['repeated_pairs']} pairs, kept {self.meta['duplicates_policy']}"
            )
        return facts


def _without_clashes(side: pd.DataFrame, taken, suffix: str) -> pd.DataFrame:
    clashes = {c: f"{c}{suffix}" for c in side.columns if c in set(taken)}
    return side.rename(columns=clashes) if clashes else side


def _with_columns(table: pd.DataFrame, extra, what: str) -> pd.DataFrame:
    """``table`` left-joined with ``extra`` on ``{what}_id``, refusing clashes, repeats and unknown ids."""
    key = f"{what}_id"
    if isinstance(extra, pd.Series):
        extra = extra.to_frame()
    if not isinstance(extra, pd.DataFrame):
        raise WorkbenchDataError(f"{what}s= takes a DataFrame keyed by {key}, got {type(extra).__name__}")
    if key in extra.columns:
        extra = extra.set_index(key)
    code, ids = code_ids(pd.Series(extra.index, index=extra.index), key)
    extra = extra.set_axis(ids.take(code).rename(key), axis=0)
    clashes = [c for c in extra.columns if c in table.columns or c in CANONICAL]
    if clashes:
        raise WorkbenchDataError(f"column {clashes[0]!r} is already in the {what} table; rename it before adding")
    if extra.index.has_duplicates:
        raise WorkbenchDataError(f"{key} {extra.index[extra.index.duplicated()][0]!r} appears more than once in the new {what} columns")
    unknown = extra.index.difference(table.index)
    if len(unknown):
        raise WorkbenchDataError(f"{key} {unknown[0]!r} is not in this data set ({len(unknown)} unknown {what} ids)")
    return table.join(extra, how="left")


def _constant_within(group: np.ndarray, code: np.ndarray) -> bool:
    """True when the value codes ``code`` are constant within every group code: one vectorised pass."""
    reference = np.empty(int(group.max()) + 1 if len(group) else 0, dtype=code.dtype)
    reference[group] = code  # any row's code per group; the column is constant iff every row matches it
    return bool((reference[group] == code).all())


def _first_appearance(code: np.ndarray, ids) -> tuple[np.ndarray, object]:
    """Recode ``code`` (a selection of rows) by order of first appearance; return the codes and the ids used."""
    used = pd.unique(code)
    if len(used) == len(ids) and (used == np.arange(len(ids))).all():
        return code, ids
    recode = np.empty(len(ids), dtype=np.int32)
    recode[used] = np.arange(len(used), dtype=np.int32)
    return recode[code], ids[used]


def _drop_unused(value: np.ndarray, categories: tuple, shown: pd.Index) -> tuple[np.ndarray, tuple, pd.Index]:
    """Categories no rating uses are dropped (codes renumbered, order kept)."""
    used = np.bincount(value, minlength=len(categories)) > 0
    if used.all():
        return value, categories, shown
    renumber = np.cumsum(used, dtype=np.int32) - 1
    return renumber[value], tuple(c for c, u in zip(categories, used) if u), shown[used]


def _side_table(code: np.ndarray, ids: pd.Index, columns: list[pd.Series]) -> pd.DataFrame:
    """Item or rater table: each column's value at the first row of each id (codes are in first-appearance order)."""
    if not columns:
        return pd.DataFrame(index=ids)
    first = np.flatnonzero(~pd.Series(code).duplicated().to_numpy())
    return pd.concat([c.iloc[first].set_axis(ids) for c in columns], axis=1)


def _positions(index: pd.Index, values: pd.Series, what: str) -> np.ndarray:
    """int32 position of each value in ``index``; every value must be there (trusted constructor input)."""
    position = index.get_indexer(values)
    if (position < 0).any():
        raise WorkbenchDataError(f"{what} {show(values.iloc[int(np.argmax(position < 0))])} is missing from the {what} table")
    return position.astype(np.int32)


def _join_side_table(table: pd.DataFrame, extra: pd.DataFrame | None, what: str) -> pd.DataFrame:
    if extra is None:
        return table
    if not isinstance(extra, pd.DataFrame):
        raise WorkbenchDataError(f"the {what} table must be a DataFrame indexed by {what}_id, got {type(extra).__name__}")
    extra = extra.copy()
    extra.index = pd.Index(extra.index.astype(str), name=f"{what}_id")
    if extra.index.has_duplicates:
        dup = extra.index[extra.index.duplicated()][0]
        raise WorkbenchDataError(f"the {what} table repeats {what}_id {dup!r}")
    extra = extra.drop(columns=[c for c in extra.columns if c in table.columns])
    return table.join(extra, how="left")

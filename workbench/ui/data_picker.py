"""The data picker: the demo study, the file the server was started with, or an upload with a column mapping."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

import pandas as pd
import panel as pn
import param

from ..data.datasets import READERS
from ..data.io import FORMATS, read_ratings, read_table
from ..data.ratings import Ratings
from ..data.recognise import MappingCheck, attribute_table, check_mapping, guess_mapping, recognise
from ..data.sources import open_ratings
from ..errors import WorkbenchDataError
from .workspace import Workspace

#: Largest upload accepted, in megabytes (``workbench serve --max-upload-mb`` changes it).
MAX_UPLOAD_MB = 200
LOG = logging.getLogger(__name__)
LEVELS = ("nominal", "ordinal", "interval", "ratio")
UPLOAD_SUFFIXES = tuple(FORMATS) + (".json",) + tuple(f"{s}.gz" for s in (*FORMATS, ".json") if s not in (".parquet", ".pq"))


def parse_categories(text: str) -> list | None:
    """Categories typed as ``1, 2, 3`` or ``A, B, tie`` (numbers when every entry is a number).

    >>> parse_categories("1, 2, 3"), parse_categories("A, B , tie"), parse_categories("  ")
    ([1, 2, 3], ['A', 'B', 'tie'], None)
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return None
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return parts
    return [int(n) if n.is_integer() else n for n in numbers]


#: File names that announce a rater-attributes file when two files are uploaded together.
ATTRIBUTE_NAMES = re.compile(r"annotator|rater|meta|demograph|worker|participant|people", re.IGNORECASE)


def _check_upload(filename: str, content: bytes, max_mb: float) -> None:
    if not filename or not filename.lower().endswith(UPLOAD_SUFFIXES):
        raise WorkbenchDataError(f"upload {filename!r}: use a file ending in {', '.join(UPLOAD_SUFFIXES)}")
    size_mb = len(content) / 2**20
    if size_mb > max_mb:
        raise WorkbenchDataError(f"upload {filename!r} is {size_mb:.0f} MB; the limit is {max_mb:g} MB "
                                 "(start the server with --max-upload-mb, or --data PATH for a file on its disk)")


def read_upload(filename: str, content: bytes, *, max_mb: float = MAX_UPLOAD_MB) -> pd.DataFrame:
    """The table in an uploaded file, with the same checks as a file on disk (extension, format, size).

    >>> read_upload("r.csv", b"item,rater,label\\n1,a,x\\n").columns.tolist()
    ['item', 'rater', 'label']
    """
    _check_upload(filename, content, max_mb)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(content)
        return read_table(path)


def split_uploads(paths: list[Path]) -> tuple[Path, Path | None]:
    """Which of the uploaded files holds the ratings and which (if any) the rater attributes.

    A file recognised as a public data set is the ratings; otherwise a name such as
    ``*annotators*``/``*meta*``/``*raters*`` marks the attributes, else the smaller file is taken for them.
    """
    if len(paths) == 1:
        return paths[0], None
    if len(paths) > 2:
        raise WorkbenchDataError(f"upload one ratings file and at most one rater-attributes file, not {len(paths)} files")
    known = [p for p in paths if recognise(p) is not None]
    if len(known) == 1:
        ratings = known[0]
    else:
        named = [p for p in paths if ATTRIBUTE_NAMES.search(p.name)]
        attributes = named[0] if len(named) == 1 else min(paths, key=lambda p: p.stat().st_size)
        ratings = next(p for p in paths if p != attributes)
    return ratings, next(p for p in paths if p != ratings)


def describe(ratings: Ratings) -> str:
    """Counts in words: ``'3,005 items, 506 raters, 15,178 ratings (nominal, 2 categories)'``.

    >>> import workbench
    >>> describe(workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6).ratings)
    '20 items, 6 raters, 60 ratings (nominal, 2 categories)'
    """
    def count(n, word):
        return f"{n:,} {word}{'' if n == 1 else 's'}"

    raters = count(ratings.n_raters, "rater") if ratings.has_raters else "no rater ids (label counts only)"
    scale = f"{len(ratings.categories)} categories" if ratings.categories is not None else "numeric labels"
    return f"{count(ratings.n_items, 'item')}, {raters}, {count(ratings.n_ratings, 'rating')} ({ratings.level}, {scale})"


class DataPicker(pn.viewable.Viewer):
    """Choose the data set of a session: the server's own, or uploaded files read as they were released.

    An upload is one ratings file, optionally with a rater-attributes file (select both at once). A
    public data set (ConvAbuse, LeWiDi/MultiPICo, ChaosNLI, HH-RLHF, SQuALITY, a saved study) is recognised
    by its content and read with its reader; any other table gets a guessed mapping (the item key may be
    several columns) and a preview of what it would give, with plain-language checks, before anything is
    computed. A mistake is shown as one sentence; the session keeps its current data set.

    >>> import workbench
    >>> ws = Workspace(ratings=workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6).ratings)
    >>> picker = DataPicker(workspace=ws)
    >>> picker.load_upload("r.csv", b"question,worker,vote\\n1,a,x\\n1,b,y\\n2,a,x\\n2,b,x\\n")
    >>> picker.item_columns, picker.rater_column, picker.label_column
    (['question'], 'worker', 'vote')
    >>> picker.apply_mapping(); ws.ratings
    Ratings(2 items, 2 raters, 4 ratings, nominal, categories=('x', 'y'))
    """

    workspace = param.ClassSelector(class_=Workspace)
    max_upload_mb = param.Number(default=MAX_UPLOAD_MB, bounds=(0, None))
    item_columns = param.ListSelector(default=[], objects=[], label="Item key (one or more columns)")
    rater_column = param.Selector(objects=[], label="Rater column")
    label_column = param.Selector(objects=[], label="Label column")
    level = param.Selector(objects=list(LEVELS), default="nominal", label="Level of measurement")
    categories = param.String(default="", label="Categories, in order (optional)")
    duplicates = param.Selector(objects=["error", "first", "last"], default="error", label="Repeated (item, rater) pairs")
    message = param.String(default="")
    preview = param.String(default="", doc="What the current mapping gives, and its checks (Markdown).")

    def __init__(self, **params):
        super().__init__(**params)
        self._table: pd.DataFrame | None = None
        self._attributes: pd.DataFrame | None = None
        self._recognised: Ratings | None = None
        self._filename = ""
        self._original: Ratings = self.workspace.ratings
        self._file = pn.widgets.FileInput(accept=",".join(UPLOAD_SUFFIXES), multiple=True)
        self._file.param.watch(lambda event: self._guard(self.load_files, self._file.filename, event.new), "value")
        self._load = pn.widgets.Button(label="Use this mapping", color="primary", disabled=True)
        self._load.on_click(lambda _: self._guard(self.apply_mapping))
        self._reset = pn.widgets.Button(label="Back to the server's data set")
        self._reset.on_click(lambda _: self._use(self._original, "Back to the server's data set."))

    def _guard(self, action, *args) -> None:
        try:
            action(*args)
        except WorkbenchDataError as err:
            self.message = f"⚠ {err}"
        except Exception:  # a reader tripped on an unexpected file: one sentence here, the details in the server log
            LOG.exception("data picker: %s failed", getattr(action, "__name__", action))
            self.message = ("⚠ The file could not be read: its content does not match what its format or data set "
                            "promises. Check that it is the file as released, or upload it as a plain table.")

    def load_upload(self, filename: str, content: bytes | None) -> None:
        """Read one uploaded file (see :meth:`load_files`)."""
        if content is not None:
            self.load_files([filename], [content])

    def load_files(self, filenames, contents) -> None:
        """Read uploaded files: the ratings (recognised or mapped) and optionally a rater-attributes file."""
        if contents is None:
            return
        if isinstance(filenames, str):
            filenames, contents = [filenames], [contents]
        for name, content in zip(filenames, contents):
            _check_upload(name, content, self.max_upload_mb)
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for name, content in zip(filenames, contents):
                paths.append(Path(folder) / Path(name).name)
                paths[-1].write_bytes(content)
            ratings_path, attributes_path = split_uploads(paths)
            found = recognise(ratings_path)
            if found is not None and found.reader in READERS:
                ratings = open_ratings(ratings_path, found.reader, raters=attributes_path)
                ratings.meta.update(dataset=ratings_path.name, source=f"upload: {ratings_path.name}", reader=found.what)
                self._read_recognised(ratings_path.name, ratings)
                return
            table = read_table(ratings_path)
            attributes = attribute_table(attributes_path) if attributes_path is not None else None
        self._read_table(ratings_path.name, table, attributes)

    def _read_recognised(self, filename: str, ratings: Ratings) -> None:
        self._table, self._attributes, self._recognised, self._filename = None, None, ratings, filename
        self._load.label, self._load.disabled = "Use this data set", False
        lines = [f"Read {filename!r} with the **{ratings.meta['reader']}** reader: {describe(ratings)}."]
        if "rater_attributes" in ratings.meta:
            lines.append(f"Rater attributes: {ratings.meta['rater_attributes']}.")
        elif ratings.has_raters and len(ratings.raters.columns):
            lines.append(f"Rater attributes: {', '.join(map(str, ratings.raters.columns))}.")
        if ratings.has_raters and ratings.raters_per_item().max() < 2:
            lines.append("⚠ Every item has one rating: agreement cannot be measured (the Models tab can still compare reward models).")
        self.preview = ""
        self.message = " ".join(lines) + " Press *Use this data set*."

    def _read_table(self, filename: str, table: pd.DataFrame, attributes: pd.DataFrame | None) -> None:
        columns = list(table.columns)
        if len(columns) < 3:
            raise WorkbenchDataError(f"upload {filename!r} has {len(columns)} column(s); ratings need item, rater and label columns")
        guess = guess_mapping(table)
        self._table, self._attributes, self._recognised, self._filename = table, attributes, None, filename
        self._load.label = "Use this mapping"
        with param.parameterized.discard_events(self):
            self.param.item_columns.objects = columns
            for name in ("rater_column", "label_column"):
                self.param[name].objects = columns
            self.param.update(item_columns=list(guess.item), rater_column=guess.rater, label_column=guess.label)
        extra = "" if attributes is None else f" and rater attributes ({len(attributes):,} rows)"
        self.message = (f"Read {filename!r}: {len(table):,} rows, columns {', '.join(map(str, columns))}{extra}. "
                        "The mapping below is a guess: check the preview, then press *Use this mapping*.")
        self._check()

    @param.depends("item_columns", "rater_column", "label_column", "duplicates", watch=True)
    def _check(self) -> MappingCheck | None:
        if self._table is None:
            return None
        check = check_mapping(self._table, list(self.item_columns), self.rater_column, self.label_column, duplicates=self.duplicates)
        self.preview = "**Preview**\n\n" + check.markdown()
        self._load.disabled = not check.ok
        return check

    def apply_mapping(self) -> None:
        """Make the uploaded data the session's data set (a recognised file as read; a table with the chosen mapping)."""
        if self._recognised is not None:
            ratings = self._recognised
        else:
            if self._table is None:
                raise WorkbenchDataError("upload a file first")
            check = self._check()
            if not check.ok:
                raise WorkbenchDataError(check.problems[0])
            ratings = read_ratings(
                self._table, item=list(self.item_columns), rater=self.rater_column, label=self.label_column, level=self.level,
                categories=parse_categories(self.categories), duplicates=self.duplicates, raters=self._attributes,
            )
            ratings.meta.update(dataset=self._filename, source=f"upload: {self._filename}")
        attributes = f" Rater attributes: {ratings.meta['rater_attributes']}." if "rater_attributes" in ratings.meta else ""
        self._use(ratings, f"Now showing {self._filename!r}: {describe(ratings)}.{attributes}")

    def _use(self, ratings: Ratings, message: str) -> None:
        self.workspace.ratings = ratings
        self.message = message

    def __panel__(self):
        mapping = pn.Param(self.param, parameters=["item_columns", "rater_column", "label_column", "level", "categories", "duplicates"],
                           widgets={"item_columns": pn.widgets.MultiChoice},
                           show_name=False, sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown(f"### Data\nUpload a ratings file (CSV, TSV, Parquet, JSONL or a LeWiDi JSON; gzip allowed; up to "
                             f"{self.max_upload_mb:g} MB), optionally together with a rater-attributes file (select both)."),
            self._file,
            pn.pane.Markdown(self.param.message, sizing_mode="stretch_width"),
            mapping, pn.pane.Markdown(self.param.preview, sizing_mode="stretch_width"), self._load, self._reset,
            sizing_mode="stretch_width",
        )

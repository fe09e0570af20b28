"""The data picker: the demo study, the file the server was started with, or an upload with a column mapping."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import panel as pn
import param

from ..data.io import FORMATS, read_ratings, read_table
from ..data.ratings import Ratings
from ..errors import WorkbenchDataError
from .workspace import Workspace

#: Largest upload accepted, in megabytes (``workbench serve --max-upload-mb`` changes it).
MAX_UPLOAD_MB = 200
LEVELS = ("nominal", "ordinal", "interval", "ratio")
UPLOAD_SUFFIXES = tuple(FORMATS) + tuple(f"{s}.gz" for s in FORMATS if s not in (".parquet", ".pq"))


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


def read_upload(filename: str, content: bytes, *, max_mb: float = MAX_UPLOAD_MB) -> pd.DataFrame:
    """The table in an uploaded file, with the same checks as a file on disk (extension, format, size).

    >>> read_upload("r.csv", b"item,rater,label\\n1,a,x\\n").columns.tolist()
    ['item', 'rater', 'label']
    """
    if not filename or not filename.lower().endswith(UPLOAD_SUFFIXES):
        raise WorkbenchDataError(f"upload {filename!r}: use a file ending in {', '.join(UPLOAD_SUFFIXES)}")
    size_mb = len(content) / 2**20
    if size_mb > max_mb:
        raise WorkbenchDataError(f"upload {filename!r} is {size_mb:.0f} MB; the limit is {max_mb:g} MB "
                                 "(start the server with --max-upload-mb, or --data PATH for a file on its disk)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(content)
        return read_table(path)


class DataPicker(pn.viewable.Viewer):
    """Choose the data set of a session: the server's own, or an uploaded file mapped to item, rater and label.

    A mistake (wrong format, wrong mapping, repeated pairs) is shown as the ``WorkbenchDataError``
    message; the session keeps its current data set.

    >>> import workbench
    >>> ws = Workspace(ratings=workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6).ratings)
    >>> picker = DataPicker(workspace=ws)
    >>> picker.load_upload("r.csv", b"q,who,vote\\n1,a,x\\n1,b,y\\n2,a,x\\n")
    >>> picker.item_column, picker.rater_column, picker.label_column
    ('q', 'who', 'vote')
    >>> picker.apply_mapping(); ws.ratings
    Ratings(2 items, 2 raters, 3 ratings, nominal, categories=('x', 'y'))
    """

    workspace = param.ClassSelector(class_=Workspace)
    max_upload_mb = param.Number(default=MAX_UPLOAD_MB, bounds=(0, None))
    item_column = param.Selector(objects=[], label="Item column")
    rater_column = param.Selector(objects=[], label="Rater column")
    label_column = param.Selector(objects=[], label="Label column")
    level = param.Selector(objects=list(LEVELS), default="nominal", label="Level of measurement")
    categories = param.String(default="", label="Categories, in order (optional)")
    duplicates = param.Selector(objects=["error", "first", "last"], default="error", label="Repeated (item, rater) pairs")
    message = param.String(default="")

    def __init__(self, **params):
        super().__init__(**params)
        self._table: pd.DataFrame | None = None
        self._filename = ""
        self._original: Ratings = self.workspace.ratings
        self._file = pn.widgets.FileInput(accept=",".join(UPLOAD_SUFFIXES))
        self._file.param.watch(lambda event: self._guard(self.load_upload, self._file.filename, event.new), "value")
        self._load = pn.widgets.Button(label="Use this mapping", color="primary", disabled=True)
        self._load.on_click(lambda _: self._guard(self.apply_mapping))
        self._reset = pn.widgets.Button(label="Back to the server's data set")
        self._reset.on_click(lambda _: self._use(self._original, "Back to the server's data set."))

    def _guard(self, action, *args) -> None:
        try:
            action(*args)
        except WorkbenchDataError as err:
            self.message = f"⚠ {err}"

    def load_upload(self, filename: str, content: bytes | None) -> None:
        """Read an uploaded file and offer its columns for the mapping (guessing the usual names)."""
        if content is None:
            return
        table = read_upload(filename, content, max_mb=self.max_upload_mb)
        columns = list(table.columns)
        if len(columns) < 3:
            raise WorkbenchDataError(f"upload {filename!r} has {len(columns)} column(s); ratings need item, rater and label columns")
        self._table, self._filename = table, filename
        guesses = (("item_id", "item", "id"), ("rater_id", "rater", "annotator", "worker"), ("label", "score", "rating"))
        for name, options in zip(("item_column", "rater_column", "label_column"), guesses):
            self.param[name].objects = columns
        chosen = [next((c for c in columns if str(c).lower() in options), None) for options in guesses]
        free = iter(c for c in columns if c not in chosen)
        self.item_column, self.rater_column, self.label_column = (c if c is not None else next(free) for c in chosen)
        self._load.disabled = False
        self.message = f"Read {filename!r}: {len(table):,} rows, columns {', '.join(map(str, columns))}. Map them and press *Use this mapping*."

    def apply_mapping(self) -> None:
        """Build Ratings from the uploaded table with the chosen mapping and make them the session's data set."""
        if self._table is None:
            raise WorkbenchDataError("upload a file first")
        ratings = read_ratings(
            self._table, item=self.item_column, rater=self.rater_column, label=self.label_column, level=self.level,
            categories=parse_categories(self.categories), duplicates=self.duplicates,
        )
        ratings.meta.update(dataset=self._filename, source=f"upload: {self._filename}")
        self._use(ratings, f"Now showing {self._filename!r}: {ratings!r}.")

    def _use(self, ratings: Ratings, message: str) -> None:
        self.workspace.ratings = ratings
        self.message = message

    def __panel__(self):
        mapping = pn.Param(self.param, parameters=["item_column", "rater_column", "label_column", "level", "categories", "duplicates"],
                           show_name=False, sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown(f"### Data\nUpload CSV, TSV, Parquet or JSONL (gzip allowed), up to {self.max_upload_mb:g} MB."),
            self._file, mapping, self._load, self._reset,
            pn.pane.Markdown(self.param.message, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

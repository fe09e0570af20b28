"""The Tag tab: tag items one at a time into a scheme's values, every click written to the store at once."""

from __future__ import annotations

import html
import re

import pandas as pd
import panel as pn
import param

from ..analysis.tags import STRATEGIES, tag_queue
from ..data.ratings import Ratings
from ..data.store import Store
from ..errors import WorkbenchDataError
from .background import call_in_session, session_document
from .tables import data_table
from .workspace import Workspace

#: Item columns shown as the item's text, in this order, when present.
TEXT_COLUMNS = ("prompt", "response_a", "response_b", "text")
NO_STORE = (
    "**Tagging needs a project store**, so that no tag is ever lost. Start the app with one:\n\n"
    "`workbench serve --store project.sqlite`\n\n"
    "or, in a notebook, `workbench.Tagger(ratings=..., store=workbench.Store(\"project.sqlite\"))`."
)


#: Number keys 1–9 click the visible value button labelled "k · value" (outside text fields). Buttons live in
#: shadow roots, so the search walks them; the listener is installed once per page when the document loads.
SHORTCUTS_JS = """
if (!window._workbenchTagKeys) {
  window._workbenchTagKeys = true;
  const find = (root, prefix) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'BUTTON' && el.textContent.trim().startsWith(prefix) && el.offsetParent !== null) return el;
      if (el.shadowRoot) { const found = find(el.shadowRoot, prefix); if (found) return found; }
    }
    return null;
  };
  document.addEventListener('keydown', (event) => {
    const target = event.composedPath()[0];
    if (target && ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) return;
    if (event.ctrlKey || event.metaKey || event.altKey || !/^[1-9]$/.test(event.key)) return;
    const button = find(document, event.key + ' \u00b7 ');
    if (button) { button.click(); event.preventDefault(); }
  });
}
"""


def install_shortcuts() -> bool:
    """Install the number keys on a served page; False where they cannot work (a notebook, no session)."""
    doc = pn.state.curdoc
    if doc is None or getattr(doc, "session_context", None) is None:
        return False
    if not getattr(doc, "_workbench_tag_keys", False):
        from bokeh.models import CustomJS

        doc.js_on_event("document_ready", CustomJS(code=SHORTCUTS_JS))
        doc._workbench_tag_keys = True
    return True


_WHOLE = re.compile(r"^-?\d+\.0+$")


def shown_value(value) -> str:
    """A value as a reader expects it: whole numbers without ``.0`` (an id read as a float), nothing missing as "—".

    >>> shown_value(27941.0), shown_value("27941.0"), shown_value(None), shown_value(float("nan")), shown_value(0.25)
    ('27941', '27941', '—', '—', '0.25')
    """
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text.split(".")[0] if _WHOLE.match(text) else text


def shown_time(value) -> str:
    """A stored tag time (ISO, UTC, microseconds) to the minute, in UTC.

    >>> shown_time("2026-12-02T23:40:12.123456+00:00"), shown_time(None)
    ('2026-12-02 23:40', '—')
    """
    if value is None or value != value:
        return "—"
    try:
        return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError):
        try:
            return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
        except (ValueError, TypeError):
            return str(value)


def _escaped(text) -> str:
    return f"<div style='white-space: pre-wrap'>{html.escape(shown_value(text))}</div>"


class Tagger(pn.viewable.Viewer):
    """Tag items of a study in a scheme, one at a time, in the order a queue strategy picks.

    Every click is one append-only row in the store (nothing is held in the page), so closing the
    browser loses nothing and several taggers can work on one store at once. A tag written bumps
    ``workspace.tag_revision``.

    >>> import tempfile, pathlib, workbench
    >>> study = workbench.simulate_study(n_items=30, ratings_per_item=4, n_raters=8)
    >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
    >>> tagger = workbench.Tagger(ratings=study.ratings, store=store, tagger="ana")
    >>> first = tagger.item_id
    >>> tagger.tag("manifest")
    >>> store.current_tags()[["item_id", "value", "tagger"]].values.tolist() == [[first, "manifest", "ana"]]
    True
    >>> tagger.item_id != first, tagger.progress()
    (True, (1, 30))

    **Undo** takes back this tagger's latest tag written here, wherever the queue has moved since, and shows
    that item again:

    >>> tagger.undo()
    >>> tagger.item_id == first, store.current_tags().empty
    (True, True)
    """

    workspace = param.ClassSelector(class_=Workspace, doc="The shared state (ratings, store, tag revision).")
    scheme = param.Selector(default=None, objects=[], doc="The scheme being tagged.")
    tagger = param.String(default="", doc="Who is tagging (the app's login when there is one).")
    strategy = param.Selector(default="entropy", objects=list(STRATEGIES), doc="Queue order.")
    by = param.Selector(default=None, objects=[None], doc="Rater column: per-group label counts and the divergence queue.")
    note = param.String(default="", doc="Note written with the next tag.")
    position = param.Integer(default=0, bounds=(0, None), doc="Place of the shown item in the queue.")
    message = param.String(default="", doc="The last error or hint shown to the user.")

    def __init__(self, *, ratings: Ratings | None = None, store: Store | None = None, workspace: Workspace | None = None,
                 scheme: str = "subjectivity", tagger: str | None = None, **params):
        if workspace is None:
            workspace = Workspace(ratings=ratings, store=store)
        super().__init__(workspace=workspace, **params)
        self.queue: list[str] = []
        self._written: list[tuple[str, str, str]] = []  # (item, scheme, tagger) of each tag written here, for Undo
        self._keys = False
        self._synced = False
        self._user = self.workspace.user or (pn.state.user if pn.state.curdoc is not None else None)
        if self._user:
            self.tagger = str(self._user)
        elif tagger:
            self.tagger = tagger
        if not self._ready:
            return
        schemes = list(self.workspace.store.schemes())
        self.param.scheme.objects = schemes
        self.scheme = scheme if scheme in schemes else schemes[0]
        if self.ratings.has_raters:
            self.param.by.names = {"(none)": None, **{str(c): c for c in self.ratings.raters.columns}}
            self.param.by.objects = [None] + list(self.ratings.raters.columns)
        self._build_widgets()
        self._rebuild_queue()
        self.param.watch(self._on_scheme, "scheme")
        self.param.watch(lambda _: self._rebuild_queue(), ["strategy", "by", "tagger"])
        self.param.watch(lambda _: self._show(), "position")
        self._doc = session_document()
        self._data = self.workspace.ratings
        self._tag_watcher = self.workspace.param.watch(self._on_tags_written, "tag_revision")
        self._in_use_watcher = self.workspace.param.watch(self._on_data_in_use, "in_use")

    # ------------------------------------------------------------------ state
    @property
    def ratings(self) -> Ratings | None:
        """The ratings shown: the workspace's ratings in use (raw, or cleaned)."""
        return self.workspace.in_use

    def _on_data_in_use(self, _event) -> None:
        """The workspace switched between raw and cleaned data: queue its items, staying on the item shown if it is still there."""
        if self.workspace.ratings is not self._data:  # the app replaced this tab for another data set
            self.workspace.param.unwatch(self._in_use_watcher)
            return
        shown = self.item_id
        self._rebuild_queue()
        if shown in self.queue:
            self.position = self.queue.index(shown)

    @property
    def store(self) -> Store | None:
        return self.workspace.store

    @property
    def _ready(self) -> bool:
        return self.workspace.ratings is not None and self.workspace.store is not None

    @property
    def item_id(self) -> str | None:
        """The item shown (``None`` when the queue is empty)."""
        return self.queue[self.position] if self.queue and self.position < len(self.queue) else None

    def progress(self) -> tuple[int, int]:
        """(items tagged in the scheme by anyone, items in the study)."""
        return self._progress_of(self.store.current_tags(self.scheme, per_tagger=True))

    def _progress_of(self, tags: pd.DataFrame) -> tuple[int, int]:
        return tags.loc[tags["item_id"].isin(self.ratings.items.index), "item_id"].nunique(), self.ratings.n_items

    def _rebuild_queue(self) -> None:
        try:
            queue = tag_queue(self.ratings, self.store, self.scheme, strategy=self.strategy, by=self.by,
                              tagger=self.tagger.strip() or None)
        except WorkbenchDataError as err:
            self.message = str(err)
            return
        self.message = ""
        self.queue = queue["item_id"].tolist()
        self._scores = queue.set_index("item_id")["score"]
        if self.position == 0:
            self._show()
        else:
            self.position = 0

    # ------------------------------------------------------------------ actions
    def _name(self) -> str | None:
        name = self.tagger.strip()
        if not name:
            self.message = "Enter your name first: every tag records who set it."
            return None
        return name

    def _write(self, action) -> bool:
        name = self._name()
        if name is None or self.item_id is None:
            return False
        try:
            action(name)
        except WorkbenchDataError as err:
            self.message = str(err)
            return False
        self.message = ""
        self.workspace.tags_changed()
        return True

    def tag(self, value: str) -> None:
        """Set ``value`` on the shown item (multi-choice: add it, or remove it if the tagger has it).

        A single-choice tag moves on to the next item.
        """
        scheme = self.store.scheme(self.scheme)
        note = self.note.strip() or None

        def write(name):
            if scheme.multi:
                mine = self.store.current_tags(self.scheme, item_id=self.item_id, per_tagger=True)
                if value in set(mine.loc[mine["tagger"] == name, "value"]):
                    self.store.remove_tag(self.item_id, self.scheme, value, tagger=name, note=note)
                    return
            self.store.add_tag(self.item_id, self.scheme, value, tagger=name, note=note)

        item = self.item_id
        if self._write(write):
            self._written.append((item, self.scheme, self.tagger.strip()))
            self.note = ""
            if not scheme.multi:
                self.next()

    def undo(self) -> None:
        """Take back the latest tag written here by this tagger (new history rows; nothing is deleted), wherever the
        view has moved since, and show that item again. Each further Undo takes back the tag before it."""
        name = self._name()
        if name is None:
            return
        mine = [k for k, (_, _, who) in enumerate(self._written) if who == name]
        if not mine:
            self.message = "Nothing to undo: you have not tagged anything here since the page opened."
            return
        item, scheme, _ = self._written.pop(mine[-1])
        try:
            self.store.undo_tag(item, scheme, tagger=name)
        except WorkbenchDataError as err:
            self.message = str(err)
            return
        self.workspace.tags_changed()
        if scheme != self.scheme:
            self.scheme = scheme
        if item in self.queue and self.queue.index(item) != self.position:
            self.position = self.queue.index(item)
        else:
            self._refresh_tags()
        self.message = f"Undone: your last tag on item {shown_value(item)} ({scheme})."

    def next(self) -> None:
        if self.position + 1 < len(self.queue):
            self.position += 1
        else:
            self.message = "End of the queue."

    def previous(self) -> None:
        if self.position > 0:
            self.position -= 1

    def skip(self) -> None:
        """Move the shown item to the end of the queue and show the next one."""
        if self.item_id is None or len(self.queue) < 2:
            return
        self.queue.append(self.queue.pop(self.position))
        if self.position >= len(self.queue) - 1:
            self.position = 0
        else:
            self._show()

    def _on_scheme(self, _event) -> None:
        self._build_buttons()
        self._rebuild_queue()

    def _on_tags_written(self, _event) -> None:
        """Refresh the tags shown; a write from another session is handled in this session's own event loop."""
        if self.workspace.ratings is not self._data:  # the app replaced this tab for another data set
            self.workspace.param.unwatch(self._tag_watcher)
            return
        call_in_session(self._doc, self._refresh_tags)

    # ------------------------------------------------------------------ view
    def _build_widgets(self) -> None:
        self._keys = install_shortcuts()
        name = pn.widgets.TextInput.from_param(self.param.tagger, label="Your name", placeholder="who is tagging",
                                               disabled=bool(self._user))
        self._controls = pn.Column(
            name,
            pn.widgets.Select.from_param(self.param.scheme, label="Scheme"),
            pn.widgets.Select.from_param(self.param.strategy, label="Queue order"),
            pn.widgets.Select.from_param(self.param.by, label="Rater groups"),
            sizing_mode="stretch_width",
        )
        self._description = pn.pane.Markdown(sizing_mode="stretch_width")
        self._buttons = pn.Column(sizing_mode="stretch_width")
        self._note = pn.widgets.TextInput.from_param(self.param.note, label="Note (saved with the next tag)", sizing_mode="stretch_width")
        navigation = []
        for label, action in (("◀ Previous", self.previous), ("Next ▶", self.next), ("Skip", self.skip), ("Undo", self.undo)):
            button = pn.widgets.Button(label=label, color="default")
            button.on_click(lambda _event, act=action: act())
            navigation.append(button)
        self._navigation = pn.Row(*navigation)
        self._header = pn.pane.Markdown(sizing_mode="stretch_width")
        self._text = pn.Column(sizing_mode="stretch_width")
        self._labels = data_table(sizing_mode="stretch_width")
        self._rationales = pn.Column(sizing_mode="stretch_width")
        self._current = data_table(index=False, sizing_mode="stretch_width")
        self._progress = pn.indicators.Progress(value=0, max=1, sizing_mode="stretch_width", bar_color="success")
        self._progress_text = pn.pane.Markdown()
        self._alert = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self.param.watch(self._on_message, "message")
        self._build_buttons()

    def _on_message(self, event) -> None:
        self._alert.alert_type = "success" if event.new.startswith("Undone") else "warning"  # a done Undo is no warning
        self._alert.object = event.new
        self._alert.visible = bool(event.new)

    def _build_buttons(self) -> None:
        scheme = self.store.scheme(self.scheme)
        kind = "several values may apply (click again to remove one)" if scheme.multi else "one value"
        keys = "; keys 1–9 pick a value" if self._keys else ""
        self._description.object = f"**{scheme.name}** — {scheme.description or ''} *({kind}{keys})*"
        rows = []
        for number, (value, definition) in enumerate(scheme.values.items(), start=1):
            label = f"{number} · {value}" if self._keys and number <= 9 else value
            button = pn.widgets.Button(label=label, color="primary", width=220)
            button.on_click(lambda _event, v=value: self.tag(v))
            rows.append(pn.Row(button, pn.pane.Markdown(html.escape(definition), margin=(0, 10), sizing_mode="stretch_width"), sizing_mode="stretch_width"))
        self._buttons.objects = rows

    def _show(self) -> None:
        if not hasattr(self, "_header"):
            return
        item = self.item_id
        if item is None:
            self._header.object = "*Nothing to tag.*"
            self._text.objects, self._rationales.objects = [], []
            self._labels.object = None
            self._refresh_tags()
            return
        self._header.object = f"### Item {self.position + 1} of {len(self.queue)} · `{shown_value(item)}`  \n{self._score_text(item)}"
        row = self.ratings.items.loc[item]
        shown = [c for c in TEXT_COLUMNS if c in row.index]
        if not shown:
            shown = [c for c in row.index if isinstance(row[c], str)]
        self._text.objects = [pn.Column(pn.pane.Markdown(f"**{c}**", margin=(0, 10)), pn.pane.HTML(_escaped(row[c]), sizing_mode="stretch_width"))
                              for c in shown]
        self._labels.object = self._label_table(item)
        self._rationales.objects = self._rationale_panes(item)
        self._refresh_tags()

    def _score_text(self, item: str) -> str:
        """Why the item is here, in words: the queue's score for it."""
        score = self._scores.get(item, float("nan"))
        if score != score:
            return ""
        if self.strategy == "entropy":
            return f"label entropy {score:.2f} (normalised: 0 = all raters agree, 1 = an even split)"
        if self.strategy == "divergence":
            return f"group divergence {score:.3f} bits (Jensen–Shannon among the {self.by} groups)"
        if self.strategy == "conflict":
            return f"taggers in conflict: {score:.0%} of tagger pairs"
        return "random order"

    def _label_table(self, item: str) -> pd.DataFrame:
        """Label counts on the item: all raters, then per group of ``by``."""
        overall = self.ratings.label_counts().loc[[item]].rename(index={item: "all raters"}).rename_axis(index=None, columns=None)
        if self.by is None or not self.ratings.has_raters:
            return overall
        rows = self.ratings.ratings[self.ratings.ratings["item_id"] == item]
        groups = rows["rater_id"].map(self.ratings.raters[self.by]).astype(str)
        per_group = pd.crosstab(groups, rows["label"]).reindex(columns=overall.columns, fill_value=0).rename_axis(index=None, columns=None)
        per_group.index = [f"{self.by} = {g}" for g in per_group.index]
        return pd.concat([overall, per_group])

    def _rationale_panes(self, item: str) -> list:
        if not self.ratings.has_raters or "rationale" not in self.ratings.ratings.columns:
            return []
        rows = self.ratings.ratings[(self.ratings.ratings["item_id"] == item) & self.ratings.ratings["rationale"].notna()]
        if rows.empty:
            return []
        lines = "".join(f"<li><b>{html.escape(str(r.rater_id))}</b> ({html.escape(str(r.label))}): {html.escape(str(r.rationale))}</li>"
                        for r in rows.itertuples())
        return [pn.pane.Markdown("**Rater rationales**"), pn.pane.HTML(f"<ul>{lines}</ul>", sizing_mode="stretch_width")]

    def _refresh_tags(self) -> None:
        if not hasattr(self, "_current"):
            return
        tags = self.store.current_tags(self.scheme, per_tagger=True)  # one read serves the item, progress and yours
        item = self.item_id
        if item is None:
            self._current.object = None
        else:
            current = tags.loc[tags["item_id"] == item, ["tagger", "value", "note", "time"]].copy()
            current["note"] = current["note"].map(lambda v: "—" if v is None or v != v or not str(v).strip() else str(v))
            current["time"] = current["time"].map(shown_time)
            self._current.object = current.rename(columns={"time": "time (UTC)"})
        tagged, total = self._progress_of(tags)
        name = self.tagger.strip()
        yours = tags.loc[tags["tagger"] == name, "item_id"].nunique() if name else 0
        self._progress.max, self._progress.value = total, tagged
        self._progress_text.object = f"**{tagged} / {total}** items tagged in *{self.scheme}* ({yours} by you)"

    def __panel__(self):
        if self.workspace.ratings is None:
            return pn.pane.Alert("No data set loaded: pass ratings=… (see workbench.read_ratings).", alert_type="warning")
        if self.workspace.store is None:
            return pn.pane.Alert(NO_STORE, alert_type="info")
        if pn.state.location is not None and pn.state.curdoc is not None and not self._user and not self._synced:
            pn.state.location.sync(self, {"tagger": "tagger"})  # the name survives a reload of the page
            self._synced = True
        item = pn.Column(self._header, self._text, pn.pane.Markdown("**Labels**"), self._labels, self._rationales,
                         sizing_mode="stretch_width")
        panel = pn.Column(
            self._controls, self._progress_text, self._progress, self._description, self._buttons, self._note,
            self._navigation, pn.pane.Markdown("**Current tags on this item**"), self._current,
            sizing_mode="stretch_width",
        )
        return pn.Column(pn.pane.Markdown("## Tag"), self._alert, pn.Row(item, panel, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")

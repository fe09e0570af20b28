"""The shared state every tab receives and watches (ARCHITECTURE.md, "One shared state, many views")."""

from __future__ import annotations

import panel as pn
import param

from ..data.ratings import Ratings
from ..data.store import Store


class Workspace(param.Parameterized):
    """One data set, its store, and what the tabs tell each other.

    Components never hold each other: a tag written in the Tagger bumps ``tag_revision``; a recipe
    applied in the Cleaner sets ``recipe`` and ``cleaned``; scored models land in ``scores``. A
    component watches the parameters it needs (``param.depends``). In a notebook, pass the same
    workspace to several components to link them.

    >>> import workbench
    >>> from workbench.ui.workspace import Workspace
    >>> ws = Workspace(ratings=workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6).ratings)
    >>> ws.tag_revision, ws.cleaned is None, ws.in_use is ws.ratings
    (0, True, True)

    ``in_use`` is the ratings every view shows: the raw ``ratings``, or ``cleaned`` once a recipe is
    put in use (:meth:`use_cleaned`); :meth:`use_raw` goes back. A component given a workspace
    watches ``in_use`` and follows it (raw ↔ cleaned; a new ``ratings`` drops the recipe, and the app
    builds new components for the new data set, as the components stop following a data set they were not built for):

    >>> cleaned = ws.ratings.subset(items=ws.ratings.items.index[:10])
    >>> ws.use_cleaned(cleaned, {"name": "first ten", "rules": []})
    >>> ws.active, ws.in_use.n_items, ws.describe_in_use()
    ('cleaned', 10, 'cleaned data (recipe “first ten”): 30 of 60 ratings, 10 of 20 items')
    >>> ws.use_raw(); ws.active, ws.in_use.n_items
    ('raw', 20)
    """

    ratings = param.ClassSelector(class_=Ratings, doc="The data set, as read (never modified).")
    store = param.ClassSelector(class_=Store, allow_None=True, doc="The project store (tags, recipes, scores), if any.")
    tag_revision = param.Integer(default=0, doc="Bumped after every tag write, so tag-derived views refresh.")
    recipe = param.Dict(default=None, allow_None=True, doc="The active cleaning recipe (as exported), if any.")
    recipe_source = param.ClassSelector(class_=Ratings, allow_None=True, doc=(
        "The ratings the recipe was applied to (the raw ratings with the columns its rules read, such as committee "
        "groups or attentiveness); None: the raw ratings."))
    cleaned = param.ClassSelector(class_=Ratings, allow_None=True, doc="The active recipe applied to ``ratings``.")
    scores = param.Dict(default={}, doc="Scored models: name -> DataFrame with item_id, score_a, score_b.")
    user = param.String(default=None, allow_None=True, doc="The logged-in user (served with --basic-auth or OAuth), if any.")
    active = param.Selector(default="raw", objects=["raw", "cleaned"],
                            doc="Which ratings the views show: the raw data as read, or the cleaned data of ``recipe``.")
    in_use = param.ClassSelector(class_=Ratings, allow_None=True, constant=True,
                                 doc="The ratings every view shows (set from ``ratings``, ``cleaned`` and ``active``; read only).")

    def __init__(self, **params):
        super().__init__(**params)
        if self.active == "cleaned" and self.cleaned is None:
            self.active = "raw"
        self._follow()
        self.param.watch(self._new_data, "ratings")
        self.param.watch(lambda *_: self._follow(), ["cleaned", "active"])
        self._shared = None
        if self.store is not None:  # sessions on one store hear of each other's tag writes
            self._shared = _SHARED.setdefault(str(self.store.path), _StoreSignals())
            self._watcher = self._shared.param.watch(lambda event: self.param.update(tag_revision=event.new), "tag_revision")

    def _new_data(self, _event) -> None:
        """Another data set: a recipe made for the old one no longer applies."""
        self.param.update(cleaned=None, recipe=None, recipe_source=None, active="raw")
        self._follow()

    def _follow(self) -> None:
        ratings = self.cleaned if self.active == "cleaned" and self.cleaned is not None else self.ratings
        if ratings is not self.in_use:
            with param.edit_constant(self):
                self.in_use = ratings

    def use_cleaned(self, cleaned: Ratings, recipe: dict | None = None, source: Ratings | None = None) -> None:
        """Make ``cleaned`` (made by ``recipe`` from ``source``, default the raw ratings) the ratings every view shows."""
        self.param.update(cleaned=cleaned, recipe=recipe, recipe_source=source, active="cleaned")

    def use_raw(self) -> None:
        """Show the raw data again (the cleaned data stays at hand: ``active = "cleaned"`` brings it back)."""
        self.active = "raw"

    def recipe_name(self) -> str:
        """The active recipe's name, for banners and messages."""
        return str((self.recipe or {}).get("name") or "unnamed recipe")

    def describe_in_use(self) -> str:
        """One plain phrase for what the views show."""
        if self.active != "cleaned" or self.cleaned is None:
            return "raw data as read"
        raw, cleaned = self.ratings, self.cleaned
        return (f"cleaned data (recipe “{self.recipe_name()}”): {cleaned.n_ratings:,} of {raw.n_ratings:,} ratings, "
                f"{cleaned.n_items:,} of {raw.n_items:,} items")

    def tags_changed(self) -> None:
        """Tell every watcher — in this session and in every other session on the same store — that tags were written.

        >>> import tempfile, workbench
        >>> store = workbench.Store(tempfile.mkdtemp() + "/p.sqlite")
        >>> ratings = workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6).ratings
        >>> mine, theirs = Workspace(ratings=ratings, store=store), Workspace(ratings=ratings, store=store)
        >>> mine.tags_changed(); theirs.tag_revision == mine.tag_revision
        True
        """
        if self._shared is None:
            self.tag_revision += 1
        else:
            self._shared.tag_revision += 1

    def close(self) -> None:
        """Stop listening to other sessions (called when a browser session ends)."""
        if self._shared is not None:
            self._shared.param.unwatch(self._watcher)
            self._shared = None


class _StoreSignals(param.Parameterized):
    """What one store's sessions tell each other (one per store path, per server process)."""

    tag_revision = param.Integer(default=0)


_SHARED: dict[str, _StoreSignals] = {}


class InUseBanner(pn.viewable.Viewer):
    """A banner over every tab while the cleaned data is in use: the recipe, the counts, and a way back.

    >>> import workbench
    >>> ws = Workspace(ratings=workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6).ratings)
    >>> banner = InUseBanner(workspace=ws)
    >>> banner.text() == ""
    True
    >>> ws.use_cleaned(ws.ratings.subset(items=ws.ratings.items.index[:5]), {"name": "five"})
    >>> print(banner.text())
    Showing the cleaned data (recipe “five”): 15 of 60 ratings, 5 of 20 items.
    >>> banner.back(); ws.active
    'raw'
    """

    workspace = param.ClassSelector(class_=Workspace)

    def __init__(self, **params):
        super().__init__(**params)
        self._text = pn.pane.Markdown("", margin=(0, 10), sizing_mode="stretch_width")
        self._back = pn.widgets.Button(label="Back to the raw data", color="warning", width=200)
        self._back.on_click(lambda _: self.back())
        self._layout = pn.Row(self._text, self._back, sizing_mode="stretch_width", visible=False, css_classes=["workbench-in-use"],
                              styles={"background": "#fff3cd", "border": "1px solid #ffe69c", "border-radius": "4px"})
        self.workspace.param.watch(lambda *_: self._refresh(), ["in_use", "recipe"])
        self._refresh()

    def text(self) -> str:
        """What the banner says ("" when the raw data is in use)."""
        if self.workspace.active != "cleaned" or self.workspace.cleaned is None:
            return ""
        return f"Showing the {self.workspace.describe_in_use()}."

    def back(self) -> None:
        """Go back to the raw data."""
        self.workspace.use_raw()

    def _refresh(self) -> None:
        text = self.text()
        self._text.object = f"**{text}**" if text else ""
        self._layout.visible = bool(text)

    def __panel__(self):
        return self._layout

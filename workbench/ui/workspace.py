"""The shared state every tab receives and watches (ARCHITECTURE.md, "One shared state, many views")."""

from __future__ import annotations

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
    >>> ws.tag_revision, ws.cleaned is None
    (0, True)
    """

    ratings = param.ClassSelector(class_=Ratings, doc="The data set, as read (never modified).")
    store = param.ClassSelector(class_=Store, allow_None=True, doc="The project store (tags, recipes, scores), if any.")
    tag_revision = param.Integer(default=0, doc="Bumped after every tag write, so tag-derived views refresh.")
    recipe = param.Dict(default=None, allow_None=True, doc="The active cleaning recipe (as exported), if any.")
    cleaned = param.ClassSelector(class_=Ratings, allow_None=True, doc="The active recipe applied to ``ratings``.")
    scores = param.Dict(default={}, doc="Scored models: name -> DataFrame with item_id, score_a, score_b.")
    user = param.String(default=None, allow_None=True, doc="The logged-in user (served with --basic-auth or OAuth), if any.")

    def __init__(self, **params):
        super().__init__(**params)
        self._shared = None
        if self.store is not None:  # sessions on one store hear of each other's tag writes
            self._shared = _SHARED.setdefault(str(self.store.path), _StoreSignals())
            self._watcher = self._shared.param.watch(lambda event: self.param.update(tag_revision=event.new), "tag_revision")

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

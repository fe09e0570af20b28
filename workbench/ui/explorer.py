"""The Explorer: where people disagree, which rater groups split and on what, whether it is more than noise, how many raters are enough."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import panel.models.tabulator  # noqa: F401  (so served pages ship Tabulator's JavaScript, from the server)
import param
from bokeh.models import NumberFormatter

from ..analysis.convergence import answer_from_curve, convergence, sample_size
from ..analysis.distributions import entropy
from ..analysis.divergence import cross_reliability, group_divergence, item_groups
from ..analysis.groups import DEFAULT_BINS, columns_with_few_values, group_attributes, grouping
from ..analysis.reliability import reliability
from ..data.ratings import Ratings
from ..data.store import Store
from ..errors import WorkbenchDataError
from . import figures
from .background import STOPPING, after_this_event, call_in_session, error_text, run_in_background, session_document
from .tables import data_table
from .workspace import Workspace


ALL = "(all items)"
NONE = "(none)"
#: Fewest ratings a group needs on an item to be compared there (group_divergence's default).
MIN_PER_GROUP = 3
#: The Explorer opens on an attribute with at most this many groups (a binned one counts its bins).
MAX_DEFAULT_GROUPS = 8
#: Item columns with at most this many values are offered as filters.
MAX_FILTER_VALUES = 60
#: Text shown for a selected item, when the data set has these item columns.
TEXT_COLUMNS = ("prompt", "response_a", "response_b", "text", "post", "reply", "premise", "hypothesis")
VOLCANO_X = "JSD between the group and the other raters (bits)"
ITEM_COLUMNS = ["item_id", "entropy", "jsd", "group", "p_value", "q_value", "n_ratings", "note"]


class _Superseded(Exception):
    """Raised inside a background job whose view has been replaced (a regrouping, a filter): the job stops early."""


def q_floor_note(n_perm: int, n_items: int) -> str:
    """What a permutation count allows: the smallest p, the smallest q a single item can reach, and what would do.

    >>> q_floor_note(1000, 2000)
    'With 1,000 permutations the smallest p is 0.000999; among 2,000 tested items a single item cannot reach q below 1 (Benjamini–Hochberg). To flag single items at q < 0.05, use at least 39,999 permutations.'
    """
    floor = min(n_items / (n_perm + 1), 1.0)
    text = (f"With {n_perm:,} permutations the smallest p is {1 / (n_perm + 1):.3g}; among {n_items:,} tested items a single "
            f"item cannot reach q below {floor:.3g} (Benjamini–Hochberg).")
    if floor >= 0.05:
        text += f" To flag single items at q < 0.05, use at least {int(np.ceil(20 * n_items - 1)):,} permutations."
    return text


#: Work the Explorer's permutation test may take by default, in items × permutations (about 25 s on 2 cores).
AUTO_PERMUTATION_BUDGET = 100_000_000


def default_permutations(n_items: int) -> int:
    """Permutations to run for ``n_items`` when none are asked for: enough for a single item to reach q < 0.05
    (Benjamini–Hochberg over ``n_items``: 20 × n_items − 1), at least 1,000, within AUTO_PERMUTATION_BUDGET
    (beyond it, the page states the q floor instead).

    >>> default_permutations(30), default_permutations(2_000), default_permutations(50_000)
    (1000, 39999, 2000)
    """
    needed = 20 * max(int(n_items), 1) - 1
    return int(max(1000, min(needed, AUTO_PERMUTATION_BUDGET // max(int(n_items), 1))))


class Explorer(pn.viewable.Viewer):
    """Disagreement explorer: entropy, group divergence with permutation tests, per-group and cross-group agreement, convergence.

    Choose a rater attribute to group by and an item filter; the item-level views follow at once,
    the permutation test, bootstraps and convergence draws run off the request thread (from the
    first display on; :meth:`start` starts them without one).

    Groups are rater attributes only (:func:`workbench.analysis.groups.group_attributes`): a
    per-rating column (ConvAbuse's ``type.ableism``) describes a rating, not a rater, and item
    columns and the store's tags slice the data instead (the item filter; tags follow new writes). A numeric attribute with many values is cut
    into ``bins`` quantile bins, shown by the values they hold ("18–24"). The Explorer opens on an
    attribute with at most 8 groups. The selected item is kept by its id: regrouping or filtering
    keeps it selected (highlighted when listed). Given a shared ``workspace``, the Explorer shows
    ``workspace.in_use`` (raw or cleaned) and follows it.

    >>> import workbench
    >>> explorer = workbench.Explorer(ratings=workbench.simulate_study(n_items=60, ratings_per_item=8, n_raters=20).ratings)
    >>> explorer.group_by, len(explorer.items_frame())
    ('age_band', 60)
    >>> explorer.filter_column = "split"; explorer.filter_value = "helpful"
    >>> bool(len(explorer.items_frame()) < 60)
    True
    """

    workspace = param.ClassSelector(class_=Workspace, doc="The shared state (data set, store).")
    group_by = param.Selector(default=None, objects=[], doc="Rater attribute whose groups are compared.")
    bins = param.Integer(default=DEFAULT_BINS, bounds=(2, 10), doc="Quantile bins of a numeric attribute with many values.")
    min_per_group = param.Integer(default=MIN_PER_GROUP, bounds=(1, 50), doc="Fewest ratings a group needs on an item to be compared there.")
    filter_column = param.Selector(default=NONE, objects=[NONE], doc="Item column to filter by.")
    filter_value = param.Selector(default=ALL, objects=[ALL], doc="The value of filter_column to keep.")
    entropy_range = param.Range(default=(0.0, 1.0), bounds=(0.0, 1.0), doc="Normalised entropy range of the items listed.")
    item = param.String(default=None, allow_None=True, doc="The selected item.")
    target = param.Number(default=0.05, bounds=(0.005, 0.3), step=0.005, doc="Sample-size target (JSD, bits).")
    n_perm = param.Integer(default=None, bounds=(0, None), allow_None=True,
                           doc="Permutations behind the p-values (None: default_permutations for the items shown).")
    n_boot = param.Integer(default=200, bounds=(0, None), doc="Bootstrap replicates behind the intervals.")
    n_draws = param.Integer(default=100, bounds=(1, None), doc="Subsamples per size for convergence.")
    tests = param.Dict(default=None, allow_None=True, doc="Results of the long computations for the current view.")
    status = param.String(default="", doc="What the long computations are doing.")
    error = param.String(default="", doc="The last input error, shown instead of a traceback.")
    data_revision = param.Integer(default=0, doc="Bumped when the workspace's ratings in use change (raw ↔ cleaned).")

    def __init__(self, ratings: Ratings | None = None, store: Store | None = None, workspace: Workspace | None = None, **params):
        if workspace is None:
            workspace = Workspace(ratings=ratings, store=store)
        super().__init__(workspace=workspace, **params)
        self._cache: dict = {}
        self._job = 0
        self._progress = pn.indicators.Progress(active=False, visible=False, width=200, bar_color="info")
        with param.parameterized.discard_events(self):
            self._offer_choices()
        self._data = self.workspace.ratings
        self._in_use_watcher = self.workspace.param.watch(self._on_data_in_use, "in_use")
        self._doc = session_document()
        if self._doc is not None:  # a closed page stops its long work
            self._doc.on_session_destroyed(lambda _context: setattr(self, "_job", self._job + 1))
        self._tag_watcher = self.workspace.param.watch(self._on_tags_written, "tag_revision")

    # ------------------------------------------------------------------ choices
    @property
    def ratings(self) -> Ratings | None:
        """The ratings shown: the workspace's ratings in use (raw, or cleaned)."""
        return self.workspace.in_use

    def sliced(self) -> Ratings | None:
        """The ratings in use plus the store's current tags as item columns (so tags slice the items, like item columns)."""
        key = ("sliced", self.workspace.tag_revision)
        if key not in self._cache:
            ratings = self.ratings
            if ratings is not None and self.workspace.store is not None and len(self.workspace.store.current_tags()):
                from ..analysis.tags import with_tags

                try:
                    ratings = with_tags(ratings, self.workspace.store)
                except WorkbenchDataError:
                    pass  # tag columns that clash with the data's own columns are left out
            self._cache[key] = ratings
        return self._cache[key]

    def _item_filters(self) -> list[str]:
        return columns_with_few_values(self.sliced().items, MAX_FILTER_VALUES)

    def _offer_choices(self) -> None:
        ratings = self.ratings
        if ratings is None or not ratings.has_raters:
            self.param.group_by.objects = []
            return
        attributes = group_attributes(ratings, max_groups=MAX_FILTER_VALUES)
        self._attributes = attributes
        groupable = list(attributes.index)
        self.param.group_by.objects = groupable
        if groupable and self.group_by not in groupable:
            groups = attributes["n_values"].where(~attributes["binned"], self.bins)
            small = groups[groups <= MAX_DEFAULT_GROUPS]
            self.group_by = small.index[0] if len(small) else groups.idxmin()
        self.param.filter_column.objects = [NONE] + self._item_filters()
        if self.filter_column not in self.param.filter_column.objects:
            self.filter_column = NONE

    def binned(self) -> bool:
        """Whether the attribute grouped by is cut into quantile bins."""
        attributes = getattr(self, "_attributes", None)
        return bool(attributes is not None and self.group_by in attributes.index and attributes.loc[self.group_by, "binned"])

    def _on_tags_written(self, _event) -> None:
        """Tags changed (in this session or another on the same store): refresh in this session's own event loop."""
        if self.workspace.ratings is not self._data:
            self.workspace.param.unwatch(self._tag_watcher)
            return
        call_in_session(self._doc, self._refresh_tags)

    def _refresh_tags(self) -> None:
        """Offer the tag schemes as item filters; a view filtered by a tag is recomputed."""
        filters = [NONE] + self._item_filters()
        if filters != self.param.filter_column.objects:
            self.param.filter_column.objects = filters
        if self.filter_column not in (NONE, *self.ratings.items.columns):  # the current slice is a tag: its items may have changed
            self._on_data_in_use(None)

    def _on_data_in_use(self, _event) -> None:
        """The workspace switched between raw and cleaned data: offer its choices and show it (keeping the selection)."""
        if self.workspace.ratings is not self._data:  # another data set: the app builds a new Explorer for it
            self.workspace.param.unwatch(self._in_use_watcher)
            return
        self._cache.clear()
        with param.parameterized.discard_events(self):
            self._offer_choices()
            self._offer_values(keep=True)
        self.param.update(tests=None, data_revision=self.data_revision + 1)

    @param.depends("filter_column", watch=True)
    def _offer_values(self, keep: bool = False) -> None:
        """The values of the filter column; the filter resets to all items (or, with ``keep``, keeps its value if offered)."""
        values = [ALL]
        if self.filter_column != NONE:
            values += sorted(map(str, self.sliced().items[self.filter_column].dropna().unique()))
        self.param.filter_value.objects = values
        if not (keep and self.filter_value in values):
            self.filter_value = ALL

    # ------------------------------------------------------------------ data behind the views
    def grouped(self) -> tuple[Ratings, str | None]:
        """The ratings in use ready to group, and the column naming the groups (a binned attribute gets its own)."""
        if self.group_by is None:
            return self.sliced(), None
        key = ("grouped", self.group_by, self.bins, self.workspace.tag_revision)
        if key not in self._cache:
            self._cache[key] = grouping(self.sliced(), self.group_by, self.bins)
        return self._cache[key]

    @property
    def group_column(self) -> str | None:
        """The column the groups come from: ``group_by``, or its bins (``"age (4 bins)"``)."""
        return self.grouped()[1]

    def subset(self) -> Ratings:
        """The data set restricted to the filter (cached per filter and grouping)."""
        key = ("subset", self.group_by, self.bins, self.filter_column, self.filter_value, self.workspace.tag_revision)
        if key not in self._cache:
            ratings = self.grouped()[0]
            if self.filter_column != NONE and self.filter_value != ALL:
                column = ratings.items[self.filter_column]
                ratings = ratings.subset(items=column.index[column.astype(str) == self.filter_value])
            self._cache[key] = ratings
        return self._cache[key]

    def _entropy(self) -> pd.Series:
        key = ("entropy", self.filter_column, self.filter_value)
        if key not in self._cache:
            self._cache[key] = entropy(self.subset().distribution(), normalize=True).rename("entropy")
        return self._cache[key]

    def _quick_divergence(self) -> pd.DataFrame:
        """Group divergence without the permutation test (cached per view)."""
        key = ("divergence", self.group_by, self.bins if self.binned() else None, self.min_per_group, self.filter_column,
               self.filter_value, self.data_revision)
        if key not in self._cache:
            self._cache[key] = group_divergence(self.subset(), self.group_column, n_perm=0, min_per_group=self.min_per_group)
        return self._cache[key]

    @param.depends("group_by", "bins", "min_per_group", "filter_column", "filter_value", "tests", "data_revision")
    def items_frame(self) -> pd.DataFrame:
        """One row per item of the filter: normalised entropy, group divergence (with p/q once tested), ratings."""
        divergence = self._tested_divergence()
        if divergence is None:
            divergence = self._quick_divergence()
        frame = divergence.set_index("item_id").join(self._entropy())
        frame["n_ratings"] = frame[[c for c in frame.columns if c.startswith("n_")]].sum(axis=1)
        frame["untested"] = frame["note"] != ""  # small groups: listed after the comparable items
        frame = frame.sort_values(["untested", "jsd"], ascending=[True, False], kind="stable")
        return frame.reset_index()[ITEM_COLUMNS]

    def _current(self) -> dict | None:
        """The long computations' results, if they belong to the current grouping and filter."""
        return self.tests if self.tests is not None and self.tests["key"] == self._key() else None

    def _tested_divergence(self):
        return (self._current() or {}).get("divergence")

    def _key(self) -> tuple:
        return (self.group_by, self.bins if self.binned() else None, self.min_per_group, self.filter_column, self.filter_value,
                self.data_revision, self.n_perm)

    def untested_reason(self) -> str:
        """One plain sentence when the grouping tests no item (else ""): why, and what to change.

        >>> import workbench
        >>> explorer = workbench.Explorer(ratings=workbench.simulate_study(n_items=30, ratings_per_item=4, n_raters=12).ratings)
        >>> print(explorer.untested_reason())
        No item has 3 ratings from one age_band group and 3 from the others; lower the minimum or choose another attribute.
        >>> explorer.min_per_group = 1; explorer.untested_reason()
        ''
        """
        if self.group_by is None:
            return ""
        divergence = self._quick_divergence()
        if (divergence["note"] == "").any():
            return ""
        k = self.min_per_group
        return (f"No item has {k} rating{'s' if k > 1 else ''} from one {self.group_by} group and {k} from the others; "
                "lower the minimum or choose another attribute.")

    # ------------------------------------------------------------------ long work, off the request thread
    @param.depends("group_by", "bins", "min_per_group", "filter_column", "filter_value", "data_revision", "n_perm", watch=True)
    def _start_tests(self) -> None:
        if self.ratings is None or self._job == 0:  # not shown yet: nothing to compute for
            return
        key = self._key()
        after_this_event(lambda: self._key() == key and self.start())  # the regrouped table first; a later change starts its own

    def start(self) -> None:
        """Start the long computations for the current view (the first display does this)."""
        self._job += 1
        self.error = ""
        try:
            job, key, subset = self._job, self._key(), self.subset()
            by, untested = self.group_column, bool(self.untested_reason())
        except WorkbenchDataError as err:
            self.error = str(err)
            return
        n_perm = self.n_perm if self.n_perm is not None else default_permutations(subset.n_items)
        n_boot, n_draws, target, k = self.n_boot, self.n_draws, self.target, self.min_per_group
        # convergence and the sample-size plan depend on the items shown, not on the grouping: drawn once per view
        drawn = ("draws", self.filter_column, self.filter_value, self.data_revision, n_draws, target)
        cached_draws = self._cache.get(drawn)
        self._progress.param.update(value=0, max=100, visible=True)
        self.status = (f"testing {subset.n_items:,} items: {n_perm:,} permutations of {self.group_by}…" if by and not untested
                       else "computing agreement and drawing subsamples…")

        doc = session_document()

        def current(update):
            """``update`` for this job only: a regrouping since has its own job coming."""
            return lambda *args: job == self._job and update(*args)

        def progress(value: int) -> None:  # from the worker thread: applied in the session
            call_in_session(doc, current(lambda: setattr(self._progress, "value", value)))

        def alive() -> None:
            """Stop a job that a newer view has superseded: its processor time belongs to the view on screen."""
            if job != self._job or STOPPING.is_set():
                raise _Superseded

        def work():
            result = {"key": key}
            if by is not None:
                def tick(done, total):
                    alive()
                    progress(int(70 * done / max(total, 1)))

                result["divergence"] = group_divergence(subset, by, n_perm=0 if untested else n_perm, min_per_group=k, progress=tick)
                alive()
                progress(75)
                result["alphas"] = reliability(subset, by=by, n_boot=n_boot)
                alive()
                result["cross"] = cross_reliability(subset, by, n_boot=n_boot)
            alive()
            progress(85)
            if cached_draws is None:
                curve = convergence(subset, _sizes(subset), n_draws=n_draws)
                alive()
                result["curve"], result["plan"] = curve, sample_size(subset, target, n_draws=n_draws)
            else:
                result["curve"], result["plan"] = cached_draws
            return result

        @current
        def done(result):
            self._cache[drawn] = (result["curve"], result["plan"])  # on the event loop, for this view's key
            self._progress.param.update(value=100, visible=False)
            self.param.update(tests=result, status="")

        @current
        def failed(error):
            if isinstance(error, _Superseded):
                return
            self._progress.visible = False
            self.param.update(status="", error=error_text(error))

        run_in_background(work, done=done, failed=failed, long=True)

    # ------------------------------------------------------------------ views
    @param.depends("filter_column", "filter_value", "entropy_range", "data_revision")  # not the grouping: entropy is per item
    def entropy_plot(self):
        values = self._entropy().to_numpy()
        counts, edges = np.histogram(values, bins=20, range=(0, 1))
        low, high = self.entropy_range
        histogram = hv.Histogram((edges, counts), kdims="normalised entropy", vdims="items").opts(
            title="Entropy of items (select a range)", xlabel="normalised entropy (0 = unanimous, 1 = even split)",
            ylabel="items (count)", responsive=True, height=240, color="#4c72b0",
            tools=["xbox_select", "hover"], active_tools=["xbox_select"])
        stream = hv.streams.BoundsX(source=histogram, boundsx=(low, high))
        stream.add_subscriber(lambda boundsx: boundsx and self.param.update(entropy_range=(max(0.0, boundsx[0]), min(1.0, boundsx[1]))))
        return histogram * hv.VSpan(low, high).opts(color="#dd8452", alpha=0.15)

    def listed_items(self) -> pd.DataFrame:
        """The item table as listed: the filter and the entropy range applied, most divergent first."""
        frame = self.items_frame()
        low, high = self.entropy_range
        keep = frame["entropy"].between(low - 1e-12, high + 1e-12)
        return frame[keep].reset_index(drop=True)

    def _item_table(self) -> pn.widgets.Tabulator:
        """The one ranking table: every listed item, most divergent first, with p and q once tested; selection by item id."""
        table = pn.widgets.Tabulator(
            self.listed_items(), pagination="remote", page_size=12, selectable=1, disabled=True, show_index=False,
            sizing_mode="stretch_width",  # three decimals; a value not computed (an untested item's p) shows as a dash
            formatters={c: NumberFormatter(format="0.000", nan_format="—", null_format="—") for c in ("entropy", "jsd", "p_value", "q_value")},
        )
        for watcher in getattr(self, "_table_watchers", []):  # a rebuilt page: the old table stops listening
            self.param.unwatch(watcher)
        self.item_table = table

        def highlight(*_):
            """Select the row of the selected item (by id), wherever regrouping or filtering put it."""
            rows = np.flatnonzero(table.value["item_id"].astype(str).to_numpy() == self.item) if self.item is not None else []
            wanted = [int(rows[0])] if len(rows) else []
            if table.selection != wanted:
                table.selection = wanted
                if wanted:
                    table.page = wanted[0] // table.page_size + 1

        def refresh(*_):
            table.value = self.listed_items()
            highlight()

        def select(event):
            if event.new:
                self.item = str(table.value["item_id"].iloc[event.new[0]])

        self._table_watchers = [
            self.param.watch(refresh, ["group_by", "bins", "min_per_group", "filter_column", "filter_value", "entropy_range", "tests",
                                       "data_revision"]),
            self.param.watch(highlight, "item"),
        ]
        table.param.watch(select, "selection")
        highlight()
        return table

    def selected_row(self) -> str | None:
        """The item id of the highlighted row of the item table (None when no row is)."""
        table = getattr(self, "item_table", None)
        if table is None or not table.selection:
            return None
        return str(table.value["item_id"].iloc[table.selection[0]])

    @param.depends("item", "group_by", "bins", "data_revision")
    def item_detail(self):
        if self.item is None or self.item not in self.ratings.items.index:
            gone = f"*Item {self.item} is not in the data shown.* " if self.item is not None else ""
            return pn.pane.Markdown(gone + "*Select an item in the table to see its text and label distributions.*")
        fields = self.ratings.items.loc[self.item]
        text = [f"**{c}**: {fields[c]}" for c in TEXT_COLUMNS if c in fields.index and isinstance(fields[c], str)]
        parts = [pn.pane.Markdown(f"### Item {self.item}\n\n" + "\n\n".join(text or ["*(no text columns)*"]),
                                  sizing_mode="stretch_width", max_height=320, styles={"overflow-y": "auto"})]
        grouped, column = self.grouped()
        shares = item_groups(grouped, self.item, column)
        shares["label"] = shares["label"].astype(str)
        bars = hv.Bars(shares, ["group", "label"], ["share", "count"]).opts(
            title=f"Labels of {self.item}, overall and by {self.group_by}", xlabel=f"{self.group_by} group · label",
            ylabel="share of the group's ratings", responsive=True, height=260, tools=["hover"],
            multi_level=False, xrotation=30)
        parts.append(pn.pane.HoloViews(bars, sizing_mode="stretch_width"))
        if self.ratings.has_raters and "rationale" in self.ratings.ratings.columns:
            mine = self.ratings.ratings[self.ratings.ratings["item_id"] == self.item]
            notes = [f"- *{r}*: {t}" for r, t in zip(mine["rater_id"], mine["rationale"]) if isinstance(t, str) and t.strip()]
            parts.append(pn.pane.Markdown("**Rationales**\n\n" + ("\n".join(notes) if notes else "*none*")))
        return pn.Column(*parts, sizing_mode="stretch_width")

    @param.depends("tests", "group_by", "bins", "min_per_group", "filter_column", "filter_value", "n_perm", "data_revision")
    def _volcano_view(self):
        """The volcano plot, or a sentence while the permutation test runs (no empty axes)."""
        if self._tested_divergence() is None:
            return pn.pane.Markdown("*Group divergence against −log₁₀ p is drawn here when the permutation test ends "
                                    "(progress above).*", sizing_mode="stretch_width")
        return pn.pane.HoloViews(self.volcano(), sizing_mode="stretch_width")

    @param.depends("tests", "filter_column", "filter_value", "data_revision")
    def _convergence_view(self):
        """The convergence curve, or a sentence while the subsamples are drawn."""
        if self._current() is None:
            return pn.pane.Markdown("*Convergence (JSD of n-rater subsamples to each item's labels) is drawn here once "
                                    "the subsamples are drawn.*", sizing_mode="stretch_width")
        return pn.pane.HoloViews(self.convergence_plot(), sizing_mode="stretch_width")

    @param.depends("tests")
    def volcano(self):
        divergence = self._tested_divergence()
        if divergence is None:
            return hv.Points([], ["jsd", "-log10 p"]).opts(title="Group divergence vs −log₁₀ p (testing…)", xlabel=VOLCANO_X,
                                                     ylabel="−log₁₀ p (permutation test)", responsive=True, height=280)
        tested = divergence[divergence["p_value"].notna()].copy()
        tested["-log10 p"] = -np.log10(tested["p_value"])
        tested["significant"] = np.where(tested["q_value"] < 0.05, "q < 0.05", "q ≥ 0.05")
        return hv.Points(tested, ["jsd", "-log10 p"], ["item_id", "group", "q_value", "significant"]).opts(
            title=f"Group divergence vs −log₁₀ p ({len(tested)} items tested)", xlabel=VOLCANO_X,
            ylabel="−log₁₀ p (permutation test)", responsive=True, height=280,
            color="significant", cmap={"q < 0.05": "#c44e52", "q ≥ 0.05": "#8c8c8c"}, tools=["hover"], size=5, alpha=0.7,
            legend_position="top_left")

    @param.depends("tests", "group_by", "bins", "min_per_group", "filter_column", "filter_value", "data_revision")
    def ranking(self):
        """The overall test above the item table, or why nothing is tested (the table itself is the ranking)."""
        try:
            reason = self.untested_reason()
        except WorkbenchDataError as err:
            return pn.pane.Alert(str(err), alert_type="warning")
        if reason:
            return pn.pane.Alert(reason, alert_type="warning", sizing_mode="stretch_width")
        divergence = self._tested_divergence()
        if divergence is None:
            return pn.pane.Markdown("*Permutation test running…*")
        overall = divergence.attrs["overall"]
        if not overall["n_items"] or not np.isfinite(overall["value"]):
            return pn.pane.Markdown("*No overall test: no item was tested.*")
        p_value = f"= {overall['p_value']:.3f}" if overall["p_value"] >= 0.001 else "< 0.001"
        return pn.pane.Markdown(
            f"**Overall** (mean JSD over {overall['n_items']} tested items vs its null, {overall['n_perm']} permutations "
            f"of the {self.group_by} groups): {overall['value']:.3f}, p {p_value}\n\n<small>{q_floor_note(overall['n_perm'], overall['n_items'])}</small>",
            sizing_mode="stretch_width")

    @param.depends("tests", "group_by", "bins", "min_per_group", "filter_column", "filter_value", "n_perm", "data_revision")
    def agreement(self):
        tests = self._current()
        if tests is None:
            return pn.pane.Markdown("*Bootstraps running…*")
        alphas = tests["alphas"]
        by = alphas.columns[0]
        plot = figures.intervals(alphas, by, title=f"Alpha within each {by} group (95 % interval)", xlabel=by,
                                 ylabel="Krippendorff's alpha").opts(hv.opts.Scatter(tools=["hover"]),
                                                                     hv.opts.Overlay(responsive=True, height=260))
        cross = tests["cross"][["group_a", "group_b", "n_items", "kappa_x", "alpha_a", "alpha_b", "xrr", "xrr_ci_low", "xrr_ci_high", "note"]]
        heatmap = figures.cross_agreement(cross, title=f"xRR between {by} groups (diagonal: alpha within the group)", label=by).opts(
            responsive=True, height=300, tools=["hover"], xrotation=30)
        return pn.Column(pn.Row(pn.pane.HoloViews(plot, sizing_mode="stretch_width"),
                                pn.pane.HoloViews(heatmap, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
                         pn.pane.Markdown(f"**Cross-group agreement** ({len(cross)} pairs of groups). xRR ≈ 1: the groups agree "
                                          "with each other as much as within themselves; below 1, less. Above 1 they agree with "
                                          "each other *more* than within themselves — it happens when groups are small or "
                                          "internally noisy (low within-group alpha), so read it with the interval and the alphas."),
                         data_table(_shown(cross), index=False, sizing_mode="stretch_width", max_height=360,
                                           styles={"overflow-y": "auto"}),  # many groups: the table scrolls, the page stays short
                         sizing_mode="stretch_width")

    @param.depends("tests")
    def convergence_plot(self):
        tests = self._current()
        if tests is None:
            return hv.Curve([], "raters per item", "JSD to the full distribution").opts(
                title="Convergence (drawing…)", ylabel="JSD to the full distribution (bits)", responsive=True, height=260)
        curve = tests["curve"]
        band = hv.Area((curve["size"], curve["low"], curve["high"]), "raters per item", ["JSD", "high"]).opts(alpha=0.25, color="#4c72b0")
        line = hv.Curve((curve["size"], curve["distance"]), "raters per item", "JSD").opts(color="#4c72b0", tools=["hover"])
        return (band * line).opts(hv.opts.Overlay(title="Convergence: JSD of n-rater subsamples to the full distribution",
                                                  responsive=True, height=260, logx=True, ylabel="JSD to the full distribution (bits; band: 5–95 % of items)"))

    @param.depends("tests", "target", "filter_column", "filter_value", "data_revision")
    def plan(self):
        tests = self._current()
        if tests is None:
            return pn.pane.Markdown("*Sample-size planner: drawing…*")
        n_curve, n_multinomial, note = answer_from_curve(tests["plan"].attrs["curve"], self.target)
        curve_text = f"{int(n_curve)}" if np.isfinite(n_curve) else "not within the pilot"
        return pn.pane.Markdown(
            f"**Raters per item** for 90 % of items within JSD {self.target:.3f} of their distribution: "
            f"**{n_multinomial}** (multinomial approximation) · **{curve_text}** (pilot curve){' — ' + note if note else ''}\n\n"
            f"<small>{tests['plan']['assumption'].iloc[0]}</small>", sizing_mode="stretch_width")

    def _target_slider(self) -> pn.widgets.FloatSlider:
        """The sample-size target, shown to the step it moves by (0.075, not 0.08)."""
        return pn.widgets.FloatSlider.from_param(self.param.target, name="Target JSD (bits)", format="0.000")

    @param.depends("error")
    def _error(self):
        return pn.pane.Alert(self.error, alert_type="danger") if self.error else pn.pane.Markdown("")

    def __panel__(self):
        if self.ratings is None:
            return pn.pane.Alert("No data set loaded: pass ratings=… (see workbench.read_ratings).", alert_type="warning")
        # built when first shown (an app's other tabs cost nothing until then), which also starts the long work
        return pn.panel(pn.param.ParamMethod(self.layout, lazy=True), sizing_mode="stretch_width")

    @param.depends("data_revision")
    def layout(self):
        """The Explorer's page (first call starts the long computations)."""
        if self._job == 0:
            self.start()
        if not self.ratings.has_raters or not self.param.group_by.objects:
            reason = ("this data set has only per-item counts: no rater groups" if not self.ratings.has_raters
                      else "this data set has no rater attribute (such as age or gender) with 2 to 60 groups; "
                           "per-rating and item columns describe ratings and items, not raters")
            return pn.Column(pn.pane.Alert(f"Group comparisons need rater groups: {reason}.", alert_type="info"),
                             pn.Row(pn.panel(self._convergence_view, sizing_mode="stretch_width"),
                                    pn.Column(self._target_slider(), self.plan),
                                    sizing_mode="stretch_width"),
                             sizing_mode="stretch_width")
        controls = pn.FlexBox(  # wraps onto a second line in a narrow window
            pn.widgets.Select.from_param(self.param.group_by, name="Group raters by", width=200),
            pn.widgets.IntSlider.from_param(self.param.bins, name="Bins", width=140,
                                            visible=pn.bind(lambda _: self.binned(), self.param.group_by)),
            pn.widgets.IntInput.from_param(self.param.min_per_group, name="Fewest ratings per group", width=150),
            pn.widgets.IntInput.from_param(self.param.n_perm, name="Permutations (empty: automatic)", width=230,
                                           placeholder="automatic"),
            pn.widgets.Select.from_param(self.param.filter_column, name="Filter items by", width=200),
            pn.widgets.Select.from_param(self.param.filter_value, name="Keep", width=240),
            pn.widgets.RangeSlider.from_param(self.param.entropy_range, name="Entropy range", step=0.01, width=240),
            pn.Column(self._progress, pn.pane.Markdown(self.param.status)),
        )
        return pn.Column(
            pn.pane.Markdown("## Explorer"),
            controls,
            self._error,
            pn.Row(pn.pane.HoloViews(self.entropy_plot, sizing_mode="stretch_width"),
                   pn.panel(self._volcano_view, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            pn.Row(pn.Column(pn.pane.Markdown("### Items, ranked by group divergence (most divergent first; select one)"),
                             self.ranking, self._item_table(), sizing_mode="stretch_width"),
                   pn.Column(self.item_detail, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            pn.Column(self.agreement, sizing_mode="stretch_width"),
            pn.Row(pn.panel(self._convergence_view, sizing_mode="stretch_width"),
                   pn.Column(self._target_slider(), self.plan, sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as the page shows it: numbers to three decimals, a value not computed as a dash (never "NaN")."""
    return frame.round(3).astype(object).where(frame.notna(), "—")


def _sizes(ratings: Ratings) -> list[int]:
    """Convergence sizes: a geometric grid from 2 to the median ratings per item."""
    median = int(np.median(ratings.raters_per_item()))
    return sorted({int(n) for n in np.geomspace(2, max(median, 2), num=min(max(median - 1, 1), 8)).round()})

"""The Overview page: what is in a data set, at a glance."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import NumeralTickFormatter

from ..analysis.groups import slice_columns
from ..analysis.reliability import reliability
from ..analysis.summary import rater_attribute_summary
from ..data.ratings import Ratings
from ..errors import WorkbenchDataError
from . import figures
from .background import error_text, run_in_background, when_loaded
from .raters import RaterTable
from .tables import data_table
from .workspace import Workspace

def count_format() -> NumeralTickFormatter:
    """Counts on axes as 1,000,000 rather than 1.000e+6 (a new formatter per plot: a Bokeh model belongs to one page)."""
    return NumeralTickFormatter(format="0,0")


class Overview(pn.viewable.Viewer):
    """Items, raters, ratings, raters-per-item histogram, label distribution, rater attributes and a sortable rater table.

    >>> import workbench
    >>> overview = workbench.Overview(ratings=workbench.simulate_study(n_items=40, ratings_per_item=3, n_raters=6).ratings)
    >>> overview.facts().loc["items", "value"]
    '40'

    Given a shared ``workspace``, it shows the ratings in use there and follows them (raw or cleaned):

    >>> from workbench.ui.workspace import Workspace
    >>> ws = Workspace(ratings=overview.ratings)
    >>> linked = workbench.Overview(workspace=ws)
    >>> ws.use_cleaned(ws.ratings.subset(items=ws.ratings.items.index[:25]), {"name": "demo"})
    >>> linked.facts().loc["items", "value"]
    '25'
    """

    ratings = param.ClassSelector(class_=Ratings, doc="The data set shown.")
    workspace = param.ClassSelector(class_=Workspace, allow_None=True, doc="The shared state whose ratings in use are shown, if any.")
    n_boot = param.Integer(default=200, bounds=(0, None), doc="Bootstrap replicates behind the headline interval.")
    slice_by = param.Selector(default=None, objects=[None], doc="Rater attribute or item column whose groups get an alpha each.")

    def __init__(self, **params):
        super().__init__(**params)
        self._slice_watcher = self._slice_holder = None
        if self.workspace is not None:
            self.ratings, self._data = self.workspace.in_use, self.workspace.ratings
            self._watcher = self.workspace.param.watch(self._follow, "in_use")

    def _follow(self, event) -> None:
        """Show the workspace's ratings in use (raw or cleaned); another data set gets a new Overview from the app."""
        if self.workspace.ratings is not self._data:
            self.workspace.param.unwatch(self._watcher)
            return
        self.ratings = event.new

    @param.depends("ratings", watch=True, on_init=True)
    def _offer_slices(self) -> None:
        """Slice choices for the data shown: rater attributes and item columns with 2–12 values."""
        choices = slice_columns(self.ratings) if self.ratings is not None else []
        self.param.slice_by.objects = [None, *choices]
        if self.slice_by not in choices:
            self.slice_by = choices[0] if choices else None

    def slice_table(self, column: str | None = None) -> pd.DataFrame:
        """Alpha per value of ``column`` (default ``slice_by``) with 95 % item-bootstrap intervals.

        >>> import workbench
        >>> overview = workbench.Overview(ratings=workbench.simulate_study(n_items=60, ratings_per_item=5, n_raters=15).ratings)
        >>> overview.slice_table("split")[["split", "n_items"]]
              split  n_items
        0  harmless       27
        1   helpful       33
        """
        column = self.slice_by if column is None else column
        if column is None:
            raise WorkbenchDataError("no column to slice by: the data set has no rater attribute or item column with 2–12 values")
        return reliability(self.ratings, by=column, n_boot=self.n_boot)

    def slice_plot(self, table: pd.DataFrame, column: str):
        """Dot-and-whisker of :meth:`slice_table`, with the alpha of all items as a reference line."""
        overall = reliability(self.ratings, n_boot=0).iloc[0]["value"]
        metric = "Krippendorff's alpha"
        return figures.intervals(table, column, title=f"{metric} per {column} (95 % interval; line: all items)",
                                 xlabel=column, ylabel=metric, reference=overall).opts(
            hv.opts.Scatter(tools=["hover"]), hv.opts.Overlay(responsive=True, height=280))

    def _slice_pane(self) -> pn.Column:
        """The per-slice figure, computed off the request thread whenever ``slice_by`` changes."""
        holder = self._slice_holder = pn.Column(sizing_mode="stretch_width")

        def still_wanted(column) -> bool:  # this page's holder (new ratings build a new page) and the slice still chosen
            return holder is self._slice_holder and column == self.slice_by

        def show(*_):
            if holder is not self._slice_holder:  # ratings changed: the new page computes its own
                return
            column = self.slice_by
            if column is None:
                holder.objects = [pn.pane.Markdown("*No rater attribute or item column with 2–12 values to slice by.*")]
                return
            holder.objects = [pn.pane.Markdown(f"*Alpha per {column}: computing…*")]

            def done(result):
                if still_wanted(column):
                    holder.objects = [pn.pane.HoloViews(result, sizing_mode="stretch_width")]

            def failed(error):
                if still_wanted(column):
                    holder.objects = [pn.pane.Markdown(f"*Alpha per {column}: not computed — {error_text(error)}*")]

            run_in_background(lambda: self.slice_plot(self.slice_table(column), column), done=done, failed=failed)

        if self._slice_watcher is not None:
            self.param.unwatch(self._slice_watcher)
        self._slice_watcher = self.param.watch(show, "slice_by")
        when_loaded(show)
        return holder

    def headline(self) -> str:
        """Krippendorff's alpha at the data's own level, with its 95 % item-bootstrap interval.

        >>> import workbench
        >>> ratings = workbench.simulate_study(n_items=40, ratings_per_item=3, n_raters=6).ratings
        >>> print(workbench.Overview(ratings=ratings).headline())
        **Krippendorff's alpha** (nominal): 0.432 [0..., 0...] · moderate (95 % item bootstrap, 200 replicates)
        """
        if self.ratings.has_raters and self.ratings.raters_per_item().max() < 2:  # nothing to compute: say so at once
            return ("**Krippendorff's alpha**: undefined — every item has a single rating, so there is no agreement to "
                    "measure (per-item preferences can still be compared with reward models in the Models tab)")
        row = reliability(self.ratings, n_boot=self.n_boot).iloc[0]
        if not np.isfinite(row["value"]):
            return f"**Krippendorff's alpha** ({row['level']}): undefined — {row['note']}"
        interval = f" [{row['ci_low']:.3f}, {row['ci_high']:.3f}]" if np.isfinite(row["ci_low"]) else ""
        return f"**Krippendorff's alpha** ({row['level']}): {row['value']:.3f}{interval} · {row['band']} (95 % item bootstrap, {self.n_boot} replicates)"

    def _headline_pane(self) -> pn.pane.Markdown:
        pane = pn.pane.Markdown("**Krippendorff's alpha**: computing…", sizing_mode="stretch_width")

        def failed(error: Exception) -> None:
            pane.object = f"**Krippendorff's alpha**: not computed — {error_text(error)}"

        when_loaded(lambda: run_in_background(self.headline, done=lambda text: setattr(pane, "object", text), failed=failed))
        return pane

    def facts(self) -> pd.DataFrame:
        summary = self.ratings.summary()
        facts = {"data set": self.ratings.meta.get("dataset", self.ratings.meta.get("source", "ratings")), **summary}
        shown = {k: ("—" if v is None else " / ".join(map(str, v)) if isinstance(v, tuple) else str(v)) for k, v in facts.items()}
        return pd.DataFrame({"value": shown}).rename_axis("fact")

    @param.depends("ratings")
    def raters_per_item_plot(self):
        counts = self.ratings.raters_per_item().value_counts().sort_index()
        frame = pd.DataFrame({"ratings per item": counts.index.astype(str), "items": counts.to_numpy()})
        return hv.Bars(frame, "ratings per item", "items").opts(
            title="Ratings per item", xlabel="ratings per item", ylabel="items (count)", responsive=True, height=280, tools=["hover"], color="#4c72b0", yformatter=count_format()
        )

    @param.depends("ratings")
    def label_plot(self):
        totals = self.ratings.label_counts().sum(axis=0)
        if self.ratings.level in ("interval", "ratio") and len(totals) > 30:
            counts, edges = np.histogram(totals.index.to_numpy(dtype=float), bins=20, weights=totals.to_numpy())
            return hv.Histogram((edges, counts), kdims="label", vdims="ratings").opts(
                title="Label distribution", xlabel="label", ylabel="ratings (count)", responsive=True, height=280, tools=["hover"],
                color="#dd8452", yformatter=count_format()
            )
        frame = pd.DataFrame({"label": totals.index.astype(str), "ratings": totals.to_numpy()})
        return hv.Bars(frame, "label", "ratings").opts(
            title="Label distribution", xlabel="label", ylabel="ratings (count)", responsive=True, height=280, tools=["hover"], color="#dd8452", yformatter=count_format()
        )

    def __panel__(self):
        if self.ratings is None and self.workspace is None:
            return self.layout()
        return pn.panel(pn.param.ParamMethod(self.layout, lazy=True), sizing_mode="stretch_width")

    @param.depends("ratings")
    def layout(self):
        """The page for the ratings shown (rebuilt when they change)."""
        if self.ratings is None:
            return pn.pane.Alert("No data set loaded: pass ratings=… (see workbench.read_ratings).", alert_type="warning")
        attributes = rater_attribute_summary(self.ratings)
        attribute_view = (
            data_table(attributes, index=False, sizing_mode="stretch_width", max_height=400)
            if len(attributes)
            else pn.pane.Markdown("*No rater attributes in this data set.*")
        )
        per_item, labels = (pn.pane.HoloViews(sizing_mode="stretch_width", min_height=280) for _ in range(2))

        def fill() -> None:
            per_item.object, labels.object = self.raters_per_item_plot(), self.label_plot()

        when_loaded(fill)  # served: the facts paint first, the figures follow (in a notebook: all at once)
        return pn.Column(
            pn.pane.Markdown("## Overview"),
            self._headline_pane(),
            pn.Row(
                data_table(self.facts(), sizing_mode="stretch_width"),
                pn.Column(pn.pane.Markdown("### Rater attributes"), attribute_view, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            pn.Row(per_item, labels, sizing_mode="stretch_width"),
            pn.pane.Markdown("### Agreement per slice"),
            pn.widgets.Select.from_param(self.param.slice_by, name="Slice by (rater attribute or item column)", width=320),
            self._slice_pane(),
            RaterTable(ratings=self.ratings),  # a table added after the page loads would size itself to its columns
            sizing_mode="stretch_width",
        )

"""A sortable per-rater table (rater_table), computed off the request thread; shown in the Overview."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from ..analysis.raters import rater_table
from ..data.ratings import Ratings
from .background import error_text, run_in_background

#: Columns shown first; the rest of rater_table's columns follow.
LEADING = ("rater_id", "alpha_change", "n_ratings", "shared_items", "pairwise_agreement", "kappa_vs_majority", "mean_deviation")


class RaterTable(pn.viewable.Viewer):
    """One row per rater with the leave-one-out change in alpha; click a column header to sort.

    >>> import workbench
    >>> from workbench.ui.raters import RaterTable
    >>> ratings = workbench.simulate_study(n_items=40, ratings_per_item=3, n_raters=6).ratings
    >>> frame = RaterTable(ratings=ratings).frame()
    >>> list(frame.columns[:4]), len(frame)
    (['rater_id', 'alpha_change', 'n_ratings', 'shared_items'], 6)
    """

    ratings = param.ClassSelector(class_=Ratings, doc="The data set whose raters are listed.")
    page_size = param.Integer(default=15, bounds=(5, None), doc="Raters per page.")

    def frame(self) -> pd.DataFrame:
        """rater_table as shown: rater_id as a column, leading columns first, numbers rounded to 4 places."""
        table = rater_table(self.ratings).reset_index()
        leading = [c for c in LEADING if c in table.columns]
        table = table[leading + [c for c in table.columns if c not in leading]]
        return table.round(4)

    def __panel__(self):
        if self.ratings is None or not self.ratings.has_raters:
            return pn.pane.Markdown("*Per-rater diagnostics need rater-level ratings.*")
        status = pn.pane.Markdown("Per-rater table: computing…")
        view = pn.widgets.Tabulator(
            pd.DataFrame(columns=list(LEADING[:4])), show_index=False, disabled=True, pagination="remote",
            page_size=self.page_size, sizing_mode="stretch_width", visible=False,
        )

        def show(table: pd.DataFrame) -> None:
            view.value = table
            view.visible = True
            status.object = (f"{len(table):,} raters. `alpha_change` = alpha without the rater minus alpha with everyone "
                             "(positive: agreement rises without them). Click a header to sort.")

        def failed(error: Exception) -> None:
            status.object = f"Per-rater table: not computed — {error_text(error)}"

        run_in_background(self.frame, done=show, failed=failed)
        return pn.Column(pn.pane.Markdown("### Raters"), status, view, sizing_mode="stretch_width")

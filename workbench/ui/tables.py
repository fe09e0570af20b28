"""Tables that keep the page's width: wider tables scroll sideways with a visible scrollbar, never cut off."""

from __future__ import annotations

import pandas as pd
import panel as pn

#: Inside a DataFrame pane, the element holding the table scrolls sideways when the columns need more room.
SCROLL_SIDEWAYS = "div:has(> table) { overflow-x: auto; }"


def data_table(frame: pd.DataFrame | None = None, **params) -> pn.pane.DataFrame:
    """A ``pn.pane.DataFrame`` (``frame`` may come later, as ``.object``) that scrolls sideways when too wide.

    >>> pane = data_table(pd.DataFrame({"a": [1]}), index=False)
    >>> SCROLL_SIDEWAYS in pane.stylesheets
    True
    """
    if "width" not in params:
        params.setdefault("sizing_mode", "stretch_width")
    params["stylesheets"] = [*params.get("stylesheets", []), SCROLL_SIDEWAYS]
    return pn.pane.DataFrame(frame, **params)


def scrolling_table(frame: pd.DataFrame) -> pn.pane.HTML:
    """A fixed table as HTML (sticky header, no wrapping) that keeps the page's width and scrolls sideways.

    >>> "overflow-x: auto" in scrolling_table(pd.DataFrame({"a": [1]})).object
    True
    """
    markup = frame.to_html(index=False, border=0, classes="workbench-table", na_rep="—")
    return pn.pane.HTML(f"<div style='overflow-x: auto; max-width: 100%'>{markup}</div>", sizing_mode="stretch_width",
                        stylesheets=[".workbench-table { border-collapse: collapse; white-space: nowrap; font-size: 0.9em }"
                                     ".workbench-table th, .workbench-table td { padding: 2px 8px; text-align: right;"
                                     " border-bottom: 1px solid #ddd }"
                                     ".workbench-table th { position: sticky; top: 0; background: #f7f7f7 }"])

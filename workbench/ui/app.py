"""The served app: one template, one tab per task, all bound to one :class:`Workspace`.

A task adds its tab to ``TABS``: a title and a function that builds the component from the workspace.
"""

from __future__ import annotations

import panel as pn

from ..data.ratings import Ratings
from ..data.store import Store
from .overview import Overview
from .workspace import Workspace

#: (title, build(workspace) -> component), in tab order.
TABS = [
    ("Overview", lambda workspace: Overview(ratings=workspace.ratings)),
]


def build_app(ratings: Ratings, store: Store | None = None):
    """The app for one browser session.

    >>> import workbench
    >>> from workbench.ui.app import build_app
    >>> app = build_app(workbench.simulate_study(n_items=30, ratings_per_item=3, n_raters=6).ratings)
    >>> type(app).__name__
    'FastListTemplate'
    """
    name = ratings.meta.get("dataset", ratings.meta.get("source", "ratings"))
    workspace = Workspace(ratings=ratings, store=store)
    tabs = pn.Tabs(*[(title, build(workspace)) for title, build in TABS], dynamic=True, sizing_mode="stretch_width")
    footer = pn.pane.Markdown(f"Store: `{store.path}`" if store is not None else "No store given (`--store PATH` keeps tags and recipes).")
    return pn.template.FastListTemplate(title=f"workbench · {name}", main=[tabs, footer], header_background="#2f4858")


def serve(ratings: Ratings, *, store: Store | None = None, port: int = 5006, address: str = "127.0.0.1", show: bool = False):
    """Serve the app on ``address:port`` (localhost unless told otherwise); blocks until stopped."""
    origins = [f"{address}:{port}"] + ([f"localhost:{port}"] if address in ("127.0.0.1", "localhost") else [])
    return pn.serve(
        lambda: build_app(ratings, store),
        port=port,
        address=address,
        websocket_origin=origins,
        show=show,
        title="workbench",
        threaded=False,
    )

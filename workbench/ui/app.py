"""The served app: one template, one tab per task, all bound to one :class:`Workspace`.

A task adds its tab to ``TABS``: a title and a function that builds the component from the workspace.
The tabs follow ``workspace.in_use`` (the raw data, or the cleaned data the Clean tab put in use);
a banner over the tabs says when the cleaned data is in use and offers the way back.
The page asks nothing of any host but its own server (Bootstrap design, resources served locally).
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import panel as pn

from ..data.ratings import Ratings
from ..data.store import Store
from panel.io.state import set_curdoc

from .background import session_document
from .cleaner import Cleaner
from .data_picker import MAX_UPLOAD_MB, DataPicker
from .explorer import Explorer
from .models import ModelComparison
from .overview import Overview
from .report import ReportButton
from .tagger import Tagger, install_shortcuts
from .workspace import InUseBanner, Workspace

#: (title, build(workspace) -> component), in tab order.
TABS = [
    ("Overview", lambda workspace: Overview(workspace=workspace)),
    ("Explorer", lambda workspace: Explorer(workspace=workspace)),
    ("Tag", lambda workspace: Tagger(workspace=workspace)),
    ("Clean", lambda workspace: Cleaner(workspace=workspace)),
    ("Models", lambda workspace: ModelComparison(workspace=workspace)),
]


def data_set_name(ratings: Ratings) -> str:
    """What the page calls a data set: its name, or the file name (never the server's path).

    >>> import workbench
    >>> data_set_name(workbench.read_ratings(__import__("pandas").DataFrame({"item_id": [1], "rater_id": [1], "label": [1]})))
    'DataFrame'
    """
    name = ratings.meta.get("dataset") or ratings.meta.get("source") or "ratings"
    return Path(name).name if ("/" in name or "\\" in name) else name


def build_app(ratings: Ratings, store: Store | None = None, *, max_upload_mb: float = MAX_UPLOAD_MB):
    """The app for one browser session: its own view state over the server's shared data set and store.

    >>> import workbench
    >>> from workbench.ui.app import build_app
    >>> app = build_app(workbench.simulate_study(n_items=30, ratings_per_item=3, n_raters=6).ratings)
    >>> type(app).__name__
    'BootstrapTemplate'
    """
    workspace = Workspace(ratings=ratings, store=store, user=pn.state.user or None)
    document = session_document()
    if document is not None:
        install_shortcuts()  # the Tag tab is built later, after the page has loaded: its keys must be set up now
        pn.state.on_session_destroyed(lambda context: workspace.close())
    tabs = pn.Tabs(dynamic=True, sizing_mode="stretch_width")
    template = pn.template.BootstrapTemplate(title="workbench", header_background="#2f4858", sidebar_width=320)
    data_set_label = pn.pane.Str("", styles={"color": "white", "font-size": "1.25rem", "margin-left": "-0.5em"}, css_classes=["workbench-data-set"])
    template.header.append(data_set_label)

    def show(ratings: Ratings) -> None:
        """One lazily built component per tab: a tab's component is made the first time the tab is shown (the page
        paints with the Overview alone), then kept, so switching tabs loses nothing."""
        built: dict = {}

        def lazy(title, build):
            def view():
                if title not in built:  # built (and laid out) under this session's document: background jobs report to it
                    with set_curdoc(document) if document is not None else contextlib.nullcontext():
                        built[title] = pn.panel(build(workspace))
                return built[title]

            return pn.param.ParamFunction(view, lazy=True, sizing_mode="stretch_width")

        active = tabs.active
        tabs[:] = [(title, lazy(title, build)) for title, build in TABS]
        tabs.active = min(active, len(tabs) - 1)
        data_set_label.object = f"· {data_set_name(ratings)}"  # the header follows the data set in use

    show(ratings)
    workspace.param.watch(lambda event: show(event.new), "ratings")
    footer = pn.pane.Markdown(f"Store: `{Path(store.path).name}`" if store is not None else "No store given (`--store PATH` keeps tags and recipes).")
    template.sidebar.append(DataPicker(workspace=workspace, max_upload_mb=max_upload_mb))
    template.sidebar.append(ReportButton(workspace).widget)
    template.main.extend([InUseBanner(workspace=workspace), tabs, footer])  # the banner: cleaned data in use, and the way back
    template.workspace = workspace  # the session's shared state (tests and embedding code reach the tabs' state through it)
    return template


def _origins(address: str, port: int, extra) -> list[str]:
    """Host names the page may be opened under: the bound address (and its localhost aliases), plus ``extra``."""
    local = [f"localhost:{port}", f"127.0.0.1:{port}"] if address in ("127.0.0.1", "localhost") else []
    return [f"{address}:{port}", *local, *(extra or [])]


def serve_notebook(path, *, port: int = 5006, address: str = "127.0.0.1", show: bool = False, **options):
    """Serve a curated notebook as an app: the components it marks ``.servable()``, on localhost by default."""
    from ..errors import WorkbenchDataError

    path = Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise WorkbenchDataError(f"--notebook needs an .ipynb file, got {str(path)!r}")
    if importlib.util.find_spec("nbconvert") is None:
        raise WorkbenchDataError("serving a notebook needs nbconvert: pip install -e '.[notebook]' -c constraints.txt")
    return pn.serve({path.stem: str(path)}, port=port, address=address, show=show, threaded=False,
                    websocket_origin=_origins(address, port, options.pop("allow_websocket_origin", None)),
                    **{k: v for k, v in options.items() if v is not None})


def serve(ratings: Ratings, *, store: Store | None = None, port: int = 5006, address: str = "127.0.0.1", show: bool = False,
          allow_websocket_origin: list[str] | None = None, max_upload_mb: float = MAX_UPLOAD_MB, **auth):
    """Serve the app on ``address:port`` (localhost unless told otherwise); blocks until stopped.

    ``auth`` passes Panel's options through (``basic_auth=``, ``cookie_secret=``, ``oauth_provider=`` …).
    """
    return pn.serve(
        lambda: build_app(ratings, store, max_upload_mb=max_upload_mb),
        port=port,
        address=address,
        websocket_origin=_origins(address, port, allow_websocket_origin),
        websocket_max_message_size=int((max_upload_mb + 16) * 2**20),
        show=show,
        title="workbench",
        threaded=False,
        **{k: v for k, v in auth.items() if v is not None},
    )

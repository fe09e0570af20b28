"""Panel in notebooks without a network: every script and style inline, nothing from a CDN.

Importing :mod:`workbench.ui` calls :func:`configure`, so every workbench component renders offline
in JupyterLab even before any setup; a notebook's first cell calls :func:`extension`
(``workbench.extension()``) instead of ``pn.extension()``. Component modules must not call
``hv.extension`` themselves: in a notebook each call publishes the whole Bokeh bundle (~6 MB) again.
Panel's own stylesheets stay inline after updates too (:func:`_inline_panel_stylesheets`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import sys

import holoviews as hv
import panel as pn
import panel.reactive
from panel.io import resources as panel_resources

_configured = False
#: Panel extensions the workbench components use (a notebook must load their scripts before display).
NEEDED = ("tabulator",)


def configure() -> None:
    """Panel and HoloViews notebook output inline, Bokeh as HoloViews' backend; once per process.

    In a notebook the first call publishes Bokeh's and Panel's scripts inline (served pages are
    unaffected: they take their resources from the Panel server).

    >>> configure(); pn.config.inline, hv.Store.current_backend
    (True, 'bokeh')
    """
    global _configured
    if _configured:
        return
    pn.config.inline = True
    _inline_panel_stylesheets()
    if "inline" in hv.extension.param:  # in IPython hv.extension is the notebook extension
        hv.extension.inline = True
    with _without_notebook_archive():
        hv.extension("bokeh", logo=False)
    _configured = True


@contextlib.contextmanager
def _without_notebook_archive():
    """Let HoloViews' notebook extension skip its notebook archive (``hv.archive``, exporting a notebook's figures).

    The extension imports nbformat only for that archive, and importing nbformat costs seconds in a fresh kernel
    (jsonschema's format checks compile some forty grammars of rfc3987-syntax when imported): most of a notebook's
    first cell. The workbench never uses the archive. An ``import nbformat`` inside the block raises ImportError,
    which the extension expects and handles; after it, nbformat imports as usual. Nothing changes where nbformat
    is already imported.
    """
    if "nbformat" in sys.modules:
        yield
        return
    sys.modules["nbformat"] = None  # type: ignore[assignment]  (Python's marker for "cannot be imported")
    try:
        yield
    finally:
        if sys.modules.get("nbformat", 0) is None:
            del sys.modules["nbformat"]


def extension(*extensions: str, **params) -> None:
    """``pn.extension(*NEEDED, *extensions, inline=True, **params)`` after :func:`configure`: Panel in a notebook, offline.

    >>> import workbench
    >>> workbench.extension()  # outside a notebook it only configures Panel
    """
    configure()
    pn.extension(*NEEDED, *extensions, inline=True, **params)


def _inline_panel_stylesheets() -> None:
    """Panel's own stylesheets as ``data:`` URLs wherever Panel would link them from its CDN.

    In a notebook Panel inlines the stylesheets of a first render, but a pane updated later (a
    Markdown's text, a DataFrame, a design's modifiers) re-sends its stylesheets as links to
    cdn.holoviz.org (Panel 1.9: ``Reactive._get_properties`` resolves them against the document's
    ``dist_url``, which notebook documents lack). Every such path passes each stylesheet through
    ``panel.io.resources.patch_stylesheet``; wrapped here, a link into Panel's CDN dist becomes the
    file itself, read from the installed package. Served pages are untouched: their stylesheets point
    at the server (``static/extensions/panel/``), never at the CDN.
    """
    original = panel_resources.patch_stylesheet
    if getattr(original, "_workbench_inline", False):
        return

    @functools.wraps(original)
    def patch_stylesheet(stylesheet, dist_url):
        original(stylesheet, dist_url)
        url = getattr(stylesheet, "url", None)
        if pn.config.inline and isinstance(url, str) and url.startswith(panel_resources.CDN_DIST):
            inline = _data_url(url[len(panel_resources.CDN_DIST):].split("?")[0])
            if inline is not None:
                stylesheet.url = inline

    patch_stylesheet._workbench_inline = True
    panel_resources.patch_stylesheet = patch_stylesheet  # theme modifiers import it from here at call time
    panel.reactive.patch_stylesheet = patch_stylesheet  # model properties and updates


@functools.lru_cache(maxsize=None)
def _data_url(relative: str) -> str | None:
    """``data:`` URL of a CSS file in Panel's dist folder, or None when Panel does not ship it.

    >>> _data_url("css/markdown.css").startswith("data:text/css;base64,"), _data_url("css/nothing.css")
    (True, None)
    """
    path = (panel_resources.DIST_DIR / relative).resolve()
    if panel_resources.DIST_DIR.resolve() not in path.parents or path.suffix != ".css" or not path.is_file():
        return None
    return "data:text/css;base64," + base64.b64encode(path.read_bytes()).decode("ascii")

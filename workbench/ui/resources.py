"""Panel in notebooks without a network: every script and style inline, nothing from a CDN.

Importing :mod:`workbench.ui` calls :func:`configure`, so every workbench component renders offline
in JupyterLab even before any setup; a notebook's first cell calls :func:`extension`
(``workbench.extension()``) instead of ``pn.extension()``. Component modules must not call
``hv.extension`` themselves: in a notebook each call publishes the whole Bokeh bundle (~6 MB) again.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn

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
    if "inline" in hv.extension.param:  # in IPython hv.extension is the notebook extension
        hv.extension.inline = True
    hv.extension("bokeh", logo=False)
    _configured = True


def extension(*extensions: str, **params) -> None:
    """``pn.extension(*NEEDED, *extensions, inline=True, **params)`` after :func:`configure`: Panel in a notebook, offline.

    >>> import workbench
    >>> workbench.extension()  # outside a notebook it only configures Panel
    """
    configure()
    pn.extension(*NEEDED, *extensions, inline=True, **params)

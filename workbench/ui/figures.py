"""Figures as functions: a DataFrame in, a HoloViews element out, the same in the tabs, the notebooks and the report.

Each figure has a title and labelled axes and carries only options every backend understands;
:func:`interactive` and :func:`static` add the backend's own (size, hover) when a figure is drawn, so one
figure renders with Bokeh (interactive, zoom and hover) or Matplotlib (SVG, for PDFs and journals).
"""

from __future__ import annotations

import io

import holoviews as hv
import numpy as np
import pandas as pd

from ..errors import WorkbenchDataError

#: Colours: points and bars, intervals, a reference line.
COLOR, INTERVAL, REFERENCE = "#4c72b0", "#8c8c8c", "#c44e52"


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WorkbenchDataError(f"{what} needs column {missing[0]!r} (it has: {', '.join(map(str, frame.columns))})")


def intervals(frame: pd.DataFrame, label: str, *, value: str = "value", low: str = "ci_low", high: str = "ci_high",
              title: str, xlabel: str, ylabel: str, reference: float | None = None) -> hv.Overlay:
    """Dot-and-whisker: one point per row of ``frame`` with its interval (rows without one show the point alone).

    >>> table = pd.DataFrame({"group": ["a", "b"], "value": [0.4, 0.6], "ci_low": [0.3, 0.5], "ci_high": [0.5, 0.7]})
    >>> fig = intervals(table, "group", title="Alpha per group", xlabel="group", ylabel="alpha")
    >>> fig.opts.get().kwargs["title"], len(fig)
    ('Alpha per group', 2)
    """
    _require(frame, [label, value, low, high], "an interval figure")
    data = pd.DataFrame({"slice": frame[label].astype(str), "value": frame[value].astype(float),
                         "low": frame[low].astype(float), "high": frame[high].astype(float)})
    data["minus"], data["plus"] = data["value"] - data["low"], data["high"] - data["value"]
    whiskers = hv.ErrorBars(data.dropna(subset=["minus", "plus"]), "slice", ["value", "minus", "plus"]).opts(color=INTERVAL)
    points = hv.Scatter(data, "slice", "value").opts(color=COLOR, size=9)
    layers = [whiskers, points]
    if reference is not None and np.isfinite(reference):
        layers.insert(0, hv.HLine(reference).opts(color=REFERENCE))
    return hv.Overlay(layers).opts(title=title, xlabel=xlabel, ylabel=ylabel)


def histogram(values, *, title: str, xlabel: str, ylabel: str = "items", bins: int = 20, range: tuple | None = None) -> hv.Histogram:
    """A histogram of ``values`` (NaN left out).

    >>> histogram([0.1, 0.2, 0.2, 0.9], title="Entropy", xlabel="entropy", bins=4).data["items"].tolist()
    [3, 0, 0, 1]
    """
    values = np.asarray(values, dtype=float)
    counts, edges = np.histogram(values[np.isfinite(values)], bins=bins, range=range)
    return hv.Histogram((edges, counts), kdims=xlabel, vdims=ylabel).opts(title=title, xlabel=xlabel, ylabel=ylabel, color=COLOR)


def bars(frame: pd.DataFrame, x: str, y: str, *, title: str, xlabel: str, ylabel: str) -> hv.Bars:
    """Bars of ``y`` per ``x``."""
    _require(frame, [x, y], "a bar chart")
    data = pd.DataFrame({x: frame[x].astype(str), y: frame[y].to_numpy()})
    return hv.Bars(data, x, y).opts(title=title, xlabel=xlabel, ylabel=ylabel, color=COLOR)


def heatmap(frame: pd.DataFrame, x: str, y: str, value: str, *, title: str, xlabel: str, ylabel: str) -> hv.HeatMap:
    """A heatmap of ``value`` over (``x``, ``y``) with a colour bar (the numbers go in a table beside it).

    >>> cells = pd.DataFrame({"a": ["x", "x"], "b": ["x", "y"], "v": [0.5, 0.25]})
    >>> heatmap(cells, "a", "b", "v", title="xRR", xlabel="group", ylabel="group").opts.get().kwargs["title"]
    'xRR'
    """
    _require(frame, [x, y, value], "a heatmap")
    data = pd.DataFrame({x: frame[x].astype(str), y: frame[y].astype(str), value: frame[value].astype(float)})
    return hv.HeatMap(data, [x, y], value).opts(cmap="Blues", colorbar=True, title=title, xlabel=xlabel, ylabel=ylabel)


def band_curve(frame: pd.DataFrame, x: str, y: str, low: str, high: str, *, title: str, xlabel: str, ylabel: str) -> hv.Overlay:
    """A line of ``y`` over ``x`` with a shaded band from ``low`` to ``high``."""
    _require(frame, [x, y, low, high], "a curve")
    data = frame[[x, y, low, high]].astype(float).sort_values(x)
    area = hv.Area(data, x, [low, high]).opts(color=INTERVAL, alpha=0.3)
    line = hv.Curve(data, x, y).opts(color=COLOR) * hv.Scatter(data, x, y).opts(color=COLOR)
    return (area * line).opts(title=title, xlabel=xlabel, ylabel=ylabel)


def _load_backends() -> None:
    import holoviews.plotting.bokeh  # noqa: F401  (registers the backends without a notebook extension)

    if hv.Store.current_backend is None or hv.Store.current_backend not in hv.Store.renderers:
        hv.Store.set_current_backend("bokeh")


def interactive(figure, *, width: int = 640, height: int = 320):
    """The Bokeh model of ``figure`` (zoom, pan, hover, save-as-PNG tool)."""
    _load_backends()
    plot = hv.render(figure, backend="bokeh")
    plot.width, plot.height = width, height
    from bokeh.models import HoverTool

    if not any(isinstance(tool, HoverTool) for tool in plot.tools):
        plot.add_tools(HoverTool())
    return plot


def static(figure, *, width: float = 6.4, height: float = 3.2, format: str = "svg") -> str | bytes:
    """``figure`` drawn by Matplotlib: SVG text (``format="svg"``) or PNG bytes (``format="png"``)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import holoviews.plotting.mpl  # noqa: F401

    _load_backends()
    fig = hv.render(figure, backend="matplotlib")
    fig.set_size_inches(width, height)
    buffer = io.BytesIO() if format == "png" else io.StringIO()
    fig.savefig(buffer, format=format, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()

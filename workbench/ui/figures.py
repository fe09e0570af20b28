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
#: One colour per model (or group) where a figure shows several.
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")


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


def forest(frame: pd.DataFrame, label: str, *, value: str, low: str, high: str, group: str | None = "model",
           title: str, xlabel: str, ylabel: str = "slice") -> hv.Overlay:
    """Forest plot: one row per (``label``, ``group``) with its point and interval, the value on the x axis.

    One colour per ``group`` (the models), so the rows of one slice can be read side by side; rows without an
    interval show the point alone.

    >>> table = pd.DataFrame({"model": ["m1", "m2"], "slice": ["all", "all"], "accuracy": [0.7, 0.6],
    ...                       "accuracy_low": [0.6, 0.5], "accuracy_high": [0.8, 0.7]})
    >>> fig = forest(table, "slice", value="accuracy", low="accuracy_low", high="accuracy_high",
    ...              title="Accuracy per slice", xlabel="accuracy (share of pairs)")
    >>> fig.opts.get().kwargs["title"], len(fig)  # the rows' order, then an interval and a point per model
    ('Accuracy per slice', 5)
    """
    _require(frame, [label, value, low, high] + ([group] if group else []), "a forest plot")
    row = frame[label].astype(str)
    if group:
        row = row + " · " + frame[group].astype(str)
    data = pd.DataFrame({"row": row, "group": frame[group].astype(str) if group else "", "value": frame[value].astype(float),
                         "low": frame[low].astype(float), "high": frame[high].astype(float)})
    data["minus"], data["plus"] = data["value"] - data["low"], data["high"] - data["value"]
    # the rows of one slice next to each other, slices and models in the frame's order, the first row at the top:
    # an invisible first layer fixes the order of the categories (Bokeh lists them from the bottom up)
    order = {v: k for k, v in enumerate(dict.fromkeys(frame[label].astype(str)))}
    data = data.assign(_slice=frame[label].astype(str).map(order).to_numpy()).sort_values("_slice", kind="stable")
    rows = hv.Scatter(data.iloc[::-1], "row", "value").opts(alpha=0, invert_axes=True)
    layers = [rows]
    for k, (name, part) in enumerate(data.groupby("group", sort=False)):
        colour = PALETTE[k % len(PALETTE)]
        layers.append(hv.ErrorBars(part.dropna(subset=["minus", "plus"]), "row", ["value", "minus", "plus"])
                      .opts(color=colour, invert_axes=True))
        layers.append(hv.Scatter(part, "row", ["value", "low", "high"], label=name or value)
                      .opts(color=colour, size=8, invert_axes=True))
    # the axes are inverted (slices down the side), and the label options follow the data's dimensions
    return hv.Overlay(layers).opts(title=title, xlabel=ylabel, ylabel=xlabel)


def cross_agreement(frame: pd.DataFrame, *, value: str = "xrr", title: str, label: str = "group") -> hv.HeatMap:
    """Group × group heatmap of :func:`workbench.cross_reliability`'s ``value`` (xRR by default) for each pair of
    groups, with each group's own alpha on the diagonal (the numbers show on hover; print the table beside it).

    >>> xrr = pd.DataFrame({"group_a": ["x"], "group_b": ["y"], "xrr": [0.8], "alpha_a": [0.5], "alpha_b": [0.4]})
    >>> fig = cross_agreement(xrr, title="xRR", label="age")
    >>> sorted(fig.dframe()["value"].round(2).tolist())
    [0.4, 0.5, 0.8, 0.8]
    """
    _require(frame, ["group_a", "group_b", value, "alpha_a", "alpha_b"], "a cross-group heatmap")
    pairs = frame[["group_a", "group_b", value]].set_axis(["a", "b", "value"], axis=1)
    within = pd.concat([frame[["group_a", "alpha_a"]].set_axis(["a", "value"], axis=1),
                        frame[["group_b", "alpha_b"]].set_axis(["a", "value"], axis=1)]).drop_duplicates("a")
    cells = pd.concat([pairs, pairs.rename(columns={"a": "b", "b": "a"}), within.assign(b=within["a"])], ignore_index=True)
    return heatmap(cells, "a", "b", "value", title=title, xlabel=label, ylabel=label)


def reliability_diagram(table: pd.DataFrame, *, title: str, xlabel: str = "model P(A), mean in the bin",
                        ylabel: str = "people's share choosing A") -> hv.Layout:
    """Calibration as a reliability diagram over the bin counts, from :func:`workbench.calibration_table`
    (``model, bin, n_items, model_p_a, human_p_a``): the people's share against the model's probability per bin
    (a perfectly calibrated model lies on the dashed diagonal), and below it the number of items in each bin.

    >>> table = pd.DataFrame({"model": ["m", "m"], "bin": ["0.0–0.5", "0.5–1.0"], "n_items": [3, 5],
    ...                       "model_p_a": [0.3, 0.8], "human_p_a": [0.4, 0.7]})
    >>> fig = reliability_diagram(table, title="Calibration")
    >>> [panel.opts.get().kwargs["ylabel"] for panel in fig]
    ["people's share choosing A", 'items in the bin (count)']
    """
    _require(frame := table, ["model", "bin", "n_items", "model_p_a", "human_p_a"], "a reliability diagram")
    layers = [hv.Curve([(0, 0), (1, 1)]).opts(color=INTERVAL, line_dash="dashed")]
    for k, (name, part) in enumerate(frame.groupby("model", sort=False)):
        drawn, colour = part.dropna(subset=["model_p_a", "human_p_a"]), PALETTE[k % len(PALETTE)]
        layers.append(hv.Curve(drawn, "model_p_a", ["human_p_a", "n_items"], label=str(name)).opts(color=colour))
        layers.append(hv.Scatter(drawn, "model_p_a", ["human_p_a", "n_items"], label=str(name)).opts(color=colour, size=6))
    diagram = hv.Overlay(layers).opts(title=title, xlabel=xlabel, ylabel=ylabel)
    counts = hv.Bars(frame.assign(model=frame["model"].astype(str)), ["bin", "model"], "n_items").opts(
        title="Items per bin of model P(A)", xlabel="model P(A) bin", ylabel="items in the bin (count)")
    return hv.Layout([diagram, counts]).cols(1)


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

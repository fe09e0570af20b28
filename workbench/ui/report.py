"""A study as one self-contained HTML file: datasheet, agreement, disagreement, tags, cleaning, models, provenance.

The report composes the same analyses (``workbench.analysis``) and the same figures (:mod:`workbench.ui.figures`)
as the app and the notebooks; it has no statistics of its own. Everything is inline — scripts, styles,
figures, the provenance file — so it opens from disk with no network. ``static=True`` draws the figures as
SVG and carries no script at all (for PDF export and journals).
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.metadata
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.convergence import convergence, sample_size
from ..analysis.distributions import item_table
from ..analysis.divergence import cross_reliability, group_divergence
from ..analysis.groups import slice_columns
from ..analysis.models import compare_models
from ..analysis.recipes import Recipe, recipe_effect
from ..analysis.reliability import reliability
from ..analysis.summary import rater_attribute_summary
from ..analysis.tags import tag_conflicts, tagger_agreement
from ..data.ratings import Ratings
from ..data.store import Store
from ..errors import WorkbenchDataError
from . import figures

#: Provenance files up to this size travel inside the report as a data: link; larger ones are written beside it.
INLINE_ATTACHMENT_BYTES = 8 * 2**20
#: Packages whose versions the reproducibility footer records.
PACKAGES = ("workbench", "numpy", "pandas", "scipy", "torch", "krippendorff", "holoviews", "bokeh", "panel")
#: A <script src=…> that points at a server's files (Panel's bundles); a report carries only inline scripts.
SERVED_SCRIPT = re.compile(r'<script[^>]*\ssrc="(?!data:)[^"]*"[^>]*>\s*</script>')
#: A stylesheet <link> to a server's files (Panel adds its own once a notebook has loaded workbench.extension()).
SERVED_LINK = re.compile(r'<link[^>]*\shref="(?!data:)[^"]*"[^>]*>')
#: Interpretation of agreement values, with their sources.
BANDS_NOTE = ("Bands follow Landis & Koch (1977): slight ≤ 0.2 < fair ≤ 0.4 < moderate ≤ 0.6 < substantial ≤ 0.8 < almost "
              "perfect. Krippendorff (2004) asks for α ≥ 0.800 to rely on the data and α ≥ 0.667 for tentative conclusions; "
              "with subjective tasks, low agreement may be signal rather than noise.")
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em} h2{font-size:1.35em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.1em;margin-top:1.4em} table{border-collapse:collapse;font-size:.88em;margin:.6em 0}
th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right} th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left} .scroll{overflow-x:auto} .note{color:#555;font-size:.92em}
.figure{margin:1em 0} .flag{color:#a33;font-weight:600} footer{margin-top:3em;font-size:.85em;color:#555}
code{background:#f5f5f5;padding:0 .2em}
"""


@dataclass
class _Page:
    """The report as it is built: HTML parts in order, and the figures they place."""

    static: bool
    parts: list = field(default_factory=list)
    plots: list = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def text(self, text: str, css: str = "") -> None:
        self.parts.append(f'<p class="{css}">{html.escape(text)}</p>' if css else f"<p>{html.escape(text)}</p>")

    def raw(self, markup: str) -> None:
        self.parts.append(markup)

    def table(self, frame: pd.DataFrame, *, index: bool = False, digits: int = 3, css: str = "") -> None:
        shown = frame.to_html(index=index, border=0, na_rep="–", escape=True, classes=css or None,
                              float_format=lambda v: f"{v:.{digits}f}")
        self.parts.append(f'<div class="scroll">{shown}</div>')

    def figure(self, element) -> None:
        if self.static:
            svg = figures.static(element)
            self.parts.append(f'<div class="figure">{svg[svg.index("<svg"):]}</div>')
        else:
            self.plots.append(figures.interactive(element))
            self.parts.append(f"<!--plot {len(self.plots) - 1}-->")

    def unavailable(self, what: str, error: Exception) -> None:
        self.text(f"{what}: not available — {error}", "note")

    def html(self, title: str) -> str:
        body = "\n".join(self.parts)
        head = ""
        if self.plots:
            from bokeh.embed import components
            from bokeh.resources import Resources

            script, divs = components(self.plots)
            for k, div in enumerate(divs):
                body = body.replace(f"<!--plot {k}-->", f'<div class="figure">{div}</div>', 1)
            resources = Resources(mode="inline", components=["bokeh", "bokeh-gl"])
            # Panel registers its own bundles with every Resources; a plot needs only BokehJS, and a file
            # opened from disk must not point at a server's static folder
            head = SERVED_SCRIPT.sub("", resources.render_js()) + SERVED_LINK.sub("", resources.render_css()) + script
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f"<style>{STYLE}</style>{head}</head><body>\n{body}\n</body></html>\n")


def _default_by(ratings: Ratings) -> list[str]:
    """Rater attributes with 2–12 values (at most two), else item columns with 2–12 values: the slices a reader expects."""
    columns = slice_columns(ratings)
    raters = [c for c in columns if ratings.has_raters and c in ratings.raters.columns]
    return (raters or columns)[:2]


def _data_hash(ratings: Ratings) -> tuple[str, str]:
    """sha256 of the input file when the ratings came from one, else of the ratings themselves."""
    source = str(ratings.meta.get("source", ""))
    if source and Path(source).is_file():
        digest = hashlib.sha256()
        with open(source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest(), f"of the input file {Path(source).name}"
    frame = ratings.to_frame()[["item_id", "rater_id", "label"]] if ratings.has_raters else ratings.label_counts()
    hashed = pd.util.hash_pandas_object(frame, index=not ratings.has_raters).to_numpy().tobytes()
    return hashlib.sha256(hashed).hexdigest(), "of the ratings (item, rater, label; no input file)"


def _versions() -> str:
    def version(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return ", ".join(f"{name} {version(name)}" for name in PACKAGES) + f", Python {sys.version.split()[0]}"


def _interval(row) -> str:
    if not np.isfinite(row["value"]):
        return f"undefined — {row['note']}"
    ci = f" [{row['ci_low']:.3f}, {row['ci_high']:.3f}]" if np.isfinite(row["ci_low"]) else ""
    return f"{row['value']:.3f}{ci} ({row['band']})"


def _datasheet(page: _Page, ratings: Ratings) -> None:
    page.heading("Datasheet")
    meta = ratings.meta
    summary = ratings.summary()
    facts = {"data set": meta.get("dataset", "ratings"), "source": Path(str(meta.get("source", "—"))).name,
             "reader": meta.get("reader", "the column mapping given to read_ratings"), **summary}
    if ratings.categories is not None:
        facts["label scale"] = ", ".join(map(str, ratings.categories)) + (" (in order)" if ratings.level == "ordinal" else "")
    for key, value in meta.items():
        if key not in ("source", "dataset", "reader") and value not in (None, 0, "", [], {}):
            facts[f"on reading: {key.replace('_', ' ')}"] = value
    shown = {k: (" / ".join(map(str, v)) if isinstance(v, tuple) else str(v)) for k, v in facts.items()}
    page.table(pd.DataFrame({"fact": list(shown), "value": list(shown.values())}))
    aggregated = not ratings.has_raters or ratings.raters_per_item().max() < 2
    if aggregated:
        page.text("Flag: this data set carries no annotator-level labels (only aggregated labels or one label per item); "
                  "rater-level analyses and agreement are not possible from it.", "flag")
    else:
        page.text("Annotator-level labels: every rating keeps its rater; aggregates in this report are computed from them.")
    if ratings.has_raters:
        attributes = rater_attribute_summary(ratings)
        page.heading("The rater pool", 3)
        if len(attributes):
            page.table(attributes)
        else:
            page.text("No rater attributes were given: the pool's composition is not documented.", "flag")


def _agreement(page: _Page, ratings: Ratings, by: list, metrics, n_boot: int, seed: int) -> dict:
    page.heading("Agreement")
    page.text(BANDS_NOTE, "note")
    found = {}
    for metric in metrics:
        try:
            overall = reliability(ratings, metric=metric, n_boot=n_boot, seed=seed).iloc[0]
        except WorkbenchDataError as err:
            page.unavailable(metric, err)
            continue
        found[metric] = overall
        shown = "Krippendorff's alpha" if metric == "alpha" else str(overall["metric"])
        page.raw(f'<p><b>{html.escape(shown)}</b> ({html.escape(str(overall["level"]))}), all items: '
                 f'<span class="headline" data-metric="{html.escape(metric)}" data-value="{float(overall["value"])!r}" '
                 f'data-ci-low="{float(overall["ci_low"])!r}" data-ci-high="{float(overall["ci_high"])!r}">{html.escape(_interval(overall))}</span>'
                 f" — 95 % item-bootstrap interval, {n_boot} replicates, seed {seed}.</p>")
        for column in by:
            try:
                table = reliability(ratings, metric=metric, by=column, n_boot=n_boot, seed=seed)
            except WorkbenchDataError as err:
                page.unavailable(f"{metric} by {column}", err)
                continue
            page.heading(f"{overall['metric']} by {column}", 3)
            page.figure(figures.intervals(table, column, title=f"{overall['metric']} by {column} (95 % interval)",
                                          xlabel=column, ylabel=str(overall["metric"]), reference=overall["value"]))
            page.table(table[[column, "value", "ci_low", "ci_high", "n_items", "n_ratings", "n_raters", "band", "note"]])
    return found


def _disagreement(page: _Page, ratings: Ratings, by: list, n_perm: int, n_boot: int, seed: int, top: int) -> None:
    page.heading("Disagreement")
    try:
        items = item_table(ratings)
        if "entropy_norm" in items.columns:
            page.figure(figures.histogram(items["entropy_norm"], title="Label entropy per item (0 = unanimous, 1 = even split)",
                                          xlabel="normalised entropy", range=(0, 1)))
            unanimous = float((items["entropy_norm"] == 0).mean())
            page.text(f"{unanimous:.1%} of items are unanimous; the median normalised entropy is {items['entropy_norm'].median():.3f}.")
        else:  # numeric labels with many values: the spread of each item's ratings
            page.figure(figures.histogram(items["std"], title="Spread of the ratings per item", xlabel="standard deviation (label units)"))
            page.text(f"The median per-item standard deviation is {items['std'].median():.3f} (label units).")
    except WorkbenchDataError as err:
        page.unavailable("entropy", err)
    if ratings.has_raters and by:
        column = next((c for c in by if c in ratings.raters.columns), None)
        if column is None:
            page.text("Group divergence and cross-group agreement need a rater attribute; none was chosen.", "note")
        else:
            _groups(page, ratings, column, n_perm, n_boot, seed, top)
    elif not ratings.has_raters:
        page.text("Group divergence and cross-group agreement need rater-level ratings.", "note")
    _sample_size(page, ratings, seed)


def _groups(page: _Page, ratings: Ratings, column: str, n_perm: int, n_boot: int, seed: int, top: int) -> None:
    page.heading(f"Items that split the {column} groups", 3)
    try:
        divergent = group_divergence(ratings, column, n_perm=n_perm, seed=seed)
        tested = divergent.dropna(subset=["p_value"])
        floor = len(tested) / (n_perm + 1) if len(tested) else np.nan
        page.text(f"Jensen–Shannon divergence (bits) of each group's labels from the rest's, permutation p ({n_perm} "
                  f"permutations, seed {seed}) and Benjamini–Hochberg q over {len(tested):,} tested items. With {n_perm} "
                  f"permutations the smallest q possible is about {min(floor, 1):.3g}. The {min(top, len(tested))} most "
                  f"divergent items (of {len(divergent):,}):")
        shown = tested.sort_values(["p_value", "jsd"], ascending=[True, False]).head(top)
        page.table(shown[[c for c in shown.columns if c != "note"]])
    except WorkbenchDataError as err:
        page.unavailable("group divergence", err)
    page.heading(f"Cross-group agreement (xRR) by {column}", 3)
    try:
        xrr = cross_reliability(ratings, column, n_boot=n_boot, seed=seed)
        diagonal = pd.DataFrame({"group_a": xrr["group_a"], "group_b": xrr["group_b"], "value": xrr["kappa_x"]})
        within = pd.concat([xrr[["group_a", "alpha_a"]].set_axis(["g", "a"], axis=1), xrr[["group_b", "alpha_b"]].set_axis(["g", "a"], axis=1)])
        within = within.drop_duplicates("g")
        cells = pd.concat([diagonal, diagonal.rename(columns={"group_a": "group_b", "group_b": "group_a"}),
                           pd.DataFrame({"group_a": within["g"], "group_b": within["g"], "value": within["a"]})])
        page.figure(figures.heatmap(cells, "group_a", "group_b", "value", title=f"κx between {column} groups (diagonal: α within)",
                                    xlabel=column, ylabel=column))
        page.text("xRR = κx / √(α_a·α_b). Above 1, two groups agree with each other more than each agrees within itself — "
                  "possible when the groups are small or internally noisy, so the within-group alphas are low.", "note")
        page.table(xrr.drop(columns=["note"]))
    except WorkbenchDataError as err:
        page.unavailable("cross-group agreement", err)


def _sample_size(page: _Page, ratings: Ratings, seed: int) -> None:
    page.heading("How many raters per item", 3)
    try:
        most = int(ratings.raters_per_item().max()) if ratings.has_raters else int(ratings.label_counts().sum(axis=1).max())
        sizes = sorted({n for n in (2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 100) if n <= most})
        if not sizes:
            raise WorkbenchDataError("every item has a single rating")
        curve = convergence(ratings, sizes, seed=seed)
        page.figure(figures.band_curve(curve, "size", "distance", "low", "high", title="Subsample distance to the full distribution",
                                       xlabel="raters per item", ylabel="Jensen–Shannon divergence (bits)"))
        page.table(curve)
        answer = sample_size(ratings, target=0.05, seed=seed)
        page.table(answer.drop(columns=["assumption"]))
        page.text(str(answer["assumption"].iloc[0]), "note")
    except WorkbenchDataError as err:
        page.unavailable("sample size", err)


def _tags(page: _Page, store: Store, n_boot: int, seed: int, top: int) -> None:
    page.heading("Tags")
    schemes = sorted(store.schemes())
    current = store.current_tags()
    if current.empty:
        page.text("No item has been tagged in this store yet.")
        return
    for scheme in schemes:
        tags = current[current["scheme"] == scheme]
        if tags.empty:
            continue
        page.heading(f"Scheme {scheme}", 3)
        counts = tags.groupby("value").size().rename("items tagged").reset_index()
        page.table(counts)
        try:
            page.table(tagger_agreement(store, scheme, n_boot=n_boot, seed=seed).drop(columns=["scheme"]))
        except WorkbenchDataError as err:
            page.unavailable("tagger agreement", err)
        conflicts = tag_conflicts(store, scheme)
        if len(conflicts):
            page.text(f"{conflicts['item_id'].nunique():,} items where taggers differ (first {top} rows):")
            page.table(conflicts.head(top))


def _cleaning(page: _Page, ratings: Ratings, recipe, name: str, path: Path | None, n_boot: int, seed: int) -> None:
    page.heading(f"Cleaning: {name}")
    page.table(pd.DataFrame(recipe.rules if hasattr(recipe, "rules") else recipe))
    try:
        effect = recipe_effect(ratings, recipe, n_boot=n_boot, seed=seed)
        cleaned, provenance = recipe.apply(ratings)
    except WorkbenchDataError as err:
        page.unavailable("the recipe's effect", err)
        return
    page.table(effect)
    summary = provenance.groupby(["action", "rule"], dropna=False).size().rename("ratings").reset_index()
    page.text(f"{len(provenance):,} ratings in, {cleaned.n_ratings:,} kept. The source data are unchanged; the provenance "
              "file has one row per input rating with what happened to it and which rule did it.")
    page.table(summary)
    data = provenance.to_csv(index=False).encode()
    if len(data) <= INLINE_ATTACHMENT_BYTES or path is None:
        link = "data:text/csv;base64," + base64.b64encode(data).decode()
        page.raw(f'<p><a download="provenance.csv" href="{link}">Download the provenance file (CSV, {len(data) / 1024:,.0f} KB)</a></p>')
    else:
        beside = path.with_name(path.stem + ".provenance.csv")
        _write_atomically(beside, data)
        page.raw(f'<p><a href="{html.escape(beside.name)}">The provenance file</a> ({len(data) / 2**20:,.1f} MB) is written beside '
                 "this report.</p>")


#: Model metrics the report shows, each with its interval (columns ``m``, ``m_low``, ``m_high`` of compare_models).
MODEL_METRICS = ("accuracy", "accuracy_split", "jsd", "brier_soft", "ece", "pearson_r", "length_bias_r")


def _models(page: _Page, ratings: Ratings, models, by: list, n_boot: int, seed: int) -> None:
    page.heading("Reward models against people")
    slices = [c for c in by if c in ratings.items.columns] or None
    try:
        table = compare_models(ratings, models, by=slices, n_boot=n_boot, seed=seed)
    except WorkbenchDataError as err:
        page.unavailable("the model comparison", err)
        return
    page.text("Accuracy against the majority of people (also on split items alone), JSD between the model's and the "
              "people's preference distribution, Brier score and expected calibration error against the share of people "
              "choosing A, Pearson r, and the correlation of the reward margin with the length difference (length bias); "
              f"95 % item-bootstrap intervals, {n_boot} replicates.", "note")
    overall = table[table["slice"] == "all"]
    for metric in ("accuracy", "jsd", "ece"):
        page.figure(figures.intervals(overall, "model", value=metric, low=f"{metric}_low", high=f"{metric}_high",
                                      title=f"{metric} per model, all items (95 % interval)", xlabel="model", ylabel=metric))
    shown = table[["model", "slice", "n_items", "n_split"]].copy()
    for metric in MODEL_METRICS:
        shown[metric] = [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(v) else "–"
                         for v, lo, hi in zip(table[metric], table[f"{metric}_low"], table[f"{metric}_high"])]
    page.table(shown)


def build_report(ratings: Ratings, *, store: Store | None = None, recipe=None, by=None, models=None, metrics=("alpha",),
                 static: bool = False, n_boot: int = 200, n_perm: int = 1000, seed: int = 0, top: int = 20,
                 command: str | None = None, path: Path | None = None) -> str:
    """The report as an HTML string (see :func:`report`)."""
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"report() takes a workbench Ratings, got {type(ratings).__name__}; see workbench.read_ratings")
    for name, value in (("n_boot", n_boot), ("n_perm", n_perm), ("top", top)):
        if int(value) != value or value < 1:
            raise WorkbenchDataError(f"{name} must be a positive whole number, got {value!r}")
    by = _default_by(ratings) if by is None else ([by] if isinstance(by, str) else list(by))
    for column in by:
        known = set(ratings.items.columns) | (set(ratings.raters.columns) if ratings.has_raters else set())
        if column not in known:
            raise WorkbenchDataError(f"by={column!r} is not a rater or item column of these ratings (they have: {', '.join(sorted(known))})")
    recipe_name = None
    if isinstance(recipe, str):
        if store is None:
            raise WorkbenchDataError(f"recipe {recipe!r} is a name: pass the store that holds it (--store)")
        recipe_name, recipe = recipe, Recipe(store.load_recipe(recipe))
    elif recipe is not None:
        recipe = recipe if isinstance(recipe, Recipe) else Recipe(recipe)
        recipe_name = recipe.name or "the given recipe"
    if models is None and store is not None:
        saved = store.load_scores()
        models = saved if len(saved) else None
    name = str(ratings.meta.get("dataset", "ratings"))
    page = _Page(static=static)
    page.raw(f"<h1>{html.escape(name)}</h1>")
    page.text(f"A study report made by workbench: every rater's label is kept, every number below is recomputed from them. "
              f"{ratings.n_items:,} items, {ratings.n_ratings:,} ratings.")
    _datasheet(page, ratings)
    _agreement(page, ratings, by, metrics, n_boot, seed)
    _disagreement(page, ratings, by, n_perm, n_boot, seed, top)
    if store is not None:
        _tags(page, store, n_boot, seed, top)
    if recipe is not None:
        _cleaning(page, ratings, recipe, recipe_name, path, n_boot, seed)
    if models is not None:
        _models(page, ratings, models, by, n_boot, seed)
    digest, what = _data_hash(ratings)
    call = command or (f"workbench.report(ratings, {str(path) if path else None!r}, by={by!r}, metrics={tuple(metrics)!r}, "
                       f"static={static}, n_boot={n_boot}, n_perm={n_perm}, seed={seed}, top={top})")
    page.raw("<footer><h2>Reproducibility</h2>"
             f"<p>Made with: {html.escape(_versions())}.</p>"
             f"<p>Seeds: {seed} for every bootstrap ({n_boot} replicates) and permutation test ({n_perm} permutations).</p>"
             f"<p>Command: <code>{html.escape(call)}</code></p>"
             f'<p>sha256 {html.escape(what)}: <code class="sha256">{digest}</code></p></footer>')
    return page.html(f"workbench report · {name}")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ReportButton:
    """A "Report" download in the app: the same file as :func:`report`, for the session's data, recipe and store.

    >>> import workbench
    >>> from workbench.ui.workspace import Workspace
    >>> button = ReportButton(Workspace(ratings=workbench.simulate_study(n_items=30, ratings_per_item=3, n_raters=6).ratings))
    >>> button.widget.filename
    'report.html'
    """

    def __init__(self, workspace, **options):
        import panel as pn

        self.workspace, self.options = workspace, options
        self.widget = pn.widgets.FileDownload(callback=self._file, filename="report.html", label="Report (HTML)",
                                              button_type="default", embed=False, sizing_mode="stretch_width")

    def html(self) -> str:
        ws = self.workspace  # the raw data with the columns the recipe reads; the recipe's section shows the cleaned data
        ratings = ws.recipe_source if ws.recipe is not None and ws.recipe_source is not None else ws.ratings
        return build_report(ratings, store=ws.store, recipe=ws.recipe, models=ws.scores or None,
                            command="the app's Report button", **self.options)

    def _file(self):
        import io

        try:
            return io.BytesIO(self.html().encode("utf-8"))
        except WorkbenchDataError as err:  # the file says what went wrong rather than failing silently
            return io.BytesIO(f"<!DOCTYPE html><p>The report could not be made: {html.escape(str(err))}</p>".encode())

    def __panel__(self):
        return self.widget


def report(ratings: Ratings, path, *, store: Store | None = None, recipe=None, by=None, models=None, metrics=("alpha",),
           static: bool = False, n_boot: int = 200, n_perm: int = 1000, seed: int = 0, top: int = 20, command: str | None = None) -> Path:
    """Write a self-contained HTML report of a study to ``path`` (atomically) and return the path.

    Sections: a datasheet (source, reader, counts, scale, annotator-level or aggregated only, the rater
    pool, what reading dropped); agreement overall and per slice in ``by`` (rater or item columns;
    default: up to two attributes with 2–12 values) for each of ``metrics``, with intervals, figures and
    the interpretation bands; disagreement (entropy, the ``top`` most group-divergent items, xRR,
    the sample-size curve and answer); with ``store``, tags and tagger agreement, and the store's saved
    model scores; with ``recipe`` (a name in ``store``, rules or a :class:`Recipe`), what each rule did
    and the provenance file; with ``models`` (name → scores, or a long table with a ``model`` column),
    the comparison with people. A footer records versions, seeds, the call and a sha256 of the input.
    Figures are interactive (Bokeh, inline); ``static=True`` draws them as SVG and the file holds no script.

    >>> import tempfile, pathlib, workbench
    >>> study = workbench.simulate_study(seed=0, n_items=60, ratings_per_item=4, n_raters=12)
    >>> path = workbench.report(study.ratings, pathlib.Path(tempfile.mkdtemp()) / "r.html", static=True, n_boot=50, n_perm=50)
    >>> text = path.read_text(); "Datasheet" in text and "<script" not in text
    True
    """
    path = Path(path)
    text = build_report(ratings, store=store, recipe=recipe, by=by, models=models, metrics=metrics, static=static, n_boot=n_boot,
                        n_perm=n_perm, seed=seed, top=top, command=command, path=path)
    _write_atomically(path, text.encode("utf-8"))
    return path

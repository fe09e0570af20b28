"""The Models tab: which reward model agrees with people better, on which kind of item, and how sure are we?

Models come from four places: scores already in the workspace or the store (such as a committee),
local checkpoint folders (scored here with :func:`workbench.score_pairs`), and small reward models
trained here (:func:`workbench.train_reward_model`: raw labels, cleaned labels, with the M5 margin).
Scoring, training and bootstraps run off the request thread with a progress bar.
"""

from __future__ import annotations

import os
from concurrent import futures
import time
from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from ..analysis.models import ALL, calibration_table, compare_models, compare_two, model_vs_human, verdict
from ..analysis.reward_models import is_saved_reward_model, train_reward_model
from ..analysis.scoring import score_pairs
from ..data.ratings import Ratings
from ..data.store import Store
from ..errors import WorkbenchDataError
from ..kernels.model_metrics import METRICS
from .background import error_text, run_in_background
from .workspace import Workspace

#: Environment variable naming a folder whose sub-folders are local checkpoints (listed in the tab).
MODELS_ENV = "WORKBENCH_MODELS"
TRAINING = {"raw labels": None, "with disagreement margin": "disagreement"}
SHOWN = ("accuracy", "pearson_r", "mean_l1", "brier", "jsd", "kappa", "alpha_with_model")


def list_checkpoints(folder) -> dict[str, str]:
    """Sub-folders of ``folder`` that hold a checkpoint (config.json) or a saved workbench reward model: name → path."""
    if not folder:
        return {}
    root = Path(folder).expanduser()
    if not root.is_dir():
        return {}
    return {p.name: str(p) for p in sorted(root.iterdir())
            if p.is_dir() and ((p / "config.json").is_file() or is_saved_reward_model(p))}


def formatted_metrics(table: pd.DataFrame, by_label: str) -> pd.DataFrame:
    """The metrics table for reading: each metric as ``value [low, high]``."""
    out = table[["model", by_label, "n_items", "n_human_ties"]].copy()
    for metric in SHOWN:
        value = table[metric].map(lambda v: "—" if not np.isfinite(v) else f"{v:.3f}")
        if f"{metric}_low" in table.columns:
            low, high = table[f"{metric}_low"], table[f"{metric}_high"]
            value = value + [f" [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else "" for lo, hi in zip(low, high)]
        out[metric] = value
    return out


class ModelComparison(pn.viewable.Viewer):
    """Compare models with people: a metrics table per slice with intervals, model vs human scatter,
    calibration, and the difference between two models with a one-line verdict.

    Pass ``workspace=`` (in the app) or ``ratings=``/``store=`` and optionally ``scores=`` (name →
    DataFrame, or a long table with a ``model`` column such as ``study.scores``) in a notebook.

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=120, ratings_per_item=5, n_raters=20)
    >>> view = ModelComparison(ratings=study.ratings, scores=study.scores, n_boot=100)
    >>> _ = view.param.update(selected=["rm-1", "rm-5"], model_a="rm-5", model_b="rm-1"); view.compare(wait=True)
    >>> view.table["model"].unique().tolist()
    ['rm-1', 'rm-5']
    >>> view.verdict_text.startswith("**all**: rm-1 agrees with people better")
    True
    """

    workspace = param.ClassSelector(class_=Workspace)
    model_folder = param.String(default=None, allow_None=True, doc=f"Folder of local checkpoints (default: ${MODELS_ENV}).")
    selected = param.ListSelector(default=[], objects=[], doc="Models to compare.")
    by = param.Selector(default=None, objects=[None], doc="Item column to slice by.")
    model_a = param.Selector(default=None, objects=[], allow_None=True)
    model_b = param.Selector(default=None, objects=[], allow_None=True)
    metric = param.Selector(default="pearson_r", objects=list(SHOWN))
    n_boot = param.Integer(default=500, bounds=(10, 10_000))
    checkpoint = param.Selector(default=None, objects=[], allow_None=True, doc="A local checkpoint to score.")
    training = param.Selector(default="raw labels", objects=list(TRAINING))
    status = param.String(default="")
    busy = param.Boolean(default=False)
    table = param.DataFrame(default=None, allow_None=True, doc="compare_models output for the selected models.")
    difference = param.DataFrame(default=None, allow_None=True, doc="compare_two output for model A vs model B.")
    verdict_text = param.String(default="")

    def __init__(self, workspace: Workspace | None = None, *, ratings: Ratings | None = None, store: Store | None = None,
                 scores=None, **params):
        if workspace is None:
            workspace = Workspace(ratings=ratings, store=store)
        super().__init__(workspace=workspace, **params)
        if self.model_folder is None:
            self.model_folder = os.environ.get(MODELS_ENV)
        if scores is not None:
            self.add_scores(scores)
        self._progress = pn.indicators.Progress(value=0, max=100, visible=False, sizing_mode="stretch_width", bar_color="info")
        self._refresh_choices()
        self.workspace.param.watch(lambda event: self._refresh_choices(), ["scores", "ratings", "cleaned"])

    # ------------------------------------------------------------------ models on offer
    def add_scores(self, scores) -> None:
        """Add scored models to the workspace: name → DataFrame, or a long table with a ``model`` column."""
        if isinstance(scores, pd.DataFrame) and "model" in scores.columns:
            scores = {str(name): group.drop(columns="model") for name, group in scores.groupby("model", sort=False)}
        if not isinstance(scores, dict):
            raise WorkbenchDataError("scores must map model name -> DataFrame, or be a long table with a model column")
        self.workspace.scores = {**self.workspace.scores, **scores}

    def available_scores(self) -> dict[str, pd.DataFrame]:
        """Every scored model: the workspace's, then the store's saved scores (workspace wins on a name clash)."""
        found = {}
        if self.workspace.store is not None:
            saved = self.workspace.store.load_scores()
            found = {str(name): group[["item_id", "score_a", "score_b"]] for name, group in saved.groupby("model", sort=True)}
        return {**found, **self.workspace.scores}

    def _refresh_choices(self) -> None:
        names = list(self.available_scores())
        self.param.selected.objects = list(names)
        self.selected = [n for n in self.selected if n in names] or names[:2]
        for side, default in (("model_a", 0), ("model_b", 1)):
            self.param[side].objects = list(names)
            if getattr(self, side) not in names:
                setattr(self, side, names[default] if len(names) > default else None)
        ratings = self.workspace.ratings
        columns = [c for c in ratings.items.columns if ratings.items[c].nunique() <= 20] if ratings is not None else []
        self.param.by.objects = [None] + columns
        if self.by not in self.param.by.objects:
            self.by = None
        checkpoints = list(list_checkpoints(self.model_folder))
        self.param.checkpoint.objects = checkpoints
        if self.checkpoint not in checkpoints:
            self.checkpoint = checkpoints[0] if checkpoints else None
        options = list(TRAINING) + (["cleaned labels"] if self.workspace.cleaned is not None else [])
        self.param.training.objects = options

    # ------------------------------------------------------------------ background work
    def _run(self, label: str, work, done, wait: bool) -> None:
        if self.busy:
            self.status = "Busy: wait for the current job to finish."
            return
        self.busy, self.status = True, f"{label}…"
        self._progress.param.update(value=0, visible=True)

        def finished(result):
            done(result)
            self.busy = False
            self._progress.param.update(value=100, visible=False)

        def failed(error):
            self.busy = False
            self._progress.visible = False
            self.status = f"{label} failed: {error_text(error)}"

        future = run_in_background(work, done=finished, failed=failed)
        if wait:
            futures.wait([future])
            while self.busy:  # the done-callback runs right after the result is set
                time.sleep(0.01)

    def _tick(self, done: int, total: int) -> None:
        self._progress.value = int(100 * done / max(total, 1))

    def compare(self, wait: bool = False) -> None:
        """Compute the metrics table and the A-vs-B difference for the selected models (in the background)."""
        names = list(self.selected)
        if not names:
            self.status = "Pick at least one model."
            return
        scores, ratings, by, n_boot = self.available_scores(), self.workspace.ratings, self.by, self.n_boot
        pair = (self.model_a, self.model_b) if self.model_a and self.model_b and self.model_a != self.model_b else None

        def work():
            table = compare_models(ratings, {n: scores[n] for n in names}, by=by, n_boot=n_boot)
            self._tick(1, 2)
            diff = compare_two(ratings, scores, *pair, by=by, n_boot=n_boot) if pair else None
            return table, diff

        def done(result):
            table, diff = result
            self.param.update(table=table, difference=diff,
                              verdict_text=self._verdict(diff), status=f"Compared {len(names)} models on {int(table['n_items'].iloc[0])} items.")

        self._run("Comparing", work, done, wait)

    def score_checkpoint(self, wait: bool = False) -> None:
        """Score the chosen local checkpoint on every pair; the scores join the workspace (and the store's cache)."""
        if self.checkpoint is None:
            self.status = f"No checkpoint folder found (set {MODELS_ENV} or model_folder)."
            return
        path, name = list_checkpoints(self.model_folder)[self.checkpoint], self.checkpoint
        pairs, store = self.workspace.ratings.pairs(), self.workspace.store

        def work():
            return score_pairs(path, pairs, store=store, progress=self._tick)

        def done(scored):
            self.add_scores({name: scored.rename_axis("item_id").reset_index()})
            report = scored.attrs.get("scoring", {})
            self.status = (f"Scored {name}: {report.get('texts', 0)} texts, {report.get('cached', 0)} from the cache, "
                           f"{report.get('truncated', 0)} truncated.")

        self._run(f"Scoring {name}", work, done, wait)

    def train(self, wait: bool = False) -> None:
        """Train a hashing-encoder reward model on these pairs (raw, cleaned, or with the margin) and add its scores."""
        kind = self.training
        source = self.workspace.cleaned if kind == "cleaned labels" else self.workspace.ratings
        margin = TRAINING.get(kind)
        name = {"raw labels": "trained: raw", "with disagreement margin": "trained: margin", "cleaned labels": "trained: cleaned"}[kind]
        pairs = self.workspace.ratings.pairs()

        def work():
            model = train_reward_model(source, margin=margin, name=name)
            return model, model.score_pairs(pairs)

        def done(result):
            model, scored = result
            self.add_scores({name: scored.rename_axis("item_id").reset_index()})
            self.status = f"Trained {name} on {model.info['pairs']} pairs (train accuracy {model.info['train_accuracy']:.3f})."

        self._run(f"Training {name}", work, done, wait)

    def _verdict(self, diff) -> str:
        if diff is None:
            return "Pick two different models as A and B to see which agrees with people better."
        lines = verdict(diff, self.metric)
        return "\n\n".join(f"**{line.split(':', 1)[0]}**:{line.split(':', 1)[1]}" for line in lines)

    @param.depends("metric", watch=True)
    def _new_metric(self):
        if self.difference is not None:
            self.verdict_text = self._verdict(self.difference)

    # ------------------------------------------------------------------ views
    def _by_label(self) -> str:
        return "slice" if self.by is None else self.by

    @param.depends("table")
    def metrics_view(self):
        if self.table is None:
            return pn.pane.Markdown("*Pick models and press **Compare**.*")
        label = next(c for c in self.table.columns if c not in ("model",))
        return pn.pane.DataFrame(formatted_metrics(self.table, label), index=False, sizing_mode="stretch_width",
                                 styles={"overflow-x": "auto"})

    @param.depends("table")
    def scatter_view(self):
        if self.table is None:
            return pn.pane.Markdown("")
        names = list(self.table["model"].unique())
        scores = self.available_scores()
        frame = model_vs_human(self.workspace.ratings, {n: scores[n] for n in names}, by=self.by)
        colour = self._by_label() if self.by is not None else "model"
        points = hv.Points(frame, ["model_p_a", "human_p_a"], [colour, "model", "item_id"]).opts(
            color=colour, cmap="Category10", alpha=0.5, size=4, tools=["hover"], responsive=True, height=320,
            xlabel="model P(A)", ylabel="people's share choosing A", title="Model probability vs people", legend_position="right")
        return pn.pane.HoloViews(points * hv.Curve([(0, 0), (1, 1)]).opts(color="grey", line_dash="dashed"), sizing_mode="stretch_width")

    @param.depends("table")
    def calibration_view(self):
        if self.table is None:
            return pn.pane.Markdown("")
        scores = self.available_scores()
        table = calibration_table(self.workspace.ratings, {n: scores[n] for n in self.table["model"].unique()})
        curves = [hv.Curve(group.dropna(), "model_p_a", "human_p_a", label=str(name)).opts(tools=["hover"])
                  for name, group in table.groupby("model", sort=False)]
        diagonal = hv.Curve([(0, 0), (1, 1)]).opts(color="grey", line_dash="dashed")
        return pn.pane.HoloViews(hv.Overlay(curves + [diagonal]).opts(
            responsive=True, height=320, title="Calibration: people's share per bin of model P(A)",
            xlabel="model P(A) (bin mean)", ylabel="people's share choosing A", legend_position="right"), sizing_mode="stretch_width")

    @param.depends("difference", "verdict_text")
    def difference_view(self):
        if self.difference is None:
            return pn.pane.Markdown(self.verdict_text or "")
        shown = self.difference[self.difference["metric"] == self.metric].copy()
        for column in ("value_a", "value_b", "difference", "ci_low", "ci_high"):
            shown[column] = shown[column].round(3)
        return pn.Column(pn.pane.Markdown(self.verdict_text, sizing_mode="stretch_width"),
                         pn.pane.DataFrame(shown, index=False, sizing_mode="stretch_width"), sizing_mode="stretch_width")

    def __panel__(self):
        if self.workspace.ratings is None:
            return pn.pane.Alert("No data set loaded.", alert_type="warning")
        compare = pn.widgets.Button(label="Compare", color="primary")
        compare.on_click(lambda event: self.compare())
        score = pn.widgets.Button(label="Score checkpoint", color="default")
        score.on_click(lambda event: self.score_checkpoint())
        train = pn.widgets.Button(label="Train", color="default")
        train.on_click(lambda event: self.train())
        for button in (compare, score, train):
            button.disabled = self.busy
        self.param.watch(lambda event: [setattr(b, "disabled", event.new) for b in (compare, score, train)], "busy")
        controls = pn.Column(
            pn.pane.Markdown("### Models"),
            pn.widgets.MultiChoice.from_param(self.param.selected, label="Models to compare"),
            pn.widgets.Select.from_param(self.param.by, label="Slice by (item column)"),
            pn.widgets.IntInput.from_param(self.param.n_boot, label="Bootstrap replicates"),
            compare,
            pn.pane.Markdown("#### A versus B"),
            pn.widgets.Select.from_param(self.param.model_a, label="Model A"),
            pn.widgets.Select.from_param(self.param.model_b, label="Model B"),
            pn.widgets.Select.from_param(self.param.metric, label="Metric for the verdict"),
            pn.pane.Markdown("#### Add a model"),
            pn.widgets.Select.from_param(self.param.checkpoint, label="Local checkpoint"), score,
            pn.widgets.Select.from_param(self.param.training, label="Train a small reward model on"), train,
            self._progress,
            pn.pane.Markdown(self.param.status, sizing_mode="stretch_width"),
            width=300,
        )
        main = pn.Column(
            pn.pane.Markdown("## Models against people"),
            self.metrics_view,
            self.difference_view,
            pn.Row(self.scatter_view, self.calibration_view, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
        return pn.Row(controls, main, sizing_mode="stretch_width")

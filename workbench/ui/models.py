"""The Models tab: which reward model agrees with people better, on which kind of item, and how sure are we?

Models come from five places: scores already in the workspace or the store, the committee that comes
with the data (the demo study's), local checkpoint folders (scored here with :func:`workbench.score_pairs`:
a reward model, or a DPO policy with its reference), and small reward models trained here
(:func:`workbench.train_reward_model`: raw labels, cleaned labels, with the disagreement margin of
Padmakumar et al. 2024). A model trained
here is compared on items it did not see — 20 % of the items held out at random (seeded), or the items a
split column does not mark ``train`` — unless in-sample evaluation is asked for, and its name says which.
Scoring, training and bootstraps run off the request thread with a progress bar; every failure is a
sentence in the page.
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

from ..analysis.groups import columns_with_few_values
from ..analysis.models import ALL, calibration_table, compare_models, compare_two, model_vs_human, verdict
from ..analysis.reward_models import is_saved_reward_model, train_reward_model
from ..analysis.scoring import is_causal_checkpoint, score_pairs
from ..data.ratings import Ratings
from ..data.store import Store
from ..errors import WorkbenchDataError
from ..kernels.model_metrics import METRICS
from . import figures
from .background import call_in_session, error_text, run_in_background, session_document
from .tables import scrolling_table
from .workspace import Workspace

#: Environment variable naming a folder whose sub-folders are local checkpoints (listed in the tab).
MODELS_ENV = "WORKBENCH_MODELS"
TRAINING = {"raw labels": None, "with disagreement margin": "disagreement"}
SHOWN = ("accuracy", "pearson_r", "mean_l1", "brier", "jsd", "kappa", "alpha_with_model", "accuracy_unanimous",
         "accuracy_majority", "accuracy_split", "brier_soft", "ece", "length_bias_r", "split_uncertainty")
HELD_OUT, BY_COLUMN, IN_SAMPLE = "held out: 20 % of items", "held out: items not marked 'train'", "in-sample (training pairs)"
#: Axis labels with units for the forest plot of each metric.
AXIS = {
    "accuracy": "accuracy (share of pairs where the model picks the people's majority)",
    "pearson_r": "Pearson r of model P(A) with the people's share (−1 to 1)",
    "mean_l1": "mean |model P(A) − people's share| (0–1, lower is better)",
    "brier": "Brier score against the majority (0–1, lower is better)",
    "jsd": "Jensen–Shannon divergence to the people (bits, 0–1, lower is better)",
    "kappa": "Cohen's kappa with the majority (−1 to 1)",
    "alpha_with_model": "Krippendorff's alpha with the model as one more rater",
    "accuracy_unanimous": "accuracy on unanimous pairs (share of pairs)",
    "accuracy_majority": "accuracy on clear-majority pairs (share of pairs)",
    "accuracy_split": "accuracy on split pairs (share of pairs)",
    "brier_soft": "Brier score against the people's share (0–1, lower is better)",
    "ece": "expected calibration error (0–1, lower is better)",
    "length_bias_r": "r of reward margin with length difference (−1 to 1)",
    "split_uncertainty": "model uncertainty on split pairs",
}
#: Share of items a model trained in the tab is evaluated on (never trained on) by default.
TEST_SHARE = 0.2


def held_out_split(items: pd.Index, *, seed: int = 0, share: float = TEST_SHARE) -> tuple[pd.Index, pd.Index]:
    """Training and held-out items: ``share`` of the items at random (seeded), by item so no pair is in both.

    >>> train, test = held_out_split(pd.Index([f"i{k}" for k in range(10)]), seed=0)
    >>> len(train), len(test), bool(set(train) & set(test))
    (8, 2, False)
    """
    order = np.random.default_rng(seed).permutation(len(items))
    n_test = max(1, int(round(share * len(items))))
    if n_test >= len(items):
        raise WorkbenchDataError(f"{len(items)} items are too few to hold {share:.0%} out and train on the rest")
    return items[np.sort(order[n_test:])], items[np.sort(order[:n_test])]


def column_split(ratings: Ratings, column: str) -> tuple[pd.Index, pd.Index]:
    """Training items (``column`` says ``train``, any case) and held-out items (every other value)."""
    if column not in ratings.items.columns:
        raise WorkbenchDataError(f"split column {column!r} is not an item column")
    values = ratings.items[column].astype(str).str.strip().str.lower()
    train = values == "train"
    if not train.any() or train.all():
        found = ", ".join(map(repr, sorted(ratings.items[column].astype(str).unique())[:5]))
        raise WorkbenchDataError(f"split column {column!r} must mark training items 'train' and others something else "
                                 f"(such as 'test'); it holds {found}")
    return ratings.items.index[train.to_numpy()], ratings.items.index[~train.to_numpy()]


def list_checkpoints(folder) -> dict[str, str]:
    """Sub-folders of ``folder`` that hold a checkpoint (config.json) or a saved workbench reward model: name → path."""
    if not folder:
        return {}
    root = Path(folder).expanduser()
    if not root.is_dir():
        return {}
    return {p.name: str(p) for p in sorted(root.iterdir())
            if p.is_dir() and ((p / "config.json").is_file() or is_saved_reward_model(p))}


def formatted_metrics(table: pd.DataFrame, by_label: str, evaluated_on: dict | None = None) -> pd.DataFrame:
    """The metrics table for reading: each metric as ``value [low, high]``; ``evaluated_on`` (model → which items
    it is compared on) adds that column."""
    counts = [c for c in ("n_items", "n_human_ties", "n_split") if c in table.columns]
    out = table[["model", by_label, *counts]].copy()
    if evaluated_on:
        out.insert(1, "evaluated on", out["model"].map(lambda m: evaluated_on.get(m, "all its scored items")))
    for metric in (m for m in SHOWN if m in table.columns):
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
    reference = param.Selector(default=None, objects=[None], allow_None=True,
                               doc="With a causal-LM checkpoint: its DPO reference (None: reference-free).")
    beta = param.Number(default=0.1, bounds=(1e-6, None), doc="DPO β for causal-LM checkpoints.")
    training = param.Selector(default="raw labels", objects=list(TRAINING))
    evaluation = param.Selector(default=HELD_OUT, objects=[HELD_OUT, BY_COLUMN, IN_SAMPLE],
                                doc="Which items a model trained here is compared on.")
    split_column = param.Selector(default=None, objects=[None], allow_None=True, doc="Item column marking 'train' items.")
    seed = param.Integer(default=0, doc="Seed of the random held-out items.")
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
        self.evaluated_on: dict[str, str] = {}
        if scores is not None:
            self.add_scores(scores)
        self._progress = pn.indicators.Progress(value=0, max=100, visible=False, sizing_mode="stretch_width", bar_color="info")
        self._refresh_choices()
        self.workspace.param.watch(lambda event: self._refresh_choices(), ["scores", "ratings", "cleaned"])
        # people's labels as shown in every tab (raw or cleaned): a comparison made before a switch is stale,
        # and one still running when it happens is not shown
        self._generation, self._doc = 0, None
        self.workspace.param.watch(self._on_data_in_use, "in_use")

    def _on_data_in_use(self, _event) -> None:
        self._generation += 1
        self.param.update(table=None, difference=None, verdict_text="",
                          status=f"Now comparing against the {self.workspace.describe_in_use()}: press Compare.")

    # ------------------------------------------------------------------ models on offer
    def add_scores(self, scores) -> None:
        """Add scored models to the workspace: name → DataFrame, or a long table with a ``model`` column."""
        if isinstance(scores, pd.DataFrame) and "model" in scores.columns:
            scores = {str(name): group.drop(columns="model") for name, group in scores.groupby("model", sort=False)}
        if not isinstance(scores, dict):
            raise WorkbenchDataError("scores must map model name -> DataFrame, or be a long table with a model column")
        self.workspace.scores = {**self.workspace.scores, **scores}

    def available_scores(self) -> dict[str, pd.DataFrame]:
        """Every scored model: the committee that comes with the data (the demo study's), the store's saved scores,
        then the workspace's (later wins on a name clash)."""
        from .cleaner import demo_scores

        found = {}
        committee = demo_scores(self.workspace.ratings) if self.workspace.ratings is not None else None
        if committee is not None:
            found = {str(name): group.drop(columns="model") for name, group in committee.groupby("model", sort=True)}
        if self.workspace.store is not None:
            saved = self.workspace.store.load_scores()
            found.update({str(name): group[["item_id", "score_a", "score_b"]] for name, group in saved.groupby("model", sort=True)})
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
        columns = columns_with_few_values(ratings.items, 20) if ratings is not None else []
        self.param.by.objects = [None] + columns
        if self.by not in self.param.by.objects:
            self.by = None
        checkpoints = list(list_checkpoints(self.model_folder))
        self.param.checkpoint.objects = checkpoints
        if self.checkpoint not in checkpoints:
            self.checkpoint = checkpoints[0] if checkpoints else None
        self.param.reference.objects = [None] + checkpoints
        if self.reference not in self.param.reference.objects:
            self.reference = None
        all_columns = list(ratings.items.columns) if ratings is not None else []
        self.param.split_column.objects = [None] + all_columns
        if self.split_column not in self.param.split_column.objects:
            self.split_column = None
        options = list(TRAINING) + (["cleaned labels"] if self.workspace.cleaned is not None else [])
        self.param.training.objects = options

    # ------------------------------------------------------------------ background work
    def _fail(self, label: str, error: Exception) -> None:
        """A failure found before any background work starts: a sentence in the page, as for a failed job."""
        self.status = f"{label} failed: {error_text(error)}"

    def _run(self, label: str, work, done, wait: bool, long: bool = False) -> None:
        if self.busy:
            self.status = "Busy: wait for the current job to finish."
            return
        self.busy, self.status = True, f"{label}…"
        self._progress.param.update(value=0, visible=True)
        self._doc = session_document()  # where progress ticks from the worker thread are applied

        def finished(result):
            done(result)
            self.busy = False
            self._progress.param.update(value=100, visible=False)

        def failed(error):
            self.busy = False
            self._progress.visible = False
            self.status = f"{label} failed: {error_text(error)}"

        future = run_in_background(work, done=finished, failed=failed, long=long)
        if wait:
            futures.wait([future])
            while self.busy:  # the done-callback runs right after the result is set
                time.sleep(0.01)

    def _tick(self, done: int, total: int) -> None:
        """Progress from the worker thread, applied in the session (an update made in the pool never reaches the page)."""
        value = int(100 * done / max(total, 1))
        call_in_session(self._doc, lambda: setattr(self._progress, "value", value))

    def compare(self, wait: bool = False) -> None:
        """Compute the metrics table and the A-vs-B difference for the selected models (in the background)."""
        names = list(self.selected)
        if not names:
            self.status = "Pick at least one model."
            return
        try:
            scores, ratings, by, n_boot = self.available_scores(), self.workspace.in_use, self.by, self.n_boot
        except Exception as err:  # noqa: BLE001 — shown in the page, not only in the console
            self._fail("Comparing", err)
            return
        pair = (self.model_a, self.model_b) if self.model_a and self.model_b and self.model_a != self.model_b else None

        doc, generation = session_document(), self._generation

        def current(update):
            """``update`` only while the ratings compared against are still the ones in use."""
            return lambda *args: generation == self._generation and update(*args)

        def work():
            # the answer asked for first (which of A and B agrees with people better) is shown as soon as it is known;
            # the table and figures of every selected model follow
            diff = compare_two(ratings, scores, *pair, by=by, n_boot=n_boot) if pair else None
            call_in_session(doc, current(lambda: self.param.update(difference=diff, verdict_text=self._verdict(diff))))
            self._tick(1, 2)
            return compare_models(ratings, {n: scores[n] for n in names}, by=by, n_boot=n_boot)

        @current
        def done(table):
            self.param.update(table=table, status=f"Compared {len(names)} models on {int(table['n_items'].iloc[0])} items.")

        self._run("Comparing", work, done, wait)

    def score_checkpoint(self, wait: bool = False) -> None:
        """Score the chosen local checkpoint on every pair; the scores join the workspace (and the store's cache)."""
        if self.checkpoint is None:
            self.status = f"No checkpoint folder found (set {MODELS_ENV} or model_folder)."
            return
        folders = list_checkpoints(self.model_folder)
        path, name = folders.get(self.checkpoint), self.checkpoint
        reference = folders.get(self.reference) if self.reference else None
        beta = float(self.beta)
        try:
            pairs, store = self.workspace.ratings.pairs(), self.workspace.store
            if path is None:
                raise WorkbenchDataError(f"checkpoint {name!r} is no longer in {self.model_folder!r}")
            if reference is not None:
                if reference == path:
                    raise WorkbenchDataError("the DPO reference must be another folder than the policy")
                name = f"{name} (DPO vs {self.reference}, β={beta:g})"
            elif is_causal_checkpoint(path):
                name = f"{name} (log-prob, β={beta:g})"
        except Exception as err:  # noqa: BLE001 — shown in the page, not only in the console
            self._fail(f"Scoring {name}", err)
            return
        dpo = {"reference": reference, "beta": beta} if reference is not None or is_causal_checkpoint(path) else {}

        def work():
            return score_pairs(path, pairs, store=store, progress=self._tick, **dpo)

        def done(scored):
            self.add_scores({name: scored.rename_axis("item_id").reset_index()})
            report = scored.attrs.get("scoring", {})
            self.status = (f"Scored {name}: {report.get('texts', 0)} texts, {report.get('cached', 0)} from the cache, "
                           f"{report.get('truncated', 0)} truncated.")

        self._run(f"Scoring {name}", work, done, wait, long=True)

    def train(self, wait: bool = False) -> None:
        """Train a hashing-encoder reward model (raw, cleaned, or with the margin) on the training items and add its
        scores on the held-out items (all items only with in-sample evaluation, and then named so)."""
        kind, evaluation, seed = self.training, self.evaluation, int(self.seed)
        base = {"raw labels": "trained: raw", "with disagreement margin": "trained: margin",
                "cleaned labels": "trained: cleaned"}[kind]
        try:
            source = self.workspace.cleaned if kind == "cleaned labels" else self.workspace.ratings
            margin = TRAINING.get(kind)
            pairs = self.workspace.ratings.pairs()  # a data set without preference pairs says so here
            if evaluation == IN_SAMPLE:
                train_items, test_items = pairs.index, pairs.index
                name, where = f"{base} (in-sample)", "IN-SAMPLE: the pairs it was trained on"
            elif evaluation == BY_COLUMN:
                if self.split_column is None:
                    raise WorkbenchDataError("pick the split column that marks the training items 'train'")
                train_items, test_items = column_split(self.workspace.ratings, self.split_column)
                name = f"{base} (held out by {self.split_column})"
                where = f"held out: {len(test_items)} items not marked 'train' in {self.split_column!r}"
            else:
                train_items, test_items = held_out_split(pairs.index, seed=seed)
                name = f"{base} (held out 20 %, seed {seed})"
                where = f"held out: {len(test_items)} items (20 % at random by item, seed {seed})"
            training_set = source.subset(items=source.items.index.intersection(train_items))
            test_pairs = pairs.loc[pairs.index.intersection(test_items)]
        except Exception as err:  # noqa: BLE001 — shown in the page, not only in the console
            self._fail(f"Training {base}", err)
            return

        def work():
            model = train_reward_model(training_set, margin=margin, name=name)
            return model, model.score_pairs(test_pairs)

        def done(result):
            model, scored = result
            self.evaluated_on[name] = where
            self.add_scores({name: scored.rename_axis("item_id").reset_index()})
            self.status = (f"Trained {name} on {model.info['pairs']} pairs (train accuracy {model.info['train_accuracy']:.3f}); "
                           f"compared on {where}.")

        self._run(f"Training {name}", work, done, wait, long=True)

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
        shown = formatted_metrics(self.table, label, self.evaluated_on)
        held = sorted(set(self.table["model"]) & set(self.evaluated_on))
        note = (" A model trained here is compared on the items in its \"evaluated on\" column; every model in the "
                "table is compared on the items all of them scored.") if held else ""
        return pn.Column(pn.pane.Markdown(f"*Metrics per model and slice, 95 % bootstrap intervals (scroll sideways for "
                                          f"every metric).*{note}", sizing_mode="stretch_width"),
                         scrolling_table(shown), sizing_mode="stretch_width")

    @param.depends("table", "metric")
    def forest_view(self):
        """The chosen metric per slice and model with its interval (a sentence until there is something to draw)."""
        if self.table is None:
            return pn.pane.Markdown("")
        metric, label = self.metric, next(c for c in self.table.columns if c != "model")
        columns = [metric, f"{metric}_low", f"{metric}_high"]
        if not all(c in self.table.columns for c in columns) or not np.isfinite(self.table[metric].to_numpy(float)).any():
            return pn.pane.Markdown(f"*No {metric} to draw for these models: it is undefined on these items.*")
        figure = figures.forest(self.table, label, value=metric, low=columns[1], high=columns[2],
                                title=f"{metric} per {self._by_label()} and model (95 % interval)",
                                xlabel=AXIS.get(metric, metric), ylabel=f"{self._by_label()} · model")
        height = 140 + 28 * len(self.table)
        return pn.pane.HoloViews(figure.opts(responsive=True, height=height, legend_position="right"),
                                 sizing_mode="stretch_width")

    @param.depends("table")
    def scatter_view(self):
        if self.table is None:
            return pn.pane.Markdown("")
        names = list(self.table["model"].unique())
        scores = self.available_scores()
        frame = model_vs_human(self.workspace.in_use, {n: scores[n] for n in names}, by=self.by)
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
        table = calibration_table(self.workspace.in_use, {n: scores[n] for n in self.table["model"].unique()})
        if not table["n_items"].gt(0).any():
            return pn.pane.Markdown("*No item has both a model P(A) and people's labels: nothing to calibrate.*")
        diagram, counts = figures.reliability_diagram(table, title="Calibration (reliability diagram)")
        diagram = diagram.opts(hv.opts.Overlay(responsive=True, height=320, legend_position="right"),
                               hv.opts.Curve(tools=["hover"]), hv.opts.Scatter(tools=["hover"]))
        counts = counts.opts(responsive=True, height=220, tools=["hover"], xrotation=45, multi_level=False,
                             color="model", cmap=list(figures.PALETTE), show_legend=True, legend_position="right")
        return pn.Column(pn.pane.HoloViews(diagram, sizing_mode="stretch_width"),
                         pn.pane.HoloViews(counts, sizing_mode="stretch_width"), sizing_mode="stretch_width")

    @param.depends("difference", "verdict_text")
    def difference_view(self):
        if self.difference is None:
            return pn.pane.Markdown(self.verdict_text or "")
        shown = self.difference[self.difference["metric"] == self.metric].copy()
        for column in ("value_a", "value_b", "difference", "ci_low", "ci_high"):
            shown[column] = shown[column].round(3)
        a, b = self.difference.attrs["a"], self.difference.attrs["b"]
        # the same names and the same sign as the verdict above: difference = B − A
        shown = shown.rename(columns={"value_a": f"A: {a}", "value_b": f"B: {b}", "difference": f"{b} − {a}"})
        return pn.Column(pn.pane.Markdown(self.verdict_text, sizing_mode="stretch_width"),
                         scrolling_table(shown), sizing_mode="stretch_width")

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
            pn.pane.Markdown("### Compare"),
            pn.widgets.MultiChoice.from_param(self.param.selected, label="Models to compare"),
            pn.widgets.Select.from_param(self.param.by, label="Slice by (item column)"),
            pn.widgets.IntInput.from_param(self.param.n_boot, label="Bootstrap replicates"),
            compare,
            pn.pane.Markdown("### A versus B"),
            pn.widgets.Select.from_param(self.param.model_a, label="Model A"),
            pn.widgets.Select.from_param(self.param.model_b, label="Model B"),
            pn.widgets.Select.from_param(self.param.metric, label="Metric (forest plot and verdict)"),
            pn.pane.Markdown("### Add a model"),
            pn.widgets.Select.from_param(self.param.checkpoint, label="Local checkpoint"),
            pn.widgets.Select.from_param(self.param.reference, label="DPO reference (causal-LM checkpoints)"),
            pn.widgets.FloatInput.from_param(self.param.beta, label="DPO β"), score,
            pn.widgets.Select.from_param(self.param.training, label="Train a small reward model on"),
            pn.widgets.Select.from_param(self.param.evaluation, label="Compare it on"),
            pn.widgets.Select.from_param(self.param.split_column, label="Split column ('train' items)"),
            pn.widgets.IntInput.from_param(self.param.seed, label="Held-out seed"), train,
            self._progress,
            pn.pane.Markdown(self.param.status, sizing_mode="stretch_width"),
            width=300,
        )
        main = pn.Column(
            self.metrics_view,
            self.forest_view,
            self.difference_view,
            pn.Row(self.scatter_view, self.calibration_view, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
        return pn.Column(pn.pane.Markdown("## Models against people"), pn.Row(controls, main, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")

"""The Clean tab: switch cleaning rules on and off and see at once what each does to labels and agreement."""

from __future__ import annotations

import functools
import io
import re
import weakref
from concurrent import futures

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from ..analysis.cleaning import TIES, committee_agreement, committee_groups, committee_votes, fit_attentiveness
from ..analysis.recipes import Recipe, build_cleaned, missing_columns, provenance
from ..analysis.reliability import reliability
from ..data.ratings import PREFERENCE_LABELS, Ratings
from ..data.store import Store
from ..errors import WorkbenchDataError
from .background import call_in_session, error_text, run_in_background, session_document
from .tables import data_table
from .workspace import Workspace


#: The source-aware cleaning recipe of docs/METHODS.md, “Cleaning” (plus attentiveness, tags and a floor), as the tab opens.
DEFAULT_RULES = [
    {"rule": "flip", "where": "committee_group == 'NoAgree'"},
    {"rule": "drop", "where": "committee_group == 'LowAgree' and split == 'harmless'"},
    {"rule": "drop_raters", "where": "attentiveness < 0.3"},
    {"rule": "drop_tagged", "scheme": "unreliability_source", "values": ["both_harmful", "both_misinformation"]},
    {"rule": "min_ratings", "k": 3},
]
COMMITTEE_COLUMNS = ("committee_group", "n_agree", "share_agree")
#: Where a column a rule needs comes from, when the data set does not have it.
SOURCES = {
    **{c: "score reward models in the Models tab (or keep a committee's scores in the store)" for c in COMMITTEE_COLUMNS},
    "attentiveness": "fit attentiveness below (needs items with model_a / model_b)",
}
#: A default rule that would drop at least this share of the items starts switched off (its note says what it would drop).
DEFAULT_DROP_LIMIT = 0.25
N_BOOT = 200


#: Per data set (shared by every browser session on it): committee votes, alpha as read, attentiveness fits.
_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _shared(ratings: Ratings, key, compute):
    """``compute()`` once per data set and key; sessions of one server reuse it."""
    cache = _SHARED.setdefault(ratings, {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


@functools.lru_cache(maxsize=2)
def _demo_study(seed: int):
    from ..data.simulate import simulate_study

    return simulate_study(seed=seed)


def demo_scores(ratings: Ratings) -> pd.DataFrame | None:
    """The built-in demo study's own committee scores, when ``ratings`` is that study (as ``workbench serve`` opens it)."""
    found = re.fullmatch(r"simulate_study\(seed=(\d+)\)", str(ratings.meta.get("source", "")))
    if found is None or (ratings.n_items, ratings.n_ratings) != (2000, 40000):
        return None
    study = _demo_study(int(found.group(1)))
    same = study.ratings.items.index.equals(ratings.items.index) and study.ratings.ratings["label"].equals(ratings.ratings["label"])
    return study.scores if same else None


class Cleaner(pn.viewable.Viewer):
    """Cleaning rules as switches, with live effects: flips and drops per rule, alpha before/after with
    intervals, label balance, agreement with a reward-model committee, the attentiveness histogram and
    the affected items. Recipes save to and load from the store; the cleaned data (with provenance)
    and the recipe download as files.

    Committee scores come from ``scores=`` (``item_id, model, score_a, score_b``), else the
    workspace's scored models, else the store's scores table, else — for the demo study — its own
    committee. Rules whose columns are missing stay switched off until they appear.

    >>> import workbench
    >>> study = workbench.simulate_study(n_items=200, ratings_per_item=5, n_raters=20)
    >>> cleaner = workbench.Cleaner(ratings=study.ratings, scores=study.scores, fit_now=False)
    >>> cleaner.counts()["flip"] > 0, cleaner.available(2)  # no attentiveness fitted yet
    (True, False)
    >>> cleaner.switch(0, False); cleaner.counts()["flip"]
    0
    """

    workspace = param.ClassSelector(class_=Workspace)
    strong_model = param.Selector(default=None, objects=[None], doc="The stronger model of the comparisons (the model users should prefer).")
    mu_known = param.Boolean(default=False, doc="Fix μ (\"Knowing μ\") instead of estimating it under its Beta(8, 2) prior.")
    mu = param.Number(default=0.7, bounds=(0.51, 1.0), step=0.01, doc="P(the stronger model is truly better), when fixed.")
    low_cutoff = param.Number(default=0.5, bounds=(0.0, 1.0), step=0.05, doc="Share of members up to which a pair is LowAgree.")
    ties = param.Selector(default="disagree", objects=list(TIES), doc="How a human or model tie counts in the committee.")
    recipe_name = param.String(default="source-aware", doc="Name to save the recipe under.")
    message = param.String(default="", doc="The last error or hint shown to the user.")

    def __init__(self, *, ratings: Ratings | None = None, store: Store | None = None, scores: pd.DataFrame | None = None,
                 workspace: Workspace | None = None, recipe=None, fit_now: bool = True, **params):
        if workspace is None:
            workspace = Workspace(ratings=ratings, store=store)
        super().__init__(workspace=workspace, **params)
        self.attentiveness = None  # the last AttentivenessFit
        self.provenance = None
        self.cleaned = None
        self._adaptive = recipe is None  # the default rules adapt to the data; a recipe given is taken as it is
        self.recipe = Recipe(recipe if recipe is not None else DEFAULT_RULES, name=self.recipe_name)
        self._guarded: dict[int, str] = {}  # default rules switched off because they would drop much: why
        self._guarding = False
        self._pending: list = []
        self._generation = 0
        if self.ratings is None:
            return
        self._scores = scores
        if self._adaptive and self.ratings.has_raters:  # a floor no item of the data set falls under as read
            fewest = int(self.ratings.raters_per_item().min())
            self.recipe = Recipe([{**r, "k": min(int(r["k"]), fewest)} if r["rule"] == "min_ratings" else r for r in self.recipe.rules],
                                 name=self.recipe_name)
        self._votes = self._committee_votes()
        self._pairs_before = self.ratings.pairs() if _is_preference(self.ratings) else None
        self._labels_before = self.ratings.label_counts().sum(axis=0)
        models = self._models()
        self.param.strong_model.objects = [None] + models
        self.strong_model = "model-strong" if "model-strong" in models else (models[0] if models else None)
        self._build_widgets()
        self._enrich()
        self._alpha_before = None
        ratings = self.ratings
        self._in_background(lambda: _shared(ratings, "alpha", lambda: self._alpha(ratings)), self._show_alpha_before)
        self.update()
        self.param.watch(lambda _: (self._enrich(), self.update()), ["low_cutoff", "ties"])
        self.param.watch(self._on_message, "message")
        self._doc, self._data = session_document(), self.ratings
        self._tag_watcher = self.workspace.param.watch(self._on_tags_written, "tag_revision")
        if fit_now and self.strong_model is not None:
            self.fit()

    # ------------------------------------------------------------------ data
    @property
    def ratings(self) -> Ratings | None:
        return self.workspace.ratings

    def _models(self) -> list[str]:
        items = self.ratings.items
        if not {"model_a", "model_b"} <= set(items.columns):
            return []
        return sorted(map(str, pd.unique(items[["model_a", "model_b"]].to_numpy().ravel())))

    def _committee_scores(self) -> tuple[pd.DataFrame | None, str]:
        if self._scores is not None:
            return self._scores, "given"
        if self.workspace.scores:
            frames = [frame.assign(model=name) for name, frame in self.workspace.scores.items()]
            return pd.concat(frames, ignore_index=True), "scored models"
        if self.workspace.store is not None:
            stored = self.workspace.store.load_scores()
            if len(stored):
                return stored, "the store"
        return demo_scores(self.ratings), "the demo study's committee"

    def _committee_votes(self):
        scores, self._scores_source = self._committee_scores()
        if scores is None or not _is_preference(self.ratings):
            return None
        try:
            if self._scores_source in ("given", "scored models"):
                return committee_votes(scores, self.ratings.items.index)
            return _shared(self.ratings, ("votes", self._scores_source, len(scores)), lambda: committee_votes(scores, self.ratings.items.index))
        except WorkbenchDataError as err:
            self.message = f"committee scores not used: {err}"
            return None

    def _enrich(self) -> None:
        """The data the rules see: the ratings plus tags, committee groups and attentiveness as columns."""
        enriched = self.ratings
        if self.workspace.store is not None:
            from ..analysis.tags import with_tags

            try:
                enriched = with_tags(enriched, self.workspace.store)
            except WorkbenchDataError:
                pass  # tag columns that clash with the data's own columns are left out
        if self._votes is not None:
            groups = committee_groups(enriched, None, votes=self._votes, cutoffs=(0, self.low_cutoff, 1.0), ties=self.ties)
            self.groups = groups
            self._agreement_before = committee_agreement(self.ratings, self._votes, ties=self.ties)
            enriched = enriched.with_columns(items=groups[[c for c in COMMITTEE_COLUMNS if c not in enriched.items.columns]])
        if self.attentiveness is not None and "attentiveness" not in enriched.raters.columns:
            enriched = enriched.with_columns(raters=self.attentiveness.users[["attentiveness"]])
        self.enriched = enriched

    def available(self, position: int) -> bool:
        """Whether rule ``position`` has the columns it needs in this data (else it stays off)."""
        try:
            Recipe([{**self.recipe.rules[position], "enabled": True}])._check_against(self.enriched)
        except WorkbenchDataError:
            return False
        return not (self.recipe.rules[position]["rule"] == "flip" and not _is_preference(self.ratings))

    def needs(self, position: int) -> str:
        """Why rule ``position`` cannot run on this data, in one sentence naming what is missing and where it comes from ("" if it can).

        >>> import workbench
        >>> cleaner = workbench.Cleaner(ratings=workbench.simulate_study(n_items=40, ratings_per_item=3, n_raters=8).ratings, fit_now=False)
        >>> print(cleaner.needs(0))
        needs committee_group: score reward models in the Models tab (or keep a committee's scores in the store)
        >>> print(cleaner.needs(2))
        needs attentiveness: fit attentiveness below (needs items with model_a / model_b)
        >>> cleaner.needs(4)
        ''
        """
        rule = {**self.recipe.rules[position], **({"values": []} if self.recipe.rules[position]["rule"] == "drop_tagged" else {})}
        if getattr(self, "_rule_rows", None):  # the rule as the widgets show it
            try:
                rule = self.current_recipe().rules[position]
            except WorkbenchDataError:
                pass
        missing = missing_columns(rule, self.enriched)
        if missing:
            where = []
            for name in missing:
                if rule["rule"] == "drop_tagged" and name == rule.get("scheme"):
                    where.append(f"{name}: tag items in the Tag tab (scheme {name}), with a project store")
                else:
                    where.append(f"{name}: {SOURCES.get(name, 'not a column of this data set')}")
            return "needs " + "; ".join(where)
        if rule["rule"] == "flip" and not _is_preference(self.ratings):
            return "flips need A/B preference labels; this data set's labels are others"
        return ""

    def _on_tags_written(self, _event) -> None:
        """Tag columns changed: refresh, in this session's own event loop (the write may come from another session)."""
        if self.workspace.ratings is not self._data:  # the app replaced this tab for another data set
            self.workspace.param.unwatch(self._tag_watcher)
            return
        call_in_session(self._doc, lambda: (self._enrich(), self.update()))

    # ------------------------------------------------------------------ background work
    def _in_background(self, work, done) -> None:
        """``work()`` off the request thread, then ``done(result)`` in this session; a failure becomes the message."""
        self._pending.append(run_in_background(work, done=done, failed=lambda error: setattr(self, "message", error_text(error))))

    def wait(self, timeout: float = 120) -> None:
        """Block until the background work started so far is done (for scripts and tests; in a notebook it already is)."""
        pending, self._pending = self._pending, []
        futures.wait(pending, timeout=timeout)

    def fit(self) -> None:
        """Fit attentiveness off the request thread; the histogram and the rater rule follow when done."""
        if self.strong_model is None:
            self.message = "attentiveness needs items with model_a / model_b and a stronger model to choose"
            return
        self._fit_progress.visible = True
        self._fit_status.object = "*fitting attentiveness by EM…*"
        ratings, strong, mu = self.ratings, self.strong_model, (self.mu if self.mu_known else None)
        self._in_background(lambda: _shared(ratings, ("fit", strong, mu), lambda: fit_attentiveness(ratings, strong, mu=mu)),
                            self._fitted)

    def _fitted(self, fit) -> None:
        self.attentiveness = fit
        self._fit_progress.visible = False
        mode = "fixed" if fit.mu_fixed else "estimated"
        self._fit_status.object = f"EM: {fit.n_iter} iterations, μ = {fit.mu:.3f} ({mode}), {len(fit.users)} users"
        self._enrich()
        self.update()

    def _alpha(self, ratings: Ratings) -> pd.Series:
        return reliability(ratings, n_boot=N_BOOT, seed=0).iloc[0]

    # ------------------------------------------------------------------ the recipe from the widgets
    def current_recipe(self) -> Recipe:
        """The recipe as the widgets show it; a rule without its columns counts as switched off."""
        rules = []
        for position, row in enumerate(self._rule_rows):
            rule = {"rule": self.recipe.rules[position]["rule"], **{k: w.value for k, w in row["params"].items()}}
            if rule["rule"] == "drop_tagged":
                rule["values"] = [v.strip() for v in rule["values"].split(",") if v.strip()]
            rule["enabled"] = bool(row["switch"].value)
            rules.append(rule)
        return Recipe(rules, name=self.recipe_name)

    def switch(self, position: int, on: bool) -> None:
        """Turn rule ``position`` (0-based) on or off, as its switch does."""
        self._rule_rows[position]["switch"].value = bool(on)

    def counts(self) -> dict:
        """Ratings kept, flipped and dropped by the recipe as shown."""
        if self.provenance is None:
            return {}
        return {k: int(v) for k, v in self.provenance["action"].value_counts().items()}

    def _effect(self, before, after) -> dict:
        """What one rule did between two states: ratings flipped and dropped, items left with no rating."""
        item, n = self.enriched.codes.item, self.enriched.n_items
        items_before = np.bincount(item[before.alive], minlength=n) > 0
        items_after = np.bincount(item[after.alive], minlength=n) > 0
        return {"flipped": int(after.flipped), "dropped": int(after.dropped), "items": int((items_before & ~items_after).sum())}

    def _effect_text(self, effect: dict) -> str:
        parts = []
        if effect["flipped"]:
            parts.append(f"{effect['flipped']:,} flipped")
        parts.append(f"{effect['dropped']:,} ratings dropped" + (f" ({effect['items']:,} of {self.ratings.n_items:,} items)" if effect["items"] else ""))
        return " · ".join(parts)

    def would(self, position: int) -> dict | None:
        """What rule ``position`` would do if it were switched on (after the rules above it, as shown); None if it cannot run."""
        if not self.available(position):
            return None
        rules = [{**r, "enabled": r["enabled"] and self.available(k)} for k, r in enumerate(self.current_recipe().rules)]
        rules[position]["enabled"] = True
        states = Recipe(rules[: position + 1]).steps(self.enriched)
        return self._effect(states[position], states[position + 1])

    def _guard_defaults(self) -> None:
        """Switch off a default rule that would drop a large share of the items, once, as it becomes able to run."""
        if not self._adaptive:
            return
        for position in range(len(self._rule_rows)):
            if position in self._guarded or not self._rule_rows[position]["switch"].value or not self.available(position):
                continue
            alone = Recipe([{**self.recipe.rules[position], "enabled": True}])
            if self.recipe.rules[position]["rule"] == "drop_tagged":
                alone = Recipe([self.current_recipe().rules[position]])
            states = alone.steps(self.enriched)
            items = self._effect(states[0], states[1])["items"]
            self._guarded[position] = ""
            if items >= DEFAULT_DROP_LIMIT * self.ratings.n_items:
                self._guarded[position] = f"off by default: on its own it would drop {items:,} of {self.ratings.n_items:,} items"
                self._guarding = True
                try:
                    self._rule_rows[position]["switch"].value = False
                finally:
                    self._guarding = False

    def update(self, *_events) -> None:
        """Apply the recipe as shown and refresh every view (alpha after follows off the request thread)."""
        if self._guarding:
            return
        try:
            self._guard_defaults()
            recipe = self.current_recipe()
            live = Recipe([{**r, "enabled": r["enabled"] and self.available(k)} for k, r in enumerate(recipe.rules)], name=recipe.name)
            states = live.steps(self.enriched)
        except WorkbenchDataError as err:
            self.message = str(err)
            return
        self.recipe, self._live = recipe, live
        final = states[-1]
        self.provenance = provenance(self.enriched, final, live.labels())
        try:
            self.cleaned = build_cleaned(self.ratings, final, recipe.name)
            self.message = ""
        except WorkbenchDataError as err:
            self.cleaned = None
            self.message = str(err)
        for position, row in enumerate(self._rule_rows):
            row["note"].object = self._note(position, states)
            row["switch"].disabled = bool(self.needs(position))  # greyed until its columns exist; then it acts as switched
        self._show_counts()
        self._show_balance()
        self._show_committee()
        self._show_histogram()
        self._show_diff()
        self._generation += 1
        generation, cleaned = self._generation, self.cleaned
        self._alpha_after.object = "alpha after: *computing…*"
        if cleaned is not None:
            self._in_background(lambda: self._alpha(cleaned), lambda row: self._show_alpha_after(row, generation))

    def _note(self, position: int, states) -> str:
        """The line beside a rule: what it does, what it would do when off, or what it needs."""
        needs = self.needs(position)
        if needs:
            return f"*off: {needs}*"
        if self._live.rules[position]["enabled"]:
            return self._effect_text(self._effect(states[position], states[position + 1]))
        try:
            effect = self.would(position)
        except WorkbenchDataError:
            effect = None
        if effect is None:
            return "*off: the rule cannot run as written (see the message above)*"
        why = self._guarded.get(position) or "off"
        return f"*{why}; switched on: {self._effect_text(effect)}*"

    # ------------------------------------------------------------------ views
    def _show_counts(self) -> None:
        counts = self.counts()
        cleaned = self.cleaned
        left = f"{cleaned.n_items} items and {cleaned.n_raters} raters left" if cleaned is not None else "nothing left"
        self._counts.object = (f"### {counts.get('flip', 0)} flipped · {counts.get('drop', 0)} dropped · "
                               f"{counts.get('keep', 0)} kept\n of {self.ratings.n_ratings} ratings; {left}")

    def _show_alpha_before(self, row) -> None:
        self._alpha_before = row
        self._alpha_before_pane.object = f"alpha before: **{_interval(row)}**"

    def _show_alpha_after(self, row, generation: int) -> None:
        if generation == self._generation:  # a later change has its own computation coming
            self._alpha_after.object = f"alpha after: **{_interval(row)}**"

    def _show_balance(self) -> None:
        before = self._labels_before
        after = self.cleaned.label_counts().sum(axis=0) if self.cleaned is not None else before * 0
        table = pd.DataFrame({"before": before / before.sum(), "after": after / max(after.sum(), 1)})
        self._balance.object = table.rename_axis("label").round(3).reset_index()

    def _show_committee(self) -> None:
        if self._votes is None:
            self._committee.object = ("*No committee scores: score reward models (Models tab) or save scores in the store; "
                                      "the committee rules stay off.*")
            return
        before = self._agreement_before
        after = committee_agreement(self.cleaned, self._votes, ties=self.ties) if self.cleaned is not None else float("nan")
        summary = self.groups.attrs["summary"]["all"].to_dict()
        self._committee.object = (
            f"Committee agreement with the human majority (scores from {self._scores_source}): "
            f"**{before:.3f} → {after:.3f}**  \nGroups: " + " · ".join(f"{k} {v}" for k, v in summary.items())
        )

    def _show_histogram(self) -> None:
        fit = self.attentiveness
        self._histogram.visible, self._histogram_note.visible = fit is not None, fit is None
        if fit is None:  # no empty axes: a sentence until there is something to draw
            return
        values = fit.users["attentiveness"].dropna().to_numpy()
        counts, edges = np.histogram(values, bins=20, range=(0, 1))
        plot = hv.Histogram((edges, counts), kdims="attentiveness", vdims="users").opts(
            title="Attentiveness η̂ per user", xlabel="attentiveness η̂ (0 = random clicks, 1 = always attentive)",
            ylabel="users (count)", height=220, responsive=True, color="#4c72b0", tools=["hover"])
        threshold = self._threshold()
        if threshold is not None:
            plot = plot * hv.VLine(threshold).opts(color="#c44e52", line_dash="dashed", line_width=2)
        self._histogram.object = plot

    def _threshold(self) -> float | None:
        for rule in self.recipe.rules:
            found = re.fullmatch(r"\s*attentiveness\s*<=?\s*([0-9.]+)\s*", rule.get("where", ""))
            if rule["rule"] == "drop_raters" and found:
                return float(found.group(1))
        return None

    def _show_diff(self) -> None:
        """One row per affected item: ratings flipped and dropped, the first rule that acted, p_a before and after."""
        codes = self.enriched.codes
        action = self.provenance["action"].cat.codes.to_numpy()
        touched = action != 0
        n = len(codes.items)
        flipped = np.bincount(codes.item[action == 1], minlength=n)
        dropped = np.bincount(codes.item[action == 2], minlength=n)
        first_rule = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_rule, codes.item[touched], self.provenance["rule"].cat.codes.to_numpy()[touched])
        affected = np.flatnonzero(flipped + dropped)[:200]
        labels = np.asarray(self._live.labels() + [""], dtype=object)
        table = pd.DataFrame({"item_id": codes.items[affected], "flipped": flipped[affected], "dropped": dropped[affected],
                              "first rule": labels[np.minimum(first_rule[affected], len(labels) - 1)]})
        if "committee_group" in self.enriched.items.columns:
            table.insert(1, "committee_group", self.enriched.items["committee_group"].to_numpy()[affected].astype(str))
        if _is_preference(self.ratings):
            table["p_a before"] = self._pairs_before["p_a"].to_numpy()[affected].round(3)
            after = self.cleaned.pairs()["p_a"] if self.cleaned is not None else pd.Series(dtype=float)
            table["p_a after"] = after.reindex(table["item_id"]).to_numpy().round(3)
            table["p_a after"] = table["p_a after"].astype(object).where(table["p_a after"].notna(), "— (dropped)")
        self._diff.object = table

    def _on_message(self, event) -> None:
        self._alert.object = event.new
        self._alert.visible = bool(event.new)

    # ------------------------------------------------------------------ saving and exporting
    def save(self) -> None:
        """Save the recipe as shown under ``recipe_name`` in the store."""
        if self.workspace.store is None:
            self.message = "saving recipes needs a project store (workbench serve --store project.sqlite)"
            return
        try:
            self.current_recipe().save(self.workspace.store, self.recipe_name)
        except WorkbenchDataError as err:
            self.message = str(err)
            return
        self._saved.options = self.workspace.store.recipe_names()
        self._saved.value = self.recipe_name
        self._recipe_status.object = f"saved **{self.recipe_name}**"

    def load(self, name: str | None = None) -> None:
        """Replace the rules by the latest version of a saved recipe."""
        name = name or self._saved.value
        if self.workspace.store is None or not name:
            self.message = "no saved recipe chosen"
            return
        try:
            self.recipe = Recipe.load(self.workspace.store, name)
        except WorkbenchDataError as err:
            self.message = str(err)
            return
        self.recipe_name = name
        self._adaptive = False  # a saved recipe is taken as it was saved
        self._build_rule_rows()
        self._recipe_status.object = f"loaded **{name}**"
        self.update()

    def use(self) -> None:
        """Put the cleaned data in use in every tab (:meth:`Workspace.use_cleaned`); the banner over the tabs leads back.

        The Clean tab itself keeps working on the raw data, so the recipe can still be changed and used again.
        """
        if self.cleaned is None:
            self.message = "nothing to hand over: the recipe drops every rating"
            return
        self.workspace.use_cleaned(self.cleaned, self._live.to_dict(), source=self.enriched)
        self._recipe_status.object = (f"The Overview, Explorer, Tag and Models tabs now show the cleaned data ({self.cleaned.n_ratings:,} of {self.ratings.n_ratings:,} "
                                      "ratings); “Back to the raw data” above the tabs undoes this.")

    def export_table(self) -> pd.DataFrame:
        """Every input rating with its provenance (``new_label, action, rule``) and its own extra columns."""
        extra = self.ratings.ratings.drop(columns=["item_id", "rater_id", "label"]).reset_index(drop=True)
        table = self.provenance.join(extra)
        return table.astype({c: "string" for c in ("label", "new_label", "action", "rule")})

    def cleaned_table(self) -> pd.DataFrame:
        """The kept ratings only, with their labels after the recipe (flips applied) and their own extra columns."""
        if self.cleaned is None:
            return pd.DataFrame(columns=list(self.ratings.ratings.columns))
        return self.cleaned.ratings.reset_index(drop=True)

    def _download(self, kind: str):
        buffer = io.BytesIO()
        if kind == "csv":
            buffer.write(self.cleaned_table().to_csv(index=False).encode())
        elif kind == "parquet":
            self.cleaned_table().to_parquet(buffer, index=False)
        elif kind == "provenance":
            buffer.write(self.export_table().to_csv(index=False).encode())
        else:
            buffer.write(self.current_recipe().to_yaml().encode())
        buffer.seek(0)
        return buffer

    # ------------------------------------------------------------------ widgets
    def _build_widgets(self) -> None:
        self._alert = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self._fit_progress = pn.indicators.Progress(value=-1, active=True, visible=False, sizing_mode="stretch_width")
        self._fit_status = pn.pane.Markdown("")
        fit_button = pn.widgets.Button(label="Fit attentiveness", color="primary")
        fit_button.on_click(lambda _: self.fit())
        self._attentiveness_controls = pn.Column(
            pn.widgets.Select.from_param(self.param.strong_model, label="Stronger model"),
            pn.widgets.Checkbox.from_param(self.param.mu_known, label="μ known"),
            pn.widgets.FloatSlider.from_param(self.param.mu, label="μ (when known)"),
            fit_button, self._fit_progress, self._fit_status, sizing_mode="stretch_width",
        )
        self._committee_controls = pn.Column(
            pn.widgets.FloatSlider.from_param(self.param.low_cutoff, label="LowAgree up to this share of members"),
            pn.widgets.Select.from_param(self.param.ties, label="Ties count as"),
            sizing_mode="stretch_width",
        )
        self._rules = pn.Column(sizing_mode="stretch_width")
        self._build_rule_rows()
        saved = self.workspace.store.recipe_names() if self.workspace.store is not None else []
        self._saved = pn.widgets.Select(label="Saved recipes", options=saved, value=saved[0] if saved else None)
        save, load, use = (pn.widgets.Button(label=text, color=color) for text, color in
                           (("Save recipe", "primary"), ("Load", "default"), ("Use the cleaned data in other tabs", "success")))
        save.on_click(lambda _: self.save())
        load.on_click(lambda _: self.load())
        use.on_click(lambda _: self.use())
        self._recipe_status = pn.pane.Markdown("")
        downloads = pn.Row(*[pn.widgets.FileDownload(callback=functools.partial(self._download, kind), filename=name, label=label)
                             for kind, name, label in (("csv", "cleaned.csv", "Cleaned CSV"), ("parquet", "cleaned.parquet", "Cleaned Parquet"),
                                                       ("provenance", "provenance.csv", "Provenance CSV"),
                                                       ("yaml", "recipe.yaml", "Recipe YAML"))])
        self._recipe_controls = pn.Column(
            pn.widgets.TextInput.from_param(self.param.recipe_name, label="Recipe name"), pn.Row(save, self._saved, load),
            use, downloads, self._recipe_status, sizing_mode="stretch_width",
        )
        self._counts = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._alpha_before_pane = pn.pane.Markdown("alpha before: *computing…*")
        self._alpha_after = pn.pane.Markdown("alpha after: *computing…*")
        self._balance = data_table(index=False, width=240)
        self._committee = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._histogram = pn.pane.HoloViews(sizing_mode="stretch_width", visible=False)
        self._histogram_note = pn.pane.Markdown('*Attentiveness per user is drawn here after "Fit attentiveness" (left).*',
                                                sizing_mode="stretch_width")
        self._diff = data_table(index=False, sizing_mode="stretch_width", max_height=420)

    def _build_rule_rows(self) -> None:
        rows = []
        for position, rule in enumerate(self.recipe.rules):
            label = f"{position + 1}. {rule['rule']}"
            params = {}
            if "where" in rule:
                params["where"] = pn.widgets.TextInput(value=rule["where"], label="where", sizing_mode="stretch_width")
            if rule["rule"] == "drop_tagged":
                params["scheme"] = pn.widgets.TextInput(value=rule["scheme"], label="scheme")
                params["values"] = pn.widgets.TextInput(value=", ".join(rule["values"]), label="values (comma-separated)")
            if rule["rule"] == "min_ratings":
                params["k"] = pn.widgets.IntInput(value=int(rule["k"]), start=1, label="k")
            switch = pn.widgets.Checkbox(value=rule["enabled"], label=label)
            for widget in [switch, *params.values()]:
                widget.param.watch(self.update, "value")
            rows.append({"switch": switch, "params": params, "note": pn.pane.Markdown("", margin=(0, 10))})
        self._rule_rows = rows
        self._guarded = {}  # rules loaded or rebuilt are taken as they are
        self._rules.objects = [pn.Column(pn.Row(r["switch"], r["note"]), *r["params"].values(), sizing_mode="stretch_width")
                               for r in rows]

    def __panel__(self):
        if self.ratings is None:
            return pn.pane.Alert("No data set loaded: pass ratings=… (see workbench.read_ratings).", alert_type="warning")
        controls = pn.Column(
            pn.pane.Markdown("### Rules (each applies to what the rules above left)"), self._rules,
            pn.pane.Markdown("### Committee"), self._committee_controls,
            pn.pane.Markdown("### Attentiveness"), self._attentiveness_controls,
            pn.pane.Markdown("### Recipe"), self._recipe_controls, width=460,
        )
        views = pn.Column(
            self._counts, pn.Row(self._alpha_before_pane, self._alpha_after), self._committee,
            pn.Row(pn.Column(pn.pane.Markdown("**Label balance**"), self._balance), self._histogram, self._histogram_note, sizing_mode="stretch_width"),
            pn.pane.Markdown("### Affected items"), self._diff, sizing_mode="stretch_width",
        )
        return pn.Column(pn.pane.Markdown("## Clean"), self._alert, pn.Row(controls, views, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")


def _is_preference(ratings: Ratings) -> bool:
    return ratings.level == "nominal" and bool(ratings.categories) and set(ratings.categories) <= set(PREFERENCE_LABELS)


def _interval(row) -> str:
    if not np.isfinite(row["value"]):
        return f"undefined ({row['note']})"
    return f"{row['value']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


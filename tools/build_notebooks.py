"""Write the tutorial notebooks from their cell lists and execute them in place (stored outputs are what nbval checks).

Stored notebooks keep text outputs only: Panel's inline scripts and its widget views need a running kernel
(they appear when the notebook is run) and would add megabytes and random ids to every rebuild.

Run by hand after changing a tutorial:  python tools/build_notebooks.py   (needs nbclient)

Checked outputs hold numbers that depend on the installed stack (NumPy's random streams, torch's
summation order, pandas' formatting), so the build runs only on the versions pinned in
constraints.txt and records them in each notebook (tests/test_notebook_outputs.py checks both agree).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
#: Marks a code cell whose printed output nbval compares (write ``CHECK + source``). The build strips it from
#: the source and puts nbval's tag in the cell's metadata instead, so readers never see the marker.
CHECK = "# NBVAL_CHECK_OUTPUT\n"
CHECK_TAG = "nbval-check-output"
#: Packages whose versions change checked outputs; each is pinned in constraints.txt.
OUTPUT_STACK = ("numpy", "pandas", "scipy", "torch")


def pinned() -> dict[str, str]:
    """``name==version`` lines of constraints.txt."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return dict(m.groups() for m in (re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s#;]+)", line) for line in lines) if m)


def installed_stack() -> dict[str, str]:
    """Installed versions of :data:`OUTPUT_STACK`, without local labels (torch 2.13.0+cpu → 2.13.0)."""
    return {name: importlib.metadata.version(name).split("+")[0] for name in OUTPUT_STACK}


#: The first code cell of every notebook: Panel with every resource inline, so the
#: widgets render in JupyterLab without internet (``workbench.ui.resources``). Use it as ``("code", PANEL_SETUP)``.
PANEL_SETUP = """import workbench

workbench.extension()  # Panel for this notebook, offline: no CDN (like pn.extension(inline=True))"""

QUICKSTART = [
    ("md", """# Quickstart: the demo study

The workbench keeps **every annotator's label**. This notebook loads the built-in simulated study,
looks at the data at the level of raters, items and pairs, and opens the Overview component inline.
Everything here runs offline in a few seconds."""),
    ("code", PANEL_SETUP),
    ("code", CHECK + """study = workbench.simulate_study(seed=0)
study"""),
    ("md", """`study.ratings` is what a researcher would have: one row per (item, rater) rating, with the item
texts and the raters' attributes joined on request. `study.truth` holds what generated it (classes,
planted group splits, each rater's attentiveness), so analyses can be checked against it."""),
    ("code", """ratings = study.ratings
ratings.to_frame().head()"""),
    ("code", CHECK + """for fact, value in ratings.summary().items():
    print(f"{fact:<40} {value}")"""),
    ("md", """Aggregates are *views*, computed on demand — the per-item label distribution, and for pairwise
preference data one row per pair with the human preference `p_a`:"""),
    ("code", CHECK + """pairs = ratings.pairs()
print(pairs[["n_a", "n_b", "n", "p_a"]].head().to_string())"""),
    ("md", """How far is each item from unanimity? Latent-projective items (where the answer depends on who you
ask) sit near the middle; manifest ones near the ends:"""),
    ("code", CHECK + """by_class = pairs.join(study.truth["items"]["subjectivity"])
spread = (by_class["p_a"] - 0.5).abs().groupby(by_class["subjectivity"]).mean()
print(spread.round(3).to_string())"""),
    ("md", """## How reliable are these labels?

Krippendorff's alpha over all raters, and per rater group, with 95 % bootstrap intervals over items.
Agreement is low overall (the study mixes manifest and latent-projective items and has inattentive
users); `band` is the Landis & Koch label, for display only."""),
    ("code", CHECK + """table = workbench.reliability(ratings, by="age_band", n_boot=500, seed=0)
print(table[["age_band", "value", "ci_low", "ci_high", "n_raters", "band"]].round(3).to_string(index=False))"""),
    ("md", """Per item: counts, shares, the majority (ties are flagged, never broken at random), entropy in bits:"""),
    ("code", CHECK + """items = workbench.item_table(ratings)
print(items[["n_A", "n_B", "majority", "majority_tie", "entropy_bits", "agreement"]].head().round(3).to_string())"""),
    ("md", """## The Overview, inline

The same component the app serves (`workbench serve`) renders in the notebook — offline too, because the
first cell loaded Panel with `workbench.extension()` (all scripts inline, nothing from a CDN):"""),
    ("code", """workbench.Overview(ratings=ratings)"""),
    ("md", """Components are ordinary Panel objects, so they compose with widgets. The Overview of one rater
group at a time — pick a group and the counts, the plots and the headline alpha follow:"""),
    ("code", """import panel as pn

groups = ["all raters", *sorted(ratings.raters["age_band"].unique())]
group = pn.widgets.Select(label="Raters", options=groups)


def overview_of(group):
    chosen = ratings.raters.index if group == "all raters" else ratings.raters.index[ratings.raters["age_band"] == group]
    return workbench.Overview(ratings=ratings.subset(raters=chosen))


pn.Column(group, pn.bind(overview_of, group))"""),
    ("md", """## Real data

The readers in `workbench.datasets` load public multi-annotator data sets from a local path, e.g.
`workbench.datasets.read_multipico("MP_dev.json.gz", "MP_annotators_meta.json.gz")`."""),
]

AGREEMENT = [
    ("md", """# Agreement: how reliable are the labels, and where do people differ?

Krippendorff's alpha, Cohen's and Fleiss' kappa, Gwet's AC1/AC2, Scott's pi, Brennan–Prediger,
Conger's kappa, the ICC and percent agreement, computed exactly in torch from per-item statistics,
with bootstrap intervals and per-slice values; and per-rater diagnostics. What each coefficient assumes
and where it comes from: `docs/METHODS.md` ("Agreement") and the docstrings (`help(workbench.reliability)`)."""),
    ("code", PANEL_SETUP),
    ("code", """import numpy as np
import krippendorff

study = workbench.simulate_study(seed=0)
ratings = study.ratings"""),
    ("md", """## Exact, and a drop-in for `krippendorff.alpha`

`workbench.krippendorff_alpha` takes the same arguments as the `krippendorff` package. On a raters ×
units matrix with missing values both give the same number at every level of measurement:"""),
    ("code", CHECK + """rng = np.random.default_rng(1)
truth = rng.integers(1, 6, size=300)  # six raters who give the true score 60 % of the time
data = np.where(rng.random((6, 300)) < 0.6, truth, rng.integers(1, 6, size=(6, 300))).astype(float)
data[rng.random(data.shape) < 0.4] = np.nan  # and skip 40 % of the units
for level in ["nominal", "ordinal", "interval", "ratio"]:
    ours = workbench.krippendorff_alpha(data, level_of_measurement=level)
    theirs = krippendorff.alpha(data, level_of_measurement=level)
    print(f"{level:<9} {ours:.6f}  " + ("the same as krippendorff.alpha" if abs(ours - theirs) < 1e-12 else f"krippendorff.alpha gives {theirs:.6f}"))"""),
    ("md", """## Undefined is NaN with a reason, never 1.0

With one rater per item nothing can be paired; with identical labels there is no expected
disagreement. `reliability()` says which in `note`:"""),
    ("code", CHECK + """one_each = workbench.Ratings.from_matrix([[1, np.nan], [np.nan, 2]], level="nominal")
all_same = workbench.Ratings.from_matrix([[3, 3], [3, 3]], level="nominal")
for name, r in [("one rater per item", one_each), ("all labels equal", all_same)]:
    row = workbench.reliability(r, ci=None).iloc[0]
    print(f"{name:<20} value={row['value']}  note={row['note']}")"""),
    ("md", """## Per slice, with intervals

Slices can be item columns (here the `split`) or rater columns (the raters' age band); intervals
resample items by default, or raters on request:"""),
    ("code", CHECK + """by_split = workbench.reliability(ratings, by="split", n_boot=500, seed=0)
print(by_split[["split", "value", "ci_low", "ci_high", "n_items"]].round(3).to_string(index=False))
by_rater = workbench.reliability(ratings, resample="raters", n_boot=200, seed=0)
print(by_rater[["value", "ci_low", "ci_high", "resample"]].round(3).to_string(index=False))"""),
    ("md", """The same per-slice values as a figure: a dot per slice with its 95 % interval, the line at alpha over all
items (`workbench.ui.figures.intervals`, the figure the HTML report draws too):"""),
    ("code", """from workbench.ui.figures import intervals

by_age = workbench.reliability(ratings, by="age_band", n_boot=500, seed=0)
everyone = workbench.reliability(ratings, ci=None)["value"].iloc[0]
(intervals(by_split, "split", title="Alpha per split (95 % interval)", xlabel="split",
           ylabel="Krippendorff's alpha", reference=everyone).opts(width=380, height=320)
 + intervals(by_age, "age_band", title="Alpha per age band (95 % interval)", xlabel="age band of the raters",
             ylabel="Krippendorff's alpha", reference=everyone).opts(width=380, height=320))"""),
    ("md", """## Other coefficients, on the same path

Gwet's AC1/AC2, Fleiss' kappa, Scott's pi, Brennan–Prediger, Conger's kappa and (for numeric
ratings) the intraclass correlation come through `reliability(metric=...)` with the same slices and
intervals; they follow Gwet's handbook as irrCAC implements it and are checked against irrCAC's and
pingouin's values. With two about equally common labels, as here, they nearly coincide:"""),
    ("code", CHECK + """import pandas as pd

tables = [workbench.reliability(ratings, metric=m, by="split", n_boot=200, seed=0) for m in ["alpha", "fleiss", "gwet_ac1"]]
print(pd.concat(tables)[["split", "metric", "value", "ci_low", "ci_high"]].round(3).to_string(index=False))"""),
    ("md", """When one label dominates they part: raters who agree on 90 % of the items get a low kappa or
alpha, because chance agreement is high when nearly everything is "safe" (the "kappa paradox"). AC1
takes chance agreement from how far the label shares are from uniform and stays high:"""),
    ("code", CHECK + """unsafe = (rng.random(400) < 0.05).astype(float)  # 5 % of the items are unsafe
skewed = workbench.Ratings.from_matrix(np.where(rng.random((5, 400)) < 0.9, unsafe, rng.integers(0, 2, (5, 400))).astype(float))
for metric in ["percent_agreement", "alpha", "fleiss", "gwet_ac1"]:
    print(f"{metric:<18} {workbench.reliability(skewed, metric=metric, ci=None)['value'].iloc[0]:.3f}")"""),
    ("md", """Alpha works at every level whatever the number of distinct values: ordinal alpha sorts the values
once and uses mid-ranks (no values × values matrix), ratio alpha sums its value pairs in blocks of
bounded memory. Scores with three decimals, about 4,000 distinct values:"""),
    ("code", CHECK + """scores = (truth + rng.normal(0, 0.8, size=(6, 300)))[:4].round(3)
for level in ["ordinal", "interval", "ratio"]:
    ours = workbench.krippendorff_alpha(np.abs(scores), level_of_measurement=level)
    print(f"{level:<9} {ours:.6f}")"""),
    ("md", """## Who pulls agreement down?

`rater_table` gives one row per rater: their label shares, how often they agree with the others on
shared items, Cohen's kappa against the majority of the *other* raters, and `alpha_change` — alpha
without the rater minus alpha with everyone, exact, for all raters at once. The raters the demo
study made inattentive sit at the top:"""),
    ("code", CHECK + """raters = workbench.rater_table(ratings)
columns = ["alpha_change", "n_ratings", "pairwise_agreement", "kappa_vs_majority", "attention_check"]
print(raters[columns].head(6).round(4).to_string())
inattentive = study.truth["raters"]["inattentive"]
print(raters["alpha_change"].groupby(inattentive).mean().mul(1000).round(2).rename({False: "attentive", True: "inattentive"}).to_string())"""),
    ("md", """The Overview shows the same table, sortable by any column, when the app is served (`workbench serve`).

## Disagreement as signal

The demo study knows each item's subjectivity class (manifest, latent pattern or latent projective
content, after Potter & Levine-Donnerstein 1999). Agreement falls from manifest to
latent-projective content — and on latent-projective items the youngest raters agree *among
themselves* more than everyone does together, because their preferences were planted to differ:"""),
    ("code", CHECK + """classes = study.truth["items"]["subjectivity"]
young = ratings.raters.index[ratings.raters["age_band"] == "18-34"]
for name in ["manifest", "latent_pattern", "latent_projective"]:
    subset = ratings.subset(items=classes.index[classes == name])
    everyone = workbench.reliability(subset, ci=None)["value"].iloc[0]
    within_young = workbench.reliability(subset.subset(raters=young), ci=None)["value"].iloc[0]
    print(f"{name:<18} alpha all raters {everyone:.3f}   within 18-34 {within_young:.3f}")"""),
    ("md", """Per item, the label distributions of two groups can be compared with the Jensen–Shannon
divergence (bits, in [0, 1]); it is largest where the groups were planted to disagree:"""),
    ("code", CHECK + """older = ratings.raters.index[ratings.raters["age_band"] != "18-34"]
p_young = ratings.subset(raters=young).distribution()
p_older = ratings.subset(raters=older).distribution().loc[p_young.index]
divergence = workbench.jsd(p_young, p_older)
planted = study.truth["items"].loc[divergence.index, "planted_split"]
print(divergence.groupby(planted).mean().round(3).rename({False: "not planted", True: "planted"}).to_string())"""),
    ("md", """## Per item

`item_table` gives each item's counts, shares, majority (ties flagged, never broken at random),
entropy and pairwise agreement:"""),
    ("code", CHECK + """table = workbench.item_table(ratings).join(classes)
print(table.groupby("subjectivity")[["entropy_bits", "agreement"]].mean().round(3).to_string())"""),
]

TAGGING = [
    ("md", """# Tagging: subjectivity classes as data, agreement among taggers, tags as slices

Whether disagreement is noise or signal depends on the item (Potter & Levine-Donnerstein 1999; see
`docs/METHODS.md`, "Disagreement as signal"): on *manifest*
content it is noise, on *latent-projective* content it is the finding. The workbench does not infer
the class: researchers tag it. Tags live in a project store as an append-only history, so nothing a
tagger writes is ever lost, and every analysis can slice by them."""),
    ("code", PANEL_SETUP),
    ("code", CHECK + """import tempfile
from pathlib import Path

import numpy as np

study = workbench.simulate_study(seed=0)
ratings = study.ratings
store = workbench.Store(Path(tempfile.mkdtemp()) / "tagging.sqlite")
for name, scheme in store.schemes().items():
    print(f"{name:<22} {'multi' if scheme.multi else 'single'}  {', '.join(scheme.values)}")"""),
    ("md", """## Schemes are data

The four built-in schemes come with one-line definitions (`docs/METHODS.md` says where each comes from). A project's own
taxonomy is a YAML or JSON file (or a dict) registered in the store, so it travels with the tags:"""),
    ("code", CHECK + """store.add_scheme({
    "name": "ambiguity",
    "description": "Can the prompt be read in more than one way?",
    "values": {"clear": "One reasonable reading.", "ambiguous": "Two or more reasonable readings."},
})
print(store.scheme("subjectivity").values["latent_projective"])"""),
    ("md", """## What to tag next

`tag_queue` orders the items: untagged first, then by a score — label entropy (most disagreement
first), group divergence for a rater column, a seeded random order, or tagger conflicts for
adjudication. The Tag tab shows the same queue."""),
    ("code", CHECK + """queue = workbench.tag_queue(ratings, store, "subjectivity", strategy="entropy")
print(queue.head(3).round(3).to_string(index=False))"""),
    ("md", """## Two taggers

We tag through the same store call the Tag tab makes for every click (`store.add_tag`). The
simulation's truth stands in for a careful tagger on 300 items drawn at random; a noisy second tagger
(right three times in four) tags the first 150 of them:"""),
    ("code", CHECK + """truth = study.truth["items"]["subjectivity"]
values = list(store.scheme("subjectivity").values)
sample = workbench.tag_queue(ratings, store, "subjectivity", strategy="random", seed=0)["item_id"].iloc[:300]
rng = np.random.default_rng(1)
for item in sample:
    store.add_tag(item, "subjectivity", truth[item], tagger="careful")
for item in sample.iloc[:150]:
    guess = truth[item] if rng.random() < 0.75 else values[rng.integers(3)]
    store.add_tag(item, "subjectivity", guess, tagger="noisy")
print(len(store.tag_history()), "tag rows")"""),
    ("md", """## Do the taggers agree?

Krippendorff's alpha (nominal) among taggers on the items both tagged, with a bootstrap interval;
`tag_conflicts` lists who said what where they differ:"""),
    ("code", CHECK + """agreement = workbench.tagger_agreement(store, "subjectivity", n_boot=500, seed=0)
print(agreement[["value", "alpha", "ci_low", "ci_high", "n_items", "n_taggers"]].round(3).to_string(index=False))
conflicts = workbench.tag_conflicts(store, "subjectivity")
print(conflicts["item_id"].nunique(), "items in conflict")
print(conflicts.head(4)[["item_id", "tagger", "values"]].to_string(index=False))"""),
    ("md", """## Tags are slices

`with_tags` returns a new `Ratings` whose item table has one column per scheme (one boolean column
per value for a multi-choice scheme). Where taggers differ a stated rule decides: here `majority`,
which leaves the 2-tagger conflicts missing and counts them. Any analysis then slices by the tag:"""),
    ("code", CHECK + """tagged = workbench.with_tags(ratings, store, resolve="majority", schemes=["subjectivity"])
print("left missing by conflicts:", tagged.meta["tag_conflicts"])
by_class = workbench.reliability(tagged, by="subjectivity", n_boot=500, seed=0)
print(by_class[["subjectivity", "value", "ci_low", "ci_high", "n_items"]].round(3).to_string(index=False))"""),
    ("md", """Agreement among raters is far lower on latent-projective items than on manifest ones: there the
disagreement is the signal. And the split between rater groups concentrates there too — the
age groups' label distributions diverge most on latent-projective items (generalised Jensen–Shannon
divergence among the age bands, in bits):"""),
    ("code", CHECK + """divergence = workbench.tag_queue(ratings, store, "subjectivity", strategy="divergence", by="age_band")
divergence = divergence.set_index("item_id")["score"]
print(divergence.groupby(tagged.items["subjectivity"]).mean().round(3).to_string())"""),
    ("md", """## Export and import

The whole history (additions and removals, with who and when) goes to CSV or Parquet; importing
the same file twice adds nothing the second time, and unknown items, schemes or values are refused
with the rows at fault:"""),
    ("code", CHECK + """path = store.export_tags(Path(tempfile.mkdtemp()) / "tags.csv")
other = workbench.Store(Path(tempfile.mkdtemp()) / "other.sqlite")
first, second = other.import_tags(path, items=ratings), other.import_tags(path, items=ratings)
print(f"first import: {first} tag rows added; the same file again: {second} added")"""),
    ("md", """## The Tag tab, inline

The component the app serves (`workbench serve --store project.sqlite`) works here too. Each click
is written to the store at once, and **Undo** takes back this tagger's last tag, wherever the queue has moved."""),
    ("code", """workbench.Tagger(ratings=ratings, store=store, scheme="subjectivity", tagger="you")"""),
]

REWARD_MODELS = [
    ("md", """# Reward models against people

Which reward model agrees with people better, on which kind of item, and how sure are we? On the
demo study we train three small reward models in the workbench — on the raw labels, on cleaned
labels, and with the disagreement margin of Padmakumar et al. (2024; `docs/METHODS.md`) — score them and the
study's committee, and compare each with the people per **plurality × distinguishability** category,
with bootstrap intervals. A tiny local transformer checkpoint goes through `score_pairs` at the end.
Everything runs offline on a CPU; nothing is downloaded."""),
    ("code", PANEL_SETUP),
    ("code", CHECK + """import numpy as np
import workbench

study = workbench.simulate_study(seed=0, n_items=800, ratings_per_item=10, n_raters=100)
categories = study.truth["items"][["plurality", "distinguishability"]]  # known here; tags in real work
ratings = study.ratings.with_columns(items=categories)
items = ratings.items.index
train, test = ratings.subset(items=items[:500]), ratings.subset(items=items[500:])
print(train, test, sep="\\n")"""),
    ("md", """## Three reward models trained here

A hashed bag of words and word pairs (no download) under a Bradley–Terry loss. *Cleaned* keeps only
raters who passed the attention check; *margin* asks for a reward gap of at least
`m = |Σj − n/2| / (n/2)` on each pair, large where people agree and 0 where they split evenly:"""),
    ("code", CHECK + """passed = train.raters.index[train.raters["attention_check"] == "passed"]
models = {
    "raw": workbench.train_reward_model(train, epochs=100, name="raw"),
    "cleaned": workbench.train_reward_model(train.subset(raters=passed), epochs=100, name="cleaned"),
    "margin": workbench.train_reward_model(train, margin="disagreement", epochs=100, name="margin"),
}
for name, model in models.items():
    print(f"{name:<8} pairs {model.info['pairs']:>4}  ties left out {model.info['ties_left_out']:>3}  "
          f"train accuracy {model.info['train_accuracy']:.3f}")"""),
    ("md", """## Scores on held-out pairs, beside the committee

`score_pairs` gives `score_a, score_b` and the model's `p_a = σ(score_a − score_b)` per pair. The
study's committee of five simulated reward models comes with the data; we keep the best and the worst:"""),
    ("code", """pairs = test.pairs()
scores = {name: workbench.score_pairs(model, pairs) for name, model in models.items()}
committee = study.scores[study.scores["model"].isin(["rm-1", "rm-5"])]
scores.update({name: group for name, group in committee.groupby("model")})
print(f"{len(pairs)} held-out pairs scored by {len(scores)} models: {', '.join(sorted(scores))}")"""),
    ("md", """## Per category, with intervals

Accuracy against the people's majority, Pearson r and mean L1 between the model's and the people's
P(A) (`help(workbench.compare_models)` lists every metric), with 95 % intervals from 300 bootstrap resamples of items within each category:"""),
    ("code", CHECK + """table = workbench.compare_models(test, scores, by=["plurality", "distinguishability"], n_boot=300, seed=0)
category = "plurality × distinguishability"
shown = table[table["model"].isin(["raw", "margin", "rm-1"])]
for _, row in shown.iterrows():
    print(f"{row['model']:<7} {row[category]:<38} n={row['n_items']:>3}  "
          f"acc {row['accuracy']:.2f} [{row['accuracy_low']:.2f}, {row['accuracy_high']:.2f}]  "
          f"r {row['pearson_r']:.2f} [{row['pearson_r_low']:.2f}, {row['pearson_r_high']:.2f}]  "
          f"L1 {row['mean_l1']:.2f}")"""),
    ("md", """The same table as forest plots: one row per category and model, the dot the metric and the whisker its
95 % interval (`workbench.ui.figures.forest`, the figure of the Models tab and the report):"""),
    ("code", """from workbench.ui.figures import forest

(forest(shown, category, value="accuracy", low="accuracy_low", high="accuracy_high", ylabel="category · model",
        title="Accuracy against the people's majority (95 % interval)", xlabel="accuracy (share of pairs)").opts(width=460, height=420)
 + forest(shown, category, value="pearson_r", low="pearson_r_low", high="pearson_r_high", ylabel="category · model",
          title="Pearson r with the people's P(A) (95 % interval)", xlabel="Pearson r").opts(width=460, height=420))"""),
    ("md", """## Is the margin model better aligned, and how sure are we?

`compare_two` resamples the same items for both models, so the interval is that of the difference
itself; `verdict` says it in one line per category:"""),
    ("code", CHECK + """from workbench.analysis.models import verdict

difference = workbench.compare_two(test, scores, "raw", "margin", by="plurality", n_boot=300, seed=0)
for line in verdict(difference, "pearson_r"):
    print(line)
for line in verdict(difference, "mean_l1"):
    print(line)"""),
    ("md", """## A local transformer checkpoint

`score_pairs` takes a local Hugging Face checkpoint folder (safetensors only, `trust_remote_code=False`,
nothing downloaded). Here a tiny random BERT built on the spot, so its scores mean nothing — the point
is the machinery: texts sorted by length and batched (padding stays small), truncation counted, and a
store that caches every scored text under the checkpoint's fingerprint:"""),
    ("code", CHECK + """import tempfile
from pathlib import Path

folder = Path(tempfile.mkdtemp())
checkpoint = workbench.tiny_reward_model(folder / "tiny-bert")
store = workbench.Store(folder / "project.sqlite")
first = workbench.score_pairs(checkpoint, pairs, store=store, progress=False)
again = workbench.score_pairs(checkpoint, pairs, store=store, progress=False)
for run in (first, again):
    report = run.attrs["scoring"]
    print(f"texts {report['texts']}  distinct {report['unique_texts']}  from cache {report['cached']}  "
          f"truncated {report['truncated']}  padding overhead {report['padding_overhead']:.1%}")"""),
    ("md", """## The Models tab, inline

The same component the app serves (`workbench serve`, tab **Models**): pick models, a slice, press
**Compare**; it can also score checkpoints under `$WORKBENCH_MODELS` and train models, off the request thread."""),
    ("code", """import panel as pn

pn.extension(inline=True)
workbench.ModelComparison(ratings=test, scores=scores, n_boot=200)"""),
]

CLEANING = [
    ("md", """# Cleaning: committee groups, attentive users, recipes with provenance

Cleaning rules change labels; this notebook shows what each rule does before anyone trusts it.
On the demo study: a reward-model committee sorts pairs into agreement groups (Yeh et al. 2024),
an EM estimates each user's attentiveness from comparison-mode labels (after Cai & Li 2025), and a
source-aware recipe flips and drops ratings — with one provenance row per input rating, and agreement
before and after each rule. Details the papers leave open (cut-offs, tie handling, the EM's exact model)
are parameters with stated defaults: `docs/METHODS.md` ("Cleaning") and `help(workbench.committee_groups)`,
`help(workbench.fit_attentiveness)`."""),
    ("code", """import numpy as np
import pandas as pd
import workbench

study = workbench.simulate_study(seed=0)
ratings = study.ratings"""),
    ("md", """## Committee agreement groups

`study.scores` holds five simulated reward models' scores for both responses of every pair. A
member agrees with the people when it prefers the side the human majority chose; the share of
agreeing members puts each pair in NoAgree / LowAgree / HighAgree / AllAgree (cut-offs 0, ½, 1):"""),
    ("code", CHECK + """groups = workbench.committee_groups(ratings, study.scores)
print(groups.attrs["summary"].to_string())
print(f"pairs in Low/No agreement: {groups['committee_group'].isin(['NoAgree', 'LowAgree']).mean():.1%}")"""),
    ("md", """Where the committee and the people disagree, the people usually disagree among themselves too:"""),
    ("code", CHECK + """spread = ratings.pairs()["p_a"].sub(0.5).abs()
print(spread.groupby(groups["committee_group"], observed=True).mean().round(3).to_string())"""),
    ("md", """## Attentive users

Each rater compared a stronger and a weaker model's responses, in random order. The EM estimates
each user's attentiveness η from how often they picked the stronger model; μ (how often the
stronger model is truly better) is estimated under its Beta(8, 2) prior. The objective never
decreases:"""),
    ("code", CHECK + """fit = workbench.fit_attentiveness(ratings, "model-strong")
never_decreased = bool((fit.objective.diff().dropna() >= -1e-9).all())
print(f"mu = {fit.mu:.3f} (estimated) after {fit.n_iter} EM iterations; "
      + ("the objective never decreased." if never_decreased else "the objective DECREASED at some step."))"""),
    ("md", """Does it find the users the simulation made inattentive? The AUC says how well η̂ ranks them
below the attentive ones. With the Beta(8, 2) prior on η every estimate is pulled towards 0.8, so
a threshold must be set together with the prior; without it the estimates spread out. The
demo's attentive raters pick the stronger model only about 60 % of the time (μ = 0.7, and many
pairs are hard to call), so 200 comparisons per user rank users well but misplace some:"""),
    ("code", CHECK + """truth = study.truth["raters"]


def auc(score, positive):
    ranks = score.rank()
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


flat = workbench.fit_attentiveness(ratings, "model-strong", prior_eta=None)
for name, f in [("Beta(8, 2) prior on eta", fit), ("flat prior on eta", flat)]:
    eta = f.users["attentiveness"]
    print(f"{name:<24} AUC {auc(eta, ~truth['inattentive']):.3f}   mean eta-hat: planted inattentive "
          f"{eta[truth['inattentive']].mean():.2f}, others {eta[~truth['inattentive']].mean():.2f}")"""),
    ("md", """## A source-aware recipe

The estimates and the groups join the data as columns (`with_columns`); a recipe's rules are
expressions over them. Flip NoAgree pairs, drop LowAgree pairs of the harmless split, drop
users below an attentiveness threshold, then items left with fewer than 3 ratings:"""),
    ("code", CHECK + """enriched = ratings.with_columns(items=groups[["committee_group", "share_agree"]],
                                raters=flat.users[["attentiveness"]])
recipe = workbench.Recipe([
    {"rule": "flip", "where": "committee_group == 'NoAgree'"},
    {"rule": "drop", "where": "committee_group == 'LowAgree' and split == 'harmless'"},
    {"rule": "drop_raters", "where": "attentiveness < 0.2"},
    {"rule": "min_ratings", "k": 3},
], name="source-aware")
cleaned, provenance = recipe.apply(enriched)
print(cleaned)
print(provenance["action"].value_counts().to_string())
dropped_users = provenance.loc[provenance["rule"].astype(str).str.startswith("3."), "rater_id"].unique()
print(f"users dropped: {len(dropped_users)}, of them planted inattentive: {truth.loc[dropped_users, 'inattentive'].sum()}")"""),
    ("md", """Every input rating has a provenance row; the input is untouched:"""),
    ("code", CHECK + """print(provenance[provenance["action"] != "keep"].head().to_string(index=False))
print(f"{len(provenance)} provenance rows for {ratings.n_ratings} input ratings; "
      + ("the input gained no columns." if "committee_group" not in ratings.items.columns else "the input was changed!"))"""),
    ("md", """## What each rule does to agreement

Per rule: ratings flipped and dropped, and Krippendorff's alpha before and after it with 95 %
bootstrap intervals over items. Flipping every label of an item leaves its agreement unchanged;
dropping noisy users and pairs raises it:"""),
    ("code", CHECK + """effect = workbench.recipe_effect(enriched, recipe, n_boot=200)
print(effect[["rule", "flipped", "dropped", "before", "after", "after_low", "after_high"]].round(3).to_string(index=False))"""),
    ("md", """And the committee now agrees more often with the (cleaned) human majority:"""),
    ("code", CHECK + """from workbench.analysis.cleaning import committee_agreement, committee_votes

votes = committee_votes(study.scores, ratings.items.index)
print(f"committee agreement with the human majority: {committee_agreement(ratings, votes):.3f} -> "
      f"{committee_agreement(cleaned, votes):.3f}")"""),
    ("md", """Recipes are plain data: saved by name in the project store, and written as YAML or JSON:"""),
    ("code", CHECK + """print(recipe.to_yaml())"""),
    ("md", """## The Cleaner, inline

The Clean tab of `workbench serve`: each rule a switch, with live counts, alpha before and after,
label balance, committee agreement, the attentiveness histogram and the affected items. The EM
and the bootstraps run off the page's thread."""),
    ("code", """import panel as pn

pn.extension(inline=True)
workbench.Cleaner(ratings=ratings, scores=study.scores)"""),
]
DISAGREEMENT = [
    ("md", """# Disagreement: where people differ, which groups split, and how many raters are enough

The demo study plants a split: on part of the latent-projective items the youngest raters (18–34)
prefer the other response. This notebook finds those items from the ratings alone, tests whether
the split is more than noise, measures how well the groups agree with each other, and plans how
many raters a study needs. What each measure means and where it comes from: `docs/METHODS.md`
("Disagreement as signal") and the docstrings, e.g. `help(workbench.cross_reliability)`."""),
    ("code", PANEL_SETUP),
    ("code", """import os
from pathlib import Path

import numpy as np
import workbench

study = workbench.simulate_study(seed=0)
ratings = study.ratings
planted = study.truth["items"]["planted_split"]"""),
    ("md", """## Which items split which groups?

For every item and rater group, the Jensen–Shannon divergence (bits) between that group's label
distribution and everyone else's; the largest names the group. Small groups inflate JSD, so each
item gets a permutation test: group membership is shuffled among raters (a rater keeps their group
across items) 1,000 times, batched as tensor work; `q_value` is Benjamini–Hochberg over the items."""),
    ("code", CHECK + """table = workbench.group_divergence(ratings, by="age_band", n_perm=1000, seed=0)
overall = table.attrs["overall"]
print(f"overall: mean JSD {overall['value']:.3f} over {overall['n_items']} items, p = {overall['p_value']:.4f}")
print(table.head(8).round(3).to_string(index=False))"""),
    ("md", """The ranking against the truth: planted items are 14 % of the study but nearly all of the top of
the ranking, and the young group is the one that differs on them. With 20 ratings per item (about
8 of them young), a single item's test is weak: the overall test is decisive, while per-item
q-values need more raters per item (or a sharper question, below):"""),
    ("code", CHECK + """table["planted"] = planted.loc[table["item_id"]].to_numpy()
print(f"planted share overall: {planted.mean():.3f}")
for k in (25, 50, 100, 200):
    top = table.head(k)
    print(f"top {k:>3} by JSD: planted {top['planted'].mean():.2f}, group 18-34 {(top['group'] == '18-34').mean():.2f}")
significant = table[table["q_value"] < 0.05]
print(f"q < 0.05: {len(significant)} items" + (f", {significant['planted'].mean():.2f} of them planted" if len(significant) else ""))"""),
    ("md", """Part of the reason is arithmetic. A permutation p-value is never below 1/(B + 1) with B permutations, and
Benjamini–Hochberg multiplies an item's p by the number of tested items over its rank, so with few permutations no
single item can reach a small q, however strong its split:"""),
    ("code", CHECK + """n_tested, n_perm = int(table["p_value"].notna().sum()), 1000
floor = n_tested / (n_perm + 1)
needed = int(np.ceil(n_tested / 0.05)) - 1
print(f"With {n_perm:,} permutations the smallest p is 1/{n_perm + 1:,}; over {n_tested:,} tested items the smallest q "
      f"one item can reach is {n_tested:,}/{n_perm + 1:,} = {floor:.2f}" + (", so q stays at 1" if floor >= 1 else "")
      + " (lower only when many items share the smallest p).")
print(f"Use at least {needed:,} permutations to flag a single item at q < 0.05 (B + 1 ≥ 20 × the tested items).")"""),
    ("md", """A sharper question has more power. Asking only "do the 18–34s differ from everyone else?" (a
two-group rater column added with `with_columns`) compares one JSD per item instead of the largest
of three, and 2,000 permutations let Benjamini–Hochberg reach single items:"""),
    ("code", CHECK + """young = (ratings.raters["age_band"] == "18-34").map({True: "18-34", False: "35+"}).rename("young")
focused = workbench.group_divergence(ratings.with_columns(raters=young.to_frame()), by="young", n_perm=2000, seed=0)
found = focused[focused["q_value"] < 0.05]
print(f"young vs the rest: {len(found)} items with q < 0.05, {planted.loc[found['item_id']].mean():.2f} of them planted "
      f"(overall p = {focused.attrs['overall']['p_value']:.4f})")"""),
    ("md", """## Do the groups agree with each other?

Cross-replication reliability (Wong, Paritosh & Aroyo 2021) compares agreement *between* two groups with agreement *within*
each: `xrr = kappa_x / sqrt(alpha_a · alpha_b)` is near 1 when the groups see the items alike.
On the planted items the young raters agree among themselves but not with the others:"""),
    ("code", CHECK + """crosses = {}
for name, items in [("planted items", planted.index[planted]), ("all other items", planted.index[~planted])]:
    crosses[name] = cross = workbench.cross_reliability(ratings.subset(items=items), by="age_band", n_boot=500, seed=0)
    print(name)
    print(cross[["group_a", "group_b", "n_items", "kappa_x", "alpha_a", "alpha_b", "xrr", "xrr_ci_low", "xrr_ci_high"]]
          .round(3).to_string(index=False))"""),
    ("md", """As heatmaps: xRR for each pair of age bands, each band's own alpha on the diagonal. An xRR near 1 means two
groups agree with each other as much as each agrees within itself; well below 1 (the 18–34s against the rest on the
planted items), they see those items differently. Above 1 — it happens on real data, e.g. small or internally noisy
groups — the groups agree with each other *more* than within themselves: their own alphas are low, so read xRR
together with the diagonal and the interval."""),
    ("code", """from workbench.ui.figures import cross_agreement

heatmaps = [cross_agreement(cross, title=f"xRR between age bands, {name} (diagonal: alpha within)", label="age band")
             .opts(width=380, height=320) for name, cross in crosses.items()]
heatmaps[0] + heatmaps[1]"""),
    ("md", """## How many raters are enough?

Draw n of each item's 20 ratings without replacement and measure how far the subsample's label
distribution is from the item's full distribution. The mean falls roughly like 1/n for JSD
(1/√n for total variation); the band is the 5–95 % range over items:"""),
    ("code", CHECK + """curve = workbench.convergence(ratings, [2, 3, 5, 8, 12, 20], n_draws=200, seed=0)
print(curve.round(4).to_string(index=False))"""),
    ("md", """`sample_size` answers the planning question — raters per item so that 90 % of items are within a
target JSD of their distribution — from the pilot's own curve and from the multinomial
approximation, and states the assumption behind each:"""),
    ("code", CHECK + """plan = workbench.sample_size(ratings, target=0.05, quantile=0.9, seed=0)
answer = plan.iloc[0]
print(f"n_curve = {answer['n_curve']:.0f}, n_multinomial = {answer['n_multinomial']}")
print(answer["assumption"])
print(plan.attrs["curve"].round(4).to_string(index=False))"""),
    ("md", """## The Explorer, inline

The same component is the **Explorer** tab of `workbench serve`: group by any rater attribute,
filter items, select an entropy range, pick an item to read it and see its labels per group. Unless you set
*Permutations*, it runs enough of them for a single item to reach q < 0.05 among the items shown (20 × the items,
within a time budget; beyond it, the page states the smallest q it can reach)."""),
    ("code", """import panel as pn

pn.extension("tabulator", inline=True)
workbench.Explorer(ratings=ratings)"""),
    ("md", """## Real data

These cells read `../shared/data` (or `$WORKBENCH_SHARED_DATA`) and skip when it is absent.
**MultiPICo** (irony, 506 annotators with demographics): which posts split the genders, overall and
within a language."""),
    ("code", """DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA", "../../shared/data"))
HAVE_DATA = (DATA / "DATA.md").is_file()
if not HAVE_DATA:
    print(f"no real data at {DATA}: the cells below skip")
else:
    from workbench.datasets import read_chaosnli, read_multipico

    folder = DATA / "multipico_lewidi2025"
    multipico = read_multipico(folder / "MP_dev.json.gz", folder / "MP_annotators_meta.json.gz")
    by_gender = workbench.group_divergence(multipico, by="gender", n_perm=1000, seed=0)
    tested = by_gender[by_gender["p_value"].notna()]
    print(f"{len(tested)} of {len(by_gender)} items have 3+ ratings from a gender and 3+ from the rest")
    print(f"overall p = {by_gender.attrs['overall']['p_value']:.4f}; items with q < 0.1: {(tested['q_value'] < 0.1).sum()}")
    languages = multipico.items["lang"]
    for lang in ["es", "en", "de", "ar"]:
        subset = multipico.subset(items=languages.index[languages == lang])
        cross = workbench.cross_reliability(subset, by="gender", n_boot=200, seed=0)
        row = cross[(cross["group_a"] == "Female") & (cross["group_b"] == "Male")].iloc[0]
        print(f"{lang}: {row['n_items']} items, kappa_x {row['kappa_x']:.3f}, alpha F {row['alpha_a']:.3f}, "
              f"alpha M {row['alpha_b']:.3f}, xrr {row['xrr']:.3f} [{row['xrr_ci_low']:.3f}, {row['xrr_ci_high']:.3f}]")"""),
    ("md", """**ChaosNLI** (100 labels per item, counts only): how far are 5, 10, 25, 50 labels from the 100-label
distribution? The draws come from each item's multiset of labels, so no rater identities are needed."""),
    ("code", """if HAVE_DATA:
    chaos = read_chaosnli(DATA / "chaosnli" / "chaosNLI_mnli_m.jsonl.gz")
    print(workbench.convergence(chaos, [5, 10, 25, 50, 100], n_draws=100, seed=0).round(4).to_string(index=False))
    plan = workbench.sample_size(chaos, target=0.02, seed=0).iloc[0]
    print(f"for 90 % of items within JSD 0.02: {plan['n_multinomial']} labels (multinomial), {plan['n_curve']:.0f} (pilot curve)")"""),
]

LEWIDI = [
    ("md", """# LeWiDi: the shared-task formats, soft-label and perspectivist evaluation

[Learning with Disagreements](https://le-wi-di.github.io/) (LeWiDi 2023, 2025) is the field's benchmark for
human label variation, and its JSON format is how most per-annotator data sets circulate. This notebook reads
three released files as they are, asks how much the annotator groups of HS-Brexit and ArMIS disagree, and
scores simple baselines with both LeWiDi metric families: **soft-label** (how close a predicted distribution is
to the people's label shares) and **perspectivist** (how often a prediction *for each annotator* matches what
that annotator said) — per group, as figures.

The data are the released files in `../shared/data` (or `$WORKBENCH_SHARED_DATA`); without them every cell
below says so and does nothing. HS-Brexit and ArMIS texts are tweets about hate speech and misogyny."""),
    ("code", PANEL_SETUP),
    ("code", """import os
import warnings
from pathlib import Path

import holoviews as hv
import pandas as pd

from workbench.datasets import read_lewidi
from workbench.ui.figures import intervals

DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA", "../../shared/data"))
HAVE_DATA = (DATA / "DATA.md").is_file()
if not HAVE_DATA:
    print(f"no real data at {DATA}: the cells below skip")"""),
    ("md", """## Three data sets in their release format

`read_lewidi` reads any LeWiDi 2023 or 2025 file; the edition and the data set are recognised from the content.
HS-Brexit (2023) keeps its annotators' groups in `other_info` — the **target** group of three Muslim immigrants
in the UK and a **control** group of three others — and the same annotators' aggressiveness and offensiveness
labels, which become rating columns. ArMIS (2023) has three annotators, each standing for a group.
VariErrNLI (2025) is multi-label: an annotator may give an item several NLI labels. Its annotator file is not
strict JSON (trailing commas): it is read, with a warning that names it."""),
    ("code", """if HAVE_DATA:
    hs_train = read_lewidi(DATA / "lewidi_2023/HS-Brexit_train.json.gz")
    hs = read_lewidi(DATA / "lewidi_2023/HS-Brexit_dev.json.gz")
    ar_train = read_lewidi(DATA / "lewidi_2023/ArMIS_train.json.gz")
    ar = read_lewidi(DATA / "lewidi_2023/ArMIS_dev.json.gz")
    meta = DATA / "lewidi_2025/VariErrNLI_annotators_meta.json.gz"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nli_train = read_lewidi(DATA / "lewidi_2025/VariErrNLI_train.json.gz", meta)
        nli = read_lewidi(DATA / "lewidi_2025/VariErrNLI_dev.json.gz", meta)
    for message in sorted({str(w.message) for w in caught}):
        print(f"warning while reading: {message}")
    for r in (hs, ar, nli):
        print(f"{r.meta['dataset']:<26} {r.n_items:>4} items {r.n_raters:>3} annotators {r.n_ratings:>5} ratings  "
              f"{r.level}, categories {r.categories}")
    print(hs.raters)
    print(hs.ratings.head(3).to_string())"""),
    ("md", """**The multi-label representation.** The workbench model has one label per (item, annotator). A VariErrNLI
answer is kept as one rating whose label is the sorted, comma-joined label *set* (a nominal category such as
`entailment,neutral`), with one 0/1 column per NLI label on the rating and `n_labels`. Nothing is lost — the
release's `annotators` field lists an annotator once per label given, and the per-label shares of these
columns are the released soft labels — and `ratings.meta["multilabel"]` tells the metrics to score per label."""),
    ("code", """if HAVE_DATA:
    answers = nli.ratings
    print(answers["label"].value_counts().to_string())
    print(answers.loc[answers["n_labels"] > 1, ["item_id", "rater_id", "label", "contradiction", "entailment",
                                                   "neutral"]].head().to_string(index=False))
    print(nli.raters.to_string())"""),
    ("md", """## Do the groups agree?

HS-Brexit: Krippendorff's alpha within each group, cross-replication reliability between them (`xrr` near 1
when the groups see the items alike), and a permutation test of the items' between-group JSD on the training
split (784 items; group labels are shuffled among the six annotators)."""),
    ("code", """if HAVE_DATA:
    within = workbench.reliability(hs_train, by="group", n_boot=500, seed=0)
    print(within[["group", "value", "ci_low", "ci_high", "n_raters"]].round(3).to_string(index=False))
    cross = workbench.cross_reliability(hs_train, by="group", n_boot=500, seed=0)
    print(cross[["group_a", "group_b", "kappa_x", "alpha_a", "alpha_b", "xrr", "xrr_ci_low", "xrr_ci_high"]]
          .round(3).to_string(index=False))
    split = workbench.group_divergence(hs_train, by="group", n_perm=1000, seed=0)
    overall = split.attrs["overall"]
    print(f"mean between-group JSD {overall['value']:.3f} over {overall['n_items']} items, p = {overall['p_value']:.4f}")
    frame = hs_train.to_frame().astype({"label": int})
    rates = frame.groupby("group")[["label", "offensive", "aggressive"]].mean()
    print("share of 1 (hate speech, offensive, aggressive) per group:")
    print(rates.round(3).to_string())"""),
    ("md", """ArMIS: each group is one annotator, so within-group agreement is undefined; Cohen's kappa between each pair
of groups and each group's rate of "misogynistic" say how far apart they are."""),
    ("code", """if HAVE_DATA:
    wide = ar_train.to_frame().astype({"label": int}).pivot(index="item_id", columns="group", values="label")
    groups = list(wide.columns)
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            print(f"{a:>17} vs {b:<17} kappa {workbench.cohen_kappa(wide[a], wide[b]):.3f}")
    print(wide.mean().round(3).rename("share misogynistic").to_string())"""),
    ("md", """## Baselines, scored with both metric families

Four baselines, each returning predictions in the formats the metrics take (`.soft`: items × categories;
`.perspectivist`: one label per rating): the **training prior**; the **leave-one-out majority** (each annotator
predicted the majority of the *other* annotators of the item — it reads the dev labels, so it is a reference,
not a model); a **per-annotator** model (each annotator's own training distribution); a **per-group** model.
`soft_label_scores` gives LeWiDi 2025's Manhattan distance (per label for VariErrNLI), LeWiDi 2023's
cross-entropy and JSD; `perspectivist_scores` the error rate (per label for VariErrNLI). Lower is better;
intervals are 95 % bootstraps over items."""),
    ("code", """def baselines(train, dev, group=None):
    out = {"prior": workbench.prior_baseline(train, dev), "LOO majority": workbench.majority_baseline(dev, train),
           "per-annotator": workbench.annotator_baseline(train, dev)}
    if group:
        out[f"per-group"] = workbench.group_baseline(train, dev, by=group)
    return out


def score(dev, predictions, **options):
    rows = []
    for name, p in predictions.items():
        for table in (workbench.soft_label_scores(dev, p.soft, **options),
                      workbench.perspectivist_scores(dev, p.perspectivist, **options)):
            rows.append(table.assign(baseline=name))
    return pd.concat(rows, ignore_index=True)


if HAVE_DATA:
    runs = {"HS-Brexit": (hs_train, hs, "group"), "ArMIS": (ar_train, ar, "group"), "VariErrNLI": (nli_train, nli, "gender")}
    predictions = {name: baselines(*run) for name, run in runs.items()}
    summary = pd.concat([score(runs[name][1], p, n_boot=500).assign(data=name) for name, p in predictions.items()])
    shown = summary.pivot_table(index=["data", "baseline"], columns="metric", values="value", sort=False)
    print(shown.round(3).to_string())"""),
    ("md", """Two things to read here. The leave-one-out majority is far closer on the soft-label distances — it has
seen the dev labels — but its one-hot soft label is heavily penalised by cross-entropy, which punishes a
zero probability for a label someone chose. And on these data the per-annotator and per-group models are the
prior: every annotator of HS-Brexit and ArMIS rated every item, so the mean of their training distributions is
the pooled training share, and each annotator's own majority label is 0. Where annotators differ between items
(MD-Agreement, Paraphrase, CSC) the per-annotator model does move away from the prior."""),
    ("md", """## Which people does a baseline represent?

With `by=` a rater column the same metrics are computed per group: the perspectivist error against each group's
annotators, and the soft-label distance to each group's own label shares. On HS-Brexit the prior, fitted on
everyone, is much closer to the target group than to the control group: the control group calls more tweets hate
speech and the majority of six does not speak for it."""),
    ("code", """def per_group(data, dev):
    rows = []
    for name, p in predictions[data].items():
        rows.append(workbench.perspectivist_scores(dev, p.perspectivist, by="group", n_boot=500).assign(baseline=name))
        soft = workbench.soft_label_scores(dev, p.soft, by="group", n_boot=500)
        rows.append(soft[soft["metric"] == "manhattan"].assign(baseline=name))
    table = pd.concat(rows, ignore_index=True)
    return table[table["group"] != "all"]


def group_figure(table, title):
    # one panel per metric: a point per (group, baseline) with its 95 % interval (workbench.ui.figures.intervals)
    plots = []
    for metric, part in table.groupby("metric", sort=False):
        part = part.assign(who=part["group"] + " · " + part["baseline"]).sort_values(["group", "baseline"])
        figure = intervals(part, "who", title=f"{title}: {metric}", xlabel="group · baseline", ylabel=metric)
        plots.append(figure.opts(width=520, height=360, xrotation=40))
    return hv.Layout(plots).cols(2)


if HAVE_DATA:
    hs_groups = per_group("HS-Brexit", hs)
    print(hs_groups.pivot_table(index="baseline", columns=["metric", "group"], values="value", sort=False).round(3).to_string())
    hs_figure = group_figure(hs_groups, "HS-Brexit")
hs_figure if HAVE_DATA else None"""),
    ("code", """if HAVE_DATA:
    ar_groups = per_group("ArMIS", ar)
    print(ar_groups.pivot_table(index="baseline", columns=["metric", "group"], values="value", sort=False).round(3).to_string())
    ar_figure = group_figure(ar_groups, "ArMIS")
ar_figure if HAVE_DATA else None"""),
    ("md", """## The Explorer, inline, on HS-Brexit

Group the annotators by `group`, sort the items by how far the target and control groups are apart, and read
the tweets they split on."""),
    ("code", """import panel as pn

pn.extension("tabulator", inline=True)
workbench.Explorer(ratings=hs_train) if HAVE_DATA else None"""),
]

NOTEBOOKS = {"01_quickstart.ipynb": QUICKSTART, "02_agreement.ipynb": AGREEMENT, "03_disagreement.ipynb": DISAGREEMENT, "04_tagging.ipynb": TAGGING,
             "05_cleaning.ipynb": CLEANING, "06_reward_models.ipynb": REWARD_MODELS,
             "07_lewidi.ipynb": LEWIDI}


#: Outputs that only a live kernel can use: Panel's and Bokeh's inline scripts (~6 MB) and Panel views (comm-bound).
LIVE_ONLY = ("application/vnd.holoviews_load.v0+json", "application/vnd.holoviews_exec.v0+json")


def _live_only(output) -> bool:
    data = output.get("data", {})
    return any(kind in data for kind in LIVE_ONLY) or data.get("text/html", "").startswith('<script type="esms-options">')


def _cell(kind: str, source: str):
    """A notebook cell; a code cell that starts with :data:`CHECK` gets nbval's tag instead of the visible comment."""
    if kind == "md":
        return nbformat.v4.new_markdown_cell(source)
    if not source.startswith(CHECK):
        return nbformat.v4.new_code_cell(source)
    return nbformat.v4.new_code_cell(source[len(CHECK):], metadata={"tags": [CHECK_TAG]})


def build(name: str, cells, execute: bool = True) -> Path:
    stack, pins = installed_stack(), pinned()
    if execute and any(pins.get(package) != version for package, version in stack.items()):
        raise SystemExit(f"stored outputs come from the pinned stack {[f'{p}=={pins.get(p)}' for p in OUTPUT_STACK]}; "
                         f"this environment has {stack}: install with -c constraints.txt (or change the pins and rebuild every notebook)")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["workbench"] = {"outputs_made_with": stack}
    nb.cells = [_cell(kind, src) for kind, src in cells]
    if execute:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [output for output in cell.outputs if not _live_only(output)]
    path = ROOT / "notebooks" / name
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    for name in sys.argv[1:] or NOTEBOOKS:
        print(build(name, NOTEBOOKS[name]))

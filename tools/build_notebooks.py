"""Write the tutorial notebooks from their cell lists and execute them in place (stored outputs are what nbval checks).

Run by hand after changing a tutorial:  python tools/build_notebooks.py   (needs nbclient)
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHECK = "# NBVAL_CHECK_OUTPUT\n"

QUICKSTART = [
    ("md", """# Quickstart: the demo study

The workbench keeps **every annotator's label**. This notebook loads the built-in simulated study,
looks at the data at the level of raters, items and pairs, and opens the Overview component inline.
Everything here runs offline in a few seconds."""),
    ("code", CHECK + """import workbench

study = workbench.simulate_study(seed=0)
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

The same component the app serves (`workbench serve`) renders in the notebook:"""),
    ("code", """import panel as pn

pn.extension()
workbench.Overview(ratings=ratings)"""),
    ("md", """## Real data

The readers in `workbench.datasets` load public multi-annotator data sets from a local path, e.g.
`workbench.datasets.read_multipico("MP_dev.json.gz", "MP_annotators_meta.json.gz")`."""),
]

NOTEBOOKS = {"01_quickstart.ipynb": QUICKSTART}


def build(name: str, cells, execute: bool = True) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src) for kind, src in cells]
    if execute:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    path = ROOT / "notebooks" / name
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    for name in sys.argv[1:] or NOTEBOOKS:
        print(build(name, NOTEBOOKS[name]))

"""The LeWiDi baselines on every shared dev file, both metric families: a Markdown table (issue 20's closing note).

Run:  python tools/lewidi_baselines.py [DATA_FOLDER]   (default: $WORKBENCH_SHARED_DATA or ../shared/data)

Train-based baselines are fitted on the file's training split; CSC and MultiPICo have none released here, so
those are cross-fitted on dev (2 folds of items). The leave-one-out majority reads the dev labels: a reference.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pandas as pd

import workbench
from workbench.datasets import read_lewidi

ROOT = Path(__file__).resolve().parents[1]
#: (data set, folder, annotator file or None, rater column for the per-group model or None); "ConvAbuse/abusive" is
#: ConvAbuse read with label="abusive", the binary label of its released soft label (LeWiDi 2023's target)
SETS = [
    ("ArMIS", "lewidi_2023", None, "group"),
    ("ConvAbuse", "lewidi_2023", None, None),
    ("ConvAbuse/abusive", "lewidi_2023", None, None),
    ("HS-Brexit", "lewidi_2023", None, "group"),
    ("MD-Agreement", "lewidi_2023", None, None),
    ("CSC", "lewidi_2025", "CSC_annotators_meta", "gender"),
    ("MP", "multipico_lewidi2025", "MP_annotators_meta", "gender"),
    ("Paraphrase", "lewidi_2025", "Paraphrase_annotators_meta", "gender"),
    ("VariErrNLI", "lewidi_2025", "VariErrNLI_annotators_meta", "gender"),
]
COLUMNS = ["manhattan", "cross_entropy", "wasserstein", "jsd", "error_rate", "absolute_distance"]


def table(data: Path) -> pd.DataFrame:
    rows = []
    for name, folder, meta, group in SETS:
        annotators = data / folder / f"{meta}.json.gz" if meta else None
        stem, _, label = name.partition("/")
        dev = read_lewidi(data / folder / f"{stem}_dev.json.gz", annotators, label=label or None)
        train_path = data / folder / f"{stem}_train.json.gz"
        if train_path.is_file():
            train = read_lewidi(train_path, annotators, label=label or None)
            fit, fitted_on = (lambda baseline, **kw: baseline(train, dev, **kw)), "train"
        else:
            train = None
            fit, fitted_on = (lambda baseline, **kw: workbench.crossfit_baseline(baseline, dev, **kw)), "dev, 2-fold crossfit"
        predictions = {"prior": fit(workbench.prior_baseline), "LOO majority": workbench.majority_baseline(dev, train),
                       "per-annotator": fit(workbench.annotator_baseline)}
        if group:
            predictions[f"per-group ({group})"] = fit(workbench.group_baseline, by=group)
        for baseline, p in predictions.items():
            soft = workbench.soft_label_scores(dev, p.soft, ci=None)
            hard = workbench.perspectivist_scores(dev, p.perspectivist, ci=None)
            rows.append({"dev set": name, "fitted on": fitted_on, "baseline": baseline,
                         **dict(zip(soft["metric"], soft["value"])), **dict(zip(hard["metric"], hard["value"]))})
    return pd.DataFrame(rows).reindex(columns=["dev set", "fitted on", "baseline", *COLUMNS])


def markdown(frame: pd.DataFrame) -> str:
    def cell(value):
        return "—" if pd.isna(value) else f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    default = os.environ.get("WORKBENCH_SHARED_DATA", ROOT.parent / "shared" / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the two annotator files with trailing commas, MD-Agreement's repeat
        print(markdown(table(Path(sys.argv[1] if len(sys.argv) > 1 else default))))

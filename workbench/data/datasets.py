"""Readers for the public multi-annotator data sets described in ``shared/data/DATA.md``.

Each reader takes the path of the file as distributed there (gzip allowed) and returns
:class:`~workbench.data.ratings.Ratings` with every annotator's label kept.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import WorkbenchDataError
from .lewidi import read_lewidi
from .ratings import Ratings
from .recognise import composite_key
from .validate import require_columns

#: ConvAbuse severity, least to most abusive: 1 not abusive, 0 ambiguous, -1/-2/-3 mildly/strongly/very strongly.
CONVABUSE_SEVERITY = (1, 0, -1, -2, -3)
CONVABUSE_ITEM_KEYS = ("conv_id", "prev_agent", "prev_user", "agent", "user")
CHAOSNLI_LABELS = ("e", "n", "c")


def _existing(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise WorkbenchDataError(f"no such file: {str(path)!r}")
    return path


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _load_jsonl(path: Path) -> list[dict]:
    rows = []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise WorkbenchDataError(f"{path.name!r} line {number} is not valid JSON: {err.msg}") from None
    return rows


def read_convabuse(path, *, label: str = "severity", duplicates: str = "first") -> Ratings:
    """ConvAbuse: the full long-format file (``ConvAbuseEMNLPfull.csv[.gz]``) or a split file (``…train/valid/test``,
    one row per item with ``AnnotatorN_…`` columns, read as the same long rows).

    Items are the distinct (conv_id, prev_agent, prev_user, agent, user) turns (DATA.md): 4,185.
    ``label="severity"`` gives the ordinal scale 1 > 0 > -1 > -2 > -3 (categories listed from
    not abusive to very strongly abusive); ``label="abusive"`` gives a nominal 0/1 flag, 1 for
    severity -1, -2 or -3. Every row also keeps ``severity`` and ``abusive`` and the type/target/
    direction columns. Repeat annotations (the same annotator on the same item, kept upstream for
    intra-annotator agreement) follow ``duplicates``; how many were dropped is in
    ``ratings.meta["duplicates_dropped"]`` (345 for the full file).

    >>> r = read_convabuse("../shared/data/convabuse/ConvAbuseEMNLPfull.csv.gz")  # doctest: +SKIP
    >>> r.n_items, r.n_raters, r.n_ratings  # doctest: +SKIP
    (4185, 8, 12411)
    """
    if label not in ("severity", "abusive"):
        raise WorkbenchDataError(f"read_convabuse label must be 'severity' or 'abusive', got {label!r}")
    path = _existing(path)
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as err:
        raise WorkbenchDataError(f"{path.name!r} could not be read as the ConvAbuse CSV: {err}") from None
    severity_columns = [f"is_abuse.{v}" for v in CONVABUSE_SEVERITY]
    if "annotator_id" not in frame.columns and "Annotator1_is_abuse.1" in frame.columns:
        frame = _convabuse_long(frame)
    require_columns(frame, ["annotator_id", *CONVABUSE_ITEM_KEYS, *severity_columns], what="ConvAbuse file")
    onehot = frame[severity_columns].to_numpy()
    bad = onehot.sum(axis=1) != 1
    if bad.any():
        raise WorkbenchDataError(f"ConvAbuse rows must set exactly one is_abuse.* column; rows {np.flatnonzero(bad)[:5].tolist()} do not")
    frame["severity"] = np.asarray(CONVABUSE_SEVERITY)[onehot.argmax(axis=1)]
    frame["abusive"] = (frame["severity"] < 0).astype("int64")
    frame = composite_key(frame, CONVABUSE_ITEM_KEYS, prefix="convabuse-", sort=True, width=5)
    frame = frame.drop(columns=["example_no", *severity_columns])
    frame["label"] = frame[label]
    item_columns = [*CONVABUSE_ITEM_KEYS, "bot"]
    return Ratings.from_frame(
        frame,
        item="item_id",
        rater="annotator_id",
        label="label",
        level="ordinal" if label == "severity" else "nominal",
        categories=CONVABUSE_SEVERITY if label == "severity" else (0, 1),
        item_columns=item_columns,
        rater_columns=[],
        duplicates=duplicates,
        meta={"source": str(path), "dataset": "ConvAbuse"},
    )


#: The split files' per-annotator column names (``AnnotatorN_<name>``) and the full file's names for them.
CONVABUSE_SPLIT_NAMES = {"ableist": "type.ableism", "homophobic": "type.homophobic", "intellectual": "type.intellectual",
                         "racist": "type.racist", "sexist": "type.sexist", "sex_harassment": "type.sex_harassment",
                         "transphobic": "type.transphobic", "explicit": "direction.explicit", "implicit": "direction.implicit"}


def _convabuse_long(wide: pd.DataFrame) -> pd.DataFrame:
    """A ConvAbuse split file (one row per item, ``AnnotatorN_…`` columns) as the full file's long rows (one per annotation)."""
    keys = [c for c in ("example_id", *CONVABUSE_ITEM_KEYS, "bot") if c in wide.columns]
    parts = []
    for annotator in sorted({c.split("_", 1)[0] for c in wide.columns if c.startswith("Annotator")}):
        own = [c for c in wide.columns if c.startswith(annotator + "_")]
        part = wide[keys + own].rename(columns=lambda c: CONVABUSE_SPLIT_NAMES.get(c[len(annotator) + 1:], c[len(annotator) + 1:])
                                       if c in own else c)
        severity = [f"is_abuse.{v}" for v in CONVABUSE_SEVERITY]
        values = part[severity].apply(pd.to_numeric, errors="coerce")
        labelled = values.notna().any(axis=1)  # an annotator left blank did not label the item
        part = part.loc[labelled].copy()
        part[severity] = values.loc[labelled].fillna(0).astype("int64")
        part.insert(0, "annotator_id", annotator)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame["example_no"] = np.arange(len(frame))
    return frame


def read_multipico(path, annotators_meta=None) -> Ratings:
    """MultiPICo as released by LeWiDi 2025 (``MP_dev.json[.gz]``): irony, 0/1, nominal — :func:`read_lewidi` on it.

    Item columns: ``post, reply, lang, source, level, language_variety, split``. With
    ``annotators_meta`` (``MP_annotators_meta.json[.gz]``) the annotators' demographics become
    rater columns (``Ann<k>`` ↔ key ``"<k>"``; ``DATA_EXPIRED`` becomes missing).

    >>> r = read_multipico("../shared/data/multipico_lewidi2025/MP_dev.json.gz")  # doctest: +SKIP
    >>> r.n_items, r.n_raters, r.n_ratings  # doctest: +SKIP
    (3005, 506, 15178)
    """
    return read_lewidi(path, annotators_meta)


def read_chaosnli(path) -> Ratings:
    """ChaosNLI (``chaosNLI_snli.jsonl[.gz]`` or ``chaosNLI_mnli_m.jsonl[.gz]``): 100 labels per item, counts only.

    Categories ``e, n, c`` (entailment, neutral, contradiction); item columns ``premise,
    hypothesis, source, majority_label, old_labels``. Rater-level operations raise (no rater ids).

    >>> r = read_chaosnli("../shared/data/chaosnli/chaosNLI_snli.jsonl.gz")  # doctest: +SKIP
    >>> r.n_items, r.n_ratings  # doctest: +SKIP
    (1514, 151400)
    """
    path = _existing(path)
    rows = _load_jsonl(path)
    try:
        counts = pd.DataFrame([row["label_count"] for row in rows], index=[row["uid"] for row in rows], columns=list(CHAOSNLI_LABELS))
        items = pd.DataFrame(
            {
                "premise": [row["example"]["premise"] for row in rows],
                "hypothesis": [row["example"]["hypothesis"] for row in rows],
                "source": [row["example"]["source"] for row in rows],
                "majority_label": [row["majority_label"] for row in rows],
                "old_labels": [row["old_labels"] for row in rows],
            },
            index=counts.index,
        )
    except (KeyError, TypeError) as err:
        raise WorkbenchDataError(f"{path.name!r} is not a ChaosNLI file: missing field {err}") from None
    return Ratings.from_counts(counts, items=items, meta={"source": str(path), "dataset": "ChaosNLI"})


def split_transcript(transcript: str) -> tuple[str, str]:
    """Split an HH-RLHF transcript into (prompt, final assistant response) at the last ``Assistant:`` turn."""
    marker = "\n\nAssistant:"
    cut = transcript.rfind(marker)
    if cut < 0:
        raise WorkbenchDataError(f"transcript has no 'Assistant:' turn: {transcript[:80]!r}")
    return transcript[:cut], transcript[cut + len(marker):].strip()


def read_hh_pairs(path, *, split: str | None = None) -> Ratings:
    """Anthropic HH-RLHF pairs (``*.jsonl[.gz]``): one human judgement per pair.

    Each row becomes an item with ``prompt`` (the dialogue up to the final assistant turn),
    ``response_a`` (the chosen final response) and ``response_b`` (the rejected one), ``split``
    (``harmless``/``helpful`` from the path unless given) and ``same_prompt`` (False where the
    two transcripts differ before the final turn). The label is ``"A"`` from the single,
    anonymous crowd rater ``hh_crowd``: HH-RLHF releases no annotator ids.

    >>> r = read_hh_pairs("../shared/data/hh_rlhf/harmless-base/test.jsonl.gz")  # doctest: +SKIP
    >>> r.pairs()["p_a"].mean()  # doctest: +SKIP
    np.float64(1.0)
    """
    path = _existing(path)
    rows = _load_jsonl(path)
    if split is None:
        split = "harmless" if "harmless" in str(path) else "helpful" if "helpful" in str(path) else "unknown"
    records = []
    for number, row in enumerate(rows):
        if "chosen" not in row or "rejected" not in row:
            raise WorkbenchDataError(f"{path.name!r} line {number + 1} lacks 'chosen'/'rejected'")
        prompt, chosen = split_transcript(row["chosen"])
        prompt_b, rejected = split_transcript(row["rejected"])
        records.append(
            {
                "item_id": f"hh-{split}-{number:05d}",
                "rater_id": "hh_crowd",
                "label": "A",
                "prompt": prompt,
                "response_a": chosen,
                "response_b": rejected,
                "split": split,
                "same_prompt": prompt == prompt_b,
            }
        )
    frame = pd.DataFrame(records)
    return Ratings.from_frame(
        frame,
        level="nominal",
        categories=("A", "B"),
        item_columns=["prompt", "response_a", "response_b", "split", "same_prompt"],
        rater_columns=[],
        meta={"source": str(path), "dataset": "Anthropic HH-RLHF"},
    )


SQUALITY_SCORES = ("overall-rating", "correctness-rating", "selection-rating", "overall-rank", "correctness-rank", "selection-rank")


def read_squality(path, *, label: str = "overall-rating") -> Ratings:
    """SQuALITY human evaluation (``all-responses.jsonl[.gz]``): 300 responses, 3 workers each.

    Items are responses (``passage_id, question, system, response``); ``label`` picks one of the
    ratings (0–100, interval) or ranks (1–3 within a question, ordinal); the others stay as
    per-rating columns, with the reviewers' comments as ``rationale``.

    >>> r = read_squality("../shared/data/squality_human_eval/all-responses.jsonl.gz")  # doctest: +SKIP
    >>> r.n_items, r.n_raters, r.n_ratings  # doctest: +SKIP
    (300, 4, 900)
    """
    if label not in SQUALITY_SCORES:
        raise WorkbenchDataError(f"read_squality label must be one of {', '.join(SQUALITY_SCORES)}, got {label!r}")
    path = _existing(path)
    records = []
    for passage in _load_jsonl(path):
        for question, systems in passage["questions"].items():
            for system, entry in systems.items():
                for review in entry["reviews"]:
                    notes = [" / ".join(a["annotation"]) for a in review.get("annotations", []) if a.get("annotation")]
                    records.append(
                        {
                            "item_id": f"{passage['passage-id']}-q{question}-{system}",
                            "rater_id": str(review["worker_id"]),
                            "passage_id": passage["passage-id"],
                            "question": int(question),
                            "system": system,
                            "response": entry["response"],
                            **{score: review[score] for score in SQUALITY_SCORES},
                            "rationale": "\n".join(notes) or None,
                        }
                    )
    frame = pd.DataFrame(records)
    frame["label"] = frame[label]
    return Ratings.from_frame(
        frame,
        level="ordinal" if label.endswith("rank") else "interval",
        categories=(1, 2, 3) if label.endswith("rank") else None,
        item_columns=["passage_id", "question", "system", "response"],
        rater_columns=[],
        meta={"source": str(path), "dataset": "SQuALITY human evaluation"},
    )


READERS = {
    "convabuse": read_convabuse,
    "lewidi": read_lewidi,
    "multipico": read_multipico,
    "chaosnli": read_chaosnli,
    "hh": read_hh_pairs,
    "squality": read_squality,
}

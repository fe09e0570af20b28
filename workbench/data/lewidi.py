"""The Learning-with-Disagreements (LeWiDi 2023 and 2025) shared-task JSON format.

One reader for every released file: the edition is recognised from the content (2023 files keep
``annotations`` as a comma-separated string, 2025 files as a dict ``{annotator: label}``) and the
data set from its ``annotation task``. See ``shared/data/DATA.md`` and the LeWiDi readmes.
"""

from __future__ import annotations

import gzip
import json
import re
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import WorkbenchDataError
from .ratings import Ratings

#: The three NLI labels of VariErrNLI, whose answers are label *sets*.
NLI_LABELS = ("contradiction", "entailment", "neutral")
#: Every non-empty label set, as the nominal categories of a multi-label file (singles, then pairs, then all three).
NLI_SETS = tuple(",".join(s) for size in (1, 2, 3) for s in combinations(NLI_LABELS, size))

#: ``annotation task`` → (data set, level, categories in scale order).
TASKS = {
    "misogyny and sexism detection in arabic tweets": ("ArMIS", "nominal", (0, 1)),
    "abusivness detection": ("ConvAbuse", "ordinal", (-3, -2, -1, 0, 1)),
    "abusiveness detection": ("ConvAbuse", "ordinal", (-3, -2, -1, 0, 1)),
    "hate speech detection": ("HS-Brexit", "nominal", (0, 1)),
    "offensiveness detection": ("MD-Agreement", "nominal", (0, 1)),
    "sarcasm detection": ("CSC", "ordinal", (1, 2, 3, 4, 5, 6)),
    "irony detection": ("MultiPICo", "nominal", (0, 1)),
    "paraphrase detection": ("Paraphrase", "ordinal", tuple(range(-5, 6))),
    "natural language inference": ("VariErrNLI", "nominal", NLI_SETS),
}
#: Annotator-file values that mean "not known" (CSC's file also has the string "nan").
MISSING = ("DATA_EXPIRED", "CONSENT_REVOKED", "nan", "")
YES_NO = {"no": 0, "yes": 1}
HS_BREXIT_GROUPS = {"group1": "target", "group2": "control"}
HS_BREXIT_TASKS = {"aggressive language detection": "aggressive", "offensive language detection": "offensive"}
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def snake_case(name: str) -> str:
    """``"Ethnicity simplified"`` → ``"ethnicity_simplified"``, ``"context+speaker"`` → ``"context_speaker"``.

    >>> snake_case("Country of birth"), snake_case("conversation_id(s)"), snake_case("Question1")
    ('country_of_birth', 'conversation_ids', 'question1')
    """
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower().replace("(s)", "s")).strip("_")


def load_lewidi_json(path) -> dict:
    """A LeWiDi JSON object (gzip allowed); trailing commas (as in two 2025 annotator files) are read with a warning.

    Any other malformed JSON raises :class:`WorkbenchDataError` naming the file, line and column.

    >>> load_lewidi_json("../shared/data/lewidi_2025/Paraphrase_annotators_meta.json.gz")["Ann1"]["Gender"]  # doctest: +SKIP
    'Male'
    """
    path = Path(path)
    if not path.is_file():
        raise WorkbenchDataError(f"no such file: {str(path)!r}")
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise WorkbenchDataError(f"{path.name!r} could not be read: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as strict:
        try:
            data = json.loads(_TRAILING_COMMA.sub(r"\1", text))
        except json.JSONDecodeError:
            raise WorkbenchDataError(
                f"{path.name!r} is not valid JSON: {strict.msg} at line {strict.lineno}, column {strict.colno}") from None
        warnings.warn(f"{path.name!r} is not strict JSON (trailing commas); read it leniently", UserWarning, stacklevel=3)
    if not isinstance(data, dict) or not data:
        raise WorkbenchDataError(f"{path.name!r} should be a non-empty JSON object keyed by item (or annotator) id")
    return data


def _split(value, what: str, item_id: str, path: Path) -> list[str]:
    if not isinstance(value, str):
        raise WorkbenchDataError(f"item {item_id!r} in {path.name!r}: {what!r} should be a comma-separated string, got {value!r}")
    return [part.strip() for part in value.split(",")]


def _task(entry: dict) -> tuple[str, str, tuple | None]:
    """(data set, level, categories) from an item's ``annotation task``; an unknown task is nominal, its labels as read."""
    task = str(entry.get("annotation task", "")).strip().lower()
    return TASKS.get(task, (task or "unknown", "nominal", None))


def _label(value: str, dataset: str, item_id: str, path: Path):
    """One annotation as its category: an int on numeric scales, a sorted label set for VariErrNLI."""
    if dataset == "VariErrNLI":
        labels = sorted({part.strip() for part in str(value).split(",") if part.strip()})
        unknown = [label for label in labels if label not in NLI_LABELS]
        if unknown or not labels:
            raise WorkbenchDataError(f"item {item_id!r} in {path.name!r}: NLI label {value!r} is not a set of {', '.join(NLI_LABELS)}")
        return ",".join(labels)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return int(number) if number == int(number) else number


def _annotations(entry: dict, item_id: str, path: Path) -> list[tuple[str, str]]:
    """(annotator, raw label) pairs in file order, for both editions."""
    if "annotations" not in entry or "annotators" not in entry:
        raise WorkbenchDataError(f"item {item_id!r} in {path.name!r} has no 'annotations'/'annotators' field")
    annotations = entry["annotations"]
    if isinstance(annotations, dict):
        return [(str(k), v) for k, v in annotations.items()]
    annotators = _split(entry["annotators"], "annotators", item_id, path)
    labels = _split(annotations, "annotations", item_id, path)
    if len(annotators) != len(labels):
        raise WorkbenchDataError(f"item {item_id!r} in {path.name!r} lists {len(annotators)} annotators but "
                                 f"{len(labels)} annotations")
    return list(zip(annotators, labels))


def _item_fields(entry: dict, dataset: str) -> dict:
    """Text fields, ``lang``, ``split``, ``hard_label`` and the item-level parts of ``other_info``, flattened."""
    fields = {}
    text = entry.get("text")
    if isinstance(text, str) and dataset == "ConvAbuse":
        try:
            text = json.loads(text)
        except json.JSONDecodeError:
            pass
    if isinstance(text, dict):
        fields.update({snake_case(k): v for k, v in text.items()})
    else:
        fields["text"] = text
    for key in ("lang", "split", "hard_label"):
        if key in entry:
            fields[key] = entry[key]
    if isinstance(fields.get("hard_label"), str) and fields["hard_label"].lstrip("-").isdigit():
        fields["hard_label"] = int(fields["hard_label"])
    other = entry.get("other_info") or {}
    if isinstance(other, dict):
        for key, value in other.items():
            if dataset == "ArMIS" or key in ("other annotations", "other_annotations", "annotators group", "group1",
                                             "group2", "explanations"):
                continue  # rater- or rating-level, handled by the reader
            if isinstance(value, dict):
                fields.update({snake_case(f"{key}_{k}"): v for k, v in value.items()})
            else:
                fields[snake_case(key)] = value
    return fields


def _rating_fields(entry: dict, dataset: str, annotators: list[str], item_id: str, path: Path) -> tuple[dict, dict, dict]:
    """Per-rating columns (other tasks, rationales), keyed by annotator; rater groups; item fallbacks."""
    other = entry.get("other_info") or {}
    per_rating: dict[str, dict] = {a: {} for a in annotators}
    groups: dict[str, str] = {}
    fallback: dict = {}
    if not isinstance(other, dict):
        return per_rating, groups, fallback
    listed = _split(entry["annotators"], "annotators", item_id, path) if isinstance(entry.get("annotators"), str) else annotators
    tasks = other.get("other annotations", other.get("other_annotations"))
    if isinstance(tasks, dict):
        for task, values in tasks.items():
            column = HS_BREXIT_TASKS.get(task, snake_case(task))
            parts = _split(values, f"other_info/{task}", item_id, path)
            if len(parts) != len(listed):
                raise WorkbenchDataError(f"item {item_id!r} in {path.name!r}: other_info {task!r} has {len(parts)} "
                                         f"values for {len(listed)} annotators")
            for annotator, value in zip(listed, parts):
                word = YES_NO.get(value.lower())
                if word is not None:  # HS-Brexit train writes "No" twice among the 0/1 offensiveness labels
                    fallback.setdefault("recoded", []).append((str(item_id), annotator, column, value))
                per_rating.setdefault(annotator, {})[column] = word if word is not None else _label(value, "", item_id, path)
    if "annotators group" in other:
        for annotator, group in zip(listed, _split(other["annotators group"], "annotators group", item_id, path)):
            groups[annotator] = HS_BREXIT_GROUPS.get(group, group)
    if dataset == "ArMIS":
        groups.update({str(k): str(v) for k, v in other.items()})
    explanations = other.get("explanations")
    if isinstance(explanations, list):
        if len(explanations) == len(listed):  # one rationale per annotation, in the order of the annotators list
            joined: dict[str, list[str]] = {}
            for annotator, text in zip(listed, explanations):
                joined.setdefault(annotator, []).append(str(text).strip())
            for annotator, texts in joined.items():
                if annotator in per_rating:
                    per_rating[annotator]["rationale"] = "\n".join(texts)
        else:
            fallback["explanations"] = explanations
    return per_rating, groups, fallback


def _annotator_table(path) -> pd.DataFrame:
    """The annotator file as a rater table: snake_case columns, :data:`MISSING` values missing, numeric ages."""
    meta = load_lewidi_json(path)
    bad = [k for k, v in meta.items() if not isinstance(v, dict)]
    if bad:
        raise WorkbenchDataError(f"{Path(path).name!r}: annotator {bad[0]!r} should map to a JSON object of attributes")
    table = pd.DataFrame.from_dict(meta, orient="index").replace(list(MISSING), np.nan)
    table.index = [k if str(k).startswith("Ann") else f"Ann{k}" for k in table.index.astype(str)]
    table.columns = [snake_case(c) for c in table.columns]
    table = table.drop(columns=[c for c in ("annotator_id",) if c in table.columns])
    for column in table.columns:
        numbers = pd.to_numeric(table[column], errors="coerce")
        if table[column].notna().any() and numbers.notna().sum() == table[column].notna().sum():
            table[column] = numbers
    return table


def read_lewidi(path, annotators_meta=None, *, label: str | None = None, duplicates: str = "first") -> Ratings:
    """Any LeWiDi 2023 or 2025 file (``*_train/dev/test.json[.gz]``), every annotation kept.

    Items are the JSON keys (strings). Item columns: the text fields (``text``; ConvAbuse's
    ``prev_agent, prev_user, agent, user``; 2025's ``context, response, post, reply, question1,
    question2, statement``), ``lang``, ``split``, 2023's ``hard_label`` and the rest of
    ``other_info`` flattened (``domain``, ``bot``, ``conversation_ids``, ``context_speaker``,
    ``source``, ``level``, ``language_variety``).

    Labels: ArMIS, HS-Brexit, MD-Agreement, MultiPICo nominal 0/1; ConvAbuse (−3…1), CSC (1…6) and
    Paraphrase (−5…5) ordinal with their categories in scale order. VariErrNLI is multi-label: an
    annotator may give several NLI labels to one item (the ``annotators`` field then lists them
    twice). Each annotator's answer is kept as one rating whose label is the sorted, comma-joined
    label *set* (a nominal category among :data:`NLI_SETS`), with 0/1 columns ``contradiction,
    entailment, neutral`` and ``n_labels`` on the rating, so no annotation is lost and the
    per-label shares are the released soft labels; ``meta["multilabel"]`` names the labels.

    Rating columns: HS-Brexit's other tasks (``aggressive``, ``offensive``) and ConvAbuse's
    ``other_annotations`` (``ableist`` … ``implicit``; a ``"No"``/``"Yes"`` among their 0/1 values — twice in
    HS-Brexit's training file — is read as 0/1 and listed in ``meta["recoded"]``) and ``abusive`` (1 for severity −3…−1, the
    binary label of its released soft label); 2025 rationales as ``rationale``. Rater columns: the
    2023 groups as ``group`` (HS-Brexit ``target``/``control``, ArMIS ``Moderate_Female``,
    ``Liberal_Female``, ``Conservative_Male``), and with ``annotators_meta`` (a
    ``*_annotators_meta.json[.gz]`` path) every attribute in snake_case (``age, gender,
    nationality, education, ethnicity_simplified``, …; ``DATA_EXPIRED``, ``CONSENT_REVOKED`` and
    ``"nan"`` are missing).

    ``label`` makes another rating column the label (e.g. ``"offensive"`` on HS-Brexit,
    ``"abusive"`` on ConvAbuse: nominal 0/1). An annotator listed twice on one 2023 item (once,
    in MD-Agreement's test file) follows ``duplicates`` (``"first"`` with a warning by default).

    Examples
    --------
    >>> r = read_lewidi("../shared/data/lewidi_2023/HS-Brexit_dev.json.gz")  # doctest: +SKIP
    >>> r.n_items, r.n_raters, r.n_ratings, r.raters["group"].value_counts().to_dict()  # doctest: +SKIP
    (168, 6, 1008, {'target': 3, 'control': 3})
    """
    path = Path(path)
    data = load_lewidi_json(path)
    first_id, first = next(iter(data.items()))
    if not isinstance(first, dict):
        raise WorkbenchDataError(f"{path.name!r}: item {first_id!r} should be a JSON object")
    dataset, level, categories = _task(first)
    edition = 2025 if isinstance(first.get("annotations"), dict) else 2023
    rows, items, groups, extra, recoded = [], {}, {}, {}, []
    for item_id, entry in data.items():
        if not isinstance(entry, dict):
            raise WorkbenchDataError(f"{path.name!r}: item {item_id!r} should be a JSON object")
        pairs = _annotations(entry, item_id, path)
        annotators = [a for a, _ in pairs]
        per_rating, item_groups, fallback = _rating_fields(entry, dataset, annotators, item_id, path)
        for annotator, group in item_groups.items():
            if groups.setdefault(annotator, group) != group:
                raise WorkbenchDataError(f"{path.name!r}: annotator {annotator!r} is in group {groups[annotator]!r} "
                                         f"and, on item {item_id!r}, in group {group!r}")
        recoded.extend(fallback.pop("recoded", []))
        items[str(item_id)] = {**_item_fields(entry, dataset), **fallback}
        for annotator, raw in pairs:
            rows.append({"item_id": str(item_id), "rater_id": annotator, "label": _label(raw, dataset, item_id, path),
                         **per_rating.get(annotator, {})})
        if dataset == "VariErrNLI":
            listed = _split(entry["annotators"], "annotators", item_id, path)
            for annotator, raw in pairs:  # the annotators field lists an annotator once per label given
                if listed.count(annotator) != len(_label(raw, dataset, item_id, path).split(",")):
                    extra.setdefault("label_set_mismatch", []).append((str(item_id), annotator))
    frame = pd.DataFrame(rows)
    if dataset == "ConvAbuse":
        frame["abusive"] = (pd.to_numeric(frame["label"]) < 0).astype("int64")
    multilabel = None
    if dataset == "VariErrNLI":
        multilabel = NLI_LABELS
        sets = frame["label"].str.split(",")
        for name in NLI_LABELS:
            frame[name] = sets.map(lambda s, name=name: int(name in s))
        frame["n_labels"] = sets.map(len)
    if categories is not None:
        seen = set(frame["label"])
        unknown = sorted(map(str, seen - set(categories)))
        if unknown:
            bad = frame.index[~frame["label"].isin(categories)][0]
            raise WorkbenchDataError(f"{path.name!r}: label {unknown[0]!r} (item {frame.at[bad, 'item_id']!r}, annotator "
                                     f"{frame.at[bad, 'rater_id']!r}) is not on the {dataset} scale {categories}")
    if label is not None:
        if label not in frame.columns or label in ("item_id", "rater_id", "label"):
            choices = [c for c in frame.columns if c not in ("item_id", "rater_id", "label", "rationale")]
            raise WorkbenchDataError(f"read_lewidi label={label!r} is not a rating column of {path.name!r}; "
                                     f"choose from {', '.join(map(repr, choices)) or 'none'}")
        frame = frame.rename(columns={"label": "severity" if dataset == "ConvAbuse" else "main_label"})
        frame["label"] = frame.pop(label)
        level, categories, multilabel = "nominal", None, None
    repeated = frame.duplicated(["item_id", "rater_id"], keep=False)
    if repeated.any() and duplicates != "error":
        first_dup = frame[repeated].iloc[0]
        warnings.warn(f"{path.name!r}: annotator {first_dup['rater_id']!r} is listed twice on item {first_dup['item_id']!r} "
                      f"({int(repeated.sum())} rows over {frame[repeated].groupby(['item_id', 'rater_id']).ngroups} pairs); "
                      f"keeping the {duplicates} answer", UserWarning, stacklevel=2)
    raters = _annotator_table(annotators_meta) if annotators_meta is not None else None
    if groups:
        group_table = pd.DataFrame({"group": pd.Series(groups)})
        raters = group_table if raters is None else raters.join(group_table, how="outer")
    item_table = pd.DataFrame.from_dict(items, orient="index")
    rating_columns = [c for c in frame.columns if c not in ("item_id", "rater_id", "label")]
    meta = {"source": str(path), "dataset": f"{dataset} (LeWiDi {edition})", "lewidi": dataset, "edition": edition}
    if multilabel is not None:
        meta["multilabel"] = multilabel
    meta.update(extra)
    if recoded:
        meta["recoded"] = recoded
    return Ratings.from_frame(
        frame,
        level=level,
        categories=categories,
        items=item_table,
        raters=raters,
        item_columns=[],
        rater_columns=[],
        duplicates=duplicates,
        meta=meta,
    )


def lewidi_soft_labels(path) -> pd.DataFrame:
    """The released ``soft_label`` of every item (rounded by the release), items × categories.

    Multi-label files (VariErrNLI) give one column per label holding its released P(label = 1).

    >>> lewidi_soft_labels("../shared/data/lewidi_2025/CSC_dev.json.gz").shape  # doctest: +SKIP
    (704, 6)
    """
    path = Path(path)
    rows = {}
    for item_id, entry in load_lewidi_json(path).items():
        soft = entry.get("soft_label") if isinstance(entry, dict) else None
        if not isinstance(soft, dict):
            raise WorkbenchDataError(f"item {item_id!r} in {path.name!r} has no 'soft_label' object")
        rows[str(item_id)] = {
            k: (float(v["1"]) if isinstance(v, dict) else float(v)) for k, v in soft.items()
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.columns = [_label(c, "", "", path) for c in table.columns]
    table.index.name = "item_id"
    return table

"""Soft-label and perspectivist evaluation (the LeWiDi metrics), with bootstrap intervals over items.

A model is judged against every annotator, not a majority: :func:`soft_label_scores` compares its
per-item distribution with the people's label shares; :func:`perspectivist_scores` compares its
prediction *for each annotator* with what that annotator said. Both average a per-item value over
items, so one bootstrap (items resampled within each slice, ``kernels.resampling``) gives the
intervals, and ``by=`` a rater column shows which people a model represents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..data.ratings import Ratings
from ..errors import WorkbenchDataError, show
from ..kernels.device import DTYPE, resolve_device
from ..kernels.resampling import bootstrap_sums, percentile_interval, slice_sums
from ..kernels.soft_labels import SOFT_METRICS, group_means, multilabel_errors, per_label_mean, rating_errors

ALL = "all"
#: Tolerance on a predicted distribution's sum.
SUM_TOLERANCE = 1e-6


def multilabel_labels(ratings: Ratings) -> tuple | None:
    """The labels of a multi-label data set (``ratings.meta["multilabel"]``, set by :func:`read_lewidi`), else None."""
    labels = ratings.meta.get("multilabel")
    return tuple(labels) if labels else None


def _check(ratings, what: str, *, raters: bool) -> None:
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"{what} takes a workbench Ratings, got {type(ratings).__name__}")
    if ratings.level not in ("nominal", "ordinal"):
        raise WorkbenchDataError(f"{what} needs nominal or ordinal labels; these ratings are {ratings.level}")
    if raters:
        ratings._need_raters(what)


def _check_interval(ci, n_boot) -> None:
    if ci is not None and not 0 < ci < 1:
        raise WorkbenchDataError(f"ci must be between 0 and 1 (e.g. 0.95) or None, got {ci!r}")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise WorkbenchDataError(f"n_boot must be a non-negative integer, got {n_boot!r}")


def _indicators(ratings: Ratings, labels: tuple) -> np.ndarray:
    """(categories × labels) 0/1: which labels each label-set category holds."""
    sets = [set(str(c).split(",")) for c in ratings.categories]
    return np.array([[label in s for label in labels] for s in sets], dtype=np.float64)


def _rating_slices(ratings: Ratings, by) -> tuple[np.ndarray | None, list, str | None]:
    """Slice code of every rating (None without ``by``), slice names, and the slice column's name."""
    if by is None:
        return None, [], None
    if not isinstance(by, str):
        raise WorkbenchDataError(f"by must name one item or rater column, got {by!r}")
    if by in ratings.items.columns:
        values = ratings.items[by]
        code = ratings.codes.item if ratings.has_raters else None
    elif ratings.has_raters and (by == "rater_id" or by in ratings.raters.columns):
        values = pd.Series(ratings.raters.index, index=ratings.raters.index) if by == "rater_id" else ratings.raters[by]
        code = ratings.codes.rater
    else:
        choices = list(ratings.items.columns) + (["rater_id", *ratings.raters.columns] if ratings.has_raters else [])
        raise WorkbenchDataError(f"by={by!r} is not an item or rater column; choose from {', '.join(map(repr, choices))}")
    shown = values.astype(object).where(values.notna(), "(missing)").astype(str)
    slice_of, names = pd.factorize(shown, sort=True)
    return (slice_of[code] if code is not None else slice_of), list(names), by


def _groups(ratings: Ratings, by):
    """(slice, item) groups of ratings: each rating's group id, each group's slice and item code, slice bounds, names.

    Slice 0 is ``all``; with ``by`` every rating is counted again under its own slice. Groups are sorted by
    slice, then item, so that a slice's groups are contiguous rows for the bootstrap.
    """
    codes = ratings.codes
    n_items = len(codes.items)
    slice_of, names, column = _rating_slices(ratings, by)
    item = codes.item.astype(np.int64)
    key = [item]
    row = [np.arange(len(item))]
    if slice_of is not None:
        key.append((slice_of.astype(np.int64) + 1) * n_items + item)
        row.append(np.arange(len(item)))
    key, row = np.concatenate(key), np.concatenate(row)
    unique, group = np.unique(key, return_inverse=True)  # sorted: slice-major, then item
    slice_id = unique // n_items
    bounds = np.searchsorted(slice_id, np.arange(len(names) + 2))
    return row, group, slice_id, unique % n_items, bounds, [ALL, *names], column


def _item_groups(ratings: Ratings, by):
    """Counts-only data: groups are items, sliced by an item column."""
    slice_of, names, column = _rating_slices(ratings, by)
    n = ratings.n_items
    items = np.arange(n)
    if slice_of is None:
        return items, np.zeros(n, dtype=np.int64), np.array([0, n]), [ALL], column
    order = np.argsort(slice_of, kind="stable")
    sizes = np.bincount(slice_of, minlength=len(names))
    bounds = np.concatenate([[0, n], n + np.cumsum(sizes)])
    return np.concatenate([items, order]), np.concatenate([np.zeros(n, np.int64), slice_of[order] + 1]), bounds, [ALL, *names], column


def _mean_table(values: dict, bounds, names, column, n_items, ci, n_boot, seed) -> pd.DataFrame:
    """Mean of each per-group value within each slice, with a percentile interval from one item bootstrap."""
    metrics = list(values)
    stats = torch.stack([values[m].to(DTYPE) for m in metrics] + [torch.ones_like(values[metrics[0]], dtype=DTYPE)], dim=1)
    sums = slice_sums(stats, bounds)
    point = (sums[:, :-1] / sums[:, -1:]).cpu()
    low = high = torch.full_like(point, float("nan"))
    if ci is not None and n_boot > 0:
        replicates = bootstrap_sums(stats, bounds, n_boot, seed)
        means = (replicates[..., :-1] / replicates[..., -1:]).cpu()
        low, high = torch.empty_like(point), torch.empty_like(point)
        for k in range(len(metrics)):
            low[:, k], high[:, k], _ = percentile_interval(means[..., k], ci)
    records = []
    for g, name in enumerate(names):
        for k, metric in enumerate(metrics):
            records.append({**({column: name} if column else {}), "metric": metric, "value": float(point[g, k]),
                            "ci_low": float(low[g, k]), "ci_high": float(high[g, k]), "n_items": int(n_items[g])})
    return pd.DataFrame(records)


def _soft_predictions(predicted, columns: list, items: pd.Index, *, multilabel: bool) -> np.ndarray:
    """The prediction as (items × columns) float64, in the order of ``items``, checked."""
    if not isinstance(predicted, pd.DataFrame):
        raise WorkbenchDataError(f"predicted must be a DataFrame indexed by item_id, got {type(predicted).__name__}")
    if "item_id" in predicted.columns:
        predicted = predicted.set_index("item_id")
    found = {}
    for name in predicted.columns:
        label = str(name)[2:] if str(name).startswith("p_") else str(name)
        found.setdefault(label, name)
    missing = [c for c in columns if str(c) not in found]
    if missing:
        raise WorkbenchDataError(f"predicted has no column for label {missing[0]!r}; expected one column per "
                                 f"{'label' if multilabel else 'category'}: {', '.join(map(repr, columns))} (or p_<label>)")
    table = predicted[[found[str(c)] for c in columns]]
    table.index = pd.Index(table.index.astype(str), name="item_id")
    if table.index.has_duplicates:
        raise WorkbenchDataError(f"predicted repeats item_id {table.index[table.index.duplicated()][0]!r}")
    absent = items.difference(table.index)
    if len(absent):
        raise WorkbenchDataError(f"predicted has no row for {len(absent)} rated item(s), e.g. item_id {absent[0]!r}")
    values = table.loc[items].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise WorkbenchDataError(f"predicted[{columns[c]!r}] for item {items[r]!r} is {show(table.loc[items].iat[r, c])}; "
                                 "probabilities must be numbers in [0, 1]")
    if not multilabel:
        off = np.abs(values.sum(axis=1) - 1) > SUM_TOLERANCE
        if off.any():
            r = int(np.argmax(off))
            raise WorkbenchDataError(f"predicted row for item {items[r]!r} sums to {values[r].sum():.6g}, not 1; "
                                     "each row must be a distribution over the categories")
    return values


def soft_label_scores(ratings: Ratings, predicted: pd.DataFrame, *, by=None, ci: float | None = 0.95,
                      n_boot: int = 1000, seed: int = 0, device="auto") -> pd.DataFrame:
    """Soft-label evaluation: a predicted distribution per item against the people's label shares.

    Parameters
    ----------
    ratings : Ratings
        Nominal or ordinal ratings (a LeWiDi file from :func:`workbench.datasets.read_lewidi`, any Ratings;
        counts-only data such as ChaosNLI too). The targets are the exact label shares of each item's
        ratings (the released ``soft_label`` fields are these, rounded).
    predicted : DataFrame
        Indexed by ``item_id`` (or with an ``item_id`` column), one column per category holding its
        probability (named after the category, or ``p_<category>`` as :func:`workbench.score_items` gives);
        each row sums to 1. For a multi-label set (VariErrNLI), one column per label holding P(label present).
        Every rated item needs a row; extra rows are ignored.
    by : str, optional
        An item column (slice items) or a rater column / ``"rater_id"``: then each slice's targets are the
        shares among *that group's* ratings of the item — how close the prediction is to each group.
    ci, n_boot, seed
        Interval level (``None`` for none), bootstrap replicates (items resampled within each slice), seed.
    device
        Where the kernels run (``"auto"``: CUDA when present); float64 everywhere, so the numbers agree.

    Returns
    -------
    DataFrame
        One row per (slice, metric): the slice column (with ``by``; slice ``all`` first), ``metric``, ``value``,
        ``ci_low``, ``ci_high``, ``n_items``. Metrics, each averaged over items (lower is better):
        ``manhattan`` Σ|p − t| (LeWiDi 2025; multi-label: the per-label Manhattan distance between the binary
        distributions [1 − p, p] and [1 − t, t], averaged over labels — MAMD); ``cross_entropy``
        −Σ t·log(clip(p, 1e-12, 1 − 1e-12) + 1e-9) (LeWiDi 2023, natural log; multi-label: per label, averaged);
        ``wasserstein`` (ordinal only) the 1-D optimal-transport distance with cost |h − k| between scale
        positions; ``jsd`` in bits (:func:`workbench.jsd`; multi-label: per label, averaged).

    Examples
    --------
    >>> import pandas as pd, workbench
    >>> r = workbench.read_ratings(pd.DataFrame({"item_id": [1, 1, 2, 2], "rater_id": list("abab"), "label": [0, 1, 1, 1]}))
    >>> guess = pd.DataFrame({0: [0.5, 0.0], 1: [0.5, 1.0]}, index=["1", "2"])
    >>> workbench.soft_label_scores(r, guess, ci=None)[["metric", "value", "n_items"]].round(4)
              metric   value  n_items
    0      manhattan  0.0000        2
    1  cross_entropy  0.3466        2
    2            jsd  0.0000        2

    A perfect prediction scores 0 except on cross-entropy, which is then the people's own entropy (in nats).
    """
    _check(ratings, "soft_label_scores", raters=False)
    _check_interval(ci, n_boot)
    labels = multilabel_labels(ratings)
    if ratings.has_raters:
        row, group, slice_id, group_item, bounds, names, column = _groups(ratings, by)
        width = len(ratings.categories)
        codes = ratings.codes.value.astype(np.int64)[row]
        counts = np.bincount(group * width + codes, minlength=(int(group.max()) + 1) * width).reshape(-1, width).astype(np.float64)
    else:
        group_item, slice_id, bounds, names, column = _item_groups(ratings, by)
        counts = ratings.label_counts().to_numpy(dtype=np.float64)[group_item]
    total = counts.sum(axis=1, keepdims=True)
    if labels is not None:
        targets = (counts @ _indicators(ratings, labels)) / total
        columns = list(labels)
    else:
        targets = counts / total
        columns = list(ratings.categories)
    items = ratings.items.index
    rated = pd.Index(items.take(np.unique(group_item)))
    values = _soft_predictions(predicted, columns, rated, multilabel=labels is not None)
    position = pd.Index(rated).get_indexer(items.take(group_item))
    resolved = resolve_device(device)
    p = torch.as_tensor(values[position], dtype=DTYPE, device=resolved)
    t = torch.as_tensor(targets, dtype=DTYPE, device=resolved)
    metrics = ["manhattan", "cross_entropy"] + (["wasserstein"] if ratings.level == "ordinal" and labels is None else []) + ["jsd"]
    per_item = {m: (per_label_mean(SOFT_METRICS[m], p, t) if labels is not None else SOFT_METRICS[m](p, t)) for m in metrics}
    n_items = np.diff(bounds)
    return _mean_table(per_item, bounds, names, column, n_items, ci, n_boot, seed)


def _label_codes(ratings: Ratings, labels, where: pd.Index) -> np.ndarray:
    """Category codes of predicted labels (matching the categories or their text), naming the first unknown one."""
    lookup = {}
    for code, category in enumerate(ratings.categories):
        lookup.setdefault(category, code)
        lookup.setdefault(str(category), code)
    if multilabel_labels(ratings) is not None:
        known = set(multilabel_labels(ratings))

        def as_set(value):
            parts = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
            parts = sorted({str(x).strip() for x in parts})
            return ",".join(parts) if set(parts) <= known else value

        labels = [as_set(v) for v in labels]
    codes = np.array([lookup.get(v, lookup.get(str(v), -1)) if not isinstance(v, (list, set, dict)) else -1 for v in labels])
    if (codes < 0).any():
        k = int(np.argmax(codes < 0))
        raise WorkbenchDataError(f"predicted label {show(labels[k])} (row {where[k]!r}) is not one of the categories "
                                 f"{', '.join(map(repr, ratings.categories))}")
    return codes


def perspectivist_scores(ratings: Ratings, predicted: pd.DataFrame, *, by=None, ci: float | None = 0.95,
                         n_boot: int = 1000, seed: int = 0, device="auto") -> pd.DataFrame:
    """Perspectivist evaluation: a predicted label for every annotator of every item, against what each said.

    Parameters
    ----------
    ratings : Ratings
        Nominal or ordinal ratings with rater ids (multi-label LeWiDi sets included).
    predicted : DataFrame
        Long: ``item_id, rater_id, label``, one predicted label per rating (extra rows are ignored). For a
        multi-label set the label is a label set (``"entailment,neutral"`` or a list of labels).
    by : str, optional
        ``"rater_id"``, a rater column (``group``, ``gender`` …) or an item column: the per-annotator /
        per-group breakdown of which people a model represents.
    ci, n_boot, seed, device
        As in :func:`soft_label_scores` (items resampled within each slice).

    Returns
    -------
    DataFrame
        As :func:`soft_label_scores`. ``error_rate``: per item the share of the annotators (in the slice) whose
        label the model got wrong, averaged over items; for a multi-label set the share of wrong (annotator,
        label) presence decisions — the per-label error averaged over labels (LeWiDi 2025's MER). For
        ordinal scales also ``absolute_distance``: per item the mean |t − p| in scale points divided by the
        number of scale points (6 for CSC, 11 for Paraphrase), averaged over items (LeWiDi 2025).

    Examples
    --------
    >>> import pandas as pd, workbench
    >>> r = workbench.read_ratings(pd.DataFrame({"item_id": [1, 1, 2, 2], "rater_id": list("abab"), "label": [0, 1, 1, 1]}))
    >>> guess = pd.DataFrame({"item_id": ["1", "1", "2", "2"], "rater_id": list("abab"), "label": [0, 0, 1, 1]})
    >>> workbench.perspectivist_scores(r, guess, by="rater_id", ci=None)[["rater_id", "metric", "value", "n_items"]]
      rater_id      metric  value  n_items
    0      all  error_rate   0.25        2
    1        a  error_rate   0.00        2
    2        b  error_rate   0.50        2
    """
    _check(ratings, "perspectivist_scores", raters=True)
    _check_interval(ci, n_boot)
    if not isinstance(predicted, pd.DataFrame):
        raise WorkbenchDataError(f"predicted must be a long DataFrame (item_id, rater_id, label), got {type(predicted).__name__}")
    missing = [c for c in ("item_id", "rater_id", "label") if c not in predicted.columns]
    if missing:
        raise WorkbenchDataError(f"predicted has no column {missing[0]!r}; it needs item_id, rater_id, label "
                                 f"(columns present: {', '.join(map(repr, predicted.columns))})")
    keys = pd.MultiIndex.from_arrays([predicted["item_id"].astype(str), predicted["rater_id"].astype(str)])
    if keys.has_duplicates:
        item, rater = keys[keys.duplicated()][0]
        raise WorkbenchDataError(f"predicted gives item {item!r}, rater {rater!r} more than one label")
    codes = ratings.codes
    wanted = pd.MultiIndex.from_arrays([codes.items.take(codes.item), codes.raters.take(codes.rater)])
    where = keys.get_indexer(wanted)
    if (where < 0).any():
        k = int(np.argmax(where < 0))
        raise WorkbenchDataError(f"predicted has no label for {int((where < 0).sum())} rating(s), e.g. item "
                                 f"{wanted[k][0]!r} rated by {wanted[k][1]!r}")
    guess = _label_codes(ratings, predicted["label"].to_numpy(dtype=object)[where], predicted.index[where])
    truth = codes.value.astype(np.int64)
    labels = multilabel_labels(ratings)
    resolved = resolve_device(device)
    if labels is not None:
        sets = torch.as_tensor(_indicators(ratings, labels), device=resolved)
        errors = {"error_rate": multilabel_errors(sets[truth], sets[guess])}
    else:
        t, g = torch.as_tensor(truth, device=resolved), torch.as_tensor(guess, device=resolved)
        errors = {}
        if ratings.level == "ordinal":
            errors["absolute_distance"] = rating_errors(t, g, n_categories=len(ratings.categories), ordinal=True)
        errors["error_rate"] = rating_errors(t, g, n_categories=len(ratings.categories), ordinal=False)
    row, group, _, _, bounds, names, column = _groups(ratings, by)
    index = torch.as_tensor(group, device=resolved)
    n_groups = int(group.max()) + 1
    per_item = {m: group_means(e[torch.as_tensor(row, device=resolved)], index, n_groups) for m, e in errors.items()}
    return _mean_table(per_item, bounds, names, column, np.diff(bounds), ci, n_boot, seed)

"""Baselines a researcher compares a model against, in the formats :func:`soft_label_scores` and
:func:`perspectivist_scores` take: the training prior, the leave-one-out majority, a per-annotator
model and a per-group model.

Each returns :class:`Predictions` — ``soft`` (items × categories, or × labels for a multi-label set)
and ``perspectivist`` (``item_id, rater_id, label``, one row per rating of the target). A hard
label is chosen from a distribution by its mode (nominal and multi-label sets; ties go to the
category that is commoner in the training data) or its median (ordinal scales: the median
minimises the expected absolute distance, the perspectivist metric there).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..data.ratings import Ratings
from ..errors import WorkbenchDataError
from .soft_labels import _indicators, multilabel_labels


class Predictions(NamedTuple):
    """A baseline's predictions: ``soft`` for :func:`soft_label_scores`, ``perspectivist`` for :func:`perspectivist_scores`."""

    soft: pd.DataFrame
    perspectivist: pd.DataFrame


def _check_pair(train: Ratings, target: Ratings, what: str) -> None:
    for name, r in (("train", train), ("target", target)):
        if not isinstance(r, Ratings):
            raise WorkbenchDataError(f"{what}: {name} must be a workbench Ratings, got {type(r).__name__}")
        if r.level not in ("nominal", "ordinal"):
            raise WorkbenchDataError(f"{what}: {name} has {r.level} labels; baselines need nominal or ordinal ones")
        r._need_raters(what)
    if tuple(train.categories) != tuple(target.categories) or train.level != target.level:
        raise WorkbenchDataError(f"{what}: train and target must share level and categories, got {train.level} "
                                 f"{train.categories} and {target.level} {target.categories}")


def _counts(ratings: Ratings, key: np.ndarray, n_keys: int) -> np.ndarray:
    """(n_keys × K) label counts of the ratings grouped by ``key`` (one key per rating)."""
    k = len(ratings.categories)
    flat = np.bincount(key.astype(np.int64) * k + ratings.codes.value, minlength=n_keys * k)
    return flat.reshape(n_keys, k).astype(np.float64)


def _prior(ratings: Ratings) -> np.ndarray:
    counts = np.bincount(ratings.codes.value, minlength=len(ratings.categories)).astype(np.float64)
    return counts / counts.sum()


def _choose(dist: np.ndarray, prior: np.ndarray, ordinal: bool) -> np.ndarray:
    """A category code per row: the median on ordinal scales, else the mode (ties to the commoner category in ``prior``)."""
    if ordinal:
        cumulative = dist.cumsum(axis=1)
        return (cumulative < cumulative[:, -1:] / 2 - 1e-12).sum(axis=1)
    return np.argmax(dist + 1e-9 * prior[None, :], axis=1)


def _output(target: Ratings, item_dist: np.ndarray, rating_codes: np.ndarray) -> Predictions:
    """Predictions from a distribution over categories per target item and a chosen category per target rating."""
    codes = target.codes
    labels = multilabel_labels(target)
    rated = np.unique(codes.item)
    if labels is not None:
        soft = pd.DataFrame(item_dist[rated] @ _indicators(target, labels), columns=list(labels))
    else:
        soft = pd.DataFrame(item_dist[rated], columns=list(target.categories))
    soft.index = pd.Index(codes.items.take(rated), name="item_id")
    hard = pd.DataFrame({"item_id": codes.items.take(codes.item), "rater_id": codes.raters.take(codes.rater),
                         "label": np.asarray(target.categories, dtype=object)[rating_codes]})
    return Predictions(soft, hard)


def _item_average(target: Ratings, per_rating: np.ndarray) -> np.ndarray:
    """The mean of each target item's per-rating distributions (items × K)."""
    codes = target.codes
    sums = np.zeros((len(codes.items), per_rating.shape[1]))
    np.add.at(sums, codes.item, per_rating)
    n = np.bincount(codes.item, minlength=len(codes.items))[:, None]
    return np.divide(sums, n, out=np.zeros_like(sums), where=n > 0)


def prior_baseline(train: Ratings, target: Ratings) -> Predictions:
    """The training prior: every item gets the training label shares, every annotator the training mode (median).

    >>> import workbench
    >>> from workbench.datasets import read_lewidi
    >>> train = read_lewidi("../shared/data/lewidi_2023/HS-Brexit_train.json.gz")  # doctest: +SKIP
    >>> dev = read_lewidi("../shared/data/lewidi_2023/HS-Brexit_dev.json.gz")  # doctest: +SKIP
    >>> workbench.soft_label_scores(dev, prior_baseline(train, dev).soft, n_boot=200)  # doctest: +SKIP
    """
    _check_pair(train, target, "prior_baseline")
    prior = _prior(train)
    n = len(target.codes.items)
    choice = _choose(prior[None, :], prior, target.level == "ordinal")[0]
    return _output(target, np.tile(prior, (n, 1)), np.full(len(target.codes.item), choice))


def majority_baseline(target: Ratings, train: Ratings | None = None) -> Predictions:
    """The item's leave-one-out majority: each annotator is predicted the mode (ordinal: median) of the *other*
    annotators' labels on the item; the soft prediction is the item's majority label as a one-hot distribution.

    It reads the target's own labels, so it is a reference — what the crowd's vote says about each person — not
    a model. Ties go to the category commoner in ``train`` (or in the target); an annotator alone on an item is
    predicted the training mode.

    >>> import pandas as pd, workbench
    >>> r = workbench.read_ratings(pd.DataFrame({"item_id": [1, 1, 1], "rater_id": list("abc"), "label": ["x", "x", "y"]}))
    >>> majority_baseline(r).perspectivist["label"].tolist()
    ['x', 'x', 'x']
    """
    _check_pair(target if train is None else train, target, "majority_baseline")
    prior = _prior(target if train is None else train)
    ordinal = target.level == "ordinal"
    codes = target.codes
    counts = _counts(target, codes.item, len(codes.items))
    others = counts[codes.item].copy()
    others[np.arange(len(codes.item)), codes.value] -= 1
    choice = _choose(others, prior, ordinal)
    alone = others.sum(axis=1) == 0
    choice[alone] = _choose(prior[None, :], prior, ordinal)[0]
    top = _choose(counts, prior, ordinal)
    onehot = np.eye(len(target.categories))[top]
    return _output(target, onehot, choice)


def _rating_keys(ratings: Ratings, column: str | None) -> np.ndarray:
    """The key of every rating: its rater id, or the rater's value in ``column`` (None where missing)."""
    codes = ratings.codes
    if column is None:
        return np.asarray(codes.raters.take(codes.rater), dtype=object)
    values = ratings.raters[column].reindex(codes.raters)
    keys = values.astype(object).where(values.notna(), None).astype(str).where(values.notna(), None)
    return np.asarray(keys, dtype=object)[codes.rater]


def _by_key(train: Ratings, target: Ratings, column: str | None, smoothing: float, what: str):
    """Per-key training distributions (keys: rater ids, or a rater column's values) smoothed toward the prior,
    and the key of every target rating (−1 where the key has no training ratings)."""
    if not isinstance(smoothing, (int, float)) or smoothing < 0:
        raise WorkbenchDataError(f"{what}: smoothing must be a number ≥ 0, got {smoothing!r}")
    if column is not None:
        for name, r in (("train", train), ("target", target)):
            if column not in r.raters.columns:
                raise WorkbenchDataError(f"{what}: by={column!r} is not a rater column of {name}; choose from "
                                         f"{', '.join(map(repr, r.raters.columns)) or 'none'}")
    train_keys = _rating_keys(train, column)
    known = np.array([k is not None for k in train_keys])
    names, train_code = np.unique(train_keys[known].astype(str), return_inverse=True)
    prior = _prior(train)
    k = len(train.categories)
    counts = np.bincount(train_code * k + train.codes.value[known], minlength=len(names) * k).reshape(len(names), k)
    counts = counts + smoothing * prior[None, :]
    dist = counts / counts.sum(axis=1, keepdims=True)
    key = pd.Index(names).get_indexer(pd.Index(_rating_keys(target, column)).astype(str))
    key[np.array([k is None for k in _rating_keys(target, column)])] = -1
    return dist, key, prior


def _from_keys(target: Ratings, dist: np.ndarray, key: np.ndarray, prior: np.ndarray) -> Predictions:
    ordinal = target.level == "ordinal"
    per_rating = np.where(key[:, None] >= 0, dist[np.maximum(key, 0)], prior[None, :])
    choice = np.where(key >= 0, _choose(dist, prior, ordinal)[np.maximum(key, 0)], _choose(prior[None, :], prior, ordinal)[0])
    return _output(target, _item_average(target, per_rating), choice)


def annotator_baseline(train: Ratings, target: Ratings, *, smoothing: float = 1.0) -> Predictions:
    """A per-annotator model: each annotator's own label distribution in the training split.

    Each target rating is predicted its annotator's training mode (ordinal: median); an item's soft label is
    the mean of its annotators' training distributions. Distributions are smoothed by ``smoothing``
    pseudo-ratings drawn from the training prior (so an annotator's unseen category keeps a little mass);
    annotators with no training ratings get the prior.

    >>> import pandas as pd, workbench
    >>> train = workbench.read_ratings(pd.DataFrame({"item_id": [1, 1, 2, 2], "rater_id": list("abab"), "label": ["x", "y", "x", "y"]}))
    >>> test = workbench.read_ratings(pd.DataFrame({"item_id": [3, 3], "rater_id": list("ab"), "label": ["y", "x"]}))
    >>> annotator_baseline(train, test).perspectivist["label"].tolist()
    ['x', 'y']
    """
    _check_pair(train, target, "annotator_baseline")
    return _from_keys(target, *_by_key(train, target, None, smoothing, "annotator_baseline"))


def group_baseline(train: Ratings, target: Ratings, *, by: str = "group", smoothing: float = 1.0) -> Predictions:
    """A per-group model: the label distribution of the annotator's group (a rater column) in the training split.

    As :func:`annotator_baseline`, with annotators pooled by ``by`` (HS-Brexit's target/control group, ArMIS's
    three groups, or a demographic column from an annotator file).

    >>> from workbench.datasets import read_lewidi
    >>> train = read_lewidi("../shared/data/lewidi_2023/ArMIS_train.json.gz")  # doctest: +SKIP
    >>> dev = read_lewidi("../shared/data/lewidi_2023/ArMIS_dev.json.gz")  # doctest: +SKIP
    >>> group_baseline(train, dev, by="group").soft.shape  # doctest: +SKIP
    (141, 2)
    """
    _check_pair(train, target, "group_baseline")
    return _from_keys(target, *_by_key(train, target, by, smoothing, "group_baseline"))


def crossfit_baseline(baseline, ratings: Ratings, *, folds: int = 2, seed: int = 0, **options) -> Predictions:
    """A train-based baseline on a file without a training split (CSC, MultiPICo dev): items split into
    ``folds`` at random; each fold is predicted from the others.

    >>> import workbench
    >>> r = workbench.simulate_study(seed=0, n_items=40, ratings_per_item=3, n_raters=6).ratings
    >>> len(crossfit_baseline(annotator_baseline, r).perspectivist) == r.n_ratings
    True
    """
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise WorkbenchDataError(f"crossfit_baseline needs folds ≥ 2, got {folds!r}")
    items = np.asarray(ratings.items.index)
    fold = np.random.default_rng(seed).permutation(len(items)) % folds
    soft, hard = [], []
    for k in range(folds):
        part = baseline(ratings.subset(items=items[fold != k]), ratings.subset(items=items[fold == k]), **options)
        soft.append(part.soft)
        hard.append(part.perspectivist)
    return Predictions(pd.concat(soft), pd.concat(hard, ignore_index=True))

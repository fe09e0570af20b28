"""Which model agrees with people better, on which kind of item, and how sure are we (docs/METHODS.md, “Reward models against people”)?

``compare_models`` puts each model's P(A) beside the people's votes per slice, with bootstrap
intervals over items; ``compare_two`` gives the interval of the *difference* between two models
(a paired bootstrap: both models see the same resampled items); ``calibration_table`` bins the
model's probability against the people's share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..data.ratings import Ratings
from ..errors import WorkbenchDataError
from ..kernels.device import DTYPE, resolve_device, to_tensor
from ..kernels.model_metrics import (
    HIGHER_IS_BETTER,
    LABEL_METRICS,
    METRICS,
    counts_of,
    label_counts_of,
    label_metrics,
    label_stats,
    pair_metrics,
    pair_stats,
)
from ..kernels.resampling import bootstrap_sums, percentile_interval, slice_sums

ALL = "all"


def model_probability(scores: pd.DataFrame, name: str = "model") -> pd.Series:
    """P(A) per item from a model's scores: ``p_a`` if given, else ``σ(score_a − score_b)``; indexed by item_id.

    A Series is taken as P(A) indexed by item_id.
    """
    if isinstance(scores, pd.Series):
        scores = scores.rename("p_a").rename_axis("item_id").to_frame()
    if not isinstance(scores, pd.DataFrame):
        raise WorkbenchDataError(f"scores of {name!r} must be a DataFrame with item_id, score_a, score_b (or p_a); got {type(scores).__name__}")
    frame = scores.reset_index() if "item_id" not in scores.columns and scores.index.name == "item_id" else scores
    if "item_id" not in frame.columns:
        raise WorkbenchDataError(f"scores of {name!r} need an item_id column (or index)")
    if "p_a" in frame.columns:
        p = pd.to_numeric(frame["p_a"], errors="coerce")
    elif {"score_a", "score_b"} <= set(frame.columns):
        gap = pd.to_numeric(frame["score_a"], errors="coerce") - pd.to_numeric(frame["score_b"], errors="coerce")
        p = 1.0 / (1.0 + np.exp(-gap))
    else:
        raise WorkbenchDataError(f"scores of {name!r} need score_a and score_b, or p_a; columns present: {', '.join(map(str, frame.columns))}")
    bad = p.isna() | (p < 0) | (p > 1)
    if bad.any():
        raise WorkbenchDataError(f"scores of {name!r}: item {frame['item_id'].iloc[int(np.argmax(bad.to_numpy()))]!r} has no usable probability")
    out = pd.Series(p.to_numpy(dtype=np.float64), index=pd.Index(frame["item_id"].astype(str), name="item_id"), name=name)
    if out.index.has_duplicates:
        raise WorkbenchDataError(f"scores of {name!r} repeat item_id {out.index[out.index.duplicated()][0]!r}")
    return out


def _scores_dict(scores) -> dict[str, pd.Series]:
    if isinstance(scores, pd.DataFrame) and "model" in scores.columns:
        scores = {name: group for name, group in scores.groupby("model", sort=False)}
    if not isinstance(scores, dict) or not scores:
        raise WorkbenchDataError("scores must map model name -> DataFrame (item_id, score_a, score_b or p_a), or be one long table with a model column")
    return {str(name): model_probability(frame, str(name)) for name, frame in scores.items()}


def _item_slices(ratings: Ratings, items: pd.Index, by) -> tuple[np.ndarray, np.ndarray, list]:
    """Rows for every item under ``all`` and, with ``by``, again under its slice; bounds and slice names."""
    if by is None:
        return np.arange(len(items)), np.array([0, len(items)]), [ALL]
    columns = [by] if isinstance(by, str) else list(by)
    missing = [c for c in columns if c not in ratings.items.columns]
    if missing or not columns:
        raise WorkbenchDataError(
            f"by={missing[0] if missing else by!r} is not an item column; choose from {', '.join(map(repr, ratings.items.columns)) or 'none'}"
        )
    table = ratings.items.loc[items, columns]
    label = table.astype(str).where(table.notna(), "(missing)").agg(" × ".join, axis=1) if len(columns) > 1 else (
        table[columns[0]].astype(object).where(table[columns[0]].notna(), "(missing)").astype(str))
    codes, names = pd.factorize(label, sort=True)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=len(names))
    rows = np.concatenate([np.arange(len(items)), order])
    bounds = np.concatenate([[0], len(items) + np.concatenate([[0], np.cumsum(sizes)])])
    return rows, bounds, [ALL] + list(names)


def _prepare(ratings: Ratings, scores, by, device):
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"compare_models takes a workbench Ratings, got {type(ratings).__name__}")
    pairs = ratings.pairs()  # validates A/B/tie labels
    probabilities = _scores_dict(scores)
    items = pairs.index
    for name, p in probabilities.items():
        items = items.intersection(p.index, sort=False)
    if len(items) == 0:
        raise WorkbenchDataError("no item is both rated and scored by every model; check the scores' item_id values")
    counts = ratings.label_counts().loc[items]
    categories = list(counts.columns)
    a, b = categories.index("A") if "A" in categories else None, categories.index("B") if "B" in categories else None
    if a is None or b is None:
        counts = counts.reindex(columns=[c for c in ("A", "B", "tie") if c in categories or c in ("A", "B")], fill_value=0)
        categories = list(counts.columns)
        a, b = categories.index("A"), categories.index("B")
    tie = categories.index("tie") if "tie" in categories else None
    resolved = resolve_device(device)
    counts_t = to_tensor(counts.to_numpy(dtype=np.float64), dtype=DTYPE, device=resolved)
    rows, bounds, names = _item_slices(ratings, items, by)
    row_index = torch.as_tensor(rows, device=resolved)
    length_t = to_tensor(_length_difference(pairs.loc[items]), dtype=DTYPE, device=resolved)
    stats = {
        name: pair_stats(to_tensor(p.loc[items].to_numpy(), dtype=DTYPE, device=resolved), counts_t, a, b, tie,
                         length_t)[row_index]
        for name, p in probabilities.items()
    }
    return stats, bounds, names, items


def _length_difference(pairs: pd.DataFrame) -> np.ndarray:
    """len(response_a) − len(response_b) in characters per item; NaN where a response text is missing."""
    if not {"response_a", "response_b"} <= set(pairs.columns):
        return np.full(len(pairs), np.nan)
    length = lambda column: pairs[column].map(lambda v: len(v) if isinstance(v, str) else np.nan).to_numpy(dtype=np.float64)  # noqa: E731
    return length("response_a") - length("response_b")


def _by_label(by) -> str:
    return "slice" if by is None else by if isinstance(by, str) else " × ".join(by)


def compare_models(ratings: Ratings, scores, *, by=None, ci: float | None = 0.95, n_boot: int = 1000, seed: int = 0,
                   device="auto") -> pd.DataFrame:
    """Model-vs-human metrics per model and slice, with percentile bootstrap intervals over items.

    Parameters
    ----------
    ratings : Ratings
        Pairwise preferences (labels A / B, optionally tie).
    scores : dict or DataFrame
        Model name → DataFrame with ``item_id`` (column or index) and ``score_a, score_b`` or ``p_a``
        (what :func:`workbench.score_pairs` returns); or one long table with a ``model`` column (such as
        the demo study's committee). Items every model scored are compared.
    by : str or list of str, optional
        Item column(s) to slice by (a split, a tag scheme, a committee group; several columns make a
        combined category such as ``plurality × distinguishability``). A slice ``all`` is always included.
    ci, n_boot, seed
        Interval level (``None`` for none), bootstrap replicates (items resampled within each slice), seed.

    Returns
    -------
    DataFrame
        One row per (model, slice): ``n_items``, ``n_human_ties`` (items the people split evenly: left
        out of the hard metrics, never broken at random), then each metric with ``_low``/``_high``:
        ``accuracy`` against the people's majority; ``pearson_r`` and ``mean_l1`` between the model's and
        the people's P(A); ``brier`` of the model's P(A) against the majority; ``jsd`` (bits) between
        the model's and the people's distribution over (A, B); Cohen's ``kappa`` with the majority;
        nominal ``alpha_with_model`` (the model as one more rater) beside ``alpha_humans``.

        Against soft human targets (the people's share choosing A, ``p``): ``accuracy_unanimous``,
        ``accuracy_majority`` and ``accuracy_split`` — accuracy against the majority on items where every
        vote fell on one side (``n_unanimous``), where the majority held at least 2/3 of the votes
        (``n_clear_majority``), and where it held less (``n_split``, exact ties counted here but left out of
        the accuracy): a model should not be scored on coin-flip items as if they had a right answer;
        ``brier_soft`` = mean (P(A) − p)²; ``ece``, the expected calibration error Σ_bins (n_b / n) |mean
        P(A) − mean p| over 10 equal bins of P(A); ``length_bias_r``, Pearson's r between the reward margin
        (logit P(A) = score_a − score_b) and len(response_a) − len(response_b) in characters (NaN without
        response texts); ``split_uncertainty``, the mean of 1 − |2 P(A) − 1| on split items (1: the model says
        50/50 where people split, 0: it is sure).

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=5, n_raters=30)
    >>> table = workbench.compare_models(study.ratings, study.scores, by="split", n_boot=200)
    >>> table[["model", "split", "n_items", "accuracy"]].head(3).round(3)
      model     split  n_items  accuracy
    0  rm-1       all      300     0.750
    1  rm-1  harmless      136     0.706
    2  rm-1   helpful      164     0.787
    """
    _check_interval(ci, n_boot)
    stats, bounds, names, _ = _prepare(ratings, scores, by, device)
    return _metric_table(stats, bounds, names, _by_label(by), pair_metrics, counts_of, METRICS, ci, n_boot, seed)


def _metric_table(stats: dict, bounds, names, label: str, metrics_of, counts, metric_names, ci, n_boot, seed) -> pd.DataFrame:
    """One row per (model, slice): counts, each metric and, with ``ci``, its percentile bootstrap interval over items."""
    frames = []
    for model, table in stats.items():
        sums = slice_sums(table, bounds)
        values = metrics_of(sums)
        frame = pd.DataFrame({"model": model, label: names})
        for key, value in counts(sums).items():
            frame[key] = value.cpu().numpy().round().astype(np.int64)
        replicates = metrics_of(bootstrap_sums(table, bounds, n_boot, seed)) if ci is not None else None
        for metric in metric_names:
            frame[metric] = values[metric].cpu().numpy()
            if replicates is not None:
                low, high, _ = percentile_interval(replicates[metric], ci)
                frame[f"{metric}_low"], frame[f"{metric}_high"] = low.numpy(), high.numpy()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _label_probabilities(frame, name: str, categories: list) -> pd.DataFrame:
    """A classifier's probabilities as items × categories: columns ``p_<label>`` (what score_items gives) or the labels."""
    if not isinstance(frame, pd.DataFrame):
        raise WorkbenchDataError(f"probabilities of {name!r} must be a DataFrame indexed by item_id, got {type(frame).__name__}")
    if "item_id" in frame.columns:
        frame = frame.set_index("item_id")
    wanted = {str(c): c for c in categories}
    columns = {}
    for column in frame.columns:
        label = str(column)[2:] if str(column).startswith("p_") else str(column)
        if label in wanted:
            columns[wanted[label]] = column
    missing = [c for c in categories if c not in columns]
    if missing:
        raise WorkbenchDataError(f"probabilities of {name!r} have no column for label {missing[0]!r} "
                                 f"(expected p_<label> for each of {', '.join(map(repr, categories))})")
    table = frame[[columns[c] for c in categories]].apply(pd.to_numeric, errors="coerce")
    table.columns, table.index = list(categories), pd.Index(frame.index.astype(str), name="item_id")
    values = table.to_numpy()
    bad = ~np.isfinite(values).all(axis=1) | (values < 0).any(axis=1) | (np.abs(values.sum(axis=1) - 1) > 1e-6)
    if bad.any():
        raise WorkbenchDataError(f"probabilities of {name!r}: item {table.index[int(np.argmax(bad))]!r} is not a distribution "
                                 "over the labels (each row must be ≥ 0 and sum to 1)")
    if table.index.has_duplicates:
        raise WorkbenchDataError(f"probabilities of {name!r} repeat item_id {table.index[table.index.duplicated()][0]!r}")
    return table


def compare_classifiers(ratings: Ratings, probabilities, *, by=None, ci: float | None = 0.95, n_boot: int = 1000,
                        seed: int = 0, device="auto") -> pd.DataFrame:
    """The guardrail case (docs/METHODS.md, “Reward models against people”): single-item classifiers against the per-item human label distribution.

    Parameters
    ----------
    ratings : Ratings
        Nominal or ordinal labels on single items (e.g. safe / unsafe), several raters per item.
    probabilities : dict
        Model name → DataFrame indexed by ``item_id`` (or with an ``item_id`` column) holding a probability
        per label, as ``p_<label>`` columns (what :func:`workbench.score_items` returns) or columns named
        after the labels. Items every model scored are compared.
    by, ci, n_boot, seed, device
        As in :func:`compare_models`.

    Returns
    -------
    DataFrame
        One row per (model, slice): ``n_items``, ``n_tied_majority`` (items whose people tie: left out of the
        hard metrics), then with ``_low``/``_high``: hard metrics — ``accuracy`` of the model's top label
        against the majority and Cohen's ``kappa`` between them; soft metrics — ``human_agreement`` (the
        mean share of people who chose the model's label), ``jsd`` and ``tvd`` between the model's and the
        people's distributions, ``cross_entropy`` of the people's labels under the model (bits) and ``brier``
        (Σ (p_model − p_people)²). A model can be right by the majority on an item that people split on
        and still be far from them: the soft metrics say how far.

    Examples
    --------
    >>> import pandas as pd, workbench
    >>> ratings = workbench.read_ratings(pd.DataFrame({"item_id": [1, 1, 1, 2, 2, 2], "rater_id": list("abcabc"),
    ...                                                "label": ["safe", "safe", "unsafe", "unsafe", "unsafe", "safe"]}))
    >>> guard = pd.DataFrame({"p_safe": [0.9, 0.2], "p_unsafe": [0.1, 0.8]}, index=pd.Index(["1", "2"], name="item_id"))
    >>> table = workbench.compare_classifiers(ratings, {"guard": guard}, ci=None)
    >>> table[["model", "n_items", "accuracy", "human_agreement"]].round(3)
       model  n_items  accuracy  human_agreement
    0  guard        2       1.0            0.667
    """
    _check_interval(ci, n_boot)
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"compare_classifiers takes a workbench Ratings, got {type(ratings).__name__}")
    if ratings.level not in ("nominal", "ordinal"):
        raise WorkbenchDataError(f"compare_classifiers needs nominal or ordinal labels; these ratings are {ratings.level}")
    if not isinstance(probabilities, dict) or not probabilities:
        raise WorkbenchDataError("probabilities must map model name -> DataFrame of label probabilities per item_id")
    counts = ratings.label_counts()
    categories = list(counts.columns)
    tables = {str(name): _label_probabilities(frame, str(name), categories) for name, frame in probabilities.items()}
    items = counts.index[counts.sum(axis=1) > 0]
    for table in tables.values():
        items = items.intersection(table.index, sort=False)
    if len(items) == 0:
        raise WorkbenchDataError("no item is both rated and scored by every model; check the probabilities' item_id values")
    resolved = resolve_device(device)
    counts_t = to_tensor(counts.loc[items].to_numpy(dtype=np.float64), dtype=DTYPE, device=resolved)
    rows, bounds, names = _item_slices(ratings, items, by)
    row_index = torch.as_tensor(rows, device=resolved)
    stats = {name: label_stats(to_tensor(table.loc[items].to_numpy(dtype=np.float64), dtype=DTYPE, device=resolved),
                               counts_t)[row_index]
             for name, table in tables.items()}
    return _metric_table(stats, bounds, names, _by_label(by), label_metrics, label_counts_of, LABEL_METRICS, ci, n_boot, seed)



def compare_two(ratings: Ratings, scores, a: str, b: str, *, by=None, ci: float = 0.95, n_boot: int = 1000, seed: int = 0,
                device="auto") -> pd.DataFrame:
    """The difference ``b − a`` on each metric per slice, with a paired bootstrap interval over items.

    Both models are judged on the same resampled items in every replicate, so the interval is that of
    the difference itself. ``better`` names the model that agrees more with people where the interval
    excludes 0 (for ``mean_l1``, ``brier`` and ``jsd`` lower is better), else ``"undecided"``.

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=5, n_raters=30)
    >>> diff = workbench.compare_two(study.ratings, study.scores, "rm-5", "rm-1", n_boot=200)
    >>> row = diff.set_index("metric").loc["accuracy"]
    >>> print(f"{row.value_a:.3f} {row.value_b:.3f} {row.better}")
    0.573 0.750 rm-1
    """
    _check_interval(ci, n_boot)
    if ci is None:
        raise WorkbenchDataError("compare_two needs an interval level ci (e.g. 0.95)")
    stats, bounds, names, _ = _prepare(ratings, _pick(scores, a, b), by, device)
    first, second = stats[a], stats[b]
    width = first.shape[1]
    replicates = bootstrap_sums(torch.cat([first, second], dim=1), bounds, n_boot, seed)
    rep_a, rep_b = pair_metrics(replicates[..., :width]), pair_metrics(replicates[..., width:])
    value_a, value_b = pair_metrics(slice_sums(first, bounds)), pair_metrics(slice_sums(second, bounds))
    n_items = counts_of(slice_sums(first, bounds))["n_items"].cpu().numpy().round().astype(np.int64)
    rows = []
    for metric in METRICS:
        if metric == "alpha_humans":  # the same for both models
            continue
        low, high, defined = percentile_interval(rep_b[metric] - rep_a[metric], ci)
        for g, name in enumerate(names):
            va, vb = float(value_a[metric][g]), float(value_b[metric][g])
            lo, hi = float(low[g]), float(high[g])
            if HIGHER_IS_BETTER[metric] is None:  # neither direction is "agrees more with people"
                better = "not ranked"
            elif lo > 0 or hi < 0:
                b_higher = lo > 0
                better = b if b_higher == HIGHER_IS_BETTER[metric] else a
            else:
                better = "undecided"
            rows.append({_by_label(by): name, "metric": metric, "n_items": int(n_items[g]), "value_a": va, "value_b": vb,
                         "difference": vb - va, "ci_low": lo, "ci_high": hi, "better": better})
    out = pd.DataFrame(rows)
    out.attrs.update({"a": a, "b": b, "ci": ci, "n_boot": n_boot})
    return out


def verdict(difference: pd.DataFrame, metric: str = "pearson_r") -> list[str]:
    """One line per slice saying which model agrees with people better on ``metric``, with the interval.

    The difference is written as in the table, ``b − a`` (``value_b − value_a``) with its interval, so the
    sign read in the text is the sign read in the table; the words say which model that favours.

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=5, n_raters=30)
    >>> print(verdict(workbench.compare_two(study.ratings, study.scores, "rm-5", "rm-1", n_boot=200))[0])
    all: rm-1 agrees with people better: Δr = +0.3... (rm-1 − rm-5), 95 % CI +0.2... to +0.4...
    >>> print(verdict(workbench.compare_two(study.ratings, study.scores, "rm-1", "rm-5", n_boot=200))[0])
    all: rm-1 agrees with people better: Δr = -0.3... (rm-5 − rm-1), 95 % CI -0.4... to -0.2...
    """
    a, b, ci = difference.attrs["a"], difference.attrs["b"], difference.attrs["ci"]
    symbol = {"pearson_r": "Δr", "accuracy": "Δaccuracy", "mean_l1": "ΔL1", "jsd": "ΔJSD", "brier": "ΔBrier",
              "kappa": "Δκ", "alpha_with_model": "Δα"}.get(metric, f"Δ{metric}")
    lines = []
    for _, row in difference[difference["metric"] == metric].iterrows():
        where = row.iloc[0]
        interval = (f"{symbol} = {row['difference']:+.3f} ({b} − {a}), {round(ci * 100)} % CI "
                    f"{row['ci_low']:+.3f} to {row['ci_high']:+.3f}")
        if row["better"] == "not ranked":
            lines.append(f"{where}: {metric} does not rank models (neither direction is closer to people): {interval}")
        elif row["better"] == "undecided":
            lines.append(f"{where}: no clear difference between {a} and {b}: {interval}")
        else:
            lines.append(f"{where}: {row['better']} agrees with people better: {interval}")
    return lines


def calibration_table(ratings: Ratings, scores, *, bins: int = 10) -> pd.DataFrame:
    """Per model and bin of its P(A): items, mean model P(A), and the people's mean share choosing A.

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=5, n_raters=30)
    >>> workbench.calibration_table(study.ratings, study.scores, bins=5).columns.tolist()
    ['model', 'bin', 'n_items', 'model_p_a', 'human_p_a']
    """
    if int(bins) != bins or bins < 1:
        raise WorkbenchDataError(f"bins must be a positive whole number, got {bins!r}")
    human = ratings.pairs()["p_a"]
    frames = []
    for model, p in _scores_dict(scores).items():
        both = pd.DataFrame({"model_p_a": p, "human_p_a": human}).dropna()
        edges = np.linspace(0, 1, int(bins) + 1)
        which = np.clip(np.searchsorted(edges, both["model_p_a"].to_numpy(), side="right") - 1, 0, int(bins) - 1)
        labels = [f"{lo:.1f}–{hi:.1f}" for lo, hi in zip(edges[:-1], edges[1:])]
        grouped = both.groupby(which)
        frame = grouped.mean().reindex(range(int(bins)))
        frame.insert(0, "n_items", grouped.size().reindex(range(int(bins)), fill_value=0).to_numpy())
        frame.insert(0, "bin", labels)
        frame.insert(0, "model", model)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def model_vs_human(ratings: Ratings, scores, *, by=None) -> pd.DataFrame:
    """One row per (model, item): the model's P(A), the people's P(A) and, with ``by``, the item's slice (for plots)."""
    pairs = ratings.pairs()
    frames = []
    for model, p in _scores_dict(scores).items():
        frame = pd.DataFrame({"model": model, "model_p_a": p}).join(pairs["p_a"].rename("human_p_a"), how="inner")
        if by is not None:
            columns = [by] if isinstance(by, str) else list(by)
            frame[_by_label(by)] = ratings.items.loc[frame.index, columns].astype(str).agg(" × ".join, axis=1)
        frames.append(frame.rename_axis("item_id").reset_index())
    return pd.concat(frames, ignore_index=True)


def _pick(scores, a: str, b: str) -> dict:
    models = _scores_dict(scores) if not isinstance(scores, dict) else scores
    missing = [name for name in (a, b) if name not in models]
    if missing:
        raise WorkbenchDataError(f"no scores for model {missing[0]!r}; scored: {', '.join(map(str, models))}")
    if a == b:
        raise WorkbenchDataError("compare_two needs two different model names")
    return {a: models[a], b: models[b]}


def _check_interval(ci, n_boot) -> None:
    if ci is not None and not 0 < ci < 1:
        raise WorkbenchDataError(f"ci must lie strictly between 0 and 1 (e.g. 0.95), got {ci!r}")
    if int(n_boot) != n_boot or n_boot < 1:
        raise WorkbenchDataError(f"n_boot must be a positive whole number, got {n_boot!r}")

"""Who and what to trust: reward-model committee groups (Yeh et al. 2024), attentiveness EM (after Cai & Li 2025), Dawid–Skene.

Each result is keyed by ``item_id`` or ``rater_id`` so it can join the data with
:meth:`Ratings.with_columns` and drive a cleaning :class:`~workbench.analysis.recipes.Recipe`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data.ratings import PREFERENCE_LABELS, Ratings
from ..data.validate import require_columns
from ..errors import WorkbenchDataError, show
from ..kernels.device import DTYPE, resolve_device, to_tensor
from ..kernels.em import comparison_stats, fit_attentiveness_stats, fit_dawid_skene, random_start

GROUPS = ("NoAgree", "LowAgree", "HighAgree", "AllAgree")
TIES = ("disagree", "agree", "exclude")
#: Users with fewer comparisons than this have a prior-dominated estimate.
FEW_COMPARISONS = 5


def _check_ratings(ratings, what: str) -> Ratings:
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"{what} takes a workbench Ratings, got {type(ratings).__name__}; see workbench.read_ratings")
    ratings._need_raters(what)
    return ratings


def _preference_labels(ratings: Ratings, what: str) -> np.ndarray:
    """Each rating's label as text among A / B / tie (refusing other label sets)."""
    categories = ratings.categories or ()
    unknown = [c for c in categories if c not in PREFERENCE_LABELS]
    if ratings.level != "nominal" or unknown or not categories:
        raise WorkbenchDataError(
            f"{what} needs pairwise labels among {PREFERENCE_LABELS}; column 'label' has {list(unknown or categories)[:5]!r}"
        )
    return np.asarray(categories, dtype=object)[ratings.codes.value]


# ---------------------------------------------------------------------- committee
def _side(a, b) -> np.ndarray:
    """'A', 'B' or 'tie' from two comparable arrays (counts or scores)."""
    return np.select([a > b, a < b], ["A", "B"], "tie")


def committee_groups(ratings: Ratings, scores: pd.DataFrame | None, *, cutoffs=(0, 0.5, 1.0), ties: str = "disagree",
                     votes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Agreement of a reward-model committee with the human majority, and the committee group of each pair.

    Parameters
    ----------
    ratings : Ratings with labels among A / B / tie (the human majority is ``n_a`` vs ``n_b``).
    scores : DataFrame ``item_id, model, score_a, score_b``: one row per (item, committee member);
        a missing score leaves that member out for that item (``n_models`` counts who remain).
        Scores for items outside ``ratings`` are ignored.
    cutoffs : (no, low, all) on ``share_agree = n_agree / n_models``: share ≤ no → NoAgree,
        ≤ low → LowAgree, < all → HighAgree, else AllAgree. The default (0, ½, 1) is the table of Yeh et al. 2024
        for K = 8 (v = 0 / 1–4 / 5–7 / 8); the middle cut-off is [UNCONFIRMED] in the paper.
    ties : a human tie or a model tie counts as "disagree" (default, [UNCONFIRMED]), as "agree",
        or is left out ("exclude": a tied member leaves ``n_models``; a human tie leaves the item
        without a group).
    votes : the committee's :func:`committee_votes`, computed once, in place of ``scores``.

    Returns
    -------
    DataFrame indexed by ``item_id`` (every pair item): ``human_majority, n_models, n_agree,
    share_agree, committee_group`` (ordered categorical; missing without scores).
    ``.attrs["summary"]``: items per group, overall (``all``) and per ``split`` when there is one.

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=200, ratings_per_item=5, n_raters=20)
    >>> groups = workbench.committee_groups(study.ratings, study.scores)
    >>> groups.attrs["summary"]["all"].to_dict()
    {'NoAgree': 12, 'LowAgree': 47, 'HighAgree': 105, 'AllAgree': 36}
    """
    ratings = _check_ratings(ratings, "committee_groups()")
    if ties not in TIES:
        raise WorkbenchDataError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    no, low, everyone = _check_cutoffs(cutoffs)
    pairs = ratings.pairs()
    out = _agreement(committee_votes(scores, pairs.index) if votes is None else votes, pairs, ties)
    share = out["share_agree"]
    codes = np.select([share <= no, share <= low, share < everyone, share >= everyone], [0, 1, 2, 3], -1)
    out["committee_group"] = pd.Categorical.from_codes(codes, categories=list(GROUPS), ordered=True)
    out.attrs["summary"] = _group_summary(out["committee_group"], ratings.items)
    return out


def committee_votes(scores: pd.DataFrame, items) -> pd.DataFrame:
    """How many committee members prefer A, B, or neither (equal scores) on each item; missing scores left out.

    >>> scores = pd.DataFrame({"item_id": ["q1", "q1", "q1"], "model": ["m1", "m2", "m3"],
    ...                        "score_a": [1.0, 0.2, 0.5], "score_b": [0.0, 0.9, None]})
    >>> committee_votes(scores, ["q1", "q2"]).to_dict("index")
    {'q1': {'prefer_a': 1, 'prefer_b': 1, 'prefer_tie': 0}, 'q2': {'prefer_a': 0, 'prefer_b': 0, 'prefer_tie': 0}}
    """
    scores = _check_scores(scores)
    index = pd.Index(pd.Index(items).astype(str), name="item_id")
    scores = scores[scores["item_id"].isin(index)].dropna(subset=["score_a", "score_b"])
    side = _side(scores["score_a"].to_numpy(), scores["score_b"].to_numpy())
    row = index.get_indexer(scores["item_id"])
    return pd.DataFrame({
        f"prefer_{name}": np.bincount(row[side == code], minlength=len(index))
        for name, code in (("a", "A"), ("b", "B"), ("tie", "tie"))
    }, index=index)


def _agreement(votes: pd.DataFrame, pairs: pd.DataFrame, ties: str) -> pd.DataFrame:
    human = _side(pairs["n_a"].to_numpy(), pairs["n_b"].to_numpy())
    prefer_a, prefer_b, prefer_tie = (votes[c].reindex(pairs.index, fill_value=0).to_numpy() for c in votes.columns)
    same = np.select([human == "A", human == "B"], [prefer_a, prefer_b], 0)
    total = prefer_a + prefer_b + prefer_tie
    human_tie = human == "tie"
    if ties == "agree":
        n_models, n_agree = total, np.where(human_tie, total, same + prefer_tie)
    elif ties == "exclude":
        n_models = np.where(human_tie, 0, prefer_a + prefer_b)
        n_agree = np.where(human_tie, 0, same)
    else:
        n_models, n_agree = total, same
    out = pd.DataFrame({"human_majority": human, "n_models": n_models.astype("int64"), "n_agree": n_agree.astype("int64")},
                       index=pairs.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_agree"] = np.where(n_models > 0, n_agree / np.maximum(n_models, 1), np.nan)
    return out


def committee_agreement(ratings: Ratings, votes: pd.DataFrame, *, ties: str = "disagree") -> float:
    """Mean share of committee members agreeing with each item's human majority (items with a vote).

    ``votes`` comes from :func:`committee_votes` (computed once, reused as labels change).

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=200, ratings_per_item=5, n_raters=20)
    >>> votes = committee_votes(study.scores, study.ratings.items.index)
    >>> round(committee_agreement(study.ratings, votes), 3)
    0.623
    """
    ratings = _check_ratings(ratings, "committee_agreement()")
    if ties not in TIES:
        raise WorkbenchDataError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    return float(_agreement(votes, ratings.pairs(), ties)["share_agree"].mean())


def _check_cutoffs(cutoffs) -> tuple[float, float, float]:
    try:
        no, low, everyone = (float(c) for c in cutoffs)
    except (TypeError, ValueError):
        raise WorkbenchDataError(f"cutoffs must be three numbers (no, low, all), got {cutoffs!r}") from None
    if not 0 <= no <= low <= everyone <= 1:
        raise WorkbenchDataError(f"cutoffs must satisfy 0 ≤ no ≤ low ≤ all ≤ 1, got {cutoffs!r}")
    return no, low, everyone


def _check_scores(scores) -> pd.DataFrame:
    if not isinstance(scores, pd.DataFrame):
        raise WorkbenchDataError(f"scores must be a DataFrame item_id, model, score_a, score_b, got {type(scores).__name__}")
    require_columns(scores, ["item_id", "model", "score_a", "score_b"], what="scores")
    out = scores[["item_id", "model", "score_a", "score_b"]].copy()
    for column in ("score_a", "score_b"):
        numbers = pd.to_numeric(out[column], errors="coerce")
        bad = numbers.isna() & out[column].notna()
        if bad.any():
            raise WorkbenchDataError(f"scores column {column!r} has a non-number {show(out[column][bad].iloc[0])} at row {out.index[bad][0]!r}")
        out[column] = numbers.astype("float64")
    out["item_id"] = out["item_id"].astype(str)
    repeated = out.duplicated(["item_id", "model"])
    if repeated.any():
        row = out[repeated].iloc[0]
        raise WorkbenchDataError(f"scores repeat model {row['model']!r} for item_id {row['item_id']!r}")
    return out


def _group_summary(groups: pd.Series, items: pd.DataFrame) -> pd.DataFrame:
    summary = groups.value_counts(sort=False).rename("all").to_frame()
    if "split" in items.columns:
        by_split = pd.crosstab(groups, items["split"].reindex(groups.index), dropna=False)
        summary = summary.join(by_split.reindex(summary.index, fill_value=0))
    summary.index.name = "committee_group"
    summary.columns.name = None
    return summary


# ---------------------------------------------------------------------- attentiveness
@dataclass
class AttentivenessFit:
    """Result of :func:`fit_attentiveness`.

    ``users`` (indexed by ``rater_id``): ``attentiveness`` (MAP η̂), ``sd`` (Laplace), ``n_comparisons``,
    ``n_strong`` (picks of the stronger model), ``n_ties`` (left out), ``few_comparisons`` (n < 5:
    prior-dominated). ``objective`` holds the log posterior at the start and after each EM step.
    """

    users: pd.DataFrame
    mu: float
    mu_fixed: bool
    objective: pd.Series
    n_iter: int
    converged: bool
    strong_model: str
    n_ties: int
    n_left_out: int  # comparisons on items where the strong model is not exactly one side

    def attentive(self, threshold: float = 0.5) -> pd.Index:
        """Users whose η̂ ≥ ``threshold`` (τ; set it together with the prior on η)."""
        return self.users.index[self.users["attentiveness"] >= threshold]


def _check_prior(prior, name: str):
    if prior is None:
        return None
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise WorkbenchDataError(f"{name} must be a pair (a, b) of Beta parameters or None, got {prior!r}") from None
    if not (a >= 1 and b >= 1):
        raise WorkbenchDataError(f"{name} needs Beta parameters a, b ≥ 1 (the MAP EM), got {prior!r}")
    return a, b


def comparisons(ratings: Ratings, strong_model: str) -> pd.DataFrame:
    """Each A/B rating as a comparison: ``rater_id, item_id, picked_strong`` plus counts of what was left out.

    ``.attrs``: ``n_ties`` per rater (Series) and ``n_left_out`` (ratings on items where
    ``strong_model`` is not exactly one of ``model_a``/``model_b``).
    """
    ratings = _check_ratings(ratings, "comparisons()")
    require_columns(ratings.items, ["model_a", "model_b"], what="item table")
    labels = _preference_labels(ratings, "fit_attentiveness()")
    models = pd.unique(ratings.items[["model_a", "model_b"]].to_numpy().ravel())
    if strong_model not in set(models):
        raise WorkbenchDataError(
            f"strong_model {strong_model!r} is not in columns 'model_a'/'model_b'; models present: {', '.join(map(repr, models[:10]))}"
        )
    codes = ratings.codes
    strong_a = (ratings.items["model_a"] == strong_model).to_numpy()[codes.item]
    strong_b = (ratings.items["model_b"] == strong_model).to_numpy()[codes.item]
    usable = strong_a != strong_b
    tie = labels == "tie"
    keep = usable & ~tie
    frame = pd.DataFrame({
        "rater": codes.rater[keep],
        "item": codes.item[keep],
        "picked_strong": np.where(labels[keep] == "A", strong_a[keep], strong_b[keep]),
    })
    frame.attrs["n_ties"] = pd.Series(np.bincount(codes.rater[usable & tie], minlength=len(codes.raters)), index=codes.raters)
    frame.attrs["n_left_out"] = int((~usable).sum())
    return frame


def fit_attentiveness(
    ratings: Ratings,
    strong_model: str,
    *,
    mu: float | None = None,
    prior_eta=(8, 2),
    prior_mu=(8, 2),
    mu_start: float = 0.8,
    seed: int | None = None,
    tol: float = 1e-8,
    max_iter: int = 1000,
    device="auto",
) -> AttentivenessFit:
    """Per-user attentiveness η from comparison-mode labels by EM (docs/METHODS.md, “Cleaning”).

    The paper's facts [SEC/PAPER]: a per-user attentiveness is estimated by EM with a
    non-decreasing likelihood, μ is either known or given a Beta(8, 2) prior, and a regulariser
    7·log η + log(1 − η) (Beta(8, 2) on η). The generative model itself is our reconstruction
    [DERIVED]: ``P(user picks the stronger model) = ½ + η (μ − ½)`` — see
    :class:`workbench.kernels.em.Attentiveness`, which a confirmed model can replace.

    Parameters
    ----------
    ratings : Ratings whose items carry ``model_a``, ``model_b`` and whose labels are A / B
        (ties are left out and counted, as are items where ``strong_model`` is not exactly one side).
    strong_model : the designated stronger model (the model users should prefer).
    mu : P(the stronger model's response is truly better). Given: fixed ("Knowing μ"); it must
        exceed ½. ``None``: estimated under ``prior_mu`` ("Prior"), starting from ``mu_start``.
    prior_eta, prior_mu : Beta (a, b) priors, a, b ≥ 1; ``None`` is flat (plain maximum likelihood;
        with μ free and both flat, only η(2μ − 1) is identified).
    seed : ``None`` starts every η at ½; a number starts from seeded random values.
    tol, max_iter : stop when the objective's relative change is below ``tol``.

    Returns
    -------
    :class:`AttentivenessFit`

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=400, ratings_per_item=10, n_raters=40)
    >>> fit = workbench.fit_attentiveness(study.ratings, "model-strong", mu=0.7)
    >>> fit.users.columns.tolist()[:3], bool(fit.objective.diff().dropna().ge(0).all())
    (['attentiveness', 'sd', 'n_comparisons'], True)
    """
    prior_eta, prior_mu = _check_prior(prior_eta, "prior_eta"), _check_prior(prior_mu, "prior_mu")
    if mu is not None and not (isinstance(mu, (int, float, np.number)) and 0.5 < mu <= 1):
        raise WorkbenchDataError(
            f"mu={mu!r}: μ must exceed ½ (the stronger model must be preferred more often than chance); "
            "at μ ≤ ½ there is no asymmetry and attentiveness is not identifiable (reason: no_asymmetry)"
        )
    if not 0 < mu_start < 1:
        raise WorkbenchDataError(f"mu_start must lie in (0, 1), got {mu_start!r}")
    if int(max_iter) != max_iter or max_iter < 1 or not tol >= 0:
        raise WorkbenchDataError(f"max_iter must be a positive whole number and tol ≥ 0, got {max_iter!r}, {tol!r}")
    frame = comparisons(ratings, strong_model)
    if frame.empty:
        raise WorkbenchDataError(f"no A/B comparisons involving {strong_model!r}: every rating is a tie or on an item without it")
    dev = resolve_device(device)
    raters = ratings.codes.raters
    stats = comparison_stats(to_tensor(frame["rater"].to_numpy(), device=dev), to_tensor(frame["picked_strong"].to_numpy(), device=dev), len(raters))
    seen = stats["n"] > 0  # users with no comparison get no estimate
    stats = {k: v[seen] for k, v in stats.items()}
    start = None if seed is None else random_start(stats["n"].shape, seed, dev)
    result, sd = fit_attentiveness_stats(
        stats, torch.tensor(float(mu if mu is not None else mu_start), dtype=DTYPE, device=dev),
        estimate_mu=mu is None, prior_eta=prior_eta, prior_mu=prior_mu, eta=start, tol=tol, max_iter=max_iter,
    )
    seen_np = seen.cpu().numpy()
    users = pd.DataFrame(index=pd.Index(raters, name="rater_id"))
    users["attentiveness"] = np.nan
    users["sd"] = np.nan
    users.loc[seen_np, "attentiveness"] = result.params["eta"].cpu().numpy()
    users.loc[seen_np, "sd"] = sd.cpu().numpy()
    users["n_comparisons"] = np.bincount(frame["rater"], minlength=len(raters))
    users["n_strong"] = np.bincount(frame["rater"], weights=frame["picked_strong"], minlength=len(raters)).astype("int64")
    users["n_ties"] = frame.attrs["n_ties"].to_numpy()
    users["few_comparisons"] = users["n_comparisons"] < FEW_COMPARISONS
    return AttentivenessFit(
        users=users,
        mu=float(result.params["mu"]),
        mu_fixed=mu is not None,
        objective=pd.Series(result.objective.cpu().numpy(), name="log_posterior").rename_axis("iteration"),
        n_iter=result.n_iter,
        converged=bool(result.converged),
        strong_model=strong_model,
        n_ties=int(users["n_ties"].sum()),
        n_left_out=frame.attrs["n_left_out"],
    )


# ---------------------------------------------------------------------- Dawid–Skene
@dataclass
class DawidSkeneFit:
    """Result of :func:`dawid_skene`: ``items`` (posterior per class), ``raters`` (confusion matrices:
    rows ``(rater_id, true)``, columns the observed label, rows sum to 1), ``priors``, ``objective``
    (log-likelihood at the start and after each EM step)."""

    items: pd.DataFrame
    raters: pd.DataFrame
    priors: pd.Series
    objective: pd.Series
    n_iter: int
    converged: bool


def dawid_skene(ratings: Ratings, *, tol: float = 1e-8, max_iter: int = 1000, device="auto") -> DawidSkeneFit:
    """Dawid & Skene's class-conditional annotator model by EM (on the same kernel path as attentiveness EM).

    Starts from each item's label shares (soft majority vote), as crowd-kit's ``DawidSkene`` does;
    at convergence both give the same posteriors (``tests/test_cleaning.py`` checks to 1e-6).

    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=100, ratings_per_item=5, n_raters=20)
    >>> fit = workbench.dawid_skene(study.ratings)
    >>> fit.items.columns.tolist(), fit.raters.loc["u00000"].shape
    (['A', 'B'], (2, 2))
    """
    ratings = _check_ratings(ratings, "dawid_skene()")
    if ratings.level not in ("nominal", "ordinal"):
        raise WorkbenchDataError(f"dawid_skene() needs categorical labels (nominal or ordinal), not {ratings.level} data")
    if int(max_iter) != max_iter or max_iter < 1 or not tol >= 0:
        raise WorkbenchDataError(f"max_iter must be a positive whole number and tol ≥ 0, got {max_iter!r}, {tol!r}")
    codes, dev = ratings.codes, resolve_device(device)
    k = len(ratings.categories)
    result = fit_dawid_skene(
        to_tensor(codes.item, device=dev), to_tensor(codes.rater, device=dev), to_tensor(codes.value, device=dev),
        n_items=len(codes.items), n_raters=len(codes.raters), n_classes=k, tol=tol, max_iter=max_iter,
    )
    classes = pd.Index(ratings.categories, name="label")
    confusion = result.params["confusion"].cpu().numpy().reshape(len(codes.raters) * k, k)
    rows = pd.MultiIndex.from_product([codes.raters, ratings.categories], names=["rater_id", "true"])
    return DawidSkeneFit(
        items=pd.DataFrame(result.params["posterior"].cpu().numpy(), index=codes.items, columns=classes),
        raters=pd.DataFrame(confusion, index=rows, columns=classes.rename("observed")),
        priors=pd.Series(result.params["prior"].cpu().numpy(), index=classes, name="prior"),
        objective=pd.Series(result.objective.cpu().numpy(), name="log_likelihood").rename_axis("iteration"),
        n_iter=result.n_iter,
        converged=bool(result.converged),
    )

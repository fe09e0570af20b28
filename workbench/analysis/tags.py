"""Tags as data: item columns for slicing, the order to tag in, and agreement among taggers.

Tags live in the :class:`~workbench.data.store.Store` as an append-only history; everything here
reads each tagger's current values (``store.current_tags(per_tagger=True)``) and never writes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.ratings import Ratings
from ..data.schemes import Scheme
from ..data.store import Store, latest_tags, live_tags
from ..errors import WorkbenchDataError
from .distributions import entropy
from .reliability import reliability

RESOLVE = ("latest", "majority", "conflict")
STRATEGIES = ("entropy", "divergence", "random", "conflict")


def _check(ratings, store) -> None:
    if not isinstance(ratings, Ratings):
        raise WorkbenchDataError(f"expected a workbench Ratings, got {type(ratings).__name__}")
    _check_store(store)


def _check_store(store) -> None:
    if not isinstance(store, Store):
        raise WorkbenchDataError(f"expected a workbench Store (the project's tags), got {type(store).__name__}")


def _states(live: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """One row per (item, tagger) with the tagger's values as a tuple in scheme order."""
    order = {value: k for k, value in enumerate(scheme.values)}
    rows = live.assign(_rank=live["value"].map(order)).sort_values(["item_id", "tagger", "_rank"], kind="stable")
    grouped = rows.groupby(["item_id", "tagger"], sort=False)
    return pd.DataFrame({"values": grouped["value"].agg(tuple), "note": grouped["note"].last(),
                         "time": grouped["tagger_time"].max()}).reset_index()


def _live(store: Store, scheme: str) -> pd.DataFrame:
    return live_tags(store.tag_history(scheme=scheme), store.schemes())


def tag_columns(store: Store, items, *, resolve: str = "latest", schemes=None) -> pd.DataFrame:
    """The current tags as item columns, indexed by ``item_id`` (the items given, in their order).

    A single-choice scheme gives one column named after it (untagged: missing); a multi-choice
    scheme gives one nullable boolean column per value, ``scheme=value`` (missing where nobody
    tagged the item). When taggers differ, ``resolve`` decides:

    - ``"latest"``: the values of the tagger who wrote last;
    - ``"majority"``: the value most taggers chose (per value for multi-choice: more than half);
    - ``"conflict"``: only what all taggers agree on.

    A tie under ``majority`` and any disagreement under ``conflict`` leave the cell missing; the
    number of such items per column is in ``.attrs["conflicts"]``.

    >>> import tempfile, pathlib, workbench
    >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
    >>> for tagger, value in [("ana", "manifest"), ("ben", "manifest"), ("cy", "latent_pattern")]:
    ...     _ = store.add_tag("q1", "subjectivity", value, tagger=tagger)
    >>> columns = workbench.tag_columns(store, ["q1", "q2"], resolve="majority", schemes=["subjectivity"])
    >>> columns["subjectivity"].tolist(), columns.attrs["conflicts"]
    (['manifest', nan], {'subjectivity': 0})
    """
    _check_store(store)
    if resolve not in RESOLVE:
        raise WorkbenchDataError(f"unknown resolve rule {resolve!r}; choose one of {', '.join(RESOLVE)}")
    index = pd.Index(items.items.index if isinstance(items, Ratings) else pd.Index(items).astype(str), name="item_id")
    registered = store.schemes()
    names = list(registered) if schemes is None else [schemes] if isinstance(schemes, str) else list(schemes)
    out = pd.DataFrame(index=index)
    conflicts: dict[str, int] = {}
    history = store.tag_history()
    live_all = live_tags(history[history["item_id"].isin(index)], registered)
    for name in names:
        scheme = Store._known(registered, name)
        live = live_all[live_all["scheme"] == name]
        if scheme.multi:
            for column, values, n_conflicts in _multi_columns(live, scheme, index, resolve):
                out[column], conflicts[column] = values, n_conflicts
        else:
            out[name], conflicts[name] = _single_column(live, index, resolve)
    out.attrs["conflicts"] = conflicts
    return out


def _single_column(live: pd.DataFrame, index: pd.Index, resolve: str) -> tuple[pd.Series, int]:
    missing = pd.Series(np.nan, index=index, dtype=object)
    if live.empty:
        return missing, 0
    if resolve == "latest":
        return latest_tags(live).set_index("item_id")["value"].reindex(index).astype(object), 0
    votes = live.groupby(["item_id", "value"]).size()
    top = votes.groupby(level="item_id").transform("max")
    if resolve == "majority":
        decided = (votes == top).groupby(level="item_id").sum() == 1
    else:  # conflict: every tagger chose the same value
        decided = votes.groupby(level="item_id").size() == 1
    winners = votes[votes == top].reset_index().drop_duplicates("item_id").set_index("item_id")["value"]
    chosen = winners[decided.reindex(winners.index)]
    return chosen.reindex(index).astype(object), int((~decided[decided.index.isin(index)]).sum())


def _multi_columns(live: pd.DataFrame, scheme: Scheme, index: pd.Index, resolve: str):
    if resolve == "latest":
        live = latest_tags(live)
    taggers = live.groupby("item_id")["tagger"].nunique().reindex(index)
    for value in scheme.values:
        having = live[live["value"] == value].groupby("item_id")["tagger"].nunique().reindex(index, fill_value=0)
        if resolve == "majority":
            decided = pd.Series(pd.NA, index=index, dtype="boolean").mask(having * 2 > taggers, True).mask(having * 2 < taggers, False)
        else:  # latest (one tagger left) and conflict: all agree
            decided = pd.Series(pd.NA, index=index, dtype="boolean").mask(having == taggers, True).mask(having == 0, False)
        decided[taggers.isna()] = pd.NA
        yield f"{scheme.name}={value}", decided, int((decided.isna() & taggers.notna()).sum())


def with_tags(ratings: Ratings, store: Store, *, resolve: str = "latest", schemes=None) -> Ratings:
    """A new Ratings whose item table gains the current tags as columns (see :func:`tag_columns`).

    So any analysis slices by a tag: ``reliability(with_tags(r, store), by="subjectivity")``.
    ``schemes`` picks which (default: every registered scheme); ``meta["tag_conflicts"]`` counts
    the items each column left missing because taggers differ.

    >>> import tempfile, pathlib, workbench
    >>> study = workbench.simulate_study(n_items=40, ratings_per_item=5, n_raters=10)
    >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
    >>> classes = study.truth["items"]["subjectivity"]
    >>> for item, value in classes.items():
    ...     _ = store.add_tag(item, "subjectivity", value, tagger="truth")
    >>> tagged = workbench.with_tags(study.ratings, store, schemes="subjectivity")
    >>> workbench.reliability(tagged, by="subjectivity", ci=None)["subjectivity"].tolist()
    ['latent_pattern', 'latent_projective', 'manifest']
    """
    _check(ratings, store)
    columns = tag_columns(store, ratings, resolve=resolve, schemes=schemes)
    clashes = [c for c in columns.columns if c in ratings.items.columns]
    if clashes:
        raise WorkbenchDataError(
            f"the item table already has a column {clashes[0]!r}; pick other schemes with schemes=[...] "
            "(or start from the ratings without tags)"
        )
    tagged = ratings.with_columns(items=columns)
    tagged.meta["tag_conflicts"] = dict(columns.attrs["conflicts"])
    tagged.meta["tag_resolve"] = resolve
    return tagged


def _disagreement(states: pd.DataFrame) -> pd.Series:
    """Per item, the share of tagger pairs whose values differ (0 with fewer than two taggers)."""
    if states.empty:
        return pd.Series(dtype=float)
    sizes = states.groupby(["item_id", "values"]).size()
    n = sizes.groupby(level="item_id").sum()
    same = (sizes * (sizes - 1)).groupby(level="item_id").sum()
    pairs = n * (n - 1)
    return (1 - same / pairs.where(pairs > 0)).fillna(0.0)


def _group_divergence(ratings: Ratings, by: str | None) -> pd.Series:
    """Per item, the generalised Jensen–Shannon divergence among ``by`` groups (bits), weighting each
    group by its share of the item's ratings: H(pooled) − Σ_g w_g H(p_g); 0 where one group rated it."""
    if by is None:
        raise WorkbenchDataError("strategy='divergence' needs by=<a rater column>, e.g. by='age_band'")
    if not ratings.has_raters or by not in ratings.raters.columns:
        options = list(ratings.raters.columns) if ratings.has_raters else []
        raise WorkbenchDataError(f"by={by!r} is not a rater column; choose one of {', '.join(map(repr, options)) or 'none'}")
    table = ratings.ratings
    grouped = table[["item_id", "label"]].assign(group=table["rater_id"].map(ratings.raters[by])).dropna(subset=["group"])
    counts = grouped.groupby(["item_id", "group", "label"], observed=True).size().unstack("label", fill_value=0)
    n = counts.sum(axis=1)
    weight = n / n.groupby(level="item_id").transform("sum")
    within = (weight * entropy(counts)).groupby(level="item_id").sum()
    pooled = entropy(counts.groupby(level="item_id").sum())
    return (pooled - within).clip(lower=0.0).reindex(ratings.items.index, fill_value=0.0)


def tag_queue(ratings: Ratings, store: Store, scheme: str, *, strategy: str = "entropy", by: str | None = None,
              tagger: str | None = None, seed: int = 0) -> pd.DataFrame:
    """The items in the order to tag them, with the score that ordered them.

    Items not yet tagged in ``scheme`` (by ``tagger``, or by anyone when no tagger is given) come
    first, then the rest; within each, the highest ``score`` first (ties keep the data's order):

    - ``"entropy"``: the normalised entropy of the item's labels (bits ÷ log₂ of the number of categories:
      0 when all raters agree, 1 for an even split — the Explorer's convention; most disagreement first);
    - ``"divergence"``: how far the rater groups of ``by`` differ on the item (generalised
      Jensen–Shannon divergence among the groups' label distributions, bits);
    - ``"random"``: a seeded random score;
    - ``"conflict"``: the share of tagger pairs that disagree on the item, for adjudication
      (items in conflict first whoever tagged them).

    Returns ``item_id, score, tagged, n_taggers`` (``tagged``: by ``tagger`` if given, else by anyone).

    >>> import tempfile, pathlib, workbench
    >>> ratings = workbench.Ratings.from_matrix([["A", "A", "A"], ["A", "B", "A"], ["A", "B", "B"]])
    >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
    >>> _ = store.add_tag("1", "subjectivity", "latent_projective", tagger="ana")
    >>> workbench.tag_queue(ratings, store, "subjectivity").round(3)
      item_id  score  tagged  n_taggers
    0       2  0.918   False          0
    1       0  0.000   False          0
    2       1  0.918    True          1
    """
    _check(ratings, store)
    if strategy not in STRATEGIES:
        raise WorkbenchDataError(f"unknown queue strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    known = store.scheme(scheme)
    items = ratings.items.index
    states = _states(_live(store, scheme), known)
    states = states[states["item_id"].isin(items)]
    n_taggers = states.groupby("item_id").size().reindex(items, fill_value=0)
    if strategy == "entropy":
        score = entropy(ratings.label_counts(), normalize=True)
    elif strategy == "divergence":
        score = _group_divergence(ratings, by)
    elif strategy == "random":
        score = pd.Series(np.random.default_rng(seed).random(len(items)), index=items)
    else:
        score = _disagreement(states).reindex(items, fill_value=0.0)
    if tagger is None:
        tagged = n_taggers > 0
    else:
        tagged = pd.Series(items.isin(states.loc[states["tagger"] == tagger, "item_id"]), index=items)
    queue = pd.DataFrame({"item_id": items, "score": score.reindex(items).to_numpy(dtype=float),
                          "tagged": tagged.to_numpy(), "n_taggers": n_taggers.to_numpy()})
    keys = ["score"] if strategy == "conflict" else ["tagged", "score"]
    ascending = [False] if strategy == "conflict" else [True, False]
    return queue.sort_values(keys, ascending=ascending, kind="stable").reset_index(drop=True)


def tagger_agreement(store: Store, scheme: str, *, ci: float | None = 0.95, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Krippendorff's alpha (nominal) among taggers, on the items tagged by two or more.

    A multi-choice scheme gets one row per value (each tagger's yes/no for that value on the items
    they tagged); a single-choice scheme one row (``value`` is ``"all"``). Intervals are the
    percentile bootstrap over items of :func:`workbench.reliability`.

    Returns ``scheme, value, alpha, ci_low, ci_high, n_items, n_taggers, n_tags, band, note``.

    >>> import tempfile, pathlib, workbench
    >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
    >>> for item, (a, b) in enumerate([("manifest", "manifest"), ("manifest", "latent_pattern"), ("latent_pattern", "latent_pattern")]):
    ...     _ = store.add_tag(item, "subjectivity", a, tagger="ana")
    ...     _ = store.add_tag(item, "subjectivity", b, tagger="ben")
    >>> workbench.tagger_agreement(store, "subjectivity", ci=None)[["value", "alpha", "n_items", "n_taggers"]].round(3)
      value  alpha  n_items  n_taggers
    0   all  0.444        3          2
    """
    _check_store(store)
    known = store.scheme(scheme)
    live = _live(store, scheme)
    shared = live.groupby("item_id")["tagger"].transform("nunique") >= 2
    live = live[shared]
    if known.multi:
        pairs = live[["item_id", "tagger"]].drop_duplicates()
        tables = {}
        for value in known.values:
            having = set(zip(live.loc[live["value"] == value, "item_id"], live.loc[live["value"] == value, "tagger"]))
            label = ["yes" if key in having else "no" for key in zip(pairs["item_id"], pairs["tagger"])]
            tables[value] = pairs.assign(value=label)
        categories = ("no", "yes")
    else:
        tables, categories = {"all": live[["item_id", "tagger", "value"]]}, tuple(known.values)
    rows = [_alpha_row(scheme, value, table, categories, ci, n_boot, seed) for value, table in tables.items()]
    return pd.DataFrame(rows, columns=["scheme", "value", "alpha", "ci_low", "ci_high", "n_items", "n_taggers", "n_tags", "band", "note"])


def _alpha_row(scheme, value, table, categories, ci, n_boot, seed) -> dict:
    row = {"scheme": scheme, "value": value}
    if table.empty:
        return {**row, "alpha": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n_items": 0, "n_taggers": 0, "n_tags": 0,
                "band": None, "note": "no item has tags from two or more taggers"}
    ratings = Ratings.from_frame(table, item="item_id", rater="tagger", label="value", categories=categories,
                                 item_columns=[], rater_columns=[])
    result = reliability(ratings, metric="alpha", level="nominal", ci=ci, n_boot=n_boot, seed=seed).iloc[0]
    return {**row, "alpha": result["value"], "ci_low": result["ci_low"], "ci_high": result["ci_high"],
            "n_items": int(result["n_items"]), "n_taggers": int(result["n_raters"]), "n_tags": int(result["n_ratings"]),
            "band": result["band"], "note": result["note"]}


def tag_conflicts(store: Store, scheme: str) -> pd.DataFrame:
    """The items where taggers' current values differ, one row per (item, tagger): who said what.

    ``values`` joins a tagger's values with ``|`` (one value for a single-choice scheme).

    >>> import tempfile, pathlib, workbench
    >>> store = workbench.Store(pathlib.Path(tempfile.mkdtemp()) / "p.sqlite")
    >>> _ = store.add_tag("q1", "plurality", "single_correct", tagger="ana")
    >>> _ = store.add_tag("q1", "plurality", "multiple_correct", tagger="ben", note="two readings")
    >>> _ = store.add_tag("q2", "plurality", "single_correct", tagger="ana")
    >>> workbench.tag_conflicts(store, "plurality")[["item_id", "tagger", "values", "note"]]
      item_id tagger            values          note
    0      q1    ana    single_correct           NaN
    1      q1    ben  multiple_correct  two readings
    """
    _check_store(store)
    known = store.scheme(scheme)
    states = _states(_live(store, scheme), known)
    differing = states.groupby("item_id")["values"].transform("nunique") > 1
    out = states[differing].assign(values=lambda t: t["values"].map("|".join))
    return out[["item_id", "tagger", "values", "note", "time"]].sort_values(["item_id", "tagger"]).reset_index(drop=True)

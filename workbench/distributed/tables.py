"""Item tables and group divergence on a Dask cluster, written or computed partition by partition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..analysis.distributions import table_from_counts
from ..errors import WorkbenchDataError
from .reliability import per_item_rows, value_spec
from .slices import Slices
from .source import POSITION, DistributedRatings, require_dask, run, shuffle_method


def item_table(dist: DistributedRatings, path):
    """:func:`workbench.item_table` of Dask-backed ratings, written by the workers to ``path`` (a Parquet dataset).

    Per-item counts come from an aggregation on item (no shuffle of the rating rows); each
    partition of items becomes the in-memory table's rows for those items (same columns and values),
    in no particular order. Returns a Dask DataFrame reading the written dataset.

    >>> import distributed, tempfile, workbench
    >>> client = distributed.Client(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    >>> study = workbench.simulate_study(seed=0, n_items=50, ratings_per_item=4, n_raters=10)
    >>> dist = workbench.read_ratings(study.ratings.to_frame(), engine="dask", rater_columns=[])
    >>> table = workbench.item_table(dist, path=tempfile.mkdtemp() + "/items").compute().sort_index()
    >>> memory = workbench.item_table(study.ratings).sort_index()
    >>> bool((table[["n_A", "n_B", "entropy_bits"]] == memory[["n_A", "n_B", "entropy_bits"]]).all(axis=None))
    True
    >>> client.close()
    """
    dd, _ = require_dask()
    if path is None:
        raise WorkbenchDataError("item_table() of Dask-backed ratings writes a Parquet dataset: pass path= (a folder)")
    numeric = dist.categories is None
    if numeric and dist.domain is None:
        raise WorkbenchDataError("item_table() over more than 64 distinct numeric labels is not available on the dask engine; "
                                 "round the labels to fewer values")
    values = value_spec(dist, dist.level if not numeric else "interval", "percent_agreement")
    categories = pd.Index(list(dist.categories) if not numeric else dist.domain, name="label")
    rows = per_item_rows(dist, values, Slices(None, ["all"]))
    meta = _item_rows(rows._meta, categories, numeric)
    table = rows.map_partitions(_item_rows, categories, numeric, meta=meta)
    run(dist.client, table.to_parquet(str(path), compute=False, schema=_schema(categories, numeric)), progress=dist.progress)
    return dd.read_parquet(str(path))


def _schema(categories: pd.Index, numeric: bool) -> pa.Schema:
    """The Parquet schema of the item table, from a two-item sample (one clear majority, one tie)."""
    sample = np.zeros((2, len(categories)), dtype=np.int64)
    sample[0, 0], sample[1] = 1, 1
    table = table_from_counts(pd.DataFrame(sample, index=pd.Index(["a", "b"], name="item_id"), columns=categories), numeric)
    schema = pa.Schema.from_pandas(table, preserve_index=True)
    for name, kind in (("majority", pa.array(list(categories), from_pandas=True).type), ("tied", pa.string())):
        if name in schema.names:
            schema = schema.set(schema.get_field_index(name), pa.field(name, kind))
    return schema


def _item_rows(rows: pd.DataFrame, categories: pd.Index, numeric: bool) -> pd.DataFrame:
    """The item table of one partition of per-item count rows."""
    counts = pd.DataFrame(rows[[f"c{j}" for j in range(len(categories))]].to_numpy(dtype=np.int64),
                          index=pd.Index(rows["item_id"].to_numpy(dtype=object), name="item_id"), columns=categories)
    return table_from_counts(counts, numeric)


def group_divergence(dist: DistributedRatings, by: str, *, min_per_group: int = 3, n_perm: int = 1000, seed: int = 0, device="auto") -> pd.DataFrame:
    """:func:`workbench.group_divergence` of Dask-backed ratings: each partition of whole items tests its own items.

    The rating rows are shuffled once so that every item sits whole in one partition (the
    statistic needs each item's ratings by rater); each partition then runs the in-memory kernels
    with the *global* rater codes (raters in order of first appearance) and the same seed, so it
    draws the very permutations the in-memory test draws, and its per-item p-values are those of
    memory. Per-permutation sums of the null add up to the overall test. Groups must be a rater
    column. The ranking (one row per item) comes back to the client. Equal to memory for ratings
    read in memory from the same rows in the same order (rater codes follow first appearance).

    >>> import distributed, workbench
    >>> client = distributed.Client(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    >>> frame = workbench.simulate_study(seed=0, n_items=200, ratings_per_item=20, n_raters=60).ratings.to_frame()
    >>> dist = workbench.read_ratings(frame, engine="dask", rater_columns=["age_band"])
    >>> table = workbench.group_divergence(dist, by="age_band", n_perm=200)
    >>> table.equals(workbench.group_divergence(workbench.read_ratings(frame), by="age_band", n_perm=200))
    True
    >>> client.close()
    """
    import dask

    from ..analysis.divergence import Groups, _check_common, divergence_table
    from .slices import slices_of

    min_per_group = _check_common(min_per_group, "min_per_group", 1)
    n_perm = _check_common(n_perm, "n_perm")
    if by in dist.item_columns:
        raise WorkbenchDataError(f"by={by!r} is an item column: each item has one value of it, so no item is rated by two of its "
                                 f"groups; group by a rater column ({', '.join(map(repr, dist.rater_columns)) or 'none in this data set'})")
    if by not in dist.rater_columns:
        raise WorkbenchDataError(f"by={by!r} is not a rater column of these ratings; group_divergence on the dask engine takes a rater "
                                 f"column ({', '.join(map(repr, dist.rater_columns)) or 'none in this data set'}); per-rating columns "
                                 "are not available on the dask engine")
    slices = slices_of(dist, by)
    unit_group = slices.codes(dist.raters)
    if len(np.unique(unit_group)) < 2:
        raise WorkbenchDataError(f"group_divergence() needs at least two groups, but column {by!r} has one value among the rated "
                                 f"raters: {slices.names[int(unit_group[0])]!r}")
    groups = Groups(by, slices.names, "rater", np.empty(0, dtype=np.int64), unit_group)
    values = value_spec(dist, dist.level, "percent_agreement")
    columns = ["item_id", "rater_id", "value", POSITION]
    whole_items = dist.frame[columns].shuffle(on="item_id", npartitions=dist.n_partitions, shuffle_method=shuffle_method(dist.n_partitions))
    shared = dask.delayed((dist.raters.index, unit_group), pure=True)
    parts = [dask.delayed(_divergence_part)(part, shared, values, len(slices.names), min_per_group, n_perm, seed, device)
             for part in whole_items.to_delayed()]
    parts = run(dist.client, *parts, progress=dist.progress)
    order = np.argsort(np.concatenate([p["first"] for p in parts]), kind="stable")  # items in order of first appearance, as in memory
    found = _concatenate([p["found"] for p in parts], order)
    item_ids = pd.Index(np.concatenate([p["items"] for p in parts])[order], name="item_id")
    return divergence_table(item_ids, found, groups, min_per_group=min_per_group, n_perm=n_perm, seed=seed)


def _divergence_part(part: pd.DataFrame, shared, values: dict, n_groups: int, min_per_group: int, n_perm: int, seed: int, device) -> dict:
    """One partition of whole items: their divergence parts, ids and first positions."""
    from ..analysis.divergence import item_divergence

    raters, unit_group = shared
    item, items = pd.factorize(part["item_id"].to_numpy())
    value = part["value"].to_numpy()
    code = value.astype(np.int64) if values["numbers"] is None else np.searchsorted(values["numbers"], value)
    unit = raters.get_indexer(part["rater_id"].to_numpy())
    found = item_divergence(item, code, unit, unit_group, n_items=len(items), n_values=values["n_values"], n_groups=n_groups,
                            min_per_group=min_per_group, n_perm=n_perm, seed=seed, device=device)
    first = pd.Series(part[POSITION].to_numpy()).groupby(item).min().to_numpy() if len(items) else np.empty(0, dtype=np.int64)
    if found.reached is None and n_perm > 0:  # no tested item here: the null adds nothing
        found.reached, found.defined = np.zeros(len(items), np.int64), np.zeros(len(items), np.int64)
        found.null_sums, found.null_kept = np.zeros(n_perm), np.zeros(n_perm, np.int64)
    return {"found": found, "items": np.asarray(items, dtype=object), "first": first}


def _concatenate(parts: list, order: np.ndarray):
    """One ItemDivergence from the partitions' (items concatenated, put in ``order``; null sums added)."""
    from ..analysis.divergence import ItemDivergence

    def per_item(name, axis=0):
        joined = np.concatenate([getattr(p, name) for p in parts], axis=axis)
        return joined[:, order] if axis == 1 else joined[order]

    found = ItemDivergence(per_item("value"), per_item("group"), per_item("tested"), per_item("n_group", axis=1))
    if parts[0].reached is not None and found.tested.any():
        found.reached, found.defined = per_item("reached"), per_item("defined")
        found.null_sums = np.sum([p.null_sums for p in parts], axis=0)
        found.null_kept = np.sum([p.null_kept for p in parts], axis=0)
    return found

"""Item tables and group divergence on a Dask cluster, written or computed partition by partition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..analysis.distributions import table_from_counts
from ..errors import WorkbenchDataError
from .reliability import per_item_rows, value_spec
from .slices import Slices
from .source import DistributedRatings, require_dask, run


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

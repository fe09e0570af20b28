"""Ratings on a Dask cluster: ``read_ratings(..., engine="dask")`` and the :class:`DistributedRatings` it returns.

The rating rows stay on the workers. Reading validates them with the in-memory rules (missing
columns and identifiers, bad labels, repeated (item, rater) pairs) in distributed passes; the
rater table (small) comes back to the client, the item table stays a Dask frame.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.ratings import CANONICAL, PRESERVED
from ..data.validate import check_level, code_ids, code_labels, require_columns
from ..errors import WorkbenchDataError, show
from ..kernels.agreement import COINCIDENCE_MAX_VALUES

logger = logging.getLogger("workbench.distributed")

#: Numeric labels with at most this many distinct values are counted per value (as categories are).
MAX_VALUES = COINCIDENCE_MAX_VALUES
#: Row position column: partition number × 2⁴⁰ + row within the partition (orders rows as read).
POSITION = "__workbench_position"
_PARTITION_SHIFT = 40
_ANNOUNCED: set = set()


class ClusterError(RuntimeError):
    """The cluster could not finish a computation (workers lost too often); no partial result is returned."""


def require_dask():
    """Import dask.dataframe and distributed, or say how to install them."""
    try:
        import dask.dataframe as dd
        import distributed
    except ImportError:
        raise WorkbenchDataError("engine='dask' needs Dask: pip install 'workbench[distributed]'") from None
    return dd, distributed


def get_client(client=None):
    """``client``, or the active ``distributed.Client``; the dashboard link is printed once per client."""
    _, distributed = require_dask()
    if client is None:
        try:
            client = distributed.default_client()
        except ValueError:
            raise WorkbenchDataError(
                "engine='dask' needs a running distributed.Client (for example `distributed.Client()` or one on a "
                "LocalCluster); none is active: start one or pass client="
            ) from None
    announce_dashboard(client)
    return client


def announce_dashboard(client) -> str | None:
    """The cluster's dashboard link (None without one), printed to stderr and logged once per scheduler."""
    link = dashboard_link(client)
    key = getattr(client.scheduler, "address", client.id)
    if key not in _ANNOUNCED:
        _ANNOUNCED.add(key)
        message = f"workbench: Dask dashboard at {link}" if link else "workbench: this Dask cluster runs without a dashboard"
        logger.info(message)
        print(message, file=sys.stderr)
    return link


def shuffle_method(n_partitions: int) -> str:
    """Task-based shuffles for few partitions (no start-up cost), peer-to-peer for many (bounded memory)."""
    return "tasks" if n_partitions <= 64 else "p2p"


def dashboard_link(client) -> str | None:
    """The dashboard's address, or None when the scheduler serves no dashboard (``dashboard_address=None``
    still starts its HTTP server, for health and metrics only, so ``client.dashboard_link`` would be dead)."""
    try:
        return client.dashboard_link if client.run_on_scheduler(_serves_dashboard) else None
    except Exception:  # an odd client: no link, no failure
        return None


def _serves_dashboard(dask_scheduler) -> bool:
    """Run on the scheduler: whether its HTTP server carries the Bokeh dashboard."""
    applications = getattr(getattr(dask_scheduler, "http_application", None), "applications", [])
    return any("Bokeh" in type(application).__name__ for application in applications)


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:
        return False


def run(client, *collections, progress=None):
    """Compute Dask collections on ``client``; Dask's progress bar shows in notebooks (``progress=None``) or when True.

    A computation the cluster cannot finish (a task whose workers keep dying) raises
    :class:`ClusterError`; errors raised by the tasks themselves (WorkbenchDataError) come through as they are.
    """
    _, distributed = require_dask()
    with warnings.catch_warnings():  # Dask frames and delayed reductions computed together: expected here
        warnings.filterwarnings("ignore", message="Computing mixed collections", category=UserWarning)
        futures = client.compute(list(collections))
    if progress or (progress is None and _in_notebook()):
        distributed.progress(futures)
    try:
        return client.gather(futures)
    except distributed.scheduler.KilledWorker as err:
        raise ClusterError(
            f"the Dask cluster lost the workers running {err.task!r} too many times (allowed failures reached); "
            "nothing was returned — check the workers' memory and logs, then run again"
        ) from err


class DistributedRatings:
    """Annotator-level ratings held on a Dask cluster; the analysis functions take it in place of a Ratings.

    Build one with ``workbench.read_ratings(source, ..., engine="dask")``. ``frame`` is the coded
    long table (``item_id``, ``rater_id`` as text, ``value``: category code or number, a row position,
    and the other columns); ``raters`` the rater table (on the client); :attr:`items` the item table
    (a Dask frame). Works with :func:`workbench.reliability`, :func:`workbench.item_table` and
    :func:`workbench.group_divergence`.
    """

    distributed = True

    def __init__(self, frame, *, level: str, categories, domain, centre: float, item_columns: list, rater_columns: list,
                 raters: pd.DataFrame, n_ratings: int, client, meta: dict, progress=None):
        self.frame = frame
        #: Show Dask's progress bar while computing (None: in notebooks only).
        self.progress = progress
        self.level = level
        self.categories = None if categories is None else tuple(categories)
        #: The distinct numbers of interval/ratio labels (None beyond MAX_VALUES of them).
        self.domain = domain
        #: A fixed centre for numeric moments (the middle of the labels' range): partition-independent.
        self.centre = centre
        self.item_columns = list(item_columns)
        self.rater_columns = list(rater_columns)
        self.raters = raters
        self.n_ratings = n_ratings
        self.client = client
        self.meta = dict(meta)

    @property
    def rating_columns(self) -> list:
        """Per-rating columns (neither item nor rater columns)."""
        taken = {"item_id", "rater_id", "value", POSITION, *self.item_columns, *self.rater_columns}
        return [c for c in self.frame.columns if c not in taken]

    @property
    def n_raters(self) -> int:
        return len(self.raters)

    @property
    def n_partitions(self) -> int:
        return self.frame.npartitions

    @property
    def items(self):
        """Item table (Dask DataFrame indexed by ``item_id``): each item's item columns."""
        columns = {c: "first" for c in self.item_columns} or {POSITION: "size"}
        table = self.frame.groupby("item_id").agg(columns, split_out=self.n_partitions)
        return table if self.item_columns else table[[]]

    def __len__(self) -> int:
        return self.n_ratings

    def __repr__(self) -> str:
        cats = f", categories={self.categories!r}" if self.categories is not None and len(self.categories) <= 8 else ""
        return (f"DistributedRatings({self.n_ratings} ratings, {self.n_raters} raters, {self.n_partitions} partitions, "
                f"{self.level}{cats})")


def read_ratings(
    source,
    *,
    item: str = "item_id",
    rater: str = "rater_id",
    label: str = "label",
    level: str | None = None,
    categories: Sequence | None = None,
    duplicates: str = "error",
    columns: Sequence[str] | None = None,
    item_columns: Sequence[str] | None = None,
    rater_columns: Sequence[str] | None = None,
    client=None,
    progress=None,
    **options,
) -> DistributedRatings:
    """Ratings from a Parquet/CSV/JSONL path, glob or directory, or a (Dask or pandas) DataFrame, on a Dask cluster.

    Same arguments and checks as :func:`workbench.read_ratings`; the checks run on the workers
    and raise :class:`~workbench.WorkbenchDataError` here naming a few offending rows (as
    ``row (partition p)``). Columns constant within every item (rater) become item (rater)
    columns unless ``item_columns``/``rater_columns`` say so (naming them saves two passes).
    Uses the active ``distributed.Client`` or ``client``; ``progress`` shows Dask's progress bar.

    >>> import distributed, pandas as pd, workbench
    >>> client = distributed.Client(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    >>> frame = pd.DataFrame({"q": ["a", "a", "b", "b"], "w": [1, 2, 1, 2], "vote": ["x", "y", "x", "x"]})
    >>> workbench.read_ratings(frame, item="q", rater="w", label="vote", engine="dask")
    DistributedRatings(4 ratings, 2 raters, 1 partitions, nominal, categories=('x', 'y'))
    >>> client.close()
    """
    dd, _ = require_dask()
    client = get_client(client)
    if options:
        raise WorkbenchDataError(f"{', '.join(options)}= not available on the dask engine (use item_columns=/rater_columns=)")
    if duplicates != "error":
        raise WorkbenchDataError(f"duplicates={duplicates!r} is not available on the dask engine; remove repeated rows first")
    level = check_level(level or "nominal")
    frame, meta = _frame(dd, source, columns, [item, rater, label])
    names = {item: "item_id", rater: "rater_id", label: "label"}
    if len(set(names)) < 3:
        raise WorkbenchDataError(f"item, rater and label must be three different columns, got {item!r}, {rater!r}, {label!r}")
    require_columns(pd.DataFrame(columns=list(frame.columns)), [item, rater, label])
    clashes = [c for c in (*CANONICAL, "value") if c in frame.columns and c not in names]
    if clashes:
        raise WorkbenchDataError(f"column {clashes[0]!r} would be overwritten by the canonical columns; rename it first")
    extra = [c for c in frame.columns if c not in names]
    require_columns(pd.DataFrame(columns=extra), list(item_columns or []) + list(rater_columns or []))
    ids = frame.map_partitions(_with_ids, item, rater, label, partition_info=True,
                               meta=_with_ids(frame._meta, item, rater, label, {"number": 0}))
    hashed = [c for c in extra if c not in PRESERVED]
    # pass 1: labels, sizes, rater table (first appearance, constancy), item constancy, repeated pairs
    scans = [_scan_delayed(part, number, label, level, categories) for number, part in enumerate(ids.to_delayed())]
    candidates = list(rater_columns) if rater_columns is not None else [c for c in hashed if c not in (item_columns or ())]
    rater_stats = _constancy(ids, "rater_id", candidates, 1)
    item_check = None if item_columns is not None or not hashed else _item_constancy(ids, hashed)
    pair = ids.map_partitions(_pair_hash, meta=pd.Series(dtype=np.uint64))
    repeats = pair.to_frame("pair").groupby("pair").size(split_out=max(1, ids.npartitions // 2), shuffle_method=shuffle_method(ids.npartitions))
    repeats = repeats[repeats > 1]
    collections = [*scans, rater_stats, repeats] + ([item_check] if item_check is not None else [])
    results = run(client, *collections, progress=progress)
    scans, rater_stats, repeats = results[: len(scans)], results[len(scans)], results[len(scans) + 1]
    if len(repeats):
        _raise_repeats(client, ids, pair, repeats, progress)
    labels = _labels(scans, level, categories, label)
    if item_columns is None:
        varies = results[-1] if item_check is not None else {}
        item_columns = [c for c in hashed if not varies.get(c, True)]
    if rater_columns is None:
        rater_columns = [c for c in candidates if c not in item_columns and _constant(rater_stats, c)]
    raters = rater_stats.sort_values(POSITION).drop(columns=[c for c in rater_stats.columns if c not in rater_columns])
    raters.index = raters.index.rename("rater_id")
    coded = ids.map_partitions(_code_values, label, level, labels["categories"], meta=_code_values(ids._meta, label, level, labels["categories"]))
    return DistributedRatings(
        coded, level=level, categories=labels["categories"], domain=labels["domain"], centre=labels["centre"],
        item_columns=list(item_columns), rater_columns=list(rater_columns), raters=raters,
        n_ratings=sum(s["n"] for s in scans), client=client, meta=meta, progress=progress,
    )


def _frame(dd, source, columns, needed):
    """A Dask DataFrame (and facts about the source) from a frame, a path, a glob or a list of paths."""
    if isinstance(source, pd.DataFrame):
        if len(source) == 0:
            raise WorkbenchDataError("the ratings table is empty: no rows to work with")
        frame, meta = dd.from_pandas(source, npartitions=1), {"source": "DataFrame"}
    elif hasattr(source, "dask") and hasattr(source, "npartitions"):
        frame, meta = source, {"source": "dask DataFrame"}
    elif isinstance(source, (str, Path, list, tuple)):
        paths = [str(p) for p in source] if isinstance(source, (list, tuple)) else str(source)
        first = Path(paths[0] if isinstance(paths, list) else paths)
        kind = "parquet" if first.is_dir() or ".parq" in first.name or first.suffix == ".pq" else first.suffix.lower().lstrip(".")
        wanted = None if columns is None else list(dict.fromkeys([*needed, *columns]))
        try:
            if kind == "parquet":
                frame = dd.read_parquet(paths, columns=wanted)
            elif kind in ("csv", "tsv"):
                frame = dd.read_csv(paths, sep="\t" if kind == "tsv" else ",", usecols=wanted)
            elif kind in ("jsonl", "ndjson"):
                frame = dd.read_json(paths, lines=True)
            else:
                raise WorkbenchDataError(f"cannot tell the format of {first.name!r}; use .parquet (or a directory of them), .csv, .tsv or .jsonl")
        except (FileNotFoundError, OSError) as err:
            raise WorkbenchDataError(f"cannot read {source!r}: {err}") from None
        meta = {"source": str(source)}
    else:
        raise WorkbenchDataError(f"read_ratings(engine='dask') takes a path, a glob or a DataFrame, got {type(source).__name__}")
    if columns is not None:
        require_columns(pd.DataFrame(columns=list(frame.columns)), columns)
        frame = frame[[c for c in frame.columns if c in {*needed, *columns}]]
    return frame, meta


def _where(part: pd.DataFrame, number: int, check):
    """Run ``check(part)``; on WorkbenchDataError rerun it with rows named ``row (partition p)`` for the message."""
    try:
        return check(part)
    except WorkbenchDataError:
        named = part.set_axis(pd.Index([f"{r} (partition {number})" for r in part.index]), axis=0)
        check(named)
        raise


def _with_ids(part: pd.DataFrame, item: str, rater: str, label: str, partition_info=None) -> pd.DataFrame:
    """The partition with ``item_id``/``rater_id`` as text (as the in-memory coding makes them) and a row position."""
    number = partition_info["number"] if partition_info else 0

    def ids(frame):
        return [code_ids(frame[column], column) for column in (item, rater)]

    (item_code, item_ids), (rater_code, rater_ids) = _where(part, number, ids)
    out = part.drop(columns=[item, rater]).rename(columns={label: "label"})
    out.insert(0, "item_id", pd.Series(np.asarray(item_ids, dtype=object)[item_code], index=part.index, dtype=object))
    out.insert(1, "rater_id", pd.Series(np.asarray(rater_ids, dtype=object)[rater_code], index=part.index, dtype=object))
    out[POSITION] = (np.int64(number) << _PARTITION_SHIFT) + np.arange(len(part), dtype=np.int64)
    return out


def _scan_delayed(part, number: int, label: str, level: str, categories):
    import dask

    return dask.delayed(_scan, pure=True)(part, number, label, level, categories)


def _scan(part: pd.DataFrame, number: int, label: str, level: str, categories) -> dict:
    """One partition's facts: row count and its distinct labels (numbers: up to MAX_VALUES + 1 of them, and the range)."""
    labels = part["label"].rename(label)
    values, cats, _ = _where(labels.to_frame(), number, lambda frame: code_labels(frame[label], level, categories, column=label))
    if cats is not None:
        return {"n": len(part), "labels": list(pd.unique(labels)), "numeric": None}
    distinct = np.unique(values)
    return {"n": len(part), "labels": None,
            "numeric": (distinct[: MAX_VALUES + 1], float(distinct.min(initial=np.inf)), float(distinct.max(initial=-np.inf)))}


def _labels(scans: list, level: str, categories, column: str) -> dict:
    """Categories (nominal/ordinal), or the distinct numbers and a centre (interval/ratio), over all partitions."""
    if scans[0]["numeric"] is None:
        seen = pd.unique(pd.Series([v for s in scans for v in s["labels"]], dtype=object))
        if categories is None:
            # the in-memory rule (code_labels) applied to the distinct labels of all partitions
            _, categories, _ = code_labels(pd.Series(seen), level, None, column=column)
        return {"categories": tuple(categories), "domain": None, "centre": 0.0}
    low = min(s["numeric"][1] for s in scans)
    high = max(s["numeric"][2] for s in scans)
    distinct = np.unique(np.concatenate([s["numeric"][0] for s in scans]))
    many = len(distinct) > MAX_VALUES or any(len(s["numeric"][0]) > MAX_VALUES for s in scans)
    return {"categories": None, "domain": None if many else distinct, "centre": (low + high) / 2}


def _code_values(part: pd.DataFrame, label: str, level: str, categories) -> pd.DataFrame:
    """``label`` → ``value``: the category code (int32) or the number (float64); checked already."""
    values, _, _ = code_labels(part["label"].rename(label), level, categories, column=label)
    out = part.drop(columns="label")
    out.insert(2, "value", values)
    return out


def _hashes(part: pd.DataFrame, columns: list) -> pd.DataFrame:
    """A uint64 hash of each value of ``columns`` (missing values hash alike): what constancy checks compare."""
    return pd.DataFrame({c: pd.util.hash_array(part[c].astype(object).to_numpy(), categorize=True) for c in columns}, index=part.index)


def _constancy(ids, key: str, columns: list, split_out: int):
    """Per ``key``: first position, first value and hash range of each column (constant ⇔ min = max)."""
    def per_partition(part):
        hashes = _hashes(part, columns).add_prefix("__min_")
        out = pd.concat([part[[key, POSITION, *columns]], hashes, hashes.set_axis([f"__max_{c}" for c in columns], axis=1)], axis=1)
        return out

    meta = per_partition(ids._meta)
    prepared = ids.map_partitions(per_partition, meta=meta)
    how = {POSITION: "min", **{c: "first" for c in columns}, **{f"__min_{c}": "min" for c in columns}, **{f"__max_{c}": "max" for c in columns}}
    return prepared.groupby(key).agg(how, split_out=split_out, shuffle_method=shuffle_method(ids.npartitions))


def _constant(stats: pd.DataFrame, column: str) -> bool:
    return bool((stats[f"__min_{column}"] == stats[f"__max_{column}"]).all())


def _item_constancy(ids, columns: list):
    """Whether each column varies within some item (a Dask scalar per column), by a per-item aggregation."""
    per_item = _constancy(ids, "item_id", columns, max(1, ids.npartitions // 2))
    varies = per_item.map_partitions(
        lambda part: pd.DataFrame({c: [bool((part[f"__min_{c}"] != part[f"__max_{c}"]).any())] for c in columns}),
        meta=pd.DataFrame({c: pd.Series(dtype=bool) for c in columns}),
    )
    return varies.reduction(lambda frame: frame.any().to_frame().T, lambda frame: frame.any(), meta=pd.Series(dtype=bool))


def _pair_hash(part: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(part[["item_id", "rater_id"]], index=False)


def _raise_repeats(client, ids, pair, repeats: pd.Series, progress) -> None:
    """Check the rows whose (item, rater) hash repeats exactly; raise naming a few if a pair truly repeats."""
    wanted = set(repeats.index.tolist())
    suspects = ids[pair.isin(list(wanted))][["item_id", "rater_id", POSITION]]
    (rows,) = run(client, suspects, progress=progress)
    repeated = rows[rows.duplicated(["item_id", "rater_id"], keep=False)].sort_values(POSITION)
    if repeated.empty:
        return  # hash collisions only
    first = repeated.iloc[0]
    where = ", ".join(_row_name(int(p)) for p in repeated[POSITION].head(5))
    more = f" (+{len(repeated) - 5} more)" if len(repeated) > 5 else ""
    raise WorkbenchDataError(
        f"{len(repeated)} rows repeat an (item, rater) pair, e.g. item {show(first['item_id'])} rated by "
        f"{show(first['rater_id'])}, at rows {where}{more}; remove the repeats first (duplicates='first'/'last' "
        "are not available on the dask engine)"
    )


def _row_name(position: int) -> str:
    return f"{position & ((1 << _PARTITION_SHIFT) - 1)} (partition {position >> _PARTITION_SHIFT})"

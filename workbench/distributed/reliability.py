"""``reliability()`` on a :class:`~workbench.distributed.DistributedRatings`: map = per-(slice, item) counts, reduce = sums.

Rating rows are reduced where they are to per-(slice, item) category counts (or numeric moments),
combined by a Dask aggregation on (slice, item) — no shuffle of the rating rows — and each
partition of those rows gives the kernel's summed statistics per slice, and the Poisson-bootstrap
replicates' (weights keyed by item id). The client adds them up and applies the kernel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..analysis.reliability import _kernel, _slice_totals, _table, check_bootstrap
from ..analysis.coefficients import label as metric_label
from ..data.keys import stable_keys
from ..data.validate import check_level
from ..errors import WorkbenchDataError
from ..kernels.agreement import AlphaInterval
from ..kernels.device import DTYPE, resolve_device, to_tensor
from ..kernels.inputs import as_numbers, moments_from_counts
from ..kernels.resampling import percentile_interval, poisson_sums  # noqa: F401  (percentile via _table)
from .source import DistributedRatings, run, shuffle_method
from .slices import Slices, slices_of

#: Metrics the dask engine computes (the others need per-rater layouts; use the in-memory engine).
METRICS = ("alpha", "percent_agreement")
#: Ratings per partition of per-item rows (their number bounds each worker's share of the statistics).
RATINGS_PER_OUTPUT = 1_000_000
#: Elements of one block of per-row kernel statistics on a worker.
BLOCK_ELEMENTS = 1 << 22


def reliability(dist: DistributedRatings, metric: str = "alpha", level: str | None = None, by: str | None = None,
                ci: float | None = 0.95, n_boot: int = 1000, seed: int = 0, device="auto", resample: str = "items",
                weights: str | None = None, form: str | None = None, interval: str = "percentile",
                bootstrap: str | None = None) -> pd.DataFrame:
    """:func:`workbench.reliability` on a Dask cluster: the same table, with a Poisson bootstrap over items.

    The interval equals the in-memory ``reliability(..., bootstrap="poisson")`` for the same seed
    however the data are partitioned. Metrics: alpha (all four levels) and percent agreement;
    resampling items, percentile intervals.

    >>> import distributed, pandas as pd, workbench
    >>> client = distributed.Client(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    >>> study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=10, n_raters=60)
    >>> dist = workbench.read_ratings(study.ratings.to_frame(), engine="dask", rater_columns=["age_band"])
    >>> table = workbench.reliability(dist, by="split", n_boot=100, bootstrap="poisson")
    >>> memory = workbench.reliability(study.ratings, by="split", n_boot=100, bootstrap="poisson")
    >>> bool(((table[["value", "ci_low", "ci_high"]] - memory[["value", "ci_low", "ci_high"]]).abs() < 1e-12).all(axis=None))
    True
    >>> client.close()
    """
    if metric not in METRICS:
        raise WorkbenchDataError(f"metric={metric!r} is not available on the dask engine; choose one of {', '.join(METRICS)} "
                                 "(or read the data in memory)")
    if resample != "items" or interval != "percentile" or weights is not None or form is not None:
        raise WorkbenchDataError("the dask engine resamples items with percentile intervals only "
                                 "(resample='raters', interval='bca', weights= and form= are not available on the dask engine)")
    if bootstrap == "multinomial":
        raise WorkbenchDataError("bootstrap='multinomial' is not available on the dask engine (its draws depend on the "
                                 "order of the items); use bootstrap='poisson'")
    bootstrap = bootstrap or "poisson"
    check_bootstrap(bootstrap, resample)
    if ci is not None and not 0 < ci < 1:
        raise WorkbenchDataError(f"ci must lie in (0, 1), got {ci!r}")
    if int(n_boot) != n_boot or n_boot < 0:
        raise WorkbenchDataError(f"n_boot must be a non-negative whole number, got {n_boot!r}")
    level = check_level(level or dist.level)
    if metric != "alpha" and level != dist.level and level in ("interval", "ratio"):
        raise WorkbenchDataError(f"level={level!r} applies to alpha only; {metric} treats labels as categories")
    values = value_spec(dist, level, metric)
    slices = slices_of(dist, by)
    n_boot = int(n_boot) if ci is not None else 0
    import dask

    rows = per_item_rows(dist, values, slices)
    parts = [dask.delayed(_partition_stats)(part, metric, level, values, len(slices.names), n_boot, seed, device)
             for part in rows.to_delayed()]
    totals = dask.delayed(_add)(parts)
    raters = dask.delayed(_count_raters)([dask.delayed(_slice_raters)(part, slices) for part in dist.frame.to_delayed()])
    totals, raters = run(dist.client, totals, raters, progress=dist.progress)
    kernel = _kernel(metric, level, values["domain"], torch.device("cpu"))
    value, reason = kernel.compute(torch.as_tensor(totals["stats"], dtype=DTYPE))
    replicates = kernel.compute(torch.as_tensor(totals["boot"], dtype=DTYPE))[0] if n_boot > 0 else None
    describe = pd.DataFrame({"slice": slices.names, "n_items": totals["n_items"].astype(np.int64),
                             "n_ratings": totals["n_ratings"].astype(np.int64),
                             "n_raters": raters.reindex(range(len(slices.names)), fill_value=0).to_numpy()})
    level_shown = level if metric == "alpha" else "nominal"
    return _table(describe, by, metric_label(metric, None, None), level_shown, value, reason, replicates, None,
                  ci=ci, n_boot=n_boot, resample="items", interval="percentile", bootstrap=bootstrap)


def value_spec(dist: DistributedRatings, level: str, metric: str) -> dict:
    """How ratings become per-item statistics: counts over ``n_values`` values, or numeric moments.

    ``domain`` is what the kernel needs for the level (the categories, or their numbers), ``numbers``
    the values to count ratings by (interval/ratio data: the distinct numbers) and ``centre`` a fixed
    centre for moments.
    """
    if dist.categories is not None:
        domain = np.asarray(dist.categories, dtype=object)
        if level in ("interval", "ratio"):
            try:
                domain = domain.astype(np.float64)
            except (TypeError, ValueError):
                raise WorkbenchDataError(f"the {level} level needs numeric labels, but the categories are {list(domain)[:5]!r}; "
                                         "use level='ordinal' or 'nominal'") from None
        centre = float((domain.min() + domain.max()) / 2) if level in ("interval", "ratio") else 0.0
        return {"kind": "counts", "n_values": len(domain), "domain": domain, "numbers": None, "centre": centre}
    if dist.domain is not None:
        return {"kind": "counts", "n_values": len(dist.domain), "domain": dist.domain, "numbers": dist.domain, "centre": dist.centre}
    if level == "interval" and metric == "alpha":
        return {"kind": "moments", "n_values": 3, "domain": None, "numbers": None, "centre": dist.centre}
    raise WorkbenchDataError(f"{metric} at the {level} level over more than {64} distinct numeric labels is not available on the "
                             "dask engine; use level='interval' (alpha), or round the labels to fewer values")


def per_item_rows(dist: DistributedRatings, values: dict, slices: Slices):
    """Dask frame of per-(slice, item) statistics: ``slice, item_id`` and counts ``c0…`` (or moments ``m, s1, s2``), one row each."""
    meta = _partial(dist.frame._meta, values, slices)
    partial = dist.frame.map_partitions(_partial, values, slices, meta=meta)
    split_out = int(min(dist.n_partitions, max(1, -(-dist.n_ratings // RATINGS_PER_OUTPUT))))
    return partial.groupby(["slice", "item_id"], sort=False).sum(split_out=split_out, shuffle_method=shuffle_method(dist.n_partitions)).reset_index()


def _partial(part: pd.DataFrame, values: dict, slices: Slices) -> pd.DataFrame:
    """One partition's ratings summed per (slice, item): counts per value, or (count, Σ(x − c), Σ(x − c)²)."""
    item_code, items = pd.factorize(part["item_id"].to_numpy())
    n_items = max(len(items), 1)
    key = slices.codes(part) * n_items + item_code
    keys, row = np.unique(key, return_inverse=True)
    row = row.ravel()
    value = part["value"].to_numpy()
    if values["kind"] == "counts":
        code = value.astype(np.int64) if values["numbers"] is None else np.searchsorted(values["numbers"], value)
        k = values["n_values"]
        counts = np.bincount(row * k + code, minlength=len(keys) * k).reshape(len(keys), k)
        out = pd.DataFrame(counts, columns=[f"c{j}" for j in range(k)])
    else:
        x = value.astype(np.float64) - values["centre"]
        out = pd.DataFrame({"m": np.bincount(row, minlength=len(keys)).astype(np.float64),
                            "s1": np.bincount(row, weights=x, minlength=len(keys)),
                            "s2": np.bincount(row, weights=x * x, minlength=len(keys))})
    out.insert(0, "slice", (keys // n_items).astype(np.int64))
    out.insert(1, "item_id", pd.Series(np.asarray(items, dtype=object)[keys % n_items], dtype=object))
    return out


def kernel_inputs(rows: pd.DataFrame, kernel, values: dict, device) -> tuple:
    """The kernel's per-row input from per-(slice, item) rows: counts, or moments (count, centred sum, squares)."""
    if values["kind"] == "moments":
        m, s1, s2 = (to_tensor(rows[c].to_numpy(dtype=np.float64), dtype=DTYPE, device=device) for c in ("m", "s1", "s2"))
        return (torch.stack([m, s1, s2 - s1 * s1 / m.clamp(min=1)], dim=1),)
    counts = to_tensor(rows[[f"c{j}" for j in range(values["n_values"])]].to_numpy(dtype=np.float64), dtype=DTYPE, device=device)
    if isinstance(kernel, AlphaInterval):
        numbers = to_tensor(as_numbers(np.asarray(values["domain"]), "interval", "value_domain"), dtype=DTYPE, device=device)
        return (moments_from_counts(counts, numbers, centre=values["centre"]),)
    return (counts,)


def _partition_stats(rows: pd.DataFrame, metric: str, level: str, values: dict, n_slices: int, n_boot: int, seed: int, device) -> dict:
    """Summed kernel statistics per slice of one partition of per-item rows, and its Poisson replicates' (B × slices × F)."""
    dev = resolve_device(device)
    kernel = _kernel(metric, level, values["domain"], dev)
    rows = rows.sort_values("slice", kind="stable")
    slice_of_row = rows["slice"].to_numpy()
    bounds = np.searchsorted(slice_of_row, np.arange(n_slices + 1))
    inputs = kernel_inputs(rows, kernel, values, dev)
    stats = _slice_totals(kernel, inputs, bounds)
    n_ratings = (rows["m"].to_numpy() if values["kind"] == "moments"
                 else rows[[f"c{j}" for j in range(values["n_values"])]].to_numpy().sum(axis=1))
    out = {"stats": stats.cpu().numpy(), "n_items": np.diff(bounds).astype(np.float64),
           "n_ratings": np.bincount(slice_of_row, weights=n_ratings, minlength=n_slices)}
    if n_boot > 0:
        keys = stable_keys(rows["item_id"].to_numpy())
        boot = torch.zeros(n_boot, n_slices, stats.shape[-1], dtype=DTYPE, device=dev)
        block = max(1, BLOCK_ELEMENTS // max(stats.shape[-1], 1))
        for g in range(n_slices):
            for lo in range(int(bounds[g]), int(bounds[g + 1]), block):
                hi = min(lo + block, int(bounds[g + 1]))
                per_row = kernel.stats(*(x[lo:hi] for x in inputs))
                boot[:, g] += poisson_sums(per_row, np.array([0, hi - lo]), keys[lo:hi], n_boot, seed)[:, 0]
        out["boot"] = boot.cpu().numpy()
    return out


def _add(parts: list) -> dict:
    """Sum the partitions' statistics (a reduce)."""
    total = {name: np.zeros_like(value) for name, value in parts[0].items()}
    for part in parts:
        for name, value in part.items():
            total[name] += value
    return total


def _slice_raters(part: pd.DataFrame, slices: Slices) -> pd.DataFrame:
    """Distinct (slice, rater) pairs of a partition (to count raters per slice)."""
    return pd.DataFrame({"slice": slices.codes(part), "rater_id": part["rater_id"].to_numpy()}).drop_duplicates()


def _count_raters(parts: list) -> pd.Series:
    """Raters per slice code from the partitions' distinct (slice, rater) pairs."""
    return pd.concat(parts).drop_duplicates()["slice"].value_counts()

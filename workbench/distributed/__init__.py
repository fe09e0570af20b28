"""The workbench on a Dask cluster: the same analyses, and the same numbers, when data outgrow one machine.

``workbench.read_ratings(path, ..., engine="dask")`` returns a :class:`DistributedRatings` that
:func:`workbench.reliability`, :func:`workbench.item_table` and :func:`workbench.group_divergence`
take in place of a Ratings. Per-item statistics are built by aggregation on (slice, item) — the
rating rows are never shuffled for reliability or item tables — and the kernels' additive
statistics are summed over partitions.
``workbench.distributed.scoring``: reward-model scoring spread over the workers (``score_pairs(..., client=)``).
Needs the ``[distributed]`` extra (``pip install -e '.[distributed]'``); modules import dask on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DistributedRatings": "workbench.distributed.source",
    "ClusterError": "workbench.distributed.source",
    "read_ratings": "workbench.distributed.source",
    "reliability": "workbench.distributed.reliability",
    "item_table": "workbench.distributed.tables",
    "group_divergence": "workbench.distributed.tables",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.distributed' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

"""Workbench on a Dask cluster (``pip install -e '.[distributed]'``); modules import dask on first use.

``workbench.distributed.scoring``: reward-model scoring spread over the workers (``score_pairs(..., client=)``).
"""

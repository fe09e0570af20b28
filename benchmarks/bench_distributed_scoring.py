"""Scoring on a Dask LocalCluster (``score_pairs(..., client=)``) vs one process, measured in the same run (by hand).

    python benchmarks/bench_distributed_scoring.py                 # 300 pairs, 2 workers
    python benchmarks/bench_distributed_scoring.py --pairs 1000 --workers 4 --json out.json

Same tiny local BERT reward model and long-tailed pairs as ``bench_models.py`` (nothing downloaded).
Peer: ``score_pairs`` in this process (torch with all its threads) with the model already loaded.
A second peer: the same with one torch thread. Ours: the same call with ``client=`` on a ``LocalCluster(n_workers=W, threads_per_worker=1)`` (one
torch thread per worker, Dask's default). Both sides first score other pairs (the cluster's first
call, worker imports + model load, is timed apart); then they alternate, ``--rounds`` times each.
Prints pairs/s, the ratio per round and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np
import torch
from distributed import Client, LocalCluster

import workbench
from benchmarks.bench_models import long_tailed_pairs, timed
from workbench.kernels.scoring import SequenceScorer
import harness  # benchmarks/harness.py: the shared load guard


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = harness.parse(parser)

    path = workbench.tiny_reward_model(tempfile.mkdtemp(), hidden_size=args.hidden, max_length=256)
    pairs = long_tailed_pairs(args.pairs)
    warm_up = long_tailed_pairs(20, seed=1)
    scorer = SequenceScorer.from_checkpoint(path)  # the peer loads the model once too
    workbench.score_pairs(scorer, warm_up, progress=False)
    load_before = os.getloadavg()
    local_s, single_s, cluster_s, threads = [], [], [], torch.get_num_threads()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        t_first, _ = timed(lambda: workbench.score_pairs(path, warm_up, client=client, progress=False))
        for _ in range(args.rounds):
            t_local, local = timed(lambda: workbench.score_pairs(scorer, pairs, progress=False))
            torch.set_num_threads(1)
            t_single, _ = timed(lambda: workbench.score_pairs(scorer, pairs, progress=False))
            torch.set_num_threads(threads)
            t_cluster, spread = timed(lambda: workbench.score_pairs(path, pairs, client=client, progress=False))
            local_s.append(t_local)
            single_s.append(t_single)
            cluster_s.append(t_cluster)
    load_after = os.getloadavg()
    report = spread.attrs["scoring"]
    rows = {
        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "torch": torch.__version__,
        "local_threads": threads, "workers": args.workers, "pairs": args.pairs,
        "load_average_before": load_before, "load_average_after": load_after,
        "local_s": local_s, "local_1_thread_s": single_s, "cluster_s": cluster_s, "cluster_first_call_s": t_first,
        "local_pairs_per_s": [args.pairs / t for t in local_s], "local_1_thread_pairs_per_s": [args.pairs / t for t in single_s], "cluster_pairs_per_s": [args.pairs / t for t in cluster_s],
        "ratio_cluster_vs_local": [a / b for a, b in zip(local_s, cluster_s)],
        "ratio_cluster_vs_local_1_thread": [a / b for a, b in zip(single_s, cluster_s)], "chunks": report["cluster"]["chunks"],
        "workers_used": report["cluster"]["workers"], "padding_overhead": report["padding_overhead"],
        "max_abs_score": float(np.abs(local[["score_a", "score_b"]].to_numpy()).max()),
        "max_abs_diff": float(np.abs(spread[["score_a", "score_b"]].to_numpy() - local[["score_a", "score_b"]].to_numpy()).max()),
    }
    rates = " / ".join
    print(f"{args.pairs} pairs; {rows['cpus']} CPUs, load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"  one process ({rows['local_threads']} torch threads): {rates(f'{r:.1f}' for r in rows['local_pairs_per_s'])} pairs/s")
    print(f"  one process (1 torch thread): {rates(f'{r:.1f}' for r in rows['local_1_thread_pairs_per_s'])} pairs/s")
    print(f"  {args.workers} workers x 1 thread: {rates(f'{r:.1f}' for r in rows['cluster_pairs_per_s'])} pairs/s "
          f"({rows['chunks']} chunks on {rows['workers_used']} workers; first call with imports + model load {t_first:.1f} s)")
    print(f"  ratio (one-process time / cluster time): {rates(f'{r:.2f}' for r in rows['ratio_cluster_vs_local'])}, "
          f"vs 1 thread {rates(f'{r:.2f}' for r in rows['ratio_cluster_vs_local_1_thread'])}; "
          f"max |diff| {rows['max_abs_diff']:.1e} (scores up to {rows['max_abs_score']:.1f})")
    harness.write_json(args.json, rows)


if __name__ == "__main__":
    main()

"""Ratings beyond memory on Dask: alpha + per-group alpha with a Poisson CI, on a LocalCluster.

    python benchmarks/bench_distributed.py --ratings 10_000_000 --memory-peer      # 10M, next to the in-memory path
    nice -n 10 python benchmarks/bench_distributed.py --ratings 100_000_000          # the 100M row

A deterministic study is generated as Parquet, one file (= one Dask partition) of 1M ratings at a
time, never whole in memory: items have 10 ratings each (so 100M ratings = 10M items), from 100,000
raters in 4 groups, labels 1–5. On a LocalCluster (2 workers, 1 thread each, 4 GB each) it times
``read_ratings(..., engine="dask")`` (all validation passes: labels, ids, repeated pairs), alpha
(ordinal) with a 200-replicate Poisson interval, and per-group alpha with the same interval; the
workers' peak memory is sampled every 0.5 s. The peer is the in-memory path (``read_ratings`` of
the same files + the same two ``reliability`` calls, ``bootstrap="poisson"``) in a subprocess whose
peak RSS is read from the kernel; values must agree to 1e-9. Per-task times from Dask's task
stream give the per-partition costs, from which the 10M → 100M scaling and a 10-worker estimate
are stated. Results are printed and written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import harness  # benchmarks/harness.py: the shared load guard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PER_ITEM, N_RATERS, PER_FILE = 10, 100_000, 1_000_000


def generate(folder: Path, n_ratings: int, seed: int = 0) -> Path:
    """Write the study as ``n_ratings / PER_FILE`` Parquet files, each from its own seeded generator (deterministic)."""
    folder = folder / f"study-{n_ratings}"
    n_files = -(-n_ratings // PER_FILE)
    if folder.exists() and len(list(folder.glob("*.parquet"))) == n_files:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    items_per_file = PER_FILE // PER_ITEM
    for k in range(n_files):
        rng = np.random.default_rng([seed, k])
        n_items = min(items_per_file, (n_ratings - k * PER_FILE) // PER_ITEM)
        item = np.repeat(np.arange(k * items_per_file, k * items_per_file + n_items, dtype=np.int64), PER_ITEM)
        # 10 distinct raters per item: a random start and a random odd stride modulo N_RATERS
        start = rng.integers(0, N_RATERS, n_items)
        stride = 2 * rng.integers(1, N_RATERS // 2, n_items) + 1
        rater = ((start[:, None] + stride[:, None] * np.arange(PER_ITEM)[None, :]) % N_RATERS).ravel().astype(np.int32)
        lean = np.repeat(rng.uniform(1, 5, n_items), PER_ITEM)
        label = np.clip(np.rint(lean + rng.normal(0, 0.9, len(item)) + 0.4 * (rater % 4 == 0)), 1, 5).astype(np.int8)
        table = pa.table({"item": item, "rater": rater, "label": label, "topic": (item % 3).astype(np.int8),
                          "group": (rater % 4).astype(np.int8)})
        pq.write_table(table, folder / f"part{k:05d}.parquet")
    return folder


def _memory_sampler(client, peaks: dict, stop: threading.Event) -> None:
    import psutil  # noqa: F401  (distributed depends on it)

    def rss():
        import psutil

        return psutil.Process().memory_info().rss

    while not stop.is_set():
        try:
            for worker, value in client.run(rss).items():
                peaks[worker] = max(peaks.get(worker, 0), value)
        except Exception:
            pass
        stop.wait(0.5)


def run_dask(folder: Path, n_boot: int, workers: int, memory_limit: str) -> dict:
    import distributed

    import workbench

    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    client.run(lambda: __import__("workbench.distributed.reliability"))  # warm the workers (imports) outside the timings
    peaks: dict = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_memory_sampler, args=(client, peaks, stop), daemon=True)
    sampler.start()
    out: dict = {"workers": workers, "memory_limit": memory_limit}
    try:
        with distributed.get_task_stream(client) as stream:
            t = time.perf_counter()
            dist = workbench.read_ratings(str(folder), item="item", rater="rater", label="label", level="ordinal", engine="dask",
                                          item_columns=["topic"], rater_columns=["group"], client=client)
            out["read_s"] = _stage("read", t, peaks)
            t = time.perf_counter()
            whole = workbench.reliability(dist, n_boot=n_boot, seed=1, bootstrap="poisson")
            out["alpha_s"] = _stage("alpha", t, peaks, whole)
            t = time.perf_counter()
            grouped = workbench.reliability(dist, by="group", n_boot=n_boot, seed=1, bootstrap="poisson")
            out["by_group_s"] = _stage("by_group", t, peaks, grouped)
        out["tasks"] = _task_costs(stream.data)
    finally:
        stop.set()
        sampler.join()
        client.close()
        cluster.close()
    out["n_partitions"] = dist.n_partitions
    out["peak_worker_rss_mib"] = {str(k): v / 2**20 for k, v in peaks.items()}
    out["values"] = _values(whole, grouped)
    return out


def _stage(name: str, start: float, peaks: dict, table=None) -> float:
    """Print a stage's time (and result) as soon as it is done: a run cut short still reports what it measured."""
    seconds = time.perf_counter() - start
    shown = "" if table is None else " " + json.dumps(table[["value", "ci_low", "ci_high"]].to_numpy().tolist())
    peak = max(peaks.values(), default=0) / 2**20
    print(f"STAGE {name} {seconds:.1f} s, peak worker RSS so far {peak:.0f} MiB, load {os.getloadavg()}{shown}", flush=True)
    return seconds


def _task_costs(records: list) -> dict:
    """Seconds of compute per task prefix (what each partition costs), summed and per task."""
    from dask.utils import key_split

    total, count = defaultdict(float), defaultdict(int)
    for record in records:
        prefix = key_split(record["key"])
        for part in record.get("startstops", ()):
            if part["action"] == "compute":
                total[prefix] += part["stop"] - part["start"]
        count[prefix] += 1
    return {prefix: {"tasks": count[prefix], "compute_s": round(total[prefix], 3), "per_task_s": round(total[prefix] / count[prefix], 4)}
            for prefix in sorted(total, key=total.get, reverse=True)[:12]}


def _values(whole: pd.DataFrame, grouped: pd.DataFrame) -> list:
    rows = [["all", *whole.loc[0, ["value", "ci_low", "ci_high"]].tolist()]]
    rows += [[str(g), v, lo, hi] for g, v, lo, hi in grouped[["group", "value", "ci_low", "ci_high"]].itertuples(index=False)]
    return rows


def run_memory(folder: Path, n_boot: int) -> dict:
    """The in-memory peer, in this process (run it in a subprocess to read its peak RSS)."""
    import workbench

    files = sorted(folder.glob("*.parquet"))
    t = time.perf_counter()
    frame = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    ratings = workbench.read_ratings(frame, item="item", rater="rater", label="label", level="ordinal",
                                     item_columns=["topic"], rater_columns=["group"])
    del frame
    out = {"read_s": time.perf_counter() - t}
    t = time.perf_counter()
    whole = workbench.reliability(ratings, n_boot=n_boot, seed=1, bootstrap="poisson")
    out["alpha_s"] = time.perf_counter() - t
    t = time.perf_counter()
    grouped = workbench.reliability(ratings, by="group", n_boot=n_boot, seed=1, bootstrap="poisson")
    out["by_group_s"] = time.perf_counter() - t
    out["values"] = _values(whole, grouped)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=100_000_000)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "workbench-bench-distributed")
    parser.add_argument("--memory-peer", action="store_true", help="also run the in-memory path on the same files (a subprocess)")
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path)
    args = harness.parse(parser, argv)
    t = time.perf_counter()
    folder = generate(args.data, args.ratings)
    if args.memory_only:
        print(json.dumps(run_memory(folder, args.n_boot)))
        return
    result = {"ratings": args.ratings, "items": args.ratings // PER_ITEM, "n_boot": args.n_boot, "generate_s": time.perf_counter() - t,
              "load_average_before": os.getloadavg()}
    result["dask"] = run_dask(folder, args.n_boot, args.workers, args.memory_limit)
    result["load_average_after_dask"] = os.getloadavg()
    if args.memory_peer:
        done = subprocess.run([sys.executable, __file__, "--ratings", str(args.ratings), "--n-boot", str(args.n_boot),
                               "--data", str(args.data), "--memory-only"], capture_output=True, text=True, check=True)
        result["memory"] = json.loads(done.stdout.strip().splitlines()[-1])
        dask_values = np.array([row[1:] for row in result["dask"]["values"]], dtype=float)
        memory_values = np.array([row[1:] for row in result["memory"]["values"]], dtype=float)
        result["max_abs_diff"] = float(np.nanmax(np.abs(dask_values - memory_values)))
        result["ratio_total"] = sum(result["dask"][k] for k in ("read_s", "alpha_s", "by_group_s")) / sum(
            result["memory"][k] for k in ("read_s", "alpha_s", "by_group_s"))
        result["load_average_after_memory"] = os.getloadavg()
    print(json.dumps(result, indent=1, default=float))
    harness.write_json(args.out, result, default=float)


if __name__ == "__main__":
    main()

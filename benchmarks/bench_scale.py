"""Ratings at scale: reading, coding and first analysis of a long Parquet file, against a plain script (run by hand).

    python benchmarks/bench_scale.py                      # 10M ratings (1M items × 10); a few minutes on 2 cores
    python benchmarks/bench_scale.py --items 100000       # 1M ratings, a smoke run
    python benchmarks/bench_scale.py --items 10000000     # the 100M row: watch `free -g`
    python benchmarks/bench_scale.py --json out.json      # also write the rows
    python benchmarks/bench_scale.py --skip views bootstrap-peer   # leave out slow rows

The study file is generated once (deterministic seed) into ``--dir``: string ids ``it…``/``r…``,
``--raters`` raters, 10 ratings per item, 5 labels, one 3-valued rater attribute ``group``, about
0.05 % repeated (item, rater) pairs. Each case runs in a fresh interpreter, so its peak memory (the
growth of the resident set over the interpreter with its imports loaded) is its own. The peer of
the reading rows is the plain script of issue #6: Arrow read, dictionary-encode the id and label
columns once, duplicates on the integer key ``item·n_raters + rater``, ``bincount`` to item ×
category counts, alpha from the ``krippendorff`` package (``value_counts``). The values of the two
sides are compared (|diff|).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import harness  # benchmarks/harness.py: the shared load guard

LABELS = ("A", "B", "C", "D", "E")
GROUPS = ("g1", "g2", "g3")


def make_study_file(path: Path, n_items: int, n_raters: int = 20_000, per_item: int = 10, seed: int = 0,
                    repeat_share: float = 0.0005, batch_items: int = 1_000_000) -> None:
    """Write the benchmark's long table to ``path`` (Parquet), deterministic for a seed, a batch of items at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    group = rng.integers(0, len(GROUPS), n_raters)
    item_names = pa.array([f"it{k:0{len(str(n_items - 1))}d}" for k in range(n_items)])
    rater_names = pa.array([f"r{k:0{len(str(n_raters - 1))}d}" for k in range(n_raters)])

    def text(codes: np.ndarray, names) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), names).cast(pa.string())

    schema = pa.schema([(name, pa.string()) for name in ("item_id", "rater_id", "label", "group")])
    with pq.ParquetWriter(path, schema) as writer:
        for first in range(0, n_items, batch_items):
            size = min(batch_items, n_items - first)
            item = np.repeat(np.arange(first, first + size, dtype=np.int64), per_item)
            start = rng.integers(0, n_raters, size)
            rater = ((start[:, None] + np.arange(per_item) * 2003) % n_raters).ravel()  # distinct raters per item
            repeat = rng.choice(len(item) - 1, int(len(item) * repeat_share), replace=False) + 1
            repeat = repeat[item[repeat] == item[repeat - 1]]
            rater[repeat] = rater[repeat - 1]  # the same rater again on the same item
            truth = np.repeat(rng.integers(0, len(LABELS), size), per_item)
            label = np.where(rng.random(len(item)) < 0.6, truth, rng.integers(0, len(LABELS), len(item)))
            writer.write_table(pa.table({
                "item_id": text(item, item_names), "rater_id": text(rater, rater_names),
                "label": text(label, pa.array(LABELS)), "group": text(group[rater], pa.array(GROUPS)),
            }, schema=schema))


PRELUDE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq, krippendorff, torch, workbench
from dataclasses import replace
def kib(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))
workbench.reliability(workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6).ratings, n_boot=10)  # warm imports
open("/proc/self/clear_refs", "w").write("5")
base = kib("VmRSS")
out = {}
clock = time.perf_counter
"""
EPILOGUE = """
out["peak_mib"] = (kib("VmHWM") - base) / 1024
print(json.dumps(out))
"""

PEER = """
start = clock()
table = pq.read_table(PATH)
def coded(name):
    column = table.column(name).dictionary_encode()
    return np.concatenate([chunk.indices.to_numpy() for chunk in column.chunks]), len(column.chunk(0).dictionary)
item, n_items = coded("item_id")
rater, n_raters = coded("rater_id")
label, n_labels = coded("label")
key = item.astype(np.int64) * n_raters + rater
_, first = np.unique(key, return_index=True)  # duplicates: keep the first row of each (item, rater)
first.sort()
counts = np.bincount(item[first].astype(np.int64) * n_labels + label[first], minlength=n_items * n_labels).reshape(n_items, n_labels)
out["value"] = float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))
out["seconds"] = clock() - start
"""

OURS = """
start = clock()
r = workbench.read_ratings(PATH, duplicates="first")
out["read"] = clock() - start
table = workbench.reliability(r, n_boot=0)
out["value"] = float(table["value"].iloc[0])
out["seconds"] = clock() - start
out["reliability"] = out["seconds"] - out["read"]
out["dropped"] = r.meta["duplicates_dropped"]
start = clock()
r.to_parquet(SAVED)
out["to_parquet"] = clock() - start
"""

RELOAD = """
start = clock()
r = workbench.read_ratings(SAVED)
out["read"] = clock() - start
out["value"] = float(workbench.reliability(r, n_boot=0)["value"].iloc[0])
out["seconds"] = clock() - start
"""

RELOAD_PEER = """
start = clock()
table = pq.read_table(SAVED)
out["read"] = clock() - start
item = table.column("__workbench_item").to_numpy()
label = table.column("__workbench_label").to_numpy()
n_items = int(item.max()) + 1
counts = np.bincount(item.astype(np.int64) * 5 + label, minlength=n_items * 5).reshape(n_items, 5)
out["value"] = workbench.krippendorff_alpha(value_counts=counts, level_of_measurement="nominal")
out["seconds"] = clock() - start
"""

VIEWS = """
r = workbench.read_ratings(SAVED)
for name, view in (("label_counts", lambda x: x.label_counts()), ("item_table", workbench.item_table)):
    fresh = workbench.read_ratings(SAVED, columns=[])  # nothing cached
    start = clock(); view(fresh); out[name] = clock() - start
codes = r.codes
preference = workbench.Ratings._coded(  # the same ratings, relabelled A / B / tie
    replace(codes, value=(codes.value % 3).astype(np.int32), categories=("A", "B", "tie")), r.rating_columns,
    r.items, r.raters, level="nominal")
start = clock(); preference.pairs(); out["pairs"] = clock() - start
"""

BOOTSTRAP = """
if ROWS:  # the peer: every (slice, item) row drawn one by one (the path small studies take)
    workbench.kernels.resampling.TYPES_MIN_ROWS = 1 << 62
r = workbench.read_ratings(SAVED)
open("/proc/self/clear_refs", "w").write("5")
base = kib("VmRSS")
start = clock()
table = workbench.reliability(r, by="group", n_boot=N_BOOT)
out["seconds"] = clock() - start
out["values"] = table["value"].round(4).tolist()
"""


def run(code: str, **names) -> dict:
    """Run ``code`` in a fresh interpreter with ``names`` bound; return the JSON it prints."""
    binding = "".join(f"{k} = {v!r}\n" for k, v in names.items())
    result = subprocess.run([sys.executable, "-c", PRELUDE + binding + code + EPILOGUE], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"case failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000, help="items (10 ratings each)")
    parser.add_argument("--raters", type=int, default=20_000)
    parser.add_argument("--dir", default="/tmp/workbench-bench", help="where the study files are kept")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--skip", nargs="*", default=(), choices=("views", "bootstrap", "bootstrap-peer"))
    parser.add_argument("--json", help="write the rows here")
    args = harness.parse(parser)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"study_{args.items}x10_{args.raters}.parquet"
    saved = folder / f"saved_{args.items}x10_{args.raters}.parquet"
    if not path.exists():
        start = time.perf_counter()
        make_study_file(path, args.items, args.raters)
        print(f"generated {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f} s", flush=True)
    import torch

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads; "
          f"{args.items * 10:,} ratings in {path.stat().st_size / 2**20:.0f} MiB", flush=True)
    rows = []

    def row(case, ours, peer, unit="s", note=""):
        ratio = ours / peer if peer else float("nan")
        rows.append({"case": case, "unit": unit, "ours": ours, "peer": peer, "ratio": ratio, "note": note})
        shown = f"{ours:9.2f}{unit:<4} peer {peer:9.2f}{unit:<4} ratio {ratio:5.2f}" if peer is not None else f"{ours:9.2f}{unit}"
        print(f"{case:<60} {shown}  {note}", flush=True)

    peer = run(PEER, PATH=str(path))
    ours = run(OURS, PATH=str(path), SAVED=str(saved))
    diff = f"|diff| {abs(ours['value'] - peer['value']):.1e}"
    row("read_ratings + first reliability(n_boot=0)", ours["seconds"], peer["seconds"], note=diff)
    row("  of which read_ratings", ours["read"], None)
    row("  of which first reliability", ours["reliability"], None)
    row("peak memory, read + first reliability", ours["peak_mib"], peer["peak_mib"], "MiB")
    row("to_parquet (not a target)", ours["to_parquet"], None)
    again, reference = run(RELOAD, SAVED=str(saved)), run(RELOAD_PEER, SAVED=str(saved))
    row("reload from to_parquet + first reliability", again["seconds"], reference["seconds"],
        note=f"peer: read_table {reference['read']:.2f} s + kernel; |diff| {abs(again['value'] - reference['value']):.1e}")
    row("peak memory, reload + first reliability", again["peak_mib"], reference["peak_mib"], "MiB")
    if "views" not in args.skip:
        views = run(VIEWS, SAVED=str(saved))
        for name in ("item_table", "label_counts", "pairs"):
            row(f"{name} (first call)", views[name], None, note="target < 1 s")
    if "bootstrap" not in args.skip:
        boot = run(BOOTSTRAP, SAVED=str(saved), N_BOOT=args.n_boot, ROWS=False)
        rows_peer = None if "bootstrap-peer" in args.skip else run(BOOTSTRAP, SAVED=str(saved), N_BOOT=args.n_boot, ROWS=True)
        row(f"reliability(by='group', n_boot={args.n_boot})", boot["seconds"], rows_peer and rows_peer["seconds"],
            note=f"target ≤ 5 s; peer: rows drawn one by one; values {boot['values']}")
        row("  its peak memory", boot["peak_mib"], rows_peer and rows_peer["peak_mib"], "MiB")
    harness.write_json(args.json, {"items": args.items, "rows": rows})


if __name__ == "__main__":
    main()

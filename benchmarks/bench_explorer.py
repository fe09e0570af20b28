"""Group divergence and the Explorer's regrouping at 1M ratings vs straightforward pandas (run by hand).

    python benchmarks/bench_explorer.py            # the demo study at 1,000,000 ratings (~5-10 min on 2 cores)
    python benchmarks/bench_explorer.py --quick    # 100,000 ratings, for a smoke run

Rows:
- a 1,000-permutation group divergence (``group_divergence(by="age_band")``) vs a per-permutation
  pandas loop on the same data (map raters to shuffled groups, group by item × group × label, JSD per
  group vs rest, max per item). The loop is timed over ``--peer-perms`` permutations and scaled to
  1,000 (its cost is the same every permutation); the observed statistic is compared item by item.
- the Explorer's recompute on regrouping (the item-level views: per-item JSD, group and counts,
  joined to the cached entropy) vs the same view computed with pandas.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import time
import warnings

import numpy as np
import pandas as pd
import torch

import workbench
from bench_agreement import best  # the same best-of-n timer (run as a script: benchmarks/ is on the path)
from workbench.kernels.device import resolve_device
import harness  # benchmarks/harness.py: the shared load guard


def report(rows, case, ours, peer, diff, target):
    rows.append({"case": case, "unit": "s", "ours": ours, "peer": peer, "ratio": ours / peer, "max_abs_diff": diff, "target": target})
    print(f"{case:<70} ours {ours:8.3f}s  peer {peer:8.3f}s  ratio {ours / peer:7.4f} ({peer / ours:5.1f}× faster)  "
          f"|diff| {diff:.1e}  target {target}", flush=True)


def pandas_statistic(frame: pd.DataFrame, group_of_rater: pd.Series, labels: list, min_per_group: int = 3) -> pd.Series:
    """Per item: the largest JSD (bits) between a group's labels and the rest's, groups with 3+ ratings against 3+."""
    group = frame["rater_id"].map(group_of_rater)
    counts = frame.groupby(["item_id", group, "label"], observed=True).size().unstack("label", fill_value=0)
    counts = counts.reindex(columns=labels, fill_value=0)
    counts.index = counts.index.set_names(["item_id", "group"])
    totals = counts.groupby(level="item_id").sum()
    rest = totals.reindex(counts.index.get_level_values("item_id")).to_numpy() - counts.to_numpy()
    inside = counts.to_numpy().astype(float)
    n_in, n_rest = inside.sum(1), rest.sum(1)
    p, q = inside / np.maximum(n_in, 1)[:, None], rest / np.maximum(n_rest, 1)[:, None]

    def h(x):
        return -np.where(x > 0, x * np.log2(np.where(x > 0, x, 1)), 0).sum(1)

    jsd = np.clip(h((p + q) / 2) - (h(p) + h(q)) / 2, 0, 1)
    jsd = np.where((n_in >= min_per_group) & (n_rest >= min_per_group), jsd, np.nan)
    return pd.Series(jsd, index=counts.index).groupby(level="item_id").max()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--peer-perms", type=int, default=5, help="permutations the pandas loop is timed over")
    parser.add_argument("--json", help="write the rows here")
    args = harness.parse(parser)
    warnings.simplefilter("ignore")
    device = str(resolve_device(args.device))
    n_items = 5_000 if args.quick else 50_000
    study = workbench.simulate_study(seed=0, n_items=n_items, ratings_per_item=20, n_raters=1000)
    ratings = study.ratings
    ratings.codes  # coded once, as after loading
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, device {device}; "
          f"torch {torch.__version__}, pandas {pd.__version__}; {ratings!r}")
    rows: list[dict] = []
    frame = ratings.ratings[["item_id", "rater_id", "label"]]
    labels = list(ratings.categories)

    # 1. the permutation test
    n_perm = 1000
    ours_t, table = best(lambda: workbench.group_divergence(ratings, by="age_band", n_perm=n_perm, device=device), 1)
    groups = ratings.raters["age_band"]
    observed = pandas_statistic(frame, groups, labels)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    reached = pd.Series(0, index=observed.index)
    for _ in range(args.peer_perms):
        shuffled = pd.Series(rng.permutation(groups.to_numpy()), index=groups.index)
        reached += (pandas_statistic(frame, shuffled, labels) >= observed - 1e-12).astype(int)
    peer_t = (time.perf_counter() - start) / args.peer_perms * n_perm
    ours_observed = table.set_index("item_id")["jsd"].where(table.set_index("item_id")["p_value"].notna())
    diff = float(np.nanmax(np.abs(ours_observed.reindex(observed.index).to_numpy() - observed.to_numpy())))
    report(rows, f"group divergence, {n_perm:,} permutations, {ratings.n_ratings:,} ratings (peer: {args.peer_perms} perms ×{n_perm // args.peer_perms})",
           ours_t, peer_t, diff, "≥ 50× faster")

    # 2. the Explorer's regrouping (item-level views; the permutation test then runs in the background)
    if importlib.util.find_spec("panel") is None:  # a GPU image without the UI stack: kernel rows only
        print("panel is not installed: the Explorer regrouping row is skipped")
        return _write(args.json, device, rows)
    explorer = workbench.Explorer(ratings=ratings)  # not displayed: no background work is started
    explorer.items_frame()  # the entropy of the unfiltered items is cached, as after the first display
    state = {"by": "age_band"}

    def regroup():
        state["by"] = "region" if state["by"] == "age_band" else "age_band"
        explorer.group_by = state["by"]
        return explorer.items_frame()

    ours_t, view = best(regroup, 4)
    entropy = workbench.entropy(ratings.distribution(), normalize=True)

    def peer_view():  # the same grouping as the Explorer's last view
        statistic = pandas_statistic(frame, ratings.raters[state["by"]], labels)
        return pd.DataFrame({"jsd": statistic, "entropy": entropy}).sort_values("jsd", ascending=False)

    peer_t, peer = best(peer_view, 2)
    ours_jsd = view.set_index("item_id")["jsd"].where(view.set_index("item_id")["note"] == "")
    diff = float(np.nanmax(np.abs(ours_jsd.reindex(peer.index).to_numpy() - peer["jsd"].to_numpy())))
    report(rows, f"Explorer regrouping: item views, {ratings.n_ratings:,} ratings (peer: pandas groupby)", ours_t, peer_t, diff, "< 0.3 s")

    _write(args.json, device, rows)


def _write(path, device: str, rows: list) -> None:
    harness.write_json(path, {"device": device, "rows": rows})


if __name__ == "__main__":
    main()

"""Cleaning EMs vs crowd-kit, measured in the same run on the same data (run by hand).

    python benchmarks/bench_cleaning.py            # full rows (the crowd-kit one-coin fit takes minutes)
    python benchmarks/bench_cleaning.py --quick    # 100k comparisons / labels, for a smoke run
    python benchmarks/bench_cleaning.py --only ds --threads 1

Rows:
1. attentiveness EM (M3) on 1M comparisons from 10k users, ours from per-user statistics and
   from a Ratings (building the statistics included), vs crowd-kit's ``OneCoinDawidSkene`` (the
   nearest peer: one skill per worker) on the same comparisons as (task, worker, chosen model);
2. ``dawid_skene`` vs crowd-kit's ``DawidSkene`` on 1M labels (100k items × 10 labels, 3 classes),
   both run for the same number of EM iterations.
Ratio = ours / peer (< 1: we are faster). Prints the rows and writes them as JSON with --json.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import pandas as pd
import torch

import workbench
from workbench.analysis.cleaning import comparisons as as_comparisons
from workbench.kernels.device import to_tensor
from workbench.kernels.em import comparison_stats, fit_attentiveness_stats
import harness  # benchmarks/harness.py: the shared load guard


def timed(fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def comparisons(n_users: int, per_user: int, mu: float = 0.7, seed: int = 0) -> workbench.Ratings:
    """Comparison-mode data under model R1: each user rates ``per_user`` own prompts, strong model on a random side."""
    rng = np.random.default_rng(seed)
    eta = np.where(rng.random(n_users) < 0.2, rng.uniform(0, 0.15, n_users), rng.beta(8, 2, n_users))
    user = np.repeat(np.arange(n_users), per_user)
    picked_strong = rng.random(len(user)) < 0.5 + eta[user] * (mu - 0.5)
    strong_on_a = rng.random(len(user)) < 0.5
    frame = pd.DataFrame({
        "item_id": np.arange(len(user)).astype(str),
        "rater_id": pd.Series(user).map(lambda u: f"u{u:05d}").to_numpy(),
        "label": np.where(picked_strong == strong_on_a, "A", "B"),
        "model_a": np.where(strong_on_a, "S", "W"),
        "model_b": np.where(strong_on_a, "W", "S"),
    })
    return workbench.Ratings.from_frame(frame, item_columns=["model_a", "model_b"], rater_columns=[])


def bench_attentiveness(rows, n_users: int, per_user: int, peer: bool) -> None:
    ratings = comparisons(n_users, per_user)
    ratings.codes  # coded once, as after loading
    frame = as_comparisons(ratings, "S")
    stats = comparison_stats(to_tensor(frame["rater"].to_numpy()), to_tensor(frame["picked_strong"].to_numpy()), n_users)
    mu = torch.tensor(0.8, dtype=torch.float64)
    em_only, (fit, _) = timed(lambda: fit_attentiveness_stats(stats, mu, estimate_mu=True), repeat=5)
    full, analysis_fit = timed(lambda: workbench.fit_attentiveness(ratings, "S"), repeat=3)
    case = f"attentiveness EM, {len(frame):,} comparisons from {n_users:,} users"
    print(f"{case}: EM on statistics {em_only:.4f} s ({fit.n_iter} iterations), from the Ratings {full:.3f} s", flush=True)
    peer_time, note = float("nan"), "peer not run (--no-peer)"
    if peer:
        from crowdkit.aggregation import OneCoinDawidSkene

        data = pd.DataFrame({"task": ratings.ratings["item_id"], "worker": ratings.ratings["rater_id"],
                             "label": np.where(frame["picked_strong"], "S", "W")})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer_time, peer_fit = timed(lambda: OneCoinDawidSkene(n_iter=100, tol=1e-5).fit(data))
        note = f"crowd-kit OneCoinDawidSkene, {len(peer_fit.loss_history_)} iterations (default n_iter=100, tol=1e-5)"
        print(f"  peer {peer_time:.1f} s ({note})", flush=True)
    for what, ours in (("EM on per-user statistics", em_only), ("from the Ratings (statistics built)", full)):
        rows.append({"case": f"{case}: {what}", "ours_s": ours, "peer_s": peer_time, "ratio": ours / peer_time,
                     "speedup": peer_time / ours, "peer": note})


def labels(n_items: int, per_item: int, n_raters: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n_items, p=[0.5, 0.3, 0.2])
    skill = rng.uniform(0.4, 0.95, size=n_raters)
    item = np.repeat(np.arange(n_items), per_item)
    rater = rng.integers(0, n_raters, size=len(item))
    correct = rng.random(len(item)) < skill[rater]
    label = np.where(correct, truth[item], rng.integers(0, 3, size=len(item)))
    frame = pd.DataFrame({"task": item, "worker": rater, "label": label})
    return frame.drop_duplicates(["task", "worker"]).reset_index(drop=True)


def bench_dawid_skene(rows, n_items: int, iterations: int) -> None:
    data = labels(n_items, 10, 1000)
    ratings = workbench.Ratings.from_frame(data, item="task", rater="worker")
    ratings.codes
    ours_time, ours = timed(lambda: workbench.dawid_skene(ratings, tol=0, max_iter=iterations), repeat=3)
    from crowdkit.aggregation import DawidSkene

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer_time, peer = timed(lambda: DawidSkene(n_iter=iterations, tol=-np.inf).fit(data))
    posterior = peer.probas_.reindex(index=ours.items.index.astype(int), columns=[int(c) for c in ours.items.columns])
    diff = float(np.abs(posterior.to_numpy() - ours.items.to_numpy()).max())
    case = f"Dawid-Skene, {len(data):,} labels ({n_items:,} items, 3 classes), {iterations} EM iterations each"
    print(f"{case}: ours {ours_time:.3f} s, peer {peer_time:.1f} s, ratio {ours_time / peer_time:.4f}, max |posterior diff| {diff:.1e}", flush=True)
    rows.append({"case": case, "ours_s": ours_time, "peer_s": peer_time, "ratio": ours_time / peer_time,
                 "speedup": peer_time / ours_time, "peer": "crowd-kit DawidSkene (tol=-inf: fixed iterations)",
                 "max_abs_posterior_diff": diff})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-peer", action="store_true", help="skip the (slow) crowd-kit one-coin fit")
    parser.add_argument("--only", choices=("em", "ds"), help="run one of the two rows")
    parser.add_argument("--threads", type=int, help="torch threads (the peer is single-threaded pandas)")
    parser.add_argument("--json", help="write the rows here")
    args = harness.parse(parser)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"numpy {np.__version__}, pandas {pd.__version__}", flush=True)
    rows: list[dict] = []
    scale = 10 if args.quick else 1
    if args.only in (None, "em"):
        bench_attentiveness(rows, 10_000 // scale, 100, peer=not args.no_peer)
    if args.only in (None, "ds"):
        bench_dawid_skene(rows, 100_000 // scale, 20)
    harness.write_json(args.json, rows, indent=2)


if __name__ == "__main__":
    main()

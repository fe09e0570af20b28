"""Tag store and tag analyses vs plain sqlite3 / pandas peers, measured in the same run (run by hand).

    python benchmarks/bench_tags.py            # ~1 min on 2 CPU cores
    python benchmarks/bench_tags.py --quick    # smaller sizes, for a smoke run

Each row times ours and a peer on the same input and prints the ratio ours/peer (< 1: we are faster):

- one tag write: ``Store.add_tag`` (validated against the scheme, one committed transaction,
  ``synchronous=FULL``) vs a fresh ``sqlite3`` connection per write with the same pragmas and a bare
  INSERT (how the store wrote before it kept one connection per thread);
- the Tagger's read after a click: ``current_tags(scheme, per_tagger=True)`` (each tagger's values
  from the append-only history) vs reading the same rows with ``pd.read_sql_query`` (the floor);
- ``with_tags`` (columns for every scheme, conflict rule) vs a hand-made pivot of the current tags
  joined onto the item table (no conflict rule, single-choice only);
- ``tag_queue(strategy="entropy")`` vs ``scipy.stats.entropy`` on the label counts plus a sort.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

import workbench
import harness  # benchmarks/harness.py: the shared load guard


def best(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def fresh_connection_write(path: Path, k: int) -> None:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO tags (item_id, scheme, value, note, tagger, time, action) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (f"peer-{k}", "subjectivity", "manifest", None, "peer", datetime.now(timezone.utc).isoformat(), "add"))
        conn.execute("COMMIT")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = harness.parse(parser)
    writes = 50 if args.quick else 200
    study = workbench.simulate_study(seed=0, n_items=500 if args.quick else 2000)
    ratings, truth = study.ratings, study.truth["items"]
    folder = Path(tempfile.mkdtemp())
    rows = []

    ours_store = workbench.Store(folder / "ours.sqlite")
    peer_path = folder / "peer.sqlite"
    workbench.Store(peer_path)  # same schema
    ours = best(lambda: [ours_store.add_tag(f"w-{k}", "subjectivity", "manifest", tagger="ana") for k in range(writes)]) / writes
    peer = best(lambda: [fresh_connection_write(peer_path, k) for k in range(writes)]) / writes
    rows.append(("one tag write (validated, committed, synchronous=FULL)", ours, peer))

    store = workbench.Store(folder / "study.sqlite")
    rng = np.random.default_rng(0)
    values = list(store.scheme("subjectivity").values)
    for item, value in truth["subjectivity"].items():
        store.add_tag(item, "subjectivity", value, tagger="careful")
        if rng.random() < 0.5:
            store.add_tag(item, "subjectivity", values[rng.integers(3)], tagger="noisy")
    n_tags = len(store.tag_history())
    with sqlite3.connect(store.path) as conn:
        ours = best(lambda: store.current_tags("subjectivity", per_tagger=True))
        peer = best(lambda: pd.read_sql_query("SELECT * FROM tags WHERE scheme = 'subjectivity' ORDER BY id", conn))
    rows.append((f"each tagger's current tags, {n_tags:,} rows (the Tagger's read per click)", ours, peer))

    def hand_pivot():
        current = store.current_tags("subjectivity")
        return ratings.items.join(current.set_index("item_id")["value"].rename("subjectivity"))

    ours = best(lambda: workbench.with_tags(ratings, store, resolve="majority"))
    peer = best(hand_pivot)
    rows.append((f"with_tags on {ratings.n_items:,} items ({n_tags:,} tag rows, all schemes)", ours, peer))

    def scipy_queue():
        counts = ratings.label_counts()
        score = pd.Series(scipy.stats.entropy(counts.to_numpy(), base=2, axis=1), index=counts.index)
        return score.sort_values(ascending=False, kind="stable")

    ours = best(lambda: workbench.tag_queue(ratings, store, "plurality"))
    peer = best(scipy_queue)
    rows.append((f"tag_queue entropy, {ratings.n_items:,} items × {ratings.n_ratings // ratings.n_items} ratings", ours, peer))

    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, pandas {pd.__version__}")
    print(f"{'case':<75} {'ours':>10} {'peer':>10} {'ratio':>7}")
    for case, ours, peer in rows:
        print(f"{case:<75} {ours * 1e3:>8.1f}ms {peer * 1e3:>8.1f}ms {ours / peer:>7.2f}")


if __name__ == "__main__":
    main()

"""Agreement kernels vs the `krippendorff` package, measured in the same run (run by hand).

    python benchmarks/bench_agreement.py            # full table (~2-4 min on 2 CPU cores)
    python benchmarks/bench_agreement.py --quick    # smaller sizes, for a smoke run
    python benchmarks/bench_agreement.py --device cuda

Each row times ours and the peer on the same input (best of several runs) and prints the ratio
ours/peer (< 1: we are faster). Peak memory is the peak resident set of a fresh process running
one call, minus that process's resident set before the call.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
import warnings

import krippendorff
import numpy as np
import pandas as pd
import torch

import workbench
from workbench.kernels.device import resolve_device
import harness  # benchmarks/harness.py: the shared load guard

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def matrix(units: int, raters: int, missing: float, seed: int = 0, values: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, values + 1, size=units)
    data = np.where(rng.random((raters, units)) < 0.6, truth, rng.integers(1, values + 1, size=(raters, units))).astype(float)
    data[rng.random(data.shape) < missing] = np.nan
    return data


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), result


def row(rows, case, ours_fn, peer_fn, repeat=3, agree=None):
    ours_t, ours_v = best(ours_fn, repeat)
    peer_t, peer_v = best(peer_fn, repeat)
    diff = agree(ours_v, peer_v) if agree else abs(float(ours_v) - float(peer_v))
    rows.append({"case": case, "unit": "s", "ours": ours_t, "peer": peer_t, "ratio": ours_t / peer_t, "max_abs_diff": diff})
    print(f"{case:<58} ours {ours_t:8.3f}s  peer {peer_t:8.3f}s  ratio {ours_t / peer_t:6.3f}  |diff| {diff:.1e}", flush=True)


def ratings_from_matrix(data: np.ndarray, slices: int | None = None) -> workbench.Ratings:
    raters, units = data.shape
    rater, unit = np.nonzero(~np.isnan(data))
    frame = pd.DataFrame({"item_id": unit, "rater_id": rater, "label": data[rater, unit].astype(int)})
    items = None
    if slices:
        items = pd.DataFrame({"slice": np.arange(units) % slices}, index=np.arange(units).astype(str))
    return workbench.Ratings.from_frame(frame, level="nominal", items=items, item_columns=[], rater_columns=[])


def fresh(ratings: workbench.Ratings) -> workbench.Ratings:
    ratings.__dict__.pop("codes", None)  # time the coding too, as a first call would
    return ratings


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


def measure_memory(args: tuple, code: str, data: str = "matrix") -> float:
    """MiB of peak resident-set growth while a fresh interpreter runs ``code`` on ``data = matrix(*args)``
    (or ``scores(*args)``).

    The peak (VmHWM) is reset after the data are built (``/proc/self/clear_refs``), so only the call counts.
    """
    script = (
        "import numpy as np, krippendorff, workbench, torch, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from benchmarks.bench_agreement import matrix, scores, _status_kib\n"
        f"data = {data}(*{args!r})\n"
        "workbench.krippendorff_alpha([[1, 2], [1, 2]], level_of_measurement='nominal')\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "before = _status_kib('VmRSS')\n"
        f"{code}\n"
        "print((_status_kib('VmHWM') - before) / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def scores(units: int, raters: int, decimals: int = 3, seed: int = 0) -> np.ndarray:
    """Raters × units non-negative scores, rounded to ``decimals`` (many distinct values)."""
    rng = np.random.default_rng(seed)
    truth = rng.gamma(4.0, 1.0, size=units)
    return np.round(truth + rng.gamma(1.0, 0.5, size=(raters, units)), decimals)


def coincidence_path(fn):
    """``fn`` run through the V × V coincidence-matrix computation (the method before the sparse path)."""
    import workbench.kernels.agreement as kernels

    def run():
        saved = kernels.COINCIDENCE_MAX_VALUES
        kernels.COINCIDENCE_MAX_VALUES = 10**9
        try:
            return fn()
        finally:
            kernels.COINCIDENCE_MAX_VALUES = saved
    return run


def memory_row(rows, case: str, args: tuple, ours: str, peer: str, data: str = "scores") -> None:
    ours_mb, peer_mb = measure_memory(args, ours, data), measure_memory(args, peer, data)
    rows.append({"case": case, "unit": "MiB", "ours": ours_mb, "peer": peer_mb, "ratio": ours_mb / peer_mb, "max_abs_diff": 0.0})
    print(f"{case:<58} ours {ours_mb:8.0f}MB peer {peer_mb:8.0f}MB ratio {ours_mb / peer_mb:6.3f}", flush=True)


def breadth_rows(rows: list, scale: int, device: str) -> None:
    """Issue 13: alpha with many distinct values, the new coefficients, rater_table."""
    alpha = lambda data, level: (lambda: workbench.krippendorff_alpha(data, level_of_measurement=level, device=device))

    data = scores(2000, 5)
    values = len(np.unique(data))
    row(rows, f"alpha ordinal 2,000 × 5, {values:,} distinct values; peer: V × V path", alpha(data, "ordinal"),
        coincidence_path(alpha(data, "ordinal")), repeat=2)
    memory_row(rows, f"  peak memory, same (peer: V × V path)", (2000, 5),
               f"workbench.krippendorff_alpha(data, level_of_measurement='ordinal', device={device!r})",
               "import workbench.kernels.agreement as k; k.COINCIDENCE_MAX_VALUES = 10**9\n"
               f"workbench.krippendorff_alpha(data, level_of_measurement='ordinal', device={device!r})")
    data = scores(1600, 5)
    values = len(np.unique(data))
    row(rows, f"alpha ratio 1,600 × 5, {values:,} distinct values; peer: V × V path", alpha(data, "ratio"),
        coincidence_path(alpha(data, "ratio")), repeat=1)

    # many distinct values (6 decimals: nearly every score distinct); no V × V peer can run here, so the
    # peer is interval alpha (per-item moments) on the same data
    for level, args, repeat in (("ordinal", (200_000 // scale, 5, 6), 3), ("ratio", (10_000 // scale, 5, 6), 1)):
        data = scores(*args)
        call = "workbench.krippendorff_alpha(data, level_of_measurement={!r}, device=" + repr(device) + ")"
        row(rows, f"alpha {level} {args[0]:,} × 5, {len(np.unique(data)):,} distinct values; peer: interval α",
            alpha(data, level), alpha(data, "interval"), repeat=repeat, agree=lambda a, b: 0.0)
        memory_row(rows, "  peak memory, same (peer: interval α on the same data)", args, call.format(level), call.format("interval"))

    # coefficients: Fleiss' kappa on complete data (where every definition agrees) vs statsmodels
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    data = matrix(1_000_000 // scale, 10, 0.0)
    counts = np.stack([(data == v).sum(axis=0) for v in range(1, 6)], axis=1)
    row(rows, f"fleiss kappa, counts of {counts.shape[0]:,} items × 5 categories; peer: statsmodels",
        lambda: workbench.fleiss_kappa(counts), lambda: statsmodels_fleiss(counts), repeat=3)
    ratings = ratings_from_matrix(matrix(20_000 // scale, 10, 0.2))
    ratings.codes
    row(rows, f"gwet_ac2 (quadratic) 20,000 × 10, 1,000 bootstrap replicates; peer: alpha, same call",
        lambda: workbench.reliability(ratings, metric="gwet_ac2", n_boot=1000, device=device)["value"].iloc[0],
        lambda: workbench.reliability(ratings, n_boot=1000, device=device)["value"].iloc[0], repeat=2, agree=lambda a, b: 0.0)

    # rater_table: exact leave-one-out change for every rater, vs the loop it replaces
    study = workbench.simulate_study(seed=0, n_items=2000, ratings_per_item=20, n_raters=200)
    small = study.ratings
    small.codes
    table = small.ratings.pivot(index="rater_id", columns="item_id", values="label")
    matrix_ab = table.replace({"A": 1.0, "B": 2.0}).to_numpy(dtype=float)
    def peer_loop():
        everyone = krippendorff.alpha(matrix_ab, level_of_measurement="nominal")
        return np.array([krippendorff.alpha(np.delete(matrix_ab, r, axis=0), level_of_measurement="nominal") - everyone
                         for r in range(len(matrix_ab))])
    ours_table = lambda: workbench.rater_table(small)["alpha_change"].reindex(table.index).to_numpy()
    row(rows, "rater_table, demo 40,000 ratings × 200 raters; peer: loop of krippendorff.alpha", ours_table, peer_loop,
        repeat=2, agree=lambda a, b: float(np.abs(a - b).max()))
    big_study = workbench.simulate_study(seed=0, n_items=50_000 // scale, ratings_per_item=20, n_raters=10_000 // scale)
    ratings = big_study.ratings
    ratings.codes
    row(rows, f"rater_table, demo scaled to {ratings.n_ratings:,} ratings × {ratings.n_raters:,} raters; peer: one alpha",
        lambda: workbench.rater_table(ratings), lambda: workbench.reliability(ratings, ci=None), repeat=3, agree=lambda a, b: 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--only", choices=["breadth"], help="run one section: breadth = many values, coefficients, rater_table")
    args = harness.parse(parser)
    device = str(resolve_device(args.device))
    warnings.simplefilter("ignore")
    scale = 10 if args.quick else 1
    rows: list[dict] = []
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"device {device}{' (' + torch.cuda.get_device_name() + ')' if device.startswith('cuda') else ''}; "
          f"torch {torch.__version__}, krippendorff {krippendorff.__version__ if hasattr(krippendorff, '__version__') else '0.9'}")
    if args.only == "breadth":
        breadth_rows(rows, scale, device)
        harness.write_json(args.json, {"device": device, "rows": rows})
        return
    alpha = lambda data, level: (lambda: workbench.krippendorff_alpha(data, level_of_measurement=level, device=device))
    peer = lambda data, level: (lambda: krippendorff.alpha(data, level_of_measurement=level))

    data = matrix(2000 // scale, 100, 0.7)
    row(rows, f"alpha nominal {data.shape[1]:,} units × 100 raters, 70 % missing", alpha(data, "nominal"), peer(data, "nominal"))

    data = matrix(50_000 // scale, 5, 0.0)
    for level in LEVELS:
        row(rows, f"alpha {level} {data.shape[1]:,} × 5 ({data.size:,} labels)", alpha(data, level), peer(data, level))

    data = matrix(1_000_000 // scale, 10, 0.0)
    for level in ("nominal", "interval"):
        row(rows, f"alpha {level} {data.shape[1]:,} × 10 ({data.size:,} labels)", alpha(data, level), peer(data, level), repeat=5)

    # bootstrap: 1,000 resamples of items, ours batched vs a loop over krippendorff.alpha
    data = matrix(2000, 20, 0.0)
    ratings = ratings_from_matrix(data)
    n_boot = 1000 // scale
    def peer_boot():
        values = [krippendorff.alpha(data[:, np.random.default_rng([0, b]).integers(0, data.shape[1], data.shape[1])],
                                     level_of_measurement="nominal") for b in range(n_boot)]
        return np.percentile(values, [2.5, 97.5])
    def ours_boot():
        table = workbench.reliability(fresh(ratings), n_boot=n_boot, device=device)
        return table[["ci_low", "ci_high"]].to_numpy()[0]
    row(rows, f"bootstrap CI, {n_boot:,} resamples, 2,000 × 20", ours_boot, peer_boot, repeat=2,
        agree=lambda a, b: float(np.abs(np.asarray(a) - np.asarray(b)).max()))

    # 50 slices (item slices) vs a loop of krippendorff.alpha per slice. Both start from data in
    # memory in their own layout: ours a Ratings (coded once, as after loading; the coding itself
    # is timed in its own row), the peer the raters × units matrix and each unit's slice.
    for units, raters in ((50_000 // scale, 5), (400_000 // scale, 10)):
        data = matrix(units, raters, 0.2)
        ratings = ratings_from_matrix(data, slices=50)
        ratings.codes
        slice_of_unit = np.arange(units) % 50
        peer_slices = lambda: np.array([krippendorff.alpha(data[:, slice_of_unit == g], level_of_measurement="nominal") for g in range(50)])
        ours_slices = lambda: workbench.reliability(ratings, by="slice", ci=None, device=device)["value"].to_numpy()
        row(rows, f"alpha for 50 slices of {units:,} × {raters} (20 % missing)", ours_slices, peer_slices,
            agree=lambda a, b: float(np.abs(a - b).max()))
    # The same 50 slices when both sides start from the annotator-level long table, as a researcher
    # with krippendorff must: group by slice, pivot each group to raters × units, call alpha.
    long = ratings.to_frame()
    long["slice"] = long["item_id"].astype(int) % 50
    def peer_long():
        return np.array([
            krippendorff.alpha(group.pivot(index="rater_id", columns="item_id", values="label").to_numpy(dtype=float),
                               level_of_measurement="nominal")
            for _, group in long.groupby("slice")
        ])
    row(rows, "  same, peer from the long table (groupby → pivot → alpha)", ours_slices, peer_long, repeat=2,
        agree=lambda a, b: float(np.abs(a - b).max()))
    row(rows, f"  coding a Ratings once ({ratings.n_ratings:,} ratings) vs one alpha call",
        lambda: fresh(ratings).codes and 0.0, lambda: krippendorff.alpha(data, level_of_measurement="nominal") and 0.0, repeat=1)

    big = (1_000_000 // scale, 10, 0.0)
    ours_mb = measure_memory(big, f"workbench.krippendorff_alpha(data, level_of_measurement='nominal', device={device!r})")
    peer_mb = measure_memory(big, "krippendorff.alpha(data, level_of_measurement='nominal')")
    rows.append({"case": f"peak memory, alpha nominal {big[0]:,} × 10", "unit": "MiB", "ours": ours_mb, "peer": peer_mb,
                 "ratio": ours_mb / peer_mb, "max_abs_diff": 0.0})
    print(f"{rows[-1]['case']:<58} ours {ours_mb:8.0f}MB peer {peer_mb:8.0f}MB ratio {ours_mb / peer_mb:6.3f}")
    breadth_rows(rows, scale, device)
    harness.write_json(args.json, {"device": device, "rows": rows})


if __name__ == "__main__":
    main()

"""How fast the served app answers in a browser (headless Chromium), beside the targets of issue 21 (run by hand).

    python benchmarks/bench_app.py                 # the demo study and 1M ratings, median of 5 (~10 min on 2 cores)
    python benchmarks/bench_app.py --quick         # the demo only, median of 3
    python benchmarks/bench_app.py --json out.json # also write the rows (refused above load 1.5 unless --loaded)

Rows (seconds from the action to what a researcher waits for, measured in the page):
- first paint: from opening the page to the tab headers and the Overview's facts;
- Explorer first view: clicking the tab until its item table lists items (its first target is the page's, 1.5 s);
- Explorer regroup: 2 s after that, choosing another "Group raters by" value until the item table shows the new
  groups (the permutation test stays in the background and is not waited for);
- Models compare (demo): pressing Compare until the verdict is shown (it comes first);
- Models compare, every figure (demo): until the metrics table and the tab's four figures are drawn;
- Clean rule edit (demo): switching the flip rule off until the counts say "0 flipped".
No other tool serves this app, so no peer is measured: each row is compared with its target (measured / target).
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import harness  # noqa: E402  (benchmarks/ is on the path when run as a script)
from browser import CHROMIUM, FLAGS, checkbox, served  # noqa: E402

TARGETS = {"first paint": 1.5, "Explorer first view": 1.5, "Explorer regroup": 1.0, "Models compare": 1.0, "Models compare, every figure": 1.0,
           "Clean rule edit": 1.0}


#: How long the Explorer is left to finish drawing before a control is changed. Changed at once after the table
#: appears, the regroup also waits for the browser's first render of the tab (about 1 s here, with or without
#: the background test).
SETTLE_MS = 2000

#: Whether the Models tab shows at least ``n`` drawn figures (Bokeh canvases) beside its metrics table.
FIGURES_DRAWN = """(n) => {
  let canvases = 0;
  const walk = (root) => {
    for (const el of root.querySelectorAll("canvas")) if (el.getClientRects().length && el.width > 0) canvases += 1;
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document.body);
  return canvases >= n;
}"""


def measure(url: str, repeats: int, with_models: bool) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {name: [] for name in TARGETS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            for _ in range(repeats):
                page = browser.new_page()
                start = time.perf_counter()
                page.goto(url)
                page.get_by_text("ratings per item (min / median / max)").first.wait_for(timeout=120_000)
                times["first paint"].append(time.perf_counter() - start)

                start = time.perf_counter()
                page.get_by_text("Explorer", exact=True).first.click()
                page.locator(".tabulator-row").first.wait_for(timeout=300_000)
                page.get_by_text("18-34", exact=True).first.wait_for(timeout=300_000)
                times["Explorer first view"].append(time.perf_counter() - start)
                page.wait_for_timeout(SETTLE_MS)  # a control on a drawn page, not one racing the tab's first render
                group_by = page.locator("select", has=page.locator("option[value=region]")).first
                start = time.perf_counter()
                group_by.select_option("region")
                page.get_by_text("Europe", exact=True).first.wait_for(timeout=300_000)
                times["Explorer regroup"].append(time.perf_counter() - start)

                if with_models:
                    page.get_by_text("Clean", exact=True).first.click()
                    counts = page.get_by_text(re.compile(r"\d+ flipped · \d+ dropped · \d+ kept")).first
                    counts.wait_for(timeout=300_000)
                    page.get_by_text("Committee agreement with the human majority").first.wait_for(timeout=60_000)
                    switch = checkbox(page, "1. flip")
                    start = time.perf_counter()
                    switch.uncheck()
                    page.get_by_text(re.compile(r"^0 flipped · \d+ dropped · \d+ kept")).first.wait_for(timeout=60_000)
                    times["Clean rule edit"].append(time.perf_counter() - start)

                    page.get_by_text("Models", exact=True).first.click()
                    page.get_by_text("Models to compare").first.wait_for(timeout=60_000)
                    page.locator("select:has(option[value='rm-5'])").nth(1).select_option("rm-5")
                    start = time.perf_counter()
                    page.get_by_role("button", name="Compare").click()
                    page.get_by_text("agrees with people better").first.wait_for(timeout=120_000)
                    times["Models compare"].append(time.perf_counter() - start)
                    page.get_by_text("Metrics per model and slice").first.wait_for(timeout=120_000)
                    page.wait_for_function(FIGURES_DRAWN, arg=4, timeout=120_000)
                    times["Models compare, every figure"].append(time.perf_counter() - start)
                page.close()
        finally:
            browser.close()
    return {name: values for name, values in times.items() if values}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the demo only, median of 3")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the rows here")
    args = harness.parse(parser, argv)
    if CHROMIUM is None:
        print("no chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    import tempfile

    import workbench
    from workbench.ui.app import build_app

    repeats = 3 if args.quick else args.repeats
    cases = [("demo (40,000 ratings)", workbench.simulate_study(seed=0), True)]
    if not args.quick:
        cases.append(("1M ratings", workbench.simulate_study(seed=0, n_items=50_000), False))
    rows = []
    for name, study, with_models in cases:
        store = workbench.Store(Path(tempfile.mkdtemp()) / "bench.sqlite")
        for model, frame in study.scores.groupby("model"):
            store.save_scores(model, frame)
        with served(lambda: build_app(study.ratings, store)) as url:
            measure(url, 1, with_models)  # warm-up: imports, first compilation of every path
            times = measure(url, repeats, with_models)
        for action, values in times.items():
            median, target = statistics.median(values), TARGETS[action]
            rows.append({"case": f"{action}, {name}", "unit": "s", "ours": median, "peer": None, "target_s": target,
                         "ratio_to_target": median / target, "runs": [round(v, 3) for v in values]})
            print(f"{action + ', ' + name:<45} median {median:7.3f} s of {len(values)}  target ≤ {target:.1f} s  "
                  f"{'met' if median <= target else 'NOT met'}", flush=True)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}", flush=True)
    harness.write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

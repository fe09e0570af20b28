"""The load guard every ``benchmarks/bench_*.py`` shares: timings taken on a busy machine are not results.

(Messages go to stderr, so that a benchmark's stdout stays what it was: tables, or JSON a parent process reads.)

Each benchmark parses its arguments with :func:`parse` (which adds ``--loaded``, prints the load
average at the start and, on exit, at the end with a verdict) and writes its result file with
:func:`write_json`, which refuses when the 1-minute load average was above :data:`LOAD_LIMIT` at the
start (other work was running), unless the run was told ``--loaded``; then every row says so. The end figure is
printed and stamped but does not decide: on 2 cores a benchmark's own threads (or its browser and server) lift
the load above the limit by themselves, which had the guard refuse every such run. Every written row
carries the load averages it was measured under. A row copied into RESULTS.md should say the same:
"idle (load 0.4 → 0.6)" or "loaded (load 7.1 → 9.3)".

    args = harness.parse(parser)          # instead of parser.parse_args()
    harness.write_json(args.json, rows)   # instead of open(...) + json.dump(...)
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
from pathlib import Path

#: Above this 1-minute load average at the start of a run, rows are not written unless ``--loaded``.
LOAD_LIMIT = 1.5

_run: dict = {}


def load_average() -> float:
    """The machine's 1-minute load average (NaN where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def parse(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """``parser.parse_args(argv)`` with ``--loaded`` added; prints the load average now and at exit."""
    parser.add_argument("--loaded", action="store_true",
                        help=f"write result rows even when the load average is above {LOAD_LIMIT} (each row then says 'loaded')")
    args = parser.parse_args(argv)
    _run.clear()
    _run.update(loaded=args.loaded, start=load_average(), written=False)
    print(f"load average at start: {_run['start']:.2f} (results are written at ≤ {LOAD_LIMIT}, or with --loaded)", file=sys.stderr, flush=True)
    atexit.register(_at_exit)
    return args


def conditions() -> dict:
    """The load facts of this run so far: start and current load, and whether the run counts as loaded (by its start)."""
    start = _run["start"] if "start" in _run else load_average()
    now = load_average()
    return {"load_start": round(start, 2), "load_end": round(now, 2), "loaded": bool(start > LOAD_LIMIT)}


def write_json(path, payload, **dump_options) -> bool:
    """Write ``payload`` (a list of row dicts, or a dict, with its ``rows`` if any) as JSON to ``path``, each row
    stamped with :func:`conditions`. Above :data:`LOAD_LIMIT` without ``--loaded``: nothing is written, a note
    goes to stderr and the run exits with status 3. Returns whether a file was written (False without a path)."""
    if not path:
        return False
    facts = conditions()
    if facts["loaded"] and not _run.get("loaded", False):
        print(f"not writing {path}: the load average was {facts['load_start']:.2f} at the start (above {LOAD_LIMIT}; "
              f"{facts['load_end']:.2f} now); rerun on an idle machine, or pass --loaded to write rows marked as loaded", file=sys.stderr)
        raise SystemExit(3)
    rows = payload if isinstance(payload, list) else payload.get("rows") if isinstance(payload, dict) else None
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict):
            row.update(facts)
    if isinstance(payload, dict):
        payload.update(facts)
    dump_options.setdefault("indent", 1)
    Path(path).write_text(json.dumps(payload, **dump_options))
    _run["written"] = True
    return True


def _at_exit() -> None:
    facts = conditions()
    if not facts["loaded"]:
        verdict = "idle: rows may go into RESULTS.md with this load"
    elif _run.get("loaded", False):
        verdict = "loaded (--loaded): any row quoted must say 'loaded' and this load"
    else:
        verdict = f"above {LOAD_LIMIT}: these rows are not results; rerun idle, or with --loaded to keep them marked as loaded"
    print(f"load average at end: {facts['load_end']:.2f} (start {facts['load_start']:.2f}) — {verdict}", file=sys.stderr, flush=True)

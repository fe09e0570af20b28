"""Run a uniform random sample of mutmut's mutants, in random order, and print kill rates (see tests/MUTANTS.md).

A development tool for mutmut 3.8 (it uses mutmut's own runner and bookkeeping). Run it from the
repository root without PYTHONPATH, after one ordinary ``mutmut run`` has generated the mutants,
collected the test stats and passed mutmut's clean and forced-fail runs:

    env -u PYTHONPATH mutmut run "workbench.kernels.device.x_to_tensor__mutmut_1"
    env -u PYTHONPATH python tools/mutmut_sample.py --seed 14 --size 320 --children 2

Mutants run in the sample's random order and each verdict is printed (and stored in mutants/) as it
comes, so if the run is stopped early, the first k finished mutants are still a uniform sample of k.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import time
from math import ceil
from pathlib import Path


def all_mutant_names() -> list[str]:
    from mutmut.utils.file_utils import walk_mutatable_files

    names = []
    for path in walk_mutatable_files():
        meta = Path("mutants") / (str(path) + ".meta")
        names += json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(names)


def run(names: list[str], children: int) -> dict[str, str]:
    from mutmut.__main__ import _register_mutant_result, collect_source_file_mutation_data, mangled_name_from_mutant_name
    from mutmut.configuration import config
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.runners.harness import PytestRunner
    from mutmut.state import state
    from mutmut.stats import load_stats, status_by_exit_code
    from mutmut.utils.file_utils import setup_source_paths
    from mutmut.workers.isolation import get_mutant_runner

    setup_source_paths()
    if not load_stats():
        raise SystemExit("no mutmut stats: run `mutmut run` once first (see this file's docstring)")
    mutants, _ = collect_source_file_mutation_data(mutant_names=names)
    data_by_name = {name: data for data, name, _ in mutants}
    set_mutant_under_test("")
    PytestRunner().warm_up()  # collect once here: the forked runs inherit the imported tests and package
    runner = get_mutant_runner(children)
    runner.startup()
    submitted, verdicts = {}, {}

    def drain():
        result = runner.wait_for_result()
        _register_mutant_result(result, submitted)
        verdicts[result.mutant_name] = status_by_exit_code[result.exit_code]
        print(f"{verdicts[result.mutant_name]:12s} {result.duration:7.1f}s {result.mutant_name}", flush=True)

    cfg = config()
    for name in names:
        tests = state().tests_by_mangled_function_name.get(mangled_name_from_mutant_name(name), set())
        estimated = sum(state().duration_by_test[t] for t in tests)
        while not runner.has_capacity():
            drain()
        submitted[name] = data_by_name[name]
        runner.submit(name, list(tests), ceil((estimated + cfg.timeout_constant) * cfg.timeout_multiplier * 2), estimated)
    while runner.pending_count() > 0:
        drain()
    runner.shutdown()
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--children", type=int, default=2)
    parser.add_argument("--list", action="store_true", help="print the sample in its random order and stop")
    args = parser.parse_args()
    names = all_mutant_names()
    sample = random.Random(args.seed).sample(names, args.size)
    if args.list:
        print("\n".join(sample))
        return
    start = time.time()
    verdicts = run(sample, args.children)
    by_folder = collections.defaultdict(collections.Counter)
    for name, verdict in verdicts.items():
        by_folder[name.split(".")[1]][verdict] += 1
    for folder, counts in sorted(by_folder.items()):
        total = sum(counts.values())
        print(f"{folder}: {counts['killed'] + counts['timeout']} of {total} killed ({dict(counts)})")
    print(f"{len(verdicts)} of {len(names)} mutants in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()

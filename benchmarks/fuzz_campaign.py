"""A longer fuzzing campaign outside CI: the targets of ``tests/test_fuzz.py`` with a larger case budget.

Every case is a hostile input (mutated scenario YAML or bytes, MATPOWER files, facility GeoJSON and CSV, command
lines of every command with hostile option values, and a sweep whose run folder is damaged before its rerun; then
the planning commands: ``rank``/``harden``/``restore``/``site``/``doctor``/``sweep --timeline`` command lines,
timeline scenario keys, ``--add`` specs, cost and candidate files, mutated grids for ``doctor``, and hostile
request bodies for the dashboard's API, in process);
the contract is exit 0, or exit 2 with one line; never a traceback, never a hang (``tests/hostile.py``).

Usage::

    python benchmarks/fuzz_campaign.py --cases 500                 # 500 cases per target
    python benchmarks/fuzz_campaign.py --cases 50 --targets sweep_resume cli_options --seed 7
    python benchmarks/fuzz_campaign.py --cases 300 --targets cmd_options cmd_timeline api_bodies

Prints one line per target (cases, accepted, refused with exit 2, violations) and each distinct violation.
The figures of the last campaign are in ``docs/fuzzing.md``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile import TARGETS as READER_TARGETS  # noqa: E402
from hostile_commands import COMMAND_TARGETS, close_api  # noqa: E402

TARGETS = {**READER_TARGETS, **COMMAND_TARGETS}


def run_target(name: str, cases: int, seed: int, base: Path) -> tuple[collections.Counter, dict[str, str], float]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    strategy, runner = TARGETS[name]
    labels: collections.Counter = collections.Counter()
    violations: dict[str, str] = {}

    @hseed(seed)
    @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=("generate",))
    @given(strategy())
    def run(case):
        label = runner(case, base)
        if label.startswith("violation"):
            labels["violation"] += 1
            violations.setdefault(label[:160], repr(case)[:400])
        else:
            labels["exit 2" if label == "2" else "accepted"] += 1

    t0 = time.perf_counter()
    try:
        run()
    finally:
        close_api()
    return labels, violations, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=200, help="cases per target")
    ap.add_argument("--targets", nargs="*", default=sorted(TARGETS), choices=sorted(TARGETS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    total: collections.Counter = collections.Counter()
    found: dict[str, str] = {}
    print(f"{'target':16s} {'cases':>6s} {'accepted':>9s} {'exit 2':>7s} {'violations':>10s} {'seconds':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.targets:
            labels, viol, secs = run_target(name, args.cases, args.seed, Path(tmp))
            n = sum(labels.values())
            total.update(labels)
            total["cases"] += n
            found.update({f"[{name}] {k}": v for k, v in viol.items()})
            print(f"{name:16s} {n:6d} {labels['accepted']:9d} {labels['exit 2']:7d} {labels['violation']:10d} "
                  f"{secs:8.1f}", flush=True)
    print(f"{'total':16s} {total['cases']:6d} {total['accepted']:9d} {total['exit 2']:7d} {total['violation']:10d}")
    for k, v in found.items():
        print(f"\n{k}\n  case: {v}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

"""Sweep throughput and memory on a large grid (not a test; prints figures).

Usage::

    python benchmarks/bench_sweep.py --case case2869pegase --k 10 --n 2000 [--workers 2] [--chunk-size 500]
    # the whole command as a user runs it (`svitlo sweep`, imports and loading included), this checkout and
    # another one (e.g. the previous version) back to back, with the machine's load before and after each:
    python benchmarks/bench_sweep.py --cli --n 100000 --compare-src ../previous/src

Runs ``svitlo.analyses.sweep.sweep`` into a fresh temporary folder and prints scenarios per second, the engine
used, peak resident memory of this process (MiB) sampled during the run, and the time of the DuckDB report
queries over the stored rows.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", default="case2869pegase")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--chunk-size", type=int, default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--cli", action="store_true", help="time `svitlo sweep` in a subprocess (wall, CPU, RSS)")
    ap.add_argument("--compare-src", default=None, help="with --cli: also run this svitlo source folder")
    a = ap.parse_args()
    if a.cli:
        return _cli(a)

    from svitlo.analyses.sweep import report_tables, sweep

    sc = {"name": f"random {a.k} branches", "grid": a.case, "seed": 1,
          "strikes": [{"random": {"k": a.k, "kinds": ["branch"]}}]}
    out = Path(a.out or tempfile.mkdtemp(prefix="svitlo-bench-")) / "run"
    peak = [_rss_mib()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    seen = []
    res = sweep(sc, n=a.n, out=out, workers=a.workers, chunk_size=a.chunk_size,
                progress=lambda d, t: seen.append((time.perf_counter(), d, _rss_mib())))
    stop.set()
    t0 = time.perf_counter()
    tables = report_tables(out)
    tq = time.perf_counter() - t0
    print(f"case={a.case} k={a.k} n={a.n} workers={a.workers or 'in-process'} engine={res.engine}")
    print(f"computed {res.computed} scenarios in {res.seconds:.1f} s: {res.scenarios_per_second:,.0f} scenarios/s")
    rss = [r for _, _, r in seen]
    print(f"driver RSS MiB: start {rss[0]:.0f}, after first chunk {rss[1] if len(rss) > 1 else rss[0]:.0f}, "
          f"end {rss[-1]:.0f}, peak {peak[0]:.0f}")
    print(f"report queries (DuckDB) {tq:.2f} s; mean shed {tables['metrics'].set_index('metric').loc['shed_mw', 'mean']:.1f} MW")
    print(f"store: {out} ({sum(p.stat().st_size for p in out.rglob('*') if p.is_file()) / 2**20:.1f} MiB)")


def _cli(a: argparse.Namespace) -> None:
    import os
    import shutil
    import subprocess
    import sys

    here = Path(__file__).resolve().parent.parent / "src"
    work = Path(a.out or tempfile.mkdtemp(prefix="svitlo-bench-"))
    y = work / "sweep.yaml"
    y.write_text(f"name: random {a.k} branches\ngrid: {a.case}\nseed: 1\nstrikes:\n"
                 f"  - random: {{k: {a.k}, kinds: [line, trafo]}}\n")
    srcs = [("this checkout", here)] + ([("compared", Path(a.compare_src).resolve())] if a.compare_src else [])
    for name, src in srcs:
        env = {**os.environ, "PYTHONPATH": str(src)}
        prog = [sys.executable, "-c", "import sys; from svitlo.cli.main import main; sys.exit(main())", "sweep",
                str(y), "--quiet"]
        tag = "a" if src == here else "b"
        # fill the grid and numba caches first, as any second command finds them
        subprocess.run([*prog, "--n", "500", "--out", str(work / f"warm-{tag}")], env=env, capture_output=True,
                       check=True)
        run = work / f"run-{tag}"
        shutil.rmtree(run, ignore_errors=True)
        cmd = [*prog, "--n", str(a.n), "--out", str(run)]
        load0 = os.getloadavg()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        print(f"{name} ({src}): svitlo sweep {a.case} k={a.k} n={a.n:,}: wall {wall:.1f} s "
              f"({a.n / wall:,.0f}/s), CPU {cpu:.1f} s, peak RSS {r1.ru_maxrss / 1024:.0f} MiB (max of runs so far); "
              f"load {load0[0]:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()

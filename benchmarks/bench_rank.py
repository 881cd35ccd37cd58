"""Rank benchmarks, side by side in one run: exhaustive N-2, worst-case k against a random sweep, exact
methods against brute force.

Parts (``--part``):

* ``n2``: exhaustive N-2 over every in-service branch pair. ``--full`` streams all C(n, 2) pairs through the
  run store (``svitlo rank --k 2``'s path); otherwise ``--sample`` random pairs are timed and the full figure
  is extrapolated (said so in the output). A pandapower ``rundcpp`` loop and lightsim2grid's
  ``ContingencyAnalysisCPP`` (DC) run on samples of the same pairs, extrapolated to all pairs.
* ``worst``: worst-case ``k`` (default 5) with the heuristic, against the worst of ``--random-n`` random
  ``k``-sets evaluated by the same engine.
* ``exact``: on case30 / case57 / case118, the MILP and enumeration for k ≤ 3: equal values, times.

Run::

    python benchmarks/bench_rank.py --part n2 --case case2869pegase --sample 200000
    python benchmarks/bench_rank.py --part n2 --case case2869pegase --full
    python benchmarks/bench_rank.py --part worst --case case2869pegase --k 5 --random-n 1000000
    python benchmarks/bench_rank.py --part exact --kmax 3
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _common import lightsim2grid_contingencies, load_case, machine, pandapower_loop

import svitlo
from svitlo.analyses.rank.sets import candidates, evaluate_sets
from svitlo.analyses.sweep.evaluate import make_context


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_n2(a) -> None:
    ctx = make_context(svitlo.parse_scenario({"grid": a.case}))
    cand = candidates(ctx, ["line", "trafo"])
    total = math.comb(cand.n, 2)
    print(f"{a.case}: {cand.n} branches -> {total:,} pairs")
    evaluate_sets(ctx, cand, np.array([[0, 1], [2, 3]]))  # warm-up: JIT (cached) and factorisation
    if a.full:
        from svitlo.analyses.rank.screen import screen

        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            out = screen(ctx, cand, 2, out=d, key={"bench": a.case})
            el = time.perf_counter() - t0
        sv_rate = total / el
        print(f"svitlo exhaustive N-2 through the run store: {total:,} pairs in {el:.1f} s "
              f"({sv_rate:,.0f} pairs/s), peak RSS {_rss_mb():,.0f} MB, computed {out.computed:,}")
    else:
        rng = np.random.default_rng(a.seed)
        m = min(a.sample, total)
        idx = np.sort(rng.choice(total, m, replace=False))
        pairs = _pairs_of(cand.n, idx)
        from svitlo.analyses.rank.pairs import evaluate_pairs, pair_plan

        t0 = time.perf_counter()
        plan = pair_plan(ctx, cand)
        t_plan = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast = [evaluate_pairs(ctx, cand, pairs[s:s + 100_000], plan) for s in range(0, m, 100_000)]
        el = time.perf_counter() - t0
        sv_rate = m / el
        t0 = time.perf_counter()
        ref = [evaluate_sets(ctx, cand, pairs[s:s + 100_000]) for s in range(0, m, 100_000)]
        el_ref = time.perf_counter() - t0
        same = all(np.allclose(f[k], r[k], rtol=1e-9, atol=1e-6) for f, r in zip(fast, ref) for k in r)
        print(f"svitlo (islands shortcut, plan {t_plan:.1f} s): {m:,} sampled pairs in {el:.1f} s "
              f"({sv_rate:,.0f} pairs/s) -> all {total:,} pairs extrapolated {t_plan + total / sv_rate:,.0f} s; "
              f"every pair solved: {m / el_ref:,.0f} pairs/s -> {total * el_ref / m:,.0f} s; rows equal: {same}; "
              f"peak RSS {_rss_mb():,.0f} MB (sampled, not a full run)")
    if not (a.pp_sample or a.ls_sample):
        return
    _grid, net, cg = load_case(a.case)
    rng = np.random.default_rng(a.seed + 1)
    br = [np.array(sorted(int(cand.idx[j]) for j in p)) for p in _pairs_of(cand.n, np.sort(
        rng.choice(total, max(a.pp_sample, a.ls_sample), replace=False)))]
    if a.pp_sample:
        per, _ = pandapower_loop(net, cg, br, np.arange(a.pp_sample))
        print(f"pandapower rundcpp loop: {a.pp_sample} pairs, {per * 1e3:.1f} ms each -> all pairs extrapolated "
              f"{total * per / 3600:,.1f} h; svitlo / pandapower = {sv_rate * per:,.0f}x")
    if a.ls_sample:
        from svitlo.engine.damage import damage_from_indices
        from svitlo.engine.state import evaluate_state

        gen0 = evaluate_state(cg, damage_from_indices(cg)).gen_p_mw
        try:
            el, _ = lightsim2grid_contingencies(net, cg, br[:a.ls_sample], gen0)
        except Exception as exc:  # noqa: BLE001 - report the other library's failure
            print(f"lightsim2grid: failed ({type(exc).__name__}: {exc})")
        else:
            rate = a.ls_sample / el
            print(f"lightsim2grid ContingencyAnalysisCPP (DC): {a.ls_sample} pairs in {el:.2f} s -> all pairs "
                  f"extrapolated {total / rate:,.0f} s; svitlo / lightsim2grid = {sv_rate / rate:,.1f}x")


def _pairs_of(n: int, idx: np.ndarray) -> np.ndarray:
    from svitlo.analyses.rank.screen import sets_at

    i = np.arange(n, dtype=np.int64)
    first = i * (2 * n - i - 1) // 2
    a = np.searchsorted(first, idx, side="right") - 1
    out = np.stack([a, idx - first[a] + a + 1], axis=1)
    assert n < 3 or (sets_at(n, 2, int(idx[0]), int(idx[0]) + 1) == out[:1]).all()
    return out


def part_worst(a) -> None:
    from svitlo.analyses.rank.run import _cut_pairs, _ev
    from svitlo.analyses.rank.search import worst_k

    ctx = make_context(svitlo.parse_scenario({"grid": a.case}))
    cand = candidates(ctx, ["line", "trafo"])
    ev = _ev(ctx, cand, "shed_mw", tiebreak=True)
    ev(np.array([[0] * a.k]))
    t0 = time.perf_counter()
    r = worst_k(ev, n=cand.n, k=a.k, beam=a.beam, time_limit_s=a.time_limit, n_random=a.n_random,
                pair_starts=_cut_pairs(ctx, cand))
    el = time.perf_counter() - t0
    print(f"heuristic worst k={a.k} on {a.case}: {r.best_value:,.1f} MW shed in {el:.1f} s "
          f"({r.evaluated:,} sets evaluated, local optimum: {r.local_optimum}) -> "
          f"{[str(cand.ids[j]) for j in r.best]}")
    rng = np.random.default_rng(a.seed + 7)
    t0 = time.perf_counter()
    best = 0.0
    for s in range(0, a.random_n, 100_000):
        m = min(100_000, a.random_n - s)
        sets = np.argsort(rng.random((m, cand.n)), axis=1)[:, :a.k] if cand.n <= 200 else \
            np.array([rng.choice(cand.n, a.k, replace=False) for _ in range(m)])
        best = max(best, float(evaluate_sets(ctx, cand, sets)["shed_mw"].max()))
    el2 = time.perf_counter() - t0
    print(f"random sweep: worst of {a.random_n:,} random {a.k}-sets {best:,.1f} MW in {el2:.1f} s; heuristic "
          f"{'>=' if r.best_value >= best - 1e-9 else '<'} random ({r.best_value / max(best, 1e-9):.2f}x)")


def part_exact(a) -> None:
    from svitlo.analyses.rank.exact import enumerate_worst_k, milp_worst_k

    for case in ("case30", "case57", "case118"):
        ctx = make_context(svitlo.parse_scenario({"grid": case}))
        cand = candidates(ctx, ["line", "trafo"])
        for k in range(1, a.kmax + 1):
            if math.comb(cand.n, k) > a.enum_limit:
                print(f"{case} k={k}: C({cand.n},{k}) = {math.comb(cand.n, k):,} > --enum-limit, brute force skipped")
                continue
            m = milp_worst_k(ctx, cand, k=k)
            e = enumerate_worst_k(ctx, cand, k=k)
            ok = abs(m.value - e.value) <= 1e-6
            print(f"{case} k={k}: MILP {m.value:,.2f} MW ({m.status}) in {m.seconds:.2f} s; brute force "
                  f"{e.value:,.2f} MW over {e.evaluated:,} sets in {e.seconds:.2f} s -> {'EQUAL' if ok else 'DIFFER'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["n2", "worst", "exact"], required=True)
    ap.add_argument("--case", default="case2869pegase")
    ap.add_argument("--full", action="store_true", help="n2: every pair through the run store")
    ap.add_argument("--sample", type=int, default=200_000, help="n2: pairs timed when not --full")
    ap.add_argument("--pp-sample", type=int, default=20)
    ap.add_argument("--ls-sample", type=int, default=2000)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--n-random", type=int, default=20_000, help="worst: random starts of the heuristic")
    ap.add_argument("--random-n", type=int, default=1_000_000, help="worst: random sweep to compare with")
    ap.add_argument("--time-limit", type=float, default=90.0)
    ap.add_argument("--kmax", type=int, default=3)
    ap.add_argument("--enum-limit", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    print(f"machine: {machine()}")
    {"n2": part_n2, "worst": part_worst, "exact": part_exact}[a.part](a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

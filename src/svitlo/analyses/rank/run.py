"""``rank``: what hurts most — exhaustive N-1/N-2, worst-case ``k`` (heuristic or exact), protect-first table.

Examples
--------
>>> r = rank({"grid": "case9"}, k=2, kinds=["line"])
>>> r.method, r.optimality["status"], r.scenarios_evaluated
('exhaustive', 'optimal', 36)
>>> sorted(r.to_dict())
['assets', 'k', 'method', 'metric', 'optimality', 'scenarios_evaluated', 'worst']
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from svitlo.analyses.rank.exact import enumerate_worst_k, milp_supported, milp_worst_k
from svitlo.analyses.rank.screen import pair_stats, screen, worst_rows
from svitlo.analyses.rank.search import worst_k
from svitlo.analyses.rank.sets import METRICS, Candidates, candidates, check_metric, evaluate_sets
from svitlo.analyses.rank.table import protect_first
from svitlo.analyses.sweep.evaluate import SweepContext, make_context
from svitlo.errors import ScenarioError

__all__ = ["rank", "RankResult", "Method"]

Method = Literal["auto", "exhaustive", "heuristic", "enumeration", "milp"]
#: Sets kept for the protect-first table (at least ``top``).
TABLE_SETS = 50


@dataclass(frozen=True, eq=False)
class RankResult:
    """Outcome of :func:`rank`.

    Attributes
    ----------
    worst
        The worst sets, worst first: ``assets`` (ids), ``value`` (the ranking metric) and every metric of
        :data:`svitlo.analyses.rank.sets.METRICS`.
    assets
        The protect-first table (:func:`svitlo.analyses.rank.table.protect_first`).
    optimality
        ``{"status": "optimal" | "heuristic", "gap": relative gap or None}``.
    """

    metric: str
    k: int
    method: str
    scenarios_evaluated: int
    worst: pd.DataFrame
    assets: pd.DataFrame
    optimality: dict[str, Any]
    run_dir: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``svitlo rank --json``."""
        def clean(v: Any) -> Any:
            if isinstance(v, (np.floating, float)):
                return None if not np.isfinite(v) else float(v)
            if isinstance(v, np.integer):
                return int(v)
            if isinstance(v, (list, tuple, np.ndarray)):
                return [clean(x) for x in v]
            return v

        return {"metric": self.metric, "k": self.k, "method": self.method,
                "scenarios_evaluated": int(self.scenarios_evaluated),
                "worst": [{c: clean(v) for c, v in row.items()} for row in self.worst.to_dict("records")],
                "assets": [{c: clean(v) for c, v in row.items()} for row in self.assets.to_dict("records")],
                "optimality": {k: clean(v) for k, v in self.optimality.items()}}


def _ev(ctx: SweepContext, cand: Candidates, metric: str, *, tiebreak: bool = False
        ) -> Callable[[np.ndarray], np.ndarray]:
    def ev(combos: np.ndarray) -> np.ndarray:
        m = evaluate_sets(ctx, cand, combos)
        v = np.asarray(m[metric], dtype=float)
        return np.column_stack([v, m["islands"]]) if tiebreak else v
    return ev


def _cut_pairs(ctx: SweepContext, cand: Candidates) -> np.ndarray:
    """Candidate-position pairs of branches that cut the intact grid (:mod:`svitlo.analyses.rank.cuts`)."""
    from svitlo.analyses.rank.cuts import cut_pairs

    cg = ctx.cg
    alive = cg.br_in_service & cg.bus_in_service[cg.br_f] & cg.bus_in_service[cg.br_t]
    pairs = cut_pairs(cg.n_bus, cg.br_f, cg.br_t, alive)
    pos = np.full(cg.n_branch, -1, dtype=np.int64)
    br = cand.cls == 1
    pos[cand.idx[br]] = np.flatnonzero(br)
    p = pos[pairs] if len(pairs) else np.zeros((0, 2), dtype=np.int64)
    return p[(p >= 0).all(axis=1)]


def _worst_frame(ctx: SweepContext, cand: Candidates, sets: list[tuple[int, ...]], k: int, metric: str
                 ) -> pd.DataFrame:
    if not sets:
        return pd.DataFrame(columns=["assets", "value", *METRICS])
    combos = np.array([list(s) + [-1] * (k - len(s)) for s in sets], dtype=np.int64)
    m = evaluate_sets(ctx, cand, combos)
    df = pd.DataFrame({"assets": [[str(cand.ids[j]) for j in s] for s in sets], "value": m[metric]})
    for name in METRICS:
        df[name] = m[name]
    df["facilities_without_grid"] = df["facilities_without_grid"].astype(int)
    return df


def rank(scenario: Any, *, k: int, kinds: Sequence[str] = ("line", "trafo"), metric: str = "shed_mw",
         method: Method = "auto", top: int = 20, out: str | os.PathLike | None = None, beam: int = 8,
         time_limit_s: float | None = None, enum_limit: int = 2_000_000, milp_max_buses: int = 600,
         n_random: int = 20_000,
         source: str = "scenario", progress: Callable[[int, int], None] | None = None) -> RankResult:
    """Rank the sets of ``k`` assets whose joint loss hurts most, and the assets to protect first.

    Parameters
    ----------
    scenario
        A scenario (object, dict or YAML path): grid, tiers, facilities and ``protected`` are used; its
        strikes are not (protected assets are never candidates).
    k
        Assets lost together (1 ≤ k ≤ number of candidates).
    kinds
        Candidate asset kinds (``line``, ``trafo``, ``branch``, ``bus``, ``gen``, ...).
    metric
        Ranking metric (:data:`svitlo.analyses.rank.sets.METRICS`).
    method
        ``exhaustive`` (k ≤ 2, through the run store), ``enumeration`` (all C(n, k) sets in memory),
        ``milp`` (attacker–defender MILP), ``heuristic`` (beam-greedy + swaps) or ``auto``: exhaustive for
        k ≤ 2, enumeration while C(n, k) ≤ ``enum_limit``, the MILP on grids of at most ``milp_max_buses``
        buses where it applies, else the heuristic.
    top
        Worst sets reported.
    out
        Run folder: exhaustive rows (resumable), ``worst.parquet``, ``assets.parquet``, ``rank.json``.
    beam, time_limit_s, n_random
        Heuristic beam width; time limit (s) of the heuristic's local search or of the MILP (default 300);
        random sets sampled (seeded by the scenario's ``seed``) as extra starting points of the heuristic.
    """
    from svitlo.pipeline import as_scenario

    sc = as_scenario(scenario)
    ctx = make_context(sc)
    check_metric(ctx, metric, source=source)
    cand = candidates(ctx, list(kinds), source=source)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1 or k > cand.n:
        raise ScenarioError(f"k must be between 1 and the number of eligible assets of kinds {list(kinds)} "
                            f"({cand.n})", source=source, field="k", value=k)
    if top < 1:
        raise ScenarioError("must be at least 1", source=source, field="top", value=top)
    if method not in ("auto", "exhaustive", "heuristic", "enumeration", "milp"):
        raise ScenarioError("unknown method", source=source, field="method", value=method)
    if method == "auto":
        why = milp_supported(ctx, cand, metric)
        method = ("exhaustive" if k <= 2 else "enumeration" if math.comb(cand.n, k) <= enum_limit
                  else "milp" if why is None and ctx.cg.n_bus <= milp_max_buses else "heuristic")
    if method == "exhaustive" and k > 2:
        raise ScenarioError("exhaustive screening covers k = 1 and 2; use enumeration, milp or heuristic",
                            source=source, field="k", value=k)
    keep = max(top, TABLE_SETS)
    key = {"analysis": "rank", "scenario": json.loads(json.dumps(sc.model_dump(mode="json"), sort_keys=True)),
           "kinds": sorted(kinds)}
    n2w = n2m = None
    n1 = _ev(ctx, cand, metric)(np.arange(cand.n)[:, None])
    run_dir = Path(out) if out is not None else None
    info: dict[str, Any] = {"candidates": cand.n}
    if method == "exhaustive":
        with tempfile.TemporaryDirectory(prefix="svitlo-rank-") as tmp:
            folder = run_dir / "rows" if run_dir is not None else Path(tmp)
            so = screen(ctx, cand, k, out=folder, key=key, progress=progress)
            wr = worst_rows(folder, metric, keep)
            sets = [tuple(int(x) for x in (r.asset_0, r.asset_1) if x >= 0) for r in wr.itertuples()]
            ranked = list(zip(sets, wr[metric].astype(float).tolist()))
            if k == 2:
                ps = pair_stats(folder, metric)
                n2w, n2m = np.full(cand.n, np.nan), np.full(cand.n, np.nan)
                n2w[ps["position"].to_numpy(int)] = ps["n2_worst"].to_numpy(float)
                n2m[ps["position"].to_numpy(int)] = ps["n2_mean"].to_numpy(float)
            info.update(run_id=so.run_id, computed=so.computed, seconds=so.seconds)
        evaluated, opt = so.n, {"status": "optimal", "gap": 0.0}
    elif method in ("enumeration", "milp"):
        if method == "milp":
            why = milp_supported(ctx, cand, metric)
            if why:
                raise ScenarioError(why, source=source, field="method", value="milp")
            res = milp_worst_k(ctx, cand, k=k, metric=metric, time_limit_s=time_limit_s or 300.0)
            info["milp_objective"] = res.objective
        else:
            res = enumerate_worst_k(ctx, cand, k=k, metric=metric, keep=keep)
        ranked, evaluated = res.top, res.evaluated
        opt = {"status": "optimal" if res.status == "optimal" else "heuristic", "gap": res.gap}
        info["seconds"] = res.seconds
    else:
        sr = worst_k(_ev(ctx, cand, metric, tiebreak=True), n=cand.n, k=k, beam=beam, keep=keep,
                     time_limit_s=time_limit_s, n_random=n_random, seed=sc.seed, pair_starts=_cut_pairs(ctx, cand))
        ranked, evaluated = sr.top, sr.evaluated + cand.n
        opt = {"status": "heuristic", "gap": None}
        info.update(seconds=sr.seconds, local_optimum=sr.local_optimum, rounds=sr.rounds)
    worst = _worst_frame(ctx, cand, [s for s, _ in ranked[:top]], k, metric)
    table = protect_first(cand.ids, ranked, n1=n1, n2_worst=n2w, n2_mean=n2m)
    result = RankResult(metric=metric, k=int(k), method=method, scenarios_evaluated=int(evaluated), worst=worst,
                        assets=table, optimality=opt, run_dir=run_dir, info=info)
    if run_dir is not None:
        _write(run_dir, result)
    return result


def _write(d: Path, r: RankResult) -> None:
    from svitlo.store.runstore import _atomic_write_bytes

    d.mkdir(parents=True, exist_ok=True)
    for name, df in (("worst.parquet", r.worst), ("assets.parquet", r.assets)):
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        _atomic_write_bytes(d / name, buf.getvalue())
    _atomic_write_bytes(d / "rank.json", json.dumps(r.to_dict(), indent=1).encode())

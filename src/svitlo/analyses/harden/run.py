"""``harden``: which assets to protect within a budget, evaluated out of sample and against baselines.

Examples
--------
>>> sc = {"grid": "case14", "seed": 1, "strikes": [{"random": {"k": 3}}]}
>>> r = harden(sc, budget=2, n=200, n_oos=200)
>>> len(r.protected) <= 2, r.out_of_sample["n"], sorted(r.baselines)
(True, 200, ['degree', 'flow', 'protect_first'])
>>> r.out_of_sample["after"] <= r.out_of_sample["before"]
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from svitlo.analyses.harden.baselines import baseline_scores, pick
from svitlo.analyses.harden.exact import milp_plan
from svitlo.analyses.harden.greedy import greedy_plan
from svitlo.analyses.harden.objective import ci95, objective
from svitlo.analyses.harden.scenario_set import ScenarioSet, draw_set, from_lists, values_with
from svitlo.analyses.rank.sets import check_metric
from svitlo.analyses.sweep.evaluate import SweepContext, make_context
from svitlo.errors import ScenarioError

__all__ = ["harden", "HardenResult", "read_costs"]

HardenMethod = Literal["greedy", "milp", "dad"]


@dataclass(frozen=True, eq=False)
class HardenResult:
    """A protection plan and how it does: in sample, out of sample (fresh seeds, ``n``, 95 % CI of the
    objective after protection, and of the reduction) and against the baselines (out of sample, after)."""

    protected: list[str]
    budget: float
    objective: str
    metric: str
    method: str
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any]
    baselines: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``svitlo harden --json``."""
        return {"protected": self.protected, "budget": self.budget, "objective": self.objective,
                "metric": self.metric, "method": self.method, "in_sample": self.in_sample,
                "out_of_sample": self.out_of_sample, "baselines": self.baselines}

    def report_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` with ``info`` (JSON-safe): what ``harden.json`` holds and the HTML report reads."""
        return json.loads(json.dumps({**self.to_dict(), "info": self.info}, default=_jsonable))


def read_costs(path: str | os.PathLike, ctx: SweepContext) -> dict[str, float]:
    """Protection cost per asset from a CSV with columns ``id`` and ``cost`` (canonical ids)."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ScenarioError("file not found", source=str(p))
    try:
        df = pd.read_csv(p)
    except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
        raise ScenarioError(f"not a readable CSV: {exc}", source=str(p)) from None
    for col in ("id", "cost"):
        if col not in df.columns:
            raise ScenarioError("required column missing", source=str(p), field=col)
    out: dict[str, float] = {}
    for i, (aid, c) in enumerate(zip(df["id"].astype(str), df["cost"])):
        try:
            cls, j = ctx.cg.asset(aid)
        except Exception:  # noqa: BLE001 - GridError: unknown id
            raise ScenarioError(f"unknown asset id (row {i + 1})", source=str(p), field="id", value=aid) from None
        try:
            c = float(c)
        except (TypeError, ValueError):
            raise ScenarioError(f"not a number (row {i + 1})", source=str(p), field="cost", value=c) from None
        if not np.isfinite(c) or c < 0:
            raise ScenarioError(f"cost must be a finite non-negative number (row {i + 1})", source=str(p),
                                field="cost", value=c)
        canon = {"bus": ctx.cg.bus_ids, "branch": ctx.cg.branch_ids, "gen": ctx.cg.gen_ids,
                 "load": ctx.cg.load_ids}[cls][j]
        out[str(canon)] = c
    return out


def _in_sample(ctx: SweepContext, sc: Any, *, n: int, root: int, metric: str, out: Path | None) -> ScenarioSet:
    if out is None:
        return draw_set(ctx, n=n, root_seed=root, metric=metric)
    from svitlo.analyses.sweep import open_run, sweep

    sweep(sc, n=n, out=out / "scenarios", root_seed=root)  # stored rows, resumable
    rows = open_run(out / "scenarios").scenarios().sort_values("scenario")
    base = (rows[metric].map(len) if metric == "facilities_without_grid" else rows[metric]).to_numpy(float)
    return from_lists(ctx, [list(x) for x in rows["destroyed"]], metric=metric, seeds=rows["seed"].to_numpy(),
                      base=base)


def harden(scenario: Any, *, budget: float, objective_kind: str = "expected", metric: str = "shed_mw",
           n: int = 1000, n_oos: int | None = None, seed: int | None = None, method: HardenMethod = "greedy",
           costs: Mapping[str, float] | None = None, out: str | os.PathLike | None = None,
           time_limit_s: float = 300.0, attack_k: int | None = None,
           kinds: tuple[str, ...] = ("line", "trafo"), source: str = "scenario") -> HardenResult:
    """Choose up to ``budget`` assets (or within ``budget`` money with ``costs``) to protect.

    Parameters
    ----------
    scenario
        A scenario (object, dict or YAML path) whose strikes define the distribution sampled.
    objective_kind
        ``expected``, ``cvar95`` or ``worst`` of ``metric`` over the scenario set.
    n, n_oos, seed
        In-sample scenarios (sweep seeds ``0 … n-1`` of root ``seed``, default the scenario's); out-of-sample
        scenarios (default ``n``), the fresh seeds ``n … n + n_oos - 1`` of the same stream.
    method
        ``greedy`` (lazy, any size), ``milp`` (exact sample average, small cases) or ``dad`` (objective
        ``worst`` only: defender–attacker–defender over every attack of ``attack_k`` assets of ``kinds``,
        :mod:`svitlo.analyses.harden.dad`; small grids). With ``dad`` the in-sample figures are the certified
        worst attack before and after, and ``info["baselines_worst_k"]`` holds each baseline's worst attack.
    costs
        Cost per asset id (assets missing from it cannot be protected); ``budget`` is then money.
    out
        Folder for the in-sample scenario rows (a sweep run: resumable) and ``harden.json``.
    """
    from svitlo.pipeline import as_scenario

    sc = as_scenario(scenario)
    ctx = make_context(sc)
    check_metric(ctx, metric, source=source)
    if objective_kind not in ("expected", "cvar95", "worst"):
        raise ScenarioError("unknown objective; expected expected, cvar95 or worst", source=source,
                            field="objective", value=objective_kind)
    if not np.isfinite(budget) or budget < 0:
        raise ScenarioError("the budget must be a non-negative number", source=source, field="budget",
                            value=budget)
    if method not in ("greedy", "milp", "dad"):
        raise ScenarioError("unknown method; expected greedy, milp or dad", source=source, field="method",
                            value=method)
    if method == "dad" and objective_kind != "worst":
        raise ScenarioError("the dad method minimises the worst attack (objective: worst)", source=source,
                            field="objective", value=objective_kind)
    if method == "dad" and (attack_k is None or isinstance(attack_k, bool) or int(attack_k) < 1):
        raise ScenarioError("the dad method needs the attack size, at least 1", source=source, field="k",
                            value=attack_k)
    if n < 1 or (n_oos is not None and n_oos < 1):
        raise ScenarioError("must be at least 1", source=source, field="n", value=n if n < 1 else n_oos)
    if not sc.strikes:
        raise ScenarioError("hardening needs strikes to sample (scenario key 'strikes')", source=source,
                            field="strikes", value=[])
    root = int(sc.seed if seed is None else seed)
    d = Path(out) if out is not None else None
    ss = _in_sample(ctx, sc, n=int(n), root=root, metric=metric, out=d)
    cost = None
    elig = None
    if costs is not None:
        cost = np.array([costs.get(str(a), np.inf) for a in ss.assets.ids])
        elig = np.isfinite(cost)
        cost = np.where(elig, cost, 0.0)
    before_in = objective(ss.base, objective_kind)
    n_in = ss.n
    info: dict[str, Any]
    if method == "dad":
        chosen_ids, before_in, after_in, n_in, info = _dad(ctx, budget=budget, k=int(attack_k or 1), kinds=kinds,
                                                           metric=metric, costs=costs, source=source,
                                                           time_limit_s=time_limit_s)
        plan = chosen_ids
    elif method == "milp":
        mp = milp_plan(ctx, ss, budget=budget, objective=objective_kind, costs=cost, eligible=elig,
                       time_limit_s=time_limit_s)
        plan, after_in = [str(ss.assets.ids[a]) for a in mp.chosen], mp.value
        info = {"status": mp.status, "gap": mp.gap, "outcomes": mp.outcomes, "seconds": mp.seconds}
    else:
        g = greedy_plan(ctx, ss, budget=budget, objective=objective_kind, costs=cost, eligible=elig)
        plan, after_in = [str(ss.assets.ids[a]) for a in g.chosen], g.after
        info = {"rows_evaluated": g.evaluated, "gains": g.gains}
    # out of sample: fresh seeds of the same stream
    m_oos = int(n if n_oos is None else n_oos)
    oos = draw_set(ctx, n=m_oos, root_seed=root, metric=metric, start=int(n))
    pos = {a: j for j, a in enumerate(oos.assets.ids)}

    def after(ids: list[str]) -> np.ndarray:
        return values_with(ctx, oos, [pos[a] for a in ids if a in pos]) if any(a in pos for a in ids) \
            else oos.base.copy()

    v_after = after(plan)
    scores = baseline_scores(ctx, ss)
    base_plans = {k: [str(ss.assets.ids[a]) for a in pick(s, budget=budget, costs=cost, eligible=elig)]
                  for k, s in scores.items()}
    baselines = {k: objective(after(p), objective_kind) for k, p in base_plans.items()}
    if method == "dad":
        info["baselines_worst_k"] = _worst_k_of(ctx, base_plans, k=int(attack_k or 1), kinds=kinds, metric=metric)
    lo, hi = ci95(v_after, objective_kind)
    red = oos.base - v_after
    rlo, rhi = ci95(red, "expected") if objective_kind == "expected" else _paired_boot(oos.base, v_after,
                                                                                        objective_kind)
    res = HardenResult(
        protected=plan, budget=float(budget), objective=objective_kind, metric=metric, method=method,
        in_sample={"n": n_in, "before": before_in, "after": after_in},
        out_of_sample={"n": m_oos, "before": objective(oos.base, objective_kind),
                       "after": objective(v_after, objective_kind), "ci95": [lo, hi],
                       "reduction_ci95": [rlo, rhi], "seeds": f"{n}…{n + m_oos - 1} of root {root}"},
        baselines=baselines, info={**info, "baseline_plans": base_plans})
    if d is not None:
        from svitlo.store.runstore import _atomic_write_bytes

        d.mkdir(parents=True, exist_ok=True)
        _atomic_write_bytes(d / "harden.json", json.dumps(res.report_dict(), indent=1).encode())
    return res


def _dad(ctx: SweepContext, *, budget: float, k: int, kinds: tuple[str, ...], metric: str,
         costs: Mapping[str, float] | None, source: str, time_limit_s: float):
    import math

    from svitlo.analyses.harden.dad import dad_plan
    from svitlo.analyses.rank.sets import candidates

    cand = candidates(ctx, list(kinds), source=source)
    if k > cand.n:
        raise ScenarioError(f"the attack size exceeds the {cand.n} eligible assets of kinds {list(kinds)}",
                            source=source, field="k", value=k)
    cost = elig = None
    if costs is not None:
        cost = np.array([costs.get(str(a), np.inf) for a in cand.ids])
        elig = np.isfinite(cost)
        cost = np.where(elig, cost, 0.0)
    dp = dad_plan(ctx, cand, k=k, budget=budget, metric=metric, costs=cost, eligible=elig,
                  time_limit_s=max(time_limit_s, 1.0))
    info = {"status": dp.status, "gap": dp.gap, "iterations": dp.iterations, "seconds": dp.seconds,
            "oracle_seconds": dp.oracle_seconds, "attack_k": k, "kinds": list(kinds),
            "worst_attack_after": [str(cand.ids[j]) for j in dp.attack]}
    return ([str(cand.ids[j]) for j in dp.chosen], dp.before, dp.value, math.comb(cand.n, k), info)


def _worst_k_of(ctx: SweepContext, plans: dict[str, list[str]], *, k: int, kinds: tuple[str, ...], metric: str
                ) -> dict[str, float]:
    from svitlo.analyses.harden.dad import worst_attack
    from svitlo.analyses.rank.sets import candidates

    cand = candidates(ctx, list(kinds))
    pos = {str(a): j for j, a in enumerate(cand.ids)}
    return {name: worst_attack(ctx, cand, k=k, protected=[pos[a] for a in p if a in pos], metric=metric)[1]
            for name, p in plans.items()}


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _paired_boot(before: np.ndarray, after: np.ndarray, kind: str, *, n_boot: int = 1000,
                 seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    d = []
    for _ in range(n_boot):
        i = rng.integers(0, before.size, before.size)
        d.append(objective(before[i], kind) - objective(after[i], kind))
    return float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))

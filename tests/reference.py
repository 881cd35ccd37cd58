"""Reference solvers for cross-checks: pandapower ``rundcpp`` on the same state as a svitlo result."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp


def pandapower_dc_flows(net, impact, *, destroyed_branches=()) -> dict[str, float]:
    """Run pandapower ``rundcpp`` with svitlo's dispatch and the given branches out; flows by branch id (MW).

    The net is copied, never modified. Generators get svitlo's dispatch; the slack (ext_grid) balances, which
    equals svitlo's own slack output when svitlo's per-island balance holds.
    """
    work = copy.deepcopy(net)
    disp = dict(zip(impact.generators["id"], impact.generators["p_mw"]))
    for kind in ("gen", "sgen"):
        df = getattr(work, kind)
        if len(df):
            df["p_mw"] = [disp[f"{kind}:{i}"] for i in df.index]
            if "scaling" in df:
                df["scaling"] = 1.0
    # several external grids in one island would each hold a fixed angle; keep the first as the slack and
    # give the others svitlo's dispatch as fixed injections (the caller checks one-island states)
    for i in list(work.ext_grid.index[work.ext_grid["in_service"].astype(bool)])[1:]:
        pp.create_sgen(work, int(work.ext_grid.at[i, "bus"]), p_mw=float(disp[f"ext_grid:{i}"]))
        work.ext_grid.loc[i, "in_service"] = False
    for b in destroyed_branches:
        kind, idx = b.split(":")
        getattr(work, kind).loc[int(idx), "in_service"] = False
    pp.rundcpp(work)
    out = {}
    for i, p in zip(work.line.index, work.res_line["p_from_mw"].to_numpy()):
        out[f"line:{i}"] = float(p)
    for i, p in zip(work.trafo.index, work.res_trafo["p_hv_mw"].to_numpy()):
        out[f"trafo:{i}"] = float(p)
    return out


def max_flow_error(impact, ref: dict[str, float]) -> float:
    fl = dict(zip(impact.branches["id"], impact.branches["flow_mw"]))
    err = [abs(fl[k] - np.nan_to_num(v)) for k, v in ref.items()]
    return float(max(err)) if err else 0.0


def pandapower_dc_flows_split(net, impact, destroyed) -> dict[str, float]:
    """``rundcpp`` on a split grid with svitlo's per-island result: destroyed assets and the buses of dark islands
    out of service, every load and shunt at svitlo's served MW, every unit at svitlo's dispatch, and one slack
    per lit island (its external grid, else its first online generator); flows by branch id (MW).

    In a connected DC island flows are unique given the injections, so they must equal svitlo's wherever svitlo
    balances each island exactly (the slack then carries svitlo's own dispatch).
    """
    w = copy.deepcopy(net)
    gens = impact.generators.set_index("id")
    loads = impact.loads.set_index("id")
    island = impact.buses.set_index("id")["island"]
    lit = set(impact.islands.loc[impact.islands["energised"], "id"])
    held: set[int] = set()
    for i in w.load.index:
        w.load.loc[i, ["p_mw", "scaling"]] = [float(loads.loc[f"load:{i}", "served_mw"]), 1.0]
    for i in w.shunt.index:
        if f"shunt:{i}" in loads.index:
            w.shunt.loc[i, "p_mw"] = float(loads.loc[f"shunt:{i}", "served_mw"]) / float(w.shunt.at[i, "step"])
    for i in w.ext_grid.index:
        g, isl = gens.loc[f"ext_grid:{i}"], island[f"bus:{w.ext_grid.at[i, 'bus']}"]
        if g["online"] and isl in lit and isl not in held:
            held.add(isl)
            continue
        if g["online"] and isl in lit:
            pp.create_sgen(w, int(w.ext_grid.at[i, "bus"]), p_mw=float(g["p_mw"]))
        w.ext_grid.loc[i, "in_service"] = False
    for i in w.gen.index:
        g, isl = gens.loc[f"gen:{i}"], island[f"bus:{w.gen.at[i, 'bus']}"]
        w.gen.loc[i, ["p_mw", "scaling", "in_service"]] = [float(g["p_mw"]), 1.0, bool(g["online"])]
        if g["online"] and isl in lit and isl not in held:
            w.gen.loc[i, "slack"] = True
            held.add(isl)
    for i in w.sgen.index:
        g = gens.loc[f"sgen:{i}"]
        w.sgen.loc[i, ["p_mw", "scaling"]] = [float(g["p_mw"]) if g["online"] else 0.0, 1.0]
    for a in destroyed:
        kind, j = a.split(":")
        if kind in ("line", "trafo", "bus"):
            getattr(w, kind).loc[int(j), "in_service"] = False
    dark = [int(b.split(":")[1]) for b, isl in island.items() if isl not in lit]
    w.bus.loc[dark, "in_service"] = False
    pp.rundcpp(w)
    out = {f"line:{i}": float(p) for i, p in zip(w.line.index, w.res_line["p_from_mw"].to_numpy())}
    out.update({f"trafo:{i}": float(p) for i, p in zip(w.trafo.index, w.res_trafo["p_hv_mw"].to_numpy())})
    return out

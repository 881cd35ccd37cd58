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

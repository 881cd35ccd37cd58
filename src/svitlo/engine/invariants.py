"""Physics invariants every result must satisfy; used as test oracles and available to users.

* per energised island: generation = served load (power balance);
* per load: 0 <= shed <= demand, served <= demand;
* load = served + shed, per island and in total;
* de-energised islands generate and serve nothing;
* branch flows conserve power at every bus: ``A^T f = injection``.

Examples
--------
>>> import svitlo
>>> check_impact(svitlo.assess("case9", {"strikes": [{"assets": ["bus:4"]}]}))
"""

from __future__ import annotations

import numpy as np

from svitlo.engine.impact import Impact
from svitlo.errors import SolverError

__all__ = ["check_impact"]


def check_impact(imp: Impact, *, tol_mw: float = 1e-6) -> None:
    """Raise :class:`SolverError` naming the first broken invariant of ``imp``."""
    isl = imp.islands
    scale = max(1.0, float(imp.metrics["load_mw"]))
    tol = tol_mw * scale
    en = isl["energised"].to_numpy(bool)
    gen = isl["generation_mw"].to_numpy(float)
    served = isl["served_mw"].to_numpy(float)
    bad = np.flatnonzero(en & (np.abs(gen - served) > tol))
    if bad.size:
        i = int(bad[0])
        raise SolverError(f"power balance broken in island {i}: generation {gen[i]} MW != served {served[i]} MW")
    bad = np.flatnonzero(~en & ((np.abs(gen) > tol) | (np.abs(served) > tol)))
    if bad.size:
        raise SolverError(f"de-energised island {int(bad[0])} generates or serves power")
    # accounting: every megawatt of load is served or shed, per island and in total (negative loads count
    # with the injection they deliver)
    m = imp.metrics
    if abs(m["load_mw"] - m["served_mw"] - m["shed_mw"]) > tol:
        raise SolverError(f"load {m['load_mw']} MW != served {m['served_mw']} MW + shed {m['shed_mw']} MW")
    gap = isl["load_mw"].to_numpy(float) - served - isl["shed_mw"].to_numpy(float)
    bad = np.flatnonzero(np.abs(gap) > tol)
    if bad.size:
        raise SolverError(f"island {int(bad[0])}: load != served + shed (by {gap[bad[0]]} MW)")
    ld = imp.loads
    p = ld["p_mw"].to_numpy(float)
    shed = ld["shed_mw"].to_numpy(float)
    srv = ld["served_mw"].to_numpy(float)
    pos = p > 0
    if np.any(shed < -tol_mw) or np.any(shed[pos] > p[pos] + tol_mw) or np.any(srv[pos] > p[pos] + tol_mw):
        raise SolverError("a load has shed < 0, shed > demand or served > demand")
    if np.any(np.abs(srv[pos] + shed[pos] - p[pos]) > tol_mw):
        raise SolverError("served + shed != demand for some load")
    # flow conservation at every bus
    br = imp.branches
    bus_pos = {b: i for i, b in enumerate(imp.buses["id"])}
    nb = len(bus_pos)
    f = br["from_bus"].map(bus_pos).to_numpy()
    t = br["to_bus"].map(bus_pos).to_numpy()
    fl = br["flow_mw"].to_numpy(float)
    net = np.bincount(f, weights=fl, minlength=nb) - np.bincount(t, weights=fl, minlength=nb)
    inj = np.bincount(imp.generators["bus"].map(bus_pos).to_numpy(), weights=imp.generators["p_mw"].to_numpy(float),
                      minlength=nb)
    inj -= np.bincount(ld["bus"].map(bus_pos).to_numpy(), weights=srv, minlength=nb)
    # phase shifters inject equal and opposite amounts at their ends; flows already include them
    if np.max(np.abs(net - inj), initial=0.0) > tol:
        i = int(np.argmax(np.abs(net - inj)))
        raise SolverError(f"flows do not balance the injection at bus {imp.buses['id'].iloc[i]}: "
                          f"{net[i]} MW out vs {inj[i]} MW injected")

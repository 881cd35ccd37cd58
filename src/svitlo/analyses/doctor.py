"""``doctor``: what svitlo will assume about a grid someone brings, before any strike.

Each :class:`Finding` names the assets concerned and what svitlo does about them. Severities:

* ``error``: results would be meaningless (no unit can energise any island; total capacity below zero load);
* ``warning``: results depend on an assumption the user should confirm (dark islands before any strike,
  negative reactances, generators without a capacity limit, units with ``p_max = 0`` that form islands, a
  system base that differs from the source's, reactances far off a per-unit scale);
* ``info``: gaps svitlo fills with a default (unrated branches, generators without costs, loads without
  population, buses without coordinates).

Examples
--------
>>> import svitlo
>>> f = diagnose(svitlo.load_grid("case9"))
>>> sorted({x.code for x in f})
['no_coordinates']
>>> worst_severity(f)
'info'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from svitlo.model.compiled import compile_grid
from svitlo.model.grid import Grid
from svitlo.topology.islands import islands

__all__ = ["Finding", "diagnose", "worst_severity", "SEVERITIES"]

Severity = Literal["error", "warning", "info"]
#: Severities from worst to mildest.
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
_MAX_IDS = 20


@dataclass(frozen=True)
class Finding:
    """One finding: a ``code``, its ``severity``, what was found, the asset ids concerned (the first
    ``_MAX_IDS``; ``count`` says how many in all) and what svitlo assumes."""

    code: str
    severity: Severity
    message: str
    assets: tuple[str, ...]
    count: int
    assumption: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["assets"] = list(self.assets)
        return d


def _f(code: str, severity: Severity, message: str, ids: Any, assumption: str) -> Finding:
    ids = [str(i) for i in ids]
    return Finding(code, severity, message, tuple(ids[:_MAX_IDS]), len(ids), assumption)


def worst_severity(findings: list[Finding]) -> str:
    """``"error"``, ``"warning"``, ``"info"`` or ``"ok"`` (no finding)."""
    for s in SEVERITIES:
        if any(f.severity == s for f in findings):
            return s
    return "ok"


def diagnose(grid: Grid) -> list[Finding]:
    """Findings on ``grid`` in its intact state, worst first (pure)."""
    cg = compile_grid(grid)
    out: list[Finding] = []
    gens, loads, br = grid.generators, grid.loads, grid.branches
    g_on = cg.gen_in_service & cg.bus_in_service[cg.gen_bus]
    forms = g_on & cg.gen_forms_island
    if not forms.any():
        out.append(_f("no_forming_unit", "error", "no in-service generator can form an island: every island is dark",
                      gens.index[g_on], "nothing is ever energised; every load counts as shed"))
    labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, cg.br_in_service, cg.bus_in_service)
    if n > 1:
        out.append(_f("islands", "info", f"the intact grid has {n} islands", [], "islands are solved separately"))
    energised = np.zeros(n, dtype=bool)
    gi = labels[cg.gen_bus[forms]]
    energised[gi[gi >= 0]] = True
    dark = (labels >= 0) & ~energised[np.maximum(labels, 0)]
    if dark.any() and forms.any():
        out.append(_f("dark_islands", "warning",
                      f"{int(dark.sum())} buses lie in islands without an island-forming unit before any strike",
                      cg.bus_ids[dark], "they are dark from the start; their load counts as shed in every result"))
    ld_on = cg.load_in_service & (cg.load_p_mw > 0)
    cap = np.where(np.isfinite(cg.gen_p_max_mw), cg.gen_p_max_mw, np.inf)[g_on].sum()
    load = float(cg.load_p_mw[cg.load_in_service].sum())
    if cap < load - 1e-9:
        out.append(_f("short_of_capacity", "warning",
                      f"in-service capacity {cap:,.1f} MW is below the load {load:,.1f} MW", [],
                      "the intact grid already sheds load by priority tier"))
    neg_x = br.index[(br["x_pu"].to_numpy(float) < 0)]
    if len(neg_x):
        out.append(_f("negative_reactance", "warning", "branches with negative reactance (series compensation?)",
                      neg_x, "used as given in the DC model; check they are not sign errors"))
    x = np.abs(br["x_pu"].to_numpy(float))
    if x.size and (np.median(x) > 1.0 or np.median(x) < 1e-4):
        out.append(_f("reactance_scale", "warning",
                      f"median |x_pu| is {np.median(x):.3g}: reactances may be on a different base than "
                      f"base_mva = {grid.base_mva:g}", [], "reactances are read as per unit on base_mva"))
    net = getattr(grid, "source_net", None)
    sn = float(getattr(net, "sn_mva", grid.base_mva)) if net is not None else grid.base_mva
    if not np.isclose(sn, grid.base_mva):
        out.append(_f("base_mva_mismatch", "warning", f"the source network's sn_mva is {sn:g}, the compiled base "
                      f"{grid.base_mva:g} MVA", [], "per-unit values follow the compiled base"))
    no_cap = gens.index[g_on & np.isinf(cg.gen_p_max_mw) & (gens["kind"].to_numpy() != "ext_grid")]
    if len(no_cap):
        out.append(_f("unlimited_generator", "warning", "generators without a capacity limit", no_cap,
                      "they can supply any amount: islands holding them never shed"))
    # the grid table says "forms islands"; compile_grid already refuses that to units of zero capacity
    zero_forming = gens.index[g_on & gens["forms_island"].to_numpy(bool) & (cg.gen_p_max_mw <= 0)]
    if len(zero_forming):
        out.append(_f("zero_capacity_forming", "warning", "units with p_max = 0 are marked as forming islands",
                      zero_forming, "svitlo never lets them form an island alone "
                                    "(synchronous condensers?): an island holding only them is dark"))
    unrated = br.index[np.isinf(cg.br_rate_mw) & cg.br_in_service]
    if len(unrated):
        out.append(_f("unrated_branches", "info", "branches without a rating (missing or a 'no rating' placeholder)",
                      unrated, "never overloaded, never tripped by a cascade, unconstrained in opf"))
    no_cost = ~cg.gen_cost.astype(bool) & ~cg.gen_cost_c2.astype(bool) & ~cg.gen_cost_c0.astype(bool)
    no_cost[list(cg.gen_pwl)] = False
    if (no_cost & g_on).any():
        out.append(_f("no_cost", "info", "generators without a cost curve", gens.index[no_cost & g_on],
                      "free in opf's cost stage: any dispatch among them is optimal"))
    no_pop = loads.index[ld_on & (cg.load_population <= 0) & (loads["kind"].to_numpy() == "load")
                         & ~loads.index.str.startswith("load:facility:")]
    if len(no_pop):
        out.append(_f("no_population", "info", "loads without population", no_pop,
                      "people without power count nobody there; set people_per_mw or population in the scenario"))
    no_xy = grid.buses.index[~(np.isfinite(cg.bus_lat) & np.isfinite(cg.bus_lon))]
    if len(no_xy):
        out.append(_f("no_coordinates", "info", "buses without coordinates", no_xy,
                      "geographic strikes cannot reach them and facilities cannot snap to them"))
    return sorted(out, key=lambda f: SEVERITIES.index(f.severity))

"""The :class:`Impact` of a scenario: labelled tables and metrics built from an evaluated state.

Tables (pandas, one row per asset or island):

* ``islands``: id, buses, energised, capacity_mw, generation_mw, load_mw, served_mw, shed_mw, population,
  people_without_power, reason (why a dark island is dark, :data:`svitlo.engine.viability.REASONS`), deficit_mw
  (sudden deficit at separation), nadir_hz, peak_hz (after a surplus), ufls_stages, ufls_shed_mw, units_decommitted
* ``branches``: id, kind, from_bus, to_bus, in_service, destroyed, island, b_pu (DC susceptance
  ``1/(x_pu tap_ratio)`` on ``info["base_mva"]``), shift_deg, flow_mw, rate_mw, loading_percent, overloaded
* ``generators``: id, kind, bus, island, alive, online (committed in an energised island), forms_island,
  p_min_mw, p_max_mw, p_mw (dispatch after balancing)
* ``loads``: id, kind, bus, island, tier, p_mw, served_mw, shed_mw, population, people_without_power
* ``buses``: id, island, alive, energised, theta_deg, lat, lon

``extras`` holds further tables added by later stages (cascade steps, AC check, facilities, timeline).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from svitlo.engine.state import StateResult
from svitlo.model.compiled import CompiledGrid
from svitlo.model.outputs import loading_percent, overloaded
from svitlo.model.serialize import jsonable, records
from svitlo.model.tiers import tier_weight_array

__all__ = ["Impact", "build_impact", "IMPACT_FORMAT"]

#: Version of the JSON contract of :meth:`Impact.to_dict` (``docs/contracts.md``).
IMPACT_FORMAT = "svitlo-impact/1"


@dataclass(frozen=True, eq=False)
class Impact:
    """What a scenario does to a grid. Build with :func:`svitlo.assess`.

    Attributes
    ----------
    scenario, grid, mode
        Names, for reports.
    destroyed
        Canonical ids of the assets destroyed.
    metrics
        Scalars: ``load_mw``, ``served_mw``, ``shed_mw``, ``shed_mw_by_tier``, ``weighted_shed_mw``,
        ``generation_mw``, ``population``, ``people_without_power``, ``islands``, ``energised_islands``,
        ``overloaded_branches``, ``max_loading_percent``, ``destroyed_assets``, ``mode``; island viability (zero
        unless enabled): ``islands_collapsed`` (islands with load and a grid-forming unit that the viability rules
        leave dark), ``ufls_shed_mw``, ``units_decommitted`` (declared in
        :data:`svitlo.model.outputs.SCENARIO_METRICS`); read-only.
    extras, info
        Further tables by name and run information; read-only (complete when built).
    """

    scenario: str
    grid: str
    mode: str
    destroyed: tuple[str, ...]
    islands: pd.DataFrame
    branches: pd.DataFrame
    generators: pd.DataFrame
    loads: pd.DataFrame
    buses: pd.DataFrame
    metrics: Mapping[str, Any]
    extras: Mapping[str, pd.DataFrame] = field(default_factory=lambda: MappingProxyType({}))
    info: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def tables(self) -> dict[str, pd.DataFrame]:
        """All tables by name (core and extras)."""
        core = {"islands": self.islands, "branches": self.branches, "generators": self.generators,
                "loads": self.loads, "buses": self.buses}
        return {**core, **self.extras}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: scenario, grid, mode, destroyed, metrics, islands, branches, generators, loads,
        buses, extras and info."""
        out: dict[str, Any] = {"format": IMPACT_FORMAT, "scenario": self.scenario, "grid": self.grid,
                               "mode": self.mode,
                               "destroyed": list(self.destroyed), "metrics": jsonable(self.metrics)}
        for name, df in self.tables().items():
            out[name] = records(df)
        out["info"] = jsonable(self.info)
        return out

    def to_json(self, **kw: Any) -> str:
        """One JSON object (see :meth:`to_dict`); non-finite numbers become ``null``."""
        return json.dumps(self.to_dict(), allow_nan=False, **kw)

    def write_parquet(self, directory: str | Path) -> list[Path]:
        """Write every table as ``<name>.parquet`` and the metrics as ``metrics.json`` into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in self.tables().items():
            p = d / f"{name}.parquet"
            _parquet_safe(df).to_parquet(p, index=False)
            written.append(p)
        m = d / "metrics.json"
        m.write_text(json.dumps({"scenario": self.scenario, "grid": self.grid, "mode": self.mode,
                                 "destroyed": list(self.destroyed), "metrics": jsonable(self.metrics),
                                 "info": jsonable(self.info)}, indent=2, allow_nan=False))
        written.append(m)
        return written


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: v if v is None or isinstance(v, str) else json.dumps(jsonable(v)))
    return out


def build_impact(cg: CompiledGrid, r: StateResult, *, scenario: str = "scenario",
                 tier_weights: dict[int, float] | None = None, extras: Mapping[str, pd.DataFrame] | None = None,
                 info: Mapping[str, Any] | None = None) -> Impact:
    """Label the arrays of an evaluated state (pure). ``extras`` and ``info`` are added to the state's own
    (tables of later stages: cascade steps, AC check, facilities), so the Impact is complete when built."""
    dmg = r.damage
    labels = r.labels
    energised = r.energised
    bus_en = np.zeros(cg.n_bus, dtype=bool)
    alive_b = labels >= 0
    bus_en[alive_b] = energised[labels[alive_b]]

    # loads: destroyed or stranded loads are shed entirely
    demand = np.where(cg.load_in_service, cg.load_p_mw, 0.0)
    served = np.where(dmg.load_alive, r.load_served_mw, 0.0)
    # a negative load is an injection (a source modelled as negative demand): it is never shed and counts in
    # load_mw with what it delivers (0 when destroyed or in a dark island, less when curtailed), so that
    # load_mw = served_mw + shed_mw always, per island and in total
    counted = np.where(demand > 0, demand, served)
    shed = np.where(demand > 0, demand - served, 0.0)
    shed = np.clip(shed, 0.0, np.maximum(demand, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(demand > 0, shed / demand, 0.0)
    pop = np.where(cg.load_in_service, cg.load_population, 0.0)
    pwp = pop * frac
    l_isl = np.where(dmg.load_alive, labels[cg.load_bus], -1)
    loads = pd.DataFrame({
        "id": cg.load_ids, "kind": np.asarray([i.split(":", 1)[0] for i in cg.load_ids], dtype=object),
        "bus": cg.bus_ids[cg.load_bus], "island": l_isl, "tier": cg.load_tier,
        "p_mw": demand, "served_mw": served, "shed_mw": shed, "population": pop, "people_without_power": pwp,
    })

    g_isl = np.where(dmg.gen_alive, labels[cg.gen_bus], -1)
    online = dmg.gen_alive & (g_isl >= 0) & bus_en[cg.gen_bus]
    v = r.viability
    if v is not None:
        online = online & v.committed
    generators = pd.DataFrame({
        "id": cg.gen_ids, "kind": np.asarray([i.split(":", 1)[0] for i in cg.gen_ids], dtype=object),
        "bus": cg.bus_ids[cg.gen_bus], "island": g_isl, "alive": dmg.gen_alive,
        "online": online,
        "forms_island": cg.gen_forms_island, "p_min_mw": cg.gen_p_min_mw, "p_max_mw": cg.gen_p_max_mw,
        "p_mw": r.gen_p_mw,
    })

    destroyed_set = set(dmg.destroyed)
    rate = cg.br_rate_mw
    loading = loading_percent(r.flow_mw, rate)
    br_alive = dmg.branch_alive & (labels[cg.br_f] >= 0) & (labels[cg.br_t] >= 0)
    overload = br_alive & overloaded(loading)
    branches = pd.DataFrame({
        "id": cg.branch_ids, "kind": cg.branch_kind, "from_bus": cg.bus_ids[cg.br_f], "to_bus": cg.bus_ids[cg.br_t],
        "in_service": br_alive, "destroyed": np.array([b in destroyed_set for b in cg.branch_ids], dtype=bool),
        "island": np.where(br_alive, labels[cg.br_f], -1), "b_pu": cg.br_b_pu,
        "shift_deg": np.rad2deg(cg.br_shift_rad), "flow_mw": r.flow_mw, "rate_mw": rate,
        "loading_percent": loading, "overloaded": overload,
    })

    buses = pd.DataFrame({
        "id": cg.bus_ids, "island": labels, "alive": alive_b, "energised": bus_en,
        "theta_deg": np.rad2deg(r.theta_rad), "lat": cg.bus_lat, "lon": cg.bus_lon,
    })

    n = r.n_islands
    li = np.where(l_isl >= 0, l_isl, 0)
    lm = l_isl >= 0
    gi = np.where(g_isl >= 0, g_isl, 0)
    gm = g_isl >= 0

    def per_island(idx: np.ndarray, mask: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.bincount(idx[mask], weights=w[mask], minlength=n) if n else np.zeros(0)

    islands_df = pd.DataFrame({
        "id": np.arange(n),
        "buses": np.bincount(labels[alive_b], minlength=n) if n else np.zeros(0, dtype=int),
        "energised": energised,
        "capacity_mw": r.capacity_mw,
        "generation_mw": per_island(gi, gm, r.gen_p_mw),
        "load_mw": per_island(li, lm, counted),
        "served_mw": per_island(li, lm, served),
        "shed_mw": per_island(li, lm, shed),
        "population": per_island(li, lm, pop),
        "people_without_power": per_island(li, lm, pwp),
    })
    if v is not None:
        from svitlo.engine.viability import REASONS

        islands_df["reason"] = np.asarray([REASONS[c] for c in v.reason], dtype=object)
        islands_df["deficit_mw"] = v.deficit_mw
        islands_df["nadir_hz"] = v.nadir_hz
        islands_df["peak_hz"] = v.peak_hz
        islands_df["ufls_stages"] = v.ufls_stages
        islands_df["ufls_shed_mw"] = v.ufls_shed_mw
        islands_df["units_decommitted"] = v.decommitted
        collapsed = int(((v.reason >= 3) & (islands_df["load_mw"].to_numpy() > 0)).sum())
    else:
        collapsed = 0

    by_tier = {int(t): float(shed[cg.load_tier == t].sum()) for t in np.unique(cg.load_tier)}
    tw = tier_weight_array(np.array(list(by_tier), dtype=np.int64), tier_weights)
    weighted = float(sum(w * s for w, s in zip(tw, by_tier.values())))
    metrics: dict[str, Any] = {
        "load_mw": float(counted.sum()),
        "served_mw": float(served.sum()),
        "shed_mw": float(shed.sum()),
        "shed_mw_by_tier": by_tier,
        "weighted_shed_mw": weighted,
        "generation_mw": float(r.gen_p_mw.sum()),
        "population": float(pop.sum()),
        "people_without_power": float(pwp.sum()),
        "islands": int(n),
        "energised_islands": int(energised.sum()),
        "overloaded_branches": int(overload.sum()),
        "max_loading_percent": float(loading[br_alive].max(initial=0.0)),
        "destroyed_assets": len(dmg.destroyed),
        "islands_collapsed": collapsed,
        "ufls_shed_mw": float(v.ufls_shed_mw.sum()) if v is not None else 0.0,
        "units_decommitted": int(v.decommitted.sum()) if v is not None else 0,
        "mode": r.mode,
    }
    return Impact(scenario=scenario, grid=cg.name, mode=r.mode, destroyed=tuple(dmg.destroyed),
                  islands=islands_df, branches=branches, generators=generators, loads=loads, buses=buses,
                  metrics=MappingProxyType(metrics), extras=MappingProxyType({**dict(r.extras or {}),
                                                                              **dict(extras or {})}),
                  info=MappingProxyType({"base_mva": cg.base_mva, **dict(r.info or {}), **dict(info or {})}))

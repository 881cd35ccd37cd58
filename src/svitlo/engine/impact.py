"""The :class:`Impact` of a scenario: labelled tables and metrics built from an evaluated state.

Tables (pandas, one row per asset or island):

* ``islands``: id, buses, energised, capacity_mw, generation_mw, load_mw, served_mw, shed_mw, population,
  people_without_power
* ``branches``: id, kind, from_bus, to_bus, in_service, destroyed, island, b_pu (DC susceptance
  ``1/(x_pu tap_ratio)`` on ``info["base_mva"]``), shift_deg, flow_mw, rate_mw, loading_percent, overloaded
* ``generators``: id, kind, bus, island, alive, online (in an energised island), forms_island, p_max_mw, p_mw (dispatch after balancing)
* ``loads``: id, kind, bus, island, tier, p_mw, served_mw, shed_mw, population, people_without_power
* ``buses``: id, island, alive, energised, theta_deg, lat, lon

``extras`` holds further tables added by later stages (cascade steps, AC check, facilities, timeline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from svitlo.engine.serialize import jsonable, records
from svitlo.engine.state import StateResult
from svitlo.model.compiled import CompiledGrid

__all__ = ["Impact", "build_impact", "OVERLOAD_PERCENT", "default_tier_weights", "tier_weight_array"]

#: Loading above which a branch is reported as overloaded (%).
OVERLOAD_PERCENT = 100.0


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
        ``overloaded_branches``, ``destroyed_assets``, ``mode``.
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
    metrics: dict[str, Any]
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """All tables by name (core and extras)."""
        core = {"islands": self.islands, "branches": self.branches, "generators": self.generators,
                "loads": self.loads, "buses": self.buses}
        return {**core, **self.extras}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: scenario, grid, mode, destroyed, metrics, islands, branches, generators, loads,
        buses, extras and info."""
        out: dict[str, Any] = {"scenario": self.scenario, "grid": self.grid, "mode": self.mode,
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
                 tier_weights: dict[int, float] | None = None) -> Impact:
    """Label the arrays of an evaluated state (pure)."""
    dmg = r.damage
    labels = r.labels
    energised = r.energised
    bus_en = np.zeros(cg.n_bus, dtype=bool)
    alive_b = labels >= 0
    bus_en[alive_b] = energised[labels[alive_b]]

    # loads: destroyed or stranded loads are shed entirely
    demand = np.where(cg.load_in_service, cg.load_p_mw, 0.0)
    served = np.where(dmg.load_alive, r.load_served_mw, 0.0)
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
    generators = pd.DataFrame({
        "id": cg.gen_ids, "kind": np.asarray([i.split(":", 1)[0] for i in cg.gen_ids], dtype=object),
        "bus": cg.bus_ids[cg.gen_bus], "island": g_isl, "alive": dmg.gen_alive,
        "online": dmg.gen_alive & (g_isl >= 0) & bus_en[cg.gen_bus],
        "forms_island": cg.gen_forms_island, "p_max_mw": cg.gen_p_max_mw, "p_mw": r.gen_p_mw,
    })

    destroyed_set = set(dmg.destroyed)
    rate = cg.br_rate_mw
    with np.errstate(divide="ignore", invalid="ignore"):
        loading = np.where((rate > 0) & np.isfinite(rate), np.abs(r.flow_mw) / rate * 100.0, 0.0)
    br_alive = dmg.branch_alive & (labels[cg.br_f] >= 0) & (labels[cg.br_t] >= 0)
    overloaded = br_alive & (loading > OVERLOAD_PERCENT + 1e-9)
    branches = pd.DataFrame({
        "id": cg.branch_ids, "kind": cg.branch_kind, "from_bus": cg.bus_ids[cg.br_f], "to_bus": cg.bus_ids[cg.br_t],
        "in_service": br_alive, "destroyed": np.array([b in destroyed_set for b in cg.branch_ids], dtype=bool),
        "island": np.where(br_alive, labels[cg.br_f], -1), "b_pu": cg.br_b_pu,
        "shift_deg": np.rad2deg(cg.br_shift_rad), "flow_mw": r.flow_mw, "rate_mw": rate,
        "loading_percent": loading, "overloaded": overloaded,
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
        "load_mw": per_island(li, lm, demand),
        "served_mw": per_island(li, lm, served),
        "shed_mw": per_island(li, lm, shed),
        "population": per_island(li, lm, pop),
        "people_without_power": per_island(li, lm, pwp),
    })

    by_tier = {int(t): float(shed[cg.load_tier == t].sum()) for t in np.unique(cg.load_tier)}
    tw = tier_weight_array(np.array(list(by_tier), dtype=np.int64), tier_weights)
    weighted = float(sum(w * s for w, s in zip(tw, by_tier.values())))
    metrics: dict[str, Any] = {
        "load_mw": float(demand.sum()),
        "served_mw": float(served.sum()),
        "shed_mw": float(shed.sum()),
        "shed_mw_by_tier": by_tier,
        "weighted_shed_mw": weighted,
        "generation_mw": float(r.gen_p_mw.sum()),
        "population": float(pop.sum()),
        "people_without_power": float(pwp.sum()),
        "islands": int(n),
        "energised_islands": int(energised.sum()),
        "overloaded_branches": int(overloaded.sum()),
        "destroyed_assets": len(dmg.destroyed),
        "mode": r.mode,
    }
    return Impact(scenario=scenario, grid=cg.name, mode=r.mode, destroyed=tuple(dmg.destroyed),
                  islands=islands_df, branches=branches, generators=generators, loads=loads, buses=buses,
                  metrics=metrics, extras=dict(r.extras or {}),
                  info={"base_mva": cg.base_mva, **dict(r.info or {})})


def default_tier_weights() -> dict[int, float]:
    """Priority weights per tier for weighted shed: critical 100, essential 10, standard 1, deferrable 0.1."""
    return {1: 100.0, 2: 10.0, 3: 1.0, 4: 0.1}


def tier_weight_array(tiers: np.ndarray, weights: dict[int, float] | None = None) -> np.ndarray:
    """Shed weight per load from its tier; tiers beyond the largest weighted one get 10x less per tier.

    >>> tier_weight_array(np.array([1, 3, 4, 6])).tolist()
    [100.0, 1.0, 0.1, 0.001]
    """
    if weights is None:
        weights = default_tier_weights()
    if not weights:
        return np.ones(tiers.size)
    top = max(weights)
    out = np.empty(tiers.size)
    for i, t in enumerate(np.asarray(tiers).tolist()):
        if t in weights:
            out[i] = float(weights[t])
        elif t > top:
            out[i] = float(weights[top]) / 10.0 ** (t - top)
        else:
            below = [k for k in weights if k < t]
            out[i] = float(weights[max(below)]) if below else float(weights[min(weights)])
    return out

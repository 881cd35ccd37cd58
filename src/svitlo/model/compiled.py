"""The compiled grid: integer-indexed arrays and sparse matrices, built once and reused across scenarios.

Buses, branches, generators and loads are numbered 0..n-1 in table order. The DC model follows MATPOWER's
``makeBdc``: branch susceptance ``b = 1 / (x_pu * tap_ratio)``, flow ``P_f = base_mva * b * (θ_f - θ_t - φ)``.

Examples
--------
>>> import svitlo
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> cg.n_bus, cg.n_branch, cg.n_gen, cg.n_load
(9, 9, 3, 3)
>>> cg.asset("line:0")
('branch', 0)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Literal

import numpy as np
import scipy.sparse as sp

from svitlo.errors import GridError
from svitlo.model.costs import parse_pwl
from svitlo.model.grid import ASSET_KINDS, Grid, asset_kind
from svitlo.model.schema import INERTIA_H_S_BY_KIND

__all__ = ["CompiledGrid", "compile_grid", "AssetClass"]

AssetClass = Literal["bus", "branch", "gen", "load"]
_CLASS_OF_TABLE: dict[str, AssetClass] = {"buses": "bus", "branches": "branch", "generators": "gen",
                                          "loads": "load"}


@dataclass(frozen=True, eq=False)
class CompiledGrid:
    """Arrays of a :class:`~svitlo.model.grid.Grid` for the engine. Treat every array as read-only.

    Attributes
    ----------
    base_mva
        System base (MVA).
    bus_ids, branch_ids, gen_ids, load_ids
        Asset ids, position = index in the arrays.
    bus_in_service
        Bus available before any strike.
    br_f, br_t
        From/to bus index of each branch.
    br_b_pu
        DC susceptance ``1 / (x_pu * tap_ratio)`` (p.u.).
    br_shift_rad
        Phase shift (rad).
    br_rate_mw
        Rating (MW, inf = unlimited).
    br_in_service
        Branch closed before any strike (and both end buses in service).
    gen_bus, gen_p_mw, gen_p_max_mw, gen_p_min_mw, gen_forms_island, gen_in_service
        Generator arrays (MW). ``gen_forms_island`` is False for units with ``p_max_mw = 0`` (a synchronous
        condenser never forms an island alone).
    gen_cost, gen_cost_c2, gen_cost_c0, gen_pwl
        Cost curves (:mod:`svitlo.model.costs`): linear (currency/MWh), quadratic (currency/MW²h) and constant
        (currency/h) coefficients, and ``{generator index: (p_mw points, cost_per_h points)}`` for generators
        with a piecewise-linear cost.
    gen_inertia_h_s
        Inertia constant per generator on ``p_max`` (s; kind default filled in).
    gen_external
        External grid (``kind = ext_grid``): the balancing slack, the only kind of unit that may absorb power
        (down to a negative ``p_min_mw``; :func:`svitlo.engine.dispatch.export_limit_mw`).
    gen_black_start
        Can energise a dark island on its own (``black_start`` column; external grids always).
    load_bus, load_p_mw, load_population, load_tier, load_in_service
        Load arrays (MW, people, tier 1 = critical).
    incidence
        Sparse branch-bus incidence (n_branch x n_bus): +1 at from bus, -1 at to bus.
    """

    name: str
    base_mva: float
    bus_ids: np.ndarray
    bus_in_service: np.ndarray
    bus_lat: np.ndarray
    bus_lon: np.ndarray
    branch_ids: np.ndarray
    branch_kind: np.ndarray
    br_f: np.ndarray
    br_t: np.ndarray
    br_b_pu: np.ndarray
    br_shift_rad: np.ndarray
    br_rate_mw: np.ndarray
    br_in_service: np.ndarray
    gen_ids: np.ndarray
    gen_bus: np.ndarray
    gen_p_mw: np.ndarray
    gen_p_max_mw: np.ndarray
    gen_p_min_mw: np.ndarray
    gen_cost: np.ndarray
    gen_cost_c2: np.ndarray
    gen_cost_c0: np.ndarray
    gen_pwl: dict
    gen_forms_island: np.ndarray
    gen_in_service: np.ndarray
    load_ids: np.ndarray
    load_bus: np.ndarray
    load_p_mw: np.ndarray
    load_population: np.ndarray
    load_tier: np.ndarray
    load_in_service: np.ndarray
    incidence: sp.csr_matrix
    gen_inertia_h_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gen_black_start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    gen_external: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    aliases: dict[str, str] = field(default_factory=dict)
    _index: dict[str, tuple[AssetClass, int]] = field(default_factory=dict, repr=False)
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        # compiled arrays are read-only: caches keyed on this grid can never go stale behind its back
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v.flags.writeable = False
            elif sp.issparse(v):
                for a in (v.data, v.indices, v.indptr):
                    a.flags.writeable = False

    @property
    def fingerprint(self) -> str:
        """A short hash of every compiled array that affects results (topology, ratings, injections, tiers,
        generator costs, inertia and black-start flags); caches of derived arrays are keyed on it, so two grids
        that differ only in costs never share a cached result."""
        if not self._fingerprint:
            h = hashlib.sha256()
            for ids in (self.bus_ids, self.branch_ids, self.gen_ids, self.load_ids):
                h.update("\x1f".join(map(str, ids)).encode())
                h.update(b"\x1e")
            for a in (self.bus_in_service, self.br_f, self.br_t, self.br_b_pu, self.br_shift_rad, self.br_rate_mw,
                      self.br_in_service, self.gen_bus, self.gen_p_mw, self.gen_p_max_mw, self.gen_p_min_mw,
                      self.gen_forms_island, self.gen_in_service, self.load_bus, self.load_p_mw,
                      self.load_population, self.load_tier, self.load_in_service, self.gen_cost,
                      self.gen_cost_c2, self.gen_cost_c0, self.gen_inertia_h_s, self.gen_black_start,
                      self.gen_external):
                h.update(np.ascontiguousarray(a).tobytes())
                h.update(b"\x1e")
            for g in sorted(self.gen_pwl):  # piecewise-linear costs: generator, breakpoints, costs
                pts, cost = self.gen_pwl[g]
                h.update(repr(int(g)).encode())
                h.update(np.ascontiguousarray(pts, dtype=np.float64).tobytes())
                h.update(np.ascontiguousarray(cost, dtype=np.float64).tobytes())
            h.update(repr(float(self.base_mva)).encode())
            self._fingerprint.append(h.hexdigest()[:16])
        return self._fingerprint[0]

    @property
    def n_bus(self) -> int:
        return int(self.bus_ids.size)

    @property
    def n_branch(self) -> int:
        return int(self.branch_ids.size)

    @property
    def n_gen(self) -> int:
        return int(self.gen_ids.size)

    @property
    def n_load(self) -> int:
        return int(self.load_ids.size)

    def asset(self, asset_id: str) -> tuple[AssetClass, int]:
        """``(class, index)`` of an asset id, class in ``bus``, ``branch``, ``gen``, ``load``.

        Raises :class:`GridError` for an unknown id.
        """
        aid = str(asset_id).strip()
        aid = self.aliases.get(aid, aid)
        try:
            return self._index[aid]
        except KeyError:
            kinds = sorted(set(ASSET_KINDS))
            kind = asset_kind(aid)
            hint = "" if kind in ASSET_KINDS else f"; kind must be one of {kinds}"
            if kind in ("line", "trafo", "impedance") and self.n_branch and str(self.branch_ids[0]).startswith(
                    "branch:"):
                hint = (f"; this grid (MATPOWER) names its branches 'branch:<n>', n = row of mpc.branch from 1 "
                        f"(e.g. {self.branch_ids[0]!s}), lines and transformers alike")
            raise GridError(f"unknown asset id in grid {self.name!r}{hint}", field="asset", value=asset_id) from None

    def bbus(self, branch_mask: np.ndarray | None = None) -> sp.csc_matrix:
        """DC bus susceptance matrix (p.u.) over branches in ``branch_mask`` (default: in service)."""
        mask = self.br_in_service if branch_mask is None else branch_mask
        w = np.where(mask, self.br_b_pu, 0.0)
        a = self.incidence
        return (a.T @ sp.diags(w) @ a).tocsc()

    def shift_injection_pu(self, branch_mask: np.ndarray | None = None) -> np.ndarray:
        """Bus injection equivalent of phase shifters, ``Pbusinj`` of MATPOWER's ``makeBdc`` (p.u.)."""
        mask = self.br_in_service if branch_mask is None else branch_mask
        pfinj = np.where(mask, -self.br_b_pu * self.br_shift_rad, 0.0)
        return np.asarray(self.incidence.T @ pfinj).ravel()


def compile_grid(grid: Grid) -> CompiledGrid:
    """Compile a validated grid into arrays (pure: the grid is not modified)."""
    bus_ids = grid.buses.index.to_numpy(dtype=object)
    pos = {b: i for i, b in enumerate(bus_ids)}
    br = grid.branches
    f = br["from_bus"].map(pos).to_numpy(dtype=np.int64)
    t = br["to_bus"].map(pos).to_numpy(dtype=np.int64)
    x = br["x_pu"].to_numpy(float)
    tap = br["tap_ratio"].to_numpy(float)
    bus_ok = grid.buses["in_service"].to_numpy(bool)
    nb, nl = len(bus_ids), len(br)
    rows = np.repeat(np.arange(nl), 2)
    cols = np.column_stack([f, t]).ravel() if nl else np.zeros(0, dtype=np.int64)
    vals = np.tile([1.0, -1.0], nl)
    inc = sp.csr_matrix((vals, (rows, cols)), shape=(nl, nb))
    gens, loads = grid.generators, grid.loads
    index: dict[str, tuple[AssetClass, int]] = {}
    for table, cls in _CLASS_OF_TABLE.items():
        for i, aid in enumerate(getattr(grid, table).index):
            index[aid] = (cls, i)
    self_loops = f == t
    if self_loops.any():
        raise GridError("branch connects a bus to itself", source=grid.name, field="branches.to_bus",
                        value=br.index[np.flatnonzero(self_loops)[0]])
    return CompiledGrid(
        name=grid.name,
        base_mva=grid.base_mva,
        bus_ids=bus_ids,
        bus_in_service=bus_ok,
        bus_lat=grid.buses["lat"].to_numpy(float),
        bus_lon=grid.buses["lon"].to_numpy(float),
        branch_ids=br.index.to_numpy(dtype=object),
        branch_kind=br["kind"].to_numpy(dtype=object),
        br_f=f,
        br_t=t,
        br_b_pu=1.0 / (x * tap) if nl else np.zeros(0),
        br_shift_rad=np.deg2rad(br["shift_deg"].to_numpy(float)),
        br_rate_mw=br["rate_mw"].to_numpy(float),
        br_in_service=br["in_service"].to_numpy(bool) & bus_ok[f] & bus_ok[t] if nl else np.zeros(0, bool),
        gen_ids=gens.index.to_numpy(dtype=object),
        gen_bus=gens["bus"].map(pos).to_numpy(dtype=np.int64),
        gen_p_mw=gens["p_mw"].to_numpy(float),
        gen_p_max_mw=gens["p_max_mw"].to_numpy(float),
        gen_p_min_mw=gens["p_min_mw"].to_numpy(float),
        gen_cost=gens["cost_per_mwh"].to_numpy(float),
        gen_cost_c2=gens["cost_per_mw2h"].to_numpy(float),
        gen_cost_c0=gens["cost_fixed_per_h"].to_numpy(float),
        gen_pwl={j: parse_pwl(t, field=str(gens.index[j]), source=grid.name)
                 for j, t in enumerate(gens["cost_pwl"].to_numpy(dtype=object)) if str(t).strip()},
        gen_forms_island=gens["forms_island"].to_numpy(bool) & (gens["p_max_mw"].to_numpy(float) > 0),
        gen_in_service=gens["in_service"].to_numpy(bool),
        load_ids=loads.index.to_numpy(dtype=object),
        load_bus=loads["bus"].map(pos).to_numpy(dtype=np.int64),
        load_p_mw=loads["p_mw"].to_numpy(float),
        load_population=loads["population"].to_numpy(float),
        load_tier=loads["tier"].to_numpy(np.int64),
        load_in_service=loads["in_service"].to_numpy(bool),
        incidence=inc,
        gen_inertia_h_s=_inertia(gens),
        gen_black_start=(gens["black_start"].to_numpy(bool) if "black_start" in gens else np.zeros(len(gens), bool))
        | (gens["kind"].astype(str).to_numpy() == "ext_grid"),
        gen_external=gens["kind"].astype(str).to_numpy() == "ext_grid" if len(gens) else np.zeros(0, bool),
        aliases=dict(grid.aliases),
        _index=index,
    )


def _inertia(gens) -> np.ndarray:
    h = gens["inertia_h_s"].to_numpy(float) if "inertia_h_s" in gens else np.full(len(gens), np.nan)
    kind_default = np.array([INERTIA_H_S_BY_KIND.get(k, 0.0) for k in gens["kind"].astype(str)], dtype=float)
    return np.where(np.isnan(h), kind_default, h) if len(gens) else np.zeros(0)

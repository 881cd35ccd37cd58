"""Strikes for many timelines: :func:`svitlo.scenarios.strikes.resolve_strikes` with geographic strikes vectorised.

A geographic strike (:func:`svitlo.scenarios.geo.geographic_strike`) loops over impact points and asset kinds;
here all impact points of a strike are handled at once (distances and fragilities as ``points x assets``
arrays, the uniform numbers drawn in one call in the same order), and the target tables are built once per
grid. Same seed, same assets (a test holds the two equal over many seeds); other strike kinds go through the
original code.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.scenarios.strikes import resolve_strikes
>>> sc = svitlo.parse_scenario({"grid": "case9", "strikes": [{"random": {"k": 2}}]})
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> StrikeResolver(cg).resolve(sc.strikes, seed=4) == resolve_strikes(cg, sc.strikes, seed=4)
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
from scipy.special import ndtr

from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios import strikes as _st
from svitlo.scenarios.geo import EARTH_RADIUS_M, GeoStrike, WeaponClass, _targets, impact_points, weapon_table
from svitlo.scenarios.spec import Strike

__all__ = ["StrikeResolver"]


class StrikeResolver:
    """Resolve strike lists on one compiled grid, caching geographic target tables."""

    def __init__(self, cg: CompiledGrid, weapons: Mapping[str, WeaponClass] | None = None) -> None:
        self.cg = cg
        self.table = weapon_table(weapons)
        self.weapons = weapons
        self._cache: dict[tuple[str, ...], tuple] = {}
        self._d50s: dict[tuple, np.ndarray] = {}

    def targets(self, kinds: Sequence[str]) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Target tables of a kind set: per-kind tables, all segment ends and names concatenated, and the kind
        of every column."""
        key = tuple(sorted(set(kinds)))
        if key not in self._cache:
            per = list(_targets(self.cg, set(key)))
            live = [t for t in per if t[1].size]
            cg = self.cg
            ids = {"bus": cg.bus_ids, "gen": cg.gen_ids, "sgen": cg.gen_ids, "load": cg.load_ids}
            if live:
                a = np.concatenate([t[2] for t in live])
                b = np.concatenate([t[3] for t in live])
                names = np.concatenate([np.asarray(ids.get(k, cg.branch_ids))[idx] for k, idx, _a, _b in live])
            else:
                a = b = np.zeros((0, 2))
                names = np.zeros(0, dtype=object)
            col_kind = [k for k, idx, _a, _b in live for _ in range(idx.size)]
            self._cache[key] = (per, a, b, names, col_kind)
        return self._cache[key]

    def _d50(self, weapon: str, kinds_key: tuple[str, ...], col_kind: list[str]) -> np.ndarray:
        k = (weapon, kinds_key)
        if k not in self._d50s:
            w = self.table[weapon]
            by_kind = {kind: w.d50_for(kind) for kind in set(col_kind)}
            self._d50s[k] = np.array([by_kind[c] for c in col_kind], dtype=float)
        return self._d50s[k]

    def geographic(self, spec: GeoStrike, rng: np.random.Generator, where: str) -> list[str]:
        """As :func:`svitlo.scenarios.geo.geographic_strike`, all impact points and asset kinds at once."""
        pts = impact_points(spec, rng, self.table, where)
        per, a, b, names, col_kind = self.targets(spec.kinds)
        if not names.size:
            return _st.geographic_strike(self.cg, spec, rng, weapons=self.weapons, where=where)  # raises
        if not pts:
            return []
        key = tuple(sorted(set(spec.kinds)))
        lat0 = np.array([p[0] for p in pts])[:, None]
        lon0 = np.array([p[1] for p in pts])[:, None]
        cosl = np.array([math.cos(math.radians(p[0])) for p in pts])[:, None]
        beta = np.array([self.table[p[2]].beta for p in pts])[:, None]
        d50 = np.stack([self._d50(p[2], key, col_kind) for p in pts])
        ax = np.radians(a[None, :, 1] - lon0) * EARTH_RADIUS_M * cosl
        ay = np.radians(a[None, :, 0] - lat0) * EARTH_RADIUS_M
        bx = np.radians(b[None, :, 1] - lon0) * EARTH_RADIUS_M * cosl
        by = np.radians(b[None, :, 0] - lat0) * EARTH_RADIUS_M
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(ll > 0, -(ax * dx + ay * dy) / ll, 0.0)
        t = np.clip(t, 0.0, 1.0)
        d = np.maximum(np.hypot(ax + t * dx, ay + t * dy), 1e-9)
        p = ndtr(-(np.log(d) - np.log(d50)) / beta)
        u = rng.random(p.size).reshape(p.shape)
        hit = np.broadcast_to(names, p.shape)[u < p]   # row-major: point by point, kinds in order
        return [str(x) for x in dict.fromkeys(hit.tolist())]

    def resolve(self, strikes: Sequence[Strike], *, seed: int | None = 0,
                intact_flows: Callable[[], np.ndarray] | None = None, use_strike_seeds: bool = True,
                wave: int = 0, exclude: Collection[str] = ()) -> list[str]:
        """As :func:`svitlo.scenarios.strikes.resolve_strikes` (same arguments, same result)."""
        if not any(s.geographic is not None for s in strikes):
            return _st.resolve_strikes(self.cg, strikes, seed=seed, intact_flows=intact_flows,
                                       use_strike_seeds=use_strike_seeds, weapons=self.weapons, wave=wave,
                                       exclude=exclude)
        out: list[str] = []
        for i, s in enumerate(strikes):
            where = f"waves[{wave - 1}].strikes[{i}]" if wave else f"strikes[{i}]"
            if s.geographic is not None:
                g = s.geographic
                rng = _st.strike_rng(g.seed, 0) if (use_strike_seeds and g.seed is not None) \
                    else _st.strike_rng(seed, i, wave)
                ids = self.geographic(g, rng, f"{where}.geographic")
            elif s.random is not None:
                rng = _st.strike_rng(s.random.seed, 0) if (use_strike_seeds and s.random.seed is not None) \
                    else _st.strike_rng(seed, i, wave)
                ids = _st._random(self.cg, s.random, rng, where, exclude)
            elif s.targeted is not None:
                ids = _st._targeted(self.cg, s.targeted, intact_flows, where, exclude)
            else:
                ids = _st.resolve_strikes(self.cg, [s], seed=seed, wave=wave)
            out += [str(a) for a in ids]
        return list(dict.fromkeys(out))

"""Counter-based strike draws for sweeps: scenario ``i`` of root seed ``r`` draws from ``(r, i)`` alone.

Run format ``svitlo-sweep/2`` (see :mod:`svitlo.analyses.sweep.plan`) draws every scenario's random strikes
with a counter-based generator instead of one ``numpy.random.SeedSequence`` and one Python loop per scenario:

- the scenario key is ``key(r, i) = mix(mix(r ^ C) + i * G) & (2**63 - 1)`` (stored as the row's ``seed``),
  with ``mix`` the SplitMix64 finaliser and ``G`` the 64-bit golden ratio;
- random strike ``j`` (its position in the scenario's ``strikes``) picks ``k`` distinct assets of its pool by
  Floyd's algorithm: for ``c = 0 … k-1`` and ``t = m - k + c`` (``m`` the pool size) it takes
  ``u = mix(b + (c + 1) * G) mod (t + 1)`` with ``b = mix(key ^ mix((j + 1) * G + S))``, or ``t`` when ``u`` is
  already taken; the picks are listed in pool order (a uniform ``k``-subset; the modulo bias is below
  ``m / 2**64``);
- explicit and targeted strikes (resolved once per run) and the draws are merged in strike order, first hit
  first, without duplicates; protected assets survive (the draw is not re-aimed), as in
  :func:`svitlo.scenarios.strikes.resolve_damage`;
- a geographic strike ``j`` draws from ``numpy.random.default_rng(SeedSequence([key, j]))``, exactly as
  :func:`~svitlo.scenarios.strikes.resolve_damage` does with ``seed=key``.

Every quantity depends on ``(r, i, j)`` only, so any chunking and any number of workers give the same rows. The
draw loop is compiled with numba when it is installed (the same code runs in Python otherwise).

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> sc = svitlo.parse_scenario({"grid": "case9", "strikes": [{"assets": ["line:0"]}, {"random": {"k": 2}}]})
>>> plan = draw_plan(cg, sc.strikes)
>>> d = draw_chunk(plan, scenario_keys(7, 0, 3))
>>> d.id_lists()[0][0], [len(x) for x in d.id_lists()]
('line:0', [3, 3, 3])
>>> parts = [draw_chunk(plan, scenario_keys(7, a, b)).id_lists() for a, b in ((0, 1), (1, 3))]
>>> d.id_lists() == parts[0] + parts[1]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from svitlo.errors import ScenarioError
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.spec import Strike

__all__ = ["DrawPlan", "Draws", "draw_plan", "draw_chunk", "scenario_keys", "scenario_key", "KEY_MASK"]

try:  # the loop is compiled when numba is there; otherwise it runs as Python (same numbers)
    import numba as _nb

    _jit = _nb.njit(cache=True)
except ImportError:  # pragma: no cover - depends on the environment
    def _jit(f: Any) -> Any:
        return f

KEY_MASK = (1 << 63) - 1
_G = np.uint64(0x9E3779B97F4A7C15)
_C = np.uint64(0x5BD1E9955BD1E995)
_S = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_R30, _R27, _R31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _mix_np(z: np.ndarray) -> np.ndarray:
    z = z ^ (z >> _R30)
    z = z * _M1
    z = z ^ (z >> _R27)
    z = z * _M2
    return z ^ (z >> _R31)


def scenario_keys(root: int, start: int, stop: int) -> np.ndarray:
    """Keys (int64, < 2**63) of scenarios ``start`` … ``stop - 1`` under root seed ``root``.

    >>> scenario_keys(5, 2, 4).tolist() == [scenario_key(5, 2), scenario_key(5, 3)]
    True
    """
    with np.errstate(over="ignore"):
        i = np.arange(int(start), int(stop), dtype=np.uint64)
        r = _mix_np(np.array([int(root) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) ^ _C)
        k = _mix_np(r + i * _G)
    return (k & np.uint64(KEY_MASK)).astype(np.int64)


def scenario_key(root: int, index: int) -> int:
    """Key of one scenario (:func:`scenario_keys`), the ``seed`` column of format-2 sweep rows."""
    return int(scenario_keys(root, index, index + 1)[0])


@_jit
def _mix(z):  # pragma: no cover - compiled
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@_jit
def _draw_all(keys, seg_kind, seg_ptr, seg_vals, seg_k, seg_j, protected, n_universe, max_pool, width,
              out, out_len):  # pragma: no cover - compiled
    """``out[s, :out_len[s]]``: universe indices out in scenario ``s`` (first hit first, no duplicates)."""
    g = np.uint64(0x9E3779B97F4A7C15)
    seen = np.full(n_universe, -1, dtype=np.int64)
    mark = np.full(max(max_pool, 1), -1, dtype=np.int64)
    picks = np.empty(width, dtype=np.int64)
    stamp = 0
    for s in range(keys.size):
        key = np.uint64(keys[s])
        cnt = 0
        for q in range(seg_kind.size):
            a, b = seg_ptr[q], seg_ptr[q + 1]
            if seg_kind[q] == 0:
                kk = b - a
                for c in range(kk):
                    picks[c] = c
            else:
                m = b - a
                kk = seg_k[q]
                stamp += 1
                base = _mix(key ^ _mix(np.uint64(seg_j[q] + 1) * g + np.uint64(0xD1B54A32D192ED03)))
                for c in range(kk):
                    t = m - kk + c
                    u = _mix(base + np.uint64(c + 1) * g)
                    r = np.int64(u % np.uint64(t + 1))
                    if mark[r] == stamp:
                        r = t
                    mark[r] = stamp
                    picks[c] = r
                picks[:kk].sort()
            for c in range(kk):
                v = seg_vals[a + picks[c]]
                if protected[v] or seen[v] == s:
                    continue
                seen[v] = s
                out[s, cnt] = v
                cnt += 1
        out_len[s] = cnt


@dataclass(frozen=True, eq=False)
class DrawPlan:
    """The strikes of a sweep as draw segments over the grid's asset universe (picklable).

    The universe lists buses, branches, generators and loads in that order (``offsets`` has five entries).
    Segment ``q`` is a fixed list (``kind 0``: ``vals[ptr[q]:ptr[q+1]]``) or a random pick of ``k[q]`` of that
    pool (``kind 1``) for strike ``j[q]``. ``geographic`` holds ``(j, strike)`` of the geographic strikes, drawn
    per scenario in Python.
    """

    kind: np.ndarray
    ptr: np.ndarray
    vals: np.ndarray
    k: np.ndarray
    j: np.ndarray
    protected: np.ndarray
    offsets: np.ndarray
    universe: np.ndarray
    strikes: tuple[Strike, ...]
    geographic: tuple[int, ...]

    @property
    def width(self) -> int:
        """Most assets one scenario's fixed and random strikes can put out."""
        return int(np.diff(self.ptr)[self.kind == 0].sum() + self.k[self.kind == 1].sum())


def draw_plan(cg: CompiledGrid, strikes: Sequence[Strike], *, protected: frozenset[str] = frozenset()) -> DrawPlan:
    """Segments for ``strikes`` whose explicit and targeted strikes are already resolved to ``assets`` lists
    (as :func:`svitlo.analyses.sweep.evaluate.make_context` does). Raises
    :class:`~svitlo.errors.ScenarioError` for a random strike larger than its pool, or a targeted strike left
    unresolved."""
    from svitlo.scenarios.strikes import eligible_assets

    universe = np.concatenate([np.asarray(x, dtype=object).astype(str) for x in
                               (cg.bus_ids, cg.branch_ids, cg.gen_ids, cg.load_ids)])
    offsets = np.cumsum([0, cg.n_bus, cg.n_branch, cg.n_gen, cg.n_load]).astype(np.int64)
    where = {"bus": 0, "branch": 1, "gen": 2, "load": 3}

    def gidx(ids: Sequence[str]) -> np.ndarray:
        out = np.empty(len(ids), dtype=np.int64)
        for n, a in enumerate(ids):
            cls, i = cg.asset(a)
            out[n] = offsets[where[cls]] + i
        return out

    kind, ptr, vals, ks, js, geo = [], [0], [], [], [], []
    for j, s in enumerate(strikes):
        if s.geographic is not None:
            geo.append(j)
            continue
        if s.random is not None:
            pool = eligible_assets(cg, s.random.kinds)
            if s.random.k > len(pool):
                raise ScenarioError(f"asks for more assets than the grid has in service of kinds "
                                    f"{s.random.kinds} ({len(pool)})", field=f"strikes[{j}].random.k",
                                    value=s.random.k)
            v, kd, k = gidx(pool), 1, s.random.k
        elif s.assets is not None:
            v, kd, k = gidx(s.assets), 0, len(s.assets)
        else:
            raise ScenarioError("a targeted strike must be resolved before drawing", field=f"strikes[{j}]")
        kind.append(kd)
        vals.append(v)
        ptr.append(ptr[-1] + v.size)
        ks.append(k)
        js.append(j)
    prot = np.zeros(universe.size, dtype=np.bool_)
    if protected:
        prot[gidx(sorted(protected))] = True
    return DrawPlan(kind=np.asarray(kind, dtype=np.int64), ptr=np.asarray(ptr, dtype=np.int64),
                    vals=np.concatenate(vals) if vals else np.zeros(0, dtype=np.int64),
                    k=np.asarray(ks, dtype=np.int64), j=np.asarray(js, dtype=np.int64), protected=prot,
                    offsets=offsets, universe=universe, strikes=tuple(strikes), geographic=tuple(geo))


@dataclass(frozen=True, eq=False)
class Draws:
    """The assets out in a chunk of scenarios: universe indices ``flat[ptr[s]:ptr[s+1]]`` of scenario ``s``
    (first hit first), or, when the scenario has geographic strikes, the id lists ``lists``."""

    plan: DrawPlan
    ptr: np.ndarray
    flat: np.ndarray
    lists: list[list[str]] | None = None

    def id_lists(self) -> list[list[str]]:
        """Asset ids out per scenario."""
        if self.lists is not None:
            return self.lists
        ids = self.plan.universe[self.flat].tolist()
        return [ids[a:b] for a, b in zip(self.ptr[:-1].tolist(), self.ptr[1:].tolist())]

    def counts(self) -> np.ndarray:
        """Assets out per scenario (int32)."""
        return np.diff(self.ptr).astype(np.int32)

    def arrow_lists(self) -> Any:
        """The id lists as an Arrow ``list<string>`` array (no Python objects per asset)."""
        import pyarrow as pa

        if self.lists is not None:
            return pa.array(self.lists, type=pa.list_(pa.string()))
        values = pa.array(self.plan.universe, type=pa.string()).take(pa.array(self.flat, type=pa.int64()))
        return pa.ListArray.from_arrays(pa.array(self.ptr.astype(np.int32), type=pa.int32()), values)

    def outages(self, cg: CompiledGrid) -> Any:
        """:class:`~svitlo.engine.batch.outages.Outages` of the chunk on ``cg`` (the plan's grid)."""
        from svitlo.engine.batch.outages import outages_from_ids, outages_from_universe

        if self.lists is not None:
            return outages_from_ids(cg, self.lists)
        return outages_from_universe(self.ptr, self.flat, self.plan.offsets)


def draw_chunk(plan: DrawPlan, keys: np.ndarray, *, cg: CompiledGrid | None = None, weapons: Any = None,
               damage: Any = None) -> Draws:
    """The assets out in the scenarios of ``keys`` (:func:`scenario_keys`); ``cg``, ``weapons`` and
    ``damage`` are needed only when the plan has geographic strikes."""
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    n, width = keys.size, plan.width
    out = np.zeros((n, max(width, 1)), dtype=np.int64)
    out_len = np.zeros(n, dtype=np.int64)
    pool = int(np.diff(plan.ptr)[plan.kind == 1].max()) if (plan.kind == 1).any() else 1
    with np.errstate(over="ignore"):
        _draw_all(keys, plan.kind, plan.ptr, plan.vals, plan.k, plan.j, plan.protected, plan.universe.size, pool,
                  max(width, 1), out, out_len)
    ptr = np.zeros(n + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(out_len)
    flat = out[np.arange(max(width, 1))[None, :] < out_len[:, None]]
    if not plan.geographic:
        return Draws(plan=plan, ptr=ptr, flat=flat)
    if cg is None:
        raise ValueError("geographic strikes need the compiled grid")
    return Draws(plan=plan, ptr=ptr, flat=flat,
                 lists=_with_geographic(plan, cg, keys, weapons=weapons, damage=damage))


def _with_geographic(plan: DrawPlan, cg: CompiledGrid, keys: np.ndarray, *, weapons: Any,
                     damage: Any) -> list[list[str]]:
    """Per scenario: the fixed and random draws of each strike plus its geographic strikes, merged in strike
    order as :func:`svitlo.scenarios.strikes.resolve_damage` merges them."""
    from svitlo.scenarios.outcome import AssetDamage, StrikeOutcome, geographic_damage, merge_outcomes
    from svitlo.scenarios.strikes import _spare_protected, strike_rng

    prot = frozenset(plan.universe[plan.protected].tolist())
    seg_of = {int(j): q for q, j in enumerate(plan.j.tolist())}
    out: list[list[str]] = []
    for key in keys.tolist():
        per_seg = _segment_draws(plan, int(key))
        outcomes = []
        for j, st in enumerate(plan.strikes):
            if st.geographic is not None:
                outcomes.append(geographic_damage(cg, st.geographic, strike_rng(int(key), j), weapons=weapons,
                                                  model=damage, where=f"strikes[{j}].geographic"))
            else:
                ids = plan.universe[per_seg[seg_of[j]]].tolist()
                outcomes.append(StrikeOutcome(tuple(AssetDamage(a, "destroyed", (a,)) for a in ids)))
        merged = merge_outcomes(outcomes)
        out.append((_spare_protected(merged, prot) if prot else merged).out_ids)
    return out


def _segment_draws(plan: DrawPlan, key: int) -> list[np.ndarray]:
    """Universe indices of every segment for one scenario (unfiltered), from the same compiled loop."""
    res = []
    for q in range(plan.kind.size):
        sub = DrawPlan(kind=plan.kind[q:q + 1], ptr=plan.ptr[q:q + 2] - plan.ptr[q],
                       vals=plan.vals[plan.ptr[q]:plan.ptr[q + 1]], k=plan.k[q:q + 1], j=plan.j[q:q + 1],
                       protected=np.zeros_like(plan.protected), offsets=plan.offsets, universe=plan.universe,
                       strikes=(), geographic=())
        d = draw_chunk(sub, np.array([key], dtype=np.int64))
        res.append(d.flat)
    return res

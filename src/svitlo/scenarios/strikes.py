"""Resolve strike specifications into the set of destroyed asset ids (pure; randomness from seeds).

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.scenarios.spec import Strike
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> resolve_strikes(cg, [Strike(assets=["line:0"]), Strike(targeted={"k": 1, "by": "degree"})], seed=0)
['line:0', 'bus:3']
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

import numpy as np

from svitlo.errors import ScenarioError
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.damage_states import DamageModel
from svitlo.scenarios.geo import WeaponClass
from svitlo.scenarios.outcome import AssetDamage, FacilityTargets, StrikeOutcome, geographic_damage, merge_outcomes
from svitlo.scenarios.spec import RandomStrike, Strike, TargetedStrike

__all__ = ["resolve_strikes", "resolve_damage", "eligible_assets", "strike_rng", "protected_assets"]

_GEN_KINDS = {"gen", "sgen", "ext_grid"}


def strike_rng(seed: int | None, index: int, wave: int = 0) -> np.random.Generator:
    """The random generator of strike number ``index`` (of timeline wave ``wave``, 0 = hour-0 strikes) under a
    scenario ``seed`` (one place for seeding)."""
    if seed is not None and not (isinstance(seed, (int, np.integer)) and 0 <= int(seed) < 2**63):
        raise ScenarioError("expected an integer from 0 to 2**63 - 1", field="seed", value=seed)
    key = [0 if seed is None else int(seed), int(index)] + ([int(wave)] if wave else [])
    return np.random.default_rng(np.random.SeedSequence(key))


#: Eligible-asset pools per compiled grid and kind set (a sweep draws from the same pool millions of times).
_POOLS: "weakref.WeakKeyDictionary[CompiledGrid, dict[tuple[str, ...], tuple[str, ...]]]" = (
    weakref.WeakKeyDictionary())


def eligible_assets(cg: CompiledGrid, kinds: Sequence[str]) -> list[str]:
    """In-service asset ids of the given kinds (``branch`` = any branch)."""
    return list(_pool(cg, kinds))


def _pool(cg: CompiledGrid, kinds: Sequence[str]) -> tuple[str, ...]:
    key = (cg.fingerprint, *sorted(set(kinds)))
    pools = _POOLS.setdefault(cg, {})
    if key not in pools:
        pools[key] = tuple(_eligible(cg, key[1:]))
    return pools[key]


def _eligible(cg: CompiledGrid, kinds: Sequence[str]) -> list[str]:
    out: list[str] = []
    ks = set(kinds)
    if "bus" in ks:
        out += list(cg.bus_ids[cg.bus_in_service])
    if ks & {"line", "trafo", "impedance", "branch"}:
        sel = cg.br_in_service & (np.isin(cg.branch_kind, list(ks)) | ("branch" in ks))
        out += list(cg.branch_ids[sel])
    if ks & _GEN_KINDS:
        kind = np.array([g.split(":", 1)[0] for g in cg.gen_ids], dtype=object)
        out += list(cg.gen_ids[cg.gen_in_service & np.isin(kind, list(ks & _GEN_KINDS))])
    if "load" in ks:
        out += list(cg.load_ids[cg.load_in_service & (cg.load_p_mw > 0)])
    return [str(a) for a in out]


def protected_assets(cg: CompiledGrid, ids: Sequence[str], *, source: str = "scenario",
                     field: str = "protected") -> frozenset[str]:
    """Canonical ids of the protected assets (scenario key ``protected``); an unknown id raises
    :class:`~svitlo.errors.ScenarioError` naming ``source``, ``field`` and the id.

    Examples
    --------
    >>> import svitlo
    >>> from svitlo.model.compiled import compile_grid
    >>> sorted(protected_assets(compile_grid(svitlo.load_grid("case9")), ["line:0", "bus:4"]))
    ['bus:4', 'line:0']
    """
    out = set()
    for a in ids:
        try:
            cls, j = cg.asset(a)
        except Exception as exc:  # GridError: re-raise with the scenario's path
            raise ScenarioError(str(getattr(exc, "message", exc)), source=source, field=field, value=a) from None
        out.add(str({"bus": cg.bus_ids, "branch": cg.branch_ids, "gen": cg.gen_ids, "load": cg.load_ids}[cls][j]))
    return frozenset(out)


def _random(cg: CompiledGrid, spec: RandomStrike, rng: np.random.Generator, where: str,
            exclude: Collection[str] = ()) -> list[str]:
    pool = _pool(cg, spec.kinds)
    if exclude:
        pool = tuple(a for a in pool if a not in exclude)
    if spec.k > len(pool):
        raise ScenarioError(f"asks for more assets than the grid has in service of kinds {spec.kinds} "
                            f"({len(pool)})", field=f"{where}.random.k", value=spec.k)
    pick = rng.choice(len(pool), size=spec.k, replace=False)
    return [pool[i] for i in np.sort(pick)]


def _degree(cg: CompiledGrid) -> np.ndarray:
    m = cg.br_in_service
    return np.bincount(cg.br_f[m], minlength=cg.n_bus) + np.bincount(cg.br_t[m], minlength=cg.n_bus)


def _betweenness(cg: CompiledGrid) -> np.ndarray:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(cg.n_bus))
    m = cg.br_in_service
    g.add_edges_from(zip(cg.br_f[m].tolist(), cg.br_t[m].tolist()))
    k = None if cg.n_bus <= 600 else 300  # sampled estimate on large grids, fixed seed
    bc = nx.betweenness_centrality(g, k=k, seed=0)
    return np.array([bc[i] for i in range(cg.n_bus)])


def _targeted(cg: CompiledGrid, spec: TargetedStrike, flows: Callable[[], np.ndarray] | None,
              where: str, exclude: Collection[str] = ()) -> list[str]:
    if spec.by in ("degree", "betweenness"):
        score = _degree(cg).astype(float) if spec.by == "degree" else _betweenness(cg)
        cand = np.flatnonzero(cg.bus_in_service)
        ids = cg.bus_ids
    else:
        if flows is None:
            raise ScenarioError("targeting by flow needs the intact flows", field=f"{where}.targeted.by",
                                value=spec.by)
        score = np.abs(flows())
        cand = np.flatnonzero(cg.br_in_service)
        ids = cg.branch_ids
    if exclude:
        cand = cand[[str(ids[i]) not in exclude for i in cand]]
    if spec.k > cand.size:
        raise ScenarioError(f"asks for more assets than the grid has ({cand.size})", field=f"{where}.targeted.k",
                            value=spec.k)
    order = cand[np.lexsort((cand, -score[cand]))]  # highest score first, ties by index
    return [str(ids[i]) for i in order[: spec.k]]


def resolve_strikes(cg: CompiledGrid, strikes: Sequence[Strike], *, seed: int | None = 0,
                    intact_flows: Callable[[], np.ndarray] | None = None, use_strike_seeds: bool = True,
                    weapons: Mapping[str, WeaponClass] | None = None, wave: int = 0,
                    exclude: Collection[str] = (), damage: DamageModel | None = None,
                    protected: Collection[str] = ()) -> list[str]:
    """Asset ids out of service (canonical, first-hit order, no duplicates) after a list of strikes: the
    ``out_ids`` of :func:`resolve_damage` (same parameters)."""
    return resolve_damage(cg, strikes, seed=seed, intact_flows=intact_flows, use_strike_seeds=use_strike_seeds,
                          weapons=weapons, wave=wave, exclude=exclude, damage=damage, protected=protected).out_ids


def resolve_damage(cg: CompiledGrid, strikes: Sequence[Strike], *, seed: int | None = 0,
                   intact_flows: Callable[[], np.ndarray] | None = None, use_strike_seeds: bool = True,
                   weapons: Mapping[str, WeaponClass] | None = None, wave: int = 0,
                   exclude: Collection[str] = (), damage: DamageModel | None = None,
                   facilities: FacilityTargets | None = None, protected: Collection[str] = ()) -> StrikeOutcome:
    """The damage outcome of a list of strikes: per damaged asset its state, the assets it puts out of
    service and its repair time; and the facilities damaged.

    Explicit, random and targeted strikes destroy what they name (state ``destroyed``, repair time from
    ``repairs.durations_h``); geographic strikes draw states, bays and repair times
    (:func:`svitlo.scenarios.outcome.geographic_damage`).

    Parameters
    ----------
    seed
        Scenario seed: random strike ``i`` draws from ``SeedSequence([seed, i])`` unless it has its own
        ``seed`` and ``use_strike_seeds`` is true (a sweep passes ``use_strike_seeds=False`` to draw anew).
    intact_flows
        Callable returning the intact-grid branch flows (MW), for ``targeted: {by: flow}``.
    weapons
        User weapon classes for ``geographic`` strikes (on top of :data:`svitlo.scenarios.geo.DEFAULT_WEAPONS`).
    wave
        Timeline wave number (0 = hour-0 strikes); waves draw from their own seed streams.
    exclude
        Asset ids already out: random and targeted strikes choose among the others (a repeat strike aims at
        what still works). Explicit and geographic strikes may hit them again.
    damage
        The scenario's ``damage:`` model (states, sites, facility fragility); default :class:`DamageModel`.
    facilities
        Facilities geographic strikes can damage.
    protected
        Canonical ids of protected assets (:func:`protected_assets`; scenario key ``protected``). An explicit
        strike on one raises :class:`~svitlo.errors.ScenarioError`; random, targeted and geographic strikes
        are drawn as on the unprotected grid and the protected assets they reach survive (the draw is not
        re-aimed, so a protection plan is compared with no protection on the same strike draws).
    """
    outcomes: list[StrikeOutcome] = []
    for i, s in enumerate(strikes):
        where = f"waves[{wave - 1}].strikes[{i}]" if wave else f"strikes[{i}]"
        if s.assets is not None:
            ids = []
            for a in s.assets:
                try:
                    cls, j = cg.asset(a)
                except ScenarioError:
                    raise
                except Exception as exc:  # GridError from the grid: re-raise as a scenario error with a path
                    raise ScenarioError(str(getattr(exc, "message", exc)), field=f"{where}.assets",
                                        value=a) from None
                ids.append({"bus": cg.bus_ids, "branch": cg.branch_ids, "gen": cg.gen_ids,
                            "load": cg.load_ids}[cls][j])
                if protected and str(ids[-1]) in protected:
                    raise ScenarioError("the asset is protected (scenario key 'protected'); an explicit strike "
                                        "on it is refused", field=f"{where}.assets", value=a)
        elif s.random is not None:
            rng = strike_rng(s.random.seed, 0) if (use_strike_seeds and s.random.seed is not None) \
                else strike_rng(seed, i, wave)
            ids = _random(cg, s.random, rng, where, exclude)
        elif s.geographic is not None:
            rng = strike_rng(s.geographic.seed, 0) if (use_strike_seeds and s.geographic.seed is not None) \
                else strike_rng(seed, i, wave)
            outcomes.append(geographic_damage(cg, s.geographic, rng, weapons=weapons, model=damage,
                                              facilities=facilities, where=f"{where}.geographic"))
            continue
        else:
            assert s.targeted is not None
            ids = _targeted(cg, s.targeted, intact_flows, where, exclude)
        outcomes.append(StrikeOutcome(tuple(AssetDamage(str(a), "destroyed", (str(a),)) for a in ids)))
    merged = merge_outcomes(outcomes)
    return _spare_protected(merged, protected) if protected else merged


def _spare_protected(o: StrikeOutcome, protected: Collection[str]) -> StrikeOutcome:
    """The outcome with protected assets standing: their own damage dropped and never counted as out."""
    keep = []
    for u in o.units:
        if u.asset in protected:
            continue
        out = tuple(a for a in u.out if a not in protected)
        keep.append(u if out == u.out else replace(u, out=out))
    return StrikeOutcome(tuple(keep), o.facilities)

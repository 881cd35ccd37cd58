"""Strikes for many timelines: :func:`svitlo.scenarios.strikes.resolve_strikes` on one compiled grid.

Geographic strikes draw damage states (:func:`svitlo.scenarios.outcome.geographic_damage`, already vectorised
over impact points and assets), so :meth:`StrikeResolver.resolve` calls
:func:`svitlo.scenarios.strikes.resolve_damage` and returns its ``out_ids``: same seed, same assets out. (An
earlier vectorised copy of the pre-damage-state geographic strike drew its own numbers and no longer matched.)

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

from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.damage_states import DamageModel
from svitlo.scenarios.geo import WeaponClass
from svitlo.scenarios.spec import Strike
from svitlo.scenarios.strikes import resolve_damage

__all__ = ["StrikeResolver"]


class StrikeResolver:
    """Resolve strike lists on one compiled grid with fixed weapons, damage model and protected assets."""

    def __init__(self, cg: CompiledGrid, weapons: Mapping[str, WeaponClass] | None = None, *,
                 damage: DamageModel | None = None, protected: Collection[str] = frozenset()) -> None:
        self.cg = cg
        self.weapons = weapons
        self.damage = damage
        self.protected = frozenset(protected)   # asset ids no strike can hit (``protected_assets``)

    def resolve(self, strikes: Sequence[Strike], *, seed: int | None = 0,
                intact_flows: Callable[[], np.ndarray] | None = None, use_strike_seeds: bool = True,
                wave: int = 0, exclude: Collection[str] = ()) -> list[str]:
        """As :func:`svitlo.scenarios.strikes.resolve_strikes` (same arguments, same result)."""
        return resolve_damage(self.cg, strikes, seed=seed, intact_flows=intact_flows,
                              use_strike_seeds=use_strike_seeds, weapons=self.weapons, wave=wave, exclude=exclude,
                              damage=self.damage, protected=self.protected).out_ids

"""Repair time of a damaged asset in the timeline: crew hours from its damage state, and the wait for a spare.

Rule (:func:`repair_plan`): an asset destroyed by an explicit, random or targeted strike, or in state
``destroyed`` when the scenario names its kind under ``repairs.durations_h``, takes that duration of crew work
(the kind default of :data:`svitlo.simulation.repairs.DEFAULT_REPAIR_H` for the first); any other geographic damage
takes the repair time sampled from its state (:mod:`svitlo.scenarios.damage_states`). A state that
``needs_spare`` first waits: ``damage.spare_wait_h`` while the kind's spare stock (``damage.spares``, unlimited
when not named) lasts, ``damage.lead_time_h`` after. No crew is held during the wait.

Examples
--------
>>> from svitlo.scenarios.outcome import AssetDamage
>>> from svitlo.scenarios.damage_states import DamageModel
>>> stock = {"trafo": 1}
>>> u = AssetDamage("trafo:3", "destroyed", ("trafo:3",), 500.0, needs_spare=True)
>>> [repair_plan(u, durations={"trafo": 504.0}, user_kinds=set(), model=DamageModel(), stock=stock)
...  for _ in range(2)]
[(168.0, 500.0, 'spare'), (14600.0, 500.0, 'new unit')]
>>> damage_text(AssetDamage("bus:1", "light", ("line:4",), 20.6), wait_h=0.0, work_h=20.6)
'bus:1 light damage (out: line:4); repair 20.6 h'
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from svitlo.model.grid import asset_kind
from svitlo.scenarios.damage_states import DamageModel
from svitlo.scenarios.outcome import AssetDamage

__all__ = ["repair_plan", "damage_text"]


def repair_plan(u: AssetDamage, *, durations: Mapping[str, float], user_kinds: set[str], model: DamageModel,
                stock: MutableMapping[str, int]) -> tuple[float, float, str]:
    """``(wait_h, work_h, waits_for)`` of a damaged asset (h; ``waits_for``: ``""``, ``"spare"`` or
    ``"new unit"``); takes a spare from ``stock`` when its state needs one."""
    kind = asset_kind(u.asset)
    if u.repair_h is None or (u.state == "destroyed" and kind in user_kinds):
        work = float(durations.get(u.asset, durations.get(kind, 24.0)))   # a sampled time of this asset first
    else:
        work = float(u.repair_h)
    wait, what = 0.0, ""
    if u.needs_spare:
        if kind not in stock:
            wait, what = model.spare_wait_h, "spare"
        elif stock[kind] > 0:
            stock[kind] -= 1
            wait, what = model.spare_wait_h, "spare"
        else:
            wait, what = model.lead_time_h, "new unit"
    return float(wait), work, what


def damage_text(u: AssetDamage, *, wait_h: float, work_h: float, waits_for: str = "spare") -> str:
    """One line for the event log: state, what is out, the wait and the repair."""
    if u.state == "destroyed" and u.out == (u.asset,):
        what = f"{u.asset} destroyed"
    else:
        lost = ", ".join(u.out) if u.out else "nothing"
        what = f"{u.asset} {u.state} damage" + ("" if u.out == (u.asset,) else f" (out: {lost})")
    wait = f"waits {wait_h:.0f} h for a {waits_for}, then " if wait_h > 0 else ""
    return f"{what}; {wait}repair {work_h:.1f} h"

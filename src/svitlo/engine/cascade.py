"""Cascading overload trips: branches over their trip thresholds trip, islands form, shedding is redone.

After each evaluated state (islands → dispatch and shedding → DC flows, in ``balance`` or ``opf`` mode), a
branch in service trips

* at once when its loading is above ``instant_percent`` (default 120 % of rating), or
* when it has been above ``delayed_percent`` (default 100 %) for ``delay_steps`` consecutive steps (default
  2), modelling time-overcurrent protection that lets a moderate overload ride for a while.

Tripped branches leave service, islands are recomputed, dispatch and shedding are redone, and the loop repeats
until no branch is above ``delayed_percent`` (stable) or ``max_steps`` trip rounds have happened (bounded; the
result says so). Loading is ``|flow| / rate``; branches with an infinite or zero rating never trip. Tripped
branches are out of service, not destroyed: they stay repairable at once in a later stage.

In ``opf`` mode every state respects the ratings, so nothing trips; the cascade then only confirms stability.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> c = run_cascade(cg, apply_damage(cg, ["line:3"]))
>>> c.converged, list(c.steps["step"])
(True, [0])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from svitlo.engine.damage import DamageState
from svitlo.engine.state import StateResult, evaluate_state
from svitlo.errors import InputError
from svitlo.model.compiled import CompiledGrid
from svitlo.model.outputs import loading_percent, overloaded

__all__ = ["CascadeResult", "run_cascade", "branch_loading_percent"]


@dataclass(frozen=True, eq=False)
class CascadeResult:
    """The outcome of :func:`run_cascade`.

    Attributes
    ----------
    final
        The last evaluated state (stable, or the one reached at the bound).
    steps
        One row per evaluated state: ``step``, ``islands``, ``energised_islands``, ``served_mw``, ``shed_mw``,
        ``max_loading_percent``, ``overloaded_branches`` (above 100 %), ``tripped`` (ids tripped because of
        this state), ``n_tripped``.
    tripped
        All branches tripped by the cascade, in order.
    converged
        False when ``max_steps`` was reached with branches still due to trip (listed in ``pending``).
    """

    final: StateResult
    steps: pd.DataFrame
    tripped: tuple[str, ...]
    converged: bool
    pending: tuple[str, ...]
    options: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for :attr:`svitlo.engine.impact.Impact.info`."""
        return {"steps": int(len(self.steps)), "converged": self.converged, "tripped": list(self.tripped),
                "pending": list(self.pending), **self.options}


def branch_loading_percent(cg: CompiledGrid, state: StateResult) -> np.ndarray:
    """Loading per branch (% of rating) of a state; 0 for branches out of service or without a finite
    rating."""
    alive = state.damage.branch_alive & (state.labels[cg.br_f] >= 0) & (state.labels[cg.br_t] >= 0)
    return loading_percent(state.flow_mw, cg.br_rate_mw, alive)


def _check(name: str, value: float, *, integer: bool = False, minimum: float = 0.0) -> None:
    ok = np.isfinite(value) and value >= minimum and (not integer or float(value).is_integer())
    if not ok:
        kind = "an integer" if integer else "a finite number"
        raise InputError(f"expected {kind} >= {minimum:g}", source="cascade options", field=f"cascade.{name}",
                         value=value)


def run_cascade(cg: CompiledGrid, damage: DamageState, *, mode: Literal["balance", "opf"] = "balance",
                options: dict | None = None, viability=None, instant_percent: float = 120.0,
                delayed_percent: float = 100.0,
                delay_steps: int = 2, max_steps: int = 20,
                order: Literal["simultaneous", "sequential"] = "simultaneous") -> CascadeResult:
    """Evaluate ``damage``, then trip overloaded branches until stable or ``max_steps`` rounds (pure).

    Parameters
    ----------
    cg, damage
        Compiled grid and the damage of the strikes.
    mode, options
        Passed to :func:`svitlo.engine.state.evaluate_state` at every step.
    viability
        Island viability rules (:class:`svitlo.engine.viability.ViabilityOptions`), passed on likewise (sudden
        deficits are measured against the pre-strike state at every step).
    instant_percent
        Loading (% of rating) above which a branch trips at once.
    delayed_percent
        Loading above which a branch trips after ``delay_steps`` consecutive steps.
    delay_steps
        Consecutive steps above ``delayed_percent`` before a trip (>= 1).
    max_steps
        Bound on trip rounds (>= 0; 0 evaluates the first state only).

    Raises
    ------
    InputError
        On a negative or non-finite threshold, or a non-integer step count.
    """
    _check("instant_percent", instant_percent)
    _check("delayed_percent", delayed_percent)
    _check("delay_steps", delay_steps, integer=True, minimum=1)
    _check("max_steps", max_steps, integer=True)
    state = evaluate_state(cg, damage, mode=mode, options=options, viability=viability)
    above = np.zeros(cg.n_branch, dtype=np.int64)
    rows: list[dict[str, Any]] = []
    tripped: list[str] = []
    pending: tuple[str, ...] = ()
    converged = True
    eps = 1e-6  # % of rating: above LP and float noise, far below any physical margin
    for step in range(int(max_steps) + 1):
        pct = branch_loading_percent(cg, state)
        over = pct > delayed_percent + eps
        above = np.where(over, above + 1, 0)
        trip = (pct > instant_percent + eps) | (over & (above >= delay_steps))
        if order == "sequential" and trip.sum() > 1:  # inverse-time relays: the most overloaded goes first
            k = int(np.argmax(np.where(trip, pct, -np.inf)))
            trip = np.zeros_like(trip)
            trip[k] = True
        ids = [str(i) for i in cg.branch_ids[trip]]
        last = step == int(max_steps)
        rows.append(_row(cg, state, step, pct, [] if last else ids))
        if not over.any():
            break
        if last:
            converged = False
            pending = tuple(str(i) for i in cg.branch_ids[over])
            break
        if ids:
            tripped.extend(ids)
            alive = state.damage.branch_alive & ~trip
            state = evaluate_state(cg, dataclasses.replace(state.damage, branch_alive=alive), mode=mode,
                                   options=options, viability=viability)
        # nothing tripped yet: the same state holds one more step while delayed counters run
    steps = pd.DataFrame(rows, columns=["step", "islands", "energised_islands", "served_mw", "shed_mw",
                                        "max_loading_percent", "overloaded_branches", "tripped", "n_tripped"])
    opts = {"mode": mode, "instant_percent": float(instant_percent),
            "delayed_percent": float(delayed_percent),
            "delay_steps": int(delay_steps), "max_steps": int(max_steps), "order": order}
    return CascadeResult(final=state, steps=steps, tripped=tuple(tripped), converged=converged,
                         pending=pending,
                         options=opts)


def _row(cg: CompiledGrid, state: StateResult, step: int, pct: np.ndarray, ids: list[str]) -> dict[str, Any]:
    demand = np.where(cg.load_in_service & (cg.load_p_mw > 0), cg.load_p_mw, 0.0)
    served = np.where(state.damage.load_alive & (cg.load_p_mw > 0), state.load_served_mw, 0.0)
    return {"step": step, "islands": int(state.n_islands), "energised_islands": int(state.energised.sum()),
            "served_mw": float(served.sum()), "shed_mw": float((demand - served).sum()),
            "max_loading_percent": float(pct.max(initial=0.0)),
            "overloaded_branches": int(overloaded(pct).sum()), "tripped": ids, "n_tripped": len(ids)}


def cascade_settings(spec: Any, override: bool | dict | None = None) -> dict[str, Any] | None:
    """Keyword arguments for :func:`run_cascade` from a scenario's ``cascade`` block and an API override.

    ``override``: None keeps the scenario's choice, True/False switches the cascade on/off with the scenario's
    thresholds, a dict switches it on and replaces some thresholds. Returns None when the cascade is off.

    >>> from svitlo.scenarios.spec import Cascade
    >>> cascade_settings(Cascade(), {"delay_steps": 3})
    {'instant_percent': 120.0, 'delayed_percent': 100.0, 'delay_steps': 3, 'max_steps': 20, 'order': 'simultaneous'}
    >>> cascade_settings(Cascade()) is None
    True
    """
    from pydantic import ValidationError

    from svitlo.errors import ScenarioError
    from svitlo.scenarios.spec import Cascade

    data = (spec or Cascade()).model_dump()
    if isinstance(override, dict):
        data.update({"enabled": True, **override})
    elif override is not None:
        data["enabled"] = bool(override)
    try:
        c = Cascade.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ScenarioError(e["msg"], source="cascade options",
                            field="cascade." + ".".join(str(p) for p in e["loc"]),
                            value=e.get("input")) from None
    if not c.enabled:
        return None
    return {k: v for k, v in c.model_dump().items() if k != "enabled"}

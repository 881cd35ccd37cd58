"""What ``svitlo site --add`` places: mobile generators (with fuel) and batteries, parsed from a short spec.

Grammar (case-insensitive, spaces optional)::

    generator:500kW           one generator of 500 kW with 24 h of fuel at rated load
    generator:0.5MW/48h x 5   five generators, 48 h of fuel each
    battery:200kWh x 3        three batteries of 200 kWh
    battery:50kW/200kWh       a battery of 200 kWh (the power rating is informative)

A generator added to a facility joins its backup (DESIGN §3 backup model): the tank grows by the unit's fuel
hours (units run one after another), and the facility's generators all fail to start with the product of the
failure probabilities; a new unit fails to start with probability 0.0094 (NREL REopt, DESIGN §8). A battery adds
its energy to the facility's battery. The fuel default (24 h) is an assumption, like NFPA 110's class 24.

Examples
--------
>>> parse_add("generator:500kW x 5")
(Unit(what='generator', kw=500.0, kwh=None, fuel_h=24.0), 5)
>>> parse_add("battery: 0.2 MWh")
(Unit(what='battery', kw=None, kwh=200.0, fuel_h=None), 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from svitlo.errors import ScenarioError

__all__ = ["Unit", "parse_add", "NEW_GEN_FAIL_PROB", "DEFAULT_FUEL_H"]

#: Failure-to-start probability of an added generator, per start (NREL REopt ERP default, DESIGN §8).
NEW_GEN_FAIL_PROB = 0.0094
#: Fuel of an added generator when the spec gives none (h at rated load; assumption).
DEFAULT_FUEL_H = 24.0
#: Most units one ``--add`` places (the greedy places them one by one).
MAX_UNITS = 10_000
#: Largest rating (kW) or energy (kWh) of one unit, and most fuel hours (ten years).
MAX_KW, MAX_KWH, MAX_FUEL_H = 1e7, 1e8, 87_600.0

_NUM = r"(\d+(?:\.\d*)?|\.\d+)"
_RE = re.compile(rf"^(generator|battery):{_NUM}(kw|mw|kwh|mwh)(?:/{_NUM}(h|kwh|mwh))?(?:x(\d+))?$")


@dataclass(frozen=True)
class Unit:
    """One unit to place: ``generator`` (``kw``, ``fuel_h``) or ``battery`` (``kwh``, optional ``kw``)."""

    what: Literal["generator", "battery"]
    kw: float | None
    kwh: float | None
    fuel_h: float | None


def _bad(spec: str, why: str) -> ScenarioError:
    return ScenarioError(f"{why}; expected e.g. 'generator:500kW x 5', 'generator:0.5MW/48h', "
                         "'battery:200kWh x 3' or 'battery:50kW/200kWh'", field="--add", value=spec)


def parse_add(spec: str) -> tuple[Unit, int]:
    """``(unit, count)`` from an ``--add`` spec; :class:`~svitlo.errors.ScenarioError` naming it otherwise."""
    s = re.sub(r"\s+", "", str(spec).lower()).replace("×", "x")
    m = _RE.match(s)
    if not m:
        raise _bad(spec, "cannot read this unit")
    what, v1, u1, v2, u2, count = m.groups()
    if count and len(count.lstrip("0")) > len(str(MAX_UNITS)):
        raise _bad(spec, f"the count must be at most {MAX_UNITS:,}")
    n = int(count) if count else 1
    if n < 1:
        raise _bad(spec, "the count must be at least 1")
    if n > MAX_UNITS:
        raise _bad(spec, f"the count must be at most {MAX_UNITS:,}")
    a = float(v1) * (1000.0 if u1.startswith("mw") else 1.0)
    if what == "generator":
        if u1 not in ("kw", "mw") or (u2 is not None and u2 != "h"):
            raise _bad(spec, "a generator is rated in kW or MW, with optional fuel in hours (/48h)")
        fuel = float(v2) if v2 is not None else DEFAULT_FUEL_H
        if a <= 0 or fuel <= 0:
            raise _bad(spec, "rating and fuel must be positive")
        if not (a <= MAX_KW and fuel <= MAX_FUEL_H):  # also inf, from a few hundred digits
            raise _bad(spec, f"rating at most {MAX_KW:g} kW and fuel at most {MAX_FUEL_H:g} h")
        return Unit(what="generator", kw=a, kwh=None, fuel_h=fuel), n
    if u2 is None:
        if u1 not in ("kwh", "mwh"):
            raise _bad(spec, "a battery needs its energy in kWh or MWh")
        kw, kwh = None, a
    else:
        if u1 not in ("kw", "mw") or u2 not in ("kwh", "mwh"):
            raise _bad(spec, "a battery is given as energy (200kWh) or power/energy (50kW/200kWh)")
        kw, kwh = a, float(v2) * (1000.0 if u2 == "mwh" else 1.0)
    if kwh <= 0 or (kw is not None and kw <= 0):
        raise _bad(spec, "the energy and power must be positive")
    if not (kwh <= MAX_KWH and (kw is None or kw <= MAX_KW)):
        raise _bad(spec, f"energy at most {MAX_KWH:g} kWh and power at most {MAX_KW:g} kW")
    return Unit(what="battery", kw=kw, kwh=kwh, fuel_h=None), n

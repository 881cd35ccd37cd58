"""Per-kind defaults for critical facilities (indicative public figures; a user overrides them per facility).

Every value a facility file leaves empty takes the default of its kind. Sources (DESIGN §8):

* **hospital** — fuel for 120 h: the Ministry of Health of Ukraine asks hospitals to hold at least 5 days of
  generator fuel (and ≥ 24 h of backup power, 2026 rule). NFPA 110 / NFPA 99 require essential electrical
  systems back within 10 s, so the generator is sized to the facility load and starts at once.
* **water** (water and sewage pumping) — NFPA 110 runtime classes are 2 h, 6 h and 48 h; we take 24 h of fuel,
  between Class 6 and Class 48 (assumption: utilities keep about a day of fuel on site).
* **heating** (district heating plant or boiler house) — NFPA 110 Class 6 (6 h of fuel): an assumption for
  boiler houses that received generators but keep little fuel.
* **telecom** (mobile base station) — battery of about 4 h at rated load: Ukrainian operators report 1–2 h
  before 2022 and ~4 h after upgrades (the regulator NCEC asked for 10 h in 2024, 72 h at 25 % of sites); no
  generator by default.
* **shelter** (resilience hub, "Point of Invincibility") — Cabinet Resolution 1401: power, heat, water,
  communications and first aid 24/7, at least 50 devices charged; a 15 kW generator with 24 h of fuel is our
  assumption for such a hub.
* **emergency** (fire, rescue, police, dispatch) — NFPA 110 Class 48 (48 h of fuel).

Demand (kW) and population served per kind are order-of-magnitude assumptions for a mid-size city, not sourced
figures: give real values in the facility file. The generator failure-to-start probability (per start) of 2 %
(5 % for less maintained sites) is likewise an indicative assumption. Battery recharge after power returns takes
:data:`BATTERY_RECHARGE_H` hours from empty (a 0.1 C charge current, a common limit for lead-acid batteries;
assumption).

Examples
--------
>>> KIND_DEFAULTS["hospital"]["fuel_h"], KIND_DEFAULTS["telecom"]["battery_h"]
(120.0, 4.0)
"""

from __future__ import annotations

from typing import Literal

__all__ = ["FacilityKind", "FACILITY_KINDS", "KIND_DEFAULTS", "BATTERY_RECHARGE_H"]

FacilityKind = Literal["hospital", "water", "heating", "telecom", "shelter", "emergency"]

#: Facility kinds, in report order.
FACILITY_KINDS: tuple[str, ...] = ("hospital", "water", "heating", "telecom", "shelter", "emergency")

#: Hours to recharge an empty battery once grid power is back (0.1 C charge current; assumption).
BATTERY_RECHARGE_H = 10.0

#: Defaults per kind: demand (kW), population served, priority tier (1 = critical), generator rating as a
#: multiple of demand (0 = no generator), fuel (hours at rated load), generator failure-to-start probability,
#: battery (hours at demand).
KIND_DEFAULTS: dict[str, dict[str, float]] = {
    "hospital": {"demand_kw": 500.0, "population": 50_000.0, "tier": 1, "gen_ratio": 1.0, "fuel_h": 120.0,
                 "gen_fail_prob": 0.02, "battery_h": 0.0},
    "water": {"demand_kw": 250.0, "population": 20_000.0, "tier": 1, "gen_ratio": 1.0, "fuel_h": 24.0,
              "gen_fail_prob": 0.05, "battery_h": 0.0},
    "heating": {"demand_kw": 400.0, "population": 10_000.0, "tier": 1, "gen_ratio": 1.0, "fuel_h": 6.0,
                "gen_fail_prob": 0.05, "battery_h": 0.0},
    "telecom": {"demand_kw": 3.0, "population": 2_000.0, "tier": 2, "gen_ratio": 0.0, "fuel_h": 0.0,
                "gen_fail_prob": 0.05, "battery_h": 4.0},
    "shelter": {"demand_kw": 15.0, "population": 500.0, "tier": 2, "gen_ratio": 1.0, "fuel_h": 24.0,
                "gen_fail_prob": 0.05, "battery_h": 0.0},
    "emergency": {"demand_kw": 50.0, "population": 30_000.0, "tier": 1, "gen_ratio": 1.0, "fuel_h": 48.0,
                  "gen_fail_prob": 0.02, "battery_h": 0.0},
}

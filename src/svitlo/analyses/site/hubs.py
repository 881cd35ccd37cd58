"""Backup at buses: a grid-forming generator (a resilience hub) at a bus feeds the facilities of that bus.

When a facility of the bus has no grid supply (and is not damaged), the hub picks it up through the bus, by
priority (tier, then population, then list order), as long as its rating (kW, summed over the units placed
there) covers the facilities already picked up and its fuel lasts the hour. Fuel is the units' hours at rated
load (``generator:500kW/48h``: 24,000 kWh), burnt in proportion to the load served; hubs are not refuelled by
the scenario's ``refuel`` (those name facilities). A facility the hub carries is on grid for its own backup
(which therefore keeps its fuel); other loads of the bus are not modelled as drawing on the hub. Candidates are
bus ids; by default the buses that host facilities.

Examples
--------
>>> import numpy as np
>>> on = np.zeros((1, 2, 4), bool)                 # two facilities off grid for 4 hours
>>> hub_supply(on, demand_kw=np.array([300.0, 100.0]), order=np.array([0, 1]), kw=350.0, kwh=1000.0)[0]
array([[ True,  True,  True, False],
       [False, False, False,  True]])

(350 kW carries the 300 kW facility but not both; after three hours 100 kWh are left: enough for the
100 kW one.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["hub_supply", "bus_groups"]


def hub_supply(on: np.ndarray, *, demand_kw: np.ndarray, order: np.ndarray, kw: float, kwh: float) -> np.ndarray:
    """Which facilities of one bus the hub carries ``(N, F, H)``, given their grid supply ``on`` ``(N, F, H)``.

    ``order``: facility columns by priority; ``kw``: rating; ``kwh``: fuel (energy at rated load)."""
    N, F, H = on.shape
    fuel = np.full(N, float(kwh))
    out = np.zeros((N, F, H), dtype=bool)
    for h in range(H):
        cap = np.full(N, float(kw))
        for f in order.tolist():
            d = float(demand_kw[f])
            take = ~on[:, f, h] & (cap + 1e-9 >= d) & (fuel + 1e-9 >= d)
            out[:, f, h] = take
            cap -= np.where(take, d, 0.0)
            fuel -= np.where(take, d, 0.0)
    return out


def bus_groups(buses: np.ndarray, tier: np.ndarray, population: np.ndarray) -> dict[str, np.ndarray]:
    """Facility columns per bus id, by the hub's priority (tier, then population descending, then order)."""
    out: dict[str, np.ndarray] = {}
    for b in dict.fromkeys(str(x) for x in buses):
        idx = np.flatnonzero(np.asarray([str(x) for x in buses]) == b)
        out[b] = idx[np.lexsort((idx, -population[idx], tier[idx]))]
    return out

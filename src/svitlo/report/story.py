"""The story of a timeline in plain sentences: what was hit, which islands formed, what went dark and when,
when backups ran out, when power came back, people without power and telecom coverage over time.

:func:`tell` reads only the timeline contract (hourly, facilities, facility_states, events, impacts) and
returns a :class:`Story`: JSON-ready facts plus the sentences that ``svitlo demo`` prints and the report
shows.

Examples
--------
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> tl = SimpleNamespace(
...     scenario="s", grid="g", horizon_h=3, impacts={},
...     hourly=pd.DataFrame({"hour": [0, 1, 2], "people_without_power": [0.0, 900.0, 0.0],
...                          "telecom_coverage": [1.0, 0.5, 1.0], "critical_load_mw": [1.0, 1.0, 1.0],
...                          "critical_served_mw": [1.0, 0.5, 1.0], "islands": [1, 2, 1],
...                          "energised_islands": [1, 1, 1]}),
...     facilities=pd.DataFrame({"id": ["t1"], "kind": ["telecom"], "name": ["Tower"]}),
...     facility_states=pd.DataFrame([["grid", "backup", "grid"]], index=["t1"], columns=[0, 1, 2]),
...     events=pd.DataFrame({"hour": [1, 2], "kind": ["strike", "repair"], "subject": ["line:3", "line:3"],
...                          "text": ["line:3 destroyed", "line:3 repaired"]}))
>>> st = tell(tl)
>>> st.facts["facilities_on_backup"], st.facts["peak_people_without_power"]
(['t1'], {'hour': 1, 'people': 900.0})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Story", "tell"]


@dataclass(frozen=True)
class Story:
    """Facts (JSON-ready) and sentences, by section: ``hit``, ``islands``, ``facilities``, ``backups``,
    ``restoration``, ``people``."""

    facts: dict[str, Any]
    sections: dict[str, list[str]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """All sentences in story order."""
        return [s for sec in self.sections.values() for s in sec]


def _events(tl: Any, kind: str) -> list[dict[str, Any]]:
    ev = getattr(tl, "events", None)
    if ev is None or len(ev) == 0:
        return []
    sel = ev[ev["kind"] == kind].sort_values("hour", kind="stable")
    return [{"hour": int(h), "subject": str(s), "text": str(t)}
            for h, s, t in zip(sel["hour"], sel["subject"], sel["text"])]


def _damage_states(tl: Any) -> dict[tuple[int, str], str]:
    dmg = getattr(tl, "damage", None)
    if dmg is None or dmg.empty:
        return {}
    return {(int(h), str(a)): str(s) for h, a, s in zip(dmg["hour"], dmg["asset"], dmg["state"])}


def _first_hour(states: pd.DataFrame, state: str) -> dict[str, int]:
    out: dict[str, int] = {}
    if states is None or states.empty:
        return out
    cols = sorted(states.columns, key=int)
    vals = states[cols].to_numpy(dtype=object)
    for fid, row in zip(states.index, vals):
        hits = np.flatnonzero(row == state)
        if hits.size:
            out[str(fid)] = int(cols[int(hits[0])])
    return out


def _people(n: float) -> str:
    return f"{n:,.0f}"


def _island_facts(tl: Any) -> list[dict[str, Any]]:
    imp = (getattr(tl, "impacts", None) or {}).get(0)
    if imp is None:
        return []
    isl = imp.islands
    live = isl[isl["energised"] & (isl["load_mw"] > 0)].sort_values("load_mw", ascending=False)
    return [{"island": int(r.id), "buses": int(r.buses), "load_mw": float(r.load_mw),
             "served_mw": float(r.served_mw), "generation_mw": float(r.generation_mw)}
            for r in live.itertuples()]


def _dark_reasons(tl: Any) -> list[dict[str, Any]]:
    imp = (getattr(tl, "impacts", None) or {}).get(0)
    if imp is None or "reason" not in imp.islands:
        return []
    isl = imp.islands
    dark = isl[~isl["energised"] & (isl["load_mw"] > 0) & (isl["reason"] != "")]
    return [{"island": int(r.id), "buses": int(r.buses), "load_mw": float(r.load_mw), "reason": str(r.reason)}
            for r in dark.sort_values("load_mw", ascending=False).itertuples()]


def tell(tl: Any) -> Story:
    """The :class:`Story` of a timeline (pure)."""
    fac = tl.facilities.reset_index(drop=True)
    names = dict(zip(fac["id"].astype(str), fac["name"].astype(str)))
    kinds = dict(zip(fac["id"].astype(str), fac["kind"].astype(str)))
    h = tl.hourly.reset_index(drop=True)
    hours = [int(x) for x in h["hour"]] if "hour" in h else list(range(len(h)))
    strikes, repairs, refuels = _events(tl, "strike"), _events(tl, "repair"), _events(tl, "refuel")
    empty, back = _events(tl, "backup_empty"), _events(tl, "power_back")
    damaged = _events(tl, "damage")
    on_backup = _first_hour(tl.facility_states, "backup")
    dark = _first_hour(tl.facility_states, "dark")
    pwp = h["people_without_power"].to_numpy(float) if "people_without_power" in h else np.zeros(len(h))
    tel = h["telecom_coverage"].to_numpy(float) if "telecom_coverage" in h else np.ones(len(h))
    cl = h["critical_load_mw"].to_numpy(float) if "critical_load_mw" in h else np.zeros(len(h))
    cs = h["critical_served_mw"].to_numpy(float) if "critical_served_mw" in h else np.zeros(len(h))
    with np.errstate(divide="ignore", invalid="ignore"):
        crit_share = np.where(cl > 0, cs / cl, 1.0)
    peak = int(np.argmax(pwp)) if len(pwp) else 0
    islands = _island_facts(tl)
    freq = sorted(_events(tl, "frequency") + _events(tl, "ufls") + _events(tl, "frequency_collapse")
                  + _events(tl, "load_back"), key=lambda e: e["hour"])
    dark_reasons = _dark_reasons(tl)
    facts: dict[str, Any] = {
        "scenario": str(tl.scenario), "grid": str(tl.grid), "horizon_h": int(tl.horizon_h),
        "struck": strikes, "facilities_damaged": [e["subject"] for e in damaged], "repairs": repairs, "refuels": refuels, "power_back": back, "backup_empty": empty,
        "energised_islands_at_0": islands,
        "frequency_events": freq,
        "dark_islands_at_0": dark_reasons,
        "facilities_on_backup": sorted(on_backup, key=lambda k: (on_backup[k], k)),
        "facilities_dark": sorted(dark, key=lambda k: (dark[k], k)),
        "first_backup_hour": on_backup, "first_dark_hour": dark,
        "people_without_power": [float(x) for x in pwp],
        "telecom_coverage": [float(x) for x in tel],
        "critical_served_share": [float(x) for x in crit_share],
        "peak_people_without_power": {"hour": hours[peak] if hours else 0,
                                      "people": float(pwp[peak]) if len(pwp) else 0.0},
    }

    sec: dict[str, list[str]] = {k: [] for k in ("hit", "islands", "facilities", "backups", "restoration",
                                                  "people")}
    by_hour: dict[int, list[str]] = {}
    state_of = _damage_states(tl)
    for e in strikes:
        by_hour.setdefault(e["hour"], []).append(e["subject"])
    for hr, subj in sorted(by_hour.items()):
        groups: dict[str, list[str]] = {}
        for a in subj:
            groups.setdefault(state_of.get((hr, a), "destroyed"), []).append(a)
        parts = []
        for state in ("destroyed", "severe", "moderate", "light"):
            g = groups.get(state, [])
            if g:
                shown = ", ".join(g[:12]) + (f" and {len(g) - 12} more" if len(g) > 12 else "")
                word = "destroyed" if state == "destroyed" else f"{state} damage"
                parts.append(f"{len(g)} asset{'s' if len(g) != 1 else ''} {word} — {shown}")
        sec["hit"].append(f"Hour {hr}: " + "; ".join(parts) + ".")
    for e in damaged:
        sec["hit"].append(f"Hour {e['hour']}: {e['text']}")
    if len(h) and "islands" in h:
        sec["islands"].append(f"After the strike the grid is in {int(h['islands'].iloc[0])} islands, "
                              f"{int(h['energised_islands'].iloc[0])} of them energised.")
    for isl in islands[1:6]:
        sec["islands"].append(f"Island {isl['island']} ({isl['buses']} buses) stays lit on its own "
                              f"generation: {isl['served_mw']:.2f} of {isl['load_mw']:.2f} MW served.")
    for e in freq:
        sec["islands"].append(f"Hour {e['hour']}: {e['text']}")
    for d in dark_reasons[:5]:
        sec["islands"].append(f"Island {d['island']} ({d['buses']} buses, {d['load_mw']:.2f} MW of load) is dark: "
                              f"{d['reason']}.")
    fac_lines = [(hr, f"Hour {hr}: {names[fid]} ({kinds[fid]}) switches to backup power.")
                 for fid, hr in on_backup.items()]
    fac_lines += [(hr, f"Hour {hr}: {names[fid]} ({kinds[fid]}) goes dark.") for fid, hr in dark.items()]
    sec["facilities"] = [s for _, s in sorted(fac_lines, key=lambda x: x[0])]
    def by_hour(evs: list[dict[str, Any]]) -> list[str]:
        return [f"Hour {e['hour']}: {e['text']}" for e in sorted(evs, key=lambda e: e["hour"])]

    sec["backups"] = by_hour(empty + refuels)
    sec["restoration"] = by_hour(repairs + back)
    if len(pwp):
        sec["people"].append(f"People without power peak at {_people(pwp[peak])} at hour {hours[peak]}; "
                             f"{_people(pwp[-1])} at the last hour.")
        if np.isfinite(tel).all():
            low = int(np.argmin(tel))
            sec["people"].append(f"Telecom coverage falls to {tel[low] * 100:.0f} % at hour {hours[low]} "
                                 f"and ends at {tel[-1] * 100:.0f} %.")
        worst = float(np.min(crit_share))
        if math.isfinite(worst):
            sec["people"].append(f"Critical load served never falls below {worst * 100:.0f} %.")
    return Story(facts=facts, sections=sec)

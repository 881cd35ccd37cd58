"""The story of a timeline in plain sentences: what was hit, which islands formed, what went dark and when,
when backups ran out, when power came back, people without power and telecom coverage over time.

:func:`tell` reads only the timeline contract (hourly, facilities, facility_states, events, impacts) and
returns a :class:`Story`: JSON-ready facts plus the sentences that ``svitlo demo`` prints and the report
shows. Every state change of every facility is told (a facility back on grid power says after how long), with
the rolling outages that cause some of them placed first within their hour.

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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Story", "tell", "facility_words"]


@dataclass(frozen=True)
class Story:
    """Facts (JSON-ready) and sentences, by section: ``hit`` (struck assets, and facilities they cut off),
    ``islands``, ``facilities`` (every change of every facility, with the rolling outages behind them),
    ``backups``, ``restoration`` (repairs), ``people`` (people without power, telecom, facilities on grid /
    backup / dark)."""

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


_CHANGE = {("grid", "backup"): "switches to backup power", ("grid", "dark"): "goes dark (no backup power)",
           ("backup", "dark"): "goes dark: its backup is spent or failed", ("dark", "backup"): "back on backup power",
           ("backup", "grid"): "back on grid power", ("dark", "grid"): "back on grid power"}


def _changes(states: pd.DataFrame) -> list[dict[str, Any]]:
    """Every state change of every facility: ``{hour, facility, from, to, after_h}`` (``after_h``: hours since the
    facility last had grid power, for changes back to the grid), by hour then facility order."""
    out: list[dict[str, Any]] = []
    if states is None or states.empty:
        return out
    cols = sorted(states.columns, key=int)
    vals = states[cols].to_numpy(dtype=object)
    for fid, row in zip(states.index, vals):
        prev, left = "grid", None
        for j, st in enumerate(row):
            hour = int(cols[j])
            if st != prev:
                if prev == "grid":
                    left = hour
                out.append({"hour": hour, "facility": str(fid), "from": str(prev), "to": str(st),
                            "after_h": hour - left if st == "grid" and left is not None else None})
                prev = st
    return sorted(out, key=lambda c: c["hour"])


def _counts(states: pd.DataFrame, kinds: dict[str, str]) -> list[dict[str, Any]]:
    """Per hour: facilities on grid / on backup / dark, in all and by kind."""
    if states is None or states.empty:
        return []
    cols = sorted(states.columns, key=int)
    vals = states[cols].to_numpy(dtype=object)
    ks = [kinds.get(str(f), "?") for f in states.index]
    out = []
    for j, c in enumerate(cols):
        col = vals[:, j]
        by_kind: dict[str, dict[str, int]] = {}
        for k, v in zip(ks, col):
            d = by_kind.setdefault(k, {"grid": 0, "backup": 0, "dark": 0})
            d[str(v)] = d.get(str(v), 0) + 1
        out.append({"hour": int(c), "grid": int((col == "grid").sum()), "backup": int((col == "backup").sum()),
                    "dark": int((col == "dark").sum()), "by_kind": by_kind})
    return out


def cols_of(states: pd.DataFrame) -> list[Any]:
    """Hour columns of a facility-state table, in hour order."""
    return sorted(states.columns, key=int)


def _water_coverage(states: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray | None:
    """Per hour, the share of water facilities neither dark nor damaged (None without any)."""
    if states is None or states.empty:
        return None
    rows = [str(f) for f in states.index if kinds.get(str(f)) == "water"]
    if not rows:
        return None
    vals = states.loc[[i for i in states.index if str(i) in rows], cols_of(states)].to_numpy(dtype=object)
    return ((vals != "dark") & (vals != "damaged")).mean(axis=0).astype(float)


def facility_words(fac: pd.DataFrame) -> str:
    """How many facilities, by tier: "23 facilities (17 tier 1, 6 tier 2)", or "no facilities".

    >>> facility_words(pd.DataFrame({"tier": [1, 2, 1]})), facility_words(pd.DataFrame())
    ('3 facilities (2 tier 1, 1 tier 2)', 'no facilities')
    """
    if not len(fac):
        return "no facilities"
    word = f"{len(fac)} facilit{'y' if len(fac) == 1 else 'ies'}"
    if "tier" not in fac.columns:
        return word
    tiers = pd.to_numeric(fac["tier"], errors="coerce").dropna().astype(int).value_counts().sort_index()
    return word + " (" + ", ".join(f"{n} tier {t}" for t, n in tiers.items()) + ")"


def _buses(n: int) -> str:
    return f"{n} bus" if n == 1 else f"{n} buses"


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


def _rolling_causes(tl: Any, fac: pd.DataFrame, changes: list[dict[str, Any]],
                    rolling: list[dict[str, Any]]) -> dict[int, int]:
    """Changes (by position) between grid power and backup or dark that a rolling outage explains: in an hour
    when the facility's island rotates its queues and nothing was struck, repaired or hit; the island label."""
    isl = getattr(tl, "bus_island", None)
    if not rolling or isl is None or "bus" not in fac.columns:
        return {}
    rot = {(e["hour"], e["subject"].removeprefix("island:")) for e in rolling}
    busy = {e["hour"] for k in ("strike", "repair", "damage") for e in _events(tl, k)}
    fac_bus = dict(zip(fac["id"].astype(str), fac["bus"].astype(str)))
    cols = {int(c): c for c in isl.columns}
    index = {str(b): b for b in isl.index}
    out: dict[int, int] = {}
    for k, c in enumerate(changes):
        hour, bus = c["hour"], fac_bus.get(c["facility"])
        if "grid" not in (c["from"], c["to"]) or hour in busy or bus not in index or hour not in cols:
            continue
        label = int(isl.at[index[bus], cols[hour]])
        if (hour, str(label)) in rot:
            out[k] = label
    return out


def tell(tl: Any, *, scenario: Any = None, grid: Any = None) -> Story:
    """The :class:`Story` of a timeline (pure). With the ``scenario`` and ``grid`` it was simulated from, what
    was hit is also told by aim point ("aimed at 'town substation' …", :mod:`svitlo.report.aims`)."""
    fac = tl.facilities.reset_index(drop=True)
    names = dict(zip(fac["id"].astype(str), fac["name"].astype(str)))
    kinds = dict(zip(fac["id"].astype(str), fac["kind"].astype(str)))
    h = tl.hourly.reset_index(drop=True)
    hours = [int(x) for x in h["hour"]] if "hour" in h else list(range(len(h)))
    strikes, repairs, refuels = _events(tl, "strike"), _events(tl, "repair"), _events(tl, "refuel")
    rolling = _events(tl, "rolling_outage")
    changes = _changes(tl.facility_states)
    counts = _counts(tl.facility_states, kinds)
    empty, back = _events(tl, "backup_empty"), _events(tl, "power_back")
    damaged = _events(tl, "damage")
    on_backup = _first_hour(tl.facility_states, "backup")
    dark = _first_hour(tl.facility_states, "dark")
    pwp = h["people_without_power"].to_numpy(float) if "people_without_power" in h else np.zeros(len(h))
    tel = h["telecom_coverage"].to_numpy(float) if "telecom_coverage" in h else np.ones(len(h))
    cl = h["critical_load_mw"].to_numpy(float) if "critical_load_mw" in h else np.zeros(len(h))
    cs = h["critical_served_mw"].to_numpy(float) if "critical_served_mw" in h else np.zeros(len(h))
    cg = h["critical_grid_mw"].to_numpy(float) if "critical_grid_mw" in h else None
    with np.errstate(divide="ignore", invalid="ignore"):
        crit_share = np.where(cl > 0, cs / cl, 1.0)
        grid_share = np.where(cl > 0, cg / cl, 1.0) if cg is not None else None
    water = _water_coverage(tl.facility_states, kinds)
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
        "critical_grid_share": None if grid_share is None else [float(x) for x in grid_share],
        "water_coverage": None if water is None else [float(x) for x in water],
        "rolling_outages": rolling, "facility_changes": changes, "facility_counts": counts,
        "peak_people_without_power": {"hour": hours[peak] if hours else 0,
                                      "people": float(pwp[peak]) if len(pwp) else 0.0},
    }

    sec: dict[str, list[str]] = {k: [] for k in ("hit", "islands", "facilities", "backups", "restoration",
                                                  "people")}
    by_hour: dict[int, list[str]] = {}
    state_of = _damage_states(tl)
    for e in strikes:
        by_hour.setdefault(e["hour"], []).append(e["subject"])
    hit: list[tuple[int, float, str]] = []
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
        hit.append((hr, 0, f"Hour {hr}: " + "; ".join(parts) + "."))
    for e in damaged:
        hit.append((e["hour"], 2, f"Hour {e['hour']}: {e['text']}"))
    if len(h) and "islands" in h:
        sec["islands"].append(f"After the strike the grid is in {int(h['islands'].iloc[0])} islands, "
                              f"{int(h['energised_islands'].iloc[0])} of them energised.")
    for isl in islands[1:6]:
        sec["islands"].append(f"Island {isl['island']} ({_buses(isl['buses'])}) stays lit on its own "
                              f"generation: {isl['served_mw']:.2f} of {isl['load_mw']:.2f} MW served.")
    for e in freq:
        sec["islands"].append(f"Hour {e['hour']}: {e['text']}")
    for d in dark_reasons[:5]:
        sec["islands"].append(f"Island {d['island']} ({_buses(d['buses'])}, {d['load_mw']:.2f} MW of load) is dark: "
                              f"{d['reason']}.")
    # what went dark and when: every change of every facility, with the rolling outages that cause some of them
    # (a rolling outage comes first within its hour: it is the cause)
    cause = _rolling_causes(tl, fac, changes, rolling)
    fac_lines = [(c["hour"], 1, f"Hour {c['hour']}: {names.get(c['facility'], c['facility'])} "
                                f"({kinds.get(c['facility'], '?')}) {_CHANGE.get((c['from'], c['to']), c['to'])}"
                                + (f" after {c['after_h']} h" if c["after_h"] else "")
                                + (f" — the rolling outage in island {cause[k]}." if k in cause else "."))
                 for k, c in enumerate(changes)]
    fac_lines += [(e["hour"], 0, f"Hour {e['hour']}: rolling outage — {e['text']}") for e in rolling]
    sec["facilities"] = [t for _, _, t in sorted(fac_lines, key=lambda x: (x[0], x[1]))]
    # a destroyed bus cuts the facilities on it off the grid; the buildings themselves are not modelled as hit
    if "bus" in fac.columns:
        fac_bus = dict(zip(fac["id"].astype(str), fac["bus"].astype(str)))
        for e in strikes:
            on = [f for f, b in fac_bus.items() if b == e["subject"]]
            if on:
                who = ", ".join(f"{names[f]} ({kinds[f]})" for f in on)
                hit.append((e["hour"], 1, f"Hour {e['hour']}: {e['subject']} feeds {who}, cut off from the grid."))
    aimed: list[dict[str, Any]] = []
    if scenario is not None and grid is not None:
        from svitlo.report.aims import attribute, scenario_aims

        aimed = attribute(by_hour, scenario_aims(scenario), grid, weapons=dict(scenario.weapons))
        for a in aimed:
            what = ", ".join(a["destroyed"]) + " hit nearby" if a["destroyed"] else "nothing hit nearby"
            hit.append((a["hour"], 0.5, f"Hour {a['hour']}: {a['n']} × {a['weapon']} aimed at {a['aim']}: {what}."))
    facts["aim_points"] = aimed
    sec["hit"] = [t for _, _, t in sorted(hit, key=lambda x: (x[0], x[1]))]
    def by_hour(evs: list[dict[str, Any]]) -> list[str]:
        return [f"Hour {e['hour']}: {e['text']}" for e in sorted(evs, key=lambda e: e["hour"])]

    sec["backups"] = by_hour(empty + refuels)
    sec["restoration"] = by_hour(repairs)
    if len(pwp):
        sec["people"].append(f"People without power peak at {_people(pwp[peak])} at hour {hours[peak]}; "
                             f"{_people(pwp[-1])} at the last hour.")
        if np.isfinite(tel).all():
            low = int(np.argmin(tel))
            sec["people"].append(f"Telecom coverage falls to {tel[low] * 100:.0f} % at hour {hours[low]} "
                                 f"and ends at {tel[-1] * 100:.0f} %.")
        if water is not None and len(water):
            low = int(np.argmin(water))
            sec["people"].append(f"Water coverage (water facilities neither dark nor damaged) falls to "
                                 f"{water[low] * 100:.0f} % at hour {int(cols_of(tl.facility_states)[low])} and "
                                 f"ends at {water[-1] * 100:.0f} %.")
        if counts:
            w = max(counts, key=lambda c: (c["dark"], c["backup"], -c["hour"]))
            kinds_dark = ", ".join(f"{d['dark']} {k}" for k, d in w["by_kind"].items() if d["dark"])
            sec["people"].append(f"Facilities at hour {w['hour']}, the worst: {w['grid']} on grid power, "
                                 f"{w['backup']} on backup, {w['dark']} dark" + (f" ({kinds_dark})." if kinds_dark
                                                                                  else "."))
            end = counts[-1]
            sec["people"].append(f"At the last hour: {end['grid']} on grid power, {end['backup']} on backup, "
                                 f"{end['dark']} dark.")
        if (cl > 0).any() and grid_share is not None:
            low = int(np.argmin(grid_share))
            sec["people"].append(f"Tier-1 load served by the grid alone is lowest at hour {hours[low]}: "
                                 f"{grid_share[low] * 100:.0f} % of {cl[low]:.2f} MW"
                                 + (f" (at hour {hours[0]}: {grid_share[0] * 100:.0f} %)." if low else "."))
        if (cl > 0).any():
            worst = float(np.min(crit_share))
            low = int(np.argmin(crit_share))
            sec["people"].append(f"Tier-1 load supplied (by the grid or by facility backups) is lowest at hour "
                                 f"{hours[low]}: {worst * 100:.0f} % of {cl[low]:.2f} MW.")
    return Story(facts=facts, sections=sec)

"""The offline HTML report: one self-contained file (inline CSS, JS and SVG; no network at all).

It shows the grid map with islands coloured and facilities by state, a time slider over the horizon that
recolours the map for each hour, the resilience curve (critical load served over time) and other hourly
curves, one state strip per facility, the story, and the tables (hourly metrics, facilities, events). The
data behind the slider is embedded as JSON in a ``<script type="application/json">`` element; every text is
escaped.

Examples
--------
>>> import pathlib, tempfile, svitlo
>>> from svitlo.pipeline import simulate
>>> tl = simulate("case9", {"strikes": [{"assets": ["line:3"]}], "horizon_h": 4})
>>> with tempfile.TemporaryDirectory() as d:
...     html = write_report(svitlo.load_grid("case9"), tl, pathlib.Path(d) / "r.html").read_text()
>>> html.count('<circle class="bus'), 'type="range"' in html
(9, True)
>>> from svitlo.report.html import embed_json
>>> embed_json({"name": "</script><b>"})
'{"name": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
"""

from __future__ import annotations

import json
import math
import os
import re
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from svitlo.io.cases import load_grid
from svitlo.model.grid import Grid
from svitlo.report.payload import FACILITY_KINDS, ReportModel, report_model
from svitlo.report.story import facility_words, tell
from svitlo.report.svg import FACILITY_SYMBOLS, map_svg, state_strips, step_chart

__all__ = ["write_report", "render_report", "embed_json"]

_STATE_WORD = {"g": "grid", "b": "backup", "d": "dark", "x": "damaged"}
_SECTION_TITLES = {"hit": "What was hit", "islands": "Islands", "facilities": "What went dark and when",
                   "backups": "Backups and fuel", "restoration": "Repairs",
                   "people": "People, telecom and facilities"}
#: Table headers for people: (header, scale) by column; fractions are shown as percent.
HEADERS: dict[str, tuple[str, float]] = {
    "hour": ("hour", 1.0), "load_mw": ("load (MW)", 1.0), "served_mw": ("served (MW)", 1.0),
    "shed_mw": ("shed (MW)", 1.0), "ens_mwh": ("energy not served (MWh)", 1.0),
    "ens_weighted_mwh": ("tier-weighted energy not served (index)", 1.0),
    "ens_cum_mwh": ("energy not served so far (MWh)", 1.0), "people_without_power": ("people without power", 1.0),
    "critical_load_mw": ("tier-1 load (MW)", 1.0),
    "critical_served_mw": ("tier-1 load supplied, grid or backup (MW)", 1.0),
    "critical_grid_mw": ("tier-1 load served by the grid (MW)", 1.0),
    "telecom_coverage": ("telecom coverage (%)", 100.0), "water_coverage": ("water coverage (%)", 100.0),
    "damaged_facilities": ("facilities damaged", 1.0), "islands": ("islands", 1.0),
    "energised_islands": ("energised islands", 1.0), "id": ("id", 1.0), "kind": ("kind", 1.0),
    "name": ("name", 1.0), "bus": ("bus", 1.0), "population": ("people served", 1.0), "tier": ("tier", 1.0),
    "demand_kw": ("demand (kW)", 1.0), "hours_until_dark": ("dark from hour", 1.0),
    "hours_dark": ("hours dark", 1.0), "hours_on_backup": ("hours on backup", 1.0), "subject": ("asset", 1.0),
    "text": ("what happened", 1.0),
}


def embed_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` are written as unicode escapes."""
    text = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ": "))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _asset(name: str) -> str:
    return (resources.files("svitlo.report") / name).read_text(encoding="utf-8")


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.{digits}f}"
    return str(v)


def _table(df: pd.DataFrame, *, table_id: str, row_attr: str | None = None,
           digits: dict[str, int] | None = None, extra: tuple[str, list[str]] | None = None) -> str:
    digits = digits or {}
    df = df.copy()
    for c in df.columns:
        scale = HEADERS.get(str(c), ("", 1.0))[1]
        if scale != 1.0:
            df[c] = pd.to_numeric(df[c], errors="coerce") * scale
    names = [HEADERS.get(str(c), (str(c).removeprefix("dark_") + " dark" if str(c).startswith("dark_")
                                  else str(c).replace("_", " "), 1.0))[0] for c in df.columns]
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    if extra:
        head += f"<th>{escape(extra[0])}</th>"
    rows = []
    for i, r in enumerate(df.itertuples(index=False, name=None)):
        attr = f' data-h="{int(r[list(df.columns).index(row_attr)])}"' if row_attr else ""
        cells = "".join(f"<td>{escape(_fmt(v, digits.get(c, 1)))}</td>" for c, v in zip(df.columns, r))
        if extra:
            code = extra[1][i]
            cells += f'<td class="now st-{escape(code)}">{escape(_STATE_WORD.get(code, ""))}</td>'
        rows.append(f"<tr{attr}>{cells}</tr>")
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _charts(hourly: pd.DataFrame) -> str:
    def col(c: str) -> np.ndarray:
        return hourly[c].to_numpy(float) if c in hourly.columns else np.full(len(hourly), np.nan)

    crit_load = col("critical_load_mw")
    crit = col("critical_served_mw")
    charts = []
    if np.nansum(crit_load) > 0:
        series = [("tier-1 load", crit_load, "s-ref")]
        if "critical_grid_mw" in hourly.columns:
            series.append(("served by the grid", col("critical_grid_mw"), "s0"))
        series.append(("grid or facility backup", crit, "s2"))
        charts.append(step_chart(series, title="Resilience curve: tier-1 load served", unit="MW",
                                 chart_id="resilience"))
    charts += [
        step_chart([("load", col("load_mw"), "s-ref"), ("served", col("served_mw"), "s0"),
                    ("shed", col("shed_mw"), "s1")], title="Load served and shed", unit="MW"),
        step_chart([("people without power", col("people_without_power"), "s1")],
                   title="People without power", unit="people"),
    ]
    cover = [(f"{k} coverage", col(f"{k}_coverage"), s) for k, s in (("water", "k-water"), ("telecom", "k-telecom"))
             if np.isfinite(col(f"{k}_coverage")).any()]
    if cover:
        charts.append(step_chart(cover, title="Water and telecom coverage", percent=True, y_max=1.0, unit="%"))
    dark = [(k, col(f"dark_{k}"), f"k-{k}") for k in FACILITY_KINDS if f"dark_{k}" in hourly.columns]
    if dark:
        charts.append(step_chart(dark, title="Dark facilities by kind", unit="count"))
    charts.append(step_chart([("energy not served", col("ens_mwh"), "s1")],
                             title="Energy not served per hour", unit="MWh"))
    return "".join(f'<figure class="card">{c}</figure>' for c in charts)


def _lowest_share(part: np.ndarray, whole: np.ndarray) -> tuple[float, int] | None:
    """Lowest ``part / whole`` over hours with ``whole > 0``, and its first hour (None if there is none)."""
    ok = np.isfinite(part) & np.isfinite(whole) & (whole > 0)
    if not ok.any():
        return None
    share = np.where(ok, part / np.where(ok, whole, 1.0), np.inf)
    i = int(np.argmin(share))
    return float(share[i]), i


def kind_counts(fac_states: list[str], kinds: list[str], hour: int) -> dict[str, dict[str, int]]:
    """Facilities by kind at ``hour``: ``{kind: {"grid": n, "backup": n, "dark": n, "damaged": n}}``.

    >>> kind_counts(["gd", "bb", "gg"], ["water", "water", "hospital"], 1)
    {'water': {'grid': 0, 'backup': 1, 'dark': 1, 'damaged': 0}, 'hospital': {'grid': 1, 'backup': 0, 'dark': 0, 'damaged': 0}}
    """
    out: dict[str, dict[str, int]] = {}
    for st, k in zip(fac_states, kinds):
        d = out.setdefault(k, {w: 0 for w in _STATE_WORD.values()})
        d[_STATE_WORD.get(st[hour] if hour < len(st) else "g", "grid")] += 1
    return out


def _summary(m: ReportModel) -> str:
    """The headline cards: the planner's measures (grid alone first, then with facility backups)."""
    h = m.hourly
    items: list[tuple[str, str]] = []
    if len(h):
        pw = h["people_without_power"].to_numpy(float)
        i = int(np.nanargmax(pw)) if np.isfinite(pw).any() else 0
        items.append(("peak people without power", f"{_fmt(float(np.nanmax(pw)), 0)} (hour {i})"))
        cl = h["critical_load_mw"].to_numpy(float)
        if "critical_grid_mw" in h.columns:
            low = _lowest_share(h["critical_grid_mw"].to_numpy(float), cl)
            if low is not None:
                items.append(("lowest tier-1 load served by the grid", f"{low[0] * 100:.0f} % (hour {low[1]})"))
        low = _lowest_share(h["critical_served_mw"].to_numpy(float), cl)
        if low is not None:
            items.append(("lowest tier-1 load supplied, grid or facility backup",
                          f"{low[0] * 100:.0f} % (hour {low[1]})"))
        items.append(("energy not served", f"{_fmt(float(np.nansum(h['ens_mwh'])), 1)} MWh"))
        for k in ("water", "telecom"):
            c = f"{k}_coverage"
            v = h[c].to_numpy(float) if c in h.columns else np.full(len(h), np.nan)
            if np.isfinite(v).any():
                j = int(np.nanargmin(v))
                items.append((f"lowest {k} coverage", f"{v[j] * 100:.0f} % (hour {j})"))
    if m.fac_states:
        hours = len(m.fac_states[0])
        dark = [sum(st[t] == "d" for st in m.fac_states) for t in range(hours)]
        w = int(np.argmax(dark)) if hours else 0
        on_b = sum(st[w] == "b" for st in m.fac_states)
        n = len(m.fac_states)
        items.append((f"facilities at hour {w}, the worst: grid / backup / dark",
                      f"{n - dark[w] - on_b - sum(st[w] == 'x' for st in m.fac_states)} / {on_b} / {dark[w]}"))
        by_kind = kind_counts(m.fac_states, list(m.facilities["kind"].astype(str)), w)
        dark_kinds = ", ".join(f"{d['dark']} {k}" for k, d in by_kind.items() if d["dark"])
        if dark_kinds:
            items.append((f"dark at hour {w}, by kind", dark_kinds))
        items.append(("facilities ever dark", f"{sum('d' in st for st in m.fac_states)} of {n}"))
        damaged_ever = sum("x" in s for s in m.fac_states)
        if damaged_ever:
            items.append(("facilities damaged by strikes", f"{damaged_ever} of {n}"))
    return "".join(f'<div class="stat"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
                   for k, v in items)


def _legend() -> str:
    sym = "".join(f'<span class="key"><svg viewBox="-8 -8 16 16" class="sym"><path d="{d}"/></svg>'
                  f'{escape(k)}</span>' for k, d in FACILITY_SYMBOLS.items())
    states = "".join(f'<span class="key"><i class="sw st-{c}"></i>{w}</span>' for c, w in _STATE_WORD.items())
    grid = ('<span class="key"><i class="sw c3"></i>main energised island</span>'
            '<span class="key"><i class="sw c4"></i><i class="sw c5"></i>other energised islands</span>'
            '<span class="key"><i class="sw c2"></i>de-energised</span>'
            '<span class="key"><i class="sw c0"></i>destroyed</span>'
            '<span class="key"><i class="sw c1"></i>out of service</span>')
    return "".join(f'<div class="legend">{part}</div>' for part in (grid, sym, states))


def _story(timeline: Any, *, scenario: Any = None, grid: Grid | None = None) -> str:
    out = []
    for key, lines in tell(timeline, scenario=scenario, grid=grid).sections.items():
        if not lines:
            continue
        items = "".join(f"<li>{escape(x)}</li>" for x in lines)   # every line: long sections scroll
        out.append(f'<div class="storysec"><h3>{escape(_SECTION_TITLES.get(key, key))}</h3>'
                   f"<ul>{items}</ul></div>")
    return "".join(out)


def heading_of(name: str, grid: str) -> str:
    """The page title: the scenario's name and its grid, the grid named once.

    >>> heading_of("k3 on case118", "case118"), heading_of("scenario", "case9"), heading_of("north", "case9")
    ('k3 on case118', 'Strike scenario on case9', 'north — case9')
    """
    name = name.strip()
    if name in ("", "scenario"):
        return f"Strike scenario on {grid}"
    return name if grid in name else f"{name} — {grid}"


def _hourly_order(h: pd.DataFrame) -> pd.DataFrame:
    """Hourly columns with the tier-1 measures side by side (load, by the grid, grid or backup)."""
    cols = list(h.columns)
    if "critical_grid_mw" in cols and "critical_load_mw" in cols:
        cols.remove("critical_grid_mw")
        cols.insert(cols.index("critical_load_mw") + 1, "critical_grid_mw")
    if "water_coverage" in cols and "telecom_coverage" in cols:
        cols.remove("water_coverage")
        cols.insert(cols.index("telecom_coverage"), "water_coverage")
    return h[cols]


def render_report(grid: Grid, timeline: Any, *, title: str | None = None, scenario: Any = None) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    m = report_model(grid, timeline)
    lay = m.layout
    fac = m.facilities
    state0 = [_STATE_WORD[s[0]] if s else "grid" for s in m.fac_states]
    titles = [f"{r.name} ({r.kind}, {r.id})" for r in fac.itertuples()]
    map_html = map_svg(width=lay.width, height=lay.height, bus_x=lay.x, bus_y=lay.y, bus_ids=m.bus_ids,
                       bus_labels=m.bus_labels, bus_code=m.bus_code[:, 0], br_f=m.br_f, br_t=m.br_t,
                       branch_ids=m.branch_ids, branch_kind=m.branch_kind, branch_code=m.branch_code[:, 0],
                       fac_x=m.fac_x, fac_y=m.fac_y, fac_true_x=m.fac_true_x, fac_true_y=m.fac_true_y,
                       fac_ids=list(fac["id"]), fac_kinds=list(fac["kind"].astype(str)), fac_titles=titles,
                       fac_state=state0, km_per_unit=lay.km_per_unit, focus=m.focus)
    strips = state_strips([f"{r.name} · {r.kind}" for r in fac.itertuples()], m.fac_states)
    fac_cols = [c for c in ("id", "kind", "name", "bus", "population", "tier", "demand_kw",
                            "hours_until_dark", "hours_dark", "hours_on_backup") if c in fac.columns]
    now = [s[0] if s else "g" for s in m.fac_states]
    name = str(timeline.scenario)
    heading = title or heading_of(name, str(timeline.grid))
    strips_section = (f'<section><h2>Facilities hour by hour</h2><div class="card stripbox">{strips}</div>'
                      "</section>" if len(fac) else "")
    parts = {
        "TITLE": escape(heading),
        "SUBTITLE": escape(f"{m.data['horizon_h']} h horizon · {len(m.bus_ids)} buses, {len(m.branch_ids)} "
                           f"branches · {facility_words(fac)}"),
        "CSS": _asset("report.css"),
        "JS": _asset("report.js"),
        "DATA": embed_json(m.data),
        "SUMMARY": _summary(m),
        "STORY": _story(timeline, scenario=scenario, grid=grid),
        "MAP": map_html,
        "MAX_HOUR": str(m.data["horizon_h"] - 1),
        "LEGEND": _legend(),
        "CHARTS": _charts(m.hourly),
        "STRIPS_SECTION": strips_section,
        "HOURLY_TABLE": _table(_hourly_order(m.hourly), table_id="t-hourly", row_attr="hour" if "hour" in m.hourly else None,
                               digits={"telecom_coverage": 0, "water_coverage": 0, "people_without_power": 0}),
        "FACILITY_TABLE": ("<h2>Facilities</h2>" + _table(fac[fac_cols], table_id="t-facilities",
                                                            digits={"population": 0}, extra=("state now", now))
                           if len(fac) else ""),
        "EVENT_TABLE": _table(m.events.assign(kind=m.events["kind"].str.replace("_", " ")), table_id="t-events",
                              row_attr="hour"),
    }
    template = _asset("template.html")
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda mt: parts[mt.group(1)], template)


def write_report(grid: Grid | Any, timeline: Any, path: str | os.PathLike, *,
                 title: str | None = None, scenario: Any = None) -> Path:
    """Write the offline HTML report of ``timeline`` (simulated on ``grid``) to ``path``.

    Parameters
    ----------
    grid
        The grid the timeline was simulated on: a :class:`~svitlo.model.grid.Grid` or anything
        :func:`svitlo.load_grid` accepts. Bus latitude/longitude draw the map.
    timeline
        A :class:`svitlo.simulation.timeline.Timeline` (only its contract fields are read).
    path
        The HTML file to write (folders are created).
    title
        Page title (default: scenario and grid names).
    scenario
        The :class:`~svitlo.scenarios.spec.Scenario` simulated, if at hand: the story then ties what was
        destroyed to its named aim points.

    Returns
    -------
    Path
        The file written.
    """
    g = grid if isinstance(grid, Grid) else load_grid(grid)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(g, timeline, title=title, scenario=scenario), encoding="utf-8")
    return out

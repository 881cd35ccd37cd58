"""Two timelines side by side — two scenarios, or two plans for one scenario (protect this, stock that): the
planner's measures of each and the difference, their resilience curves on one chart, and facility by facility
the hours dark.

:func:`compare_timelines` is pure and JSON-ready (``svitlo serve`` answers ``POST /api/compare`` with it);
:func:`render_compare` draws it as one self-contained HTML page (``svitlo simulate A.yaml --compare B.yaml
--html PATH``) with the report's own charts and styles.

Examples
--------
>>> import svitlo
>>> a = svitlo.simulate("case9", {"strikes": [{"assets": ["line:3"]}], "horizon_h": 4})
>>> b = svitlo.simulate("case9", {"strikes": [{"assets": ["line:3", "line:6"]}], "horizon_h": 4})
>>> c = compare_timelines(a, b)
>>> row = next(r for r in c["summary"] if r["key"] == "ens_mwh")
>>> row["a"] < row["b"], row["better"]
(True, 'A')
>>> "<svg" in render_compare(a, b)
True
"""

from __future__ import annotations

import math
from html import escape
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from svitlo.report.svg import step_chart

__all__ = ["compare_timelines", "render_compare", "timeline_measures", "MEASURES", "COMPARE_FORMAT"]

#: Version of the JSON contract of :func:`compare_timelines` (``docs/contracts.md``).
COMPARE_FORMAT = "svitlo-compare/1"

#: The measures compared: key, label, unit, and whether lower is better.
MEASURES: tuple[tuple[str, str, str, bool], ...] = (
    ("ens_mwh", "energy not served", "MWh", True),
    ("critical_grid_gap_mwh", "tier-1 energy not served by the grid", "MWh", True),
    ("critical_supplied_gap_mwh", "tier-1 energy not supplied, grid or facility backup", "MWh", True),
    ("lowest_critical_grid_pct", "lowest tier-1 load served by the grid", "%", False),
    ("critical_grid_back_h", "hour tier-1 load is back on the grid for good", "h", True),
    ("peak_people_without_power", "peak people without power", "people", True),
    ("people_hours_without_power", "people-hours without power", "people·h", True),
    ("facility_hours_dark", "facility-hours dark", "h", True),
    ("facilities_ever_dark", "facilities ever dark", "count", True),
    ("lowest_water_pct", "lowest water coverage", "%", False),
    ("lowest_telecom_pct", "lowest telecom coverage", "%", False),
)


def _col(h: pd.DataFrame, c: str) -> np.ndarray:
    return h[c].to_numpy(float) if c in h.columns else np.full(len(h), np.nan)


def _finite(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def _water(tl: Any) -> np.ndarray:
    fac = tl.facilities
    ids = [i for i, k in zip(fac["id"].astype(str), fac["kind"].astype(str)) if k == "water"]
    st = tl.facility_states
    if not ids or st is None or st.empty:
        return np.full(len(tl.hourly), np.nan)
    rows = st.loc[[i for i in st.index if str(i) in ids], sorted(st.columns, key=int)].to_numpy(dtype=object)
    return ((rows != "dark") & (rows != "damaged")).mean(axis=0).astype(float)


def _dark_counts(tl: Any) -> np.ndarray:
    st = tl.facility_states
    if st is None or st.empty:
        return np.zeros(len(tl.hourly))
    return (st[sorted(st.columns, key=int)].to_numpy(dtype=object) == "dark").sum(axis=0).astype(float)


def timeline_measures(tl: Any) -> dict[str, float | None]:
    """The measures of :data:`MEASURES` for one timeline (``None`` where a measure does not apply, e.g. water
    coverage without water facilities, or tier-1 load never back on the grid within the horizon)."""
    h = tl.hourly.reset_index(drop=True)
    cl, cs = _col(h, "critical_load_mw"), _col(h, "critical_served_mw")
    cg = _col(h, "critical_grid_mw")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(cl > 0, cg / cl, 1.0)
    ok = share >= 0.999
    back = None
    if np.isfinite(share).all():
        bad = np.flatnonzero(~ok)
        back = 0.0 if bad.size == 0 else (float(bad[-1] + 1) if bad[-1] + 1 < len(share) else None)
    pw = _col(h, "people_without_power")
    tel, wat = _col(h, "telecom_coverage"), _water(tl)
    st = tl.facility_states
    ever = int(sum("dark" in set(r) for r in st.to_numpy(dtype=object))) if st is not None and len(st) else 0
    fac = tl.facilities
    return {
        "ens_mwh": _finite(np.nansum(_col(h, "ens_mwh"))),
        "critical_grid_gap_mwh": _finite(np.nansum(np.maximum(cl - cg, 0.0))) if np.isfinite(cg).any() else None,
        "critical_supplied_gap_mwh": _finite(np.nansum(np.maximum(cl - cs, 0.0))),
        "lowest_critical_grid_pct": (_finite(np.min(share) * 100) if (cl > 0).any() and np.isfinite(cg).all()
                                     else None),
        "critical_grid_back_h": back if (cl > 0).any() else None,
        "peak_people_without_power": _finite(np.nanmax(pw)) if len(pw) else None,
        "people_hours_without_power": _finite(np.nansum(pw)),
        "facility_hours_dark": _finite(float(pd.to_numeric(fac["hours_dark"]).sum())) if "hours_dark" in fac
        else None,
        "facilities_ever_dark": float(ever) if len(fac) else None,
        "lowest_water_pct": _finite(np.nanmin(wat) * 100) if np.isfinite(wat).any() else None,
        "lowest_telecom_pct": _finite(np.nanmin(tel) * 100) if np.isfinite(tel).any() else None,
    }


def _better(a: float | None, b: float | None, lower: bool, *, none_is_worst: bool = False) -> str:
    if a is None or b is None:
        if none_is_worst and (a is None) != (b is None):  # e.g. never back within the horizon
            return "A" if b is None else "B"
        return ""
    if abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b)):
        return "="
    return "A" if (a < b) == lower else "B"


def _series(h: pd.DataFrame, c: str) -> list[float | None]:
    return [_finite(v) for v in _col(h, c)]


def compare_timelines(a: Any, b: Any, *, labels: tuple[str, str] | None = None) -> dict[str, Any]:
    """Two timelines side by side (pure, JSON-ready).

    Returns
    -------
    dict
        ``format`` (:data:`COMPARE_FORMAT`), ``labels``; ``a`` and ``b`` (scenario, grid, horizon_h and hourly series: ``critical_load_mw``,
        ``critical_grid_mw``, ``critical_served_mw``, ``people_without_power``, ``shed_mw``, ``facilities_dark``);
        ``summary`` (one row per measure of :data:`MEASURES`: ``key, measure, unit, a, b, diff`` (B − A),
        ``better`` ("A", "B", "=" or "" when a side lacks it)); ``facilities`` (per facility id of either side:
        ``id, name, kind, hours_dark_a, hours_dark_b`` — ``None`` on the side without it).
    """
    labels = labels or (str(a.scenario), str(b.scenario))
    if labels[0] == labels[1]:
        labels = (f"A: {labels[0]}", f"B: {labels[1]}")
    ma, mb = timeline_measures(a), timeline_measures(b)
    summary = []
    for key, name, unit, lower in MEASURES:
        va, vb = ma[key], mb[key]
        summary.append({"key": key, "measure": name, "unit": unit, "a": va, "b": vb,
                        "diff": None if va is None or vb is None else vb - va, "better": _better(va, vb, lower,
                                                                   none_is_worst=key == "critical_grid_back_h")})
    sides = {}
    for side, tl in (("a", a), ("b", b)):
        h = tl.hourly.reset_index(drop=True)
        sides[side] = {"scenario": str(tl.scenario), "grid": str(tl.grid), "horizon_h": int(tl.horizon_h),
                       "hourly": {c: _series(h, c) for c in ("critical_load_mw", "critical_grid_mw",
                                                             "critical_served_mw", "people_without_power",
                                                             "shed_mw")}}
        sides[side]["hourly"]["facilities_dark"] = [float(v) for v in _dark_counts(tl)]
    fa = a.facilities.set_index(a.facilities["id"].astype(str))
    fb = b.facilities.set_index(b.facilities["id"].astype(str))
    rows = []
    for fid in list(fa.index) + [i for i in fb.index if i not in fa.index]:
        src = fa.loc[fid] if fid in fa.index else fb.loc[fid]
        rows.append({"id": fid, "name": str(src["name"]), "kind": str(src["kind"]),
                     "hours_dark_a": _finite(float(fa.at[fid, "hours_dark"])) if fid in fa.index else None,
                     "hours_dark_b": _finite(float(fb.at[fid, "hours_dark"])) if fid in fb.index else None})
    return {"format": COMPARE_FORMAT, "labels": list(labels), "a": sides["a"], "b": sides["b"], "summary": summary, "facilities": rows}


def _num(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    if unit in ("%", "h", "count", "people", "people·h"):
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def _pad(v: list[float | None], n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[:len(v)] = [np.nan if x is None else x for x in v]
    return out


def render_compare(a: Any, b: Any, *, title: str | None = None, labels: tuple[str, str] | None = None,
                   data: dict[str, Any] | None = None) -> str:
    """The comparison as one self-contained HTML page (inline CSS and SVG, no script, no network)."""
    c = data or compare_timelines(a, b, labels=labels)
    la, lb = c["labels"]
    n = max(c["a"]["horizon_h"], c["b"]["horizon_h"], 1)
    ha, hb = c["a"]["hourly"], c["b"]["hourly"]

    def pair(key: str, name: str, unit: str, *, ref: str | None = None) -> str:
        series = []
        if ref:
            series.append((f"tier-1 load ({la})", _pad(ha[ref], n), "s-ref"))
        series += [(la, _pad(ha[key], n), "s0"), (lb, _pad(hb[key], n), "s1")]
        return f'<figure class="card">{step_chart(series, title=name, unit=unit)}</figure>'

    charts = "".join([
        pair("critical_grid_mw", "Resilience: tier-1 load served by the grid", "MW", ref="critical_load_mw"),
        pair("critical_served_mw", "Tier-1 load supplied, grid or facility backup", "MW", ref="critical_load_mw"),
        pair("facilities_dark", "Facilities dark", "count"),
        pair("people_without_power", "People without power", "people"),
        pair("shed_mw", "Load shed", "MW"),
    ])
    has_t1 = {side: next(r[side] for r in c["summary"] if r["key"] == "lowest_critical_grid_pct") is not None
              for side in ("a", "b")}

    def cell(r: dict[str, Any], side: str) -> str:
        if r["key"] == "critical_grid_back_h" and r[side] is None and has_t1[side]:
            return "not within the horizon"
        return _num(r[side], r["unit"])

    head = f"<tr><th>measure</th><th>{escape(la)}</th><th>{escape(lb)}</th><th>B − A</th><th>better</th></tr>"
    body = "".join(
        f'<tr data-k="{escape(r["key"])}"><td>{escape(r["measure"])} ({escape(r["unit"])})</td>'
        f'<td>{escape(cell(r, "a"))}</td><td>{escape(cell(r, "b"))}</td>'
        f'<td>{"–" if r["diff"] is None else ("+" if r["diff"] > 0 else "") + _num(r["diff"], r["unit"])}</td>'
        f'<td>{escape({"A": la, "B": lb}.get(r["better"], r["better"]))}</td></tr>' for r in c["summary"])
    fac_rows = "".join(
        f'<tr><td>{escape(r["id"])}</td><td>{escape(r["kind"])}</td><td>{escape(r["name"])}</td>'
        f'<td>{_num(r["hours_dark_a"], "h")}</td><td>{_num(r["hours_dark_b"], "h")}</td>'
        f'<td>{"–" if r["hours_dark_a"] is None or r["hours_dark_b"] is None else _num(r["hours_dark_b"] - r["hours_dark_a"], "h")}</td></tr>'
        for r in sorted(c["facilities"], key=lambda r: -abs((r["hours_dark_b"] or 0) - (r["hours_dark_a"] or 0))))
    fac = (f'<h2>Facilities: hours dark</h2><div class="scroll"><table id="t-cmp-facilities"><thead><tr><th>id</th>'
           f'<th>kind</th><th>name</th><th>{escape(la)}</th><th>{escape(lb)}</th><th>B − A</th></tr></thead>'
           f'<tbody>{fac_rows}</tbody></table></div>' if c["facilities"] else "")
    heading = title or f"{la} vs {lb}"
    sub = (f"A: {c['a']['scenario']} on {c['a']['grid']}, {c['a']['horizon_h']} h · "
           f"B: {c['b']['scenario']} on {c['b']['grid']}, {c['b']['horizon_h']} h")
    css = (resources.files("svitlo.report") / "report.css").read_text(encoding="utf-8")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">\n"
            f"<title>{escape(heading)}</title>\n<style>\n{css}\nsvg.chart .cursor {{ display: none; }}\n"
            "#t-cmp-summary td:first-child { text-align: left; white-space: normal; }\n</style>\n</head>\n<body>\n"
            f'<header><h1>{escape(heading)}</h1><p class="sub">{escape(sub)}</p></header>\n<main>\n'
            f'<section><h2>Measures side by side</h2><div class="scroll"><table id="t-cmp-summary"><thead>{head}'
            f"</thead><tbody>{body}</tbody></table></div></section>\n"
            f'<section><h2>Curves over the horizon</h2><div class="charts">{charts}</div></section>\n'
            f"<section>{fac}</section>\n</main>\n<footer>svitlo comparison: two model runs side by side; figures "
            "are estimates from the model and its default assumptions.</footer>\n</body>\n</html>\n")

"""The repair plan as one self-contained HTML file: schedule table, Gantt chart, resilience curves side by side.

Examples
--------
>>> d = {"scenario": "s <1>", "crews": 1, "horizon_h": 4, "schedule": [{"asset": "line:3", "crew": 1,
...      "start_h": 0, "end_h": 2}], "objective": {"critical_ens_mwh": 1.0, "ens_mwh": 2.0, "weighted_ens_mwh": 3.0},
...      "baselines": {}, "optimality": {"status": "not_run", "gap": None, "mip_gap": None},
...      "resilience": {"critical_served_mw": [1.0, 1.0, 2.0, 2.0]}}
>>> h = restore_html(d)
>>> "<svg" in h, "s &lt;1&gt;" in h, "line:3" in h
(True, True, True)
"""

from __future__ import annotations

from html import escape
from typing import Any

from svitlo.report.svg import step_chart

__all__ = ["restore_html", "gantt_svg"]

_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#319795", "#4a5568")


def gantt_svg(schedule: list[dict[str, Any]], *, crews: int, horizon_h: int, width: float = 760.0) -> str:
    """Crews as rows, jobs as bars over hours (bars past the horizon are cut at its end)."""
    row_h, left, top = 26.0, 70.0, 24.0
    h_max = max([horizon_h] + [min(r["end_h"], horizon_h) for r in schedule])
    sx = (width - left - 10) / max(h_max, 1)
    height = top + crews * row_h + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
           f'aria-label="repair Gantt chart" class="gantt">']
    for c in range(crews):
        y = top + c * row_h
        out.append(f'<text x="4" y="{y + 17:.1f}" font-size="12">crew {c + 1}</text>')
        out.append(f'<line x1="{left}" y1="{y + row_h:.1f}" x2="{width - 10:.1f}" y2="{y + row_h:.1f}" '
                   'stroke="#ddd"/>')
    for t in range(0, h_max + 1, max(1, h_max // 12)):
        x = left + t * sx
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 20:.1f}" stroke="#eee"/>'
                   f'<text x="{x:.1f}" y="{height - 6:.1f}" font-size="10" text-anchor="middle">{t} h</text>')
    for i, r in enumerate(schedule):
        if r["start_h"] >= h_max:
            continue
        y = top + (r["crew"] - 1) * row_h + 3
        x0, x1 = left + r["start_h"] * sx, left + min(r["end_h"], h_max) * sx
        col = _COLOURS[i % len(_COLOURS)]
        name = escape(str(r["asset"]))
        out.append(f'<g><title>{name}: hours {r["start_h"]}–{r["end_h"]}</title><rect x="{x0:.1f}" y="{y:.1f}" '
                   f'width="{max(x1 - x0, 1):.1f}" height="{row_h - 6:.1f}" fill="{col}" opacity="0.85"/>'
                   f'<text x="{x0 + 3:.1f}" y="{y + 14:.1f}" font-size="10" fill="#fff">{name}</text></g>')
    out.append("</svg>")
    return "".join(out)


def restore_html(d: dict[str, Any]) -> str:
    """HTML page of a ``svitlo restore --json`` object."""
    crews, H = int(d["crews"]), int(d["horizon_h"])
    rows = "".join(f"<tr><td>{escape(str(r['asset']))}</td><td>{r['crew']}</td><td>{r['start_h']}</td>"
                   f"<td>{r['end_h']}{' (after horizon)' if r['end_h'] >= H else ''}</td></tr>"
                   for r in d["schedule"])
    figs = [("this schedule", d["objective"]), *d["baselines"].items()]
    comp = "".join(f"<tr><td>{escape(n)}</td><td>{f['critical_ens_mwh']:,.2f}</td><td>{f['ens_mwh']:,.1f}</td>"
                   f"<td>{f['weighted_ens_mwh']:,.1f}</td></tr>" for n, f in figs)
    res = d.get("resilience", {})
    series = [("this schedule" if k == "critical_served_mw" else k, v, f"s{i}") for i, (k, v) in
              enumerate(res.items())]
    chart = step_chart(series, title="critical demand served (MW), by plan", unit="MW") if series else ""
    o = d["optimality"]
    gap = ("" if o.get("gap") is None else
           f" — this schedule is {o['gap']:+.1%} in weighted energy not served against the MILP schedule")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Repair plan — {escape(str(d['scenario']))}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:60em}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:right}}td:first-child,th:first-child{{text-align:left}}
.s0{{stroke:#2b6cb0}}.s1{{stroke:#c05621}}.s2{{stroke:#2f855a}}.s3{{stroke:#6b46c1}}.s4{{stroke:#c53030}}
polyline{{fill:none;stroke-width:2}}</style></head><body>
<h1>Repair plan: {escape(str(d['scenario']))}</h1>
<p>{crews} crew{'s' if crews > 1 else ''}, {H} h horizon; exact MILP: {escape(str(o['status']))}{gap}.</p>
<h2>Gantt chart</h2>{gantt_svg(d['schedule'], crews=crews, horizon_h=H)}
<h2>Energy not served (simulated, same timeline)</h2>
<table><tr><th>plan</th><th>critical MWh</th><th>all MWh</th><th>tier-weighted MWh</th></tr>{comp}</table>
<h2>Resilience curves</h2>{chart}
<h2>Schedule</h2><table><tr><th>asset</th><th>crew</th><th>start h</th><th>end h</th></tr>{rows}</table>
</body></html>"""

"""The *protect first* report: ``svitlo rank`` and ``svitlo harden`` results as one self-contained HTML page.

Input are the JSON objects of ``svitlo rank --json`` and ``svitlo harden --json`` (as written to
``rank.json`` / ``harden.json`` in an ``--out`` folder), so a page can be rebuilt from a run folder
(:func:`protect_page_from_dir`). The rank section holds the protect-first table with a bar chart of its scores
and the worst sets; the harden section the plan, its figures before and after protection in sample and out of
sample (with the 95 % confidence interval) and the baselines, drawn as bars. Every table row carries its values
in ``data-`` attributes (full precision) for checks and scripts; no script, no network.

Examples
--------
>>> r = {"metric": "shed_mw", "k": 2, "method": "exhaustive", "scenarios_evaluated": 3,
...      "optimality": {"status": "optimal", "gap": 0.0},
...      "worst": [{"assets": ["line:1", "line:2"], "value": 30.0, "shed_mw": 30.0, "weighted_shed_mw": 30.0,
...                 "people_without_power": 9.0, "facilities_without_grid": 0}],
...      "assets": [{"id": "line:1", "rank": 1, "score": 1.0, "times_in_worst": 1, "worst_value": 30.0,
...                  "n1_value": 0.0, "n2_worst": 30.0, "n2_mean": 1.5}]}
>>> h = protect_page(rank=r)
>>> '<tr data-asset="line:1" data-rank="1" data-score="1.0"' in h, "<svg" in h, "<script" in h
(True, True, False)
"""

from __future__ import annotations

import json
import math
import os
from html import escape
from pathlib import Path
from typing import Any

from svitlo.errors import InputError
from svitlo.report.svg import nice_ticks

__all__ = ["rank_section", "harden_section", "protect_page", "protect_page_from_dir", "bar_chart"]

#: Assets drawn in the protect-first chart.
CHART_ASSETS = 15

_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;max-width:64em;color:#1a202c}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border-bottom:1px solid #ddd;padding:.2em .6em;
text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f7fafc}
.bars text{font-size:11px}#worst-sets td:nth-child(2){text-align:left}.note{color:#4a5568}.plan{font-weight:600}"""


def _n(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{float(v):,.{digits}f}"


def _attr(v: Any) -> str:
    return escape(json.dumps(v) if not isinstance(v, str) else v, quote=True)


def bar_chart(bars: list[tuple[str, float]], *, unit: str, title: str, width: float = 640.0,
              ci: dict[str, tuple[float, float]] | None = None, highlight: str | None = None) -> str:
    """Horizontal bars (label, value), optional 95 % interval whiskers per label, as an SVG string.

    >>> s = bar_chart([("a", 2.0), ("b", 1.0)], unit="MW", title="t", ci={"b": (0.5, 1.5)})
    >>> s.count("<rect"), "whisker" in s
    (2, True)
    """
    left, row, top = 190.0, 22.0, 26.0
    vmax = max([v for _, v in bars if math.isfinite(v)] + [hi for _, hi in (ci or {}).values()] + [0.0])
    ticks = nice_ticks(vmax)
    span = ticks[-1] or 1.0
    sx = (width - left - 20) / span
    height = top + row * len(bars) + 26
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
           f'aria-label="{escape(title, quote=True)}" class="bars"><text x="0" y="14" font-weight="600">'
           f'{escape(title)}</text>']
    for t in ticks:
        x = left + t * sx
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 22:.1f}" stroke="#e2e8f0"/>'
                   f'<text x="{x:.1f}" y="{height - 8:.1f}" text-anchor="middle">{t:g}</text>')
    out.append(f'<text x="{left - 6:.0f}" y="{height - 8:.1f}" text-anchor="end">{escape(unit)}</text>')
    for i, (label, v) in enumerate(bars):
        y = top + i * row
        w = max(v, 0.0) * sx if math.isfinite(v) else 0.0
        col = "#c05621" if label == highlight else "#2b6cb0"
        out.append(f'<g><title>{escape(label)}: {_n(v, 3)} {escape(unit)}</title>'
                   f'<text x="{left - 6:.0f}" y="{y + 14:.1f}" text-anchor="end">{escape(label)}</text>'
                   f'<rect x="{left:.1f}" y="{y + 3:.1f}" width="{w:.1f}" height="{row - 8:.1f}" fill="{col}"/>'
                   f'<text x="{left + w + 4:.1f}" y="{y + 14:.1f}">{_n(v, 2)}</text></g>')
        if ci and label in ci:
            lo, hi = ci[label]
            ym = y + row / 2 - 1
            out.append(f'<path class="whisker" d="M{left + lo * sx:.1f},{ym:.1f}H{left + hi * sx:.1f}'
                       f'M{left + lo * sx:.1f},{ym - 5:.1f}v10M{left + hi * sx:.1f},{ym - 5:.1f}v10" '
                       f'stroke="#1a202c" fill="none"><title>95 % CI {_n(lo, 2)} … {_n(hi, 2)}</title></path>')
    out.append("</svg>")
    return "".join(out)


def rank_section(d: dict[str, Any]) -> str:
    """The rank section of the page from ``svitlo rank --json`` output."""
    m, k = d["metric"], d["k"]
    o = d["optimality"]
    gap = o.get("gap")
    status = escape(str(o["status"])) + (f" (gap {gap:.2%})" if gap else "")
    assets = d["assets"]
    top = [(a["id"], float(a["score"])) for a in assets if a["score"] > 0][:CHART_ASSETS]
    chart = bar_chart(top, unit="share",
                      title=f"protect-first score (share of the worst sets' {m} held by sets containing the asset)")
    cols = ("rank", "score", "times_in_worst", "worst_value", "n1_value", "n2_worst", "n2_mean")
    head = "".join(f"<th>{h}</th>" for h in ("asset", "rank", "score", "in worst sets", f"worst {m}",
                                              f"N-1 {m}", f"N-2 worst {m}", f"N-2 mean {m}"))
    rows = "".join(
        f'<tr data-asset="{_attr(a["id"])}" ' + " ".join(f'data-{c.replace("_", "-")}="{_attr(a.get(c))}"'
                                                         for c in cols) + ">"
        f"<td>{escape(a['id'])}</td><td>{a['rank']}</td><td>{_n(a['score'], 3)}</td><td>{a['times_in_worst']}</td>"
        + "".join(f"<td>{_n(a.get(c))}</td>" for c in cols[3:]) + "</tr>" for a in assets)
    wcols = ("value", "shed_mw", "weighted_shed_mw", "people_without_power", "facilities_without_grid")
    whead = "".join(f"<th>{h}</th>" for h in ("#", "assets", m, "shed MW", "weighted shed MW", "people w/o power",
                                              "facilities w/o grid"))
    wrows = "".join(
        f'<tr data-set="{_attr(",".join(w["assets"]))}" ' + " ".join(
            f'data-{c.replace("_", "-")}="{_attr(w.get(c))}"' for c in wcols) + ">"
        f"<td>{i}</td><td>{escape(', '.join(w['assets']))}</td>"
        + "".join(f"<td>{_n(w.get(c), 0 if c in ('people_without_power',) else 1)}</td>" for c in wcols) + "</tr>"
        for i, w in enumerate(d["worst"], 1))
    return f"""<section id="rank"><h2>What hurts most: worst sets of {k}</h2>
<p>{escape(m)}, {escape(d['method'])}, {_n(int(d['scenarios_evaluated']))} sets evaluated; {status}.</p>
{chart}
<h3>Protect first</h3>
<table id="protect-first"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<h3>Worst sets</h3>
<table id="worst-sets"><thead><tr>{whead}</tr></thead><tbody>{wrows}</tbody></table></section>"""


def harden_section(d: dict[str, Any]) -> str:
    """The harden section of the page from ``svitlo harden --json`` output (``info`` optional)."""
    m, obj = d["metric"], d["objective"]
    i, o = d["in_sample"], d["out_of_sample"]
    info = d.get("info") or {}
    plan = ", ".join(d["protected"]) or "(nothing helps)"
    bars = [("no protection", float(o["before"])), ("this plan", float(o["after"]))]
    bars += [(f"baseline: {k}", float(v)) for k, v in d["baselines"].items()]
    lo, hi = o["ci95"]
    chart = bar_chart(bars, unit=m, title=f"out of sample ({_n(o['n'])} fresh scenarios): {obj} {m}",
                      ci={"this plan": (float(lo), float(hi))}, highlight="this plan")
    rows = [("in sample" if d["method"] != "dad" else f"every attack of {info.get('attack_k', '?')}",
             i.get("n"), i["before"], i["after"], None),
            ("out of sample", o["n"], o["before"], o["after"], (lo, hi))]
    body = "".join(
        f'<tr data-row="{escape(r[0], quote=True)}" data-before="{_attr(r[2])}" data-after="{_attr(r[3])}">'
        f"<td>{escape(r[0])}</td><td>{_n(r[1])}</td><td>{_n(r[2], 2)}</td><td>{_n(r[3], 2)}</td>"
        f"<td>{'' if r[4] is None else f'{_n(r[4][0], 2)} … {_n(r[4][1], 2)}'}</td></tr>" for r in rows)
    worst_k = info.get("baselines_worst_k") or {}
    plans = info.get("baseline_plans") or {}
    base = "".join(
        f'<tr data-baseline="{escape(k, quote=True)}" data-after="{_attr(v)}"><td>{escape(k)}</td>'
        f"<td>{escape(', '.join(plans.get(k, [])))}</td><td>{_n(v, 2)}</td>"
        + (f"<td>{_n(worst_k.get(k), 2)}</td>" if worst_k else "") + "</tr>" for k, v in d["baselines"].items())
    wk_head = f"<th>worst {info.get('attack_k')}-attack {escape(m)}</th>" if worst_k else ""
    note = ""
    if d["method"] == "dad":
        note = (f"<p class=note>Defender–attacker–defender over every attack of {info.get('attack_k')} "
                f"{escape('/'.join(info.get('kinds', [])))} assets: {escape(str(info.get('status')))} after "
                f"{info.get('iterations')} attacks in {_n(info.get('seconds'), 1)} s; the worst attack left is "
                f"{escape(', '.join(info.get('worst_attack_after', [])) or '–')}.</p>")
    red = o.get("reduction_ci95")
    red_txt = f"; reduction 95 % CI {_n(red[0], 2)} … {_n(red[1], 2)}" if red else ""
    return f"""<section id="harden"><h2>What to protect: budget {_n(d['budget'], 1)}</h2>
<p class=plan>Protect: {escape(plan)}</p>
<p>{escape(obj)} {escape(m)}, method {escape(d['method'])}; out of sample on {escape(str(o.get('seeds', 'fresh seeds')))}
{red_txt}.</p>{note}
{chart}
<table id="harden-figures"><thead><tr><th></th><th>n</th><th>before</th><th>after</th><th>95 % CI after</th></tr>
</thead><tbody>{body}</tbody></table>
<h3>Against the plans a planner would otherwise pick</h3>
<table id="harden-baselines"><thead><tr><th>baseline</th><th>protects</th><th>after (out of sample)</th>{wk_head}
</tr></thead><tbody>{base}</tbody></table></section>"""


def protect_page(*, rank: dict[str, Any] | None = None, harden: dict[str, Any] | None = None,
                 title: str = "Protect first") -> str:
    """The whole page: a rank section, a harden section, or both."""
    if rank is None and harden is None:
        raise InputError("nothing to show: neither a rank nor a harden result")
    parts = [rank_section(rank) if rank is not None else "", harden_section(harden) if harden is not None else ""]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{''.join(parts)}</body></html>")


def protect_page_from_dir(path: str | os.PathLike, *, title: str | None = None) -> str:
    """The page of a run folder holding ``rank.json`` and/or ``harden.json`` (from ``--out``)."""
    p = Path(path)
    found = {n: p / f"{n}.json" for n in ("rank", "harden") if (p / f"{n}.json").is_file()}
    if not found:
        raise InputError("no rank.json or harden.json here (write one with svitlo rank/harden --out)",
                         source=str(p))
    data = {n: json.loads(f.read_text(encoding="utf-8")) for n, f in found.items()}
    return protect_page(**data, title=title or f"Protect first — {p.name}")

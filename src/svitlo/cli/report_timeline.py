"""``svitlo report RUN_DIR`` for a timeline Monte Carlo: per-facility P(dark within 24/48/72 h) with 95 %
intervals, and the resilience curve as a P10/P50/P90 band."""

from __future__ import annotations

import json
from pathlib import Path

from svitlo.cli.common import console, fmt_people


def print_timeline_report(run_dir: Path, *, top: int, as_json: bool) -> None:
    """Print the report of a timeline run (tables recomputed from the stored rows)."""
    from rich.table import Table

    from svitlo.analyses.sweep.timeline_mc import DARK_WITHIN_H, facility_dark_probabilities, resilience_band
    from svitlo.store.runstore import read_manifest

    man = read_manifest(run_dir)
    fac = facility_dark_probabilities(run_dir)
    band = resilience_band(run_dir)
    n = int(fac["scenarios"].iloc[0]) if len(fac) else 0
    summary_p = Path(run_dir) / "summary.json"
    summary = json.loads(summary_p.read_text()) if summary_p.is_file() else {}
    if as_json:
        print(json.dumps({"run_id": man["run_id"], "analysis": "timeline", "n": man["n"], "rows": n,
                          "complete": bool(man.get("complete")), "summary": summary,
                          "facilities": json.loads(fac.to_json(orient="records")),
                          "resilience_band": json.loads(band.to_json(orient="records"))}))
        return
    state = "complete" if man.get("complete") else f"[yellow]partial: {n:,} of {man['n']:,}[/yellow]"
    console.print(f"[bold]{man.get('scenario_name', 'timelines')}[/bold] on {man.get('grid', '?')} — {n:,} "
                  f"timelines of {man.get('horizon_h')} h, root seed {man['root_seed']}, run {man['run_id']} "
                  f"({state})")
    if summary:
        m = summary["mean"]
        console.print(f"mean per timeline: energy not served {m['ens_mwh']:,.1f} MWh (critical "
                      f"{m['critical_ens_mwh']:,.1f} MWh), {fmt_people(m['people_hours_without_power'])} "
                      "people-hours without power")
    shown = min(len(fac), max(top, 20))
    t = Table(title="facilities: probability of going dark (95 % interval; "
                    + (f"{len(fac)} facilities)" if shown == len(fac) else
                       f"the {shown} most exposed of {len(fac)}; --top {len(fac)} shows all)"))
    for c in ("facility", "kind", "people", *[f"P(dark ≤{h}h)" for h in DARK_WITHIN_H], "mean h dark"):
        t.add_column(c, justify="left" if c in ("facility", "kind") else "right")
    for r in fac.head(shown).itertuples():
        cells = [f"{getattr(r, f'p_dark_{h}h'):.3f} [{getattr(r, f'p_dark_{h}h_lo'):.3f}–"
                 f"{getattr(r, f'p_dark_{h}h_hi'):.3f}]" for h in DARK_WITHIN_H]
        t.add_row(str(r.facility), str(r.kind), fmt_people(getattr(r, "population", float("nan"))), *cells,
                  f"{r.mean_hours_dark:,.1f}")
    console.print(t)
    b = Table(title="resilience curve: tier-1 load supplied, grid or facility backup (MW), across timelines")
    for c in ("hour", "P10", "P50", "P90", "mean"):
        b.add_column(c, justify="right")
    step = max(1, len(band) // 12)
    for r in band.iloc[::step].itertuples():
        b.add_row(str(r.hour), f"{r.critical_served_mw_p10:,.2f}", f"{r.critical_served_mw_p50:,.2f}",
                  f"{r.critical_served_mw_p90:,.2f}", f"{r.critical_served_mw_mean:,.2f}")
    console.print(b)

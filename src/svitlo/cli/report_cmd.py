"""``svitlo report RUN_DIR``: summary of a sweep's result store (quantiles, worst scenarios, risk curve,
assets to protect first)."""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.analyses.sweep.results import MAX_POINTS, MAX_TOP
from svitlo.cli.app import app
from svitlo.cli.common import console, distinct_decimals, fmt_mw, fmt_people, title_of


def _prob(p: float) -> str:
    return f"{p:.3f}" if p == 0 or p >= 0.001 else f"{p:.1e}"


def _num(v: float) -> str:
    return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"


@app.command("report")
def report_cmd(
    run_dir: Path = typer.Argument(..., help="run folder written by `svitlo sweep` (or rank/harden --out)"),
    top: int = typer.Option(10, "--top", min=1, max=MAX_TOP, help="rows in the worst-scenario and asset tables"),
    points: int = typer.Option(11, "--points", min=2, max=MAX_POINTS, help="risk-curve points per metric"),
    as_json: bool = typer.Option(False, "--json", help="print the tables as one JSON object"),
    html: Path | None = typer.Option(None, "--html", help="on a `svitlo rank`/`harden` --out folder: write the "
                                                          "protect-first page"),
) -> None:
    """Summarise a sweep: metric quantiles, worst scenarios, risk curves and what to protect first."""
    import json

    from rich.table import Table

    from svitlo.analyses.sweep import open_run, report_tables
    from svitlo.analyses.sweep.timeline_mc import is_timeline_run
    from svitlo.cli.protect_report import is_protect_dir, print_protect_report

    if is_protect_dir(run_dir):
        return print_protect_report(run_dir, html=html, as_json=as_json)
    if html is not None:
        from svitlo.errors import InputError

        raise InputError("--html applies to a folder written by svitlo rank or svitlo harden --out",
                         source=str(run_dir), field="html", value=str(html))
    if is_timeline_run(run_dir):
        from svitlo.cli.report_timeline import print_timeline_report

        return print_timeline_report(run_dir, top=top, as_json=as_json)
    run = open_run(run_dir)
    tables = report_tables(run_dir, top=top, points=points)
    rows = run.rows()
    if as_json:
        out = {"run_id": run.manifest["run_id"], "n": run.n, "rows": rows, "complete": run.complete,
               **{k: json.loads(df.to_json(orient="records")) for k, df in tables.items()}}
        print(json.dumps(out))
        return
    m = run.manifest
    state = "complete" if run.complete and rows == run.n else f"[yellow]partial: {rows:,} of {run.n:,}[/yellow]"
    console.print(f"[bold]{title_of(m.get('scenario_name', 'sweep'), m.get('grid', '?'))}[/bold] ({m.get('mode', '?')}) — "
                  f"{rows:,} scenarios, root seed {m['root_seed']}, run {m['run_id']} ({state})")
    if rows == 0:
        console.print("no scenario stored yet: run (or resume) the sweep first")
        return

    t = Table(title="metrics over scenarios")
    for c in ("metric", "mean", "p05", "p50", "p95", "p99", "max"):
        t.add_column(c, justify="right" if c != "metric" else "left")
    for r in tables["metrics"].itertuples():
        t.add_row(r.metric, *(_num(float(getattr(r, c))) if getattr(r, c) == getattr(r, c) else "-"
                              for c in ("mean", "p05", "p50", "p95", "p99", "max")))
    console.print(t)

    w = Table(title=f"worst {len(tables['worst'])} scenarios by shed MW")
    for c in ("scenario", "shed MW", "people w/o power", "islands", "destroyed"):
        w.add_column(c, justify="right" if c != "destroyed" else "left")
    for r in tables["worst"].itertuples():
        d = list(r.destroyed)
        w.add_row(str(r.scenario), fmt_mw(r.shed_mw), fmt_people(r.people_without_power), str(r.islands),
                  " ".join(d[:8]) + (f" (+{len(d) - 8})" if len(d) > 8 else ""))
    console.print(w)
    if len(tables["worst"]):
        r0 = tables["worst"].iloc[0]
        console.print(f"reproduce the worst one: svitlo assess SCENARIO.yaml --strike {','.join(map(str, r0['destroyed']))}",
                      soft_wrap=True)

    rc = tables["risk_curve"]
    c = Table(title="risk curve: probability that a scenario exceeds the threshold")
    for col in ("shed MW >", "P", "people w/o power >", "P "):
        c.add_column(col, justify="right")
    a = rc[rc["metric"] == "shed_mw"].reset_index(drop=True)
    b = rc[rc["metric"] == "people_without_power"].reset_index(drop=True)
    dec = distinct_decimals(a["threshold"].tolist())   # two thresholds never print alike

    for i in range(max(len(a), len(b))):
        c.add_row(f"{a['threshold'][i]:,.{dec}f}" if i < len(a) else "", _prob(a['exceedance_probability'][i])
                  if i < len(a) else "", fmt_people(b["threshold"][i]) if i < len(b) else "",
                  _prob(b['exceedance_probability'][i]) if i < len(b) else "")
    console.print(c)

    s = Table(title=f"protect first: top {len(tables['assets'])} assets by expected shed when lost")
    for col in ("asset", "P(lost)", "shed when lost MW", "shed when intact MW", "score MW"):
        s.add_column(col, justify="right" if col != "asset" else "left")
    for r in tables["assets"].itertuples():
        intact = r.expected_shed_when_intact_mw
        s.add_row(r.asset, f"{r.loss_probability:.3f}", fmt_mw(r.expected_shed_when_lost_mw),
                  fmt_mw(intact) if intact == intact else "-",
                  _num(r.protect_score_mw) if r.protect_score_mw == r.protect_score_mw else "always lost")
    console.print(s)

    if "facilities" in tables:
        fac = tables["facilities"]
        shown = min(len(fac), max(top, 20))
        f = Table(title="facilities: probability of losing grid supply at hour 0 ("
                        + (f"{len(fac)} facilities" if shown == len(fac) else
                           f"the {shown} most exposed of {len(fac)}; --top {len(fac)} shows all") + ")")
        horizon = f"P(dark ≤{fac['horizon_h'].iloc[0]:.0f}h)" if "horizon_h" in fac and len(fac) else "P(dark)"
        for col in ("facility", "kind", "people", "P(no grid)", horizon, "backup"):
            f.add_column(col, justify="left" if col in ("facility", "kind", "backup") else "right",
                         no_wrap=col != "backup", min_width=16 if col == "backup" else None)
        for r in fac.head(shown).itertuples():
            backup = []
            if getattr(r, "gen_kw", 0) and r.gen_kw > 0:
                backup.append(f"gen {r.gen_kw:,.0f} kW/{r.fuel_h:,.0f} h")
            if getattr(r, "battery_kwh", 0) and r.battery_kwh > 0:
                backup.append(f"bat {r.battery_kwh:,.0f} kWh")
            f.add_row(str(r.facility), str(getattr(r, "kind", "")), fmt_people(getattr(r, "population", float("nan"))),
                      f"{r.probability_without_grid:.3f}",
                      f"{getattr(r, 'probability_dark_within_horizon', float('nan')):.3f}",
                      "; ".join(backup) or "[red]none[/red]")

        console.print(f)
        console.print("P(dark): without grid and backup exhausted (or the generator failing to start) within the "
                      "horizon, if nothing is repaired or refuelled; `svitlo simulate` simulates repairs.")

"""``svitlo restore SCENARIO.yaml --crews N``: a repair schedule, compared with naive orders (and the exact MILP
on small cases)."""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.cli.app import app
from svitlo.cli.bounds import MAX_CREWS, MAX_SECONDS, finite_seconds
from svitlo.cli.common import console
from svitlo.scenarios.geo import MAX_SEED


def with_source(exc: Exception, path: Path) -> Exception:
    """The same input error, naming the scenario file when it named only ``scenario``."""
    from svitlo.errors import InputError

    if isinstance(exc, InputError) and exc.source in (None, "scenario"):
        return type(exc)(exc.message, source=str(path), field=exc.field, value=exc.value)
    return exc


@app.command("restore")
def restore_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file (repairs: durations, spares, access, travel_h)"),
    crews: int = typer.Option(..., "--crews", min=1, max=MAX_CREWS, help="number of repair crews (>= 1)"),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="timeline seed (default: the scenario's)"),
    method: str = typer.Option("heuristic", "--method", help="heuristic (constructive + local search) or rrr "
                               "(recursive restoration refinement + local search)"),
    exact: str = typer.Option("auto", "--exact", help="exact MILP: auto (small cases), always or never"),
    time_limit: float = typer.Option(20.0, "--time-limit", min=0, max=MAX_SECONDS,
                                    callback=finite_seconds, help="local-search budget (s)"),
    milp_time_limit: float = typer.Option(60.0, "--milp-time-limit", min=1, max=MAX_SECONDS,
                                         callback=finite_seconds, help="MILP budget (s)"),
    html: Path | None = typer.Option(None, "--html", help="write the schedule, Gantt chart and resilience curves "
                                     "as one HTML file"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
) -> None:
    """Plan repairs: which crew repairs which asset when, to keep the most critical energy served."""
    import json

    from rich.table import Table

    from svitlo.analyses.restore import restore
    from svitlo.errors import InputError, ScenarioError
    from svitlo.io.scenario_file import load_scenario

    if method not in ("heuristic", "rrr"):
        raise ScenarioError("expected heuristic or rrr", field="--method", value=method)
    if exact not in ("auto", "always", "never"):
        raise ScenarioError("expected auto, always or never", field="--exact", value=exact)
    if html is not None:
        from svitlo.io.outputs import check_output_file

        check_output_file(html, option="--html")
    sc = load_scenario(scenario)
    try:
        r = restore(sc, crews=crews, seed=seed, exact=exact, time_limit_s=time_limit,  # type: ignore[arg-type]
                    milp_time_limit_s=milp_time_limit, method=method)  # type: ignore[arg-type]
    except InputError as exc:
        raise with_source(exc, scenario) from None
    d = r.to_dict()
    if html is not None:
        from svitlo.errors import OutputPathError
        from svitlo.report.restore_html import restore_html

        try:
            html.write_text(restore_html(d), encoding="utf-8")
        except OSError as exc:
            raise OutputPathError(f"cannot write the report: {exc.strerror or exc}", field="--html",
                                  value=str(html)) from None
    if as_json:
        print(json.dumps(d, allow_nan=False))
        return
    t = Table(title=f"repair schedule: {crews} crew{'s' if crews > 1 else ''}, {r.horizon_h} h horizon")
    for c in ("asset", "crew", "start h", "end h"):
        t.add_column(c, justify="left" if c == "asset" else "right")
    for row in d["schedule"]:
        t.add_row(row["asset"], str(row["crew"]), str(row["start_h"]),
                  str(row["end_h"]) + (" (after horizon)" if row["end_h"] >= r.horizon_h else ""))
    console.print(t)
    c = Table(title="energy not served over the horizon (simulated, same timeline)")
    for col in ("plan", "critical MWh", "all MWh", "tier-weighted MWh"):
        c.add_column(col, justify="left" if col == "plan" else "right")
    for name, fig in [("this schedule", d["objective"]), *d["baselines"].items()]:
        c.add_row(name, f"{fig['critical_ens_mwh']:,.2f}", f"{fig['ens_mwh']:,.1f}", f"{fig['weighted_ens_mwh']:,.1f}")
    console.print(c)
    o = d["optimality"]
    if o["gap"] is not None:
        console.print(f"exact MILP: {o['status']} (solver gap {o['mip_gap']:.2%}); this schedule's weighted energy "
                      f"not served is {o['gap']:+.1%} against the MILP schedule")
    else:
        console.print(f"exact MILP: {o['status']}")
    if html is not None:
        console.print(f"report written to {html}")

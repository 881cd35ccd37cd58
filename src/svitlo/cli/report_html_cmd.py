"""``svitlo report-html SCENARIO.yaml --out report.html``: simulate a scenario's timeline and write the
offline HTML report (map, hour slider, resilience curve, facility timelines, tables)."""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.cli.common import console
from svitlo.cli.main import app


@app.command("report-html")
def report_html_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file (with facilities, horizon, repairs, ...)"),
    out: Path = typer.Option(Path("svitlo-report.html"), "--out", help="HTML file to write"),
    seed: int | None = typer.Option(None, "--seed", help="override the scenario seed"),
    title: str | None = typer.Option(None, "--title", help="page title (default: scenario and grid names)"),
) -> None:
    """Simulate the scenario hour by hour and write one self-contained HTML report that opens offline."""
    from svitlo.engine.timeline import simulate
    from svitlo.io.cases import load_grid
    from svitlo.io.scenario_file import load_scenario
    from svitlo.report.html import write_report

    sc = load_scenario(scenario)
    grid = load_grid(sc.grid, base_dir=sc.base_dir)
    tl = simulate(grid, sc, seed=seed)
    path = write_report(grid, tl, out, title=title)
    console.print(f"report of {sc.name!r} ({tl.horizon_h} h, {len(tl.facilities)} facilities) written to "
                  f"{path}",
                  soft_wrap=True)

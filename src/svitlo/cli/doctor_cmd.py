"""``svitlo doctor GRID``: findings on a grid before any strike; exit 1 when one is an error."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from svitlo.cli.app import app
from svitlo.cli.common import console


@app.command("doctor")
def doctor(grid: str = typer.Argument(..., help="case name, a .m / .json file, or matpower:NAME"),
           as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table")) -> None:
    """Check a grid model: islands, dark islands, impedances, ratings, limits, costs, population, coordinates.

    Exit code 0 when nothing worse than a warning is found, 1 on an error.
    """
    from svitlo.analyses.doctor import diagnose, worst_severity
    from svitlo.io.cases import load_grid

    spec = {"matpower": grid.split(":", 1)[1]} if grid.startswith("matpower:") else grid
    g = load_grid(spec)
    findings = diagnose(g)
    worst = worst_severity(findings)
    if as_json:
        print(json.dumps({"grid": g.name, "worst": worst, "findings": [f.to_dict() for f in findings]}))
    else:
        t = Table(title=f"svitlo doctor: {g.name} ({worst})")
        for c in ("severity", "finding", "count", "assets (first)", "svitlo assumes"):
            t.add_column(c)
        colour = {"error": "red", "warning": "yellow", "info": "cyan"}
        for f in findings:
            t.add_row(f"[{colour[f.severity]}]{f.severity}[/]", f.message, str(f.count),
                      ", ".join(f.assets[:5]) + (" ..." if f.count > 5 else ""), f.assumption)
        console.print(t)
    if worst == "error":
        raise typer.Exit(1)

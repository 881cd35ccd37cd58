"""``svitlo cases``: the bundled grids and their sizes."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from svitlo.cli.app import app
from svitlo.cli.common import console
from svitlo.io.cases import CASES


@app.command("cases")
def cases(as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table")) -> None:
    """List the bundled grids (pandapower's networks) with their sizes."""
    if as_json:
        print(json.dumps({k: dict(zip(("buses", "branches", "generators", "loads"), v)) for k, v in CASES.items()}))
        return
    t = Table(title="bundled grids (use as `grid: NAME`; MATPOWER cases as `grid: {matpower: NAME}`)")
    for c in ("name", "buses", "branches", "generators", "loads"):
        t.add_column(c, justify="right" if c != "name" else "left")
    for name, sizes in sorted(CASES.items(), key=lambda kv: kv[1][0]):
        t.add_row(name, *(f"{s:,}" for s in sizes))
    console.print(t)

"""``svitlo demo``: an Izum-like strike on an embedded default grid, offline."""

from __future__ import annotations

from importlib import resources

import typer

from svitlo.cli.common import console, fmt_mw, fmt_people, impact_tables
from svitlo.cli.main import app


@app.command("demo")
def demo(as_json: bool = typer.Option(False, "--json", help="print the impact as one JSON object")) -> None:
    """Run the embedded Izum-like scenario and tell its story."""
    from svitlo.engine.assess import assess
    from svitlo.io.scenario_file import load_scenario

    with resources.as_file(resources.files("svitlo") / "data" / "demo_core.yaml") as path:
        sc = load_scenario(path)
    imp = assess(None, sc)
    if as_json:
        print(imp.to_json())
        return
    m = imp.metrics
    console.rule(f"[bold]{sc.name}")
    console.print(f"{m['destroyed_assets']} assets destroyed: {', '.join(imp.destroyed)}")
    dark = imp.islands[~imp.islands["energised"] & (imp.islands["load_mw"] > 0)]
    console.print(f"The grid split into {m['islands']} islands; {m['energised_islands']} still hold a generator "
                  f"that can form an island, {len(dark)} with load are dark.")
    console.print(f"{fmt_mw(m['shed_mw'])} of {fmt_mw(m['load_mw'])} MW is lost; about "
                  f"{fmt_people(m['people_without_power'])} people are without power.")
    for t in impact_tables(imp):
        console.print(t)

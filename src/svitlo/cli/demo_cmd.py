"""``svitlo demo``: the embedded Izum-like scenario end to end, offline — ten glide bombs on a town, then 72
hours of islands, backups, repairs and a refuel — told as a story, with the HTML report written beside it.

The scenario, grid and facilities live in ``svitlo/data/demo`` (see the README there).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import typer

from svitlo.cli.app import app
from svitlo.cli.common import console, fmt_mw, fmt_people
from svitlo.model.grid import Grid
from svitlo.scenarios.spec import MAX_SEED, Scenario

__all__ = ["DemoResult", "run_demo", "demo_scenario_path", "print_story"]


def demo_scenario_path() -> Path:
    """Path of the embedded demo scenario YAML (its grid and facility files sit beside it)."""
    return Path(str(resources.files("svitlo").joinpath("data", "demo", "izum_like.yaml")))


@dataclass(frozen=True)
class DemoResult:
    """The demo run: scenario, grid (as loaded, before the scenario's tiers), timeline, run time (s, loading
    included) and the time of the hourly simulation alone (s)."""

    scenario: Scenario
    grid: Grid
    timeline: Any
    elapsed_s: float
    simulate_s: float = math.nan


def run_demo(*, seed: int | None = None) -> DemoResult:
    """Load and simulate the embedded demo scenario (no network, no files written)."""
    from svitlo.io.cases import load_grid
    from svitlo.io.scenario_file import load_scenario
    from svitlo.pipeline import simulate

    t0 = time.perf_counter()
    sc = load_scenario(demo_scenario_path())
    grid = load_grid(sc.grid, base_dir=sc.base_dir)
    t1 = time.perf_counter()
    tl = simulate(grid, sc, seed=seed)
    t2 = time.perf_counter()
    return DemoResult(scenario=sc, grid=grid, timeline=tl, elapsed_s=t2 - t0, simulate_s=t2 - t1)


def print_story(result: DemoResult, *, every_h: int = 6) -> None:
    """Tell the demo's story on the console with rich."""
    from rich.table import Table

    from svitlo.report.story import facility_words, tell

    tl = result.timeline
    st = tell(tl, scenario=result.scenario, grid=result.grid)
    console.rule(f"[bold]{tl.scenario}")
    console.print(f"grid {tl.grid}: {len(result.grid.buses)} buses, {len(result.grid.branches)} branches; "
                  f"{facility_words(tl.facilities)}; {tl.horizon_h} h simulated in {result.simulate_s:.1f} s "
                  f"(loading and preparing {result.elapsed_s - result.simulate_s:.1f} s)")
    titles = {"hit": "What was hit", "islands": "Which islands formed",
              "facilities": "What went dark and when (every change, with the rolling outages)",
              "backups": "Backups and fuel", "restoration": "Repairs",
              "people": "People without power, telecom, facilities"}
    for key, lines in st.sections.items():
        if not lines:
            continue
        console.print(f"\n[bold]{titles[key]}[/bold]")
        for line in lines:
            console.print(f"  {line}", highlight=False, soft_wrap=True)

    h = tl.hourly
    t = Table(title=f"every {every_h} hours")
    for c in ("hour", "served MW", "shed MW", "people w/o power", "tier-1 by grid", "tier-1 grid or backup",
              "telecom", "dark facilities"):
        t.add_column(c, justify="right", overflow="fold")
    dark_cols = [c for c in h.columns if str(c).startswith("dark_")]
    rows = list(range(0, len(h), every_h))
    if len(h) - 1 not in rows:
        rows.append(len(h) - 1)
    for i in rows:
        r = h.iloc[i]
        crit = r["critical_served_mw"] / r["critical_load_mw"] * 100 if r["critical_load_mw"] > 0 else 100.0
        by_grid = (f"{r['critical_grid_mw'] / r['critical_load_mw'] * 100:.0f} %"
                   if r["critical_load_mw"] > 0 and "critical_grid_mw" in r else "-")
        tel = r["telecom_coverage"]
        t.add_row(str(int(r["hour"])), fmt_mw(r["served_mw"]), fmt_mw(r["shed_mw"]),
                  fmt_people(r["people_without_power"]), by_grid, f"{crit:.0f} %",
                  f"{tel * 100:.0f} %" if math.isfinite(tel) else "-", str(int(sum(r[c] for c in dark_cols))))
    console.print(t)

    f = tl.facilities.sort_values(["hours_until_dark", "hours_on_backup"], ascending=[True, False])
    ft = Table(title="facilities (first dark first)")
    for c in ("facility", "kind", "dark from hour", "hours dark", "hours on backup"):
        ft.add_column(c, justify="left" if c in ("facility", "kind") else "right")
    for r in f.itertuples():
        until = "-" if not math.isfinite(float(r.hours_until_dark)) else f"{float(r.hours_until_dark):g}"
        ft.add_row(str(r.name), str(r.kind), until, f"{float(r.hours_dark):g}",
                   f"{float(r.hours_on_backup):g}")
    console.print(ft)


@app.command("demo")
def demo(
    report: str = typer.Option("svitlo-report.html", "--report",
                                help="where to write the offline HTML report"),
    no_report: bool = typer.Option(False, "--no-report", help="do not write the HTML report"),
    as_json: bool = typer.Option(False, "--json",
                                 help="print the story facts and the timeline as one JSON object"),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="override the scenario seed"),
) -> None:
    """Run the embedded Izum-like scenario (glide bombs on a town, 72 h after) and tell its story."""
    from svitlo.io.outputs import check_output_file
    from svitlo.report.html import write_report
    from svitlo.report.story import tell

    if not no_report:
        check_output_file(report, option="--report")
    result = run_demo(seed=seed)
    written = None if no_report else write_report(result.grid, result.timeline, report, scenario=result.scenario)
    if as_json:
        out = {"scenario": result.timeline.scenario, "grid": result.timeline.grid,
               "horizon_h": result.timeline.horizon_h, "elapsed_s": round(result.elapsed_s, 3),
               "report": str(written) if written else None, "story": tell(result.timeline, scenario=result.scenario, grid=result.grid).facts,
               "timeline": result.timeline.to_dict()}
        from svitlo.model.serialize import jsonable

        print(json.dumps(jsonable(out), allow_nan=False))
        return
    print_story(result)
    if written is not None:
        console.print(f"\nreport written to [bold]{written}[/bold] (one file, opens offline in any browser)",
                      soft_wrap=True)

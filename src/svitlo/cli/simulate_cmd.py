"""``svitlo simulate SCENARIO.yaml``: the hourly simulation of a scenario (waves, repairs, backups running down),
told as a summary, written as the offline HTML report (``--html``), as JSON (``--json``) or as Parquet tables
(``--out``); ``--compare B.yaml`` simulates a second scenario or plan and sets the two side by side. ``svitlo report-html`` is its former name, kept as a deprecated alias for one release.

(``svitlo report RUN_DIR`` is a different command: it reads a stored sweep run.)
"""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.cli.app import app
from svitlo.cli.common import console, err_console
from svitlo.scenarios.geo import MAX_SEED


def _compare(a_path: Path, b_path: Path, *, html: str | None, as_json: bool, out: str | None, seed: int | None,
             title: str | None) -> None:
    """``--compare B.yaml``: both scenarios simulated, their measures side by side (and the HTML page)."""
    import json

    from rich.table import Table

    from svitlo.errors import InputError
    from svitlo.io.outputs import check_output_file
    from svitlo.pipeline import prepare, simulate
    from svitlo.report.compare import compare_timelines, render_compare

    if out is not None:
        raise InputError("--out writes one timeline's tables; it cannot be used with --compare", field="--out",
                         value=out)
    if html is not None:
        check_output_file(html, option="--html")
    tls = [simulate(prepare(None, p), seed=seed) for p in (a_path, b_path)]
    labels = (f"A: {a_path.stem}", f"B: {b_path.stem}") if a_path.stem != b_path.stem else None
    c = compare_timelines(*tls, labels=labels)
    if html is not None:
        path = Path(html)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_compare(*tls, title=title, data=c), encoding="utf-8")
        if not as_json:
            console.print(f"comparison written to {path}", soft_wrap=True)
    if as_json:
        print(json.dumps(c, allow_nan=False))
        return
    t = Table(title=f"{c['labels'][0]} vs {c['labels'][1]}")
    for col in ("measure", "A", "B", "B - A", "better"):
        t.add_column(col, justify="left" if col == "measure" else "right", overflow="fold")
    def f(v: float | None) -> str:
        return "–" if v is None else f"{v:,.1f}"

    for r in c["summary"]:
        t.add_row(f"{r['measure']} ({r['unit']})", f(r["a"]), f(r["b"]), f(r["diff"]), r["better"])
    console.print(t)


def _simulate(scenario: Path, *, html: str | None, as_json: bool, out: str | None, seed: int | None,
              title: str | None, html_option: str = "--html") -> None:
    from svitlo.io.outputs import check_output_dir, check_output_file
    from svitlo.pipeline import prepare, simulate
    from svitlo.report.html import write_report

    if html is not None:
        check_output_file(html, option=html_option)
    if out is not None:
        check_output_dir(out, option="--out")
    p = prepare(None, scenario)
    tl = simulate(p, seed=seed)
    if out is not None:
        tl.write_parquet(out)
    if html is not None:
        path = write_report(p.grid, tl, html, title=title, scenario=p.scenario)
        if not as_json:
            console.print(f"report of {p.scenario.name!r} ({tl.horizon_h} h, {len(tl.facilities)} facilities) "
                          f"written to {path}", soft_wrap=True)
    if as_json:
        print(tl.to_json())
        return
    h = tl.hourly
    if len(h):
        console.print(f"{p.scenario.name}: {tl.horizon_h} h on {p.compiled.name}; energy not served "
                      f"{h['ens_mwh'].sum():,.1f} MWh; people without power at hour 0 "
                      f"{h['people_without_power'].iloc[0]:,.0f}, at the end {h['people_without_power'].iloc[-1]:,.0f}",
                      soft_wrap=True)
    if out is not None:
        console.print(f"tables written to {out}")


@app.command("simulate")
def simulate_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file (with facilities, horizon, repairs, ...)"),
    html: str | None = typer.Option(None, "--html", help="write the offline HTML report to this file"),
    as_json: bool = typer.Option(False, "--json", help="print the timeline as one JSON object on stdout"),
    out: str | None = typer.Option(None, "--out", help="write the timeline tables as Parquet into this folder"),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="override the scenario seed"),
    title: str | None = typer.Option(None, "--title", help="report title (default: scenario and grid names)"),
    compare: Path | None = typer.Option(None, "--compare", help="a second scenario (or plan) YAML file: both are "
                                        "simulated and compared side by side (--html writes the comparison)"),
) -> None:
    """Simulate the scenario hour by hour: islands, shedding, backups running down, repairs, waves."""
    if compare is not None:
        _compare(scenario, compare, html=html, as_json=as_json, out=out, seed=seed, title=title)
        return
    _simulate(scenario, html=html, as_json=as_json, out=out, seed=seed, title=title)


@app.command("report-html")  # deprecated alias: the note comes after the work, so errors stay one line
def report_html_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file (with facilities, horizon, repairs, ...)"),
    out: str = typer.Option("svitlo-report.html", "--out", help="HTML file to write"),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="override the scenario seed"),
    title: str | None = typer.Option(None, "--title", help="page title (default: scenario and grid names)"),
) -> None:
    """Deprecated: use ``svitlo simulate SCENARIO --html PATH``."""
    _simulate(scenario, html=out, as_json=False, out=None, seed=seed, title=title, html_option="--out")
    err_console.print("note: 'svitlo report-html' is deprecated; use 'svitlo simulate SCENARIO --html PATH'")

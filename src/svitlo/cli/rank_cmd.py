"""``svitlo rank SCENARIO.yaml --k K``: what hurts most, and what to protect first."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer

from svitlo.analyses.sweep.results import MAX_TOP
from svitlo.cli.app import app
from svitlo.cli.bounds import MAX_BEAM, MAX_SECONDS, finite_seconds
from svitlo.cli.common import checked_outputs, console, err_console


@contextlib.contextmanager
def scenario_source(path: Path) -> Iterator[None]:
    """Name the scenario file in input errors raised without a source."""
    from svitlo.errors import InputError

    try:
        yield
    except InputError as exc:
        if exc.source is None or exc.source in ("scenario", "scenario (dict)"):
            raise type(exc)(exc.message, source=str(path), field=exc.field, value=exc.value) from None
        raise


@app.command("rank")
def rank_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file (grid, tiers, facilities, protected)"),
    k: int = typer.Option(..., "--k", help="assets lost together"),
    kinds: str = typer.Option("line,trafo", "--kinds", help="candidate kinds, comma-separated (line,trafo,bus,gen)"),
    metric: str = typer.Option("shed_mw", "--metric",
                               help="shed_mw, weighted_shed_mw, people_without_power or facilities_without_grid"),
    method: str = typer.Option("auto", "--method", help="auto, exhaustive (k<=2), enumeration, milp or heuristic"),
    top: int = typer.Option(10, "--top", min=1, max=MAX_TOP, help="worst sets shown"),
    out_arg: str | None = typer.Option(None, "--out", help="run folder (exhaustive rows resumable, Parquet tables)"),
    beam: int = typer.Option(8, "--beam", min=1, max=MAX_BEAM, help="beam width of the heuristic"),
    time_limit: float | None = typer.Option(None, "--time-limit", min=0, max=MAX_SECONDS,
                                             callback=finite_seconds, help="seconds for local search or the MILP"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    html: Path | None = typer.Option(None, "--html", help="write the protect-first table and the worst sets as "
                                                          "one self-contained HTML page"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Worst sets of K lost assets (exhaustive N-1/N-2, worst-case k) and the protect-first table."""
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from svitlo.analyses.rank import rank
    from svitlo.io.scenario_file import load_scenario

    out = checked_outputs(out_arg, html)
    sc = load_scenario(scenario)
    bar = Progress(TextColumn("[bold]rank"), BarColumn(), MofNCompleteColumn(), TextColumn("sets"),
                   console=err_console, disable=quiet or as_json, transient=True)
    task = bar.add_task("rank", total=None)
    with bar, scenario_source(scenario):
        r = rank(sc, k=k, kinds=[x.strip() for x in kinds.split(",") if x.strip()], metric=metric,
                 method=method, top=top, out=out, beam=beam, time_limit_s=time_limit, source=str(scenario),
                 progress=lambda d, t: bar.update(task, completed=d, total=t))  # type: ignore[arg-type]
    if html is not None:
        from svitlo.report.protect import protect_page

        html.write_text(protect_page(rank=r.to_dict(), title=f"Protect first — {scenario.stem}"), encoding="utf-8")
    if as_json:
        print(json.dumps(r.to_dict()))
        return
    gap = r.optimality.get("gap")
    console.print(f"[bold]{r.metric}[/bold], k = {r.k}: {r.method}, {r.scenarios_evaluated:,} sets evaluated, "
                  f"{r.optimality['status']}" + (f" (gap {gap:.2%})" if gap else ""))
    t = Table(title=f"worst {len(r.worst)} sets of {r.k}")
    for c in ("#", "assets", r.metric, "shed MW", "people w/o power", "facilities w/o grid"):
        t.add_column(c, justify="right" if c != "assets" else "left")
    for i, row in enumerate(r.worst.itertuples(), 1):
        t.add_row(str(i), ", ".join(row.assets), f"{row.value:,.1f}", f"{row.shed_mw:,.1f}",
                  f"{row.people_without_power:,.0f}", str(row.facilities_without_grid))
    console.print(t)
    a = Table(title="protect first")
    for c in ("rank", "asset", "score", "in worst sets", "worst value", "N-1", "N-2 worst", "N-2 mean"):
        a.add_column(c, justify="right")
    fmt = lambda v: "" if v != v else f"{v:,.1f}"  # noqa: E731  (NaN: not computed)
    for row in r.assets.head(max(top, 10)).itertuples():
        a.add_row(str(row.rank), row.id, f"{row.score:.3f}", str(row.times_in_worst), fmt(row.worst_value),
                  fmt(row.n1_value), fmt(row.n2_worst), fmt(row.n2_mean))
    console.print(a)
    if out is not None:
        console.print(f"tables written to {out}")
    if html is not None:
        console.print(f"report written to {html}")

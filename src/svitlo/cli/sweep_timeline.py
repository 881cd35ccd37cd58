"""``svitlo sweep --timeline``: a Monte Carlo of hourly timelines (see :mod:`svitlo.analyses.sweep.timeline_mc`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from svitlo.cli.common import err_console, print_run_outcome


def run_timeline_sweep(sc: Any, *, n: int, out: Path, seed: int | None, chunk_size: int | None,
                       workers: int | None, as_json: bool, quiet: bool) -> None:
    """Run or resume the timeline Monte Carlo and print the outcome."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from svitlo.analyses.sweep.timeline_mc import sweep_timelines
    from svitlo.errors import scenario_context

    bar = Progress(TextColumn("[bold]timelines"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err_console, disable=quiet or as_json, transient=False)
    task = bar.add_task("timelines", total=n)
    with scenario_context(getattr(sc, "source", None)), bar:  # errors raised after loading name the file
        res = sweep_timelines(sc, n=n, out=out, root_seed=seed, chunk_size=chunk_size, workers=workers,
                              progress=lambda d, t: bar.update(task, completed=d, total=t))
    outcome = {"run_dir": str(res.path), "run_id": res.run_id, "n": res.n, "computed": res.computed,
               "seconds": round(res.seconds, 3), "timelines_per_second": round(res.timelines_per_second, 1),
               "finished": res.finished, "engine": "timeline"}
    print_run_outcome(res, outcome, as_json=as_json, noun="timelines",
                      computed=f"{res.computed:,} timelines of {sc.horizon_h} h computed in {res.seconds:,.1f} s "
                               f"({res.timelines_per_second:,.0f}/s)")

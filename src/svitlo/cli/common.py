"""Shared helpers of the CLI commands: consoles and rendering of an Impact summary."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from svitlo.engine.impact import Impact

__all__ = ["ModeChoice", "checked_outputs", "print_run_outcome", "console", "err_console", "impact_tables", "fmt_mw", "fmt_people", "physics_rows", "physics_tables",
           "title_of", "lost_with_destroyed_buses", "distinct_decimals"]



class ModeChoice(StrEnum):
    """The dispatch modes a command accepts (:data:`svitlo.engine.state.MODES`)."""

    balance = "balance"
    opf = "opf"


console = Console()
err_console = Console(stderr=True)


def checked_outputs(out: str | None, html: Path | None) -> Path | None:
    """Check ``--out`` (a folder, taken as text: typer would read an empty value as the current folder) and
    ``--html`` (a file) before any work; return the ``--out`` folder."""
    from svitlo.io.outputs import check_output_dir, check_output_file

    if html is not None:
        check_output_file(html, option="--html")
    return check_output_dir(out, option="--out") if out is not None else None


def print_run_outcome(res: Any, outcome: dict[str, Any], *, as_json: bool, noun: str, computed: str) -> None:
    """Tell what a sweep run did (``computed``: the line for a run that computed rows), or print ``outcome``
    as one JSON object."""
    if as_json:
        import json

        print(json.dumps(outcome))
        return
    if res.computed:
        console.print(f"{computed}; run {res.run_id} in {res.path}")
    elif res.finished:
        console.print(f"run {res.run_id} in {res.path}: all {res.n:,} {noun} were already stored; its summary "
                      "tables are now written and the run is complete")
    else:
        console.print(f"run {res.run_id} in {res.path} was already complete ({res.n:,} {noun})")
    console.print(f"summary: svitlo report {res.path}")


def fmt_mw(v: float) -> str:
    return f"{v:,.1f}"


def fmt_people(v: float) -> str:
    return f"{v:,.0f}"


def distinct_decimals(values: list[float], *, least: int = 1, most: int = 6) -> int:
    """Fewest decimals (from ``least``) that print every distinct value differently.

    >>> distinct_decimals([15.2, 15.24, 16.0])
    2
    """
    uniq = sorted({float(v) for v in values if v == v})
    for d in range(least, most + 1):
        if len({f"{v:.{d}f}" for v in uniq}) == len(uniq):
            return d
    return most


def impact_tables(imp: Impact, *, max_rows: int = 15) -> list[Table]:
    """Rich tables summarising an impact: metrics, islands, shed loads, overloaded branches."""
    m = imp.metrics
    t = Table(title=f"{title_of(imp.scenario, imp.grid)} ({imp.mode})", show_header=False)
    t.add_column("metric", overflow="fold")
    t.add_column("value", justify="right", overflow="fold")
    rows = [
        ("assets destroyed", str(m["destroyed_assets"])),
        ("islands (energised)", f"{m['islands']} ({m['energised_islands']})"),
        ("load MW", fmt_mw(m["load_mw"])),
        ("served MW", fmt_mw(m["served_mw"])),
        ("shed MW", fmt_mw(m["shed_mw"])),
        ("shed MW by tier (1 = critical)", ", ".join(f"{k}: {fmt_mw(v)}" for k, v in sorted(m["shed_mw_by_tier"].items()))),
        ("people without power", fmt_people(m["people_without_power"])),
        ("overloaded branches", str(m["overloaded_branches"])),
    ]
    rows += physics_rows(imp)
    for k, v in rows:
        t.add_row(k, v)
    out = [t]
    if len(imp.destroyed):
        dt = Table(title=f"destroyed assets ({len(imp.destroyed)})", show_header=False)
        dt.add_column("assets", overflow="fold")
        dt.add_row(", ".join(imp.destroyed))
        out.append(dt)

    isl = imp.islands.sort_values(["load_mw", "buses"], ascending=False)
    lost = lost_with_destroyed_buses(imp)
    it = Table(title=f"islands (largest {min(max_rows, len(isl))} of {len(isl)})",
               caption="lost: the load of destroyed buses, in no island" if lost is not None else None,
               show_edge=False)
    for c in ("island", "buses", "energised", "gen MW", "load MW", "served MW", "shed MW", "people w/o power"):
        it.add_column(c, justify="right", overflow="fold", min_width=max(len(w) for w in c.split()))
    for r in isl.head(max_rows).itertuples():
        it.add_row(str(r.id), str(r.buses), "yes" if r.energised else "[red]no[/red]", fmt_mw(r.generation_mw),
                   fmt_mw(r.load_mw), fmt_mw(r.served_mw), fmt_mw(r.shed_mw), fmt_people(r.people_without_power))
    if lost is not None:
        it.add_row("lost", str(lost["buses"]), "[red]no[/red]", "–", fmt_mw(lost["load_mw"]), fmt_mw(0.0),
                   fmt_mw(lost["load_mw"]), fmt_people(lost["people"]))
    out.append(it)

    ov = imp.branches[imp.branches["overloaded"]].sort_values("loading_percent", ascending=False)
    if len(ov):
        bt = Table(title=f"overloaded branches ({len(ov)})")
        for c in ("branch", "from", "to", "flow MW", "rating MW", "loading %"):
            bt.add_column(c, justify="right")
        for r in ov.head(max_rows).itertuples():
            bt.add_row(r.id, r.from_bus, r.to_bus, fmt_mw(r.flow_mw), fmt_mw(r.rate_mw), f"{r.loading_percent:.0f}")
        out.append(bt)
    out += physics_tables(imp, max_rows=max_rows)
    return out


def title_of(scenario: str, grid: str) -> str:
    """A title naming scenario and grid once: ``"k3 on case118"`` stays, ``"scenario"`` becomes
    ``"strike on case118"``.

    >>> title_of("k3 on case118", "case118"), title_of("scenario", "case9"), title_of("north", "case9")
    ('k3 on case118', 'strike on case9', 'north on case9')
    """
    name = str(scenario).strip()
    if not name or name == "scenario":
        return f"strike on {grid}"
    return name if str(grid) in name else f"{name} on {grid}"


def lost_with_destroyed_buses(imp: Impact) -> dict[str, float] | None:
    """Load and people lost with destroyed buses (no island holds them): ``{buses, load_mw, people}``, or
    ``None`` when no bus was destroyed."""
    b = imp.buses
    dead = b[~b["alive"].astype(bool)] if "alive" in b else b.iloc[0:0]
    if not len(dead):
        return None
    in_isl_shed = float(imp.islands["shed_mw"].sum()) if len(imp.islands) else 0.0
    in_isl_people = float(imp.islands["people_without_power"].sum()) if len(imp.islands) else 0.0
    return {"buses": len(dead), "load_mw": max(0.0, float(imp.metrics["shed_mw"]) - in_isl_shed),
            "people": max(0.0, float(imp.metrics["people_without_power"]) - in_isl_people)}


def physics_rows(imp: Impact) -> list[tuple[str, str]]:
    """Summary rows for the ``opf`` solve, the cascade and the AC check, where the impact has them."""
    rows = []
    o = imp.info.get("opf")
    if o:
        rows.append(("DC OPF (HiGHS)", f"{o['status']}, {o['binding_branches']} branches at rating"))
    c = imp.info.get("cascade")
    if c:
        state = "stable" if c["converged"] else f"[red]bound of {c['max_steps']} steps reached[/red]"
        rows.append(("cascade", f"{len(c['tripped'])} branches tripped in {c['steps'] - 1} steps, {state}"))
    a = imp.info.get("ac")
    if a:
        conv = "all converged" if a["converged"] else f"[red]not converged: islands {a['not_converged']}[/red]"
        rows.append(("AC check", f"{conv}; {a['voltage_violations']} voltage violations, "
                                 f"{a['overloaded_branches']} overloads, losses {fmt_mw(a['losses_mw'])} MW"))
    return rows


def physics_tables(imp: Impact, *, max_rows: int = 15) -> list[Table]:
    """Tables of cascade steps and AC islands, where the impact has them."""
    out = []
    st = imp.extras.get("cascade")
    if st is not None and len(st) > 1:
        t = Table(title="cascade steps")
        for c in ("step", "islands", "shed MW", "max loading %", "tripped"):
            t.add_column(c, justify="right")
        for r in st.head(max_rows).itertuples():
            tr = ", ".join(r.tripped[:6]) + (f" (+{len(r.tripped) - 6})" if len(r.tripped) > 6 else "")
            t.add_row(str(r.step), str(r.islands), fmt_mw(r.shed_mw), f"{r.max_loading_percent:.0f}", tr)
        out.append(t)
    ai = imp.extras.get("ac_islands")
    if ai is not None and len(ai):
        t = Table(title="AC check per energised island")
        for c in ("island", "buses", "slack", "converged", "Vmin pu", "Vmax pu", "V viol.", "max loading %"):
            t.add_column(c, justify="right")
        for r in ai.sort_values("buses", ascending=False).head(max_rows).itertuples():
            t.add_row(str(r.island), str(r.buses), r.slack, "yes" if r.converged else "[red]no[/red]",
                      f"{r.vm_min_pu:.3f}", f"{r.vm_max_pu:.3f}", str(r.voltage_violations),
                      f"{r.max_loading_percent:.0f}")
        out.append(t)
    return out

"""Shared helpers of the CLI commands: consoles and rendering of an Impact summary."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from svitlo.engine.impact import Impact

__all__ = ["console", "err_console", "impact_tables", "fmt_mw", "fmt_people"]

console = Console()
err_console = Console(stderr=True)


def fmt_mw(v: float) -> str:
    return f"{v:,.1f}"


def fmt_people(v: float) -> str:
    return f"{v:,.0f}"


def impact_tables(imp: Impact, *, max_rows: int = 15) -> list[Table]:
    """Rich tables summarising an impact: metrics, islands, shed loads, overloaded branches."""
    m = imp.metrics
    t = Table(title=f"{imp.scenario} on {imp.grid} ({imp.mode})", show_header=False)
    t.add_column("metric")
    t.add_column("value", justify="right")
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
    for k, v in rows:
        t.add_row(k, v)
    out = [t]

    isl = imp.islands.sort_values(["load_mw", "buses"], ascending=False)
    it = Table(title=f"islands (largest {min(max_rows, len(isl))} of {len(isl)})")
    for c in ("island", "buses", "energised", "gen MW", "load MW", "served MW", "shed MW", "people w/o power"):
        it.add_column(c, justify="right")
    for r in isl.head(max_rows).itertuples():
        it.add_row(str(r.id), str(r.buses), "yes" if r.energised else "[red]no[/red]", fmt_mw(r.generation_mw),
                   fmt_mw(r.load_mw), fmt_mw(r.served_mw), fmt_mw(r.shed_mw), fmt_people(r.people_without_power))
    out.append(it)

    ov = imp.branches[imp.branches["overloaded"]].sort_values("loading_percent", ascending=False)
    if len(ov):
        bt = Table(title=f"overloaded branches ({len(ov)})")
        for c in ("branch", "from", "to", "flow MW", "rating MW", "loading %"):
            bt.add_column(c, justify="right")
        for r in ov.head(max_rows).itertuples():
            bt.add_row(r.id, r.from_bus, r.to_bus, fmt_mw(r.flow_mw), fmt_mw(r.rate_mw), f"{r.loading_percent:.0f}")
        out.append(bt)
    return out

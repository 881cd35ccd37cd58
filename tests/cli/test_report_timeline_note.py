"""``svitlo report`` on a timeline run with more facilities than it shows says so (no silent cut at 20 rows),
and names the resilience curve for what it is (tier-1 load supplied by the grid or by facility backups)."""

from __future__ import annotations

import re

import pandas as pd

from svitlo.cli import report_timeline


def test_a_cut_facility_table_says_how_many_it_shows(monkeypatch, capsys):
    from svitlo.analyses.sweep import timeline_mc
    from svitlo.store import runstore

    n = 23
    fac = pd.DataFrame({"facility": [f"f{i}" for i in range(n)], "kind": "water", "population": 100.0,
                        "scenarios": 50, "mean_hours_dark": 1.0,
                        **{f"p_dark_{h}h{s}": 0.5 for h in timeline_mc.DARK_WITHIN_H for s in ("", "_lo", "_hi")}})
    band = pd.DataFrame({"hour": range(3), **{f"critical_served_mw_{q}": 1.0 for q in ("p10", "p50", "p90", "mean")}})
    monkeypatch.setattr(timeline_mc, "facility_dark_probabilities", lambda d: fac)
    monkeypatch.setattr(timeline_mc, "resilience_band", lambda d: band)
    monkeypatch.setattr(runstore, "read_manifest", lambda d: {"run_id": "r", "n": 50, "root_seed": 1,
                                                               "complete": True, "horizon_h": 3})
    report_timeline.print_timeline_report("nowhere", top=10, as_json=False)
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    assert "the 20 most exposed of 23; --top 23 shows all" in flat
    assert sum(bool(re.match(r"^\W*f\d+\s", line)) for line in out.splitlines()) == 20
    assert "tier-1 load supplied, grid or facility backup" in flat
    report_timeline.print_timeline_report("nowhere", top=30, as_json=False)
    out = capsys.readouterr().out
    assert "(95 % interval; 23 facilities)" in " ".join(out.split())

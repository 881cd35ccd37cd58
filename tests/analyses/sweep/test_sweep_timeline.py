"""Timeline Monte Carlo into the run store: rows equal simulate seed by seed, resume and worker count change
nothing, the report's probabilities and band are those of the stored timelines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from grids import small_grid

import svitlo
from svitlo import simulate
from svitlo.analyses.sweep.plan import scenario_seed
from svitlo.analyses.sweep.timeline_mc import (
    DARK_WITHIN_H,
    facility_dark_probabilities,
    resilience_band,
    sweep_timelines,
    wilson_interval,
)
from svitlo.cli.main import main
from svitlo.simulation.fast import timeline_model

FAC = str(Path(__file__).resolve().parents[2] / "data" / "facilities_small.csv")


def story():
    return {"grid": "small", "facilities": FAC, "horizon_h": 72, "seed": 9,
            "strikes": [{"random": {"k": 2, "kinds": ["line"]}}],
            "waves": [{"at_h": 30, "strikes": [{"random": {"k": 1, "kinds": ["line"]}}]}],
            "repairs": {"crews": 1, "start_h": 2, "durations_h": {"line": {"median_h": 20, "spread": 0.9}}},
            "refuel": [{"at_h": 40, "kinds": ["hospital"], "delay_h": {"median_h": 4, "spread": 1.0}}],
            "gen_mttf_h": 60.0}


def rows(d):
    return pd.concat([pd.read_parquet(p) for p in sorted((d / "parts").glob("part-*.parquet"))],
                     ignore_index=True)


def test_rows_are_simulate_seed_by_seed_and_resume_and_workers_change_nothing(tmp_path):
    g = small_grid()
    m = timeline_model(svitlo.prepare(g, story()))
    n = 24
    a = sweep_timelines(story(), n=n, out=tmp_path / "a", chunk_size=5, model=m)
    assert (a.n, a.computed) == (n, n)
    ra = rows(tmp_path / "a")
    assert ra["scenario"].tolist() == list(range(n))
    for i in (0, 7, 23):
        tl = simulate(g, story(), seed=scenario_seed(9, i), use_strike_seeds=False)
        r = ra.iloc[i]
        assert r["seed"] == scenario_seed(9, i)
        assert np.isclose(r["ens_mwh"], tl.hourly["ens_mwh"].sum(), rtol=1e-12)
        crit = (tl.hourly["critical_load_mw"] - tl.hourly["critical_served_mw"]).sum()
        assert np.isclose(r["critical_ens_mwh"], crit, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(r["facility_hours_dark"], tl.facilities["hours_dark"], rtol=1e-6)
        np.testing.assert_allclose(r["facility_first_dark_h"], tl.facilities["hours_until_dark"], rtol=1e-6)
    # resume after losing a part; a 2-worker run gives the same rows
    (tmp_path / "a" / "parts" / "part-0000002.parquet").unlink()
    again = sweep_timelines(story(), n=n, out=tmp_path / "a", model=m)
    assert again.computed == 5
    pd.testing.assert_frame_equal(rows(tmp_path / "a"), ra)
    sweep_timelines(story(), n=n, out=tmp_path / "b", chunk_size=5, model=m, workers=2)
    pd.testing.assert_frame_equal(rows(tmp_path / "b"), ra)

    fac = facility_dark_probabilities(tmp_path / "a").set_index("facility")
    first = np.stack(ra["facility_first_dark_h"].to_numpy())
    ids = pq.read_table(tmp_path / "a" / "facility_table.parquet").column("id").to_pylist()
    for j, fid in enumerate(ids):
        for h in DARK_WITHIN_H:
            k = int((first[:, j] <= h).sum())
            assert fac.loc[fid, f"p_dark_{h}h"] == k / n
            lo, hi = wilson_interval(np.array([k]), n)
            assert fac.loc[fid, f"p_dark_{h}h_lo"] == lo[0] and fac.loc[fid, f"p_dark_{h}h_hi"] == hi[0]
    band = resilience_band(tmp_path / "a")
    cs = np.stack(ra["critical_served_mw"].to_numpy()).astype(float)
    np.testing.assert_allclose(band["critical_served_mw_p50"], np.quantile(cs, 0.5, axis=0))
    assert (band["critical_served_mw_p10"] <= band["critical_served_mw_p90"]).all()


def test_cli_timeline_sweep_and_report(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case9\nhorizon_h: 24\nfacilities: [{id: h, kind: hospital, bus: bus:5, fuel_h: 3}]\n"
                 "strikes: [{random: {k: 2, kinds: [line]}}]\n"
                 "repairs: {crews: 1, durations_h: {line: {median_h: 6, spread: 0.5}}}\n")
    out = tmp_path / "run"
    assert main(["sweep", str(y), "--n", "12", "--out", str(out), "--json"]) == 0   # timeline by default here
    o = json.loads(capsys.readouterr().out)
    assert o["engine"] == "timeline" and o["computed"] == 12
    assert main(["report", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["analysis"] == "timeline" and r["rows"] == 12
    assert {"p_dark_24h", "p_dark_24h_lo", "p_dark_24h_hi"} <= set(r["facilities"][0])
    assert len(r["resilience_band"]) == 24
    assert main(["report", str(out)]) == 0
    assert "P(dark" in capsys.readouterr().out
    assert main(["sweep", str(y), "--n", "5", "--out", str(tmp_path / "r2"), "--hour-0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["engine"] != "timeline"


def test_timeline_sweep_refuses_a_scheduler(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case9\nhorizon_h: 4\nstrikes: [{assets: [line:3]}]\nwaves: [{at_h: 2, strikes: "
                 "[{assets: [line:6]}]}]\n")
    assert main(["sweep", str(y), "--n", "3", "--out", str(tmp_path / "r"), "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler" in capsys.readouterr().err


def test_large_timeline_sweeps_use_every_core_by_default(monkeypatch, tmp_path):
    """A user's `svitlo sweep --timeline --n 10000` ran on one core of two (110.8 s instead of ~60 s)."""
    import os
    from pathlib import Path

    import svitlo
    from svitlo.analyses.sweep import timeline_mc

    cores = len(os.sched_getaffinity(0))
    assert timeline_mc.auto_workers(timeline_mc.AUTO_WORKERS_MIN) == cores
    assert timeline_mc.auto_workers(timeline_mc.AUTO_WORKERS_MIN - 1) == 1
    seen = []
    real = timeline_mc._results

    def record(m, root, todo, workers):  # note the workers asked for, compute in this process
        seen.append(workers)
        return real(m, root, todo, 1)

    monkeypatch.setattr(timeline_mc, "_results", record)
    monkeypatch.setattr(timeline_mc, "AUTO_WORKERS_MIN", 4)
    demo = Path(svitlo.__file__).parent / "data" / "demo" / "izum_like.yaml"
    timeline_mc.sweep_timelines(demo, n=8, out=tmp_path / "run", chunk_size=2)
    timeline_mc.sweep_timelines(demo, n=8, out=tmp_path / "run2", chunk_size=2, workers=1)
    assert seen == [cores, 1]

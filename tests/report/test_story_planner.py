"""The story, report and CLI as an emergency planner reads them: every change told with its cause, honest
measures, named aim points, what was destroyed and where the lost load went, human headers, no doubled titles."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest
from test_report_html import hand_timeline, small_grid

from svitlo.cli.common import distinct_decimals, title_of
from svitlo.cli.main import main
from svitlo.report.html import render_report
from svitlo.report.story import tell


@pytest.fixture(scope="module")
def demo():
    from svitlo.cli.demo_cmd import run_demo

    return run_demo()


def test_every_facility_change_is_told_with_the_rolling_outage_first(demo):
    tl = demo.timeline
    st = tell(tl, scenario=demo.scenario, grid=demo.grid)
    states = tl.facility_states
    changes = sum(int((row[1:] != row[:-1]).sum()) + (row[0] != "grid")
                  for row in states[sorted(states.columns, key=int)].to_numpy(dtype=object))
    rolling = (tl.events["kind"] == "rolling_outage").sum()
    assert changes >= 30  # (the demo after the damage-state and viability changes has no rolling outage)
    lines = st.sections["facilities"]
    assert len(lines) == changes + rolling
    # late restorations are told: every return to grid power after the first day has its line
    back_late = {(int(h), fid) for fid, row in states.iterrows() for h in states.columns
                 if int(h) >= 24 and row[h] == "grid" and row[int(h) - 1] != "grid"}
    assert back_late and all(any(x.startswith(f"Hour {h}: ") and "back on grid power" in x for x in lines)
                             for h, _ in back_late)
    # cause before effect: within an hour, a rolling outage comes before the facility changes it causes
    for x in [y for y in lines if "rolling outage" in y]:
        hr = x.split(":")[0]
        same = [y for y in lines if y.split(":")[0] == hr]
        assert "rolling outage" in same[0]
    # hours never go backwards
    hours = [int(re.match(r"Hour (\d+):", x).group(1)) for x in lines]
    assert hours == sorted(hours)


def test_what_was_hit_names_the_aim_points_and_the_facilities_cut_off(demo):
    st = tell(demo.timeline, scenario=demo.scenario, grid=demo.grid)
    hit = st.sections["hit"]
    sub = [x for x in hit if "aimed at the town substation" in x]
    assert len(sub) == 1 and "bus:58" in sub[0] and "trafo:114" in sub[0]
    assert any(x.startswith("Hour 30:") and "aimed at the rail yard" in x for x in hit)   # the second wave
    fac_bus = dict(zip(demo.timeline.facilities["id"], demo.timeline.facilities["bus"]))
    struck_buses = {e["subject"] for e in st.facts["struck"]}
    cut = [f for f, b in fac_bus.items() if b in struck_buses]
    assert all(any(f"{fac_bus[f]} feeds" in x and "cut off from the grid" in x for x in hit) for f in cut)
    # every asset attributed to an aim point was destroyed at that hour
    struck = {(e["hour"], e["subject"]) for e in st.facts["struck"]}
    assert all((a["hour"], x) in struck for a in st.facts["aim_points"] for x in a["destroyed"])


def test_people_section_gives_facility_measures_not_a_critical_percentage(demo):
    st = tell(demo.timeline)
    text = " ".join(st.sections["people"])
    assert "Critical load served" not in text
    assert re.search(r"\d+ on grid power, \d+ on backup, \d+ dark", text)
    assert "Tier-1 load supplied (by the grid or by facility backups)" in text
    counts = st.facts["facility_counts"]
    assert all(c["grid"] + c["backup"] + c["dark"] == len(demo.timeline.facilities) for c in counts)


def test_no_facilities_no_critical_line_no_strip():
    tl = hand_timeline()
    bare = replace(tl, facilities=tl.facilities.iloc[0:0], facility_states=tl.facility_states.iloc[0:0],
                   backup_left_h=tl.backup_left_h.iloc[0:0],
                   hourly=tl.hourly.assign(critical_load_mw=0.0, critical_served_mw=0.0))
    st = tell(bare)
    assert not any("Tier-1" in x or "critical" in x.lower() for x in st.lines())
    html = render_report(small_grid(), bare)
    assert "Facilities hour by hour" not in html and 'id="t-facilities"' not in html
    assert "tier-1" not in html.split("<main>")[0].lower()         # no "100 % of 0 MW" in the header
    assert "no facilities" in html


def test_report_shows_every_story_line_with_human_headers():
    tl = hand_timeline()
    html = render_report(small_grid(), tl)
    for line in tell(tl).lines():
        assert line.replace("<", "&lt;").replace(">", "&gt;") in html.replace("&#x27;", "'")
    assert "more in the tables below" not in html
    heads = re.findall(r"<th>([^<]*)</th>", html)
    assert "people without power" in heads and "telecom coverage (%)" in heads
    assert not [h for h in heads if "_" in h]                      # no snake_case
    assert "tier-weighted energy not served (index)" in heads
    rows = re.search(r'<table id="t-hourly">.*?</table>', html, re.S).group(0)
    tel_col = heads.index("telecom coverage (%)")
    first = re.findall(r"<td>([^<]*)</td>", rows.split("<tbody>")[1].split("</tr>")[0])
    assert first[tel_col] == "100"                                  # percent, like everywhere else
    sub = re.search(r'<p class="sub">([^<]*)</p>', html).group(1)
    assert "3 facilities (2 tier 1, 1 tier 2)" in sub and "critical" not in sub
    assert "five-bus" in sub or "five-bus" in html.split("<main>")[0]


def test_titles_name_the_grid_once():
    assert title_of("k3 on case118", "case118") == "k3 on case118"
    assert title_of("scenario", "case118") == "strike on case118"
    html = render_report(small_grid(), replace(hand_timeline(), scenario="scenario"))
    title = re.search(r"<h1>([^<]*)</h1>", html).group(1)
    assert title == "Strike scenario on five-bus" and "scenario scenario" not in html


def test_risk_thresholds_print_distinct():
    assert distinct_decimals([15.21, 15.24, 3.0]) == 2
    assert distinct_decimals([15.2, 15.2, 16.0]) == 1
    vals = [15.213, 15.2134, 0.5]
    d = distinct_decimals(vals)
    assert len({f"{v:.{d}f}" for v in vals}) == 3


def test_assess_lists_destroyed_assets_and_the_load_lost_with_them(tmp_path, capsys):
    import svitlo

    p = tmp_path / "s.yaml"
    p.write_text("grid: case14\nstrikes: [{assets: [bus:3, bus:8, line:0]}]\n")
    assert main(["assess", str(p)]) == 0
    out = capsys.readouterr().out
    assert "strike on case14" in out and "case14 on case14" not in out
    assert "destroyed assets (3)" in out
    assert all(a in out for a in ("bus:3", "bus:8", "line:0"))
    imp = svitlo.assess("case14", {"strikes": [{"assets": ["bus:3", "bus:8", "line:0"]}]})
    lost = float(imp.metrics["shed_mw"]) - float(imp.islands["shed_mw"].sum())
    assert lost > 1.0                                                    # the two buses' own load
    row = [x for x in out.splitlines() if re.search(r"^\s*lost\s+│", x)]
    assert len(row) == 1 and f"{lost:,.1f}" in row[0]
    assert "…" not in out and "energised" in out                       # nothing cut at 80 characters
    assert "the load of destroyed buses" in out


def test_demo_header_counts_tiers_and_times_the_simulation_alone(capsys):
    from svitlo.cli.demo_cmd import print_story, run_demo

    res = run_demo()
    assert res.simulate_s < res.elapsed_s
    print_story(res)
    out = capsys.readouterr().out
    assert "23 facilities (17 tier 1, 6 tier 2)" in re.sub(r"\s+", " ", out)
    assert "critical facilities" not in out and "loading and preparing" in out


def test_facility_counts_by_kind_match_the_hourly_table(demo):
    st = tell(demo.timeline)
    h = demo.timeline.hourly
    for c in st.facts["facility_counts"]:
        for kind, d in c["by_kind"].items():
            assert d["dark"] == int(h.loc[h["hour"] == c["hour"], f"dark_{kind}"].iloc[0])
    assert isinstance(pd.DataFrame(st.facts["facility_changes"]), pd.DataFrame)


def short_town():
    """gen:0 (10 MW) and gen:1 (6 MW) feed 14 MW of tier-2/3 load at bus:1 with a 1 MW booster pump (tier 2,
    no backup). gen:1 is destroyed at hour 0: the island is 4 MW short, and two queues take turns off in
    4-hour blocks; the pump sits in queue 2 (queues round-robin over non-exempt loads in load order)."""
    from svitlo.model.grid import make_grid

    g = make_grid(
        buses=pd.DataFrame(index=["bus:0", "bus:1", "bus:2"]),
        branches=pd.DataFrame({"from_bus": ["bus:0", "bus:2"], "to_bus": ["bus:1", "bus:1"], "x_pu": [0.1, 0.1]},
                              index=["line:0", "line:1"]),
        generators=pd.DataFrame({"bus": ["bus:0", "bus:2"], "p_mw": [10.0, 6.0], "p_max_mw": [10.0, 6.0]},
                                index=["gen:0", "gen:1"]),
        loads=pd.DataFrame({"bus": ["bus:1"] * 3, "p_mw": [5.0, 5.0, 4.0], "tier": [2, 3, 3],
                            "population": [1000.0, 2000.0, 3000.0]}, index=["load:a", "load:b", "load:c"]),
        name="town")
    sc = {"name": "short town", "grid": "town", "strikes": [{"assets": ["gen:1"]}], "horizon_h": 12,
          "facilities": [{"id": "pump", "kind": "water", "name": "Booster pump", "bus": "bus:1",
                          "demand_kw": 1000.0, "tier": 2, "gen_kw": 0.0}],
          "rolling_outages": {"queues": 2, "block_h": 4, "exempt_tiers": [1]}}
    return g, sc


def test_a_rolling_outage_is_told_as_the_cause_before_its_effect():
    from svitlo.pipeline import simulate

    g, sc = short_town()
    tl = simulate(g, sc)
    row = tl.facility_states.loc["pump"].tolist()
    dark = [h for h, s in enumerate(row) if s == "dark"]
    assert dark and dark == list(range(dark[0], dark[-1] + 1)) and dark[-1] + 1 < len(row)   # one dark block
    lines = tell(tl).sections["facilities"]
    off = next(i for i, x in enumerate(lines) if "Booster pump" in x and "goes dark" in x)
    on = next(i for i, x in enumerate(lines) if "Booster pump" in x and "back on grid power" in x)
    # the cause, with its queue and hours, is told just before the effect, in the same hour
    cause = lines[off - 1]
    assert cause.startswith(f"Hour {dark[0]}: rolling outage") and "4.0 MW short" in cause
    assert f"queue 2 off for hours {dark[0]}-{dark[-1]}" in cause
    assert lines[off].startswith(f"Hour {dark[0]}: ") and "the rolling outage in island" in lines[off]
    # and power comes back when the turn passes to the other queue
    assert lines[on - 1].startswith(f"Hour {dark[-1] + 1}: rolling outage") and "queue 1 off" in lines[on - 1]
    assert lines[on].startswith(f"Hour {dark[-1] + 1}: ") and "after 4 h" in lines[on]
    assert "the rolling outage in island" in lines[on]
    # a change in an hour with a strike is not put down to the rotation
    assert not any("rolling outage in island" in x for x in lines if x.startswith("Hour 0: Booster"))

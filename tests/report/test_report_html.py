"""The offline HTML report, built from a small hand-made timeline that follows the timeline contract."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from svitlo.errors import InputError
from svitlo.model.grid import make_grid
from svitlo.report import render_report, write_report
from svitlo.report.frames import DARK, DESTROYED, MAIN

EVIL = '<script>alert("x")</script> & co'


@dataclass(frozen=True)
class HandTimeline:
    """The contract fields of a timeline, filled by hand."""

    scenario: str
    grid: str
    horizon_h: int
    hourly: pd.DataFrame
    facilities: pd.DataFrame
    facility_states: pd.DataFrame
    backup_left_h: pd.DataFrame
    bus_energised: pd.DataFrame
    bus_island: pd.DataFrame
    branch_in_service: pd.DataFrame
    events: pd.DataFrame
    impacts: dict = field(default_factory=dict)


def small_grid():
    """Five buses on a line (lat/lon near 48.4 N, 7.8 E): ext grid at bus:0, a CHP at bus:3."""
    ids = [f"bus:{i}" for i in range(5)]
    buses = pd.DataFrame({"lat": [48.40, 48.405, 48.41, 48.415, 48.42],
                          "lon": [7.80, 7.81, 7.80, 7.81, 7.82],
                          "name": ["Sub A", "", "", "Town <centre>", ""]}, index=ids)
    branches = pd.DataFrame({"from_bus": ids[:-1], "to_bus": ids[1:], "x_pu": 0.1,
                             "kind": ["trafo", "line", "line", "line"]},
                            index=["trafo:0", "line:1", "line:2", "line:3"])
    gens = pd.DataFrame({"bus": ["bus:0", "bus:3"], "p_max_mw": [np.inf, 2.0], "kind": ["ext_grid", "gen"]},
                        index=["ext_grid:0", "gen:0"])
    loads = pd.DataFrame({"bus": ids[1:], "p_mw": [1.0, 1.0, 1.0, 1.0]},
                         index=[f"load:{i}" for i in range(1, 5)])
    return make_grid(buses=buses, branches=branches, generators=gens, loads=loads, name="five-bus")


def hand_timeline(hours: int = 6) -> HandTimeline:
    """Hour 0 intact; hour 1 line:1 and line:3 are struck: bus:2-3 form an island on the CHP, bus:4 is dark;
    hour 4 line:1 is repaired (bus:2-3 back on the main island), line:3 is not. Facilities: a hospital on
    bus:2 (always on grid), a telecom tower on bus:4 (grid -> backup -> dark) and a shelter with a hostile
    name and no coordinates."""
    hs = list(range(hours))
    bus_ids = [f"bus:{i}" for i in range(5)]
    island = pd.DataFrame(0, index=bus_ids, columns=hs)
    energised = pd.DataFrame(True, index=bus_ids, columns=hs)
    in_service = pd.DataFrame(True, index=["trafo:0", "line:1", "line:2", "line:3"], columns=hs)
    for h in (1, 2, 3):
        island.loc[["bus:2", "bus:3"], h] = 1
        island.loc["bus:4", h] = 2
        energised.loc["bus:4", h] = False
        in_service.loc[["line:1", "line:3"], h] = False
    in_service.loc["line:3", 4:] = False
    island.loc["bus:4", 4:] = 1
    energised.loc["bus:4", 4:] = False
    fac = pd.DataFrame({
        "id": ["hosp", "tel", "shelter"], "kind": ["hospital", "telecom", "shelter"],
        "name": ["District hospital", "Base station", EVIL], "bus": ["bus:2", "bus:4", "bus:3"],
        "lat": [48.4101, 48.4201, np.nan], "lon": [7.8001, 7.8201, np.nan],
        "population": [40000.0, 3000.0, 500.0], "tier": [1, 1, 2], "demand_kw": [300.0, 4.0, 15.0],
        "hours_until_dark": [np.nan, 3.0, np.nan],
        "hours_dark": [0.0, 1.0, 0.0], "hours_on_backup": [0.0, 2.0, 0.0]})
    states = pd.DataFrame("grid", index=fac["id"], columns=hs)
    states.loc["tel", 1:2] = "backup"
    states.loc["tel", 3] = "dark"
    states.loc["tel", 4:] = "dark"
    left = pd.DataFrame(np.inf, index=fac["id"], columns=hs)
    left.loc["tel", 1:] = [3.0, 1.0, 0.0, 0.0, 0.0][: hours - 1]
    hourly = pd.DataFrame({
        "hour": hs, "load_mw": 4.0, "served_mw": [4, 2, 2, 2, 3, 3][:hours],
        "shed_mw": [0, 2, 2, 2, 1, 1][:hours], "ens_mwh": [0, 2, 2, 2, 1, 1][:hours],
        "ens_weighted_mwh": [0, 20, 20, 20, 1, 1][:hours],
        "people_without_power": [0, 4000, 4000, 4000, 2000, 2000][:hours], "critical_load_mw": 0.3,
        "critical_served_mw": 0.3, "telecom_coverage": [1, 1, 1, 0, 0, 0][:hours],
        "islands": [1, 3, 3, 3, 2, 2][:hours], "energised_islands": [1, 2, 2, 2, 1, 1][:hours],
        "dark_hospital": 0, "dark_water": 0, "dark_heating": 0, "dark_telecom": [0, 0, 0, 1, 1, 1][:hours],
        "dark_shelter": 0, "dark_emergency": 0})
    events = pd.DataFrame([
        (1, "strike", "line:1", "line:1 destroyed by a FAB-500"),
        (1, "strike", "line:3", "line:3 destroyed"),
        (1, "backup_start", "tel", "Base station runs on battery"),
        (3, "backup_empty", "tel", "Base station battery empty: dark"),
        (4, "repair", "line:1", "line:1 repaired by crew 1"),
    ], columns=["hour", "kind", "subject", "text"])
    return HandTimeline(scenario="hand <made>", grid="five-bus", horizon_h=hours, hourly=hourly,
                        facilities=fac, facility_states=states, backup_left_h=left, bus_energised=energised,
                        bus_island=island, branch_in_service=in_service, events=events)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="svitlo-data">(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_report_is_self_contained_and_escaped(tmp_path):
    g = small_grid()
    path = write_report(g, hand_timeline(), tmp_path / "sub" / "r.html", title="Title <b>&")
    html = path.read_text(encoding="utf-8")
    # nothing is fetched: no URLs outside the SVG namespace, no external script/style/img/font references
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert not re.search(r"<(link|img|iframe)\b", html)
    assert not re.search(r"\bsrc\s*=", html)
    assert "@import" not in html and "url(" not in html
    # hostile text appears only escaped
    assert EVIL not in html and "<b>&" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    assert "Title &lt;b&gt;&amp;" in html
    p = _Collect()
    p.feed(html)
    scripts = [a for t, a in p.tags if t == "script"]
    assert [s.get("type") for s in scripts] == ["application/json", None]  # the data and the inline code only
    data = _data(html)
    assert data["facilities"][2]["name"] == EVIL          # the JSON keeps the exact text
    assert data["scenario"] == "hand <made>"


def test_report_frames_follow_the_timeline():
    tl = hand_timeline()
    data = _data(render_report(small_grid(), tl))
    assert data["horizon_h"] == 6
    assert data["fac_states"] == ["gggggg", "gbbddd", "gggggg"]
    bus = [data["bus_frames"][data["bus_at"][h]] for h in range(6)]
    assert bus[0] == [MAIN] * 5
    # hour 1: bus:0-1 on the main island, bus:2-3 on the CHP island (another colour), bus:4 dark
    assert bus[1][:2] == [MAIN, MAIN] and bus[1][2] == bus[1][3] and bus[1][2] > MAIN and bus[1][4] == DARK
    br = [data["branch_frames"][data["branch_at"][h]] for h in range(6)]
    assert br[0] == [MAIN] * 4
    assert br[1][1] == DESTROYED and br[1][3] == DESTROYED and br[1][2] == bus[1][2]
    assert br[4][1] == MAIN and br[4][3] == DESTROYED
    # identical hours share one frame
    assert len(data["bus_frames"]) == 3 and data["bus_at"] == [0, 1, 1, 1, 2, 2]
    assert data["fac_backup_h"][1][:3] == [None, 3.0, 1.0]
    assert data["hourly"]["people_without_power"][1] == 4000
    assert [e[1] for e in data["events"]].count("strike") == 2


def test_report_map_elements_and_initial_state():
    html = render_report(small_grid(), hand_timeline())
    p = _Collect()
    p.feed(html)
    circles = [a for t, a in p.tags if t == "circle" and "bus" in a.get("class", "")]
    lines = [a for t, a in p.tags if t == "line" and "br" in a.get("class", "").split()]
    facs = [a for t, a in p.tags if t == "g" and "fac" in a.get("class", "").split()]
    assert len(circles) == 5 and len(lines) == 4 and len(facs) == 3
    assert [f["data-state"] for f in facs] == ["grid"] * 3
    assert [f["data-id"] for f in facs] == ["hosp", "tel", "shelter"]
    # geographic: north is up, the line runs north-east
    ys = [float(c["cy"]) for c in circles]
    assert ys == sorted(ys, reverse=True)
    slider = [a for t, a in p.tags if t == "input" and a.get("id") == "hour"]
    assert slider and slider[0]["max"] == "5"
    # the shelter has no lat/lon: it is drawn at (or pushed a little from) its bus
    bus3 = circles[3]
    tx, ty = map(float, re.match(r"translate\(([-\d.]+),([-\d.]+)\)", facs[2]["transform"]).groups())
    assert abs(tx - float(bus3["cx"])) < 20 and abs(ty - float(bus3["cy"])) < 20
    for table in ("t-hourly", "t-facilities", "t-events"):
        assert f'id="{table}"' in html
    assert html.count("<tr data-h=") == 6 + 5


def test_report_rejects_a_timeline_of_another_grid(tmp_path):
    tl = hand_timeline()
    other = tl.bus_island.drop(index="bus:4")
    bad = HandTimeline(**{**tl.__dict__, "bus_island": other})
    with pytest.raises(InputError, match=r"bus_island = 'bus:4'"):
        write_report(small_grid(), bad, tmp_path / "r.html")
    states = tl.facility_states.copy()
    states.loc["hosp", 2] = "on fire"
    with pytest.raises(InputError, match=r"facility_states\['hosp'\]\[2\] = 'on fire'"):
        render_report(small_grid(), HandTimeline(**{**tl.__dict__, "facility_states": states}))


def test_report_does_not_touch_its_inputs():
    g = small_grid()
    tl = hand_timeline()
    before = {k: v.copy() for k, v in tl.__dict__.items() if isinstance(v, pd.DataFrame)}
    buses = g.buses.copy()
    render_report(g, tl)
    for k, v in before.items():
        pd.testing.assert_frame_equal(getattr(tl, k), v)
    pd.testing.assert_frame_equal(g.buses, buses)


def test_report_without_coordinates_uses_a_topological_layout():
    g = small_grid()
    g2 = g.with_tables(buses=g.buses.assign(lat=np.nan, lon=np.nan))
    tl = hand_timeline()
    tl2 = HandTimeline(**{**tl.__dict__, "facilities": tl.facilities.assign(lat=np.nan, lon=np.nan)})
    html = render_report(g2, tl2)
    p = _Collect()
    p.feed(html)
    pts = {(a["cx"], a["cy"]) for t, a in p.tags if t == "circle" and "bus" in a.get("class", "")}
    assert len(pts) == 5               # distinct positions
    assert 'class="scale"' not in html  # no km scale bar without geography


def test_report_of_a_simulated_timeline_without_facilities():
    """A real timeline (no facilities, so no telecom coverage): no warning, no 'nan' in the page, and the
    frames follow the timeline's own island labels."""
    import warnings

    import svitlo
    from svitlo.pipeline import simulate

    g = svitlo.load_grid("case14")
    tl = simulate(g, {"strikes": [{"assets": ["line:0", "line:1"]}], "horizon_h": 10,
                      "repairs": {"crews": 1, "durations_h": {"line": 4}}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = render_report(g, tl)
    assert "nan" not in re.sub(r'<script type="application/json".*?</script>', "", html, flags=re.S).lower()
    data = _data(html)
    for h in range(10):
        codes = np.array(data["bus_frames"][data["bus_at"][h]])
        island = tl.bus_island[h].to_numpy()
        energised = tl.bus_energised[h].to_numpy(bool)
        assert ((codes == DESTROYED) == (island < 0)).all()
        assert ((codes >= MAIN) == (energised & (island >= 0))).all()
        # buses of one island share one colour
        for lab in np.unique(island[energised & (island >= 0)]):
            assert len(set(codes[island == lab])) == 1
    repaired = tl.events[tl.events["kind"] == "repair"]
    assert len(repaired) == 2
    last = data["branch_frames"][data["branch_at"][9]]
    assert all(c != DESTROYED for c in last)       # repaired lines are no longer drawn as destroyed

"""Hostile input, one finding each: bounds on numbers, bytes and structure, output paths, grid sanity, messages.

Every case exits 2 with one line naming the file, field and value (or the reader raises an :class:`InputError`
saying so); none reaches numpy, HiGHS or the operating system as a traceback.
"""

from __future__ import annotations

import json

import pytest
from hostile import CASE9_M, contract_violation, run_cli

from svitlo.errors import FacilityError, GridError, InputError, OutputPathError, RunFolderError, ScenarioError
from svitlo.io.matpower import read_matpower
from svitlo.io.scenario_file import load_scenario, parse_scenario


@pytest.fixture
def case9(tmp_path):
    p = tmp_path / "case9.m"
    p.write_text(CASE9_M)
    return p


@pytest.fixture
def scenario(tmp_path, case9):
    p = tmp_path / "s.yaml"
    p.write_text(f"grid: {{file: {case9}}}\nseed: 1\nstrikes:\n  - random: {{k: 2}}\n")
    return p


def _exit2(argv, *must):
    o = run_cli(argv)
    assert contract_violation(o) is None, contract_violation(o)
    assert o.rc == 2, (o.rc, o.stderr)
    for m in must:
        assert m in o.stderr, (m, o.stderr)
    return o.stderr


# ------------------------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize("doc, field", [
    ({"seed": -1}, "seed"), ({"seed": 2**63}, "seed"),
    ({"strikes": [{"random": {"k": 1, "seed": -3}}]}, "strikes[0].random.seed"),
    ({"cascade": {"enabled": True, "delay_steps": 2**64}}, "cascade.delay_steps"),
    ({"tiers": {"default": 2**64}}, "tiers.default"), ({"tiers": {"buses": {"bus:1": 1000}}}, "tiers.buses"),
    ({"people_per_mw": float("inf")}, "people_per_mw"), ({"horizon_h": 10**12}, "horizon_h"),
    ({"waves": [{"at_h": 2**63, "strikes": []}]}, "waves[0].at_h"),
    ({"strikes": [{"random": {"k": 10**20}}]}, "strikes[0].random.k"),
])
def test_scenario_numbers_are_bounded(doc, field):
    with pytest.raises(ScenarioError) as e:
        parse_scenario({"grid": "case9", **doc}, source="s.yaml")
    assert str(e.value).startswith(f"s.yaml: {field}")


def test_seed_bounds_accept_the_edges():
    assert parse_scenario({"grid": "case9", "seed": 2**63 - 1}).seed == 2**63 - 1
    assert parse_scenario({"grid": "case9", "seed": 0}).seed == 0


def test_seed_override_is_bounded_in_the_api():
    import svitlo

    with pytest.raises(ScenarioError, match="seed = -5"):
        svitlo.assess("case9", {"strikes": [{"random": {"k": 1}}]}, seed=-5)


def test_inline_facility_errors_name_the_scenario_file(tmp_path):
    import svitlo

    p = tmp_path / "f.yaml"
    p.write_text("grid: mv_oberrhein\nfacilities:\n  - {id: h1, kind: hospital, bus: bus:99999}\n")
    with pytest.raises(FacilityError, match=rf"^{p}: facilities: bus = 'bus:99999'"):
        svitlo.assess(None, p)


def test_huge_yaml_integer(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_text("grid: case9\nseed: " + "9" * 5000 + "\n")
    with pytest.raises(ScenarioError, match=r"an integer of 5000 characters") as e:
        load_scenario(p)
    assert len(str(e.value)) < 300


@pytest.mark.parametrize("argv_tail, option", [
    (["assess", "{s}", "--seed", "-5"], "--seed"), (["assess", "{s}", "--seed", str(2**64)], "--seed"),
    (["simulate", "{s}", "--seed", "-5"], "--seed"), (["demo", "--seed", "-5"], "--seed"),
    (["sweep", "{s}", "--n", str(10**30), "--out", "{d}/r"], "--n"),
    (["sweep", "{s}", "--n", "5", "--seed", str(2**63), "--out", "{d}/r"], "--seed"),
    (["report", "{d}", "--top", str(10**19)], "--top"), (["report", "{d}", "--points", str(10**9)], "--points"),
])
def test_cli_numbers_are_bounded(scenario, tmp_path, argv_tail, option):
    argv = [a.format(s=scenario, d=tmp_path) for a in argv_tail]
    _exit2(argv, option)


def test_sweep_size_bounds_in_the_library(scenario):
    import svitlo
    from svitlo.analyses.sweep.plan import make_plan
    from svitlo.analyses.sweep.results import report_tables
    from svitlo.model.compiled import compile_grid

    sc = load_scenario(scenario)
    cg = compile_grid(svitlo.load_grid(sc.grid, base_dir=sc.base_dir))
    with pytest.raises(ScenarioError, match="from 1 to"):
        make_plan(sc, cg, n=10**30)
    with pytest.raises(ScenarioError, match="chunks"):
        make_plan(sc, cg, n=10**9, chunk_size=1)
    with pytest.raises(InputError, match="top = 10000000000000000000"):
        report_tables("nowhere", top=10**19)


# ------------------------------------------------------------------------------------ bytes and structure
@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_scenario_not_utf8(tmp_path, encoding):
    p = tmp_path / "s.yaml"
    p.write_bytes("name: café\ngrid: case9\n".encode(encoding))
    with pytest.raises(ScenarioError, match="not UTF-8 text: byte 0x"):
        load_scenario(p)


def test_scenario_nesting_depth(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("grid: case9\nstrikes: " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(ScenarioError, match="nested deeper than 64 levels"):
        load_scenario(p)


BOMB = ('a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
        'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n'
        'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n')


@pytest.mark.parametrize("tail", ["grid: case9\n", "grid: case9\nfacilities: *f\n"])
def test_yaml_alias_bomb(tmp_path, tail):
    p = tmp_path / "bomb.yaml"
    p.write_text(BOMB + tail)
    assert len(p.read_bytes()) < 600
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    assert len(str(e.value)) < 500 and "\n" not in str(e.value)


@pytest.mark.parametrize("doc, field", [
    ({"features": "abc"}, "features"), ({"features": {"a": 1}}, "features"), ({"features": [5]}, "features[0]"),
    ({"features": [{"geometry": [1, 2]}]}, "features[0].geometry"),
    ({"features": [{"geometry": "POINT(1 2)"}]}, "features[0].geometry"),
    ({"features": [{"geometry": {"type": "Point", "coordinates": 5}}]}, "features[0].geometry.coordinates"),
    ({"features": [{"geometry": {"type": "Point", "coordinates": ["a", 1]}}]}, "features[0].geometry.coordinates"),
    ({"features": [{"geometry": {"type": "Point", "coordinates": [7.8, 48.4]}, "properties": [1, 2]}]},
     "features[0].properties"),
])
def test_geojson_shapes(doc, field):
    from svitlo.io.facilities import parse_geojson

    with pytest.raises(FacilityError) as e:
        parse_geojson({"type": "FeatureCollection", **doc}, source="f.geojson")
    assert str(e.value).startswith(f"f.geojson: {field} = ")


def test_geojson_deep_nesting(tmp_path):
    from svitlo.io.facilities import read_facility_file

    p = tmp_path / "f.geojson"
    p.write_text('{"type": "FeatureCollection", "features": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(FacilityError, match="nested deeper than 64 levels"):
        read_facility_file(p)


def test_facility_csv_not_utf8(tmp_path):
    from svitlo.io.facilities import read_facility_file

    p = tmp_path / "f.csv"
    p.write_bytes("id,kind\nkrankenhaus-\xfc,hospital\n".encode("latin-1"))
    with pytest.raises(FacilityError, match="not UTF-8"):
        read_facility_file(p)


# -------------------------------------------------------------------------------------- files and folders
def test_long_file_name(tmp_path):
    _exit2(["assess", tmp_path / ("a" * 300 + ".yaml")], "File name too long")
    _exit2(["report", tmp_path / ("a" * 300)])  # the rank/harden folder test raised OSError (campaign finding)
    with pytest.raises(OutputPathError, match="a name of 305 characters"):
        from svitlo.io.outputs import check_output_file

        check_output_file(tmp_path / ("b" * 300 + ".html"))


@pytest.mark.parametrize("cmd", ["assess", "simulate", "sweep", "demo"])
@pytest.mark.parametrize("where", ["file", "under_file", "proc", "empty", "dot"])
def test_output_paths_checked_before_work(scenario, tmp_path, monkeypatch, cmd, where):
    f = tmp_path / "afile.txt"
    f.write_text("x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("1")
    monkeypatch.chdir(tmp_path / "busy")
    out = {"file": f, "under_file": f / "sub", "proc": "/proc/self/svitlo-out", "empty": "", "dot": "."}[where]
    if where == "file" and cmd in ("simulate", "demo"):
        pytest.skip("an existing file is a valid file output (overwritten)")
    if where == "dot" and cmd == "assess":
        pytest.skip("'.' is a valid folder for Parquet tables")
    argv = {"assess": ["assess", scenario, "--out", out], "simulate": ["simulate", scenario, "--html", out],
            "sweep": ["sweep", scenario, "--n", "3", "--out", out],
            "demo": ["demo", "--report", out]}[cmd]
    err = _exit2(argv)
    assert "error: " in err and ("--out" in err or "--report" in err or "--html" in err or "busy" in err
                                 or "." in err)
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["x"]  # nothing written


# ---------------------------------------------------------------------------------------------------- grids
@pytest.mark.parametrize("old, new, field", [
    ("5\t1\t90\t30", "5\t1\tabc\t30", "mpc.bus.PD = 'abc'"),
    ("0.0576", "1e308", "branches.x_pu = 1e+308"), ("0.0576", "1e-300", "branches.x_pu = 1e-300"),
    ("baseMVA = 100", "baseMVA = Inf", "base_mva = inf"),
    ("\t4\t1\t0\t0", "\t4\t7\t0\t0", "mpc.bus.BUS_TYPE = 7.0"),
    ("0.0576\t0\t250", "0.0576\t0\t-5", "mpc.branch.RATE_A = -5.0"),
    ("0.0576\t0\t250", "0.0576\t0\tNaN", "mpc.branch.RATE_A = nan"),
    ("1\t250\t10;", "1\t-250\t10;", "mpc.gen.PMAX = -250.0"),
    ("\t1\t72.3", "\t1e20\t72.3", "mpc.gen.GEN_BUS = 1e+20: expected an integer bus number"),
    ("\t9\t4\t0.01", "\t9\t4\t0.01\t0.085\t0.176\t1e308\t250", "mpc.branch"),
])
def test_grid_sanity_at_load(tmp_path, old, new, field):
    assert old in CASE9_M
    p = tmp_path / "bad.m"
    p.write_text(CASE9_M.replace(old, new, 1))
    with pytest.raises(GridError) as e:
        read_matpower(p)
    assert str(e.value).startswith(f"{p}: ") and field in str(e.value)


def test_matpower_deleted_column(tmp_path):
    lines = [("\t".join(ln.split("\t")[:4] + ln.split("\t")[5:]) if ln.startswith("\t") and ln.count("\t") == 13
              else ln) for ln in CASE9_M.splitlines()]  # the bus matrix loses its Qd column
    p = tmp_path / "shifted.m"
    p.write_text("\n".join(lines))
    with pytest.raises(GridError, match=r"mpc\.bus: malformed MATPOWER file: 12 columns"):
        read_matpower(p)


def test_grid_limits_keep_the_bundled_cases():
    import svitlo

    for name in ("case9", "case118", "GBreducednetwork", "mv_oberrhein"):
        assert svitlo.load_grid(name).summary()["buses"] > 0


# -------------------------------------------------------------------------------------------------- messages
def test_errors_after_loading_name_the_scenario_file(tmp_path, case9):
    p = tmp_path / "ua.yaml"
    p.write_text(f"grid: {{file: {case9}}}\nstrikes:\n  - assets: [line:99]\n")
    _exit2(["assess", p], f"error: {p}: strikes[0].assets = 'line:99': unknown asset id")
    q = tmp_path / "tb.yaml"
    q.write_text(f"grid: {{file: {case9}}}\ntiers: {{buses: {{bus:77: critical}}}}\n")
    _exit2(["assess", q], f"error: {q}: tiers.buses = 'bus:77'")
    r = tmp_path / "grid.yaml"
    r.write_text("grid: " + "x" * 5000 + "\n")
    err = _exit2(["assess", r], f"error: {r}: grid = 'xxx")
    assert len(err) < 400


def test_the_right_field_is_blamed(tmp_path):
    p = tmp_path / "pp.yaml"
    p.write_text("grid: case9\npeople_per_mw: .inf\n")
    with pytest.raises(ScenarioError, match=r"pp\.yaml: people_per_mw = inf"):
        load_scenario(p)


def test_yaml_syntax_error_is_one_line(tmp_path):
    p = tmp_path / "syn.yaml"
    p.write_text("grid: case9\n  strikes: [\n  - x: {\n")
    _exit2(["assess", p], "not valid YAML (line 2, column 10)")


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "x").write_text("1")
    _exit2(["report", tmp_path], "not a sweep run folder")
    with pytest.raises(RunFolderError):
        from svitlo.analyses.sweep.results import open_run

        open_run(tmp_path)


def test_sweep_into_a_non_empty_folder(scenario, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("1")
    err = _exit2(["sweep", scenario, "--n", "4", "--out", tmp_path / "busy"], "folder is not empty")
    assert "scenarios" not in err  # no progress bar before the error


# ------------------------------------------------------------------------------------------------- the store
def test_store_json_is_finite(tmp_path):
    from svitlo.store.runstore import json_bytes

    assert json.loads(json_bytes({"mean": {"shed_mw": float("inf"), "x": float("nan"), "ok": 1.5}})) == {
        "mean": {"shed_mw": None, "x": None, "ok": 1.5}}


def test_rerun_that_finishes_a_run_says_so(scenario, tmp_path):
    out = tmp_path / "run"
    argv = ["sweep", scenario, "--n", "6", "--out", out]
    assert run_cli(argv, timeout_s=900).rc == 0  # a cold JIT cache compiles the batch kernels first
    m = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**m, "complete": False}))  # killed after its last chunk
    (out / "summary.json").unlink()
    o = run_cli(argv)
    text = " ".join(o.stdout.split())
    assert o.rc == 0 and "already stored" in text and "now written" in text
    assert "was already complete" not in text and (out / "summary.json").is_file()
    o = run_cli(argv)
    assert o.rc == 0 and "was already complete" in " ".join(o.stdout.split())


# ------------------------------------------------------------------------------- planning commands (round 2)
@pytest.fixture
def timeline(tmp_path, case9):
    from hostile_commands import FACILITIES_CSV

    (tmp_path / "fac.csv").write_text(FACILITIES_CSV)
    p = tmp_path / "t.yaml"
    p.write_text(f"grid: {{file: {case9}}}\nseed: 3\nfacilities: fac.csv\nhorizon_h: 12\n"
                 "strikes:\n  - assets: [branch:2, branch:5]\nrepairs: {crews: 1, order: [branch]}\n")
    return p


@pytest.mark.parametrize("argv, option", [
    (["rank", "--k", "1", "--top", str(2**63)], "--top"), (["rank", "--k", "1", "--beam", str(2**63)], "--beam"),
    (["rank", "--k", "1", "--time-limit", "nan"], "--time-limit"),
    (["harden", "--budget", "1", "--n", str(2**63)], "--n"), (["harden", "--budget", "1", "--n-oos", str(10**11)], "--n-oos"),
    (["harden", "--budget", "1", "--n", "5", "--seed", "-1"], "--seed"),
    (["restore", "--crews", str(2**63)], "--crews"), (["restore", "--crews", "1", "--seed", "-1"], "--seed"),
    (["restore", "--crews", "1", "--time-limit", "inf"], "--time-limit"),
    (["site", "--add", "generator:5kW", "--n", str(2**63)], "--n"),
    (["site", "--add", "generator:5kW", "--n", "3", "--n-out", "3", "--seed", "-1"], "--seed"),
    (["site", "--add", "generator:5kW", "--n", "3", "--n-out", "3", "--workers", "0"], "--workers"),
])
def test_planning_command_numbers_are_bounded(timeline, argv, option):
    """Each of these raised a traceback (numpy, HiGHS, DuckDB) or hung (a negative seed loops forever)."""
    err = _exit2([argv[0], timeline, *argv[1:]], option)
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("argv", [
    ["rank", "--k", "1", "--out", "{d}/t.yaml"], ["rank", "--k", "1", "--out", "/proc/self/x"],
    ["harden", "--budget", "1", "--n", "5", "--out", "{d}/t.yaml/x"],
    ["restore", "--crews", "1", "--html", "{d}"], ["restore", "--crews", "1", "--html", "{d}/" + "a" * 300],
    ["restore", "--crews", "1", "--html", "{d}/t.yaml/r.html"],
])
def test_planning_outputs_checked_before_work(timeline, argv):
    argv = [a.replace("{d}", str(timeline.parent)) for a in argv]
    _exit2([argv[0], timeline, *argv[1:]], argv[-2])


def test_scenario_seeds_refuse_a_negative_root_and_oversize_ranges():
    from svitlo.analyses.sweep.plan import scenario_seeds

    with pytest.raises(ScenarioError, match="seed"):  # was an endless loop
        scenario_seeds(-1, 0, 3)
    with pytest.raises(ScenarioError, match="n = "):  # was numpy's ValueError / MemoryError
        scenario_seeds(1, 0, 2**63)


@pytest.mark.parametrize("spec", ["generator:500kW x 9223372036854775808", "generator:500kW x " + "9" * 5000,
                                  "generator:" + "9" * 400 + "kW", "battery:" + "9" * 400 + "kWh",
                                  "generator:5kW/" + "9" * 400 + "h", "battery:0MW/200kWh"])
def test_site_add_counts_and_ratings_are_bounded(spec):
    """A huge count looped for ever placing units; 400 digits made an infinite rating."""
    from svitlo.analyses.site.units import parse_add

    with pytest.raises(ScenarioError, match="--add"):
        parse_add(spec)


@pytest.mark.parametrize("data, must", [("h1\n".encode("utf-16"), "UTF-8"), (b"\xff\xfe\x00h", "UTF-8"),
                                        (b"id,kind\n", "no facility ids"), (b"\n\n", "no facility ids")])
def test_candidates_file(timeline, data, must):
    c = timeline.parent / "cand.txt"
    c.write_bytes(data)
    _exit2(["site", timeline, "--add", "generator:5kW", "--n", "3", "--n-out", "3", "--candidates", c], must, str(c))


@pytest.mark.parametrize("name", ["matpower:" + "x" * 300, "matpower:../../data/case9", "matpower:a/b"])
def test_doctor_matpower_names_are_plain(name):
    _exit2(["doctor", name], "grid.matpower")


@pytest.mark.parametrize("doc, field", [
    ({"repairs": {"durations_h": {"branch": {"median_h": 1e308, "spread": 5}}}}, "median_h"),
    ({"refuel": [{"at_h": 2, "kinds": ["hospital"], "delay_h": {"median_h": 1e20, "spread": 5}}]}, "median_h"),
    ({"repairs": {"spares": {"branch": {"stock": 2**64}}}}, "stock"),
    ({"repairs": {"access": [{"assets": ["branch:2"], "from_h": 0, "to_h": 10**28}]}}, "to_h"),
    ({"repairs": {"travel_h": 1e308}}, "travel_h"), ({"gen_mttf_h": 1e308}, "gen_mttf_h"),
    ({"damage": {"lead_time_h": float("inf")}}, "lead_time_h"), ({"damage": {"spares": {"trafo": 2**64}}}, "spares"),
    ({"damage": {"states": {"line": {"destroyed": {"kpa": 1, "repair": {"median_h": float("inf")}}}}}}, "median_h"),
    ({"viability": {"units": {"gen:1": {"inertia_h_s": 1e308}}}}, "inertia_h_s"),
    ({"ufls": {"exempt_tiers": [2**64]}}, "exempt_tiers"),
])
def test_timeline_keys_are_bounded(doc, field):
    """Each was accepted; the random durations overflowed to a traceback in the timeline (int of inf)."""
    with pytest.raises(ScenarioError, match=field):
        parse_scenario({"grid": "case9", **doc})


def test_sampled_durations_stay_finite():
    from svitlo.scenarios.durations import MAX_DRAW_H, Lognormal

    assert Lognormal(median_h=87_600, spread=5).at(40.0) == MAX_DRAW_H
    assert Lognormal(median_h=10, spread=0.5).at(0.0) == 10


def test_timeline_sweep_names_the_scenario_file(timeline, tmp_path):
    """`sweep --timeline` printed 'scenario:' (or nothing) where the file belongs."""
    timeline.write_text(timeline.read_text() + "refuel: [{at_h: 2, facilities: [nope]}]\n")
    _exit2(["sweep", timeline, "--timeline", "--n", "2", "--out", tmp_path / "run", "--quiet"],
           f"error: {timeline}: refuel[0].facilities = 'nope'")


def test_timeline_rerun_that_finishes_a_run_says_so(timeline, tmp_path):
    out = tmp_path / "run"
    argv = ["sweep", timeline, "--timeline", "--n", "3", "--out", out]
    assert run_cli(argv, timeout_s=900).rc == 0
    m = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**m, "complete": False}))  # killed after its last chunk
    o = run_cli(argv)
    text = " ".join(o.stdout.split())
    assert o.rc == 0 and "already stored" in text and "now written" in text and "was already complete" not in text
    o = run_cli(argv)
    assert o.rc == 0 and "was already complete" in " ".join(o.stdout.split())


def test_planning_commands_in_a_subprocess(timeline):
    """The contract holds for the installed entry point too (no in-process shortcuts)."""
    import subprocess
    import sys

    for argv in (["restore", timeline, "--crews", "0"], ["site", timeline, "--add", "generator:5kW x 0"],
                 ["rank", timeline, "--k", "1", "--top", str(2**63)]):
        r = subprocess.run([sys.executable, "-m", "svitlo.cli.main", *map(str, argv)], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 2, (argv, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr


def test_a_bus_number_of_1e20_is_named(tmp_path):
    """The MATPOWER parser's own integer conversion overflowed: the message named neither field nor value."""
    p = tmp_path / "big.m"
    p.write_text(CASE9_M.replace("\t9\t1\t125\t50", "\t1e20\t1\t125\t50"))
    with pytest.raises(GridError, match=r"big\.m: mpc\.bus\.BUS_I = '1e20': expected an integer bus number"):
        read_matpower(p)
    _exit2(["doctor", p], "mpc.bus.BUS_I = '1e20'")


@pytest.mark.parametrize("argv", [["rank", "--k", "1", "--html", "{d}"],
                                  ["harden", "--budget", "1", "--n", "5", "--html", "{d}/t.yaml/x.html"],
                                  ["harden", "--budget", "1", "--n", "5", "--method", "dad", "--k", str(2**63)]])
def test_protect_pages_checked_before_work(timeline, argv):
    argv = [a.replace("{d}", str(timeline.parent)) for a in argv]
    _exit2([argv[0], timeline, *argv[1:]], argv[-2])


@pytest.mark.parametrize("data", [b"\xff\xfe", b"[1, 2]", b"{", b"[" * 100_000, b'{"k": 1}'])
def test_report_on_a_damaged_rank_folder(tmp_path, data):
    """A damaged rank.json raised JSONDecodeError / KeyError / UnicodeDecodeError tracebacks."""
    (tmp_path / "rk").mkdir()
    (tmp_path / "rk" / "rank.json").write_bytes(data)
    _exit2(["report", tmp_path / "rk", "--html", tmp_path / "r.html"], "rank")


@pytest.mark.parametrize("edit, must", [
    (("line", "from_bus", 10**9), "line.from_bus = 1000000000: expected a bus index"),
    (("line", "to_bus", 12345), "line.to_bus = 12345: not a bus of the network"),
    (("line", "from_bus", 2**40), "line.from_bus = 1099511627776: expected a bus index"),
    (("load", "bus", -2**40), "load.bus = -1099511627776: expected a bus index"),
    (("gen", "bus", 99), "gen.bus = 99: not a bus"), (("load", "bus", "x"), "load.bus = 'x': not a bus"),
    (("bus", "index", 2**40), "bus.index = 1099511627776"), (("bus", "index", "dup"), "duplicate bus index"),
])
def test_pandapower_references_checked_before_pandapower(tmp_path, edit, must):
    """pandapower indexes arrays by these numbers unchecked: a huge bus index printed its own warning (two
    lines) and a campaign case crashed the process in its compiled helpers (segmentation fault)."""
    pytest.importorskip("pandapower")
    from hostile_commands import _case9_json

    net = _case9_json()
    obj = net.get("_object", net)
    table, col, value = edit
    frame = json.loads(obj[table]["_object"])
    if col == "index":
        frame["index"][0] = frame["index"][1] if value == "dup" else value
    else:
        frame["data"][0][frame["columns"].index(col)] = value
    obj[table]["_object"] = json.dumps(frame)
    p = tmp_path / "g.json"
    p.write_text(json.dumps(net))
    _exit2(["doctor", p], must)

"""Fuzz targets for the planning commands (``rank``, ``harden``, ``restore``, ``site``, ``doctor``,
``sweep --timeline``) and the dashboard's API, against the bad-input contract of :mod:`hostile`.

Each target is ``name -> (strategy factory, runner(case, workdir) -> "0" | "2" | "ok" | "violation: ...")``;
``tests/test_fuzz_commands.py`` runs them with CI budgets and ``benchmarks/fuzz_campaign.py`` for longer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hostile import CASE9_M, _label, _strategies, _workdir, check_call, matpower_mutations, run_cli

__all__ = ["COMMAND_TARGETS", "TIMELINE_BASE", "FACILITIES_CSV"]

#: Facilities on case9's load buses (CSV, for ``facilities:`` and ``--candidates``).
FACILITIES_CSV = """id,kind,bus,demand_kw,population,gen_kw,fuel_h
h1,hospital,bus:5,300,40000,200,10
w1,water,bus:7,200,10000,0,
t1,telecom,bus:9,50,5000,20,5
"""

#: A valid timeline scenario on case9 (the fuzz replaces or adds keys).
TIMELINE_BASE = {
    "grid": {"file": "case9.m"}, "seed": 3, "facilities": "fac.csv", "horizon_h": 12,
    "strikes": [{"assets": ["branch:2", "branch:5"]}],
    "repairs": {"crews": 1, "order": ["branch"], "durations_h": {"branch": 4}},
}


def _cmd_workdir(base) -> Path:
    d = _workdir(base)
    (d / "fac.csv").write_text(FACILITIES_CSV)
    (d / "s.yaml").write_text(json.dumps(TIMELINE_BASE))  # JSON is YAML
    (d / "bad.yaml").write_text("grid: case9\nseed: -1\n")
    (d / "c.csv").write_text("id,cost\nbranch:1,2\nbranch:2,1\n")
    (d / "cand.txt").write_text("h1\nw1\n")
    return d


def _in(d: Path, argv: list, timeout_s: float = 120) -> str:
    old = os.getcwd()
    os.chdir(d)
    try:
        return _label(run_cli(argv, timeout_s=timeout_s))
    finally:
        os.chdir(old)


# ------------------------------------------------------------------------------------------ command lines
def command_argv():
    """Command lines of the planning commands with hostile option values, paths and files."""
    st, edge_ints, edge_floats, texts, scalars, keys, values = _strategies()
    num = st.one_of(edge_ints.map(str), edge_floats.map(str),
                    st.sampled_from(["", "abc", "1e9", "0x10", "-0", "1", "2", "3", "0.5"]))
    out_dir = st.sampled_from(["out", "s.yaml", "s.yaml/sub", "/proc/self/x", "a" * 300, "new/deeper/out", "/"])
    out_file = st.sampled_from(["r.html", ".", "s.yaml/x.html", "/proc/self/x", "a" * 300 + ".html", "/"])
    files = st.sampled_from(["s.yaml", "missing.yaml", "case9.m", "", ".", "a" * 300 + ".yaml", "bad.yaml", "fac.csv"])
    add = st.one_of(st.sampled_from(["generator:500kW", "generator:0.5MW/48h x 2", "battery:200kWh x 3", "x",
                                     "generator:500kW x 99999999999", "generator:" + "9" * 400 + "kW",
                                     "battery:50kW/200kWh", ""]), texts)
    per_cmd = {
        "rank": ([("--k", num), ("--top", num), ("--beam", num), ("--time-limit", num), ("--out", out_dir),
                  ("--kinds", st.sampled_from(["line", "bus,gen", "", "foo", "line,line"])),
                  ("--metric", st.sampled_from(["shed_mw", "people_without_power", "x"])),
                  ("--method", st.sampled_from(["auto", "heuristic", "exhaustive", "milp", "x"]))], ["--k", "1"]),
        "harden": ([("--budget", num), ("--n", num), ("--n-oos", num), ("--seed", num), ("--out", out_dir),
                    ("--costs", st.sampled_from(["c.csv", "s.yaml", "missing.csv", ".", "fac.csv"])),
                    ("--objective", st.sampled_from(["expected", "cvar95", "worst", "x"])),
                    ("--method", st.sampled_from(["greedy", "milp", "x"]))], ["--budget", "1", "--n", "6"]),
        "restore": ([("--crews", num), ("--seed", num), ("--time-limit", num), ("--milp-time-limit", num),
                     ("--html", out_file), ("--exact", st.sampled_from(["auto", "never", "x"])),
                     ("--method", st.sampled_from(["heuristic", "rrr", "x"]))],
                    ["--crews", "1", "--exact", "never", "--time-limit", "1"]),
        "site": ([("--add", add), ("--n", num), ("--n-out", num), ("--seed", num), ("--workers", num),
                  ("--candidates", st.sampled_from(["cand.txt", "fac.csv", "s.yaml", "missing", ".", "case9.m"]))],
                 ["--add", "generator:500kW", "--n", "3", "--n-out", "3"]),
        "sweep": ([("--n", num), ("--seed", num), ("--chunk-size", num), ("--out", out_dir)],
                  ["--timeline", "--n", "2", "--out", "run", "--quiet"]),
        "doctor": ([], []),
    }
    cmd = st.sampled_from(sorted(per_cmd))

    def build(c):
        opts, defaults = per_cmd[c]
        opt = st.one_of(*[st.tuples(st.just(k), v) for k, v in opts]) if opts else None
        first = files if c != "doctor" else st.sampled_from(["case9.m", "case9", "matpower:case9", "matpower:../x",
                                                            "matpower:" + "x" * 300, "", "s.yaml", "/dev/null"])
        return st.tuples(st.just(c), first, st.lists(opt, max_size=3) if opt else st.just([]), st.booleans()).map(
            lambda t: _merge([t[0], t[1]], defaults, t[2], t[3]))

    return cmd.flatmap(build)


def _merge(head: list, defaults: list[str], opts: list[tuple[str, str]], as_json: bool) -> list[str]:
    given = {k for k, _ in opts}
    argv = list(head)
    i = 0
    while i < len(defaults):  # a default option unless the case gives its own value
        k = defaults[i]
        takes = i + 1 < len(defaults) and not defaults[i + 1].startswith("--")
        if k not in given:
            argv += defaults[i:i + 2] if takes else [k]
        i += 2 if takes else 1
    argv += [x for kv in opts for x in kv]
    return argv + (["--json"] if as_json else [])


def _run_command(argv, base) -> str:
    return _in(_cmd_workdir(base), argv)


# ------------------------------------------------------------------------------------------- timeline keys
def timeline_documents():
    """Timeline scenarios with hostile waves, repairs (crews, order, durations, spares, access, explicit,
    travel), refuels, horizon, viability, UFLS, damage states and generator failure rates."""
    st, edge_ints, edge_floats, texts, scalars, keys, values = _strategies()
    num = st.one_of(edge_ints, edge_floats, st.integers(0, 30), st.floats(0, 50), texts, st.none())
    asset = st.sampled_from(["branch:2", "branch:5", "branch:99", "bus:5", "bus:1e20", "gen:1", "line", "trafo",
                             "branch", "", "nope:1"])
    dur = st.one_of(num, st.fixed_dictionaries({"median_h": num}, optional={"spread": num}))
    repairs = st.fixed_dictionaries({}, optional={
        "crews": num, "start_h": num, "order": st.one_of(st.lists(asset, max_size=3), values),
        "durations_h": st.one_of(st.dictionaries(st.sampled_from(["branch", "bus", "gen", "x"]), dur, max_size=2),
                                 values),
        "explicit": st.lists(st.fixed_dictionaries({"asset": asset, "done_h": num}), max_size=2),
        "spares": st.dictionaries(st.sampled_from(["branch", "trafo", "x"]),
                                  st.fixed_dictionaries({"stock": num}, optional={"lead_h": num}), max_size=2),
        "access": st.lists(st.fixed_dictionaries({"assets": st.lists(asset, max_size=2), "from_h": num,
                                                  "to_h": num}), max_size=2),
        "travel_h": num})
    wave = st.fixed_dictionaries({"at_h": num, "strikes": st.one_of(
        st.lists(st.fixed_dictionaries({"assets": st.lists(asset, min_size=1, max_size=2)}), max_size=2), values)})
    refuel = st.fixed_dictionaries({"at_h": num}, optional={
        "facilities": st.lists(st.sampled_from(["h1", "w1", "nope", ""]), max_size=2),
        "kinds": st.lists(st.sampled_from(["hospital", "water", "x"]), max_size=2), "fuel_h": num, "fuel_l": num,
        "delay_h": dur})
    state = st.fixed_dictionaries({"kpa": num, "repair": st.fixed_dictionaries({"median_h": num},
                                                                               optional={"beta": num})})
    per_key = {
        "horizon_h": num, "waves": st.one_of(st.lists(wave, max_size=2), values),
        "repairs": st.one_of(repairs, repairs, values), "refuel": st.one_of(st.lists(refuel, max_size=2), values),
        "rolling_outages": st.one_of(st.fixed_dictionaries({}, optional={
            "queues": num, "block_h": num, "exempt_tiers": st.lists(num, max_size=2), "start_h": num}), values),
        "gen_mttf_h": st.one_of(num, st.dictionaries(st.sampled_from(["hospital", "x"]), num, max_size=2)),
        "viability": st.one_of(st.fixed_dictionaries({"enabled": st.booleans()}, optional={
            "min_inertia_s": num, "units": st.dictionaries(st.sampled_from(["gen:1", "gen:9", "x"]),
                                                           st.fixed_dictionaries({}, optional={
                                                               "inertia_h_s": num, "p_min_mw": num}), max_size=2)}),
            values),
        "ufls": st.one_of(st.fixed_dictionaries({}, optional={
            "exempt_tiers": st.lists(num, max_size=2), "delay_s": num,
            "stages": st.lists(st.fixed_dictionaries({"hz": num, "percent": num}), max_size=3)}), values),
        "damage": st.one_of(st.fixed_dictionaries({}, optional={
            "states": st.fixed_dictionaries({"line": st.fixed_dictionaries({"destroyed": state})}),
            "spares": st.dictionaries(st.sampled_from(["trafo", "line"]), num, max_size=1),
            "lead_time_h": num, "spare_wait_h": num, "site_radius_m": num, "correlation": num,
            "sites": st.lists(st.fixed_dictionaries({"id": texts, "buses": st.lists(asset, max_size=2)}),
                              max_size=1)}), values),
        "facilities": st.sampled_from(["fac.csv", "fac.csv", "missing.csv", "case9.m"]),
    }
    pick = st.lists(st.sampled_from(sorted(per_key)), min_size=1, max_size=3, unique=True)
    return st.tuples(pick.flatmap(lambda ks: st.fixed_dictionaries({k: per_key[k] for k in ks})),
                     st.sampled_from(["restore", "sweep", "simulate"]))


def _run_timeline(case, base) -> str:
    doc, cmd = case
    d = _cmd_workdir(base)
    p = d / "t.yaml"
    p.write_text(json.dumps({**TIMELINE_BASE, **doc}, allow_nan=True).replace("NaN", ".nan")
                 .replace("-Infinity", "-.inf").replace("Infinity", ".inf"))
    tail = {"restore": ["--crews", "1", "--exact", "never", "--time-limit", "1", "--json"],
            "sweep": ["--timeline", "--n", "2", "--out", "run", "--quiet", "--json"],
            "simulate": ["--json"]}[cmd]
    return _in(d, [cmd, p, *tail])


# -------------------------------------------------------------------------------------------- small readers
def add_specs():
    """``site --add`` specs: the grammar with hostile numbers, units, counts and bytes."""
    from hypothesis import strategies as st

    numtxt = st.one_of(st.sampled_from(["0", "500", "0.5", ".5", "5.", "1e3", "9" * 400, "-5", "nan", "inf", "",
                                        "00000000000000000000001", "99999999999"]),
                       st.integers(0, 10**12).map(str))
    unit = st.sampled_from(["kW", "MW", "kWh", "MWh", "kW", "kWh", "h", "", "GW"])
    slash = st.one_of(st.just(""), st.just(""), st.sampled_from(["/48h", "/200kWh", "/0.2MWh", "/0h"]),
                      st.tuples(numtxt, unit).map(lambda t: "/" + "".join(t)))
    count = st.one_of(st.just(""), st.just(""), st.sampled_from([" x 5", "x2", " × 3", " X 1", " * 2"]),
                      numtxt.map(lambda n: " x " + n))
    spec = st.builds(lambda w, a, u1, sl, c: f"{w}:{a}{u1}{sl}{c}",
                     st.sampled_from(["generator", "battery", "generator", "battery", "Generator", "tank", ""]),
                     st.one_of(st.sampled_from(["500", "0.5", "200", "50"]), numtxt), unit, slash, count)
    return st.one_of(spec, spec, spec, st.text(max_size=40))


def _run_add(spec, base) -> str:  # noqa: ARG001
    from svitlo.analyses.site.units import MAX_UNITS, parse_add

    label = check_call(parse_add, spec)
    if label == "ok":
        unit, n = parse_add(spec)
        vals = [v for v in (unit.kw, unit.kwh, unit.fuel_h) if v is not None]
        if not 1 <= n <= MAX_UNITS or not all(0 < v < float("inf") for v in vals):
            return f"violation: accepted {spec!r:.80} as {unit} x {n}"
    return label


def csv_texts():
    """Small CSV-like texts: costs (``id,cost``) and candidate lists, with hostile cells and bytes."""
    from hypothesis import strategies as st

    cell = st.one_of(st.sampled_from(["branch:1", "branch:2", "bus:5", "gen:1", "h1", "w1", "nope", "1", "-1",
                                      "nan", "inf", "1e308", "", "\"", "abc", "x" * 300, "id", "cost"]),
                     st.text(max_size=5))
    header = st.one_of(st.just(["id", "cost"]), st.just(["id"]), st.lists(st.sampled_from(
        ["id", "cost", "kind", "x", ""]), max_size=3))
    text = st.tuples(header, st.lists(st.lists(cell, max_size=3), max_size=4)).map(
        lambda t: "\n".join([",".join(t[0])] + [",".join(r) for r in t[1]]) + "\n")
    return st.tuples(st.one_of(text.map(str.encode), st.binary(max_size=30),
                               text.map(lambda s: s.encode("utf-16"))), st.booleans())


_CTX: dict = {}


def _run_csv_file(case, base) -> str:
    from svitlo.analyses.harden import read_costs
    from svitlo.cli.site_cmd import _read_candidates

    data, as_costs = case
    d = _workdir(base)
    p = d / "x.csv"
    p.write_bytes(data)
    if not as_costs:
        return check_call(_read_candidates, p)
    if "ctx" not in _CTX:
        from svitlo.analyses.sweep.evaluate import make_context
        from svitlo.io.scenario_file import parse_scenario

        _CTX["ctx"] = make_context(parse_scenario({"grid": "case9"}))
    return check_call(read_costs, p, _CTX["ctx"])


# -------------------------------------------------------------------------------------------------- doctor
def grid_files():
    """MATPOWER mutations of case9, or pandapower JSON of case9 with hostile values."""
    from hypothesis import strategies as st

    _, edge_ints, edge_floats, texts, scalars, keys, values = _strategies()
    pp_edit = st.tuples(st.sampled_from(["bus", "line", "gen", "load", "ext_grid", "trafo", "sn_mva", "std_types",
                                         "version"]),
                        st.sampled_from(["vn_kv", "x_ohm_per_km", "r_ohm_per_km", "max_i_ka", "p_mw", "max_p_mw",
                                         "from_bus", "to_bus", "bus", "in_service", "length_km", "_data", "columns"]),
                        st.integers(0, 20), st.one_of(edge_floats, edge_ints, texts, st.none(), values))
    return st.one_of(matpower_mutations().map(lambda t: ("m", t)),
                     st.lists(pp_edit, min_size=1, max_size=3).map(lambda e: ("json", e)))


_PP: dict = {}


def _case9_json() -> dict:
    if "net" not in _PP:
        import pandapower as pp
        import pandapower.networks as pn

        _PP["net"] = json.loads(pp.to_json(pn.case9()))
    return json.loads(json.dumps(_PP["net"]))


def _edit_pp(net: dict, table: str, col: str, row: int, value) -> None:
    obj = net.get("_object", net)
    t = obj.get(table)
    if not isinstance(t, dict) or "_object" not in t:
        obj[table] = value
        return
    try:
        frame = json.loads(t["_object"])
    except (TypeError, ValueError):
        return
    if col in ("_data", "columns"):
        frame[col if col in frame else "data"] = value
    elif isinstance(frame.get("columns"), list) and col in frame["columns"] and frame.get("data"):
        j = frame["columns"].index(col)
        rows = frame["data"]
        rows[row % len(rows)][j] = value
    t["_object"] = json.dumps(frame, allow_nan=True)


def _run_doctor(case, base) -> str:
    kind, payload = case
    d = _workdir(base)
    if kind == "m":
        p = d / "g.m"
        p.write_text(payload)
    else:
        net = _case9_json()
        for table, col, row, value in payload:
            _edit_pp(net, table, col, row, value)
        p = d / "g.json"
        p.write_text(json.dumps(net, allow_nan=True))
    o = run_cli(["doctor", p, "--json"], timeout_s=120)
    if o.rc == 1 and not o.stderr.strip() and o.traceback is None:
        return "0"  # an error finding: doctor's own exit 1, findings on stdout
    return _label(o)


# ----------------------------------------------------------------------------------------------------- API
def api_bodies():
    """Request bodies for the dashboard's API: hostile scenarios, traversal in file names, deep nesting, huge
    numbers, wrong types."""
    from hostile import scenario_documents
    from hypothesis import strategies as st

    _, edge_ints, edge_floats, texts, scalars, keys, values = _strategies()
    names = st.sampled_from(["s.yaml", "../s.yaml", "../../etc/passwd", "/etc/passwd", "..", "a\x00b.m",
                             "%2e%2e/x.m", "~root/x.m", "x" * 600, "case9.m", "s.yaml/..", "\\\\server\\x.m"])
    grid = st.one_of(st.just("case9"), st.fixed_dictionaries({"file": names}),
                     st.fixed_dictionaries({"matpower": names}), names, values)
    deep = st.integers(1, 300).map(lambda n: json.loads("[" * n + "]" * n))
    scen = st.one_of(scenario_documents("case9"),
                     st.fixed_dictionaries({"grid": grid}, optional={"facilities": names, "strikes": st.one_of(
                         deep, values), "horizon_h": st.one_of(edge_ints, edge_floats), "seed": edge_ints}),
                     values)
    body = st.one_of(st.fixed_dictionaries({"scenario": scen}, optional={"scenario_file": st.one_of(names, values)}),
                     st.fixed_dictionaries({"scenario": scen, "n": st.one_of(edge_ints, scalars),
                                            "run": st.one_of(names, texts)}),
                     values, deep)
    return st.tuples(st.sampled_from(["/api/assess", "/api/map", "/api/simulate", "/api/sweeps"]), body)


_APP: dict = {}


def _client(base):
    if "client" not in _APP:
        from fastapi.testclient import TestClient

        from svitlo.web.app import ServerConfig, create_app

        root = _workdir(base)
        (root / "data").mkdir()
        (root / "data" / "s.yaml").write_text("grid: case9\nstrikes: [{assets: [line:3]}]\n")
        (root / "data" / "case9.m").write_text(CASE9_M)
        app = create_app(ServerConfig(data_dir=root / "data", store_dir=root / "store", workers=2, max_sweep_n=5))
        client = TestClient(app)
        client.__enter__()
        _APP.update(client=client, app=app, root=root)
    return _APP["client"]


def close_api() -> None:
    """Stop the in-process server of the API target (its sweep jobs and threads)."""
    if "client" in _APP:
        try:
            _APP["app"].state.jobs.close()
        finally:
            _APP.pop("client").__exit__(None, None, None)
            _APP.clear()


def _run_api(case, base) -> str:
    route, body = case
    client = _client(base)
    try:
        data = json.dumps(body, allow_nan=True).encode()
    except (ValueError, RecursionError):
        return "2"
    r = client.post(route, content=data, headers={"content-type": "application/json"})
    if r.status_code >= 500:
        return f"violation: {route} answered {r.status_code}: {r.text[:200]}"
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail")
        except ValueError:
            return f"violation: {route} {r.status_code} without JSON: {r.text[:200]}"
        if not isinstance(detail, str) or not detail or "\n" in detail or len(detail) > 2000:
            return f"violation: {route} {r.status_code} detail {str(detail)[:200]!r}"
        return "2"
    root = _APP["root"]
    stray = sorted(p.name for p in root.iterdir() if p.name not in ("data", "store", "case9.m"))
    if stray or sorted(p.name for p in (root / "data").iterdir()) != ["case9.m", "s.yaml"]:
        return f"violation: {route} wrote outside the store: {stray}"
    return "0"


COMMAND_TARGETS = {
    "cmd_options": (command_argv, _run_command),
    "cmd_timeline": (timeline_documents, _run_timeline),
    "site_add": (add_specs, _run_add),
    "csv_inputs": (csv_texts, _run_csv_file),
    "doctor_grids": (grid_files, _run_doctor),
    "api_bodies": (api_bodies, _run_api),
}

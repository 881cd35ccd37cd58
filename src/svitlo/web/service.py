"""What the server computes, as plain functions of a validated scenario: the map to compose a strike on, an
``assess`` summary, a simulated timeline as the offline report, and a stored sweep's tables.

Every function calls the public API (:func:`svitlo.load_grid`, :func:`svitlo.assess`, :func:`svitlo.simulate`,
:func:`svitlo.analyses.sweep.open_run`) and draws with the report's own code (:mod:`svitlo.report`), so the
dashboard and the HTML report cannot disagree. Grids are cached (they take seconds to load and are never
mutated: every engine function returns new objects).

Examples
--------
>>> ws = Workspace(data_dir=None, store_dir=None)
>>> sc = ws.scenario({"grid": "case9", "strikes": [{"assets": ["line:3"]}]})
>>> out = ws.assess(sc)
>>> out["metrics"]["islands"], out["destroyed"]
(2, ['line:3'])
>>> m = ws.map(sc)
>>> m["svg"].count('<circle class="bus'), len(m["branches"])
(9, 9)
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from svitlo.errors import InputError, ScenarioError, StoreError
from svitlo.web.paths import SCENARIO_SUFFIXES, confine_scenario, confined_path

__all__ = ["Workspace", "MAX_HORIZON_H"]

#: Longest horizon (h) a request may simulate (a scenario file may say more; the server refuses it).
MAX_HORIZON_H = 24 * 31


class _LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)


class Workspace:
    """The server's view of its folders: ``data_dir`` (grids, facility and scenario files it may open; read
    only) and ``store_dir`` (sweep runs it lists and writes). Either may be ``None``."""

    def __init__(self, *, data_dir: str | os.PathLike | None, store_dir: str | os.PathLike | None,
                 max_horizon_h: int = MAX_HORIZON_H) -> None:
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.store_dir = Path(store_dir).resolve() if store_dir is not None else None
        self.max_horizon_h = int(max_horizon_h)
        self._grids = _LRU(8)
        self._reports = _LRU(32)

    # ------------------------------------------------------------------ scenarios and grids
    def scenario_file(self, name: str) -> dict[str, Any]:
        """The scenario file ``name`` (inside the data folder) as a mapping, to edit and send back."""
        p = confined_path(self.data_dir, name, field="scenario_file")
        if p.suffix.lower() not in SCENARIO_SUFFIXES or not p.is_file():
            raise InputError("no such scenario file (.yaml) in the data folder", field="scenario_file", value=name)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"not valid YAML: {exc}", source=name) from None
        if not isinstance(data, dict):
            raise ScenarioError("expected a mapping at the top level", source=name)
        return json.loads(json.dumps(data, default=str))

    def scenario(self, data: dict[str, Any], *, scenario_file: str | None = None) -> Any:
        """Validate a scenario mapping (the request's), its files confined to the data folder.

        Relative paths start from the folder of ``scenario_file`` when given (itself inside the data folder),
        else from the data folder.
        """
        from svitlo.io.scenario_file import parse_scenario

        if not isinstance(data, dict):
            raise ScenarioError("expected a mapping of keys (name, grid, strikes, ...)", source="request")
        base = self.data_dir
        if scenario_file is not None:
            f = confined_path(self.data_dir, scenario_file, field="scenario_file")
            if f.suffix.lower() not in SCENARIO_SUFFIXES or not f.is_file():
                raise InputError("no such scenario file (.yaml) in the data folder", field="scenario_file",
                                 value=scenario_file)
            base = f.parent
        rel = base.relative_to(self.data_dir).as_posix() if base is not None and self.data_dir else ""

        def inside(name: Any) -> Any:
            return f"{rel}/{name}" if rel not in ("", ".") and isinstance(name, str) else name

        check = dict(data)
        if isinstance(check.get("grid"), dict) and "file" in check["grid"]:
            check["grid"] = {**check["grid"], "file": inside(check["grid"]["file"])}
        elif isinstance(check.get("grid"), str) and check["grid"].endswith((".m", ".json")):
            check["grid"] = inside(check["grid"])
        if isinstance(check.get("facilities"), str):
            check["facilities"] = inside(check["facilities"])
        confine_scenario(check, self.data_dir)
        sc = parse_scenario(data, source=scenario_file or "request", base_dir=str(base) if base else None)
        if sc.horizon_h > self.max_horizon_h:
            raise ScenarioError(f"the server simulates at most {self.max_horizon_h} h", source="request",
                                field="horizon_h", value=sc.horizon_h)
        return sc

    def grid(self, sc: Any) -> Any:
        """The scenario's grid, loaded once and cached (key: grid spec, folder and file time)."""
        from svitlo.io.cases import load_grid

        spec = sc.grid.model_dump() if hasattr(sc.grid, "model_dump") else sc.grid
        stamp = None
        if isinstance(spec, dict) and "file" in spec and sc.base_dir:
            p = Path(sc.base_dir) / spec["file"]
            stamp = p.stat().st_mtime_ns if p.is_file() else None
        key = (json.dumps(spec, sort_keys=True), sc.base_dir, stamp)
        g = self._grids.get(key)
        if g is None:
            g = load_grid(spec, base_dir=sc.base_dir)
            self._grids.put(key, g)
        return g

    # ------------------------------------------------------------------ map, assess, simulate
    def map(self, sc: Any) -> dict[str, Any]:
        """The intact grid drawn by the report's renderer, with its asset ids and projection.

        Returns ``svg`` (the report's map, ``#map``), ``buses``/``branches`` (ids in drawing order, the
        ``data-i`` of each element), ``facilities``, and ``projection`` (``None`` when the grid has no
        coordinates; else what turns SVG units back into latitude/longitude for aim points).
        """
        from svitlo.pipeline import simulate
        from svitlo.report.payload import report_model
        from svitlo.report.svg import map_svg

        grid = self.grid(sc)
        intact = sc.model_copy(update={"strikes": [], "waves": [], "horizon_h": 1, "repairs": None,
                                       "refuel": [], "rolling_outages": None})
        tl = simulate(grid, intact)
        m = report_model(grid, tl)
        lay = m.layout
        fac = m.facilities
        svg = map_svg(width=lay.width, height=lay.height, bus_x=lay.x, bus_y=lay.y, bus_ids=m.bus_ids,
                      bus_labels=m.bus_labels, bus_code=m.bus_code[:, 0], br_f=m.br_f, br_t=m.br_t,
                      branch_ids=m.branch_ids, branch_kind=m.branch_kind, branch_code=m.branch_code[:, 0],
                      fac_x=m.fac_x, fac_y=m.fac_y, fac_true_x=m.fac_true_x, fac_true_y=m.fac_true_y,
                      fac_ids=list(fac["id"]), fac_kinds=list(fac["kind"].astype(str)),
                      fac_titles=[f"{r.name} ({r.kind}, {r.id})" for r in fac.itertuples()],
                      fac_state=["grid"] * len(fac), km_per_unit=lay.km_per_unit)
        proj = None
        if lay.geographic:
            proj = {"lat0": lay.lat0, "lon0": lay.lon0, "lat_mid": lay.lat_mid, "scale": lay.scale,
                    "pad": lay.pad}
        return {"grid": str(tl.grid), "svg": svg, "buses": m.bus_ids, "branches": m.branch_ids,
                "facilities": [{"id": str(r.id), "kind": str(r.kind), "name": str(r.name)}
                               for r in fac.itertuples()],
                "weapons": sorted({**_default_weapons(), **sc.weapons}), "projection": proj}

    def assess(self, sc: Any) -> dict[str, Any]:
        """:func:`svitlo.assess` summarised: metrics, destroyed assets, islands, overloads and map codes."""
        from svitlo.engine.invariants import check_impact
        from svitlo.pipeline import assess

        grid = self.grid(sc)
        imp = assess(grid, sc)
        check_impact(imp)
        bus_code, br_code = _impact_codes(imp, grid)
        ov = imp.branches[imp.branches["overloaded"]].sort_values("loading_percent", ascending=False)
        return {"scenario": imp.scenario, "grid": imp.grid, "mode": imp.mode, "metrics": _json(imp.metrics),
                "destroyed": list(imp.destroyed), "islands": _records(imp.islands),
                "overloaded": _records(ov[["id", "flow_mw", "rate_mw", "loading_percent"]].head(50)),
                "bus_code": bus_code, "branch_code": br_code}

    def simulate(self, sc: Any) -> dict[str, Any]:
        """:func:`svitlo.simulate` and the offline report of it (kept for ``report(id)``)."""
        from svitlo.engine.invariants import check_impact
        from svitlo.pipeline import simulate
        from svitlo.report.html import render_report
        from svitlo.report.story import tell

        grid = self.grid(sc)
        tl = simulate(grid, sc)
        for imp in tl.impacts.values():
            check_impact(imp)
        html = render_report(grid, tl, scenario=sc)
        rid = os.urandom(16).hex()
        self._reports.put(rid, html)
        h = tl.hourly
        return {"report_id": rid, "scenario": tl.scenario, "grid": tl.grid, "horizon_h": tl.horizon_h,
                "hourly": {c: _json(h[c].to_numpy().tolist()) for c in h.columns},
                "story": tell(tl, scenario=sc, grid=grid).sections}

    def compare(self, sa: Any, sb: Any) -> dict[str, Any]:
        """Two scenarios (or plans) simulated and set side by side (:mod:`svitlo.report.compare`); the
        comparison page is kept for ``report(id)`` like a timeline report."""
        from svitlo.engine.invariants import check_impact
        from svitlo.pipeline import simulate
        from svitlo.report.compare import compare_timelines, render_compare

        tls = []
        for sc in (sa, sb):
            tl = simulate(self.grid(sc), sc)
            for imp in tl.impacts.values():
                check_impact(imp)
            tls.append(tl)
        c = _json(compare_timelines(*tls))
        rid = os.urandom(16).hex()
        self._reports.put(rid, render_compare(*tls, data=c))
        return {"report_id": rid, **c}

    def report(self, rid: str) -> str | None:
        """The HTML of a report made by :meth:`simulate` (``None`` once evicted or if unknown)."""
        return self._reports.get(rid)

    # ------------------------------------------------------------------ stored runs
    def runs(self) -> list[dict[str, Any]]:
        """Sweep runs in the store folder (one level deep), newest first."""
        from svitlo.store import read_manifest

        out = []
        if self.store_dir is None or not self.store_dir.is_dir():
            return out
        for d in sorted(self.store_dir.iterdir()):
            if not d.is_dir() or d.name.startswith("."):
                continue
            try:
                m = read_manifest(d)
            except StoreError:
                continue
            out.append({"name": d.name, "run_id": m["run_id"], "n": int(m["n"]),
                        "complete": bool(m.get("complete")), "scenario_name": m.get("scenario_name"),
                        "grid": m.get("grid"), "created_unix": m.get("created_unix")})
        return sorted(out, key=lambda r: -(r["created_unix"] or 0))

    def run_dir(self, name: str) -> Path:
        """The folder of run ``name`` (a direct child of the store folder)."""
        if self.store_dir is None:
            raise InputError("the server was started without a store folder (--store DIR)", field="run",
                             value=name)
        p = confined_path(self.store_dir, name, field="run")
        if p.parent != self.store_dir or not p.is_dir():
            raise InputError("no such run in the store folder", field="run", value=name)
        return p

    def run(self, name: str, *, top: int = 10) -> dict[str, Any]:
        """A stored run's tables: metric quantiles, risk curves, worst scenarios, protect-first assets and, with
        facilities, each facility's probability of losing grid supply."""
        from svitlo.analyses.sweep import open_run, report_tables

        d = self.run_dir(name)
        r = open_run(d)
        rows = r.rows()
        out: dict[str, Any] = {"name": name, "run_id": r.manifest["run_id"], "n": r.n, "rows": rows,
                               "complete": r.complete, "scenario": r.manifest.get("scenario"),
                               "scenario_name": r.manifest.get("scenario_name"), "grid": r.manifest.get("grid")}
        if rows == 0:
            return {**out, "tables": {}}
        tables = report_tables(d, top=top, points=21)
        out["tables"] = {k: _records(v) for k, v in tables.items()}
        return out

    def run_scenario(self, name: str, scenario: int) -> Any:
        """Scenario number ``scenario`` of a stored run as a fixed-strike scenario to simulate: the run's
        scenario with its strikes replaced by the assets that scenario destroyed."""
        from svitlo.analyses.sweep import open_run
        from svitlo.io.scenario_file import parse_scenario

        d = self.run_dir(name)
        r = open_run(d)
        if not 0 <= scenario < r.n:
            raise InputError(f"expected a scenario number from 0 to {r.n - 1}", field="scenario", value=scenario)
        rows = r.connect().execute("SELECT destroyed FROM scenarios WHERE scenario = ?",
                                   [int(scenario)]).fetchall()
        if not rows:
            raise InputError("that scenario is not stored yet", field="scenario", value=scenario)
        destroyed = [str(a) for a in (rows[0][0] or [])]
        data = dict(r.manifest.get("scenario") or {})
        data.update(strikes=[{"assets": destroyed}] if destroyed else [], waves=[],
                    name=f"{data.get('name', 'scenario')} · #{scenario}")
        confine_scenario(data, self.data_dir)
        return parse_scenario(data, source=f"run {name}", base_dir=str(self.data_dir) if self.data_dir else None)


def _default_weapons() -> dict[str, Any]:
    from svitlo.scenarios.geo import DEFAULT_WEAPONS

    return dict(DEFAULT_WEAPONS)


def _impact_codes(imp: Any, grid: Any) -> tuple[list[int], list[int]]:
    """Map codes (:mod:`svitlo.report.frames`) of every bus and branch of one assessed state."""
    from svitlo.report.frames import branch_codes, bus_codes

    bus_ids = [str(b) for b in grid.buses.index]
    b = imp.buses.set_index("id").reindex(bus_ids)
    island = np.where(b["alive"].fillna(False).to_numpy(bool), b["island"].fillna(-1).to_numpy(np.int64), -1)
    code = bus_codes(island[:, None], b["energised"].fillna(False).to_numpy(bool)[:, None])
    pos = {x: i for i, x in enumerate(bus_ids)}
    br = imp.branches.set_index("id").reindex([str(x) for x in grid.branches.index])
    f = grid.branches["from_bus"].map(pos).to_numpy(np.int64)
    t = grid.branches["to_bus"].map(pos).to_numpy(np.int64)
    bc = branch_codes(code, f, t, br["in_service"].fillna(False).to_numpy(bool)[:, None],
                      br["destroyed"].fillna(False).to_numpy(bool)[:, None])
    return [int(v) for v in code[:, 0]], [int(v) for v in bc[:, 0]]


def _json(v: Any) -> Any:
    """JSON-ready, non-finite floats as ``None``."""
    from svitlo.model.serialize import jsonable

    out = jsonable(v)
    if isinstance(out, float) and not math.isfinite(out):
        return None
    if isinstance(out, dict):
        return {k: _json(x) for k, x in out.items()}
    if isinstance(out, list):
        return [_json(x) for x in out]
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    from svitlo.model.serialize import records

    return [_json(r) for r in records(df)]

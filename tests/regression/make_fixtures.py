"""Regenerate the regression fixtures: the numbers of today's commands (demo, the example scenario, bundled cases,
a small sweep), kept in ``fixtures.json`` and compared by ``test_regression.py``.

Run ``python tests/regression/make_fixtures.py`` only when a change of numbers is intended, and explain the change
in the commit message.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent

HOURLY = ["load_mw", "served_mw", "shed_mw", "ens_weighted_mwh", "people_without_power", "islands",
          "energised_islands"]
METRICS = ["load_mw", "served_mw", "shed_mw", "weighted_shed_mw", "people_without_power", "islands",
           "energised_islands", "overloaded_branches"]
CASES = [("case9", [["line:3"]]), ("case118", [["line:7", "bus:30", "line:40"]]),
         ("case300", [["bus:9", "line:11", "trafo:3"]])]


def _r(x: float) -> float:
    return round(float(x), 6)


def collect() -> dict:
    import svitlo
    from svitlo.analyses.sweep import open_run, sweep
    from svitlo.cli.demo_cmd import run_demo

    out: dict = {}
    demo = run_demo()
    tl = demo.timeline
    out["demo"] = {
        "hourly": {c: [_r(v) for v in tl.hourly[c]] for c in HOURLY},
        "events": [[int(h), k, str(s)] for h, k, s in tl.events[["hour", "kind", "subject"]].itertuples(index=False)],
        "hours_dark": {str(i): _r(v) for i, v in zip(tl.facilities["id"], tl.facilities["hours_dark"])},
    }
    imp = svitlo.assess(None, ROOT / "examples" / "static_strike.yaml")
    out["static_strike"] = {m: _r(imp.metrics[m]) for m in METRICS}
    for case, strikes in CASES:
        for k, ids in enumerate(strikes):
            imp = svitlo.assess(case, {"strikes": [{"assets": ids}]})
            out[f"{case}/{k}"] = {m: _r(imp.metrics[m]) for m in METRICS}
    for seed in (1, 2):
        imp = svitlo.assess("case118", {"strikes": [{"random": {"k": 8}}]}, seed=seed)
        out[f"case118/random8/{seed}"] = {m: _r(imp.metrics[m]) for m in METRICS}
    with tempfile.TemporaryDirectory() as d:
        sweep({"grid": "case118", "seed": 5, "strikes": [{"random": {"k": 6}}]}, n=40, out=d)
        rows = open_run(d).scenarios().sort_values("scenario")
        out["sweep_case118"] = {c: [_r(v) for v in rows[c]] for c in ("shed_mw", "served_mw", "islands")}
    return out


if __name__ == "__main__":
    data = collect()
    (HERE / "fixtures.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {HERE / 'fixtures.json'}", file=sys.stderr)

"""Monte Carlo sweeps: N strike scenarios drawn from a scenario file, streamed to a resumable result store.

* :func:`sweep` runs or resumes a sweep (in-process, on a local Dask cluster or on a scheduler address);
* :func:`open_run` / :func:`report_tables` read a run folder back as DataFrames through DuckDB.

Examples
--------
>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> out = sweep({"grid": "case14", "strikes": [{"random": {"k": 2}}]}, n=30, out=d)
>>> run = open_run(d)
>>> len(run.scenarios()), run.complete
(30, True)
"""

from svitlo.analyses.sweep.aggregate import (
                                             asset_risk,
                                             metric_summary,
                                             risk_curve,
                                             scenarios,
                                             verify_rows,
                                             worst_scenarios,
)
from svitlo.analyses.sweep.plan import SweepPlan, make_plan, scenario_seed, scenario_seeds
from svitlo.analyses.sweep.results import SweepRun, open_run, report_tables
from svitlo.analyses.sweep.run import SweepOutcome, sweep

__all__ = ["sweep", "SweepOutcome", "open_run", "SweepRun", "report_tables", "scenarios", "metric_summary",
           "worst_scenarios", "risk_curve", "asset_risk", "verify_rows", "SweepPlan", "make_plan",
           "scenario_seed", "scenario_seeds"]

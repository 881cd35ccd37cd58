"""The per-scenario result arrays of :func:`~svitlo.engine.batch.evaluate_batch`.

Examples
--------
>>> import numpy as np
>>> r = BatchResult(**{f: np.zeros(2) for f in METRICS}, exact=np.zeros(2, bool),
...                 shed_mw_by_tier=np.zeros((2, 1)), tiers=np.array([3]))
>>> r.n_scenarios, list(r.to_frame().columns[:3])
(2, ['load_mw', 'served_mw', 'shed_mw'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from svitlo.model.outputs import metric_names

__all__ = ["METRICS", "BatchResult"]

#: Per-scenario metrics, as declared in :data:`svitlo.model.outputs.SCENARIO_METRICS`.
METRICS = metric_names()


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Metrics of many scenarios on one grid (arrays of length ``n_scenarios``).

    Attributes
    ----------
    load_mw, served_mw, shed_mw, weighted_shed_mw, generation_mw
        Demand, served, shed (destroyed and stranded loads count as shed), priority-weighted shed and
        generation (MW).
    islands, energised_islands
        Number of islands (surviving buses' connected components) and of those holding an island-forming
        generator.
    people_without_power
        Population of shed load (people).
    overloaded_branches, max_loading_percent
        In-service branches above 100 % of their rating, and the highest loading (%; 0 without ratings).
    islands_collapsed, ufls_shed_mw, units_decommitted
        Island viability (:mod:`svitlo.engine.viability`; zero when it is off): islands with load and a
        grid-forming unit left dark by the rules, load shed by UFLS (MW), units decommitted.
    exact
        True where the scenario was solved by the exact per-scenario path (the fast path could not prove its
        result exact, or no fast path was available).
    shed_mw_by_tier, tiers
        Shed per priority tier (``n_scenarios x len(tiers)``, MW) and the tier numbers of its columns.
    flows_mw
        Branch flows (``n_scenarios x n_branch``, MW, from-side; 0 out of service) when asked.
    load_shed_mw
        Shed per load (``n_scenarios x n_load``, MW) when asked.
    """

    load_mw: np.ndarray
    served_mw: np.ndarray
    shed_mw: np.ndarray
    weighted_shed_mw: np.ndarray
    generation_mw: np.ndarray
    islands: np.ndarray
    energised_islands: np.ndarray
    people_without_power: np.ndarray
    overloaded_branches: np.ndarray
    max_loading_percent: np.ndarray
    islands_collapsed: np.ndarray
    ufls_shed_mw: np.ndarray
    units_decommitted: np.ndarray
    exact: np.ndarray
    shed_mw_by_tier: np.ndarray
    tiers: np.ndarray
    flows_mw: np.ndarray | None = None
    load_shed_mw: np.ndarray | None = None

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return int(self.load_mw.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario: the metrics, ``shed_mw_tier_<t>`` columns and ``exact``."""
        cols = {m: getattr(self, m) for m in METRICS}
        for j, t in enumerate(self.tiers):
            cols[f"shed_mw_tier_{int(t)}"] = self.shed_mw_by_tier[:, j]
        cols["exact"] = self.exact
        return pd.DataFrame(cols)

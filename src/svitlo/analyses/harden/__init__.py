"""Harden: choose the assets to protect within a budget (greedy with lazy evaluation, or an exact
sample-average MILP), always evaluated out of sample and against a planner's baselines.

Examples
--------
>>> r = harden({"grid": "case9", "strikes": [{"random": {"k": 2}}]}, budget=1, n=50, n_oos=50)
>>> sorted(r.to_dict())
['baselines', 'budget', 'in_sample', 'method', 'metric', 'objective', 'out_of_sample', 'protected']
"""

from svitlo.analyses.harden.run import HardenResult, harden, read_costs

__all__ = ["harden", "HardenResult", "read_costs"]

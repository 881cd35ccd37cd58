"""Rank what hurts most: exhaustive N-1/N-2 screening, worst-case ``k`` (beam-greedy + swaps, enumeration or
an attacker–defender MILP on HiGHS), and the *protect first* table.

Examples
--------
>>> r = rank({"grid": "case9"}, k=1, kinds=["line"], top=3)
>>> len(r.worst), r.optimality
(3, {'status': 'optimal', 'gap': 0.0})
"""

from svitlo.analyses.rank.run import RankResult, rank

__all__ = ["rank", "RankResult"]

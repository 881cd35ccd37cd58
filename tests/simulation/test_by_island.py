"""Islands split with known labels (units or loads off: same live buses and branches) equal a fresh split."""

from __future__ import annotations

import numpy as np

import svitlo
from svitlo.engine.damage import DamageState, apply_damage
from svitlo.model.compiled import compile_grid
from svitlo.simulation.by_island import split_islands


def _same(a, b) -> bool:
    return (a.n == b.n and np.array_equal(a.labels, b.labels) and np.array_equal(a.forming, b.forming)
            and all(np.array_equal(x, y) for x, y in zip(a.buses + a.gens + a.loads, b.buses + b.gens + b.loads))
            and np.array_equal(a.all_gens, b.all_gens) and np.array_equal(a.all_loads, b.all_loads))


def test_split_with_known_labels_equals_fresh_split():
    cg = compile_grid(svitlo.load_grid("case30"))
    rng = np.random.default_rng(3)
    for _ in range(20):
        d = apply_damage(cg, [str(b) for b in rng.choice(cg.branch_ids, size=6, replace=False)])
        base = split_islands(cg, d)
        gen = d.gen_alive & (rng.random(cg.n_gen) < 0.7)
        load = d.load_alive & (rng.random(cg.n_load) < 0.7)
        d2 = DamageState(d.bus_alive, d.branch_alive, gen, load, d.destroyed)
        assert _same(split_islands(cg, d2, labels=(base.labels, base.n)), split_islands(cg, d2))
    # labels of another topology are not what a fresh split gives: the shortcut is only for equal buses/branches
    d3 = apply_damage(cg, [str(b) for b in cg.branch_ids[:8]])
    assert not _same(split_islands(cg, d3, labels=(base.labels, base.n)), split_islands(cg, d3))

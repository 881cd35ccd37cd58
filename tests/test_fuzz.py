"""Fuzzing every reader, every CLI option and the sweep resume path against the bad-input contract.

Exit 0, or exit 2 with one line; never a traceback, never a hang (see ``tests/hostile.py``). The budgets here
fit CI; ``benchmarks/fuzz_campaign.py`` runs the same targets for longer (figures in ``docs/fuzzing.md``).
"""

from __future__ import annotations

import pytest
from hostile import TARGETS
from hypothesis import HealthCheck, given, settings

#: Examples per target in CI (the readers are fast; the CLI targets run whole commands).
BUDGET = {"scenario_yaml": 120, "scenario_bytes": 120, "matpower": 60, "geojson": 120, "facility_csv": 80,
          "cli_options": 40, "cli_scenario": 25, "sweep_resume": 3}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target_keeps_the_contract(name, tmp_path):
    strategy, runner = TARGETS[name]

    @settings(max_examples=BUDGET[name], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy())
    def run(case):
        label = runner(case, tmp_path)
        assert not label.startswith("violation"), label

    run()

"""Fuzzing the planning commands and the dashboard's API against the bad-input contract.

``rank``, ``harden`` (with a cost file), ``restore``, ``site`` (``--add`` specs, candidate files), ``doctor``
(mutated MATPOWER and pandapower files) and ``sweep --timeline`` (timeline keys) exit 0, or exit 2 with one line;
never a traceback, never a hang; the API answers every hostile body below 500, with a one-line ``detail`` on
4xx (``tests/hostile_commands.py``). Budgets fit CI (about 40 s on two loaded cores);
``benchmarks/fuzz_campaign.py`` runs the same targets for longer (figures in ``docs/fuzzing.md``).
"""

from __future__ import annotations

import pytest
from hostile_commands import COMMAND_TARGETS, close_api
from hypothesis import HealthCheck, given, settings

#: Examples per target in CI (the CLI targets run whole commands in process).
BUDGET = {"cmd_options": 25, "cmd_timeline": 30, "site_add": 150, "csv_inputs": 40, "doctor_grids": 10,
          "api_bodies": 20}


@pytest.mark.parametrize("name", sorted(COMMAND_TARGETS))
def test_fuzz_target_keeps_the_contract(name, tmp_path):
    if name == "api_bodies":
        pytest.importorskip("fastapi")
        pytest.importorskip("httpx")
    if name == "doctor_grids":
        pytest.importorskip("pandapower")
    strategy, runner = COMMAND_TARGETS[name]

    @settings(max_examples=BUDGET[name], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy())
    def run(case):
        label = runner(case, tmp_path)
        assert not label.startswith("violation"), label

    try:
        run()
    finally:
        close_api()

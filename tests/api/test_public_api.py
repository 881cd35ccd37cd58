"""The curated public API, pinned: ``svitlo.__all__`` is sorted and exactly what the package exports (as httpx
does in ``tests/test_exported_members.py``); one exception tree."""

import importlib

import pytest

import svitlo

EXPECTED = [
    "CASES", "CompiledGrid", "DamageState", "FacilityError", "Grid", "GridError", "GridLike", "Impact", "InputError",
    "MissingDependencyError", "Prepared", "Scenario", "ScenarioError", "ScenarioLike", "SolverError", "StateResult",
    "StoreError", "SvitloError", "SvitloWarning", "Timeline", "__version__", "apply_damage", "assess",
    "compile_grid", "evaluate_state", "load_facilities", "load_grid", "load_scenario", "make_grid",
    "parse_scenario", "prepare", "simulate",
]


def test_all_is_pinned_and_sorted():
    assert svitlo.__all__ == EXPECTED
    assert svitlo.__all__ == sorted(svitlo.__all__)


def test_exported_members():
    for name in svitlo.__all__:
        assert hasattr(svitlo, name), name
    public = {n for n in dir(svitlo) if not n.startswith("_")}
    subpackages = {"cli", "engine", "errors", "io", "model", "scenarios", "topology", "analyses", "facilities",
                   "report", "data", "pipeline", "simulation", "store", "web", "importlib", "Any"}
    assert public - set(svitlo.__all__) - subpackages == set()


@pytest.mark.parametrize("sub", ["report", "analyses", "store", "simulation"])
def test_subpackages_load_on_first_use(sub):
    assert getattr(svitlo, sub) is importlib.import_module(f"svitlo.{sub}")


def test_write_report_after_plain_import():
    assert callable(svitlo.report.write_report)


def test_one_exception_tree():
    for name in ("InputError", "GridError", "ScenarioError", "FacilityError", "SolverError", "StoreError",
                 "MissingDependencyError"):
        assert issubclass(getattr(svitlo, name), svitlo.SvitloError)
    assert issubclass(svitlo.GridError, svitlo.InputError)
    assert issubclass(svitlo.MissingDependencyError, ImportError)


def test_py_typed_ships():
    from importlib import resources

    assert resources.files("svitlo").joinpath("py.typed").is_file()

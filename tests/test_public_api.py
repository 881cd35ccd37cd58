"""The curated public API: everything exported exists, nothing private leaks."""

import svitlo


def test_exported_members():
    for name in svitlo.__all__:
        assert hasattr(svitlo, name), name
    public = {n for n in dir(svitlo) if not n.startswith("_")}
    modules = {"cli", "engine", "errors", "io", "model", "scenarios", "topology", "analyses", "facilities",
               "report", "data"}
    assert public - set(svitlo.__all__) - modules == set()


def test_one_exception_tree():
    for name in ("InputError", "GridError", "ScenarioError", "FacilityError", "SolverError", "StoreError"):
        assert issubclass(getattr(svitlo, name), svitlo.SvitloError)
    assert issubclass(svitlo.GridError, svitlo.InputError)

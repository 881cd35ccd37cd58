"""The package reads top-down: a layer imports only layers below it (lazy imports included), and imports (lazy
ones included) form no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[2] / "src" / "svitlo"

#: Layers from the bottom; a module may import its own layer and the ones below.
LAYERS = {
    "errors": 0, "_version": 0,
    "model": 1,
    "topology": 2, "store": 2,
    "facilities": 3,
    "scenarios": 4,
    "engine": 5,
    "simulation": 6,
    "io": 7,
    "pipeline": 8,
    "analyses": 9,
    "report": 10,
    "cli": 11, "web": 11,
    "data": 11,
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            nested = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                if top or not module_level_only:
                    found.update(a.name for a in child.names if a.name.startswith("svitlo"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("svitlo"):
                if top or not module_level_only:
                    found.add(child.module)
                    found.update(f"{child.module}.{a.name}" for a in child.names)
            visit(child, top and not nested)

    visit(tree, True)
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package itself: the public API on top
    return LAYERS.get(parts[1])


def test_every_subpackage_has_a_layer():
    tops = {m.split(".")[1] for m in _modules() if "." in m}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))


def test_no_layer_reaches_up():
    mods = _modules()
    bad = []
    for mod, path in mods.items():
        own = _layer(mod)
        if own is None:
            continue
        for imp in _imports(path, module_level_only=False):
            target = _layer(imp)
            if imp == "svitlo" or (target is not None and target > own):
                bad.append(f"{mod} -> {imp}")
    assert not bad, "\n".join(sorted(bad))


def test_nothing_below_the_pipeline_reads_files_through_io():
    mods = _modules()
    bad = [f"{m} -> {i}" for m, p in mods.items() if (_layer(m) or 99) < LAYERS["io"]
           for i in _imports(p, module_level_only=False) if i.startswith("svitlo.io")]
    assert not bad, bad


def test_no_import_cycles():
    mods = _modules()
    g = nx.DiGraph()
    for mod, path in mods.items():
        g.add_node(mod)
        for imp in _imports(path, module_level_only=False):
            target = imp if imp in mods else imp.rsplit(".", 1)[0]
            if target in mods and target != mod and not mod.startswith(target + ".") and target != "svitlo":
                g.add_edge(mod, target)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, cycles[:5]


def test_optional_stacks_stay_lazy():
    """Importing svitlo does not import Dask, DuckDB, HiGHS, numba or the web stack."""
    import subprocess
    import sys

    code = ("import sys, svitlo; heavy = [m for m in ('dask', 'distributed', 'duckdb', 'highspy', 'numba', "
            "'fastapi', 'uvicorn') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""

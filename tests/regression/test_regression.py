"""Today's commands give today's numbers: the demo, the example scenario, bundled cases and a small sweep are
compared with ``fixtures.json`` (regenerate with ``make_fixtures.py`` only for an intended, explained change)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _collect():
    spec = importlib.util.spec_from_file_location("make_fixtures", HERE / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.collect()


def _same(want, got, path="") -> list[str]:
    """Differences between two JSON-like values (numbers within 1e-5, strings and structure exactly)."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or sorted(want) != sorted(got):
            return [f"{path}: keys {sorted(want)[:5]} != {sorted(got)[:5] if isinstance(got, dict) else got}"]
        return [d for k in want for d in _same(want[k], got[k], f"{path}/{k}")]
    if isinstance(want, list):
        if not isinstance(got, list) or len(want) != len(got):
            return [f"{path}: length {len(want)} != {len(got) if isinstance(got, list) else got}"]
        return [d for i, (w, g) in enumerate(zip(want, got)) for d in _same(w, g, f"{path}[{i}]")]
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return [] if isinstance(got, (int, float)) and abs(float(want) - float(got)) <= 1e-5 else \
            [f"{path}: {want} != {got}"]
    return [] if want == got else [f"{path}: {want!r} != {got!r}"]


@pytest.mark.slow
def test_numbers_unchanged():
    want = json.loads((HERE / "fixtures.json").read_text())
    got = json.loads(json.dumps(_collect()))
    diffs = _same(want, got)
    assert not diffs, "\n".join(diffs[:30])

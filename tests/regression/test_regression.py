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


@pytest.mark.slow
def test_numbers_unchanged():
    want = json.loads((HERE / "fixtures.json").read_text())
    got = json.loads(json.dumps(_collect()))
    assert sorted(got) == sorted(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-5) if not isinstance(want[key], dict) else True, key
        if isinstance(want[key], dict):
            for sub in want[key]:
                w, g = want[key][sub], got[key][sub]
                if isinstance(w, dict):
                    assert g == pytest.approx(w, abs=1e-5), (key, sub)
                elif isinstance(w, list) and w and isinstance(w[0], list):
                    assert g == w, (key, sub)
                else:
                    assert g == pytest.approx(w, abs=1e-5), (key, sub)

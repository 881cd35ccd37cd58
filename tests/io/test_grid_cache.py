"""The on-disk grid cache: hits skip the importer, any change of the source misses, bad files are rebuilt."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import svitlo
from svitlo.io import cache as gc
from svitlo.io.cases import load_grid


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SVITLO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SVITLO_CACHE", raising=False)
    return tmp_path / "cache"


def _same_grid(a, b):
    assert a.name == b.name and a.base_mva == b.base_mva and dict(a.aliases) == dict(b.aliases)
    for t in ("buses", "branches", "generators", "loads"):
        assert getattr(a, t).equals(getattr(b, t)), t


def test_bundled_case_cached_and_equal(cache_dir, monkeypatch):
    g1 = load_grid("case118", cache=True)
    assert len(gc.cache_entries()) == 1
    import pandapower.networks as pn

    monkeypatch.setattr(pn, "case118", lambda: (_ for _ in ()).throw(AssertionError("importer ran")))
    g2 = load_grid("case118", cache=True)  # a hit never runs pandapower's loader
    _same_grid(g1, g2)
    assert g2.source_net is None
    cg1, cg2 = svitlo.compile_grid(g1), svitlo.compile_grid(g2)
    np.testing.assert_array_equal(cg1.br_b_pu, cg2.br_b_pu)
    r = svitlo.assess(g2, {"strikes": [{"assets": ["line:3", "bus:10"]}]})
    assert abs(r.metrics["shed_mw"] - svitlo.assess(g1, {"strikes": [{"assets": ["line:3", "bus:10"]}]})
               .metrics["shed_mw"]) < 1e-9


def test_file_content_is_the_key(cache_dir, tmp_path):
    from svitlo.io.matpower import matpower_case_path

    src = tmp_path / "grid.m"
    shutil.copy(matpower_case_path("case9"), src)
    g1 = load_grid({"file": str(src)}, cache=True)
    assert load_grid({"file": str(src)}, cache=True).branches.equals(g1.branches)
    assert len(gc.cache_entries()) == 1
    text = src.read_text().replace("0.0576", "0.0600", 1)  # a branch reactance changes: the cache must miss
    src.write_text(text)
    g2 = load_grid({"file": str(src)}, cache=True)
    assert len(gc.cache_entries()) == 2
    assert not g2.branches["x_pu"].equals(g1.branches["x_pu"])


def test_corrupt_entry_rebuilt_and_cache_off(cache_dir, monkeypatch):
    load_grid("case9", cache=True)
    (f,) = gc.cache_entries()
    f.write_bytes(b"not a pickle")
    _same_grid(load_grid("case9", cache=True), load_grid("case9", cache=False))
    assert gc.cache_entries() and gc.cache_entries()[0].stat().st_size > 100
    assert gc.clear_cache() == 1
    monkeypatch.setenv("SVITLO_CACHE", "0")
    load_grid("case9", cache=True)
    assert gc.cache_entries() == []


def test_ac_check_reimports_the_source(cache_dir):
    load_grid("case9", cache=True)
    r = svitlo.assess("case9", {"strikes": [{"assets": ["line:0"]}]}, ac=True)
    assert "ac" in r.info


def test_cache_dir_default_is_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("SVITLO_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    import sys

    if sys.platform.startswith("linux"):
        assert gc.cache_dir() == tmp_path / "svitlo"

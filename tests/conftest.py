"""Shared test helpers: the physics invariants every result must satisfy."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
# the grid cache of this test session lives in a folder of its own, never in the user's cache
os.environ.setdefault("SVITLO_CACHE_DIR", tempfile.mkdtemp(prefix="svitlo-test-cache-"))

from svitlo.engine.invariants import check_impact  # noqa: E402


@pytest.fixture
def check():
    """Assert the physics invariants of an Impact (balance per island, 0 <= shed <= load, dark islands)."""
    return check_impact


@pytest.fixture
def rng():
    return np.random.default_rng(12345)

"""The dashboard's browser test shares the report tests' Chromium fixture (``tests/report``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "report"))

"""The browser tests reuse the hand-built timeline of ``test_report_html``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

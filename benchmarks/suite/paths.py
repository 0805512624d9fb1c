"""Where the suite keeps its engines, environments and results; this run's id."""

from __future__ import annotations

import os
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
ENGINES_DIR = BENCH / "engines"
VENVS = BENCH / ".venvs"
RESULTS = BENCH / "results"
RUN_ID = f"{os.getpid()}"
PREFIX = f"bench_{RUN_ID}_"

"""The device's tests build their synthetic studies with the project's own generator (no real data)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # generate.py, at the project root

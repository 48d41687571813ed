"""Where a user's own qmskit files live (keys, identities, the checkpoint key): never inside a repository.

Its own module, light enough for the CLI's start-up and for the pytest plugin, which seals the test run it
records with the checkpoint key kept here.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["qms_home"]


def qms_home() -> Path:
    """QMS_HOME, else the platform's per-user configuration folder for qms."""
    from platformdirs import user_config_dir

    return Path(os.environ.get("QMS_HOME") or user_config_dir("qms"))

"""What every request reads: the settings, the project, the record store, the open sessions, the templates."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from fastapi import Request

from qms.config import Project, load_project
from qms.store import Store
from qms.web.sessions import SessionStore
from qms.web.settings import WebSettings
from qms.web.tracecache import TraceCache
from qms.web.verdicts import BundleChecks

__all__ = ["AppState", "app_state"]


@dataclass
class AppState:
    settings: WebSettings
    store: Store
    sessions: SessionStore
    templates: jinja2.Environment
    traces: TraceCache
    previews: Path
    """A private folder (mode 0700, made at start) for the document page pictures."""
    bundles: BundleChecks
    recording: threading.Lock = field(default_factory=threading.Lock)
    """Held while a request records evidence and seals it, and while a signature's gate reads the trail: a gate never
    sees a link review between its commit and its seal (which it would name as unwitnessed)."""

    @property
    def project(self) -> Project:
        """Read at each request: a reviewed item file or an edited plan is seen at once."""
        return load_project(self.settings.project_root)


def app_state(request: Request) -> AppState:
    state = request.app.state.qms
    assert isinstance(state, AppState)
    return state

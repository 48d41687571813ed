"""The FastAPI application: its state, its pages, its static files, its error pages and its headers."""

from __future__ import annotations

import tempfile
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from qms import checkpoint_log
from qms.config import load_project
from qms.store import open_store
from qms.web import errors
from qms.web.rendering import environment
from qms.web.routes import dashboard, design, records, releases, signin
from qms.web.security import security_headers
from qms.web.sessions import SessionStore
from qms.web.settings import WebSettings
from qms.web.state import AppState
from qms.web.tracecache import TraceCache
from qms.web.verdicts import BundleChecks

__all__ = ["STATIC", "create_app"]

STATIC = "/static"


def create_app(settings: WebSettings) -> FastAPI:
    """One application over one store; no interactive API docs (every route is a page behind sign-in)."""
    app = FastAPI(title="qmskit", docs_url=None, redoc_url=None, openapi_url=None)
    store = open_store(settings.database_url, create=False)
    # as the CLI's stores are: every signature, refused passphrase and lock is checkpointed into the project's log
    checkpoint_log.attach(store, settings.identity_dir, load_project(settings.project_root).records_dir)
    app.state.qms = AppState(settings, store, SessionStore(store, settings.idle_timeout), environment(), TraceCache(),
                             Path(tempfile.mkdtemp(prefix="qms-serve-previews-")), BundleChecks())
    for module in (signin, dashboard, design, releases, records):
        app.include_router(module.router)
    app.mount(STATIC, StaticFiles(directory=str(files("qms.web") / "static")), name="static")
    app.middleware("http")(security_headers)
    errors.install(app)
    return app

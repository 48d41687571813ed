"""What the web application is started with: the project, the store, the identities, the session policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qms.config import Project, load_project
from qms.errors import ConfigError

__all__ = ["DEFAULT_IDLE_MINUTES", "WebSettings", "idle_timeout"]

DEFAULT_IDLE_MINUTES = 15


def _utc_now() -> datetime:
    return datetime.now(UTC)


def idle_timeout(project: Project) -> timedelta:
    """`[tool.qms.signing] idle_timeout_minutes` (21 CFR 11.10(d)): a session unused this long ends."""
    value = project.config.signing.get("idle_timeout_minutes", DEFAULT_IDLE_MINUTES)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 720:
        raise ConfigError(f"signing.idle_timeout_minutes must be a whole number of minutes from 1 to 720, not {value!r}",
                          where=str(project.source), hint="e.g. idle_timeout_minutes = 15")
    return timedelta(minutes=value)


@dataclass(frozen=True)
class WebSettings:
    """`secure_cookies` is set behind TLS; `clock` is injectable so the idle timeout is tested without waiting."""

    project_root: Path
    database_url: str
    identity_dir: Path
    idle_timeout: timedelta
    secure_cookies: bool = False
    clock: Callable[[], datetime] = field(default=_utc_now, compare=False)

    @classmethod
    def for_project(cls, root: Path, database_url: str, identity_dir: Path, *, secure_cookies: bool = False,
                    clock: Callable[[], datetime] = _utc_now) -> WebSettings:
        project = load_project(root)
        return cls(root, database_url, identity_dir, idle_timeout(project), secure_cookies, clock)

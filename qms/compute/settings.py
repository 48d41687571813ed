"""`[tool.qms.compute]`: which engine runs per-file work, and where.

    [tool.qms.compute]
    engine = "ray"          # "local" (default) or "ray"
    address = "auto"        # Ray only: "auto", "ray://host:port"; absent: a local Ray

`--engine` on a command overrides `engine`; `--workers` sizes the local pool and a local Ray.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from qms.compute.engine import Engine
from qms.compute.local import LocalEngine
from qms.errors import QmsError

__all__ = ["ComputeSettings", "EngineKind", "open_engine"]

_WHERE = "[tool.qms.compute]"


class EngineKind(StrEnum):
    LOCAL = "local"
    RAY = "ray"


@dataclass(frozen=True)
class ComputeSettings:
    """A checked `[tool.qms.compute]` table."""

    engine: EngineKind = EngineKind.LOCAL
    address: str | None = None

    def __post_init__(self) -> None:
        if self.address is not None and self.address != "auto" and not self.address.startswith("ray://"):
            raise QmsError(f"compute address {self.address!r} is neither 'auto' nor 'ray://host:port'",
                           where=f"{_WHERE} address", hint="leave it out for a Ray on this machine")

    @classmethod
    def from_config(cls, table: Mapping[str, Any], engine: str | None = None) -> ComputeSettings:
        """The table as configured, with `engine` (the `--engine` option) over its `engine`."""
        unknown = sorted(set(table) - {"engine", "address"})
        if unknown:
            raise QmsError(f"unknown compute setting {unknown[0]!r}", where=_WHERE, hint="known: engine, address")
        chosen = engine if engine is not None else table.get("engine", EngineKind.LOCAL.value)
        try:
            kind = EngineKind(chosen)
        except ValueError:
            raise QmsError(f"unknown engine {chosen!r}", where=f"{_WHERE} engine" if engine is None else "--engine",
                           hint="local or ray") from None
        address = table.get("address")
        if address is not None and not isinstance(address, str):
            raise QmsError(f"compute address {address!r} is not text", where=f"{_WHERE} address")
        return cls(kind, address)


def open_engine(settings: ComputeSettings, workers: int = 1) -> Engine:
    """The configured engine; Ray is imported only when asked for (the `ray` extra)."""
    if settings.engine is EngineKind.LOCAL:
        return LocalEngine(workers)
    try:
        from qms.compute.ray_engine import RayEngine
    except ImportError as exc:
        raise QmsError("the ray engine needs Ray, which is not installed", where=f"{_WHERE} engine",
                       hint="pip install 'qmskit[ray]', or use engine = \"local\"") from exc
    return RayEngine(settings.address, None if settings.address else workers)

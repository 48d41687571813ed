"""Scoring on Ray Serve: each served model version runs as one Serve application with replicas.

Used when `[tool.qms.compute] engine = "ray"` (the engine, `qms.compute`, joins or starts the
cluster). The gate stays where it is: the catalogue decides which versions are served, at
start and at every reload, and the service checks the stage on every request; `sync` then
deploys exactly the catalogue's versions and deletes the rest, so a demoted or tampered
version stops answering on the replicas too. Each replica loads its version through
`qms.models.registry.load`, which re-hashes every file against the registry on the node it
runs on: a replica never serves files that differ from what was released. Serve's own HTTP
proxy is off; requests still come through the FastAPI service (tokens, limits, records).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qms.api.ingest import DICOM, IngestError, Instance, parse_body
from qms.api.scoring import score
from qms.errors import QmsError
from qms.models.loaders import LoadedModel

__all__ = ["RayServeScorer", "Replica"]


class Replica:
    """One Serve replica of a model version: loaded once, after its files are re-hashed against the registry."""

    def __init__(self, store_url: str, ref: str, root: str, device: str | None) -> None:
        from qms.models import registry
        from qms.store import open_store

        store = open_store(store_url)
        try:
            self._model = registry.load(store, ref, root=Path(root))
        finally:
            store.dispose()
        self._device = device

    def __call__(self, instances: list[bytes]) -> list[dict[str, float]] | dict[str, Any]:
        """The scores of the request's instances (each already parsed once by the service, so it parses), or the
        problem of one that cannot be scored, as data: the service raises it again as the same 4xx."""
        try:
            return score(self._model, [i for data in instances for i in parse_body(DICOM, data)], device=self._device)
        except IngestError as exc:
            return {"message": exc.message, "where": exc.where, "hint": exc.hint, "status": exc.status}

    def digest(self) -> str:
        return self._model.digest


def _app(name: str) -> str:
    return f"qms-api-{name}"


@dataclass
class RayServeScorer:
    """Scores on Ray Serve applications, one per served model name, kept equal to the catalogue by `sync`."""

    store_url: str
    root: Path
    replicas: int = 2
    cpus_per_replica: float = 1.0
    device: str | None = None
    _apps: dict[str, tuple[str, Any]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def lanes(self) -> int:
        """A batch per replica at once."""
        return self.replicas

    def __post_init__(self) -> None:
        from ray import serve
        from ray.serve.config import ProxyLocation

        serve.start(proxy_location=ProxyLocation.Disabled)

    def sync(self, served: Mapping[str, LoadedModel]) -> None:
        """Deploy every served version not yet deployed (or deployed with another digest); delete the others."""
        from ray import serve

        with self._lock:
            for name in sorted(set(self._apps) - set(served)):
                serve.delete(_app(name))
                del self._apps[name]
            for name, model in sorted(served.items()):
                if name in self._apps and self._apps[name][0] == model.digest:
                    continue
                deployment = serve.deployment(name=name, num_replicas=self.replicas,
                                              ray_actor_options={"num_cpus": self.cpus_per_replica})(Replica)
                handle = serve.run(deployment.bind(self.store_url, model.ref, str(self.root), self.device),
                                   name=_app(name), route_prefix=None)
                if handle.digest.remote().result() != model.digest:
                    serve.delete(_app(name))
                    raise QmsError(f"the Ray Serve replicas of {model.ref} loaded other files than the catalogue",
                                   where=f"model:{model.ref}")
                self._apps[name] = (model.digest, handle)

    def __call__(self, model: LoadedModel, instances: Sequence[Instance]) -> list[dict[str, float]]:
        name = model.ref.split("@", 1)[0]
        with self._lock:
            deployed = self._apps.get(name)
        if deployed is None or deployed[0] != model.digest:
            raise QmsError(f"{model.ref} is not deployed on Ray Serve", where=f"model:{model.ref}")
        result: list[dict[str, float]] | dict[str, Any] = deployed[1].remote([i.data for i in instances]).result()
        if isinstance(result, dict):
            raise IngestError(str(result["message"]), where=str(result["where"] or "request body"), hint=result["hint"],
                              status=int(result["status"]))
        return result

    def close(self) -> None:
        """Delete the service's applications (the cluster and other applications stay)."""
        self.sync({})

"""`qms api serve` in a process of its own, over a store released by the benchmark (`bench_api.py`).

The benchmark's release (`tests.api.service.release`) has no project folder for the CLI to read,
so this runs what the CLI runs after reading it: the catalogue's first reload, then
`qms.api.app.run_server`, the CLI's own call into uvicorn (with `workers` > 1: `qms.api.prefork.serve_workers`,
as `qms api serve --workers N`). The parent passes the store, the bundles and the trusted CAs as a JSON spec.

    python benchmarks/api_server.py SPEC.json
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qms.api.app import ApiSettings, run_server  # noqa: E402
from qms.api.catalogue import Catalogue  # noqa: E402
from qms.api.eligibility import ServingPolicy  # noqa: E402
from qms.store import open_store  # noqa: E402
from tests.api.service import ACTOR, Released  # noqa: E402


def spec_of(released: Released, settings: ApiSettings, port: int, workers: int = 1) -> dict[str, Any]:
    return {"url": released.store.url, "root": str(released.root), "port": port, "workers": workers,
            "bundles": {v: str(p) for v, p in released.bundles.items()},
            "anchors": [c.public_bytes(Encoding.PEM).decode() for c in released.policy.anchors],
            "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k != "deid_key"}}


@contextmanager
def server_process(released: Released, settings: ApiSettings, port: int, spec_path: Path,
                   tree: Path | None = None, workers: int = 1) -> Iterator[int]:
    """The service in a child process on 127.0.0.1:`port` (`workers` > 1: that parent and its forked workers); yields
    its pid once it answers, stops it on exit.

    `tree`: another checkout of qmskit (`git worktree add`) whose own `benchmarks/api_server.py` and code serve,
    for a before/after in one run; default this one."""
    spec_path.write_text(json.dumps(spec_of(released, settings, port, workers)))
    script = Path(__file__) if tree is None else tree / "benchmarks" / "api_server.py"
    child = subprocess.Popen([sys.executable, str(script), str(spec_path)])
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=5):
                    break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the service process did not start") from None
                time.sleep(0.1)
        yield child.pid
    finally:
        child.terminate()
        child.wait(timeout=60)


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    bundles = {v: Path(p) for v, p in spec["bundles"].items()}
    anchors = tuple(x509.load_pem_x509_certificate(pem.encode()) for pem in spec["anchors"])
    workers = int(spec.get("workers", 1))
    if workers > 1:
        import torch

        torch.set_num_threads(1)  # as the CLI: no OpenMP team in the parent (`qms.api.prefork`)
    catalogue = Catalogue(open_store(spec["url"]), ServingPolicy(Path(spec["root"]), bundles.__getitem__, anchors), ACTOR)
    catalogue.reload()
    if workers > 1:
        from qms.api.prefork import serve_workers

        serve_workers(catalogue, ApiSettings(**spec["settings"]), host="127.0.0.1", port=spec["port"], workers=workers)
        return
    run_server(catalogue, ApiSettings(**spec["settings"]), None, host="127.0.0.1", port=spec["port"])


if __name__ == "__main__":
    main()

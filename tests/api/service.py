"""A released, promoted tiny model and a real inference server on loopback, for the API tests (synthetic only)."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import serialization
from pydicom.dataset import Dataset

from qms.api.app import ApiSettings, create_app
from qms.api.catalogue import Catalogue
from qms.api.eligibility import ServingPolicy
from qms.api.scoring import Scorer
from qms.checkpoint_carried import BUNDLE_SUFFIX
from qms.hashing import sha256_file, sha256_hex
from qms.models import registry
from qms.models.fileset import FileSet
from qms.models.stages import ReleaseEvidence, Stage, change_stage, promote_to_production
from qms.release.bundle import manifest_payload
from qms.release_steps import ReleaseStep, Step
from qms.signing.trust import TRUST_DIR
from qms.store import Store, open_store
from tests.models.helpers import dicom, torch_folder
from tests.release.conftest import build

NAME = "tiny"
ACTOR = "test.releaser"


def _record_release(store: Store, version: str, ref: str, bundle: Path) -> str:
    """The approved and bundled release steps the promotion points at (as `qms release` records them)."""
    common = {"version": version, "actor": ACTOR, "commit": "d" * 40, "model": ref, "plan_digest": "0" * 64,
              "verdict_digest": "0" * 64, "documents": "{}", "soup": "{}"}
    approved = ReleaseStep(step=Step.APPROVED.value, **common)
    with store.transaction() as session:
        session.add(approved)
        session.add(ReleaseStep(step=Step.BUNDLED.value, bundle_sha256=sha256_file(bundle), **common))
    return approved.id


@dataclass
class Released:
    """A store with `tiny@<version>` registered and staged, and a signed bundle naming each version.

    Each bundle comes from its own synthetic organisation (`tests.release.conftest.build`): the
    service trusts all their CAs, as a verifier configured with several anchors would.
    """

    root: Path
    store: Store
    policy: ServingPolicy
    bundles: dict[str, Path]
    manifests: dict[str, str]

    def promote(self, version: str) -> None:
        """Record the version's release and promote it on that evidence, as `qms release` does."""
        ref = f"{NAME}@{version}"
        release_id = _record_release(self.store, version, ref, self.bundles[version])
        evidence = ReleaseEvidence(release_id, ref, registry.get(self.store, ref).digest, self.manifests[version], True)
        promote_to_production(self.store, ref, evidence, actor=ACTOR, root=self.root)

    def folder(self, version: str) -> Path:
        return self.root / "models" / version


def release(tmp: Path, versions: tuple[str, ...] = ("1.0.0",), promote: tuple[str, ...] = ("1.0.0",),
            signed_versions: tuple[str, ...] | None = None, model_folder: Callable[..., Path] = torch_folder,
            url: str | None = None) -> Released:
    """Register and stage each version (a model folder `model_folder(folder, seed=i)`, seeded differently), sign a bundle
    for each of `signed_versions` (default: all), and promote those in `promote`; in the store at `url` (default: a
    SQLite file in `tmp`)."""
    root = tmp / "project"
    store = open_store(url or f"sqlite:///{tmp / 'qms.db'}")
    bundles: dict[str, Path] = {}
    manifests: dict[str, str] = {}
    anchors: tuple[Any, ...] = ()
    digests = {v: FileSet.of_folder(model_folder(root / "models" / v, seed=i)).digest for i, v in enumerate(versions)}
    for version in signed_versions if signed_versions is not None else versions:
        signed = build(tmp / f"org-{version}", model={f"{NAME}@{version}": digests[version]})
        anchors += signed.anchors
        bundles[version] = root / f"{version}-bundle.zip"
        shutil.copy(signed.path, bundles[version])
        manifests[version] = sha256_hex(manifest_payload(signed.envelope))
    for version in versions:
        registry.register(store, root / "models" / version, name=NAME, version=version, actor=ACTOR, root=root)
        change_stage(store, f"{NAME}@{version}", Stage.STAGING, actor=ACTOR, reason="to release")
    released = Released(root, store, ServingPolicy(root, bundles.__getitem__, anchors), bundles, manifests)
    for version in promote:
        released.promote(version)
    return released


def dicom_bytes(ds: Dataset | None = None) -> bytes:
    buffer = io.BytesIO()
    (ds if ds is not None else dicom()).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def multipart(parts: list[bytes], boundary: str = "qms-test-boundary") -> tuple[str, bytes]:
    """A DICOMweb STOW-RS body (PS3.18 §10.5) of the given instances."""
    body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n"
                    for p in parts) + b"--" + boundary.encode() + b"--\r\n"
    return f'multipart/related; type="application/dicom"; boundary={boundary}', body


@dataclass
class Server:
    base: str
    catalogue: Catalogue
    uvicorn: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Stop as SIGTERM does: no new connection, the requests in flight finished, then the lifespan's shutdown."""
        self.uvicorn.should_exit = True
        self.thread.join(timeout=60)

    def call(self, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
             content_type: str = "application/dicom") -> tuple[int, dict[str, Any]]:
        """(status, JSON body) of one request; an error status is returned, not raised."""
        headers = {"Content-Type": content_type} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def infer(self, token: str, body: bytes, content_type: str = "application/dicom",
              model: str = NAME) -> tuple[int, dict[str, Any]]:
        return self.call("POST", f"/v1/models/{model}/infer", token=token, body=body, content_type=content_type)


@contextmanager
def serving(released: Released, settings: ApiSettings = ApiSettings(), scorer: Scorer | None = None) -> Iterator[Server]:
    """uvicorn in a thread on 127.0.0.1, on a port the OS picks, models on `scorer` (default: in process);
    stopped on exit."""
    catalogue = Catalogue(released.store, released.policy, ACTOR)
    catalogue.reload()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(catalogue, settings, scorer), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # Ray Serve deploys its replicas before the server starts
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{sock.getsockname()[1]}", catalogue, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a GET, or of a DICOM POST with `body`; an error status is returned, not raised."""
    headers = {"Content-Type": "application/dicom", "Authorization": f"Bearer {token}"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def cli_project(released: Released, home: Path, compute: str = "") -> dict[str, str]:
    """Make the release's root a project `qms api serve` serves from (its qms.toml, `compute` appended; the bundle of
    1.0.0 where `qms release` puts it; the bundles' CAs trusted in `home`); the environment to run the CLI in."""
    from tests.validation.runs import QMS_TOML

    root = released.root
    (root / "qms.toml").write_text(QMS_TOML + compute)
    (root / ".qms" / "releases").mkdir(parents=True, exist_ok=True)
    shutil.copy(released.bundles["1.0.0"], root / ".qms" / "releases" / f"1.0.0{BUNDLE_SUFFIX}")
    (home / TRUST_DIR).mkdir(parents=True, exist_ok=True)
    for i, anchor in enumerate(released.policy.anchors):
        (home / TRUST_DIR / f"anchor-{i}.pem").write_bytes(anchor.public_bytes(serialization.Encoding.PEM))
    repo = Path(__file__).resolve().parents[2]  # the test model's class is `tests.models.helpers:TinyNet`
    return {**os.environ, "QMS_HOME": str(home), "QMS_DATABASE_URL": released.store.url,
            "PYTHONPATH": os.pathsep.join(filter(None, (str(repo), os.environ.get("PYTHONPATH"))))}


@contextmanager
def cli_serving(released: Released, env: dict[str, str], *args: str, port: int | None = None,
                ) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`qms -C ROOT api serve --port PORT ARGS` in a process of its own; yields it and its base URL once /v1/health
    answers; SIGTERM on exit if it still runs (killed after 60 s)."""
    port = port or free_port()
    qms = Path(sys.executable).with_name("qms")
    server = subprocess.Popen([str(qms), "-C", str(released.root), "api", "serve", "--port", str(port), *args],
                              cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read() if server.stdout else ""
            try:
                if call(f"http://127.0.0.1:{port}/v1/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield server, f"http://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

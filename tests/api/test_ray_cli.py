"""`qms api serve` with the Ray engine configured starts through the CLI, answers from a Ray Serve replica, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlmodel import select

from qms.api.records import InferenceRecord
from qms.api.tokens import create_client
from qms.checkpoint_carried import BUNDLE_SUFFIX
from qms.signing.trust import TRUST_DIR
from tests.api.service import NAME, dicom_bytes, release
from tests.validation.runs import QMS_TOML

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.usefixtures("local_ray")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/dicom", "Authorization": f"Bearer {token}"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_api_serve_on_ray_through_the_cli(tmp_path: Path) -> None:
    """With `[compute] engine = "ray"` joining the running cluster, `qms api serve --replicas 1` deploys the released
    version on Ray Serve, answers and records one request, and on SIGTERM exits 0 with its Serve application deleted."""
    import ray
    from ray import serve

    released = release(tmp_path)
    root, home = released.root, tmp_path / "home"
    (root / "qms.toml").write_text(QMS_TOML + '\n[compute]\nengine = "ray"\naddress = "auto"\n')
    (root / ".qms" / "releases").mkdir(parents=True)
    shutil.copy(released.bundles["1.0.0"], root / ".qms" / "releases" / f"1.0.0{BUNDLE_SUFFIX}")
    (home / TRUST_DIR).mkdir(parents=True)
    for i, anchor in enumerate(released.policy.anchors):
        (home / TRUST_DIR / f"anchor-{i}.pem").write_bytes(anchor.public_bytes(serialization.Encoding.PEM))
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    port = _free_port()
    repo = Path(__file__).resolve().parents[2]  # the test model's class is `tests.models.helpers:TinyNet`
    env = {**os.environ, "QMS_HOME": str(home), "QMS_DATABASE_URL": released.store.url,
           "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
           "PYTHONPATH": os.pathsep.join(filter(None, (str(repo), os.environ.get("PYTHONPATH"))))}
    qms = Path(sys.executable).with_name("qms")
    server = subprocess.Popen([str(qms), "-C", str(root), "api", "serve", "--port", str(port), "--replicas", "1"],
                              cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read() if server.stdout else ""
            try:
                if _call(f"http://127.0.0.1:{port}/v1/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        status, answer = _call(f"http://127.0.0.1:{port}/v1/models/{NAME}/infer", dicom_bytes(), token)
        assert status == 200 and answer["model"] == f"{NAME}@1.0.0", answer
        assert f"qms-api-{NAME}" in serve.status().applications
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, output
    assert "models run on Ray Serve, 1 replica(s) each" in output
    assert f"qms-api-{NAME}" not in serve.status().applications
    with released.store.reader() as session:
        assert session.exec(select(InferenceRecord.request_id)).all() == [answer["request_id"]]

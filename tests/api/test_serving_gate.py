"""Only production versions with a verifying release bundle and unchanged files are served, at start and on reload."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlmodel import select

from qms.api.app import ApiSettings
from qms.api.eligibility import check_version
from qms.api.tokens import create_client
from qms.models.stages import Stage, change_stage
from qms.store.records import AuditEvent
from tests.api.service import NAME, Released, Server, dicom_bytes, release, serving


def _events(released: Released, action: str) -> list[tuple[str, dict[str, object]]]:
    with released.store.reader() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
    return [(r.object, json.loads(r.details)) for r in rows]


def _wait_for(server: Server, token: str, ref: str | None) -> None:
    """Poll the model list until `ref` is the served version of NAME (None: nothing served); fail after 20 s."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        served = [m["model"] for m in server.call("GET", "/v1/models", token=token)[1]["served"]]
        if served == ([ref] if ref else []):
            return
        time.sleep(0.1)
    raise AssertionError(f"the service did not come to serve {ref}: it serves {served}")


def test_a_staged_version_is_not_served(tmp_path: Path) -> None:
    """A version in staging is refused with its stage as the reason, and a request for it gets 404."""
    released = release(tmp_path, promote=(), signed_versions=())
    assert check_version(released.store, f"{NAME}@1.0.0", released.policy).reason == \
        f"{NAME}@1.0.0 is in stage staging, not production"
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    with serving(released) as server:
        assert server.call("GET", "/v1/models", token=token)[1]["served"] == []
        status, problem = server.infer(token, dicom_bytes())
    assert status == 404 and problem["error"] == f"no model {NAME} is served"


def test_a_tampered_version_is_refused_at_start(tmp_path: Path) -> None:
    """Changed weights of a production version: refused at start naming the file, audited, requests get 503."""
    released = release(tmp_path)
    weights = released.folder("1.0.0") / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    with serving(released) as server:
        status, problem = server.infer(token, dicom_bytes())
    assert status == 503 and "differs from the registered" in str(problem["error"])
    assert "model.safetensors" in str(problem["error"])
    assert [o for o, _ in _events(released, "api.model.refuse")] == [f"model:{NAME}@1.0.0"]


def test_a_tampered_bundle_stops_serving(tmp_path: Path) -> None:
    """A release bundle that is no longer the file the release recorded makes its version unservable."""
    released = release(tmp_path)
    released.bundles["1.0.0"].write_bytes(released.bundles["1.0.0"].read_bytes() + b"\0")
    outcome = check_version(released.store, f"{NAME}@1.0.0", released.policy)
    assert not outcome.served and "not the file the release recorded" in outcome.reason


def test_hot_promotion_and_demotion(tmp_path: Path) -> None:
    """A promoted version is served after the next reload; a demoted one is refused at its next request, and
    the previous production version is served again; each load and refusal is an audit event."""
    released = release(tmp_path, versions=("1.0.0", "1.1.0"), promote=("1.0.0",))
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    with serving(released, ApiSettings(reload_seconds=0.2)) as server:
        assert server.infer(token, dicom_bytes())[1]["model"] == f"{NAME}@1.0.0"
        released.promote("1.1.0")
        _wait_for(server, token, f"{NAME}@1.1.0")
        assert server.infer(token, dicom_bytes())[1]["model"] == f"{NAME}@1.1.0"
        change_stage(released.store, f"{NAME}@1.1.0", Stage.STAGING, actor="qa", reason="field complaint")
        status, problem = server.infer(token, dicom_bytes())
        assert status in (503, 200) and problem.get("model") != f"{NAME}@1.1.0"
        _wait_for(server, token, f"{NAME}@1.0.0")
        assert server.infer(token, dicom_bytes())[1]["model"] == f"{NAME}@1.0.0"
    loads = [o for o, _ in _events(released, "api.model.load")]
    assert loads == [f"model:{NAME}@1.0.0", f"model:{NAME}@1.1.0", f"model:{NAME}@1.0.0"]
    refusals = _events(released, "api.model.refuse")
    assert any(o == f"model:{NAME}@1.1.0" and ("no longer in production" in str(d["reason"])
                                               or "in stage staging" in str(d["reason"])) for o, d in refusals)

"""`qms api serve` with the Ray engine configured starts through the CLI, answers from a Ray Serve replica, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlmodel import select

from qms.api.records import InferenceRecord
from qms.api.tokens import create_client
from tests.api.service import NAME, call, cli_project, cli_serving, dicom_bytes, release

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.usefixtures("local_ray")]


def test_api_serve_on_ray_through_the_cli(tmp_path: Path) -> None:
    """With `[compute] engine = "ray"` joining the running cluster, `qms api serve --replicas 1` deploys the released
    version on Ray Serve, answers and records one request, and on SIGTERM exits 0 with its Serve application deleted."""
    import ray
    from ray import serve

    released = release(tmp_path)
    env = cli_project(released, tmp_path / "home", '\n[compute]\nengine = "ray"\naddress = "auto"\n')
    env["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    with cli_serving(released, env, "--replicas", "1") as (server, base):
        status, answer = call(f"{base}/v1/models/{NAME}/infer", dicom_bytes(), token)
        assert status == 200 and answer["model"] == f"{NAME}@1.0.0", answer
        assert f"qms-api-{NAME}" in serve.status().applications
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "models run on Ray Serve, 1 replica(s) each" in output
    assert f"qms-api-{NAME}" not in serve.status().applications
    with released.store.reader() as session:
        assert session.exec(select(InferenceRecord.request_id)).all() == [answer["request_id"]]

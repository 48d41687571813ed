"""With the Ray engine the service runs its models on Ray Serve replicas, behind the same gate and the same records."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from qms.api.app import ApiSettings
from qms.api.ray_serving import RayServeScorer
from qms.api.records import InferenceRecord
from qms.api.tokens import create_client
from qms.models import registry
from qms.models.inference import predict
from qms.models.stages import Stage, change_stage
from tests.api.service import NAME, dicom_bytes, release, serving
from tests.models.helpers import dicom

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.usefixtures("local_ray")]


def _replicas(name: str) -> int:
    from ray import serve

    app = serve.status().applications.get(f"qms-api-{name}")
    if app is None:
        return 0
    return sum(d.replica_states.get("RUNNING", 0) for d in app.deployments.values())


def test_requests_are_scored_on_replicas_and_recorded(tmp_path: Path) -> None:
    """Two replicas answer concurrent requests with the scores in-process inference gives, each recorded once; an
    image the card cannot take is the same 422 as in process; a demoted version is refused at its next request and
    its replicas are removed."""
    released = release(tmp_path)
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    body = dicom_bytes()
    (tmp_path / "x.dcm").write_bytes(body)
    expected = predict(registry.load(released.store, f"{NAME}@1.0.0", root=released.root), [tmp_path / "x.dcm"])
    scorer = RayServeScorer(released.store.url, released.root, replicas=2, cpus_per_replica=0.5)
    with serving(released, ApiSettings(concurrency=4), scorer) as server:
        assert _replicas(NAME) == 2
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: server.infer(token, body), range(8)))
        assert [status for status, _ in answers] == [200] * 8
        for _, answer in answers:
            got = [answer["instances"][0][label] for label in answer["labels"]]
            np.testing.assert_allclose(got, expected.probabilities[0], rtol=0, atol=1e-6)
        ds = dicom()
        ds.Modality = "MR"
        status, problem = server.infer(token, dicom_bytes(ds))
        assert status == 422 and "Modality 'MR'" in problem["error"] and problem["where"] == "part 1 (0008,0060)"
        change_stage(released.store, f"{NAME}@1.0.0", Stage.STAGING, actor="qa", reason="field complaint")
        status, problem = server.infer(token, body)
        assert status == 503 and "no longer in production" in problem["error"]
        assert _replicas(NAME) == 0
    with released.store.reader() as session:
        recorded = session.exec(select(InferenceRecord.request_id)).all()
    assert sorted(recorded) == sorted(a["request_id"] for _, a in answers)


def test_a_tampered_copy_is_never_deployed(tmp_path: Path) -> None:
    """Weights changed after release: the catalogue refuses the version, so no replica is ever started for it."""
    released = release(tmp_path)
    weights = released.folder("1.0.0") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + bytes([weights.read_bytes()[-1] ^ 1]))
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    scorer = RayServeScorer(released.store.url, released.root, replicas=1, cpus_per_replica=0.5)
    with serving(released, ApiSettings(), scorer) as server:
        status, problem = server.infer(token, dicom_bytes())
        assert status == 503 and "model.safetensors" in problem["error"]
        assert _replicas(NAME) == 0

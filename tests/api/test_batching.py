"""Dynamic batching: concurrent requests for a model are scored as one batch, each gets exactly its own scores, and an
instance the model cannot take fails its own request only."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import numpy as np
import pytest
from sqlmodel import select

from qms.api.app import ApiSettings
from qms.api.batching import Admitted, Batcher, Scores
from qms.api.ingest import DICOM, IngestError, Instance, parse_body
from qms.api.recording import Row
from qms.api.records import InferenceRecord
from qms.api.scoring import score
from qms.api.tokens import create_client
from qms.models import registry
from qms.models.loaders import LoadedModel
from tests.api.service import NAME, Released, dicom_bytes, serving
from tests.models.helpers import dicom

REPEATABILITY = 1e-6
"""The example protocol's repeatability limit (examples/cxr-triage/protocols/VAL-PERF-001.yaml)."""


def _image(seed: int, *, modality: str = "DX") -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 4096, (40, 30)).astype(np.uint16)
    return dicom_bytes(dicom(pixels, modality=modality))


def _instances(seed: int, count: int = 1) -> list[Instance]:
    return [parse_body(DICOM, _image(seed * 10 + i))[0] for i in range(count)]


def _together(batcher: Batcher, model: LoadedModel, requests: list[list[Instance]]) -> list[object]:
    """Every request admitted before any arrives, then all sent at once: the answer (scores or error) of each."""
    with ExitStack() as stack:
        admitted: list[Admitted] = [stack.enter_context(batcher.admit(model)) for _ in requests]

        def one(i: int) -> object:
            try:
                return admitted[i].score(requests[i])
            except IngestError as exc:
                return exc

        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(one, range(len(requests))))


def _model(released: Released) -> LoadedModel:
    return registry.load(released.store, f"{NAME}@1.0.0", root=released.root)


def test_requests_admitted_together_are_one_batch_with_the_scores_of_each_alone(released: Released) -> None:
    """Four requests (one a 2-image study) admitted together are scored in one call of the model, and each gets the
    scores its own images get when scored alone, within the protocol's repeatability limit."""
    model = _model(released)
    calls: list[int] = []

    def counted(m: LoadedModel, instances: Sequence[Instance]) -> list[dict[str, float]]:
        calls.append(len(instances))
        return score(m, instances)

    requests = [_instances(0), _instances(1, 2), _instances(2), _instances(3)]
    answers = _together(Batcher(counted, max_images=32, max_wait=60.0), model, requests)
    assert calls == [5]
    for request, answer in zip(requests, answers, strict=True):
        alone = score(model, request)
        assert isinstance(answer, list) and len(answer) == len(alone)
        for got, expected in zip(answer, alone, strict=True):
            np.testing.assert_allclose([got[k] for k in model.labels], [expected[k] for k in model.labels],
                                       rtol=0, atol=REPEATABILITY)


def test_a_batch_holds_at_most_max_images(released: Released) -> None:
    """With at most 2 images a batch, four 1-image requests admitted together take two calls of 2 images."""
    calls: list[int] = []

    def counted(m: LoadedModel, instances: Sequence[Instance]) -> list[dict[str, float]]:
        calls.append(len(instances))
        return [{"x": 0.0} for _ in instances]

    answers = _together(Batcher(counted, max_images=2, max_wait=60.0), _model(released), [_instances(i) for i in range(4)])
    assert calls == [2, 2]
    assert all(a == [{"x": 0.0}] for a in answers)


def test_an_instance_the_card_refuses_fails_only_its_request(released: Released) -> None:
    """In a batch where one request carries an MR image (the card takes DX), that request gets the 422 naming its
    part and tag, and the other three get their scores."""
    model = _model(released)
    bad = [parse_body(DICOM, _image(9, modality="MR"))[0]]
    requests = [_instances(0), bad, _instances(1), _instances(2)]
    answers = _together(Batcher(score, max_images=32, max_wait=60.0), model, requests)
    assert isinstance(answers[1], IngestError) and answers[1].status == 422
    assert answers[1].where == "part 1 (0008,0060)"
    for i in (0, 2, 3):
        assert answers[i] == score(model, requests[i])


def test_a_request_that_leaves_before_arriving_is_not_waited_for(released: Released) -> None:
    """A request admitted and then refused before it sends its instances (a malformed body) stops counting as on its
    way: the one still admitted, now alone, is scored at once instead of waiting out its hour."""
    model = _model(released)
    batcher = Batcher(score, max_images=32, max_wait=3600.0)
    done = threading.Event()

    def two() -> None:
        with batcher.admit(model) as staying:
            with pytest.raises(IngestError), batcher.admit(model):
                parse_body(DICOM, b"not DICOM")
            staying.score(_instances(0))
        done.set()

    threading.Thread(target=two, daemon=True).start()
    assert done.wait(timeout=120)


def test_concurrent_clients_each_get_their_own_scores_and_records(released: Released) -> None:
    """Eight clients each sending its own image at once, through four slots (so batched): each answer carries the
    scores its image gets alone, and each is recorded once with that output."""
    token = create_client(released.store, "batch-site", [NAME], actor="admin")
    model = _model(released)
    bodies = [_image(100 + i) for i in range(8)]
    settings = ApiSettings(concurrency=4, rate=1e6, burst=10**6)
    with serving(released, settings) as server, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: server.infer(token, b), bodies * 3))
    assert [status for status, _ in answers] == [200] * 24
    with released.store.reader() as session:
        outputs = {r.request_id: r.output for r in session.exec(select(InferenceRecord)).all()}
    for body, (_, answer) in zip(bodies * 3, answers, strict=True):
        alone = score(model, parse_body(DICOM, body))[0]
        np.testing.assert_allclose([answer["instances"][0][k] for k in model.labels], [alone[k] for k in model.labels],
                                   rtol=0, atol=REPEATABILITY)
        assert json.loads(outputs[str(answer["request_id"])]) == answer["instances"]


def test_requests_refused_at_the_door_are_not_waited_for(released: Released) -> None:
    """The service counts a request as on its way to the model's batch from the moment it is routed, before its body
    is read; one then refused there (its body over the limit: 413; not DICOM: 400) stops counting, so the next
    request, alone, is answered at once instead of waiting out the batch wait of an hour."""
    token = create_client(released.store, "door-site", [NAME], actor="admin")
    image = _image(7)
    settings = ApiSettings(max_bytes=len(image), batch_wait=3600.0, rate=1e6, burst=10**6)
    with serving(released, settings) as server:
        assert server.infer(token, image + b"\0")[0] == 413
        assert server.infer(token, b"not DICOM")[0] == 400
        status, answer = server.infer(token, image)  # the client gives up after 60 s: a leaked wait fails here
    assert status == 200 and answer["instances"] == score(_model(released), parse_body(DICOM, image))


def _sealed_together(batcher: Batcher, model: LoadedModel, requests: list[list[Instance]],
                     seal: Callable[[int, Scores], Row], answered: list[int]) -> list[object]:
    """`_together` with a seal per request; each request's index goes into `answered` the moment its call returns."""
    with ExitStack() as stack:
        admitted: list[Admitted] = [stack.enter_context(batcher.admit(model)) for _ in requests]

        def one(i: int) -> object:
            try:
                return admitted[i].score(requests[i], functools.partial(seal, i))
            except Exception as exc:  # noqa: BLE001 - the request's own outcome, checked by the test
                return exc
            finally:
                answered.append(i)

        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(one, range(len(requests))))


def _stub(m: LoadedModel, instances: Sequence[Instance]) -> Scores:
    return [{"x": float(len(instances))} for _ in instances]


def test_a_batchs_records_are_committed_at_once_before_any_request_is_answered(released: Released) -> None:
    """Four requests batched together: the leader builds the four records from their own scores and records them in one
    call, and no request gets its scores back before that call has returned."""
    answered: list[int] = []
    commits: list[tuple[list[Row], list[int]]] = []

    def record(rows: Sequence[Row]) -> None:
        time.sleep(0.2)  # a request woken before the commit would have returned by now
        commits.append((list(rows), list(answered)))

    batcher = Batcher(_stub, max_images=32, max_wait=60.0, record=record)
    answers = _sealed_together(batcher, _model(released), [_instances(i) for i in range(4)],
                               lambda i, scores: {"request": i, "scores": scores}, answered)
    assert answers == [[{"x": 4.0}]] * 4
    assert len(commits) == 1
    rows, answered_before = commits[0]
    assert sorted(r["request"] for r in rows) == [0, 1, 2, 3] and all(r["scores"] == [{"x": 4.0}] for r in rows)
    assert answered_before == []


def test_a_failed_seal_fails_its_request_and_a_failed_commit_every_request_it_carried(released: Released) -> None:
    """A seal that raises fails its own request (the others are recorded and answered); a commit that raises fails every
    request whose record it carried: none of them gets scores without a durable record."""
    model = _model(released)
    recorded: list[Row] = []

    def seal(i: int, scores: Scores) -> Row:
        if i == 1:
            raise ValueError("no record for request 1")
        return {"request": i}

    answers = _sealed_together(Batcher(_stub, max_images=32, max_wait=60.0, record=recorded.extend), model,
                               [_instances(i) for i in range(3)], seal, [])
    assert isinstance(answers[1], ValueError) and answers[0] == answers[2] == [{"x": 3.0}]
    assert sorted(r["request"] for r in recorded) == [0, 2]

    def broken(rows: Sequence[Row]) -> None:
        raise OSError("disk full")

    answers = _sealed_together(Batcher(_stub, max_images=32, max_wait=60.0, record=broken), model,
                               [_instances(i) for i in range(3)], lambda i, scores: {"request": i}, [])
    assert all(isinstance(a, OSError) for a in answers)
    with pytest.raises(TypeError, match="record"), Batcher(_stub, max_images=1, max_wait=0.0).admit(model) as admitted:
        admitted.score(_instances(0), lambda scores: {})

"""`qms api serve --workers 2`: two forked processes answer on one port as one service (every answer recorded, one rate
limit, demotion seen by each), stop together on SIGTERM, and fail naming a worker that died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import func, select

from qms.api.records import InferenceRecord
from qms.api.tokens import create_client
from qms.models.stages import Stage, change_stage
from qms.store.records import AuditEvent
from tests.api.service import NAME, Released, call, cli_project, cli_serving, dicom_bytes, release


def _workers(server: subprocess.Popen[str]) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]


@contextmanager
def _only(worker: int, workers: list[int]) -> Iterator[None]:
    """Every other worker stopped (SIGSTOP): only `worker` can accept a connection inside the block."""
    others = [pid for pid in workers if pid != worker]
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


def _records(released: Released) -> int:
    with released.store.reader() as session:
        return int(session.exec(select(func.count()).select_from(InferenceRecord)).one())


def _infer(base: str, token: str) -> int:
    return call(f"{base}/v1/models/{NAME}/infer", dicom_bytes(), token)[0]


def test_two_workers_answer_concurrent_clients_and_record_every_answer(tmp_path: Path, store_url: str) -> None:
    """With --workers 2 the service runs two worker processes; 4 concurrent clients are all answered, each answer has
    its inference record (SQLite and PostgreSQL, two writer processes), and each worker answers on its own while the
    other is stopped."""
    released = release(tmp_path, url=store_url)
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    with cli_serving(released, cli_project(released, tmp_path / "home"), "--workers", "2") as (server, base):
        workers = _workers(server)
        assert len(workers) == 2
        statuses: list[int] = []

        def client() -> None:
            statuses.extend(_infer(base, token) for _ in range(6))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        for worker in workers:
            with _only(worker, workers):
                statuses.append(_infer(base, token))
    assert statuses == [200] * 26
    assert _records(released) == 26


def test_the_rate_limit_is_one_across_workers(tmp_path: Path) -> None:
    """At 0.01 requests per second (a burst of 1, a token back in 100 s: no slow machine refills it mid-test), a
    client answered by one worker is refused 429 by the other, while another client is answered by both."""
    released = release(tmp_path)
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    other = create_client(released.store, "other", [NAME], actor="admin")
    env = cli_project(released, tmp_path / "home")
    with cli_serving(released, env, "--workers", "2", "--rate", "0.01") as (server, base):
        first, second = _workers(server)
        with _only(first, [first, second]):
            answered = [_infer(base, token), _infer(base, other)]
        with _only(second, [first, second]):
            answered += [_infer(base, token), _infer(base, token)]
        with _only(first, [first, second]):
            answered.append(_infer(base, token))
    assert answered == [200, 200, 429, 429, 429]


def test_a_demotion_is_refused_by_every_worker(tmp_path: Path) -> None:
    """A version demoted while served by two workers is refused 503 by each at its next request, with no reload."""
    released = release(tmp_path)
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    env = cli_project(released, tmp_path / "home")
    with cli_serving(released, env, "--workers", "2", "--reload-seconds", "600") as (server, base):
        workers = _workers(server)
        before, after = [], []
        for worker in workers:
            with _only(worker, workers):
                before.append(_infer(base, token))
        change_stage(released.store, f"{NAME}@1.0.0", Stage.STAGING, actor="qa", reason="field complaint")
        for worker in workers:
            with _only(worker, workers):
                status, problem = call(f"{base}/v1/models/{NAME}/infer", dicom_bytes(), token)
                after.append((status, "no longer in production" in str(problem.get("error"))))
    assert before == [200, 200] and after == [(503, True), (503, True)]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_every_worker_with_every_answer_recorded(tmp_path: Path, stop: signal.Signals) -> None:
    """SIGTERM (or SIGINT) to the service while 3 clients send requests: it exits 0, its workers are gone, and every
    request answered 200 has its inference record."""
    released = release(tmp_path)
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    with cli_serving(released, cli_project(released, tmp_path / "home"), "--workers", "2") as (server, base):
        workers = _workers(server)
        answered: list[int] = []

        def client() -> None:
            try:
                while True:
                    answered.append(_infer(base, token))
            except OSError:  # refused or reset once the workers stopped accepting
                pass

        threads = [threading.Thread(target=client) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        server.send_signal(stop)
        output, _ = server.communicate(timeout=60)
        for thread in threads:
            thread.join(timeout=60)
    assert server.returncode == 0, output
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert answered.count(200) > 0 and _records(released) == answered.count(200)


def test_a_killed_worker_stops_the_service_naming_it(tmp_path: Path) -> None:
    """A worker killed with SIGKILL makes the service stop its other worker and exit 1 naming the worker, its pid and
    the signal."""
    released = release(tmp_path)
    with cli_serving(released, cli_project(released, tmp_path / "home"), "--workers", "2") as (server, _):
        first, second = _workers(server)
        os.kill(second, signal.SIGKILL)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 1, output
    assert f"worker 2 (pid {second}) was killed by SIGKILL while serving" in output
    assert not Path(f"/proc/{first}").exists()


def test_workers_are_refused_on_the_ray_engine(tmp_path: Path) -> None:
    """With `[compute] engine = "ray"`, `qms api serve --workers 2` exits 2 naming --workers and --replicas, before
    any model is loaded."""
    released = release(tmp_path)
    env = cli_project(released, tmp_path / "home", '\n[compute]\nengine = "ray"\n')
    qms = Path(sys.executable).with_name("qms")
    result = subprocess.run([str(qms), "-C", str(released.root), "api", "serve", "--workers", "2"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--workers" in result.stderr and "--replicas" in result.stderr
    with released.store.reader() as session:
        assert not session.exec(select(AuditEvent).where(AuditEvent.action == "api.model.load")).all()

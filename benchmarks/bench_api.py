"""Inference service overhead: requests per second and p95 latency over HTTP on loopback, against in-process scoring.

Model (`--model example`, the default): the example project's model as `examples/cxr-triage`
trains it: a transformers ViT with the architecture of its `model/train.yaml` and the input
of its card template (64x64), seeded random weights (inference costs the same trained or not),
and one 128x128 12-bit DICOM (the example's image size) per request. `--model tiny`: the tiny
torch test model (`tests.models.helpers.TinyNet`, 16x16) and a 40x30 image. Either is released
and promoted with a signed bundle exactly as the API tests do.
Baseline, in the same run: in-process inference of the same model with the same preprocessing
from the same DICOM bytes: `pydicom.dcmread` of the body, the card's preprocessing
(`qms.models.preprocess.dataset_tensor`) and the forward pass (`qms.models.inference.batch_probabilities`),
one at a time and from `--clients` threads. Service: the same body POSTed to `qms api` (uvicorn in a
thread on 127.0.0.1; each client keeps its HTTP/1.1 connection open, as a real client does), by one
client, then by `--clients` clients at once (bounded load). The service also authenticates,
rate-limits, checks the stage, parses and checks the DICOM, and appends the inference record,
durably (SQLite WAL, synchronous=FULL: one fsync per commit, shared by concurrent requests)
before it answers. To show what that fsync costs, the same service also runs on a second store
object over the same database with `PRAGMA synchronous=OFF` set by this benchmark alone
("no fsync": never the service's setting). The paths run in `--rounds` alternating rounds, so
that a shared machine's changing load falls on baseline and service alike; the ratio is given
per round.

Beside them, the service's fixed costs measured alone: an HTTP round trip to `/v1/health`
(uvicorn, FastAPI, keep-alive; no auth, no model), one durable commit of an inference record,
and one fsync'd 1 KiB append to a plain file (what a dedicated inference journal would pay).

    python benchmarks/bench_api.py [--requests 200] [--clients 4] [--rounds 5] [--model example|tiny]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import http.client
import io
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pydicom
import torch
import yaml
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qms.api.app import ApiSettings  # noqa: E402
from qms.api.ingest import DICOM  # noqa: E402
from qms.api.tokens import create_client  # noqa: E402
from qms.api.records import InferenceRecord  # noqa: E402
from qms.models.inference import batch_probabilities  # noqa: E402
from qms.models.loaders import LoadedModel  # noqa: E402
from qms.models.preprocess import dataset_tensor  # noqa: E402
from qms.store import Store, open_store  # noqa: E402
from tests.api.service import NAME, Server, dicom_bytes, release, serving  # noqa: E402
from tests.models.helpers import dicom, torch_folder, write_card  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cxr-triage" / "model"


def example_folder(folder: Path, *, seed: int = 0, image_size: int | None = None) -> Path:
    """The example model's architecture (train.yaml) and card template, with seeded random weights."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    from qms.models.loaders import quiet_transformers

    recipe = yaml.safe_load((EXAMPLE / "train.yaml").read_text())
    card = yaml.safe_load((EXAMPLE / "model_card.template.yaml").read_text())
    labels = card["output_labels"]
    if image_size is not None:  # a heavier stand-in: the same architecture on a larger input
        card["input"]["image_size"] = image_size
    torch.manual_seed(seed)
    config = ViTConfig(image_size=card["input"]["image_size"], num_channels=card["input"]["channels"],
                       num_labels=len(labels), id2label=dict(enumerate(labels)),
                       label2id={n: i for i, n in enumerate(labels)}, problem_type="multi_label_classification",
                       **recipe["vit"])
    with quiet_transformers():
        ViTForImageClassification(config).save_pretrained(folder)
    write_card(folder, card)
    return folder


def _image(model: str) -> bytes:
    if model == "tiny":
        return dicom_bytes()
    rng = np.random.default_rng(0)
    return dicom_bytes(dicom(rng.integers(0, 4096, (128, 128)).astype(np.uint16)))


def in_process(model: LoadedModel, body: bytes) -> list[float]:
    """The baseline: the same bytes read, preprocessed as the card says, and scored, in this process."""
    ds = pydicom.dcmread(io.BytesIO(body))
    return [float(x) for x in batch_probabilities(model, torch.stack([dataset_tensor(ds, model.card.input, "body")]))[0]]


def no_fsync(url: str) -> Store:
    """Another store object over the same database whose connections commit without fsync (benchmark only)."""
    store = open_store(url)

    @event.listens_for(store.engine, "connect")
    def _off(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute("PRAGMA synchronous = OFF")  # type: ignore[attr-defined]

    store.engine.dispose()
    return store


def client(server: Server, token: str, body: bytes) -> Callable[[], dict[str, object]]:
    """One POST per call, each calling thread on its own kept-alive connection (re-opened if the server closed it)."""
    host, port = server.base.removeprefix("http://").split(":")
    local = threading.local()
    headers = {"Content-Type": DICOM, "Authorization": f"Bearer {token}"}

    def post() -> dict[str, object]:
        for attempt in (1, 2):
            conn = getattr(local, "conn", None) or http.client.HTTPConnection(host, int(port), timeout=120)
            local.conn = conn
            try:
                conn.request("POST", f"/v1/models/{NAME}/infer", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                local.conn = None
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"{response.status}: {data[:200]!r}")
            return dict(json.loads(data))
        raise AssertionError("unreachable")

    return post


def health_check(server: Server) -> Callable[[], None]:
    """GET /v1/health on one kept-alive connection: HTTP and the framework, nothing else."""
    host, port = server.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def get() -> None:
        conn.request("GET", "/v1/health")
        conn.getresponse().read()

    return get


def fsync_append(path: Path) -> Callable[[], None]:
    record = b"x" * 1023 + b"\n"

    def append() -> None:
        with path.open("ab") as f:
            f.write(record)
            f.flush()
            os.fsync(f.fileno())

    return append


def _timed(fn: Callable[[], object], n: int, clients: int = 1) -> tuple[float, list[float]]:
    """(wall seconds, per-call latencies in ms) of `n` calls spread over `clients` threads."""
    def one(_: int) -> float:
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1000

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(one, range(n)))
    return time.perf_counter() - start, latencies


def _interleaved(paths: dict[str, tuple[Callable[[], object], int]], n: int, rounds: int
                 ) -> dict[str, tuple[float, list[float], list[float], float]]:
    """Each path `n` calls in all, in `rounds` alternating rounds (so a change of machine load hits all alike):
    name -> (wall seconds, latencies in ms, requests per second of each round, this process's CPU ms per call).
    The CPU time (every thread: server, model, client) barely moves with the machine's load, unlike the wall time."""
    out: dict[str, tuple[float, list[float], list[float], float]] = {k: (0.0, [], [], 0.0) for k in paths}
    for _ in range(rounds):
        for name, (fn, clients) in paths.items():
            cpu = time.process_time()
            wall, latencies = _timed(fn, max(1, n // rounds), clients)
            cpu = time.process_time() - cpu
            total, all_latencies, rates, cpu_total = out[name]
            out[name] = (total + wall, all_latencies + latencies, [*rates, len(latencies) / wall], cpu_total + cpu)
    return {k: (w, lat, r, c * 1000 / len(lat)) for k, (w, lat, r, c) in out.items()}


def _line(name: str, wall: float, lat: list[float]) -> str:
    return (f"{name:<28} {len(lat) / wall:8.1f} req/s   p50 {np.percentile(lat, 50):7.2f} ms   "
            f"p95 {np.percentile(lat, 95):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", choices=("example", "tiny"), default="example")
    parser.add_argument("--image-size", type=int, default=None,
                        help="example model only: its input size instead of the card's 64 (a heavier stand-in)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = (functools.partial(example_folder, image_size=args.image_size) if args.model == "example"
                  else torch_folder)
        released = release(Path(tmp), model_folder=folder)
        token = create_client(released.store, "bench", [NAME], actor="bench")
        body = _image(args.model)
        settings = ApiSettings(rate=1e6, burst=10**6, concurrency=args.clients)
        fast = dataclasses.replace(released, store=no_fsync(released.store.url))
        with serving(released, settings) as server, serving(fast, settings) as unsynced:
            model = server.catalogue.model(NAME)
            assert model is not None
            baseline = lambda: in_process(model, body)  # noqa: E731
            durable, volatile = client(server, token, body), client(unsynced, token, body)
            inside: list[float] = []  # the service's own latency_ms (1 client, durable): stage check, parse, score

            def durable_alone() -> None:
                inside.append(float(durable()["latency_ms"]))  # type: ignore[arg-type]

            for fn in (baseline, durable, volatile):  # warm up: imports, first forward pass, connection set-up
                _timed(fn, 10)
            n = args.clients
            paths = {"in-process, 1 at a time": (baseline, 1), "HTTP, 1 client": (durable_alone, 1),
                     "HTTP, 1 client, no fsync": (volatile, 1),
                     f"in-process, {n} threads": (baseline, n), f"HTTP, {n} clients": (durable, n),
                     f"HTTP, {n} clients, no fsync": (volatile, n)}
            measured = _interleaved(paths, args.requests, args.rounds)
            health = _timed(health_check(server), args.requests)
            commit = _timed(lambda: released.store.add(InferenceRecord(
                request_id="bench", client="bench", model_ref="bench", model_digest="0" * 64, input_sha256="0" * 64,
                pseudonyms="{}", inputs="[]", output="[]", latency_ms=0.0)), args.requests)
            journal = _timed(fsync_append(Path(tmp) / "journal.log"), args.requests)
    what = (f"the example ViT ({args.image_size or 64}x{args.image_size or 64}), one 128x128 DICOM" if args.model == "example"
            else "TinyNet (16x16), one 40x30 DICOM")
    print(f"model {NAME}: {what} per request, {args.requests} requests per path, load average "
          f"{os.getloadavg()[0]:.1f}")
    for name, (wall, latencies, _, cpu) in measured.items():
        print(f"{_line(name, wall, latencies)}   CPU {cpu:6.2f} ms/request")
    print(_line("fixed: HTTP /v1/health", *health))
    print(_line("fixed: one record commit", *commit))
    print(_line("fixed: fsync'd 1 KiB append", *journal))
    print(f"inside the service, 1 client (its latency_ms: stage check, parse, score): p50 {np.percentile(inside, 50):.2f} ms, "
          f"p95 {np.percentile(inside, 95):.2f} ms")
    names = list(measured)
    for label, base, services in (("1 client", names[0], names[1:3]), (f"{n} clients", names[3], names[4:6])):
        for service in services:
            rates = [s / b for b, s in zip(measured[base][2], measured[service][2], strict=True)]
            p95 = np.percentile(measured[service][1], 95) / np.percentile(measured[base][1], 95)
            cpu = measured[base][3] / measured[service][3]
            print(f"{service}: service/in-process throughput per round {', '.join(f'{r:.2f}' for r in rates)} "
                  f"(median {np.median(rates):.2f}); p95 ratio {p95:.2f}; CPU per request ratio (in-process/service) "
                  f"{cpu:.2f}; goal: overhead < 20 % (ratio >= 0.83)")


if __name__ == "__main__":
    main()

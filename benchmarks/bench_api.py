"""Inference service overhead: throughput, p50/p95 latency and CPU per request over HTTP on loopback,
against in-process inference of the same model in the same run.

Model (`--model example`, the default): the example project's model as `examples/cxr-triage`
trains it: a transformers ViT with the architecture of its `model/train.yaml` and the input
of its card template (64x64), seeded random weights (inference costs the same trained or not),
and one 128x128 12-bit DICOM (the example's image size) per request. `--model tiny`: the tiny
torch test model (`tests.models.helpers.TinyNet`, 16x16) and a 40x30 image. Either is released
and promoted with a signed bundle exactly as the API tests do.

Baseline, in this process: the same DICOM bytes read (`pydicom.dcmread`), preprocessed as the
card says (`qms.models.preprocess.dataset_tensor`) and scored (`qms.models.inference.batch_probabilities`):
one image at a time, from `--clients` threads, and in batches of `--clients` images (what the
service's batching does, done in process). Torch runs `--threads` intra-op threads here and in the
service (`qms api serve --threads`, default 1).

Service: `qms api serve` in a process of its own (`benchmarks/api_server.py`: the CLI's own
`run_server`), as users run it; the clients are threads of this process, each on its own kept-alive
HTTP/1.1 connection. For each request it authenticates, rate-limits, checks the stage, parses
and checks the DICOM, scores (concurrent requests batched) and appends the inference record
durably (SQLite WAL, synchronous=FULL; one fsync per commit, shared by concurrent requests) before
it answers. Also measured: a 2-image study in one STOW-RS multipart request, and the service in a
thread of this process ("one process": server, clients and model share a process and its GIL).
CPU per request is read from the kernel for each process (the service's from /proc); it moves far
less with the machine's load than wall time. The paths alternate in `--rounds` rounds so that a
shared machine's changing load falls on baseline and service alike; throughput ratios are per round.

`--service-workers N` runs that service as `qms api serve --workers N` (N forked worker processes on one port, the
limits shared); its CPU is then the whole process tree's, the parent's and every worker's.

`--baseline-tree DIR` (a checkout made with `git worktree add DIR COMMIT`) also runs that checkout's service, its
own code in a process of its own, interleaved with this one's in every round: a before/after in one run.

Beside them, the floors a single sequential client cannot share: an HTTP round trip to
`/v1/health` (uvicorn, FastAPI, keep-alive; no auth, no model) and one durable commit of an
inference record.

    python benchmarks/bench_api.py [--requests 200] [--clients 4] [--rounds 5] [--threads 1] [--model example|tiny]
        [--baseline-tree DIR] [--service-workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import io
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.api_server import server_process  # noqa: E402
from qms.api.app import ApiSettings  # noqa: E402
from qms.api.ingest import DICOM  # noqa: E402
from qms.api.recording import Recorder, Row, record_row  # noqa: E402
from qms.api.tokens import create_client  # noqa: E402
from qms.models.inference import batch_probabilities  # noqa: E402
from qms.models.loaders import LoadedModel  # noqa: E402
from qms.models.preprocess import dataset_tensor  # noqa: E402
from tests.api.service import NAME, dicom_bytes, free_port, multipart, release, serving  # noqa: E402
from tests.models.helpers import dicom, torch_folder, write_card  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cxr-triage" / "model"
_TICK = os.sysconf("SC_CLK_TCK")


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


def _image(model: str, seed: int = 0) -> bytes:
    if model == "tiny":
        return dicom_bytes()
    rng = np.random.default_rng(seed)
    return dicom_bytes(dicom(rng.integers(0, 4096, (128, 128)).astype(np.uint16)))


def in_process(model: LoadedModel, bodies: list[bytes]) -> npt.NDArray[np.float32]:
    """The baseline: the same bytes read, preprocessed as the card says, and scored as one batch, in this process."""
    tensors = [dataset_tensor(pydicom.dcmread(io.BytesIO(b)), model.card.input, "body") for b in bodies]
    return batch_probabilities(model, torch.stack(tensors))


def client(base: str, token: str, content_type: str, body: bytes) -> Callable[[], dict[str, object]]:
    """One POST per call, each calling thread on its own kept-alive connection (re-opened if the server closed it)."""
    host, port = base.removeprefix("http://").split(":")
    local = threading.local()
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}

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


def health_check(base: str) -> Callable[[], None]:
    """GET /v1/health on one kept-alive connection: HTTP and the framework, nothing else."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def get() -> None:
        conn.request("GET", "/v1/health")
        conn.getresponse().read()

    return get


def _cpu_by_process(pid: int | None) -> dict[int, float]:
    """User + system CPU seconds so far of process `pid` (every thread) and of each of its live descendants (the
    workers of `qms api serve --workers`), by pid; empty for none."""
    if pid is None:
        return {}
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    found = {pid: (int(fields[11]) + int(fields[12])) / _TICK}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found.update(_cpu_by_process(int(child)))
    return found


@dataclass
class Measured:
    """One measured path: `fn` called from `clients` threads, each call `images` images, served by process `pid`."""

    fn: Callable[[], object]
    clients: int = 1
    images: int = 1
    pid: int | None = None
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    cpu_here: float = 0.0
    cpu_server: float = 0.0
    cpu_by_process: dict[int, float] = field(default_factory=dict)

    def measure(self, calls: int) -> None:
        """`calls` calls (one round): wall, latencies, this round's rate, and the CPU of both processes."""
        here, server = time.process_time(), _cpu_by_process(self.pid)
        wall, latencies = _timed(self.fn, calls, self.clients)
        self.cpu_here += time.process_time() - here
        for pid, cpu in _cpu_by_process(self.pid).items():
            self.cpu_by_process[pid] = self.cpu_by_process.get(pid, 0.0) + cpu - server.get(pid, 0.0)
        self.cpu_server = sum(self.cpu_by_process.values())
        self.wall += wall
        self.latencies += latencies
        self.rates.append(len(latencies) * self.images / wall)

    def line(self, name: str) -> str:
        n, lat = len(self.latencies), self.latencies
        per = 1000 / (n * self.images)
        server = f"{self.cpu_server * per:5.2f}" if self.pid else "  -  "
        return (f"{name:<46} {n * self.images / self.wall:7.1f} img/s  p50 {np.percentile(lat, 50):6.2f} ms  "
                f"p95 {np.percentile(lat, 95):6.2f} ms  CPU/img: here {self.cpu_here * per:5.2f}  service {server}  "
                f"total {(self.cpu_here + self.cpu_server) * per:5.2f} ms")


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


def _record() -> Row:
    return record_row(request_id=uuid.uuid4().hex, client="bench", model_ref="bench", model_digest="0" * 64,
                      input_sha256="0" * 64, pseudonyms="{}", inputs="[]", output="[]", latency_ms=0.0)


def _ratios(paths: dict[str, Measured], base: str, service: str) -> str:
    b, s = paths[base], paths[service]
    rates = [x / y for x, y in zip(s.rates, b.rates, strict=True)]
    per_b = (b.cpu_server or b.cpu_here) / (len(b.latencies) * b.images)
    per_s = (s.cpu_server or s.cpu_here) / (len(s.latencies) * s.images)
    return (f"{service} / {base}: throughput per round {', '.join(f'{r:.2f}' for r in rates)} "
            f"(median {np.median(rates):.2f}); CPU per image {per_b / per_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="calls per path, over all rounds")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads, here and in the service")
    parser.add_argument("--model", choices=("example", "tiny"), default="example")
    parser.add_argument("--image-size", type=int, default=None,
                        help="example model only: its input size instead of the card's 64 (a heavier stand-in)")
    parser.add_argument("--service-workers", type=int, default=1,
                        help="worker processes of the service in its own process (qms api serve --workers)")
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="another checkout whose service also runs, interleaved (before/after in one run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n = args.clients
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folder = (functools.partial(example_folder, image_size=args.image_size) if args.model == "example"
                  else torch_folder)
        released = release(Path(tmp), model_folder=folder)
        token = create_client(released.store, "bench", [NAME], actor="bench")
        body, second = _image(args.model), _image(args.model, seed=1)
        study_type, study = multipart([body, second])
        settings = ApiSettings(rate=1e6, burst=10**6, concurrency=n, threads=args.threads,
                               reload_seconds=3600)  # no periodic re-verification of the bundle inside a measurement
        port, old_port = free_port(), free_port()
        with contextlib.ExitStack() as stack:
            pid = stack.enter_context(server_process(released, settings, port, Path(tmp) / "spec.json",
                                                     workers=args.service_workers))
            inside = stack.enter_context(serving(released, settings))
            old_pid = None if args.baseline_tree is None else stack.enter_context(
                server_process(released, settings, old_port, Path(tmp) / "old.json", args.baseline_tree))
            base, old_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{old_port}"
            model = inside.catalogue.model(NAME)
            assert model is not None
            paths = {
                "in-process, 1 image at a time": Measured(lambda: in_process(model, [body])),
                "HTTP, 1 client": Measured(client(base, token, DICOM, body), pid=pid),
                "in-process, 2-image study as one batch": Measured(lambda: in_process(model, [body, second]), images=2),
                "HTTP, 1 client, 2-image study per request": Measured(client(base, token, study_type, study), images=2,
                                                                   pid=pid),
                f"in-process, {n} threads, 1 image each": Measured(lambda: in_process(model, [body]), clients=n),
                f"in-process, batches of {n} images": Measured(lambda: in_process(model, [body] * n), images=n),
                f"HTTP, {n} clients (batched, {n} slots)": Measured(client(base, token, DICOM, body), clients=n, pid=pid),
                "one process: HTTP, 1 client": Measured(client(inside.base, token, DICOM, body)),
                f"one process: HTTP, {n} clients": Measured(client(inside.base, token, DICOM, body), clients=n),
            }
            if old_pid is not None:
                paths["baseline tree: HTTP, 1 client"] = Measured(client(old_base, token, DICOM, body), pid=old_pid)
                paths[f"baseline tree: HTTP, {n} clients"] = Measured(client(old_base, token, DICOM, body), clients=n,
                                                                      pid=old_pid)
            for path in paths.values():  # warm up: imports, first forward pass, connection set-up
                _timed(path.fn, 10, path.clients)
            for _ in range(args.rounds):
                for path in paths.values():
                    path.measure(max(1, args.requests // args.rounds))
            health = Measured(health_check(base), pid=pid)
            health.measure(args.requests)
            recorder = Recorder(released.store)
            commit = Measured(lambda: recorder.append([_record()]))
            commit.measure(args.requests)
    what = (f"the example ViT ({args.image_size or 64}x{args.image_size or 64}), 128x128 DICOM" if args.model == "example"
            else "TinyNet (16x16), 40x30 DICOM")
    print(f"model: {what}; {args.requests} requests per path in {args.rounds} rounds; torch threads "
          f"{args.threads}; service workers {args.service_workers}; load average {os.getloadavg()[0]:.1f}; "
          f"{time.monotonic() - started:.0f} s")
    for name, path in paths.items():
        print(path.line(name))
    print(health.line("floor: HTTP GET /v1/health round trip"))
    print(commit.line("floor: one durable inference-record commit"))
    names = list(paths)
    for base_name, service in ((names[0], names[1]), (names[2], names[3]), (names[4], names[6]), (names[5], names[6]),
                               (names[0], names[7]), (names[4], names[8])):
        print(_ratios(paths, base_name, service))
    if args.baseline_tree is not None:
        for base_name, service in ((names[0], names[9]), (names[4], names[10]), (names[9], names[1]),
                                   (names[10], names[6])):
            print(_ratios(paths, base_name, service))
    if args.service_workers > 1:
        busy = paths[names[6]]
        shares = [f"{cpu / busy.cpu_server:.2f}" for cpu in busy.cpu_by_process.values()]
        print(f"{names[6]}: CPU share of the service's parent, then each worker: {' / '.join(shares)}")
    print("goal: service overhead < 20 % (ratios >= 0.83)")


if __name__ == "__main__":
    main()

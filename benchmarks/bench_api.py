"""Inference service overhead: requests per second and p95 latency over HTTP on loopback, against in-process scoring.

Model: the tiny torch test model (`tests.models.helpers.TinyNet`, 16x16 input), released and
promoted with a signed bundle exactly as the API tests do. One 40x30 DICOM image per request.
Baseline, in the same run: the same request body parsed and scored in this process
(`qms.api.ingest.parse_body` then `qms.api.scoring.score`, the service's own path), one at a time.
Service: the same body POSTed to `qms api` (uvicorn in a thread on 127.0.0.1), first by one
client (sequential: per-request overhead), then by `--clients` clients at once (bounded load).
The service also authenticates, rate-limits and appends an inference record per request.

    python benchmarks/bench_api.py [--requests 200] [--clients 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qms.api.app import ApiSettings  # noqa: E402
from qms.api.ingest import DICOM, parse_body  # noqa: E402
from qms.api.scoring import score  # noqa: E402
from qms.api.tokens import create_client  # noqa: E402
from tests.api.service import NAME, dicom_bytes, release, serving  # noqa: E402


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


def _line(name: str, wall: float, lat: list[float]) -> str:
    return (f"{name:<28} {len(lat) / wall:8.1f} req/s   p50 {np.percentile(lat, 50):7.2f} ms   "
            f"p95 {np.percentile(lat, 95):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        released = release(Path(tmp))
        token = create_client(released.store, "bench", [NAME], actor="bench")
        body = dicom_bytes()
        settings = ApiSettings(rate=1e6, burst=10**6, concurrency=args.clients)
        with serving(released, settings) as server:
            model = server.catalogue.model(NAME)
            assert model is not None
            in_process = lambda: score(model, parse_body(DICOM, body))  # noqa: E731
            over_http = lambda: server.infer(token, body)  # noqa: E731
            for fn in (in_process, over_http):  # warm up: imports, first forward pass, connection set-up
                _timed(fn, 10)
            base = _timed(in_process, args.requests)
            seq = _timed(over_http, args.requests)
            load = _timed(over_http, args.requests, args.clients)
            base_load = _timed(in_process, args.requests, args.clients)
    print(f"model {NAME} (TinyNet, 16x16), one 40x30 DICOM per request, {args.requests} requests")
    print(_line("in-process, 1 at a time", *base))
    print(_line("HTTP, 1 client", *seq))
    print(_line(f"in-process, {args.clients} threads", *base_load))
    print(_line(f"HTTP, {args.clients} clients", *load))
    overhead = np.percentile(seq[1], 50) / np.percentile(base[1], 50) - 1
    throughput = 1 - (len(load[1]) / load[0]) / (len(base_load[1]) / base_load[0])
    print(f"service overhead: p50 latency +{overhead:.0%} (1 client); throughput -{throughput:.0%} "
          f"({args.clients} clients vs {args.clients} in-process threads); goal < 20 %")


if __name__ == "__main__":
    main()

"""Inference service overhead: requests per second and p95 latency over HTTP on loopback, against in-process scoring.

Model (`--model example`, the default): the example project's model as `examples/cxr-triage`
trains it: a transformers ViT with the architecture of its `model/train.yaml` and the input
of its card template (64x64), seeded random weights (inference costs the same trained or not),
and one 128x128 12-bit DICOM (the example's image size) per request. `--model tiny`: the tiny
torch test model (`tests.models.helpers.TinyNet`, 16x16) and a 40x30 image. Either is released
and promoted with a signed bundle exactly as the API tests do.
Baseline, in the same run: the same request body parsed and scored in this process
(`qms.api.ingest.parse_body` then `qms.api.scoring.score`, the service's own path), one at a
time and from `--clients` threads. Service: the same body POSTed to `qms api` (uvicorn in a
thread on 127.0.0.1), by one client (per-request overhead), then by `--clients` clients at once
(bounded load). The four paths run in `--rounds` alternating rounds, so that a shared machine's
changing load falls on baseline and service alike; the ratio is given per round. The service
also authenticates, rate-limits, checks the stage and appends a durable inference record.

Beside them, the service's fixed costs measured alone: an HTTP round trip to `/v1/health`
(uvicorn, FastAPI, urllib; no auth, no model) and one durable commit of an inference record.

    python benchmarks/bench_api.py [--requests 200] [--clients 4] [--rounds 5] [--model example|tiny]
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
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qms.api.app import ApiSettings  # noqa: E402
from qms.api.ingest import DICOM, parse_body  # noqa: E402
from qms.api.scoring import score  # noqa: E402
from qms.api.tokens import create_client  # noqa: E402
from qms.api.records import InferenceRecord  # noqa: E402
from tests.api.service import NAME, dicom_bytes, release, serving  # noqa: E402
from tests.models.helpers import dicom, torch_folder, write_card  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cxr-triage" / "model"


def example_folder(folder: Path, *, seed: int = 0) -> Path:
    """The example model's architecture (train.yaml) and card template, with seeded random weights."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    from qms.models.loaders import quiet_transformers

    recipe = yaml.safe_load((EXAMPLE / "train.yaml").read_text())
    card = yaml.safe_load((EXAMPLE / "model_card.template.yaml").read_text())
    labels = card["output_labels"]
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
                 ) -> dict[str, tuple[float, list[float], list[float]]]:
    """Each path `n` calls in all, in `rounds` alternating rounds (so a change of machine load hits all alike):
    name -> (wall seconds, latencies in ms, requests per second of each round)."""
    out: dict[str, tuple[float, list[float], list[float]]] = {k: (0.0, [], []) for k in paths}
    for _ in range(rounds):
        for name, (fn, clients) in paths.items():
            wall, latencies = _timed(fn, max(1, n // rounds), clients)
            total, all_latencies, rates = out[name]
            out[name] = (total + wall, all_latencies + latencies, [*rates, len(latencies) / wall])
    return out


def _line(name: str, wall: float, lat: list[float]) -> str:
    return (f"{name:<28} {len(lat) / wall:8.1f} req/s   p50 {np.percentile(lat, 50):7.2f} ms   "
            f"p95 {np.percentile(lat, 95):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", choices=("example", "tiny"), default="example")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        released = release(Path(tmp), model_folder=example_folder if args.model == "example" else torch_folder)
        token = create_client(released.store, "bench", [NAME], actor="bench")
        body = _image(args.model)
        settings = ApiSettings(rate=1e6, burst=10**6, concurrency=args.clients)
        with serving(released, settings) as server:
            model = server.catalogue.model(NAME)
            assert model is not None
            in_process = lambda: score(model, parse_body(DICOM, body))  # noqa: E731
            inside: list[float] = []  # the service's own latency_ms (1 client): stage check, parse, score

            def over_http() -> None:
                server.infer(token, body)

            def over_http_alone() -> None:
                inside.append(server.infer(token, body)[1]["latency_ms"])

            for fn in (in_process, over_http):  # warm up: imports, first forward pass, connection set-up
                _timed(fn, 10)
            paths = {"in-process, 1 at a time": (in_process, 1), "HTTP, 1 client": (over_http_alone, 1),
                     f"in-process, {args.clients} threads": (in_process, args.clients),
                     f"HTTP, {args.clients} clients": (over_http, args.clients)}
            measured = _interleaved(paths, args.requests, args.rounds)
            health = _timed(lambda: server.call("GET", "/v1/health"), args.requests)
            commit = _timed(lambda: released.store.add(InferenceRecord(
                request_id="bench", client="bench", model_ref="bench", model_digest="0" * 64, input_sha256="0" * 64,
                pseudonyms="{}", inputs="[]", output="[]", latency_ms=0.0)), args.requests)
    what = ("the example ViT (64x64), one 128x128 DICOM" if args.model == "example"
            else "TinyNet (16x16), one 40x30 DICOM")
    print(f"model {NAME}: {what} per request, {args.requests} requests")
    for name, (wall, latencies, _) in measured.items():
        print(_line(name, wall, latencies))
    print(_line("fixed: HTTP /v1/health", *health))
    print(_line("fixed: one record commit", *commit))
    print(f"inside the service, 1 client (its latency_ms: stage check, parse, score): p50 {np.percentile(inside, 50):.2f} ms, "
          f"p95 {np.percentile(inside, 95):.2f} ms")
    names = list(measured)
    for label, (base, service) in (("1 client", names[0:2]), (f"{args.clients} clients", names[2:4])):
        rates = [s / b for b, s in zip(measured[base][2], measured[service][2], strict=True)]
        p95 = np.percentile(measured[service][1], 95) / np.percentile(measured[base][1], 95)
        print(f"{label}: service/in-process throughput per round {', '.join(f'{r:.2f}' for r in rates)} "
              f"(median {np.median(rates):.2f}); p95 ratio {p95:.2f}; goal: overhead < 20 % (ratio >= 0.83)")

if __name__ == "__main__":
    main()

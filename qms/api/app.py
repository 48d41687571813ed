"""The HTTP application: authenticated, limited inference on the catalogue's served models.

Routes call the library (`ingest`, `scoring`, `recording`, `tokens`); every refusal is a
JSON problem `{"error", "where", "hint"}` with a 4xx or 503 status, never a traceback.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from qms import audit
from qms.api.batching import Admitted, Batcher
from qms.api.catalogue import Catalogue
from qms.api.freshness import Reading, Reads
from qms.api.ingest import IngestError, parse_body
from qms.api.limits import Limits
from qms.api.recording import Answer, Recorder, RecorderClosed, Row, pseudonyms, to_record
from qms.api.scoring import LocalScorer, Scorer
from qms.api.tokens import Client
from qms.deid.keying import DeidKey
from qms.errors import QmsError
from qms.models.stages import Stage

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ApiSettings", "create_app", "run_server", "uvicorn_server"]


@dataclass(frozen=True)
class ApiSettings:
    """The service's limits and options; the catalogue carries the store and the serving policy.

    `batch_size` and `batch_wait` (seconds) bound the batches of concurrent requests (`qms.api.batching`);
    `threads`, when set, is torch's intra-op thread count for the process (`qms api serve` sets 1: the
    requests run concurrently, and idle OpenMP workers spinning between requests took the server's CPU).
    """

    max_bytes: int = 64 * 1024 * 1024
    rate: float = 50.0
    burst: int = 100
    concurrency: int = 4
    batch_size: int = 32
    batch_wait: float = 0.002
    queue_seconds: float = 30.0
    reload_seconds: float = 60.0
    deid_key: DeidKey | None = None
    device: str | None = None
    threads: int | None = None


class Refusal(Exception):
    """A request the service answers with `status` and a problem naming what is wrong."""

    def __init__(self, status: int, error: str, where: str, hint: str | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.where, self.hint = status, error, where, hint


class Problem(BaseModel):
    """A refusal: what is wrong, where (header, part, tag, model), and what to do."""

    error: str
    where: str
    hint: str | None = None


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text} for code, text in (
        (401, "no valid token"), (403, "the token may not call this model"), (404, "no such model is served"),
        (413, "the body is over the size limit"), (415, "not DICOM or STOW-RS multipart"),
        (422, "the DICOM cannot be preprocessed as the model card says"), (429, "over the client's rate"),
        (400, "malformed DICOM or multipart body"), (503, "the model is not servable now, or no slot was free"))}


def _problem(status: int, error: str, where: str, hint: str | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "where": where, "hint": hint}, status_code=status)


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, f"the request body is {declared} bytes; the limit is {limit}", "Content-Length")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"the request body passes the limit of {limit} bytes", "request body")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(catalogue: Catalogue, settings: ApiSettings = ApiSettings(), scorer: Scorer | None = None,
               limits: Limits | None = None) -> FastAPI:
    """The FastAPI application over `catalogue` (already reloaded once by the caller); models run on `scorer`
    (default: in this process), which is kept equal to the catalogue at start and after every reload. `limits`
    (default: this process's own, from `settings`) are shared with the other workers of `qms api serve --workers`."""
    runner: Scorer = scorer if scorer is not None else LocalScorer(settings.device, settings.threads)
    store, actor = catalogue.store, catalogue.actor
    if limits is None:
        limits = Limits.in_process(settings.rate, settings.burst, settings.concurrency)
    limiter, slots = limits.rate, limits.slots
    recorder = Recorder(store)
    batcher = Batcher(runner, max_images=settings.batch_size, max_wait=settings.batch_wait, lanes=runner.lanes,
                      record=recorder.append)
    stop = asyncio.Event()
    reads = Reads(store)

    async def reload_loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.reload_seconds)
            except TimeoutError:
                await run_in_threadpool(reload)

    def reload() -> None:
        catalogue.reload()
        runner.sync(catalogue.served)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(runner.sync, catalogue.served)
        task = asyncio.create_task(reload_loop())
        yield
        stop.set()
        await task
        recorder.close()
        await run_in_threadpool(runner.close)

    app = FastAPI(title="qmskit inference service", version="1", lifespan=lifespan,
                  description="Released production models only; DICOM in (file or STOW-RS multipart), scores out.")
    bearer = HTTPBearer(auto_error=False)

    def audited(request: Request, status: int, error: str, where: str) -> None:
        """Every refusal is an audit event naming the client, except rate-limit ones (they would flood the trail)."""
        if status != 429:
            audit.record(store, audit.EventSpec(actor, "api.request.refuse", where, details={
                "status": status, "reason": error, "client": getattr(request.state, "client", None)}))

    @app.exception_handler(Refusal)
    async def refusal_handler(request: Request, exc: Refusal) -> JSONResponse:
        await run_in_threadpool(audited, request, exc.status, exc.error, exc.where)
        return _problem(exc.status, exc.error, exc.where, exc.hint)

    @app.exception_handler(IngestError)
    async def ingest_handler(request: Request, exc: IngestError) -> JSONResponse:
        await run_in_threadpool(audited, request, exc.status, exc.message, exc.where or "request body")
        return _problem(exc.status, exc.message, exc.where or "request body", exc.hint)

    async def client_of(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Client:
        """The caller, on the event loop when the head read may run there and the token was read at this head
        (`qms.api.freshness`); any other read goes to a worker thread."""
        reading = reads.now() if reads.inline else await run_in_threadpool(reads.now)
        request.state.reading = reading  # the stage check reads as of the same audit head
        found = None
        if credentials is not None:
            token = credentials.credentials
            found = reading.client(token) if reading.remembers(token) else await run_in_threadpool(reading.client, token)
        if found is None:
            raise Refusal(401, "a valid API token is required (Authorization: Bearer ...)", "Authorization")
        request.state.client = found.name
        if not limiter.allow(found.name):
            raise Refusal(429, f"client {found.name} is over its rate of {settings.rate:g} requests per second",
                          "rate limit", "slow down and retry")
        return found

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        """Liveness, and how many models are served."""
        return {"ok": True, "served": len(catalogue.served)}

    @app.get("/v1/models", responses={k: v for k, v in _PROBLEMS.items() if k in (401, 429)})
    def models(client: Annotated[Client, Depends(client_of)]) -> dict[str, Any]:
        """The served models this client may call, and every version refused with its reason."""
        served = [{"name": name, "model": m.ref, "digest": m.digest, "labels": list(m.labels)}
                  for name, m in sorted(catalogue.served.items()) if client.may_call(name)]
        return {"served": served, "refused": dict(sorted(catalogue.refused.items()))}

    def run(client: Client, reading: Reading, name: str, admitted: Admitted, content_type: str,
            body: bytes) -> dict[str, Any]:
        started = time.perf_counter()
        model = admitted.model
        if reading.stage(model.ref) is not Stage.PRODUCTION:
            catalogue.withdraw(name, f"{model.ref} is no longer in production")
            runner.sync(catalogue.served)
            raise Refusal(503, f"{model.ref} is no longer in production", f"model:{model.ref}")
        if not slots.acquire(timeout=settings.queue_seconds):
            raise Refusal(503, f"all {limits.concurrency} inference slots stayed busy", "concurrency limit", "retry later")
        reply: dict[str, Any] = {}

        def seal(scores: list[dict[str, float]]) -> Row:
            """The record of this request's answer, committed with its batch's before any of them is answered."""
            answer = Answer(uuid.uuid4().hex, client.name, model, scores, (time.perf_counter() - started) * 1000)
            ids = pseudonyms(instances, settings.deid_key)
            reply.update(answer.to_json(ids))
            return to_record(answer, instances, ids)

        try:
            instances = parse_body(content_type, body)
            admitted.score(instances, seal)
        except RecorderClosed as exc:
            raise Refusal(503, str(exc), "service", "retry; the answer was not recorded, so it is not given") from exc
        finally:
            slots.release()
        return reply

    @app.post("/v1/models/{name}/infer", responses=_PROBLEMS, openapi_extra={"requestBody": {"required": True, "content": {
        "application/dicom": {"schema": {"type": "string", "format": "binary"}},
        'multipart/related; type="application/dicom"': {"schema": {"type": "string", "format": "binary"}}}}})
    async def infer(name: str, request: Request, client: Annotated[Client, Depends(client_of)]) -> dict[str, Any]:
        """Scores for one DICOM instance, or a study sent as DICOMweb STOW-RS multipart/related."""
        if not client.may_call(name):
            raise Refusal(403, f"client {client.name} may not call model {name}", f"model:{name}")
        model = catalogue.model(name)
        if model is None:
            reason = next((r for ref, r in catalogue.refused.items() if ref.startswith(f"{name}@")), None)
            raise Refusal(404 if reason is None else 503, reason or f"no model {name} is served", f"model:{name}")
        with batcher.admit(model) as admitted:  # on its way to the model's next batch from here: its leader waits for it
            body = await _body(request, settings.max_bytes)
            try:
                return await run_in_threadpool(run, client, request.state.reading, name, admitted,
                                               request.headers.get("content-type", ""), body)
            except QmsError as exc:
                if isinstance(exc, IngestError):
                    raise
                raise Refusal(422, exc.message, exc.where or "request", exc.hint) from exc

    return app


_UVICORN: dict[str, Any] = {"server_header": False, "log_level": "warning"}


def run_server(catalogue: Catalogue, settings: ApiSettings, scorer: Scorer | None, *, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn's graceful stop: the requests in flight finish and are recorded)."""
    import uvicorn

    uvicorn.run(create_app(catalogue, settings, scorer), host=host, port=port, workers=1, **_UVICORN)


def uvicorn_server(app: FastAPI) -> "uvicorn.Server":
    """`app`'s uvicorn server, configured as `run_server`'s, for a socket already listening: `.run(sockets=[sock])`
    serves until SIGINT or SIGTERM, stopping as `run_server` does (`qms.api.prefork`'s workers)."""
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, lifespan="on", **_UVICORN))

"""`qms api`: serve released production models over HTTP, and manage the API clients' tokens."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, ok, warn
from qms.errors import CheckFailed, QmsError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The inference service for released production models.", no_args_is_help=True)
    app.add_typer(group, name="api")
    token = typer.Typer(help="API clients: tokens stored hashed, scoped to models.", no_args_is_help=True)
    group.add_typer(token, name="token")

    @token.command("create")
    def token_create(ctx: typer.Context, client: Annotated[str, typer.Option(help="the client's name")],
                     model: Annotated[list[str], typer.Option(help="a model name it may call (repeat)")],
                     json_out: JsonOpt = False) -> None:
        """Create a client (or replace its token); the token is shown once and stored only as its sha256."""
        from qms.api.tokens import create_client

        project = context.project(ctx)
        store = context.store(project)
        secret = create_client(store, client, model, actor=context.audit_actor(project, store))
        if json_out:
            emit_json({"client": client, "models": sorted(set(model)), "token": secret})
            return
        ok(f"API client {client} may call {', '.join(sorted(set(model)))}; its token (shown only now):")
        typer.echo(secret)

    @token.command("revoke")
    def token_revoke(ctx: typer.Context, client: Annotated[str, typer.Option(help="the client's name")]) -> None:
        """Withdraw a client's token at once."""
        from qms.api.tokens import revoke_client

        project = context.project(ctx)
        store = context.store(project)
        revoke_client(store, client, actor=context.audit_actor(project, store))
        ok(f"API client {client}'s token is revoked")

    @group.command("serve")
    def serve_cmd(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8780,
        max_mb: Annotated[float, typer.Option(help="largest request body, MiB")] = 64.0,
        rate: Annotated[float, typer.Option(help="requests per second per client")] = 50.0,
        concurrency: Annotated[int, typer.Option(min=1, help="inferences running at once")] = 4,
        batch_size: Annotated[int, typer.Option(min=1, help="most images scored in one batch of concurrent requests")] = 32,
        batch_wait_ms: Annotated[float, typer.Option(min=0, help="longest wait for requests on their way to a batch")] = 2.0,
        threads: Annotated[int, typer.Option(min=1, help="torch intra-op threads on CPU (raise for a large model on an "
                                                         "idle machine, with OMP_WAIT_POLICY=PASSIVE)")] = 1,
        reload_seconds: Annotated[float, typer.Option(help="re-check the served models this often")] = 60.0,
        deid_key: Annotated[Path | None, typer.Option(help="de-identification key: record keyed pseudonyms")] = None,
        device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 (default: the GPU if any)")] = None,
        replicas: Annotated[int, typer.Option(min=1, help="Ray Serve replicas per model (engine = \"ray\" only)")] = 2,
        workers: Annotated[int, typer.Option(min=1, help="server processes answering on the one port, each with the "
                                                         "models loaded; the rate and slot limits stay the service's "
                                                         "(1: one process; local engine only)")] = 1,
    ) -> None:
        """Serve every production version whose release bundle verifies and whose files match the registry.

        With `[tool.qms.compute] engine = "ray"` the models run on Ray Serve replicas."""
        from qms.api.app import ApiSettings, run_server
        from qms.api.catalogue import Catalogue
        from qms.api.eligibility import ServingPolicy
        from qms.compute.settings import ComputeSettings, EngineKind
        from qms.deid.keying import DeidKey
        from qms.release.assembly import bundle_path
        from qms.signing.trust import load_anchors

        project = context.project(ctx)
        on_ray = ComputeSettings.from_config(project.config.compute).engine is EngineKind.RAY
        if on_ray and workers > 1:
            raise QmsError("--workers runs the models in the server's processes; on Ray Serve they run on replicas",
                           where="--workers", hint="drop --workers and size the service with --replicas")
        policy = ServingPolicy(project.root, lambda version: bundle_path(project, version), load_anchors(context.qms_home()))
        store = context.store(project)
        if workers > 1:
            import torch

            torch.set_num_threads(1)  # no OpenMP team to inherit: each worker sets its own (`qms.api.prefork`)
        catalogue = Catalogue(store, policy, context.audit_actor(project, store))
        for outcome in catalogue.reload():
            (ok if outcome.served else warn)(f"{outcome.ref}: {outcome.reason}")
        if not catalogue.served:
            raise CheckFailed("no model version may be served: none is in production with a verifying release",
                              hint="release a model with `qms release`; the reasons are listed above")
        settings = ApiSettings(max_bytes=int(max_mb * 1024 * 1024), rate=rate, burst=max(1, int(rate * 2)),
                               concurrency=concurrency, batch_size=batch_size, batch_wait=batch_wait_ms / 1000,
                               reload_seconds=reload_seconds, deid_key=DeidKey.load(deid_key) if deid_key else None,
                               device=device, threads=threads)
        scorer = None
        if on_ray:
            from qms.api.ray_serving import RayServeScorer

            context.engine(project, None, workers=replicas)  # joins the configured cluster, or starts a local one
            scorer = RayServeScorer(context.store(project).url, project.root, replicas=replicas, device=device)
            ok(f"models run on Ray Serve, {replicas} replica(s) each")
        ok(f"qms api on http://{host}:{port}/ ({len(catalogue.served)} model(s); OpenAPI at /openapi.json)"
           + (f"; {workers} worker processes" if workers > 1 else ""))
        if workers > 1:
            from qms.api.prefork import serve_workers

            serve_workers(catalogue, settings, host=host, port=port, workers=workers)
            return
        try:
            run_server(catalogue, settings, scorer, host=host, port=port)
        except SystemExit as exc:
            # uvicorn re-raises SIGTERM once its graceful stop is done (requests finished, records committed, Serve
            # applications deleted); a Ray driver's handler turns that into exit(15): the stop was clean, exit 0
            if exc.code != signal.SIGTERM:
                raise

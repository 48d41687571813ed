"""`qms serve`: the browser application for review, approval and signing (binds 127.0.0.1 unless told)."""

from __future__ import annotations

from typing import Annotated

import typer

from qms.cli import context
from qms.cli.output import ok, warn

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="address to bind; another than 127.0.0.1 exposes the server")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
        tls_cert: Annotated[str | None, typer.Option(help="PEM certificate: serve HTTPS (cookies become Secure)")] = None,
        tls_key: Annotated[str | None, typer.Option(help="PEM key of --tls-cert")] = None,
        behind_tls: Annotated[bool, typer.Option(help="a TLS proxy in front: mark cookies Secure")] = False,
    ) -> None:
        """Review design items, approve and sign releases in a browser, on this project's record store."""
        import uvicorn

        from qms.web import WebSettings, create_app

        project = context.project(ctx)
        secure = behind_tls or tls_cert is not None
        settings = WebSettings.for_project(project.root, context.database_url(project), context.qms_home(),
                                           secure_cookies=secure)
        if host not in ("127.0.0.1", "localhost", "::1") and not secure:
            warn(f"serving on {host} without TLS: passphrases cross the network in clear; use --tls-cert or a TLS proxy")
        ok(f"qms serve on {'https' if tls_cert else 'http'}://{host}:{port}/ (idle timeout "
           f"{int(settings.idle_timeout.total_seconds() // 60)} min)")
        uvicorn.run(create_app(settings), host=host, port=port, workers=1, ssl_certfile=tls_cert, ssl_keyfile=tls_key,
                    server_header=False, log_level="warning")

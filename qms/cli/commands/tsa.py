"""`qms tsa serve`: the organisation's RFC 3161 time-stamping authority over HTTP, on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated

import typer

from qms.cli import context
from qms.cli.output import ok

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The organisation's time-stamping authority (issued by `qms ca issue-tsa`).",
                        no_args_is_help=True)
    app.add_typer(group, name="tsa")

    @group.command("serve")
    def serve_cmd(
        port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 3161,
    ) -> None:
        """Answer RFC 3161 timestamp requests until interrupted; point [tool.qms.signing] tsa at the URL shown."""
        from qms.signing.tsa import load_responder
        from qms.signing.tsa_server import make_server

        server = make_server(load_responder(context.qms_home()), port)
        host, bound = server.server_address[:2]
        ok(f"time-stamping authority at http://{host!s}:{bound}/ (Ctrl-C stops it)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            ok("time-stamping authority stopped")
        finally:
            server.server_close()

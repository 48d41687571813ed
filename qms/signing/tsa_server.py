"""`qms tsa serve`: the organisation TSA over HTTP (RFC 3161 §3.4), bound to the loopback interface.

A team reaches it through their own reverse proxy or SSH tunnel; the server itself never
listens beyond 127.0.0.1. Each request is one DER TimeStampReq (at most 16 KiB) posted as
application/timestamp-query; the reply is a TimeStampResp, a rejection when the request is
unreadable.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import tsp

from qms.signing.tsa import Responder, refusal

__all__ = ["HOST", "MAX_REQUEST", "make_server"]

HOST = "127.0.0.1"
MAX_REQUEST = 16 * 1024
QUERY = "application/timestamp-query"
REPLY = "application/timestamp-reply"


def _parse(body: bytes) -> tsp.TimeStampReq | None:
    try:
        req = tsp.TimeStampReq.load(body, strict=True)
        _ = req.native  # asn1crypto parses lazily: read every field now
    except (ValueError, TypeError, KeyError):
        return None
    return req


def make_server(responder: Responder, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server answering RFC 3161 requests with `responder` on 127.0.0.1:`port` (0: any free port)."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            length = int(self.headers.get("Content-Length") or -1)
            if self.headers.get_content_type() != QUERY:
                self._send(415, f"send a DER TimeStampReq as {QUERY}\n".encode(), "text/plain")
                return
            if not 0 < length <= MAX_REQUEST:
                self._send(413, f"a request is 1 to {MAX_REQUEST} bytes\n".encode(), "text/plain")
                return
            req = _parse(self.rfile.read(length))
            reply = refusal("bad_data_format", "not a DER TimeStampReq") if req is None else responder.respond(req)
            self._send(200, reply.dump(), REPLY)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server hook's signature
            return  # requests carry only digests; the CLI reports start and stop

    return ThreadingHTTPServer((HOST, port), Handler)

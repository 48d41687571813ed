"""`qms api serve --workers N`: N forked processes answer on one listening socket, as one service.

The parent has checked the catalogue once (the CLI's first reload). It binds the socket, makes the
limits the workers share (`Limits.across_processes`: one rate per client, one count of inference
slots), closes its store connections so none is inherited, and forks the workers while no other
Python thread runs: a lock another thread holds at a fork stays held in the child, so it refuses
to fork from a process running one, or with CUDA started. Of the native thread pools, OpenBLAS's
(numpy's) stops itself at a fork; torch's OpenMP team would not, so the parent must have run torch
on one thread (`torch.set_num_threads(1)` before the catalogue loads; the CLI does). Each worker
drops the store's pool it inherited (SQLAlchemy's fork recipe) and runs its own application: its batcher,
recorder, reload loop and audit-head reads, its torch threads (`settings.threads`), its model
loads and refusals as audit events.

The parent supervises: SIGTERM or SIGINT is forwarded to every worker, each stops as uvicorn
does (no new connection, the requests in flight answered and recorded) and the parent returns
once all have exited 0. A worker that exits unasked stops the others (SIGKILL after
`GRACE_SECONDS`) and the parent fails naming the worker and its exit status.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

from qms.api.app import ApiSettings, create_app, uvicorn_server
from qms.api.catalogue import Catalogue
from qms.api.limits import Limits
from qms.errors import ExitCode, QmsError

__all__ = ["GRACE_SECONDS", "WorkerFailed", "serve_workers"]

GRACE_SECONDS = 30.0
"""How long the other workers may take to stop after one failed, before they are killed."""

_STOPS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1  # prctl(2)


class WorkerFailed(QmsError):
    """A worker of `qms api serve --workers` exited without being asked to: the service stopped."""

    exit_code = ExitCode.CHECK_FAILED


def _refuse_unsafe_fork() -> None:
    threads = threading.active_count()
    if threads > 1:
        raise QmsError(f"workers are forked only from a process running no other thread; {threads - 1} other(s) run",
                       where="qms api serve --workers",
                       hint="report this: something started a thread before the workers were forked")
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise QmsError("CUDA was started before the workers were forked; a forked process cannot use it",
                       where="qms api serve --workers", hint="report this; meanwhile serve with --workers 1")


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, as uvicorn binds one (address reuse, backlog 2048)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise QmsError(f"cannot listen on {host}:{port}: {exc.strerror}", where="--host/--port",
                       hint="choose another port, or stop the process using it") from exc


def _die_with(parent: int) -> None:
    """Have the kernel send SIGTERM to this worker when its parent dies (Linux), so no worker outlives its service."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _worker(catalogue: Catalogue, settings: ApiSettings, limits: Limits, sock: socket.socket, parent: int) -> NoReturn:
    """One worker's life (in the forked child): serve until asked to stop, then leave with its exit status; it never
    returns into the parent's code."""
    code = 1
    try:
        os.setpgid(0, 0)  # a terminal's Ctrl-C reaches the parent alone, which forwards it once
        _die_with(parent)
        catalogue.store.engine.dispose(close=False)  # no pooled connection shared with another process
        server = uvicorn_server(create_app(catalogue, settings, None, limits))

        def stop(_sig: int, _frame: FrameType | None) -> None:
            server.should_exit = True  # asked before uvicorn's own handlers are installed: stop once started

        for sig in _STOPS:
            signal.signal(sig, stop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
        server.run(sockets=[sock])
        code = 0
    except SystemExit as exc:  # uvicorn's exit when the application's start-up failed
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - the type only: a message may hold a request's data
        sys.stderr.write(f"qms api worker {os.getpid()}: internal error {type(exc).__name__}\n")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _status(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def serve_workers(catalogue: Catalogue, settings: ApiSettings, *, host: str, port: int, workers: int) -> None:
    """Serve on host:port from `workers` forked processes until SIGINT or SIGTERM; `WorkerFailed` when a worker
    exited unasked (or failed to stop), once every other has stopped."""
    _refuse_unsafe_fork()
    sock = listen(host, port)
    limits = Limits.across_processes(settings.rate, settings.burst, settings.concurrency)
    catalogue.store.engine.dispose()  # the parent's connections are closed, never inherited
    parent = os.getpid()
    live: dict[int, int] = {}  # pid -> worker number, from 1
    sys.stdout.flush()
    sys.stderr.flush()  # nothing buffered here is written again by a worker
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)  # until the handlers below are in place, here and in each child
    previous = {sig: signal.getsignal(sig) for sig in _STOPS}
    asked = False

    def forward(sig: int, _frame: FrameType | None) -> None:
        nonlocal asked
        asked = True
        for pid in list(live):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    try:
        for number in range(1, workers + 1):
            pid = os.fork()
            if pid == 0:
                _worker(catalogue, settings, limits, sock, parent)
            live[pid] = number
        for sig in _STOPS:
            signal.signal(sig, forward)
    except BaseException:  # a fork refused: the workers already started stop, as on SIGTERM
        forward(signal.SIGTERM, None)
        raise
    finally:
        sock.close()  # the workers' copies listen: once they have closed theirs, a new connection is refused at once
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
    try:
        failures = _supervise(live, lambda: asked, lambda: forward(signal.SIGTERM, None))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failures:
        raise WorkerFailed("the service stopped: " + "; ".join(failures), where="qms api serve --workers",
                           hint="each worker's own output above says why; the requests answered are recorded")


def _supervise(live: dict[int, int], asked: Callable[[], bool], stop_all: Callable[[], None]) -> list[str]:
    """Wait for every worker; the failures, each naming its worker and exit status."""
    failures: list[str] = []
    deadline: float | None = None
    while live:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if deadline is not None and time.monotonic() > deadline:
                for other in list(live):
                    os.kill(other, signal.SIGKILL)
                deadline = None
            time.sleep(0.1)
            continue
        number = live.pop(pid, None)
        if number is None:
            continue
        code = os.waitstatus_to_exitcode(status)
        if code != 0 or not asked():
            failures.append(f"worker {number} (pid {pid}) {_status(code)}{'' if asked() else ' while serving'}")
            if not asked():
                stop_all()
                deadline = time.monotonic() + GRACE_SECONDS
    return failures

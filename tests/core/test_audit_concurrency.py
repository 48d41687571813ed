"""Concurrent writers never fork the audit chain: 8 processes x 200 appends each."""

from __future__ import annotations

import multiprocessing as mp

from qms import audit
from qms.store import open_store

PROCESSES = 8
APPENDS = 200


def _writer(url: str, worker: int, start: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    store = open_store(url)
    start.wait()
    for i in range(APPENDS):
        audit.record(store, audit.EventSpec(f"writer{worker}", "load.append", f"obj:{worker}:{i}"))
    store.dispose()


def test_concurrent_appends_form_one_chain(store_url: str) -> None:
    """Eight processes appending at once leave one unbroken chain holding every event exactly once."""
    open_store(store_url).dispose()  # create and migrate before the writers race
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    workers = [ctx.Process(target=_writer, args=(store_url, w, start)) for w in range(PROCESSES)]
    for p in workers:
        p.start()
    start.set()
    for p in workers:
        p.join(timeout=300)
        assert p.exitcode == 0
    store = open_store(store_url)
    try:
        report = audit.verify(store)
        assert report.intact, report.first_break
        assert report.events == PROCESSES * APPENDS
        objects = [e.object for e in audit.log(store, action="load.append")]
        assert len(set(objects)) == PROCESSES * APPENDS
    finally:
        store.dispose()

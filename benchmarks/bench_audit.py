"""Audit trail: append N chained events and verify them, against plain inserts of the same rows.

    python benchmarks/bench_audit.py [--events 1000000]

Both sides go through the same driver executemany path into the same table layout in
a fresh SQLite file; the baseline writes the same rows without computing the chain.
Times are CPU seconds of this process (SQLite runs in-process), so a busy shared
machine slows both sides alike. Goals (issue #7): chaining costs < 2x plain inserts; verify runs at > 200,000 events/s.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from qms import audit
from qms.hashing import canonical_json
from qms.store import open_store

CHUNK = 50_000


def _specs(n: int) -> Iterator[audit.EventSpec]:
    for i in range(n):
        yield audit.EventSpec("bench.user", "record.create", f"record:{i}", after=f"{i:064x}", details={"i": i})


def plain_inserts(url: str, n: int) -> float:
    """The baseline: the same rows, inserted in the same chunks, with no chain."""
    store = open_store(url)
    sql = f"INSERT INTO audit_event ({', '.join(audit._COLUMNS)}) VALUES ({', '.join('?' * len(audit._COLUMNS))})"
    start = time.process_time()
    with store.transaction() as session:
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        rows = []
        for seq, spec in enumerate(_specs(n), start=1):
            rows.append((seq, audit._now(), spec.actor, spec.action, spec.object, None, spec.after,
                         canonical_json(spec.details).decode(), "", str(seq)))
            if len(rows) >= CHUNK:
                cursor.executemany(sql, rows)
                rows = []
        if rows:
            cursor.executemany(sql, rows)
    elapsed = time.process_time() - start
    store.dispose()
    return elapsed


def chained(url: str, n: int) -> tuple[float, float]:
    store = open_store(url)
    start = time.process_time()
    audit.append_many(store, _specs(n), chunk=CHUNK)
    append_s = time.process_time() - start
    start = time.process_time()
    report = audit.verify(store)
    verify_s = time.process_time() - start
    assert report.intact and report.events == n, report
    store.dispose()
    return append_s, verify_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.events
    plain, appends, verifies = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            plain.append(plain_inserts(f"sqlite:///{Path(tmp) / 'plain.db'}", n))
            append_s, verify_s = chained(f"sqlite:///{Path(tmp) / 'chain.db'}", n)
            appends.append(append_s)
            verifies.append(verify_s)
    plain_s, append_s, verify_s = (statistics.median(x) for x in (plain, appends, verifies))
    ratios = sorted(a / p for a, p in zip(appends, plain, strict=True))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, SQLite file")
    print(f"events:                 {n:,} x {args.repeats} runs (medians; CPU seconds of this process)")
    print(f"plain inserts:          {n / plain_s:12,.0f} events/s  ({plain_s:.2f} s)")
    print(f"chained appends:        {n / append_s:12,.0f} events/s  ({append_s:.2f} s)")
    print(f"chain cost vs plain:    {statistics.median(ratios):12.2f} x   (per run: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}; goal < 2x)")
    print(f"verify:                 {n / verify_s:12,.0f} events/s  ({verify_s:.2f} s, goal > 200,000/s)")
    print(f"peak memory:            {peak_mb:12.0f} MB")


if __name__ == "__main__":
    main()

"""The seal every recording command pays when it ends (`checkpoint_log.after_recording`), in CPU ms.

    python benchmarks/bench_seal.py [--events 80] [--lines 55] [--repeat 15]

A fresh SQLite store with `--events` events and a checkpoint log of `--lines` lines (the released
demo holds about 80 and 55); each round opens (attaches) the store, appends one `test.run` event and
seals it. Times are CPU seconds of this process (SQLite runs in-process). The seal re-verifies the
whole chain and every line of the log, so it grows with both.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from qms import audit, checkpoint_log
from qms.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=80)
    parser.add_argument("--lines", type=int, default=55)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, records = Path(tmp) / "home", Path(tmp) / "records"
        store = open_store(f"sqlite:///{Path(tmp) / 'qms.db'}")
        audit.append_many(store, (audit.EventSpec("bench", "record.create", f"record:{i}")
                                  for i in range(max(args.events - args.lines, 0))))
        for i in range(args.lines):
            audit.record(store, audit.EventSpec("bench", "record.create", f"line:{i}"))
            checkpoint_log.seal(store, home / "checkpoint-key.pem", records / checkpoint_log.LOG_FILE)
        opens, seals = [], []
        for i in range(args.repeat):
            start = time.process_time()
            checkpoint_log.attach(store, home, records)
            opens.append(time.process_time() - start)
            audit.record(store, audit.EventSpec("bench", "test.run", f"test-run:{i}"))
            start = time.process_time()
            checkpoint_log.after_recording(store)
            seals.append(time.process_time() - start)
        store.dispose()
    print(f"{args.events} events, {args.lines}+ log lines: seal {statistics.median(seals) * 1000:.1f} ms CPU "
          f"(min {min(seals) * 1000:.1f}), attach {statistics.median(opens) * 1000:.2f} ms CPU (median of {args.repeat})")


if __name__ == "__main__":
    main()

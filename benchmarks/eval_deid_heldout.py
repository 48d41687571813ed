"""Recall of `qms deid dicom` and `qms deid verify` on the second held-out DICOM corpus (tests/deid_heldout).

    python benchmarks/eval_deid_heldout.py --seed 20261206 --files 120

Generates the corpus (synthetic PHI in other countries' name orders, scripts, date, id, phone and
address formats; SR trees, private tags, nested sequences, overlays, graphics, burned-in text),
de-identifies it with the default options (one worker), runs verify against the sources, and prints
per category (where the value was planted, and its kind): values planted, recall (share removed),
survivors, survivors verify flagged, and survivors verify called clean. Also the batch's CPU time per
file (process time of this process, generation and verify excluded) and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the corpus lives under tests/

from qms.deid.options import DeidOptions  # noqa: E402
from qms.deid.pipeline import run_batch  # noqa: E402
from qms.deid.verify import verify  # noqa: E402
from tests.deid_heldout.corpus import generate  # noqa: E402
from tests.deid_heldout.score import KEY, outcomes, recall  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--files", type=int, default=120)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        planted = generate(args.seed, root / "in", args.files)
        cpu = time.process_time()
        run_batch(root / "in", root / "out", KEY, DeidOptions())
        cpu = time.process_time() - cpu
        report = verify(root / "out", root / "in")
        results = outcomes(root / "in", root / "out", planted, report)
    print(f"seed {args.seed}, {args.files} files, {len(results)} planted values; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; batch CPU {1000 * cpu / args.files:.1f} ms/file")
    total = [0, 0, 0]
    for by in ("where", "kind"):
        print(f"\n| {by} | planted | recall | survived | verify flagged | verify called clean |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, (n, removed, flagged) in recall(results, by).items():
            print(f"| {name} | {n} | {removed / n:.3f} | {n - removed} | {flagged} | {n - removed - flagged} |")
            if by == "where":
                total = [total[0] + n, total[1] + removed, total[2] + flagged]
    n, removed, flagged = total
    print(f"\nall: {n} planted, recall {removed / n:.3f}, {n - removed} survived, {flagged} flagged, "
          f"{n - removed - flagged} called clean")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

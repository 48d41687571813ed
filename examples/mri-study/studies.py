"""Index each de-identified study and write the dataset manifests, one entry per study (its study index).

A study model's case is a study: `study.json` lists every slice of every sequence with its
sha256 (`qms.models.study.write_index`), so the manifest's hash of the index covers each
slice. The patient and study pseudonyms and the subgroup attributes are read from each
study's first T1 slice through the validation library, as for any DICOM dataset.

    python studies.py data/deid data/raw/labels.csv data/manifests
"""

from __future__ import annotations

import csv
import sys
import tempfile
from dataclasses import replace
from pathlib import Path, PurePosixPath

from qms.atomic import write_text
from qms.hashing import sha256_file
from qms.models.study import write_index
from qms.validation.dataset import create_manifest

SEQUENCES = ("T1", "T2", "FLAIR")


def main(deid: Path, labels: Path, out: Path) -> None:
    rows = list(csv.DictReader(labels.open(encoding="utf-8")))
    first_slice = {}
    for row in rows:
        study = deid / PurePosixPath(row["file"]).parent
        write_index(study, SEQUENCES)
        first_slice[row["file"]] = (study / "T1").relative_to(deid).as_posix() + "/" + sorted(
            p.name for p in (study / "T1").glob("*.dcm"))[0]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        keyed = Path(tmp) / "labels-by-slice.csv"
        with keyed.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({**r, "file": first_slice[r["file"]]} for r in rows)
        study_of = {v: k for k, v in first_slice.items()}
        for split in ("train", "test"):
            manifest = create_manifest(deid, keyed, split=split, name=f"mri-study-{split}")
            entries = tuple(replace(e, file=study_of[e.file], sha256=sha256_file(deid / study_of[e.file]))
                            for e in manifest.entries)
            write_text(out / f"{split}.json", replace(manifest, entries=entries).dumps())
            print(f"{split}: {len(entries)} studies -> {out / f'{split}.json'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))

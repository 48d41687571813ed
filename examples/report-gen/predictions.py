"""The text predictions a report-generation protocol reads: each generated report beside its reference.

Joins the reports `qms model generate` wrote (case_id, patient_id, generated) with the reference
reports (reports.csv) and the manifest's site, into the columns `qms.validation.textpredictions`
reads: case_id, patient_id, generated, reference, has_prior, site.

    python predictions.py data/generated.csv data/raw/reports.csv data/manifests/test.json data/text-predictions.csv
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from qms.atomic import write_text
from qms.validation.manifest import DatasetManifest


def main(generated: Path, reports: Path, manifest_path: Path, out: Path) -> None:
    references = {r["file"]: r for r in csv.DictReader(reports.open(encoding="utf-8"))}
    site = {e.file: e.attributes.get("site") for e in DatasetManifest.from_file(manifest_path).entries}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["case_id", "patient_id", "generated", "reference", "has_prior", "site"])
    for row in csv.DictReader(generated.open(encoding="utf-8")):
        ref = references[row["case_id"]]
        writer.writerow([row["case_id"], row["patient_id"], row["generated"], ref["reference"], ref["has_prior"],
                         site[row["case_id"]]])
    write_text(out, buffer.getvalue())
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:5]))

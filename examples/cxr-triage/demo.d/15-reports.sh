# Report text: synthetic radiology reports (with synthetic PHI) for the demo's patients, de-identified with
# the same key as the DICOM step, so each report's dates move exactly as its patient's images' dates do.
KEY="$DEMO_OUT/demo-deid.key"
# DEMO ONLY: a fixed key, so the synthetic example gives the same pseudonyms, patient split
# and model on every run. A real project makes its key with `qms deid keygen KEYFILE` and
# keeps it outside the repository.
[ -f "$KEY" ] || python -c 'import hashlib; print(hashlib.sha256(b"qmskit cxr-triage demo key: synthetic data only").hexdigest())' > "$KEY"
python - <<'PY'
import json
from pathlib import Path

import pydicom

from qms.deid.text import synth

raw = Path("data/reports_raw")
raw.mkdir(parents=True, exist_ok=True)
# The demo's patients, from the raw DICOM step; our own synthetic ones when it has not run.
patients = sorted({str(pydicom.dcmread(p, stop_before_pixels=True).PatientID)
                   for p in sorted(Path("data/raw").rglob("*.dcm"))[:40]}) if Path("data/raw").is_dir() else []
reports = synth.generate(20261215, 24)
patients = (patients or [r.patient_id for r in reports])[:12]
for i, report in enumerate(reports[:12]):
    (raw / f"report-{i:02d}.txt").write_text(f"PatientID: {patients[i % len(patients)]}\n{report.text}")
with (raw / "reports.jsonl").open("w") as f:
    for i, report in enumerate(reports[12:]):
        f.write(json.dumps({"patient_id": patients[i % len(patients)], "report": report.text}) + "\n")
PY
qms deid reports data/reports_raw data/reports_deid --key-file "$KEY"
first=$(ls data/reports_deid/*.txt | head -n1)
echo "--- a de-identified report (surrogates in place of every identifier):"
head -n 12 "$first"
echo "OUTPUT: raw synthetic reports (with synthetic PHI): $PWD/data/reports_raw"
echo "OUTPUT: de-identified reports: $PWD/data/reports_deid"
echo "OUTPUT: report de-identification manifest: $PWD/data/reports_deid/reports-manifest.json"

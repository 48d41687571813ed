# De-identify the raw synthetic DICOM (PS3.15 Annex E Basic Profile with the project's options) into
# data/deid, mirroring data/raw's relative paths (labels.csv stays keyed by them), with the demo key;
# then search every output for every source identifier. Step 15 (reports) uses the same key.
KEY="$DEMO_OUT/demo-deid.key"
# DEMO ONLY: a fixed key, so the synthetic example gives the same pseudonyms, patient split
# and model on every run. A real project makes its key with `qms deid keygen KEYFILE` and
# keeps it outside the repository.
[ -f "$KEY" ] || python -c 'import hashlib; print(hashlib.sha256(b"qmskit cxr-triage demo key: synthetic data only").hexdigest())' > "$KEY"
qms deid dicom data/raw data/deid --key-file "$KEY" --exclude labels.csv --workers 2 --json > "$DEMO_OUT/deid-batch.json"
python - "$DEMO_OUT/deid-batch.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  de-identified {r['processed']} files ({r['skipped']} already done), quarantined {len(r['quarantined'])}, key {r['key_id']}")
for q in r["quarantined"]:
    print(f"  quarantined {q['quarantine']}: {q['reason'].splitlines()[0]}")
PY
qms deid verify data/deid --against data/raw --json > "$DEMO_OUT/deid-verify.json"
python - "$DEMO_OUT/deid-verify.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  verify: {r['files_checked']} files checked, {len(r['leaks'])} leaks")
PY
echo "OUTPUT: de-identified DICOM: $PWD/data/deid"
echo "OUTPUT: de-identification manifest: $PWD/data/deid/deid-manifest.jsonl"
echo "OUTPUT: de-identification batch report (JSON): $DEMO_OUT/deid-batch.json"
echo "OUTPUT: residual-PHI verification (JSON): $DEMO_OUT/deid-verify.json"

# De-identify the images into data/deid (mirroring the raw paths) and search the outputs for PHI.
KEY="$DEMO_OUT/demo-deid.key"
# DEMO ONLY: a fixed key; a real project makes one with `qms deid keygen KEYFILE` outside the repository.
[ -f "$KEY" ] || python -c 'import hashlib; print(hashlib.sha256(b"qmskit report-gen demo key: synthetic data only").hexdigest())' > "$KEY"
qms deid dicom data/raw data/deid --key-file "$KEY" --exclude labels.csv --exclude reports.csv --json > "$DEMO_OUT/deid-batch.json"
qms deid verify data/deid --against data/raw --json > "$DEMO_OUT/deid-verify.json"
python -c 'import json, sys; r = json.load(open(sys.argv[1])); print("verify:", r["files_checked"], "files,", len(r["leaks"]), "leaks"); sys.exit(1 if r["leaks"] else 0)' "$DEMO_OUT/deid-verify.json"

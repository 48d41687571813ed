# De-identify every slice (PS3.15 Annex E with the project's options) into data/deid, mirroring the
# raw paths, then search every output for every source identifier.
KEY="$DEMO_OUT/demo-deid.key"
# DEMO ONLY: a fixed key; a real project makes one with `qms deid keygen KEYFILE` outside the repository.
[ -f "$KEY" ] || python -c 'import hashlib; print(hashlib.sha256(b"qmskit mri-study demo key: synthetic data only").hexdigest())' > "$KEY"
qms deid dicom data/raw data/deid --key-file "$KEY" --exclude labels.csv --workers 2 --json > "$DEMO_OUT/deid-batch.json"
qms deid verify data/deid --against data/raw --json > "$DEMO_OUT/deid-verify.json"
python -c 'import json, sys; r = json.load(open(sys.argv[1])); print("verify:", r["files_checked"], "files,", len(r["leaks"]), "leaks"); sys.exit(1 if r["leaks"] else 0)' "$DEMO_OUT/deid-verify.json"
echo "OUTPUT: de-identified studies: $PWD/data/deid"

# Lock the study-level protocol with the model and test-manifest hashes (signed by the approver), then
# run it exactly as locked.
printf '%s\n' demo-approver-passphrase | qms protocol lock protocols/VAL-STUDY-001.yaml --sign --user demo.approver
mkdir -p "$DEMO_OUT/validation"
qms validate run protocols/VAL-STUDY-001.yaml --out "$DEMO_OUT/validation" --json > "$DEMO_OUT/validation/VAL-STUDY-001.json"
python -c 'import json, sys; r = json.load(open(sys.argv[1])); print("verdict", r["verdict"], [(e["id"], round(e["estimate"], 3)) for e in r["endpoints"]])' "$DEMO_OUT/validation/VAL-STUDY-001.json"
echo "OUTPUT: VAL-STUDY-001 result (JSON): $DEMO_OUT/validation/VAL-STUDY-001.json"

# Lock the generated-report protocol with the adapter and test-manifest hashes (signed by the approver),
# then run it exactly as locked: the run reads the text predictions (it does not score images with a
# generator) and judges the report-generation endpoints.
printf '%s\n' demo-approver-passphrase | qms protocol lock protocols/VAL-REPORT-001.yaml --sign --user demo.approver
qms protocol show
mkdir -p "$DEMO_OUT/validation"
qms validate run protocols/VAL-REPORT-001.yaml --out "$DEMO_OUT/validation" --json > "$DEMO_OUT/validation/VAL-REPORT-001.json"
python -c 'import json, sys; r = json.load(open(sys.argv[1])); print("verdict", r["verdict"], [(e["id"], e["estimate"] and round(e["estimate"], 3)) for e in r["report_generation"]["endpoints"]])' "$DEMO_OUT/validation/VAL-REPORT-001.json"
echo "OUTPUT: VAL-REPORT-001 result (JSON): $DEMO_OUT/validation/VAL-REPORT-001.json"
# Validation passed: the adapter version is frozen as the release candidate.
qms model stage report-gen-site-b@1.0.0 staging --reason "release candidate 1.0.0: VAL-REPORT-001 passed"

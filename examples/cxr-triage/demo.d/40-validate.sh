# Lock the performance and bias protocols (frozen with the model and test-manifest hashes,
# before any run; the approver e-signs each lock, passphrase piped as 03-identities.sh
# describes), run each exactly as locked (VAL-PERF-001 also runs the model a second time on 64 cases for
# repeatability), and show the recorded results.
for p in VAL-PERF-001 VAL-BIAS-001; do
  printf '%s\n' demo-approver-passphrase | qms protocol lock "protocols/$p.yaml" --sign --user demo.approver
done
qms protocol show

mkdir -p "$DEMO_OUT/validation"
for p in VAL-PERF-001 VAL-BIAS-001; do
  status=0
  qms validate run "protocols/$p.yaml" --out "$DEMO_OUT/validation" --json > "$DEMO_OUT/validation/$p.json" || status=$?
  [ "$status" -le 1 ] || { cat "$DEMO_OUT/validation/$p.json" >&2; exit "$status"; }
  run=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$DEMO_OUT/validation/$p.json")
  qms validate show "$run"
  echo "OUTPUT: $p result (JSON): $DEMO_OUT/validation/$p.json"
  echo "OUTPUT: $p plots and predictions: $DEMO_OUT/validation/$run"
  [ "$status" -eq 0 ] || echo "$p: verdict FAIL (recorded; the release gate will refuse this model version)"
done
qms validate show

# Design controls of an example device project, the sequence of examples/cxr-triage/demo.d/50-trace.sh:
# commit the project (test results count only for a commit on a clean tree), run the device's tests
# through the qmskit plugin, then the trace matrix and its gaps.
# Sourced by an example's demo.d step in the project folder.
. "$(dirname "${BASH_SOURCE[0]}")/commit.sh" "demo: design and tests"
qms test -- -q -p no:randomly -p no:cacheprovider
qms trace --json > "$DEMO_OUT/trace.json"
python -c 'import json, sys; t = json.load(open(sys.argv[1])); print("trace:", t["summary"], len(t["gaps"]), "gaps"); sys.exit(1 if t["gaps"] else 0)' "$DEMO_OUT/trace.json"
echo "OUTPUT: trace matrix (JSON): $DEMO_OUT/trace.json"

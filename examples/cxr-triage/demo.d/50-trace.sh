# Design controls: run the device's tests at a commit, then the trace matrix and its gaps.
# The project is committed first (shared with the other examples: ../common/commit.sh).
. "$(dirname "${BASH_SOURCE[0]}")/../../common/commit.sh" "demo: design and tests under review"
echo "commit $(git rev-parse --short HEAD)"

qms test -- -q -p no:randomly -p no:cacheprovider --qms-report="$DEMO_OUT/test-run.json"
echo "OUTPUT: test run (JSON): $DEMO_OUT/test-run.json"

# One call: the readable matrix is shown from the JSON's summary, the page is for reviewers.
qms trace --html "$DEMO_OUT/trace.html" --json > "$DEMO_OUT/trace.json"
python -c 'import json, sys; t = json.load(open(sys.argv[1])); print("trace at", (t["head"] or "")[:12], "passed:", t["passed"], t["summary"], len(t["gaps"]), "gaps")' "$DEMO_OUT/trace.json"
echo "OUTPUT: trace matrix (HTML): $DEMO_OUT/trace.html"
echo "OUTPUT: trace matrix (JSON): $DEMO_OUT/trace.json"

# Design controls: run the device's tests at a commit, then the trace matrix and its gaps.
# The project copy becomes (or stays) a git repository, and its state is committed first:
# test results count as evidence only for a commit, on a clean tree.
# (Only a repository rooted here: the copy may sit inside another checkout.) Generated data,
# model files and records are ignored, as a device team ignores them.
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" != "$(pwd -P)" ]; then
  git init -q
fi
for ignored in .qms/ __pycache__/ .pytest_cache/ out/ data/ models/; do
  grep -qxF "$ignored" .gitignore 2>/dev/null || echo "$ignored" >> .gitignore
done
git add -A
git -c user.name="$QMS_USER" -c user.email="$QMS_USER@example.invalid" commit -q --allow-empty -m "demo: design and tests under review"
echo "commit $(git rev-parse --short HEAD)"

qms test -- -q -p no:randomly -p no:cacheprovider --qms-report="$DEMO_OUT/test-run.json"
echo "OUTPUT: test run (JSON): $DEMO_OUT/test-run.json"

# One call: the readable matrix is shown from the JSON's summary, the page is for reviewers.
qms trace --html "$DEMO_OUT/trace.html" --json > "$DEMO_OUT/trace.json"
python -c 'import json, sys; t = json.load(open(sys.argv[1])); print("trace at", (t["head"] or "")[:12], "passed:", t["passed"], t["summary"], len(t["gaps"]), "gaps")' "$DEMO_OUT/trace.json"
echo "OUTPUT: trace matrix (HTML): $DEMO_OUT/trace.html"
echo "OUTPUT: trace matrix (JSON): $DEMO_OUT/trace.json"

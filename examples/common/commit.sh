# Commit the example project as it stands: test results count as evidence only for a commit, on a
# clean tree. The project copy becomes (or stays) a git repository of its own (it may sit inside
# another checkout); generated data, model files and records are ignored, as a device team ignores them.
# Sourced with the commit message as $1, in the project folder (by common/trace.sh and cxr-triage's 50-trace.sh).
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" != "$(pwd -P)" ]; then
  git init -q
fi
for ignored in .qms/ __pycache__/ .pytest_cache/ out/ data/ models/; do
  grep -qxF "$ignored" .gitignore 2>/dev/null || echo "$ignored" >> .gitignore
done
git add -A
git -c user.name="$QMS_USER" -c user.email="$QMS_USER@example.invalid" commit -q --allow-empty -m "$1"

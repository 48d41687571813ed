# The signed release of an example device project, the working sequence of docs/tutorial.md: the
# gate passes, the author releases (evidence documents signed), the reviewer and the approver sign,
# and the bundle verifies offline against the organisation CA and its revocation list.
# Sourced by each example's demo.d/70-release.sh, after its identities step, in the committed project
# folder; sets VERSION (release-plan.yaml's) for what the example adds after it.
VERSION=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' release-plan.yaml)
# The gate: one verdict, every gap named (shown in full when it fails).
qms verify --json > "$DEMO_OUT/verdict.json" || { qms verify; exit 1; }
python -c 'import json, sys; v = json.load(open(sys.argv[1])); print("gate:", v["verdict"], len(v["findings"]), "findings")' "$DEMO_OUT/verdict.json"
echo "OUTPUT: gate verdict (JSON): $DEMO_OUT/verdict.json"
QMS_CA_PASSPHRASE=demo-ca-passphrase qms ca crl --out "$DEMO_OUT/organisation.crl"
printf '%s\n' demo-author-passphrase | qms release "$VERSION" --user demo.author
printf '%s\n' demo-reviewer-passphrase | qms release sign "$VERSION" --meaning reviewed --user demo.reviewer
printf '%s\n' demo-approver-passphrase | qms release sign "$VERSION" --meaning approved --user demo.approver
BUNDLE=".qms/releases/$VERSION-bundle.zip"
qms bundle verify "$BUNDLE" --json > "$DEMO_OUT/bundle-verify.json" || { qms bundle verify "$BUNDLE"; exit 1; }
python -c 'import json, sys; b = json.load(open(sys.argv[1])); print("bundle", b["release"], "verified:", b["ok"], b["files"], "files,", len(b["signatures"]), "signatures")' "$DEMO_OUT/bundle-verify.json"
cp "$BUNDLE" "$DEMO_OUT/"
echo "OUTPUT: submission bundle: $DEMO_OUT/$VERSION-bundle.zip"
echo "OUTPUT: bundle verification (JSON): $DEMO_OUT/bundle-verify.json"

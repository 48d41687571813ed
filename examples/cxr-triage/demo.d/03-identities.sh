# Identities (21 CFR Part 11 §11.100): a self-managed organisation CA and four signers.
# Demo passphrases only, set here so the demo runs unattended. A person's passphrase is
# typed at every signing; later steps pipe it on stdin, e.g.
#   printf '%s\n' demo-approver-passphrase | qms sign FILE --meaning approved --user demo.approver
# The CI service identity signs non-interactively from a passphrase file:
#   QMS_SIGNING_PASSPHRASE_FILE="$QMS_HOME/ci.release.passphrase" qms sign ... --user ci.release
export QMS_CA_PASSPHRASE=demo-ca-passphrase
qms ca init --organisation "Example Imaging AI Ltd (synthetic example)"

enrol() {  # user id, printed name, role
  QMS_NEW_PASSPHRASE="demo-${1#demo.}-passphrase" qms user add "$1" --name "$2" --role "$3"
}
enrol demo.author "Ada Author" engineer
enrol demo.reviewer "Rui Reviewer" quality
enrol demo.approver "Amara Approver" regulatory
QMS_NEW_PASSPHRASE=demo-ci-release-passphrase qms user add ci.release --name "CI release pipeline" --role service
# From now on every recorded action names an identity unlocked with its passphrase (21 CFR 11.10(e)),
# never QMS_USER: the engineer unlocks once for the demo's session (CI: `qms session unlock ci.release`
# with QMS_SIGNING_PASSPHRASE_FILE set). Signatures still ask for the signer's passphrase each time.
printf '%s\n' demo-author-passphrase | qms session unlock demo.author --minutes 240
# The organisation's time-stamping authority (key and certificate issued by the CA): every
# signature gets a trusted RFC 3161 time, so a later revocation cannot be backdated around.
qms ca issue-tsa
printf '\n[tool.qms.signing]\ntsa = "local"  # RFC 3161 timestamps from the organisation TSA in QMS_HOME\n' >> qms.toml
( umask 077; printf '%s\n' demo-ci-release-passphrase > "$QMS_HOME/ci.release.passphrase" )
unset QMS_CA_PASSPHRASE

# The signing roster (signing-roster.yaml: who may sign what) is approved by a quality person it names;
# releases, the gate and `qms bundle verify` judge every signature by it.
printf '%s\n' demo-reviewer-passphrase | qms roster approve --user demo.reviewer
qms roster show

qms user list --json > "$DEMO_OUT/identities.json"
python - "$DEMO_OUT/identities.json" <<'PY'
import json, sys
for u in json.load(open(sys.argv[1])):
    print(f"  {u['user_id']:<14} {u['name']:<20} {u['role']:<10} certificate {u['certificate'][:16]}")
PY
cp "$QMS_HOME/ca/ca.cert.pem" "$DEMO_OUT/organisation-ca.pem"

# One signature to show the round trip: the reviewer signs a copy of the device configuration
# (intended use, safety class); the detached signature lands beside it.
cp qms.toml "$DEMO_OUT/device-config.toml"
printf '%s\n' demo-reviewer-passphrase | qms sign "$DEMO_OUT/device-config.toml" --meaning reviewed --user demo.reviewer --object config:qms.toml
qms verify-signature "$DEMO_OUT/device-config.toml"
echo "OUTPUT: signer identities (JSON): $DEMO_OUT/identities.json"
echo "OUTPUT: organisation CA certificate: $DEMO_OUT/organisation-ca.pem"
echo "OUTPUT: signed device configuration: $DEMO_OUT/device-config.toml.sig.json"

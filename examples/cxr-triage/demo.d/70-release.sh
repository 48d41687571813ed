# Release 1.0.0: the gate, the evidence documents signed by author, reviewer and approver,
# the signed bundle verified offline, and the model promoted to production.
# The signers are the demo identities of 03-identities.sh; their demo passphrases are piped
# on stdin, as a person would type them at each signing.
VERSION=1.0.0

qms verify
qms verify --json > "$DEMO_OUT/verdict.json"
echo "OUTPUT: gate verdict (JSON): $DEMO_OUT/verdict.json"

# A CA-signed revocation list (CRL): signatures embed it (PAdES B-LT) and the bundle carries it,
# so everything verifies offline against the revocations current at release.
QMS_CA_PASSPHRASE=demo-ca-passphrase qms ca crl --out "$DEMO_OUT/organisation.crl"

printf '%s\n' demo-author-passphrase | qms release "$VERSION" --user demo.author
printf '%s\n' demo-reviewer-passphrase | qms release sign "$VERSION" --meaning reviewed --user demo.reviewer
printf '%s\n' demo-approver-passphrase | qms release sign "$VERSION" --meaning approved --user demo.approver

BUNDLE=".qms/releases/$VERSION-bundle.zip"
qms bundle verify "$BUNDLE"
pdfsig ".qms/releases/$VERSION/documents/validation-report.pdf" | grep -E "Signer Certificate Common Name|Signature Validation"
cp "$BUNDLE" "$DEMO_OUT/"
echo "OUTPUT: signed documents (PDF/A-3b): $PWD/.qms/releases/$VERSION/documents"
echo "OUTPUT: submission bundle: $DEMO_OUT/$VERSION-bundle.zip"

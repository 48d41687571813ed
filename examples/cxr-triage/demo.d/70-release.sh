# Release 1.0.0 (release-plan.yaml): `qms verify`, the release authored, reviewed and approved by the
# identities of 03-identities.sh, and the signed bundle verified offline (shared by the examples: ../common).
. "$(dirname "${BASH_SOURCE[0]}")/../../common/release.sh"
# The evidence documents carry PAdES signatures any PDF reader checks, not only qmskit.
pdfsig ".qms/releases/$VERSION/documents/validation-report.pdf" | grep -E "Signer Certificate Common Name|Signature Validation"
echo "OUTPUT: signed documents (PDF/A-3b): $PWD/.qms/releases/$VERSION/documents"

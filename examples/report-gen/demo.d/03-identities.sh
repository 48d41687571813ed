# Identities before any evidence: the organisation CA, author, reviewer and approver, the TSA, the
# approved signing roster, and the author's unlocked session (shared by the examples: ../common).
. "$(dirname "${BASH_SOURCE[0]}")/../../common/identities.sh"

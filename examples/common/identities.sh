# Identities of an example device project (21 CFR Part 11 §11.100), the working sequence of
# examples/cxr-triage/demo.d/03-identities.sh and docs/tutorial.md: a self-managed organisation CA,
# three signers (author, reviewer, approver: distinct people), the organisation's time-stamping
# authority, the project's signing roster approved by its quality person, and the author's session.
# Sourced by an example's demo.d step, in the project folder, with QMS_HOME and DEMO_OUT set.
# DEMO ONLY: fixed passphrases, piped so the demo runs unattended; a person types theirs at each prompt.
export QMS_CA_PASSPHRASE=demo-ca-passphrase
qms ca init --organisation "$(python -c 'import tomllib; print(tomllib.load(open("qms.toml", "rb"))["tool"]["qms"]["manufacturer"])')"
QMS_NEW_PASSPHRASE=demo-author-passphrase qms user add demo.author --name "Ada Author" --role engineer
QMS_NEW_PASSPHRASE=demo-reviewer-passphrase qms user add demo.reviewer --name "Rui Reviewer" --role quality
QMS_NEW_PASSPHRASE=demo-approver-passphrase qms user add demo.approver --name "Amara Approver" --role regulatory
# From now on every recorded action names an identity unlocked with its passphrase (21 CFR 11.10(e)).
printf '%s\n' demo-author-passphrase | qms session unlock demo.author --minutes 240
# Every signature gets a trusted RFC 3161 time from the organisation's TSA (issued by the CA).
qms ca issue-tsa
grep -q '^\[tool.qms.signing\]' qms.toml \
  || printf '\n[tool.qms.signing]\ntsa = "local"  # RFC 3161 timestamps from the organisation TSA in QMS_HOME\n' >> qms.toml
unset QMS_CA_PASSPHRASE
# The signing roster (signing-roster.yaml: who may sign what), approved by the quality person it names.
printf '%s\n' demo-reviewer-passphrase | qms roster approve --user demo.reviewer
qms roster show

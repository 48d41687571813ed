# Design controls: commit the project, run the device's tests (traced to design/: needs, requirements,
# hazards, risk controls) through the qmskit plugin, then the trace matrix: no gaps (shared: ../common).
. "$(dirname "${BASH_SOURCE[0]}")/../../common/trace.sh"

# The project's record store.
qms store migrate
echo "OUTPUT: record store: $PWD/.qms/qms.db"

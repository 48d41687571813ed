# Create this project copy's record store and show where it is.
qms store migrate
qms store info
echo "OUTPUT: record store: $PWD/.qms/qms.db"

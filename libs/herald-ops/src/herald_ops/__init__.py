"""herald-ops: the operator CLI of Herald (`herald-ops --help`)."""

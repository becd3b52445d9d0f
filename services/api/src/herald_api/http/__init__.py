"""The HTTP layer shared by every face: problem+json and JSON helpers, auth, request context,
idempotency, keyset paging, observability, and the OpenAPI document (route table, wire models,
reference page)."""

"""Service-agnostic test helpers: the real broker and database on loopback, receivers, stand-ins,
`ApiClient`, polling. No service is imported here; tests/support runs the services in-process."""

"""Test helpers: the real broker and database on loopback, receivers, polling."""

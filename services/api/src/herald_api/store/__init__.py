"""Postgres: the stores, the transactional outbox, and the migrations with their runner."""

"""Integration tests: one real Kafka 4.x broker (and Postgres on demand) per test session.

The fixtures (`infra`, `kafka_settings`, `postgres_url`, `producer`, `api`, `http`, `receiver`,
`unique`) come from `herald_testing.fixtures`, registered in tests/conftest.py.
"""

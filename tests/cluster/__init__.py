"""Ledger runs on a three-broker Kafka cluster (see conftest.py)."""

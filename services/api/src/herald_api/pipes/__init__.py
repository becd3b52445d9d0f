"""Kafka pipes: the outbox relay, the directory and command consumers, delivery queue and
results, and the rebuild from the topics."""

"""herald_kafka."""

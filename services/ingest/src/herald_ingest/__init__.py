"""herald_ingest."""

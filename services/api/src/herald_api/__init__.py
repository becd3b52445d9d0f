"""Herald config API."""

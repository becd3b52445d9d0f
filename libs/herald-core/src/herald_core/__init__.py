"""herald_core."""

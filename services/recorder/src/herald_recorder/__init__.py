"""herald_recorder."""

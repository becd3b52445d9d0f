"""Herald's own endpoints (not a platform's face)."""

"""herald_router."""

"""Shared fixtures. Integration fixtures start the real broker and database themselves and fail,
never skip, when they cannot (STYLE.md §8)."""

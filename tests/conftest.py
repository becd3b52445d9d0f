"""Shared fixtures. Integration fixtures start the real broker and database themselves and fail,
never skip, when they cannot (STYLE.md §8).

The broker, database and API fixtures live in `herald_testing.fixtures`, registered here once as a
plugin, so that every directory shares one broker and one database per test session.
"""

pytest_plugins = ["herald_testing.fixtures"]

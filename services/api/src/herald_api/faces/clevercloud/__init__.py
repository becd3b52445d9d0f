"""The Clever Cloud face."""

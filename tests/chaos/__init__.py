"""Chaos scenarios (see conftest.py); a package so that the stack has package scope."""

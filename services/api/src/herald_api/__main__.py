"""`python -m herald_api`: serve the config API (or `--help` for the admin commands)."""

from herald_api.cli import main

main()

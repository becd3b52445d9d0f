"""`python -m herald_devstack` is `herald-dev`."""

from herald_devstack.cli import main

main()

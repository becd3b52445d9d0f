"""herald_devstack."""

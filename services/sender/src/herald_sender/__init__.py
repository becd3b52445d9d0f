"""herald_sender."""

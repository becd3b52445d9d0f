"""herald_alerter: metric alert rules → alert events, on Herald's own consumer shell (aiokafka)."""

"""herald_alerter: metric alert rules → alert events, a faust-streaming processor."""

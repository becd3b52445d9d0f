"""herald_derive: stateful derived events (crash counting), a faust-streaming processor."""

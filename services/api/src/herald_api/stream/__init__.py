"""The event stream endpoint, its cursor and its filter."""

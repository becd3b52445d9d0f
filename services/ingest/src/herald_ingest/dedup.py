"""Drop repeats of recently seen event ids (a best-effort, per-process window).

Repeats are harmless downstream (delivery ids are deterministic), so this only saves work: a
bounded LRU of ids with a time window. The clock is a parameter: the class does no I/O.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentIds:
    """Remembers up to `capacity` ids for `window_s` seconds each."""

    def __init__(self, capacity: int, window_s: float) -> None:
        self._capacity = capacity
        self._window_s = window_s
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen(self, event_id: str, now: float) -> bool:
        """True if `event_id` was marked within the window (does not mark it)."""
        at = self._seen.get(event_id)
        return at is not None and now - at < self._window_s

    def mark(self, event_id: str, now: float) -> None:
        """Remember `event_id` as seen at `now`, forgetting the oldest beyond capacity."""
        if self._capacity == 0:
            return
        self._seen[event_id] = now
        self._seen.move_to_end(event_id)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        while self._seen:
            oldest_id, oldest_at = next(iter(self._seen.items()))
            if now - oldest_at < self._window_s:
                break
            del self._seen[oldest_id]

    def __len__(self) -> int:
        return len(self._seen)

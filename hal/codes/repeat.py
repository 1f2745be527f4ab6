"""A code held up to the camera is seen in frame after frame; it must count once.

    seen = RepeatFilter(window_s=3.0)
    for code in decoder.decode(frame.image, PERSON_CODES):
        if seen.fresh(code.symbology, code.payload, frame.captured_at):
            ...  # act on it

A code is fresh the first time it is seen, and again once it has been out of sight for `window_s`. Every
sighting slides the window, so a QR held up for a minute counts once, and shown again three seconds after it
was taken away, counts again.
"""

from __future__ import annotations

import threading

from hal.codes import Symbology


class RepeatFilter:
    """Thread-safe; remembers only the codes seen within the last window (bounded by how many distinct codes
    can be shown in `window_s`)."""

    def __init__(self, window_s: float = 3.0) -> None:
        if not window_s > 0 or window_s == float("inf"):
            raise ValueError(f"window_s must be a positive number of seconds, not {window_s}")
        self.window_s = window_s
        self._last_seen: dict[tuple[Symbology, bytes], float] = {}
        self._forgotten_at = float("-inf")  # when entries older than the window were last dropped
        self._lock = threading.Lock()

    def fresh(self, symbology: Symbology, payload: bytes, now: float) -> bool:
        """Record a sighting at `now` (monotonic seconds); True when the code counts as new."""
        key = (symbology, bytes(payload))
        with self._lock:
            self._forget_older_than(now - self.window_s)
            last = self._last_seen.get(key)
            self._last_seen[key] = now if last is None else max(last, now)
            return last is None or now - last >= self.window_s

    def __len__(self) -> int:
        """How many codes are remembered now."""
        with self._lock:
            return len(self._last_seen)

    def clear(self) -> None:
        """Forget every code: the next sighting of any counts as new (e.g. when the screen changes)."""
        with self._lock:
            self._last_seen.clear()

    def _forget_older_than(self, cutoff: float) -> None:
        # Sweeping on every call would cost O(codes) per frame; once per window keeps the dict within about
        # two windows' worth of distinct codes at an amortised cost of O(1).
        if cutoff - self._forgotten_at < self.window_s:
            return
        self._forgotten_at = cutoff
        stale = [key for key, seen in self._last_seen.items() if seen <= cutoff]
        for key in stale:
            del self._last_seen[key]

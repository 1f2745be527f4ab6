"""Keyboard-wedge scanners, told apart from people typing: pure logic over (key, time) pairs.

A wedge scanner "types" what it read as a burst of keystrokes a few milliseconds apart and ends it with
Enter; a person types tens of milliseconds apart at the very fastest (and rolls over two keys at a time,
never five). So: characters that follow each other within `max_gap_s` and end in Enter, at least
`min_length` of them, are a scan; everything else is typing and is handed back, in order, exactly once.

The detector never reads a clock: the caller passes when each key came (time.monotonic() or a test's own
numbers) and polls when nothing more came (`deadline()` says when that decision falls due).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_MAX_GAP_S = 0.03
DEFAULT_MIN_LENGTH = 4
DEFAULT_MAX_LENGTH = 4096  # longer bursts are dropped: nothing is ever buffered without bound


@dataclass(frozen=True)
class Scanned(Generic[T]):
    """A completed scan: its text, and the tokens of every key of it (the Enter last), none to be typed."""

    text: str
    tokens: tuple[T, ...]


@dataclass(frozen=True)
class Typed(Generic[T]):
    """Keys that were no scan: hand their tokens back as ordinary typing, in this order."""

    tokens: tuple[T, ...]


@dataclass(frozen=True)
class Dropped:
    """A burst grew past the length limit; its keys so far (and the rest of it, until a pause) are gone."""

    length: int


Decision = Scanned[T] | Typed[T] | Dropped


class WedgeBurstDetector(Generic[T]):
    """Feed every printable character with feed_char() and every Enter with feed_enter(), each with the
    monotonic time it came and a token of the caller's (what to hand back); poll(now) after `deadline()`.

    Every call returns the decisions it made, oldest first. Each token comes back exactly once, in a Scanned
    or a Typed decision, in the order it was fed, unless its burst outgrew `max_length` (Dropped).
    """

    def __init__(
        self,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        min_length: int = DEFAULT_MIN_LENGTH,
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        if max_gap_s <= 0 or min_length < 1 or max_length < min_length:
            raise ValueError(f"need max_gap_s > 0 and 1 <= min_length <= max_length, got "
                             f"{max_gap_s}, {min_length}, {max_length}")
        self.max_gap_s = max_gap_s
        self.min_length = min_length
        self.max_length = max_length
        self._texts: list[str] = []
        self._tokens: list[T] = []
        self._length = 0  # characters held (a key may carry more than one, e.g. from a compose sequence)
        self._last_at: float | None = None
        self._dropping = False  # inside a burst that outgrew max_length: swallow it to its end
        self.last_swallowed = False  # the key fed last was swallowed with an overlong burst

    @property
    def holding(self) -> int:
        """How many keys are held back, waiting for the decision."""
        return len(self._tokens)

    def held_tokens(self, last: int | None = None) -> tuple[T, ...]:
        """The tokens of the keys held back now, oldest first (only the `last` few, if given)."""
        return tuple(self._tokens if last is None else self._tokens[-last:])

    def deadline(self) -> float | None:
        """When poll() can decide about the keys held now (None: nothing to decide)."""
        if self._last_at is None or not (self._tokens or self._dropping):
            return None
        return self._last_at + self.max_gap_s

    def feed_char(self, text: str, at: float, token: T) -> list[Decision[T]]:
        decisions = self._end_burst_if_paused(at)
        self._last_at = at
        self.last_swallowed = self._dropping
        if self._dropping:
            return decisions
        self._texts.append(text)
        self._tokens.append(token)
        self._length += len(text)
        if self._length > self.max_length:
            decisions.append(Dropped(self._length))
            self._forget()
            self._dropping = True
            self.last_swallowed = True
        return decisions

    def feed_enter(self, at: float, token: T) -> list[Decision[T]]:
        decisions = self._end_burst_if_paused(at)
        self._last_at = at
        self.last_swallowed = self._dropping
        if self._dropping:
            # The Enter that ends the overlong burst is part of it.
            self._dropping = False
            return decisions
        if self._length >= self.min_length:
            decisions.append(Scanned("".join(self._texts), (*self._tokens, token)))
        else:
            decisions.append(Typed((*self._tokens, token)))
        self._forget()
        return decisions

    def poll(self, now: float) -> list[Decision[T]]:
        """Hand back what is held if the burst has ended without an Enter by `now`."""
        return self._end_burst_if_paused(now)

    def flush(self) -> list[Decision[T]]:
        """Hand back everything held now, as typing (e.g. before a key that can be no part of a scan)."""
        self._dropping = False
        if not self._tokens:
            return []
        decision: list[Decision[T]] = [Typed(tuple(self._tokens))]
        self._forget()
        return decision

    def _end_burst_if_paused(self, at: float) -> list[Decision[T]]:
        if self._last_at is None or at - self._last_at <= self.max_gap_s:
            return []
        return self.flush()

    def _forget(self) -> None:
        self._texts.clear()
        self._tokens.clear()
        self._length = 0

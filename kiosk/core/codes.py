"""Pickup codes: generation, normalisation, hashing, and the keypad attempt limiter.

Codes are never stored in clear: the store keeps HMAC-SHA256(code_key, code), so a stolen database does not
hand out parcels, and a lookup compares hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from kiosk.core.model import Timers
from kiosk.core.ports import Store

log = logging.getLogger(__name__)

CODE_LENGTHS = range(6, 9)
GENERATED_CODE_LENGTH = 6
# Separators people copy from an SMS or e-mail ("123 456", "123-456"); anything else is malformed.
_SEPARATORS = re.compile(r"[\s\-]+")
_DIGITS = re.compile(r"[0-9]+")

LIMITER_STATE_KEY = "keypad_limiter"
# Doubling without end would, after a night of vandalism, lock the keypad for months; a day is the ceiling.
MAX_LOCKOUT_S = 24 * 3600.0


class RandomSource(Protocol):
    """What generate_code needs: the `secrets` module, or anything with the same `randbelow`."""

    def randbelow(self, exclusive_upper_bound: int, /) -> int: ...


def hash_code(key: bytes, code: str) -> bytes:
    """HMAC-SHA256 of a normalised code under the locker's secret key."""
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).digest()


def normalise_code(text: object) -> str | None:
    """The code as 6 to 8 ASCII digits, or None when `text` cannot be one.

    Surrounding whitespace and the spaces or dashes of a code copied from a message are dropped.
    """
    if not isinstance(text, str):
        return None
    compact = _SEPARATORS.sub("", text)
    if len(compact) not in CODE_LENGTHS or not _DIGITS.fullmatch(compact):
        return None
    return compact


def generate_code(rng: RandomSource = secrets) -> str:
    """A fresh 6-digit pickup code (leading zeros included)."""
    return f"{rng.randbelow(10**GENERATED_CODE_LENGTH):0{GENERATED_CODE_LENGTH}d}"


@dataclass(frozen=True)
class LimiterStatus:
    """The keypad's standing at one instant."""

    failures_in_a_row: int  # wrong codes since the last success or lockout
    lockouts: int  # lockouts since the last successful code
    locked_until: float | None  # wall time the current lockout ends, None when not locked
    seconds_left: float  # 0.0 when not locked

    @property
    def locked(self) -> bool:
        return self.seconds_left > 0.0


@dataclass(frozen=True)
class _LimiterRecord:
    failures_in_a_row: int = 0
    lockouts: int = 0
    locked_until: float | None = None
    lockout_s: float = 0.0  # length of the current lockout, to bound it if the wall clock jumps back

    def to_json(self) -> str:
        return json.dumps(
            {
                "failures_in_a_row": self.failures_in_a_row,
                "lockouts": self.lockouts,
                "locked_until": self.locked_until,
                "lockout_s": self.lockout_s,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> _LimiterRecord:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        failures = data.get("failures_in_a_row", 0)
        lockouts = data.get("lockouts", 0)
        locked_until = data.get("locked_until")
        lockout_s = data.get("lockout_s", 0.0)
        if not _is_count(failures) or not _is_count(lockouts):
            raise ValueError("counters must be non-negative integers")
        if locked_until is not None and not _is_number(locked_until):
            raise ValueError("locked_until must be a number or null")
        if not _is_number(lockout_s) or lockout_s < 0:
            raise ValueError("lockout_s must be a non-negative number")
        until = None if locked_until is None else float(locked_until)
        return cls(failures, lockouts, until, float(lockout_s))


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class KeypadLimiter:
    """Wrong codes in a row lock the keypad: `lockout_after_failures` of them lock it for `lockout_base_s`,
    each further lockout twice as long as the one before (60, 120, 240 s...), until a code succeeds.

    The counters live in the store (Store.get_state/set_state, JSON), so a restart does not wipe them.
    Every method takes `now` (wall time) explicitly: the limiter keeps no clock of its own.
    """

    def __init__(self, store: Store, timers: Timers, key: str = LIMITER_STATE_KEY) -> None:
        self._store = store
        self._timers = timers
        self._key = key

    def status(self, now: float) -> LimiterStatus:
        record = self._load()
        return LimiterStatus(
            failures_in_a_row=record.failures_in_a_row,
            lockouts=record.lockouts,
            locked_until=record.locked_until if self._seconds_left(record, now) > 0 else None,
            seconds_left=self._seconds_left(record, now),
        )

    def is_locked(self, now: float) -> bool:
        return self.status(now).locked

    def seconds_left(self, now: float) -> float:
        return self.status(now).seconds_left

    def lockout_duration(self, lockout_number: int) -> float:
        """How long the n-th lockout (from 1) since the last success lasts."""
        exponent = min(max(lockout_number - 1, 0), 64)
        return float(min(self._timers.lockout_base_s * 2.0**exponent, MAX_LOCKOUT_S))

    def record_failure(self, now: float) -> LimiterStatus:
        """A wrong code was entered. While locked (the keypad should not allow it) this changes nothing."""
        record = self._load()
        if self._seconds_left(record, now) > 0:
            return self.status(now)
        failures = record.failures_in_a_row + 1
        if failures >= max(1, self._timers.lockout_after_failures):
            lockouts = record.lockouts + 1
            duration = self.lockout_duration(lockouts)
            record = _LimiterRecord(0, lockouts, now + duration, duration)
        else:
            record = _LimiterRecord(failures, record.lockouts, None, 0.0)
        self._save(record)
        return self.status(now)

    def record_success(self, now: float) -> LimiterStatus:
        """A right code: every counter starts again from zero."""
        self._save(_LimiterRecord())
        return self.status(now)

    @staticmethod
    def _seconds_left(record: _LimiterRecord, now: float) -> float:
        if record.locked_until is None:
            return 0.0
        # A wall clock set back must not stretch a lockout beyond its own length.
        return max(0.0, min(record.locked_until - now, record.lockout_s))

    def _load(self) -> _LimiterRecord:
        text = self._store.get_state(self._key)
        if text is None:
            return _LimiterRecord()
        try:
            return _LimiterRecord.from_json(text)
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            log.warning("keypad limiter state %r is unreadable (%s); starting from zero", text[:80], error)
            return _LimiterRecord()

    def _save(self, record: _LimiterRecord) -> None:
        self._store.set_state(self._key, record.to_json())

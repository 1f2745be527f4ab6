"""The keypad attempt limiter, persisted in the real SQLite store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.codes import LIMITER_STATE_KEY, MAX_LOCKOUT_S, KeypadLimiter
from kiosk.core.model import Compartment, Size, Timers
from kiosk.store import SqliteStore

LAYOUT = (Compartment("A1", Size.S, board=0, lock=1, height_cm=100, column=1),)
T0 = 1_800_000_000.0


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.sqlite"


@pytest.fixture
def store(database: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(database, LAYOUT) as opened:
        yield opened


@pytest.fixture
def limiter(store: SqliteStore) -> KeypadLimiter:
    return KeypadLimiter(store, Timers())


def fail(limiter: KeypadLimiter, times: int, now: float) -> None:
    for _ in range(times):
        limiter.record_failure(now)


def test_four_wrong_codes_do_not_lock(limiter: KeypadLimiter) -> None:
    fail(limiter, 4, T0)
    status = limiter.status(T0)
    assert status.failures_in_a_row == 4 and not status.locked and status.seconds_left == 0


def test_the_fifth_locks_for_a_minute(limiter: KeypadLimiter) -> None:
    fail(limiter, 4, T0)
    status = limiter.record_failure(T0)
    assert status.locked and status.seconds_left == 60 and status.lockouts == 1
    assert status.failures_in_a_row == 0 and status.locked_until == T0 + 60
    assert limiter.seconds_left(T0 + 59.5) == 0.5
    assert not limiter.is_locked(T0 + 60)


def test_each_further_lockout_doubles(limiter: KeypadLimiter) -> None:
    now = T0
    for expected in (60, 120, 240, 480):
        fail(limiter, 5, now)
        assert limiter.seconds_left(now) == expected
        now += expected
        assert not limiter.is_locked(now)


def test_failures_while_locked_do_not_count(limiter: KeypadLimiter) -> None:
    fail(limiter, 5, T0)
    fail(limiter, 20, T0 + 1)
    status = limiter.status(T0 + 1)
    assert status.lockouts == 1 and status.seconds_left == 59


def test_a_right_code_resets_everything(limiter: KeypadLimiter) -> None:
    fail(limiter, 5, T0)
    fail(limiter, 3, T0 + 60)
    limiter.record_success(T0 + 61)
    assert limiter.status(T0 + 61).failures_in_a_row == 0
    fail(limiter, 5, T0 + 62)
    assert limiter.seconds_left(T0 + 62) == 60  # the first lockout again


def test_the_state_survives_a_restart(store: SqliteStore, database: Path) -> None:
    fail(KeypadLimiter(store, Timers()), 5, T0)
    fail(KeypadLimiter(store, Timers()), 2, T0 + 60)
    store.close()
    with SqliteStore.open(database, LAYOUT) as reopened:
        status = KeypadLimiter(reopened, Timers()).status(T0 + 60)
        assert (status.failures_in_a_row, status.lockouts) == (2, 1)
        fail(KeypadLimiter(reopened, Timers()), 3, T0 + 61)
        assert KeypadLimiter(reopened, Timers()).seconds_left(T0 + 61) == 120


def test_configured_thresholds_are_used(store: SqliteStore) -> None:
    limiter = KeypadLimiter(store, Timers(lockout_after_failures=3, lockout_base_s=10))
    fail(limiter, 3, T0)
    assert limiter.seconds_left(T0) == 10
    fail(limiter, 3, T0 + 10)
    assert limiter.seconds_left(T0 + 10) == 20


def test_a_clock_set_back_does_not_stretch_a_lockout(limiter: KeypadLimiter) -> None:
    fail(limiter, 5, T0)
    assert limiter.seconds_left(T0 - 3600) == 60


def test_lockouts_stop_growing_at_a_day(limiter: KeypadLimiter) -> None:
    assert limiter.lockout_duration(1) == 60
    assert limiter.lockout_duration(11) == 60 * 2**10
    assert limiter.lockout_duration(12) == MAX_LOCKOUT_S
    assert limiter.lockout_duration(10_000) == MAX_LOCKOUT_S


@pytest.mark.parametrize("garbage", ["not json", "[1, 2]", '{"failures_in_a_row": -1}',
                                     '{"locked_until": "soon"}', '{"lockouts": true}'])
def test_unreadable_state_starts_from_zero_with_a_warning(
    store: SqliteStore, limiter: KeypadLimiter, caplog: pytest.LogCaptureFixture, garbage: str
) -> None:
    store.set_state(LIMITER_STATE_KEY, garbage)
    with caplog.at_level(logging.WARNING):
        assert limiter.status(T0).failures_in_a_row == 0
    assert "unreadable" in caplog.text
    limiter.record_failure(T0)
    assert limiter.status(T0).failures_in_a_row == 1

"""Parking outbox events the platform refused for good: kept with the reason, out of every batch and out of
the depth (and so of the backlog alarm), audited, and still immutable. Real database files."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core.model import Compartment, EventKind, ProblemKind, Size
from kiosk.store import SqliteStore, StoreError

LAYOUT = (Compartment("A01", Size.S, 0, 1, 190, 1), Compartment("A02", Size.M, 0, 2, 150, 1))
T0 = 1_800_000_000.0


@pytest.fixture
def store(database: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(database, LAYOUT) as opened:
        yield opened


def write_events(store: SqliteStore, count: int, at: float = T0) -> list[str]:
    """`count` events (problem reports about no parcel); their keys, oldest first."""
    for number in range(count):
        store.report_problem(ProblemKind.DAMAGED, [], at + number)
    reports = [event.idempotency_key for event in store.outbox_batch(10_000)
               if event.kind is EventKind.PROBLEM_REPORT]
    return reports[-count:]


def pending_keys(store: SqliteStore) -> list[str]:
    return [event.idempotency_key for event in store.outbox_batch(10_000)]


def test_a_parked_event_leaves_the_batches_and_the_depth_but_is_kept(store: SqliteStore) -> None:
    first, second, third = write_events(store, 3)
    assert store.outbox_park(second, "unknown_parcel: the platform has no such parcel", T0 + 10) is True
    assert pending_keys(store) == [first, third]
    assert store.outbox_depth() == 2
    assert store.outbox_parked_count() == 1
    [parked] = store.outbox_parked()
    assert (parked.idempotency_key, parked.kind, parked.occurred_at, parked.parked_reason) == (
        second, EventKind.PROBLEM_REPORT, T0 + 1, "unknown_parcel: the platform has no such parcel")
    assert all(event.parked_reason is None for event in store.outbox_batch(10))
    entry = store.audit_log(limit=1)[0]
    assert (entry.kind, entry.at, entry.details) == ("outbox_event_parked", T0 + 10, {
        "kind": "problem_report", "idempotency_key": second,
        "reason": "unknown_parcel: the platform has no such parcel"})


def test_the_oldest_waiting_event_is_the_oldest_not_parked(store: SqliteStore) -> None:
    first, _ = write_events(store, 2)
    store.outbox_park(first, "not_allowed", T0 + 5)
    assert store.outbox_oldest_at() == T0 + 1
    assert [event.idempotency_key for event in store.outbox_parked(limit=0)] == []


def test_parking_twice_or_an_unknown_key_returns_false_and_writes_nothing(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    [key] = write_events(store, 1)
    assert store.outbox_park(key.upper(), "contradicts_state", T0 + 1) is True  # any uuid spelling
    audit_size = len(store.audit_log())
    assert store.outbox_park(key, "again", T0 + 2) is False
    assert store.outbox_park("00000000-0000-4000-8000-000000000000", "never written", T0 + 2) is False
    assert store.outbox_park("not a uuid", "never written", T0 + 2) is False
    assert len(store.audit_log()) == audit_size
    assert [event.parked_reason for event in store.outbox_parked()] == ["contradicts_state"]


@pytest.mark.parametrize(("key", "reason", "message"), [
    ("", "why", "idempotency key must be non-empty text"),
    (None, "why", "idempotency key must be non-empty text"),
    ("KEY", "  ", "a park reason must be non-empty text"),
    ("KEY", None, "a park reason must be non-empty text"),
])
def test_a_malformed_park_is_refused(store: SqliteStore, key: object, reason: object, message: str) -> None:
    [written] = write_events(store, 1)
    with pytest.raises(StoreError, match=message):
        store.outbox_park(written if key == "KEY" else key, reason, T0)  # type: ignore[arg-type]
    assert store.outbox_depth() == 1 and store.outbox_parked_count() == 0


def test_the_reason_is_kept_as_one_short_line(store: SqliteStore) -> None:
    [key] = write_events(store, 1)
    store.outbox_park(key, "rejected:\n" + "x" * 1000, T0)
    [parked] = store.outbox_parked()
    assert parked.parked_reason is not None
    assert "\n" not in parked.parked_reason and len(parked.parked_reason) <= 300


def test_a_parked_event_acknowledged_after_all_is_deleted_without_touching_the_depth(
    store: SqliteStore,
) -> None:
    first, second = write_events(store, 2)
    store.outbox_park(first, "not_allowed", T0 + 5)
    assert store.outbox_acknowledge([first], T0 + 6) == 1
    assert (store.outbox_depth(), store.outbox_parked_count(), pending_keys(store)) == (1, 0, [second])


def test_a_parked_event_still_cannot_change_what_it_says(store: SqliteStore, raw: sqlite3.Connection) -> None:
    [key] = write_events(store, 1)
    store.outbox_park(key, "not_allowed", T0 + 5)
    with pytest.raises(sqlite3.IntegrityError, match="an outbox event cannot change"):
        raw.execute("UPDATE outbox SET details = '{}' WHERE idempotency_key = ?", (key,))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        raw.execute("UPDATE outbox SET park_reason = NULL WHERE idempotency_key = ?", (key,))
    # Taken out of the car park by hand (a technician's repair): it counts again.
    raw.execute("UPDATE outbox SET parked_at = NULL, park_reason = NULL WHERE idempotency_key = ?", (key,))
    assert (store.outbox_depth(), pending_keys(store)) == (1, [key])


def test_parked_events_survive_a_restart(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT) as store:
        first, _ = write_events(store, 2)
        store.outbox_park(first, "unknown_compartment", T0 + 5)
    with SqliteStore.open(database, LAYOUT) as store:
        assert store.outbox_depth() == 1
        assert [event.idempotency_key for event in store.outbox_parked()] == [first]


def test_parking_the_backlog_down_clears_the_backlog_alarm(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT, outbox_alarm_depth=4) as store:
        keys = write_events(store, 4)  # the fourth raises the alarm (its alarm event is the fifth)
        assert store.outbox_backlog_alarm()
        for key in keys[:3]:
            store.outbox_park(key, "not_allowed", T0 + 10)
        # Down to two waiting (half the threshold): cleared, and the cleared alarm event waits too.
        assert store.outbox_depth() == 3 and not store.outbox_backlog_alarm()
        alarms = [event.details["state"] for event in store.outbox_batch(10) if event.kind is EventKind.ALARM]
        assert alarms == ["raised", "cleared"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["write", "park", "ack", "unpark"]), st.integers(0, 7)),
                max_size=25))
def test_the_depth_always_counts_the_events_that_wait(operations: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder, \
            SqliteStore.open(Path(folder) / "kiosk.sqlite", LAYOUT, outbox_alarm_depth=1_000) as store:
        connection = store._connection
        assert connection is not None
        connection.execute("PRAGMA synchronous = OFF")  # speed only: durability is not what this checks
        keys: list[str] = []
        for number, (operation, pick) in enumerate(operations):
            if operation == "write":
                keys += write_events(store, 1, T0 + number)
            elif keys and operation == "park":
                store.outbox_park(keys[pick % len(keys)], "refused", T0 + number)
            elif keys and operation == "ack":
                store.outbox_acknowledge([keys[pick % len(keys)]], T0 + number)
            elif keys and operation == "unpark":
                connection.execute("UPDATE outbox SET parked_at = NULL, park_reason = NULL "
                                   "WHERE idempotency_key = ?", (keys[pick % len(keys)],))
            waiting, parked = connection.execute(
                "SELECT count(*) FILTER (WHERE parked_at IS NULL), "
                "       count(*) FILTER (WHERE parked_at IS NOT NULL) FROM outbox").fetchone()
            assert store.outbox_depth() == waiting == len(store.outbox_batch(10_000))
            assert store.outbox_parked_count() == parked == len(store.outbox_parked())

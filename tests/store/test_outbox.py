"""The outbox on real SQLite files: each event commits with the state change that caused it (or neither
commits), delivery bookkeeping, order across restarts, the backlog alarm, and the migration that adds it
to a database an older kiosk has been using."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.model import (
    Compartment,
    CompartmentState,
    DoorPurpose,
    EventKind,
    JournalPhase,
    OutboxEvent,
    ParcelState,
    ProblemKind,
    Size,
)
from kiosk.core.ports import Store
from kiosk.store import SqliteStore, StoreError, bundled_migrations
from kiosk.store.sqlite_store import DEFAULT_OUTBOX_ALARM_DEPTH, LAST_ERROR_MAX_CHARS

LAYOUT = (
    Compartment("A01", Size.S, 0, 1, 190, 1),
    Compartment("A02", Size.M, 0, 2, 150, 1),
    Compartment("A03", Size.L, 0, 3, 100, 1),
    Compartment("B01", Size.XL, 1, 1, 80, 2),
)
CODE = b"\x01" * 32
T0 = 1_800_000_000.0
KEY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")  # uuid4, canonical
ALL_TABLES = ("compartments", "parcels", "pickup_credentials", "door_journal", "audit", "kv_state", "outbox",
              "outbox_state")


@pytest.fixture
def store(database: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(database, LAYOUT) as opened:
        yield opened


def pending(store: SqliteStore) -> list[OutboxEvent]:
    return list(store.outbox_batch(10_000))


def facts(store: SqliteStore) -> list[tuple[EventKind, str | None, str | None]]:
    return [(event.kind, event.compartment_id, event.parcel_id) for event in pending(store)]


def snapshot(raw: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {table: [tuple(row) for row in raw.execute(f"SELECT * FROM {table} ORDER BY 1")]
            for table in ALL_TABLES}


def inject_failure(raw: sqlite3.Connection, table: str, event: str, when: str) -> None:
    """Make one statement inside a store transaction fail, as a full disk or a bug would."""
    raw.execute(f"CREATE TRIGGER injected_failure BEFORE {event} ON {table} WHEN {when} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")


def opened_pickup(store: SqliteStore, parcel_id: str = "P1", compartment_id: str = "A02") -> int:
    store.place_parcel(parcel_id, Size.S, compartment_id, "Ada", CODE, T0)
    entry = store.journal_intent(compartment_id, DoorPurpose.PICKUP, [parcel_id], T0 + 1)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    store.journal_advance(entry.id, JournalPhase.OPENED, T0 + 3)
    return entry.id


def unlock_sent(store: SqliteStore, parcel_id: str = "P1", compartment_id: str = "A02") -> int:
    store.place_parcel(parcel_id, Size.S, compartment_id, "Ada", CODE, T0)
    entry = store.journal_intent(compartment_id, DoorPurpose.PICKUP, [parcel_id], T0 + 1)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    return entry.id


def test_the_outbox_is_part_of_the_core_port(store: SqliteStore) -> None:
    port: Store = store  # mypy checks the structural match with kiosk.core.ports.Store
    assert port.outbox_depth() == 0
    assert port.outbox_oldest_at() is None
    assert port.outbox_batch(10) == []


# each state change with its event -------------------------------------------------------------------------

def test_a_deposit_writes_its_deposited_event(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada Lovelace", CODE, T0)
    [event] = pending(store)
    assert KEY.match(event.idempotency_key)
    assert (event.kind, event.occurred_at, event.compartment_id, event.parcel_id) == (
        EventKind.DEPOSITED, T0, "A02", "P1")
    assert event.details == {"size": "S", "recipient": "Ada Lovelace", "announced": False}
    assert (event.attempts, event.last_error, event.last_attempt_at) == (0, None, None)
    assert store.audit_log(limit=1)[0].kind == "parcel_placed"


def test_a_courier_deposit_names_the_courier(store: SqliteStore, raw: sqlite3.Connection) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0, courier_id="DHL-0042")
    assert pending(store)[0].details["courier_id"] == "DHL-0042"
    assert store.audit_log(limit=1)[0].details == {"size": "S", "courier_id": "DHL-0042"}
    before = snapshot(raw)
    with pytest.raises(StoreError, match="courier id must be non-empty text"):
        store.place_parcel("P2", Size.S, "A03", "Ada", CODE, T0, courier_id=" ")
    assert snapshot(raw) == before


def test_an_announced_parcel_says_so_in_its_deposited_event(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    raw.execute("INSERT INTO parcels (id, size, state, recipient, created_at, origin) "
                "VALUES ('EXP1', 'M', 'expected', 'Grace', ?, 'platform')", (T0,))
    store.place_parcel("EXP1", Size.M, "A02", "Grace Hopper", CODE, T0 + 5)
    assert [(event.parcel_id, event.details["announced"]) for event in pending(store)] == [("EXP1", True)]


def test_a_refused_deposit_writes_no_event(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    with pytest.raises(StoreError, match="already holds parcel P1"):
        store.place_parcel("P2", Size.S, "A02", "Bob", CODE, T0)
    with pytest.raises(StoreError, match="does not fit"):
        store.place_parcel("P3", Size.XL, "A01", "Bob", CODE, T0)
    assert facts(store) == [(EventKind.DEPOSITED, "A02", "P1")]


def test_a_pickup_writes_one_picked_up_event_per_parcel(store: SqliteStore) -> None:
    entry_id = opened_pickup(store)
    store.journal_complete_pickup(entry_id, T0 + 10)
    assert facts(store) == [(EventKind.DEPOSITED, "A02", "P1"), (EventKind.PICKED_UP, "A02", "P1")]
    picked = pending(store)[1]
    assert (picked.occurred_at, picked.details) == (T0 + 10, {"journal_id": entry_id})
    with pytest.raises(StoreError, match="is completed"):
        store.journal_complete_pickup(entry_id, T0 + 11)
    assert store.outbox_depth() == 2  # completing twice is refused and writes nothing


def test_a_door_fault_writes_its_door_fault_event(store: SqliteStore) -> None:
    entry_id = unlock_sent(store)
    store.journal_fault(entry_id, "door_did_not_open", T0 + 5)
    fault = pending(store)[-1]
    assert (fault.kind, fault.compartment_id, fault.parcel_id, fault.occurred_at) == (
        EventKind.DOOR_FAULT, "A02", "P1", T0 + 5)
    assert fault.details == {"journal_id": entry_id, "reason": "door_did_not_open", "purpose": "pickup",
                             "unlock_attempts": 1}
    assert store.compartment("A02").state is CompartmentState.OUT_OF_ORDER


def test_cancelled_and_advanced_journal_entries_write_no_event(store: SqliteStore) -> None:
    entry_id = unlock_sent(store)
    store.journal_advance(entry_id, JournalPhase.OPENED, T0 + 3)
    store.journal_cancel(entry_id, "reconciled_parcel_present", T0 + 4)
    store.mark_out_of_order("A03", "hinge", T0 + 5)
    store.audit("door_test", T0 + 6)
    assert [event.kind for event in pending(store)] == [EventKind.DEPOSITED]


def test_a_problem_report_writes_audit_and_event_per_parcel(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    store.place_parcel("P2", Size.L, "A03", "Ada", CODE, T0)
    store.report_problem(ProblemKind.DAMAGED, ["P1", "P2"], T0 + 7)
    reports = [event for event in pending(store) if event.kind is EventKind.PROBLEM_REPORT]
    assert [(event.compartment_id, event.parcel_id, event.occurred_at) for event in reports] == [
        ("A01", "P1", T0 + 7), ("A03", "P2", T0 + 7)]
    assert [event.details for event in reports] == [{"problem": "damaged"}] * 2
    audited = [entry for entry in reversed(store.audit_log()) if entry.kind == "problem_reported"]
    assert [(entry.compartment_id, entry.parcel_id, entry.details) for entry in audited] == [
        ("A01", "P1", {"problem": "damaged", "parcel_ids": ["P1", "P2"]}),
        ("A03", "P2", {"problem": "damaged", "parcel_ids": ["P1", "P2"]})]


def test_a_problem_about_no_parcel_is_still_one_report(store: SqliteStore) -> None:
    store.report_problem(ProblemKind.DOOR_DID_NOT_OPEN, [], T0)
    assert facts(store) == [(EventKind.PROBLEM_REPORT, None, None)]
    assert pending(store)[0].details == {"problem": "door_did_not_open"}
    assert store.audit_log(limit=1)[0].details == {"problem": "door_did_not_open", "parcel_ids": []}


def test_a_picked_up_parcel_can_still_be_reported(store: SqliteStore) -> None:
    store.journal_complete_pickup(opened_pickup(store), T0 + 10)
    store.report_problem(ProblemKind.NOT_MINE, ["P1"], T0 + 20)
    assert facts(store)[-1] == (EventKind.PROBLEM_REPORT, "A02", "P1")


@pytest.mark.parametrize(
    ("problem", "parcel_ids", "message"),
    [
        ("on fire", ["P1"], "'on fire' is not a problem kind"),
        (ProblemKind.DAMAGED, "P1", "parcel_ids must be a collection of ids, not one str"),
        (ProblemKind.DAMAGED, ["P1", "NOPE"], "no parcel 'NOPE'"),
        (ProblemKind.DAMAGED, ["P1", ""], "parcel id must be non-empty text"),
        (ProblemKind.DAMAGED, 7, "parcel_ids must be a collection of ids, not int"),
    ],
)
def test_a_malformed_problem_report_writes_nothing(
    store: SqliteStore, raw: sqlite3.Connection, problem: object, parcel_ids: object, message: str
) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    before = snapshot(raw)
    with pytest.raises(StoreError, match=message):
        store.report_problem(problem, parcel_ids, T0)  # type: ignore[arg-type]
    assert snapshot(raw) == before


# injected failures: neither the state change nor its event ------------------------------------------------

@pytest.mark.parametrize(
    ("table", "event", "when"),
    [
        ("outbox", "INSERT", "NEW.kind = 'picked_up'"),  # the event, after the parcel and credential updates
        ("audit", "INSERT", "NEW.kind = 'door_closed'"),  # after the event, the very last statement
        ("outbox_state", "UPDATE", "NEW.depth > OLD.depth"),  # the depth kept by the event's trigger
    ],
)
def test_a_failure_inside_complete_pickup_leaves_neither_state_nor_event(
    store: SqliteStore, raw: sqlite3.Connection, table: str, event: str, when: str
) -> None:
    entry_id = opened_pickup(store)
    inject_failure(raw, table, event, when)
    before = snapshot(raw)
    with pytest.raises(StoreError, match="cannot complete a pickup: injected failure"):
        store.journal_complete_pickup(entry_id, T0 + 10)
    assert snapshot(raw) == before
    assert store.parcel("P1").state is ParcelState.IN_LOCKER
    assert [event.kind for event in pending(store)] == [EventKind.DEPOSITED]

    raw.execute("DROP TRIGGER injected_failure")
    store.journal_complete_pickup(entry_id, T0 + 11)
    assert [event.kind for event in pending(store)] == [EventKind.DEPOSITED, EventKind.PICKED_UP]


def test_a_failure_writing_the_deposited_event_undoes_the_deposit(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    inject_failure(raw, "outbox", "INSERT", "NEW.kind = 'deposited'")
    before = snapshot(raw)
    with pytest.raises(StoreError, match="cannot place a parcel: injected failure"):
        store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    assert snapshot(raw) == before
    assert store.compartment("A02").state is CompartmentState.FREE
    with pytest.raises(StoreError, match="no parcel 'P1'"):
        store.parcel("P1")


def test_a_failure_writing_the_door_fault_event_undoes_the_fault(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    entry_id = unlock_sent(store)
    inject_failure(raw, "outbox", "INSERT", "NEW.kind = 'door_fault'")
    before = snapshot(raw)
    with pytest.raises(StoreError, match="cannot record a door fault: injected failure"):
        store.journal_fault(entry_id, "door_did_not_open", T0 + 5)
    assert snapshot(raw) == before
    assert store.compartment("A02").state is CompartmentState.OCCUPIED
    assert store.unfinished_journal()[0].phase is JournalPhase.UNLOCK_SENT


def test_a_failure_on_the_second_report_undoes_the_first(store: SqliteStore, raw: sqlite3.Connection) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    store.place_parcel("P2", Size.L, "A03", "Ada", CODE, T0)
    inject_failure(raw, "outbox", "INSERT", "NEW.kind = 'problem_report' AND NEW.parcel_id = 'P2'")
    before = snapshot(raw)
    with pytest.raises(StoreError, match="cannot record a problem report: injected failure"):
        store.report_problem(ProblemKind.DAMAGED, ["P1", "P2"], T0)
    assert snapshot(raw) == before


def test_a_failure_in_an_acknowledgement_forgets_nothing(store: SqliteStore, raw: sqlite3.Connection) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    store.place_parcel("P2", Size.S, "A02", "Bob", CODE, T0)
    keys = [event.idempotency_key for event in pending(store)]
    inject_failure(raw, "outbox", "DELETE", f"OLD.idempotency_key = '{keys[1]}'")
    with pytest.raises(StoreError, match="cannot acknowledge outbox events: injected failure"):
        store.outbox_acknowledge(keys)
    assert [event.idempotency_key for event in pending(store)] == keys
    assert store.outbox_depth() == 2


# delivery bookkeeping -------------------------------------------------------------------------------------

def test_batches_are_oldest_first_and_limited(store: SqliteStore) -> None:
    for number, compartment_id in enumerate(("A01", "A02", "A03", "B01")):
        # The clock may step back (NTP); the order is still the order written.
        store.place_parcel(f"P{number}", Size.S, compartment_id, "Ada", CODE, T0 - number)
    assert [event.parcel_id for event in store.outbox_batch(3)] == ["P0", "P1", "P2"]
    assert store.outbox_batch(0) == []
    assert store.outbox_oldest_at() == T0
    assert store.outbox_depth() == 4
    for limit in (-1, 2.5, True, "3"):
        with pytest.raises(StoreError, match="outbox_batch limit must be a whole number >= 0"):
            store.outbox_batch(limit)  # type: ignore[arg-type]


def test_a_key_acknowledged_in_another_uuid_spelling_is_the_same_key(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    store.place_parcel("P2", Size.S, "A02", "Ada", CODE, T0)
    first, second = (uuid.UUID(event.idempotency_key) for event in pending(store))
    assert store.outbox_record_failure([first.hex], T0, "timeout") == 1
    assert store.outbox_acknowledge([first.hex, str(second).upper()]) == 2
    assert pending(store) == []


def test_acknowledging_forgets_exactly_those_events_and_twice_is_harmless(store: SqliteStore) -> None:
    for number, compartment_id in enumerate(("A01", "A02", "A03")):
        store.place_parcel(f"P{number}", Size.S, compartment_id, "Ada", CODE, T0 + number)
    first, second, third = pending(store)
    assert store.outbox_acknowledge([first.idempotency_key, third.idempotency_key]) == 2
    assert pending(store) == [second]
    assert store.outbox_oldest_at() == T0 + 1
    assert store.outbox_acknowledge([first.idempotency_key, third.idempotency_key]) == 0
    strangers = [str(uuid.uuid4()), "0" * 32, "not a key"]
    assert store.outbox_acknowledge([*strangers, second.idempotency_key, second.idempotency_key]) == 1
    assert store.outbox_acknowledge([]) == 0
    assert (store.outbox_depth(), store.outbox_oldest_at(), pending(store)) == (0, None, [])


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("abc", "keys must be a collection of ids, not one str"),
        ([b"abc"], "idempotency key must be non-empty text"),
        ([None], "idempotency key must be non-empty text"),
        (42, "keys must be a collection of ids, not int"),
    ],
)
def test_malformed_keys_are_refused_and_change_nothing(
    store: SqliteStore, raw: sqlite3.Connection, keys: object, message: str
) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    before = snapshot(raw)
    with pytest.raises(StoreError, match=message):
        store.outbox_acknowledge(keys)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=message):
        store.outbox_record_failure(keys, T0, "boom")  # type: ignore[arg-type]
    assert snapshot(raw) == before


def test_failed_deliveries_are_counted_with_a_short_one_line_reason(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    store.place_parcel("P2", Size.S, "A02", "Bob", CODE, T0)
    first, second = (event.idempotency_key for event in pending(store))
    assert store.outbox_record_failure([first, "f" * 32], T0 + 60, "HTTP 503\nService Unavailable") == 1
    long_reason = "connection refused " * 100
    assert store.outbox_record_failure([first, second], T0 + 120, long_reason) == 2
    one, two = pending(store)
    assert (one.attempts, two.attempts) == (2, 1)
    assert one.last_attempt_at == T0 + 120
    assert one.last_error == two.last_error
    assert one.last_error is not None and "\n" not in one.last_error
    assert len(one.last_error) == LAST_ERROR_MAX_CHARS and one.last_error.endswith("…")
    store.outbox_record_failure([second], T0 + 180, "HTTP 503\n  Service   Unavailable")
    assert pending(store)[1].last_error == "HTTP 503 Service Unavailable"
    store.outbox_record_failure([second], T0 + 240, "")
    assert pending(store)[1].last_error == "unknown error"
    assert store.outbox_record_failure([], T0, "x") == 0


def test_pending_events_survive_a_restart_in_order_with_their_bookkeeping(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT) as store:
        store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
        store.journal_complete_pickup(opened_pickup(store, "P2", "A02"), T0 + 10)
        store.report_problem(ProblemKind.DAMAGED, ["P2"], T0 + 20)
        store.outbox_record_failure([pending(store)[0].idempotency_key], T0 + 30, "timeout")
        before = pending(store)
    with SqliteStore.open(database, LAYOUT) as store:
        assert pending(store) == before
        assert [event.kind for event in before] == [
            EventKind.DEPOSITED, EventKind.DEPOSITED, EventKind.PICKED_UP, EventKind.PROBLEM_REPORT]
        store.outbox_acknowledge([before[0].idempotency_key, before[-1].idempotency_key])
        store.place_parcel("P3", Size.S, "A03", "Cy", CODE, T0 + 40)
    with SqliteStore.open(database, LAYOUT) as store:
        after = pending(store)
        assert after[:2] == before[1:3]
        assert after[2].parcel_id == "P3"
        assert after[2].id > before[-1].id  # ids keep growing after deletions: order is write order


def test_every_event_gets_its_own_key(store: SqliteStore) -> None:
    for round_number in range(20):
        store.place_parcel(f"P{round_number}", Size.S, "A01", "Ada", CODE, T0)
        entry = store.journal_intent("A01", DoorPurpose.PICKUP, [f"P{round_number}"], T0)
        store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0)
        store.journal_complete_pickup(entry.id, T0)
    keys = [event.idempotency_key for event in pending(store)]
    assert len(keys) == 40 and len(set(keys)) == 40
    assert all(KEY.match(key) for key in keys)


def test_what_an_event_says_cannot_be_changed_only_its_bookkeeping(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    for assignment in ("details = '{}'", "kind = 'alarm'", "idempotency_key = lower(hex(randomblob(16)))",
                       "occurred_at = 0", "parcel_id = 'P9'"):
        with pytest.raises(sqlite3.IntegrityError, match="an outbox event cannot change"):
            raw.execute(f"UPDATE outbox SET {assignment}")
    good = "a" * 8 + "-aaaa-4aaa-8aaa-" + "a" * 12
    for bad_key in ("k", "a" * 32, good.upper(), good.replace("a", "g"), good[:-1] + "-", good + "a"):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            raw.execute("INSERT INTO outbox (idempotency_key, kind, occurred_at) VALUES (?, 'alarm', 0)",
                        (bad_key,))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        raw.execute("INSERT INTO outbox (idempotency_key, kind, occurred_at) VALUES (?, 'heartbeat', 0)",
                    (good,))
    raw.execute("INSERT INTO outbox (idempotency_key, kind, occurred_at) VALUES (?, 'alarm', 0)", (good,))
    key = pending(store)[0].idempotency_key
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        raw.execute("INSERT INTO outbox (idempotency_key, kind, occurred_at) VALUES (?, 'alarm', 0)", (key,))
    raw.execute("UPDATE outbox SET attempts = attempts + 1")
    assert pending(store)[0].attempts == 1


def test_the_depth_is_the_number_of_rows_whatever_deletes_them(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    for number, compartment_id in enumerate(("A01", "A02", "A03")):
        store.place_parcel(f"P{number}", Size.S, compartment_id, "Ada", CODE, T0)
    raw.execute("DELETE FROM outbox WHERE parcel_id = 'P1'")  # a technician's hand edit
    assert store.outbox_depth() == raw.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2
    with pytest.raises(sqlite3.IntegrityError, match="cannot be removed"):
        raw.execute("DELETE FROM outbox_state")


# the backlog alarm ----------------------------------------------------------------------------------------

def alarms(store: SqliteStore) -> list[dict[str, object]]:
    return [event.details for event in pending(store) if event.kind is EventKind.ALARM]


def test_the_backlog_alarm_is_raised_once_and_cleared_once(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT, outbox_alarm_depth=4) as store:
        assert store.outbox_alarm_depth == 4
        store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
        store.place_parcel("P2", Size.S, "A02", "Ada", CODE, T0)
        store.place_parcel("P3", Size.S, "A03", "Ada", CODE, T0)
        assert not store.outbox_backlog_alarm() and alarms(store) == []
        store.place_parcel("P4", Size.S, "B01", "Ada", CODE, T0 + 4)  # depth 4: the threshold
        assert store.outbox_backlog_alarm()
        assert alarms(store) == [
            {"alarm": "outbox_over_threshold", "state": "raised", "depth": 4, "threshold": 4}]
        raised = pending(store)[-1]
        assert (raised.occurred_at, raised.compartment_id, raised.parcel_id) == (T0 + 4, None, None)
        assert store.audit_log(limit=1)[0].kind == "outbox_backlog_alarm"
        store.report_problem(ProblemKind.DAMAGED, ["P1"], T0 + 5)  # deeper: no second alarm
        assert store.outbox_depth() == 6 and len(alarms(store)) == 1
    with SqliteStore.open(database, LAYOUT, outbox_alarm_depth=4) as store:  # a restart remembers it
        store.report_problem(ProblemKind.DAMAGED, ["P2"], T0 + 6)
        assert len(alarms(store)) == 1 and store.outbox_backlog_alarm()
        keys = [event.idempotency_key for event in pending(store)]
        store.outbox_acknowledge(keys[:4], at=T0 + 7)  # depth 3: above half the threshold
        assert store.outbox_backlog_alarm()
        store.outbox_acknowledge(keys[4:6], at=T0 + 8)  # depth 1: at most half of it
        assert not store.outbox_backlog_alarm()
        assert alarms(store) == [
            {"alarm": "outbox_over_threshold", "state": "cleared", "depth": 1, "threshold": 4}]
        assert pending(store)[-1].occurred_at == T0 + 8
        store.outbox_acknowledge(keys[4:6], at=T0 + 9)  # nothing forgotten: nothing cleared again
        assert len(alarms(store)) == 1
        assert [entry.details["state"] for entry in store.audit_log()
                if entry.kind == "outbox_backlog_alarm"] == ["cleared", "raised"]


def test_the_backlog_alarm_never_drops_an_event(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT, outbox_alarm_depth=2) as store:
        for round_number in range(10):
            store.place_parcel(f"P{round_number}", Size.S, "A01", "Ada", CODE, T0)
            entry = store.journal_intent("A01", DoorPurpose.PICKUP, [f"P{round_number}"], T0)
            store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0)
            store.journal_complete_pickup(entry.id, T0)
        kinds = [event.kind for event in pending(store)]
        assert kinds.count(EventKind.DEPOSITED) == kinds.count(EventKind.PICKED_UP) == 10
        assert kinds.count(EventKind.ALARM) == 1
        assert store.outbox_depth() == 21


@pytest.mark.parametrize("depth", [0, -5, 2.5, True, "100"])
def test_a_nonsense_alarm_depth_is_refused(database: Path, depth: object) -> None:
    with pytest.raises(StoreError, match="outbox_alarm_depth must be a whole number >= 1"):
        SqliteStore.open(database, LAYOUT, outbox_alarm_depth=depth)  # type: ignore[arg-type]


def test_the_default_alarm_depth(store: SqliteStore) -> None:
    assert store.outbox_alarm_depth == DEFAULT_OUTBOX_ALARM_DEPTH == 10_000


# the migration onto an older kiosk's database ------------------------------------------------------------

def test_the_outbox_migration_applies_to_a_used_0001_database(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    first = bundled_migrations()[:1]
    with SqliteStore.open(database, LAYOUT, migrations=first) as old:
        assert old.schema_version == 1
        # The 0001 kiosk's writes, as raw rows: today's store methods need the newer schema.
        connection = old._connection
        assert connection is not None
        connection.executescript(
            f"""
            INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, picked_up_at)
            VALUES ('OLD1', 'S', 'in_locker', 'A01', 'Ada', {T0}, NULL),
                   ('OLD2', 'M', 'in_locker', 'A02', 'Bob', {T0}, NULL),
                   ('OLD3', 'S', 'picked_up', 'A03', 'Cy', {T0}, {T0 + 1}),
                   ('EXP1', 'L', 'expected', NULL, 'Di', {T0}, NULL);
            UPDATE compartments SET state = 'occupied' WHERE id IN ('A01', 'A02');
            INSERT INTO pickup_credentials (parcel_id, code_hash, created_at)
            VALUES ('OLD1', x'{CODE.hex()}', {T0}), ('OLD2', x'{CODE.hex()}', {T0});
            INSERT INTO door_journal (compartment_id, purpose, parcel_ids, phase, reason, unlock_attempts,
                                      created_at, updated_at)
            VALUES ('A01', 'pickup', '["OLD1"]', 'cancelled', 'never_sent', 0, {T0 + 2}, {T0 + 3}),
                   ('A02', 'pickup', '["OLD2"]', 'opened', NULL, 1, {T0 + 4}, {T0 + 6});
            """)
        open_door_id = connection.execute("SELECT id FROM door_journal WHERE phase = 'opened'").fetchone()[0]
        old.audit("door_opened", T0 + 6, "A02", "OLD2", journal_id=open_door_id)
        old.set_state("keypad", '{"failures": 3}')
        audit_before = list(old.audit_log())

    with SqliteStore.open(database, LAYOUT) as store:
        assert store.schema_version == len(bundled_migrations())
        assert store.outbox_depth() == 0 and pending(store) == [] and not store.outbox_backlog_alarm()
        assert [store.parcel(parcel_id).state for parcel_id in ("OLD1", "OLD2", "OLD3", "EXP1")] == [
            ParcelState.IN_LOCKER, ParcelState.IN_LOCKER, ParcelState.PICKED_UP, ParcelState.EXPECTED]
        assert [(entry.id, entry.phase) for entry in store.unfinished_journal()] == [
            (open_door_id, JournalPhase.OPENED)]
        assert store.get_state("keypad") == '{"failures": 3}'
        assert list(store.audit_log()) == audit_before
        # The door left open across the upgrade closes: its pickup and event commit together.
        store.journal_complete_pickup(open_door_id, T0 + 20)
        store.place_parcel("EXP1", Size.L, "A03", "Di", CODE, T0 + 21)
        assert facts(store) == [(EventKind.PICKED_UP, "A02", "OLD2"), (EventKind.DEPOSITED, "A03", "EXP1")]
        assert pending(store)[1].details["announced"] is True


def test_a_failing_outbox_migration_leaves_the_0001_database_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    with SqliteStore.open(database, LAYOUT, migrations=bundled_migrations()[:1]) as old:
        old.set_state("kept", "yes")
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE outbox_state (squatter INTEGER)")  # the migration's name is taken
    with pytest.raises(StoreError, match="migration 0002_outbox failed: table outbox_state already exists"):
        SqliteStore.open(database, LAYOUT)
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 1
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        assert "outbox" not in names and "outbox_depth_up" not in names


def test_the_migration_file_is_the_one_bundled() -> None:
    source = Path(__file__).resolve().parents[2] / "kiosk" / "store" / "migrations" / "0002_outbox.sql"
    assert bundled_migrations()[1].label == "0002_outbox"
    assert bundled_migrations()[1].sql == source.read_text(encoding="utf-8")

"""The SQLite store against real database files: layout sync, parcels, codes, the door journal,
atomicity of the multi-step transactions, the append-only audit log and persistent state."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.model import (
    Compartment,
    CompartmentState,
    DoorPurpose,
    JournalPhase,
    ParcelState,
    Size,
)
from kiosk.core.ports import Store
from kiosk.store import SqliteStore, StoreError

LAYOUT = (
    Compartment("A01", Size.S, 0, 1, 190, 1),
    Compartment("A02", Size.M, 0, 2, 150, 1),
    Compartment("A03", Size.L, 0, 3, 100, 1),
    Compartment("B01", Size.XL, 1, 1, 80, 2),
)
CODE = b"\x01" * 32
OTHER_CODE = b"\x02" * 32
T0 = 1_800_000_000.0


@pytest.fixture
def store(database: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(database, LAYOUT) as opened:
        yield opened


def kinds(store: SqliteStore) -> list[str]:
    return [entry.kind for entry in reversed(store.audit_log())]


def opened_pickup(store: SqliteStore, parcel_id: str = "P1", compartment_id: str = "A02") -> int:
    """A parcel in `compartment_id` whose door has been seen open for pickup; the journal entry id."""
    store.place_parcel(parcel_id, Size.S, compartment_id, "Ada", CODE, T0)
    entry = store.journal_intent(compartment_id, DoorPurpose.PICKUP, [parcel_id], T0 + 1)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    store.journal_advance(entry.id, JournalPhase.OPENED, T0 + 3)
    return entry.id


def snapshot(raw: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to prove that a failed call changed nothing."""
    tables = ["compartments", "parcels", "pickup_credentials", "door_journal", "audit", "kv_state", "outbox",
              "outbox_state"]
    return {table: [tuple(row) for row in raw.execute(f"SELECT * FROM {table} ORDER BY 1")]
            for table in tables}


def test_the_store_is_the_core_port(store: SqliteStore) -> None:
    port: Store = store  # mypy checks the structural match with kiosk.core.ports.Store
    assert len(port.compartments()) == len(LAYOUT)


# compartments and layout ----------------------------------------------------------------------------

def test_new_database_has_the_layout_in_order_all_free(store: SqliteStore) -> None:
    statuses = store.compartments()
    assert [status.compartment for status in statuses] == list(LAYOUT)
    assert {status.state for status in statuses} == {CompartmentState.FREE}
    assert store.compartment("A03").compartment == LAYOUT[2]
    assert kinds(store) == ["layout_changed"]
    assert store.audit_log()[0].details == {
        "added": ["A01", "A02", "A03", "B01"], "changed": [], "removed": []}


def test_unknown_compartment_is_a_store_error(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="no compartment 'Z99'"):
        store.compartment("Z99")


def test_layout_sync_adds_updates_and_removes_empty_compartments(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT) as store:
        store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
        store.mark_out_of_order("A03", "hinge broken", T0)
    resized = Compartment("A02", Size.L, 0, 5, 140, 3)
    new = Compartment("C01", Size.S, 2, 1, 60, 4)
    layout = (new, resized, LAYOUT[2])  # A01 and B01 left the layout, empty
    with SqliteStore.open(database, layout) as store:
        assert [status.compartment for status in store.compartments()] == list(layout)
        assert store.compartment("A02").state is CompartmentState.OCCUPIED
        assert store.compartment("A03").out_of_order_reason == "hinge broken"
        assert store.parcel("P1").compartment_id == "A02"
        assert store.audit_log()[0].kind == "layout_changed"
        assert store.audit_log()[0].details == {
            "added": ["C01"], "changed": ["A02"], "removed": ["A01", "B01"]}
        audit_count = len(store.audit_log())
    with SqliteStore.open(database, layout) as store:
        assert len(store.audit_log()) == audit_count  # nothing changed, nothing audited


def test_a_compartment_holding_a_parcel_cannot_leave_the_layout(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT) as store:
        store.place_parcel("P1", Size.XL, "B01", "Ada", CODE, T0)
    with pytest.raises(StoreError, match="compartment B01 holds parcel P1 but is missing from the"):
        SqliteStore.open(database, LAYOUT[:3])
    with SqliteStore.open(database, LAYOUT) as store:  # nothing was changed by the refused open
        assert [status.compartment for status in store.compartments()] == list(LAYOUT)
        assert store.compartment("B01").state is CompartmentState.OCCUPIED


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ((LAYOUT[0], LAYOUT[0]), "compartment id A01 appears twice"),
        ((LAYOUT[0], Compartment("X", Size.S, 0, 1, 50, 2)), "A01 and X are both on board 0 lock 1"),
    ],
)
def test_a_contradictory_layout_is_refused(
    database: Path, layout: tuple[Compartment, ...], message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        SqliteStore.open(database, layout)


def test_mark_out_of_order_and_return_to_service(store: SqliteStore) -> None:
    store.mark_out_of_order("A01", "door_did_not_open", T0)
    status = store.compartment("A01")
    assert (status.state, status.out_of_order_reason) == (CompartmentState.OUT_OF_ORDER, "door_did_not_open")
    entry = store.audit_log()[0]
    assert (entry.kind, entry.compartment_id, entry.details) == (
        "compartment_out_of_order", "A01", {"reason": "door_did_not_open"})
    assert store.return_to_service("A01", T0 + 1).state is CompartmentState.FREE
    assert store.audit_log()[0].kind == "compartment_in_service"

    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    store.mark_out_of_order("A02", "damaged", T0 + 2)
    assert store.audit_log()[0].details == {"reason": "damaged", "parcel_inside": "P1"}
    assert store.parcel("P1").state is ParcelState.IN_LOCKER  # the parcel stays where it is
    assert store.return_to_service("A02", T0 + 3).state is CompartmentState.OCCUPIED
    with pytest.raises(StoreError, match="not out of order"):
        store.return_to_service("A02", T0 + 4)


def test_free_compartments_are_free_and_of_exactly_the_size_asked(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    store.mark_out_of_order("A03", "stuck", T0)
    assert [status.compartment.id for status in store.free_compartments()] == ["A02", "B01"]
    assert [status.compartment.id for status in store.free_compartments(Size.M)] == ["A02"]
    assert store.free_compartments(Size.S) == []


# parcels and codes ----------------------------------------------------------------------------------

def test_place_parcel_occupies_the_compartment_and_is_audited(store: SqliteStore) -> None:
    parcel = store.place_parcel("P1", Size.M, "A02", "Ada", CODE, T0)
    assert (parcel.id, parcel.size, parcel.state, parcel.compartment_id, parcel.recipient, parcel.created_at,
            parcel.picked_up_at) == ("P1", Size.M, ParcelState.IN_LOCKER, "A02", "Ada", T0, None)
    assert store.parcel("P1") == parcel
    assert store.compartment("A02").state is CompartmentState.OCCUPIED
    entry = store.audit_log()[0]
    assert (entry.kind, entry.at, entry.compartment_id, entry.parcel_id, entry.details) == (
        "parcel_placed", T0, "A02", "P1", {"size": "M"})


@pytest.mark.parametrize(
    ("parcel_id", "size", "compartment_id", "message"),
    [
        ("P2", Size.S, "A02", "compartment A02 already holds parcel P1"),
        ("P2", Size.S, "A03", r"compartment A03 is out of order \(stuck\)"),
        ("P2", Size.L, "A01", "parcel P2 of size L does not fit compartment A01 of size S"),
        ("P2", Size.S, "Z99", "no compartment 'Z99'"),
        ("P1", Size.S, "A01", r"parcel P1 is already known \(in_locker\)"),
        ("", Size.S, "A01", "parcel id must be non-empty text"),
        ("P2", "XXL", "A01", r"'XXL' is not a size \(S, M, L, XL\)"),
    ],
)
def test_place_parcel_refusals_change_nothing(
    store: SqliteStore, raw: sqlite3.Connection, parcel_id: str, size: Size, compartment_id: str, message: str
) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    store.mark_out_of_order("A03", "stuck", T0)
    before = snapshot(raw)
    with pytest.raises(StoreError, match=message):
        store.place_parcel(parcel_id, size, compartment_id, "Bob", OTHER_CODE, T0 + 1)
    assert snapshot(raw) == before


def test_the_database_itself_refuses_two_parcels_in_one_compartment(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        raw.execute("INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at) "
                    "VALUES ('P2', 'S', 'in_locker', 'A02', 'Bob', 0)")
    with pytest.raises(sqlite3.IntegrityError, match="known compartment"):
        raw.execute("INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at) "
                    "VALUES ('P3', 'S', 'in_locker', 'Z99', 'Bob', 0)")


def test_an_expected_parcel_is_placed_under_its_own_id(store: SqliteStore, raw: sqlite3.Connection) -> None:
    raw.execute("INSERT INTO parcels (id, size, state, recipient, created_at, origin) "
                "VALUES ('P7', 'S', 'expected', 'Ada', 1.0, 'platform')")
    parcel = store.place_parcel("P7", Size.M, "A02", "Ada Lovelace", CODE, T0)
    assert (parcel.state, parcel.size, parcel.compartment_id, parcel.recipient, parcel.created_at) == (
        ParcelState.IN_LOCKER, Size.M, "A02", "Ada Lovelace", 1.0)


def test_unknown_parcel_is_a_store_error(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="no parcel 'nope'"):
        store.parcel("nope")


def test_parcels_for_code_hash_finds_only_parcels_in_the_locker(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    store.place_parcel("P2", Size.M, "A02", "Ada", CODE, T0 + 1)
    store.place_parcel("P3", Size.L, "A03", "Bob", OTHER_CODE, T0 + 2)
    assert [parcel.id for parcel in store.parcels_for_code_hash(CODE)] == ["P1", "P2"]
    assert [parcel.id for parcel in store.parcels_for_code_hash(OTHER_CODE)] == ["P3"]
    assert store.parcels_for_code_hash(b"\x03" * 32) == []
    assert store.parcels_for_code_hash(CODE[:-1]) == []

    entry = store.journal_intent("A01", DoorPurpose.PICKUP, ["P1"], T0 + 3)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 4)
    store.journal_complete_pickup(entry.id, T0 + 5)
    assert [parcel.id for parcel in store.parcels_for_code_hash(CODE)] == ["P2"]


def test_an_empty_code_hash_is_refused(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="non-empty bytes"):
        store.parcels_for_code_hash(b"")
    with pytest.raises(StoreError, match="non-empty bytes"):
        store.place_parcel("P1", Size.S, "A01", "Ada", "123456", T0)  # type: ignore[arg-type]


def test_codes_are_stored_only_as_the_hash_given(store: SqliteStore, raw: sqlite3.Connection) -> None:
    store.place_parcel("P1", Size.S, "A01", "Ada", CODE, T0)
    assert [tuple(row) for row in raw.execute("SELECT parcel_id, code_hash FROM pickup_credentials")] == [
        ("P1", CODE)]


# the door journal -----------------------------------------------------------------------------------

def test_a_pickup_runs_through_every_phase(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 1)
    assert (entry.compartment_id, entry.purpose, entry.parcel_ids, entry.phase, entry.created_at,
            entry.updated_at) == ("A02", DoorPurpose.PICKUP, ("P1",), JournalPhase.INTENT, T0 + 1, T0 + 1)
    assert store.unfinished_journal() == [entry]
    assert store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2).phase is JournalPhase.UNLOCK_SENT
    assert store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 3).updated_at == T0 + 3  # the retry
    assert store.journal_advance(entry.id, JournalPhase.OPENED, T0 + 4).phase is JournalPhase.OPENED
    done = store.journal_complete_pickup(entry.id, T0 + 5)
    assert (done.phase, done.created_at, done.updated_at) == (JournalPhase.COMPLETED, T0 + 1, T0 + 5)
    assert store.unfinished_journal() == []
    assert store.journal_entry(entry.id) == done

    parcel = store.parcel("P1")
    assert (parcel.state, parcel.picked_up_at, parcel.compartment_id) == (
        ParcelState.PICKED_UP, T0 + 5, "A02")
    assert store.compartment("A02").state is CompartmentState.FREE
    assert kinds(store) == ["layout_changed", "parcel_placed", "door_intent", "door_unlock_sent",
                            "door_unlock_sent", "door_opened", "parcel_picked_up", "door_closed"]
    unlocks = [entry.details["attempt"] for entry in store.audit_log() if entry.kind == "door_unlock_sent"]
    assert unlocks == [2, 1]
    assert all(entry.details.get("journal_id") == done.id for entry in store.audit_log()[:6])


def test_completing_a_pickup_twice_raises_and_applies_once(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    entry_id = opened_pickup(store)
    store.journal_complete_pickup(entry_id, T0 + 10)
    store.place_parcel("P2", Size.S, "A02", "Bob", OTHER_CODE, T0 + 11)  # the compartment is reused
    before = snapshot(raw)
    with pytest.raises(StoreError, match=f"journal entry {entry_id} is completed"):
        store.journal_complete_pickup(entry_id, T0 + 12)
    assert snapshot(raw) == before
    assert store.compartment("A02").state is CompartmentState.OCCUPIED
    assert store.parcel("P2").state is ParcelState.IN_LOCKER


def test_a_finished_entry_is_final_even_for_raw_sql(store: SqliteStore, raw: sqlite3.Connection) -> None:
    entry_id = opened_pickup(store)
    store.journal_complete_pickup(entry_id, T0 + 10)
    with pytest.raises(sqlite3.IntegrityError, match="finished door journal entry cannot change"):
        raw.execute("UPDATE door_journal SET phase = 'opened' WHERE id = ?", (entry_id,))


@pytest.mark.parametrize(
    ("steps", "phase", "message"),
    [
        ([], JournalPhase.COMPLETED, "moves only to unlock_sent or opened, not completed"),
        ([JournalPhase.UNLOCK_SENT, JournalPhase.OPENED], JournalPhase.UNLOCK_SENT,
         "cannot move from opened to unlock_sent"),
        ([JournalPhase.OPENED], JournalPhase.OPENED, "cannot move from opened to opened"),
        ([], "open", r"'open' is not a journal phase"),
    ],
)
def test_journal_advance_moves_only_forward(
    store: SqliteStore, steps: list[JournalPhase], phase: JournalPhase, message: str
) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0)
    for step in steps:
        store.journal_advance(entry.id, step, T0)
    with pytest.raises(StoreError, match=message):
        store.journal_advance(entry.id, phase, T0 + 1)


def test_no_advance_after_an_entry_is_finished(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0)
    store.journal_cancel(entry.id, "never_sent", T0 + 1)
    with pytest.raises(StoreError, match="cannot move from cancelled to unlock_sent"):
        store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    with pytest.raises(StoreError, match="no door journal entry 999"):
        store.journal_advance(999, JournalPhase.UNLOCK_SENT, T0 + 2)


def test_a_pickup_completes_only_after_the_unlock_was_sent(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0)
    before = snapshot(raw)
    with pytest.raises(StoreError, match="only an entry whose unlock was sent can complete a pickup"):
        store.journal_complete_pickup(entry.id, T0 + 1)
    assert snapshot(raw) == before
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    # Reconciliation by the infrared sensor completes straight from UNLOCK_SENT.
    assert store.journal_complete_pickup(entry.id, T0 + 3).phase is JournalPhase.COMPLETED


def test_a_door_fault_takes_the_compartment_out_of_order_and_keeps_the_parcel(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 1)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    faulted = store.journal_fault(entry.id, "door_did_not_open", T0 + 3)
    assert (faulted.phase, faulted.updated_at) == (JournalPhase.FAULT, T0 + 3)
    status = store.compartment("A02")
    assert (status.state, status.out_of_order_reason) == (CompartmentState.OUT_OF_ORDER, "door_did_not_open")
    assert store.parcel("P1").state is ParcelState.IN_LOCKER
    assert [parcel.id for parcel in store.parcels_for_code_hash(CODE)] == ["P1"]
    assert kinds(store)[-2:] == ["door_fault", "compartment_out_of_order"]
    assert store.audit_log()[1].details == {"journal_id": entry.id, "reason": "door_did_not_open",
                                            "purpose": "pickup", "unlock_attempts": 1}
    assert store.unfinished_journal() == []
    with pytest.raises(StoreError, match="only a door that never opened can fault"):
        store.journal_fault(entry.id, "again", T0 + 4)


def test_a_door_seen_open_cannot_fault(store: SqliteStore) -> None:
    entry_id = opened_pickup(store)
    with pytest.raises(StoreError, match="is opened: only a door that never opened can fault"):
        store.journal_fault(entry_id, "door_did_not_open", T0 + 10)


def test_a_pickup_from_an_out_of_order_compartment_leaves_it_out_of_order(store: SqliteStore) -> None:
    entry_id = opened_pickup(store)
    store.mark_out_of_order("A02", "hinge", T0 + 5)
    store.journal_complete_pickup(entry_id, T0 + 6)
    status = store.compartment("A02")
    assert (status.state, status.out_of_order_reason) == (CompartmentState.OUT_OF_ORDER, "hinge")
    assert store.parcel("P1").state is ParcelState.PICKED_UP


def test_cancel_closes_an_unfinished_entry_without_effect(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 1)
    cancelled = store.journal_cancel(entry.id, "never_sent", T0 + 2)
    assert (cancelled.phase, cancelled.updated_at) == (JournalPhase.CANCELLED, T0 + 2)
    assert store.parcel("P1").state is ParcelState.IN_LOCKER
    assert store.compartment("A02").state is CompartmentState.OCCUPIED
    last = store.audit_log()[0]
    assert (last.kind, last.parcel_id, last.details) == (
        "journal_cancelled", "P1", {"journal_id": entry.id, "reason": "never_sent", "phase": "intent",
                                    "purpose": "pickup"})
    with pytest.raises(StoreError, match="is already cancelled"):
        store.journal_cancel(entry.id, "again", T0 + 3)
    # The compartment is free for a new door transaction.
    assert store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 4).phase is JournalPhase.INTENT


def test_one_unfinished_door_transaction_per_compartment(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0)
    with pytest.raises(StoreError, match=rf"A02 already has an unfinished door transaction \(journal entry "
                                         rf"{entry.id}, intent\)"):
        store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 1)


@pytest.mark.parametrize(
    ("compartment_id", "parcel_ids", "message"),
    [
        ("A01", ["P1"],
         r"parcel P1 is not in the locker in compartment A01 \(it is in_locker, in compartment A02\)"),
        ("A02", [], "a pickup needs at least one parcel"),
        ("A02", ["P1", "P1"], "parcel ids repeat"),
        ("A02", "P1", "not one string"),
        ("A02", ["nope"], "no parcel 'nope'"),
        ("Z99", ["P1"], "no compartment 'Z99'"),
    ],
)
def test_journal_intent_refusals_change_nothing(
    store: SqliteStore, raw: sqlite3.Connection, compartment_id: str, parcel_ids: list[str], message: str
) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    before = snapshot(raw)
    with pytest.raises(StoreError, match=message):
        store.journal_intent(compartment_id, DoorPurpose.PICKUP, parcel_ids, T0)
    assert snapshot(raw) == before


def test_unfinished_journal_lists_oldest_first(store: SqliteStore) -> None:
    for number, compartment_id in enumerate(["A01", "A02", "A03", "B01"]):
        store.place_parcel(f"P{number}", Size.S, compartment_id, "Ada", CODE, T0)
    late = store.journal_intent("A01", DoorPurpose.PICKUP, ["P0"], T0 + 30)
    early = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 10)
    opened = store.journal_intent("A03", DoorPurpose.PICKUP, ["P2"], T0 + 20)
    done = store.journal_intent("B01", DoorPurpose.PICKUP, ["P3"], T0 + 5)
    store.journal_advance(opened.id, JournalPhase.OPENED, T0 + 21)
    store.journal_cancel(done.id, "never_sent", T0 + 6)
    assert [entry.id for entry in store.unfinished_journal()] == [early.id, opened.id, late.id]
    assert [entry.phase for entry in store.unfinished_journal()] == [
        JournalPhase.INTENT, JournalPhase.OPENED, JournalPhase.INTENT]


# atomicity ------------------------------------------------------------------------------------------

def inject_failure(raw: sqlite3.Connection, table: str, event: str, when: str) -> None:
    """Make one statement inside a store transaction fail, as a full disk or a bug would."""
    raw.execute(f"CREATE TRIGGER injected_failure BEFORE {event} ON {table} WHEN {when} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")


@pytest.mark.parametrize(
    ("table", "event", "when"),
    [
        ("audit", "INSERT", "NEW.kind = 'parcel_picked_up'"),  # after the parcel and credential updates
        ("audit", "INSERT", "NEW.kind = 'door_closed'"),  # the very last statement
        ("door_journal", "UPDATE", "NEW.phase = 'completed'"),
        ("compartments", "UPDATE", "NEW.state = 'free'"),
    ],
)
def test_a_failure_inside_complete_pickup_commits_nothing(
    store: SqliteStore, raw: sqlite3.Connection, table: str, event: str, when: str
) -> None:
    entry_id = opened_pickup(store)
    inject_failure(raw, table, event, when)
    before = snapshot(raw)
    with pytest.raises(StoreError, match="cannot complete a pickup: injected failure"):
        store.journal_complete_pickup(entry_id, T0 + 10)
    assert snapshot(raw) == before
    assert store.parcel("P1").state is ParcelState.IN_LOCKER
    assert store.compartment("A02").state is CompartmentState.OCCUPIED
    assert [parcel.id for parcel in store.parcels_for_code_hash(CODE)] == ["P1"]
    assert [entry.id for entry in store.unfinished_journal()] == [entry_id]

    raw.execute("DROP TRIGGER injected_failure")
    assert store.journal_complete_pickup(entry_id, T0 + 11).phase is JournalPhase.COMPLETED
    assert store.parcel("P1").state is ParcelState.PICKED_UP


def test_a_failure_inside_journal_fault_commits_nothing(store: SqliteStore, raw: sqlite3.Connection) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 1)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    inject_failure(raw, "audit", "INSERT", "NEW.kind = 'compartment_out_of_order'")
    before = snapshot(raw)
    with pytest.raises(StoreError, match="injected failure"):
        store.journal_fault(entry.id, "door_did_not_open", T0 + 3)
    assert snapshot(raw) == before
    assert store.unfinished_journal()[0].phase is JournalPhase.UNLOCK_SENT


def test_a_failure_inside_place_parcel_commits_nothing(store: SqliteStore, raw: sqlite3.Connection) -> None:
    inject_failure(raw, "audit", "INSERT", "NEW.kind = 'parcel_placed'")
    before = snapshot(raw)
    with pytest.raises(StoreError, match="cannot place a parcel: injected failure"):
        store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    assert snapshot(raw) == before


def test_a_closed_store_refuses_every_call(database: Path) -> None:
    store = SqliteStore.open(database, LAYOUT)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="the store is closed"):
        store.compartments()
    with pytest.raises(StoreError, match="the store is closed"):
        store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)


# audit and state ------------------------------------------------------------------------------------

class Colour(enum.Enum):
    RED = "red"


def test_audit_details_round_trip_as_json(store: SqliteStore) -> None:
    store.audit("door_test", T0, "A01", None, ok=True, attempts=2, colour=Colour.RED, ids=("a", "b"),
                nested={"x": [1, 2.5, None]}, path=Path("/tmp/x"))
    entry = store.audit_log(limit=1)[0]
    assert (entry.kind, entry.at, entry.compartment_id, entry.parcel_id) == ("door_test", T0, "A01", None)
    assert entry.details == {"ok": True, "attempts": 2, "colour": "red", "ids": ["a", "b"],
                             "nested": {"x": [1, 2.5, None]}, "path": "/tmp/x"}


def test_audit_refuses_raw_bytes_and_bad_values(store: SqliteStore, raw: sqlite3.Connection) -> None:
    before = snapshot(raw)
    with pytest.raises(StoreError, match="must not hold raw bytes"):
        store.audit("oops", T0, key=b"secret")
    with pytest.raises(StoreError, match="cannot be stored"):
        store.audit("oops", T0, value=float("nan"))
    with pytest.raises(StoreError, match="audit kind must be non-empty text"):
        store.audit("", T0)
    assert snapshot(raw) == before


def test_audit_log_is_newest_first_and_limited(store: SqliteStore) -> None:
    for number in range(5):
        store.audit(f"event_{number}", T0 + number)
    assert [entry.kind for entry in store.audit_log(limit=3)] == ["event_4", "event_3", "event_2"]
    assert store.audit_log(limit=0) == []
    assert len(store.audit_log()) == 6  # with the layout entry
    with pytest.raises(StoreError, match="limit must be a whole number"):
        store.audit_log(limit=-1)


def test_the_audit_log_is_append_only(store: SqliteStore, raw: sqlite3.Connection) -> None:
    store.audit("something", T0)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE audit SET kind = 'else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM audit")
    assert [entry.kind for entry in store.audit_log()] == ["something", "layout_changed"]


def test_state_values_persist_across_a_restart(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT) as store:
        assert store.get_state("keypad") is None
        store.set_state("keypad", '{"failures": 1}')
        store.set_state("keypad", '{"failures": 2}')
        with pytest.raises(StoreError, match="must be text"):
            store.set_state("keypad", 3)  # type: ignore[arg-type]
    with SqliteStore.open(database, LAYOUT) as store:
        assert store.get_state("keypad") == '{"failures": 2}'

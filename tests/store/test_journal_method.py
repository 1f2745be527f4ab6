"""The door journal's additions of migration 0003: how a pickup was authorised (kept with the entry, carried
by the picked_up events) and openings that are not pickups (a support call), completed without touching any
parcel. Real database files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.model import (
    Compartment,
    CompartmentState,
    DoorPurpose,
    EventKind,
    JournalPhase,
    ParcelState,
    PickupMethod,
    Size,
)
from kiosk.store import SqliteStore, StoreError

LAYOUT = (Compartment("A01", Size.S, 0, 1, 190, 1), Compartment("A02", Size.M, 0, 2, 150, 1))
CODE = b"\x01" * 32
T0 = 1_800_000_000.0


@pytest.fixture
def store(database: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(database, LAYOUT) as opened:
        yield opened


def picked_up_details(store: SqliteStore) -> list[dict[str, object]]:
    return [event.details for event in store.outbox_batch(100) if event.kind is EventKind.PICKED_UP]


@pytest.mark.parametrize("method", list(PickupMethod))
def test_the_method_reaches_the_picked_up_event(store: SqliteStore, method: PickupMethod) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 1, method=method)
    assert entry.method is method
    assert store.unfinished_journal() == [entry]
    assert store.audit_log(limit=1)[0].details["method"] == method.value
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    done = store.journal_complete_pickup(entry.id, T0 + 3)
    assert done.method is method
    assert picked_up_details(store) == [{"journal_id": entry.id, "method": method.value}]
    assert store.audit_log(limit=2)[1].details == {"journal_id": entry.id, "method": method.value}


def test_a_pickup_without_a_method_says_none(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 1)
    assert entry.method is None
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
    store.journal_complete_pickup(entry.id, T0 + 3)
    assert picked_up_details(store) == [{"journal_id": entry.id}]


def test_a_method_belongs_only_to_a_pickup(store: SqliteStore, raw: sqlite3.Connection) -> None:
    with pytest.raises(StoreError, match="only a pickup has a pickup method, not a remote_support opening"):
        store.journal_intent("A01", DoorPurpose.REMOTE_SUPPORT, [], T0, method=PickupMethod.CODE)
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    with pytest.raises(StoreError, match=r"'pin' is not a pickup method \(code, qr, face\)"):
        store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0, method="pin")  # type: ignore[arg-type]
    assert store.unfinished_journal() == []
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0, method=PickupMethod.QR)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        raw.execute("UPDATE door_journal SET method = 'pin' WHERE id = ?", (entry.id,))


def test_a_support_opening_completes_without_touching_parcels_or_compartments(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    store.mark_out_of_order("A01", "jammed", T0)  # support is often called for a compartment out of order
    events_before = store.outbox_batch(100)
    for compartment_id in ("A01", "A02"):
        entry = store.journal_intent(compartment_id, DoorPurpose.REMOTE_SUPPORT, [], T0 + 1)
        with pytest.raises(StoreError, match="only an entry whose unlock was sent can complete"):
            store.journal_complete(entry.id, T0 + 2)
        store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 2)
        done = store.journal_complete(entry.id, T0 + 3)
        assert (done.phase, done.purpose, done.updated_at) == (
            JournalPhase.COMPLETED, DoorPurpose.REMOTE_SUPPORT, T0 + 3)
        last = store.audit_log(limit=1)[0]
        assert (last.kind, last.compartment_id, last.details) == (
            "door_closed", compartment_id, {"journal_id": entry.id, "purpose": "remote_support"})
        with pytest.raises(StoreError, match=f"journal entry {entry.id} is completed"):
            store.journal_complete(entry.id, T0 + 4)
    assert store.compartment("A01").state is CompartmentState.OUT_OF_ORDER
    assert store.compartment("A02").state is CompartmentState.OCCUPIED
    assert store.parcel("P1").state is ParcelState.IN_LOCKER
    assert [parcel.id for parcel in store.parcels_for_code_hash(CODE)] == ["P1"]
    assert store.outbox_batch(100) == events_before


def test_a_pickup_cannot_complete_as_a_support_opening(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A02", "Ada", CODE, T0)
    entry = store.journal_intent("A02", DoorPurpose.PICKUP, ["P1"], T0 + 1)
    store.journal_advance(entry.id, JournalPhase.OPENED, T0 + 2)
    with pytest.raises(StoreError, match="is a pickup: complete it as a pickup"):
        store.journal_complete(entry.id, T0 + 3)
    with pytest.raises(StoreError, match="no door journal entry 999"):
        store.journal_complete(999, T0 + 3)
    assert store.parcel("P1").state is ParcelState.IN_LOCKER

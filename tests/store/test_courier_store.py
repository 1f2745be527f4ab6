"""Courier mode and returns in the store: deposits and returns journaled with their pending Deposit and
committed when the door closes, collections, abandoned doors, expiry of pickup windows, couriers by id in
any case, return authorisations confirmed online, and migration 0005. Real database files throughout, and
real processes killed with SIGKILL."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy
import pytest

from kiosk.core.model import (
    Compartment,
    CompartmentState,
    CourierCredential,
    Deposit,
    DoorPurpose,
    EventKind,
    ExpectedParcel,
    JournalEntry,
    JournalPhase,
    OutboxEvent,
    ParcelState,
    PickupCredential,
    PickupMethod,
    PickupWindow,
    ReturnAuthorisation,
    Size,
    SyncPage,
)
from kiosk.core.ports import Store
from kiosk.store import SqliteStore, StoreError, bundled_migrations
from kiosk.store.sqlite_store import PHOTO_MAX_BYTES

REPO = Path(__file__).resolve().parents[2]
LAYOUT = (
    Compartment("A01", Size.S, 0, 1, 190, 1),
    Compartment("A02", Size.M, 0, 2, 150, 1),
    Compartment("A03", Size.L, 0, 3, 100, 1),
    Compartment("A04", Size.S, 0, 4, 40, 1),
    Compartment("B01", Size.XL, 1, 1, 80, 2),
    Compartment("B02", Size.M, 1, 2, 150, 2),
    Compartment("B03", Size.L, 1, 3, 60, 2),
    Compartment("B04", Size.S, 1, 4, 30, 2),
)
T0 = 1_800_000_000.0
HOUR = 3600.0
CODE_KEY = b"k" * 32
CODE = "480913"  # the pickup code the locker makes for a deposit, in clear
PASSWORD_HASH = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g"


def keyed(code: str) -> bytes:
    return hmac.new(CODE_KEY, code.encode("ascii"), hashlib.sha256).digest()


CODE_HASH = keyed(CODE)
PLATFORM_CODE_HASH = keyed("112233")


def jpeg() -> bytes:
    ok, encoded = cv2.imencode(".jpg", numpy.full((48, 64, 3), 200, numpy.uint8))
    assert ok
    return bytes(encoded)


PHOTO = jpeg()


class WallClock:
    """The store's wall clock, moved by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> WallClock:
    return WallClock(T0)


@pytest.fixture
def store(database: Path, clock: WallClock) -> Iterator[SqliteStore]:
    with SqliteStore.open(database, LAYOUT, now=clock) as opened:
        yield opened


# seeding through the platform's sync, as the kiosk receives it -------------------------------------------

def expected(parcel_id: str, *, size: Size = Size.M, hours: int = 48, not_after: float | None = None,
             accessible: bool = False) -> ExpectedParcel:
    return ExpectedParcel(parcel_id, f"JJD{parcel_id}", size, accessible, "J. Okafor",
                          PickupWindow(hours, not_after))


def courier(courier_id: str, *, can_collect: bool = True) -> CourierCredential:
    return CourierCredential(courier_id, "B. Nowak", PASSWORD_HASH, None, can_collect, None)


def authorisation(return_id: str, parcel_id: str, *, size: Size = Size.S,
                  expires_at: float | None = None) -> ReturnAuthorisation:
    return ReturnAuthorisation(return_id, parcel_id, keyed(f"return {return_id}"), size, expires_at)


_cursor = iter(range(1, 1_000_000))


def sync(store: SqliteStore, *, parcels: tuple[ExpectedParcel, ...] = (),
         credentials: tuple[PickupCredential, ...] = (), couriers: tuple[CourierCredential, ...] = (),
         returns: tuple[ReturnAuthorisation, ...] = (), at: float = T0, reset: bool = False,
         has_more: bool = False) -> None:
    store.apply_sync_page(SyncPage(reset, parcels, credentials, couriers, returns, (), f"c-{next(_cursor)}",
                                   has_more), at)


def delivery(parcel_id: str = "PX-1", **changes: Any) -> Deposit:
    """A courier's deposit with a code made at the locker."""
    made = Deposit(parcel_id, Size.M, "A. Lovelace", CODE_HASH, CODE, "K1", barcode=f"JJD{parcel_id}")
    return replace(made, **changes)


def returning(parcel_id: str = "RX-1", **changes: Any) -> Deposit:
    """A customer's return."""
    return replace(Deposit(parcel_id, Size.S, "", return_id="R1", receipt_code="RC-7731"), **changes)


def opened(store: SqliteStore, entry: JournalEntry, at: float) -> None:
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, at)
    store.journal_advance(entry.id, JournalPhase.OPENED, at)


def events(store: SqliteStore, kind: EventKind | None = None) -> list[OutboxEvent]:
    return [event for event in store.outbox_batch(10_000) if kind is None or event.kind is kind]


def audit_of(store: SqliteStore, kind: str) -> list[tuple[str | None, str | None, dict[str, object]]]:
    return [(entry.compartment_id, entry.parcel_id, entry.details)
            for entry in reversed(store.audit_log()) if entry.kind == kind]


def everything(connection: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    names = [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: [tuple(row) for row in connection.execute(f"SELECT * FROM {name} ORDER BY 1")]
            for name in names}


def where_the_code_is(connection: sqlite3.Connection, code: str = CODE) -> set[tuple[str, str]]:
    """(table, column) of every value in the database that holds the pickup code in clear."""
    found: set[tuple[str, str]] = set()
    for table, rows in everything(connection).items():
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                if (isinstance(value, str) and code in value) or (
                        isinstance(value, bytes) and code.encode() in value):
                    found.add((table, column))
    return found


@pytest.fixture
def seeded(store: SqliteStore, clock: WallClock) -> SqliteStore:
    """A locker in use: A01 holds IN-1, B02 is out of order, A03 has a support door open, B04 holds the
    return RX-3, PX-2 is on its way into B03; free are A02 (M), A04 (S) and B01 (XL). The clock stands at
    T0 + 20, after R-OLD and the platform credential of PX-3 expired."""
    sync(store, parcels=(expected("PX-1"), expected("PX-2", size=Size.S), expected("PX-3")),
         credentials=(PickupCredential("C1", PLATFORM_CODE_HASH, ("PX-1",), None),
                      PickupCredential("C-OLD", keyed("445566"), ("PX-3",), T0 + 10)),
         couriers=(courier("K1"),),
         returns=(authorisation("R1", "RX-1"), authorisation("R-OLD", "RX-2", expires_at=T0 + 10),
                  authorisation("R-USED", "RX-3"), authorisation("R-KNOWN", "IN-1")))
    store.place_parcel("IN-1", Size.S, "A01", "Ada", keyed("000001"), T0)
    store.place_parcel("PU-1", Size.S, "A04", "Bob", keyed("000002"), T0)
    pickup = store.journal_intent("A04", DoorPurpose.PICKUP, ["PU-1"], T0 + 1)
    store.journal_advance(pickup.id, JournalPhase.UNLOCK_SENT, T0 + 1)
    store.journal_complete_pickup(pickup.id, T0 + 2)
    store.mark_out_of_order("B02", "door_did_not_open", T0 + 3)
    store.journal_intent("A03", DoorPurpose.REMOTE_SUPPORT, [], T0 + 4)
    used = store.journal_intent_deposit("B04", DoorPurpose.RETURN, returning("RX-3", return_id="R-USED"),
                                        T0 + 5)
    opened(store, used, T0 + 5)
    store.journal_complete_deposit(used.id, T0 + 6, confirmed_by_ir=True)
    store.journal_intent_deposit("B03", DoorPurpose.DEPOSIT, delivery("PX-2", size=Size.S), T0 + 7)
    clock.now = T0 + 20
    return store


def test_the_store_is_the_core_port(store: SqliteStore) -> None:
    port: Store = store  # mypy checks the structural match with kiosk.core.ports.Store
    assert port.collectable_parcels() == []


# a courier's deposit ------------------------------------------------------------------------------------

def test_an_announced_parcel_is_deposited_only_when_its_door_closes(
    store: SqliteStore, raw: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sync(store, parcels=(expected("PX-1", accessible=True, hours=48, not_after=T0 + 100 * HOUR),),
         couriers=(courier("K1"),))
    deposit = delivery("PX-1")
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, deposit, T0 + 10)
    assert entry == JournalEntry(entry.id, "A02", DoorPurpose.DEPOSIT, ("PX-1",), JournalPhase.INTENT,
                                 T0 + 10, T0 + 10, None, "K1")
    assert store.pending_deposit(entry.id) == deposit
    assert audit_of(store, "door_intent") == [("A02", "PX-1", {
        "journal_id": entry.id, "purpose": "deposit", "parcel_ids": ["PX-1"], "size": "M", "courier_id": "K1",
        "announced": True, "unannounced": False})]
    # Nothing is deposited while the door is open.
    assert store.parcel("PX-1").state is ParcelState.EXPECTED
    assert store.compartment("A02").state is CompartmentState.FREE
    assert events(store) == []
    opened(store, entry, T0 + 11)
    assert store.pending_deposit(entry.id) == deposit

    done = store.journal_complete_deposit(entry.id, T0 + 12, confirmed_by_ir=True)
    assert done == replace(entry, phase=JournalPhase.COMPLETED, updated_at=T0 + 12)
    parcel = store.parcel("PX-1")
    assert (parcel.state, parcel.compartment_id, parcel.deposited_at, parcel.recipient, parcel.barcode,
            parcel.accessible, parcel.pickup_window_hours, parcel.pickup_not_after, parcel.created_at) == (
        ParcelState.IN_LOCKER, "A02", T0 + 12, "J. Okafor", "JJDPX-1", True, 48, T0 + 100 * HOUR, T0)
    assert store.compartment("A02").state is CompartmentState.OCCUPIED
    assert [found.id for found in store.parcels_for_code_hash(CODE_HASH)] == ["PX-1"]
    assert store.pending_deposit(entry.id) is None
    [event] = events(store)
    assert (event.kind, event.compartment_id, event.parcel_id, event.occurred_at) == (
        EventKind.DEPOSITED, "A02", "PX-1", T0 + 12)
    assert event.details == {"size": "M", "recipient": "J. Okafor", "announced": True, "courier_id": "K1",
                             "barcode": "JJDPX-1", "unannounced": False, "pickup_code": CODE,
                             "journal_id": entry.id}
    assert audit_of(store, "parcel_deposited") == [("A02", "PX-1", {
        "journal_id": entry.id, "size": "M", "courier_id": "K1", "confirmed_by_ir": True,
        "unannounced": False, "announced": True})]
    assert audit_of(store, "door_closed") == [("A02", "PX-1", {"journal_id": entry.id, "purpose": "deposit"})]
    assert store.unfinished_journal() == []

    # The code in clear travels once, in the event; once the platform has it, it is nowhere.
    assert where_the_code_is(raw) == {("outbox", "details")}
    assert store.outbox_acknowledge([event.idempotency_key], T0 + 13) == 1
    assert where_the_code_is(raw) == set()
    connection = store._connection
    assert connection is not None
    assert connection.execute("PRAGMA secure_delete").fetchone()[0] in (1, 2)  # ON, or FAST where it was off
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert CODE.encode() not in store.path.read_bytes()  # not even in a deleted row's free slot
    assert not any(CODE in record.getMessage() for record in caplog.records)


def test_an_unannounced_parcel_is_deposited_with_its_photo(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    deposit = delivery("LOCAL-1", size=Size.L, recipient="", barcode="3SABC123", unannounced=True,
                       photo_jpeg=PHOTO)
    entry = store.journal_intent_deposit("A03", DoorPurpose.DEPOSIT, deposit, T0)
    assert store.pending_deposit(entry.id) == deposit
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 1)  # never seen open: that is fine
    store.journal_complete_deposit(entry.id, T0 + 30, confirmed_by_ir=False)
    parcel = store.parcel("LOCAL-1")
    assert (parcel.state, parcel.size, parcel.compartment_id, parcel.recipient, parcel.barcode,
            parcel.created_at, parcel.deposited_at, parcel.pickup_window_hours) == (
        ParcelState.IN_LOCKER, Size.L, "A03", "", "3SABC123", T0 + 30, T0 + 30, None)
    assert raw.execute("SELECT origin FROM parcels WHERE id = 'LOCAL-1'").fetchone()[0] == "local"
    assert [tuple(row) for row in raw.execute("SELECT parcel_id, jpeg, taken_at FROM parcel_photos")] == [
        ("LOCAL-1", PHOTO, T0)]  # taken before the intent, not when the door closed
    [event] = events(store)
    assert event.details == {"size": "L", "recipient": "", "announced": False, "courier_id": "K1",
                             "barcode": "3SABC123", "unannounced": True, "pickup_code": CODE,
                             "journal_id": entry.id}
    [(_, _, deposited)] = audit_of(store, "parcel_deposited")
    assert (deposited["confirmed_by_ir"], deposited["unannounced"]) == (False, True)


def test_a_photo_of_exactly_the_limit_is_kept(store: SqliteStore, raw: sqlite3.Connection) -> None:
    largest = PHOTO[:-2] + b"\0" * (PHOTO_MAX_BYTES - len(PHOTO)) + PHOTO[-2:]
    assert len(largest) == PHOTO_MAX_BYTES
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT,
                                         delivery("LOCAL-2", unannounced=True, photo_jpeg=largest), T0)
    opened(store, entry, T0)
    store.journal_complete_deposit(entry.id, T0 + 1, confirmed_by_ir=True)
    assert raw.execute("SELECT length(jpeg) FROM parcel_photos").fetchone()[0] == PHOTO_MAX_BYTES


def test_an_announced_parcel_with_a_platform_code_is_deposited_without_one_of_ours(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    sync(store, parcels=(expected("PX-1"),),
         credentials=(PickupCredential("C1", PLATFORM_CODE_HASH, ("PX-1",), None),))
    assert store.has_platform_credential("PX-1")
    deposit = delivery("PX-1", code_hash=None, pickup_code=None, barcode=None)
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, deposit, T0)
    opened(store, entry, T0)
    store.journal_complete_deposit(entry.id, T0 + 1, confirmed_by_ir=True)
    assert [found.id for found in store.parcels_for_code_hash(PLATFORM_CODE_HASH)] == ["PX-1"]
    assert raw.execute("SELECT count(*) FROM pickup_credentials WHERE origin = 'local'").fetchone()[0] == 0
    [event] = events(store)
    assert event.details == {"size": "M", "recipient": "J. Okafor", "announced": True, "courier_id": "K1",
                             "barcode": "JJDPX-1", "unannounced": False, "journal_id": entry.id}


def test_a_code_hash_without_its_code_in_clear_replaces_the_local_credential(store: SqliteStore) -> None:
    sync(store, parcels=(expected("PX-1"),))
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery(pickup_code=None), T0)
    opened(store, entry, T0)
    store.journal_complete_deposit(entry.id, T0 + 1, confirmed_by_ir=True)
    assert [found.id for found in store.parcels_for_code_hash(CODE_HASH)] == ["PX-1"]
    assert "pickup_code" not in events(store)[0].details


# every refusal of a door intent, with nothing written ------------------------------------------------------

TOO_BIG = b"\xff\xd8\xff" + b"\0" * PHOTO_MAX_BYTES


@pytest.mark.parametrize(
    ("purpose", "compartment_id", "deposit", "message"),
    [
        (DoorPurpose.PICKUP, "A02", delivery(), "not a pickup opening: use journal_intent"),
        (DoorPurpose.COLLECT, "A02", delivery(), "not a collect opening: use journal_intent"),
        ("drop", "A02", delivery(), "'drop' is not a door purpose"),
        (DoorPurpose.DEPOSIT, "A02", "PX-1", "a deposit must be a Deposit, not str"),
        (DoorPurpose.DEPOSIT, "Z99", delivery(), "no compartment 'Z99'"),
        (DoorPurpose.DEPOSIT, "", delivery(), "compartment id must be non-empty text"),
        (DoorPurpose.DEPOSIT, "A01", delivery(size=Size.S), "compartment A01 already holds parcel IN-1"),
        (DoorPurpose.DEPOSIT, "B04", delivery(size=Size.S), "compartment B04 already holds parcel RX-3"),
        (DoorPurpose.DEPOSIT, "B02", delivery(), r"compartment B02 is out of order \(door_did_not_open\)"),
        (DoorPurpose.DEPOSIT, "A04", delivery(),
         "parcel PX-1 of size M does not fit compartment A04 of size S"),
        (DoorPurpose.DEPOSIT, "A03", delivery(),
         "compartment A03 already has an unfinished door transaction"),
        (DoorPurpose.DEPOSIT, "A02", delivery(courier_id=None), "a courier's deposit must name the courier"),
        (DoorPurpose.DEPOSIT, "A02", delivery(courier_id=" "), "courier id must be non-empty text"),
        (DoorPurpose.DEPOSIT, "A02", delivery("IN-1"), r"parcel IN-1 is already known \(in_locker\)"),
        (DoorPurpose.DEPOSIT, "A02", delivery("PU-1"), r"parcel PU-1 is already known \(picked_up\)"),
        (DoorPurpose.DEPOSIT, "A02", delivery("RX-3"), r"parcel RX-3 is already known \(returned\)"),
        (DoorPurpose.DEPOSIT, "A02", delivery(code_hash=b"\x01" * 31), "a code hash must be 32 bytes"),
        (DoorPurpose.DEPOSIT, "A02", delivery(code_hash="x" * 32), "a code hash must be 32 bytes"),
        (DoorPurpose.DEPOSIT, "A02", delivery(code_hash=None), "a pickup code needs its code hash beside it"),
        (DoorPurpose.DEPOSIT, "A02", delivery(pickup_code="48O913"), "the pickup code must be 6 to 8 digits"),
        (DoorPurpose.DEPOSIT, "A02", delivery(pickup_code="12345"), "the pickup code must be 6 to 8 digits"),
        (DoorPurpose.DEPOSIT, "A02", delivery("NEW-1", code_hash=None, pickup_code=None),
         "parcel NEW-1 has no pickup credential from the platform: its deposit must bring a code hash"),
        (DoorPurpose.DEPOSIT, "A02", delivery("PX-3", code_hash=None, pickup_code=None),
         "parcel PX-3 has no pickup credential from the platform"),  # it expired
        (DoorPurpose.DEPOSIT, "A02", delivery(unannounced=True),
         "parcel PX-1 was announced by the platform: it cannot be deposited as unannounced"),
        (DoorPurpose.DEPOSIT, "A02", delivery("NEW-1", unannounced=True, photo_jpeg=TOO_BIG),
         f"the photo is {len(TOO_BIG)} bytes; at most {PHOTO_MAX_BYTES} are kept"),
        (DoorPurpose.DEPOSIT, "A02", delivery("NEW-1", unannounced=True, photo_jpeg=b"GIF89a...."),
         "the photo is not a JPEG"),
        (DoorPurpose.DEPOSIT, "A02", delivery("NEW-1", unannounced=True, photo_jpeg=b""),
         "a photo must be non-empty bytes"),
        (DoorPurpose.DEPOSIT, "A02", delivery("NEW-1", photo_jpeg=PHOTO),
         "only an unannounced parcel is photographed"),
        (DoorPurpose.DEPOSIT, "A02", delivery("PX-2", size=Size.S),
         r"parcel PX-2 is already on its way into compartment B03 \(journal entry \d+\): abandon that door"),
        (DoorPurpose.DEPOSIT, "A02", delivery(return_id="R1"), "a courier's deposit has no return id"),
        (DoorPurpose.DEPOSIT, "A02", delivery(receipt_code="RC-1"), "a courier's deposit has no return id"),
        (DoorPurpose.DEPOSIT, "A02", delivery(size="XXL"), "'XXL' is not a size"),
        (DoorPurpose.DEPOSIT, "A02", delivery(" "), "the deposit's parcel id must be non-empty text"),
        (DoorPurpose.DEPOSIT, "A02", delivery(recipient=None), "the recipient must be text, not NoneType"),
        (DoorPurpose.DEPOSIT, "A02", delivery(barcode=""), "barcode must be non-empty text"),
        (DoorPurpose.DEPOSIT, "A02", delivery(unannounced="yes"), "unannounced must be true or false"),
        (DoorPurpose.RETURN, "A04", returning(receipt_code=None), "a return needs its return id and receipt"),
        (DoorPurpose.RETURN, "A04", returning(return_id=None), "a return needs its return id and receipt"),
        (DoorPurpose.RETURN, "A04", returning(code_hash=CODE_HASH), "a return has no pickup code"),
        (DoorPurpose.RETURN, "A04", returning(courier_id="K1"), "a return is a customer's: no courier"),
        (DoorPurpose.RETURN, "A04", returning(unannounced=True), "a return is a customer's"),
        (DoorPurpose.RETURN, "A04", returning("RX-9", return_id="R9"), "no return authorisation 'R9'"),
        (DoorPurpose.RETURN, "A04", returning("RX-3", return_id="R-USED"),
         "return authorisation R-USED is already used"),
        (DoorPurpose.RETURN, "A04", returning("RX-2", return_id="R-OLD"),
         "return authorisation R-OLD has expired"),
        (DoorPurpose.RETURN, "A04", returning("RX-9"),
         "return authorisation R1 is for parcel RX-1, not RX-9"),
        (DoorPurpose.RETURN, "A04", returning("IN-1", return_id="R-KNOWN"),
         r"parcel IN-1 is already known \(in_locker\)"),
        (DoorPurpose.RETURN, "A04", returning(size=Size.M),
         "parcel RX-1 of size M does not fit compartment A04"),
    ],
)
def test_a_deposit_intent_is_refused_with_one_clear_line_and_nothing_written(
    seeded: SqliteStore, raw: sqlite3.Connection, purpose: DoorPurpose, compartment_id: str, deposit: Deposit,
    message: str,
) -> None:
    before = everything(raw)
    with pytest.raises(StoreError, match=message) as refused:
        seeded.journal_intent_deposit(compartment_id, purpose, deposit, T0 + 30)
    assert "\n" not in str(refused.value)
    assert CODE not in str(refused.value)
    assert everything(raw) == before


@pytest.mark.parametrize("at", [float("nan"), float("inf"), "now", None, True])
def test_a_deposit_intent_needs_a_real_time(seeded: SqliteStore, at: object) -> None:
    with pytest.raises(StoreError, match="the time of a door intent must be a finite number of seconds"):
        seeded.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery(), at)  # type: ignore[arg-type]


def test_what_the_refusals_leave_free_is_accepted(seeded: SqliteStore) -> None:
    """The seeded locker refuses only for the reasons above: the same deposits, put right, go in."""
    for compartment_id, purpose, deposit in (
        ("A02", DoorPurpose.DEPOSIT, delivery()),
        ("A04", DoorPurpose.RETURN, returning()),
        ("B01", DoorPurpose.DEPOSIT, delivery("NEW-1", unannounced=True, photo_jpeg=PHOTO)),
    ):
        entry = seeded.journal_intent_deposit(compartment_id, purpose, deposit, T0 + 30)
        opened(seeded, entry, T0 + 31)
        seeded.journal_complete_deposit(entry.id, T0 + 32, confirmed_by_ir=True)
    # What stays FREE has a door open (the support call, PX-2 on its way): a deposit intent refuses both.
    assert [status.compartment.id for status in seeded.free_compartments()] == ["A03", "B03"]


# a customer's return --------------------------------------------------------------------------------------

def test_a_return_is_deposited_and_its_authorisation_used(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    code_hash = keyed("700001")
    sync(store, returns=(ReturnAuthorisation("R1", "RX-1", code_hash, Size.S, T0 + 100),))
    assert store.return_by_code_hash(code_hash) is not None
    deposit = returning(barcode="RET-LABEL-1")
    entry = store.journal_intent_deposit("A01", DoorPurpose.RETURN, deposit, T0 + 1)
    assert (entry.purpose, entry.parcel_ids, entry.courier_id) == (DoorPurpose.RETURN, ("RX-1",), None)
    assert audit_of(store, "door_intent") == [("A01", "RX-1", {
        "journal_id": entry.id, "purpose": "return", "parcel_ids": ["RX-1"], "size": "S", "return_id": "R1"})]
    assert store.pending_deposit(entry.id) == deposit
    opened(store, entry, T0 + 2)
    store.journal_complete_deposit(entry.id, T0 + 3, confirmed_by_ir=True)

    parcel = store.parcel("RX-1")
    assert (parcel.state, parcel.compartment_id, parcel.recipient, parcel.deposited_at, parcel.barcode) == (
        ParcelState.RETURNED, "A01", "", T0 + 3, "RET-LABEL-1")
    assert raw.execute("SELECT origin FROM parcels WHERE id = 'RX-1'").fetchone()[0] == "local"
    assert raw.execute("SELECT used_at FROM return_authorisations").fetchone()[0] == T0 + 3
    assert store.return_by_code_hash(code_hash) is None
    assert store.compartment("A01").state is CompartmentState.OCCUPIED
    assert store.parcels_for_code_hash(CODE_HASH) == []
    [event] = events(store)
    assert (event.kind, event.compartment_id, event.parcel_id) == (EventKind.RETURNED, "A01", "RX-1")
    assert event.details == {"return_id": "R1", "receipt_code": "RC-7731", "size": "S",
                             "journal_id": entry.id}
    assert audit_of(store, "parcel_returned") == [("A01", "RX-1", {
        "journal_id": entry.id, "return_id": "R1", "size": "S", "confirmed_by_ir": True,
        "authorisation_found": True})]
    assert store.collectable_parcels() == [parcel]
    assert raw.execute("SELECT count(*) FROM pending_deposits").fetchone()[0] == 0
    # A second return of the same authorisation finds it used.
    with pytest.raises(StoreError, match="return authorisation R1 is already used"):
        store.journal_intent_deposit("A04", DoorPurpose.RETURN, deposit, T0 + 4)


def test_a_return_whose_authorisation_a_sync_deleted_while_the_door_was_open_is_still_recorded(
    store: SqliteStore,
) -> None:
    sync(store, returns=(authorisation("R1", "RX-1"),))
    entry = store.journal_intent_deposit("A01", DoorPurpose.RETURN, returning(), T0)
    opened(store, entry, T0)
    sync(store, reset=True)  # a full sync that no longer knows R1
    store.journal_complete_deposit(entry.id, T0 + 1, confirmed_by_ir=True)
    assert store.parcel("RX-1").state is ParcelState.RETURNED
    [(_, _, details)] = audit_of(store, "parcel_returned")
    assert details["authorisation_found"] is False
    assert [event.kind for event in events(store)] == [EventKind.RETURNED]


# completing: refusals --------------------------------------------------------------------------------------

def test_completing_a_deposit_is_refused_out_of_turn_and_twice(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    sync(store, parcels=(expected("PX-1"),))
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery(), T0)
    support = store.journal_intent("B01", DoorPurpose.REMOTE_SUPPORT, [], T0)
    store.journal_advance(support.id, JournalPhase.UNLOCK_SENT, T0)
    before = everything(raw)
    for attempt, message in (
        (lambda: store.journal_complete_deposit(entry.id, T0 + 1, confirmed_by_ir=True),
         f"journal entry {entry.id} is intent: only an entry whose unlock was sent can complete a deposit"),
        (lambda: store.journal_complete_deposit(support.id, T0 + 1, confirmed_by_ir=True),
         f"journal entry {support.id} is a remote_support, not a deposit or a return"),
        (lambda: store.journal_complete_deposit(999, T0 + 1, confirmed_by_ir=True),
         "no door journal entry 999"),
        (lambda: store.journal_complete_deposit("1", T0 + 1, confirmed_by_ir=True),  # type: ignore[arg-type]
         "a door journal entry id must be a whole number"),
        (lambda: store.journal_complete_deposit(entry.id, T0 + 1, confirmed_by_ir=1),  # type: ignore[arg-type]
         "confirmed_by_ir must be true or false"),
        (lambda: store.journal_complete_deposit(entry.id, float("nan"), confirmed_by_ir=True),
         "the time a door closed must be a finite number"),
        (lambda: store.journal_complete(entry.id, T0 + 1),
         rf"journal entry {entry.id} is a deposit: complete it as a deposit \(journal_complete_deposit\)"),
        (lambda: store.journal_complete_pickup(entry.id, T0 + 1), f"journal entry {entry.id} is a deposit, "),
        (lambda: store.journal_complete_collection(entry.id, T0 + 1),
         f"journal entry {entry.id} is a deposit, not a collection"),
    ):
        with pytest.raises(StoreError, match=message):
            attempt()
        assert everything(raw) == before
    opened(store, entry, T0 + 1)
    store.journal_complete_deposit(entry.id, T0 + 2, confirmed_by_ir=True)
    after = everything(raw)
    with pytest.raises(StoreError, match=f"journal entry {entry.id} is completed: only an entry whose"):
        store.journal_complete_deposit(entry.id, T0 + 3, confirmed_by_ir=True)
    assert everything(raw) == after
    assert len(events(store, EventKind.DEPOSITED)) == 1


def test_journal_complete_refuses_every_opening_that_moves_parcels(store: SqliteStore) -> None:
    sync(store, returns=(authorisation("R1", "RX-1"),))
    ret = store.journal_intent_deposit("A01", DoorPurpose.RETURN, returning(), T0)
    opened(store, ret, T0)
    with pytest.raises(StoreError, match=r"is a return: complete it as a return \(journal_complete_depos"):
        store.journal_complete(ret.id, T0 + 1)
    store.journal_complete_deposit(ret.id, T0 + 1, confirmed_by_ir=True)
    collect = store.journal_intent("A01", DoorPurpose.COLLECT, ["RX-1"], T0 + 2, courier_id="K1")
    opened(store, collect, T0 + 2)
    with pytest.raises(StoreError, match=r"is a collect: complete it as a collection \(journal_complete_"):
        store.journal_complete(collect.id, T0 + 3)
    with pytest.raises(StoreError, match="is a collect, not a deposit or a return"):
        store.journal_complete_deposit(collect.id, T0 + 3, confirmed_by_ir=True)


def test_one_compartment_never_holds_two_parcels(store: SqliteStore, raw: sqlite3.Connection) -> None:
    """place_parcel does not know of the open deposit door: the completion that would put a second parcel in
    the compartment is refused, clearly, and the database's unique index holds anyway."""
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery("NEW-1"), T0)
    opened(store, entry, T0)
    store.place_parcel("OTHER", Size.S, "A02", "Ada", keyed("999999"), T0 + 1)
    before = everything(raw)
    with pytest.raises(StoreError, match="compartment A02 already holds parcel OTHER: parcel NEW-1 cannot"):
        store.journal_complete_deposit(entry.id, T0 + 2, confirmed_by_ir=True)
    assert everything(raw) == before
    store.journal_abandon(entry.id, "compartment_taken", T0 + 3)
    for state in ("in_locker", "expired", "returned"):
        with pytest.raises(sqlite3.IntegrityError, match=r"UNIQUE constraint failed: parcels\.compartment"):
            raw.execute("INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, "
                        f"expired_at) VALUES ('TWO', 'S', '{state}', 'A02', '', 0, 0)")
    # Nor may one parcel be on its way into two compartments.
    first = store.journal_intent_deposit("A01", DoorPurpose.DEPOSIT, delivery("NEW-2", size=Size.S), T0 + 4)
    with pytest.raises(sqlite3.IntegrityError, match=r"UNIQUE constraint failed: pending_deposits\.parcel"):
        raw.execute("INSERT INTO door_journal (compartment_id, purpose, phase, created_at, updated_at) "
                    "VALUES ('A04', 'deposit', 'intent', 0, 0)")
        raw.execute("INSERT INTO pending_deposits (journal_id, parcel_id, size, recipient) "
                    "SELECT max(id), 'NEW-2', 'S', '' FROM door_journal")
    assert store.pending_deposit(first.id) is not None


# abandoning, faulting and cancelling drop the pending deposit ----------------------------------------------

@pytest.mark.parametrize("phase", [JournalPhase.INTENT, JournalPhase.UNLOCK_SENT, JournalPhase.OPENED])
def test_an_abandoned_deposit_changes_no_parcel_and_leaves_no_code(
    store: SqliteStore, raw: sqlite3.Connection, phase: JournalPhase
) -> None:
    sync(store, parcels=(expected("PX-1"),))
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery(), T0)
    if phase is not JournalPhase.INTENT:
        store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 1)
    if phase is JournalPhase.OPENED:
        store.journal_advance(entry.id, JournalPhase.OPENED, T0 + 2)
    parcel_before = store.parcel("PX-1")
    done = store.journal_abandon(entry.id, "too_small", T0 + 5)
    assert (done.phase, done.updated_at) == (JournalPhase.CANCELLED, T0 + 5)
    reason = raw.execute("SELECT reason FROM door_journal WHERE id = ?", (entry.id,)).fetchone()[0]
    assert reason == "too_small"
    assert store.pending_deposit(entry.id) is None
    assert where_the_code_is(raw) == set()
    assert store.parcel("PX-1") == parcel_before
    assert store.compartment("A02").state is CompartmentState.FREE
    assert events(store) == []
    assert audit_of(store, "journal_abandoned") == [("A02", "PX-1", {
        "journal_id": entry.id, "reason": "too_small", "phase": phase.value, "purpose": "deposit",
        "out_of_order": False})]
    # The courier moves the parcel to a bigger compartment.
    bigger = store.journal_intent_deposit("A03", DoorPurpose.DEPOSIT, delivery(size=Size.L), T0 + 6)
    opened(store, bigger, T0 + 7)
    store.journal_complete_deposit(bigger.id, T0 + 8, confirmed_by_ir=True)
    assert store.parcel("PX-1").compartment_id == "A03"


def test_a_door_that_did_not_really_open_is_abandoned_out_of_order_with_a_fault_event(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery("NEW-1"), T0)
    opened(store, entry, T0 + 1)  # the board said open; the courier says it is not
    store.journal_abandon(entry.id, "door_did_not_open", T0 + 2, out_of_order=True)
    status = store.compartment("A02")
    assert (status.state, status.out_of_order_reason) == (CompartmentState.OUT_OF_ORDER, "door_did_not_open")
    [fault] = events(store)
    assert (fault.kind, fault.compartment_id, fault.parcel_id, fault.occurred_at) == (
        EventKind.DOOR_FAULT, "A02", "NEW-1", T0 + 2)
    assert fault.details == {"reason": "door_did_not_open", "journal_id": entry.id, "purpose": "deposit"}
    assert audit_of(store, "compartment_out_of_order") == [("A02", None, {
        "reason": "door_did_not_open", "journal_id": entry.id})]
    assert where_the_code_is(raw) == set()
    with pytest.raises(StoreError, match="no parcel 'NEW-1'"):
        store.parcel("NEW-1")


def test_abandoning_is_refused_for_finished_entries_and_bad_arguments(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery("NEW-1"), T0)
    before = everything(raw)
    for arguments, message in (
        ((entry.id, " ", T0), "abandon reason must be non-empty text"),
        ((entry.id, "too_small", "later"), "the time a door is abandoned must be a finite number"),
        ((12345, "too_small", T0), "no door journal entry 12345"),
        ((None, "too_small", T0), "a door journal entry id must be a whole number, not None"),
    ):
        with pytest.raises(StoreError, match=message):
            store.journal_abandon(*arguments)
    with pytest.raises(StoreError, match="out_of_order must be true or false"):
        store.journal_abandon(entry.id, "x", T0, out_of_order="yes")  # type: ignore[arg-type]
    assert everything(raw) == before
    store.journal_abandon(entry.id, "too_small", T0 + 1)
    with pytest.raises(StoreError, match=f"journal entry {entry.id} is already cancelled: only an"):
        store.journal_abandon(entry.id, "again", T0 + 2, out_of_order=True)
    assert store.compartment("A02").state is CompartmentState.FREE


def test_a_fault_or_a_cancel_drops_the_pending_deposit_too(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    faulty = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery("NEW-1"), T0)
    store.journal_advance(faulty.id, JournalPhase.UNLOCK_SENT, T0)
    store.journal_fault(faulty.id, "door_did_not_open", T0 + 1)
    cancelled = store.journal_intent_deposit("A03", DoorPurpose.DEPOSIT, delivery("NEW-1"), T0 + 2)
    assert where_the_code_is(raw) == {("pending_deposits", "pickup_code")}
    store.journal_cancel(cancelled.id, "never_sent", T0 + 3)
    assert (store.pending_deposit(faulty.id), store.pending_deposit(cancelled.id)) == (None, None)
    assert where_the_code_is(raw) == set()
    [fault] = events(store)
    assert fault.details["purpose"] == "deposit"


def test_pending_deposit_is_none_for_other_entries_and_refuses_unknown_ones(store: SqliteStore) -> None:
    support = store.journal_intent("A01", DoorPurpose.REMOTE_SUPPORT, [], T0)
    assert store.pending_deposit(support.id) is None
    with pytest.raises(StoreError, match="no door journal entry 77"):
        store.pending_deposit(77)


# collection ------------------------------------------------------------------------------------------------

def expire_and_return(store: SqliteStore) -> None:
    """OLD-1 (A03) and OLD-2 (A02) expire; RX-1 is returned into A01; IN-1 (B01) is within its window."""
    sync(store, parcels=(expected("OLD-1", hours=24),),
         credentials=(PickupCredential("C1", PLATFORM_CODE_HASH, ("OLD-1",), None),),
         returns=(authorisation("R1", "RX-1"),))
    entry = store.journal_intent_deposit("A03", DoorPurpose.DEPOSIT, delivery("OLD-1"), T0)
    opened(store, entry, T0)
    store.journal_complete_deposit(entry.id, T0, confirmed_by_ir=True)
    store.place_parcel("OLD-2", Size.M, "A02", "Ada", keyed("222222"), T0)
    store.place_parcel("IN-1", Size.M, "B01", "Bob", keyed("333333"), T0 + 48 * HOUR)
    ret = store.journal_intent_deposit("A01", DoorPurpose.RETURN, returning(), T0 + HOUR)
    opened(store, ret, T0 + HOUR)
    store.journal_complete_deposit(ret.id, T0 + HOUR, confirmed_by_ir=True)
    expired = store.expire_overdue(T0 + 72 * HOUR, 72)
    assert [parcel.id for parcel in expired] == ["OLD-2", "OLD-1"]  # layout order: A02 before A03


def test_a_courier_collects_expired_parcels_and_returns(store: SqliteStore, raw: sqlite3.Connection) -> None:
    expire_and_return(store)
    collectable = store.collectable_parcels()
    assert [(parcel.id, parcel.state, parcel.compartment_id) for parcel in collectable] == [
        ("RX-1", ParcelState.RETURNED, "A01"), ("OLD-2", ParcelState.EXPIRED, "A02"),
        ("OLD-1", ParcelState.EXPIRED, "A03")]
    before = len(events(store))
    at = T0 + 80 * HOUR
    journal_ids: list[int] = []
    for number, parcel in enumerate(collectable):
        entry = store.journal_intent(parcel.compartment_id or "", DoorPurpose.COLLECT, [parcel.id], at,
                                     courier_id="K1")
        assert (entry.courier_id, entry.purpose, entry.method) == ("K1", DoorPurpose.COLLECT, None)
        opened(store, entry, at)
        done = store.journal_complete_collection(entry.id, at + number)
        assert (done.phase, done.courier_id) == (JournalPhase.COMPLETED, "K1")
        journal_ids.append(entry.id)
    for parcel in collectable:
        now = store.parcel(parcel.id)
        assert (now.state, now.compartment_id) == (ParcelState.COLLECTED, parcel.compartment_id)
        assert store.compartment(parcel.compartment_id or "").state is CompartmentState.FREE
    assert raw.execute("SELECT collected_at FROM parcels WHERE id = 'OLD-2'").fetchone()[0] == at + 1
    assert store.collectable_parcels() == []
    assert raw.execute("SELECT count(*) FROM pickup_credentials WHERE parcel_id IN ('OLD-1', 'OLD-2') "
                       "AND spent_at IS NULL").fetchone()[0] == 0  # local and platform codes alike
    assert store.has_platform_credential("OLD-1") is False
    collected = events(store, EventKind.COLLECTED)
    assert len(events(store)) == before + 3
    assert [(event.parcel_id, event.compartment_id, event.details) for event in collected] == [
        ("RX-1", "A01", {"courier_id": "K1", "reason": "returned", "journal_id": journal_ids[0]}),
        ("OLD-2", "A02", {"courier_id": "K1", "reason": "expired", "journal_id": journal_ids[1]}),
        ("OLD-1", "A03", {"courier_id": "K1", "reason": "expired", "journal_id": journal_ids[2]}),
    ]
    assert [(compartment, parcel, details["reason"]) for compartment, parcel, details
            in audit_of(store, "parcel_collected")] == [
        ("A01", "RX-1", "returned"), ("A02", "OLD-2", "expired"), ("A03", "OLD-1", "expired")]
    assert store.parcel("IN-1").state is ParcelState.IN_LOCKER


def test_a_collection_from_a_compartment_out_of_order_leaves_it_out_of_order(store: SqliteStore) -> None:
    expire_and_return(store)
    store.mark_out_of_order("A01", "latch_sticks", T0 + 73 * HOUR)
    entry = store.journal_intent("A01", DoorPurpose.COLLECT, ["RX-1"], T0 + 74 * HOUR, courier_id="K1")
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 74 * HOUR)
    store.journal_complete_collection(entry.id, T0 + 74 * HOUR)
    assert store.compartment("A01").state is CompartmentState.OUT_OF_ORDER
    with pytest.raises(StoreError, match=f"journal entry {entry.id} is completed: only an entry whose"):
        store.journal_complete_collection(entry.id, T0 + 75 * HOUR)


@pytest.mark.parametrize(
    ("compartment_id", "purpose", "parcel_ids", "kwargs", "message"),
    [
        ("A02", DoorPurpose.COLLECT, ["OLD-2"], {}, "the collecting courier's id must be non-empty text"),
        ("A02", DoorPurpose.COLLECT, ["OLD-2"], {"courier_id": ""}, "courier's id must be non-empty text"),
        ("A02", DoorPurpose.COLLECT, [], {"courier_id": "K1"}, "a collection needs at least one parcel"),
        ("B01", DoorPurpose.COLLECT, ["IN-1"], {"courier_id": "K1"},
         r"parcel IN-1 does not wait for collection in compartment B01 \(it is in_locker, in compartment"),
        ("A03", DoorPurpose.COLLECT, ["OLD-2"], {"courier_id": "K1"},
         r"parcel OLD-2 does not wait for collection in compartment A03 \(it is expired, in compartment A02"),
        ("A02", DoorPurpose.COLLECT, ["NOPE"], {"courier_id": "K1"}, "no parcel 'NOPE'"),
        ("A02", DoorPurpose.PICKUP, ["OLD-2"], {"courier_id": "K1"},
         "only a collection names a courier here, not a pickup opening"),
        ("B01", DoorPurpose.PICKUP, ["IN-1"], {"courier_id": "K1"}, "only a collection names a courier"),
        ("A02", DoorPurpose.PICKUP, ["OLD-2"], {},
         r"parcel OLD-2 is not in the locker in compartment A02 \(it is expired"),  # its code opens nothing
        ("A02", DoorPurpose.COLLECT, ["OLD-2"], {"courier_id": "K1", "method": PickupMethod.CODE},
         "only a pickup has a pickup method"),
        ("A04", DoorPurpose.DEPOSIT, [], {}, "a deposit opening carries its parcel: use journal_intent_depo"),
        ("A04", DoorPurpose.RETURN, ["RX-9"], {}, "a return opening carries its parcel: use journal_intent_"),
    ],
)
def test_a_collection_intent_is_refused_with_nothing_written(
    store: SqliteStore, raw: sqlite3.Connection, compartment_id: str, purpose: DoorPurpose,
    parcel_ids: list[str], kwargs: dict[str, Any], message: str,
) -> None:
    expire_and_return(store)
    before = everything(raw)
    with pytest.raises(StoreError, match=message):
        store.journal_intent(compartment_id, purpose, parcel_ids, T0 + 80 * HOUR, **kwargs)
    assert everything(raw) == before


def test_a_collection_finds_its_parcel_gone_and_commits_nothing(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    expire_and_return(store)
    entry = store.journal_intent("A02", DoorPurpose.COLLECT, ["OLD-2"], T0 + 80 * HOUR, courier_id="K1")
    opened(store, entry, T0 + 80 * HOUR)
    raw.execute("UPDATE parcels SET state = 'collected', collected_at = 1 WHERE id = 'OLD-2'")  # by hand
    before = everything(raw)
    with pytest.raises(StoreError, match="parcel OLD-2 does not wait for collection in compartment A02"):
        store.journal_complete_collection(entry.id, T0 + 81 * HOUR)
    assert everything(raw) == before


# expiry -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("hours", "not_after", "default", "ends_after"),
    [
        (48, None, 72, 48 * HOUR),  # the parcel's own window
        (None, None, 72, 72 * HOUR),  # the locker's default
        (None, None, 1, 1 * HOUR),
        (48, 10 * HOUR, 72, 10 * HOUR),  # a hard end before the window's
        (48, 60 * HOUR, 72, 48 * HOUR),  # a hard end after it changes nothing
        (None, 5 * HOUR, 72, 5 * HOUR),
        (None, -HOUR, 72, -HOUR),  # the hard end had passed before the deposit
    ],
)
def test_a_parcel_expires_exactly_when_its_window_ends(
    store: SqliteStore, raw: sqlite3.Connection, hours: int | None, not_after: float | None, default: int,
    ends_after: float,
) -> None:
    deposited_at = T0 + 1000
    store.place_parcel("P1", Size.S, "A04", "Ada", CODE_HASH, deposited_at)
    raw.execute("UPDATE parcels SET pickup_window_hours = ?, pickup_not_after = ? WHERE id = 'P1'",
                (hours, None if not_after is None else deposited_at + not_after))
    ends_at = deposited_at + ends_after
    assert store.expire_overdue(ends_at - 0.001, default) == []
    assert store.parcel("P1").state is ParcelState.IN_LOCKER
    [expired] = store.expire_overdue(ends_at, default)
    assert (expired.id, expired.state, expired.compartment_id) == ("P1", ParcelState.EXPIRED, "A04")
    assert raw.execute("SELECT expired_at FROM parcels").fetchone()[0] == ends_at
    assert audit_of(store, "parcel_expired") == [("A04", "P1", {
        "window_started_at": deposited_at, "window_hours": hours or default,
        "not_after": None if not_after is None else deposited_at + not_after, "window_ended_at": ends_at})]
    assert store.expire_overdue(ends_at + 1000 * HOUR, default) == []  # once only
    assert store.parcels_for_code_hash(CODE_HASH) == []  # its code no longer opens it
    assert store.compartment("A04").state is CompartmentState.OCCUPIED  # still inside, for a courier


def test_a_parcel_without_a_deposit_time_counts_from_when_it_was_created(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.place_parcel("P1", Size.S, "A04", "Ada", CODE_HASH, T0)
    raw.execute("UPDATE parcels SET deposited_at = NULL, created_at = ? WHERE id = 'P1'", (T0 - 10 * HOUR,))
    assert store.expire_overdue(T0 + 62 * HOUR - 1, 72) == []
    assert [parcel.id for parcel in store.expire_overdue(T0 + 62 * HOUR, 72)] == ["P1"]


def test_expiry_leaves_every_other_parcel_alone(store: SqliteStore) -> None:
    expire_and_return(store)  # OLD-1, OLD-2 expired; RX-1 returned; IN-1 in the locker since T0 + 48 h
    sync(store, parcels=(expected("PX-9", hours=1),))
    store.place_parcel("GONE", Size.S, "A04", "Ada", keyed("444444"), T0)
    entry = store.journal_intent("A04", DoorPurpose.PICKUP, ["GONE"], T0 + 1)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 1)
    store.journal_complete_pickup(entry.id, T0 + 2)
    before = {parcel_id: store.parcel(parcel_id) for parcel_id in ("OLD-1", "OLD-2", "RX-1", "PX-9", "GONE")}
    assert [parcel.id for parcel in store.expire_overdue(T0 + 1000 * HOUR, 72)] == ["IN-1"]
    assert {parcel_id: store.parcel(parcel_id) for parcel_id in before} == before
    assert [parcel.id for parcel in store.collectable_parcels()] == ["RX-1", "OLD-2", "OLD-1", "IN-1"]


@pytest.mark.parametrize(("at", "default", "message"), [
    (T0, 0, "the default pickup window must be a whole number of hours >= 1, not 0"),
    (T0, 1.5, "the default pickup window must be a whole number of hours >= 1, not 1.5"),
    (T0, True, "the default pickup window must be a whole number of hours >= 1, not True"),
    (float("nan"), 72, "the time parcels expire at must be a finite number"),
])
def test_expiry_refuses_bad_arguments(store: SqliteStore, at: float, default: int, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store.expire_overdue(at, default)


def test_collectable_parcels_follow_the_layout_not_the_ids(store: SqliteStore) -> None:
    for parcel_id, compartment_id in (("A", "B04"), ("B", "A01"), ("C", "B01")):
        store.place_parcel(parcel_id, Size.S, compartment_id, "Ada", keyed("123123"), T0)
    store.expire_overdue(T0 + 1000 * HOUR, 72)
    assert [parcel.compartment_id for parcel in store.collectable_parcels()] == ["A01", "B01", "B04"]


# couriers, returns confirmed online, platform credentials ------------------------------------------------

def test_a_courier_is_found_by_id_in_any_case(store: SqliteStore, caplog: pytest.LogCaptureFixture) -> None:
    sync(store, couriers=(courier("K-7Q"), courier("dhl-0042")))
    for typed in ("K-7Q", "k-7q", "K-7q"):
        found = store.courier(typed)
        assert found is not None and found.courier_id == "K-7Q"
    found = store.courier("DHL-0042")  # a badge upper-cases it
    assert found is not None and found.courier_id == "dhl-0042"
    assert store.courier("K-7") is None
    assert store.courier("   ") is None
    with pytest.raises(StoreError, match="a courier id must be text, not int"):
        store.courier(7)  # type: ignore[arg-type]
    # Two ids that differ only in case cannot be told apart at the keypad: neither logs in by id.
    sync(store, couriers=(courier("dhl-0042"), courier("DHL-0042")))
    assert store.courier("dhl-0042") is None
    assert "couriers DHL-0042, dhl-0042 differ only in case" in caplog.text


def test_a_return_confirmed_online_is_kept_as_if_synced(store: SqliteStore, raw: sqlite3.Connection) -> None:
    code_hash = keyed("700002")
    online = ReturnAuthorisation("R-ON", "RX-ON", code_hash, Size.M, None)
    sync(store, reset=True, has_more=True)  # a full sync in progress
    store.add_return_authorisation(online, T0 + 5)
    assert store.return_by_code_hash(code_hash) == online
    assert audit_of(store, "return_confirmed_online") == [(None, "RX-ON", {"return_id": "R-ON", "size": "M"})]
    sync(store, at=T0 + 6)  # the full sync ends without it: it was kept in the current generation
    assert store.return_by_code_hash(code_hash) == online
    assert tuple(raw.execute("SELECT synced_at FROM return_authorisations").fetchone()) == (T0 + 5,)
    entry = store.journal_intent_deposit("A02", DoorPurpose.RETURN,
                                         returning("RX-ON", return_id="R-ON", size=Size.M), T0 + 7)
    opened(store, entry, T0 + 7)
    store.journal_complete_deposit(entry.id, T0 + 8, confirmed_by_ir=True)
    store.add_return_authorisation(online, T0 + 9)  # the platform confirms it again: its use stays
    assert raw.execute("SELECT used_at FROM return_authorisations").fetchone()[0] == T0 + 8
    assert store.return_by_code_hash(code_hash) is None


@pytest.mark.parametrize(("authorisation_", "message"), [
    ("R-ON", "an online return authorisation must be a ReturnAuthorisation, not str"),
    (ReturnAuthorisation("R-ON", "", b"\x01" * 32, Size.S, None), "'R-ON'.*parcel id must be non-empty"),
    (ReturnAuthorisation("R-ON", "RX", b"", Size.S, None), "the code hash must be non-empty bytes"),
    (ReturnAuthorisation("R-ON", "RX", b"\x01" * 32, "XS", None), "'XS' is not a size"),  # type: ignore[arg-type]
])
def test_a_bad_online_return_authorisation_is_refused(
    store: SqliteStore, raw: sqlite3.Connection, authorisation_: ReturnAuthorisation, message: str
) -> None:
    before = everything(raw)
    with pytest.raises(StoreError, match=message):
        store.add_return_authorisation(authorisation_, T0)
    assert everything(raw) == before


def test_a_platform_credential_counts_while_unspent_and_unexpired(
    store: SqliteStore, clock: WallClock
) -> None:
    sync(store, parcels=(expected("PX-1"), expected("PX-2")),
         credentials=(PickupCredential("C1", PLATFORM_CODE_HASH, ("PX-1",), T0 + 100),))
    store.place_parcel("LOCAL", Size.S, "A01", "Ada", CODE_HASH, T0)
    assert [store.has_platform_credential(parcel_id) for parcel_id in ("PX-1", "PX-2", "LOCAL", "NONE")] == [
        True, False, False, False]
    clock.now = T0 + 100
    assert store.has_platform_credential("PX-1") is False
    with pytest.raises(StoreError, match="parcel id must be non-empty text"):
        store.has_platform_credential("")


# the schema ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("statement", "message"), [
    ("INSERT INTO door_journal (compartment_id, purpose, phase, created_at, updated_at, courier_id) "
     "VALUES ('A01', 'pickup', 'completed', 0, 0, 'K1')", "CHECK"),  # only deposits and collections
    ("INSERT INTO door_journal (compartment_id, purpose, phase, created_at, updated_at, courier_id) "
     "VALUES ('A01', 'collect', 'completed', 0, 0, '')", "CHECK"),
    ("INSERT INTO door_journal (compartment_id, purpose, phase, created_at, updated_at, method) "
     "VALUES ('A01', 'deposit', 'completed', 0, 0, 'code')", "CHECK"),  # 0003's method check still holds
    ("INSERT INTO pending_deposits (journal_id, parcel_id, size, recipient, pickup_code) "
     "VALUES (1, 'P', 'S', '', '123456')", "CHECK"),  # a code in clear without its hash
    ("INSERT INTO pending_deposits (journal_id, parcel_id, size, recipient, code_hash) "
     "VALUES (1, 'P', 'S', '', x'0101')", "CHECK"),
    ("INSERT INTO pending_deposits (journal_id, parcel_id, size, recipient, photo) "
     "VALUES (1, 'P', 'S', '', x'ffd8ff')", "CHECK"),  # a photo of an announced parcel
    ("INSERT INTO pending_deposits (journal_id, parcel_id, size, recipient) VALUES (999, 'P', 'S', '')",
     "FOREIGN KEY"),
    ("INSERT INTO parcel_photos (parcel_id, jpeg, taken_at) VALUES ('P', zeroblob(2097153), 0)", "CHECK"),
])
def test_the_schema_refuses_what_the_store_refuses(
    raw: sqlite3.Connection, store: SqliteStore, statement: str, message: str
) -> None:
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("INSERT INTO door_journal (compartment_id, purpose, phase, created_at, updated_at) "
                "VALUES ('A01', 'deposit', 'intent', 0, 0)")
    with pytest.raises(sqlite3.IntegrityError, match=message):
        raw.execute(statement)


# kill -9 between the intent and the door closing ---------------------------------------------------------

HOLDING_CHILD = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from kiosk.core.model import Compartment, Deposit, DoorPurpose, JournalPhase, Size
    from kiosk.store import SqliteStore

    layout = (Compartment("A01", Size.S, 0, 1, 190, 1), Compartment("A02", Size.M, 0, 2, 150, 1))
    store = SqliteStore.open(sys.argv[1], layout)
    deposit = Deposit("PX-1", Size.M, "A. Lovelace", bytes.fromhex(sys.argv[2]), sys.argv[3], "K1",
                      barcode="JJDPX-1")
    entry = store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, deposit, 10.0)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, 11.0)
    print(entry.id, flush=True)
    sys.stdin.readline()  # hold the connection open (WAL not checkpointed) until killed
    """
)


def test_a_deposit_door_open_when_the_kiosk_is_killed_is_still_there_whole(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    small = LAYOUT[:2]
    with SqliteStore.open(database, small) as store:
        sync(store, parcels=(expected("PX-1"),))
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDING_CHILD, str(database), CODE_HASH.hex(), CODE],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, f"the child failed: {child.stderr.read() if child.stderr else ''}"
        entry_id = int(line)
    finally:
        child.kill()  # SIGKILL: no atexit, no close, no checkpoint
        child.communicate(timeout=30)
    assert child.returncode == -9

    with SqliteStore.open(database, small) as store:
        [entry] = store.unfinished_journal()
        assert (entry.id, entry.purpose, entry.phase, entry.courier_id) == (
            entry_id, DoorPurpose.DEPOSIT, JournalPhase.UNLOCK_SENT, "K1")
        assert store.pending_deposit(entry_id) == delivery("PX-1")
        assert store.parcel("PX-1").state is ParcelState.EXPECTED  # not deposited before the door closes
        assert store.compartment("A02").state is CompartmentState.FREE
        assert events(store) == []
        # Reconciliation reads the door closed on the parcel: the deposit commits whole.
        store.journal_complete_deposit(entry_id, 20.0, confirmed_by_ir=True)
        assert store.parcel("PX-1").state is ParcelState.IN_LOCKER
        assert [event.kind for event in events(store)] == [EventKind.DEPOSITED]
        assert store.pending_deposit(entry_id) is None


DYING_CHILD = textwrap.dedent(
    """
    import json
    import os
    import signal
    import sys
    from kiosk.core.model import Compartment, Size
    from kiosk.store import SqliteStore

    database, order = sys.argv[1], json.loads(sys.argv[2])
    layout = [Compartment(id_, Size(size), board, lock, height, column)
              for id_, size, board, lock, height, column in order["layout"]]
    store = SqliteStore.open(database, layout)
    connection = store._connection
    connection.create_function("die", 0, lambda: os.kill(os.getpid(), signal.SIGKILL))
    # A temporary trigger of this connection only: the process dies inside the store's own transaction,
    # after the statement named, before COMMIT.
    connection.execute(f"CREATE TEMP TRIGGER die_here AFTER {order['event']} ON main.{order['table']} "
                       f"WHEN {order['when']} BEGIN SELECT die(); END")
    operation, entry, at = order["operation"], order["entry"], 900_000.0
    if operation == "complete_deposit":
        store.journal_complete_deposit(entry, at, confirmed_by_ir=True)
    elif operation == "collect":
        store.journal_complete_collection(entry, at)
    elif operation == "abandon":
        store.journal_abandon(entry, "door_did_not_open", at, out_of_order=True)
    print("survived", flush=True)
    """
)


def seed_open_doors(database: Path) -> dict[str, int]:
    """An open door of every kind: a deposit into A02, a return into A01 (with a photo-less deposit), a
    collection at A03 (two parcels would not fit one compartment: one expired parcel), a deposit into B01
    to be abandoned."""
    with SqliteStore.open(database, LAYOUT, now=lambda: T0) as store:
        sync(store, parcels=(expected("PX-1"), expected("PX-2", size=Size.XL)),
             returns=(authorisation("R1", "RX-1"),))
        store.place_parcel("OLD-1", Size.L, "A03", "Ada", keyed("555555"), T0 - 100 * HOUR)
        store.expire_overdue(T0, 72)
        entries = {
            "deposit": store.journal_intent_deposit("A02", DoorPurpose.DEPOSIT, delivery("PX-1"), T0),
            "return": store.journal_intent_deposit("A01", DoorPurpose.RETURN, returning(), T0),
            "collect": store.journal_intent("A03", DoorPurpose.COLLECT, ["OLD-1"], T0, courier_id="K1"),
            "abandon": store.journal_intent_deposit("B01", DoorPurpose.DEPOSIT,
                                                    delivery("PX-2", size=Size.XL), T0),
        }
        for entry in entries.values():
            opened(store, entry, T0)
        return {name: entry.id for name, entry in entries.items()}


def assert_consistent(database: Path) -> None:
    """Every compartment's state matches what is inside; every finished deposit's parcel is in the locker
    with exactly one event; no finished entry keeps a pending deposit; no code in clear outside those."""
    connection = sqlite3.connect(database)
    try:
        inside = dict(connection.execute(
            "SELECT compartment_id, id FROM parcels WHERE state IN ('in_locker', 'expired', 'returned')"))
        for compartment_id, state in connection.execute("SELECT id, state FROM compartments"):
            if state != "out_of_order":
                assert (state == "occupied") == (compartment_id in inside), compartment_id
        assert connection.execute(
            "SELECT count(*) FROM pending_deposits AS d JOIN door_journal AS j ON j.id = d.journal_id "
            "WHERE j.phase NOT IN ('intent', 'unlock_sent', 'opened')").fetchone()[0] == 0
        for entry_id, purpose, parcel_ids in connection.execute(
                "SELECT id, purpose, parcel_ids FROM door_journal WHERE phase = 'completed' "
                "AND purpose IN ('deposit', 'return', 'collect')").fetchall():
            kind = {"deposit": "deposited", "return": "returned", "collect": "collected"}[purpose]
            for parcel_id in json.loads(parcel_ids):
                found = connection.execute(
                    "SELECT count(*) FROM outbox WHERE kind = ? AND parcel_id = ? "
                    "AND json_extract(details, '$.journal_id') = ?",
                    (kind, parcel_id, entry_id)).fetchone()[0]
                assert found == 1, (entry_id, parcel_id)
        faults = connection.execute("SELECT count(*) FROM outbox WHERE kind = 'door_fault'").fetchone()[0]
        abandoned_out_of_order = connection.execute(
            "SELECT count(*) FROM audit WHERE kind = 'journal_abandoned' "
            "AND json_extract(details, '$.out_of_order')").fetchone()[0]
        assert faults == abandoned_out_of_order
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("operation", "entry", "table", "event", "when"),
    [
        ("complete_deposit", "deposit", "outbox", "INSERT", "NEW.kind = 'deposited'"),
        ("complete_deposit", "deposit", "audit", "INSERT", "NEW.kind = 'door_closed'"),  # the last statement
        ("complete_deposit", "return", "return_authorisations", "UPDATE", "NEW.used_at IS NOT NULL"),
        ("complete_deposit", "return", "outbox", "INSERT", "NEW.kind = 'returned'"),
        ("collect", "collect", "outbox", "INSERT", "NEW.kind = 'collected'"),
        ("abandon", "abandon", "outbox", "INSERT", "NEW.kind = 'door_fault'"),
    ],
)
def test_sigkill_inside_a_completion_leaves_neither_half(
    tmp_path: Path, operation: str, entry: str, table: str, event: str, when: str
) -> None:
    database = tmp_path / "kiosk.sqlite"
    entries = seed_open_doors(database)
    order = {"operation": operation, "entry": entries[entry], "table": table, "event": event, "when": when,
             "layout": [(compartment.id, compartment.size.value, compartment.board, compartment.lock,
                         compartment.height_cm, compartment.column) for compartment in LAYOUT]}
    with sqlite3.connect(database) as connection:
        before = everything(connection)
    connection.close()

    child = subprocess.run(
        [sys.executable, "-c", DYING_CHILD, str(database), json.dumps(order)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert child.returncode == -9, f"the child did not die where it should: {child.stdout} {child.stderr}"
    with sqlite3.connect(database) as connection:
        assert everything(connection) == before  # nothing of the killed transaction is there
    connection.close()
    assert_consistent(database)

    order["when"] = "0"  # the trap stays armed but never springs
    child = subprocess.run(
        [sys.executable, "-c", DYING_CHILD, str(database), json.dumps(order)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert child.stdout == "survived\n", child.stderr
    with sqlite3.connect(database) as connection:
        assert everything(connection) != before
        assert connection.execute("SELECT phase FROM door_journal WHERE id = ?",
                                  (entries[entry],)).fetchone()[0] == (
            "cancelled" if operation == "abandon" else "completed")
    connection.close()
    assert_consistent(database)


# migration 0005 --------------------------------------------------------------------------------------------

V4_LAYOUT = LAYOUT[:5]
LIVE, SPENT = b"\x01" * 32, b"\x02" * 32
V4_ROWS = f"""
    INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, picked_up_at, barcode,
                         accessible, pickup_window_hours, pickup_not_after, origin, seen_in_sync,
                         deposited_at, expired_at, collected_at)
    VALUES ('OLD1', 'S', 'in_locker', 'A01', 'Ada', {T0}, NULL, NULL, 0, NULL, NULL, 'local', NULL, {T0},
            NULL, NULL),
           ('PLAT1', 'M', 'in_locker', 'A02', 'Bob', {T0 - 9}, NULL, 'JJD1', 1, 24, {T0 + 20 * HOUR},
            'platform', 1, {T0 + 1}, NULL, NULL),
           ('GONE1', 'L', 'picked_up', 'A03', 'Cy', {T0 + 2}, {T0 + 9}, NULL, 0, NULL, NULL, 'local', NULL,
            {T0 + 2}, NULL, NULL),
           ('EXP1', 'XL', 'expected', NULL, 'Di', {T0 + 3}, NULL, 'JJD2', 0, 72, NULL, 'platform', 1, NULL,
            NULL, NULL);
    UPDATE compartments SET state = 'occupied' WHERE id IN ('A01', 'A02');
    UPDATE compartments SET state = 'out_of_order', out_of_order_reason = 'door_did_not_open'
    WHERE id = 'B01';
    INSERT INTO pickup_credentials (parcel_id, credential_id, code_hash, created_at, expires_at, spent_at,
                                    origin, seen_in_sync)
    VALUES ('OLD1', NULL, x'{LIVE.hex()}', {T0}, NULL, NULL, 'local', NULL),
           ('PLAT1', 'C1', x'{LIVE.hex()}', {T0}, {T0 + 99 * HOUR}, NULL, 'platform', 1),
           ('GONE1', NULL, x'{SPENT.hex()}', {T0 + 2}, NULL, {T0 + 9}, 'local', NULL);
    INSERT INTO door_journal (compartment_id, purpose, parcel_ids, phase, reason, unlock_attempts, created_at,
                              updated_at, method)
    VALUES ('A03', 'pickup', '["GONE1"]', 'completed', NULL, 1, {T0 + 8}, {T0 + 9}, 'qr'),
           ('B01', 'pickup', '[]', 'fault', 'door_did_not_open', 2, {T0 + 10}, {T0 + 11}, NULL),
           ('A04', 'remote_support', '[]', 'completed', NULL, 1, {T0 + 12}, {T0 + 13}, NULL),
           ('A02', 'pickup', '["PLAT1"]', 'opened', NULL, 1, {T0 + 14}, {T0 + 15}, 'code');
    INSERT INTO outbox (idempotency_key, kind, occurred_at, compartment_id, parcel_id, details, attempts,
                        last_error, last_attempt_at, parked_at, park_reason)
    VALUES ('0b7f1d2e-3c4a-4b5c-8d6e-7f8091a2b3c4', 'deposited', {T0}, 'A01', 'OLD1', '{{"size": "S"}}', 0,
            NULL, NULL, NULL, NULL),
           ('1c8f2e3d-4b5a-4c6d-9e7f-8091a2b3c4d5', 'picked_up', {T0 + 9}, 'A03', 'GONE1',
            '{{"journal_id": 1}}', 2, 'platform down', {T0 + 20}, {T0 + 21}, 'refused: unknown parcel');
    INSERT INTO audit (at, kind, compartment_id, parcel_id, details)
    VALUES ({T0}, 'parcel_placed', 'A01', 'OLD1', '{{"size": "S"}}');
    INSERT INTO kv_state (key, value) VALUES ('keypad', '{{"failures": 2}}');
    INSERT INTO couriers (courier_id, display_name, password_hash, badge_secret_hash, can_collect,
                          valid_until, seen_in_sync, synced_at)
    VALUES ('K-7Q', 'B. Nowak', '{PASSWORD_HASH}', x'{LIVE.hex()}', 1, NULL, 1, {T0});
    INSERT INTO return_authorisations (return_id, parcel_id, code_hash, size, expires_at, used_at,
                                       seen_in_sync, synced_at)
    VALUES ('R1', 'RX-1', x'{SPENT.hex()}', 'S', NULL, NULL, 1, {T0});
    UPDATE sync_state SET cursor = 'c-9', generation = 1, last_page_at = {T0}, last_complete_at = {T0};
    INSERT INTO residents (name, unit, email, language, phone, active, created_at, updated_at)
    VALUES ('Ada Lovelace', '4B', 'ada@example.org', 'en', NULL, 1, {T0}, {T0});
    INSERT INTO resident_parcels (parcel_id, resident_id, at) VALUES ('OLD1', 1, {T0});
    INSERT INTO mail_queue (resident_id, parcel_id, code, compartment_id, size, locker_name, queued_at,
                            next_attempt_at)
    VALUES (1, 'OLD1', '123456', 'A01', 'S', 'locker-1', {T0}, {T0});
"""


def by_old_columns(database: Path, columns: dict[str, list[str]]) -> dict[str, list[tuple[object, ...]]]:
    connection = sqlite3.connect(database)
    try:
        return {table: [tuple(row) for row in connection.execute(
            f"SELECT {', '.join(f'{chr(34)}{name}{chr(34)}' for name in names)} FROM {table} ORDER BY 1")]
            for table, names in columns.items()}
    finally:
        connection.close()


def test_a_used_version_4_database_migrates_to_5_with_every_row_intact(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    with SqliteStore.open(database, V4_LAYOUT, migrations=bundled_migrations()[:4]) as old:
        assert old.schema_version == 4
        assert old._connection is not None
        old._connection.executescript(V4_ROWS)
        columns = {table: [row[1] for row in old._connection.execute(f"PRAGMA table_info({table})")]
                   for table in everything(old._connection)}
    before = by_old_columns(database, columns)
    assert all(before[table] for table in ("parcels", "pickup_credentials", "door_journal", "outbox", "audit",
                                           "couriers", "return_authorisations", "residents", "mail_queue"))

    with SqliteStore.open(database, V4_LAYOUT, now=lambda: T0 + 30) as store:
        assert store.schema_version == bundled_migrations()[-1].version  # 5, and any later ones
        assert by_old_columns(database, columns) == before
        connection = store._connection
        assert connection is not None
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert connection.execute("SELECT count(*) FROM door_journal WHERE courier_id IS NOT NULL"
                                  ).fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM pending_deposits").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM parcel_photos").fetchone()[0] == 0

        # It works as the kiosk left it, and the new parts work on the old rows.
        parcel = store.parcel("PLAT1")
        assert (parcel.deposited_at, parcel.pickup_window_hours, parcel.pickup_not_after) == (
            T0 + 1, 24, T0 + 20 * HOUR)
        [open_door] = store.unfinished_journal()
        assert (open_door.compartment_id, open_door.method, open_door.courier_id) == (
            "A02", PickupMethod.CODE, None)
        assert store.pending_deposit(open_door.id) is None
        found = store.courier("k-7q")
        assert found is not None and found.courier_id == "K-7Q"
        assert store.has_platform_credential("PLAT1")
        assert [expired.id for expired in store.expire_overdue(T0 + 20 * HOUR, 72)] == ["PLAT1"]
        store.journal_cancel(open_door.id, "reconciled_closed", T0 + 20 * HOUR)
        entry = store.journal_intent_deposit("A04", DoorPurpose.RETURN, returning(), T0 + 20 * HOUR)
        opened(store, entry, T0 + 20 * HOUR)
        store.journal_complete_deposit(entry.id, T0 + 20 * HOUR, confirmed_by_ir=True)
        assert [parcel.id for parcel in store.collectable_parcels()] == ["PLAT1", "RX-1"]
        assert store.get_state("keypad") == '{"failures": 2}'
        assert store.mail_depth() == 1


def test_the_courier_migration_is_bundled_fifth() -> None:
    source = REPO / "kiosk" / "store" / "migrations" / "0005_courier.sql"
    assert bundled_migrations()[4].label == "0005_courier"
    assert bundled_migrations()[4].sql == source.read_text(encoding="utf-8")


# a label delivered before (the courier chart's ALREADY_HERE in any session) ------------------------------

def deposited(store: SqliteStore, compartment_id: str, deposit: Deposit, at: float) -> None:
    entry = store.journal_intent_deposit(compartment_id, DoorPurpose.DEPOSIT, deposit, at)
    opened(store, entry, at)
    store.journal_complete_deposit(entry.id, at, confirmed_by_ir=True)


def test_a_parcel_is_found_by_its_label_once_it_went_in_whatever_became_of_it(store: SqliteStore) -> None:
    sync(store, parcels=(expected("PX-1"), expected("PX-2")))
    assert store.parcel_by_barcode("JJDPX-1") is None  # only announced: the courier still brings it
    deposited(store, "A02", delivery("PX-1"), T0 + 10)
    found = store.parcel_by_barcode("JJDPX-1")
    assert found is not None and (found.id, found.state, found.compartment_id) == (
        "PX-1", ParcelState.IN_LOCKER, "A02")
    assert store.expected_parcel_by_barcode("JJDPX-1") is None

    pickup = store.journal_intent("A02", DoorPurpose.PICKUP, ["PX-1"], T0 + 20)
    store.journal_advance(pickup.id, JournalPhase.UNLOCK_SENT, T0 + 20)
    store.journal_complete_pickup(pickup.id, T0 + 21)
    found = store.parcel_by_barcode("JJDPX-1")
    assert found is not None and (found.id, found.state) == ("PX-1", ParcelState.PICKED_UP)

    deposited(store, "B02", delivery("PX-2"), T0 + 30)
    store.expire_overdue(T0 + 100 * HOUR, 72)
    found = store.parcel_by_barcode("JJDPX-2")
    assert found is not None and found.state is ParcelState.EXPIRED
    entry = store.journal_intent("B02", DoorPurpose.COLLECT, ["PX-2"], T0 + 101 * HOUR, courier_id="K1")
    opened(store, entry, T0 + 101 * HOUR)
    store.journal_complete_collection(entry.id, T0 + 101 * HOUR)
    found = store.parcel_by_barcode("JJDPX-2")
    assert found is not None and found.state is ParcelState.COLLECTED

    deposited(store, "A03", delivery("LOCAL-1", barcode="3SNEW1", unannounced=True, size=Size.L), T0 + 40)
    found = store.parcel_by_barcode("3SNEW1")
    assert found is not None and found.id == "LOCAL-1"
    assert store.parcel_by_barcode("3snew1") is None  # exactly this barcode, as expected_parcel_by_barcode


def test_a_label_delivered_again_finds_its_newest_delivery_and_announced_again_is_expected(
    store: SqliteStore,
) -> None:
    label = "JJD-AGAIN"
    sync(store, parcels=(replace(expected("FIRST"), barcode=label),))
    deposited(store, "A02", delivery("FIRST", barcode=label), T0 + 10)
    sync(store, parcels=(replace(expected("SECOND"), barcode=label),), at=T0 + 11)
    announced = store.expected_parcel_by_barcode(label)
    assert announced is not None and announced.id == "SECOND"
    found = store.parcel_by_barcode(label)
    assert found is not None and found.id == "FIRST"  # the expected one is not "delivered before"
    deposited(store, "B02", delivery("SECOND", barcode=label), T0 + 20)
    found = store.parcel_by_barcode(label)
    assert found is not None and (found.id, found.compartment_id) == ("SECOND", "B02")


@pytest.mark.parametrize("barcode", ["", "   ", "NOWHERE"])
def test_no_parcel_for_a_blank_or_unknown_label(store: SqliteStore, barcode: str) -> None:
    assert store.parcel_by_barcode(barcode) is None


@pytest.mark.parametrize("barcode", [None, b"JJD", 7])
def test_a_label_that_is_not_text_is_refused_in_one_line(store: SqliteStore, barcode: object) -> None:
    with pytest.raises(StoreError, match="a barcode must be text"):
        store.parcel_by_barcode(barcode)  # type: ignore[arg-type]

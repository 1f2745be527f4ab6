"""What the platform announces, kept in SQLite: sync pages (full syncs over several pages, deltas, deletions,
the cursor), pickup credentials for several parcels and parcels not known yet, expiry, couriers, return
authorisations and codes confirmed online. Real database files throughout."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core.model import (
    Compartment,
    CompartmentState,
    CourierCredential,
    Deletion,
    DoorPurpose,
    ExpectedParcel,
    JournalPhase,
    Parcel,
    ParcelState,
    PickupCredential,
    PickupWindow,
    ReturnAuthorisation,
    Size,
    SyncPage,
    SyncStatus,
    SyncTally,
)
from kiosk.core.ports import Store
from kiosk.store import SqliteStore, StoreError

LAYOUT = (
    Compartment("A01", Size.S, 0, 1, 190, 1),
    Compartment("A02", Size.M, 0, 2, 150, 1),
    Compartment("A03", Size.L, 0, 3, 100, 1),
    Compartment("B01", Size.XL, 1, 1, 80, 2),
)
T0 = 1_800_000_000.0
LOCAL_CODE = b"\x01" * 32
TABLES = ("parcels", "pickup_credentials", "couriers", "return_authorisations", "sync_state", "audit",
          "outbox", "outbox_state")
PASSWORD_HASH = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g"


def code(number: int) -> bytes:
    """A stand-in for HMAC-SHA256(code key, code): 32 distinct bytes per number."""
    return number.to_bytes(32, "big")


def expected(parcel_id: str, barcode: str | None = None, *, size: Size = Size.M, accessible: bool = False,
             name: str = "A. Lovelace", hours: int = 72, not_after: float | None = None) -> ExpectedParcel:
    return ExpectedParcel(parcel_id, barcode or f"JJD{parcel_id}", size, accessible, name,
                          PickupWindow(hours, not_after))


def credential(credential_id: str, code_hash: bytes, *parcel_ids: str,
               expires_at: float | None = None) -> PickupCredential:
    return PickupCredential(credential_id, code_hash, parcel_ids, expires_at)


def courier(courier_id: str, badge: bytes | None = None, *, name: str = "B. Nowak", can_collect: bool = True,
            valid_until: float | None = None) -> CourierCredential:
    return CourierCredential(courier_id, name, PASSWORD_HASH, badge, can_collect, valid_until)


def authorisation(return_id: str, parcel_id: str, code_hash: bytes, *, size: Size = Size.S,
                  expires_at: float | None = None) -> ReturnAuthorisation:
    return ReturnAuthorisation(return_id, parcel_id, code_hash, size, expires_at)


def page(*, reset: bool = False, parcels: tuple[ExpectedParcel, ...] = (),
         credentials: tuple[PickupCredential, ...] = (), couriers: tuple[CourierCredential, ...] = (),
         returns: tuple[ReturnAuthorisation, ...] = (), deletions: tuple[Deletion, ...] = (),
         cursor: str = "c-1", has_more: bool = False) -> SyncPage:
    return SyncPage(reset, parcels, credentials, couriers, returns, deletions, cursor, has_more)


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


def snapshot(raw: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {table: [tuple(row) for row in raw.execute(f"SELECT * FROM {table} ORDER BY 1")]
            for table in TABLES}


def ids_in(store: SqliteStore, state: ParcelState) -> set[str]:
    connection = store._connection
    assert connection is not None
    return {row[0] for row in connection.execute("SELECT id FROM parcels WHERE state = ?", (state.value,))}


def couriers_of(store: SqliteStore) -> set[str]:
    connection = store._connection
    assert connection is not None
    return {row[0] for row in connection.execute("SELECT courier_id FROM couriers")}


def returns_of(store: SqliteStore) -> set[str]:
    connection = store._connection
    assert connection is not None
    return {row[0] for row in connection.execute("SELECT return_id FROM return_authorisations")}


def credential_rows(store: SqliteStore) -> set[tuple[str, str]]:
    """(credential id, parcel id) of every platform credential row."""
    connection = store._connection
    assert connection is not None
    return {(row[0], row[1]) for row in connection.execute(
        "SELECT credential_id, parcel_id FROM pickup_credentials WHERE origin = 'platform'")}


def opens(store: SqliteStore, code_hash: bytes) -> list[str]:
    return [parcel.id for parcel in store.parcels_for_code_hash(code_hash)]


def pick_up(store: SqliteStore, compartment_id: str, *parcel_ids: str, at: float = T0 + 50) -> None:
    entry = store.journal_intent(compartment_id, DoorPurpose.PICKUP, parcel_ids, at)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, at)
    store.journal_complete_pickup(entry.id, at)


def test_the_store_is_the_core_port(store: SqliteStore) -> None:
    port: Store = store  # mypy checks the structural match with kiosk.core.ports.Store
    assert port.sync_status() == SyncStatus(None, False, None, None)


# expected parcels -----------------------------------------------------------------------------------------

def test_an_announced_parcel_round_trips_with_barcode_and_accessibility(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    tally = store.apply_sync_page(page(parcels=(
        expected("PX-1", "JJD0001", size=Size.L, accessible=True, name="J. Okafor", hours=48,
                 not_after=T0 + 3600),)), T0)
    assert tally == SyncTally(parcels=1)
    parcel = store.expected_parcel_by_barcode("JJD0001")
    assert parcel == Parcel("PX-1", Size.L, ParcelState.EXPECTED, None, "J. Okafor", T0, None, "JJD0001",
                            True, None, 48, T0 + 3600)
    assert store.parcel("PX-1") == parcel
    window = raw.execute("SELECT pickup_window_hours, pickup_not_after, origin, deposited_at FROM parcels")
    assert tuple(window.fetchone()) == (48, T0 + 3600, "platform", None)
    assert store.expected_parcel_by_barcode("JJD0002") is None
    assert store.expected_parcel_by_barcode("  ") is None
    with pytest.raises(StoreError, match="a barcode must be text"):
        store.expected_parcel_by_barcode(12)  # type: ignore[arg-type]


def test_a_deposited_announced_parcel_keeps_what_was_announced(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.apply_sync_page(page(parcels=(expected("PX-1", "JJD0001", accessible=True),)), T0)
    placed = store.place_parcel("PX-1", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0 + 10, courier_id="K1")
    assert placed == Parcel("PX-1", Size.M, ParcelState.IN_LOCKER, "A02", "A. Lovelace", T0, None, "JJD0001",
                            True, T0 + 10, 72)
    assert raw.execute("SELECT deposited_at FROM parcels").fetchone()[0] == T0 + 10
    assert store.expected_parcel_by_barcode("JJD0001") is None  # no longer expected
    assert store.parcel("PX-1").state is ParcelState.IN_LOCKER


def test_a_full_sync_over_several_pages_forgets_what_it_did_not_mention_but_keeps_parcels_in_the_locker(
    store: SqliteStore,
) -> None:
    first = (
        page(reset=True, parcels=(expected("P1"), expected("P2"), expected("P3")),
             credentials=(credential("C1", code(1), "P1"), credential("C2", code(2), "P2")),
             couriers=(courier("K1"), courier("K2")), cursor="f1-1", has_more=True),
        page(parcels=(expected("P4"),), credentials=(credential("C4", code(4), "P4"),),
             returns=(authorisation("R1", "RX-1", code(11)), authorisation("R2", "RX-2", code(12))),
             cursor="f1-2"),
    )
    for number, part in enumerate(first):
        store.apply_sync_page(part, T0 + number)
    assert ids_in(store, ParcelState.EXPECTED) == {"P1", "P2", "P3", "P4"}
    store.place_parcel("P1", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0 + 5)
    assert opens(store, code(1)) == ["P1"]  # the synced code opens the deposited parcel

    second = (
        page(reset=True, parcels=(expected("P3", name="C. Babbage"),), couriers=(courier("K1"),),
             cursor="f2-1", has_more=True),
        page(parcels=(expected("P5"),), credentials=(credential("C5", code(5), "P5"),), cursor="f2-2",
             has_more=True),
        page(returns=(authorisation("R2", "RX-2", code(12)),), cursor="f2-3"),
    )
    assert store.apply_sync_page(second[0], T0 + 10) == SyncTally(parcels=1, couriers=1)
    assert store.sync_status() == SyncStatus("f2-1", True, T0 + 10, T0 + 1)
    store.apply_sync_page(second[1], T0 + 11)
    # Nothing is forgotten before the full sync's last page.
    assert ids_in(store, ParcelState.EXPECTED) == {"P2", "P3", "P4", "P5"}
    assert couriers_of(store) == {"K1", "K2"}

    tally = store.apply_sync_page(second[2], T0 + 12)
    # P2, P4; C1, C2, C4; K2; R1 -- and P1, deposited and not mentioned, stays.
    assert tally == SyncTally(return_authorisations=1, forgotten=7, kept_in_locker=1)
    assert ids_in(store, ParcelState.EXPECTED) == {"P3", "P5"}
    assert store.parcel("P3").recipient == "C. Babbage"
    assert ids_in(store, ParcelState.IN_LOCKER) == {"P1"}
    assert couriers_of(store) == {"K1"}
    assert returns_of(store) == {"R2"}
    assert credential_rows(store) == {("C5", "P5")}
    assert opens(store, LOCAL_CODE) == ["P1"]  # the locker's own code for it is no synced record
    assert store.compartment("A02").state is CompartmentState.OCCUPIED
    assert store.sync_status() == SyncStatus("f2-3", False, T0 + 12, T0 + 12)
    last = store.audit_log(limit=1)[0]
    assert (last.kind, last.details["full_sync_completed"], last.details["forgotten"]) == (
        "sync_page_applied", True, 7)


def test_a_single_page_full_sync_forgets_at_once(store: SqliteStore) -> None:
    store.apply_sync_page(page(parcels=(expected("P1"), expected("P2")), couriers=(courier("K1"),)), T0)
    tally = store.apply_sync_page(page(reset=True, parcels=(expected("P2"),), cursor="c-2"), T0 + 1)
    assert tally == SyncTally(parcels=1, forgotten=2)
    assert ids_in(store, ParcelState.EXPECTED) == {"P2"}
    assert couriers_of(store) == set()


def test_a_restarted_full_sync_forgets_what_the_abandoned_one_brought(store: SqliteStore) -> None:
    store.apply_sync_page(page(reset=True, parcels=(expected("P1"),), cursor="a-1", has_more=True), T0)
    # The platform lost the cursor and starts over: P1 is not in the new full sync.
    store.apply_sync_page(page(reset=True, parcels=(expected("P2"),), cursor="b-1", has_more=True), T0 + 1)
    store.apply_sync_page(page(parcels=(expected("P3"),), cursor="b-2"), T0 + 2)
    assert ids_in(store, ParcelState.EXPECTED) == {"P2", "P3"}


def test_delta_pages_add_and_update_without_forgetting(store: SqliteStore, raw: sqlite3.Connection) -> None:
    store.apply_sync_page(page(reset=True, parcels=(expected("P1", "B1"),), cursor="c-1"), T0)
    tally = store.apply_sync_page(page(parcels=(expected("P1", "B1-relabelled", size=Size.XL, name="New Name",
                                                         accessible=True, hours=24),
                                                expected("P2", "B2")), cursor="c-2"), T0 + 1)
    assert tally == SyncTally(parcels=2)
    assert ids_in(store, ParcelState.EXPECTED) == {"P1", "P2"}
    parcel = store.parcel("P1")
    assert (parcel.size, parcel.recipient, parcel.barcode, parcel.accessible, parcel.created_at) == (
        Size.XL, "New Name", "B1-relabelled", True, T0)
    assert raw.execute("SELECT pickup_window_hours FROM parcels WHERE id = 'P1'").fetchone()[0] == 24
    assert store.expected_parcel_by_barcode("B1") is None
    # An empty delta moves the cursor and records nothing in the audit log.
    audit_size = len(store.audit_log())
    assert store.apply_sync_page(page(cursor="c-3"), T0 + 2) == SyncTally()
    assert len(store.audit_log()) == audit_size
    assert store.sync_status() == SyncStatus("c-3", False, T0 + 2, T0 + 2)


def test_a_sync_changes_only_display_data_of_parcels_that_were_deposited(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.apply_sync_page(page(parcels=(expected("P1", "B1"), expected("P2", "B2"))), T0)
    store.place_parcel("P1", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0 + 1)
    store.place_parcel("P2", Size.S, "A01", "A. Lovelace", code(2), T0 + 2)
    pick_up(store, "A01", "P2")
    before = {parcel_id: store.parcel(parcel_id) for parcel_id in ("P1", "P2")}
    tally = store.apply_sync_page(page(parcels=(
        expected("P1", "B-other", size=Size.XL, accessible=True, name="Display Name", hours=1),
        expected("P2", "B-else", size=Size.L, name="Someone"))), T0 + 3)
    assert tally == SyncTally(kept_in_locker=2)
    assert store.parcel("P1") == replace(before["P1"], recipient="Display Name", accessible=True)
    assert store.parcel("P2") == replace(before["P2"], recipient="Someone")
    assert raw.execute("SELECT pickup_window_hours FROM parcels WHERE id = 'P1'").fetchone()[0] == 72
    # Deleting them changes nothing either.
    tally = store.apply_sync_page(page(deletions=(Deletion("parcel", "P1"), Deletion("parcel", "P2"))),
                                  T0 + 4)
    assert tally == SyncTally(kept_in_locker=2)
    assert store.parcel("P1").state is ParcelState.IN_LOCKER
    assert store.parcel("P2").state is ParcelState.PICKED_UP


def test_an_announcement_of_a_locally_placed_parcel_updates_its_display_data(store: SqliteStore) -> None:
    store.place_parcel("LOCAL-1", Size.S, "A01", "typed at the screen", LOCAL_CODE, T0)
    tally = store.apply_sync_page(page(parcels=(expected("LOCAL-1", name="M. de Vries"),)), T0 + 1)
    assert tally == SyncTally(kept_in_locker=1)
    parcel = store.parcel("LOCAL-1")
    assert (parcel.state, parcel.recipient, parcel.barcode) == (ParcelState.IN_LOCKER, "M. de Vries", None)


def test_deletions_remove_records_and_ignore_unknown_ids(store: SqliteStore) -> None:
    store.apply_sync_page(page(
        parcels=(expected("P1"), expected("P2")),
        credentials=(credential("C1", code(1), "P1", "P2"), credential("C2", code(2), "P2")),
        couriers=(courier("K1"), courier("K2")),
        returns=(authorisation("R1", "RX-1", code(11)),)), T0)
    tally = store.apply_sync_page(page(deletions=(
        Deletion("parcel", "P1"), Deletion("parcel", "nobody"), Deletion("pickup_credential", "C1"),
        Deletion("pickup_credential", "C-unknown"), Deletion("courier", "K2"), Deletion("courier", "K9"),
        Deletion("return_authorisation", "R1"), Deletion("return_authorisation", "R1"))), T0 + 1)
    assert tally == SyncTally(deleted=4)
    assert ids_in(store, ParcelState.EXPECTED) == {"P2"}
    assert credential_rows(store) == {("C2", "P2")}
    assert couriers_of(store) == {"K1"}
    assert returns_of(store) == set()


def test_an_upsert_and_a_deletion_of_one_id_in_one_page_leave_it_deleted(store: SqliteStore) -> None:
    store.apply_sync_page(page(parcels=(expected("P1"),), couriers=(courier("K1"),),
                               deletions=(Deletion("parcel", "P1"), Deletion("courier", "K1"))), T0)
    assert ids_in(store, ParcelState.EXPECTED) == set()
    assert store.courier("K1") is None


def test_the_cursor_and_a_full_sync_in_progress_survive_reopening_the_file(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT) as store:
        store.apply_sync_page(page(parcels=(expected("OLD"),), cursor="c-9"), T0)
        store.apply_sync_page(page(reset=True, parcels=(expected("P1"),), cursor="f-1", has_more=True),
                              T0 + 1)
    with SqliteStore.open(database, LAYOUT) as store:
        assert store.sync_status() == SyncStatus("f-1", True, T0 + 1, T0)
        tally = store.apply_sync_page(page(parcels=(expected("P2"),), cursor="f-2"), T0 + 2)
        assert tally == SyncTally(parcels=1, forgotten=1)
        assert ids_in(store, ParcelState.EXPECTED) == {"P1", "P2"}
    with SqliteStore.open(database, LAYOUT) as store:
        assert store.sync_status() == SyncStatus("f-2", False, T0 + 2, T0 + 2)


# a page is applied whole or not at all --------------------------------------------------------------------

GOOD = page(parcels=(expected("P7"),), credentials=(credential("C7", code(7), "P7"),),
            couriers=(courier("K7"),), cursor="c-new")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (replace(GOOD, parcels=(expected("P7"), replace(expected("P8"), size="XXL"))),
         r"sync page, parcel 'P8': 'XXL' is not a size \(S, M, L, XL\)"),
        (replace(GOOD, parcels=(replace(expected("P8"), barcode=""),)),
         "parcel 'P8': barcode must be non-empty"),
        (replace(GOOD, parcels=(replace(expected("P8"), pickup_window=PickupWindow(0, None)),)),
         "whole number of hours >= 1"),
        (replace(GOOD, parcels=(replace(expected("P8"), accessible="yes"),)),
         "accessible must be true or false"),
        (replace(GOOD, couriers=(courier("K7"), replace(courier("K8"), password_hash=" "))),
         "courier 'K8': password hash must be non-empty"),
        (replace(GOOD, pickup_credentials=(credential("C8", b"", "P7"),)),
         "pickup credential 'C8': the code hash must be non-empty bytes"),
        (replace(GOOD, pickup_credentials=(credential("C8", code(8)),)), "must name at least one parcel"),
        (replace(GOOD, pickup_credentials=(credential("C8", code(8), "P7", expires_at=float("nan")),)),
         "expiry time must be a finite number"),
        (replace(GOOD, return_authorisations=(authorisation("R8", "", code(8)),)),
         "return authorisation 'R8': parcel id must be non-empty"),
        (replace(GOOD, deletions=(Deletion("compartment", "A01"),)), "the kind must be one of"),
        (replace(GOOD, next_cursor=""), "sync page: next_cursor must be non-empty"),
        (replace(GOOD, parcels=("P8",)), "parcels must hold ExpectedParcel records, not str"),
        ("not a page", "a sync page must be a SyncPage"),
    ],
)
def test_a_page_with_a_bad_record_is_refused_whole(
    store: SqliteStore, raw: sqlite3.Connection, bad: SyncPage, message: str
) -> None:
    store.apply_sync_page(page(parcels=(expected("P1"),), cursor="c-old"), T0)
    before = snapshot(raw)
    with pytest.raises(StoreError, match=message):
        store.apply_sync_page(bad, T0 + 1)
    assert snapshot(raw) == before
    assert store.sync_status().cursor == "c-old"


def test_a_failure_in_the_middle_of_a_page_commits_nothing(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.apply_sync_page(page(reset=True, parcels=(expected("P1"),), cursor="c-old", has_more=True), T0)
    # The couriers are written after the parcels and credentials: fail there, as a full disk would.
    raw.execute("CREATE TRIGGER injected_failure BEFORE INSERT ON couriers "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    before = snapshot(raw)
    last_page = replace(GOOD, deletions=(Deletion("parcel", "P1"),))
    with pytest.raises(StoreError, match="cannot apply a sync page: injected failure"):
        store.apply_sync_page(last_page, T0 + 1)
    assert snapshot(raw) == before
    assert store.sync_status() == SyncStatus("c-old", True, T0, None)
    assert store.expected_parcel_by_barcode("JJDP7") is None
    raw.execute("DROP TRIGGER injected_failure")
    assert store.apply_sync_page(last_page, T0 + 2) == SyncTally(parcels=1, pickup_credentials=1, couriers=1,
                                                                 deleted=1)
    assert store.sync_status() == SyncStatus("c-new", False, T0 + 2, T0 + 2)


SYNC_CHILD = textwrap.dedent(
    """
    import sys
    from kiosk.core.model import Compartment, Deletion, ExpectedParcel, PickupCredential, PickupWindow, Size
    from kiosk.core.model import SyncPage
    from kiosk.store import SqliteStore

    store = SqliteStore.open(sys.argv[1], (Compartment("A01", Size.S, 0, 1, 190, 1),))
    number = 0
    while True:  # page n announces batch n (with its credentials) and withdraws batch n - 1
        number += 1
        parcels = tuple(ExpectedParcel(f"P{number}-{item}", f"B{number}-{item}", Size.M, False, "Ada",
                                       PickupWindow(72, None)) for item in range(100))
        credentials = tuple(PickupCredential(f"C{number}-{item}", bytes([item + 1]) * 32,
                                             (f"P{number}-{item}",), None) for item in range(100))
        withdrawn = tuple(Deletion("parcel", f"P{number - 1}-{item}") for item in range(100)) + tuple(
            Deletion("pickup_credential", f"C{number - 1}-{item}") for item in range(100))
        store.apply_sync_page(SyncPage(False, parcels, credentials, (), (), withdrawn, f"c-{number}", False),
                              float(number))
        print(number, flush=True)
    """
)


def test_kill_9_while_applying_pages_leaves_exactly_one_whole_page(database: Path) -> None:
    SqliteStore.open(database, LAYOUT[:1]).close()
    child = subprocess.Popen([sys.executable, "-c", SYNC_CHILD, str(database)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout is not None
        applied = 0
        while applied < 5:  # kill it somewhere inside a later page, wherever that lands
            line = child.stdout.readline()
            assert line, f"the child failed: {child.stderr.read() if child.stderr else ''}"
            applied = int(line)
    finally:
        child.kill()  # SIGKILL: no close, no checkpoint
        child.communicate(timeout=30)
    with SqliteStore.open(database, LAYOUT[:1]) as store:
        cursor = store.sync_status().cursor
        assert cursor is not None
        last = int(cursor.removeprefix("c-"))
        assert last >= applied
        assert ids_in(store, ParcelState.EXPECTED) == {f"P{last}-{item}" for item in range(100)}
        assert credential_rows(store) == {(f"C{last}-{item}", f"P{last}-{item}") for item in range(100)}
        assert store.sync_status().last_page_at == float(last)


# barcodes -------------------------------------------------------------------------------------------------

def test_a_barcode_given_to_another_expected_parcel_moves_to_it(store: SqliteStore) -> None:
    store.apply_sync_page(page(parcels=(expected("P1", "B1"), expected("P2", "B2"))), T0)
    store.apply_sync_page(page(parcels=(expected("P3", "B1"),)), T0 + 1)
    assert store.expected_parcel_by_barcode("B1") == store.parcel("P3")
    assert store.parcel("P1").barcode is None
    entry = store.audit_log(limit=2)[1]
    assert (entry.kind, entry.parcel_id, entry.details) == (
        "sync_barcode_reassigned", "P1", {"barcode": "B1", "to_parcel_id": "P3"})
    # Two expected parcels swap labels in one page.
    store.apply_sync_page(page(parcels=(expected("P2", "B1"), expected("P3", "B2"))), T0 + 2)
    assert [store.expected_parcel_by_barcode(barcode) for barcode in ("B1", "B2")] == [
        store.parcel("P2"), store.parcel("P3")]


def test_one_barcode_twice_in_a_page_goes_to_the_last(store: SqliteStore) -> None:
    store.apply_sync_page(page(parcels=(expected("P1", "B1"), expected("P2", "B1"))), T0)
    assert store.expected_parcel_by_barcode("B1") == store.parcel("P2")
    assert store.parcel("P1").barcode is None
    assert store.audit_log(limit=2)[1].kind == "sync_barcode_reassigned"


def test_a_deposited_parcel_keeps_its_barcode_when_an_expected_one_gets_it(store: SqliteStore) -> None:
    store.apply_sync_page(page(parcels=(expected("P1", "B1"),)), T0)
    store.place_parcel("P1", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0 + 1)
    store.apply_sync_page(page(parcels=(expected("P2", "B1"),)), T0 + 2)  # delivered again, a new parcel id
    assert store.parcel("P1").barcode == "B1"
    assert store.expected_parcel_by_barcode("B1") == store.parcel("P2")


# pickup credentials ---------------------------------------------------------------------------------------

def test_a_credential_for_several_parcels_opens_each_until_it_is_picked_up(store: SqliteStore) -> None:
    store.apply_sync_page(page(parcels=(expected("P1"), expected("P2"), expected("P3")),
                               credentials=(credential("C1", code(1), "P1", "P2", "P3"),)), T0)
    store.place_parcel("P1", Size.S, "A01", "A. Lovelace", code(91), T0 + 1)
    store.place_parcel("P2", Size.M, "A02", "A. Lovelace", code(92), T0 + 2)
    assert opens(store, code(1)) == ["P1", "P2"]  # P3 is not deposited yet
    pick_up(store, "A01", "P1")
    assert opens(store, code(1)) == ["P2"]
    assert opens(store, code(91)) == []
    store.place_parcel("P3", Size.S, "A01", "A. Lovelace", code(93), T0 + 60)
    assert opens(store, code(1)) == ["P2", "P3"]


def test_every_credential_of_a_parcel_opens_it_and_a_pickup_spends_them_all(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.apply_sync_page(page(parcels=(expected("P1"),), credentials=(credential("C1", code(1), "P1"),)), T0)
    store.place_parcel("P1", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0 + 1)
    store.apply_sync_page(page(credentials=(credential("C1-reissued", code(2), "P1"),)), T0 + 2)
    assert [opens(store, code_hash) for code_hash in (code(1), code(2), LOCAL_CODE)] == [["P1"]] * 3
    pick_up(store, "A02", "P1")
    assert [opens(store, code_hash) for code_hash in (code(1), code(2), LOCAL_CODE)] == [[]] * 3
    assert raw.execute("SELECT count(*) FROM pickup_credentials WHERE spent_at IS NULL").fetchone()[0] == 0
    assert raw.execute("SELECT count(*) FROM pickup_credentials").fetchone()[0] == 3


def test_one_parcel_listed_once_when_two_of_its_credentials_share_a_code(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.M, "A02", "A. Lovelace", code(1), T0)
    same_code = (credential("C1", code(1), "P1"), credential("C2", code(1), "P1"))
    store.apply_sync_page(page(credentials=same_code), T0)
    assert opens(store, code(1)) == ["P1"]


def test_an_expired_credential_is_refused(store: SqliteStore, clock: WallClock) -> None:
    store.place_parcel("P1", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0)
    store.apply_sync_page(page(credentials=(credential("C1", code(1), "P1", expires_at=T0 + 100),)), T0)
    assert opens(store, code(1)) == ["P1"]
    clock.now = T0 + 99.9
    assert opens(store, code(1)) == ["P1"]
    clock.now = T0 + 100
    assert opens(store, code(1)) == []
    assert opens(store, LOCAL_CODE) == ["P1"]  # the parcel's other credential still works
    # The platform extends it: it works again.
    store.apply_sync_page(page(credentials=(credential("C1", code(1), "P1", expires_at=T0 + 1000),)),
                          T0 + 101)
    assert opens(store, code(1)) == ["P1"]


def test_a_credential_for_a_parcel_not_known_yet_opens_it_once_it_is_deposited(store: SqliteStore) -> None:
    store.apply_sync_page(page(credentials=(credential("C1", code(1), "P-later", "P-local"),)), T0)
    assert opens(store, code(1)) == []
    store.apply_sync_page(page(parcels=(expected("P-later"),)), T0 + 1)
    assert opens(store, code(1)) == []  # announced, not in the locker yet
    store.place_parcel("P-later", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0 + 2)
    store.place_parcel("P-local", Size.S, "A01", "unannounced", code(9), T0 + 3)
    assert opens(store, code(1)) == ["P-later", "P-local"]


def test_an_updated_credential_opens_only_the_parcels_it_names_now(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A01", "A. Lovelace", LOCAL_CODE, T0)
    store.place_parcel("P2", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0 + 1)
    store.apply_sync_page(page(credentials=(credential("C1", code(1), "P1", "P2"),)), T0 + 2)
    store.apply_sync_page(page(credentials=(credential("C1", code(5), "P2"),)), T0 + 3)
    assert opens(store, code(1)) == []
    assert opens(store, code(5)) == ["P2"]
    assert credential_rows(store) == {("C1", "P2")}


def test_a_spent_credential_synced_again_stays_spent(store: SqliteStore) -> None:
    store.apply_sync_page(page(parcels=(expected("P1"), expected("P2")),
                               credentials=(credential("C1", code(1), "P1", "P2"),)), T0)
    store.place_parcel("P1", Size.S, "A01", "A. Lovelace", LOCAL_CODE, T0 + 1)
    pick_up(store, "A01", "P1")
    # The platform has not heard of the pickup yet and sends the credential again; P1 comes back into
    # another compartment under the same id only in a bad dream, but its credential row must not revive.
    store.apply_sync_page(page(credentials=(credential("C1", code(1), "P1", "P2"),)), T0 + 60)
    connection = store._connection
    assert connection is not None
    assert connection.execute("SELECT spent_at FROM pickup_credentials WHERE credential_id = 'C1' "
                              "AND parcel_id = 'P1'").fetchone()[0] == T0 + 50


# credentials confirmed online -----------------------------------------------------------------------------

def test_a_credential_confirmed_online_is_kept_for_its_parcels_in_the_locker(store: SqliteStore) -> None:
    store.place_parcel("P1", Size.S, "A01", "A. Lovelace", LOCAL_CODE, T0)
    store.place_parcel("P2", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0 + 1)
    store.apply_sync_page(page(parcels=(expected("P3"),)), T0)
    found = store.add_pickup_credential(credential("C-new", code(1), "P2", "P1", "P3", "P-unknown"), T0 + 5)
    assert [parcel.id for parcel in found] == ["P1", "P2"]
    assert opens(store, code(1)) == ["P1", "P2"]
    assert credential_rows(store) == {("C-new", "P1"), ("C-new", "P2")}
    entry = store.audit_log(limit=1)[0]
    assert (entry.kind, entry.details) == (
        "credential_verified_online", {"credential_id": "C-new", "parcel_ids": ["P1", "P2"]})
    # Kept as if synced: the next full sync that does not mention it forgets it.
    store.apply_sync_page(page(reset=True), T0 + 10)
    assert opens(store, code(1)) == []


def test_a_credential_confirmed_online_for_no_parcel_here_is_not_kept(
    store: SqliteStore, raw: sqlite3.Connection, clock: WallClock
) -> None:
    store.place_parcel("P1", Size.S, "A01", "A. Lovelace", LOCAL_CODE, T0)
    store.apply_sync_page(page(parcels=(expected("P3"),)), T0)
    before = snapshot(raw)["pickup_credentials"]
    assert store.add_pickup_credential(credential("C-x", code(1), "P3", "P-unknown"), T0 + 5) == []
    entry = store.audit_log(limit=1)[0]
    assert (entry.kind, entry.details) == ("credential_verified_online_useless", {
        "credential_id": "C-x", "parcel_ids": ["P3", "P-unknown"], "reason": "not_in_locker"})
    assert store.add_pickup_credential(credential("C-y", code(2), "P1", expires_at=T0 + 5), T0 + 5) == []
    assert store.audit_log(limit=1)[0].details["reason"] == "expired"
    assert snapshot(raw)["pickup_credentials"] == before
    with pytest.raises(StoreError, match="online credential: the code hash must be non-empty bytes"):
        store.add_pickup_credential(credential("C-z", b"", "P1"), T0 + 6)


# couriers -------------------------------------------------------------------------------------------------

def test_couriers_are_found_by_id_and_by_badge(store: SqliteStore) -> None:
    ada = courier("DHL-0042", code(42), name="A. Nowak", can_collect=False, valid_until=T0 + 86400)
    store.apply_sync_page(page(couriers=(ada, courier("UPS-7"), courier("GLS-1", code(1)))), T0)
    assert store.courier("DHL-0042") == ada
    assert store.courier("UPS-7") == courier("UPS-7")
    assert store.courier("nobody") is None
    assert store.courier_by_badge_hash(code(42)) == ada
    assert store.courier_by_badge_hash(code(43)) is None
    assert store.courier_by_badge_hash(code(42)[:16]) is None
    with pytest.raises(StoreError, match="non-empty bytes"):
        store.courier_by_badge_hash(b"")
    with pytest.raises(StoreError, match="a courier id must be text"):
        store.courier(None)  # type: ignore[arg-type]
    # A courier record is replaced whole by its next version.
    renamed = replace(ada, badge_secret_hash=None, display_name="A. Kowalska")
    store.apply_sync_page(page(couriers=(renamed,)), T0)
    assert store.courier_by_badge_hash(code(42)) is None
    assert store.courier("DHL-0042") == renamed


def test_a_badge_shared_by_two_couriers_logs_in_neither(store: SqliteStore) -> None:
    store.apply_sync_page(page(couriers=(courier("K1", code(1)), courier("K2", code(1)))), T0)
    assert store.courier_by_badge_hash(code(1)) is None


# return authorisations ------------------------------------------------------------------------------------

def test_a_return_code_finds_its_live_authorisation(
    store: SqliteStore, raw: sqlite3.Connection, clock: WallClock
) -> None:
    live = authorisation("R1", "RX-1", code(1), size=Size.L, expires_at=T0 + 100)
    store.apply_sync_page(page(returns=(live, authorisation("R2", "RX-2", code(2)),
                                        authorisation("R3", "RX-3", code(3)))), T0)
    assert store.return_by_code_hash(code(1)) == live
    assert store.return_by_code_hash(code(9)) is None
    clock.now = T0 + 100
    assert store.return_by_code_hash(code(1)) is None  # expired
    raw.execute("UPDATE return_authorisations SET used_at = ? WHERE return_id = 'R2'", (T0,))
    assert store.return_by_code_hash(code(2)) is None  # used
    # Listed again by a platform that has not heard of the use yet: still used.
    store.apply_sync_page(page(returns=(authorisation("R2", "RX-2", code(2)),)), T0 + 1)
    assert store.return_by_code_hash(code(2)) is None
    # Its parcel is already in the locker: it was used, whatever the record says.
    store.place_parcel("RX-3", Size.S, "A01", "return", LOCAL_CODE, T0 + 2)
    assert store.return_by_code_hash(code(3)) is None


# what the database itself refuses -------------------------------------------------------------------------

def test_the_database_refuses_what_would_contradict_the_locker(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    store.apply_sync_page(page(parcels=(expected("P1", "B1"),)), T0)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        raw.execute("INSERT INTO parcels (id, size, state, recipient, created_at, barcode, origin) "
                    "VALUES ('P2', 'S', 'expected', 'x', 0, 'B1', 'platform')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        raw.execute("UPDATE parcels SET compartment_id = 'A01' WHERE id = 'P1'")  # expected: no compartment
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        raw.execute("UPDATE parcels SET origin = 'local' WHERE id = 'P1'")
    with pytest.raises(sqlite3.IntegrityError, match="a local pickup credential must name a known parcel"):
        raw.execute("INSERT INTO pickup_credentials (parcel_id, code_hash, created_at) "
                    "VALUES ('nobody', x'01', 0)")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # a platform row needs its generation
        raw.execute("INSERT INTO pickup_credentials (parcel_id, credential_id, code_hash, created_at, "
                    "origin) VALUES ('P1', 'C1', x'01', 0, 'platform')")
    with pytest.raises(sqlite3.IntegrityError, match="the sync state row cannot be removed"):
        raw.execute("DELETE FROM sync_state")


def test_an_expired_parcel_still_holds_its_compartment(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT) as store:
        store.place_parcel("P1", Size.M, "A02", "A. Lovelace", LOCAL_CODE, T0)
        connection = store._connection
        assert connection is not None
        connection.execute("UPDATE parcels SET state = 'expired', expired_at = ? WHERE id = 'P1'", (T0 + 1,))
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            connection.execute("INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at) "
                               "VALUES ('P2', 'S', 'returned', 'A02', 'x', 0)")
        assert opens(store, LOCAL_CODE) == []  # an expired parcel waits for a courier, not its recipient
        store.mark_out_of_order("A02", "hinge", T0 + 2)
        assert store.audit_log(limit=1)[0].details["parcel_inside"] == "P1"
        assert store.return_to_service("A02", T0 + 3).state is CompartmentState.OCCUPIED
    with pytest.raises(StoreError, match="compartment A02 holds parcel P1"):
        SqliteStore.open(database, (LAYOUT[0], LAYOUT[2], LAYOUT[3]))


# a model of the sync semantics, against random page sequences -----------------------------------------------

PARCEL_IDS = ("P0", "P1", "P2", "P3", "P4")
LAYOUT_OF_FIVE = tuple(Compartment(f"Z{number}", Size.S, 2, number, 100, 3) for number in range(1, 6))
COURIER_IDS = ("K0", "K1", "K2")
CREDENTIAL_IDS = ("C0", "C1", "C2")


@dataclass
class Model:
    """What the locker should know, by the contract's words alone."""

    generation: int = 0
    full_sync: bool = False
    expected: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (recipient, generation)
    deposited: set[str] = field(default_factory=set)
    couriers: dict[str, int] = field(default_factory=dict)
    credentials: dict[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)

    def apply(self, sync: SyncPage) -> None:
        if sync.reset:
            self.generation += 1
            self.full_sync = True
        for parcel in sync.parcels:
            if parcel.parcel_id not in self.deposited:
                self.expected[parcel.parcel_id] = (parcel.recipient_display_name, self.generation)
        for record in sync.couriers:
            self.couriers[record.courier_id] = self.generation
        for record in sync.pickup_credentials:
            self.credentials[record.credential_id] = (record.parcel_ids, self.generation)
        for deletion in sync.deletions:
            {"parcel": self.expected, "courier": self.couriers, "pickup_credential": self.credentials}[
                deletion.kind].pop(deletion.id, None)
        if self.full_sync and not sync.has_more:
            self.full_sync = False
            self.expected = {key: value for key, value in self.expected.items()
                             if value[1] >= self.generation}
            self.couriers = {key: value for key, value in self.couriers.items() if value >= self.generation}
            self.credentials = {key: value for key, value in self.credentials.items()
                                if value[1] >= self.generation}


sync_pages = st.builds(
    lambda reset, parcels, couriers, credentials, deletions, has_more: page(
        reset=reset, parcels=tuple(expected(parcel_id, name=name) for parcel_id, name in parcels),
        couriers=tuple(courier(courier_id) for courier_id in couriers),
        credentials=tuple(credential(credential_id, code(number), *parcel_ids)
                          for number, (credential_id, parcel_ids) in enumerate(credentials)),
        deletions=tuple(Deletion(kind, id_) for kind, id_ in deletions), has_more=has_more),
    st.booleans(),
    st.lists(st.tuples(st.sampled_from(PARCEL_IDS), st.sampled_from(["Ann", "Bo"])), max_size=4,
             unique_by=lambda item: item[0]),
    st.lists(st.sampled_from(COURIER_IDS), max_size=2, unique=True),
    st.lists(st.tuples(st.sampled_from(CREDENTIAL_IDS),
                       st.lists(st.sampled_from(PARCEL_IDS), min_size=1, max_size=3, unique=True).map(tuple)),
             max_size=2, unique_by=lambda item: item[0]),
    st.lists(st.one_of(st.tuples(st.just("parcel"), st.sampled_from(PARCEL_IDS)),
                       st.tuples(st.just("courier"), st.sampled_from(COURIER_IDS)),
                       st.tuples(st.just("pickup_credential"), st.sampled_from(CREDENTIAL_IDS))),
             max_size=2, unique=True),
    st.booleans(),
)
steps = st.lists(st.one_of(sync_pages, st.sampled_from(PARCEL_IDS)), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_any_sequence_of_pages_and_deposits_leaves_what_the_contract_says(
    sequence: list[SyncPage | str],
) -> None:
    model = Model()
    free = [compartment.id for compartment in LAYOUT_OF_FIVE]
    with tempfile.TemporaryDirectory() as folder, \
            SqliteStore.open(Path(folder) / "kiosk.sqlite", LAYOUT_OF_FIVE) as store:
        connection = store._connection
        assert connection is not None
        connection.execute("PRAGMA synchronous = OFF")  # speed only: durability is not what this checks
        for number, step in enumerate(sequence):
            if isinstance(step, str):  # a courier deposits this parcel, when it is expected
                if step in model.expected:
                    store.place_parcel(step, Size.S, free.pop(), "x", LOCAL_CODE, T0 + number)
                    del model.expected[step]
                    model.deposited.add(step)
                continue
            store.apply_sync_page(replace(step, next_cursor=f"c-{number}"), T0 + number)
            model.apply(step)
            assert ids_in(store, ParcelState.EXPECTED) == set(model.expected)
            assert {parcel_id: store.parcel(parcel_id).recipient for parcel_id in model.expected} == {
                parcel_id: recipient for parcel_id, (recipient, _) in model.expected.items()}
            assert ids_in(store, ParcelState.IN_LOCKER) == model.deposited
            assert couriers_of(store) == set(model.couriers)
            assert credential_rows(store) == {(credential_id, parcel_id)
                                              for credential_id, (parcel_ids, _) in model.credentials.items()
                                              for parcel_id in parcel_ids}
            assert store.sync_status().cursor == f"c-{number}"
            assert store.sync_status().full_sync_in_progress is model.full_sync


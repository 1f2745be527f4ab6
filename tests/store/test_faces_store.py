"""Face pickup in the store (migration 0006): the recipient_ref of parcels (placed, deposited, synced), the
face gallery of the recipients waiting here, enrolments saved, used and forgotten (by the recipient, by the
platform, by the unused clock), and what is on disk: sealed tokens only. Real database files in tmp_path, and
real sealed tokens from kiosk.face_vault."""

from __future__ import annotations

import random
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.model import (
    Compartment,
    Deposit,
    DoorPurpose,
    ExpectedParcel,
    JournalPhase,
    Parcel,
    ParcelState,
    PickupMethod,
    PickupNotice,
    PickupWindow,
    Size,
    SyncPage,
)
from kiosk.face_vault import FaceVault, FaceVaultError
from kiosk.store import SqliteStore, StoreError, bundled_migrations
from kiosk.store.residents import ResidentRow

LAYOUT = tuple(Compartment(f"A0{index}", Size.M, 0, index, 100, 1) for index in range(1, 7))
T0 = 1_800_000_000.0
DAY = 86_400.0
CODE = b"\x07" * 32
VAULT = FaceVault(FaceVault.new_key())


def encodings(seed: int, count: int = 3) -> list[tuple[float, ...]]:
    """Encodings as an enrolment makes them: 128 values in [-0.3, 0.3], exactly representable as float32."""
    chooser = random.Random(seed)
    drawn = [[chooser.uniform(-0.3, 0.3) for _ in range(128)] for _ in range(count)]
    return [tuple(struct.unpack("<128f", struct.pack("<128f", *values))) for values in drawn]


def sealed(seed: int) -> bytes:
    return VAULT.seal(encodings(seed))


@pytest.fixture
def store(database: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(database, LAYOUT) as opened:
        yield opened


def place(store: SqliteStore, parcel_id: str, compartment_id: str, ref: str | None, at: float = T0) -> Parcel:
    return store.place_parcel(parcel_id, Size.S, compartment_id, "R. Cipient", CODE, at, recipient_ref=ref)


def pick_up(store: SqliteStore, parcel_id: str, at: float) -> None:
    parcel = store.parcel(parcel_id)
    assert parcel.compartment_id is not None
    entry = store.journal_intent(parcel.compartment_id, DoorPurpose.PICKUP, [parcel_id], at,
                                 PickupMethod.CODE)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, at)
    store.journal_complete_pickup(entry.id, at)


def expected(parcel_id: str, ref: str | None, *, barcode: str | None = None) -> ExpectedParcel:
    return ExpectedParcel(parcel_id, barcode or f"BC-{parcel_id}", Size.S, False, "R. Cipient",
                          PickupWindow(72, None), ref)


def page(*parcels: ExpectedParcel, cursor: str = "c-1") -> SyncPage:
    return SyncPage(False, parcels, (), (), (), (), cursor, False)


def audits(store: SqliteStore, kind: str) -> list[dict[str, object]]:
    return [dict(entry.details, parcel_id=entry.parcel_id) for entry in reversed(store.audit_log())
            if entry.kind == kind]


# recipient_ref on parcels ----------------------------------------------------------------------------------

def test_a_placed_parcel_carries_the_recipient_ref_given_and_reads_it_back(store: SqliteStore) -> None:
    assert place(store, "P1", "A01", "rcp-1").recipient_ref == "rcp-1"
    assert place(store, "P2", "A02", None).recipient_ref is None
    assert store.parcel("P1").recipient_ref == "rcp-1"
    assert [parcel.id for parcel in store.parcels_for_code_hash(CODE)] == ["P1", "P2"]
    assert {parcel.recipient_ref for parcel in store.parcels_for_code_hash(CODE)} == {"rcp-1", None}


def test_a_residents_parcel_is_keyed_to_the_resident_unless_a_ref_is_given(store: SqliteStore) -> None:
    [anna, bob] = store.replace_residents([ResidentRow("Anna Berg", "1A", "anna@example.org"),
                                           ResidentRow("Bob Chen", "2B", "bob@example.org")], T0).added

    def notice(parcel_id: str, resident_id: int, compartment_id: str) -> PickupNotice:
        return PickupNotice(resident_id, parcel_id, "123456", compartment_id, Size.S, "locker-1")

    first = store.place_parcel("R1", Size.S, "A01", "Anna Berg", CODE, T0,
                               notice=notice("R1", anna.id, "A01"))
    assert first.recipient_ref == f"resident:{anna.id}"
    second = store.place_parcel("R2", Size.S, "A02", "Bob Chen", CODE, T0, notice=notice("R2", bob.id, "A02"),
                                recipient_ref="rcp-explicit")
    assert second.recipient_ref == "rcp-explicit"
    assert [parcel.id for parcel in store.parcels_for_recipient(f"resident:{anna.id}")] == ["R1"]


def test_sync_stores_the_recipient_ref_and_may_change_it_only_while_expected(store: SqliteStore) -> None:
    tally = store.apply_sync_page(page(expected("X1", "rcp-a"), expected("X2", None)), T0)
    assert tally.parcels == 2
    assert (store.parcel("X1").recipient_ref, store.parcel("X2").recipient_ref) == ("rcp-a", None)

    store.apply_sync_page(page(expected("X1", "rcp-b"), expected("X2", "rcp-c"), cursor="c-2"), T0 + 1)
    assert (store.parcel("X1").recipient_ref, store.parcel("X2").recipient_ref) == ("rcp-b", "rcp-c")

    # Deposited, the parcel keeps its ref: a sync that names another would hand it to someone else's face.
    place(store, "X1", "A01", None, T0 + 2)
    assert store.parcel("X1").recipient_ref == "rcp-b"
    tally = store.apply_sync_page(page(expected("X1", "rcp-z"), cursor="c-3"), T0 + 3)
    assert tally.kept_in_locker == 1
    assert store.parcel("X1").recipient_ref == "rcp-b"
    # ...and a sync that drops the field while it is expected drops the ref.
    store.apply_sync_page(page(expected("X2", None), cursor="c-4"), T0 + 4)
    assert store.parcel("X2").recipient_ref is None


def test_placing_an_announced_parcel_keeps_the_synced_ref_unless_one_is_given(store: SqliteStore) -> None:
    store.apply_sync_page(page(expected("X1", "rcp-a"), expected("X2", "rcp-b")), T0)
    assert place(store, "X1", "A01", None).recipient_ref == "rcp-a"
    assert place(store, "X2", "A02", "rcp-given").recipient_ref == "rcp-given"


def test_a_courier_deposit_of_an_announced_parcel_keeps_its_synced_ref(store: SqliteStore) -> None:
    store.apply_sync_page(page(expected("X1", "rcp-a"), expected("X2", None)), T0)
    for parcel_id, compartment_id in (("X1", "A01"), ("X2", "A02")):
        deposit = Deposit(parcel_id, Size.S, "R. Cipient", code_hash=CODE, pickup_code="123456",
                          courier_id="C-1", barcode=f"BC-{parcel_id}")
        entry = store.journal_intent_deposit(compartment_id, DoorPurpose.DEPOSIT, deposit, T0 + 1)
        store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 1)
        store.journal_complete_deposit(entry.id, T0 + 2, confirmed_by_ir=True)
    assert store.parcel("X1").state is ParcelState.IN_LOCKER
    assert (store.parcel("X1").recipient_ref, store.parcel("X2").recipient_ref) == ("rcp-a", None)
    assert [parcel.id for parcel in store.parcels_for_recipient("rcp-a")] == ["X1"]


@pytest.mark.parametrize("ref", ["", " ", "rcp 1", "x" * 129, "rcp-\u00e9", "rcp\n1", 7, b"rcp-1"])
def test_a_malformed_recipient_ref_is_refused_and_nothing_changes(store: SqliteStore, ref: object) -> None:
    with pytest.raises(StoreError, match="recipient ref must be 1 to 128 visible ASCII characters"):
        place(store, "P1", "A01", ref)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=r"sync page, parcel 'X1': a recipient ref must be"):
        store.apply_sync_page(page(expected("X0", "rcp-fine"), expected("X1", ref)), T0)  # type: ignore[arg-type]
    for call in (lambda: store.save_face(ref, sealed(1), T0),  # type: ignore[arg-type]
                 lambda: store.has_face(ref),  # type: ignore[arg-type]
                 lambda: store.parcels_for_recipient(ref),  # type: ignore[arg-type]
                 lambda: store.forget_face(ref, T0, "withdrawn")):  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="recipient ref must be"):
            call()
    assert len(store.free_compartments()) == len(LAYOUT)
    assert store.sync_status().cursor is None
    assert store.face_gallery() == {}


def test_the_longest_recipient_ref_is_kept_whole(store: SqliteStore) -> None:
    ref = "~!" * 64
    assert place(store, "P1", "A01", ref).recipient_ref == ref
    store.save_face(ref, sealed(1), T0)
    assert list(store.face_gallery()) == [ref]


# the gallery ----------------------------------------------------------------------------------------------

def test_the_gallery_lists_only_enrolled_recipients_with_a_parcel_in_the_locker(store: SqliteStore) -> None:
    store.apply_sync_page(page(expected("EXP", "rcp-expected")), T0)
    place(store, "IN1", "A01", "rcp-waiting")
    place(store, "IN2", "A02", "rcp-waiting")  # two parcels: one gallery entry
    place(store, "GONE", "A03", "rcp-picked-up")
    pick_up(store, "GONE", T0 + 5)
    place(store, "OLD", "A04", "rcp-expired")
    assert [parcel.id for parcel in store.expire_overdue(T0 + 73 * 3600, 72)] == ["IN1", "IN2", "OLD"]
    place(store, "NEW", "A05", "rcp-fresh", T0 + 73 * 3600)
    place(store, "ANON", "A06", None, T0 + 73 * 3600)
    for seed, ref in enumerate(("rcp-expected", "rcp-picked-up", "rcp-expired", "rcp-fresh",
                                "rcp-other-locker", "rcp-not-enrolled-twin")):
        store.save_face(ref, sealed(seed), T0 + 74 * 3600)
    assert store.face_gallery() == {"rcp-fresh": sealed_of(store, "rcp-fresh")}

    # A parcel of an enrolled recipient is deposited: they join; picked up: they leave.
    store.apply_sync_page(page(expected("EXP", "rcp-expected"), cursor="c-2"), T0 + 75 * 3600)
    place(store, "EXP", "A03", None, T0 + 75 * 3600)
    assert set(store.face_gallery()) == {"rcp-expected", "rcp-fresh"}
    pick_up(store, "NEW", T0 + 76 * 3600)
    assert set(store.face_gallery()) == {"rcp-expected"}
    assert VAULT.unseal(store.face_gallery()["rcp-expected"]) == encodings(0)


def sealed_of(store: SqliteStore, ref: str) -> bytes:
    connection = store._connection
    assert connection is not None
    row = connection.execute("SELECT sealed_encodings FROM face_profiles WHERE recipient_ref = ?",
                             (ref,)).fetchone()
    return bytes(row[0])


def test_parcels_for_recipient_are_the_ones_in_the_locker_oldest_first(store: SqliteStore) -> None:
    place(store, "B", "A02", "rcp-1", T0 + 1)
    place(store, "A", "A01", "rcp-1", T0 + 2)
    place(store, "C", "A03", "rcp-1", T0 + 3)
    place(store, "D", "A04", "rcp-2", T0 + 4)
    pick_up(store, "C", T0 + 5)
    assert [parcel.id for parcel in store.parcels_for_recipient("rcp-1")] == ["B", "A"]
    assert store.parcels_for_recipient("rcp-unknown") == []


# enrolments: saved, used, forgotten ------------------------------------------------------------------------

def test_an_enrolment_is_saved_replaced_on_consent_again_and_audited_without_biometrics(
    store: SqliteStore, database: Path
) -> None:
    assert not store.has_face("rcp-1")
    store.save_face("rcp-1", sealed(1), T0)
    assert store.has_face("rcp-1")
    store.save_face("rcp-1", sealed(2), T0 + DAY)
    assert VAULT.unseal(sealed_of(store, "rcp-1")) == encodings(2)
    assert audits(store, "face_enrolled") == [
        {"recipient_ref": "rcp-1", "replaced": False, "parcel_id": None},
        {"recipient_ref": "rcp-1", "replaced": True, "parcel_id": None}]
    store.close()
    with SqliteStore.open(database, LAYOUT) as reopened:
        assert reopened.has_face("rcp-1")
        connection = reopened._connection
        assert connection is not None
        rows = connection.execute("SELECT enrolled_at, last_used_at FROM face_profiles").fetchall()
        assert [tuple(row) for row in rows] == [(T0 + DAY, T0 + DAY)]


def test_face_used_restarts_the_unused_clock_and_ignores_an_enrolment_gone_meanwhile(
    store: SqliteStore
) -> None:
    store.save_face("rcp-1", sealed(1), T0)
    store.face_used("rcp-1", T0 + 100 * DAY)
    store.face_used("rcp-1", T0 + 50 * DAY)  # a late report never turns the clock back
    assert store.forget_unused_faces(T0 + 100 * DAY, T0 + 200 * DAY) == 0
    store.face_used("rcp-never-enrolled", T0)
    assert not store.has_face("rcp-never-enrolled")


def test_forget_face_deletes_the_encodings_and_says_whether_there_were_any(
    store: SqliteStore, database: Path
) -> None:
    place(store, "P1", "A01", "rcp-1")
    store.save_face("rcp-1", sealed(1), T0)
    assert store.forget_face("rcp-1", T0 + 1, "withdrawn") is True
    assert store.forget_face("rcp-1", T0 + 2, "withdrawn") is False
    assert not store.has_face("rcp-1") and store.face_gallery() == {}
    assert audits(store, "face_forgotten") == [
        {"recipient_ref": "rcp-1", "reason": "withdrawn", "parcel_id": None}]
    with sqlite3.connect(database) as other:  # what any other reader of the file sees
        assert other.execute("SELECT count(*) FROM face_profiles").fetchone()[0] == 0
    with pytest.raises(StoreError, match="reason a face is forgotten must be non-empty text"):
        store.forget_face("rcp-1", T0, " ")


def test_the_platforms_forget_command_maps_parcels_of_any_state_to_their_recipients(
    store: SqliteStore
) -> None:
    store.apply_sync_page(page(expected("EXP", "rcp-expected")), T0)
    place(store, "IN1", "A01", "rcp-twice")
    place(store, "IN2", "A02", "rcp-twice")
    place(store, "GONE", "A03", "rcp-gone")
    pick_up(store, "GONE", T0 + 1)
    place(store, "ANON", "A04", None)
    place(store, "KEEP", "A05", "rcp-keep")
    for seed, ref in enumerate(("rcp-expected", "rcp-twice", "rcp-gone", "rcp-keep")):
        store.save_face(ref, sealed(seed), T0 + 2)

    forgotten = store.forget_faces_of_parcels(["IN1", "IN2", "GONE", "EXP", "ANON", "NO-SUCH"], T0 + 3,
                                              "platform")
    assert forgotten == 3
    assert [ref for ref in ("rcp-expected", "rcp-twice", "rcp-gone", "rcp-keep") if store.has_face(ref)] == [
        "rcp-keep"]
    assert sorted((entry["recipient_ref"], entry["parcel_id"], entry["reason"])
                  for entry in audits(store, "face_forgotten")) == [
        ("rcp-expected", "EXP", "platform"), ("rcp-gone", "GONE", "platform"),
        ("rcp-twice", "IN1", "platform")]
    assert store.forget_faces_of_parcels(["IN1", "NO-SUCH"], T0 + 4, "platform") == 0
    assert store.forget_faces_of_parcels([], T0 + 4, "platform") == 0
    with pytest.raises(StoreError, match="parcel_ids must be a collection of ids"):
        store.forget_faces_of_parcels("IN1", T0, "platform")


def test_enrolments_unused_since_the_cut_off_are_forgotten_and_audited_one_by_one(store: SqliteStore) -> None:
    store.save_face("rcp-stale", sealed(1), T0)
    store.save_face("rcp-used", sealed(2), T0)
    store.face_used("rcp-used", T0 + 150 * DAY)
    store.save_face("rcp-late", sealed(3), T0 + 120 * DAY)
    store.save_face("rcp-edge", sealed(4), T0 + 30 * DAY)  # exactly at the cut-off: not before it

    assert store.forget_unused_faces(T0 + 30 * DAY, T0 + 210 * DAY) == 1
    assert [ref for ref in ("rcp-stale", "rcp-used", "rcp-late", "rcp-edge") if store.has_face(ref)] == [
        "rcp-used", "rcp-late", "rcp-edge"]
    assert store.forget_unused_faces(T0 + 150 * DAY, T0 + 330 * DAY) == 2
    assert [ref for ref in ("rcp-used", "rcp-late", "rcp-edge") if store.has_face(ref)] == ["rcp-used"]
    assert [(entry["recipient_ref"], entry["reason"], entry["last_used_at"])
            for entry in audits(store, "face_forgotten")] == [
        ("rcp-stale", "unused", T0), ("rcp-edge", "unused", T0 + 30 * DAY),
        ("rcp-late", "unused", T0 + 120 * DAY)]
    with pytest.raises(StoreError, match="finite number of seconds"):
        store.forget_unused_faces(float("nan"), T0)


# what is on disk --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "message"), [
    (b"", "must not be empty"),
    ("gAAAAA-text", "must be bytes"),
    (struct.pack("<128f", *encodings(1)[0]), "must be sealed"),
    (b"not a token at all", "must be sealed"),
    (b"gAAAAA" + b"A" * (64 * 1024), "at most 65536"),
])
def test_what_is_not_a_sealed_token_never_reaches_the_database(
    store: SqliteStore, value: object, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        store.save_face("rcp-1", value, T0)  # type: ignore[arg-type]
    assert not store.has_face("rcp-1")
    assert audits(store, "face_enrolled") == []


def test_the_sealed_column_never_holds_encodings_in_clear(store: SqliteStore, database: Path) -> None:
    faces = encodings(7)
    store.save_face("rcp-1", VAULT.seal(faces), T0)
    on_disk = [database.read_bytes() + Path(f"{database}-wal").read_bytes()]  # the commit is in the WAL
    store.close()
    on_disk.append(database.read_bytes())  # checkpointed into the file
    raw = b"".join(on_disk)
    with sqlite3.connect(database) as other:
        [(column,)] = other.execute("SELECT sealed_encodings FROM face_profiles").fetchall()
    for face in faces:
        clear = struct.pack("<128f", *face)
        assert clear[:64] not in column and clear[:64] not in raw
        assert struct.pack("<8f", *face[:8]) not in raw
    assert VAULT.unseal(column) == faces
    with pytest.raises(FaceVaultError, match="sealed with another face key"):
        FaceVault(FaceVault.new_key()).unseal(column)


# migration 0006 -------------------------------------------------------------------------------------------

V5_ROWS = f"""
    INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, origin, deposited_at)
    VALUES ('OLD1', 'S', 'in_locker', 'A01', 'Ada', {T0}, 'local', {T0});
    INSERT INTO parcels (id, size, state, recipient, created_at, barcode, origin, seen_in_sync)
    VALUES ('EXP1', 'M', 'expected', 'Bob', {T0}, 'JJD1', 'platform', 1);
    INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, picked_up_at, origin)
    VALUES ('GONE1', 'S', 'picked_up', 'A02', 'Cy', {T0}, {T0 + 9}, 'local');
    UPDATE compartments SET state = 'occupied' WHERE id = 'A01';
    INSERT INTO pickup_credentials (parcel_id, code_hash, created_at, origin)
    VALUES ('OLD1', x'{CODE.hex()}', {T0}, 'local');
    INSERT INTO audit (at, kind, compartment_id, parcel_id, details)
    VALUES ({T0}, 'parcel_placed', 'A01', 'OLD1', '{{"size": "S"}}');
    INSERT INTO kv_state (key, value) VALUES ('keypad', '{{"failures": 2}}');
"""


def rows_of(database: Path, tables: dict[str, str]) -> dict[str, list[tuple[object, ...]]]:
    connection = sqlite3.connect(database)
    try:
        return {table: connection.execute(f"SELECT {columns} FROM {table} ORDER BY 1").fetchall()
                for table, columns in tables.items()}
    finally:
        connection.close()


def test_a_used_version_5_database_migrates_to_6_with_every_row_intact(database: Path) -> None:
    with SqliteStore.open(database, LAYOUT, migrations=bundled_migrations()[:5]) as old:
        assert old.schema_version == 5
        assert old._connection is not None
        old._connection.executescript(V5_ROWS)
        names = [row[0] for row in old._connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        tables = {name: ", ".join(f'"{row[1]}"' for row in old._connection.execute(
            f"PRAGMA table_info({name})")) for name in names}
    before = rows_of(database, tables)
    assert before["parcels"] and before["audit"]

    with SqliteStore.open(database, LAYOUT, migrations=bundled_migrations()[:6]) as store:
        assert store.schema_version == 6
        assert rows_of(database, tables) == before
        connection = store._connection
        assert connection is not None
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute(
            "SELECT count(*) FROM parcels WHERE recipient_ref IS NOT NULL").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM face_profiles").fetchone()[0] == 0
        # It works as the kiosk left it, and face pickup works on the old rows.
        assert [parcel.id for parcel in store.parcels_for_code_hash(CODE)] == ["OLD1"]
        assert store.get_state("keypad") == '{"failures": 2}'
        announced = ExpectedParcel("EXP1", "JJD1", Size.M, False, "Bob", PickupWindow(72, None), "rcp-bob")
        store.apply_sync_page(page(announced), T0 + 1)
        place(store, "EXP1", "A02", None, T0 + 2)
        store.save_face("rcp-bob", sealed(1), T0 + 3)
        assert list(store.face_gallery()) == ["rcp-bob"]


@pytest.mark.parametrize(("statement", "message"), [
    ("UPDATE parcels SET recipient_ref = 'has space' WHERE id = 'OLD1'", "CHECK"),
    ("UPDATE parcels SET recipient_ref = '' WHERE id = 'OLD1'", "CHECK"),
    (f"UPDATE parcels SET recipient_ref = '{'x' * 129}' WHERE id = 'OLD1'", "CHECK"),
    ("INSERT INTO face_profiles VALUES ('rcp-1', x'', 0, 0)", "CHECK"),
    ("INSERT INTO face_profiles VALUES ('rcp 1', x'01', 0, 0)", "CHECK"),
    ("INSERT INTO face_profiles VALUES ('rcp-1', NULL, 0, 0)", "NOT NULL"),
    ("INSERT INTO face_profiles VALUES ('rcp-1', 'text, not a blob', 0, 0)", "cannot store TEXT"),
])
def test_the_schema_itself_refuses_malformed_refs_and_profiles(database: Path, statement: str,
                                                              message: str) -> None:
    with SqliteStore.open(database, LAYOUT, migrations=bundled_migrations()[:5]) as old:
        assert old._connection is not None
        old._connection.executescript(V5_ROWS)
    SqliteStore.open(database, LAYOUT).close()
    with sqlite3.connect(database) as connection, pytest.raises(sqlite3.IntegrityError, match=message):
        connection.execute(statement)


def test_the_faces_migration_is_bundled_sixth() -> None:
    source = Path(__file__).resolve().parents[2] / "kiosk" / "store" / "migrations" / "0006_faces.sql"
    assert bundled_migrations()[5].label == "0006_faces"
    assert bundled_migrations()[5].sql == source.read_text(encoding="utf-8")

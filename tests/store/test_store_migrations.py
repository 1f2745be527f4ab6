"""Opening a database: pragmas, numbered migrations from empty and on re-open, refusals."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from kiosk.core.model import Compartment, ParcelState, Size, SyncPage
from kiosk.store import SqliteStore, StoreError, bundled_migrations, load_migrations

LAYOUT = (Compartment("A01", Size.S, 0, 1, 190, 1), Compartment("A02", Size.M, 0, 2, 150, 1))
TABLES = {"compartments", "parcels", "pickup_credentials", "door_journal", "audit", "kv_state", "outbox",
          "outbox_state", "couriers", "return_authorisations", "sync_state"}
BUNDLED = len(bundled_migrations())
NEXT = BUNDLED + 1  # the number a migration added after the bundled ones must carry


def numbered(number: int, name: str) -> str:
    return f"{number:04d}_{name}.sql"


def user_version(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    return version


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows if not name.startswith("sqlite_")}


def migrations_folder(tmp_path: Path, **extra: str) -> Path:
    """The bundled migrations copied into a folder, plus `extra` files (name -> SQL)."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    source = Path(__file__).resolve().parents[2] / "kiosk" / "store" / "migrations"
    for file in source.glob("*.sql"):
        shutil.copy(file, folder / file.name)
    for name, sql in extra.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


def test_a_new_database_gets_every_migration_and_durable_pragmas(tmp_path: Path) -> None:
    database = tmp_path / "deep" / "folder" / "kiosk.sqlite"  # the folder is created
    with SqliteStore.open(database, LAYOUT) as store:
        latest = bundled_migrations()[-1].version
        assert store.schema_version == latest
        assert store.path == database
        connection = store._connection
        assert connection is not None
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert connection.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert user_version(database) == latest
    assert tables(database) >= TABLES


def test_bundled_migrations_are_numbered_from_one() -> None:
    migrations = bundled_migrations()
    assert [migration.version for migration in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].label == "0001_initial"


def test_reopening_applies_only_new_migrations(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    with SqliteStore.open(database, LAYOUT) as store:
        store.set_state("kept", "yes")
    folder = migrations_folder(
        tmp_path,
        **{numbered(NEXT, "extra"): "CREATE TABLE extra (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
                                    "-- a comment; with a semicolon\n"
                                    "INSERT INTO kv_state (key, value) VALUES ('migrated', 'yes');\n"},
    )
    migrations = load_migrations(folder)
    with SqliteStore.open(database, LAYOUT, migrations=migrations) as store:
        assert store.schema_version == NEXT
        assert store.get_state("kept") == "yes"
        assert store.get_state("migrated") == "yes"
        store.set_state("migrated", "touched")
    # A third open applies nothing: the new migration's INSERT would otherwise fail on the duplicate key.
    with SqliteStore.open(database, LAYOUT, migrations=migrations) as store:
        assert store.get_state("migrated") == "touched"
    assert "extra" in tables(database)


def test_a_failing_migration_rolls_back_completely(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    SqliteStore.open(database, LAYOUT).close()
    folder = migrations_folder(
        tmp_path,
        **{numbered(NEXT, "broken"): "CREATE TABLE half_done (id INTEGER);\n"
                                     "INSERT INTO no_such_table VALUES (1);\n"},
    )
    with pytest.raises(StoreError, match=rf"kiosk.sqlite: migration {NEXT:04d}_broken failed: no such table"):
        SqliteStore.open(database, LAYOUT, migrations=load_migrations(folder))
    assert user_version(database) == BUNDLED
    assert "half_done" not in tables(database)
    SqliteStore.open(database, LAYOUT).close()  # still usable by the current code


def test_a_database_from_a_newer_kiosk_is_refused_untouched(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    SqliteStore.open(database, LAYOUT).close()
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA user_version = 99")
    latest = bundled_migrations()[-1].version
    with pytest.raises(StoreError, match=rf"schema version 99 but this kiosk knows only up to {latest}; "
                                         "it was written by a newer kiosk"):
        SqliteStore.open(database, (*LAYOUT, Compartment("B01", Size.L, 1, 1, 50, 2)))
    assert user_version(database) == 99
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM compartments").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({numbered(NEXT + 1, "skip"): "SELECT 1;"}, f"expected number {NEXT:04d}"),
        ({numbered(BUNDLED, "repeat"): "SELECT 1;"}, f"expected number {NEXT:04d}"),
        ({"2_short.sql": "SELECT 1;"}, "is not named NNNN_name.sql"),
        ({numbered(NEXT, "unfinished"): "CREATE TABLE x (id INTEGER"}, "incomplete SQL statement"),
    ],
)
def test_malformed_migration_sets_are_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    folder = migrations_folder(tmp_path, **files)
    with pytest.raises(StoreError, match=message):
        SqliteStore.open(tmp_path / "kiosk.sqlite", LAYOUT, migrations=load_migrations(folder))


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    database.write_bytes(b"this is a text file, not SQLite\n" * 100)
    with pytest.raises(StoreError, match=rf"{database}: cannot open the database: file is not a database"):
        SqliteStore.open(database, LAYOUT)


def test_a_database_in_an_unwritable_place_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the folder"):
        SqliteStore.open(blocker / "kiosk.sqlite", LAYOUT)


# 0003: the platform's records; parcels and credentials rebuilt ----------------------------------------------

LAYOUT_V2 = (*LAYOUT, Compartment("A03", Size.L, 0, 3, 100, 1), Compartment("A04", Size.XL, 1, 1, 80, 2))
T0 = 1_800_000_000.0
LIVE, SPENT = b"\x01" * 32, b"\x02" * 32
# What a version-2 kiosk wrote, by its own columns.
V2_COLUMNS = {
    "compartments": 'id, position, size, board, lock, height_cm, "column", state, out_of_order_reason',
    "parcels": "id, size, state, compartment_id, recipient, created_at, picked_up_at",
    "pickup_credentials": "parcel_id, code_hash, created_at, spent_at",
    "door_journal": "id, compartment_id, purpose, parcel_ids, phase, reason, unlock_attempts, created_at, "
                    "updated_at",
    "audit": "id, at, kind, compartment_id, parcel_id, details",
    "kv_state": "key, value",
    "outbox": "id, idempotency_key, kind, occurred_at, compartment_id, parcel_id, details, attempts, "
              "last_error, last_attempt_at",
    "outbox_state": "id, depth, backlog_alarm",
}
V2_ROWS = f"""
    INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, picked_up_at)
    VALUES ('OLD1', 'S', 'in_locker', 'A01', 'Ada', {T0}, NULL),
           ('OLD2', 'M', 'in_locker', 'A02', 'Bob', {T0 + 1}, NULL),
           ('OLD3', 'L', 'picked_up', 'A03', 'Cy', {T0 + 2}, {T0 + 9}),
           ('EXP1', 'XL', 'expected', NULL, 'Di', {T0 + 3}, NULL);
    UPDATE compartments SET state = 'occupied' WHERE id IN ('A01', 'A02');
    UPDATE compartments SET state = 'out_of_order', out_of_order_reason = 'door_did_not_open'
    WHERE id = 'A04';
    INSERT INTO pickup_credentials (parcel_id, code_hash, created_at, spent_at)
    VALUES ('OLD1', x'{LIVE.hex()}', {T0}, NULL), ('OLD2', x'{LIVE.hex()}', {T0 + 1}, NULL),
           ('OLD3', x'{SPENT.hex()}', {T0 + 2}, {T0 + 9});
    INSERT INTO door_journal (compartment_id, purpose, parcel_ids, phase, reason, unlock_attempts, created_at,
                              updated_at)
    VALUES ('A03', 'pickup', '["OLD3"]', 'completed', NULL, 1, {T0 + 8}, {T0 + 9}),
           ('A04', 'pickup', '[]', 'fault', 'door_did_not_open', 2, {T0 + 10}, {T0 + 11}),
           ('A01', 'pickup', '["OLD1"]', 'cancelled', 'never_sent', 0, {T0 + 12}, {T0 + 13}),
           ('A02', 'pickup', '["OLD2"]', 'opened', NULL, 1, {T0 + 14}, {T0 + 15});
    INSERT INTO outbox (idempotency_key, kind, occurred_at, compartment_id, parcel_id, details, attempts,
                        last_error, last_attempt_at)
    VALUES ('0b7f1d2e-3c4a-4b5c-8d6e-7f8091a2b3c4', 'deposited', {T0}, 'A01', 'OLD1', '{{"size": "S"}}', 0,
            NULL, NULL),
           ('1c8f2e3d-4b5a-4c6d-9e7f-8091a2b3c4d5', 'picked_up', {T0 + 9}, 'A03', 'OLD3',
            '{{"journal_id": 1}}', 2, 'platform down', {T0 + 20}),
           ('2d9f3e4c-5a6b-4d7e-af80-91a2b3c4d5e6', 'door_fault', {T0 + 11}, 'A04', NULL,
            '{{"reason": "door_did_not_open"}}', 0, NULL, NULL);
    INSERT INTO audit (at, kind, compartment_id, parcel_id, details)
    VALUES ({T0}, 'parcel_placed', 'A01', 'OLD1', '{{"size": "S"}}'),
           ({T0 + 9}, 'parcel_picked_up', 'A03', 'OLD3', '{{"journal_id": 1}}');
    INSERT INTO kv_state (key, value) VALUES ('keypad', '{{"failures": 2}}');
"""


def rows_by_v2_columns(database: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(database) as connection:
        return {table: [tuple(row) for row in connection.execute(f"SELECT {columns} FROM {table} ORDER BY 1")]
                for table, columns in V2_COLUMNS.items()}


def test_a_used_version_2_database_migrates_to_3_with_every_row_intact(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    with SqliteStore.open(database, LAYOUT_V2, migrations=bundled_migrations()[:2]) as old:
        assert old.schema_version == 2
        connection = old._connection
        assert connection is not None
        connection.executescript(V2_ROWS)
    before = rows_by_v2_columns(database)
    assert before["outbox_state"] == [(1, 3, 0)]

    with SqliteStore.open(database, LAYOUT_V2, migrations=bundled_migrations()[:3]) as store:
        assert store.schema_version == 3
    assert rows_by_v2_columns(database) == before
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert connection.execute(
            "SELECT id, origin, seen_in_sync, deposited_at, barcode, accessible FROM parcels ORDER BY id"
        ).fetchall() == [("EXP1", "platform", None, None, None, 0), ("OLD1", "local", None, T0, None, 0),
                         ("OLD2", "local", None, T0 + 1, None, 0), ("OLD3", "local", None, T0 + 2, None, 0)]
        assert connection.execute(
            "SELECT DISTINCT origin, credential_id, expires_at, seen_in_sync FROM pickup_credentials"
        ).fetchall() == [("local", None, None, None)]
        assert connection.execute("SELECT DISTINCT method FROM door_journal").fetchall() == [(None,)]
        assert connection.execute("SELECT DISTINCT parked_at, park_reason FROM outbox").fetchall() == [
            (None, None)]
        assert connection.execute("SELECT cursor, generation, full_sync_in_progress FROM sync_state"
                                  ).fetchall() == [(None, 0, 0)]

    # It works as the kiosk left it: codes, the door left open across the upgrade, the outbox.
    with SqliteStore.open(database, LAYOUT_V2) as store:
        assert [parcel.id for parcel in store.parcels_for_code_hash(LIVE)] == ["OLD1", "OLD2"]
        assert store.parcels_for_code_hash(SPENT) == []
        assert store.expected_parcel_by_barcode("anything") is None
        assert store.parcel("EXP1").state is ParcelState.EXPECTED
        assert store.outbox_depth() == 3
        [open_door] = store.unfinished_journal()
        assert (open_door.compartment_id, open_door.method) == ("A02", None)
        store.journal_complete_pickup(open_door.id, T0 + 30)
        assert store.parcels_for_code_hash(LIVE)[0].id == "OLD1"
        assert store.outbox_depth() == 4
        assert store.get_state("keypad") == '{"failures": 2}'
        # A full sync that does not mention the parcel a version-2 kiosk knew as expected forgets it.
        store.apply_sync_page(SyncPage(True, (), (), (), (), (), "c-1", False), T0 + 40)
        with pytest.raises(StoreError, match="no parcel 'EXP1'"):
            store.parcel("EXP1")


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at) "
         "VALUES ('NEW', 'S', 'in_locker', 'A01', 'x', 0)", "UNIQUE"),  # A01 holds OLD1
        ("INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at) "
         "VALUES ('NEW', 'S', 'in_locker', 'Z99', 'x', 0)",
         "a parcel in the locker must be in a known compartment"),
        ("UPDATE parcels SET compartment_id = 'Z99' WHERE id = 'OLD1'",
         "a parcel in the locker must be in a known compartment"),
        ("DELETE FROM compartments WHERE id = 'A02'", "a compartment holding a parcel cannot be removed"),
        ("UPDATE parcels SET state = 'picked_up' WHERE id = 'OLD1'", "CHECK"),  # no picked_up_at
        ("UPDATE parcels SET state = 'lost' WHERE id = 'OLD1'", "CHECK"),
        ("UPDATE parcels SET compartment_id = 'A03' WHERE id = 'EXP1'", "CHECK"),  # expected: nowhere yet
        ("INSERT INTO pickup_credentials (parcel_id, code_hash, created_at) VALUES ('OLD1', x'09', 0)",
         "UNIQUE"),  # one local code per parcel, as the old primary key said
        ("INSERT INTO pickup_credentials (parcel_id, code_hash, created_at) VALUES ('GONE', x'09', 0)",
         "a local pickup credential must name a known parcel"),
        ("INSERT INTO pickup_credentials (parcel_id, code_hash, created_at) VALUES ('EXP1', x'', 0)",
         "CHECK"),
        ("UPDATE door_journal SET phase = 'opened' WHERE phase = 'completed'",
         "a finished door journal entry cannot change"),
        ("UPDATE audit SET kind = 'x'", "the audit log is append-only"),
        ("DELETE FROM audit", "the audit log is append-only"),
        ("UPDATE outbox SET details = '{}'", "an outbox event cannot change"),
        ("DELETE FROM outbox_state", "the outbox state row cannot be removed"),
        ("UPDATE compartments SET state = 'broken' WHERE id = 'A03'", "CHECK"),
    ],
)
def test_every_constraint_holds_after_migrating_a_version_2_database(
    tmp_path: Path, statement: str, message: str
) -> None:
    database = tmp_path / "kiosk.sqlite"
    with SqliteStore.open(database, LAYOUT_V2, migrations=bundled_migrations()[:2]) as old:
        assert old._connection is not None
        old._connection.executescript(V2_ROWS)
    SqliteStore.open(database, LAYOUT_V2, migrations=bundled_migrations()[:3]).close()
    before = rows_by_v2_columns(database)
    with sqlite3.connect(database) as connection, pytest.raises(sqlite3.IntegrityError, match=message):
        connection.execute(statement)
    assert rows_by_v2_columns(database) == before


def test_the_platform_migration_is_bundled_third() -> None:
    source = Path(__file__).resolve().parents[2] / "kiosk" / "store" / "migrations" / "0003_platform.sql"
    assert bundled_migrations()[2].label == "0003_platform"
    assert bundled_migrations()[2].sql == source.read_text(encoding="utf-8")

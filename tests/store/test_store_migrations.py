"""Opening a database: pragmas, numbered migrations from empty and on re-open, refusals."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from kiosk.core.model import Compartment, Size
from kiosk.store import SqliteStore, StoreError, bundled_migrations, load_migrations

LAYOUT = (Compartment("A01", Size.S, 0, 1, 190, 1), Compartment("A02", Size.M, 0, 2, 150, 1))
TABLES = {"compartments", "parcels", "pickup_credentials", "door_journal", "audit", "kv_state", "outbox",
          "outbox_state"}
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

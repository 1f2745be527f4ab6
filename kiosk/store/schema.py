"""Numbered SQL migrations, applied in order and recorded in PRAGMA user_version."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kiosk.store.errors import StoreError

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


def load_migrations(folder: Path) -> tuple[Migration, ...]:
    """The migrations in a folder of `NNNN_name.sql` files; numbering must run 1, 2, 3, ..."""
    return _checked(_read(entry.name, entry.read_text(encoding="utf-8")) for entry in folder.iterdir()
                    if entry.name.endswith(".sql"))


def bundled_migrations() -> tuple[Migration, ...]:
    """The migrations shipped in kiosk/store/migrations/."""
    folder = resources.files("kiosk.store").joinpath("migrations")
    return _checked(_read(entry.name, entry.read_text(encoding="utf-8")) for entry in folder.iterdir()
                    if entry.name.endswith(".sql"))


def _read(file_name: str, sql: str) -> Migration:
    match = _MIGRATION_NAME.match(file_name)
    if match is None:
        raise StoreError(f"migration file {file_name!r} is not named NNNN_name.sql")
    return Migration(int(match.group(1)), match.group(2), sql)


def _checked(migrations: Iterator[Migration] | Sequence[Migration]) -> tuple[Migration, ...]:
    ordered = tuple(sorted(migrations, key=lambda migration: migration.version))
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise StoreError(f"migration {migration.label}: expected number {expected:04d}; "
                             "migrations must be numbered 1, 2, 3, ... without gaps or repeats")
    return ordered


def schema_version(connection: sqlite3.Connection) -> int:
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(connection: sqlite3.Connection, migrations: Sequence[Migration], database: str) -> list[int]:
    """Apply the migrations the database lacks, each in its own transaction; the versions applied.

    The connection must be in autocommit mode (isolation_level=None). A database whose version is
    newer than the newest migration was written by a newer kiosk and is refused untouched.
    """
    latest = migrations[-1].version if migrations else 0
    applied: list[int] = []
    for migration in migrations:
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Read inside the write transaction: another process may have migrated meanwhile.
            current = schema_version(connection)
            if current > latest:
                raise StoreError(
                    f"{database}: the database has schema version {current} but this kiosk knows only "
                    f"up to {latest}; it was written by a newer kiosk: install that version or restore "
                    "a backup")
            if migration.version <= current:
                connection.execute("COMMIT")
                continue
            for statement in _statements(migration.sql):
                connection.execute(statement)
            # PRAGMA user_version is part of the transaction: schema and version commit together.
            connection.execute(f"PRAGMA user_version = {migration.version:d}")
            connection.execute("COMMIT")
        except BaseException as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise StoreError(f"{database}: migration {migration.label} failed: {error}") from error
            raise
        applied.append(migration.version)
    if not migrations and schema_version(connection) > 0:
        raise StoreError(f"{database}: the database has schema version {schema_version(connection)} "
                         "but this kiosk knows no migrations")
    return applied


def _statements(sql: str) -> Iterator[str]:
    """Split a script into complete statements (CREATE TRIGGER bodies hold semicolons of their own)."""
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip() and not _only_comments(pending):
        raise StoreError(f"incomplete SQL statement at the end of a migration: {pending.strip()[:60]!r}")


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())

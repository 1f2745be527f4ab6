"""The fake platform's records on SQLite: what it syncs to the locker, and what the locker sent it.

One connection, shared by the server's threads under one lock (the fake platform serves one locker; its
load is a few requests a second, a benchmark's a few hundred). With a file it survives a restart of the
platform, so a scenario can stop and start it and still see each event once.

Sync records (expected parcels, pickup credentials, couriers, return authorisations) live in one table,
one row per record, each stamped with the change sequence number of its last change; a deletion leaves a
tombstone. A sync page is the next rows by that number, so a cursor is simply the last number applied:
`c-N` continues from N, `f-N` continues a full sync from N (a full sync sends no tombstones on its first
page, since the locker forgets what it does not mention; later pages do, for records deleted meanwhile).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD_KINDS = ("parcel", "pickup_credential", "courier", "return_authorisation")
_PAGE_ARRAYS = {
    "parcel": "parcels",
    "pickup_credential": "pickup_credentials",
    "courier": "couriers",
    "return_authorisation": "return_authorisations",
}
_CURSOR = re.compile(r"([cf])-(0|[1-9][0-9]{0,17})")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    body TEXT,
    change_seq INTEGER NOT NULL UNIQUE,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, record_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS heartbeats (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS command_results (
    command_id TEXT PRIMARY KEY REFERENCES commands (command_id),
    body TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS registration (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    body TEXT NOT NULL,
    config_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS occupancy (
    compartment_id TEXT PRIMARY KEY,
    parcel_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class SyncPage:
    reset: bool
    records: dict[str, list[dict[str, Any]]]  # page array name -> records
    deletions: list[dict[str, str]]
    next_cursor: str
    has_more: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "reset": self.reset,
            **self.records,
            "deletions": self.deletions,
            "next_cursor": self.next_cursor,
            "has_more": self.has_more,
        }


@dataclass(frozen=True)
class BatchOutcome:
    accepted: list[str]
    duplicates: list[str]
    rejected: list[dict[str, str]]


class PlatformStore:
    """Thread-safe: every method takes the one lock."""

    def __init__(self, database: Path | None) -> None:
        target = ":memory:" if database is None else str(database)
        self._connection = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        with self._lock:
            if database is not None:
                self._connection.execute("PRAGMA journal_mode=WAL")
                # A commit survives a crash of the platform's process, not a power cut of the machine: enough
                # for a fake, and a sync of thousands of announced parcels sets up in a second, not many.
                self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.execute("PRAGMA foreign_keys=ON")
            self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def next_number(self, name: str) -> int:
        """1, 2, 3, ... per name, kept across restarts (return ids, ...)."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1",
                (name,),
            )
            row = connection.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            return int(row[0])

    # sync records ----------------------------------------------------------------------------------

    def upsert_record(self, kind: str, record_id: str, body: dict[str, Any]) -> None:
        with self._transaction() as connection:
            self._write_record(connection, kind, record_id, body)

    def delete_record(self, kind: str, record_id: str) -> bool:
        """Leave a tombstone; False when no live record has this id."""
        with self._transaction() as connection:
            return self._tombstone(connection, kind, record_id)

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT body FROM records WHERE kind = ? AND record_id = ? AND deleted = 0", (kind, record_id)
            ).fetchone()
        return None if row is None else _loads(row[0])

    def live_records(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT body FROM records WHERE kind = ? AND deleted = 0 ORDER BY change_seq", (kind,)
            ).fetchall()
        return [_loads(body) for (body,) in rows]

    def sync_page(self, cursor: str | None, limit: int) -> SyncPage:
        with self._lock:
            newest = int(self._connection.execute(
                "SELECT COALESCE(MAX(change_seq), 0) FROM records").fetchone()[0])
            parsed = _CURSOR.fullmatch(cursor) if cursor is not None else None
            if parsed is None or int(parsed.group(2)) > newest:
                full, after, reset = True, 0, True  # no cursor, or one this platform never gave out
            else:
                full, after, reset = parsed.group(1) == "f", int(parsed.group(2)), False
            tombstones = "" if reset else " OR deleted = 1"
            live_only = f" AND (deleted = 0{tombstones})" if full else ""
            rows = self._connection.execute(
                "SELECT kind, record_id, body, change_seq, deleted FROM records "
                f"WHERE change_seq > ?{live_only} ORDER BY change_seq LIMIT ?",
                (after, limit + 1),
            ).fetchall()
        has_more = len(rows) > limit
        rows = rows[:limit]
        records: dict[str, list[dict[str, Any]]] = {name: [] for name in _PAGE_ARRAYS.values()}
        deletions: list[dict[str, str]] = []
        for kind, record_id, body, _seq, deleted in rows:
            if deleted:
                deletions.append({"kind": kind, "id": record_id})
            else:
                records[_PAGE_ARRAYS[kind]].append(_loads(body))
        last = rows[-1][3] if rows else after
        if has_more:
            next_cursor = f"{'f' if full else 'c'}-{last}"
        else:
            next_cursor = f"c-{max(last, newest) if full else last}"
        return SyncPage(reset, records, deletions, next_cursor, has_more)

    def _write_record(
        self, connection: sqlite3.Connection, kind: str, record_id: str, body: dict[str, Any]
    ) -> None:
        connection.execute(
            "INSERT INTO records (kind, record_id, body, change_seq, deleted) "
            "VALUES (?, ?, ?, (SELECT COALESCE(MAX(change_seq), 0) + 1 FROM records), 0) "
            "ON CONFLICT (kind, record_id) DO UPDATE SET body = excluded.body, "
            "change_seq = excluded.change_seq, deleted = 0",
            (kind, record_id, _dumps(body)),
        )

    def _tombstone(self, connection: sqlite3.Connection, kind: str, record_id: str) -> bool:
        cursor = connection.execute(
            "UPDATE records SET deleted = 1, body = NULL, "
            "change_seq = (SELECT MAX(change_seq) + 1 FROM records) "
            "WHERE kind = ? AND record_id = ? AND deleted = 0",
            (kind, record_id),
        )
        return cursor.rowcount > 0

    # events ----------------------------------------------------------------------------------------

    def apply_events(self, events: list[dict[str, Any]], received_at: float) -> BatchOutcome:
        """Store each new event once (the idempotency key is UNIQUE), in one transaction: a batch is applied
        whole or not at all. Events on a compartment outside a registered layout are rejected."""
        accepted: list[str] = []
        duplicates: list[str] = []
        rejected: list[dict[str, str]] = []
        listed: set[str] = set()
        with self._transaction() as connection:
            layout = self._layout_ids(connection)
            for event in events:
                key = event["idempotency_key"]
                if key in listed:
                    continue  # a key given twice in one batch is applied once and listed once
                listed.add(key)
                compartment = event.get("compartment_id")
                if layout is not None and compartment is not None and compartment not in layout:
                    rejected.append({
                        "idempotency_key": key,
                        "reason": "unknown_compartment",
                        "message": f"Compartment {compartment} is not in this locker's registered layout.",
                    })
                    continue
                try:
                    connection.execute(
                        "INSERT INTO events (idempotency_key, body, received_at) VALUES (?, ?, ?)",
                        (key, _dumps(event), received_at),
                    )
                except sqlite3.IntegrityError:
                    duplicates.append(key)
                    continue
                accepted.append(key)
                self._follow_event(connection, event)
        return BatchOutcome(accepted, duplicates, rejected)

    def _follow_event(self, connection: sqlite3.Connection, event: dict[str, Any]) -> None:
        """What the platform learns from an event: where parcels are, which credentials are used up."""
        kind = event["kind"]
        compartment = event.get("compartment_id")
        parcel = event.get("parcel_id")
        if kind in ("deposited", "returned") and compartment is not None and parcel is not None:
            connection.execute(
                "INSERT INTO occupancy (compartment_id, parcel_id) VALUES (?, ?) "
                "ON CONFLICT (compartment_id) DO UPDATE SET parcel_id = excluded.parcel_id",
                (compartment, parcel),
            )
        if kind in ("picked_up", "collected") and compartment is not None:
            connection.execute("DELETE FROM occupancy WHERE compartment_id = ?", (compartment,))
        if kind == "picked_up" and parcel is not None:
            self._tombstone(connection, "parcel", parcel)
            for (record_id, body) in connection.execute(
                "SELECT record_id, body FROM records WHERE kind = 'pickup_credential' AND deleted = 0"
            ).fetchall():
                parcel_ids = _loads(body)["parcel_ids"]
                still_expected = connection.execute(
                    "SELECT COUNT(*) FROM records WHERE kind = 'parcel' AND deleted = 0 AND record_id IN "
                    f"({', '.join('?' * len(parcel_ids))})",
                    parcel_ids,
                ).fetchone()[0]
                if parcel in parcel_ids and still_expected == 0:
                    self._tombstone(connection, "pickup_credential", record_id)
        if kind == "returned":
            return_id = event.get("details", {}).get("return_id")
            if isinstance(return_id, str):
                self._tombstone(connection, "return_authorisation", return_id)

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connection.execute("SELECT body FROM events ORDER BY seq").fetchall()
        return [_loads(body) for (body,) in rows]

    def occupancy(self) -> dict[str, str]:
        """compartment id -> parcel id, as the events have told it."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT compartment_id, parcel_id FROM occupancy ORDER BY compartment_id").fetchall()
        return {compartment: parcel for compartment, parcel in rows}

    # registration ----------------------------------------------------------------------------------

    def register(self, registration: dict[str, Any]) -> tuple[int, list[str]]:
        """Store the layout; (config version, compartments that would be dropped while holding a parcel).
        Nothing is stored when that list is not empty."""
        with self._transaction() as connection:
            new_ids = {item["compartment_id"] for item in registration["layout"]["compartments"]}
            occupied = [
                f"{compartment} ({parcel})" for compartment, parcel in connection.execute(
                    "SELECT compartment_id, parcel_id FROM occupancy ORDER BY compartment_id")
                if compartment not in new_ids
            ]
            row = connection.execute("SELECT body, config_version FROM registration").fetchone()
            version = 1 if row is None else int(row[1])
            if occupied:
                return version, occupied
            if row is not None and _loads(row[0]) != registration:
                version += 1
            connection.execute(
                "INSERT INTO registration (singleton, body, config_version) VALUES (1, ?, ?) "
                "ON CONFLICT (singleton) DO UPDATE SET body = excluded.body, "
                "config_version = excluded.config_version",
                (_dumps(registration), version),
            )
            return version, []

    def registration(self) -> tuple[dict[str, Any] | None, int]:
        with self._lock:
            row = self._connection.execute("SELECT body, config_version FROM registration").fetchone()
        return (None, 0) if row is None else (_loads(row[0]), int(row[1]))

    def _layout_ids(self, connection: sqlite3.Connection) -> set[str] | None:
        row = connection.execute("SELECT body FROM registration").fetchone()
        if row is None:
            return None
        return {item["compartment_id"] for item in _loads(row[0])["layout"]["compartments"]}

    # heartbeats, commands --------------------------------------------------------------------------

    def add_heartbeat(self, heartbeat: dict[str, Any], received_at: float) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO heartbeats (body, received_at) VALUES (?, ?)", (_dumps(heartbeat), received_at)
            )

    def heartbeats(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connection.execute("SELECT body FROM heartbeats ORDER BY seq").fetchall()
        return [_loads(body) for (body,) in rows]

    def add_command(self, command: dict[str, Any], expires_at: float) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO commands (command_id, body, expires_at) VALUES (?, ?, ?)",
                (command["command_id"], _dumps(command), expires_at),
            )

    def pending_commands(self, now: float, limit: int) -> list[dict[str, Any]]:
        """Commands without a result that have not expired, oldest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT body FROM commands WHERE expires_at > ? AND command_id NOT IN "
                "(SELECT command_id FROM command_results) ORDER BY seq LIMIT ?",
                (now, limit),
            ).fetchall()
        return [_loads(body) for (body,) in rows]

    def count_pending_commands(self, now: float) -> int:
        with self._lock:
            row = self._connection.execute(
                "SELECT COUNT(*) FROM commands WHERE expires_at > ? AND command_id NOT IN "
                "(SELECT command_id FROM command_results)",
                (now,),
            ).fetchone()
        return int(row[0])

    def record_command_result(self, command_id: str, result: dict[str, Any], received_at: float) -> str:
        """'recorded', 'same' (the same result again), 'conflict' (another result) or 'unknown'."""
        with self._transaction() as connection:
            issued = connection.execute("SELECT 1 FROM commands WHERE command_id = ?", (command_id,))
            if issued.fetchone() is None:
                return "unknown"
            row = connection.execute(
                "SELECT body FROM command_results WHERE command_id = ?", (command_id,)
            ).fetchone()
            if row is not None:
                return "same" if _loads(row[0]) == result else "conflict"
            connection.execute(
                "INSERT INTO command_results (command_id, body, received_at) VALUES (?, ?, ?)",
                (command_id, _dumps(result), received_at),
            )
            return "recorded"

    def command_result(self, command_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT body FROM command_results WHERE command_id = ?", (command_id,)
            ).fetchone()
        return None if row is None else _loads(row[0])

    def command_results(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT command_id, body FROM command_results ORDER BY rowid"
            ).fetchall()
        return [{"command_id": command_id, **_loads(body)} for command_id, body in rows]


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _loads(text: str) -> Any:
    return json.loads(text)

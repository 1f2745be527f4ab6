"""The locker's own truth in one SQLite file: kiosk.core.ports.Store over stdlib sqlite3.

Durability: WAL journal with synchronous=FULL, so a committed door-journal step survives a power
cut. Every public method is one transaction: it commits completely or, raising StoreError, not at
all. The store is meant to be used from the event-loop thread only; the connection is opened with
check_same_thread=False and every call holds a lock, so a stray call from another thread is
serialised rather than corrupting anything, but it would still block that thread on disk I/O.

The outbox (migration 0002): every fact the platform must hear of is written as an outbox event inside
the transaction of the state change that caused it, so after any crash there is no state change without
its event and no event without its state change:

    place_parcel            -> deposited        (one, about the parcel)
    journal_complete_pickup -> picked_up        (one per parcel)
    journal_fault           -> door_fault       (one, about the compartment)
    journal_complete_deposit -> deposited or returned (one, about the parcel)
    journal_complete_collection -> collected    (one per parcel)
    journal_abandon         -> door_fault       (one, only when it takes the compartment out of order)
    report_problem          -> problem_report   (one per parcel, or one about none)
    the backlog alarm       -> alarm            (see below)

Each event gets a uuid4 idempotency key (canonical text) when it is written; its details hold single
values only (text, numbers, booleans, null), as the API contract carries them. A sender reads
`outbox_batch()` (oldest first), delivers, and `outbox_acknowledge()`s the keys the platform confirmed.
Acknowledged events are deleted: the platform deduplicates by key and the audit log already keeps the
locker's history. A crash between delivery and acknowledgement only means the same keys are sent again.

Bounds: the outbox never drops an event. Every event but the alarm is one physical door operation or one
report by a person at the screen, so the queue grows no faster than the doors move (a few hundred bytes
an event: 100,000 events are a few tens of MB), while dropping one would leave the platform wrong about
a parcel for ever. Instead a long backlog is made loud: when the depth reaches `outbox_alarm_depth`
(default 10,000), an alarm event ("outbox_over_threshold", state "raised") and an audit entry are
written once, in the transaction of the event that crossed it; when acknowledgements bring the depth
down to half the threshold, a "cleared" alarm is written once. Whether the alarm is up is stored with
the depth, so a restart neither repeats nor forgets it. The alarm event queues behind the backlog it
reports; the live signal is `outbox_depth()` and `outbox_oldest_at()`, which the heartbeat carries.

Standalone (no platform), the outbox still fills: whatever stands in for the platform must consume it.
An event the platform refuses for good is parked (`outbox_park`): kept with the reason, out of every batch
and out of the depth (migration 0003).

What the platform announces (migration 0003): `apply_sync_page` applies one page of the change feed in one
transaction (upserts by id, then deletions, then the cursor), so a crash leaves the old records and cursor
or the new ones. Each synced record carries the full-sync generation that last mentioned it; a reset page
starts a new generation, and the last page of a full sync forgets every synced record of an older one.
Parcels that have been deposited are the locker's own truth: a sync changes only their display data
(recipient name, accessibility) and never deletes them. Pickup credentials are rows per (credential,
parcel) without a foreign key to parcels, so a credential that names a parcel announced (or deposited)
later opens it from then on; every lookup joins parcels, so a row for an unknown parcel opens nothing.

Times of expiry (credentials, return authorisations) are compared with the store's `now` (time.time
unless `open` is given another wall clock) where the method gets no time from its caller.

Courier mode and returns (migration 0005): a deposit's or a return's door intent is written with its pending
Deposit (journal_intent_deposit); the parcel, its credential, photo, audit and event are committed only when
the door closes on it (journal_complete_deposit), so a crash in between leaves no half deposit. The pending
row, and with it a pickup code in clear, is deleted by a trigger the moment its entry finishes in any way
(completed, fault, cancelled or abandoned). Parcels whose pickup window ended become EXPIRED
(expire_overdue) and leave with a courier, like deposited returns (journal_complete_collection).

Face pickup (migration 0006): a parcel carries its recipient's pseudonymous key (recipient_ref: the
platform's, or "resident:<id>" standalone), and an opted-in recipient's face encodings are kept per key in
face_profiles, sealed by kiosk.face_vault (Fernet) before they reach the store: the store never sees an
encoding in clear, and checks that what it is given looks sealed. Never a picture. The face gallery holds
only the enrolled recipients with a parcel in the locker now. Enrolments go when consent is withdrawn
(forget_face, or the platform's command: forget_faces_of_parcels) and when unused for long
(forget_unused_faces); each is audited by recipient_ref only, and secure_delete zeroes the freed rows.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import json
import logging
import math
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from kiosk.core.model import (
    DEPOSIT_PURPOSES,
    AuditEntry,
    Compartment,
    CompartmentState,
    CompartmentStatus,
    CourierCredential,
    Deletion,
    Deposit,
    DoorPurpose,
    EventKind,
    ExpectedParcel,
    JournalEntry,
    JournalPhase,
    OutboxEvent,
    Parcel,
    ParcelState,
    PickupCredential,
    PickupMethod,
    PickupNotice,
    PickupWindow,
    ProblemKind,
    ReturnAuthorisation,
    Size,
    SyncPage,
    SyncStatus,
    SyncTally,
)
from kiosk.store.errors import StoreError
from kiosk.store.residents import ResidentRecords
from kiosk.store.schema import Migration, bundled_migrations, migrate, schema_version

log = logging.getLogger(__name__)

_E = TypeVar("_E", bound=enum.Enum)
_T = TypeVar("_T")

BUSY_TIMEOUT_MS = 2000

UNFINISHED_PHASES = (JournalPhase.INTENT, JournalPhase.UNLOCK_SENT, JournalPhase.OPENED)
_UNFINISHED_SQL = "('intent', 'unlock_sent', 'opened')"
# States of a parcel that is physically in its compartment.
_PRESENT_SQL = "('in_locker', 'expired', 'returned')"

# Which phase may follow which in journal_advance. UNLOCK_SENT may repeat: that is the retry.
_ADVANCES: dict[JournalPhase, frozenset[JournalPhase]] = {
    JournalPhase.INTENT: frozenset({JournalPhase.UNLOCK_SENT, JournalPhase.OPENED}),
    JournalPhase.UNLOCK_SENT: frozenset({JournalPhase.UNLOCK_SENT, JournalPhase.OPENED}),
    JournalPhase.OPENED: frozenset(),
}
_ADVANCE_AUDIT_KIND = {JournalPhase.UNLOCK_SENT: "door_unlock_sent", JournalPhase.OPENED: "door_opened"}
# The openings that change parcels complete through their own method, not journal_complete.
_OWN_COMPLETION = {
    DoorPurpose.PICKUP.value: "a pickup (journal_complete_pickup)",
    DoorPurpose.DEPOSIT.value: "a deposit (journal_complete_deposit)",
    DoorPurpose.RETURN.value: "a return (journal_complete_deposit)",
    DoorPurpose.COLLECT.value: "a collection (journal_complete_collection)",
}

_COMPARTMENT_COLUMNS = 'id, size, board, lock, height_cm, "column", state, out_of_order_reason'
_PARCEL_COLUMNS = ("id, size, state, compartment_id, recipient, created_at, picked_up_at, barcode, "
                   "accessible, deposited_at, pickup_window_hours, pickup_not_after, recipient_ref")
_JOURNAL_COLUMNS = ("id, compartment_id, purpose, parcel_ids, phase, created_at, updated_at, method, "
                    "courier_id")
_PENDING_DEPOSIT_COLUMNS = ("parcel_id, size, recipient, code_hash, pickup_code, courier_id, return_id, "
                            "receipt_code, barcode, unannounced, photo")
_OUTBOX_COLUMNS = ("id, idempotency_key, kind, occurred_at, compartment_id, parcel_id, details, attempts, "
                   "last_error, last_attempt_at, park_reason")
_COURIER_COLUMNS = "courier_id, display_name, password_hash, badge_secret_hash, can_collect, valid_until"
_RETURN_COLUMNS = "return_id, parcel_id, code_hash, size, expires_at"
DELETION_KINDS = frozenset({"parcel", "pickup_credential", "courier", "return_authorisation"})

DEFAULT_OUTBOX_ALARM_DEPTH = 10_000
# A parcel's photo is a downscaled camera frame (at most 640 px wide, some tens of kB); anything this big is
# not one, and would bloat the database that every deposit writes to. Migration 0005 holds the same limit.
PHOTO_MAX_BYTES = 2 * 1024 * 1024
CODE_HASH_BYTES = 32  # HMAC-SHA256
_PICKUP_CODE = re.compile(r"[0-9]{6,8}")
_JPEG_START = b"\xff\xd8\xff"  # SOI marker and the first segment's marker
# A recipient's pseudonymous key: visible ASCII, no spaces (the API contract's pattern; migration 0006 too).
_RECIPIENT_REF = re.compile(r"[!-~]{1,128}")
RECIPIENT_REF_MAX_CHARS = 128
# A few 128-float encodings sealed by kiosk.face_vault are a few kB; anything this big is not an enrolment.
FACE_SEALED_MAX_BYTES = 64 * 1024
_FERNET_VERSION = 0x80  # the first byte of every Fernet token
_URLSAFE_BASE64 = re.compile(rb"[A-Za-z0-9_-]+={0,2}")
BACKLOG_ALARM = "outbox_over_threshold"  # the alarm's name in the API contract
LAST_ERROR_MAX_CHARS = 300


class SqliteStore(ResidentRecords):
    """kiosk.core.ports.Store in SQLite. Create it with `SqliteStore.open(path, layout)`."""

    def __init__(self, connection: sqlite3.Connection, path: Path, *,
                 outbox_alarm_depth: int = DEFAULT_OUTBOX_ALARM_DEPTH,
                 now: Callable[[], float] = time.time) -> None:
        """Internal: use `SqliteStore.open`, which migrates the schema and syncs the layout."""
        self._connection: sqlite3.Connection | None = connection
        self._path = path
        self._lock = threading.RLock()
        self._outbox_alarm_depth = outbox_alarm_depth
        self._now = now

    # life cycle ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path,
        layout: Sequence[Compartment],
        *,
        migrations: Sequence[Migration] | None = None,
        outbox_alarm_depth: int = DEFAULT_OUTBOX_ALARM_DEPTH,
        now: Callable[[], float] = time.time,
    ) -> SqliteStore:
        """Open (creating it and its folder if needed) the database, migrate it, sync the layout.

        `migrations` defaults to the bundled ones; tests pass their own. `outbox_alarm_depth` is the
        number of undelivered events that raises the backlog alarm (module docstring). `now` is the wall
        clock that expiry times are compared with where a method is given no time (pass the kiosk's clock).
        """
        database = Path(path).expanduser()
        _check_layout(layout)
        if isinstance(outbox_alarm_depth, bool) or not isinstance(outbox_alarm_depth, int) \
                or outbox_alarm_depth < 1:
            raise StoreError(f"outbox_alarm_depth must be a whole number >= 1, not {outbox_alarm_depth!r}")
        try:
            database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{database}: cannot create the folder: {error.strerror or error}") from error
        try:
            connection = sqlite3.connect(
                str(database), isolation_level=None, check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        except sqlite3.Error as error:
            raise StoreError(f"{database}: cannot open the database: {error}") from error
        connection.row_factory = sqlite3.Row
        store = cls(connection, database, outbox_alarm_depth=outbox_alarm_depth, now=now)
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            connection.execute("PRAGMA foreign_keys = ON")
            journal_mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(journal_mode).lower() != "wal":
                # Still durable with synchronous=FULL, only slower; e.g. a filesystem without shared memory.
                log.warning("%s: SQLite refused WAL mode, running in %s mode", database, journal_mode)
            connection.execute("PRAGMA synchronous = FULL")
            # Deleted rows are zeroed, so a pickup code in clear (pending deposit, acknowledged event, sent
            # mail) is not left behind in a free slot of its page. Some builds default to ON (zero all);
            # a build without it gets FAST, which zeroes where that costs no extra I/O.
            if connection.execute("PRAGMA secure_delete").fetchone()[0] == 0:
                connection.execute("PRAGMA secure_delete = FAST")
            migrate(connection, bundled_migrations() if migrations is None else migrations, str(database))
            store._sync_layout(layout)
        except sqlite3.Error as error:
            connection.close()
            raise StoreError(f"{database}: cannot open the database: {error}") from error
        except BaseException:
            connection.close()
            raise
        return store

    def close(self) -> None:
        """Close the connection; idempotent. Any later call raises StoreError."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def schema_version(self) -> int:
        with self._read("read the schema version") as connection:
            return schema_version(connection)

    # compartments -------------------------------------------------------------------------
    def compartments(self) -> Sequence[CompartmentStatus]:
        """Every compartment, in layout order."""
        with self._read("list compartments") as connection:
            rows = connection.execute(
                f"SELECT {_COMPARTMENT_COLUMNS} FROM compartments ORDER BY position").fetchall()
        return [_compartment_status(row) for row in rows]

    def compartment(self, compartment_id: str) -> CompartmentStatus:
        with self._read("read a compartment") as connection:
            return _compartment_status(_compartment_row(connection, compartment_id))

    def mark_out_of_order(self, compartment_id: str, reason: str, at: float) -> None:
        """Also writes the audit entry. A parcel inside stays recorded there, in the locker."""
        reason = _required_text(reason, "out-of-order reason")
        with self._write("mark a compartment out of order") as connection:
            _compartment_row(connection, compartment_id)
            self._set_out_of_order(connection, compartment_id, reason, at, journal_id=None)

    def return_to_service(self, compartment_id: str, at: float) -> CompartmentStatus:
        """Undo mark_out_of_order (not part of the core Store protocol): the compartment is FREE,
        or OCCUPIED when a parcel is still inside. Audited as "compartment_in_service"."""
        with self._write("return a compartment to service") as connection:
            row = _compartment_row(connection, compartment_id)
            if row["state"] != CompartmentState.OUT_OF_ORDER.value:
                raise StoreError(f"compartment {compartment_id} is not out of order")
            holding = _parcel_in(connection, compartment_id)
            state = CompartmentState.OCCUPIED if holding else CompartmentState.FREE
            connection.execute(
                "UPDATE compartments SET state = ?, out_of_order_reason = NULL WHERE id = ?",
                (state.value, compartment_id))
            _insert_audit(connection, "compartment_in_service", at, compartment_id, None,
                          {"previous_reason": row["out_of_order_reason"], "state": state.value})
            return _compartment_status(_compartment_row(connection, compartment_id))

    # parcels and codes --------------------------------------------------------------------
    def place_parcel(
        self,
        parcel_id: str,
        size: Size,
        compartment_id: str,
        recipient: str,
        code_hash: bytes,
        at: float,
        *,
        courier_id: str | None = None,
        notice: PickupNotice | None = None,
        recipient_ref: str | None = None,
    ) -> Parcel:
        """A parcel deposited into a free compartment with its pickup credential (audited), and its
        deposited outbox event (and, with `notice`, the resident's pickup mail), in one transaction.

        The compartment must be FREE and at least as big as the parcel. A parcel id already known
        as EXPECTED becomes IN_LOCKER, keeping what the platform announced (barcode, accessibility, pickup
        window) and the credentials synced for it, which open it from now on; any other known parcel id is
        refused. `code_hash` is the locker's own credential for it (replacing an earlier local one).
        `courier_id` names the courier who deposited it, when one did.
        The parcel's recipient_ref (whose enrolled face may open it) is `recipient_ref` when given; else an
        EXPECTED parcel keeps the one the platform announced; else, with a `notice`, "resident:<id>" of the
        resident notified; else None.
        """
        parcel_id = _required_text(parcel_id, "parcel id")
        recipient_ref = _optional_recipient_ref(recipient_ref)
        resident_ref = _resident_ref(notice)
        if courier_id is not None:
            courier_id = _required_text(courier_id, "courier id")
        size = _member(Size, size, "size")
        if not isinstance(recipient, str):
            raise StoreError(f"recipient must be text, not {recipient!r}")
        _check_code_hash(code_hash)
        with self._write("place a parcel") as connection:
            compartment = _compartment_status(_compartment_row(connection, compartment_id))
            if compartment.state is CompartmentState.OUT_OF_ORDER:
                raise StoreError(f"compartment {compartment_id} is out of order "
                                 f"({compartment.out_of_order_reason})")
            if compartment.state is CompartmentState.OCCUPIED:
                holder = _parcel_in(connection, compartment_id)
                raise StoreError(f"compartment {compartment_id} already holds parcel {holder}")
            if compartment.compartment.size < size:
                raise StoreError(f"parcel {parcel_id} of size {size.value} does not fit compartment "
                                 f"{compartment_id} of size {compartment.compartment.size.value}")
            existing = connection.execute("SELECT state FROM parcels WHERE id = ?", (parcel_id,)).fetchone()
            if existing is None:
                connection.execute(
                    "INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, origin, "
                    "deposited_at, recipient_ref) VALUES (?, ?, 'in_locker', ?, ?, ?, 'local', ?, ?)",
                    (parcel_id, size.value, compartment_id, recipient, at, at, recipient_ref or resident_ref))
            elif existing["state"] == ParcelState.EXPECTED.value:
                connection.execute(
                    "UPDATE parcels SET size = ?, state = 'in_locker', compartment_id = ?, recipient = ?, "
                    "deposited_at = ?, recipient_ref = COALESCE(?, recipient_ref, ?) WHERE id = ?",
                    (size.value, compartment_id, recipient, at, recipient_ref, resident_ref, parcel_id))
            else:
                raise StoreError(f"parcel {parcel_id} is already known ({existing['state']})")
            connection.execute("DELETE FROM pickup_credentials WHERE parcel_id = ? AND origin = 'local'",
                               (parcel_id,))
            connection.execute(
                "INSERT INTO pickup_credentials (parcel_id, code_hash, created_at, origin) "
                "VALUES (?, ?, ?, 'local')", (parcel_id, bytes(code_hash), at))
            connection.execute("UPDATE compartments SET state = 'occupied' WHERE id = ?", (compartment_id,))
            by_courier: dict[str, object] = {} if courier_id is None else {"courier_id": courier_id}
            _insert_audit(connection, "parcel_placed", at, compartment_id, parcel_id,
                          {"size": size.value, **by_courier})
            self._insert_event(connection, EventKind.DEPOSITED, at, compartment_id, parcel_id,
                               {"size": size.value, "recipient": recipient,
                                "announced": existing is not None, **by_courier})
            if notice is not None:
                self._queue_pickup_notice(connection, notice, at)
            return _parcel(_parcel_row(connection, parcel_id))

    def parcel(self, parcel_id: str) -> Parcel:
        with self._read("read a parcel") as connection:
            return _parcel(_parcel_row(connection, parcel_id))

    def parcels_for_code_hash(self, code_hash: bytes) -> Sequence[Parcel]:
        """Parcels IN_LOCKER with a credential that matches, is not spent and has not expired (by the
        store's `now`), compared in constant time; each parcel once, oldest first."""
        _check_code_hash(code_hash)
        wanted = bytes(code_hash)
        with self._read("look up a pickup code") as connection:
            rows = connection.execute(
                f"SELECT {_prefixed('p', _PARCEL_COLUMNS)}, c.code_hash "
                "FROM pickup_credentials AS c JOIN parcels AS p ON p.id = c.parcel_id "
                "WHERE c.code_hash = ? AND c.spent_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ?) "
                "AND p.state = 'in_locker' ORDER BY p.created_at, p.id", (wanted, self._now())).fetchall()
        found: dict[str, Parcel] = {}
        for row in rows:
            if hmac.compare_digest(bytes(row["code_hash"]), wanted):
                found.setdefault(row["id"], _parcel(row))
        return list(found.values())

    def free_compartments(self, size: Size | None = None) -> Sequence[CompartmentStatus]:
        """FREE compartments (of exactly `size` when given), in layout order."""
        with self._read("list free compartments") as connection:
            if size is None:
                rows = connection.execute(
                    f"SELECT {_COMPARTMENT_COLUMNS} FROM compartments WHERE state = 'free' "
                    "ORDER BY position").fetchall()
            else:
                rows = connection.execute(
                    f"SELECT {_COMPARTMENT_COLUMNS} FROM compartments WHERE state = 'free' AND size = ? "
                    "ORDER BY position", (_member(Size, size, "size").value,)).fetchall()
        return [_compartment_status(row) for row in rows]

    # the door journal ---------------------------------------------------------------------
    def journal_intent(
        self, compartment_id: str, purpose: DoorPurpose, parcel_ids: Iterable[str], at: float,
        method: PickupMethod | None = None, *, courier_id: str | None = None,
    ) -> JournalEntry:
        """Record the intent to open a door, before anything is sent to the board (audited).

        Refused while another entry for the same compartment is unfinished. For PICKUP, every
        parcel must be IN_LOCKER in that compartment. `method` (how a pickup was authorised) is kept
        with the entry and reaches the picked_up events; only a pickup has one. COLLECT needs `courier_id`
        (kept with the entry; no other purpose has one here) and at least one parcel, each EXPIRED or
        RETURNED in that compartment. DEPOSIT and RETURN are refused: they go through journal_intent_deposit.
        """
        purpose = _member(DoorPurpose, purpose, "door purpose")
        if purpose in DEPOSIT_PURPOSES:
            raise StoreError(f"a {purpose.value} opening carries its parcel: use journal_intent_deposit")
        if method is not None:
            method = _member(PickupMethod, method, "pickup method")
            if purpose is not DoorPurpose.PICKUP:
                raise StoreError(f"only a pickup has a pickup method, not a {purpose.value} opening")
        if purpose is DoorPurpose.COLLECT:
            courier_id = _required_text(courier_id, "the collecting courier's id")
        elif courier_id is not None:
            raise StoreError(f"only a collection names a courier here, not a {purpose.value} opening")
        if isinstance(parcel_ids, str):
            raise StoreError("parcel_ids must be a collection of parcel ids, not one string")
        parcels = tuple(parcel_ids)
        if len(set(parcels)) != len(parcels):
            raise StoreError(f"parcel ids repeat: {', '.join(parcels)}")
        with self._write("write a door intent") as connection:
            _compartment_row(connection, compartment_id)
            _require_no_unfinished_entry(connection, compartment_id)
            if purpose is DoorPurpose.PICKUP:
                if not parcels:
                    raise StoreError("a pickup needs at least one parcel")
                for parcel_id in parcels:
                    _require_in_compartment(connection, parcel_id, compartment_id)
            if purpose is DoorPurpose.COLLECT:
                if not parcels:
                    raise StoreError("a collection needs at least one parcel")
                for parcel_id in parcels:
                    _require_collectable(connection, parcel_id, compartment_id)
            cursor = connection.execute(
                "INSERT INTO door_journal (compartment_id, purpose, parcel_ids, phase, created_at, "
                "updated_at, method, courier_id) VALUES (?, ?, ?, 'intent', ?, ?, ?, ?)",
                (compartment_id, purpose.value, json.dumps(list(parcels)), at, at,
                 None if method is None else method.value, courier_id))
            entry_id = _last_row_id(cursor)
            intent: dict[str, object] = {"journal_id": entry_id, "purpose": purpose.value,
                                         "parcel_ids": list(parcels)}
            if method is not None:
                intent["method"] = method.value
            if courier_id is not None:
                intent["courier_id"] = courier_id
            _insert_audit(connection, "door_intent", at, compartment_id, _single(parcels), intent)
            return _journal_entry(_journal_row(connection, entry_id))

    def journal_intent_deposit(
        self, compartment_id: str, purpose: DoorPurpose, deposit: Deposit, at: float
    ) -> JournalEntry:
        """The intent to open a compartment to put a parcel in, with its pending Deposit kept beside the entry
        until the door closes on it (journal_complete_deposit) or the entry ends otherwise; audited
        ("door_intent", never with the code in clear). The entry's parcel_ids is (deposit.parcel_id,).

        The compartment must be FREE (not occupied, not out of order), at least deposit.size, and have no
        unfinished entry; the parcel must not be on its way into another compartment.
        DEPOSIT (a courier's): `courier_id` set; the parcel id new, or an EXPECTED parcel (then not
        `unannounced`); a `code_hash` (32 bytes, with or without its `pickup_code` of 6 to 8 digits), or else
        an unspent, unexpired platform credential for the parcel, so that its recipient can open it; a
        `photo_jpeg` (a JPEG of at most PHOTO_MAX_BYTES) only of an unannounced parcel.
        RETURN (a customer's): `return_id` names an unused authorisation, unexpired by the store's `now`, for
        this very parcel id, which the locker does not know yet; `receipt_code` set; no code, no courier.
        """
        purpose = _member(DoorPurpose, purpose, "door purpose")
        if purpose not in DEPOSIT_PURPOSES:
            raise StoreError(f"journal_intent_deposit opens a door for a deposit or a return, not a "
                             f"{purpose.value} opening: use journal_intent")
        deposit = _checked_deposit(purpose, deposit)
        compartment_id = _required_text(compartment_id, "compartment id")
        at = _time(at, "the time of a door intent")
        parcel_id = deposit.parcel_id
        with self._write("write a deposit's door intent") as connection:
            compartment = _compartment_status(_compartment_row(connection, compartment_id))
            _require_no_unfinished_entry(connection, compartment_id)
            if compartment.state is CompartmentState.OUT_OF_ORDER:
                raise StoreError(f"compartment {compartment_id} is out of order "
                                 f"({compartment.out_of_order_reason})")
            holder = _parcel_in(connection, compartment_id)
            if compartment.state is CompartmentState.OCCUPIED or holder is not None:
                raise StoreError(f"compartment {compartment_id} already holds parcel {holder}")
            if compartment.compartment.size < deposit.size:
                raise StoreError(f"parcel {parcel_id} of size {deposit.size.value} does not fit compartment "
                                 f"{compartment_id} of size {compartment.compartment.size.value}")
            on_its_way = connection.execute(
                "SELECT j.id, j.compartment_id FROM pending_deposits AS d "
                "JOIN door_journal AS j ON j.id = d.journal_id WHERE d.parcel_id = ?",
                (parcel_id,)).fetchone()
            if on_its_way is not None:
                raise StoreError(f"parcel {parcel_id} is already on its way into compartment "
                                 f"{on_its_way['compartment_id']} (journal entry {on_its_way['id']}): "
                                 "abandon that door first")
            existing = connection.execute("SELECT state FROM parcels WHERE id = ?", (parcel_id,)).fetchone()
            if purpose is DoorPurpose.DEPOSIT:
                if existing is not None and existing["state"] != ParcelState.EXPECTED.value:
                    raise StoreError(f"parcel {parcel_id} is already known ({existing['state']})")
                if existing is not None and deposit.unannounced:
                    raise StoreError(f"parcel {parcel_id} was announced by the platform: it cannot be "
                                     "deposited as unannounced")
                if deposit.code_hash is None and not _has_platform_credential(connection, parcel_id,
                                                                              self._now()):
                    raise StoreError(f"parcel {parcel_id} has no pickup credential from the platform: "
                                     "its deposit must bring a code hash")
            else:
                self._require_usable_return(connection, deposit)
                if existing is not None:
                    raise StoreError(f"parcel {parcel_id} is already known ({existing['state']})")
            cursor = connection.execute(
                "INSERT INTO door_journal (compartment_id, purpose, parcel_ids, phase, created_at, "
                "updated_at, courier_id) VALUES (?, ?, ?, 'intent', ?, ?, ?)",
                (compartment_id, purpose.value, json.dumps([parcel_id]), at, at, deposit.courier_id))
            entry_id = _last_row_id(cursor)
            connection.execute(
                f"INSERT INTO pending_deposits (journal_id, {_PENDING_DEPOSIT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry_id, parcel_id, deposit.size.value, deposit.recipient, deposit.code_hash,
                 deposit.pickup_code, deposit.courier_id, deposit.return_id, deposit.receipt_code,
                 deposit.barcode, int(deposit.unannounced), deposit.photo_jpeg))
            intent: dict[str, object] = {"journal_id": entry_id, "purpose": purpose.value,
                                         "parcel_ids": [parcel_id], "size": deposit.size.value}
            if purpose is DoorPurpose.DEPOSIT:
                intent.update(courier_id=deposit.courier_id, announced=existing is not None,
                              unannounced=deposit.unannounced)
            else:
                intent["return_id"] = deposit.return_id
            _insert_audit(connection, "door_intent", at, compartment_id, parcel_id, intent)
            return _journal_entry(_journal_row(connection, entry_id))

    def pending_deposit(self, entry_id: int) -> Deposit | None:
        """The Deposit of an unfinished DEPOSIT or RETURN entry; None for any other entry (a finished one no
        longer has it). An unknown entry raises."""
        entry_id = _entry_id(entry_id)
        with self._read("read a pending deposit") as connection:
            _journal_row(connection, entry_id)
            row = connection.execute(
                f"SELECT {_PENDING_DEPOSIT_COLUMNS} FROM pending_deposits WHERE journal_id = ?",
                (entry_id,)).fetchone()
        return None if row is None else _deposit(row)

    def journal_advance(self, entry_id: int, phase: JournalPhase, at: float) -> JournalEntry:
        """Move an entry to UNLOCK_SENT or OPENED (audited). UNLOCK_SENT again records a retry."""
        phase = _member(JournalPhase, phase, "journal phase")
        if phase not in _ADVANCE_AUDIT_KIND:
            raise StoreError(f"journal_advance moves only to unlock_sent or opened, not {phase.value}")
        with self._write("advance a door journal entry") as connection:
            row = _journal_row(connection, entry_id)
            current = JournalPhase(row["phase"])
            if phase not in _ADVANCES.get(current, frozenset()):
                raise StoreError(
                    f"journal entry {entry_id} cannot move from {current.value} to {phase.value}")
            attempts = row["unlock_attempts"] + (1 if phase is JournalPhase.UNLOCK_SENT else 0)
            connection.execute(
                "UPDATE door_journal SET phase = ?, unlock_attempts = ?, updated_at = ? WHERE id = ?",
                (phase.value, attempts, at, entry_id))
            details: dict[str, object] = {"journal_id": entry_id, "purpose": row["purpose"]}
            if phase is JournalPhase.UNLOCK_SENT:
                details["attempt"] = attempts
            parcels = _json_ids(row["parcel_ids"])
            _insert_audit(connection, _ADVANCE_AUDIT_KIND[phase], at, row["compartment_id"],
                          _single(parcels), details)
            return _journal_entry(_journal_row(connection, entry_id))

    def journal_fault(self, entry_id: int, reason: str, at: float) -> JournalEntry:
        """The door never opened: entry FAULT, compartment out of order, audit, door_fault event; one
        transaction; a deposit's pending Deposit goes with it.

        Only an entry that never saw its door open (INTENT or UNLOCK_SENT) can fault.
        """
        reason = _required_text(reason, "fault reason")
        with self._write("record a door fault") as connection:
            row = _journal_row(connection, entry_id)
            current = JournalPhase(row["phase"])
            if current not in (JournalPhase.INTENT, JournalPhase.UNLOCK_SENT):
                raise StoreError(f"journal entry {entry_id} is {current.value}: only a door that never "
                                 "opened can fault")
            connection.execute(
                "UPDATE door_journal SET phase = 'fault', reason = ?, updated_at = ? WHERE id = ?",
                (reason, at, entry_id))
            parcels = _json_ids(row["parcel_ids"])
            fault = {"journal_id": entry_id, "reason": reason, "purpose": row["purpose"],
                     "unlock_attempts": row["unlock_attempts"]}
            _insert_audit(connection, "door_fault", at, row["compartment_id"], _single(parcels), fault)
            self._set_out_of_order(connection, row["compartment_id"], reason, at, journal_id=entry_id)
            self._insert_event(connection, EventKind.DOOR_FAULT, at, row["compartment_id"], _single(parcels),
                               fault)
            return _journal_entry(_journal_row(connection, entry_id))

    def journal_complete_pickup(self, entry_id: int, at: float) -> JournalEntry:
        """Door closed after a pickup: parcels PICKED_UP, every credential of each spent, compartment FREE,
        entry COMPLETED, the audit entries and one picked_up event per parcel (with the entry's method,
        when it has one), all in one transaction.

        The entry must be a PICKUP in UNLOCK_SENT or OPENED; completing it twice raises. A
        compartment that is out of order stays out of order (only emptied).
        """
        with self._write("complete a pickup") as connection:
            row = _journal_row(connection, entry_id)
            if row["purpose"] != DoorPurpose.PICKUP.value:
                raise StoreError(f"journal entry {entry_id} is a {row['purpose']}, not a pickup")
            _require_unlock_sent(row, "a pickup")
            compartment_id: str = row["compartment_id"]
            parcels = _json_ids(row["parcel_ids"])
            picked_up: dict[str, object] = {"journal_id": entry_id}
            if row["method"] is not None:
                picked_up["method"] = row["method"]
            for parcel_id in parcels:
                _require_in_compartment(connection, parcel_id, compartment_id)
                _parcel_leaves(connection, parcel_id, "picked_up", at)
                _insert_audit(connection, "parcel_picked_up", at, compartment_id, parcel_id, picked_up)
                self._insert_event(connection, EventKind.PICKED_UP, at, compartment_id, parcel_id, picked_up)
            connection.execute(
                "UPDATE compartments SET state = 'free' WHERE id = ? AND state = 'occupied'",
                (compartment_id,))
            return _complete_entry(connection, row, at)

    def journal_complete_deposit(self, entry_id: int, at: float, *, confirmed_by_ir: bool) -> JournalEntry:
        """Door closed on a deposit or a return: its pending Deposit committed, in one transaction.

        The entry must be a DEPOSIT or RETURN in UNLOCK_SENT or OPENED; completing it twice raises.
        DEPOSIT: a new parcel is inserted (origin local, IN_LOCKER, with the scanned barcode), an EXPECTED one
        becomes IN_LOCKER there, keeping what the platform announced and its platform credentials; the
        Deposit's code hash replaces the parcel's local credential; audited "parcel_deposited"; one deposited
        event (size, recipient, announced, courier_id, barcode, unannounced, journal_id, and pickup_code when
        the code was made here). RETURN: the parcel inserted RETURNED, the authorisation used; audited
        "parcel_returned"; one returned event (return_id, receipt_code, size, journal_id).
        Both: deposited_at `at`, the compartment OCCUPIED (one out of order stays so), the photo kept (dated
        by the intent, when it was taken), the entry COMPLETED ("door_closed"), the pending Deposit gone.
        """
        confirmed_by_ir = _flag(confirmed_by_ir, "confirmed_by_ir")
        entry_id = _entry_id(entry_id)
        at = _time(at, "the time a door closed")
        with self._write("complete a deposit") as connection:
            row = _journal_row(connection, entry_id)
            purpose = DoorPurpose(row["purpose"])
            if purpose not in DEPOSIT_PURPOSES:
                raise StoreError(f"journal entry {entry_id} is a {purpose.value}, not a deposit or a return")
            _require_unlock_sent(row, "a deposit")
            pending = connection.execute(
                f"SELECT {_PENDING_DEPOSIT_COLUMNS} FROM pending_deposits WHERE journal_id = ?",
                (entry_id,)).fetchone()
            if pending is None:
                raise StoreError(f"journal entry {entry_id} has lost its pending deposit: the database was "
                                 "edited by hand")
            deposit = _deposit(pending)
            compartment_id: str = row["compartment_id"]
            holder = _parcel_in(connection, compartment_id)
            if holder is not None:
                raise StoreError(f"compartment {compartment_id} already holds parcel {holder}: parcel "
                                 f"{deposit.parcel_id} cannot be recorded in it")
            if purpose is DoorPurpose.DEPOSIT:
                self._commit_delivery(connection, entry_id, compartment_id, deposit, at, confirmed_by_ir)
            else:
                self._commit_return(connection, entry_id, compartment_id, deposit, at, confirmed_by_ir)
            if deposit.photo_jpeg is not None:
                connection.execute(
                    "INSERT INTO parcel_photos (parcel_id, jpeg, taken_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (parcel_id) DO UPDATE SET jpeg = excluded.jpeg, "
                    "taken_at = excluded.taken_at",
                    (deposit.parcel_id, deposit.photo_jpeg, row["created_at"]))
            connection.execute(
                "UPDATE compartments SET state = 'occupied' WHERE id = ? AND state = 'free'",
                (compartment_id,))
            return _complete_entry(connection, row, at)

    def journal_complete_collection(self, entry_id: int, at: float) -> JournalEntry:
        """Door closed after a collection: each of the entry's parcels, still EXPIRED or RETURNED in that
        compartment, COLLECTED (collected_at `at`) with its unspent credentials spent, audited
        "parcel_collected", and one collected event (courier_id, reason: expired or returned, journal_id);
        the compartment FREE (one out of order stays so); entry COMPLETED ("door_closed"). One transaction.
        The entry must be a COLLECT in UNLOCK_SENT or OPENED; completing it twice raises."""
        entry_id = _entry_id(entry_id)
        at = _time(at, "the time a door closed")
        with self._write("complete a collection") as connection:
            row = _journal_row(connection, entry_id)
            if row["purpose"] != DoorPurpose.COLLECT.value:
                raise StoreError(f"journal entry {entry_id} is a {row['purpose']}, not a collection")
            _require_unlock_sent(row, "a collection")
            compartment_id: str = row["compartment_id"]
            parcels = _json_ids(row["parcel_ids"])
            for parcel_id in parcels:
                state = _require_collectable(connection, parcel_id, compartment_id)
                collected: dict[str, object] = {
                    "courier_id": row["courier_id"],
                    "reason": "expired" if state is ParcelState.EXPIRED else "returned",
                    "journal_id": entry_id}
                _parcel_leaves(connection, parcel_id, "collected", at)
                _insert_audit(connection, "parcel_collected", at, compartment_id, parcel_id, collected)
                self._insert_event(connection, EventKind.COLLECTED, at, compartment_id, parcel_id, collected)
            connection.execute(
                "UPDATE compartments SET state = 'free' WHERE id = ? AND state = 'occupied'",
                (compartment_id,))
            return _complete_entry(connection, row, at)

    def journal_abandon(
        self, entry_id: int, reason: str, at: float, *, out_of_order: bool = False
    ) -> JournalEntry:
        """Give up an unfinished entry whatever its phase (the courier moved the parcel to another
        compartment: too small, or a door that did not really open): entry CANCELLED with `reason`, its
        pending Deposit dropped, audited "journal_abandoned"; with `out_of_order` the compartment too (the
        reason as why), with a door_fault event (reason, journal_id, purpose). No parcel changes; one
        transaction. A finished entry raises."""
        entry_id = _entry_id(entry_id)
        reason = _required_text(reason, "abandon reason")
        out_of_order = _flag(out_of_order, "out_of_order")
        at = _time(at, "the time a door is abandoned")
        with self._write("abandon a door journal entry") as connection:
            row = _journal_row(connection, entry_id)
            current = JournalPhase(row["phase"])
            if current not in UNFINISHED_PHASES:
                raise StoreError(f"journal entry {entry_id} is already {current.value}: only an unfinished "
                                 "entry can be abandoned")
            connection.execute(
                "UPDATE door_journal SET phase = 'cancelled', reason = ?, updated_at = ? WHERE id = ?",
                (reason, at, entry_id))
            compartment_id: str = row["compartment_id"]
            parcel_id = _single(_json_ids(row["parcel_ids"]))
            _insert_audit(connection, "journal_abandoned", at, compartment_id, parcel_id,
                          {"journal_id": entry_id, "reason": reason, "phase": current.value,
                           "purpose": row["purpose"], "out_of_order": out_of_order})
            if out_of_order:
                self._set_out_of_order(connection, compartment_id, reason, at, journal_id=entry_id)
                self._insert_event(connection, EventKind.DOOR_FAULT, at, compartment_id, parcel_id,
                                   {"reason": reason, "journal_id": entry_id, "purpose": row["purpose"]})
            return _journal_entry(_journal_row(connection, entry_id))

    def journal_complete(self, entry_id: int, at: float) -> JournalEntry:
        """Door closed after an opening that changes no parcel (a support call): entry COMPLETED, audited
        ("door_closed"); no parcel, credential or compartment changes. The entry must be in UNLOCK_SENT or
        OPENED; a pickup, deposit, return or collection completes through its own method."""
        with self._write("complete a door opening") as connection:
            row = _journal_row(connection, entry_id)
            own_completion = _OWN_COMPLETION.get(row["purpose"])
            if own_completion is not None:
                raise StoreError(f"journal entry {entry_id} is a {row['purpose']}: complete it as "
                                 f"{own_completion}")
            _require_unlock_sent(row, "an opening")
            return _complete_entry(connection, row, at)

    def journal_cancel(self, entry_id: int, reason: str, at: float) -> JournalEntry:
        """Close an unfinished entry without touching parcels or compartments (audited); a deposit's pending
        Deposit goes with it."""
        reason = _required_text(reason, "cancel reason")
        with self._write("cancel a door journal entry") as connection:
            row = _journal_row(connection, entry_id)
            current = JournalPhase(row["phase"])
            if current not in UNFINISHED_PHASES:
                raise StoreError(f"journal entry {entry_id} is already {current.value}")
            connection.execute(
                "UPDATE door_journal SET phase = 'cancelled', reason = ?, updated_at = ? WHERE id = ?",
                (reason, at, entry_id))
            parcels = _json_ids(row["parcel_ids"])
            _insert_audit(connection, "journal_cancelled", at, row["compartment_id"], _single(parcels),
                          {"journal_id": entry_id, "reason": reason, "phase": current.value,
                           "purpose": row["purpose"]})
            return _journal_entry(_journal_row(connection, entry_id))

    def journal_entry(self, entry_id: int) -> JournalEntry:
        """One entry, whatever its phase (not part of the core Store protocol)."""
        with self._read("read a door journal entry") as connection:
            return _journal_entry(_journal_row(connection, entry_id))

    def unfinished_journal(self) -> Sequence[JournalEntry]:
        """Entries in INTENT, UNLOCK_SENT or OPENED, oldest first."""
        with self._read("list unfinished door transactions") as connection:
            rows = connection.execute(
                f"SELECT {_JOURNAL_COLUMNS} FROM door_journal WHERE phase IN {_UNFINISHED_SQL} "
                "ORDER BY created_at, id").fetchall()
        return [_journal_entry(row) for row in rows]

    # problems reported at the screen ------------------------------------------------------
    def report_problem(self, problem: ProblemKind, parcel_ids: Sequence[str], at: float) -> None:
        """A recipient reports a problem: per parcel an audit entry "problem_reported" and a problem_report
        event, both about the parcel's compartment; one of each about no parcel when none is named.

        Every parcel must be known; nothing is written unless everything is.
        """
        problem = _member(ProblemKind, problem, "problem kind")
        parcels = _id_list(parcel_ids, "parcel_ids", "parcel id")
        with self._write("record a problem report") as connection:
            about: list[tuple[str | None, str | None]] = [
                (_parcel_row(connection, parcel_id)["compartment_id"], parcel_id) for parcel_id in parcels]
            for compartment_id, parcel_id in about or [(None, None)]:
                _insert_audit(connection, "problem_reported", at, compartment_id, parcel_id,
                              {"problem": problem.value, "parcel_ids": list(parcels)})
                self._insert_event(connection, EventKind.PROBLEM_REPORT, at, compartment_id, parcel_id,
                                   {"problem": problem.value})

    # the outbox ---------------------------------------------------------------------------
    def outbox_batch(self, limit: int) -> Sequence[OutboxEvent]:
        """Up to `limit` pending (not parked) events, oldest (first written) first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise StoreError(f"outbox_batch limit must be a whole number >= 0, not {limit!r}")
        with self._read("read the outbox") as connection:
            rows = connection.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE parked_at IS NULL ORDER BY id LIMIT ?",
                (limit,)).fetchall()
        return [_outbox_event(row) for row in rows]

    def outbox_acknowledge(self, keys: Iterable[str], at: float | None = None) -> int:
        """The platform has these events: delete them. Keys match in any uuid spelling; unknown ones
        (acknowledged before, or never written) are ignored, so acknowledging twice is harmless.
        Returns how many were deleted.

        Bringing the depth down to half the alarm threshold clears a raised backlog alarm, at `at`
        (default: now). A parked event the platform acknowledges after all is deleted too.
        """
        wanted = _idempotency_keys(keys)
        with self._write("acknowledge outbox events") as connection:
            deleted = _sum_rowcount(connection.executemany(
                "DELETE FROM outbox WHERE idempotency_key = ?", [(key,) for key in wanted]))
            if deleted:
                self._maybe_clear_backlog_alarm(connection, time.time() if at is None else at)
            return deleted

    def outbox_record_failure(self, keys: Iterable[str], at: float, error: str) -> int:
        """A delivery of these events failed: attempts + 1, the error (one line, shortened) and the time
        kept. Unknown keys are ignored. Returns how many events were found."""
        wanted = _idempotency_keys(keys)
        message = _short_error(error)
        with self._write("record an outbox delivery failure") as connection:
            return _sum_rowcount(connection.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_attempt_at = ? "
                "WHERE idempotency_key = ?", [(message, at, key) for key in wanted]))

    def outbox_depth(self) -> int:
        """How many events wait for delivery (parked ones do not)."""
        with self._read("read the outbox depth") as connection:
            return _outbox_state(connection)[0]

    def outbox_oldest_at(self) -> float | None:
        """When the oldest waiting event (the first outbox_batch returns) happened; None when none waits."""
        with self._read("read the outbox") as connection:
            row = connection.execute(
                "SELECT occurred_at FROM outbox WHERE parked_at IS NULL ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row["occurred_at"])

    def outbox_park(self, key: str, reason: str, at: float) -> bool:
        """The platform refused this event for good: keep it, with the reason (one line, shortened), out of
        every later batch and out of the depth (which may clear the backlog alarm); audited as
        "outbox_event_parked". The key matches in any uuid spelling. False, with nothing written, when no
        pending event has that key (unknown, acknowledged, or parked already)."""
        [wanted] = _idempotency_keys([_required_text(key, "idempotency key")])
        if not isinstance(reason, str) or not reason.strip():
            raise StoreError(f"a park reason must be non-empty text, not {reason!r}")
        message = _short_error(reason)
        with self._write("park an outbox event") as connection:
            row = connection.execute(
                "SELECT kind, compartment_id, parcel_id FROM outbox "
                "WHERE idempotency_key = ? AND parked_at IS NULL", (wanted,)).fetchone()
            if row is None:
                return False
            connection.execute("UPDATE outbox SET parked_at = ?, park_reason = ? WHERE idempotency_key = ?",
                               (at, message, wanted))
            _insert_audit(connection, "outbox_event_parked", at, row["compartment_id"], row["parcel_id"],
                          {"kind": row["kind"], "idempotency_key": wanted, "reason": message})
            log.warning("outbox event %s (%s) parked: %s", wanted, row["kind"], message)
            self._maybe_clear_backlog_alarm(connection, at)
            return True

    def outbox_parked(self, limit: int | None = None) -> Sequence[OutboxEvent]:
        """Parked events, oldest (first written) first, each with its parked_reason."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise StoreError(f"outbox_parked limit must be a whole number >= 0, not {limit!r}")
        with self._read("read the parked outbox events") as connection:
            rows = connection.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT ?",
                (-1 if limit is None else limit,)).fetchall()
        return [_outbox_event(row) for row in rows]

    def outbox_parked_count(self) -> int:
        with self._read("count the parked outbox events") as connection:
            count: int = connection.execute(
                "SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL").fetchone()[0]
        return count

    @property
    def outbox_alarm_depth(self) -> int:
        return self._outbox_alarm_depth

    def outbox_backlog_alarm(self) -> bool:
        """Whether the backlog alarm is raised (not part of the core Store protocol)."""
        with self._read("read the outbox state") as connection:
            return _outbox_state(connection)[1]

    # what the platform announces ------------------------------------------------------------
    def apply_sync_page(self, page: SyncPage, at: float) -> SyncTally:
        """One page of the platform's change feed: upserts by id, then deletions, then the page's cursor,
        in one transaction; a page that holds anything invalid is refused whole (StoreError naming the
        record) and changes nothing.

        A reset page starts a new full-sync generation; every record a page upserts is stamped with the
        current generation, and the last page (has_more False) of a full sync forgets every synced record
        (expected parcel, platform credential, courier, return authorisation) of an older one. A parcel
        that has been deposited is never deleted or forgotten, and an upsert changes only its recipient
        name and accessibility; those are counted as kept_in_locker (and so are, when a full sync ends,
        deposited platform parcels that it did not mention). Deleting an unknown id does nothing. A
        credential may name parcels the locker does not know yet: it opens them once they are announced
        and deposited. An announced barcode belongs to one expected parcel: a page that gives it to
        another takes it from the first (audited). Pages that change something are audited.
        """
        rows = _checked_sync_page(page)
        at = _time(at, "the time a sync page is applied")
        counts = {field.name: 0 for field in fields(SyncTally)}
        with self._write("apply a sync page") as connection:
            state = _sync_state(connection)
            generation = int(state["generation"]) + (1 if rows.reset else 0)
            full_sync = rows.reset or bool(state["full_sync_in_progress"])
            _upsert_expected_parcels(connection, rows, generation, at, counts)
            _upsert_credentials(connection, rows.credentials.values(), None, generation, at)
            counts["pickup_credentials"] = len(rows.credentials)
            connection.executemany(_COURIER_UPSERT, [
                (courier.courier_id, courier.display_name, courier.password_hash,
                 None if courier.badge_secret_hash is None else bytes(courier.badge_secret_hash),
                 int(courier.can_collect), courier.valid_until, generation, at)
                for courier in rows.couriers.values()])
            counts["couriers"] = len(rows.couriers)
            connection.executemany(_RETURN_UPSERT, [
                (authorisation.return_id, authorisation.parcel_id, bytes(authorisation.code_hash),
                 authorisation.size.value, authorisation.expires_at, generation, at)
                for authorisation in rows.returns.values()])
            counts["return_authorisations"] = len(rows.returns)
            _apply_deletions(connection, rows.deletions, counts)
            completes_full_sync = full_sync and not rows.has_more
            if completes_full_sync:
                _forget_older_than(connection, generation, counts)
            connection.execute(
                "UPDATE sync_state SET cursor = ?, generation = ?, full_sync_in_progress = ?, "
                "last_page_at = ?, last_complete_at = CASE WHEN ? THEN ? ELSE last_complete_at END "
                "WHERE id = 1",
                (rows.next_cursor, generation, int(full_sync and rows.has_more), at, int(not rows.has_more),
                 at))
            tally = SyncTally(**counts)
            if any(counts.values()) or rows.reset or completes_full_sync:
                _insert_audit(connection, "sync_page_applied", at, None, None, {
                    **counts, "reset": rows.reset, "has_more": rows.has_more, "generation": generation,
                    "full_sync_completed": completes_full_sync, "cursor": rows.next_cursor})
            if completes_full_sync:
                log.info("full sync %d complete: %d records forgotten, %d deposited parcels kept",
                         generation, counts["forgotten"], counts["kept_in_locker"])
            return tally

    def sync_status(self) -> SyncStatus:
        with self._read("read the sync state") as connection:
            state = _sync_state(connection)
        return SyncStatus(state["cursor"], bool(state["full_sync_in_progress"]), state["last_page_at"],
                          state["last_complete_at"])

    def add_pickup_credential(self, credential: PickupCredential, at: float) -> Sequence[Parcel]:
        """A credential the platform confirmed online: kept (as if synced, in the current generation) for
        those of its parcels that are IN_LOCKER, which are returned oldest first; nothing is kept when none
        is, or when it expired by `at`. Audited as "credential_verified_online" (the parcel ids) or
        "credential_verified_online_useless" (with the reason: not_in_locker or expired)."""
        with _about("online credential"):
            credential = _checked_credential(credential)
        at = _time(at, "the time a credential is verified")
        named = list(credential.parcel_ids)
        with self._write("keep a credential verified online") as connection:
            rows: list[sqlite3.Row] = []
            expired = credential.expires_at is not None and credential.expires_at <= at
            if not expired:
                rows = connection.execute(
                    f"SELECT {_PARCEL_COLUMNS} FROM parcels WHERE state = 'in_locker' "
                    "AND id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id",
                    (json.dumps(named),)).fetchall()
            if not rows:
                _insert_audit(connection, "credential_verified_online_useless", at, None, _single(named), {
                    "credential_id": credential.credential_id, "parcel_ids": named,
                    "reason": "expired" if expired else "not_in_locker"})
                return []
            parcels = [_parcel(row) for row in rows]
            in_locker = [parcel.id for parcel in parcels]
            generation = int(_sync_state(connection)["generation"])
            _upsert_credentials(connection, [credential], in_locker, generation, at)
            _insert_audit(connection, "credential_verified_online", at, None, _single(in_locker),
                          {"credential_id": credential.credential_id, "parcel_ids": in_locker})
            return parcels

    def expected_parcel_by_barcode(self, barcode: str) -> Parcel | None:
        """The announced, not yet deposited parcel with exactly this label barcode; None for blank text."""
        if not isinstance(barcode, str):
            raise StoreError(f"a barcode must be text, not {type(barcode).__name__}")
        if not barcode.strip():
            return None
        with self._read("look up a parcel barcode") as connection:
            row = connection.execute(
                f"SELECT {_PARCEL_COLUMNS} FROM parcels WHERE state = 'expected' AND barcode = ?",
                (barcode,)).fetchone()
        return None if row is None else _parcel(row)

    def parcel_by_barcode(self, barcode: str) -> Parcel | None:
        """The newest parcel with exactly this label barcode that has been in the locker (any state but
        expected: in the locker, picked up, expired, collected); None when there is none, and for blank text.
        Newest by when it went in, so a label announced and delivered again finds its latest delivery."""
        if not isinstance(barcode, str):
            raise StoreError(f"a barcode must be text, not {type(barcode).__name__}")
        if not barcode.strip():
            return None
        with self._read("look up a delivered parcel's barcode") as connection:
            row = connection.execute(
                f"SELECT {_PARCEL_COLUMNS} FROM parcels WHERE state <> 'expected' AND barcode = ? "
                "ORDER BY COALESCE(deposited_at, created_at) DESC, rowid DESC LIMIT 1", (barcode,)).fetchone()
        return None if row is None else _parcel(row)

    def courier(self, courier_id: str) -> CourierCredential | None:
        """The synced courier with this id, valid or not (the caller checks valid_until). Ids are compared
        without regard to (ASCII) case: badges upper-case them and people type them in any case. None for
        blank text, and when several couriers' ids differ only in case (logged: the platform must fix it,
        for which of them typed it cannot be told)."""
        if not isinstance(courier_id, str):
            raise StoreError(f"a courier id must be text, not {type(courier_id).__name__}")
        if not courier_id.strip():
            return None
        with self._read("look up a courier") as connection:
            rows = connection.execute(
                f"SELECT {_COURIER_COLUMNS} FROM couriers WHERE courier_id = ? COLLATE NOCASE",
                (courier_id,)).fetchall()
        if len(rows) > 1:
            log.error("couriers %s differ only in case: none of them can log in by id until the platform "
                      "fixes it", ", ".join(sorted(row["courier_id"] for row in rows)))
            return None
        return _courier(rows[0]) if rows else None

    def courier_by_badge_hash(self, badge_secret_hash: bytes) -> CourierCredential | None:
        """The courier whose badge this is, valid or not (the caller checks valid_until). Every badge of the
        locker is compared, in constant time each, so the time taken says nothing about which one matched.
        None also when two couriers share the badge (logged: the platform must fix it)."""
        _check_code_hash(badge_secret_hash)
        wanted = bytes(badge_secret_hash)
        with self._read("look up a courier badge") as connection:
            rows = connection.execute(
                f"SELECT {_COURIER_COLUMNS} FROM couriers WHERE badge_secret_hash IS NOT NULL").fetchall()
        matches = [row for row in rows if hmac.compare_digest(bytes(row["badge_secret_hash"]), wanted)]
        if len(matches) > 1:
            log.error("couriers %s share one badge: none of them can log in by badge until the platform "
                      "fixes it", ", ".join(sorted(row["courier_id"] for row in matches)))
            return None
        return _courier(matches[0]) if matches else None

    def return_by_code_hash(self, code_hash: bytes) -> ReturnAuthorisation | None:
        """An unexpired (by the store's `now`), not yet used return authorisation with this code, compared
        in constant time. One whose parcel id the locker already holds (or held) counts as used."""
        _check_code_hash(code_hash)
        wanted = bytes(code_hash)
        with self._read("look up a return code") as connection:
            rows = connection.execute(
                f"SELECT {_prefixed('r', _RETURN_COLUMNS)} FROM return_authorisations AS r "
                "WHERE r.code_hash = ? AND r.used_at IS NULL AND (r.expires_at IS NULL OR r.expires_at > ?) "
                "AND NOT EXISTS (SELECT 1 FROM parcels AS p "
                "                WHERE p.id = r.parcel_id AND p.state <> 'expected') "
                "ORDER BY r.return_id", (wanted, self._now())).fetchall()
        for row in rows:
            if hmac.compare_digest(bytes(row["code_hash"]), wanted):
                return _return_authorisation(row)
        return None

    def add_return_authorisation(self, authorisation: ReturnAuthorisation, at: float) -> None:
        """A return authorisation the platform confirmed online: kept as if synced (in the current full-sync
        generation, synced at `at`; a use already recorded stays), audited "return_confirmed_online"."""
        if not isinstance(authorisation, ReturnAuthorisation):
            raise StoreError("an online return authorisation must be a ReturnAuthorisation, not "
                             f"{type(authorisation).__name__}")
        with _about(f"online return authorisation {authorisation.return_id!r}"):
            authorisation = _checked_return(authorisation)
        at = _time(at, "the time a return is confirmed")
        with self._write("keep a return authorisation confirmed online") as connection:
            generation = int(_sync_state(connection)["generation"])
            connection.execute(_RETURN_UPSERT, (
                authorisation.return_id, authorisation.parcel_id, bytes(authorisation.code_hash),
                authorisation.size.value, authorisation.expires_at, generation, at))
            _insert_audit(connection, "return_confirmed_online", at, None, authorisation.parcel_id,
                          {"return_id": authorisation.return_id, "size": authorisation.size.value})

    def has_platform_credential(self, parcel_id: str) -> bool:
        """The platform issued a pickup credential for this parcel that is neither spent nor expired (by the
        store's `now`): its recipient has a code."""
        parcel_id = _required_text(parcel_id, "parcel id")
        with self._read("look up a parcel's platform credential") as connection:
            return _has_platform_credential(connection, parcel_id, self._now())

    # collection ------------------------------------------------------------------------------
    def expire_overdue(self, at: float, default_window_hours: int) -> Sequence[Parcel]:
        """IN_LOCKER parcels whose pickup window has ended by `at` become EXPIRED (expired_at `at`), each
        audited "parcel_expired"; returns them, in compartment layout order, in one transaction.

        A window starts at deposited_at (created_at for a parcel without one), lasts its
        pickup_window_hours (or `default_window_hours`) and never runs past pickup_not_after; it has ended
        when its end <= `at`."""
        at = _time(at, "the time parcels expire at")
        if isinstance(default_window_hours, bool) or not isinstance(default_window_hours, int) \
                or default_window_hours < 1:
            raise StoreError("the default pickup window must be a whole number of hours >= 1, not "
                             f"{default_window_hours!r}")
        with self._write("expire overdue parcels") as connection:
            rows = connection.execute(
                f"SELECT {_prefixed('p', _PARCEL_COLUMNS)} FROM parcels AS p "
                "LEFT JOIN compartments AS c ON c.id = p.compartment_id "
                "WHERE p.state = 'in_locker' ORDER BY c.position, p.id").fetchall()
            expired: list[str] = []
            for row in rows:
                parcel = _parcel(row)
                started_at = parcel.created_at if parcel.deposited_at is None else parcel.deposited_at
                hours = parcel.pickup_window_hours or default_window_hours
                ends_at = started_at + 3600.0 * hours
                if parcel.pickup_not_after is not None:
                    ends_at = min(ends_at, parcel.pickup_not_after)
                if ends_at > at:
                    continue
                connection.execute(
                    "UPDATE parcels SET state = 'expired', expired_at = ? WHERE id = ?", (at, parcel.id))
                _insert_audit(connection, "parcel_expired", at, parcel.compartment_id, parcel.id,
                              {"window_started_at": started_at, "window_hours": hours,
                               "not_after": parcel.pickup_not_after, "window_ended_at": ends_at})
                expired.append(parcel.id)
            return [_parcel(_parcel_row(connection, parcel_id)) for parcel_id in expired]

    def collectable_parcels(self) -> Sequence[Parcel]:
        """EXPIRED and RETURNED parcels (waiting for a courier), in compartment layout order."""
        with self._read("list parcels to collect") as connection:
            rows = connection.execute(
                f"SELECT {_prefixed('p', _PARCEL_COLUMNS)} FROM parcels AS p "
                "JOIN compartments AS c ON c.id = p.compartment_id "
                "WHERE p.state IN ('expired', 'returned') ORDER BY c.position, p.id").fetchall()
        return [_parcel(row) for row in rows]

    # face pickup (opt-in): sealed encodings only, never a picture ---------------------------------
    def parcels_for_recipient(self, recipient_ref: str) -> Sequence[Parcel]:
        """The recipient's parcels in the locker now (IN_LOCKER, in a compartment), oldest first."""
        recipient_ref = _checked_recipient_ref(recipient_ref)
        with self._read("list a recipient's parcels") as connection:
            rows = connection.execute(
                f"SELECT {_PARCEL_COLUMNS} FROM parcels WHERE recipient_ref = ? AND state = 'in_locker' "
                "AND compartment_id IS NOT NULL ORDER BY created_at, id", (recipient_ref,)).fetchall()
        return [_parcel(row) for row in rows]

    def face_gallery(self) -> Mapping[str, bytes]:
        """recipient_ref -> sealed encodings, for the enrolled recipients with a parcel IN_LOCKER now (the
        smaller the gallery, the fewer false accepts); in recipient_ref order."""
        with self._read("read the face gallery") as connection:
            rows = connection.execute(
                "SELECT f.recipient_ref, f.sealed_encodings FROM face_profiles AS f "
                "WHERE EXISTS (SELECT 1 FROM parcels AS p WHERE p.recipient_ref = f.recipient_ref "
                "              AND p.state = 'in_locker' AND p.compartment_id IS NOT NULL) "
                "ORDER BY f.recipient_ref").fetchall()
        return {row["recipient_ref"]: bytes(row["sealed_encodings"]) for row in rows}

    def has_face(self, recipient_ref: str) -> bool:
        recipient_ref = _checked_recipient_ref(recipient_ref)
        with self._read("look up a face enrolment") as connection:
            return connection.execute("SELECT 1 FROM face_profiles WHERE recipient_ref = ?",
                                      (recipient_ref,)).fetchone() is not None

    def save_face(self, recipient_ref: str, sealed_encodings: bytes, at: float) -> None:
        """The recipient consented and was enrolled: `sealed_encodings` (kiosk.face_vault.FaceVault.seal's
        token, never encodings in clear) kept, replacing an earlier enrolment; enrolled and last used `at`.
        Audited "face_enrolled" with the recipient_ref and whether it replaced one, no biometric data."""
        recipient_ref = _checked_recipient_ref(recipient_ref)
        sealed = _checked_sealed(sealed_encodings)
        at = _time(at, "the time of an enrolment")
        with self._write("save a face enrolment") as connection:
            replaced = connection.execute("SELECT 1 FROM face_profiles WHERE recipient_ref = ?",
                                          (recipient_ref,)).fetchone() is not None
            connection.execute(
                "INSERT INTO face_profiles (recipient_ref, sealed_encodings, enrolled_at, last_used_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (recipient_ref) DO UPDATE SET "
                "sealed_encodings = excluded.sealed_encodings, enrolled_at = excluded.enrolled_at, "
                "last_used_at = excluded.last_used_at", (recipient_ref, sealed, at, at))
            _insert_audit(connection, "face_enrolled", at, None, None,
                          {"recipient_ref": recipient_ref, "replaced": replaced})

    def face_used(self, recipient_ref: str, at: float) -> None:
        """The face just opened a door: its unused-days clock starts again at `at` (never earlier than it
        stood). Nothing happens when the enrolment is gone (forgotten while the door was opening)."""
        recipient_ref = _checked_recipient_ref(recipient_ref)
        at = _time(at, "the time a face was used")
        with self._write("note a face's use") as connection:
            updated = _sum_rowcount(connection.execute(
                "UPDATE face_profiles SET last_used_at = max(last_used_at, ?) WHERE recipient_ref = ?",
                (at, recipient_ref)))
        if not updated:
            log.info("face of %s used, but its enrolment is gone meanwhile", recipient_ref)

    def forget_face(self, recipient_ref: str, at: float, reason: str) -> bool:
        """Delete the recipient's enrolment (consent withdrawn); audited "face_forgotten" with `reason`.
        False, with nothing written, when there was none."""
        recipient_ref = _checked_recipient_ref(recipient_ref)
        at = _time(at, "the time a face is forgotten")
        reason = _required_text(reason, "the reason a face is forgotten")
        with self._write("forget a face") as connection:
            return _delete_face(connection, recipient_ref, at, {"reason": reason}, None)

    def forget_faces_of_parcels(self, parcel_ids: Iterable[str], at: float, reason: str) -> int:
        """Delete the enrolments of the recipients of these parcels, whatever the parcels' state (the
        platform's forget_face command); unknown parcel ids and parcels without a recipient_ref are ignored.
        Each deletion is audited "face_forgotten" (with `reason` and the parcel that named it); how many."""
        parcels = _id_list(parcel_ids, "parcel_ids", "parcel id")
        at = _time(at, "the time faces are forgotten")
        reason = _required_text(reason, "the reason faces are forgotten")
        with self._write("forget the faces of parcels' recipients") as connection:
            named: dict[str, str] = {}
            for row in connection.execute(
                    "SELECT id, recipient_ref FROM parcels WHERE recipient_ref IS NOT NULL "
                    "AND id IN (SELECT value FROM json_each(?)) ORDER BY id", (json.dumps(list(parcels)),)):
                named.setdefault(row["recipient_ref"], row["id"])
            return sum(_delete_face(connection, ref, at, {"reason": reason}, parcel_id)
                       for ref, parcel_id in named.items())

    def forget_unused_faces(self, unused_since: float, at: float) -> int:
        """Delete every enrolment neither made nor used since `unused_since` (its later of enrolled_at and
        last_used_at is before it), each audited "face_forgotten" with reason "unused"; how many."""
        unused_since = _time(unused_since, "the time faces count as unused since")
        at = _time(at, "the time unused faces are forgotten")
        with self._write("forget unused faces") as connection:
            rows = connection.execute(
                "SELECT recipient_ref, max(enrolled_at, last_used_at) AS used_at FROM face_profiles "
                "WHERE max(enrolled_at, last_used_at) < ? ORDER BY recipient_ref", (unused_since,)).fetchall()
            return sum(_delete_face(connection, row["recipient_ref"], at,
                                    {"reason": "unused", "last_used_at": row["used_at"]}, None)
                       for row in rows)

    # audit and settings -------------------------------------------------------------------
    def audit(self, kind: str, at: float, compartment_id: str | None = None,
              parcel_id: str | None = None, **details: object) -> None:
        """Append one entry; details are stored as JSON (enums as their value, the rest as text)."""
        kind = _required_text(kind, "audit kind")
        with self._write("write an audit entry") as connection:
            _insert_audit(connection, kind, at, compartment_id, parcel_id, details)

    def audit_log(self, limit: int | None = None) -> Sequence[AuditEntry]:
        """The newest entries first."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise StoreError(f"audit_log limit must be a whole number >= 0, not {limit!r}")
        with self._read("read the audit log") as connection:
            rows = connection.execute(
                "SELECT id, at, kind, compartment_id, parcel_id, details FROM audit ORDER BY id DESC LIMIT ?",
                (-1 if limit is None else limit,)).fetchall()
        return [AuditEntry(row["id"], row["at"], row["kind"], row["compartment_id"], row["parcel_id"],
                           json.loads(row["details"])) for row in rows]

    def get_state(self, key: str) -> str | None:
        """Small persistent values (keypad lockout counters) that must survive a restart."""
        with self._read("read a state value") as connection:
            row = connection.execute("SELECT value FROM kv_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_state(self, key: str, value: str) -> None:
        key = _required_text(key, "state key")
        if not isinstance(value, str):
            raise StoreError(f"state value for {key!r} must be text, not {type(value).__name__}")
        with self._write("write a state value") as connection:
            connection.execute(
                "INSERT INTO kv_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # internals ----------------------------------------------------------------------------
    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock up front, so no read inside
        can be invalidated by another writer before the commit."""
        with self._transaction(action, "BEGIN IMMEDIATE") as connection:
            yield connection

    @contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        """One read transaction: several SELECTs see one snapshot."""
        with self._transaction(action, "BEGIN") as connection:
            yield connection

    @contextmanager
    def _transaction(self, action: str, begin: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._connection
            if connection is None:
                raise StoreError(f"cannot {action}: the store is closed")
            try:
                connection.execute(begin)
            except sqlite3.Error as error:
                raise StoreError(f"cannot {action}: {error}") from error
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException as error:
                _rollback(connection)
                if isinstance(error, sqlite3.Error):
                    raise StoreError(f"cannot {action}: {error}") from error
                raise

    def _insert_event(self, connection: sqlite3.Connection, kind: EventKind, at: float,
                      compartment_id: str | None, parcel_id: str | None, details: dict[str, object]) -> None:
        """One outbox event, inside the caller's transaction; raises the backlog alarm when it fills up."""
        _insert_outbox_row(connection, kind, at, compartment_id, parcel_id, details)
        depth, alarm_raised = _outbox_state(connection)
        if not alarm_raised and depth >= self._outbox_alarm_depth:
            self._set_backlog_alarm(connection, True, at, depth)

    def _maybe_clear_backlog_alarm(self, connection: sqlite3.Connection, at: float) -> None:
        depth, alarm_raised = _outbox_state(connection)
        if alarm_raised and depth <= self._outbox_alarm_depth // 2:
            self._set_backlog_alarm(connection, False, at, depth)

    def _set_backlog_alarm(self, connection: sqlite3.Connection, raised: bool, at: float, depth: int) -> None:
        details: dict[str, object] = {"alarm": BACKLOG_ALARM, "state": "raised" if raised else "cleared",
                                      "depth": depth, "threshold": self._outbox_alarm_depth}
        connection.execute("UPDATE outbox_state SET backlog_alarm = ? WHERE id = 1", (int(raised),))
        _insert_audit(connection, "outbox_backlog_alarm", at, None, None, details)
        _insert_outbox_row(connection, EventKind.ALARM, at, None, None, details)
        if raised:
            log.warning("%d events wait for the platform (alarm at %d)", depth, self._outbox_alarm_depth)
        else:
            log.info("the outbox backlog is down to %d events; alarm cleared", depth)

    def _require_usable_return(self, connection: sqlite3.Connection, deposit: Deposit) -> None:
        """The return authorisation of a RETURN deposit exists, is unused, unexpired by the store's `now` and
        is for this parcel id. (A second door for it carries the same parcel id, which is refused first.)"""
        return_id = deposit.return_id
        row = connection.execute(
            "SELECT parcel_id, expires_at, used_at FROM return_authorisations WHERE return_id = ?",
            (return_id,)).fetchone()
        if row is None:
            raise StoreError(f"no return authorisation {return_id!r}")
        if row["used_at"] is not None:
            raise StoreError(f"return authorisation {return_id} is already used")
        if row["expires_at"] is not None and row["expires_at"] <= self._now():
            raise StoreError(f"return authorisation {return_id} has expired")
        if row["parcel_id"] != deposit.parcel_id:
            raise StoreError(f"return authorisation {return_id} is for parcel {row['parcel_id']}, not "
                             f"{deposit.parcel_id}")

    def _commit_delivery(self, connection: sqlite3.Connection, entry_id: int, compartment_id: str,
                         deposit: Deposit, at: float, confirmed_by_ir: bool) -> None:
        parcel_id = deposit.parcel_id
        existing = connection.execute("SELECT state FROM parcels WHERE id = ?", (parcel_id,)).fetchone()
        if existing is None:
            connection.execute(
                "INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, barcode, "
                "origin, deposited_at) VALUES (?, ?, 'in_locker', ?, ?, ?, ?, 'local', ?)",
                (parcel_id, deposit.size.value, compartment_id, deposit.recipient, at, deposit.barcode, at))
        elif existing["state"] == ParcelState.EXPECTED.value:
            connection.execute(
                "UPDATE parcels SET state = 'in_locker', compartment_id = ?, deposited_at = ? WHERE id = ?",
                (compartment_id, at, parcel_id))
        else:
            raise StoreError(f"parcel {parcel_id} is already known ({existing['state']})")
        if deposit.code_hash is not None:
            connection.execute("DELETE FROM pickup_credentials WHERE parcel_id = ? AND origin = 'local'",
                               (parcel_id,))
            connection.execute(
                "INSERT INTO pickup_credentials (parcel_id, code_hash, created_at, origin) "
                "VALUES (?, ?, ?, 'local')", (parcel_id, deposit.code_hash, at))
        parcel = _parcel(_parcel_row(connection, parcel_id))
        announced = existing is not None
        _insert_audit(connection, "parcel_deposited", at, compartment_id, parcel_id, {
            "journal_id": entry_id, "size": deposit.size.value, "courier_id": deposit.courier_id,
            "confirmed_by_ir": confirmed_by_ir, "unannounced": deposit.unannounced, "announced": announced})
        deposited: dict[str, object] = {
            "size": deposit.size.value, "recipient": parcel.recipient, "announced": announced,
            "courier_id": deposit.courier_id, "barcode": deposit.barcode or parcel.barcode,
            "unannounced": deposit.unannounced, "journal_id": entry_id}
        if deposit.pickup_code is not None:
            deposited["pickup_code"] = deposit.pickup_code
        self._insert_event(connection, EventKind.DEPOSITED, at, compartment_id, parcel_id, deposited)

    def _commit_return(self, connection: sqlite3.Connection, entry_id: int, compartment_id: str,
                       deposit: Deposit, at: float, confirmed_by_ir: bool) -> None:
        parcel_id = deposit.parcel_id
        existing = connection.execute("SELECT state FROM parcels WHERE id = ?", (parcel_id,)).fetchone()
        if existing is not None:
            raise StoreError(f"parcel {parcel_id} is already known ({existing['state']})")
        connection.execute(
            "INSERT INTO parcels (id, size, state, compartment_id, recipient, created_at, barcode, origin, "
            "deposited_at) VALUES (?, ?, 'returned', ?, ?, ?, ?, 'local', ?)",
            (parcel_id, deposit.size.value, compartment_id, deposit.recipient, at, deposit.barcode, at))
        # A sync may have deleted the authorisation while the door was open: the parcel is inside regardless.
        used = _sum_rowcount(connection.execute(
            "UPDATE return_authorisations SET used_at = ? WHERE return_id = ? AND used_at IS NULL",
            (at, deposit.return_id)))
        _insert_audit(connection, "parcel_returned", at, compartment_id, parcel_id, {
            "journal_id": entry_id, "return_id": deposit.return_id, "size": deposit.size.value,
            "confirmed_by_ir": confirmed_by_ir, "authorisation_found": bool(used)})
        self._insert_event(connection, EventKind.RETURNED, at, compartment_id, parcel_id, {
            "return_id": deposit.return_id, "receipt_code": deposit.receipt_code, "size": deposit.size.value,
            "journal_id": entry_id})

    def _set_out_of_order(self, connection: sqlite3.Connection, compartment_id: str, reason: str,
                          at: float, journal_id: int | None) -> None:
        connection.execute(
            "UPDATE compartments SET state = 'out_of_order', out_of_order_reason = ? WHERE id = ?",
            (reason, compartment_id))
        details: dict[str, object] = {"reason": reason}
        if journal_id is not None:
            details["journal_id"] = journal_id
        holder = _parcel_in(connection, compartment_id)
        if holder is not None:
            details["parcel_inside"] = holder
        _insert_audit(connection, "compartment_out_of_order", at, compartment_id, None, details)

    def _sync_layout(self, layout: Sequence[Compartment]) -> None:
        """Make the compartments table match the configured layout, in one transaction."""
        with self._write("sync the compartment layout") as connection:
            known = {row["id"]: row for row in connection.execute(
                f"SELECT {_COMPARTMENT_COLUMNS}, position FROM compartments").fetchall()}
            wanted = {compartment.id for compartment in layout}
            removed = sorted(set(known) - wanted)
            for compartment_id in removed:
                holder = _parcel_in(connection, compartment_id)
                if holder is not None:
                    raise StoreError(
                        f"compartment {compartment_id} holds parcel {holder} but is missing from the "
                        "configured layout: put it back into the configuration, or remove the parcel first")
                busy = connection.execute(
                    f"SELECT id FROM door_journal WHERE compartment_id = ? AND phase IN {_UNFINISHED_SQL}",
                    (compartment_id,)).fetchone()
                if busy is not None:
                    raise StoreError(
                        f"compartment {compartment_id} has an unfinished door transaction (journal entry "
                        f"{busy['id']}) but is missing from the configured layout: put it back into the "
                        "configuration until the kiosk has reconciled it")
                connection.execute("DELETE FROM compartments WHERE id = ?", (compartment_id,))
            added: list[str] = []
            changed: list[str] = []
            for position, compartment in enumerate(layout):
                values = (compartment.size.value, compartment.board, compartment.lock,
                          compartment.height_cm, compartment.column)
                row = known.get(compartment.id)
                if row is None:
                    connection.execute(
                        'INSERT INTO compartments (id, position, size, board, lock, height_cm, "column") '
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", (compartment.id, position, *values))
                    added.append(compartment.id)
                    continue
                if (row["size"], row["board"], row["lock"], row["height_cm"], row["column"]) != values:
                    changed.append(compartment.id)
                if row["position"] != position or compartment.id in changed:
                    connection.execute(
                        'UPDATE compartments SET position = ?, size = ?, board = ?, lock = ?, height_cm = ?, '
                        '"column" = ? WHERE id = ?', (position, *values, compartment.id))
            if added or removed or changed:
                _insert_audit(connection, "layout_changed", time.time(), None, None,
                              {"added": added, "removed": removed, "changed": changed})


# row helpers --------------------------------------------------------------------------------
def _rollback(connection: sqlite3.Connection) -> None:
    try:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # SQLite rolls back itself when it cannot (I/O error, closed connection)


def _check_layout(layout: Sequence[Compartment]) -> None:
    seen_ids: set[str] = set()
    seen_locks: dict[tuple[int, int], str] = {}
    for compartment in layout:
        if not isinstance(compartment, Compartment):
            raise StoreError(f"layout entries must be Compartment, not {type(compartment).__name__}")
        if compartment.id in seen_ids:
            raise StoreError(f"layout: compartment id {compartment.id} appears twice")
        seen_ids.add(compartment.id)
        other = seen_locks.setdefault((compartment.board, compartment.lock), compartment.id)
        if other != compartment.id:
            raise StoreError(f"layout: compartments {other} and {compartment.id} are both on board "
                             f"{compartment.board} lock {compartment.lock}")


def _member(kind: type[_E], value: object, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise StoreError(f"{value!r} is not a {what} ({allowed})") from None


def _required_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be non-empty text, not {value!r}")
    return value


def _check_code_hash(code_hash: object) -> None:
    if not isinstance(code_hash, bytes | bytearray | memoryview) or len(code_hash) == 0:
        raise StoreError("a code hash must be non-empty bytes")


def _compartment_row(connection: sqlite3.Connection, compartment_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = connection.execute(
        f"SELECT {_COMPARTMENT_COLUMNS} FROM compartments WHERE id = ?", (compartment_id,)).fetchone()
    if row is None:
        raise StoreError(f"no compartment {compartment_id!r}")
    return row


def _parcel_row(connection: sqlite3.Connection, parcel_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = connection.execute(
        f"SELECT {_PARCEL_COLUMNS} FROM parcels WHERE id = ?", (parcel_id,)).fetchone()
    if row is None:
        raise StoreError(f"no parcel {parcel_id!r}")
    return row


def _journal_row(connection: sqlite3.Connection, entry_id: int) -> sqlite3.Row:
    row: sqlite3.Row | None = connection.execute(
        f"SELECT {_JOURNAL_COLUMNS}, unlock_attempts FROM door_journal WHERE id = ?", (entry_id,)).fetchone()
    if row is None:
        raise StoreError(f"no door journal entry {entry_id!r}")
    return row


def _parcel_in(connection: sqlite3.Connection, compartment_id: str) -> str | None:
    """The parcel physically in the compartment (in the locker, expired or a deposited return)."""
    row = connection.execute(
        f"SELECT id FROM parcels WHERE compartment_id = ? AND state IN {_PRESENT_SQL}",
        (compartment_id,)).fetchone()
    return None if row is None else str(row["id"])


def _require_in_compartment(connection: sqlite3.Connection, parcel_id: str, compartment_id: str) -> None:
    parcel = _parcel(_parcel_row(connection, parcel_id))
    if parcel.state is not ParcelState.IN_LOCKER or parcel.compartment_id != compartment_id:
        where = f"in compartment {parcel.compartment_id}" if parcel.compartment_id else "in no compartment"
        raise StoreError(f"parcel {parcel_id} is not in the locker in compartment {compartment_id} "
                         f"(it is {parcel.state.value}, {where})")


def _require_collectable(connection: sqlite3.Connection, parcel_id: str, compartment_id: str) -> ParcelState:
    """The parcel waits for a courier (EXPIRED or RETURNED) in this compartment; its state."""
    parcel = _parcel(_parcel_row(connection, parcel_id))
    waiting = parcel.state in (ParcelState.EXPIRED, ParcelState.RETURNED)
    if not waiting or parcel.compartment_id != compartment_id:
        where = f"in compartment {parcel.compartment_id}" if parcel.compartment_id else "in no compartment"
        raise StoreError(f"parcel {parcel_id} does not wait for collection in compartment {compartment_id} "
                         f"(it is {parcel.state.value}, {where})")
    return parcel.state


def _require_no_unfinished_entry(connection: sqlite3.Connection, compartment_id: str) -> None:
    busy = connection.execute(
        f"SELECT id, phase FROM door_journal WHERE compartment_id = ? AND phase IN {_UNFINISHED_SQL}",
        (compartment_id,)).fetchone()
    if busy is not None:
        raise StoreError(f"compartment {compartment_id} already has an unfinished door transaction "
                         f"(journal entry {busy['id']}, {busy['phase']})")


def _parcel_leaves(connection: sqlite3.Connection, parcel_id: str, state: str, at: float) -> None:
    """A parcel taken out of the locker (`state` picked_up or collected, dated `at`): its codes are spent."""
    connection.execute(f"UPDATE parcels SET state = ?, {state}_at = ? WHERE id = ?", (state, at, parcel_id))
    connection.execute("UPDATE pickup_credentials SET spent_at = ? WHERE parcel_id = ? AND spent_at IS NULL",
                       (at, parcel_id))


def _complete_entry(connection: sqlite3.Connection, row: sqlite3.Row, at: float) -> JournalEntry:
    """The door of this entry closed and what it was for is written: the entry COMPLETED, audited."""
    connection.execute("UPDATE door_journal SET phase = 'completed', updated_at = ? WHERE id = ?",
                       (at, row["id"]))
    _insert_audit(connection, "door_closed", at, row["compartment_id"], _single(_json_ids(row["parcel_ids"])),
                  {"journal_id": row["id"], "purpose": row["purpose"]})
    return _journal_entry(_journal_row(connection, row["id"]))


def _require_unlock_sent(row: sqlite3.Row, what: str) -> None:
    current = JournalPhase(row["phase"])
    if current not in (JournalPhase.UNLOCK_SENT, JournalPhase.OPENED):
        raise StoreError(f"journal entry {row['id']} is {current.value}: only an entry whose unlock was sent "
                         f"can complete {what}")


def _has_platform_credential(connection: sqlite3.Connection, parcel_id: str, now: float) -> bool:
    row = connection.execute(
        "SELECT 1 FROM pickup_credentials WHERE parcel_id = ? AND origin = 'platform' AND spent_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > ?) LIMIT 1", (parcel_id, now)).fetchone()
    return row is not None


def _checked_recipient_ref(value: object) -> str:
    if not isinstance(value, str) or not _RECIPIENT_REF.fullmatch(value):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise StoreError(f"a recipient ref must be 1 to {RECIPIENT_REF_MAX_CHARS} visible ASCII characters "
                         f"(no spaces), not {shown}")
    return value


def _optional_recipient_ref(value: object) -> str | None:
    return None if value is None else _checked_recipient_ref(value)


def _resident_ref(notice: object) -> str | None:
    """The recipient_ref of a standalone resident's parcel; None when there is no (well-formed) notice, whose
    own check then says what is wrong with it."""
    if not isinstance(notice, PickupNotice):
        return None
    resident_id = notice.resident_id
    if isinstance(resident_id, bool) or not isinstance(resident_id, int):
        return None
    return f"resident:{resident_id}"


def _checked_sealed(value: object) -> bytes:
    """Sealed encodings as given, when they look like a Fernet token (urlsafe base64 of a version-0x80
    token): encodings in clear, or anything else, never reach the database."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise StoreError(f"sealed face encodings must be bytes, not {type(value).__name__}")
    sealed = bytes(value)
    if not sealed:
        raise StoreError("sealed face encodings must not be empty")
    if len(sealed) > FACE_SEALED_MAX_BYTES:
        raise StoreError(f"sealed face encodings are {len(sealed)} bytes; at most {FACE_SEALED_MAX_BYTES} "
                         "are kept")
    try:
        first = base64.urlsafe_b64decode(sealed[:4]) if _URLSAFE_BASE64.fullmatch(sealed) else b""
    except (binascii.Error, ValueError):
        first = b""
    if not first or first[0] != _FERNET_VERSION:
        raise StoreError("face encodings must be sealed (kiosk.face_vault.FaceVault.seal) before they are "
                         "stored")
    return sealed


def _delete_face(connection: sqlite3.Connection, recipient_ref: str, at: float, details: dict[str, object],
                 parcel_id: str | None) -> bool:
    """Delete one enrolment in the caller's transaction, audited "face_forgotten"; whether there was one."""
    deleted = _sum_rowcount(connection.execute("DELETE FROM face_profiles WHERE recipient_ref = ?",
                                               (recipient_ref,)))
    if deleted:
        _insert_audit(connection, "face_forgotten", at, None, parcel_id,
                      {"recipient_ref": recipient_ref, **details})
    return bool(deleted)


def _entry_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StoreError(f"a door journal entry id must be a whole number, not {value!r}")
    return value


def _optional_text(value: object, what: str) -> str | None:
    return None if value is None else _required_text(value, what)


def _checked_deposit(purpose: DoorPurpose, deposit: object) -> Deposit:
    """A Deposit whose every field was checked for `purpose` (DEPOSIT or RETURN). The messages never quote a
    pickup code."""
    if not isinstance(deposit, Deposit):
        raise StoreError(f"a deposit must be a Deposit, not {type(deposit).__name__}")
    parcel_id = _required_text(deposit.parcel_id, "the deposit's parcel id")
    size = _member(Size, deposit.size, "size")
    if not isinstance(deposit.recipient, str):
        raise StoreError(f"parcel {parcel_id}: the recipient must be text, not "
                         f"{type(deposit.recipient).__name__}")
    code_hash = deposit.code_hash
    if code_hash is not None:
        if not isinstance(code_hash, bytes | bytearray | memoryview) or len(code_hash) != CODE_HASH_BYTES:
            raise StoreError(f"parcel {parcel_id}: a code hash must be {CODE_HASH_BYTES} bytes")
        code_hash = bytes(code_hash)
    pickup_code = deposit.pickup_code
    if pickup_code is not None:
        if not isinstance(pickup_code, str) or not _PICKUP_CODE.fullmatch(pickup_code):
            raise StoreError(f"parcel {parcel_id}: the pickup code must be 6 to 8 digits")
        if code_hash is None:
            raise StoreError(f"parcel {parcel_id}: a pickup code needs its code hash beside it")
    courier_id = _optional_text(deposit.courier_id, "courier id")
    return_id = _optional_text(deposit.return_id, "return id")
    receipt_code = _optional_text(deposit.receipt_code, "receipt code")
    barcode = _optional_text(deposit.barcode, "barcode")
    unannounced = _flag(deposit.unannounced, "unannounced")
    photo = deposit.photo_jpeg
    if photo is not None:
        if not isinstance(photo, bytes | bytearray | memoryview) or len(photo) == 0:
            raise StoreError(f"parcel {parcel_id}: a photo must be non-empty bytes")
        photo = bytes(photo)
        if len(photo) > PHOTO_MAX_BYTES:
            raise StoreError(f"parcel {parcel_id}: the photo is {len(photo)} bytes; at most "
                             f"{PHOTO_MAX_BYTES} are kept")
        if not photo.startswith(_JPEG_START):
            raise StoreError(f"parcel {parcel_id}: the photo is not a JPEG")
        if not unannounced:
            raise StoreError(f"parcel {parcel_id}: only an unannounced parcel is photographed")
    if purpose is DoorPurpose.DEPOSIT:
        if courier_id is None:
            raise StoreError(f"parcel {parcel_id}: a courier's deposit must name the courier")
        if return_id is not None or receipt_code is not None:
            raise StoreError(f"parcel {parcel_id}: a courier's deposit has no return id or receipt code")
    else:
        if return_id is None or receipt_code is None:
            raise StoreError(f"parcel {parcel_id}: a return needs its return id and receipt code")
        if code_hash is not None or pickup_code is not None:
            raise StoreError(f"parcel {parcel_id}: a return has no pickup code")
        if courier_id is not None or unannounced:
            raise StoreError(f"parcel {parcel_id}: a return is a customer's: no courier, not unannounced")
    return Deposit(parcel_id, size, deposit.recipient, code_hash, pickup_code, courier_id, return_id,
                   receipt_code, barcode, unannounced, photo)


def _last_row_id(cursor: sqlite3.Cursor) -> int:
    row_id = cursor.lastrowid
    if row_id is None:
        raise StoreError("SQLite returned no id for a new row")
    return row_id


def _single(parcel_ids: Sequence[str]) -> str | None:
    """The parcel an audit row is about, when there is exactly one."""
    return parcel_ids[0] if len(parcel_ids) == 1 else None


def _json_ids(text: str) -> tuple[str, ...]:
    return tuple(str(parcel_id) for parcel_id in json.loads(text))


def _id_list(values: Iterable[str], name: str, what: str) -> tuple[str, ...]:
    """A collection of ids, each non-empty text, without repeats (order kept)."""
    if isinstance(values, str | bytes):
        raise StoreError(f"{name} must be a collection of ids, not one {type(values).__name__}")
    try:
        items = tuple(values)
    except TypeError:
        raise StoreError(f"{name} must be a collection of ids, not {type(values).__name__}") from None
    for item in items:
        _required_text(item, what)
    return tuple(dict.fromkeys(items))


def _idempotency_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """Keys as stored (canonical uuid text), whichever uuid spelling the platform sent back; text that is
    no uuid at all is kept as it is and simply matches nothing."""
    normalised: list[str] = []
    for key in _id_list(keys, "keys", "idempotency key"):
        try:
            normalised.append(str(uuid.UUID(key)))
        except ValueError:
            normalised.append(key)
    return tuple(dict.fromkeys(normalised))


def _sum_rowcount(cursor: sqlite3.Cursor) -> int:
    return max(cursor.rowcount, 0)


def _short_error(error: object) -> str:
    """A delivery error as one line of at most LAST_ERROR_MAX_CHARS characters."""
    text = " ".join(str(error).split()) or "unknown error"
    if len(text) > LAST_ERROR_MAX_CHARS:
        text = text[:LAST_ERROR_MAX_CHARS - 1] + "…"
    return text


def _json_default(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        # Audit details and events are read by people; bytes here are most likely key material.
        raise StoreError("audit details must not hold raw bytes")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def _details_json(details: dict[str, object], what: str) -> str:
    try:
        return json.dumps(details, default=_json_default, sort_keys=True, allow_nan=False)
    except ValueError as error:
        raise StoreError(f"{what} cannot be stored: {error}") from error


def _insert_audit(connection: sqlite3.Connection, kind: str, at: float, compartment_id: str | None,
                  parcel_id: str | None, details: dict[str, object]) -> None:
    text = _details_json(details, f"audit details for {kind!r}")
    connection.execute(
        "INSERT INTO audit (at, kind, compartment_id, parcel_id, details) VALUES (?, ?, ?, ?, ?)",
        (at, kind, compartment_id, parcel_id, text))


def _insert_outbox_row(connection: sqlite3.Connection, kind: EventKind, at: float, compartment_id: str | None,
                       parcel_id: str | None, details: dict[str, object]) -> None:
    for name, value in details.items():
        if not (value is None or isinstance(value, str | int | float | enum.Enum)):
            raise StoreError(f"detail {name!r} of the {kind.value} event must be a single value, "
                             f"not {type(value).__name__}")
    text = _details_json(details, f"details of the {kind.value} event")
    connection.execute(
        "INSERT INTO outbox (idempotency_key, kind, occurred_at, compartment_id, parcel_id, details) "
        "VALUES (?, ?, ?, ?, ?, ?)", (str(uuid.uuid4()), kind.value, at, compartment_id, parcel_id, text))


def _outbox_state(connection: sqlite3.Connection) -> tuple[int, bool]:
    """(depth, whether the backlog alarm is raised)."""
    row = connection.execute("SELECT depth, backlog_alarm FROM outbox_state WHERE id = 1").fetchone()
    if row is None:
        raise StoreError("the outbox state row is missing: the database was edited by hand")
    return int(row["depth"]), bool(row["backlog_alarm"])


def _compartment_status(row: sqlite3.Row) -> CompartmentStatus:
    return CompartmentStatus(
        Compartment(row["id"], Size(row["size"]), row["board"], row["lock"], row["height_cm"], row["column"]),
        CompartmentState(row["state"]),
        row["out_of_order_reason"],
    )


def _parcel(row: sqlite3.Row) -> Parcel:
    return Parcel(row["id"], Size(row["size"]), ParcelState(row["state"]), row["compartment_id"],
                  row["recipient"], row["created_at"], row["picked_up_at"], row["barcode"],
                  bool(row["accessible"]), row["deposited_at"], row["pickup_window_hours"],
                  row["pickup_not_after"], row["recipient_ref"])


def _deposit(row: sqlite3.Row) -> Deposit:
    code_hash, photo = row["code_hash"], row["photo"]
    return Deposit(row["parcel_id"], Size(row["size"]), row["recipient"],
                   None if code_hash is None else bytes(code_hash), row["pickup_code"], row["courier_id"],
                   row["return_id"], row["receipt_code"], row["barcode"], bool(row["unannounced"]),
                   None if photo is None else bytes(photo))


def _outbox_event(row: sqlite3.Row) -> OutboxEvent:
    return OutboxEvent(row["id"], row["idempotency_key"], EventKind(row["kind"]), row["occurred_at"],
                       row["compartment_id"], row["parcel_id"], json.loads(row["details"]), row["attempts"],
                       row["last_error"], row["last_attempt_at"], row["park_reason"])


def _journal_entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(row["id"], row["compartment_id"], DoorPurpose(row["purpose"]),
                        _json_ids(row["parcel_ids"]), JournalPhase(row["phase"]), row["created_at"],
                        row["updated_at"], None if row["method"] is None else PickupMethod(row["method"]),
                        row["courier_id"])


def _courier(row: sqlite3.Row) -> CourierCredential:
    badge = row["badge_secret_hash"]
    return CourierCredential(row["courier_id"], row["display_name"], row["password_hash"],
                             None if badge is None else bytes(badge), bool(row["can_collect"]),
                             row["valid_until"])


def _return_authorisation(row: sqlite3.Row) -> ReturnAuthorisation:
    return ReturnAuthorisation(row["return_id"], row["parcel_id"], bytes(row["code_hash"]), Size(row["size"]),
                               row["expires_at"])


def _prefixed(table_alias: str, columns: str) -> str:
    return ", ".join(f"{table_alias}.{column}" for column in columns.split(", "))


# sync: checking a page ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _CheckedPage:
    """A sync page whose every record was checked, each kind keyed by id (the last copy of an id wins)."""

    reset: bool
    parcels: dict[str, ExpectedParcel]
    credentials: dict[str, PickupCredential]
    couriers: dict[str, CourierCredential]
    returns: dict[str, ReturnAuthorisation]
    deletions: dict[str, tuple[str, ...]]  # kind -> ids
    next_cursor: str
    has_more: bool


def _checked_sync_page(page: object) -> _CheckedPage:
    if not isinstance(page, SyncPage):
        raise StoreError(f"a sync page must be a SyncPage, not {type(page).__name__}")
    with _about("sync page"):
        reset = _flag(page.reset, "reset")
        has_more = _flag(page.has_more, "has_more")
        next_cursor = _required_text(page.next_cursor, "next_cursor")
    parcels = _keyed(page.parcels, ExpectedParcel, "parcel", lambda parcel: parcel.parcel_id, _checked_parcel)
    credentials = _keyed(page.pickup_credentials, PickupCredential, "pickup credential",
                         lambda credential: credential.credential_id, _checked_credential)
    couriers = _keyed(page.couriers, CourierCredential, "courier", lambda courier: courier.courier_id,
                      _checked_courier)
    returns = _keyed(page.return_authorisations, ReturnAuthorisation, "return authorisation",
                     lambda authorisation: authorisation.return_id, _checked_return)
    deletions: dict[str, dict[str, None]] = {kind: {} for kind in sorted(DELETION_KINDS)}
    for deletion in _records(page.deletions, Deletion, "deletions"):
        where = f"sync page, deletion {deletion.kind!r} {deletion.id!r}"
        if deletion.kind not in DELETION_KINDS:
            raise StoreError(f"{where}: the kind must be one of {', '.join(sorted(DELETION_KINDS))}")
        with _about(where):
            deletions[deletion.kind][_required_text(deletion.id, "id")] = None
    return _CheckedPage(reset, parcels, credentials, couriers, returns,
                        {kind: tuple(ids) for kind, ids in deletions.items()}, next_cursor, has_more)


def _records(values: object, kind: type[_T], name: str) -> tuple[_T, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise StoreError(f"sync page: {name} must be a collection, not {type(values).__name__}")
    records = tuple(values)
    for record in records:
        if not isinstance(record, kind):
            raise StoreError(f"sync page: {name} must hold {kind.__name__} records, "
                             f"not {type(record).__name__}")
    return records


def _keyed(values: object, kind: type[_T], what: str, key: Callable[[_T], object],
           check: Callable[[_T], _T]) -> dict[str, _T]:
    keyed: dict[str, _T] = {}
    for record in _records(values, kind, f"{what}s"):
        with _about(f"sync page, {what} {key(record)!r}"):
            checked = check(record)
        keyed[str(key(checked))] = checked
    return keyed


@contextmanager
def _about(where: str) -> Iterator[None]:
    """Name the record a check is about in its error."""
    try:
        yield
    except StoreError as error:
        raise StoreError(f"{where}: {error}") from None


def _checked_parcel(parcel: ExpectedParcel) -> ExpectedParcel:
    window = parcel.pickup_window
    if not isinstance(window, PickupWindow):
        raise StoreError(f"the pickup window must be a PickupWindow, not {type(window).__name__}")
    hours = window.hours
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise StoreError(f"the pickup window must be a whole number of hours >= 1, not {hours!r}")
    return ExpectedParcel(
        _required_text(parcel.parcel_id, "parcel id"),
        _required_text(parcel.barcode, "barcode"),
        _member(Size, parcel.size, "size"),
        _flag(parcel.accessible, "accessible"),
        _required_text(parcel.recipient_display_name, "recipient display name"),
        PickupWindow(hours, _optional_time(window.not_after, "pickup window end")),
        _optional_recipient_ref(parcel.recipient_ref),
    )


def _checked_credential(credential: object) -> PickupCredential:
    if not isinstance(credential, PickupCredential):
        raise StoreError(f"a pickup credential must be a PickupCredential, not {type(credential).__name__}")
    parcel_ids = _id_list(credential.parcel_ids, "parcel_ids", "parcel id")
    if not parcel_ids:
        raise StoreError("a pickup credential must name at least one parcel")
    return PickupCredential(_required_text(credential.credential_id, "credential id"),
                            _hash_bytes(credential.code_hash, "code hash"), parcel_ids,
                            _optional_time(credential.expires_at, "expiry time"))


def _checked_courier(courier: CourierCredential) -> CourierCredential:
    badge = courier.badge_secret_hash
    return CourierCredential(
        _required_text(courier.courier_id, "courier id"),
        _required_text(courier.display_name, "display name"),
        _required_text(courier.password_hash, "password hash"),
        None if badge is None else _hash_bytes(badge, "badge secret hash"),
        _flag(courier.can_collect, "can_collect"),
        _optional_time(courier.valid_until, "valid_until"),
    )


def _checked_return(authorisation: ReturnAuthorisation) -> ReturnAuthorisation:
    return ReturnAuthorisation(
        _required_text(authorisation.return_id, "return id"),
        _required_text(authorisation.parcel_id, "parcel id"),
        _hash_bytes(authorisation.code_hash, "code hash"),
        _member(Size, authorisation.size, "size"),
        _optional_time(authorisation.expires_at, "expiry time"),
    )


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise StoreError(f"{what} must be true or false, not {value!r}")
    return value


def _time(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StoreError(f"{what} must be a finite number of seconds, not {value!r}")
    return float(value)


def _optional_time(value: object, what: str) -> float | None:
    return None if value is None else _time(value, what)


def _hash_bytes(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) == 0:
        raise StoreError(f"the {what} must be non-empty bytes")
    return bytes(value)


# sync: applying a page ----------------------------------------------------------------------------
_EXPECTED_UPSERT = (
    "INSERT INTO parcels (id, size, state, recipient, created_at, barcode, accessible, pickup_window_hours, "
    "pickup_not_after, origin, seen_in_sync, recipient_ref) "
    "VALUES (?, ?, 'expected', ?, ?, ?, ?, ?, ?, 'platform', ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET size = excluded.size, recipient = excluded.recipient, "
    "barcode = excluded.barcode, accessible = excluded.accessible, "
    "pickup_window_hours = excluded.pickup_window_hours, pickup_not_after = excluded.pickup_not_after, "
    "seen_in_sync = excluded.seen_in_sync, recipient_ref = excluded.recipient_ref "
    "WHERE parcels.state = 'expected'")
# A deposited parcel takes only display data from the platform: never its recipient_ref, which would hand the
# parcel to another enrolled face while it sits in the locker.
_DEPOSITED_DISPLAY_UPDATE = (
    "UPDATE parcels SET recipient = ?, accessible = ?, "
    "seen_in_sync = CASE WHEN origin = 'platform' THEN ? ELSE seen_in_sync END WHERE id = ?")
_CREDENTIAL_UPSERT = (
    "INSERT INTO pickup_credentials (parcel_id, credential_id, code_hash, created_at, expires_at, origin, "
    "seen_in_sync) VALUES (?, ?, ?, ?, ?, 'platform', ?) "
    "ON CONFLICT (credential_id, parcel_id) DO UPDATE SET code_hash = excluded.code_hash, "
    "expires_at = excluded.expires_at, seen_in_sync = excluded.seen_in_sync")
_COURIER_UPSERT = (
    "INSERT INTO couriers (courier_id, display_name, password_hash, badge_secret_hash, can_collect, "
    "valid_until, seen_in_sync, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (courier_id) DO UPDATE SET display_name = excluded.display_name, "
    "password_hash = excluded.password_hash, badge_secret_hash = excluded.badge_secret_hash, "
    "can_collect = excluded.can_collect, valid_until = excluded.valid_until, "
    "seen_in_sync = excluded.seen_in_sync, synced_at = excluded.synced_at")
# used_at survives an upsert: the platform may list a return again before it hears that it was used.
_RETURN_UPSERT = (
    "INSERT INTO return_authorisations (return_id, parcel_id, code_hash, size, expires_at, seen_in_sync, "
    "synced_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (return_id) DO UPDATE SET parcel_id = excluded.parcel_id, code_hash = excluded.code_hash, "
    "size = excluded.size, expires_at = excluded.expires_at, seen_in_sync = excluded.seen_in_sync, "
    "synced_at = excluded.synced_at")


def _sync_state(connection: sqlite3.Connection) -> sqlite3.Row:
    row: sqlite3.Row | None = connection.execute(
        "SELECT cursor, generation, full_sync_in_progress, last_page_at, last_complete_at FROM sync_state "
        "WHERE id = 1").fetchone()
    if row is None:
        raise StoreError("the sync state row is missing: the database was edited by hand")
    return row


def _states_of(connection: sqlite3.Connection, parcel_ids: Iterable[str]) -> dict[str, str]:
    return {row["id"]: row["state"] for row in connection.execute(
        "SELECT id, state FROM parcels WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(parcel_ids)),))}


def _upsert_expected_parcels(connection: sqlite3.Connection, page: _CheckedPage, generation: int, at: float,
                             counts: dict[str, int]) -> None:
    if not page.parcels:
        return
    states = _states_of(connection, page.parcels)
    announced: list[ExpectedParcel] = []
    deposited: list[ExpectedParcel] = []
    for parcel in page.parcels.values():
        known_state = states.get(parcel.parcel_id, ParcelState.EXPECTED.value)
        (announced if known_state == ParcelState.EXPECTED.value else deposited).append(parcel)
    # One expected parcel per barcode: the page's word is the newest, and its last copy wins. Whoever holds a
    # barcode the page gives to another parcel lets go of it first, so no statement meets a duplicate.
    owner = {parcel.barcode: parcel.parcel_id for parcel in announced}
    holders = connection.execute(
        "SELECT id, barcode FROM parcels WHERE state = 'expected' AND barcode IN "
        "(SELECT value FROM json_each(?))", (json.dumps(list(owner)),)).fetchall()
    displaced = [(row["id"], row["barcode"]) for row in holders if owner[row["barcode"]] != row["id"]]
    connection.executemany("UPDATE parcels SET barcode = NULL WHERE id = ?", [(id_,) for id_, _ in displaced])
    in_page = {parcel.parcel_id for parcel in announced} | set(page.deletions["parcel"])
    for parcel_id, barcode in displaced:
        if parcel_id not in in_page:
            _insert_audit(connection, "sync_barcode_reassigned", at, None, parcel_id,
                          {"barcode": barcode, "to_parcel_id": owner[barcode]})
    for parcel in announced:
        if owner[parcel.barcode] != parcel.parcel_id:
            _insert_audit(connection, "sync_barcode_reassigned", at, None, parcel.parcel_id,
                          {"barcode": parcel.barcode, "to_parcel_id": owner[parcel.barcode]})
    connection.executemany(_EXPECTED_UPSERT, [
        (parcel.parcel_id, parcel.size.value, parcel.recipient_display_name, at,
         parcel.barcode if owner[parcel.barcode] == parcel.parcel_id else None, int(parcel.accessible),
         parcel.pickup_window.hours, parcel.pickup_window.not_after, generation, parcel.recipient_ref)
        for parcel in announced])
    connection.executemany(_DEPOSITED_DISPLAY_UPDATE, [
        (parcel.recipient_display_name, int(parcel.accessible), generation, parcel.parcel_id)
        for parcel in deposited])
    counts["parcels"] += len(announced)
    counts["kept_in_locker"] += len(deposited)


def _upsert_credentials(connection: sqlite3.Connection, credentials: Iterable[PickupCredential],
                        only_parcels: Sequence[str] | None, generation: int, at: float) -> None:
    """One row per (credential, parcel), stamped with `generation`; a credential's spent rows stay spent.
    With `only_parcels` (online verification) rows for those parcels only, and none removed; else the
    credential's rows for parcels it no longer names go."""
    credentials = tuple(credentials)
    if only_parcels is None:
        connection.executemany(
            "DELETE FROM pickup_credentials WHERE credential_id = ? "
            "AND parcel_id NOT IN (SELECT value FROM json_each(?))",
            [(credential.credential_id, json.dumps(list(credential.parcel_ids)))
             for credential in credentials])
    connection.executemany(_CREDENTIAL_UPSERT, [
        (parcel_id, credential.credential_id, bytes(credential.code_hash), at, credential.expires_at,
         generation)
        for credential in credentials
        for parcel_id in (credential.parcel_ids if only_parcels is None else only_parcels)])


def _apply_deletions(connection: sqlite3.Connection, deletions: dict[str, tuple[str, ...]],
                     counts: dict[str, int]) -> None:
    parcel_ids = deletions["parcel"]
    if parcel_ids:
        states = _states_of(connection, parcel_ids)
        expected = [parcel_id for parcel_id, state in states.items() if state == ParcelState.EXPECTED.value]
        connection.executemany("DELETE FROM parcels WHERE id = ? AND state = 'expected'",
                               [(parcel_id,) for parcel_id in expected])
        counts["deleted"] += len(expected)
        counts["kept_in_locker"] += len(states) - len(expected)
    credential_ids = deletions["pickup_credential"]
    if credential_ids:
        listed = json.dumps(list(credential_ids))
        counts["deleted"] += connection.execute(
            "SELECT count(DISTINCT credential_id) FROM pickup_credentials "
            "WHERE credential_id IN (SELECT value FROM json_each(?))", (listed,)).fetchone()[0]
        connection.execute("DELETE FROM pickup_credentials "
                           "WHERE credential_id IN (SELECT value FROM json_each(?))", (listed,))
    for kind, table, key in (("courier", "couriers", "courier_id"),
                             ("return_authorisation", "return_authorisations", "return_id")):
        if deletions[kind]:
            counts["deleted"] += _sum_rowcount(connection.executemany(
                f"DELETE FROM {table} WHERE {key} = ?", [(id_,) for id_ in deletions[kind]]))


def _forget_older_than(connection: sqlite3.Connection, generation: int, counts: dict[str, int]) -> None:
    """The end of a full sync: every synced record it did not mention goes; deposited parcels stay."""
    older = "(seen_in_sync IS NULL OR seen_in_sync < ?)"
    counts["forgotten"] += _sum_rowcount(connection.execute(
        f"DELETE FROM parcels WHERE origin = 'platform' AND state = 'expected' AND {older}", (generation,)))
    counts["kept_in_locker"] += connection.execute(
        f"SELECT count(*) FROM parcels WHERE origin = 'platform' AND state IN {_PRESENT_SQL} AND {older}",
        (generation,)).fetchone()[0]
    counts["forgotten"] += connection.execute(
        "SELECT count(DISTINCT credential_id) FROM pickup_credentials "
        "WHERE origin = 'platform' AND seen_in_sync < ?", (generation,)).fetchone()[0]
    connection.execute("DELETE FROM pickup_credentials WHERE origin = 'platform' AND seen_in_sync < ?",
                       (generation,))
    for table in ("couriers", "return_authorisations"):
        counts["forgotten"] += _sum_rowcount(connection.execute(
            f"DELETE FROM {table} WHERE seen_in_sync < ?", (generation,)))

"""The Protocols core needs from the outside world; app.py supplies the implementations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from kiosk.core.model import (
    AuditEntry,
    CompartmentStatus,
    CourierCredential,
    Deposit,
    DoorPurpose,
    JournalEntry,
    JournalPhase,
    LockReading,
    OutboxEvent,
    Parcel,
    PickupCredential,
    PickupMethod,
    PickupNotice,
    ProblemKind,
    ReturnAuthorisation,
    Size,
    SyncPage,
    SyncStatus,
    SyncTally,
)


class BusError(Exception):
    """The lock bus failed: no reply, garbled reply, port gone. The message says which."""


class LockBus(Protocol):
    """The lock boards, seen from core. Locks are numbered from 1 as printed on the board.

    Every method may raise BusError. Implementations run the blocking I/O off the event loop.
    """

    async def unlock(self, board: int, lock: int) -> None: ...

    async def read_board(self, board: int) -> Mapping[int, LockReading]:
        """The state of every lock of one board, keyed by lock number."""
        ...

    def subscribe_door_changes(self, callback: Callable[[int, int, bool], None]) -> bool:
        """Call `callback(board, lock, door_open)` on the event-loop thread whenever a board pushes a door
        change unprompted. Returns False when these boards never push (core then relies on polling alone).
        Called from the event-loop thread."""
        ...


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Wall time for records and a scheduler for flow timeouts; tests inject a manual one."""

    def now(self) -> float: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle: ...


class Store(Protocol):
    """The locker's own truth. Every method is one SQLite transaction unless it says otherwise."""

    # compartments -------------------------------------------------------------------------
    def compartments(self) -> Sequence[CompartmentStatus]: ...

    def compartment(self, compartment_id: str) -> CompartmentStatus: ...

    def mark_out_of_order(self, compartment_id: str, reason: str, at: float) -> None:
        """Also writes the audit entry."""
        ...

    def return_to_service(self, compartment_id: str, at: float) -> CompartmentStatus:
        """Out of order -> free, or occupied when a parcel is in it; audited."""
        ...

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
        """A parcel deposited into a free compartment with its pickup credential (audited), its deposited
        outbox event (naming the courier, when one deposited it) and, with `notice`, the resident's pickup
        mail (standalone mode), in one transaction. The parcel's recipient_ref is `recipient_ref`, else
        "resident:<id>" with a notice, else None."""
        ...

    def parcel(self, parcel_id: str) -> Parcel: ...

    def parcels_for_code_hash(self, code_hash: bytes) -> Sequence[Parcel]:
        """Parcels in the locker whose pickup credential matches, compared in constant time."""
        ...

    def free_compartments(self, size: Size | None = None) -> Sequence[CompartmentStatus]: ...

    # the door journal ---------------------------------------------------------------------
    def journal_intent(
        self, compartment_id: str, purpose: DoorPurpose, parcel_ids: Iterable[str], at: float,
        method: PickupMethod | None = None, *, courier_id: str | None = None,
    ) -> JournalEntry:
        """`method` (pickups only) is kept with the entry and reaches the picked_up events. COLLECT needs
        `courier_id` and parcels EXPIRED or RETURNED in that compartment. DEPOSIT and RETURN are refused here:
        they go through journal_intent_deposit."""
        ...

    def journal_intent_deposit(
        self, compartment_id: str, purpose: DoorPurpose, deposit: Deposit, at: float
    ) -> JournalEntry:
        """The intent to open a FREE compartment (at least the parcel's size) for a DEPOSIT (a courier's; the
        parcel id is new or an EXPECTED parcel, and `deposit.courier_id` is set) or a RETURN (an unused return
        authorisation `deposit.return_id`), with the pending Deposit kept beside the entry; audited. The
        entry's parcel_ids is (deposit.parcel_id,)."""
        ...

    def pending_deposit(self, entry_id: int) -> Deposit | None:
        """The Deposit of an unfinished DEPOSIT or RETURN entry; None for any other entry."""
        ...

    def journal_complete_deposit(self, entry_id: int, at: float, *, confirmed_by_ir: bool) -> JournalEntry:
        """Door closed on a deposit: the parcel IN_LOCKER (DEPOSIT) or RETURNED (RETURN, the authorisation
        used) in the compartment, now OCCUPIED; its pickup credential (when the Deposit has one), the photo
        (when it has one), entry COMPLETED, audit, and one deposited event (size, recipient, announced,
        courier_id, barcode, pickup_code when made here, unannounced) or returned event (return_id,
        receipt_code, size); one transaction. The pending Deposit (and the code in clear) is gone after it."""
        ...

    def journal_complete_collection(self, entry_id: int, at: float) -> JournalEntry:
        """Door closed after a collection: the entry's parcels COLLECTED, the compartment FREE (one out of
        order stays so), entry COMPLETED, audit, and one collected event per parcel (courier_id, reason:
        expired or returned); one transaction."""
        ...

    def journal_abandon(
        self, entry_id: int, reason: str, at: float, *, out_of_order: bool = False
    ) -> JournalEntry:
        """Give up an unfinished entry whatever its phase (a courier moved the parcel to another compartment:
        too small, or a door that did not really open): entry CANCELLED with `reason`, its pending Deposit
        dropped, audited; with `out_of_order`, the compartment too, with a door_fault event. One
        transaction; no parcel changes."""
        ...

    def journal_advance(self, entry_id: int, phase: JournalPhase, at: float) -> JournalEntry:
        """Move an entry to UNLOCK_SENT or OPENED (audited)."""
        ...

    def journal_fault(self, entry_id: int, reason: str, at: float) -> JournalEntry:
        """The door never opened: entry FAULT, compartment out of order, audit, door_fault outbox event;
        one transaction."""
        ...

    def journal_complete_pickup(self, entry_id: int, at: float) -> JournalEntry:
        """Door closed after a pickup: parcels PICKED_UP, credentials spent, compartment FREE,
        entry COMPLETED, the audit entries and one picked_up outbox event per parcel (with the entry's
        method, when it has one), all in one transaction."""
        ...

    def journal_complete(self, entry_id: int, at: float) -> JournalEntry:
        """Door closed after an opening that is not a pickup (a support call): entry COMPLETED, audited;
        no parcel, credential or compartment changes."""
        ...

    def journal_cancel(self, entry_id: int, reason: str, at: float) -> JournalEntry: ...

    def unfinished_journal(self) -> Sequence[JournalEntry]:
        """Entries in INTENT, UNLOCK_SENT or OPENED, oldest first."""
        ...

    def report_problem(self, problem: ProblemKind, parcel_ids: Sequence[str], at: float) -> None:
        """A recipient reports a problem: per parcel an audit entry "problem_reported" and a problem_report
        outbox event (one of each about no parcel when there is none), in one transaction."""
        ...

    # the outbox: events for the platform, each written with the state change that caused it -----
    def outbox_batch(self, limit: int) -> Sequence[OutboxEvent]:
        """Up to `limit` pending events, oldest (first written) first."""
        ...

    def outbox_acknowledge(self, keys: Iterable[str], at: float | None = None) -> int:
        """The platform has these events: delete them. Unknown keys are ignored, so acknowledging twice is
        harmless; the number deleted. `at` (default: now) dates a backlog alarm this clears."""
        ...

    def outbox_record_failure(self, keys: Iterable[str], at: float, error: str) -> int:
        """A delivery of these events failed: attempts + 1, the error kept (one short line) and `at`;
        the number of events found."""
        ...

    def outbox_depth(self) -> int:
        """How many events wait for delivery."""
        ...

    def outbox_oldest_at(self) -> float | None:
        """When the oldest waiting event happened; None when nothing waits."""
        ...

    def outbox_park(self, key: str, reason: str, at: float) -> bool:
        """The platform refused this event for good: keep it, with the reason (one short line), out of
        every later batch and out of the depth; audited. False when no pending event has that key."""
        ...

    def outbox_parked(self, limit: int | None = None) -> Sequence[OutboxEvent]:
        """Parked events, oldest first, each with its parked_reason."""
        ...

    def outbox_parked_count(self) -> int: ...

    # what the platform announces ------------------------------------------------------------
    def apply_sync_page(self, page: SyncPage, at: float) -> SyncTally:
        """Upserts, deletions and the page's cursor in one transaction (see SyncPage for a full sync).
        Nothing here ever changes a parcel that is in the locker or has left it, except its display data."""
        ...

    def sync_status(self) -> SyncStatus: ...

    def add_pickup_credential(self, credential: PickupCredential, at: float) -> Sequence[Parcel]:
        """A credential the platform confirmed online: kept (as if synced) for those of its parcels that
        are in the locker, which are returned; nothing is kept when none is (audited either way)."""
        ...

    def expected_parcel_by_barcode(self, barcode: str) -> Parcel | None:
        """The announced, not yet deposited parcel with this label barcode."""
        ...

    def parcel_by_barcode(self, barcode: str) -> Parcel | None:
        """The newest parcel with this label barcode in any state but expected (it went into the locker: it
        may be there still, or picked up, expired or collected since); None when no such parcel exists."""
        ...

    def courier(self, courier_id: str) -> CourierCredential | None:
        """Compared without regard to case."""
        ...

    def courier_by_badge_hash(self, badge_secret_hash: bytes) -> CourierCredential | None:
        """Compared in constant time."""
        ...

    def return_by_code_hash(self, code_hash: bytes) -> ReturnAuthorisation | None:
        """An unexpired, not yet used return authorisation; compared in constant time."""
        ...

    def add_return_authorisation(self, authorisation: ReturnAuthorisation, at: float) -> None:
        """A return authorisation the platform confirmed online: kept as if synced (audited)."""
        ...

    def has_platform_credential(self, parcel_id: str) -> bool:
        """The platform issued a pickup credential (unspent) for this parcel: the recipient has a code."""
        ...

    # collection ------------------------------------------------------------------------------
    def expire_overdue(self, at: float, default_window_hours: int) -> Sequence[Parcel]:
        """IN_LOCKER parcels whose pickup window has ended by `at` (deposited_at + their window hours, or the
        default; never past pickup_not_after) become EXPIRED (audited); the parcels expired now."""
        ...

    def collectable_parcels(self) -> Sequence[Parcel]:
        """EXPIRED and RETURNED parcels (waiting for a courier), in compartment layout order."""
        ...

    # audit and settings -------------------------------------------------------------------
    # face pickup (opt-in): only encrypted encodings are kept, never a picture --------------------------
    def parcels_for_recipient(self, recipient_ref: str) -> Sequence[Parcel]:
        """The recipient's parcels in the locker now (state in_locker, with a compartment)."""
        ...

    def face_gallery(self) -> Mapping[str, bytes]:
        """recipient_ref -> sealed encodings, for the enrolled recipients with a parcel in the locker now."""
        ...

    def has_face(self, recipient_ref: str) -> bool: ...

    def save_face(self, recipient_ref: str, sealed_encodings: bytes, at: float) -> None:
        """The recipient consented and was enrolled (replacing an earlier enrolment); audited as
        face_enrolled, with no biometric data in the audit entry."""
        ...

    def face_used(self, recipient_ref: str, at: float) -> None:
        """The face just opened a door: its unused-days clock starts again."""
        ...

    def forget_face(self, recipient_ref: str, at: float, reason: str) -> bool:
        """Delete the recipient's encodings (consent withdrawn); audited as face_forgotten with `reason`.
        False when there were none."""
        ...

    def forget_faces_of_parcels(self, parcel_ids: Iterable[str], at: float, reason: str) -> int:
        """Delete the encodings of the recipients of these parcels (the platform's forget_face command);
        how many were deleted."""
        ...

    def forget_unused_faces(self, unused_since: float, at: float) -> int:
        """Delete every enrolment neither made nor used since `unused_since`; how many."""
        ...

    def audit(self, kind: str, at: float, compartment_id: str | None = None,
              parcel_id: str | None = None, **details: object) -> None: ...

    def audit_log(self, limit: int | None = None) -> Sequence[AuditEntry]: ...

    def get_state(self, key: str) -> str | None:
        """Small persistent values (keypad lockout counters) that must survive a restart."""
        ...

    def set_state(self, key: str, value: str) -> None: ...


class VerificationUnavailable(Exception):
    """The platform could not answer a verification (offline, timed out, refused): the message says why."""


class OnlineVerifier(Protocol):
    """The platform, asked about a code the locker does not know (a code issued after the last sync)."""

    def online(self) -> bool:
        """The platform answered recently: asking is worth the recipient's wait."""
        ...

    async def verify_pickup(self, code_hash: bytes) -> PickupCredential | None:
        """The credential the platform knows for this keyed hash, or None when it knows no such code. Raises
        VerificationUnavailable when it cannot say within a few seconds. Never blocks the event loop."""
        ...

    async def verify_return(self, code_hash: bytes) -> ReturnAuthorisation | None:
        """The same for a return code (kind "return")."""
        ...


class ParcelCamera(Protocol):
    """The camera a courier holds an unannounced parcel up to, for a photo kept with its record."""

    async def take_photo(self) -> bytes | None:
        """A JPEG of the latest frame (at most 640 px wide), or None with no camera or no picture. Never
        blocks the event loop."""
        ...

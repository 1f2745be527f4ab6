"""The Protocols core needs from the outside world; app.py supplies the implementations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from kiosk.core.model import (
    AuditEntry,
    CompartmentStatus,
    DoorPurpose,
    JournalEntry,
    JournalPhase,
    LockReading,
    OutboxEvent,
    Parcel,
    ProblemKind,
    Size,
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
    ) -> Parcel:
        """A parcel deposited into a free compartment with its pickup credential (audited), and its
        deposited outbox event (naming the courier, when one deposited it), in one transaction."""
        ...

    def parcel(self, parcel_id: str) -> Parcel: ...

    def parcels_for_code_hash(self, code_hash: bytes) -> Sequence[Parcel]:
        """Parcels in the locker whose pickup credential matches, compared in constant time."""
        ...

    def free_compartments(self, size: Size | None = None) -> Sequence[CompartmentStatus]: ...

    # the door journal ---------------------------------------------------------------------
    def journal_intent(
        self, compartment_id: str, purpose: DoorPurpose, parcel_ids: Iterable[str], at: float
    ) -> JournalEntry: ...

    def journal_advance(self, entry_id: int, phase: JournalPhase, at: float) -> JournalEntry:
        """Move an entry to UNLOCK_SENT or OPENED (audited)."""
        ...

    def journal_fault(self, entry_id: int, reason: str, at: float) -> JournalEntry:
        """The door never opened: entry FAULT, compartment out of order, audit, door_fault outbox event;
        one transaction."""
        ...

    def journal_complete_pickup(self, entry_id: int, at: float) -> JournalEntry:
        """Door closed after a pickup: parcels PICKED_UP, credentials spent, compartment FREE,
        entry COMPLETED, the audit entries and one picked_up outbox event per parcel, all in one
        transaction."""
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

    # audit and settings -------------------------------------------------------------------
    def audit(self, kind: str, at: float, compartment_id: str | None = None,
              parcel_id: str | None = None, **details: object) -> None: ...

    def audit_log(self, limit: int | None = None) -> Sequence[AuditEntry]: ...

    def get_state(self, key: str) -> str | None:
        """Small persistent values (keypad lockout counters) that must survive a restart."""
        ...

    def set_state(self, key: str, value: str) -> None: ...

"""The locker's domain, as frozen data. No Qt, no SQLite, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Size(enum.Enum):
    """Compartment and parcel sizes, smallest first; comparisons follow that order."""

    S = "S"
    M = "M"
    L = "L"
    XL = "XL"

    @property
    def rank(self) -> int:
        return list(Size).index(self)

    def __lt__(self, other: Size) -> bool:
        return self.rank < other.rank

    def __le__(self, other: Size) -> bool:
        return self.rank <= other.rank


class DoorState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"  # board silent or compartment never read


class CompartmentState(enum.Enum):
    FREE = "free"
    OCCUPIED = "occupied"
    OUT_OF_ORDER = "out_of_order"


class ParcelState(enum.Enum):
    EXPECTED = "expected"
    IN_LOCKER = "in_locker"
    PICKED_UP = "picked_up"


class DoorPurpose(enum.Enum):
    """Why a door is opened; recorded in the journal and the audit log."""

    PICKUP = "pickup"


class JournalPhase(enum.Enum):
    """Progress of one door transaction (DESIGN.md section 4)."""

    INTENT = "intent"  # written before anything is sent to the board
    UNLOCK_SENT = "unlock_sent"  # the unlock frame may have reached the board
    OPENED = "opened"  # a status read saw the door open
    COMPLETED = "completed"  # closed again; parcel state, audit and outbox committed
    FAULT = "fault"  # never seen open after the retry; compartment taken out of order
    CANCELLED = "cancelled"  # reconciled on start: the door never opened


class ProblemKind(enum.Enum):
    DAMAGED = "damaged"
    NOT_MINE = "not_mine"
    DOOR_DID_NOT_OPEN = "door_did_not_open"


class EventKind(enum.Enum):
    """What an outbox event tells the platform; the values are the names in the API contract."""

    DEPOSITED = "deposited"
    PICKED_UP = "picked_up"
    RETURNED = "returned"
    COLLECTED = "collected"
    DOOR_FAULT = "door_fault"
    PROBLEM_REPORT = "problem_report"
    ALARM = "alarm"


@dataclass(frozen=True)
class Compartment:
    """One compartment of the layout, as configured. `lock` is numbered from 1 as printed."""

    id: str
    size: Size
    board: int
    lock: int
    height_cm: int
    column: int


@dataclass(frozen=True)
class CompartmentStatus:
    compartment: Compartment
    state: CompartmentState
    out_of_order_reason: str | None = None


@dataclass(frozen=True)
class Parcel:
    id: str
    size: Size
    state: ParcelState
    compartment_id: str | None
    recipient: str
    created_at: float
    picked_up_at: float | None = None


@dataclass(frozen=True)
class JournalEntry:
    id: int
    compartment_id: str
    purpose: DoorPurpose
    parcel_ids: tuple[str, ...]
    phase: JournalPhase
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    kind: str
    compartment_id: str | None = None
    parcel_id: str | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxEvent:
    """One fact waiting in the outbox to reach the platform.

    `idempotency_key` (a uuid4, canonical text) is made when the event is written, in the same transaction
    as the state change it reports, and never changes: the platform keeps the first copy of a key and
    acknowledges the rest. `attempts` and `last_error` count failed deliveries; `last_attempt_at` is the
    time of the last one.
    """

    id: int
    idempotency_key: str
    kind: EventKind
    occurred_at: float
    compartment_id: str | None = None
    parcel_id: str | None = None
    details: dict[str, object] = field(default_factory=dict)  # single values only: text, numbers, bools, None
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: float | None = None


@dataclass(frozen=True)
class LockReading:
    """What the board says about one lock: door open or not, parcel seen by IR (None: no IR)."""

    door_open: bool
    occupied: bool | None = None


@dataclass(frozen=True)
class Timers:
    """Every duration the flows and the door transaction use, in seconds."""

    inactivity_s: float = 30.0
    more_time_s: float = 15.0
    thank_you_s: float = 8.0
    error_s: float = 30.0
    lockout_base_s: float = 60.0
    lockout_after_failures: int = 5
    unlock_confirm_s: float = 0.35
    door_poll_s: float = 0.25
    board_scan_s: float = 2.0  # every board is read this often, so the map and the bus health stay true

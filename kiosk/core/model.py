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
    EXPECTED = "expected"  # announced by the platform, not deposited yet
    IN_LOCKER = "in_locker"
    PICKED_UP = "picked_up"
    EXPIRED = "expired"  # still in the locker, past its pickup window: waits for a courier to collect it
    COLLECTED = "collected"  # taken back out by a courier (expired, returned or recalled)
    RETURNED = "returned"  # a customer's return, deposited: waits for a courier to collect it


class PickupMethod(enum.Enum):
    """How a pickup was authorised; the picked_up event carries it (the contract's `method`)."""

    CODE = "code"  # typed on the keypad
    QR = "qr"  # shown to the camera or a scanner
    FACE = "face"


class DoorPurpose(enum.Enum):
    """Why a door is opened; recorded in the journal and the audit log."""

    PICKUP = "pickup"
    REMOTE_SUPPORT = "remote_support"  # opened by the platform for a support call: no parcel changes hands
    DEPOSIT = "deposit"  # a courier puts a parcel in: committed (with its Deposit) when the door closes on it
    RETURN = "return"  # a customer puts a return in: committed like a deposit, the parcel becomes RETURNED
    COLLECT = "collect"  # a courier takes expired or returned parcels out


# The purposes that put a parcel in; each journal entry of these carries a pending Deposit.
DEPOSIT_PURPOSES = frozenset({DoorPurpose.DEPOSIT, DoorPurpose.RETURN})


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
    barcode: str | None = None  # the label's barcode, for parcels the platform announced
    accessible: bool = False  # the recipient needs a compartment within reach from a wheelchair
    deposited_at: float | None = None  # into the locker (the pickup window counts from here)
    pickup_window_hours: int | None = None  # None: the locker's default ([courier] pickup_window_hours)
    pickup_not_after: float | None = None  # a hard end of the pickup window, whatever the deposit time
    # Who the parcel is for, as a stable pseudonymous key (the platform's `recipient_ref`; standalone
    # "resident:<id>"): face pickup keys a recipient's enrolled face to it. None: unknown, no face pickup.
    recipient_ref: str | None = None


@dataclass(frozen=True)
class Deposit:
    """A parcel about to go into a compartment. Written with the door's journal intent and committed in the
    same transaction that completes the journal entry, once the door has closed on it (and the IR sensor,
    where there is one, does not read the compartment empty): a crash in between leaves no half deposit.

    For a courier's delivery (DoorPurpose.DEPOSIT): `code_hash` is the locker's new pickup credential, and
    `pickup_code` its clear text, which travels once in the deposited event so the platform can tell the
    recipient (both None when the platform already issued a credential for an announced parcel).
    For a customer's return (DoorPurpose.RETURN): `return_id` names the authorisation (used up on commit),
    `receipt_code` is shown on screen and travels in the returned event; no pickup credential.
    """

    parcel_id: str
    size: Size
    recipient: str  # "" for a return
    code_hash: bytes | None = field(default=None, repr=False)
    pickup_code: str | None = field(default=None, repr=False)
    courier_id: str | None = None
    return_id: str | None = None
    receipt_code: str | None = None
    barcode: str | None = None  # the label's, as scanned
    unannounced: bool = False  # the platform never announced it; accepted by the locker's policy
    photo_jpeg: bytes | None = field(default=None, repr=False)  # of an unannounced parcel, for the record


@dataclass(frozen=True)
class PickupNotice:
    """A parcel deposited for a resident, to be e-mailed to them with its pickup code."""

    resident_id: int
    parcel_id: str
    code: str = field(repr=False)  # in clear until the mail is sent (kiosk/store/residents.py)
    compartment_id: str
    size: Size
    locker_name: str  # the locker's id ([locker] id), which the pickup QR code carries


@dataclass(frozen=True)
class JournalEntry:
    id: int
    compartment_id: str
    purpose: DoorPurpose
    parcel_ids: tuple[str, ...]
    phase: JournalPhase
    created_at: float
    updated_at: float
    method: PickupMethod | None = None  # for a pickup: how it was authorised
    courier_id: str | None = None  # for a deposit or a collection: the courier at the door


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
    parked_reason: str | None = None  # the platform refused it for good: kept, never sent again


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
    courier_inactivity_s: float = 90.0  # a courier walks to the van between parcels: a longer wait


@dataclass(frozen=True)
class CourierPolicy:
    """How this locker treats couriers' parcels ([courier] in kiosk.toml)."""

    accept_unannounced: bool = False  # a label never announced: deposit it (with a photo), or refuse it
    pickup_window_hours: int = 72  # how long a deposited parcel waits, unless the platform set its own window
    max_login_failures: int = 5  # wrong PINs or badges in a row before courier login locks (60 s, doubling)


@dataclass(frozen=True)
class FacePolicy:
    """Face pickup ([face] in kiosk.toml). Opt-in per recipient; PIN and QR always stay beside it."""

    enabled: bool = True  # offered where a camera is configured and the secrets file has a face key
    # Euclidean distance between 128-d encodings at or under which two faces count as the same person.
    # face_recognition's own default is 0.6; ours comes from the measured FAR/FRR curve (make bench).
    match_threshold: float = 0.5
    frames_to_agree: int = 3  # consecutive encoded frames that must name the same recipient
    liveness_window_s: float = 8.0  # the blink and the head movement must both fall within this window
    attempt_s: float = 15.0  # on pickup_face without a match this long: "not recognised", the keypad offered
    enrol_frames: int = 5  # good frames captured for an enrolment
    enrol_timeout_s: float = 20.0  # an enrolment that has not got its frames by then fails
    forget_after_days: int = 180  # an enrolled face unused this long is deleted


class FaceGuidance(enum.Enum):
    """What the face screens tell the person in front of the camera (the UI puts it in words)."""

    NO_FACE = "no_face"  # nobody in view: look at the camera
    COME_CLOSER = "come_closer"  # a face, too small to use
    ONE_FACE = "one_face"  # several faces: one person at a time
    HOLD_STILL = "hold_still"  # a face, too blurred (moving, or out of focus)
    BLINK = "blink"  # recognisable; now blink (liveness)
    TURN_HEAD = "turn_head"  # blinked; now turn the head a little (liveness)
    CHECKING = "checking"  # a good face: matching it
    NOT_RECOGNISED = "not_recognised"  # a live face that matches no one with a parcel here


class FaceEnrolFailure(enum.Enum):
    """Why an enrolment saved nothing."""

    TIMED_OUT = "timed_out"  # not enough good frames in time (no face, too far, several people, blurred)
    INCONSISTENT = "inconsistent"  # the frames did not all show the same person
    UNAVAILABLE = "unavailable"  # the face engine or the camera cannot be used just now


# what the platform announces (sync) ---------------------------------------------------------------
# Codes, badge secrets and return codes arrive only as HMAC-SHA256 under the locker's code key (32 bytes),
# which is provisioned with the locker, in its secrets file, and shared with the platform out of band.

@dataclass(frozen=True)
class PickupWindow:
    """How long a parcel may wait once deposited: `hours`, but never past `not_after` when one is set."""

    hours: int
    not_after: float | None


@dataclass(frozen=True)
class ExpectedParcel:
    parcel_id: str
    barcode: str
    size: Size
    accessible: bool
    recipient_display_name: str
    pickup_window: PickupWindow
    recipient_ref: str | None = None  # the platform's stable pseudonymous key for the recipient (face pickup)


@dataclass(frozen=True)
class PickupCredential:
    credential_id: str
    code_hash: bytes  # 32 bytes: HMAC-SHA256(code key, code), as the Store keeps it
    parcel_ids: tuple[str, ...]
    expires_at: float | None


@dataclass(frozen=True)
class CourierCredential:
    courier_id: str
    display_name: str
    password_hash: str  # a PHC string
    badge_secret_hash: bytes | None
    can_collect: bool
    valid_until: float | None


@dataclass(frozen=True)
class ReturnAuthorisation:
    return_id: str
    parcel_id: str
    code_hash: bytes
    size: Size
    expires_at: float | None


@dataclass(frozen=True)
class Deletion:
    kind: str  # parcel, pickup_credential, courier, return_authorisation
    id: str


@dataclass(frozen=True)
class SyncPage:
    """One page of the platform's changes. `reset` starts a full sync: after its last page (has_more False)
    every synced record the full sync did not mention is forgotten (parcels in the locker always stay)."""

    reset: bool
    parcels: tuple[ExpectedParcel, ...]
    pickup_credentials: tuple[PickupCredential, ...]
    couriers: tuple[CourierCredential, ...]
    return_authorisations: tuple[ReturnAuthorisation, ...]
    deletions: tuple[Deletion, ...]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True)
class SyncTally:
    """What applying one sync page changed, for the log and the bench."""

    parcels: int = 0  # expected parcels added or updated
    pickup_credentials: int = 0
    couriers: int = 0
    return_authorisations: int = 0
    deleted: int = 0  # records removed by deletions
    forgotten: int = 0  # records a completed full sync did not mention
    kept_in_locker: int = 0  # deletions or omissions of parcels physically here, ignored


@dataclass(frozen=True)
class SyncStatus:
    cursor: str | None  # the next_cursor of the last page applied; None: never synced
    full_sync_in_progress: bool  # a reset page was applied, its last page not yet
    last_page_at: float | None  # when a page was last applied
    last_complete_at: float | None  # when a page with has_more False was last applied

"""What the flows hand the UI: a screen id and a small immutable view model per screen.

Core speaks in ids and reason codes; the UI puts them into (translated) words.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.core.model import DoorState, FaceEnrolFailure, FaceGuidance, ProblemKind, Size


class ScreenId(enum.Enum):
    """Screen ids double as the objectName of each screen widget (the QA handle)."""

    HOME = "home"
    PICKUP_CODE = "pickup_code"
    PICKUP_SCAN = "pickup_scan"
    PICKUP_CHECKING = "pickup_checking"  # a code the locker does not know, being checked with the platform
    PARCEL_LIST = "parcel_list"
    DOOR_OPEN = "door_open"
    REPORT_PROBLEM = "report_problem"
    THANK_YOU = "thank_you"
    LOCKED_OUT = "locked_out"
    MORE_TIME = "more_time"
    ERROR = "error"
    # courier mode
    COURIER_LOGIN = "courier_login"
    COURIER_MENU = "courier_menu"
    COURIER_SCAN = "courier_scan"
    COURIER_SIZE = "courier_size"
    COURIER_COLLECT = "courier_collect"
    COURIER_SUMMARY = "courier_summary"
    DEPOSIT_CHECK = "deposit_check"  # a deposit door closed but the IR sensor reads it empty (or a collection
    # door closed and it still reads a parcel): ask the person at it
    # returns
    RETURN_CODE = "return_code"
    RETURN_SIZE = "return_size"
    RECEIPT = "receipt"
    # face pickup (opt-in)
    PICKUP_FACE = "pickup_face"  # look at the camera: blink, turn the head a little; the keypad one tap away
    FACE_CONSENT = "face_consent"  # after a code or QR pickup: what is stored, for how long, how to withdraw
    FACE_ENROL = "face_enrol"  # capturing a few good frames


class CodeError(enum.Enum):
    WRONG_CODE = "wrong_code"  # no parcel for this code
    MALFORMED = "malformed"  # not 6 to 8 digits
    FOREIGN = "foreign"  # a scanned code that is not a pickup code for this locker
    NOT_VERIFIED = "not_verified"  # unknown here, and the platform cannot be asked about it just now
    FACE_NOT_RECOGNISED = "face_not_recognised"  # face pickup found no live, matching face in time


class FaceTarget(enum.Enum):
    """What the screen shown now wants from the face engine (nothing, on most screens)."""

    NONE = "none"
    WATCH = "watch"  # home, when an enrolled recipient has a parcel here: say when a face comes into view
    MATCH = "match"  # pickup_face: liveness and matching against the waiting recipients' faces
    ENROL = "enrol"  # face_enrol: capture good frames of the one person in view


class ErrorReason(enum.Enum):
    DOOR_FAULT = "door_fault"  # the door did not open after a retry
    BUS_DOWN = "bus_down"  # the lock boards do not answer


@dataclass(frozen=True)
class MapCell:
    """One compartment on the locker map: where it is and what its door is doing."""

    compartment_id: str
    column: int
    height_cm: int
    size: Size
    door: DoorState
    highlighted: bool  # a door this user is waiting at


@dataclass(frozen=True)
class ParcelItem:
    parcel_id: str
    compartment_id: str
    size: Size
    opened: bool  # already opened and closed in this session


class HomeNotice(enum.Enum):
    """A short message on the home screen after a tap there could not be served."""

    FOREIGN_CODE = "foreign_code"  # a scanned code that is not a code for this locker


class PlatformConnection(enum.Enum):
    """The locker's link to the operator's platform, as the screens show it."""

    STANDALONE = "standalone"  # no platform configured: the locker is its own record
    CONNECTING = "connecting"  # configured, no answer yet
    ONLINE = "online"
    OFFLINE = "offline"  # pickups with known codes still work; new codes cannot be checked


@dataclass(frozen=True)
class HomeView:
    idle_return: bool = False  # came home by inactivity: the UI resets the language
    notice: HomeNotice | None = None
    out_of_service: bool = False  # no lock board answers: nothing can be opened until one does
    can_scan: bool = False  # a camera is there: a QR code shown to it starts pickup at once
    platform: PlatformConnection = PlatformConnection.STANDALONE


@dataclass(frozen=True)
class PickupCodeView:
    error: CodeError | None = None
    failures_in_a_row: int = 0
    failures_allowed: int = 5
    can_scan: bool = False  # a camera is there: offer "scan a QR code instead"
    can_use_face: bool = False  # face pickup is possible now: offer "use my face"


@dataclass(frozen=True)
class PickupScanView:
    """Hold the QR code from the message up to the camera; the keypad is one tap away."""

    error: CodeError | None = None
    failures_in_a_row: int = 0
    failures_allowed: int = 5
    camera_connected: bool = True  # False: the camera gives no picture, only the keypad can help


@dataclass(frozen=True)
class PickupCheckingView:
    """A code this locker does not know is being checked with the platform (a few seconds at most)."""

    scanned: bool = False  # the code came from a QR code


@dataclass(frozen=True)
class ParcelListView:
    parcels: tuple[ParcelItem, ...]


class DoorAudience(enum.Enum):
    """Who stands at the open door: it decides what the door screen offers."""

    RECIPIENT = "recipient"  # report a problem
    COURIER_DEPOSIT = "courier_deposit"  # too_small_button, door_failed_button
    COURIER_COLLECT = "courier_collect"  # door_failed_button
    RETURN = "return"  # a customer's return: cancel only before the door opens


@dataclass(frozen=True)
class DoorOpenView:
    compartment_ids: tuple[str, ...]  # the doors opened for this user, in order
    cells: tuple[MapCell, ...]
    waiting_for_unlock: bool  # unlock sent, not yet confirmed open
    audience: DoorAudience = DoorAudience.RECIPIENT
    parcel_id: str | None = None  # courier deposit: the parcel being put in (its label's id)
    moved_from: str | None = None  # courier deposit: the compartment the parcel did not fit or did not open


@dataclass(frozen=True)
class ReportProblemView:
    parcel_ids: tuple[str, ...]
    choices: tuple[ProblemKind, ...] = tuple(ProblemKind)


class FaceNotice(enum.Enum):
    """What became of the recipient's face enrolment, said on the thank-you screen."""

    SAVED = "saved"  # enrolled: next time, look at the camera
    NOT_SAVED = "not_saved"  # the enrolment failed; see ThankYouView.enrol_failure
    FORGOTTEN = "forgotten"  # "forget my face": the encodings are deleted


@dataclass(frozen=True)
class ThankYouView:
    parcels_picked_up: int
    problem_reported: ProblemKind | None = None
    can_offer_face: bool = False  # "Pick up with your face next time?" (a code or QR pickup, not enrolled)
    can_forget_face: bool = False  # "Forget my face" (this recipient is enrolled)
    face_notice: FaceNotice | None = None
    enrol_failure: FaceEnrolFailure | None = None


@dataclass(frozen=True)
class PickupFaceView:
    """Look at the camera; the guidance says what to do next. The keypad is always one tap away."""

    guidance: FaceGuidance = FaceGuidance.NO_FACE
    camera_connected: bool = True
    can_scan: bool = False  # a QR code shown here is read too


@dataclass(frozen=True)
class FaceConsentView:
    """Plain words before anything is captured: what is stored, for how long, how to withdraw."""

    forget_after_days: int


@dataclass(frozen=True)
class FaceEnrolView:
    frames_taken: int
    frames_needed: int
    guidance: FaceGuidance = FaceGuidance.NO_FACE
    camera_connected: bool = True


@dataclass(frozen=True)
class LockedOutView:
    seconds_left: int


@dataclass(frozen=True)
class MoreTimeView:
    seconds_left: int
    returns_to: ScreenId


@dataclass(frozen=True)
class ErrorView:
    reason: ErrorReason
    compartment_id: str | None = None
    code_still_valid: bool = True


# courier mode ---------------------------------------------------------------------------------------------

class CourierLoginError(enum.Enum):
    WRONG_CREDENTIALS = "wrong_credentials"  # unknown courier id, wrong PIN or an unknown badge
    MALFORMED = "malformed"  # an empty id or PIN
    EXPIRED = "expired"  # the courier's credential is past its valid_until
    UNSUPPORTED = "unsupported"  # the password hash is of a kind this locker cannot check (argon2 here)


@dataclass(frozen=True)
class CourierLoginView:
    error: CourierLoginError | None = None
    checking: bool = False  # a PIN is being checked (a deliberately slow hash): the keys wait
    failures_in_a_row: int = 0
    failures_allowed: int = 5
    locked_seconds: int = 0  # too many wrong attempts: login is locked for this long (0: not locked)
    can_scan: bool = False  # a camera is there: a badge QR code shown to it logs in


@dataclass(frozen=True)
class CourierMenuView:
    courier_name: str
    can_collect: bool  # the credential allows collecting
    collectable: int  # parcels waiting for a courier (expired or returned)
    delivered: int  # in this session so far
    collected: int


class CourierNotice(enum.Enum):
    """What courier_scan says about the last label (a reason code; the UI puts it in words)."""

    DEPOSITED = "deposited"  # the parcel is in: scan the next one
    UNANNOUNCED_REFUSED = "unannounced_refused"  # not announced, and this locker refuses those: keep it
    LOCKER_FULL = "locker_full"  # no free compartment of that size or larger: keep it
    NO_BIGGER = "no_bigger"  # too small, and no bigger compartment is free: keep it
    NOT_DEPOSITED = "not_deposited"  # the courier kept the parcel (door closed empty, or cancelled)
    ALREADY_HERE = "already_here"  # this label was deposited already
    NOT_A_LABEL = "not_a_label"  # a scan that is no parcel label (a person's code, garbage, too long)
    DOOR_FAULT = "door_fault"  # no door could be opened for it (boards down or every candidate failed)


@dataclass(frozen=True)
class CourierScanView:
    delivered: int
    refused: int
    notice: CourierNotice | None = None
    notice_parcel: str | None = None  # the parcel (or the scanned label) the notice is about
    notice_compartment: str | None = None  # DEPOSITED: where it went
    notice_size: Size | None = None  # LOCKER_FULL / NO_BIGGER: the size that found no room
    can_scan: bool = False  # a camera is there besides the scanner


@dataclass(frozen=True)
class CourierSizeView:
    """A label with no size on record (an unannounced parcel): the courier taps S, M, L or XL."""

    label: str
    available: tuple[Size, ...]  # sizes with a free compartment of that size or larger
    unannounced: bool = True
    photo_taken: bool = False


class CollectReason(enum.Enum):
    EXPIRED = "expired"
    RETURNED = "returned"


@dataclass(frozen=True)
class CollectItem:
    parcel_id: str
    compartment_id: str
    size: Size
    reason: CollectReason
    collected: bool  # taken out in this session (door closed, IR empty where there is one)
    failed: bool = False  # its door did not open, or the parcel is still inside


@dataclass(frozen=True)
class CourierCollectView:
    items: tuple[CollectItem, ...]


@dataclass(frozen=True)
class CourierSummaryView:
    courier_name: str
    delivered: int
    refused: int
    collected: int
    faults: int  # doors that did not open (and were marked out of order) in this session


@dataclass(frozen=True)
class DepositCheckView:
    """A door closed but the IR sensor disagrees: `still_inside` False for a deposit (reads empty: was the
    parcel put in?), True for a collection (still reads a parcel). Offers reopen_button and skip_button."""

    compartment_id: str
    parcel_id: str
    still_inside: bool
    courier: bool  # a courier's door (else a customer's return)


# returns --------------------------------------------------------------------------------------------------

class ReturnCodeError(enum.Enum):
    WRONG_CODE = "wrong_code"  # no return authorisation for this code (or used, or expired)
    MALFORMED = "malformed"  # not 8 to 16 letters or digits
    NOT_VERIFIED = "not_verified"  # unknown here, and the platform cannot be asked just now


@dataclass(frozen=True)
class ReturnCodeView:
    error: ReturnCodeError | None = None
    checking: bool = False  # being checked with the platform
    failures_in_a_row: int = 0
    failures_allowed: int = 5
    locked_seconds: int = 0
    can_scan: bool = False


@dataclass(frozen=True)
class ReturnSizeView:
    """The return's authorised size is preselected; a bigger one can be chosen if the parcel is bigger."""

    authorised: Size
    available: tuple[Size, ...]  # sizes at least `authorised` with a free compartment


@dataclass(frozen=True)
class ReceiptView:
    receipt_code: str
    compartment_id: str
    parcel_id: str


ViewModel = (
    HomeView
    | PickupCodeView
    | PickupScanView
    | PickupCheckingView
    | ParcelListView
    | DoorOpenView
    | ReportProblemView
    | ThankYouView
    | LockedOutView
    | MoreTimeView
    | ErrorView
    | CourierLoginView
    | CourierMenuView
    | CourierScanView
    | CourierSizeView
    | CourierCollectView
    | CourierSummaryView
    | DepositCheckView
    | ReturnCodeView
    | ReturnSizeView
    | ReceiptView
    | PickupFaceView
    | FaceConsentView
    | FaceEnrolView
)


@dataclass(frozen=True)
class Screen:
    id: ScreenId
    view: ViewModel


class Intent(enum.Enum):
    """What the UI can ask of the flows. Arguments travel beside the intent (see KioskController)."""

    START_PICKUP = "start_pickup"
    START_RETURN = "start_return"  # home -> return_code
    START_COURIER = "start_courier"  # home -> courier_login (the small "Courier" button)
    SUBMIT_CODE = "submit_code"  # code: str
    SCAN = "scan"  # payload: str (what a camera, a wedge or a serial scanner read); source: str
    SCAN_INSTEAD = "scan_instead"  # pickup_code -> pickup_scan
    KEYPAD_INSTEAD = "keypad_instead"  # pickup_scan -> pickup_code
    OPEN_ALL = "open_all"
    OPEN_PARCEL = "open_parcel"  # parcel_id: str
    REPORT_PROBLEM = "report_problem"
    CHOOSE_PROBLEM = "choose_problem"  # kind: ProblemKind
    DONE = "done"  # finish now (thank you -> home)
    CANCEL = "cancel"  # back to home from any screen that offers it
    MORE_TIME = "more_time"  # answer to "Need more time?"
    ACTIVITY = "activity"  # any touch: restarts the inactivity timer
    # courier mode
    COURIER_LOGIN = "courier_login"  # courier_id: str, pin: str
    COURIER_DROPOFF = "courier_dropoff"  # courier_menu -> courier_scan
    COURIER_COLLECT = "courier_collect"  # courier_menu -> courier_collect
    COURIER_MENU = "courier_menu"  # back to courier_menu (from courier_scan or courier_collect)
    LOGOUT = "logout"  # -> courier_summary
    CHOOSE_SIZE = "choose_size"  # size: Size or "S"/"M"/"L"/"XL" (courier_size, return_size)
    TOO_SMALL = "too_small"  # courier at an open door: the parcel needs a bigger compartment
    DOOR_FAILED = "door_failed"  # courier at a door the kiosk thinks open: it did not open
    REOPEN = "reopen"  # deposit_check: open that door again
    SKIP = "skip"  # deposit_check: the parcel was not put in (or stays): go on without it
    # returns
    SUBMIT_RETURN_CODE = "submit_return_code"  # code: str
    # face pickup
    FACE_INSTEAD = "face_instead"  # pickup_code -> pickup_face
    OFFER_FACE = "offer_face"  # thank_you -> face_consent
    CONSENT_FACE = "consent_face"  # face_consent -> face_enrol (the recipient agreed)
    DECLINE_FACE = "decline_face"  # face_consent -> thank_you (no thanks)
    FORGET_FACE = "forget_face"  # thank_you: delete this recipient's face

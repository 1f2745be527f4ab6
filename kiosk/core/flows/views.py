"""What the flows hand the UI: a screen id and a small immutable view model per screen.

Core speaks in ids and reason codes; the UI puts them into (translated) words.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.core.model import DoorState, ProblemKind, Size


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


class CodeError(enum.Enum):
    WRONG_CODE = "wrong_code"  # no parcel for this code
    MALFORMED = "malformed"  # not 6 to 8 digits
    FOREIGN = "foreign"  # a scanned code that is not a pickup code for this locker
    NOT_VERIFIED = "not_verified"  # unknown here, and the platform cannot be asked about it just now


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

    RETURNS_NOT_AVAILABLE = "returns_not_available"  # sending and returns are not offered (yet)
    FOREIGN_CODE = "foreign_code"  # a scanned code that is not a code for this locker
    COURIER_NOT_AVAILABLE = "courier_not_available"  # a courier badge was scanned; no courier mode (yet)


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


@dataclass(frozen=True)
class DoorOpenView:
    compartment_ids: tuple[str, ...]  # the doors opened for this user, in order
    cells: tuple[MapCell, ...]
    waiting_for_unlock: bool  # unlock sent, not yet confirmed open


@dataclass(frozen=True)
class ReportProblemView:
    parcel_ids: tuple[str, ...]
    choices: tuple[ProblemKind, ...] = tuple(ProblemKind)


@dataclass(frozen=True)
class ThankYouView:
    parcels_picked_up: int
    problem_reported: ProblemKind | None = None


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
)


@dataclass(frozen=True)
class Screen:
    id: ScreenId
    view: ViewModel


class Intent(enum.Enum):
    """What the UI can ask of the flows. Arguments travel beside the intent (see KioskController)."""

    START_PICKUP = "start_pickup"
    START_RETURN = "start_return"  # not part of this slice: the flow answers with home
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

"""The pickup flow as a statechart (python-statemachine), with no Qt and no I/O of its own.

    home -> pickup_code -> verify -> door_open (one parcel) | parcel_list (several) | pickup_code (wrong)
    verify -> (a code this locker does not know, the platform reachable) checking -> verify
    home, pickup_code, pickup_scan -> (a pickup QR code scanned) verify; pickup_code <-> pickup_scan
    door_open -> (all its doors closed) parcel_list (parcels left) | thank_you -> report_problem -> thank_you
    door_open -> error (door fault, bus down); pickup_code -> locked_out while the keypad is locked
    every screen of the session -> (inactivity) more_time -> back where it was | home (idle)
    home, pickup_code, pickup_scan -> (a return or courier flow takes the screen) elsewhere -> home (idle)

Each resting state names its screen (SCREEN_OF_STATE) and `screen` builds its immutable view model. Every
timer runs on the injected Clock, so tests drive them with ManualClock.advance(). Doors are asked of a
`PickupDoors` port; what the doors did comes back through `door_outcome()` and `door_closed()`. Scanned codes
arrive already parsed (kiosk.core.payloads) as the events scanned_code and scanned_foreign; return codes and
courier badges go to their own charts (the controller hands the screen over with `hand_over`, and takes it
back with `back_home`). A screen that does not take scans ignores them.
`python -m kiosk.core.flows.diagram` draws this chart from the class below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from statemachine import HistoryState, State

from kiosk.core.codes import KeypadLimiter, LimiterStatus, hash_code, normalise_code
from kiosk.core.flows.base import (
    DoorProgress,
    FlowChart,
    OnlineCodeCheck,
    Verdict,
    fail_closed_status,
    map_cells,
    record_wrong_code,
    whole_seconds,
)
from kiosk.core.flows.views import (
    CodeError,
    DoorOpenView,
    ErrorReason,
    ErrorView,
    HomeNotice,
    HomeView,
    LockedOutView,
    ParcelItem,
    ParcelListView,
    PickupCheckingView,
    PickupCodeView,
    PickupScanView,
    PlatformConnection,
    ReportProblemView,
    Screen,
    ScreenId,
    ThankYouView,
    ViewModel,
)
from kiosk.core.locker import DoorOutcome
from kiosk.core.model import Compartment, DoorState, Parcel, PickupMethod, ProblemKind, Timers
from kiosk.core.ports import Clock, Store, TimerHandle

log = logging.getLogger(__name__)


class PickupDoors(Protocol):
    """What the chart needs from the doors (KioskController implements it over the Locker)."""

    def request_open(self, compartment_id: str, parcel_ids: tuple[str, ...], method: PickupMethod) -> None:
        """Start opening a door; never blocks. The result comes back through PickupChart.door_outcome()."""
        ...

    def request_pulse(self, compartment_id: str) -> None:
        """One more unlock pulse for a door seen open that the person says did not open; never blocks."""
        ...

    def door_states(self) -> Mapping[str, DoorState]: ...

    def bus_down(self) -> bool:
        """No lock board answers: the locker is out of service until one does."""
        ...


class PickupOnline(Protocol):
    """The platform, for codes this locker does not know (KioskController implements it)."""

    def can_verify(self) -> bool:
        """Asking the platform is worth the recipient's wait (it answered recently)."""
        ...

    def request_verification(self, attempt: int, code_hash: bytes) -> None:
        """Ask the platform about this keyed hash; never blocks. The answer comes back through
        PickupChart.online_verdict(attempt, ...)."""
        ...


class PickupCamera(Protocol):
    """The camera a recipient can show a QR code to, as far as the flow needs to know."""

    def camera_connected(self) -> bool:
        """Frames are arriving: the scan screen can show a picture."""
        ...


# Screens that wait for the person to do something; they ask "Need more time?" when nothing happens.
_WAITING_STATES = frozenset(
    {"pickup_code", "pickup_scan", "locked_out", "parcel_list", "door_open", "report_problem"}
)
_DOOR_FINISHED = frozenset({DoorProgress.CLOSED})  # closed again: the pickup is committed
_DOOR_FAILED = frozenset({DoorProgress.FAULT, DoorProgress.BUS_DOWN})


@dataclass
class PickupSession:
    """What one recipient has done since tapping "Pick up"; dropped when the flow goes home."""

    parcels: list[ParcelItem] = field(default_factory=list)
    doors: dict[str, DoorProgress] = field(default_factory=dict)  # by compartment id, in request order
    batch: tuple[str, ...] = ()  # the compartments the door screen is about
    code_error: CodeError | None = None
    verdict: Verdict = Verdict.NONE
    error: ErrorView | None = None
    problem: ProblemKind | None = None
    reported_at_the_door: bool = False
    scanning: bool = False  # the last code came from a scan: a wrong one is shown on the scan screen
    method: PickupMethod = PickupMethod.CODE  # how the accepted code was given, for the picked_up events
    unknown_hash: bytes = b""  # the keyed hash being checked with the platform
    verification: int = 0  # which verification the chart waits for; later answers of older ones are stale

    def parcel(self, parcel_id: str) -> ParcelItem | None:
        return next((item for item in self.parcels if item.parcel_id == parcel_id), None)

    def unopened(self) -> list[ParcelItem]:
        return [item for item in self.parcels if item.compartment_id not in self.doors]

    def picked_up(self) -> list[ParcelItem]:
        return [item for item in self.parcels if self.doors.get(item.compartment_id) is DoorProgress.CLOSED]


# The screen each resting state shows; `verify` is transient and never rests.
SCREEN_OF_STATE: Mapping[str, ScreenId] = {
    "home": ScreenId.HOME,
    "pickup_code": ScreenId.PICKUP_CODE,
    "pickup_scan": ScreenId.PICKUP_SCAN,
    "verify": ScreenId.PICKUP_CODE,
    "checking": ScreenId.PICKUP_CHECKING,
    "locked_out": ScreenId.LOCKED_OUT,
    "parcel_list": ScreenId.PARCEL_LIST,
    "door_open": ScreenId.DOOR_OPEN,
    "thank_you": ScreenId.THANK_YOU,
    "report_problem": ScreenId.REPORT_PROBLEM,
    "error": ScreenId.ERROR,
    "more_time": ScreenId.MORE_TIME,
}
# Resting while another chart (courier mode, a return) has the screen: this chart shows nothing of its own.
ELSEWHERE = "elsewhere"


class PickupChart(OnlineCodeCheck, FlowChart):
    """The pickup statechart. Drive it with `dispatch(event, **arguments)` and the door methods."""

    SCREEN_OF_STATE = SCREEN_OF_STATE
    RESTING_STATE = ELSEWHERE
    FLOW_NAME = "the pickup flow"
    RECOVERY_EVENT = "cancel"
    RECOVERY = "going home"

    home = State(initial=True)

    class session(State.Compound):
        """What a recipient sees after tapping "Pick up"; inactivity anywhere in it asks for more time."""

        pickup_code = State(initial=True)
        pickup_scan = State()
        verify = State()
        checking = State()
        locked_out = State()
        parcel_list = State()
        door_open = State()
        thank_you = State()
        report_problem = State()
        error = State()
        resume = HistoryState()

        # The keypad is locked: no code may be typed (or scanned) until the lock ends.
        pickup_code.to(locked_out, cond="keypad_locked")
        pickup_scan.to(locked_out, cond="keypad_locked")
        locked_out.to(pickup_code, unless="keypad_locked")

        scan_instead = pickup_code.to(pickup_scan, cond="camera_present", on="clear_code_error")
        keypad_instead = pickup_scan.to(pickup_code, on="clear_code_error")

        submit_code = pickup_code.to(verify, on="check_code")
        scanned_code = pickup_code.to(verify, on="check_scanned_code") | pickup_scan.to(
            verify, on="check_scanned_code"
        )
        scanned_foreign = pickup_code.to.itself(internal=True, on="refuse_foreign") | pickup_scan.to.itself(
            internal=True, on="refuse_foreign"
        )
        verify.to(checking, cond="ask_platform", on="ask_the_platform")
        online_verdict = checking.to(verify, cond="awaited_verdict", on="apply_online_verdict")
        verify.to(door_open, cond="one_parcel", on="open_every_parcel")
        verify.to(parcel_list, cond="several_parcels")
        verify.to(pickup_scan, cond="retry_by_scan")  # wrong scanned code: keep the camera in view
        verify.to(pickup_code)  # wrong or malformed code, or a lockout (pickup_code passes it on)

        open_parcel = parcel_list.to(door_open, cond="parcel_can_open", on="open_one_parcel")
        open_all = parcel_list.to(door_open, cond="parcels_left", on="open_every_parcel")

        door_open.to(error, cond="door_failed", on="show_door_error")
        door_open.to(parcel_list, cond=["batch_closed", "parcels_left"])
        door_open.to(thank_you, cond="batch_closed")

        # A problem can be reported at the open door ("it did not open") or afterwards; the report goes
        # back where it came from, so a door still open keeps its screen until it is closed.
        report = thank_you.to(report_problem, on="report_after_pickup") | door_open.to(
            report_problem, on="report_at_the_door"
        )
        choose_problem = report_problem.to(
            door_open, cond=["known_problem", "reported_at_the_door"], on="record_problem"
        ) | report_problem.to(thank_you, cond="known_problem", on="record_problem")
        cancel = report_problem.to(door_open, cond="reported_at_the_door") | report_problem.to(
            thank_you
        )  # back without reporting

    more_time = State()
    elsewhere = State()

    start_pickup = home.to(session, on="begin_session")
    # Scan anywhere: a code shown on the home screen starts its flow with no tap.
    scanned_code = home.to(session.verify, on=["begin_session", "check_scanned_code"])
    scanned_foreign = home.to.itself(internal=True, on="notice_foreign")
    # Courier mode or a return takes the screen (a tap on home, or a badge or return code scanned).
    hand_over = home.to(elsewhere) | session.pickup_code.to(elsewhere) | session.pickup_scan.to(elsewhere)
    back_home = elsewhere.to(home, on="mark_idle_return")
    inactivity = session.to(more_time, before="remember_interrupted")
    extend = more_time.to(session.resume)
    # A door of the interrupted door screen moved: the recipient is there, back to it.
    more_time.to(session.resume, event="doors_changed", cond="interrupted_door_open")
    time_up = more_time.to(home, on="mark_idle_return")
    cancel = session.to(home) | more_time.to(home) | elsewhere.to(home, on="mark_idle_return")
    done = session.thank_you.to(home) | session.error.to(home)

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        timers: Timers,
        code_key: bytes,
        layout: Sequence[Compartment],
        doors: PickupDoors,
        limiter: KeypadLimiter | None = None,
        on_screen: Callable[[Screen], None] | None = None,
        camera: PickupCamera | None = None,
        online: PickupOnline | None = None,
    ) -> None:
        self._store = store
        self._code_key = code_key
        self._layout = tuple(layout)
        self._doors = doors
        self._camera = camera
        self._online = online
        self._platform_connection = PlatformConnection.STANDALONE
        self._verifications = 0
        self._limiter = limiter or KeypadLimiter(store, timers)
        self._session = PickupSession()
        self._idle_return = False
        self._home_notice: HomeNotice | None = None
        self._home_notice_timer: TimerHandle | None = None
        super().__init__(clock=clock, timers=timers, on_screen=on_screen)

    # driving the chart ------------------------------------------------------------------------------
    @property
    def session_data(self) -> PickupSession:
        return self._session

    @property
    def limiter(self) -> KeypadLimiter:
        return self._limiter

    def set_platform_connection(self, link: PlatformConnection) -> None:
        """What home shows about the platform; published at once."""
        self._platform_connection = link
        self.publish()

    def door_outcome(self, compartment_id: str, outcome: DoorOutcome) -> None:
        """What the door transaction answered for a door this session asked for."""
        current = self._session.doors.get(compartment_id)
        if current is None or current in _DOOR_FINISHED:
            return  # another session's door, or already closed (a close may overtake its own answer)
        self._session.doors[compartment_id] = {
            DoorOutcome.OPENED: DoorProgress.OPEN,
            DoorOutcome.FAULT: DoorProgress.FAULT,
            DoorOutcome.BUS_DOWN: DoorProgress.BUS_DOWN,
        }[outcome]
        self.dispatch("doors_changed")

    def door_closed(self, compartment_id: str) -> None:
        """The door closed and the pickup of its parcel is committed."""
        if compartment_id not in self._session.doors:
            return
        self._session.doors[compartment_id] = DoorProgress.CLOSED
        self.dispatch("doors_changed")

    @property
    def elsewhere_active(self) -> bool:
        """Another chart has the screen: this one rests and publishes nothing."""
        return not self.active

    def shutdown(self) -> None:
        """Cancel every timer: nothing of this chart fires afterwards unless it is sent an event."""
        super().shutdown()
        if self._home_notice_timer is not None:
            self._home_notice_timer.cancel()
            self._home_notice_timer = None

    # views ------------------------------------------------------------------------------------------
    @property
    def screen(self) -> Screen:
        """The screen of the current state; while another chart has the screen, the home screen this chart
        would go back to (it is never published from there)."""
        state = self.state_id
        if state == ELSEWHERE:
            return Screen(ScreenId.HOME, self._view("home"))
        return Screen(SCREEN_OF_STATE[state], self._view(state))

    def _view(self, state: str) -> ViewModel:
        session = self._session
        now = self._clock.now()
        if state == "home":
            return HomeView(
                idle_return=self._idle_return,
                notice=self._home_notice,
                out_of_service=self._doors.bus_down(),
                can_scan=self._camera is not None,
                platform=self._platform_connection,
            )
        if state == "checking":
            return PickupCheckingView(scanned=session.scanning)
        if state in ("pickup_code", "verify"):
            return PickupCodeView(
                error=session.code_error,
                failures_in_a_row=self._keypad(now).failures_in_a_row,
                failures_allowed=self._timers.lockout_after_failures,
                can_scan=self._camera is not None,
            )
        if state == "pickup_scan":
            return PickupScanView(
                error=session.code_error,
                failures_in_a_row=self._keypad(now).failures_in_a_row,
                failures_allowed=self._timers.lockout_after_failures,
                camera_connected=self._camera is not None and self._camera.camera_connected(),
            )
        if state == "locked_out":
            return LockedOutView(seconds_left=whole_seconds(self._keypad(now).seconds_left))
        if state == "parcel_list":
            return ParcelListView(tuple(self._items()))
        if state == "door_open":
            return self._door_view()
        if state == "report_problem":
            return ReportProblemView(parcel_ids=tuple(item.parcel_id for item in session.parcels))
        if state == "thank_you":
            return ThankYouView(parcels_picked_up=len(session.picked_up()), problem_reported=session.problem)
        if state == "error":
            return session.error or ErrorView(ErrorReason.BUS_DOWN)
        if state == "more_time":
            return self._more_time_view()
        raise AssertionError(f"no view for state {state!r}")

    def _items(self) -> list[ParcelItem]:
        return [
            replace(item, opened=self._session.doors.get(item.compartment_id) is DoorProgress.CLOSED)
            for item in self._session.parcels
        ]

    def _door_view(self) -> DoorOpenView:
        batch = self._session.batch
        cells = map_cells(self._layout, self._doors.door_states(), batch)
        waiting = any(self._session.doors.get(cid) is DoorProgress.REQUESTED for cid in batch)
        return DoorOpenView(compartment_ids=batch, cells=cells, waiting_for_unlock=waiting)

    # guards -----------------------------------------------------------------------------------------
    def keypad_locked(self) -> bool:
        return self._keypad(self._clock.now()).locked

    def _keypad(self, now: float) -> LimiterStatus:
        return fail_closed_status(self._limiter, now, self._timers.lockout_base_s,
                                  limiter_name="keypad limiter")

    def camera_present(self) -> bool:
        return self._camera is not None

    def retry_by_scan(self) -> bool:
        return self._session.scanning and self._camera is not None

    def one_parcel(self) -> bool:
        return self._session.verdict is Verdict.ACCEPTED and len(self._session.parcels) == 1

    def several_parcels(self) -> bool:
        return self._session.verdict is Verdict.ACCEPTED and len(self._session.parcels) > 1

    def parcel_can_open(self, parcel_id: object = None) -> bool:
        item = self._session.parcel(parcel_id) if isinstance(parcel_id, str) else None
        return item is not None and item.compartment_id not in self._session.doors

    def parcels_left(self) -> bool:
        return bool(self._session.unopened())

    def door_failed(self) -> bool:
        return any(self._session.doors.get(cid) in _DOOR_FAILED for cid in self._session.batch)

    def batch_closed(self) -> bool:
        batch = self._session.batch
        return bool(batch) and all(self._session.doors.get(cid) in _DOOR_FINISHED for cid in batch)

    def reported_at_the_door(self) -> bool:
        return self._session.reported_at_the_door

    def known_problem(self, kind: object = None) -> bool:
        return isinstance(kind, ProblemKind)

    # actions ----------------------------------------------------------------------------------------
    def begin_session(self) -> None:
        self._session = PickupSession()

    def notice_foreign(self) -> None:
        self._set_home_notice(HomeNotice.FOREIGN_CODE)

    def refuse_foreign(self) -> None:
        self._session.code_error = CodeError.FOREIGN

    def clear_code_error(self) -> None:
        self._session.code_error = None

    def _set_home_notice(self, notice: HomeNotice | None) -> None:
        if self._home_notice_timer is not None:
            self._home_notice_timer.cancel()
            self._home_notice_timer = None
        self._home_notice = notice
        if notice is not None:
            # Long enough to read, gone before the next person walks up.
            self._home_notice_timer = self._clock.call_later(self._timers.thank_you_s, self._notice_expired)

    def _notice_expired(self) -> None:
        self._home_notice_timer = None
        self._home_notice = None
        self.publish()

    def check_scanned_code(self, code: object = None) -> None:
        self.check_code(code)
        self._session.scanning = True
        self._session.method = PickupMethod.QR

    def check_code(self, code: object = None) -> None:
        session = self._session
        session.scanning = False
        session.method = PickupMethod.CODE
        session.verdict = Verdict.REJECTED
        session.code_error = None
        now = self._clock.now()
        if self._keypad(now).locked:
            return  # the keypad should not have taken it; pickup_code shows the lock
        normalised = normalise_code(code)
        if normalised is None:
            session.code_error = CodeError.MALFORMED
            return
        code_hash = hash_code(self._code_key, normalised)
        parcels = [
            parcel
            for parcel in self._store.parcels_for_code_hash(code_hash)
            if parcel.compartment_id is not None
        ]
        if not parcels and self._online is not None:
            if not self._to_the_platform(self._online, code_hash):
                # The platform might know it (a code issued since the last sync), but cannot be asked now.
                self._accept_or_refuse(parcels, now, CodeError.NOT_VERIFIED)
            return
        self._accept_or_refuse(parcels, now, CodeError.WRONG_CODE)

    def ask_the_platform(self) -> None:
        assert self._online is not None  # ask_platform holds only with a platform
        attempt = self._next_verification()
        self._store.audit("code_checked_online", self._clock.now())
        self._online.request_verification(attempt, self._session.unknown_hash)

    def apply_online_verdict(
        self, attempt: object = None, parcels: Sequence[Parcel] = (), unavailable: bool = False
    ) -> None:
        """The platform's answer: the parcels in this locker its credential opens (none: it knows no such
        code, or could not be asked — `unavailable` — which counts as a wrong code all the same, so the
        keypad limit cannot be dodged by making the platform slow)."""
        session = self._session
        session.unknown_hash = b""
        in_locker = [parcel for parcel in parcels if parcel.compartment_id is not None]
        self._accept_or_refuse(in_locker, self._clock.now(),
                               CodeError.NOT_VERIFIED if unavailable else CodeError.WRONG_CODE)

    def _accept_or_refuse(self, parcels: Sequence[Parcel], now: float, error: CodeError) -> None:
        session = self._session
        session.verdict = Verdict.REJECTED
        if not parcels:
            if not record_wrong_code(self._store, self._limiter, now, rejected="code_rejected",
                                     locked="keypad_locked"):
                session.code_error = error
            return
        self._limiter.record_success(now)
        session.parcels = [
            ParcelItem(parcel.id, parcel.compartment_id, parcel.size, opened=False)
            for parcel in parcels
            if parcel.compartment_id is not None
        ]
        session.verdict = Verdict.ACCEPTED
        self._store.audit("code_accepted", now, parcel_ids=[item.parcel_id for item in session.parcels])

    def open_one_parcel(self, parcel_id: object = None) -> None:
        item = self._session.parcel(parcel_id) if isinstance(parcel_id, str) else None
        if item is not None:
            self._open((item,))

    def open_every_parcel(self) -> None:
        self._open(tuple(self._session.unopened()))

    def _open(self, items: tuple[ParcelItem, ...]) -> None:
        by_compartment: dict[str, list[str]] = {}
        for item in items:
            by_compartment.setdefault(item.compartment_id, []).append(item.parcel_id)
        self._session.batch = tuple(by_compartment)
        for compartment_id in by_compartment:
            self._session.doors[compartment_id] = DoorProgress.REQUESTED
        for compartment_id, parcel_ids in by_compartment.items():
            self._doors.request_open(compartment_id, tuple(parcel_ids), self._session.method)

    def show_door_error(self) -> None:
        session = self._session
        failed = [cid for cid in session.batch if session.doors.get(cid) in _DOOR_FAILED]
        faulted = [cid for cid in failed if session.doors[cid] is DoorProgress.FAULT]
        still_in_locker = any(session.doors.get(item.compartment_id) is not DoorProgress.CLOSED
                              for item in session.parcels)
        if faulted:
            session.error = ErrorView(ErrorReason.DOOR_FAULT, faulted[0], code_still_valid=still_in_locker)
        else:
            session.error = ErrorView(ErrorReason.BUS_DOWN, failed[0] if failed else None,
                                      code_still_valid=still_in_locker)

    def report_at_the_door(self) -> None:
        self._session.reported_at_the_door = True

    def report_after_pickup(self) -> None:
        self._session.reported_at_the_door = False

    def record_problem(self, kind: object = None) -> None:
        if not isinstance(kind, ProblemKind):
            return
        self._session.problem = kind
        if kind is ProblemKind.DOOR_DID_NOT_OPEN and self._session.reported_at_the_door:
            for compartment_id in self._session.batch:
                if self._session.doors.get(compartment_id) is DoorProgress.OPEN:
                    self._doors.request_pulse(compartment_id)
        # The audit entries and the platform's problem_report events commit together.
        parcel_ids = [item.parcel_id for item in self._session.parcels]
        self._store.report_problem(kind, parcel_ids, self._clock.now())

    def mark_idle_return(self, idle: object = True) -> None:
        """Home after nobody tapped for a while (a time-up, or another flow that timed out): the UI resets
        the language. `idle` False: another flow finished or was cancelled by the person at the screen."""
        self._idle_return = idle is True

    # entering states and their timers --------------------------------------------------------------------
    def _entering(self, state: str) -> None:
        if state == "home":
            self._session = PickupSession()
        else:
            self._idle_return = False
            self._set_home_notice(None)

    def _timeout(self, state: str) -> tuple[float, str] | None:
        if state == "thank_you":
            return self._timers.thank_you_s, "inactivity"
        if state == "error":
            return self._timers.error_s, "inactivity"
        if state in _WAITING_STATES:
            return self._timers.inactivity_s, "inactivity"
        return None

    def _countdown(self, state: str) -> float | None:
        return self._keypad(self._clock.now()).seconds_left if state == "locked_out" else None

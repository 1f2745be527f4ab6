"""The pickup flow as a statechart (python-statemachine), with no Qt and no I/O of its own.

    home -> pickup_code -> verify -> door_open (one parcel) | parcel_list (several) | pickup_code (wrong)
    verify -> (a code this locker does not know, the platform reachable) checking -> verify
    home, pickup_code, pickup_scan -> (a pickup QR code scanned) verify; pickup_code <-> pickup_scan
    door_open -> (all its doors closed) parcel_list (parcels left) | thank_you -> report_problem -> thank_you
    door_open -> error (door fault, bus down); pickup_code -> locked_out while the keypad is locked
    every screen of the session -> (inactivity) more_time -> back where it was | home (idle)
    home, pickup_code, pickup_scan, pickup_face -> (a return or courier flow takes the screen) elsewhere
    elsewhere -> (that flow is over) home
    home -> (an enrolled recipient's face comes into view) pickup_face; pickup_code <-> pickup_face
    pickup_face -> (a live face matched) verify | (no match in time) pickup_code | (nobody there) home
    thank_you -> (offer_face) face_consent -> face_enrol -> thank_you (saved or not); thank_you: forget_face

Each resting state names its screen (SCREEN_OF_STATE) and `screen` builds its immutable view model. Every
timer runs on the injected Clock, so tests drive them with ManualClock.advance(). Doors are asked of a
`PickupDoors` port; what the doors did comes back through `door_outcome()` and `door_closed()`. Faces are
asked of a `PickupFaces` port: the matching and the enrolment run elsewhere (a child process), and their
news arrives as events (face_seen, face_guidance, face_matched, enrol_progress, face_enrolled,
face_enrol_failed); the chart never sees a picture or an encoding, only recipient refs. Scanned codes
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
    FaceConsentView,
    FaceEnrolView,
    FaceNotice,
    HomeNotice,
    HomeView,
    LockedOutView,
    ParcelItem,
    ParcelListView,
    PickupCheckingView,
    PickupCodeView,
    PickupFaceView,
    PickupScanView,
    PlatformConnection,
    ReportProblemView,
    Screen,
    ScreenId,
    ThankYouView,
    ViewModel,
)
from kiosk.core.locker import DoorOutcome
from kiosk.core.model import (
    Compartment,
    DoorState,
    FaceEnrolFailure,
    FaceGuidance,
    FacePolicy,
    Parcel,
    PickupMethod,
    ProblemKind,
    Timers,
)
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


class PickupFaces(Protocol):
    """The face engine, as far as the flow needs to know (the app's face service implements it)."""

    def face_pickup_ready(self) -> bool:
        """A camera and the face engine can be used, and at least one enrolled recipient has a parcel in the
        locker now (else pickup_face is never offered)."""
        ...

    def can_enrol_faces(self) -> bool:
        """A camera, the face engine and a face key: enrolment can be offered."""
        ...

    def request_enrolment(self, attempt: int, recipient_ref: str) -> None:
        """Start capturing (the face target is ENROL while face_enrol shows); never blocks. The outcome comes
        back as chart.dispatch("face_enrolled", attempt=...) or ("face_enrol_failed", attempt=...,
        failure=...)."""
        ...

    def cancel_enrolment(self) -> None:
        """Stop the enrolment under way, saving nothing; nothing if none is."""
        ...


# Screens that wait for the person to do something; they ask "Need more time?" when nothing happens.
_WAITING_STATES = frozenset(
    {"pickup_code", "pickup_scan", "locked_out", "parcel_list", "door_open", "report_problem", "face_consent"}
)
# An enrolment that the face service has not answered this long after its own deadline never will.
ENROL_BACKSTOP_S = 5.0
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
    # face pickup and enrolment
    face_automatic: bool = False  # pickup_face came up by itself (a face seen on home), not by a tap
    face_guidance: FaceGuidance = FaceGuidance.NO_FACE  # the latest on pickup_face
    matched_ref: str | None = None  # the recipient a face pickup matched
    enrolment: int = 0  # which enrolment the chart waits for; answers of older ones are stale
    enrolment_pending: bool = False  # asked for and not yet answered (leaving face_enrol cancels it)
    enrol_frames: int = 0
    enrol_guidance: FaceGuidance = FaceGuidance.NO_FACE
    face_notice: FaceNotice | None = None
    enrol_failure: FaceEnrolFailure | None = None
    face_declined: bool = False  # said no to the offer: not asked again in this session
    face_enrolled: bool = False
    face_forgotten: bool = False

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
    "pickup_face": ScreenId.PICKUP_FACE,
    "face_consent": ScreenId.FACE_CONSENT,
    "face_enrol": ScreenId.FACE_ENROL,
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
        pickup_face = State()
        face_consent = State()
        face_enrol = State()
        resume = HistoryState()

        # The keypad is locked: no code may be typed (or scanned) until the lock ends.
        pickup_code.to(locked_out, cond="keypad_locked")
        pickup_scan.to(locked_out, cond="keypad_locked")
        locked_out.to(pickup_code, unless="keypad_locked")

        scan_instead = pickup_code.to(pickup_scan, cond="camera_present", on="clear_code_error")
        keypad_instead = pickup_scan.to(pickup_code, on="clear_code_error") | pickup_face.to(
            pickup_code, on="clear_code_error"
        )
        face_instead = pickup_code.to(pickup_face, cond="faces_ready",
                                      on=["clear_code_error", "note_face_chosen"])

        submit_code = pickup_code.to(verify, on="check_code")
        scanned_code = (
            pickup_code.to(verify, on="check_scanned_code")
            | pickup_scan.to(verify, on="check_scanned_code")
            | pickup_face.to(verify, on="check_scanned_code")
        )
        scanned_foreign = (
            pickup_code.to.itself(internal=True, on="refuse_foreign")
            | pickup_scan.to.itself(internal=True, on="refuse_foreign")
            | pickup_face.to(pickup_scan, cond="camera_present", on="refuse_foreign")
            | pickup_face.to(pickup_code, on="refuse_foreign")
        )

        # Face pickup: the face service reports what it sees; a match is accepted like a code. Its news
        # changes the view only (targetless: the state is not entered again, so its timer runs on).
        face_guidance = pickup_face.to(None, on="note_face_guidance")
        face_matched = pickup_face.to(verify, cond="recipient_has_parcels", on="accept_face") | (
            pickup_face.to(None, on="note_no_parcels_for_face")
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
        cancel = (
            report_problem.to(door_open, cond="reported_at_the_door")
            | report_problem.to(thank_you)  # back without reporting
            | face_consent.to(thank_you, on="decline_face_offer")
            | face_enrol.to(thank_you)  # leaving face_enrol cancels the enrolment (see _entering)
        )

        # Enrolment, opt-in only, after a pickup: consent first, then a few frames.
        offer_face = thank_you.to(face_consent, cond="face_can_be_offered")
        decline_face = face_consent.to(thank_you, on="decline_face_offer")
        # The engine or camera went away while the consent was read: say so rather than ignore the tap.
        consent_face = face_consent.to(face_enrol, cond="face_can_be_offered", on="start_enrolment") | (
            face_consent.to(thank_you, on="note_enrolment_unavailable")
        )
        enrol_progress = face_enrol.to(None, on="note_enrol_progress")  # the backstop timer runs on
        face_enrolled = face_enrol.to(thank_you, cond="awaited_enrolment", on="note_face_enrolled")
        face_enrol_failed = face_enrol.to(thank_you, cond="awaited_enrolment", on="note_enrol_failed")
        enrol_timed_out = face_enrol.to(thank_you, on="note_enrol_timed_out")
        # An external self-transition: the thank-you timer starts again, so the notice can be read.
        forget_face = thank_you.to.itself(cond="face_can_be_forgotten", on="forget_recipient_face")

    more_time = State()
    elsewhere = State()

    start_pickup = home.to(session, on="begin_session")
    # Scan anywhere: a code shown on the home screen starts its flow with no tap.
    scanned_code = home.to(session.verify, on=["begin_session", "check_scanned_code"])
    scanned_foreign = home.to.itself(internal=True, on="notice_foreign")
    # An enrolled recipient with a parcel here walked up: face pickup starts with no tap.
    face_seen = home.to(session.pickup_face, cond="faces_ready", on=["begin_session", "note_face_seen"])
    # pickup_face's own timer (it has no inactivity timer): a passer-by who looked and left goes home
    # unasked; anyone else is told the face was not recognised and gets the keypad.
    face_attempt_over = session.pickup_face.to(home, cond="passer_by_left", on="mark_idle_return") | (
        session.pickup_face.to(session.pickup_code, on="note_face_not_recognised")
    )
    # Courier mode or a return takes the screen (a tap on home, or a badge or return code scanned).
    hand_over = (
        home.to(elsewhere)
        | session.pickup_code.to(elsewhere)
        | session.pickup_scan.to(elsewhere)
        | session.pickup_face.to(elsewhere)
    )
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
        faces: PickupFaces | None = None,
        face_policy: FacePolicy = FacePolicy(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        self._store = store
        self._code_key = code_key
        self._layout = tuple(layout)
        self._doors = doors
        self._camera = camera
        self._online = online
        self._faces = faces
        self._face_policy = face_policy
        self._platform_connection = PlatformConnection.STANDALONE
        self._verifications = 0
        self._enrolments = 0  # enrolments asked for so far (their numbers tell stale answers apart)
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

    @property
    def face_policy(self) -> FacePolicy:
        return self._face_policy

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
        self._stop_pending_enrolment()

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
                can_use_face=self.faces_ready(),
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
            return ThankYouView(
                parcels_picked_up=len(session.picked_up()),
                problem_reported=session.problem,
                can_offer_face=self.face_can_be_offered(),
                can_forget_face=self.face_can_be_forgotten(),
                face_notice=session.face_notice,
                enrol_failure=session.enrol_failure,
            )
        if state == "pickup_face":
            return PickupFaceView(guidance=session.face_guidance,
                                  camera_connected=self._camera_gives_frames(),
                                  can_scan=self._camera is not None)
        if state == "face_consent":
            return FaceConsentView(forget_after_days=self._face_policy.forget_after_days)
        if state == "face_enrol":
            return FaceEnrolView(frames_taken=session.enrol_frames,
                                 frames_needed=self._face_policy.enrol_frames,
                                 guidance=session.enrol_guidance,
                                 camera_connected=self._camera_gives_frames())
        if state == "error":
            return session.error or ErrorView(ErrorReason.BUS_DOWN)
        if state == "more_time":
            return self._more_time_view()
        raise AssertionError(f"no view for state {state!r}")

    def _camera_gives_frames(self) -> bool:
        # Without a camera port the face service's readiness stood for the camera when the screen came up.
        return self._camera is None or self._camera.camera_connected()

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

    def faces_ready(self) -> bool:
        """Face pickup can be offered now (engine, camera, and an enrolled recipient with a parcel here)."""
        faces = self._faces
        if faces is None or not self._face_policy.enabled:
            return False
        try:
            return faces.face_pickup_ready()
        except Exception:
            log.exception("cannot tell whether face pickup is ready; not offering it")
            return False

    def recipient_has_parcels(self, recipient_ref: object = None) -> bool:
        return isinstance(recipient_ref, str) and bool(self._parcels_of(recipient_ref))

    def passer_by_left(self) -> bool:
        """pickup_face came up by itself and nobody is in view any more: nobody asked for anything."""
        return self._session.face_automatic and self._session.face_guidance is FaceGuidance.NO_FACE

    def face_can_be_offered(self) -> bool:
        """After a code or QR pickup of one recipient's parcels who is not enrolled and has not said no (or
        withdrawn) in this session, with the face engine able to enrol."""
        session = self._session
        faces = self._faces
        if faces is None or not self._face_policy.enabled:
            return False
        if session.method not in (PickupMethod.CODE, PickupMethod.QR):
            return False
        if session.face_declined or session.face_enrolled or session.face_forgotten:
            return False
        try:
            recipient_ref = self._recipient_ref()
            if recipient_ref is None or self._store.has_face(recipient_ref):
                return False
            return faces.can_enrol_faces()
        except Exception:
            log.exception("cannot tell whether a face enrolment can be offered; not offering it")
            return False

    def face_can_be_forgotten(self) -> bool:
        """The recipient of this pickup (by code, QR or face) has an enrolled face. Asked of the store alone:
        withdrawing consent must work with the camera or the face engine gone."""
        if self._session.face_forgotten:
            return False
        try:
            recipient_ref = self._recipient_ref()
            return recipient_ref is not None and self._store.has_face(recipient_ref)
        except Exception:
            log.exception("cannot tell whether this recipient has an enrolled face")
            return False

    def awaited_enrolment(self, attempt: object = None, **_outcome: object) -> bool:
        session = self._session
        return session.enrolment_pending and attempt == session.enrolment

    def _recipient_ref(self) -> str | None:
        """Whose pickup this was: the matched recipient of a face pickup, else the one recipient every parcel
        picked up belongs to (None: unknown, or parcels of several recipients)."""
        session = self._session
        if session.method is PickupMethod.FACE:
            return session.matched_ref
        refs = {self._store.parcel(item.parcel_id).recipient_ref for item in session.picked_up()}
        return refs.pop() if len(refs) == 1 else None

    def _parcels_of(self, recipient_ref: str) -> list[Parcel]:
        return [parcel for parcel in self._store.parcels_for_recipient(recipient_ref)
                if parcel.compartment_id is not None]

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

    def note_face_seen(self) -> None:
        self._session.face_automatic = True

    def note_face_chosen(self) -> None:
        self._session.face_automatic = False

    def note_face_guidance(self, guidance: object = None) -> None:
        if isinstance(guidance, FaceGuidance):
            self._session.face_guidance = guidance

    def accept_face(self, recipient_ref: object = None) -> None:
        """A live face matched `recipient_ref`: their parcels here open as for a code, with method FACE. The
        keypad limiter hears nothing: a face is not a guessed code, and must not clear a run of wrong ones."""
        assert isinstance(recipient_ref, str)  # recipient_has_parcels holds only for text
        session = self._session
        session.scanning = False
        session.code_error = None
        session.method = PickupMethod.FACE
        session.matched_ref = recipient_ref
        session.parcels = [
            ParcelItem(parcel.id, parcel.compartment_id, parcel.size, opened=False)
            for parcel in self._parcels_of(recipient_ref)
            if parcel.compartment_id is not None
        ]
        session.verdict = Verdict.ACCEPTED
        now = self._clock.now()
        self._store.face_used(recipient_ref, now)
        # Which parcels, never what matched or how closely: the audit log holds no biometric data.
        self._store.audit("face_accepted", now, parcel_ids=[item.parcel_id for item in session.parcels])

    def note_no_parcels_for_face(self, recipient_ref: object = None) -> None:
        # Picked up since the gallery was built: not someone this locker can serve now.
        log.info("a face matched a recipient with no parcel in the locker now; not recognised")
        self._session.face_guidance = FaceGuidance.NOT_RECOGNISED

    def note_face_not_recognised(self) -> None:
        self._session.code_error = CodeError.FACE_NOT_RECOGNISED
        self._store.audit("face_not_recognised", self._clock.now(),
                          guidance=self._session.face_guidance.value)

    def decline_face_offer(self) -> None:
        self._session.face_declined = True

    def start_enrolment(self) -> None:
        assert self._faces is not None  # face_can_be_offered holds only with faces
        recipient_ref = self._recipient_ref()
        assert recipient_ref is not None  # face_can_be_offered holds only with one recipient
        session = self._session
        self._enrolments += 1
        session.enrolment = self._enrolments
        session.enrolment_pending = True
        session.enrol_frames = 0
        session.enrol_guidance = FaceGuidance.NO_FACE
        session.face_notice = None
        session.enrol_failure = None
        self._store.audit("face_consent_given", self._clock.now(),
                          parcel_ids=[item.parcel_id for item in session.picked_up()])
        self._faces.request_enrolment(session.enrolment, recipient_ref)

    def note_enrol_progress(self, frames_taken: object = None, guidance: object = None) -> None:
        session = self._session
        if isinstance(frames_taken, int) and not isinstance(frames_taken, bool):
            session.enrol_frames = max(0, min(frames_taken, self._face_policy.enrol_frames))
        if isinstance(guidance, FaceGuidance):
            session.enrol_guidance = guidance

    def note_face_enrolled(self) -> None:
        session = self._session
        session.enrolment_pending = False
        session.face_enrolled = True
        session.face_notice = FaceNotice.SAVED
        session.enrol_failure = None

    def note_enrol_failed(self, failure: object = None) -> None:
        session = self._session
        session.enrolment_pending = False
        session.face_notice = FaceNotice.NOT_SAVED
        session.enrol_failure = (failure if isinstance(failure, FaceEnrolFailure)
                                 else FaceEnrolFailure.UNAVAILABLE)

    def note_enrolment_unavailable(self) -> None:
        self._session.face_notice = FaceNotice.NOT_SAVED
        self._session.enrol_failure = FaceEnrolFailure.UNAVAILABLE

    def note_enrol_timed_out(self) -> None:
        # The service missed its own deadline: it is cancelled on the way out (enrolment still pending).
        log.warning("face enrolment %d got no answer in time; cancelling it", self._session.enrolment)
        self._session.face_notice = FaceNotice.NOT_SAVED
        self._session.enrol_failure = FaceEnrolFailure.TIMED_OUT

    def forget_recipient_face(self) -> None:
        recipient_ref = self._recipient_ref()
        assert recipient_ref is not None  # face_can_be_forgotten holds only with one recipient
        session = self._session
        self._store.forget_face(recipient_ref, self._clock.now(), "recipient")
        session.face_forgotten = True
        session.face_notice = FaceNotice.FORGOTTEN
        session.enrol_failure = None

    def _stop_pending_enrolment(self) -> None:
        """Leaving face_enrol before its answer (cancel, time up, home): the capture stops, saving nothing."""
        if not self._session.enrolment_pending:
            return
        self._session.enrolment_pending = False
        if self._faces is not None:
            try:
                self._faces.cancel_enrolment()
            except Exception:
                log.exception("could not cancel the face enrolment")

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
        if state != "face_enrol":
            self._stop_pending_enrolment()
        if state == "home":
            self._session = PickupSession()
        else:
            self._idle_return = False
            self._set_home_notice(None)
        if state == "pickup_face":
            self._session.face_guidance = FaceGuidance.NO_FACE

    def _timeout(self, state: str) -> tuple[float, str] | None:
        if state == "thank_you":
            return self._timers.thank_you_s, "inactivity"
        if state == "pickup_face":
            return self._face_policy.attempt_s, "face_attempt_over"
        if state == "face_enrol":
            return self._face_policy.enrol_timeout_s + ENROL_BACKSTOP_S, "enrol_timed_out"
        if state == "error":
            return self._timers.error_s, "inactivity"
        if state in _WAITING_STATES:
            return self._timers.inactivity_s, "inactivity"
        return None

    def _countdown(self, state: str) -> float | None:
        return self._keypad(self._clock.now()).seconds_left if state == "locked_out" else None

"""KioskController: the one object the UI (through its bridge) and the QA driver talk to.

One controller, three charts. Home belongs to the pickup chart; when courier mode or a return starts (a tap
on home, a badge or a return code scanned), the pickup chart rests in `elsewhere` and the started chart's
screens are published; when that chart is done, pickup goes home (resetting the language, like an idle
return).

The controller turns intents into statechart events for the chart that has the screen, runs door
transactions, PIN checks, photos and online verifications as asyncio tasks it owns, routes the Locker's door
news to the chart that asked for the door, and never lets an exception reach the caller of `intent()`: a
malformed intent is logged and ignored, a failure inside a flow is logged and the kiosk goes back home rather
than freeze on a screen.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from kiosk.core.codes import KeypadLimiter
from kiosk.core.couriers import (
    PasswordHashError,
    courier_limiter,
    return_code_limiter,
    verify_password,
)
from kiosk.core.flows.api import FlowListener
from kiosk.core.flows.base import FlowChart
from kiosk.core.flows.courier import CourierChart, PinVerdict
from kiosk.core.flows.pickup import PickupCamera, PickupChart, PickupFaces
from kiosk.core.flows.returns import ReturnsChart
from kiosk.core.flows.views import FaceTarget, Intent, PlatformConnection, Screen, ScreenId
from kiosk.core.locker import DoorFinish, DoorOutcome, Locker
from kiosk.core.model import (
    Compartment,
    CompartmentState,
    CompartmentStatus,
    CourierPolicy,
    Deposit,
    DoorPurpose,
    DoorState,
    FaceEnrolFailure,
    FaceGuidance,
    FacePolicy,
    JournalEntry,
    Parcel,
    PickupMethod,
    ProblemKind,
    ReturnAuthorisation,
    Size,
    Timers,
)
from kiosk.core.payloads import (
    CourierBadgePayload,
    PickupPayload,
    Refused,
    ReturnPayload,
    ScanTarget,
    parse_scan,
)
from kiosk.core.ports import Clock, OnlineVerifier, ParcelCamera, Store, VerificationUnavailable

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Intent -> pickup chart event, for the intents that carry no argument.
_SIMPLE_EVENTS: Mapping[Intent, str] = {
    Intent.START_PICKUP: "start_pickup",
    Intent.OPEN_ALL: "open_all",
    Intent.REPORT_PROBLEM: "report",
    Intent.DONE: "done",
    Intent.CANCEL: "cancel",
    Intent.MORE_TIME: "extend",
    Intent.SCAN_INSTEAD: "scan_instead",
    Intent.KEYPAD_INSTEAD: "keypad_instead",
    Intent.FACE_INSTEAD: "face_instead",
    Intent.OFFER_FACE: "offer_face",
    Intent.CONSENT_FACE: "consent_face",
    Intent.DECLINE_FACE: "decline_face",
    Intent.FORGET_FACE: "forget_face",
}
_COURIER_EVENTS: Mapping[Intent, str] = {
    Intent.COURIER_DROPOFF: "dropoff",
    Intent.COURIER_COLLECT: "go_collect",
    Intent.COURIER_MENU: "to_menu",
    Intent.LOGOUT: "logout",
    Intent.TOO_SMALL: "too_small",
    Intent.REOPEN: "reopen",
    Intent.SKIP: "skip",
    Intent.OPEN_ALL: "open_all",
    Intent.DONE: "done",
    Intent.CANCEL: "cancel",
    Intent.MORE_TIME: "extend",
}
_RETURN_EVENTS: Mapping[Intent, str] = {
    Intent.REOPEN: "reopen",
    Intent.SKIP: "skip",
    Intent.DONE: "done",
    Intent.CANCEL: "cancel",
    Intent.MORE_TIME: "extend",
}

# The screens where someone may walk up and show a code: a scan there starts (or continues) its flow. On the
# thank-you screen the last person is done, so a scan is the next person's. A QR code shown on the face
# screen is read too: the recipient chose the quicker way.
SCAN_SCREENS = frozenset({ScreenId.HOME, ScreenId.PICKUP_CODE, ScreenId.PICKUP_SCAN, ScreenId.PICKUP_FACE,
                          ScreenId.THANK_YOU, ScreenId.COURIER_LOGIN, ScreenId.RETURN_CODE})
LABEL_SCREENS = frozenset({ScreenId.COURIER_SCAN})
SCAN_SOURCES = ("camera", "wedge", "serial")
# The verifier answers within its own timeout; this is the backstop that keeps the checking screen finite.
VERIFY_DEADLINE_S = 10.0
# A camera that gives no picture in this time gives none: the unannounced parcel goes in without a photo.
PHOTO_DEADLINE_S = 5.0


class _DoorAsker(Protocol):
    """A chart that asks for doors: what the door transaction answered goes back to it."""

    def door_outcome(self, compartment_id: str, outcome: DoorOutcome) -> None: ...


class _DoorChart(_DoorAsker, Protocol):
    """A chart that asks for deposit or collection doors: it hears how they ended, too."""

    def door_finished(self, compartment_id: str, finish: DoorFinish) -> None: ...


class _DepositDesk:
    """The doors as one deposit chart sees them (base.DepositDoors): answers go back to that chart."""

    def __init__(self, controller: KioskController) -> None:
        self._controller = controller
        self.chart: _DoorChart | None = None

    def _owner(self) -> _DoorChart:
        assert self.chart is not None, "the desk is given its chart right after the chart is made"
        return self.chart

    def request_deposit(self, compartment_id: str, purpose: DoorPurpose, deposit: Deposit) -> None:
        self._controller._request_deposit(self._owner(), compartment_id, purpose, deposit)

    def request_collection(self, compartment_id: str, parcel_ids: tuple[str, ...], courier_id: str) -> None:
        self._controller._request_collection(self._owner(), compartment_id, parcel_ids, courier_id)

    def abandon(self, compartment_id: str, reason: str, *, out_of_order: bool = False) -> bool:
        return self._controller._abandon(compartment_id, reason, out_of_order=out_of_order)

    def busy_compartments(self) -> Collection[str]:
        return self._controller.busy_compartments()

    def door_states(self) -> Mapping[str, DoorState]:
        return self._controller.door_states()


class KioskController:
    """Implements kiosk.core.flows.api.Flows: pickup, courier mode and returns."""

    def __init__(
        self,
        store: Store,
        locker: Locker,
        clock: Clock,
        timers: Timers,
        code_key: bytes,
        layout: Sequence[Compartment],
        *,
        locker_id: str = "",
        camera: PickupCamera | None = None,
        verifier: OnlineVerifier | None = None,
        parcel_camera: ParcelCamera | None = None,
        courier_policy: CourierPolicy = CourierPolicy(),  # noqa: B008 - frozen, shared safely
        faces: PickupFaces | None = None,
        face_policy: FacePolicy = FacePolicy(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        self._store = store
        self._faces = faces
        self._locker_id = locker_id
        self._locker = locker
        self._clock = clock
        self._listeners: list[FlowListener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._verifier = verifier
        self._parcel_camera = parcel_camera
        self._door_owner: dict[str, _DoorChart] = {}
        self.limiter = KeypadLimiter(store, timers)
        self.courier_limiter = courier_limiter(store, timers, courier_policy)
        self.return_limiter = return_code_limiter(store, timers)
        self._chart = PickupChart(
            store=store,
            clock=clock,
            timers=timers,
            code_key=code_key,
            layout=layout,
            doors=self,
            limiter=self.limiter,
            camera=camera,
            online=self if verifier is not None else None,
            faces=faces,
            face_policy=face_policy,
        )
        courier_desk = _DepositDesk(self)
        self._courier = CourierChart(
            store=store,
            clock=clock,
            timers=timers,
            code_key=code_key,
            layout=layout,
            doors=courier_desk,
            services=self,
            policy=courier_policy,
            limiter=self.courier_limiter,
            can_scan=camera is not None,
        )
        courier_desk.chart = self._courier
        returns_desk = _DepositDesk(self)
        self._returns = ReturnsChart(
            store=store,
            clock=clock,
            timers=timers,
            code_key=code_key,
            layout=layout,
            doors=returns_desk,
            online=self if verifier is not None else None,
            limiter=self.return_limiter,
            can_scan=camera is not None,
        )
        returns_desk.chart = self._returns
        self._active: FlowChart = self._chart
        self._screen = self._chart.screen
        self._shown_by: object = self._chart
        for chart in (self._chart, self._courier, self._returns):
            chart.set_screen_callback(self._publisher(chart))
        for chart in (self._courier, self._returns):
            chart.set_end_callback(self._sub_flow_ended)
        locker.add_listener(self)

    # Flows --------------------------------------------------------------------------------------------
    @property
    def screen(self) -> Screen:
        return self._screen

    @property
    def chart(self) -> PickupChart:
        return self._chart

    @property
    def courier_chart(self) -> CourierChart:
        return self._courier

    @property
    def returns_chart(self) -> ReturnsChart:
        return self._returns

    @property
    def active_chart(self) -> FlowChart:
        """The chart whose screens are shown now."""
        return self._active

    def add_listener(self, listener: FlowListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: FlowListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def door_states(self) -> dict[str, DoorState]:
        return self._locker.door_states()

    def busy_compartments(self) -> set[str]:
        """Compartments not to offer anyone now: a door transaction in flight, or the door seen open."""
        busy = set(self._locker.unfinished())
        busy.update(cid for cid, state in self._locker.door_states().items() if state is DoorState.OPEN)
        return busy

    def scan_target(self) -> ScanTarget:
        """What the screen shown now reads from a camera or scanner: parcel labels on courier_scan, people's
        codes where someone may walk up or log in, nothing while a door is open or a message is read."""
        if self._screen.id in LABEL_SCREENS:
            return ScanTarget.PARCEL_LABELS
        return ScanTarget.PERSON_CODES if self._screen.id in SCAN_SCREENS else ScanTarget.NONE

    def face_target(self) -> FaceTarget:
        """What the screen shown now wants from the face engine: on home, a word when a face comes into view
        (only while an enrolled recipient has a parcel here); matching on pickup_face; capture on
        face_enrol; nothing anywhere else."""
        if self._active is not self._chart or self._stopped:
            return FaceTarget.NONE
        screen = self._screen.id
        if screen is ScreenId.PICKUP_FACE:
            return FaceTarget.MATCH
        if screen is ScreenId.FACE_ENROL:
            return FaceTarget.ENROL
        if screen is ScreenId.HOME and self._chart.faces_ready():
            return FaceTarget.WATCH
        return FaceTarget.NONE

    # the face service's news (on the loop thread); each is ignored where it does not apply ---------------
    def face_seen(self) -> None:
        """A face came into view on home: face pickup starts with no tap (when it is ready)."""
        self._face_event("face_seen")

    def face_guidance(self, guidance: FaceGuidance) -> None:
        if not isinstance(guidance, FaceGuidance):
            log.warning("face guidance %r is not a FaceGuidance; ignored", type(guidance).__name__)
            return
        self._face_event("face_guidance", guidance=guidance)

    def face_matched(self, recipient_ref: str) -> None:
        """Frames in a row agreed on this recipient, and the liveness check passed."""
        if not isinstance(recipient_ref, str) or not recipient_ref:
            log.warning("a face match without a recipient ref (got %s); ignored",
                        type(recipient_ref).__name__)
            return
        self._face_event("face_matched", recipient_ref=recipient_ref)

    def face_enrol_progress(self, frames_taken: int, guidance: FaceGuidance) -> None:
        if isinstance(frames_taken, bool) or not isinstance(frames_taken, int) \
                or not isinstance(guidance, FaceGuidance):
            log.warning("enrolment progress (%s, %s) is not (int, FaceGuidance); ignored",
                        type(frames_taken).__name__, type(guidance).__name__)
            return
        self._face_event("enrol_progress", frames_taken=frames_taken, guidance=guidance)

    def face_enrolled(self, attempt: int) -> None:
        self._face_event("face_enrolled", attempt=attempt)

    def face_enrol_failed(self, attempt: int, failure: FaceEnrolFailure) -> None:
        if not isinstance(failure, FaceEnrolFailure):
            log.warning("enrolment failure %r is not a FaceEnrolFailure; counted as unavailable",
                        type(failure).__name__)
            failure = FaceEnrolFailure.UNAVAILABLE
        self._face_event("face_enrol_failed", attempt=attempt, failure=failure)

    def _face_event(self, event: str, **arguments: object) -> None:
        if self._stopped or self._active is not self._chart:
            return  # courier mode or a return has the screen: faces mean nothing there
        self._guarded(lambda: self._chart.dispatch(event, **arguments))

    def platform_changed(self, link: PlatformConnection) -> None:
        """The link to the platform came up or went down: home shows it."""
        self._guarded(lambda: self._chart.set_platform_connection(link))

    def camera_changed(self) -> None:
        """The camera came or went: the scan screen shows its picture or says it has none."""
        self._guarded(self._active.publish)

    def intent(self, intent: Intent, **arguments: object) -> None:
        if self._stopped:
            log.warning("intent %s after stop: ignored", intent)
            return
        try:
            self._handle(intent, arguments)
        except Exception:
            log.exception("intent %s failed on screen %s; going home", intent, self._screen.id.value)
            self._recover()

    async def start(self) -> None:
        """Settle the door journal against the boards, then watch the doors."""
        self._stopped = False
        await self._locker.reconcile()
        await self._locker.start()

    async def stop(self) -> None:
        """Cancel and await every task this controller and its Locker own; timers stop firing."""
        self._stopped = True
        for chart in (self._chart, self._courier, self._returns):
            chart.shutdown()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        await self._locker.stop()

    # remote commands (the platform's support staff) ----------------------------------------------------
    async def open_for_support(self, compartment_id: str, ticket: str) -> DoorOutcome:
        """Open a door for a support call. Raises ValueError for a compartment not in the layout."""
        return await self._locker.open_for_support(compartment_id, ticket)

    def set_out_of_service(self, compartment_id: str, out_of_service: bool, reason: str) -> CompartmentStatus:
        """Take a compartment out of service (a parcel in it stays, and can be picked up once it is back) or
        put it back. Raises ValueError for a compartment not in the layout."""
        now = self._clock.now()
        if compartment_id not in {status.compartment.id for status in self._store.compartments()}:
            raise ValueError(f"compartment {compartment_id!r} is not in the layout")
        status = self._store.compartment(compartment_id)
        if out_of_service and status.state is not CompartmentState.OUT_OF_ORDER:
            self._store.mark_out_of_order(compartment_id, reason, now)
        elif not out_of_service and status.state is CompartmentState.OUT_OF_ORDER:
            self._store.return_to_service(compartment_id, now)
        self._guarded(self._active.publish)
        return self._store.compartment(compartment_id)

    # tasks ----------------------------------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> bool:
        """Run `work` as a task this controller owns; False (and `work` dropped) with no running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.error("%s asked for with no running event loop", name)
            work.close()
            return False
        if self._stopped:
            work.close()
            return False
        task = loop.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    # PickupOnline and ReturnOnline (the charts ask the platform here) ------------------------------------
    def can_verify(self) -> bool:
        return self._verifier is not None and not self._stopped and self._verifier.online()

    def request_verification(self, attempt: int, code_hash: bytes) -> None:
        if not self._spawn(self._verify(attempt, code_hash), "verify-code"):
            self._chart.dispatch("online_verdict", attempt=attempt, parcels=(), unavailable=True)

    async def _verify(self, attempt: int, code_hash: bytes) -> None:
        assert self._verifier is not None
        parcels, unavailable = await self._asked_online(self._pickup_answer(self._verifier, code_hash),
                                                        "a code")
        self._guarded(lambda: self._chart.dispatch("online_verdict", attempt=attempt, parcels=parcels or (),
                                                   unavailable=unavailable))

    async def _pickup_answer(self, verifier: OnlineVerifier, code_hash: bytes) -> tuple[Parcel, ...]:
        """The parcels here that the platform's credential for this code opens, that credential kept."""
        credential = await asyncio.wait_for(verifier.verify_pickup(code_hash), VERIFY_DEADLINE_S)
        if credential is None:
            return ()
        return tuple(self._store.add_pickup_credential(credential, self._clock.now()))

    def request_return_verification(self, attempt: int, code_hash: bytes) -> None:
        if not self._spawn(self._verify_return(attempt, code_hash), "verify-return-code"):
            self._returns.dispatch("online_verdict", attempt=attempt, authorisation=None, unavailable=True)

    async def _verify_return(self, attempt: int, code_hash: bytes) -> None:
        assert self._verifier is not None
        authorisation, unavailable = await self._asked_online(self._return_answer(self._verifier, code_hash),
                                                              "a return code")
        self._guarded(lambda: self._returns.dispatch("online_verdict", attempt=attempt,
                                                     authorisation=authorisation, unavailable=unavailable))

    async def _return_answer(self, verifier: OnlineVerifier, code_hash: bytes) -> ReturnAuthorisation | None:
        """The platform's authorisation for this return code, kept, as the store now has it."""
        answer = await asyncio.wait_for(verifier.verify_return(code_hash), VERIFY_DEADLINE_S)
        if answer is None:
            return None
        self._store.add_return_authorisation(answer, self._clock.now())
        # Read back through the store: it decides what is unused and unexpired, for synced and online
        # authorisations alike (and a platform answer for another code finds nothing).
        return self._store.return_by_code_hash(code_hash)

    @staticmethod
    async def _asked_online(answer: Awaitable[_T], what: str) -> tuple[_T | None, bool]:
        """(the platform's answer about `what`, False), or (None, True) when it could not be asked, did not
        answer in time, or its answer could not be kept: that counts as unavailable, and is logged."""
        try:
            return await answer, False
        except asyncio.CancelledError:
            raise
        except (VerificationUnavailable, TimeoutError) as error:
            log.warning("%s this locker does not know could not be checked online: %s", what,
                        error or "no answer in time")
        except Exception:
            log.exception("checking %s online failed", what)
        return None, True

    # CourierServices (the courier chart asks for slow work here) -----------------------------------------
    def request_pin_check(self, attempt: int, password_hash: str, pin: str) -> None:
        if not self._spawn(self._check_pin(attempt, password_hash, pin), "check-courier-pin"):
            self._courier.dispatch("pin_checked", attempt=attempt, verdict=PinVerdict.UNSUPPORTED)

    async def _check_pin(self, attempt: int, password_hash: str, pin: str) -> None:
        try:
            # ~0.1 s of deliberate work: never on the event loop.
            matched = await in_own_thread("courier-pin-check", verify_password, password_hash, pin)
            verdict = PinVerdict.MATCH if matched else PinVerdict.MISMATCH
        except asyncio.CancelledError:
            raise
        except PasswordHashError as error:
            log.warning("a courier's password hash cannot be checked here: %s", error)
            verdict = PinVerdict.UNSUPPORTED
        except Exception:
            log.exception("checking a courier PIN failed")
            verdict = PinVerdict.UNSUPPORTED
        self._guarded(lambda: self._courier.dispatch("pin_checked", attempt=attempt, verdict=verdict))

    def request_photo(self, attempt: int) -> None:
        if not self._spawn(self._take_photo(attempt), "parcel-photo"):
            self._courier.dispatch("photo_taken", attempt=attempt, jpeg=None)

    async def _take_photo(self, attempt: int) -> None:
        jpeg: bytes | None = None
        if self._parcel_camera is not None:
            try:
                taken = await asyncio.wait_for(self._parcel_camera.take_photo(), PHOTO_DEADLINE_S)
                jpeg = taken if isinstance(taken, bytes) and taken else None
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                log.warning("the camera gave no photo of the parcel within %.0f s", PHOTO_DEADLINE_S)
            except Exception:
                log.exception("taking a photo of the parcel failed")
        self._guarded(lambda: self._courier.dispatch("photo_taken", attempt=attempt, jpeg=jpeg))

    def has_parcel_camera(self) -> bool:
        return self._parcel_camera is not None

    # doors, for every chart -------------------------------------------------------------------------------
    def _request_door(self, chart: _DoorAsker, compartment_id: str,
                      opening: Callable[[], Awaitable[DoorOutcome]], *, purpose: str,
                      if_it_fails: DoorOutcome) -> None:
        """Run `opening` (one of the Locker's door transactions) as a task; its outcome goes to `chart`. A
        failure inside it counts as `if_it_fails`; with no loop to run it, BUS_DOWN is answered at once."""
        if not self._spawn(self._open_door(chart, compartment_id, opening, purpose, if_it_fails),
                           f"open-door-{compartment_id}"):
            chart.door_outcome(compartment_id, DoorOutcome.BUS_DOWN)

    async def _open_door(self, chart: _DoorAsker, compartment_id: str,
                         opening: Callable[[], Awaitable[DoorOutcome]], purpose: str,
                         if_it_fails: DoorOutcome) -> None:
        try:
            outcome = await opening()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("compartment %s could not be opened for a %s", compartment_id, purpose)
            outcome = if_it_fails
        self._door_answered(chart, compartment_id, outcome)

    def _door_answered(self, chart: _DoorAsker, compartment_id: str, outcome: DoorOutcome) -> None:
        if outcome in (DoorOutcome.FAULT, DoorOutcome.BUSY) and self._door_owner.get(compartment_id) is chart:
            del self._door_owner[compartment_id]  # no transaction of this chart's goes on at that door
        self._guarded(lambda: chart.door_outcome(compartment_id, outcome))

    # PickupDoors (the pickup chart asks for doors here) ---------------------------------------------------
    def request_open(self, compartment_id: str, parcel_ids: tuple[str, ...], method: PickupMethod) -> None:
        self._request_door(self._chart, compartment_id,
                           lambda: self._locker.open_for_pickup(compartment_id, parcel_ids, method),
                           purpose="pickup", if_it_fails=DoorOutcome.BUS_DOWN)

    def request_pulse(self, compartment_id: str) -> None:
        self._spawn(self._pulse_door(compartment_id), f"pulse-door-{compartment_id}")

    async def _pulse_door(self, compartment_id: str) -> None:
        try:
            await self._locker.pulse_again(compartment_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("repeating the unlock of compartment %s failed", compartment_id)

    # DepositDoors (the courier and returns charts ask for doors here, through their desks) -----------------
    # A deposit or collection the store refuses (no longer free, a parcel already known) sends nothing to the
    # door: BUSY, and the chart tries another compartment.
    def _request_deposit(self, chart: _DoorChart, compartment_id: str, purpose: DoorPurpose,
                         deposit: Deposit) -> None:
        self._door_owner[compartment_id] = chart
        self._request_door(chart, compartment_id,
                           lambda: self._locker.open_for_deposit(compartment_id, purpose, deposit),
                           purpose=purpose.value, if_it_fails=DoorOutcome.BUSY)

    def _request_collection(self, chart: _DoorChart, compartment_id: str, parcel_ids: tuple[str, ...],
                            courier_id: str) -> None:
        self._door_owner[compartment_id] = chart
        self._request_door(chart, compartment_id,
                           lambda: self._locker.open_for_collection(compartment_id, parcel_ids, courier_id),
                           purpose="collection", if_it_fails=DoorOutcome.BUSY)

    def _abandon(self, compartment_id: str, reason: str, *, out_of_order: bool) -> bool:
        self._door_owner.pop(compartment_id, None)
        return self._locker.abandon(compartment_id, reason, out_of_order=out_of_order)

    # LockerListener ----------------------------------------------------------------------------------
    def on_door(self, compartment_id: str, state: DoorState) -> None:
        for listener in list(self._listeners):
            try:
                listener.on_door(compartment_id, state)
            except Exception:
                log.exception("a flow listener failed on a door change")
        self._guarded(self._active.publish)  # the door screen's map shows door states

    def on_bus_changed(self, bus_down: bool) -> None:
        self._guarded(self._active.publish)  # home shows (or stops showing) that the locker is out of service

    def bus_down(self) -> bool:
        return self._locker.bus_down

    def on_pickup_completed(self, entry: JournalEntry) -> None:
        self._guarded(lambda: self._chart.door_closed(entry.compartment_id))

    def on_door_finished(self, entry: JournalEntry, finish: DoorFinish) -> None:
        owner = self._door_owner.pop(entry.compartment_id, None)
        if owner is None:
            log.info("compartment %s: %s %s, asked for by no flow now", entry.compartment_id,
                     entry.purpose.value, finish.value)
            return
        self._guarded(lambda: owner.door_finished(entry.compartment_id, finish))

    # inside ----------------------------------------------------------------------------------------------
    def _handle(self, intent: Intent, arguments: dict[str, object]) -> None:
        if not isinstance(intent, Intent):
            log.warning("not an intent: %r; ignored", intent)
            return
        if intent is Intent.ACTIVITY:
            self._active.activity()
        elif intent is Intent.SCAN:
            self._scan(arguments.get("payload"), arguments.get("source"))
        elif self._active is self._courier:
            self._courier_intent(intent, arguments)
        elif self._active is self._returns:
            self._return_intent(intent, arguments)
        else:
            self._pickup_intent(intent, arguments)

    def _pickup_intent(self, intent: Intent, arguments: dict[str, object]) -> None:
        event = _SIMPLE_EVENTS.get(intent)
        if event is not None:
            self._chart.dispatch(event)
        elif intent in (Intent.START_RETURN, Intent.START_COURIER):
            if self._screen.id is not ScreenId.HOME:
                log.warning("%s on screen %s, not home; ignored", intent, self._screen.id.value)
                return
            self._hand_over(self._returns if intent is Intent.START_RETURN else self._courier, "start")
        elif intent is Intent.SUBMIT_CODE:
            code = _text_argument(intent, arguments, "code")
            if code is not None:
                self._chart.dispatch("submit_code", code=code)
        elif intent is Intent.OPEN_PARCEL:
            parcel_id = arguments.get("parcel_id")
            if not isinstance(parcel_id, str) or not self._chart.parcel_can_open(parcel_id):
                log.warning("OPEN_PARCEL for %r: not a parcel of this pickup that is still closed; ignored",
                            parcel_id)
                return
            self._chart.dispatch("open_parcel", parcel_id=parcel_id)
        elif intent is Intent.CHOOSE_PROBLEM:
            kind = arguments.get("kind")
            if isinstance(kind, str):
                kind = next((member for member in ProblemKind if member.value == kind), kind)
            if not isinstance(kind, ProblemKind):
                log.warning("CHOOSE_PROBLEM with kind %r, not one of %s; ignored",
                            kind, [member.value for member in ProblemKind])
                return
            self._chart.dispatch("choose_problem", kind=kind)
        else:
            log.warning("intent %s does nothing on screen %s; ignored", intent, self._screen.id.value)

    def _courier_intent(self, intent: Intent, arguments: dict[str, object]) -> None:
        chart = self._courier
        event = _COURIER_EVENTS.get(intent)
        if event is not None:
            chart.dispatch(event)
        elif intent is Intent.COURIER_LOGIN:
            courier_id = _text_argument(intent, arguments, "courier_id")
            pin = _text_argument(intent, arguments, "pin", secret=True)
            if courier_id is not None and pin is not None:
                chart.dispatch("submit_login", courier_id=courier_id, pin=pin)
        elif intent is Intent.CHOOSE_SIZE:
            size = _size_argument(intent, arguments)
            if size is not None:
                chart.dispatch("choose_size", size=size)
        elif intent is Intent.DOOR_FAILED:
            compartment_id = arguments.get("compartment_id")
            if compartment_id is not None and not isinstance(compartment_id, str):
                log.warning("DOOR_FAILED with compartment_id %r, not text; ignored",
                            type(compartment_id).__name__)
                return
            chart.dispatch("door_failed", compartment_id=compartment_id)
        elif intent is Intent.OPEN_PARCEL:
            parcel_id = arguments.get("parcel_id")
            if not isinstance(parcel_id, str) or not chart.parcel_can_open(parcel_id):
                log.warning("OPEN_PARCEL for %r: not a parcel this courier can open now; ignored", parcel_id)
                return
            chart.dispatch("open_parcel", parcel_id=parcel_id)
        else:
            log.warning("intent %s does nothing on screen %s; ignored", intent, self._screen.id.value)

    def _return_intent(self, intent: Intent, arguments: dict[str, object]) -> None:
        chart = self._returns
        event = _RETURN_EVENTS.get(intent)
        if event is not None:
            chart.dispatch(event)
        elif intent is Intent.SUBMIT_RETURN_CODE:
            code = _text_argument(intent, arguments, "code")
            if code is not None:
                chart.dispatch("submit_code", code=code)
        elif intent is Intent.CHOOSE_SIZE:
            size = _size_argument(intent, arguments)
            if size is not None:
                chart.dispatch("choose_size", size=size)
        else:
            log.warning("intent %s does nothing on screen %s; ignored", intent, self._screen.id.value)

    def _scan(self, payload: object, source: object) -> None:
        if not isinstance(payload, bytes | str):
            log.warning("SCAN without a payload (got %r); ignored", type(payload).__name__)
            return
        source = source if source in SCAN_SOURCES else "unknown"
        screen = self._screen.id
        if screen in LABEL_SCREENS and self._active is self._courier:
            self._courier.dispatch("label_scanned", raw=payload)
            return
        if screen not in SCAN_SCREENS:
            log.info("a %s scan on screen %s, which takes none; ignored", source, screen.value)
            return
        parsed = parse_scan(payload, self._locker_id)
        now = self._clock.now()
        if isinstance(parsed, Refused):
            log.info("%s scan refused: %s (%d characters)", source, parsed.reason.value, len(payload))
            self._store.audit("scan_refused", now, reason=parsed.reason.value, source=source)
        if self._active is self._courier:  # courier_login takes badges only
            if isinstance(parsed, CourierBadgePayload):
                self._store.audit("courier_badge_scanned", now, source=source, courier_id=parsed.courier_id)
                self._courier.dispatch("badge", courier_id=parsed.courier_id, secret=parsed.secret)
            else:
                log.info("a scan on the courier login that is no courier badge; ignored")
            return
        if self._active is self._returns:  # return_code takes return codes only
            if isinstance(parsed, ReturnPayload):
                self._store.audit("return_code_scanned", now, source=source)
                self._returns.dispatch("scanned_code", code=parsed.code)
            else:
                log.info("a scan on the return code screen that is no return code; ignored")
            return
        if screen is ScreenId.THANK_YOU:
            self._chart.dispatch("done")
        if isinstance(parsed, PickupPayload):
            self._store.audit("code_scanned", now, source=source)
            self._chart.dispatch("scanned_code", code=parsed.code)
        elif isinstance(parsed, ReturnPayload):
            self._store.audit("return_code_scanned", now, source=source)
            self._hand_over(self._returns, "scanned_code", code=parsed.code)
        elif isinstance(parsed, CourierBadgePayload):
            self._store.audit("courier_badge_scanned", now, source=source, courier_id=parsed.courier_id)
            self._hand_over(self._courier, "badge", courier_id=parsed.courier_id, secret=parsed.secret)
        else:
            self._chart.dispatch("scanned_foreign")

    def _hand_over(self, chart: FlowChart, event: str, **arguments: object) -> None:
        """Give the screen to courier mode or the returns chart, starting it with `event`."""
        if chart.active:  # left running by an earlier failure: end it before anyone sees it
            log.warning("%s was still running; ending it", type(chart).__name__)
            chart.dispatch("abort")
        self._chart.dispatch("hand_over")
        if not self._chart.elsewhere_active:
            log.warning("the pickup flow on %s cannot hand the screen over; ignored", self._chart.state_id)
            return
        self._active = chart
        chart.dispatch(event, **arguments)
        if not chart.active:
            log.warning("%s did not start on %s; home again", type(chart).__name__, event)
            self._sub_flow_ended()

    def _sub_flow_ended(self) -> None:
        """Courier mode or a return is over: the pickup chart takes the screen back and goes home."""
        ended = self._active
        self._active = self._chart
        # Home resets the language and the accessibility mode after a courier's session (the next person is
        # a customer) and after a flow nobody finished at the screen; a customer who cancels keeps theirs.
        unattended = isinstance(ended, FlowChart) and ended.ended_unattended
        after_courier = ended is self._courier and self._courier.ended_after_login
        self._chart.dispatch("back_home", idle=unattended or after_courier)
        if self._shown_by is not self._chart:
            self._show_from(self._chart, self._chart.screen)

    def _publisher(self, chart: FlowChart) -> Callable[[Screen], None]:
        return lambda screen: self._show_from(chart, screen)

    def _show_from(self, chart: object, screen: Screen) -> None:
        if chart is self._active:
            self._shown_by = chart
            self._show(screen)

    def _show(self, screen: Screen) -> None:
        self._screen = screen
        for listener in list(self._listeners):
            try:
                listener.on_screen(screen)
            except Exception:
                log.exception("a flow listener failed on screen %s", screen.id.value)

    def _guarded(self, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            log.exception("a flow failed on screen %s; going home", self._screen.id.value)
            self._recover()

    def _recover(self) -> None:
        active = self._active
        if active is not self._chart:
            try:
                active.dispatch("abort")
            except Exception:
                log.exception("could not end %s", type(active).__name__)
            if self._active is not self._chart:  # its end never came: take the screen back regardless
                active.shutdown()
                self._active = self._chart
        try:
            self._chart.dispatch("cancel")
        except Exception:
            log.exception("could not even go home")
        if self._shown_by is not self._chart:
            try:
                self._show_from(self._chart, self._chart.screen)
            except Exception:
                log.exception("could not show home")


async def in_own_thread(name: str, function: Callable[..., _T], *arguments: object) -> _T:
    """`function(*arguments)` on a thread of its own, joined before this returns (also when cancelled).
    Not the loop's default executor: under qasync its threads live on, and no thread may outlive the kiosk
    (or a test)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[_T] = loop.create_future()

    def settle(result: _T | None, error: BaseException | None) -> None:
        if done.done():
            return  # the awaiting task was cancelled
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]  # _T when there is no error

    def work() -> None:
        try:
            result = function(*arguments)
        except BaseException as error:  # handed to the awaiting coroutine, whatever it is
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        return await done
    finally:
        thread.join()  # at once when it answered; when cancelled, at most the bounded hash's time


def _text_argument(intent: Intent, arguments: Mapping[str, object], name: str, *,
                   secret: bool = False) -> str | None:
    value = arguments.get(name)
    if isinstance(value, str):
        return value
    shown = type(value).__name__ if secret or value is not None else "nothing"
    log.warning("%s without %s as text (got %s); ignored", intent.name, name, shown)
    return None


def _size_argument(intent: Intent, arguments: Mapping[str, object]) -> Size | None:
    value = arguments.get("size")
    if isinstance(value, Size):
        return value
    if isinstance(value, str):
        size = next((member for member in Size if member.value == value.strip().upper()), None)
        if size is not None:
            return size
    log.warning("%s with size %r, not one of %s; ignored", intent.name,
                value if isinstance(value, str) and len(value) <= 16 else type(value).__name__,
                [member.value for member in Size])
    return None

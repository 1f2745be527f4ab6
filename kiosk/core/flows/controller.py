"""KioskController: the one object the UI (through its bridge) and the QA driver talk to.

It turns intents into statechart events, runs door transactions as asyncio tasks it owns, forwards the
Locker's door news to the chart and to listeners, and never lets an exception reach the caller of
`intent()`: a malformed intent is logged and ignored, a failure inside the flow is logged and the kiosk
goes back home rather than freeze on a screen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from kiosk.core.codes import KeypadLimiter
from kiosk.core.flows.api import FlowListener
from kiosk.core.flows.pickup import PickupCamera, PickupChart
from kiosk.core.flows.views import Intent, PlatformConnection, Screen, ScreenId
from kiosk.core.locker import DoorOutcome, Locker
from kiosk.core.model import (
    Compartment,
    CompartmentState,
    CompartmentStatus,
    DoorState,
    JournalEntry,
    Parcel,
    PickupMethod,
    ProblemKind,
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
from kiosk.core.ports import Clock, OnlineVerifier, Store, VerificationUnavailable

log = logging.getLogger(__name__)

# Intent -> statechart event, for the intents that carry no argument.
_SIMPLE_EVENTS: Mapping[Intent, str] = {
    Intent.START_PICKUP: "start_pickup",
    Intent.START_RETURN: "start_return",
    Intent.OPEN_ALL: "open_all",
    Intent.REPORT_PROBLEM: "report",
    Intent.DONE: "done",
    Intent.CANCEL: "cancel",
    Intent.MORE_TIME: "extend",
    Intent.SCAN_INSTEAD: "scan_instead",
    Intent.KEYPAD_INSTEAD: "keypad_instead",
}

# The screens where someone may walk up and show a code: a scan there starts (or continues) its flow. On the
# thank-you screen the last person is done, so a scan is the next person's.
SCAN_SCREENS = frozenset({ScreenId.HOME, ScreenId.PICKUP_CODE, ScreenId.PICKUP_SCAN, ScreenId.THANK_YOU})
SCAN_SOURCES = ("camera", "wedge", "serial")
# The verifier answers within its own timeout; this is the backstop that keeps the checking screen finite.
VERIFY_DEADLINE_S = 10.0


class KioskController:
    """Implements kiosk.core.flows.api.Flows for the pickup slice."""

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
    ) -> None:
        self._store = store
        self._locker_id = locker_id
        self._locker = locker
        self._clock = clock
        self._listeners: list[FlowListener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._verifier = verifier
        self.limiter = KeypadLimiter(store, timers)
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
        )
        self._screen = self._chart.screen
        self._chart.set_screen_callback(self._show)
        locker.add_listener(self)

    # Flows --------------------------------------------------------------------------------------------
    @property
    def screen(self) -> Screen:
        return self._screen

    @property
    def chart(self) -> PickupChart:
        return self._chart

    def add_listener(self, listener: FlowListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: FlowListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def door_states(self) -> dict[str, DoorState]:
        return self._locker.door_states()

    def scan_target(self) -> ScanTarget:
        """What the screen shown now reads from a camera or scanner (nothing, while a door is open)."""
        return ScanTarget.PERSON_CODES if self._screen.id in SCAN_SCREENS else ScanTarget.NONE

    def platform_changed(self, link: PlatformConnection) -> None:
        """The link to the platform came up or went down: home shows it."""
        self._guarded(lambda: self._chart.set_platform_connection(link))

    def camera_changed(self) -> None:
        """The camera came or went: the scan screen shows its picture or says it has none."""
        self._guarded(self._chart.publish)

    def intent(self, intent: Intent, **arguments: object) -> None:
        if self._stopped:
            log.warning("intent %s after stop: ignored", intent)
            return
        try:
            self._handle(intent, arguments)
        except Exception:
            log.exception("intent %s %r failed on screen %s; going home",
                          intent, arguments, self._screen.id.value)
            self._recover()

    async def start(self) -> None:
        """Settle the door journal against the boards, then watch the doors."""
        self._stopped = False
        await self._locker.reconcile()
        await self._locker.start()

    async def stop(self) -> None:
        """Cancel and await every task this controller and its Locker own; timers stop firing."""
        self._stopped = True
        self._chart.shutdown()
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
        self._guarded(self._chart.publish)
        return self._store.compartment(compartment_id)

    # PickupOnline (the chart asks the platform here) -----------------------------------------------------
    def can_verify(self) -> bool:
        return self._verifier is not None and not self._stopped and self._verifier.online()

    def request_verification(self, attempt: int, code_hash: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._verify(attempt, code_hash), name="verify-code")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _verify(self, attempt: int, code_hash: bytes) -> None:
        assert self._verifier is not None
        parcels: tuple[Parcel, ...] = ()
        unavailable = False
        try:
            credential = await asyncio.wait_for(self._verifier.verify_pickup(code_hash), VERIFY_DEADLINE_S)
            if credential is not None:
                parcels = tuple(self._store.add_pickup_credential(credential, self._clock.now()))
        except asyncio.CancelledError:
            raise
        except (VerificationUnavailable, TimeoutError) as error:
            log.warning("a code this locker does not know could not be checked online: %s",
                        error or "no answer in time")
            unavailable = True
        except Exception:
            log.exception("checking a code online failed")
            unavailable = True
        self._guarded(lambda: self._chart.dispatch("online_verdict", attempt=attempt, parcels=parcels,
                                                   unavailable=unavailable))

    # PickupDoors (the chart asks for doors here) -------------------------------------------------------
    def request_open(self, compartment_id: str, parcel_ids: tuple[str, ...], method: PickupMethod) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.error("door %s requested with no running event loop", compartment_id)
            loop = None
        if loop is None or self._stopped:
            self._chart.door_outcome(compartment_id, DoorOutcome.BUS_DOWN)
            return
        task = loop.create_task(self._open_door(compartment_id, parcel_ids, method),
                                name=f"open-door-{compartment_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def request_pulse(self, compartment_id: str) -> None:
        if self._stopped:
            return
        task = asyncio.get_running_loop().create_task(
            self._pulse_door(compartment_id), name=f"pulse-door-{compartment_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pulse_door(self, compartment_id: str) -> None:
        try:
            await self._locker.pulse_again(compartment_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("repeating the unlock of compartment %s failed", compartment_id)

    async def _open_door(
        self, compartment_id: str, parcel_ids: tuple[str, ...], method: PickupMethod
    ) -> None:
        try:
            outcome = await self._locker.open_for_pickup(compartment_id, parcel_ids, method)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("opening compartment %s failed", compartment_id)
            outcome = DoorOutcome.BUS_DOWN
        self._guarded(lambda: self._chart.door_outcome(compartment_id, outcome))

    # LockerListener ----------------------------------------------------------------------------------
    def on_door(self, compartment_id: str, state: DoorState) -> None:
        for listener in list(self._listeners):
            try:
                listener.on_door(compartment_id, state)
            except Exception:
                log.exception("a flow listener failed on a door change")
        self._guarded(self._chart.publish)  # the door screen's map shows door states

    def on_bus_changed(self, bus_down: bool) -> None:
        self._guarded(self._chart.publish)  # home shows (or stops showing) that the locker is out of service

    def bus_down(self) -> bool:
        return self._locker.bus_down

    def on_pickup_completed(self, entry: JournalEntry) -> None:
        self._guarded(lambda: self._chart.door_closed(entry.compartment_id))

    # inside ----------------------------------------------------------------------------------------------
    def _handle(self, intent: Intent, arguments: dict[str, object]) -> None:
        if not isinstance(intent, Intent):
            log.warning("not an intent: %r; ignored", intent)
            return
        if intent is Intent.ACTIVITY:
            self._chart.activity()
            return
        event = _SIMPLE_EVENTS.get(intent)
        if event is not None:
            self._send(event)
        elif intent is Intent.SUBMIT_CODE:
            code = arguments.get("code")
            if not isinstance(code, str):
                log.warning("SUBMIT_CODE without a code string (got %r); ignored", type(code).__name__)
                return
            self._send("submit_code", code=code)
        elif intent is Intent.SCAN:
            self._scan(arguments.get("payload"), arguments.get("source"))
        elif intent is Intent.OPEN_PARCEL:
            parcel_id = arguments.get("parcel_id")
            if not isinstance(parcel_id, str) or not self._chart.parcel_can_open(parcel_id):
                log.warning("OPEN_PARCEL for %r: not a parcel of this pickup that is still closed; ignored",
                            parcel_id)
                return
            self._send("open_parcel", parcel_id=parcel_id)
        elif intent is Intent.CHOOSE_PROBLEM:
            kind = arguments.get("kind")
            if isinstance(kind, str):
                kind = next((member for member in ProblemKind if member.value == kind), kind)
            if not isinstance(kind, ProblemKind):
                log.warning("CHOOSE_PROBLEM with kind %r, not one of %s; ignored",
                            kind, [member.value for member in ProblemKind])
                return
            self._send("choose_problem", kind=kind)
        else:  # pragma: no cover - every Intent is handled above
            log.warning("intent %s is not handled; ignored", intent)

    def _scan(self, payload: object, source: object) -> None:
        if not isinstance(payload, bytes | str):
            log.warning("SCAN without a payload (got %r); ignored", type(payload).__name__)
            return
        source = source if source in SCAN_SOURCES else "unknown"
        if self._screen.id not in SCAN_SCREENS:
            log.info("a %s scan on screen %s, which takes none; ignored", source, self._screen.id.value)
            return
        parsed = parse_scan(payload, self._locker_id)
        now = self._clock.now()
        if isinstance(parsed, Refused):
            log.info("%s scan refused: %s (%d characters)", source, parsed.reason.value, len(payload))
            self._store.audit("scan_refused", now, reason=parsed.reason.value, source=source)
        if self._screen.id is ScreenId.THANK_YOU:
            self._send("done")
        if isinstance(parsed, PickupPayload):
            self._store.audit("code_scanned", now, source=source)
            self._send("scanned_code", code=parsed.code)
        elif isinstance(parsed, ReturnPayload):
            self._store.audit("return_code_scanned", now, source=source)
            self._send("scanned_return")
        elif isinstance(parsed, CourierBadgePayload):
            self._store.audit("courier_badge_scanned", now, source=source, courier_id=parsed.courier_id)
            self._send("scanned_badge")
        else:
            self._send("scanned_foreign")

    def _send(self, event: str, **arguments: object) -> None:
        self._chart.dispatch(event, **arguments)

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
            log.exception("the pickup flow failed on screen %s; going home", self._screen.id.value)
            self._recover()

    def _recover(self) -> None:
        try:
            self._chart.dispatch("cancel")
        except Exception:
            log.exception("could not even go home")

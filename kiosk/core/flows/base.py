"""What the pickup, courier and returns charts share: publishing screens, the screen timers on the injected
Clock, "Need more time?", checking codes against a limiter and with the platform, and the doors they ask for.

A chart built on `FlowChart` shows nothing while it rests in its RESTING_STATE: `idle` for courier mode and
returns until the KioskController hands them the screen (they tell it through `on_end` when they are back in
`idle`), `elsewhere` for the pickup chart while one of them has it. Every other atomic state names its screen
in the subclass's SCREEN_OF_STATE; `_timeout(state)` says how long a state waits and which event its timer
sends ("inactivity" on a waiting screen: it leads to more_time, which ends in "time_up");
`_countdown(state)` makes a state re-render once a second (a lockout counting down).
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from statemachine import State, StateChart

from kiosk.core.codes import KeypadLimiter, LimiterStatus
from kiosk.core.flows.views import MapCell, MoreTimeView, Screen, ScreenId, ViewModel
from kiosk.core.locker import DoorFinish, DoorOutcome
from kiosk.core.model import Compartment, Deposit, DoorPurpose, DoorState, Timers
from kiosk.core.ports import Clock, Store, TimerHandle

log = logging.getLogger(__name__)

TICK_S = 1.0  # countdowns re-render once a second
_EPSILON = 1e-6

IDLE = "idle"
MORE_TIME = "more_time"


class DepositDoors(Protocol):
    """The doors as a deposit or collection chart needs them (KioskController implements it per chart).

    Requests never block: what the door transaction answered comes back through the chart's
    `door_outcome(compartment_id, outcome)`, and how it ended through `door_finished(compartment_id, finish)`.
    """

    def request_deposit(self, compartment_id: str, purpose: DoorPurpose, deposit: Deposit) -> None: ...

    def request_collection(self, compartment_id: str, parcel_ids: tuple[str, ...], courier_id: str) -> None:
        ...

    def abandon(self, compartment_id: str, reason: str, *, out_of_order: bool = False) -> bool:
        """Give up the deposit or collection at this door (journal entry cancelled; with `out_of_order`,
        the compartment too). False when that door has no such transaction."""
        ...

    def busy_compartments(self) -> Collection[str]:
        """Compartments that must not be offered now: a transaction in flight, or the door seen open."""
        ...

    def door_states(self) -> Mapping[str, DoorState]: ...


class Verdict(enum.Enum):
    """What checking a typed or scanned code said."""

    NONE = "none"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    ASK_PLATFORM = "ask_platform"  # unknown here: the platform may know it (issued after the last sync)


class DoorProgress(enum.Enum):
    """One door a chart asked for, as far as the chart knows."""

    REQUESTED = "requested"  # unlock asked, not yet confirmed open
    OPEN = "open"
    FAULT = "fault"  # did not open after the retry: the Locker took it out of order
    BUS_DOWN = "bus_down"
    BUSY = "busy"  # not opened: another transaction has it, or the store refused it (try another)
    DEPOSITED = "deposited"
    EMPTY = "empty"
    COLLECTED = "collected"
    STILL_INSIDE = "still_inside"
    CLOSED = "closed"


PROGRESS_OF_OUTCOME: Mapping[DoorOutcome, DoorProgress] = {
    DoorOutcome.OPENED: DoorProgress.OPEN,
    DoorOutcome.FAULT: DoorProgress.FAULT,
    DoorOutcome.BUS_DOWN: DoorProgress.BUS_DOWN,
    DoorOutcome.BUSY: DoorProgress.BUSY,
}
PROGRESS_OF_FINISH: Mapping[DoorFinish, DoorProgress] = {
    DoorFinish.DEPOSITED: DoorProgress.DEPOSITED,
    DoorFinish.EMPTY: DoorProgress.EMPTY,
    DoorFinish.COLLECTED: DoorProgress.COLLECTED,
    DoorFinish.STILL_INSIDE: DoorProgress.STILL_INSIDE,
    DoorFinish.CLOSED: DoorProgress.CLOSED,
}
# Progress a later answer must not overwrite (a close may overtake the answer to its own unlock).
FINISHED = frozenset({DoorProgress.DEPOSITED, DoorProgress.EMPTY, DoorProgress.COLLECTED,
                      DoorProgress.STILL_INSIDE, DoorProgress.CLOSED})


class CodeCheck(Protocol):
    """A session's check of one code, as far as asking the platform about it goes."""

    verdict: Verdict
    unknown_hash: bytes  # the keyed hash being checked with the platform
    verification: int  # which answer the chart waits for; later answers to older questions are stale


class CanVerify(Protocol):
    def can_verify(self) -> bool:
        """Asking the platform is worth the person's wait (it answered recently)."""
        ...


class OnlineCodeCheck:
    """Mixed into a FlowChart whose codes the platform may know while this locker does not yet (issued after
    the last sync): the pickup and returns charts. Their `session_data` is a CodeCheck; they set
    `_verifications`."""

    _verifications: int  # questions asked of the platform so far

    @property
    def session_data(self) -> CodeCheck:
        raise NotImplementedError

    def ask_platform(self) -> bool:
        return self.session_data.verdict is Verdict.ASK_PLATFORM

    def awaited_verdict(self, attempt: object = None, **_answer: object) -> bool:
        return attempt == self.session_data.verification

    def _to_the_platform(self, online: CanVerify, code_hash: bytes) -> bool:
        """A code unknown here: when the platform can be asked now, the verdict says to ask it (True)."""
        if not online.can_verify():
            return False
        check = self.session_data
        check.verdict = Verdict.ASK_PLATFORM
        check.unknown_hash = code_hash
        return True

    def _next_verification(self) -> int:
        """The number of a new question to the platform: the answer to it is the one awaited."""
        self._verifications += 1
        self.session_data.verification = self._verifications
        return self._verifications


def map_cells(layout: Sequence[Compartment], states: Mapping[str, DoorState],
              highlighted: Collection[str]) -> tuple[MapCell, ...]:
    """The locker map of a door screen, the doors of this person highlighted."""
    return tuple(
        MapCell(
            compartment_id=compartment.id,
            column=compartment.column,
            height_cm=compartment.height_cm,
            size=compartment.size,
            door=states.get(compartment.id, DoorState.UNKNOWN),
            highlighted=compartment.id in highlighted,
        )
        for compartment in layout
    )


def whole_seconds(seconds: float) -> int:
    return max(0, math.ceil(seconds - _EPSILON))


def fail_closed_status(limiter: KeypadLimiter, now: float, lockout_s: float, *, limiter_name: str,
                       locks: str = "the keypad") -> LimiterStatus:
    """The limiter's status; if the store cannot say, what it guards counts as locked for `lockout_s` (fail
    closed), so a broken database neither opens the keypad to guessing nor stops "cancel" from going home."""
    try:
        return limiter.status(now)
    except Exception:
        log.exception("cannot read the %s; treating %s as locked", limiter_name, locks)
        return LimiterStatus(0, 0, None, lockout_s)


def record_wrong_code(store: Store, limiter: KeypadLimiter, now: float, *, rejected: str, locked: str,
                      **details: Any) -> bool:
    """Count a wrong code (or credential) against `limiter` and audit it as `rejected`, with `details` and the
    counts; when that locks the keypad, audit `locked` too. True when it is locked now: the screen shows the
    lock rather than an error."""
    status = limiter.record_failure(now)
    store.audit(rejected, now, **details, failures_in_a_row=status.failures_in_a_row,
                lockouts=status.lockouts)
    if status.locked:
        store.audit(locked, now, seconds=status.seconds_left, lockouts=status.lockouts)
    return status.locked


class FlowChart(StateChart):
    """Base of the kiosk's charts. Subclasses declare the states `more_time` and RESTING_STATE (courier mode
    and returns: `idle`, initial), fill SCREEN_OF_STATE, and implement `_view` and `_timeout`."""

    catch_errors_as_events = False  # a bug must surface in the controller's log, not vanish as an event
    SCREEN_OF_STATE: ClassVar[Mapping[str, ScreenId]] = {}
    # The state in which another chart has the screen: this one publishes nothing there.
    RESTING_STATE: ClassVar[str] = IDLE
    # A failure under a timer reaches no caller (the clock's loop): it is logged under FLOW_NAME (None: the
    # class's name), saying RECOVERY, and the chart is sent RECOVERY_EVENT, which must lead somewhere safe
    # from every state.
    FLOW_NAME: ClassVar[str | None] = None
    RECOVERY_EVENT: ClassVar[str] = "abort"
    RECOVERY: ClassVar[str] = "ending it"

    def __init__(
        self,
        *,
        clock: Clock,
        timers: Timers,
        on_screen: Callable[[Screen], None] | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        self._timers = timers
        self._on_screen = on_screen
        self._on_end = on_end
        self._running = False
        self._timer_dispatching = False
        self.ended_unattended = False  # the last run of this flow ended by a timer (nobody tapped)
        self._interrupted_state = IDLE
        self._more_time_deadline = 0.0
        self._timer_generation = 0
        self._timeout_timer: TimerHandle | None = None
        self._tick_timer: TimerHandle | None = None
        self._entered = False
        self._dispatch_depth = 0
        self._publishing = False
        self._publish_again = False
        self._last_published: Screen | None = None
        super().__init__()

    # driving the chart --------------------------------------------------------------------------------
    @property
    def state_id(self) -> str:
        """The id of the innermost active state."""
        return next(state.id for state in self.configuration if state.is_atomic)

    @property
    def active(self) -> bool:
        """The chart has the screen (it is not resting in RESTING_STATE)."""
        return self.state_id != self.RESTING_STATE

    def set_screen_callback(self, on_screen: Callable[[Screen], None] | None) -> None:
        self._on_screen = on_screen

    def set_end_callback(self, on_end: Callable[[], None] | None) -> None:
        self._on_end = on_end

    def dispatch(self, event: str, **arguments: object) -> None:
        """Send one event, then publish the screen if it changed. Sent from inside the chart's own step, the
        event waits in the library's queue and the outermost dispatch publishes once all has settled."""
        self._dispatch_depth += 1
        send: Callable[..., object] = self.send
        try:
            send(event, **arguments)
        finally:
            self._dispatch_depth -= 1
        if self._dispatch_depth:
            self._publish_again = True
        else:
            self.publish()

    def activity(self) -> None:
        """Someone touched the screen: the inactivity timer of a waiting screen starts again."""
        state = self.state_id
        timeout = self._timeout(state)
        if timeout is not None and timeout[1] == "inactivity":
            self._schedule_screen_timers(state)

    def publish(self) -> None:
        """Hand the current screen to the callback if it is new (or a state was entered). Safe against a
        callback that sends events. Nothing while resting."""
        if self._publishing:
            self._publish_again = True
            return
        self._publishing = True
        try:
            while True:
                self._publish_again = False
                if not self.active:
                    self._entered = False
                    self._last_published = None
                    break
                screen = self.screen
                if self._entered or screen != self._last_published:
                    self._entered = False
                    self._last_published = screen
                    if self._on_screen is not None:
                        self._on_screen(screen)
                if not self._publish_again:
                    break
        finally:
            self._publishing = False

    def shutdown(self) -> None:
        """Cancel every timer: nothing of this chart fires afterwards unless it is sent an event."""
        self._cancel_screen_timers()

    @property
    def screen(self) -> Screen:
        state = self.state_id
        if state == self.RESTING_STATE:
            raise LookupError(f"{type(self).__name__} is {state}: it shows no screen")
        return Screen(self.SCREEN_OF_STATE[state], self._view(state))

    # for subclasses --------------------------------------------------------------------------------------
    def _view(self, state: str) -> ViewModel:
        raise NotImplementedError

    def _timeout(self, state: str) -> tuple[float, str] | None:
        """(delay, event) of the state's timer, or None when the state waits for nothing."""
        raise NotImplementedError

    def _countdown(self, state: str) -> float | None:
        """Seconds left of a countdown the state shows (it re-renders every second), or None."""
        return None

    def _on_idle(self) -> None:
        """Entered `idle`: drop what the session knew."""

    def _entering(self, state: str) -> None:
        """Entering an atomic state other than `idle`, before its timers start."""

    def _more_time_view(self) -> MoreTimeView:
        return MoreTimeView(seconds_left=whole_seconds(self._more_time_deadline - self._clock.now()),
                            returns_to=self.SCREEN_OF_STATE[self._interrupted_state])

    # guards and actions of every chart -------------------------------------------------------------------
    def remember_interrupted(self) -> None:
        self._interrupted_state = self.state_id

    def interrupted_door_open(self) -> bool:
        return self.SCREEN_OF_STATE.get(self._interrupted_state) is ScreenId.DOOR_OPEN

    # entering and leaving states: timers -------------------------------------------------------------------
    def on_enter_state(self, state: State) -> None:
        if not state.is_atomic:
            return
        if state.id == IDLE:
            self._cancel_screen_timers()
            self._on_idle()
            if self._running:
                self._running = False
                # Ended by a timer, not by a tap: the person walked away, and the next one starts afresh.
                self.ended_unattended = self._timer_dispatching
                if self._on_end is not None:
                    self._on_end()
            return
        self._running = True
        self._entered = True
        self._entering(state.id)
        if state.id == MORE_TIME:
            self._more_time_deadline = self._clock.now() + self._timers.more_time_s
        self._schedule_screen_timers(state.id)

    def on_exit_state(self, state: State) -> None:
        if state.is_atomic:
            self._cancel_screen_timers()

    def _schedule_screen_timers(self, state: str) -> None:
        self._cancel_screen_timers()
        generation = self._timer_generation
        timeout = self._timeout(state)
        if timeout is not None:
            delay, event = timeout
            self._timeout_timer = self._clock.call_later(delay, lambda: self._timer_fired(generation, event))
        remaining = self._remaining(state)
        if remaining is not None:
            self._schedule_tick(state, generation, remaining)

    def _remaining(self, state: str) -> float | None:
        """Seconds left of the countdown the state shows, or None when it shows none."""
        if state == MORE_TIME:
            return max(self._more_time_deadline - self._clock.now(), 0.0)
        return self._countdown(state)

    def _schedule_tick(self, state: str, generation: int, remaining: float) -> None:
        # Tick when the whole number of seconds shown changes, so the countdown ends on time, not late.
        fraction = remaining - math.floor(remaining)
        delay = fraction if fraction > _EPSILON else min(TICK_S, remaining)
        self._tick_timer = self._clock.call_later(delay, lambda: self._tick(state, generation))

    def _tick(self, state: str, generation: int) -> None:
        if generation != self._timer_generation:
            return
        if state == MORE_TIME and self._more_time_deadline - self._clock.now() <= _EPSILON:
            self._dispatch_from_timer("time_up")
            return
        # Re-render the countdown; a locked state's eventless transition leaves when the lock ends.
        self._dispatch_from_timer("tick")
        if generation == self._timer_generation:
            self._schedule_tick(state, generation, self._remaining(state) or 0.0)

    def _timer_fired(self, generation: int, event: str) -> None:
        if generation == self._timer_generation:
            self._dispatch_from_timer(event)

    def _dispatch_from_timer(self, event: str) -> None:
        # Nobody up the stack would catch it (the clock's loop): log it and give the screen back.
        name = self.FLOW_NAME or type(self).__name__
        self._timer_dispatching = True
        try:
            self.dispatch(event)
        except Exception:
            log.exception("%s failed on timer event %r; %s", name, event, self.RECOVERY)
            try:
                self.dispatch(self.RECOVERY_EVENT)
            except Exception:
                log.exception("%s could not recover: %r failed as well", name, self.RECOVERY_EVENT)
        finally:
            self._timer_dispatching = False

    def _cancel_screen_timers(self) -> None:
        self._timer_generation += 1
        for handle in (self._timeout_timer, self._tick_timer):
            if handle is not None:
                handle.cancel()
        self._timeout_timer = self._tick_timer = None

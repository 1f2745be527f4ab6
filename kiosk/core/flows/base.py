"""What the courier and returns charts share: publishing screens, the screen timers on the injected Clock,
"Need more time?", and the doors a deposit asks for.

A chart built on `FlowChart` rests in its `idle` state (no screen of its own) until the KioskController hands
it the screen; it tells the controller through `on_end` when it is back in `idle`. Every atomic state names
its screen in the subclass's SCREEN_OF_STATE; `_timeout(state)` says how long a state waits and which event
its timer sends ("inactivity" on a waiting screen: it leads to more_time, which ends in "time_up");
`_countdown(state)` makes a state re-render once a second (a lockout counting down).

The pickup chart (pickup.py) predates this base and keeps its own copy of the same machinery.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import ClassVar, Protocol

from statemachine import State, StateChart

from kiosk.core.flows.views import MapCell, MoreTimeView, Screen, ScreenId, ViewModel
from kiosk.core.locker import DoorFinish, DoorOutcome
from kiosk.core.model import Compartment, Deposit, DoorPurpose, DoorState, Timers
from kiosk.core.ports import Clock, TimerHandle

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


class FlowChart(StateChart):
    """Base of the charts that take the screen over from the pickup chart. Subclasses declare the states
    `idle` (initial) and `more_time`, fill SCREEN_OF_STATE, and implement `_view` and `_timeout`."""

    catch_errors_as_events = False  # a bug must surface in the controller's log, not vanish as an event
    SCREEN_OF_STATE: ClassVar[Mapping[str, ScreenId]] = {}

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
        """The chart has the screen (it is not resting in `idle`)."""
        return self.state_id != IDLE

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
        """Hand the current screen to the callback if it is new; nothing while idle."""
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
        if state == IDLE:
            raise LookupError(f"{type(self).__name__} is idle: it shows no screen")
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
                if self._on_end is not None:
                    self._on_end()
            return
        self._running = True
        self._entered = True
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
        if state == MORE_TIME or self._countdown(state) is not None:
            self._schedule_tick(state, generation)

    def _remaining(self, state: str) -> float:
        if state == MORE_TIME:
            return max(self._more_time_deadline - self._clock.now(), 0.0)
        return self._countdown(state) or 0.0

    def _schedule_tick(self, state: str, generation: int) -> None:
        remaining = self._remaining(state)
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
            self._schedule_tick(state, generation)

    def _timer_fired(self, generation: int, event: str) -> None:
        if generation == self._timer_generation:
            self._dispatch_from_timer(event)

    def _dispatch_from_timer(self, event: str) -> None:
        # Nobody up the stack would catch it (the clock's loop): log it and give the screen back.
        try:
            self.dispatch(event)
        except Exception:
            log.exception("%s failed on timer event %r; ending it", type(self).__name__, event)
            try:
                self.dispatch("abort")
            except Exception:
                log.exception("could not even end %s", type(self).__name__)

    def _cancel_screen_timers(self) -> None:
        self._timer_generation += 1
        for handle in (self._timeout_timer, self._tick_timer):
            if handle is not None:
                handle.cancel()
        self._timeout_timer = self._tick_timer = None

"""Courier mode as a statechart: login, batch drop-off, collection, summary. No Qt and no I/O of its own.

    idle -> (courier button) login -> (id + PIN) verify -> checking (the PIN, off the loop) -> verify -> menu
    idle, login -> (badge scanned) verify -> menu;  verify -> login (wrong, expired) -> locked (too many)
    menu -> scan -> (label) placing -> door_open -> (closed on the parcel) scan, ready for the next label
    placing -> (unannounced, accepted by policy) photo -> size -> placing;  placing -> scan (refused, full)
    door_open -> (too small / did not open / jammed) placing: another compartment
    door_open -> (closed, IR reads empty) deposit_check -> reopen: placing | skip: scan
    menu -> collect -> (open one / all) collect_door -> collect | collect_check -> reopen / skip
    menu, scan, collect -> (logout) summary -> idle;  session -> (inactivity) more_time -> back | summary

Doors are asked of a DepositDoors port; what they did comes back through `door_outcome()` and
`door_finished()`. The PIN check and the parcel photo are asked of CourierServices and answered with the
events pin_checked and photo_taken. `python -m kiosk.core.flows.diagram courier` draws this chart.
"""

from __future__ import annotations

import enum
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from statemachine import HistoryState, State

from kiosk.core.codes import KeypadLimiter, LimiterStatus, generate_code, hash_code
from kiosk.core.couriers import (
    DUMMY_PASSWORD_HASH,
    MAX_PIN_CHARS,
    badge_hash,
    courier_limiter,
    parcel_label,
)
from kiosk.core.flows.base import (
    FINISHED,
    IDLE,
    MORE_TIME,
    DepositDoors,
    DoorProgress,
    fail_closed_status,
    map_cells,
    record_wrong_code,
    whole_seconds,
)
from kiosk.core.flows.deposits import DepositChart
from kiosk.core.flows.views import (
    CollectItem,
    CollectReason,
    CourierCollectView,
    CourierLoginError,
    CourierLoginView,
    CourierMenuView,
    CourierNotice,
    CourierScanView,
    CourierSizeView,
    CourierSummaryView,
    DepositCheckView,
    DoorAudience,
    DoorOpenView,
    Screen,
    ScreenId,
    ViewModel,
)
from kiosk.core.inventory import ACCESSIBLE_MAX_HEIGHT_CM, choose_compartment
from kiosk.core.model import (
    Compartment,
    CompartmentStatus,
    CourierCredential,
    CourierPolicy,
    Deposit,
    DoorPurpose,
    ParcelState,
    Size,
    Timers,
)
from kiosk.core.ports import Clock, Store

log = logging.getLogger(__name__)

MAX_COURIER_ID_CHARS = 64
ABANDON_TOO_SMALL = "too_small"
ABANDON_DID_NOT_OPEN = "courier_reported_door_did_not_open"


class PinVerdict(enum.Enum):
    """What checking a PIN against its stored hash said."""

    MATCH = "match"
    MISMATCH = "mismatch"
    UNSUPPORTED = "unsupported"  # a hash this locker cannot check (argon2 without the library, malformed)


class CourierServices(Protocol):
    """The slow or asynchronous work the chart asks for (KioskController implements it)."""

    def request_pin_check(self, attempt: int, password_hash: str, pin: str) -> None:
        """Check `pin` against `password_hash` off the event loop; never blocks. The answer comes back as
        the event pin_checked(attempt=, verdict=PinVerdict)."""
        ...

    def request_photo(self, attempt: int) -> None:
        """Take a photo of the parcel held up to the camera; never blocks. The answer comes back as the event
        photo_taken(attempt=, jpeg=bytes | None)."""
        ...

    def has_parcel_camera(self) -> bool: ...


@dataclass
class DepositAttempt:
    """One scanned label on its way into a compartment."""

    label: str
    parcel_id: str
    needed: Size | None  # the parcel's size; None until the courier taps one (an unannounced parcel)
    accessible: bool
    recipient: str
    announced: bool
    code_hash: bytes | None = field(default=None, repr=False)
    pickup_code: str | None = field(default=None, repr=False)
    wants_photo: bool = False
    photo: bytes | None = field(default=None, repr=False)
    photo_attempt: int = 0  # the photo awaited (0: none asked)
    compartment_id: str | None = None
    progress: DoorProgress | None = None
    moved_from: str | None = None
    excluded: set[str] = field(default_factory=set)
    bigger_than: Size | None = None
    retry_same: bool = False  # REOPEN: the same compartment again
    no_room: CourierNotice = CourierNotice.LOCKER_FULL  # what to say when no compartment is left for it


@dataclass
class CourierSession:
    """What one courier has done since the login screen; dropped when the chart goes idle."""

    courier: CourierCredential | None = None
    delivered: int = 0
    refused: int = 0
    collected: int = 0
    faults: int = 0
    login_error: CourierLoginError | None = None
    candidate: CourierCredential | None = None  # whose PIN is being checked (None: an unknown id)
    pending_check: tuple[str, str] | None = field(default=None, repr=False)  # (hash, PIN) to be checked
    pin_attempt: int = 0
    notice: CourierNotice | None = None
    notice_parcel: str | None = None
    notice_compartment: str | None = None
    notice_size: Size | None = None
    attempt: DepositAttempt | None = None
    delivered_labels: set[str] = field(default_factory=set)
    collectable: int = 0
    items: dict[str, CollectItem] = field(default_factory=dict)  # by parcel id, in layout order
    batch: tuple[str, ...] = ()  # the compartments of the collection door screen
    doors: dict[str, DoorProgress] = field(default_factory=dict)  # collection doors, by compartment
    answered: set[str] = field(default_factory=set)  # still-inside doors the courier chose to leave
    check: str | None = None  # the compartment deposit_check / collect_check asks about
    end_reason: str = "logout"


_TERMINAL_COLLECTION = frozenset({DoorProgress.COLLECTED, DoorProgress.FAULT, DoorProgress.BUS_DOWN,
                                  DoorProgress.BUSY})

SCREEN_OF_STATE: Mapping[str, ScreenId] = {
    "login": ScreenId.COURIER_LOGIN,
    "verify": ScreenId.COURIER_LOGIN,
    "checking": ScreenId.COURIER_LOGIN,
    "locked": ScreenId.COURIER_LOGIN,
    "menu": ScreenId.COURIER_MENU,
    "scan": ScreenId.COURIER_SCAN,
    "placing": ScreenId.COURIER_SCAN,
    "photo": ScreenId.COURIER_SIZE,
    "size": ScreenId.COURIER_SIZE,
    "door_open": ScreenId.DOOR_OPEN,
    "deposit_check": ScreenId.DEPOSIT_CHECK,
    "collect": ScreenId.COURIER_COLLECT,
    "collect_door": ScreenId.DOOR_OPEN,
    "collect_check": ScreenId.DEPOSIT_CHECK,
    "more_time": ScreenId.MORE_TIME,
    "summary": ScreenId.COURIER_SUMMARY,
}
# States that pass straight on (or wait on the kiosk itself, not on the courier): no inactivity timer.
_PASSING_STATES = frozenset({"verify", "checking", "placing", "photo"})


def _choose_for(free: Sequence[CompartmentStatus], attempt: DepositAttempt) -> CompartmentStatus | None:
    """The compartment for this parcel: the smallest that fits, within reach for a recipient who needs it.
    Everyone else gets one out of reach when one of that size is free, so the few reachable compartments
    stay free for the recipients who cannot use any other."""
    assert attempt.needed is not None
    best = choose_compartment(free, attempt.needed, accessible=attempt.accessible,
                              bigger_than=attempt.bigger_than)
    if best is None or attempt.accessible or best.compartment.height_cm > ACCESSIBLE_MAX_HEIGHT_CM:
        return best
    out_of_reach = [status for status in free if status.compartment.size is best.compartment.size
                    and status.compartment.height_cm > ACCESSIBLE_MAX_HEIGHT_CM]
    return choose_compartment(out_of_reach, attempt.needed, bigger_than=attempt.bigger_than) or best


class CourierChart(DepositChart):
    """The courier statechart. Drive it with `dispatch(event, **arguments)` and the door methods."""

    SCREEN_OF_STATE = SCREEN_OF_STATE

    idle = State(initial=True)

    class session(State.Compound):
        """A courier at the screen; inactivity anywhere in it asks for more time."""

        login = State(initial=True)
        verify = State()
        checking = State()
        locked = State()
        menu = State()
        scan = State()
        placing = State()
        photo = State()
        size = State()
        door_open = State()
        deposit_check = State()
        collect = State()
        collect_door = State()
        collect_check = State()
        resume = HistoryState()

        login.to(locked, cond="login_locked")
        locked.to(login, unless="login_locked")

        submit_login = login.to(verify, on="check_login")
        verify.to(checking, cond="pin_pending", on="ask_pin_check")
        verify.to(menu, cond="logged_in")
        verify.to(login)  # wrong, expired, malformed or locked (login passes a lock on)
        pin_checked = checking.to(verify, cond="awaited_check", on="apply_pin_check")

        dropoff = menu.to(scan, on="clear_notice")
        go_collect = menu.to(collect, cond="may_collect", on="load_collectables")
        to_menu = scan.to(menu) | collect.to(menu)

        label_scanned = scan.to(placing, on="read_label")
        placing.to(photo, cond="photo_wanted", on="ask_photo")
        placing.to(size, cond="size_wanted")
        placing.to(door_open, cond="door_requested")
        placing.to(scan)  # refused, full, already here: the notice says which
        photo_taken = photo.to(placing, cond=["awaited_photo", "size_chosen"], on="keep_photo") | photo.to(
            size, cond="awaited_photo", on="keep_photo"
        )
        choose_size = size.to(placing, cond="size_offered", on="take_size") | photo.to.itself(
            internal=True, cond="size_offered", on="take_size"
        )

        door_open.to(scan, cond="deposited", on="note_deposited")
        door_open.to(deposit_check, cond="closed_empty", on="ask_about_empty")
        door_open.to(placing, cond="door_faulted", on="try_after_fault")
        door_open.to(placing, cond="door_busy", on="try_after_busy")
        door_open.to(scan, cond="bus_down_at_door", on="note_bus_down")
        too_small = door_open.to(placing, cond="door_is_open", on="move_to_bigger")
        door_failed = door_open.to(placing, cond="door_is_open", on="leave_failed_door") | (
            collect_door.to.itself(internal=True, cond="collect_door_failable", on="leave_collect_door")
        )
        reopen = deposit_check.to(placing, on="reopen_same") | collect_check.to(
            collect_door, on="reopen_collect_door"
        )
        skip = deposit_check.to(scan, on="note_not_deposited") | collect_check.to(
            collect_door, on="leave_still_inside"
        )

        open_parcel = collect.to(collect_door, cond="parcel_can_open", on="open_one")
        open_all = collect.to(collect_door, cond="parcels_to_open", on="open_every")
        collect_door.to(collect_check, cond="still_inside_unanswered", on="ask_about_still_inside")
        collect_door.to(collect, cond="batch_done", on="close_batch")

        cancel = (
            size.to(scan, on="note_not_deposited")
            | photo.to(scan, on="note_not_deposited")
            | scan.to(menu)
            | collect.to(menu)
        )

    more_time = State()
    summary = State()

    start = idle.to(session)
    badge = (
        idle.to(session.verify, on="check_badge")
        | session.login.to(session.verify, on="check_badge")
        | session.locked.to(session.verify, on="check_badge")
    )
    logout = (
        session.menu.to(summary, on="end_by_logout")
        | session.scan.to(summary, on="end_by_logout")
        | session.collect.to(summary, on="end_by_logout")
    )
    cancel = (
        session.login.to(idle)
        | session.locked.to(idle)
        | session.checking.to(idle)
        | session.menu.to(summary, on="end_by_logout")
        | more_time.to(summary, cond="logged_in", on="end_by_inactivity")
        | more_time.to(idle)
        | summary.to(idle)
    )
    inactivity = session.to(more_time, before="remember_interrupted")
    extend = more_time.to(session.resume)
    # A door of the interrupted door screen moved: the courier is there, back to it.
    more_time.to(session.resume, event="doors_changed", cond="interrupted_door_open")
    time_up = more_time.to(summary, cond="logged_in", on="end_by_inactivity") | more_time.to(idle)
    done = summary.to(idle)
    abort = session.to(idle) | more_time.to(idle) | summary.to(idle)

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        timers: Timers,
        code_key: bytes,
        layout: Sequence[Compartment],
        doors: DepositDoors,
        services: CourierServices,
        policy: CourierPolicy = CourierPolicy(),  # noqa: B008 - frozen, shared safely
        limiter: KeypadLimiter | None = None,
        can_scan: bool = False,
        on_screen: Callable[[Screen], None] | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._code_key = code_key
        self._layout = tuple(layout)
        self._sizes = {compartment.id: compartment.size for compartment in layout}
        self._doors = doors
        self._services = services
        self._policy = policy
        self._limiter = limiter or courier_limiter(store, timers, policy)
        self._can_scan = can_scan
        self._session = CourierSession()
        self.ended_after_login = False  # the last run had a courier logged in (the next person is a customer)
        self._checks = 0
        self._photos = 0
        super().__init__(clock=clock, timers=timers, on_screen=on_screen, on_end=on_end)

    # outside news ------------------------------------------------------------------------------------------
    @property
    def session_data(self) -> CourierSession:
        return self._session

    @property
    def limiter(self) -> KeypadLimiter:
        return self._limiter

    def _placement(self) -> DepositAttempt | None:
        return self._session.attempt

    def _door_news(self, compartment_id: str, progress: DoorProgress) -> bool:
        session = self._session
        attempt = session.attempt
        if attempt is not None and attempt.compartment_id == compartment_id and attempt.progress is not None:
            if attempt.progress in FINISHED:
                return False
            attempt.progress = progress
            return True
        current = session.doors.get(compartment_id)
        if current is None or current in _TERMINAL_COLLECTION or current is DoorProgress.STILL_INSIDE:
            log.info("compartment %s: %s, for no door this courier waits at", compartment_id, progress.value)
            return False
        session.doors[compartment_id] = progress
        self._collection_news(compartment_id, progress)
        return True

    def _collection_news(self, compartment_id: str, progress: DoorProgress) -> None:
        session = self._session
        here = [item for item in session.items.values()
                if item.compartment_id == compartment_id and not item.collected]
        if progress is DoorProgress.COLLECTED:
            session.collected += len(here)
            for item in here:
                session.items[item.parcel_id] = replace(item, collected=True, failed=False)
        elif progress in (DoorProgress.FAULT, DoorProgress.BUS_DOWN, DoorProgress.BUSY):
            if progress is DoorProgress.FAULT:
                session.faults += 1
            for item in here:
                session.items[item.parcel_id] = replace(item, failed=True)

    # views ------------------------------------------------------------------------------------------------
    def _view(self, state: str) -> ViewModel:
        session = self._session
        now = self._clock.now()
        if state in ("login", "verify", "checking", "locked"):
            status = self._login_status(now)
            return CourierLoginView(
                error=session.login_error,
                checking=state == "checking",
                failures_in_a_row=status.failures_in_a_row,
                failures_allowed=self._policy.max_login_failures,
                locked_seconds=whole_seconds(status.seconds_left),
                can_scan=self._can_scan,
            )
        if state == "menu":
            courier = session.courier
            return CourierMenuView(
                courier_name=courier.display_name if courier else "",
                can_collect=bool(courier and courier.can_collect),
                collectable=session.collectable,
                delivered=session.delivered,
                collected=session.collected,
            )
        if state in ("scan", "placing"):
            return CourierScanView(
                delivered=session.delivered,
                refused=session.refused,
                notice=session.notice,
                notice_parcel=session.notice_parcel,
                notice_compartment=session.notice_compartment,
                notice_size=session.notice_size,
                can_scan=self._can_scan,
            )
        if state in ("photo", "size"):
            attempt = session.attempt
            return CourierSizeView(
                label=attempt.label if attempt else "",
                available=self._sizes_with_room(attempt.excluded if attempt else set()),
                unannounced=not attempt.announced if attempt else True,
                photo_taken=bool(attempt and attempt.photo is not None),
            )
        if state == "door_open":
            attempt = session.attempt
            return self._door_open_view(DoorAudience.COURIER_DEPOSIT,
                                        parcel_id=attempt.label if attempt else None,
                                        moved_from=attempt.moved_from if attempt else None)
        if state == "deposit_check":
            attempt = session.attempt
            return DepositCheckView(
                compartment_id=session.check or "",
                parcel_id=attempt.label if attempt else "",
                still_inside=False,
                courier=True,
            )
        if state == "collect":
            return CourierCollectView(items=tuple(session.items.values()))
        if state == "collect_door":
            return DoorOpenView(
                compartment_ids=session.batch,
                cells=map_cells(self._layout, self._doors.door_states(), session.batch),
                waiting_for_unlock=any(session.doors.get(cid) is DoorProgress.REQUESTED
                                       for cid in session.batch),
                audience=DoorAudience.COURIER_COLLECT,
            )
        if state == "collect_check":
            parcels = [item.parcel_id for item in session.items.values()
                       if item.compartment_id == session.check]
            return DepositCheckView(
                compartment_id=session.check or "",
                parcel_id=parcels[0] if parcels else "",
                still_inside=True,
                courier=True,
            )
        if state == MORE_TIME:
            return self._more_time_view()
        if state == "summary":
            courier = session.courier
            return CourierSummaryView(
                courier_name=courier.display_name if courier else "",
                delivered=session.delivered,
                refused=session.refused,
                collected=session.collected,
                faults=session.faults,
            )
        raise AssertionError(f"no view for state {state!r}")

    def _timeout(self, state: str) -> tuple[float, str] | None:
        if state in (IDLE, MORE_TIME) or state in _PASSING_STATES:
            return None
        if state == "summary":
            return self._timers.thank_you_s, "done"
        return self._timers.courier_inactivity_s, "inactivity"

    def _countdown(self, state: str) -> float | None:
        return self._login_status(self._clock.now()).seconds_left if state == "locked" else None

    def _on_idle(self) -> None:
        self.ended_after_login = self._session.courier is not None
        self._session = CourierSession()

    def _login_status(self, now: float) -> LimiterStatus:
        return fail_closed_status(self._limiter, now, self._timers.lockout_base_s,
                                  limiter_name="courier login limiter", locks="login")

    def _sizes_with_room(self, excluded: set[str]) -> tuple[Size, ...]:
        free = self._free(excluded)
        return tuple(size for size in Size if any(size <= status.compartment.size for status in free))

    # guards -------------------------------------------------------------------------------------------------
    def login_locked(self) -> bool:
        return self._login_status(self._clock.now()).locked

    def pin_pending(self) -> bool:
        return self._session.pending_check is not None

    def logged_in(self) -> bool:
        return self._session.courier is not None

    def awaited_check(self, attempt: object = None, **_answer: object) -> bool:
        return attempt == self._session.pin_attempt

    def may_collect(self) -> bool:
        courier = self._session.courier
        return courier is not None and courier.can_collect

    def photo_wanted(self) -> bool:
        attempt = self._session.attempt
        return (attempt is not None and attempt.needed is None and attempt.wants_photo
                and attempt.photo_attempt == 0)

    def size_wanted(self) -> bool:
        attempt = self._session.attempt
        return attempt is not None and attempt.needed is None

    def awaited_photo(self, attempt: object = None, **_answer: object) -> bool:
        current = self._session.attempt
        return current is not None and attempt == current.photo_attempt

    def size_chosen(self) -> bool:
        attempt = self._session.attempt
        return attempt is not None and attempt.needed is not None

    def size_offered(self, size: object = None) -> bool:
        attempt = self._session.attempt
        return (isinstance(size, Size) and attempt is not None
                and size in self._sizes_with_room(attempt.excluded))

    def parcel_can_open(self, parcel_id: object = None) -> bool:
        item = self._session.items.get(parcel_id) if isinstance(parcel_id, str) else None
        return (item is not None and not item.collected
                and item.compartment_id not in self._doors.busy_compartments())

    def parcels_to_open(self) -> bool:
        return bool(self._compartments_to_open())

    def collect_door_failable(self, compartment_id: object = None) -> bool:
        return bool(self._failed_collect_doors(compartment_id))

    def still_inside_unanswered(self) -> bool:
        return self._unanswered() is not None

    def batch_done(self) -> bool:
        session = self._session
        return all(
            session.doors.get(cid) in _TERMINAL_COLLECTION
            or (session.doors.get(cid) is DoorProgress.STILL_INSIDE and cid in session.answered)
            for cid in session.batch
        )

    # actions: login -----------------------------------------------------------------------------------------
    def check_login(self, courier_id: object = None, pin: object = None) -> None:
        session = self._session
        session.login_error = None
        session.candidate = None
        session.pending_check = None
        if self.login_locked():
            return  # the keypad should not have taken it; login shows the lock
        typed = courier_id.strip() if isinstance(courier_id, str) else ""
        if (not typed or len(typed) > MAX_COURIER_ID_CHARS or not isinstance(pin, str) or not pin
                or len(pin) > MAX_PIN_CHARS):
            session.login_error = CourierLoginError.MALFORMED
            return
        credential = self._store.courier(typed)
        session.candidate = credential
        # An unknown id costs a check all the same, so the time taken does not say which ids exist.
        session.pending_check = (credential.password_hash if credential else DUMMY_PASSWORD_HASH, pin)

    def ask_pin_check(self) -> None:
        session = self._session
        assert session.pending_check is not None  # pin_pending holds
        password_hash, pin = session.pending_check
        session.pending_check = None
        self._checks += 1
        session.pin_attempt = self._checks
        self._services.request_pin_check(self._checks, password_hash, pin)

    def apply_pin_check(self, verdict: object = None, **_answer: object) -> None:
        session = self._session
        now = self._clock.now()
        credential, session.candidate = session.candidate, None
        if credential is not None and verdict is PinVerdict.UNSUPPORTED:
            # Not the courier's fault: nothing counted; the platform must sync a hash this locker can check.
            session.login_error = CourierLoginError.UNSUPPORTED
            self._store.audit("courier_login_failed", now, reason="unsupported_hash",
                              courier_id=credential.courier_id, method="pin")
            return
        if credential is not None and verdict is PinVerdict.MATCH:
            self._accept(credential, "pin", now)
        else:
            self._refuse(now, "pin", credential)

    def check_badge(self, courier_id: object = None, secret: object = None) -> None:
        session = self._session
        session.login_error = None
        session.pending_check = None
        now = self._clock.now()
        if self.login_locked():
            self._store.audit("courier_login_failed", now, reason="locked", method="badge")
            return
        if not isinstance(courier_id, str) or not isinstance(secret, str):
            session.login_error = CourierLoginError.MALFORMED
            return
        credential = self._store.courier_by_badge_hash(badge_hash(self._code_key, secret))
        if credential is None or credential.courier_id.upper() != courier_id.upper():
            self._refuse(now, "badge", None)
        else:
            self._accept(credential, "badge", now)

    def _accept(self, credential: CourierCredential, method: str, now: float) -> None:
        session = self._session
        if credential.valid_until is not None and credential.valid_until <= now:
            session.login_error = CourierLoginError.EXPIRED
            self._store.audit("courier_login_failed", now, reason="expired", courier_id=credential.courier_id,
                              method=method)
            return
        self._limiter.record_success(now)
        session.courier = credential
        self._store.audit("courier_login", now, courier_id=credential.courier_id, method=method)

    def _refuse(self, now: float, method: str, credential: CourierCredential | None) -> None:
        # The typed id is not recorded when it names no courier: it may be a PIN typed in the wrong field.
        if not record_wrong_code(self._store, self._limiter, now, rejected="courier_login_failed",
                                 locked="courier_login_locked", reason="wrong_credentials", method=method,
                                 courier_id=credential.courier_id if credential else None):
            self._session.login_error = CourierLoginError.WRONG_CREDENTIALS

    def on_enter_menu(self) -> None:
        now = self._clock.now()
        expired = self._store.expire_overdue(now, self._policy.pickup_window_hours)
        if expired:
            log.info("%d parcels passed their pickup window", len(expired))
        self._session.collectable = len(self._store.collectable_parcels())

    def end_by_logout(self) -> None:
        self._end("logout")

    def end_by_inactivity(self) -> None:
        self._end("inactivity")

    def _end(self, reason: str) -> None:
        session = self._session
        session.end_reason = reason
        self._store.audit("courier_logout", self._clock.now(),
                          courier_id=session.courier.courier_id if session.courier else None, reason=reason,
                          delivered=session.delivered, refused=session.refused, collected=session.collected,
                          faults=session.faults)

    # actions: drop-off -------------------------------------------------------------------------------------
    def clear_notice(self) -> None:
        self._notice(None)

    def _notice(self, notice: CourierNotice | None, parcel: str | None = None, compartment: str | None = None,
                size: Size | None = None) -> None:
        session = self._session
        session.notice = notice
        session.notice_parcel = parcel
        session.notice_compartment = compartment
        session.notice_size = size

    def _courier_id(self) -> str:
        courier = self._session.courier
        return courier.courier_id if courier else ""

    def read_label(self, raw: object = None) -> None:
        session = self._session
        session.attempt = None
        now = self._clock.now()
        label = parcel_label(raw)
        if label is not None and session.notice is CourierNotice.DEPOSITED and session.notice_parcel == label:
            # The camera still sees the label of the parcel just put in: the courier has not moved on yet.
            # Saying "already in this locker" now would hide the confirmation they are looking for.
            return
        self._notice(None)
        if label is None:
            length = len(raw) if isinstance(raw, bytes | str) else 0
            self._store.audit("courier_label_refused", now, reason="not_a_label", length=length,
                              courier_id=self._courier_id())
            self._notice(CourierNotice.NOT_A_LABEL)
            return
        if label in session.delivered_labels:
            self._notice(CourierNotice.ALREADY_HERE, label)
            return
        parcel = self._store.expected_parcel_by_barcode(label)
        if parcel is None:
            # No parcel waits for this label, but one went into the locker with it before, in any session.
            # (A label the platform announces again after its delivery is found as expected, above.)
            if self._store.parcel_by_barcode(label) is not None:
                self._notice(CourierNotice.ALREADY_HERE, label)
                return
            self._unannounced(label, now)
            return
        if parcel.state is not ParcelState.EXPECTED:
            self._notice(CourierNotice.ALREADY_HERE, label)
            return
        attempt = DepositAttempt(label=label, parcel_id=parcel.id, needed=parcel.size,
                                 accessible=parcel.accessible, recipient=parcel.recipient, announced=True)
        if not self._store.has_platform_credential(parcel.id):
            self._make_pickup_code(attempt)
        session.attempt = attempt

    def _unannounced(self, label: str, now: float) -> None:
        session = self._session
        if not self._policy.accept_unannounced:
            self._refuse_parcel(CourierNotice.UNANNOUNCED_REFUSED, label, reason="unannounced")
            return
        if not self._sizes_with_room(set()):
            self._refuse_parcel(CourierNotice.LOCKER_FULL, label, size=Size.S, reason="locker_full")
            return
        attempt = DepositAttempt(label=label, parcel_id=f"U-{secrets.token_hex(5).upper()}", needed=None,
                                 accessible=False, recipient="", announced=False,
                                 wants_photo=self._services.has_parcel_camera())
        self._make_pickup_code(attempt)
        self._store.audit("courier_unannounced_accepted", now, parcel_id=attempt.parcel_id, barcode=label,
                          courier_id=self._courier_id())
        session.attempt = attempt

    def _make_pickup_code(self, attempt: DepositAttempt) -> None:
        code = generate_code()
        attempt.pickup_code = code
        attempt.code_hash = hash_code(self._code_key, code)

    def _refuse_parcel(self, notice: CourierNotice, label: str, *, reason: str, size: Size | None = None,
                       parcel_id: str | None = None) -> None:
        session = self._session
        session.refused += 1
        session.attempt = None
        self._notice(notice, label, size=size)
        self._store.audit("courier_parcel_refused", self._clock.now(), parcel_id=parcel_id, reason=reason,
                          barcode=label, size=size.value if size else None, courier_id=self._courier_id())

    def ask_photo(self) -> None:
        attempt = self._session.attempt
        assert attempt is not None  # photo_wanted holds
        self._photos += 1
        attempt.photo_attempt = self._photos
        self._services.request_photo(self._photos)

    def keep_photo(self, jpeg: object = None, **_answer: object) -> None:
        attempt = self._session.attempt
        if attempt is not None and isinstance(jpeg, bytes) and jpeg:
            attempt.photo = jpeg

    def take_size(self, size: object = None) -> None:
        attempt = self._session.attempt
        if attempt is not None and isinstance(size, Size):
            attempt.needed = size

    def on_enter_placing(self) -> None:
        attempt = self._session.attempt
        if attempt is None or attempt.needed is None or attempt.progress is not None:
            return  # the courier taps a size first (placing passes on), or the door is asked for already
        self._place(attempt)

    def _place(self, attempt: DepositAttempt) -> None:
        assert attempt.needed is not None
        chosen = self._choose(attempt, lambda free: _choose_for(free, attempt))
        if chosen is None:
            reason = attempt.no_room.value
            self._refuse_parcel(attempt.no_room, attempt.label, reason=reason, size=attempt.needed,
                                parcel_id=attempt.parcel_id)
            return
        deposit = Deposit(
            parcel_id=attempt.parcel_id,
            size=attempt.needed,
            recipient=attempt.recipient,
            code_hash=attempt.code_hash,
            pickup_code=attempt.pickup_code,
            courier_id=self._courier_id(),
            barcode=attempt.label,
            unannounced=not attempt.announced,
            photo_jpeg=attempt.photo,
        )
        self._open_for_deposit(attempt, chosen, DoorPurpose.DEPOSIT, deposit)

    def note_deposited(self) -> None:
        session = self._session
        attempt = session.attempt
        assert attempt is not None  # deposited holds
        session.delivered += 1
        session.delivered_labels.add(attempt.label)
        session.attempt = None
        self._notice(CourierNotice.DEPOSITED, attempt.label, attempt.compartment_id)

    def ask_about_empty(self) -> None:
        attempt = self._session.attempt
        self._session.check = attempt.compartment_id if attempt else None

    def reopen_same(self) -> None:
        attempt = self._session.attempt
        if attempt is None:
            return
        self._reopen(attempt)
        self._store.audit("courier_deposit_reopened", self._clock.now(), attempt.compartment_id,
                          parcel_id=attempt.parcel_id, courier_id=self._courier_id())

    def note_not_deposited(self) -> None:
        attempt = self._session.attempt
        if attempt is None:
            self._notice(CourierNotice.NOT_DEPOSITED)
            return
        self._refuse_parcel(CourierNotice.NOT_DEPOSITED, attempt.label, reason="not_deposited",
                            parcel_id=attempt.parcel_id)

    def _leave(self, attempt: DepositAttempt, reason: str, *, out_of_order: bool) -> None:
        old = attempt.compartment_id
        assert old is not None
        if not self._doors.abandon(old, reason, out_of_order=out_of_order):
            log.warning("compartment %s: no deposit to give up (%s)", old, reason)
        attempt.moved_from = old
        self._move_on(attempt)

    def move_to_bigger(self) -> None:
        attempt = self._session.attempt
        assert attempt is not None and attempt.needed is not None  # door_is_open holds
        old = attempt.compartment_id
        old_size = self._sizes[old or ""]
        self._store.audit("courier_too_small", self._clock.now(), old, parcel_id=attempt.parcel_id,
                          courier_id=self._courier_id())
        self._leave(attempt, ABANDON_TOO_SMALL, out_of_order=False)
        bigger = [size for size in Size if old_size < size]
        if bigger:
            attempt.needed = max(attempt.needed, bigger[0], key=lambda size: size.rank)
        attempt.bigger_than = old_size
        attempt.no_room = CourierNotice.NO_BIGGER

    def leave_failed_door(self) -> None:
        attempt = self._session.attempt
        assert attempt is not None  # door_is_open holds
        self._store.audit("courier_door_failed", self._clock.now(), attempt.compartment_id,
                          parcel_id=attempt.parcel_id, courier_id=self._courier_id())
        self._leave(attempt, ABANDON_DID_NOT_OPEN, out_of_order=True)
        self._session.faults += 1
        attempt.no_room = CourierNotice.DOOR_FAULT

    def try_after_fault(self) -> None:
        attempt = self._session.attempt
        assert attempt is not None and attempt.compartment_id is not None  # door_faulted holds
        # The Locker has taken it out of order already (journal fault, door_fault event).
        self._session.faults += 1
        attempt.moved_from = attempt.compartment_id
        attempt.no_room = CourierNotice.DOOR_FAULT
        self._move_on(attempt)

    def note_bus_down(self) -> None:
        attempt = self._session.attempt
        assert attempt is not None  # bus_down_at_door holds
        self._refuse_parcel(CourierNotice.DOOR_FAULT, attempt.label, reason="bus_down",
                            parcel_id=attempt.parcel_id)

    # actions: collection ----------------------------------------------------------------------------------
    def load_collectables(self) -> None:
        session = self._session
        for parcel in self._store.collectable_parcels():
            if parcel.id in session.items or parcel.compartment_id is None:
                continue
            reason = CollectReason.RETURNED if parcel.state is ParcelState.RETURNED else CollectReason.EXPIRED
            session.items[parcel.id] = CollectItem(parcel.id, parcel.compartment_id, parcel.size, reason,
                                                   collected=False)

    def _compartments_to_open(self) -> list[str]:
        busy = self._doors.busy_compartments()
        found: list[str] = []
        for item in self._session.items.values():
            if (not item.collected and not item.failed and item.compartment_id not in found
                    and item.compartment_id not in busy):
                found.append(item.compartment_id)
        return found

    def open_one(self, parcel_id: object = None) -> None:
        item = self._session.items.get(parcel_id) if isinstance(parcel_id, str) else None
        if item is not None:
            self._open_for_collection([item.compartment_id])

    def open_every(self) -> None:
        self._open_for_collection(self._compartments_to_open())

    def _open_for_collection(self, compartments: list[str]) -> None:
        session = self._session
        session.batch = tuple(compartments)
        session.answered.difference_update(compartments)
        for compartment_id in compartments:
            session.doors[compartment_id] = DoorProgress.REQUESTED
        for compartment_id in compartments:
            self._request_collection(compartment_id)

    def _request_collection(self, compartment_id: str) -> None:
        session = self._session
        parcel_ids = []
        for item in session.items.values():
            if item.compartment_id == compartment_id and not item.collected:
                parcel_ids.append(item.parcel_id)
                session.items[item.parcel_id] = replace(item, failed=False)
        self._doors.request_collection(compartment_id, tuple(parcel_ids), self._courier_id())

    def _failed_collect_doors(self, compartment_id: object) -> list[str]:
        """The doors "did not open" is about. Named, that door; unnamed (the door screen has one button for
        the batch), every door of the batch still open: the ones the courier emptied are closed by then, and
        the kiosk cannot tell an open door the courier cannot get into from one not yet emptied. Those are
        given up and taken out of order; their parcels stay recorded where they were, for a technician to
        check, rather than be recorded as collected on the courier's word."""
        session = self._session
        open_doors = [cid for cid in session.batch if session.doors.get(cid) is DoorProgress.OPEN]
        if isinstance(compartment_id, str):
            return [compartment_id] if compartment_id in open_doors else []
        return open_doors

    def leave_collect_door(self, compartment_id: object = None) -> None:
        for target in self._failed_collect_doors(compartment_id):
            self._store.audit("courier_door_failed", self._clock.now(), target, courier_id=self._courier_id())
            if not self._doors.abandon(target, ABANDON_DID_NOT_OPEN, out_of_order=True):
                log.warning("compartment %s: no collection to give up", target)
            self._session.doors[target] = DoorProgress.FAULT
            self._collection_news(target, DoorProgress.FAULT)

    def _unanswered(self) -> str | None:
        session = self._session
        waiting = [cid for cid in session.batch if session.doors.get(cid) is DoorProgress.STILL_INSIDE]
        return next((cid for cid in waiting if cid not in session.answered), None)

    def ask_about_still_inside(self) -> None:
        self._session.check = self._unanswered()

    def reopen_collect_door(self) -> None:
        session = self._session
        compartment_id = session.check
        if compartment_id is None:
            return
        session.doors[compartment_id] = DoorProgress.REQUESTED
        self._store.audit("courier_collect_reopened", self._clock.now(), compartment_id,
                          courier_id=self._courier_id())
        self._request_collection(compartment_id)

    def leave_still_inside(self) -> None:
        session = self._session
        compartment_id = session.check
        if compartment_id is None:
            return
        session.answered.add(compartment_id)
        left = []
        for item in session.items.values():
            if item.compartment_id == compartment_id and not item.collected:
                session.items[item.parcel_id] = replace(item, failed=True)
                left.append(item.parcel_id)
        self._store.audit("courier_collect_skipped", self._clock.now(), compartment_id, parcel_ids=left,
                          courier_id=self._courier_id())

    def close_batch(self) -> None:
        self._session.batch = ()
        self._session.check = None

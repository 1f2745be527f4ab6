"""A customer's return as a statechart: code, size, door, receipt. No Qt and no I/O of its own.

    idle -> (send or return) code -> (typed) verify -> size | code (wrong) | checking (the platform) -> verify
    idle, code -> (a return QR scanned) verify;  code -> locked while the return keypad is locked
    size -> (a size chosen) placing -> door_open -> (closed on the parcel) receipt -> idle
    door_open -> (did not open) placing: another compartment of that size or larger | error (none left)
    door_open -> (closed, IR reads empty) deposit_check -> reopen: placing | skip: idle (nothing recorded)
    session -> (inactivity) more_time -> back | idle

The authorisation is used up only when the door closes on the parcel (the store commits it with the
deposit): a customer who walks away keeps a valid code. `python -m kiosk.core.flows.diagram returns`
draws this chart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from statemachine import HistoryState, State

from kiosk.core.codes import KeypadLimiter, LimiterStatus
from kiosk.core.couriers import generate_receipt_code, return_code_hash, return_code_limiter
from kiosk.core.flows.base import (
    FINISHED,
    IDLE,
    MORE_TIME,
    DepositDoors,
    DoorProgress,
    OnlineCodeCheck,
    Verdict,
    fail_closed_status,
    record_wrong_code,
    whole_seconds,
)
from kiosk.core.flows.deposits import DepositChart
from kiosk.core.flows.views import (
    DepositCheckView,
    DoorAudience,
    ErrorReason,
    ErrorView,
    ReceiptView,
    ReturnCodeError,
    ReturnCodeView,
    ReturnSizeView,
    Screen,
    ScreenId,
    ViewModel,
)
from kiosk.core.inventory import choose_compartment
from kiosk.core.locker import DoorOutcome
from kiosk.core.model import (
    Compartment,
    Deposit,
    DoorPurpose,
    ReturnAuthorisation,
    Size,
    Timers,
)
from kiosk.core.ports import Clock, Store

log = logging.getLogger(__name__)

ABANDON_CANCELLED = "customer_cancelled"


class ReturnOnline(Protocol):
    """The platform, for return codes this locker does not know (KioskController implements it)."""

    def can_verify(self) -> bool: ...

    def request_return_verification(self, attempt: int, code_hash: bytes) -> None:
        """Ask the platform about this keyed hash; never blocks. The answer comes back as the event
        online_verdict(attempt=, authorisation=ReturnAuthorisation | None, unavailable=bool)."""
        ...


@dataclass
class ReturnSession:
    """One customer's return since "Send or return"; dropped when the chart goes idle."""

    code_error: ReturnCodeError | None = None
    verdict: Verdict = Verdict.NONE
    scanning: bool = False
    unknown_hash: bytes = field(default=b"", repr=False)
    verification: int = 0
    authorisation: ReturnAuthorisation | None = None
    chosen: Size | None = None
    compartment_id: str | None = None
    progress: DoorProgress | None = None
    excluded: set[str] = field(default_factory=set)
    retry_same: bool = False
    receipt_code: str | None = None
    faulted: str | None = None  # the last compartment that did not open
    error: ErrorView | None = None


SCREEN_OF_STATE: Mapping[str, ScreenId] = {
    "code": ScreenId.RETURN_CODE,
    "verify": ScreenId.RETURN_CODE,
    "checking": ScreenId.RETURN_CODE,
    "locked": ScreenId.RETURN_CODE,
    "size": ScreenId.RETURN_SIZE,
    "placing": ScreenId.RETURN_SIZE,
    "door_open": ScreenId.DOOR_OPEN,
    "deposit_check": ScreenId.DEPOSIT_CHECK,
    "more_time": ScreenId.MORE_TIME,
    "receipt": ScreenId.RECEIPT,
    "error": ScreenId.ERROR,
}
_PASSING_STATES = frozenset({"verify", "checking", "placing"})


class ReturnsChart(OnlineCodeCheck, DepositChart):
    """The returns statechart. Drive it with `dispatch(event, **arguments)` and the door methods."""

    SCREEN_OF_STATE = SCREEN_OF_STATE

    idle = State(initial=True)

    class session(State.Compound):
        """A customer returning a parcel; inactivity anywhere in it asks for more time."""

        code = State(initial=True)
        verify = State()
        checking = State()
        locked = State()
        size = State()
        placing = State()
        door_open = State()
        deposit_check = State()
        resume = HistoryState()

        code.to(locked, cond="keypad_locked")
        locked.to(code, unless="keypad_locked")
        submit_code = code.to(verify, on="check_code")
        scanned_code = code.to(verify, on="check_scanned_code")
        verify.to(checking, cond="ask_platform", on="ask_the_platform")
        online_verdict = checking.to(verify, cond="awaited_verdict", on="apply_online_verdict")
        verify.to(size, cond="accepted")
        verify.to(code)  # wrong, malformed, or locked (code passes a lock on)
        choose_size = size.to(placing, cond="size_offered", on="take_size")
        reopen = deposit_check.to(placing, on="reopen_same")

    more_time = State()
    receipt = State()
    error = State()

    # Declared out here, in this order, because some lead out of the session.
    session.placing.to(session.door_open, cond="door_requested")
    session.placing.to(error, cond="faulted_out", on="show_door_fault")
    session.placing.to(session.size)  # nothing of that size is free any more: the size screen says what is
    session.door_open.to(receipt, cond="deposited")
    session.door_open.to(session.deposit_check, cond="closed_empty")
    session.door_open.to(session.placing, cond="door_faulted", on="try_after_fault")
    session.door_open.to(session.placing, cond="door_busy", on="try_after_busy")
    session.door_open.to(error, cond="bus_down_at_door", on="show_bus_down")

    start = idle.to(session)
    scanned_code = idle.to(session.verify, on="check_scanned_code")
    skip = session.deposit_check.to(idle, on="note_skipped")
    cancel = (
        session.code.to(idle)
        | session.locked.to(idle)
        | session.checking.to(idle)
        | session.size.to(idle)
        | session.door_open.to(idle, cond="door_not_open_yet", on="give_up_unopened_door")
        | session.deposit_check.to(idle, on="note_skipped")
        | more_time.to(idle)
        | receipt.to(idle)
        | error.to(idle)
    )
    inactivity = session.to(more_time, before="remember_interrupted")
    extend = more_time.to(session.resume)
    more_time.to(session.resume, event="doors_changed", cond="interrupted_door_open")
    time_up = more_time.to(idle)
    done = receipt.to(idle) | error.to(idle)
    abort = session.to(idle) | more_time.to(idle) | receipt.to(idle) | error.to(idle)

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        timers: Timers,
        code_key: bytes,
        layout: Sequence[Compartment],
        doors: DepositDoors,
        online: ReturnOnline | None = None,
        limiter: KeypadLimiter | None = None,
        can_scan: bool = False,
        on_screen: Callable[[Screen], None] | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._code_key = code_key
        self._layout = tuple(layout)
        self._doors = doors
        self._online = online
        self._limiter = limiter or return_code_limiter(store, timers)
        self._can_scan = can_scan
        self._session = ReturnSession()
        self._verifications = 0
        self._abandon_when_open: set[str] = set()
        super().__init__(clock=clock, timers=timers, on_screen=on_screen, on_end=on_end)

    # outside news ------------------------------------------------------------------------------------------
    @property
    def session_data(self) -> ReturnSession:
        return self._session

    @property
    def limiter(self) -> KeypadLimiter:
        return self._limiter

    def door_outcome(self, compartment_id: str, outcome: DoorOutcome) -> None:
        """What the door transaction answered for a door this chart asked for."""
        if compartment_id in self._abandon_when_open:
            self._abandon_when_open.discard(compartment_id)
            # The customer cancelled while it was being unlocked: nothing goes in through it.
            if outcome is DoorOutcome.OPENED and not self._doors.abandon(compartment_id, ABANDON_CANCELLED):
                log.warning("compartment %s: the cancelled return could not be given up", compartment_id)
            return
        super().door_outcome(compartment_id, outcome)

    def _placement(self) -> ReturnSession:
        return self._session

    def _door_news(self, compartment_id: str, progress: DoorProgress) -> bool:
        session = self._session
        waiting = session.progress is not None and session.progress not in FINISHED
        if session.compartment_id != compartment_id or not waiting:
            log.info("compartment %s: %s, for no door this return waits at", compartment_id, progress.value)
            return False
        session.progress = progress
        return True

    # views ------------------------------------------------------------------------------------------------
    def _view(self, state: str) -> ViewModel:
        session = self._session
        now = self._clock.now()
        if state in ("code", "verify", "checking", "locked"):
            status = self._keypad(now)
            return ReturnCodeView(
                error=session.code_error,
                checking=state == "checking",
                failures_in_a_row=status.failures_in_a_row,
                failures_allowed=self._timers.lockout_after_failures,
                locked_seconds=whole_seconds(status.seconds_left),
                can_scan=self._can_scan,
            )
        if state in ("size", "placing"):
            authorised = session.authorisation.size if session.authorisation else Size.S
            return ReturnSizeView(authorised=authorised, available=self._sizes_offered())
        if state == "door_open":
            parcel_id = session.authorisation.parcel_id if session.authorisation else None
            return self._door_open_view(DoorAudience.RETURN, parcel_id=parcel_id)
        if state == "deposit_check":
            return DepositCheckView(
                compartment_id=session.compartment_id or "",
                parcel_id=session.authorisation.parcel_id if session.authorisation else "",
                still_inside=False,
                courier=False,
            )
        if state == "receipt":
            return ReceiptView(
                receipt_code=session.receipt_code or "",
                compartment_id=session.compartment_id or "",
                parcel_id=session.authorisation.parcel_id if session.authorisation else "",
            )
        if state == "error":
            return session.error or ErrorView(ErrorReason.BUS_DOWN)
        if state == MORE_TIME:
            return self._more_time_view()
        raise AssertionError(f"no view for state {state!r}")

    def _timeout(self, state: str) -> tuple[float, str] | None:
        if state in (IDLE, MORE_TIME) or state in _PASSING_STATES:
            return None
        if state == "receipt":
            return self._timers.thank_you_s, "done"
        if state == "error":
            return self._timers.error_s, "done"
        return self._timers.inactivity_s, "inactivity"

    def _countdown(self, state: str) -> float | None:
        return self._keypad(self._clock.now()).seconds_left if state == "locked" else None

    def _on_idle(self) -> None:
        self._session = ReturnSession()

    def _keypad(self, now: float) -> LimiterStatus:
        return fail_closed_status(self._limiter, now, self._timers.lockout_base_s,
                                  limiter_name="return code limiter")

    def _sizes_offered(self) -> tuple[Size, ...]:
        authorisation = self._session.authorisation
        if authorisation is None:
            return ()
        free = self._free(self._session.excluded)
        largest = max((status.compartment.size for status in free), key=lambda size: size.rank, default=None)
        return tuple(size for size in Size if largest is not None and authorisation.size <= size <= largest)

    # guards -------------------------------------------------------------------------------------------------
    def keypad_locked(self) -> bool:
        return self._keypad(self._clock.now()).locked

    def accepted(self) -> bool:
        return self._session.verdict is Verdict.ACCEPTED

    def size_offered(self, size: object = None) -> bool:
        return isinstance(size, Size) and size in self._sizes_offered()

    def faulted_out(self) -> bool:
        return self._session.faulted is not None

    # actions ------------------------------------------------------------------------------------------------
    def check_scanned_code(self, code: object = None) -> None:
        self._check_return_code(code, scanned=True)

    def check_code(self, code: object = None) -> None:
        self._check_return_code(code, scanned=False)

    def _check_return_code(self, code: object, *, scanned: bool) -> None:
        session = self._session
        session.scanning = scanned
        session.verdict = Verdict.REJECTED
        session.code_error = None
        session.authorisation = None
        now = self._clock.now()
        if self._keypad(now).locked:
            return  # the keypad should not have taken it; code shows the lock
        code_hash = return_code_hash(self._code_key, code)
        if code_hash is None:
            session.code_error = ReturnCodeError.MALFORMED
            return
        authorisation = self._store.return_by_code_hash(code_hash)
        if authorisation is None and self._online is not None:
            if not self._to_the_platform(self._online, code_hash):
                self._accept_or_refuse(None, now, ReturnCodeError.NOT_VERIFIED)
            return
        self._accept_or_refuse(authorisation, now, ReturnCodeError.WRONG_CODE)

    def ask_the_platform(self) -> None:
        assert self._online is not None  # ask_platform holds only with a platform
        attempt = self._next_verification()
        self._store.audit("return_code_checked_online", self._clock.now())
        self._online.request_return_verification(attempt, self._session.unknown_hash)

    def apply_online_verdict(self, authorisation: object = None, unavailable: object = False,
                             **_answer: object) -> None:
        """The platform's answer (kept in the store by the controller); unavailable counts as a wrong code
        all the same, so the keypad limit cannot be dodged by making the platform slow."""
        self._session.unknown_hash = b""
        found = authorisation if isinstance(authorisation, ReturnAuthorisation) else None
        self._accept_or_refuse(found, self._clock.now(),
                               ReturnCodeError.NOT_VERIFIED if unavailable else ReturnCodeError.WRONG_CODE)

    def _accept_or_refuse(self, authorisation: ReturnAuthorisation | None, now: float,
                          error: ReturnCodeError) -> None:
        session = self._session
        session.verdict = Verdict.REJECTED
        expires_at = authorisation.expires_at if authorisation is not None else None
        if expires_at is not None and expires_at <= now:
            authorisation = None
        if authorisation is None:
            if not record_wrong_code(self._store, self._limiter, now, rejected="return_code_rejected",
                                     locked="return_keypad_locked", reason=error.value):
                session.code_error = error
            return
        self._limiter.record_success(now)
        session.authorisation = authorisation
        session.chosen = authorisation.size
        session.verdict = Verdict.ACCEPTED
        self._store.audit("return_code_accepted", now, parcel_id=authorisation.parcel_id,
                          return_id=authorisation.return_id, scanned=session.scanning)

    def take_size(self, size: object = None) -> None:
        if isinstance(size, Size):
            self._session.chosen = size

    def on_enter_placing(self) -> None:
        session = self._session
        authorisation = session.authorisation
        if authorisation is None or session.chosen is None or session.progress is not None:
            return
        size = session.chosen
        chosen = self._choose(session, lambda free: choose_compartment(free, size))
        if chosen is None:
            log.info("no free compartment of size %s or larger for return %s", size.value,
                     authorisation.return_id)
            return
        session.faulted = None
        # The same receipt across retries: the customer may already have noted it.
        session.receipt_code = session.receipt_code or generate_receipt_code()
        deposit = Deposit(
            parcel_id=authorisation.parcel_id,
            size=size,
            recipient="",
            return_id=authorisation.return_id,
            receipt_code=session.receipt_code,
        )
        self._open_for_deposit(session, chosen, DoorPurpose.RETURN, deposit)

    def try_after_fault(self) -> None:
        session = self._session
        assert session.compartment_id is not None  # door_faulted holds
        session.faulted = session.compartment_id
        self._move_on(session)

    def show_door_fault(self) -> None:
        self._session.error = ErrorView(ErrorReason.DOOR_FAULT, self._session.faulted, code_still_valid=True)

    def show_bus_down(self) -> None:
        self._session.error = ErrorView(ErrorReason.BUS_DOWN, self._session.compartment_id,
                                        code_still_valid=True)

    def reopen_same(self) -> None:
        session = self._session
        self._reopen(session)
        self._store.audit("return_deposit_reopened", self._clock.now(), session.compartment_id,
                          parcel_id=session.authorisation.parcel_id if session.authorisation else None)

    def note_skipped(self) -> None:
        session = self._session
        self._store.audit("return_not_deposited", self._clock.now(), session.compartment_id,
                          parcel_id=session.authorisation.parcel_id if session.authorisation else None)

    def give_up_unopened_door(self) -> None:
        session = self._session
        if session.compartment_id is not None:
            self._abandon_when_open.add(session.compartment_id)
        self._store.audit("return_cancelled_at_the_door", self._clock.now(), session.compartment_id,
                          parcel_id=session.authorisation.parcel_id if session.authorisation else None)

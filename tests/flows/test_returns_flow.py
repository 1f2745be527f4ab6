"""Customer returns below the UI: a code typed or scanned (or checked with the platform), a size, a door, the
parcel in, a receipt; wrong codes counted; a door closed on nothing; a door that does not open.

Real store, real Kerong simulator with IR sensors, real Locker and controller; the flow timers on a
ManualClock. The platform, where one is needed, is `ReturnDesk`, answering verify_return from what it was
given (the HTTP way is covered in tests/backend and tests/e2e).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from flow_rig import CODE_KEY, Rig

from kiosk.core.couriers import RECEIPT_ALPHABET, RETURN_LIMITER_KEY, return_code_hash
from kiosk.core.flows.views import (
    DepositCheckView,
    DoorAudience,
    DoorOpenView,
    ErrorReason,
    ErrorView,
    HomeView,
    Intent,
    MoreTimeView,
    ReceiptView,
    ReturnCodeError,
    ReturnCodeView,
    ReturnSizeView,
    Screen,
    ScreenId,
)
from kiosk.core.model import (
    CompartmentState,
    EventKind,
    ParcelState,
    PickupCredential,
    ReturnAuthorisation,
    Size,
)
from kiosk.core.payloads import ScanTarget, return_payload
from kiosk.core.ports import VerificationUnavailable

CODE = "RT7Q2M9X"


def code_view(rig: Rig) -> ReturnCodeView:
    view = rig.screen.view
    assert rig.screen.id is ScreenId.RETURN_CODE and isinstance(view, ReturnCodeView), rig.screen
    return view


def door_view(rig: Rig) -> DoorOpenView:
    view = rig.screen.view
    assert rig.screen.id is ScreenId.DOOR_OPEN and isinstance(view, DoorOpenView), rig.screen
    return view


def test_a_typed_return_code_ends_with_a_receipt_and_a_returned_event(rig: Rig) -> None:
    authorisation = rig.seed_return(CODE, Size.S, return_id="ret-77", parcel_id="RX-77")

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        assert rig.screen == Screen(ScreenId.RETURN_CODE, ReturnCodeView())
        assert rig.controller.scan_target() is ScanTarget.PERSON_CODES
        rig.intent(Intent.SUBMIT_RETURN_CODE, code="rt7q-2m9x")  # dashes and case as people type them
        assert rig.screen == Screen(ScreenId.RETURN_SIZE, ReturnSizeView(Size.S, (Size.S, Size.M, Size.L,
                                                                                  Size.XL)))
        rig.intent(Intent.CHOOSE_SIZE, size="S")
        view = door_view(rig)
        assert view.compartment_ids == ("A2",) and view.audience is DoorAudience.RETURN
        assert view.parcel_id == "RX-77" and view.waiting_for_unlock
        assert rig.controller.scan_target() is ScanTarget.NONE
        await rig.door_confirmed()
        rig.put_parcel_and_close("A2")
        receipt = await rig.screen_is(ScreenId.RECEIPT)
        assert isinstance(receipt.view, ReceiptView)
        assert (receipt.view.compartment_id, receipt.view.parcel_id) == ("A2", "RX-77")
        code = receipt.view.receipt_code
        assert len(code) == 8 and set(code) <= set(RECEIPT_ALPHABET)
        rig.clock.advance(rig.timers.thank_you_s)
        assert rig.screen == Screen(ScreenId.HOME, HomeView(idle_return=True))

    rig.run(scenario)
    parcel = rig.store.parcel("RX-77")
    assert parcel.state is ParcelState.RETURNED and parcel.compartment_id == "A2"
    assert rig.store.compartment("A2").state is CompartmentState.OCCUPIED
    returned = [event for event in rig.store.outbox_batch(10) if event.kind is EventKind.RETURNED]
    assert len(returned) == 1 and returned[0].details["return_id"] == "ret-77"
    assert len(str(returned[0].details["receipt_code"])) == 8
    assert rig.store.return_by_code_hash(authorisation.code_hash) is None  # used up
    assert CODE not in repr(rig.store.audit_log())


def test_a_return_qr_on_home_goes_straight_to_the_size_and_bigger_sizes_can_be_chosen(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(camera=True)
    rig.seed_return(CODE, Size.M, parcel_id="RX-M")
    rig.place("111111", Size.L)  # A4, the only L, taken: L is still offered (an XL fits it)

    async def scenario() -> None:
        rig.intent(Intent.SCAN, payload=return_payload(CODE), source="camera")
        assert rig.screen == Screen(ScreenId.RETURN_SIZE, ReturnSizeView(Size.M, (Size.M, Size.L, Size.XL)))
        rig.intent(Intent.CHOOSE_SIZE, size=Size.S)  # smaller than authorised: not offered
        assert rig.screen.id is ScreenId.RETURN_SIZE
        rig.intent(Intent.CHOOSE_SIZE, size=Size.L)
        assert door_view(rig).compartment_ids == ("B2",)
        await rig.door_confirmed()
        rig.put_parcel_and_close("B2")
        await rig.screen_is(ScreenId.RECEIPT)
        rig.intent(Intent.DONE)
        assert rig.screen.id is ScreenId.HOME

    rig.run(scenario)
    assert rig.store.parcel("RX-M").compartment_id == "B2"
    scanned = [entry for entry in rig.store.audit_log() if entry.kind == "return_code_accepted"]
    assert scanned[0].details["scanned"] is True


def test_a_return_qr_scanned_on_the_return_screen_and_on_the_pickup_keypad(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(camera=True)
    rig.seed_return(CODE, Size.S)
    rig.seed_return("OTHERCODE1", Size.S)

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.SCAN, payload=return_payload(CODE), source="camera")
        assert rig.screen.id is ScreenId.RETURN_SIZE
        rig.intent(Intent.CANCEL)
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SCAN, payload=return_payload("OTHERCODE1"), source="wedge")
        assert rig.screen.id is ScreenId.RETURN_SIZE

    rig.run(scenario)


def test_wrong_return_codes_count_and_lock_the_keypad_apart_from_pickup_codes(rig: Rig) -> None:
    rig.seed_return(CODE, Size.S)

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.SUBMIT_RETURN_CODE, code="SHORT")
        assert code_view(rig).error is ReturnCodeError.MALFORMED and code_view(rig).failures_in_a_row == 0
        rig.intent(Intent.SUBMIT_RETURN_CODE, code="ÀÉÎÕÜ12345")
        assert code_view(rig).error is ReturnCodeError.MALFORMED
        for attempt in range(1, 5):
            rig.intent(Intent.SUBMIT_RETURN_CODE, code=f"WRONGCODE{attempt}")
            assert code_view(rig).error is ReturnCodeError.WRONG_CODE
            assert code_view(rig).failures_in_a_row == attempt
        rig.intent(Intent.SUBMIT_RETURN_CODE, code="WRONGCODE5")
        assert code_view(rig).locked_seconds == 60
        rig.intent(Intent.SUBMIT_RETURN_CODE, code=CODE)  # the keys wait out the lock
        assert code_view(rig).locked_seconds == 60
        rig.clock.advance(1)
        assert code_view(rig).locked_seconds == 59
        rig.clock.advance(rig.timers.inactivity_s + rig.timers.more_time_s)  # nobody waits that long
        assert rig.screen.id is ScreenId.HOME
        rig.intent(Intent.START_RETURN)
        assert code_view(rig).locked_seconds == 60 - 1 - 45  # the lock is the locker's, not the screen's
        rig.clock.advance(14)
        assert code_view(rig).locked_seconds == 0 and code_view(rig).failures_in_a_row == 0
        rig.intent(Intent.SUBMIT_RETURN_CODE, code=CODE)
        assert rig.screen.id is ScreenId.RETURN_SIZE

    rig.run(scenario)
    assert rig.store.get_state(RETURN_LIMITER_KEY) is not None
    assert rig.controller.limiter.status(rig.clock.now()).failures_in_a_row == 0  # pickup's keypad untouched
    assert rig.audit_kinds().count("return_code_rejected") == 5
    assert "return_keypad_locked" in rig.audit_kinds()


def test_an_expired_return_code_is_a_wrong_one(rig: Rig) -> None:
    rig.seed_return(CODE, Size.S, expires_at=rig.clock.now() - 1)

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.SUBMIT_RETURN_CODE, code=CODE)
        assert code_view(rig).error is ReturnCodeError.WRONG_CODE

    rig.run(scenario)


class ReturnDesk:
    """The platform's answers to verify_return (and verify_pickup), as the OnlineVerifier port gives them."""

    def __init__(self) -> None:
        self.returns: dict[bytes, ReturnAuthorisation] = {}
        self.reachable = True
        self.online_now = True
        self.gate: asyncio.Event | None = None

    def issue(self, code: str, size: Size, parcel_id: str) -> None:
        code_hash = return_code_hash(CODE_KEY, code)
        assert code_hash is not None
        self.returns[code_hash] = ReturnAuthorisation(f"ret-online-{parcel_id}", parcel_id, code_hash, size,
                                                      None)

    def online(self) -> bool:
        return self.online_now

    async def verify_pickup(self, code_hash: bytes) -> PickupCredential | None:
        return None

    async def verify_return(self, code_hash: bytes) -> ReturnAuthorisation | None:
        if self.gate is not None:
            await self.gate.wait()
        if not self.reachable:
            raise VerificationUnavailable("connection refused")
        return self.returns.get(code_hash)


@pytest.fixture
def desk() -> ReturnDesk:
    return ReturnDesk()


def test_a_return_code_issued_after_the_last_sync_is_checked_online(make_rig: Callable[..., Rig],
                                                                   desk: ReturnDesk) -> None:
    rig = make_rig(verifier=desk)
    desk.issue("FRESHCODE42", Size.M, "RX-ONLINE")
    desk.gate = asyncio.Event()

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.SUBMIT_RETURN_CODE, code="FRESHCODE42")
        assert code_view(rig).checking
        assert desk.gate is not None
        desk.gate.set()
        size = await rig.screen_is(ScreenId.RETURN_SIZE)
        assert isinstance(size.view, ReturnSizeView) and size.view.authorised is Size.M
        rig.intent(Intent.CHOOSE_SIZE, size="M")
        await rig.door_confirmed()
        rig.put_parcel_and_close("A3")
        await rig.screen_is(ScreenId.RECEIPT)

    rig.run(scenario)
    assert rig.store.parcel("RX-ONLINE").state is ParcelState.RETURNED
    kinds = rig.audit_kinds()
    assert "return_code_checked_online" in kinds
    returned = next(event for event in rig.store.outbox_batch(10) if event.kind is EventKind.RETURNED)
    assert returned.details["return_id"] == "ret-online-RX-ONLINE"


def test_an_unknown_code_the_platform_cannot_check_now_is_not_verified(make_rig: Callable[..., Rig],
                                                                      desk: ReturnDesk) -> None:
    rig = make_rig(verifier=desk)

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        desk.reachable = False
        rig.intent(Intent.SUBMIT_RETURN_CODE, code="FRESHCODE42")
        await rig.until(lambda: not code_view(rig).checking, "the platform's answer")
        assert code_view(rig).error is ReturnCodeError.NOT_VERIFIED and code_view(rig).failures_in_a_row == 1
        desk.online_now = False  # known to be offline: not even asked
        rig.intent(Intent.SUBMIT_RETURN_CODE, code="FRESHCODE43")
        assert code_view(rig).error is ReturnCodeError.NOT_VERIFIED and not code_view(rig).checking
        desk.online_now = True
        desk.reachable = True
        rig.intent(Intent.SUBMIT_RETURN_CODE, code="NOBODYSCODE")  # the platform knows no such code
        await rig.until(lambda: not code_view(rig).checking, "the platform's answer")
        assert code_view(rig).error is ReturnCodeError.WRONG_CODE and code_view(rig).failures_in_a_row == 3

    rig.run(scenario)


def test_a_return_door_closed_on_nothing_asks_then_skip_records_nothing(rig: Rig) -> None:
    authorisation = rig.seed_return(CODE, Size.S, parcel_id="RX-EMPTY")

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.SUBMIT_RETURN_CODE, code=CODE)
        rig.intent(Intent.CHOOSE_SIZE, size="S")
        await rig.door_confirmed()
        rig.close_empty("A2")
        check = await rig.screen_is(ScreenId.DEPOSIT_CHECK)
        assert check.view == DepositCheckView("A2", "RX-EMPTY", still_inside=False, courier=False)
        rig.intent(Intent.REOPEN)
        await rig.door_confirmed()
        assert door_view(rig).compartment_ids == ("A2",)
        rig.close_empty("A2")
        await rig.screen_is(ScreenId.DEPOSIT_CHECK)
        rig.intent(Intent.SKIP)
        assert rig.screen == Screen(ScreenId.HOME, HomeView())  # the customer is still here: same language

    rig.run(scenario)
    assert rig.store.compartment("A2").state is CompartmentState.FREE
    assert not [event for event in rig.store.outbox_batch(10) if event.kind is EventKind.RETURNED]
    assert rig.store.return_by_code_hash(authorisation.code_hash) is not None  # the code is still good
    assert "return_not_deposited" in rig.audit_kinds()


def test_a_return_door_that_does_not_open_gives_way_to_another_then_to_the_error_screen(rig: Rig) -> None:
    rig.seed_return(CODE, Size.L, parcel_id="RX-L")
    for compartment_id in ("A4", "B2"):  # every L-or-bigger door is jammed
        rig.sim.jam(*rig.address(compartment_id))

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.SUBMIT_RETURN_CODE, code=CODE)
        rig.intent(Intent.CHOOSE_SIZE, size="L")
        assert door_view(rig).compartment_ids == ("A4",)
        error = await rig.screen_is(ScreenId.ERROR)
        assert error.view == ErrorView(ErrorReason.DOOR_FAULT, "B2", code_still_valid=True)
        rig.clock.advance(rig.timers.error_s)
        assert rig.screen.id is ScreenId.HOME

    rig.run(scenario)
    assert rig.unlock_pulses("A4") == 2 and rig.unlock_pulses("B2") == 2
    assert rig.store.compartment("A4").state is CompartmentState.OUT_OF_ORDER
    assert rig.store.compartment("B2").state is CompartmentState.OUT_OF_ORDER


def test_a_return_waits_with_more_time_and_the_door_brings_the_customer_back(rig: Rig) -> None:
    rig.seed_return(CODE, Size.S)

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.SUBMIT_RETURN_CODE, code=CODE)
        rig.intent(Intent.CHOOSE_SIZE, size="S")
        await rig.door_confirmed()
        rig.clock.advance(rig.timers.inactivity_s)
        assert rig.screen.view == MoreTimeView(15, ScreenId.DOOR_OPEN)
        rig.put_parcel_and_close("A2")  # the customer was there all along
        await rig.screen_is(ScreenId.RECEIPT)

        rig.intent(Intent.DONE)
        rig.intent(Intent.START_RETURN)
        rig.clock.advance(rig.timers.inactivity_s + rig.timers.more_time_s)
        assert rig.screen == Screen(ScreenId.HOME, HomeView(idle_return=True))

    rig.run(scenario)


def test_cancelling_before_the_door_opens_goes_home_and_gives_the_door_up(rig: Rig) -> None:
    authorisation = rig.seed_return(CODE, Size.S)

    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.SUBMIT_RETURN_CODE, code=CODE)
        rig.intent(Intent.CHOOSE_SIZE, size="S")
        assert door_view(rig).waiting_for_unlock
        rig.intent(Intent.CANCEL)  # the door screen offers cancel until the door is open
        assert rig.screen == Screen(ScreenId.HOME, HomeView())
        await rig.until(lambda: "journal_abandoned" in rig.audit_kinds(), "the door given up once open")
        assert rig.locker.unfinished() == {}
        rig.put_parcel_and_close("A2")  # whatever happens at that door now records nothing

    rig.run(scenario)
    assert not [event for event in rig.store.outbox_batch(10) if event.kind is EventKind.RETURNED]
    assert rig.store.compartment("A2").state is CompartmentState.FREE
    assert rig.store.return_by_code_hash(authorisation.code_hash) is not None
    assert "return_cancelled_at_the_door" in rig.audit_kinds()

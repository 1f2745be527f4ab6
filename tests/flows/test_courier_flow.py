"""Courier mode below the UI: login (PIN, badge), limits, inactivity, and the batch drop-off with its detours
(too small, a door that did not open, a full locker, unannounced parcels, a door closed on nothing).

Real store, real Kerong simulator with IR sensors, real Locker and controller; the flow timers on a
ManualClock. Couriers, announced parcels and credentials are seeded as the platform syncs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flow_rig import CODE_KEY, LOCKER_ID, Rig

from kiosk.core.codes import hash_code
from kiosk.core.couriers import COURIER_LIMITER_KEY
from kiosk.core.flows.views import (
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
    HomeView,
    Intent,
    MoreTimeView,
    Screen,
    ScreenId,
)
from kiosk.core.model import (
    Compartment,
    CompartmentState,
    CourierPolicy,
    EventKind,
    ParcelState,
    Size,
)
from kiosk.core.payloads import ScanTarget, courier_badge_payload, pickup_payload

PIN = "2468"
BADGE = "B4DGE5ECRET0000K7"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9"


def scan(rig: Rig, payload: str | bytes, source: str = "wedge") -> None:
    rig.intent(Intent.SCAN, payload=payload, source=source)


def scan_view(rig: Rig) -> CourierScanView:
    view = rig.screen.view
    assert rig.screen.id is ScreenId.COURIER_SCAN and isinstance(view, CourierScanView), rig.screen
    return view


def door_view(rig: Rig) -> DoorOpenView:
    view = rig.screen.view
    assert rig.screen.id is ScreenId.DOOR_OPEN and isinstance(view, DoorOpenView), rig.screen
    return view


def login_view(rig: Rig) -> CourierLoginView:
    view = rig.screen.view
    assert rig.screen.id is ScreenId.COURIER_LOGIN and isinstance(view, CourierLoginView), rig.screen
    return view


def audit_text(rig: Rig) -> str:
    return repr(rig.store.audit_log())


async def wrong_login(rig: Rig, courier_id: str = "K-7", pin: str = "0000") -> CourierLoginView:
    rig.intent(Intent.COURIER_LOGIN, courier_id=courier_id, pin=pin)
    await rig.until(lambda: not login_view(rig).checking, "the PIN check")
    return login_view(rig)


# login ------------------------------------------------------------------------------------------------------
def test_a_courier_logs_in_with_id_and_pin_and_the_summary_ends_the_session(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN, display_name="Kim Courier")

    async def scenario() -> None:
        rig.intent(Intent.START_COURIER)
        assert login_view(rig) == CourierLoginView()
        assert rig.controller.chart.state_id == "elsewhere"  # pickup rests while courier mode has the screen
        rig.intent(Intent.COURIER_LOGIN, courier_id="k-7", pin=PIN)  # ids in any case
        # The PIN is checked on a thread of its own: the intent returns before the answer.
        assert login_view(rig).checking
        menu = await rig.screen_is(ScreenId.COURIER_MENU)
        assert menu.view == CourierMenuView("Kim Courier", can_collect=True, collectable=0, delivered=0,
                                            collected=0)
        rig.intent(Intent.LOGOUT)
        assert rig.screen == Screen(ScreenId.COURIER_SUMMARY, CourierSummaryView("Kim Courier", 0, 0, 0, 0))
        rig.intent(Intent.DONE)
        assert rig.screen == Screen(ScreenId.HOME, HomeView(idle_return=True))  # the language resets

    rig.run(scenario)
    log_in = next(entry for entry in rig.store.audit_log() if entry.kind == "courier_login")
    assert log_in.details == {"courier_id": "K-7", "method": "pin"}
    assert "courier_logout" in rig.audit_kinds()
    assert PIN not in audit_text(rig)


def test_wrong_pins_and_unknown_ids_count_and_five_lock_courier_login(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)

    async def scenario() -> None:
        rig.intent(Intent.START_COURIER)
        rig.intent(Intent.COURIER_LOGIN, courier_id="K-7", pin="")  # malformed: said, not counted
        assert login_view(rig).error is CourierLoginError.MALFORMED and login_view(rig).failures_in_a_row == 0
        for attempt in range(1, 5):
            view = await wrong_login(rig, "K-7" if attempt % 2 else "NOBODY")
            assert view.error is CourierLoginError.WRONG_CREDENTIALS and view.failures_in_a_row == attempt
        view = await wrong_login(rig)
        assert rig.controller.courier_chart.state_id == "locked"
        assert view.locked_seconds == 60 and view.error is None
        rig.intent(Intent.COURIER_LOGIN, courier_id="K-7", pin=PIN)  # the keys wait out the lock
        assert login_view(rig).locked_seconds == 60 and not login_view(rig).checking
        rig.clock.advance(1)
        assert login_view(rig).locked_seconds == 59
        rig.clock.advance(59)
        assert login_view(rig).locked_seconds == 0
        rig.intent(Intent.COURIER_LOGIN, courier_id="K-7", pin=PIN)
        await rig.screen_is(ScreenId.COURIER_MENU)

    rig.run(scenario)
    failures = [entry for entry in rig.store.audit_log() if entry.kind == "courier_login_failed"]
    assert len(failures) == 5
    assert "NOBODY" not in audit_text(rig)  # an unknown id may be a PIN in the wrong field
    assert "courier_login_locked" in rig.audit_kinds()
    assert rig.store.get_state(COURIER_LIMITER_KEY) is not None  # apart from the pickup keypad's
    assert rig.controller.limiter.status(rig.clock.now()).failures_in_a_row == 0


def test_the_policy_sets_how_many_wrong_pins_lock_login(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(courier_policy=CourierPolicy(max_login_failures=2))
    rig.seed_courier("K-7", PIN)

    async def scenario() -> None:
        rig.intent(Intent.START_COURIER)
        assert login_view(rig).failures_allowed == 2
        await wrong_login(rig)
        view = await wrong_login(rig)
        assert view.locked_seconds == 60

    rig.run(scenario)


def test_an_expired_courier_is_told_so_and_nothing_is_counted(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN, valid_until=rig.clock.now() - 1)

    async def scenario() -> None:
        rig.intent(Intent.START_COURIER)
        view = await wrong_login(rig, pin=PIN)
        assert view.error is CourierLoginError.EXPIRED and view.failures_in_a_row == 0

    rig.run(scenario)
    failed = next(entry for entry in rig.store.audit_log() if entry.kind == "courier_login_failed")
    assert failed.details["reason"] == "expired"


@pytest.mark.parametrize("password_hash", [
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
    "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",  # would want 128 GiB
    "$bcrypt$whatever",
])
def test_a_hash_this_locker_cannot_check_is_said_plainly(rig: Rig, password_hash: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    rig.seed_courier("K-7", PIN, password_hash=password_hash)

    async def scenario() -> None:
        rig.intent(Intent.START_COURIER)
        view = await wrong_login(rig, pin=PIN)
        assert view.error is CourierLoginError.UNSUPPORTED and view.failures_in_a_row == 0

    with caplog.at_level(logging.WARNING):
        rig.run(scenario)
    assert "cannot be checked here" in caplog.text or "beyond this locker" in caplog.text
    failed = next(entry for entry in rig.store.audit_log() if entry.kind == "courier_login_failed")
    assert failed.details["reason"] == "unsupported_hash"


def test_a_badge_shown_on_home_logs_in_with_no_tap(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(camera=True)
    rig.seed_courier("K-7", PIN, badge=BADGE)

    async def scenario() -> None:
        assert rig.controller.scan_target() is ScanTarget.PERSON_CODES
        scan(rig, courier_badge_payload("K-7", BADGE), source="camera")
        assert rig.screen.id is ScreenId.COURIER_MENU  # a badge needs no slow check
        rig.intent(Intent.LOGOUT)
        rig.intent(Intent.DONE)
        rig.intent(Intent.START_COURIER)
        scan(rig, courier_badge_payload("K-7", "NOTTHEBADGESECRET1"))
        assert login_view(rig).error is CourierLoginError.WRONG_CREDENTIALS
        assert login_view(rig).failures_in_a_row == 1 and login_view(rig).can_scan
        scan(rig, courier_badge_payload("K-8", BADGE))  # another courier's id on this badge
        assert login_view(rig).failures_in_a_row == 2
        scan(rig, pickup_payload(LOCKER_ID, "123456"))  # not a badge: nothing happens
        assert login_view(rig).failures_in_a_row == 2
        scan(rig, courier_badge_payload("k-7", BADGE.lower()))
        assert rig.screen.id is ScreenId.COURIER_MENU

    rig.run(scenario)
    logins = [entry.details for entry in rig.store.audit_log() if entry.kind == "courier_login"]
    assert logins == [{"courier_id": "K-7", "method": "badge"}] * 2
    assert BADGE not in audit_text(rig).upper()


def test_inactivity_asks_for_more_time_then_ends_with_the_summary(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    wait = rig.timers.courier_inactivity_s

    async def scenario() -> None:
        rig.intent(Intent.START_COURIER)
        rig.clock.advance(wait)
        assert rig.screen == Screen(ScreenId.MORE_TIME, MoreTimeView(15, ScreenId.COURIER_LOGIN))
        rig.clock.advance(rig.timers.more_time_s)
        assert rig.screen == Screen(ScreenId.HOME, HomeView(idle_return=True))  # nobody logged in: no summary

        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        rig.clock.advance(wait - 1)
        rig.intent(Intent.ACTIVITY)  # a touch: the wait starts again
        rig.clock.advance(wait - 1)
        assert rig.screen.id is ScreenId.COURIER_SCAN
        rig.clock.advance(1)
        assert rig.screen.view == MoreTimeView(15, ScreenId.COURIER_SCAN)
        rig.intent(Intent.MORE_TIME)
        assert rig.screen.id is ScreenId.COURIER_SCAN
        rig.clock.advance(wait + rig.timers.more_time_s)
        assert rig.screen.id is ScreenId.COURIER_SUMMARY
        rig.clock.advance(rig.timers.thank_you_s)
        assert rig.screen == Screen(ScreenId.HOME, HomeView(idle_return=True))

    rig.run(scenario)
    logout = [entry.details for entry in rig.store.audit_log() if entry.kind == "courier_logout"]
    assert logout[-1]["reason"] == "inactivity"


def test_the_courier_button_works_only_on_home_and_bad_arguments_are_ignored(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.seed_courier("K-7", PIN)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.START_COURIER)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        rig.intent(Intent.CANCEL)
        rig.intent(Intent.START_COURIER)
        rig.intent(Intent.COURIER_LOGIN, courier_id="K-7", pin=2468)
        rig.intent(Intent.COURIER_LOGIN, courier_id=None, pin=PIN)
        rig.intent(Intent.COURIER_LOGIN, courier_id="K-7" * 100, pin=PIN)
        assert login_view(rig).error is CourierLoginError.MALFORMED
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        rig.intent(Intent.CHOOSE_SIZE, size="XXL")
        rig.intent(Intent.DOOR_FAILED, compartment_id=7)
        rig.intent(Intent.OPEN_PARCEL, parcel_id="nothing")
        rig.intent(Intent.SUBMIT_CODE, code="123456")  # a pickup intent means nothing here
        assert scan_view(rig) == CourierScanView(delivered=0, refused=0)

    with caplog.at_level(logging.WARNING):
        rig.run(scenario)
    assert "pin as text (got int)" in caplog.text and "2468" not in caplog.text
    assert "size 'XXL'" in caplog.text


# drop-off ---------------------------------------------------------------------------------------------------
BATCH_LAYOUT = tuple(
    Compartment(f"{column}{row}", Size.M if row % 3 else Size.L, board=column_index, lock=row,
                height_cm=30 + 15 * row, column=column_index + 1)
    for column_index, column in enumerate("AB") for row in range(1, 13)
)


def test_a_batch_of_twenty_parcels_goes_in_with_scans_only(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(layout=BATCH_LAYOUT)
    rig.seed_courier("K-7", PIN)
    labels = [f"JJD00{index:04d}" for index in range(20)]
    parcels = [rig.seed_expected(label, Size.M) for label in labels]
    taps: list[Intent] = []

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        assert rig.controller.scan_target() is ScanTarget.PARCEL_LABELS
        for count, label in enumerate(labels, start=1):
            compartment_id = await rig.deliver(label)
            view = scan_view(rig)
            assert view.delivered == count and view.refused == 0
            assert (view.notice, view.notice_parcel, view.notice_compartment) == (
                CourierNotice.DEPOSITED, label, compartment_id)
            assert rig.controller.scan_target() is ScanTarget.PARCEL_LABELS
        rig.intent(Intent.LOGOUT)
        taps.append(Intent.LOGOUT)
        summary = rig.screen.view
        assert isinstance(summary, CourierSummaryView) and summary.delivered == 20 and summary.faults == 0

    rig.run(scenario)
    assert taps == [Intent.LOGOUT]  # besides logging in and out, only scans
    stored = [rig.store.parcel(parcel.id) for parcel in parcels]
    assert all(parcel.state is ParcelState.IN_LOCKER for parcel in stored)
    assert len({parcel.compartment_id for parcel in stored}) == 20
    deposited = [event for event in rig.store.outbox_batch(100) if event.kind is EventKind.DEPOSITED]
    assert len(deposited) == 20
    assert all(event.details["courier_id"] == "K-7" and event.details["pickup_code"] for event in deposited)
    assert rig.store.unfinished_journal() == []


def test_an_accessible_recipients_parcel_goes_within_reach(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    rig.seed_expected("LBL-FIRST", Size.S)
    rig.seed_expected("LBL-WHEELCHAIR", Size.S, accessible=True)
    rig.seed_expected("LBL-LAST", Size.S)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        # The smallest that fits, out of reach (A1, top edge 150 cm): A2 (120 cm) stays for those who need it.
        assert await rig.deliver("LBL-FIRST") == "A1"
        assert await rig.deliver("LBL-WHEELCHAIR") == "A2"
        assert await rig.deliver("LBL-LAST") == "B1"  # no S left: the next size up, out of reach again

    rig.run(scenario)
    placed = rig.store.parcel("PX-LBL-WHEELCHAIR")
    assert placed.compartment_id == "A2" and rig.by_id["A2"].height_cm <= 120


def test_an_announced_parcel_with_a_platform_code_gets_no_new_code(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    parcel = rig.seed_expected("LBL-PLATFORM", Size.S, platform_code="775533")

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        await rig.deliver("LBL-PLATFORM")

    rig.run(scenario)
    event = next(event for event in rig.store.outbox_batch(10) if event.kind is EventKind.DEPOSITED)
    assert event.details.get("pickup_code") is None
    assert [p.id for p in rig.store.parcels_for_code_hash(hash_code(CODE_KEY, "775533"))] == [parcel.id]


def test_too_small_moves_the_parcel_to_the_next_bigger_compartment(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    parcel = rig.seed_expected("LBL-BULKY", Size.S)
    rig.seed_expected("LBL-HUGE", Size.XL)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "LBL-BULKY")
        await rig.door_confirmed()
        # A1 (S, 150 cm): out of reach, as the recipient needs no reachable one
        assert door_view(rig).compartment_ids == ("A1",)
        view = door_view(rig)
        assert view.audience is DoorAudience.COURIER_DEPOSIT and view.parcel_id == "LBL-BULKY"
        rig.intent(Intent.TOO_SMALL)
        assert door_view(rig).compartment_ids == ("B1",) and door_view(rig).moved_from == "A1"
        await rig.door_confirmed()
        rig.close_empty("A1")  # the courier takes the parcel back out and shuts the small door
        rig.put_parcel_and_close("B1")
        await rig.until(lambda: rig.screen.id is ScreenId.COURIER_SCAN, "the deposit")
        assert scan_view(rig).notice_compartment == "B1"

        scan(rig, "LBL-HUGE")  # XL: nothing is bigger than its door
        await rig.door_confirmed()
        assert door_view(rig).compartment_ids == ("B2",)
        rig.intent(Intent.TOO_SMALL)
        view = scan_view(rig)
        assert (view.notice, view.notice_parcel, view.notice_size) == (CourierNotice.NO_BIGGER, "LBL-HUGE",
                                                                       Size.XL)
        assert (view.delivered, view.refused) == (1, 1)
        rig.close_empty("B2")

    rig.run(scenario)
    stored = rig.store.parcel(parcel.id)
    assert stored.compartment_id == "B1" and stored.state is ParcelState.IN_LOCKER
    assert rig.store.compartment("A1").state is CompartmentState.FREE
    assert rig.store.parcel("PX-LBL-HUGE").state is ParcelState.EXPECTED
    assert rig.store.compartment("B2").state is CompartmentState.FREE
    assert rig.audit_kinds().count("courier_too_small") == 2


def test_a_door_that_did_not_open_is_marked_and_another_opens(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    parcel = rig.seed_expected("LBL-STUCK", Size.S)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "LBL-STUCK")
        await rig.door_confirmed()
        rig.intent(Intent.DOOR_FAILED)  # the kiosk saw it open; the courier says it is not
        assert door_view(rig).compartment_ids == ("A2",) and door_view(rig).moved_from == "A1"
        await rig.door_confirmed()
        rig.put_parcel_and_close("A2")
        await rig.until(lambda: rig.screen.id is ScreenId.COURIER_SCAN, "the deposit")
        rig.intent(Intent.LOGOUT)
        assert rig.screen.view == CourierSummaryView("Kim Courier", delivered=1, refused=0, collected=0,
                                                     faults=1)

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).compartment_id == "A2"
    status = rig.store.compartment("A1")
    assert status.state is CompartmentState.OUT_OF_ORDER
    faults = [event for event in rig.store.outbox_batch(10) if event.kind is EventKind.DOOR_FAULT]
    assert [event.compartment_id for event in faults] == ["A1"]


def test_a_jammed_door_is_left_out_of_order_and_the_next_opens_by_itself(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    parcel = rig.seed_expected("LBL-JAM", Size.S)
    rig.sim.jam(*rig.address("A1"))

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "LBL-JAM")
        await rig.until(lambda: isinstance(rig.screen.view, DoorOpenView)
                        and rig.screen.view.compartment_ids == ("A2",), "the next compartment")
        assert door_view(rig).moved_from == "A1"
        await rig.door_confirmed()
        rig.put_parcel_and_close("A2")
        await rig.until(lambda: rig.screen.id is ScreenId.COURIER_SCAN, "the deposit")
        rig.intent(Intent.LOGOUT)
        view = rig.screen.view
        assert isinstance(view, CourierSummaryView) and (view.delivered, view.faults) == (1, 1)

    rig.run(scenario)
    assert rig.unlock_pulses("A1") == 2  # one retry before giving it up
    assert rig.store.compartment("A1").state is CompartmentState.OUT_OF_ORDER
    assert rig.store.parcel(parcel.id).compartment_id == "A2"


def test_every_door_failing_leaves_the_parcel_with_the_courier(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    rig.seed_expected("LBL-XL", Size.XL)
    rig.sim.jam(*rig.address("B2"))

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "LBL-XL")  # the one XL compartment is jammed
        await rig.until(lambda: rig.screen.id is ScreenId.COURIER_SCAN, "the refusal")
        view = scan_view(rig)
        assert view.notice is CourierNotice.DOOR_FAULT and view.refused == 1

    rig.run(scenario)
    assert rig.store.parcel("PX-LBL-XL").state is ParcelState.EXPECTED


def test_a_full_locker_says_so_and_the_courier_keeps_the_parcel(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    rig.place("111111", Size.XL)  # the only XL compartment is taken
    rig.seed_expected("LBL-BIG", Size.XL)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "LBL-BIG")
        view = scan_view(rig)
        assert (view.notice, view.notice_parcel, view.notice_size) == (CourierNotice.LOCKER_FULL, "LBL-BIG",
                                                                       Size.XL)
        assert view.refused == 1

    rig.run(scenario)
    assert rig.store.parcel("PX-LBL-BIG").state is ParcelState.EXPECTED
    refused = next(entry for entry in rig.store.audit_log() if entry.kind == "courier_parcel_refused")
    assert refused.details["reason"] == "locker_full" and refused.details["barcode"] == "LBL-BIG"


def test_an_unannounced_parcel_is_refused_by_default(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "NEVER-ANNOUNCED-1")
        view = scan_view(rig)
        assert (view.notice, view.notice_parcel, view.refused) == (CourierNotice.UNANNOUNCED_REFUSED,
                                                                  "NEVER-ANNOUNCED-1", 1)

    rig.run(scenario)
    refused = next(entry for entry in rig.store.audit_log() if entry.kind == "courier_parcel_refused")
    assert refused.details["reason"] == "unannounced"
    assert all(status.state is CompartmentState.FREE for status in rig.store.compartments())


class ShelfCamera:
    """A ParcelCamera: the photo a camera would take of what is held up to it."""

    def __init__(self, photo: bytes | None) -> None:
        self.photo = photo
        self.taken = 0

    async def take_photo(self) -> bytes | None:
        self.taken += 1
        return self.photo


@pytest.mark.parametrize("camera", [ShelfCamera(JPEG), ShelfCamera(None), None],
                         ids=["photo", "no-picture", "no-camera"])
def test_an_unannounced_parcel_is_accepted_with_a_photo_by_policy(make_rig: Callable[..., Rig],
                                                                  camera: ShelfCamera | None) -> None:
    rig = make_rig(courier_policy=CourierPolicy(accept_unannounced=True), parcel_camera=camera)
    rig.seed_courier("K-7", PIN)
    rig.place("111111", Size.L)  # A4, the only L, is taken: L is offered still (XL fits it)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "UNKNOWN-LABEL-9")
        await rig.until(lambda: isinstance(rig.screen.view, CourierSizeView)
                        and rig.controller.courier_chart.state_id == "size", "the size screen")
        view = rig.screen.view
        assert isinstance(view, CourierSizeView)
        assert view == CourierSizeView("UNKNOWN-LABEL-9", (Size.S, Size.M, Size.L, Size.XL), unannounced=True,
                                       photo_taken=camera is not None and camera.photo is not None)
        rig.intent(Intent.CHOOSE_SIZE, size="m")
        await rig.door_confirmed()
        assert door_view(rig).compartment_ids == ("B1",)
        rig.put_parcel_and_close("B1")
        await rig.until(lambda: rig.screen.id is ScreenId.COURIER_SCAN, "the deposit")
        assert scan_view(rig).delivered == 1

    rig.run(scenario)
    if camera is not None:
        assert camera.taken == 1
    event = next(event for event in rig.store.outbox_batch(10)
                 if event.kind is EventKind.DEPOSITED and event.compartment_id == "B1")
    assert event.details["unannounced"] is True and event.details["barcode"] == "UNKNOWN-LABEL-9"
    assert event.parcel_id is not None
    parcel = rig.store.parcel(event.parcel_id)
    assert parcel.id.startswith("U-") and len(parcel.id) == 12 and int(parcel.id[2:], 16) >= 0
    assert parcel.id[2:] == parcel.id[2:].upper()
    assert parcel.state is ParcelState.IN_LOCKER and parcel.barcode == "UNKNOWN-LABEL-9"
    accepted = next(entry for entry in rig.store.audit_log() if entry.kind == "courier_unannounced_accepted")
    assert accepted.details["barcode"] == "UNKNOWN-LABEL-9"


def test_the_courier_can_go_back_from_the_size_screen_keeping_the_parcel(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(courier_policy=CourierPolicy(accept_unannounced=True))
    rig.seed_courier("K-7", PIN)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "UNKNOWN-LABEL-10")
        assert rig.screen.id is ScreenId.COURIER_SIZE  # no parcel camera: no photo to wait for
        rig.place("222222", Size.XL)  # meanwhile the one XL is taken: that size is not offered now
        rig.intent(Intent.CHOOSE_SIZE, size=Size.XL)
        assert rig.screen.id is ScreenId.COURIER_SIZE
        rig.intent(Intent.CANCEL)
        view = scan_view(rig)
        assert view.notice is CourierNotice.NOT_DEPOSITED and view.refused == 1

    rig.run(scenario)


def test_a_door_closed_on_nothing_asks_the_courier_then_skip_records_nothing(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    parcel = rig.seed_expected("LBL-EMPTY", Size.S)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "LBL-EMPTY")
        await rig.door_confirmed()
        rig.close_empty("A1")  # the IR sensor reads the compartment empty
        check = await rig.screen_is(ScreenId.DEPOSIT_CHECK)
        assert check.view == DepositCheckView("A1", "LBL-EMPTY", still_inside=False, courier=True)
        rig.intent(Intent.SKIP)
        view = scan_view(rig)
        assert (view.notice, view.delivered, view.refused) == (CourierNotice.NOT_DEPOSITED, 0, 1)

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.EXPECTED  # still expected: nothing delivered
    assert rig.store.compartment("A1").state is CompartmentState.FREE
    assert not [event for event in rig.store.outbox_batch(10) if event.kind is EventKind.DEPOSITED]


def test_a_door_closed_on_nothing_can_be_opened_again(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    parcel = rig.seed_expected("LBL-AGAIN", Size.S)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        scan(rig, "LBL-AGAIN")
        await rig.door_confirmed()
        rig.close_empty("A1")
        await rig.screen_is(ScreenId.DEPOSIT_CHECK)
        rig.intent(Intent.REOPEN)
        assert door_view(rig).compartment_ids == ("A1",)
        await rig.door_confirmed()
        rig.put_parcel_and_close("A1")
        await rig.until(lambda: rig.screen.id is ScreenId.COURIER_SCAN, "the deposit")
        assert scan_view(rig).delivered == 1

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).compartment_id == "A1"
    assert rig.unlock_pulses("A1") == 2
    assert "courier_deposit_reopened" in rig.audit_kinds()


def test_a_scan_that_is_no_label_is_refused_cheaply_and_a_label_again_is_already_here(
        rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    rig.seed_expected("LBL-ONCE", Size.S)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        for payload in (b"\x00\xffbinary", "x" * 5_000_000, pickup_payload(LOCKER_ID, "123456"), "   ", "é"):
            scan(rig, payload)
            assert scan_view(rig).notice is CourierNotice.NOT_A_LABEL
        await rig.deliver("LBL-ONCE")
        scan(rig, "LBL-ONCE")  # the camera still sees it: the confirmation stays
        view = scan_view(rig)
        assert (view.notice, view.notice_parcel, view.delivered) == (CourierNotice.DEPOSITED, "LBL-ONCE", 1)
        scan(rig, "   ")
        scan(rig, "LBL-ONCE")  # shown again later: it is in the locker already
        view = scan_view(rig)
        assert (view.notice, view.delivered, view.refused) == (CourierNotice.ALREADY_HERE, 1, 0)

    rig.run(scenario)
    assert "123456" not in audit_text(rig)  # a person's code scanned here is not written down


def test_a_mid_session_menu_round_trip_keeps_the_counts(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN, can_collect=False)
    rig.seed_expected("LBL-1", Size.S)

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_COLLECT)  # not allowed for this courier
        assert rig.screen.id is ScreenId.COURIER_MENU
        rig.intent(Intent.COURIER_DROPOFF)
        await rig.deliver("LBL-1")
        rig.intent(Intent.COURIER_MENU)
        view = rig.screen.view
        assert isinstance(view, CourierMenuView) and view.delivered == 1 and not view.can_collect

    rig.run(scenario)



def test_a_failure_inside_courier_mode_goes_home_instead_of_freezing(
        rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    rig.seed_courier("K-7", PIN)

    def broken(barcode: str) -> None:
        raise OSError("disk I/O error")

    async def scenario() -> None:
        await rig.log_in()
        rig.intent(Intent.COURIER_DROPOFF)
        monkeypatch.setattr(rig.store, "expected_parcel_by_barcode", broken)
        scan(rig, "LBL-ANY")  # raises inside the chart: logged, and the kiosk goes home
        assert rig.screen == Screen(ScreenId.HOME, HomeView(idle_return=True))
        assert not rig.controller.courier_chart.active
        monkeypatch.undo()
        await rig.log_in()  # courier mode starts afresh
        assert rig.screen.id is ScreenId.COURIER_MENU

    with caplog.at_level(logging.ERROR):
        rig.run(scenario)
    assert "disk I/O error" in caplog.text and "going home" in caplog.text


def test_home_resets_the_language_after_a_courier_session_but_not_after_a_cancelled_login(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)

    async def scenario() -> None:
        rig.intent(Intent.START_COURIER)
        rig.intent(Intent.CANCEL)  # a customer who tapped "Courier" by mistake keeps their language
        assert rig.screen == Screen(ScreenId.HOME, HomeView())
        await rig.log_in()
        rig.intent(Intent.LOGOUT)
        rig.intent(Intent.DONE)
        assert rig.screen == Screen(ScreenId.HOME, HomeView(idle_return=True))

    rig.run(scenario)

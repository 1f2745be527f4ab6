"""Scanned codes in the pickup flow, below the UI: scan anywhere, the scan screen, refusals, lockout."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flow_rig import LOCKER_ID, Rig

from kiosk.core.flows.views import (
    CodeError,
    CourierLoginError,
    CourierLoginView,
    HomeNotice,
    HomeView,
    Intent,
    PickupCodeView,
    PickupScanView,
    ReturnCodeError,
    ReturnCodeView,
    ScreenId,
)
from kiosk.core.model import ParcelState, Size
from kiosk.core.payloads import ScanTarget, courier_badge_payload, pickup_payload, return_payload

CODE = "424242"


@pytest.fixture
def camera_rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig(camera=True)


def scan(rig: Rig, payload: str | bytes, source: str = "camera") -> None:
    rig.intent(Intent.SCAN, payload=payload, source=source)


def test_a_pickup_qr_on_the_home_screen_opens_the_door_with_no_tap(camera_rig: Rig) -> None:
    rig = camera_rig
    parcel = rig.place(CODE)

    async def scenario() -> None:
        assert rig.controller.scan_target() is ScanTarget.PERSON_CODES
        scan(rig, pickup_payload(LOCKER_ID, CODE).encode())
        assert rig.screen.id is ScreenId.DOOR_OPEN
        assert rig.controller.scan_target() is ScanTarget.NONE  # nothing is read while a door is open
        await rig.door_confirmed()
        rig.take_parcel_and_close(parcel.compartment_id or "")
        await rig.screen_is(ScreenId.THANK_YOU)
        assert rig.controller.scan_target() is ScanTarget.PERSON_CODES  # the next person may walk up

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP
    kinds = rig.audit_kinds()
    assert kinds.index("code_scanned") < kinds.index("code_accepted")


def test_scan_screen_and_keypad_are_one_tap_apart(camera_rig: Rig) -> None:
    rig = camera_rig

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        view = rig.screen.view
        assert isinstance(view, PickupCodeView) and view.can_scan
        rig.intent(Intent.SCAN_INSTEAD)
        assert rig.screen.id is ScreenId.PICKUP_SCAN
        assert rig.screen.view == PickupScanView(camera_connected=True)
        rig.camera_is_connected = False
        rig.controller.camera_changed()
        assert rig.screen.view == PickupScanView(camera_connected=False)
        rig.intent(Intent.KEYPAD_INSTEAD)
        assert rig.screen.id is ScreenId.PICKUP_CODE

    rig.run(scenario)


def test_without_a_camera_there_is_no_scan_screen_but_a_wedge_scan_still_works(rig: Rig) -> None:
    parcel = rig.place(CODE, Size.M)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        view = rig.screen.view
        assert isinstance(view, PickupCodeView) and not view.can_scan
        rig.intent(Intent.SCAN_INSTEAD)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        scan(rig, "LK1:P:FLOW-LOCKER-7:999999", source="wedge")  # nobody's code
        view = rig.screen.view
        assert rig.screen.id is ScreenId.PICKUP_CODE  # no camera: the keypad shows the refusal
        assert isinstance(view, PickupCodeView) and view.error is CodeError.WRONG_CODE
        assert view.failures_in_a_row == 1  # a scanned wrong code counts like a typed one
        scan(rig, pickup_payload(LOCKER_ID, CODE), source="wedge")
        await rig.door_confirmed()

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER


def test_a_wrong_scanned_code_is_shown_on_the_scan_screen(camera_rig: Rig) -> None:
    rig = camera_rig

    async def scenario() -> None:
        scan(rig, pickup_payload(LOCKER_ID, "99999999"))
        view = rig.screen.view
        assert rig.screen.id is ScreenId.PICKUP_SCAN
        assert isinstance(view, PickupScanView) and view.error is CodeError.WRONG_CODE

    rig.run(scenario)


@pytest.mark.parametrize(
    "payload",
    ["https://example.com/", "LK1:P:SOME-OTHER-LOCKER:424242", b"\x00\xff binary", "LK9:P:X:1", "x" * 5000],
)
def test_a_foreign_code_is_refused_clearly_everywhere(camera_rig: Rig, payload: str | bytes) -> None:
    rig = camera_rig
    rig.place(CODE)

    async def scenario() -> None:
        scan(rig, payload)
        assert rig.screen.id is ScreenId.HOME
        assert rig.screen.view == HomeView(notice=HomeNotice.FOREIGN_CODE, can_scan=True)
        rig.intent(Intent.START_PICKUP)
        scan(rig, payload)
        view = rig.screen.view
        assert isinstance(view, PickupCodeView) and view.error is CodeError.FOREIGN
        assert view.failures_in_a_row == 0  # showing the wrong QR code is no guessing
        rig.intent(Intent.SCAN_INSTEAD)
        assert rig.screen.view == PickupScanView()  # a new screen starts without the old error
        scan(rig, payload)
        view = rig.screen.view
        assert isinstance(view, PickupScanView) and view.error is CodeError.FOREIGN

    rig.run(scenario)
    assert rig.audit_kinds().count("scan_refused") == 3


def test_return_and_badge_codes_are_routed_to_their_flows(camera_rig: Rig) -> None:
    rig = camera_rig

    async def scenario() -> None:
        scan(rig, return_payload("RT7Q2M9X"))  # nobody's return code: it is checked, and refused
        view = rig.screen.view
        assert rig.screen.id is ScreenId.RETURN_CODE
        assert isinstance(view, ReturnCodeView) and view.error is ReturnCodeError.WRONG_CODE
        rig.intent(Intent.CANCEL)
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SCAN_INSTEAD)
        scan(rig, courier_badge_payload("COURIER-17", "S3CR3TS3CR3TS3CR3T"))  # nobody's badge
        view = rig.screen.view
        assert rig.screen.id is ScreenId.COURIER_LOGIN
        assert isinstance(view, CourierLoginView) and view.error is CourierLoginError.WRONG_CREDENTIALS

    rig.run(scenario)
    kinds = rig.audit_kinds()
    assert "return_code_scanned" in kinds and "return_code_rejected" in kinds
    badge = next(entry for entry in rig.store.audit_log() if entry.kind == "courier_badge_scanned")
    assert "COURIER-17" in str(badge.details) and "S3CR3T" not in str(badge.details)


def test_scans_are_ignored_while_a_door_is_open(camera_rig: Rig) -> None:
    rig = camera_rig
    first = rig.place(CODE)
    rig.place("515151")

    async def scenario() -> None:
        scan(rig, pickup_payload(LOCKER_ID, CODE))
        await rig.door_confirmed()
        scan(rig, pickup_payload(LOCKER_ID, "515151"))
        scan(rig, "junk")
        assert rig.screen.id is ScreenId.DOOR_OPEN
        rig.take_parcel_and_close(first.compartment_id or "")
        await rig.screen_is(ScreenId.THANK_YOU)
        scan(rig, pickup_payload(LOCKER_ID, "515151"))  # the next person, not waiting for the thank-you
        assert rig.screen.id is ScreenId.DOOR_OPEN
        await rig.door_confirmed()

    rig.run(scenario)
    assert rig.audit_kinds().count("code_scanned") == 2


def test_the_lockout_holds_for_scans_too(camera_rig: Rig) -> None:
    rig = camera_rig
    rig.place(CODE)

    async def scenario() -> None:
        for attempt in range(rig.timers.lockout_after_failures):
            scan(rig, pickup_payload(LOCKER_ID, f"{attempt:06d}"))
        assert rig.screen.id is ScreenId.LOCKED_OUT
        scan(rig, pickup_payload(LOCKER_ID, CODE))
        assert rig.screen.id is ScreenId.LOCKED_OUT

    rig.run(scenario)


def test_malformed_scan_intents_are_ignored(camera_rig: Rig) -> None:
    rig = camera_rig

    async def scenario() -> None:
        rig.intent(Intent.SCAN)
        rig.intent(Intent.SCAN, payload=12345)
        assert rig.screen.view == HomeView(can_scan=True)

    rig.run(scenario)

"""The QA surface for courier mode and returns, on the real kiosk (real store, simulated boards, simulated
camera): seeding couriers, announced parcels and returns as the platform would (locally through the sync
path, or on the fake platform and synced), the badge and return QR payloads, IR sensors that read what a
closed door holds, the clock, the parcel camera, and the standalone demo's courier-mode seeding.

The screens of courier mode are not driven here: these are the tools the courier scenarios are written with.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from kiosk.app import DEMO_COURIER, DEMO_LABELS, DEMO_RETURN, LOCAL_SYNC_CURSOR
from kiosk.core.codes import hash_code
from kiosk.core.couriers import badge_hash, return_code_hash, verify_password
from kiosk.core.locker import DoorOutcome
from kiosk.core.model import CourierPolicy, Deposit, DoorPurpose, ParcelState, Size
from kiosk.core.payloads import CourierBadgePayload, ReturnPayload, parse_scan
from kiosk.hardware import FramePhotographer, encode_photo
from kiosk.testing.driver import ScenarioError
from kiosk.testing.sim_console import SimulatorConsole

BADGE = "QABADGE000000001"


# couriers ---------------------------------------------------------------------------------------------

def test_a_seeded_courier_logs_in_with_the_pin_and_the_badge_as_synced(kiosk: Any) -> None:
    courier = kiosk.seed_courier(badge=BADGE.lower(), courier_id="c-7", pin="2468", display_name="Sam")
    assert (courier.courier_id, courier.pin, courier.badge, courier.display_name) == (
        "C-7", "2468", BADGE, "Sam")
    assert courier.badge_qr == f"LK1:C:C-7:{BADGE}"
    stored = kiosk.app.store.courier("C-7")
    assert stored is not None and stored.can_collect and stored.valid_until is None
    assert stored.display_name == "Sam"
    assert stored.password_hash.startswith("$scrypt$ln=15,r=8,p=1$")  # the contract's parameters
    assert verify_password(stored.password_hash, "2468") and not verify_password(stored.password_hash, "2469")
    code_key = kiosk.app.secrets.code_key
    assert stored.badge_secret_hash == badge_hash(code_key, BADGE)
    found = kiosk.app.store.courier_by_badge_hash(badge_hash(code_key, BADGE))
    assert found is not None and found.courier_id == "C-7"
    assert "sync_page_applied" in kiosk.audit_kinds()  # it came the way synced data comes


def test_seeding_a_courier_again_replaces_it_and_a_pin_only_courier_has_no_badge(kiosk: Any) -> None:
    kiosk.seed_courier(badge=BADGE, courier_id="C-8", pin="1111")
    replaced = kiosk.seed_courier(courier_id="C-8", pin="2222", can_collect=False)
    assert replaced.badge is None and replaced.badge_qr is None
    stored = kiosk.app.store.courier("c-8")
    assert stored is not None and stored.badge_secret_hash is None and not stored.can_collect
    assert verify_password(stored.password_hash, "2222") and not verify_password(stored.password_hash, "1111")
    assert kiosk.app.store.courier_by_badge_hash(badge_hash(kiosk.app.secrets.code_key, BADGE)) is None


@pytest.mark.parametrize(("arguments", "message"), [
    ({"badge": "SHORT", "courier_id": "C-1"}, "a badge secret is 16-64 letters or digits"),
    ({"badge": BADGE, "courier_id": "C_1"}, "'C_1' is not a courier id"),
    ({"courier_id": "C 1"}, "'C 1' is not a courier id"),
    ({"courier_id": "C-1", "pin": ""}, "a courier PIN must not be empty"),
])
def test_a_courier_that_cannot_exist_is_refused_with_a_reason(kiosk: Any, arguments: dict[str, Any],
                                                             message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        kiosk.seed_courier(**arguments)
    assert kiosk.app.store.courier("C-1") is None


# announced parcels ------------------------------------------------------------------------------------

def test_a_seeded_expected_parcel_waits_for_its_courier_by_barcode(kiosk: Any) -> None:
    parcel = kiosk.seed_expected(barcode="JJD000111", size="L", accessible=True, recipient="K. Johnson")
    assert (parcel.state, parcel.compartment, parcel.size, parcel.recipient) == (
        "expected", None, "L", "K. Johnson")
    assert parcel.barcode == "JJD000111" and parcel.accessible
    assert parcel.id.startswith("PX-QA-")
    found = kiosk.app.store.expected_parcel_by_barcode("JJD000111")
    assert found is not None and found.id == parcel.id and found.size is Size.L
    assert found.pickup_window_hours == 72  # the locker's [courier] default
    assert kiosk.parcel(parcel.id) == parcel


def test_an_expected_parcel_takes_its_id_and_window_and_the_locker_default_window(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(camera=False, courier={"pickup_window_hours": 24})
    assert kiosk.config.courier == CourierPolicy(pickup_window_hours=24)
    default = kiosk.seed_expected(barcode="LBL-1", size="S")
    own = kiosk.seed_expected(barcode="LBL-2", parcel_id="PX-OWN-2", pickup_window_hours=6)
    assert own.id == "PX-OWN-2" and own.size == "M" and not own.accessible
    assert kiosk.app.store.parcel(default.id).pickup_window_hours == 24
    assert kiosk.app.store.parcel("PX-OWN-2").pickup_window_hours == 6


@pytest.mark.parametrize(("arguments", "message"), [
    ({"barcode": "LBL-9", "size": "XXL"}, "unknown size 'XXL'; one of: S, M, L, XL"),
    ({"barcode": "  "}, "barcode must not be empty"),
    ({"barcode": "LBL-9", "parcel_id": "bad id"}, "'bad id' is not a parcel id"),
])
def test_an_expected_parcel_that_cannot_exist_is_refused_with_a_reason(
    kiosk: Any, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        kiosk.seed_expected(**arguments)
    assert kiosk.app.store.expected_parcel_by_barcode("LBL-9") is None


def test_kiosk_parcel_names_an_unknown_parcel(kiosk: Any) -> None:
    with pytest.raises(ScenarioError, match="no parcel 'PX-NOWHERE'"):
        kiosk.parcel("PX-NOWHERE")


# returns ------------------------------------------------------------------------------------------------

def test_a_seeded_return_is_known_by_its_code_in_any_case(kiosk: Any) -> None:
    seeded = kiosk.seed_return(code="ret0000042", size="M")
    assert (seeded.code, seeded.size, seeded.qr) == ("RET0000042", "M", "LK1:R:RET0000042")
    assert seeded.return_id.startswith("ret-qa-") and seeded.parcel_id.startswith("RX-QA-")
    code_hash = return_code_hash(kiosk.app.secrets.code_key, "RET0000042")
    assert code_hash is not None
    found = kiosk.app.store.return_by_code_hash(code_hash)
    assert found is not None
    assert (found.return_id, found.parcel_id, found.size) == (seeded.return_id, seeded.parcel_id, Size.M)
    named = kiosk.seed_return(code="RET0000043", return_id="ret-own", parcel_id="RX-OWN")
    assert (named.return_id, named.parcel_id, named.size) == ("ret-own", "RX-OWN", "S")


@pytest.mark.parametrize(("arguments", "message"), [
    ({"code": "SHORT"}, "'SHORT' is not a return code"),
    ({"code": "RETURN0099", "size": "XS"}, "unknown size 'XS'"),
    ({"code": "RETURN0099", "return_id": "-dash-first"}, "'-dash-first' is not a return id"),
])
def test_a_return_that_cannot_exist_is_refused_with_a_reason(kiosk: Any, arguments: dict[str, Any],
                                                            message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        kiosk.seed_return(**arguments)


def test_local_seeding_keeps_the_sync_cursor_and_never_completes_a_sync(kiosk: Any) -> None:
    assert kiosk.app.store.sync_status().cursor is None
    kiosk.seed_expected(barcode="LBL-C1")
    status = kiosk.app.store.sync_status()
    # A cursor no platform gave out: the first real sync is a full one. And no sync was completed.
    assert status.cursor == LOCAL_SYNC_CURSOR and status.last_complete_at is None
    assert not status.full_sync_in_progress
    kiosk.seed_return(code="RETURN0100")
    assert kiosk.app.store.sync_status().cursor == LOCAL_SYNC_CURSOR


# the payloads ----------------------------------------------------------------------------------------------

def test_badge_and_return_qr_payloads_read_back_as_the_kiosk_reads_them(kiosk: Any) -> None:
    badge = parse_scan(kiosk.badge_qr("c-100", BADGE.lower()), kiosk.config.locker.id)
    assert badge == CourierBadgePayload("C-100", BADGE)
    returned = parse_scan(kiosk.return_qr("return0001"), kiosk.config.locker.id)
    assert returned == ReturnPayload("RETURN0001")
    with pytest.raises(ScenarioError, match="16-64 letters or digits"):
        kiosk.badge_qr("C-100", "TOO-SHORT")
    with pytest.raises(ScenarioError, match="8-16 letters or digits"):
        kiosk.return_qr("R-1")


# seeding through the platform ------------------------------------------------------------------------------

def test_a_platform_kiosk_is_seeded_on_the_platform_and_syncs_it(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(platform=True, camera=False)
    courier = kiosk.seed_courier(badge=BADGE, courier_id="C-300", pin="1357")
    parcel = kiosk.seed_expected(barcode="JJD0009999", size="S", accessible=True, recipient="B. Liskov")
    seeded = kiosk.seed_return(code="RETURN0300", size="L")
    store = kiosk.app.store
    assert store.sync_status().cursor.startswith("c-")  # the platform's cursor: it came by sync
    stored = store.courier(courier.courier_id)
    assert stored is not None and verify_password(stored.password_hash, "1357")
    assert store.courier_by_badge_hash(badge_hash(kiosk.platform.code_key, BADGE)) is not None
    assert (parcel.state, parcel.barcode, parcel.accessible, parcel.recipient) == (
        "expected", "JJD0009999", True, "B. Liskov")
    found = store.return_by_code_hash(hash_code(kiosk.platform.code_key, "RETURN0300"))
    assert found is not None and (found.return_id, found.parcel_id, found.size) == (
        seeded.return_id, seeded.parcel_id, Size.L)


def test_seeding_a_platform_kiosk_while_the_platform_is_down_says_so(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(platform=True, camera=False)
    kiosk.platform.stop()
    with pytest.raises(ScenarioError, match="could not sync with the platform"):
        kiosk.seed_expected(barcode="JJD-DOWN")


# IR sensors that read what a closed door holds ----------------------------------------------------------

def _deposit_for(kiosk: Any, parcel_id: str, size: Size, *, recipient: str = "Test Recipient") -> Deposit:
    code = "48151623"
    return Deposit(parcel_id, size, recipient, code_hash=hash_code(kiosk.app.secrets.code_key, code),
                   pickup_code=code, courier_id="C-QA-1")


def _state(kiosk: Any, parcel_id: str) -> str | None:
    """The parcel's state, None while the store has no such parcel (a return before its deposit)."""
    try:
        return str(kiosk.parcel(parcel_id).state)
    except ScenarioError:
        return None


def _open(kiosk: Any, opening: Any) -> None:
    outcome = kiosk.run(opening)
    assert outcome is DoorOutcome.OPENED


def test_a_deposit_door_closed_by_the_simulator_reads_occupied_and_the_deposit_is_kept(kiosk: Any) -> None:
    kiosk.seed_courier(courier_id="C-QA-1")
    parcel = kiosk.seed_expected(barcode="JJD-IR-1", size="M")
    kiosk.sim.set_ir_on_close(True)
    compartment = "A03"  # a free M
    _open(kiosk, kiosk.app.locker.open_for_deposit(compartment, DoorPurpose.DEPOSIT,
                                                   _deposit_for(kiosk, parcel.id, Size.M)))
    kiosk.wait_door_open(compartment)
    assert kiosk.app.ir_after_closing(compartment) is True
    assert not kiosk.sim.ir_reads(compartment)
    kiosk.sim.close_door(compartment)
    assert kiosk.sim.ir_reads(compartment)  # set before the door shut
    kiosk.wait_until(lambda: kiosk.parcel(parcel.id).state == "in_locker", what="the deposit committed")
    assert kiosk.parcel(parcel.id).compartment == compartment
    assert kiosk.compartment(compartment).state == "occupied"


@pytest.mark.parametrize("ir_on_close", [False, True])
def test_a_deposit_door_closed_on_nothing_reads_empty_and_nothing_is_delivered(
    kiosk: Any, ir_on_close: bool
) -> None:
    kiosk.seed_courier(courier_id="C-QA-1")
    parcel = kiosk.seed_expected(barcode="JJD-IR-2", size="S")
    compartment = "A01"
    kiosk.sim.set_ir_on_close(ir_on_close)
    _open(kiosk, kiosk.app.locker.open_for_deposit(compartment, DoorPurpose.DEPOSIT,
                                                   _deposit_for(kiosk, parcel.id, Size.S)))
    kiosk.wait_door_open(compartment)
    if ir_on_close:
        kiosk.sim.close_door(compartment, ir=False)  # the courier shut it without the parcel
    else:
        kiosk.sim.close_door(compartment)  # the sensor keeps reading empty
    kiosk.wait_until(lambda: not kiosk.app.store.unfinished_journal(), what="the deposit door settled")
    assert not kiosk.sim.ir_reads(compartment)
    assert kiosk.parcel(parcel.id).state == "expected"
    assert kiosk.compartment(compartment).state == "free"


def test_a_return_door_reads_occupied_and_a_collection_door_reads_empty(kiosk: Any) -> None:
    seeded = kiosk.seed_return(code="RETURN0500", size="S")
    kiosk.seed_courier(courier_id="C-QA-1")
    kiosk.sim.set_ir_on_close(True)
    compartment = "B03"
    deposit = Deposit(seeded.parcel_id, Size.S, "", return_id=seeded.return_id, receipt_code="K7PQ2M9X")
    _open(kiosk, kiosk.app.locker.open_for_deposit(compartment, DoorPurpose.RETURN, deposit))
    kiosk.wait_door_open(compartment)
    kiosk.sim.close_door(compartment)
    kiosk.wait_until(lambda: _state(kiosk, seeded.parcel_id) == "returned", what="the return committed")
    assert kiosk.sim.ir_reads(compartment)

    _open(kiosk, kiosk.app.locker.open_for_collection(compartment, [seeded.parcel_id], "C-QA-1"))
    kiosk.wait_door_open(compartment)
    assert kiosk.app.ir_after_closing(compartment) is False
    kiosk.sim.close_door(compartment)
    assert not kiosk.sim.ir_reads(compartment)
    kiosk.wait_until(lambda: kiosk.parcel(seeded.parcel_id).state == "collected", what="the collection")
    assert kiosk.compartment(compartment).state == "free"


def test_a_pickup_door_closed_by_the_simulator_reads_empty(kiosk: Any) -> None:
    parcel = kiosk.seed_parcel(size="M", code="424242")
    assert kiosk.sim.ir_reads(parcel.compartment)
    kiosk.sim.set_ir_on_close(True)
    kiosk.tap("pickup_button")
    kiosk.type_code("424242")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.close_door(parcel.compartment)  # no kiosk.sim.ir(..., False): the recipient took it
    assert not kiosk.sim.ir_reads(parcel.compartment)
    kiosk.wait_screen("thank_you")
    assert kiosk.parcel(parcel.id).state == "picked_up"


def test_a_door_the_kiosk_did_not_open_keeps_its_ir_reading(kiosk: Any) -> None:
    kiosk.sim.set_ir_on_close(True)
    kiosk.sim.ir("C05", True)
    kiosk.sim.open_door("C05")  # pulled open by hand: no transaction
    assert kiosk.app.ir_after_closing("C05") is None
    kiosk.sim.close_door("C05")
    assert kiosk.sim.ir_reads("C05")
    kiosk.sim.set_ir_on_close(False)
    kiosk.sim.open_door("D04")
    kiosk.sim.close_door("D04")
    assert not kiosk.sim.ir_reads("D04")
    kiosk.sim.open_door("D04")
    kiosk.sim.close_door("D04", ir=True)  # said outright: whatever the mode
    assert kiosk.sim.ir_reads("D04")
    assert kiosk.app.prepare_ir_for_closing("NO-SUCH") is None


# the clock --------------------------------------------------------------------------------------------------

def test_advance_moves_the_clock_and_what_falls_due_happens(kiosk: Any) -> None:
    started = kiosk.clock.now()
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.advance(kiosk.config.timers.inactivity_s)
    kiosk.wait_screen("more_time")
    assert kiosk.clock.now() == started + kiosk.config.timers.inactivity_s


# the parcel camera ------------------------------------------------------------------------------------------

def _is_jpeg(data: bytes | None) -> bool:
    return data is not None and data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"


def test_the_kiosk_takes_a_parcel_photo_from_its_camera(kiosk: Any) -> None:
    camera = kiosk.app.parcel_camera
    assert isinstance(camera, FramePhotographer)
    photos: list[bytes | None] = []

    def photographed() -> bool:
        photos.append(kiosk.run(camera.take_photo()))
        return photos[-1] is not None

    kiosk.wait_until(photographed, timeout=10, what="a photo from the simulated camera")
    photo = photos[-1]
    assert _is_jpeg(photo)
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] <= 640


def test_a_kiosk_without_a_camera_has_no_parcel_camera(kiosk_factory: Any) -> None:
    assert kiosk_factory(camera=False).app.parcel_camera is None


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run(coroutine: Any) -> Any:
    import asyncio

    return asyncio.run(coroutine)


def test_a_photo_is_the_newest_frame_shrunk_to_640_wide_and_never_a_stale_one() -> None:
    clock = _Clock()
    camera = FramePhotographer(clock=clock, max_age_s=2.0)
    try:
        assert _run(camera.take_photo()) is None  # no frame yet
        wide = np.zeros((720, 1280, 3), np.uint8)
        wide[:, 640:] = 255  # right half white: the photo keeps the picture, not just its size
        camera.offer_frame(wide)
        photo = _run(camera.take_photo())
        assert _is_jpeg(photo)
        image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (360, 640, 3)
        assert image[:, :300].mean() < 10 and image[:, 340:].mean() > 245
        small = np.full((120, 160), 128, np.uint8)  # a grey frame narrower than 640: kept as it is
        camera.offer_frame(small)
        kept = cv2.imdecode(np.frombuffer(_run(camera.take_photo()), np.uint8), cv2.IMREAD_GRAYSCALE)
        assert kept.shape == (120, 160)
        clock.now += 2.5  # the camera stopped delivering: its last frame is no picture of now
        assert _run(camera.take_photo()) is None
    finally:
        camera.close()
    camera.offer_frame(np.zeros((10, 10, 3), np.uint8))
    assert _run(camera.take_photo()) is None  # closed: no photo, no new thread
    camera.close()  # idempotent


def test_the_photo_worker_is_joined_on_close_and_a_bad_frame_is_no_photo() -> None:
    import threading

    camera = FramePhotographer()
    camera.offer_frame(np.zeros((0, 0, 3), np.uint8))  # a frame OpenCV cannot encode
    assert _run(camera.take_photo()) is None
    assert any(thread.name.startswith("parcel-photo") for thread in threading.enumerate())
    camera.close()
    assert not any(thread.name.startswith("parcel-photo") for thread in threading.enumerate())
    with pytest.raises(ValueError, match="quality"):
        FramePhotographer(quality=0)
    with pytest.raises(ValueError, match="max_width"):
        FramePhotographer(max_width=True)
    assert _is_jpeg(encode_photo(np.zeros((480, 640, 3), np.uint8)))
    with pytest.raises(ValueError, match="an empty 0x0 frame"):
        encode_photo(np.zeros((0, 0, 3), np.uint8))


# the standalone demo ----------------------------------------------------------------------------------------

def test_the_demo_seeds_its_courier_labels_and_return_once(kiosk: Any) -> None:
    lines = kiosk.run(kiosk.app.seed_demo_deliveries(), timeout=30)
    store = kiosk.app.store
    courier = store.courier(DEMO_COURIER.courier_id)
    assert courier is not None and verify_password(courier.password_hash, DEMO_COURIER.pin)
    assert courier.badge_secret_hash == badge_hash(kiosk.app.secrets.code_key, DEMO_COURIER.badge_secret)
    labels = {label.barcode: store.expected_parcel_by_barcode(label.barcode) for label in DEMO_LABELS}
    assert all(parcel is not None for parcel in labels.values())
    assert sorted(parcel.size.value for parcel in labels.values() if parcel is not None) == ["L", "M", "S"]
    assert [barcode for barcode, parcel in labels.items() if parcel is not None and parcel.accessible] == [
        "DEMO-LABEL-2"]
    demo_return = store.return_by_code_hash(hash_code(kiosk.app.secrets.code_key, DEMO_RETURN.code))
    assert demo_return is not None and (demo_return.return_id, demo_return.size) == ("ret-demo-1", Size.S)
    printed = "\n".join(lines)
    for words in ("C-100: PIN 1234", "LK1:C:C-100:DEMOBADGE00000001", "DEMO-LABEL-1 (size S)",
                  "DEMO-LABEL-2 (size M, recipient needs wheelchair reach)", "RETURN0001"):
        assert words in printed, words

    applied = kiosk.audit_kinds().count("sync_page_applied")
    again = kiosk.run(kiosk.app.seed_demo_deliveries(), timeout=30)
    assert again == lines and kiosk.audit_kinds().count("sync_page_applied") == applied  # nothing new


def test_the_demo_announces_a_label_again_once_its_parcel_was_delivered(kiosk: Any) -> None:
    kiosk.run(kiosk.app.seed_demo_deliveries(), timeout=30)
    first = kiosk.app.store.expected_parcel_by_barcode("DEMO-LABEL-1")
    assert first is not None and first.id == "DEMO-EXP-1"
    kiosk.sim.set_ir_on_close(True)
    _open(kiosk, kiosk.app.locker.open_for_deposit("A01", DoorPurpose.DEPOSIT,
                                                   _deposit_for(kiosk, first.id, Size.S)))
    kiosk.wait_door_open("A01")
    kiosk.sim.close_door("A01")
    kiosk.wait_until(lambda: kiosk.parcel("DEMO-EXP-1").state == "in_locker", what="the demo deposit")
    kiosk.run(kiosk.app.seed_demo_deliveries(), timeout=30)
    second = kiosk.app.store.expected_parcel_by_barcode("DEMO-LABEL-1")
    assert second is not None and second.id == "DEMO-EXP-1.2"
    assert kiosk.app.store.parcel("DEMO-EXP-1").state is ParcelState.IN_LOCKER


def test_the_demo_shows_the_courier_codes_to_the_camera(kiosk: Any) -> None:
    shown = dict(kiosk.app.demo_camera_codes())
    assert shown["badge C-100"] == "LK1:C:C-100:DEMOBADGE00000001"
    assert shown["return RETURN0001"] == "LK1:R:RETURN0001"
    assert [shown[f"label {size}"] for size in ("S", "M", "L")] == [label.barcode for label in DEMO_LABELS]
    kiosk.app.hold_up_to_camera(shown["label S"])  # a label is a Code 128 barcode, not a QR code
    kiosk.app.hold_up_to_camera(shown["badge C-100"])
    kiosk.app.hold_up_to_camera(None)


def test_the_console_sets_the_ir_before_closing_and_shows_what_it_reads(kiosk: Any, qtbot: Any) -> None:
    closing: list[str] = []

    def before_close(compartment: Any) -> None:
        closing.append(compartment.id)
        assert kiosk.sim.door_open(compartment.id)  # still open: the sensor is set first
        kiosk.sim.ir(compartment.id, True)

    console = SimulatorConsole(kiosk.sim.simulator, kiosk.config.compartments, before_close=before_close)
    qtbot.addWidget(console)
    try:
        row = [compartment.id for compartment in console.layout_].index("B03")
        door = console._door_buttons["B03"]
        qtbot.mouseClick(door, Qt.MouseButton.LeftButton)  # pull it open: no hook
        assert closing == []
        qtbot.waitUntil(lambda: console.table.item(row, 1).text() == "OPEN, IR: empty")
        qtbot.mouseClick(door, Qt.MouseButton.LeftButton)  # close it: the hook first
        assert closing == ["B03"] and not kiosk.sim.door_open("B03")
        qtbot.waitUntil(lambda: console.table.item(row, 1).text() == "closed, IR: parcel")
    finally:
        console.close()


"""QA scenarios for QR codes and scanners: the real kiosk, a simulated camera, the real decoders."""

from __future__ import annotations

import dataclasses
import time

import cv2

from hal.codes import Symbology
from hal.codes.render import render_code


def pick_up(kiosk, parcel) -> None:
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.ir(parcel.compartment, False)
    kiosk.sim.close_door(parcel.compartment)


def test_pickup_by_qr_on_the_scan_screen(kiosk):
    parcel = kiosk.seed_parcel(size="M", code="123456")
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.tap("scan_button")
    kiosk.wait_screen("pickup_scan")
    preview = kiosk.widget("camera_preview")
    kiosk.wait_until(lambda: preview.frames_shown > 3, what="the camera picture on the scan screen")
    kiosk.camera.show_qr(kiosk.pickup_qr("123456"))
    kiosk.wait_screen("door_open")
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")
    assert kiosk.parcel(parcel.id).state == "picked_up"
    assert kiosk.audit_kinds().count("code_scanned") == 1


def test_a_qr_shown_on_the_home_screen_starts_pickup_with_no_tap(kiosk):
    parcel = kiosk.seed_parcel(size="S", code="777001")
    assert kiosk.screen() == "home"
    kiosk.camera.show_qr(kiosk.pickup_qr("777001"))
    kiosk.wait_screen("door_open")
    assert kiosk.open_doors() in ([], [parcel.compartment])  # the unlock may still be on its way
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")


def test_a_printed_code_in_a_photo_works_too(kiosk, tmp_path):
    parcel = kiosk.seed_parcel(size="L", code="31415926")
    photo = tmp_path / "phone.png"
    cv2.imwrite(str(photo), render_code(Symbology.QR, kiosk.pickup_qr("31415926"), module_px=5))
    kiosk.camera.show_image(photo)
    kiosk.wait_screen("door_open")
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")


def test_a_foreign_qr_is_refused_clearly(kiosk):
    kiosk.seed_parcel(size="S", code="246802")
    kiosk.camera.show_qr("https://shop.example.com/order/12345")
    kiosk.wait_until(lambda: "not for this locker" in kiosk.text(), what="the refusal on the home screen")
    assert kiosk.screen() == "home"
    kiosk.camera.clear()
    kiosk.tap("pickup_button")
    kiosk.tap("scan_button")
    kiosk.wait_screen("pickup_scan")
    kiosk.camera.show_qr("LK1:P:ANOTHER-LOCKER:246802")  # a real pickup code, for another locker
    kiosk.wait_until(lambda: "not a pickup code for this locker" in kiosk.text(),
                     what="the refusal on the scan screen")
    assert kiosk.open_doors() == []
    assert kiosk.audit_kinds().count("scan_refused") == 2


def test_the_same_qr_held_up_for_five_seconds_opens_the_door_once(kiosk):
    parcel = kiosk.seed_parcel(size="M", code="505050")
    kiosk.camera.show_qr(kiosk.pickup_qr("505050"))
    held_from = time.monotonic()
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")
    scanner = kiosk.app.camera_scanner
    decoded_before = scanner.frames_decoded
    # Keep holding it up in front of the thank-you screen, which reads codes again, for 5 s in all.
    kiosk.wait_until(
        lambda: time.monotonic() - held_from >= 5.0 and scanner.frames_decoded > decoded_before + 20,
        timeout=15.0, what="five seconds of frames with the code in view",
    )
    assert kiosk.screen() == "thank_you"
    assert kiosk.audit_kinds().count("code_scanned") == 1
    assert kiosk.audit_kinds().count("door_intent") == 1
    assert kiosk.parcel(parcel.id).state == "picked_up"


def test_a_wedge_scan_while_the_keypad_is_in_use(kiosk):
    parcel = kiosk.seed_parcel(size="S", code="864200")
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.tap("key_1")
    kiosk.tap("key_2")
    assert kiosk.widget("keypad").digits() == "12"
    kiosk.scanner.scan("https://example.com/not-a-locker-code")  # the wrong thing first
    kiosk.wait_until(lambda: "not a pickup code for this locker" in kiosk.text(), what="the refusal")
    assert kiosk.widget("keypad").digits() == "12"  # none of the scanner's keystrokes landed in the keypad
    kiosk.scanner.scan(kiosk.pickup_qr("864200"))
    kiosk.wait_screen("door_open")
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")
    sources = [entry.details.get("source") for entry in kiosk.audit() if entry.kind == "code_scanned"]
    assert sources == ["wedge"]


def test_the_scan_screen_says_so_when_the_camera_drops_out(kiosk):
    kiosk.tap("pickup_button")
    kiosk.tap("scan_button")
    kiosk.wait_screen("pickup_scan")
    kiosk.camera.disconnect()
    kiosk.wait_until(lambda: "shows no picture" in kiosk.text(), what="the camera placeholder")
    assert "keypad_button" in kiosk.visible_names()
    kiosk.camera.reconnect()
    kiosk.wait_until(lambda: "shows no picture" not in kiosk.text(), what="the picture back")


def test_a_kiosk_without_a_camera_offers_only_the_keypad(kiosk_factory):
    kiosk = kiosk_factory(camera=False)
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    assert "scan_button" not in kiosk.visible_names()


def test_a_serial_scanner_on_a_pseudo_terminal(kiosk_factory, tmp_path, caplog):
    import os

    from kiosk.config import ScannerConfig
    from kiosk.testing.plugin import make_test_config

    controller, device = os.openpty()
    link = tmp_path / "scanner"  # a stable name, as udev's /dev/serial/by-id gives one
    link.symlink_to(os.ttyname(device))
    try:
        config = make_test_config(tmp_path, camera=False)
        kiosk = kiosk_factory(config=dataclasses.replace(config, scanner=ScannerConfig(str(link))))
        parcel = kiosk.seed_parcel(size="S", code="12121212")
        kiosk.wait_until(lambda: kiosk.app.serial_scanner.connected, what="the scanner's port open")

        def send(data: bytes) -> None:
            view = memoryview(data)
            while view:  # a pty takes a few KB per write; the scanner's thread drains it meanwhile
                view = view[os.write(controller, view):]

        send(b"\x00\xff" + b"9" * (5 * 1024 * 1024) + b"\r\n")  # junk, then a 5 MB line
        send(b"https://example.com/\r\n")
        kiosk.wait_until(lambda: "not for this locker" in kiosk.text(), what="the refusal of a foreign code")
        assert kiosk.screen() == "home"
        send(kiosk.pickup_qr("12121212").encode() + b"\r\n")
        kiosk.wait_screen("door_open")
        pick_up(kiosk, parcel)
        kiosk.wait_screen("thank_you")
        sources = [entry.details.get("source") for entry in kiosk.audit() if entry.kind == "code_scanned"]
        assert sources == ["serial"]
        assert any("longer than" in record.getMessage() or "too long" in record.getMessage()
                   for record in caplog.records), [record.getMessage() for record in caplog.records]
    finally:
        os.close(controller)
        os.close(device)

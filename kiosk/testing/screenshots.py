"""`make screenshots`: drive the real kiosk to every screen and save each at 1280x800 and 1080x1920.

    python -m kiosk.testing.screenshots docs/screenshots [--language de]

The kiosk runs exactly as in the QA scenarios (simulated bus, temporary store, manual clock), so every
picture is a state a person can reach.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = {"landscape": (1280, 800), "portrait": (1080, 1920)}


def capture_all(out_dir: Path, language: str) -> list[Path]:
    from PySide6.QtWidgets import QApplication

    from kiosk.app import simulator_for
    from kiosk.testing.driver import KioskDriver, qasync_loop_on
    from kiosk.testing.plugin import connect_to_platform, make_test_config, start_platform_for

    application = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(application, QApplication)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    suffix = "" if language == "en" else f"-{language}"

    for orientation, size in SIZES.items():

        def shooter(kiosk: KioskDriver, orientation: str = orientation) -> Callable[[str], None]:
            def shot(name: str) -> None:
                kiosk.wait_until(lambda: kiosk.window.isVisible(), what="the window")
                path = out_dir / f"{name}-{orientation}{suffix}.png"
                kiosk.window.grab().save(str(path))
                written.append(path)

            return shot

        walks: list[tuple[Callable[[object, Callable[[str], None]], None], dict[str, Any]]] = [
            (walk_every_screen, {}),
            (walk_courier_and_return_screens, {"courier": {"accept_unannounced": True}}),
            (walk_face_screens, {}),
        ]
        for walk, changes in walks:
            with tempfile.TemporaryDirectory() as scratch, qasync_loop_on(application):
                config = make_test_config(Path(scratch), **changes)
                simulator = simulator_for(config)
                kiosk = KioskDriver(config, simulator, size=size)
                if language != "en":
                    kiosk.tap("language_button")
                try:
                    walk(kiosk, shooter(kiosk))
                finally:
                    kiosk.shutdown()
                    simulator.stop()
        with tempfile.TemporaryDirectory() as scratch, qasync_loop_on(application):
            config = make_test_config(Path(scratch), camera=False)
            platform = start_platform_for(config, Path(scratch) / "platform.sqlite")
            config = connect_to_platform(config, platform)
            simulator = simulator_for(config)
            kiosk = KioskDriver(config, simulator, size=size, platform=platform)
            if language != "en":
                kiosk.tap("language_button")
            try:
                walk_online_screens(kiosk, shooter(kiosk))
            finally:
                kiosk.shutdown()
                simulator.stop()
                platform.stop()
    return written


def walk_every_screen(kiosk: object, shot: Callable[[str], None]) -> None:
    from kiosk.testing.driver import KioskDriver
    from kiosk.ui.camera_preview import CameraPreview

    assert isinstance(kiosk, KioskDriver)
    two = [kiosk.seed_parcel(size="S", code="246810"), kiosk.seed_parcel(size="M", code="246810")]
    jammed = kiosk.seed_parcel(size="L", code="135790")
    shot("home")
    kiosk.tap("accessibility_button")
    shot("home-accessible")
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    shot("pickup_code-accessible")
    kiosk.tap("cancel_button")
    kiosk.wait_screen("home")
    if kiosk.window.accessible_mode():  # the same person is still here: the mode stays until they switch
        kiosk.tap("accessibility_button")
    kiosk.sim.disconnect()
    kiosk.wait_until(lambda: "out_of_service_label" in kiosk.visible_names(), what="out of service")
    shot("home-out_of_service")
    kiosk.sim.reconnect()
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), what="back in service")
    kiosk.camera.show_qr("https://shop.example.com/order/4711")
    kiosk.wait_until(lambda: "notice_label" in kiosk.visible_names(), what="the foreign-code notice")
    shot("home-foreign_code")
    kiosk.clock.advance(kiosk.config.timers.thank_you_s)
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    shot("pickup_code")
    kiosk.tap("scan_button")
    kiosk.wait_screen("pickup_scan")
    preview = kiosk.widget("camera_preview")
    assert isinstance(preview, CameraPreview)
    kiosk.camera.show_qr(kiosk.pickup_qr("55555555"))  # nobody's code: the person is still holding it up
    kiosk.wait_until(lambda: "error_label" in kiosk.visible_names() and preview.frames_shown > 5,
                     what="the wrong-code message under a live picture")
    shot("pickup_scan-wrong")
    kiosk.camera.show_qr("LK1:P:SOME-OTHER-LOCKER:246810")
    kiosk.wait_until(lambda: "not a pickup code" in kiosk.text() or "kein Abholcode" in kiosk.text(),
                     what="the other-locker refusal")
    shot("pickup_scan-foreign")
    kiosk.camera.clear()
    kiosk.tap("keypad_button")
    kiosk.wait_screen("pickup_code")
    kiosk.tap("scan_button")
    kiosk.wait_screen("pickup_scan")
    shown = preview.frames_shown
    kiosk.wait_until(lambda: preview.frames_shown > shown + 5, what="the live picture")
    shot("pickup_scan")
    kiosk.camera.disconnect()
    kiosk.wait_until(lambda: "camera_placeholder_label" in kiosk.visible_names(), what="no camera picture")
    shot("pickup_scan-no_camera")
    kiosk.camera.reconnect()
    kiosk.tap("keypad_button")
    kiosk.wait_screen("pickup_code")
    kiosk.type_code("999999")
    kiosk.wait_screen("pickup_code")
    shot("pickup_code-wrong")
    kiosk.type_code("246810")
    kiosk.wait_screen("parcel_list")
    shot("parcel_list")
    kiosk.tap("open_all_button")
    kiosk.wait_screen("door_open")
    for parcel in two:
        kiosk.wait_door_open(parcel.compartment)
    shot("door_open")
    kiosk.clock.advance(kiosk.config.timers.inactivity_s + 0.1)
    kiosk.wait_screen("more_time")
    shot("more_time")
    kiosk.tap("more_time_button")
    kiosk.wait_screen("door_open")
    for parcel in two:
        kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")
    shot("thank_you")
    kiosk.tap("report_button")
    kiosk.wait_screen("report_problem")
    shot("report_problem")
    kiosk.tap("problem_damaged")
    kiosk.wait_screen("thank_you")
    shot("thank_you-reported")
    kiosk.tap("done_button")
    kiosk.wait_screen("home")
    kiosk.sim.jam(jammed.compartment)
    kiosk.tap("pickup_button")
    kiosk.type_code("135790")
    kiosk.wait_screen("error", timeout=10)
    shot("error-door_fault")
    kiosk.tap("home_button")
    kiosk.wait_screen("home")
    silent = kiosk.seed_parcel(size="S", code="112233")
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.sim.disconnect()
    kiosk.type_code(silent.code)
    kiosk.wait_screen("error", timeout=10)
    shot("error-bus_down")
    kiosk.sim.reconnect()
    kiosk.tap("home_button")
    kiosk.wait_screen("home")
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), what="back in service")
    kiosk.tap("pickup_button")
    for _ in range(kiosk.config.timers.lockout_after_failures):
        kiosk.type_code("000000")
    kiosk.wait_screen("locked_out")
    shot("locked_out")


def _door_opened_for(kiosk: object) -> str:
    """The compartment the door screen shows open now (the one the kiosk chose)."""
    from kiosk.core.flows.views import DoorOpenView
    from kiosk.testing.driver import KioskDriver

    assert isinstance(kiosk, KioskDriver)
    kiosk.wait_screen("door_open")

    def confirmed() -> bool:
        view = kiosk.app.flows.screen.view
        return isinstance(view, DoorOpenView) and not view.waiting_for_unlock

    kiosk.wait_until(confirmed, what="the door confirmed open")
    view = kiosk.app.flows.screen.view
    assert isinstance(view, DoorOpenView)
    compartment = view.compartment_ids[-1]
    kiosk.wait_door_open(compartment)
    return compartment


def _type_keys(kiosk: object, text: str) -> None:
    from kiosk.testing.driver import KioskDriver

    assert isinstance(kiosk, KioskDriver)
    for character in text:
        kiosk.tap("key_dash" if character == "-" else f"key_{character}")


def walk_courier_and_return_screens(kiosk: object, shot: Callable[[str], None]) -> None:
    """A customer's return, then a courier: login, drop-off (too small, closed empty, unannounced),
    collection (one parcel left inside), summary."""
    from kiosk.testing.driver import KioskDriver

    assert isinstance(kiosk, KioskDriver)
    courier = kiosk.seed_courier(badge="K7Q2M9X4P8R3T6W1", courier_id="COURIER-17", pin="2468",
                                 display_name="Sam Carter")
    labels = [kiosk.seed_expected(f"JJD00039000777{n:04d}", size=size)
              for n, size in enumerate(("S", "M", "S"))]
    overdue = kiosk.seed_parcel(size="M", code="909090")
    kiosk.advance(73 * 3600)  # its pickup window has ended: a courier collects it
    authorised = kiosk.seed_return("RETURN0042", size="S")

    kiosk.tap("return_button")
    kiosk.wait_screen("return_code")
    shot("return_code")
    _type_keys(kiosk, "WRONG0042")
    kiosk.tap("key_ok")
    kiosk.wait_until(lambda: "status_label" in kiosk.visible_names() and kiosk.screen() == "return_code",
                     what="the wrong return code")
    shot("return_code-wrong")
    kiosk.tap("cancel_button")
    kiosk.wait_screen("home")
    kiosk.tap("return_button")
    kiosk.wait_screen("return_code")
    _type_keys(kiosk, authorised.code)
    kiosk.tap("key_ok")
    kiosk.wait_screen("return_size")
    shot("return_size")
    kiosk.tap("size_S")
    returned_into = _door_opened_for(kiosk)
    shot("door_open-return")
    kiosk.sim.close_door(returned_into, ir=True)
    kiosk.wait_screen("receipt")
    shot("receipt")
    kiosk.tap("done_button")
    kiosk.wait_screen("home")

    kiosk.tap("courier_button")
    kiosk.wait_screen("courier_login")
    shot("courier_login")
    _type_keys(kiosk, courier.courier_id)
    kiosk.tap("key_ok")
    _type_keys(kiosk, "1111")
    kiosk.tap("login_button")
    kiosk.wait_until(lambda: "status_label" in kiosk.visible_names() and kiosk.audit_kinds().count(
        "courier_login_failed") == 1, timeout=10, what="the wrong PIN")
    shot("courier_login-wrong")
    kiosk.tap("cancel_button")
    kiosk.wait_screen("home")
    assert courier.badge_qr is not None
    kiosk.camera.show_qr(courier.badge_qr)
    kiosk.wait_screen("courier_menu", timeout=10)
    kiosk.camera.clear()
    shot("courier_menu")
    kiosk.tap("courier_dropoff_button")
    kiosk.wait_screen("courier_scan")
    shot("courier_scan")
    kiosk.scanner.scan(labels[0].barcode or "")
    first = _door_opened_for(kiosk)
    shot("door_open-courier")
    kiosk.tap("too_small_button")
    kiosk.wait_until(lambda: _door_opened_for(kiosk) != first, what="a bigger compartment")
    shot("door_open-courier_moved")
    bigger = _door_opened_for(kiosk)
    kiosk.sim.close_door(first, ir=False)
    kiosk.sim.close_door(bigger, ir=True)
    kiosk.wait_until(lambda: kiosk.screen() == "courier_scan" and "notice_label" in kiosk.visible_names(),
                     what="the deposit confirmed")
    shot("courier_scan-deposited")
    kiosk.scanner.scan(labels[1].barcode or "")
    shut_empty = _door_opened_for(kiosk)
    kiosk.sim.close_door(shut_empty, ir=False)
    kiosk.wait_screen("deposit_check")
    shot("deposit_check")
    kiosk.tap("skip_button")
    kiosk.wait_screen("courier_scan")
    shot("courier_scan-not_deposited")
    kiosk.scanner.scan("UNANNOUNCED-4711")
    kiosk.wait_screen("courier_size")
    shot("courier_size")
    kiosk.tap("cancel_button")
    kiosk.wait_screen("courier_scan")
    kiosk.tap("courier_menu_button")
    kiosk.wait_screen("courier_menu")
    kiosk.tap("courier_collect_button")
    kiosk.wait_screen("courier_collect")
    shot("courier_collect")
    kiosk.tap("open_all_button")
    kiosk.wait_screen("door_open")
    assert overdue.compartment is not None
    kiosk.wait_door_open(overdue.compartment)
    kiosk.wait_door_open(returned_into)
    shot("door_open-collect")
    kiosk.sim.close_door(returned_into, ir=False)
    kiosk.sim.close_door(overdue.compartment, ir=True)  # the courier left it inside
    kiosk.wait_screen("deposit_check")
    shot("deposit_check-still_inside")
    kiosk.tap("skip_button")
    kiosk.wait_screen("courier_collect")
    shot("courier_collect-after")
    kiosk.tap("courier_menu_button")
    kiosk.wait_screen("courier_menu")
    kiosk.tap("courier_logout_button")
    kiosk.wait_screen("courier_summary")
    shot("courier_summary")
    kiosk.tap("done_button")
    kiosk.wait_screen("home")


FACES = Path(__file__).resolve().parents[2] / "tests" / "data" / "faces"
FACE_TIMEOUT_S = 40.0  # the face engine's process loads its models first


def walk_face_screens(kiosk: object, shot: Callable[[str], None]) -> None:
    """Face pickup: a photo held up (recognised, but it cannot blink), a stranger, the keypad after no match,
    and enrolment after a code pickup: the offer, the consent, the capture, saved and forgotten."""
    from kiosk.core.flows.views import FaceEnrolView
    from kiosk.core.model import FaceGuidance
    from kiosk.testing.driver import KioskDriver

    assert isinstance(kiosk, KioskDriver)
    kiosk.seed_parcel(size="M", code="112233", recipient="Ada", recipient_ref="R-ASTRONAUT")
    stranger = kiosk.seed_parcel(size="S", code="445566", recipient="Tom", recipient_ref="R-TOM")
    kiosk.seed_face("R-ASTRONAUT", [FACES / "astronaut.jpg"])

    def guidance() -> object:
        return getattr(kiosk.app.flows.screen.view, "guidance", None)

    kiosk.camera.show_image(FACES / "astronaut.jpg")
    kiosk.wait_screen("pickup_face", timeout=FACE_TIMEOUT_S)
    kiosk.wait_until(lambda: guidance() is FaceGuidance.BLINK, timeout=FACE_TIMEOUT_S, what="asked to blink")
    shot("pickup_face-blink")
    kiosk.advance(kiosk.config.face.attempt_s)
    kiosk.wait_screen("pickup_code")
    shot("pickup_code-face_not_recognised")
    kiosk.camera.show_live_face(FACES / "tom_hanks.jpg")
    kiosk.tap("face_button")
    kiosk.wait_screen("pickup_face")
    kiosk.wait_until(lambda: guidance() is FaceGuidance.NOT_RECOGNISED, timeout=FACE_TIMEOUT_S,
                     what="a stranger not recognised")
    shot("pickup_face-not_recognised")
    kiosk.camera.clear()
    kiosk.tap("keypad_button")
    kiosk.type_code(stranger.code)
    kiosk.wait_door_open(stranger.compartment)
    kiosk.sim.close_door(stranger.compartment)
    kiosk.wait_screen("thank_you")
    shot("thank_you-offer_face")
    kiosk.tap("offer_face_button")
    kiosk.wait_screen("face_consent")
    shot("face_consent")
    kiosk.tap("consent_button")
    kiosk.wait_screen("face_enrol")
    kiosk.camera.show_live_face(FACES / "tom_hanks.jpg")

    def capturing() -> bool:
        view = kiosk.app.flows.screen.view
        return isinstance(view, FaceEnrolView) and view.frames_taken >= 2

    kiosk.wait_until(capturing, timeout=FACE_TIMEOUT_S, what="frames being taken")
    shot("face_enrol")
    kiosk.wait_screen("thank_you", timeout=FACE_TIMEOUT_S)
    kiosk.camera.clear()
    shot("thank_you-face_saved")
    kiosk.tap("forget_face_button")
    kiosk.wait_until(lambda: not kiosk.face_enrolled("R-TOM"), what="the face forgotten")
    shot("thank_you-face_forgotten")


def walk_online_screens(kiosk: object, shot: Callable[[str], None]) -> None:
    """A locker of an operator's network: online, checking a code it does not know, offline."""
    from kiosk.testing.driver import KioskDriver

    assert isinstance(kiosk, KioskDriver)
    kiosk.wait_until(lambda: kiosk.app.link is not None and kiosk.app.link.syncs_completed > 0
                     and kiosk.app.link.online(), timeout=10, what="the first sync")
    shot("home-online")
    # The platform takes its time over a code: the recipient sees it being checked.
    kiosk.platform.set_faults(latency_s=30, operations={"verifyCode"})
    kiosk.tap("pickup_button")
    kiosk.type_code("818181")
    kiosk.wait_screen("pickup_checking")
    shot("pickup_checking")
    kiosk.tap("cancel_button")
    kiosk.wait_screen("home")
    kiosk.platform.set_faults(status_500=1, operations={"verifyCode"})
    kiosk.tap("pickup_button")
    kiosk.type_code("818181")
    kiosk.wait_until(lambda: kiosk.screen() == "pickup_code" and "error_label" in kiosk.visible_names(),
                     timeout=10, what="the code that could not be checked")
    shot("pickup_code-not_verified")
    kiosk.tap("cancel_button")
    kiosk.wait_screen("home")
    kiosk.platform.stop()
    if kiosk.app.link is not None:
        kiosk.app.link.sync_now()  # the next exchange finds it gone
    kiosk.wait_until(lambda: kiosk.app.link_status is not None and kiosk.app.link_status.online is False,
                     timeout=10, what="the platform seen down")
    shot("home-offline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--language", default=None, help="en or de (default: both)")
    arguments = parser.parse_args(argv)
    languages = [arguments.language] if arguments.language else ["en", "de"]
    for language in languages:
        for path in capture_all(arguments.out_dir, language):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

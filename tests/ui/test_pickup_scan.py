"""Pickup by QR code: the scan screen shows the camera mirrored with its guide frame, says why a code was
refused, and the keypad is one tap away (and the scan screen one tap from the keypad)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot
from ui_rig import Kiosk

from kiosk.core.flows.views import (
    CodeError,
    HomeNotice,
    HomeView,
    Intent,
    PickupCodeView,
    PickupScanView,
    ScreenId,
)
from kiosk.ui.camera_preview import CameraPreview, frame_to_image
from kiosk.ui.preview import sample_frame

RED, BLUE = (0, 0, 255), (255, 0, 0)  # BGR, as cameras deliver


def label(kiosk: Kiosk, object_name: str) -> str:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QLabel)
    return widget.text() if widget.isVisibleTo(widget.window()) else ""


def preview_of(kiosk: Kiosk) -> CameraPreview:
    preview = kiosk.widget("camera_preview")
    assert isinstance(preview, CameraPreview)
    return preview


def red_left_blue_right(width: int = 640, height: int = 480) -> np.ndarray:
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    picture[:, : width // 2] = RED
    picture[:, width // 2:] = BLUE
    return picture


def color_at(preview: CameraPreview, x_share: float, y_share: float) -> QColor:
    image = preview.grab().toImage()
    area = preview.image_rect()
    scale = image.width() / preview.width()  # the grab is in device pixels
    x = int((area.left() + area.width() * x_share) * scale)
    y = int((area.top() + area.height() * y_share) * scale)
    return image.pixelColor(x, y)


def test_the_scan_screen_shows_the_camera_mirrored(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView())
    assert label(kiosk_ui, "title_label") == "Show your QR code to the camera"
    assert "inside the frame" in label(kiosk_ui, "hint_label")
    assert label(kiosk_ui, "error_label") == ""
    preview = preview_of(kiosk_ui)
    kiosk_ui.bridge.offer_frame(red_left_blue_right())
    qtbot.waitUntil(lambda: preview.frames_shown == 1, timeout=2000)
    assert preview.showing_picture()
    # What was on the camera's left is on the screen's right, as in a mirror.
    left, right = color_at(preview, 0.1, 0.5), color_at(preview, 0.9, 0.5)
    assert (left.blue(), left.red()) == (255, 0), left.name()
    assert (right.red(), right.blue()) == (255, 0), right.name()
    assert preview.accessibleName() == "Camera picture: hold your QR code inside the frame"


def test_the_picture_keeps_its_shape_and_fills_the_width_or_the_height(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    for width, height in ((1280, 800), (1080, 1920)):
        kiosk_ui.resize(width, height)
        kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView())
        preview = preview_of(kiosk_ui)
        shown = preview.frames_shown
        kiosk_ui.bridge.offer_frame(sample_frame())
        qtbot.waitUntil(lambda: preview.frames_shown == shown + 1, timeout=2000)  # noqa: B023
        area = preview.image_rect()
        assert area.width() / area.height() == pytest.approx(640 / 480)
        assert (area.width() == pytest.approx(preview.width())
                or area.height() == pytest.approx(preview.height()))
        # The preview gets the room: most of the screen's width in portrait, the larger share in landscape.
        assert area.width() >= (0.8 if height > width else 0.45) * width


def test_without_a_camera_a_calm_placeholder_points_to_the_keypad(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView(camera_connected=False))
    preview = preview_of(kiosk_ui)
    assert preview.showing_placeholder()
    assert preview.accessibleName() == "The camera shows no picture. Please type your code instead."
    assert label(kiosk_ui, "camera_placeholder_label") == preview.accessibleName()
    assert label(kiosk_ui, "title_label") == "The camera is not working right now"
    # Frames that still come are set aside at once: the bridge is never left waiting for a paint.
    kiosk_ui.bridge.offer_frame(sample_frame())
    kiosk_ui.bridge.offer_frame(sample_frame())
    QCoreApplication.processEvents()
    assert preview.frames_shown == 0
    assert kiosk_ui.bridge.preview_frames_dropped == 0
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView(camera_connected=True))
    kiosk_ui.bridge.offer_frame(sample_frame())
    qtbot.waitUntil(lambda: preview.frames_shown == 1, timeout=2000)
    assert not preview.showing_placeholder()
    assert label(kiosk_ui, "camera_placeholder_label") == ""


def test_a_camera_that_sends_nothing_gets_the_placeholder_after_a_while(
    kiosk_ui: Kiosk, qtbot: QtBot
) -> None:
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView(can_scan=True))
    preview = preview_of_hidden = kiosk_ui.window.screen_widget(ScreenId.PICKUP_SCAN).findChild(CameraPreview)
    assert isinstance(preview_of_hidden, CameraPreview)
    preview.set_no_picture_after(30)
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView())
    assert not preview.showing_placeholder()  # at first only the guide frame, waiting for the first picture
    qtbot.waitUntil(preview.showing_placeholder, timeout=2000)
    assert preview.accessibleName() == "The camera shows no picture. Please type your code instead."
    kiosk_ui.bridge.offer_frame(sample_frame())
    qtbot.waitUntil(preview.showing_picture, timeout=2000)
    assert not preview.showing_placeholder()


def test_a_frame_that_is_no_picture_is_refused_with_one_warning(
    kiosk_ui: Kiosk, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView())
    preview = preview_of(kiosk_ui)
    grey, floats = np.zeros((480, 640), dtype=np.uint8), np.zeros((480, 640, 3), dtype=np.float32)
    for bad in (grey, floats, "frame", None):
        kiosk_ui.bridge.offer_frame(bad)
    QCoreApplication.processEvents()
    assert preview.frames_shown == 0
    assert [r.getMessage() for r in caplog.records if r.name == "kiosk.ui.camera_preview"] == [
        "The camera preview cannot show an array of uint8 with shape (480, 640); "
        "it wants a BGR uint8 height x width x 3 array"]
    # A good frame after the bad ones is shown: nothing got stuck.
    kiosk_ui.bridge.offer_frame(sample_frame()[::2, ::2])  # a strided view: copied once, then shown
    qtbot.waitUntil(lambda: preview.frames_shown == 1, timeout=2000)


def test_frame_to_image_borrows_the_arrays_memory() -> None:
    picture = sample_frame()
    converted = frame_to_image(picture)
    assert converted is not None
    array, image = converted
    assert array is picture
    assert (image.width(), image.height()) == (640, 480)
    assert image.pixelColor(0, 0).blue() == picture[0, 0, 0]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (PickupScanView(CodeError.FOREIGN), "This QR code is not a pickup code for this locker."),
        (PickupScanView(CodeError.MALFORMED),
         "This QR code is not a pickup code. Please show the QR code from your message."),
        (PickupScanView(CodeError.WRONG_CODE, failures_in_a_row=2, failures_allowed=5),
         "That QR code was not recognised. 3 attempts left before a pause."),
        (PickupScanView(CodeError.WRONG_CODE, failures_in_a_row=4, failures_allowed=5),
         "That QR code was not recognised. 1 attempt left before a pause."),
        (PickupScanView(CodeError.WRONG_CODE, failures_in_a_row=5, failures_allowed=5),
         "That QR code was not recognised."),
    ],
)
def test_the_scan_screen_says_why_a_code_was_refused(
    kiosk_ui: Kiosk, view: PickupScanView, expected: str
) -> None:
    kiosk_ui.show(ScreenId.PICKUP_SCAN, view)
    assert label(kiosk_ui, "error_label") == expected
    assert kiosk_ui.widget("error_label").accessibleName() == expected


def test_the_keypad_is_one_tap_away_and_cancel_goes_home(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView())
    keypad_button = kiosk_ui.widget("keypad_button")
    assert isinstance(keypad_button, QPushButton)
    assert keypad_button.text() == "Type the code instead"
    assert keypad_button.property("role") == "primary"
    kiosk_ui.tap("keypad_button")
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [(Intent.KEYPAD_INSTEAD, {}), (Intent.CANCEL, {})]


def test_every_interactive_widget_on_the_scan_screen_has_its_handles(kiosk_ui: Kiosk) -> None:
    screen = kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView(CodeError.FOREIGN))
    preview = preview_of(kiosk_ui)
    assert preview.objectName() == "camera_preview" and preview.accessibleName()
    for button in screen.findChildren(QPushButton):
        assert button.objectName() and button.accessibleName(), button.text()
    assert {b.objectName() for b in screen.findChildren(QPushButton)} == {"keypad_button", "cancel_button"}


def test_the_keypad_offers_the_camera_only_when_there_is_one(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView())
    assert not kiosk_ui.widget("scan_button").isVisible()
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView(can_scan=True))
    scan_button = kiosk_ui.widget("scan_button")
    assert isinstance(scan_button, QPushButton)
    assert scan_button.isVisible() and scan_button.text() == "Scan a QR code instead"
    assert scan_button.accessibleName() == "Scan a QR code instead"
    kiosk_ui.tap("scan_button")
    assert kiosk_ui.flows.sent() == [(Intent.SCAN_INSTEAD, {})]


def test_the_keypad_screen_names_a_code_for_another_locker(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView(CodeError.FOREIGN, can_scan=True))
    assert label(kiosk_ui, "error_label") == "This code is not a pickup code for this locker."


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        (HomeNotice.FOREIGN_CODE, "This code is not for this locker."),
    ],
)
def test_home_explains_a_scan_it_could_not_serve(kiosk_ui: Kiosk, notice: HomeNotice, expected: str) -> None:
    kiosk_ui.show(ScreenId.HOME, HomeView(notice=notice))
    assert label(kiosk_ui, "notice_label") == expected
    kiosk_ui.show(ScreenId.HOME, HomeView())
    assert label(kiosk_ui, "notice_label") == ""


def test_the_scan_screen_speaks_german(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.window.set_language("de")
    QCoreApplication.sendPostedEvents()
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView(CodeError.WRONG_CODE, failures_in_a_row=3))
    assert label(kiosk_ui, "title_label") == "Halten Sie Ihren QR-Code vor die Kamera"
    assert label(kiosk_ui, "error_label") == (
        "Dieser QR-Code wurde nicht erkannt. Noch 2 Versuche bis zu einer Pause.")
    assert kiosk_ui.widget("keypad_button").accessibleName() == "Stattdessen Code eintippen"
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView(camera_connected=False))
    assert preview_of(kiosk_ui).accessibleName() == (
        "Die Kamera liefert kein Bild. Bitte geben Sie Ihren Code stattdessen über die Tasten ein.")
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView(can_scan=True))
    assert kiosk_ui.widget("scan_button").accessibleName() == "Stattdessen QR-Code scannen"
    kiosk_ui.show(ScreenId.HOME, HomeView(notice=HomeNotice.FOREIGN_CODE))
    assert label(kiosk_ui, "notice_label") == "Dieser Code gilt nicht für diese Paketstation."

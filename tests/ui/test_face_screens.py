"""Face pickup screens: pickup_face says what to do in plain words with the keypad always a tap away,
face_consent asks without nudging, face_enrol counts honestly, thank_you offers and forgets; the live picture
is gone the moment a face screen is left."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QAbstractButton, QLabel, QPushButton
from pytestqt.qtbot import QtBot
from test_layout import check_screen
from ui_rig import Kiosk

from kiosk.core.flows.views import (
    CodeError,
    FaceConsentView,
    FaceEnrolView,
    FaceNotice,
    HomeView,
    Intent,
    PickupCodeView,
    PickupFaceView,
    ScreenId,
    ThankYouView,
)
from kiosk.core.model import FaceEnrolFailure, FaceGuidance, ProblemKind
from kiosk.ui.camera_preview import CameraPreview, FacePreview
from kiosk.ui.preview import face_screens, sample_frame
from kiosk.ui.theme import HIGH_CONTRAST, LIGHT

GUIDANCE = {
    FaceGuidance.NO_FACE: "Look at the camera",
    FaceGuidance.COME_CLOSER: "Come a little closer",
    FaceGuidance.ONE_FACE: "One person at a time, please",
    FaceGuidance.HOLD_STILL: "Hold still",
    FaceGuidance.BLINK: "Now blink",
    FaceGuidance.TURN_HEAD: "Now turn your head a little",
    FaceGuidance.CHECKING: "Checking…",
}


def label(kiosk: Kiosk, object_name: str) -> str:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QLabel)
    return widget.text() if widget.isVisibleTo(widget.window()) else ""


def shown(kiosk: Kiosk, object_name: str) -> bool:
    return kiosk.widget(object_name).isVisibleTo(kiosk.window)


def preview_of(kiosk: Kiosk) -> CameraPreview:
    preview = kiosk.widget("camera_preview")
    assert isinstance(preview, FacePreview)
    return preview


def german(kiosk: Kiosk) -> None:
    kiosk.window.set_language("de")
    QCoreApplication.sendPostedEvents()


# pickup_face ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("guidance", "expected"), list(GUIDANCE.items()))
def test_pickup_face_says_what_to_do_next(kiosk_ui: Kiosk, guidance: FaceGuidance, expected: str) -> None:
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView(guidance))
    assert label(kiosk_ui, "guidance_label") == expected
    assert kiosk_ui.widget("guidance_label").accessibleName() == expected
    assert label(kiosk_ui, "error_label") == ""
    assert "blink and move" in label(kiosk_ui, "hint_label")


def test_a_face_not_recognised_points_at_the_keypad(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView(FaceGuidance.BLINK))
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView(FaceGuidance.NOT_RECOGNISED))
    assert label(kiosk_ui, "error_label") == "We do not recognise you. Type your code instead."
    assert label(kiosk_ui, "guidance_label") == ""
    assert shown(kiosk_ui, "keypad_button")


def test_pickup_face_mentions_the_qr_code_only_when_one_is_read_there(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView())
    assert "QR code" not in label(kiosk_ui, "hint_label")
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView(can_scan=True))
    assert label(kiosk_ui, "hint_label").endswith("You can also show the QR code from your message.")


def test_the_keypad_is_always_one_big_tap_away_and_cancel_goes_home(kiosk_ui: Kiosk) -> None:
    for guidance in FaceGuidance:
        kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView(guidance))
        keypad_button = kiosk_ui.widget("keypad_button")
        assert isinstance(keypad_button, QPushButton)
        assert keypad_button.isVisible() and keypad_button.property("role") == "primary"
        assert keypad_button.width() > kiosk_ui.widget("cancel_button").width()
    assert keypad_button.text() == "Type my code instead"
    kiosk_ui.tap("keypad_button")
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [(Intent.KEYPAD_INSTEAD, {}), (Intent.CANCEL, {})]


def test_without_a_camera_pickup_face_says_so_and_points_at_the_keypad(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView(camera_connected=False))
    preview = preview_of(kiosk_ui)
    assert preview.showing_placeholder()
    assert preview.accessibleName() == "The camera shows no picture. Please type your code instead."
    assert label(kiosk_ui, "camera_placeholder_label") == preview.accessibleName()
    assert label(kiosk_ui, "guidance_label") == "The camera is not working right now"
    assert label(kiosk_ui, "hint_label") == ""
    assert shown(kiosk_ui, "keypad_button")
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView())
    kiosk_ui.bridge.offer_frame(sample_frame())
    qtbot.waitUntil(preview.showing_picture, timeout=2000)
    assert preview.accessibleName() == "Camera picture: put your face inside the oval"


@pytest.mark.parametrize(
    ("screen_id", "view", "leave_to"),
    [
        (ScreenId.PICKUP_FACE, PickupFaceView(FaceGuidance.BLINK), (ScreenId.HOME, HomeView())),
        (ScreenId.PICKUP_FACE, PickupFaceView(), (ScreenId.PICKUP_CODE, PickupCodeView(can_use_face=True))),
        (ScreenId.FACE_ENROL, FaceEnrolView(2, 5), (ScreenId.THANK_YOU, ThankYouView(1))),
    ],
)
def test_leaving_a_face_screen_forgets_the_picture(
    kiosk_ui: Kiosk, qtbot: QtBot, screen_id: ScreenId, view: PickupFaceView | FaceEnrolView,
    leave_to: tuple[ScreenId, HomeView | PickupCodeView | ThankYouView],
) -> None:
    kiosk_ui.show(screen_id, view)
    preview = preview_of(kiosk_ui)
    assert kiosk_ui.bridge.preview_wanted()
    kiosk_ui.bridge.offer_frame(sample_frame())
    qtbot.waitUntil(lambda: preview.frames_shown == 1, timeout=2000)
    assert preview.showing_picture()
    kiosk_ui.show(*leave_to)
    # The next person must not see the last one's face, not even for the moment the screen comes back.
    assert not preview.showing_picture()
    assert not kiosk_ui.bridge.preview_wanted()
    kiosk_ui.show(screen_id, view)
    assert not preview.showing_picture()


def test_frames_go_to_the_picture_on_display_only(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    """Each camera screen has its own preview; a hidden one must neither show a frame nor let the next one
    in before the visible one has painted."""
    kiosk_ui.show(ScreenId.FACE_ENROL, FaceEnrolView(0, 5))
    enrol_preview = preview_of(kiosk_ui)
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView())
    face_preview = preview_of(kiosk_ui)
    assert face_preview is not enrol_preview
    for _ in range(3):
        kiosk_ui.bridge.offer_frame(sample_frame())
    qtbot.waitUntil(lambda: face_preview.frames_shown == 1, timeout=2000)
    QCoreApplication.processEvents()
    assert enrol_preview.frames_shown == 0 and not enrol_preview.showing_picture()
    assert kiosk_ui.bridge.preview_frames_dropped == 2  # offered while the first was on its way


# pickup_code ---------------------------------------------------------------------------------------------

def test_the_keypad_offers_the_face_only_when_the_view_says_it_can(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView(can_scan=True))
    assert not shown(kiosk_ui, "face_button")
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView(can_use_face=True))
    face_button = kiosk_ui.widget("face_button")
    assert isinstance(face_button, QPushButton)
    assert face_button.isVisible() and face_button.text() == "Use my face"
    assert face_button.accessibleName() == "Use my face"
    kiosk_ui.tap("face_button")
    assert kiosk_ui.flows.sent() == [(Intent.FACE_INSTEAD, {})]


def test_the_keypad_says_when_the_face_was_not_recognised(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView(CodeError.FACE_NOT_RECOGNISED, can_use_face=True))
    assert label(kiosk_ui, "error_label") == "We could not recognise your face. Please type your code."


# face_consent --------------------------------------------------------------------------------------------

def test_the_consent_says_what_is_kept_how_long_and_how_to_withdraw(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.FACE_CONSENT, FaceConsentView(forget_after_days=90))
    assert label(kiosk_ui, "title_label") == "Pick up with your face next time?"
    stored = label(kiosk_ui, "stored_label")
    assert "not a photo" in stored and "encrypted" in stored and "only in this locker" in stored
    assert label(kiosk_ui, "how_long_label") == (
        "Until you ask us to forget them, and deleted after 90 days without use.")
    assert label(kiosk_ui, "withdraw_label") == "Tap “Forget my face” after any pickup, or ask the operator."
    assert label(kiosk_ui, "codes_stay_label") == "Your pickup code and QR code always keep working."
    for name in ("stored_heading", "how_long_heading", "withdraw_heading", "codes_stay_heading"):
        assert label(kiosk_ui, name)
    kiosk_ui.show(ScreenId.FACE_CONSENT, FaceConsentView(forget_after_days=1))
    assert "after 1 day without use" in label(kiosk_ui, "how_long_label")


def test_yes_and_no_look_the_same_and_send_their_intents(kiosk_ui: Kiosk) -> None:
    for width, height in ((1280, 800), (800, 1280)):
        kiosk_ui.resize(width, height)
        kiosk_ui.show(ScreenId.FACE_CONSENT, FaceConsentView(forget_after_days=180))
        yes, no = kiosk_ui.widget("consent_button"), kiosk_ui.widget("decline_button")
        assert isinstance(yes, QPushButton) and isinstance(no, QPushButton)
        assert yes.property("role") == no.property("role")
        assert not yes.isDefault() and not no.isDefault() and not yes.autoDefault() and not no.autoDefault()
        assert abs(yes.width() - no.width()) <= 1 and yes.height() == no.height()
    assert (yes.text(), no.text()) == ("Yes, use my face", "No, thanks")
    kiosk_ui.tap("decline_button")
    kiosk_ui.tap("consent_button")
    assert kiosk_ui.flows.sent() == [(Intent.DECLINE_FACE, {}), (Intent.CONSENT_FACE, {})]


# face_enrol ----------------------------------------------------------------------------------------------

def test_enrolment_counts_what_is_done_not_pictures_saved(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.FACE_ENROL, FaceEnrolView(3, 5, FaceGuidance.HOLD_STILL))
    assert label(kiosk_ui, "progress_label") == "3 of 5 done"
    assert label(kiosk_ui, "guidance_label") == "Hold still"
    assert "not kept" in label(kiosk_ui, "hint_label")
    kiosk_ui.show(ScreenId.FACE_ENROL, FaceEnrolView(7, 5))  # a count past the end never reads "7 of 5"
    assert label(kiosk_ui, "progress_label") == "5 of 5 done"
    for guidance in FaceGuidance:
        kiosk_ui.show(ScreenId.FACE_ENROL, FaceEnrolView(1, 5, guidance))
        assert label(kiosk_ui, "guidance_label")
        assert "recognise" not in label(kiosk_ui, "guidance_label")
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [(Intent.CANCEL, {})]


def test_enrolment_without_a_camera_says_so(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.FACE_ENROL, FaceEnrolView(0, 5, camera_connected=False))
    assert label(kiosk_ui, "guidance_label") == "The camera is not working right now"
    assert label(kiosk_ui, "progress_label") == ""
    assert preview_of(kiosk_ui).accessibleName() == "The camera shows no picture."


# thank_you -----------------------------------------------------------------------------------------------

def test_thank_you_offers_the_face_only_when_it_can(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(1))
    assert not shown(kiosk_ui, "offer_face_button") and not shown(kiosk_ui, "forget_face_button")
    assert label(kiosk_ui, "face_notice_label") == ""
    assert label(kiosk_ui, "next_step_label") == "Have a good day!"
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(1, can_offer_face=True))
    assert shown(kiosk_ui, "offer_face_button") and not shown(kiosk_ui, "forget_face_button")
    assert kiosk_ui.widget("offer_face_button").accessibleName() == "Pick up with your face next time"
    kiosk_ui.tap("offer_face_button")
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(1, can_forget_face=True))
    assert shown(kiosk_ui, "forget_face_button") and not shown(kiosk_ui, "offer_face_button")
    kiosk_ui.tap("forget_face_button")
    kiosk_ui.tap("done_button")
    assert kiosk_ui.flows.sent() == [(Intent.OFFER_FACE, {}), (Intent.FORGET_FACE, {}), (Intent.DONE, {})]


@pytest.mark.parametrize(
    ("notice", "failure", "expected", "role"),
    [
        (FaceNotice.SAVED, None, "Your face is set up. Next time, just look at the camera.", "ok"),
        (FaceNotice.FORGOTTEN, None, "Your face data has been deleted.", "ok"),
        (FaceNotice.NOT_SAVED, FaceEnrolFailure.TIMED_OUT, "Your face was not set up: the camera did not see "
         "it clearly enough in time. Nothing was kept.", "warning"),
        (FaceNotice.NOT_SAVED, FaceEnrolFailure.INCONSISTENT, "Your face was not set up: the camera did not "
         "see the same person the whole time. Nothing was kept.", "warning"),
        (FaceNotice.NOT_SAVED, FaceEnrolFailure.UNAVAILABLE, "Your face could not be set up: face "
         "recognition is not available just now. Nothing was kept.", "warning"),
        (FaceNotice.NOT_SAVED, None, "Your face was not set up. Nothing was kept.", "warning"),
    ],
)
def test_thank_you_says_what_became_of_the_face(
    kiosk_ui: Kiosk, notice: FaceNotice, failure: FaceEnrolFailure | None, expected: str, role: str
) -> None:
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(1, face_notice=notice, enrol_failure=failure))
    assert label(kiosk_ui, "face_notice_label") == expected
    assert kiosk_ui.widget("face_notice_label").accessibleName() == expected
    assert kiosk_ui.widget("face_notice_label").property("role") == role
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(1))
    assert label(kiosk_ui, "face_notice_label") == ""


# every face screen: handles, German, layout --------------------------------------------------------------

def test_every_interactive_widget_on_the_face_screens_has_its_handles(kiosk_ui: Kiosk) -> None:
    for _, screen in face_screens():
        kiosk_ui.show(screen.id, screen.view)
        widget = kiosk_ui.window.screen_widget(screen.id)
        for button in widget.findChildren(QAbstractButton):
            if button.isVisibleTo(widget):
                assert button.objectName() and button.accessibleName(), (screen.id, button.text())
        for preview in widget.findChildren(CameraPreview):
            assert preview.objectName() == "camera_preview" and preview.accessibleName()


def test_the_face_screens_speak_german(kiosk_ui: Kiosk) -> None:
    german(kiosk_ui)
    kiosk_ui.show(ScreenId.PICKUP_FACE, PickupFaceView(FaceGuidance.BLINK))
    assert label(kiosk_ui, "guidance_label") == "Jetzt blinzeln"
    assert kiosk_ui.widget("keypad_button").accessibleName() == "Code eintippen"
    kiosk_ui.show(ScreenId.FACE_CONSENT, FaceConsentView(forget_after_days=1))
    assert label(kiosk_ui, "how_long_label") == (
        "Bis Sie uns bitten, sie zu löschen, und automatisch nach 1 Tag ohne Nutzung.")
    assert "„Mein Gesicht vergessen“" in label(kiosk_ui, "withdraw_label")
    kiosk_ui.show(ScreenId.FACE_ENROL, FaceEnrolView(3, 5))
    assert label(kiosk_ui, "progress_label") == "3 von 5 erledigt"
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(1, can_forget_face=True, face_notice=FaceNotice.FORGOTTEN))
    assert label(kiosk_ui, "face_notice_label") == "Ihre Gesichtsdaten wurden gelöscht."
    assert kiosk_ui.widget("forget_face_button").accessibleName() == "Mein Gesicht vergessen"
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView(CodeError.FACE_NOT_RECOGNISED, can_use_face=True))
    assert label(kiosk_ui, "error_label") == (
        "Wir konnten Ihr Gesicht nicht erkennen. Bitte geben Sie Ihren Code ein.")


@pytest.mark.parametrize(("theme", "language"), list(itertools.product((LIGHT, HIGH_CONTRAST), ("en", "de"))))
def test_the_face_screens_fit_landscape_and_both_portraits(
    kiosk_ui: Kiosk, theme: str, language: str
) -> None:
    window = kiosk_ui.window
    window.set_accessible_mode(theme == HIGH_CONTRAST)
    window.set_language(language)
    QCoreApplication.sendPostedEvents()
    problems = []
    for width, height in ((1280, 800), (800, 1280), (1080, 1920)):
        kiosk_ui.resize(width, height)
        for name, screen in face_screens():
            if screen.id is ScreenId.PICKUP_CODE and width == 800:
                # The keypad screen's footer never fitted 800 px wide (test_layout checks 1080x1920 portrait).
                continue
            kiosk_ui.flows.show(screen)
            QCoreApplication.sendPostedEvents()
            widget = window.screen_widget(screen.id)
            problems += [f"{width}x{height} {name}: {problem}" for problem in check_screen(widget)]
    assert problems == []


def test_thank_you_with_a_report_and_a_notice_drops_the_symbol_in_landscape_only(kiosk_ui: Kiosk) -> None:
    view = ThankYouView(1, ProblemKind.DAMAGED, can_forget_face=True, face_notice=FaceNotice.SAVED)
    kiosk_ui.show(ScreenId.THANK_YOU, view)
    assert not shown(kiosk_ui, "check_icon")
    kiosk_ui.resize(1080, 1920)
    assert shown(kiosk_ui, "check_icon")
    kiosk_ui.resize(1280, 800)
    kiosk_ui.show(ScreenId.THANK_YOU, ThankYouView(1, face_notice=FaceNotice.SAVED))
    assert shown(kiosk_ui, "check_icon")

"""Returns on screen: the return code on the letter keyboard, the size of the compartment, the receipt."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from ui_rig import Kiosk, SteppingClock

from kiosk.core.flows.views import (
    HomeView,
    Intent,
    ReceiptView,
    ReturnCodeError,
    ReturnCodeView,
    ReturnSizeView,
    ScreenId,
    ViewModel,
)
from kiosk.core.model import Size
from kiosk.ui.screens.receipt import spaced_code
from kiosk.ui.screens.return_code import ReturnCodeScreen
from kiosk.ui.text_entry import EntryField
from kiosk.ui.widgets import MIN_TOUCH_PX

PERSON_PACE = 0.15


def text_of(kiosk: Kiosk, object_name: str) -> str:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QLabel | QPushButton)
    return widget.text() if widget.isVisibleTo(widget.window()) else ""


def button(kiosk: Kiosk, object_name: str) -> QPushButton:
    widget = kiosk.widget(object_name)
    assert isinstance(widget, QPushButton)
    return widget


def code_field(kiosk: Kiosk) -> EntryField:
    widget = kiosk.widget("return_code_field")
    assert isinstance(widget, EntryField)
    return widget


def click(widget: QWidget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(widget.width() // 2, widget.height() // 2))


def return_code_screen(kiosk: Kiosk, view: ReturnCodeView | None = None) -> ReturnCodeScreen:
    screen = kiosk.show(ScreenId.RETURN_CODE, view or ReturnCodeView())
    assert isinstance(screen, ReturnCodeScreen)
    return screen


# return_code -----------------------------------------------------------------------------------------------

def test_a_return_code_typed_on_the_keys_is_submitted(kiosk_ui: Kiosk) -> None:
    return_code_screen(kiosk_ui)
    assert not button(kiosk_ui, "submit_button").isEnabled()
    assert not button(kiosk_ui, "key_dash").isEnabled()  # letters and digits only
    for char in "RT7K2M9QX":
        kiosk_ui.tap(f"key_{char}")
    kiosk_ui.tap("key_back")
    assert code_field(kiosk_ui).text() == "RT7K2M9Q"
    kiosk_ui.tap("key_ok")
    kiosk_ui.tap("submit_button")
    assert kiosk_ui.flows.sent() == [(Intent.SUBMIT_RETURN_CODE, {"code": "RT7K2M9Q"})] * 2


def test_a_return_code_takes_at_most_16_characters(kiosk_ui: Kiosk) -> None:
    return_code_screen(kiosk_ui)
    code_field(kiosk_ui).type_text("AB12" * 5)
    assert code_field(kiosk_ui).text() == "AB12" * 4
    assert not button(kiosk_ui, "key_C").isEnabled()


def test_a_physical_keyboard_types_the_return_code(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    return_code_screen(kiosk_ui)
    qtbot.waitUntil(code_field(kiosk_ui).hasFocus, timeout=2000)
    kiosk_ui.window.wedge_filter.clock = SteppingClock(PERSON_PACE)
    window = kiosk_ui.window.windowHandle()
    for char in "rt-7k 2m":  # the dash and the space are no part of a return code
        QTest.keyClick(window, char)
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(kiosk_ui.flows.sent()), timeout=2000)
    assert kiosk_ui.flows.sent() == [(Intent.SUBMIT_RETURN_CODE, {"code": "RT7K2M"})]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (ReturnCodeView(), ""),
        (ReturnCodeView(ReturnCodeError.WRONG_CODE, failures_in_a_row=1),
         "That return code was not recognised, or it was used already. 4 attempts left before a pause."),
        (ReturnCodeView(ReturnCodeError.WRONG_CODE, failures_in_a_row=4),
         "That return code was not recognised, or it was used already. 1 attempt left before a pause."),
        (ReturnCodeView(ReturnCodeError.WRONG_CODE, failures_in_a_row=5),
         "That return code was not recognised, or it was used already."),
        (ReturnCodeView(ReturnCodeError.MALFORMED),
         "A return code has 8 to 16 letters and digits. Please check it and try again."),
        (ReturnCodeView(ReturnCodeError.NOT_VERIFIED),
         "This return code is new here and cannot be checked just now. Please try again in a few minutes."),
    ],
)
def test_return_code_says_why_a_code_was_refused(
    kiosk_ui: Kiosk, view: ReturnCodeView, expected: str
) -> None:
    return_code_screen(kiosk_ui, view)
    assert text_of(kiosk_ui, "title_label") == "Enter your return code"
    assert text_of(kiosk_ui, "status_label") == expected
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [(Intent.CANCEL, {})]


def test_a_refused_code_stays_to_be_corrected(kiosk_ui: Kiosk) -> None:
    return_code_screen(kiosk_ui)
    code_field(kiosk_ui).type_text("RT7K2M9Q")
    kiosk_ui.tap("submit_button")
    kiosk_ui.show(ScreenId.RETURN_CODE, ReturnCodeView(checking=True))
    assert text_of(kiosk_ui, "status_label") == "Checking your code…"
    assert not button(kiosk_ui, "submit_button").isEnabled()
    assert not button(kiosk_ui, "key_A").isEnabled()
    kiosk_ui.show(ScreenId.RETURN_CODE, ReturnCodeView(ReturnCodeError.WRONG_CODE, failures_in_a_row=1))
    assert code_field(kiosk_ui).text() == "RT7K2M9Q"
    kiosk_ui.tap("key_back")
    kiosk_ui.tap("key_B")
    kiosk_ui.tap("submit_button")
    assert kiosk_ui.flows.sent() == [(Intent.SUBMIT_RETURN_CODE, {"code": "RT7K2M9Q"}),
                                     (Intent.SUBMIT_RETURN_CODE, {"code": "RT7K2M9B"})]


def test_the_scan_hint_shows_where_there_is_a_camera(kiosk_ui: Kiosk) -> None:
    return_code_screen(kiosk_ui, ReturnCodeView(can_scan=True))
    assert text_of(kiosk_ui, "hint_label").endswith("Or hold its QR code up to the camera.")
    return_code_screen(kiosk_ui, ReturnCodeView())
    assert "camera" not in text_of(kiosk_ui, "hint_label")


def test_a_locked_return_code_counts_down(kiosk_ui: Kiosk) -> None:
    screen = return_code_screen(kiosk_ui)
    now = [100.0]
    screen.countdown.clock = lambda: now[0]
    kiosk_ui.show(ScreenId.RETURN_CODE, ReturnCodeView(ReturnCodeError.WRONG_CODE, failures_in_a_row=5,
                                                              locked_seconds=90))
    assert text_of(kiosk_ui, "status_label") == "Too many wrong codes. Please wait 1:30."
    assert not button(kiosk_ui, "key_A").isEnabled()
    now[0] += 90
    screen.countdown.tick()
    assert text_of(kiosk_ui, "status_label") == "That return code was not recognised, or it was used already."
    assert button(kiosk_ui, "key_A").isEnabled()


def test_the_next_customer_finds_the_return_code_empty(kiosk_ui: Kiosk) -> None:
    return_code_screen(kiosk_ui)
    code_field(kiosk_ui).type_text("RT7K2M9Q")
    kiosk_ui.show(ScreenId.HOME, HomeView())
    return_code_screen(kiosk_ui)
    assert code_field(kiosk_ui).text() == ""


# return_size -----------------------------------------------------------------------------------------------

def test_return_size_offers_the_authorised_size_first_and_bigger_free_ones(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.RETURN_SIZE, ReturnSizeView(Size.M, (Size.M, Size.XL)))
    assert text_of(kiosk_ui, "title_label") == "Your return needs a size M compartment"
    medium, large, small = button(kiosk_ui, "size_M"), button(kiosk_ui, "size_L"), button(kiosk_ui, "size_S")
    assert medium.property("role") == "tile_primary"
    assert text_of(kiosk_ui, "size_M_caption") == "Your size"
    assert medium.accessibleName() == "Size M, Medium: your size"
    assert not small.isEnabled()
    assert text_of(kiosk_ui, "size_S_caption") == "Smaller than your return"
    assert not large.isEnabled()
    assert text_of(kiosk_ui, "size_L_caption") == "No free compartment"
    click(small)
    click(large)
    kiosk_ui.tap("size_XL")
    kiosk_ui.tap("size_M")
    kiosk_ui.tap("cancel_button")
    assert kiosk_ui.flows.sent() == [
        (Intent.CHOOSE_SIZE, {"size": Size.XL}), (Intent.CHOOSE_SIZE, {"size": Size.M}), (Intent.CANCEL, {})
    ]


def test_a_size_listed_free_but_below_the_authorised_one_is_not_offered(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.RETURN_SIZE, ReturnSizeView(Size.L, (Size.S, Size.L)))
    assert not button(kiosk_ui, "size_S").isEnabled()
    assert button(kiosk_ui, "size_L").isEnabled()


def test_return_size_says_so_when_nothing_is_free(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.RETURN_SIZE, ReturnSizeView(Size.S, ()))
    assert not any(button(kiosk_ui, f"size_{size.value}").isEnabled() for size in Size)
    # The authorised size is not dressed as the main action when it cannot be tapped.
    assert button(kiosk_ui, "size_S").property("role") == "tile_secondary"
    assert text_of(kiosk_ui, "notice_label") == ("No compartment is free for your return right now. "
                                                 "Please try again later.")
    kiosk_ui.show(ScreenId.RETURN_SIZE, ReturnSizeView(Size.S, (Size.S,)))
    assert text_of(kiosk_ui, "notice_label") == ""
    assert button(kiosk_ui, "size_S").property("role") == "tile_primary"


# receipt ---------------------------------------------------------------------------------------------------

def test_the_receipt_shows_the_code_large_spaced_and_the_door(kiosk_ui: Kiosk) -> None:
    kiosk_ui.show(ScreenId.RECEIPT, ReceiptView("K7Q2M9XD4F", "C03", "P-1"))
    assert text_of(kiosk_ui, "title_label") == "Thank you"
    assert text_of(kiosk_ui, "message_label") == "Your receipt code:"
    code = kiosk_ui.widget("receipt_code_label")
    assert isinstance(code, QLabel)
    assert code.text() == "K7Q2 M9XD 4F"
    assert code.property("role") == "receipt_code"
    assert code.accessibleName() == "Receipt code: K 7 Q 2 M 9 X D 4 F"
    assert text_of(kiosk_ui, "door_label") == ("Your return is in door C03. Keep this code: it shows that "
                                               "you handed it in.")
    kiosk_ui.tap("done_button")
    assert kiosk_ui.flows.sent() == [(Intent.DONE, {})]


@pytest.mark.parametrize(
    ("code", "shown"),
    [("K7Q2M9XD", "K7Q2 M9XD"), ("K7Q2M", "K7Q2M"), ("RC-4711-XY", "RC-4711-XY"), ("AB12 CD34", "AB12 CD34"),
     (" K7Q2M9XD4F ", "K7Q2 M9XD 4F"), ("", "")],
)
def test_receipt_codes_are_grouped_by_four_unless_they_bring_their_own_spacing(code: str, shown: str) -> None:
    assert spaced_code(code) == shown


# handles, names and German ----------------------------------------------------------------------------------

RETURN_VIEWS: list[tuple[ScreenId, ViewModel]] = [
    (ScreenId.RETURN_CODE, ReturnCodeView(ReturnCodeError.MALFORMED, can_scan=True)),
    (ScreenId.RETURN_SIZE, ReturnSizeView(Size.M, (Size.M, Size.L))),
    (ScreenId.RECEIPT, ReceiptView("K7Q2M9XD", "C03", "P-1")),
]


@pytest.mark.parametrize(("screen_id", "view"), RETURN_VIEWS, ids=[s.value for s, _ in RETURN_VIEWS])
def test_every_return_control_has_a_handle_a_name_and_room_for_a_finger(
    kiosk_ui: Kiosk, screen_id: ScreenId, view: ViewModel
) -> None:
    screen = kiosk_ui.show(screen_id, view)
    controls: list[QWidget] = [*screen.findChildren(QAbstractButton), *screen.findChildren(EntryField)]
    assert controls
    for control in controls:
        assert control.objectName(), f"{type(control).__name__} {control.accessibleName()!r}: no objectName"
        assert control.accessibleName(), f"{control.objectName()} has no accessibleName"
        if control.isVisibleTo(screen):
            assert control.height() >= MIN_TOUCH_PX, control.objectName()


def test_return_screens_speak_german(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.tap("language_button")
    qtbot.waitUntil(lambda: kiosk_ui.window.language() == "de", timeout=2000)
    QCoreApplication.sendPostedEvents()
    return_code_screen(kiosk_ui, ReturnCodeView(ReturnCodeError.WRONG_CODE, failures_in_a_row=3))
    assert text_of(kiosk_ui, "title_label") == "Retourencode eingeben"
    assert text_of(kiosk_ui, "status_label") == ("Dieser Retourencode wurde nicht erkannt oder ist schon "
                                                 "verwendet. Noch 2 Versuche bis zu einer Pause.")
    assert text_of(kiosk_ui, "submit_button") == "Weiter"
    kiosk_ui.show(ScreenId.RETURN_SIZE, ReturnSizeView(Size.M, (Size.M,)))
    assert text_of(kiosk_ui, "title_label") == "Ihre Retoure braucht ein Fach der Größe M"
    assert text_of(kiosk_ui, "size_M_caption") == "Ihre Größe"
    kiosk_ui.show(ScreenId.RECEIPT, ReceiptView("K7Q2M9XD", "C03", "P-1"))
    assert text_of(kiosk_ui, "message_label") == "Ihr Quittungscode:"
    assert text_of(kiosk_ui, "door_label").startswith("Ihre Retoure liegt in Fach C03.")
    # Back in English without a new view: the screen on display follows the language at once.
    kiosk_ui.window.set_language("en")
    qtbot.waitUntil(lambda: text_of(kiosk_ui, "message_label") == "Your receipt code:", timeout=2000)

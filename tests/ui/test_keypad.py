"""The keypad: taps and physical keys build a code; OK submits it as Intent.SUBMIT_CODE."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot
from ui_rig import Kiosk, SteppingClock

from kiosk.core.flows.views import Intent, PickupCodeView, ScreenId
from kiosk.ui.keypad import MAX_DIGITS, Keypad


def make_keypad(qtbot: QtBot) -> Keypad:
    keypad = Keypad()
    qtbot.addWidget(keypad)
    keypad.show()
    qtbot.waitExposed(keypad)
    return keypad


def click(keypad: Keypad, object_name: str) -> None:
    key = keypad.findChild(QPushButton, object_name)
    assert key is not None, object_name
    QTest.mouseClick(key, Qt.MouseButton.LeftButton)


def display_text(keypad: Keypad) -> str:
    display = keypad.findChild(QLabel, "code_display")
    assert display is not None
    return display.text()


def test_tapping_digits_and_ok_submits_the_code_as_an_intent(kiosk_ui: Kiosk) -> None:
    kiosk_ui.tap("pickup_button")
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView())
    for digit in "123456":
        kiosk_ui.tap(f"key_{digit}")
    kiosk_ui.tap("key_ok")
    assert kiosk_ui.flows.sent() == [(Intent.START_PICKUP, {}), (Intent.SUBMIT_CODE, {"code": "123456"})]
    assert any(intent is Intent.ACTIVITY for intent, _ in kiosk_ui.flows.intents)


def test_the_display_shows_the_digits_spaced_and_empty_slots_up_to_six(qtbot: QtBot) -> None:
    keypad = make_keypad(qtbot)
    assert display_text(keypad) == "\u2009".join("––––––")
    for digit in "4711":
        click(keypad, f"key_{digit}")
    assert display_text(keypad) == "\u2009".join("4711––")
    assert keypad.digits() == "4711"


def test_ok_clears_the_display_and_an_empty_display_submits_nothing(qtbot: QtBot) -> None:
    keypad = make_keypad(qtbot)
    submitted: list[str] = []
    keypad.submitted.connect(submitted.append)
    ok = keypad.findChild(QPushButton, "key_ok")
    assert ok is not None and not ok.isEnabled()
    keypad.submit()
    assert submitted == []
    for digit in "987654":
        click(keypad, f"key_{digit}")
    assert ok.isEnabled()
    click(keypad, "key_ok")
    assert submitted == ["987654"]
    assert keypad.digits() == ""
    assert display_text(keypad) == "\u2009".join("––––––")


def test_at_most_eight_digits_are_taken(qtbot: QtBot) -> None:
    keypad = make_keypad(qtbot)
    for digit in "1234567890":
        click(keypad, f"key_{digit}")
    assert keypad.digits() == "12345678"
    assert len(keypad.digits()) == MAX_DIGITS


def test_the_clear_key_removes_the_last_digit(qtbot: QtBot) -> None:
    keypad = make_keypad(qtbot)
    for digit in "123":
        click(keypad, f"key_{digit}")
    click(keypad, "key_clear")
    assert keypad.digits() == "12"


def test_a_physical_keyboard_types_deletes_and_submits(qtbot: QtBot) -> None:
    keypad = make_keypad(qtbot)
    submitted: list[str] = []
    keypad.submitted.connect(submitted.append)
    QTest.keyClicks(keypad, "2468101")
    QTest.keyClick(keypad, Qt.Key.Key_Backspace)
    QTest.keyClicks(keypad, "x-")  # not digits: ignored
    QTest.keyClick(keypad, Qt.Key.Key_9, Qt.KeyboardModifier.KeypadModifier)
    QTest.keyClick(keypad, Qt.Key.Key_Enter)
    assert submitted == ["2468109"]
    QTest.keyClicks(keypad, "55")
    QTest.keyClick(keypad, Qt.Key.Key_Escape)
    assert keypad.digits() == ""


def test_typing_on_the_pickup_screen_reaches_the_keypad_without_a_tap(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView())
    keypad = kiosk_ui.widget("keypad")
    qtbot.waitUntil(keypad.hasFocus, timeout=2000)
    # Through the window system, as a USB keyboard types: at a person's pace (keys as fast as a scanner's
    # are a scan, see test_wedge_filter.py).
    kiosk_ui.window.wedge_filter.clock = SteppingClock(step=0.15)
    window = kiosk_ui.window.windowHandle()
    for digit in "24681357":
        QTest.keyClick(window, Qt.Key(Qt.Key.Key_0.value + int(digit)))
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert kiosk_ui.flows.sent() == [(Intent.SUBMIT_CODE, {"code": "24681357"})]
    assert [intent for intent, _ in kiosk_ui.flows.intents].count(Intent.ACTIVITY) == 9  # one per key


def test_non_ascii_digits_are_refused(qtbot: QtBot) -> None:
    keypad = make_keypad(qtbot)
    keypad.press_digit("٣")  # an Arabic-Indic three is a digit to Python, not to a pickup code
    keypad.press_digit("12")
    assert keypad.digits() == ""


def test_the_keypad_keeps_its_width_while_the_code_grows(kiosk_ui: Kiosk) -> None:
    kiosk_ui.resize(1280, 800)
    kiosk_ui.show(ScreenId.PICKUP_CODE, PickupCodeView())
    keypad = kiosk_ui.widget("keypad")
    assert isinstance(keypad, Keypad)
    width = keypad.width()
    for digit in "12345678":
        keypad.press_digit(digit)
        QCoreApplication.sendPostedEvents()
        assert keypad.width() == width

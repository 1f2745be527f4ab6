"""The keyboard-wedge filter in the real window: a scanner's burst becomes one Intent.SCAN and no key of it
reaches a widget; a person's typing reaches the widget it was meant for, intact and in order."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from ui_rig import Kiosk, SteppingClock

from kiosk.core.flows.views import Intent, PickupCodeView, ScreenId
from kiosk.ui.keypad import Keypad
from kiosk.ui.wedge import send_scanner_burst

SCANNER_PACE = 0.002  # seconds per clock read: a few ms a key, as wedge scanners type
PERSON_PACE = 0.15


class KeyRecorder(QObject):
    """Installed on one widget: the key events that really reached it (after every application filter)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.keys: list[tuple[str, str]] = []
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            kind = "press" if event.type() == QEvent.Type.KeyPress else "release"
            self.keys.append((kind, event.text()))
        return False


def pickup_keypad(kiosk: Kiosk, qtbot: QtBot) -> Keypad:
    kiosk.show(ScreenId.PICKUP_CODE, PickupCodeView())
    keypad = kiosk.widget("keypad")
    assert isinstance(keypad, Keypad)
    qtbot.waitUntil(keypad.hasFocus, timeout=2000)
    return keypad


def type_through_the_window(kiosk: Kiosk, text: str, enter: bool = True) -> None:
    """As a USB keyboard or scanner types: key by key through the window system (spontaneous events)."""
    window = kiosk.window.windowHandle()
    for char in text:
        QTest.keyClick(window, char)
    if enter:
        QTest.keyClick(window, Qt.Key.Key_Return)


def scans(kiosk: Kiosk) -> list[dict[str, object]]:
    return [arguments for intent, arguments in kiosk.flows.sent() if intent is Intent.SCAN]


def test_a_scanner_burst_becomes_one_scan_and_no_key_reaches_the_keypad(
    kiosk_ui: Kiosk, qtbot: QtBot
) -> None:
    keypad = pickup_keypad(kiosk_ui, qtbot)
    recorder = KeyRecorder(keypad)
    kiosk_ui.window.wedge_filter.clock = SteppingClock(SCANNER_PACE)
    type_through_the_window(kiosk_ui, "PK-0421-7Hq9")
    assert kiosk_ui.flows.sent() == [(Intent.SCAN, {"payload": "PK-0421-7Hq9", "source": "wedge"})]
    assert recorder.keys == []
    assert keypad.digits() == ""
    assert kiosk_ui.window.wedge_filter.holding == 0
    # Every key was still a sign of someone at the screen: 12 characters and the Enter.
    assert [intent for intent, _ in kiosk_ui.flows.intents].count(Intent.ACTIVITY) == 13


def test_the_same_keys_at_a_persons_pace_reach_the_keypad_intact_and_in_order(
    kiosk_ui: Kiosk, qtbot: QtBot
) -> None:
    keypad = pickup_keypad(kiosk_ui, qtbot)
    recorder = KeyRecorder(keypad)
    kiosk_ui.window.wedge_filter.clock = SteppingClock(PERSON_PACE)
    type_through_the_window(kiosk_ui, "97531", enter=False)
    # The last key waits for the decision (about 35 ms), then arrives like the others.
    qtbot.waitUntil(lambda: keypad.digits() == "97531", timeout=2000)
    presses = [text for kind, text in recorder.keys if kind == "press"]
    assert presses == list("97531")
    assert recorder.keys == [(kind, digit) for digit in "97531" for kind in ("press", "release")]
    assert scans(kiosk_ui) == []


def test_a_scan_while_the_keypad_shows_tapped_digits_leaves_them_alone(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    keypad = pickup_keypad(kiosk_ui, qtbot)
    kiosk_ui.tap("key_1")
    kiosk_ui.tap("key_2")
    assert keypad.digits() == "12"
    send_scanner_burst(keypad, "LOCKER:0421:PICKUP:88412093")
    qtbot.waitUntil(lambda: bool(scans(kiosk_ui)), timeout=2000)
    assert scans(kiosk_ui) == [{"payload": "LOCKER:0421:PICKUP:88412093", "source": "wedge"}]
    assert keypad.digits() == "12"
    assert (Intent.SUBMIT_CODE, {"code": "12"}) not in kiosk_ui.flows.sent()


def test_a_posted_burst_on_a_screen_without_focus_is_a_scan_too(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    """Posted key events are not spontaneous; the filter reads them all the same."""
    assert kiosk_ui.window.current_screen_id() == "home"
    send_scanner_burst(kiosk_ui.window, "https://example.com/p/ÄÖÜ-42")
    qtbot.waitUntil(lambda: bool(scans(kiosk_ui)), timeout=2000)
    assert scans(kiosk_ui) == [{"payload": "https://example.com/p/ÄÖÜ-42", "source": "wedge"}]


def test_a_burst_too_short_for_a_scan_is_typed_into_the_keypad(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    keypad = pickup_keypad(kiosk_ui, qtbot)
    keypad.press_digit("4")
    send_scanner_burst(keypad, "56")  # three keys with the Enter: typing, delivered as the replays go
    qtbot.waitUntil(lambda: (Intent.SUBMIT_CODE, {"code": "456"}) in kiosk_ui.flows.sent(), timeout=2000)
    assert scans(kiosk_ui) == []


def test_backspace_comes_after_the_keys_typed_before_it(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    keypad = pickup_keypad(kiosk_ui, qtbot)
    kiosk_ui.window.wedge_filter.clock = SteppingClock(SCANNER_PACE)
    type_through_the_window(kiosk_ui, "4567", enter=False)
    QTest.keyClick(kiosk_ui.window.windowHandle(), Qt.Key.Key_Backspace)
    # No scanner sends Backspace: the held keys were typing and arrive first, then the Backspace.
    assert keypad.digits() == "456"
    assert kiosk_ui.window.wedge_filter.holding == 0


def test_an_endless_burst_is_dropped_with_one_log_line(
    kiosk_ui: Kiosk, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    keypad = pickup_keypad(kiosk_ui, qtbot)
    recorder = KeyRecorder(keypad)
    kiosk_ui.window.wedge_filter.clock = SteppingClock(SCANNER_PACE / 4)
    with caplog.at_level(logging.WARNING, logger="kiosk.ui.wedge"):
        send_scanner_burst(keypad, "7" * 5000)
        qtbot.waitUntil(lambda: kiosk_ui.window.wedge_filter.holding == 0
                        and [r for r in caplog.records if "Dropped" in r.getMessage()] != [], timeout=5000)
    assert [r.getMessage() for r in caplog.records if r.name == "kiosk.ui.wedge"] == [
        "Dropped a keyboard-wedge burst of more than 4096 characters (no scan is that long)"]
    assert scans(kiosk_ui) == []
    assert recorder.keys == []
    assert keypad.digits() == ""


def test_closing_the_window_delivers_what_was_held(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    keypad = pickup_keypad(kiosk_ui, qtbot)
    kiosk_ui.window.wedge_filter.clock = SteppingClock(SCANNER_PACE)
    type_through_the_window(kiosk_ui, "8", enter=False)
    assert kiosk_ui.window.wedge_filter.holding == 1
    kiosk_ui.window.close()
    assert keypad.digits() == "8"

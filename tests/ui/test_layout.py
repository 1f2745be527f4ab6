"""Every screen at 1280x800 and 1080x1920, in both languages and both themes: QA handles on every
interactive widget, touch-sized buttons, nothing clipped, nothing overlapping, no text cut off."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QCoreApplication, QRect
from PySide6.QtWidgets import QAbstractButton, QLabel, QPushButton, QScrollArea, QWidget
from pytestqt.qtbot import QtBot
from ui_rig import Kiosk

from kiosk.core.flows.views import (
    CodeError,
    DoorOpenView,
    ParcelItem,
    ParcelListView,
    PickupCodeView,
    PickupScanView,
    Screen,
    ScreenId,
)
from kiosk.core.model import Size
from kiosk.ui.keypad import Keypad
from kiosk.ui.preview import SIZES, sample_cells, sample_screens
from kiosk.ui.text_entry import EntryField
from kiosk.ui.theme import HIGH_CONTRAST, LIGHT
from kiosk.ui.widgets import KEY_PX, MIN_TOUCH_PX

LONG_LIST = tuple(ParcelItem(f"p-{n}", f"C{n:02d}", Size.M, opened=False) for n in range(1, 8))
def all_screens() -> list[tuple[str, Screen]]:
    return [
        *sample_screens(),
        ("door_open_three", Screen(ScreenId.DOOR_OPEN, DoorOpenView(
            ("A07", "B02", "C03"), sample_cells(["A07", "B02", "C03"]), waiting_for_unlock=False))),
        ("parcel_list_long", Screen(ScreenId.PARCEL_LIST, ParcelListView(LONG_LIST))),
        # The longest texts the scan screens can show, beside the camera picture or its placeholder.
        ("pickup_scan_malformed", Screen(ScreenId.PICKUP_SCAN, PickupScanView(CodeError.MALFORMED))),
        ("pickup_scan_no_camera_error", Screen(ScreenId.PICKUP_SCAN,
                                               PickupScanView(CodeError.MALFORMED, camera_connected=False))),
        ("pickup_code_foreign_scan", Screen(ScreenId.PICKUP_CODE,
                                            PickupCodeView(CodeError.FOREIGN, can_scan=True))),
    ]


def inside_scroll_area(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def layout_problems(screen: QWidget) -> list[str]:
    problems = []
    bounds = screen.rect()
    shown = [w for w in screen.findChildren(QWidget) if w.isVisibleTo(screen) and not w.isWindow()]
    for widget in shown:
        name = widget.objectName() or type(widget).__name__
        scrolled = inside_scroll_area(widget)
        top_left = widget.mapTo(screen, widget.rect().topLeft())
        on_screen = QRect(top_left, widget.size())
        if not scrolled and not bounds.contains(on_screen):
            problems.append(f"{name} at {on_screen.getRect()} leaves the screen {bounds.getRect()}")
        parent = widget.parentWidget()
        if not scrolled and parent is not None and not parent.rect().contains(widget.geometry()):
            problems.append(f"{name} {widget.geometry().getRect()} is clipped by {parent.objectName()}")
        if isinstance(widget, QLabel) and widget.text():
            if widget.wordWrap():
                needed = widget.heightForWidth(widget.width())
                if widget.height() + 1 < needed:
                    problems.append(f"label {name} is {widget.height()} px high, its text needs {needed}")
            elif widget.width() + 1 < (needed := widget.sizeHint().width()):
                problems.append(f"label {name} is {widget.width()} px wide, its text needs {needed}")
        if isinstance(widget, QPushButton) and widget.text():
            hint = widget.sizeHint()
            if widget.width() + 1 < hint.width() or widget.height() + 1 < min(hint.height(), MIN_TOUCH_PX):
                problems.append(f"button {name} {widget.size().toTuple()} cuts its text ({hint.toTuple()})")
    for parent in [screen, *shown]:
        children = [c for c in parent.children() if isinstance(c, QWidget) and c in shown]
        for first, second in itertools.combinations(children, 2):
            if first.geometry().intersects(second.geometry()):
                problems.append(f"{first.objectName()} overlaps {second.objectName()}")
    return problems


def check_screen(screen: QWidget) -> list[str]:
    problems = layout_problems(screen)
    for button in screen.findChildren(QAbstractButton):
        name = button.objectName()
        if not name:
            problems.append(f"a button with text {button.text()!r} has no objectName")
        if not button.accessibleName():
            problems.append(f"button {name} has no accessibleName")
        if button.isVisibleTo(screen):
            if button.height() < MIN_TOUCH_PX:
                problems.append(f"button {name} is {button.height()} px high")
            if name.startswith("key_") and min(button.width(), button.height()) < KEY_PX:
                problems.append(f"key {name} is {button.size().toTuple()}")
    for keypad in screen.findChildren(Keypad):
        if keypad.objectName() != "keypad" or len(keypad.findChildren(QAbstractButton)) != 12:
            problems.append("the keypad lost its handle or a key")
    return problems


@pytest.mark.parametrize(("theme", "language"), list(itertools.product((LIGHT, HIGH_CONTRAST), ("en", "de"))))
def test_every_screen_fits_both_displays(kiosk_ui: Kiosk, qtbot: QtBot, theme: str, language: str) -> None:
    window = kiosk_ui.window
    window.set_accessible_mode(theme == HIGH_CONTRAST)
    window.set_language(language)
    QCoreApplication.sendPostedEvents()
    problems = []
    for width, height in SIZES:
        kiosk_ui.resize(width, height)
        for name, screen in all_screens():
            kiosk_ui.flows.show(screen)
            QCoreApplication.sendPostedEvents()
            widget = window.screen_widget(screen.id)
            assert widget.size().toTuple() == (width, height)
            if isinstance(keypad := widget.findChild(Keypad), Keypad):
                for digit in "47110815":  # the longest code must fit the display
                    keypad.press_digit(digit)
                QCoreApplication.sendPostedEvents()
            for field in widget.findChildren(EntryField):
                field.setText("W" * field.maxLength())  # the widest letter, as many as the field takes
            problems += [f"{width}x{height} {name}: {problem}" for problem in check_screen(widget)]
            if isinstance(keypad, Keypad):
                keypad.clear()
            for field in widget.findChildren(EntryField):
                field.clear()
    assert problems == []


def test_a_long_parcel_list_scrolls_instead_of_squashing(kiosk_ui: Kiosk, qtbot: QtBot) -> None:
    kiosk_ui.resize(1280, 800)
    kiosk_ui.show(ScreenId.PARCEL_LIST, ParcelListView(LONG_LIST))
    scroll = kiosk_ui.widget("parcel_scroll")
    assert isinstance(scroll, QScrollArea)
    qtbot.waitUntil(scroll.verticalScrollBar().isVisible, timeout=2000)
    last_button = kiosk_ui.widget("open_parcel_p-7")
    assert last_button.height() >= MIN_TOUCH_PX
    scroll.ensureWidgetVisible(last_button)
    QCoreApplication.processEvents()
    where = QRect(last_button.mapTo(scroll.viewport(), last_button.rect().topLeft()), last_button.size())
    assert scroll.viewport().rect().contains(where)


def test_kiosk_mode_is_frameless_full_screen(qtbot: QtBot, kiosk_ui: Kiosk) -> None:
    from PySide6.QtCore import Qt

    from kiosk.ui.main_window import MainWindow

    window = MainWindow(kiosk_ui.bridge, translator=kiosk_ui.window.translator)
    qtbot.addWidget(window)
    assert window.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    assert not kiosk_ui.window.windowFlags() & Qt.WindowType.FramelessWindowHint
    window.deleteLater()

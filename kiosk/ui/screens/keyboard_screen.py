"""What the screens that take letters share: text and fields beside the keyboard (above it when stacked),
the status line (checking, refused, locked) and the lockout countdown."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QBoxLayout, QLabel, QVBoxLayout, QWidget

from kiosk.ui.screens.base import SCREEN_MARGIN_PX, SPACING_PX, ScreenWidget
from kiosk.ui.text_entry import (
    COLUMNS,
    KEY_SPACING_PX,
    LARGEST_KEY_PX,
    ROWS,
    EntryField,
    TextKeypad,
    keyboard_width,
)
from kiosk.ui.widgets import ACTION_BUTTON_PX, KEY_PX, IntentSink, restyle, set_label_text

V = TypeVar("V")

# Side by side the keyboard takes the full height of a 1280x800 screen, and the text beside it every pixel
# of width left: the margins give both some room.
LANDSCAPE_MARGIN_PX = 32
NARROW_MARGIN_PX = 32
BODY_SPACING_PX = 32
TICK_MS = 250


class Countdown(QObject):
    """Seconds left until a moment, re-read from `clock` on every tick; `ticked` while it runs, and once
    more when it reaches zero."""

    ticked = Signal()

    def __init__(self, parent: QObject | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.clock = clock
        self._ends_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)

    def start(self, seconds: int) -> None:
        if seconds <= 0:
            self.stop()
            return
        self._ends_at = self.clock() + seconds
        self._timer.start()

    def stop(self) -> None:
        self._ends_at = None
        self._timer.stop()

    def running(self) -> bool:
        return self._timer.isActive()

    def seconds_left(self) -> int:
        if self._ends_at is None:
            return 0
        return max(0, math.ceil(self._ends_at - self.clock()))

    def tick(self) -> None:
        if self.seconds_left() == 0:
            self.stop()
        self.ticked.emit()


class KeyboardScreen(ScreenWidget[V]):
    """Subclasses add their labels and fields to `info` (with add_field), then call finish_layout()."""

    def __init__(self, send: IntentSink, initial_view: V, parent: QWidget | None = None) -> None:
        super().__init__(send, initial_view, parent)
        self.countdown = Countdown(self)
        self.countdown.ticked.connect(self.render_view)
        self.fields: list[EntryField] = []
        self._built = False
        self._fields_row: QBoxLayout | None = None
        self.info = QVBoxLayout()
        self.info.setSpacing(16)
        self.keypad = TextKeypad()
        self._body = self.flip_box(landscape_stretch=(1, 0), portrait_stretch=(0, 1))
        self._body.setSpacing(BODY_SPACING_PX)
        self._body.addLayout(self.info)
        self._body.addWidget(self.keypad, 0, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.outer.addLayout(self._body, 1)

    def add_field(self, caption: QLabel | None, field: EntryField, stretch: int = 1) -> None:
        """A field with its caption above it. Several fields stand one under the other beside the keyboard
        and side by side above it (where the height is short on a narrow portrait screen)."""
        if self._fields_row is None:
            self._fields_row = QBoxLayout(QBoxLayout.Direction.TopToBottom)
            self._fields_row.setSpacing(16)
            self.info.addLayout(self._fields_row)
        box = QVBoxLayout()
        box.setSpacing(6)
        if caption is not None:
            box.addWidget(caption)
        box.addWidget(field)
        self._fields_row.addLayout(box, stretch)
        self.fields.append(field)
        field.activated.connect(lambda: self.activate(field))
        field.textChanged.connect(self._rerender)
        if self.keypad.target() is None:
            self.activate(field)

    def activate(self, field: EntryField) -> None:
        """The keyboard now types into `field`."""
        for other in self.fields:
            other.set_active(other is field)
        self.keypad.set_target(field)
        if not field.hasFocus() and self.isVisible():
            field.setFocus(Qt.FocusReason.OtherFocusReason)
        self._rerender()

    def finish_layout(self) -> None:
        self._built = True
        super().finish_layout()

    def _rerender(self) -> None:
        # What the keys and buttons offer follows the fields' texts and which field is active.
        if self._built:
            self.render_view()

    def active_field(self) -> EntryField | None:
        return self.keypad.target()

    def set_view(self, view: object) -> bool:
        if isinstance(view, self.view_type):
            # Started before rendering, so the first render already shows the time left.
            self.countdown.start(self.locked_seconds(view))
        return super().set_view(view)

    def locked_seconds(self, view: object) -> int:
        """The view's lockout in seconds (0: not locked); the countdown runs from it."""
        seconds = getattr(view, "locked_seconds", 0)
        return seconds if isinstance(seconds, int) else 0

    def locked(self) -> bool:
        return self.countdown.seconds_left() > 0

    def set_waiting(self, waiting: bool) -> None:
        """Nothing can be typed while a code is checked or login is locked; what is typed stays."""
        for field in self.fields:
            field.setReadOnly(waiting)
        self.keypad.set_keys_enabled(not waiting)

    def show_status(self, label: QLabel, text: str, role: str, *, hint: QLabel, hint_text: str) -> None:
        """`text` in the status `label`, styled as `role`; while there is a status the hint steps aside
        (beside the keyboard there is room for one of them). Each label is shown or hidden once per call:
        a label shown for a moment would lay the screen out around it."""
        if label.property("role") != role:
            label.setProperty("role", role)
            restyle(label)
        set_label_text(hint, "" if text else hint_text)
        set_label_text(label, text)

    def clear_fields(self) -> None:
        for field in self.fields:
            field.clear()
        if self.fields:
            self.activate(self.fields[0])

    def orientation_changed(self, landscape: bool) -> None:
        width, height = self.width(), self.height()
        if landscape:
            margin = LANDSCAPE_MARGIN_PX
            self.outer.setContentsMargins(margin, margin, margin, margin)
            room = height - 2 * margin - ACTION_BUTTON_PX - SPACING_PX - (ROWS - 1) * KEY_SPACING_PX
            key_px = room // ROWS
        else:
            side = SCREEN_MARGIN_PX if width - 2 * SCREEN_MARGIN_PX >= keyboard_width(KEY_PX) \
                else NARROW_MARGIN_PX
            self.outer.setContentsMargins(side, SCREEN_MARGIN_PX, side, SCREEN_MARGIN_PX)
            key_px = (width - 2 * side - (COLUMNS - 1) * KEY_SPACING_PX) // COLUMNS
        self.keypad.set_key_size(max(KEY_PX, min(LARGEST_KEY_PX, key_px)))
        if self._fields_row is not None:
            self._fields_row.setDirection(QBoxLayout.Direction.TopToBottom if landscape
                                          else QBoxLayout.Direction.LeftToRight)
        vertical = Qt.AlignmentFlag.AlignTop if landscape else Qt.AlignmentFlag.AlignVCenter
        self._body.setAlignment(self.keypad, Qt.AlignmentFlag.AlignHCenter | vertical)
        self._rerender()

    def showEvent(self, event: QShowEvent) -> None:
        # A physical keyboard types into the active field without a tap first.
        field = self.active_field()
        if field is not None:
            field.setFocus(Qt.FocusReason.OtherFocusReason)
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        # The next person at the screen must not find the last one's id or code. A lockout still running
        # comes back with the flows' next view of this screen.
        self.clear_fields()
        self.countdown.stop()
        super().hideEvent(event)

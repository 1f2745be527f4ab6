"""Courier login: courier id and PIN on the letter keyboard (or a badge shown to the camera or scanner)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import CourierLoginError, CourierLoginView, Intent, ScreenId
from kiosk.ui.screens.keyboard_screen import KeyboardScreen
from kiosk.ui.text_entry import DASH, DIGITS, LETTERS, EntryField
from kiosk.ui.widgets import (
    IntentSink,
    fill,
    minutes_seconds,
    set_button_text,
    set_label_text,
    text_label,
    touch_button,
)

COURIER_ID_MAX = 32
PIN_MAX = 12


class CourierLoginScreen(KeyboardScreen[CourierLoginView]):
    screen_id = ScreenId.COURIER_LOGIN
    view_type = CourierLoginView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, CourierLoginView(), parent)
        self._title = text_label("title_label", "title")
        self._hint = text_label("hint_label", "body")
        self.info.addWidget(self._title)
        self.info.addWidget(self._hint)
        self._id_caption = text_label("courier_id_caption", "caption")
        self.courier_id_field = EntryField("courier_id_field", LETTERS + DIGITS + DASH, COURIER_ID_MAX)
        self.add_field(self._id_caption, self.courier_id_field, stretch=3)
        self._pin_caption = text_label("pin_caption", "caption")
        self.pin_field = EntryField("pin_field", DIGITS, PIN_MAX, masked=True)
        self.add_field(self._pin_caption, self.pin_field, stretch=2)
        self._status = text_label("status_label", "error")
        self.info.addWidget(self._status)
        self.info.addStretch(1)

        for field in self.fields:
            field.submitted.connect(self._ok)
        self.keypad.submitted.connect(self._ok)

        self.cancel_button = touch_button("cancel_button", role="quiet")
        self.cancel_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.login_button = touch_button("login_button", role="primary")
        self.login_button.clicked.connect(self._log_in)
        self.footer.addWidget(self.cancel_button, 1)
        self.footer.addWidget(self.login_button, 2)
        self.finish_layout()

    def _complete(self) -> bool:
        return bool(self.courier_id_field.text()) and bool(self.pin_field.text())

    def _ok(self) -> None:
        """OK (or Enter) on the id moves on to the PIN; on the PIN it logs in."""
        if self.active_field() is self.courier_id_field and not self.pin_field.text():
            if self.courier_id_field.text():
                self.activate(self.pin_field)
            return
        if not self.courier_id_field.text():
            self.activate(self.courier_id_field)
            return
        self._log_in()

    def _log_in(self) -> None:
        if not self._complete() or self._view.checking or self.locked():
            return
        courier_id, pin = self.courier_id_field.text(), self.pin_field.text()
        # The PIN is gone from the screen the moment it is sent; a wrong one is typed afresh.
        self.pin_field.clear()
        self.activate(self.pin_field)
        self._send(Intent.COURIER_LOGIN, courier_id=courier_id, pin=pin)

    def render_view(self) -> None:
        view = self._view
        locked = self.locked()
        set_label_text(self._title, self.tr("Courier login"))
        if view.can_scan:
            hint = self.tr("Hold your badge up to the camera, or enter your courier ID and PIN.")
        else:
            hint = self.tr("Enter your courier ID and PIN.")
        set_label_text(self._id_caption, self.tr("Courier ID"))
        set_label_text(self._pin_caption, self.tr("PIN"))
        self.courier_id_field.setAccessibleName(self.tr("Courier ID"))
        self.pin_field.setAccessibleName(self.tr("PIN"))
        self.set_waiting(view.checking or locked)
        if locked:
            status, role = fill(self.tr("Too many wrong attempts. Please wait %1."),
                                minutes_seconds(self.countdown.seconds_left())), "error"
        elif view.checking:
            status, role = self.tr("Checking…"), "notice"
        else:
            status, role = self._error_text(), "error"
        self.show_status(self._status, status, role, hint=self._hint, hint_text=hint)
        on_id = self.active_field() is self.courier_id_field
        if on_id and not self.pin_field.text():
            self.keypad.set_ok_text(self.tr("Next"), self.tr("Next: the PIN"))
            self.keypad.set_ok_enabled(bool(self.courier_id_field.text()))
        else:
            self.keypad.set_ok_text(self.tr("OK"), self.tr("OK, log in"))
            self.keypad.set_ok_enabled(self._complete())
        set_button_text(self.cancel_button, self.tr("Cancel"))
        set_button_text(self.login_button, self.tr("Log in"))
        self.login_button.setEnabled(self._complete() and not view.checking and not locked)

    def _error_text(self) -> str:
        view = self._view
        if view.error is CourierLoginError.WRONG_CREDENTIALS:
            attempts_left = view.failures_allowed - view.failures_in_a_row
            if 0 < attempts_left < view.failures_allowed:
                return self.tr("Courier ID, PIN or badge not recognised. %n attempts left before a pause.",
                               "", attempts_left)
            return self.tr("Courier ID, PIN or badge not recognised.")
        if view.error is CourierLoginError.MALFORMED:
            return self.tr("Please enter both your courier ID and your PIN.")
        if view.error is CourierLoginError.EXPIRED:
            return self.tr("Your courier access has expired. Please contact your dispatcher.")
        if view.error is CourierLoginError.UNSUPPORTED:
            return self.tr("This locker cannot check your PIN. Please log in with your badge.")
        return ""

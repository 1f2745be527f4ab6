"""Return code: the customer types the code of their return (letters and digits) or shows its QR code."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import Intent, ReturnCodeError, ReturnCodeView, ScreenId
from kiosk.ui.screens.keyboard_screen import KeyboardScreen
from kiosk.ui.text_entry import DIGITS, LETTERS, EntryField
from kiosk.ui.widgets import (
    IntentSink,
    fill,
    minutes_seconds,
    set_button_text,
    set_label_text,
    text_label,
    touch_button,
)

RETURN_CODE_MAX = 16


class ReturnCodeScreen(KeyboardScreen[ReturnCodeView]):
    screen_id = ScreenId.RETURN_CODE
    view_type = ReturnCodeView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, ReturnCodeView(), parent)
        self._title = text_label("title_label", "title")
        self._hint = text_label("hint_label", "body")
        self.info.addWidget(self._title)
        self.info.addWidget(self._hint)
        # The title names the field: no caption above it, so the status fits beside the keyboard.
        self.return_code_field = EntryField("return_code_field", LETTERS + DIGITS, RETURN_CODE_MAX)
        self.return_code_field.submitted.connect(self._submit)
        self.add_field(None, self.return_code_field)
        self._status = text_label("status_label", "error")
        self.info.addWidget(self._status)
        self.info.addStretch(1)
        self.keypad.submitted.connect(self._submit)

        self.cancel_button = touch_button("cancel_button", role="quiet")
        self.cancel_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.submit_button = touch_button("submit_button", role="primary")
        self.submit_button.clicked.connect(self._submit)
        self.footer.addWidget(self.cancel_button, 1)
        self.footer.addWidget(self.submit_button, 2)
        self.finish_layout()

    def _can_submit(self) -> bool:
        return bool(self.return_code_field.text()) and not self._view.checking and not self.locked()

    def _submit(self) -> None:
        if not self._can_submit():
            return
        code = self.return_code_field.text()
        # A refused code is usually one character off: it stays on screen to be corrected.
        self._send(Intent.SUBMIT_RETURN_CODE, code=code)

    def render_view(self) -> None:
        view = self._view
        locked = self.locked()
        set_label_text(self._title, self.tr("Enter your return code"))
        if view.can_scan:
            hint = self.tr("8 to 16 letters and digits, from your return confirmation. Or hold its QR code "
                           "up to the camera.")
        else:
            hint = self.tr("8 to 16 letters and digits, from your return confirmation.")
        self.return_code_field.setAccessibleName(self.tr("Return code"))
        self.set_waiting(view.checking or locked)
        if locked:
            status, role = fill(self.tr("Too many wrong codes. Please wait %1."),
                                minutes_seconds(self.countdown.seconds_left())), "error"
        elif view.checking:
            status, role = self.tr("Checking your code…"), "notice"
        else:
            status, role = self._error_text(), "error"
        self.show_status(self._status, status, role, hint=self._hint, hint_text=hint)
        self.keypad.set_ok_text(self.tr("OK"), self.tr("OK, check my return code"))
        self.keypad.set_ok_enabled(self._can_submit())
        set_button_text(self.cancel_button, self.tr("Cancel"))
        set_button_text(self.submit_button, self.tr("Continue"), self.tr("Continue: check my return code"))
        self.submit_button.setEnabled(self._can_submit())

    def _error_text(self) -> str:
        view = self._view
        if view.error is ReturnCodeError.MALFORMED:
            return self.tr("A return code has 8 to 16 letters and digits. Please check it and try again.")
        if view.error is ReturnCodeError.NOT_VERIFIED:
            return self.tr("This return code is new here and cannot be checked just now. Please try again in "
                           "a few minutes.")
        if view.error is ReturnCodeError.WRONG_CODE:
            attempts_left = view.failures_allowed - view.failures_in_a_row
            if 0 < attempts_left < view.failures_allowed:
                return self.tr("That return code was not recognised, or it was used already. "
                               "%n attempts left before a pause.", "", attempts_left)
            return self.tr("That return code was not recognised, or it was used already.")
        return ""

"""Pickup code: the keypad, the reason a code was refused, and a way back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.core.flows.views import CodeError, Intent, PickupCodeView, ScreenId
from kiosk.ui.keypad import Keypad
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import KEY_PX, IntentSink, set_button_text, set_label_text, text_label, touch_button

PORTRAIT_KEY_PX = 132
TALL_PORTRAIT_PX = 1600  # a screen at least this high has room for the bigger keys


class PickupCodeScreen(ScreenWidget[PickupCodeView]):
    screen_id = ScreenId.PICKUP_CODE
    view_type = PickupCodeView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, PickupCodeView(), parent)
        self._title = text_label("title_label", "title")
        self._hint = text_label("hint_label", "body")
        self._error = text_label("error_label", "error")
        info = QVBoxLayout()
        info.setSpacing(20)
        info.addWidget(self._title)
        info.addWidget(self._hint)
        info.addWidget(self._error)
        # Beside the words, not in the footer: an offer to those who enrolled, next to what they read first.
        self.face_button = touch_button("face_button", role="secondary")
        self.face_button.clicked.connect(lambda: self._send(Intent.FACE_INSTEAD))
        info.addWidget(self.face_button)
        info.addItem(self.landscape_spacer())

        self.keypad = Keypad()
        self.keypad.submitted.connect(self._submit)
        self._body = body = self.flip_box(landscape_stretch=(1, 1), portrait_stretch=(0, 1))
        body.addLayout(info)
        body.addWidget(self.keypad, 0, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.outer.addLayout(body, 1)

        self.cancel_button = touch_button("cancel_button", role="quiet")
        self.cancel_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.scan_button = touch_button("scan_button", role="secondary")
        self.scan_button.clicked.connect(lambda: self._send(Intent.SCAN_INSTEAD))
        self.footer.addWidget(self.cancel_button, 1)
        self.footer.addStretch(2)  # gives way to the scan button when there is one (render_view)
        self.footer.addWidget(self.scan_button, 2)
        self.finish_layout()

    def orientation_changed(self, landscape: bool) -> None:
        # Stacked on a tall display, the keypad has the height to spare for bigger keys, centred under the
        # text; a shorter portrait display (800x1280) keeps the landscape keys so the text above still fits.
        tall = not landscape and self.height() >= TALL_PORTRAIT_PX
        self.keypad.set_key_size(PORTRAIT_KEY_PX if tall else KEY_PX)
        vertical = Qt.AlignmentFlag.AlignTop if landscape else Qt.AlignmentFlag.AlignVCenter
        self._body.setAlignment(self.keypad, Qt.AlignmentFlag.AlignHCenter | vertical)

    def _submit(self, code: str) -> None:
        self._send(Intent.SUBMIT_CODE, code=code)

    def showEvent(self, event: QShowEvent) -> None:
        # Physical keyboards and keyboard-wedge scanners type into the keypad without a tap first.
        self.keypad.setFocus(Qt.FocusReason.OtherFocusReason)
        super().showEvent(event)

    def render_view(self) -> None:
        set_label_text(self._title, self.tr("Enter your pickup code"))
        set_label_text(self._hint, self.tr("You find it in the message we sent you. It has 6 to 8 digits."))
        set_label_text(self._error, self._error_text())
        set_button_text(self.cancel_button, self.tr("Cancel"))
        set_button_text(self.scan_button, self.tr("Scan a QR code instead"))
        self.scan_button.setVisible(self._view.can_scan)
        self.footer.setStretch(1, 0 if self._view.can_scan else 2)
        set_button_text(self.face_button, self.tr("Use my face"))
        self.face_button.setVisible(self._view.can_use_face)

    def _error_text(self) -> str:
        view = self._view
        if view.error is CodeError.FOREIGN:
            return self.tr("This code is not a pickup code for this locker.")
        if view.error is CodeError.MALFORMED:
            return self.tr("A pickup code has 6 to 8 digits. Please check it and try again.")
        if view.error is CodeError.FACE_NOT_RECOGNISED:
            return self.tr("We could not recognise your face. Please type your code.")
        if view.error is CodeError.NOT_VERIFIED:
            return self.tr("That code was not recognised here, and the parcel service cannot be "
                           "reached to check it. Please check the code, or try again in a few minutes.")
        if view.error is CodeError.WRONG_CODE:
            attempts_left = view.failures_allowed - view.failures_in_a_row
            if attempts_left > 0:
                return self.tr("That code was not recognised. %n attempts left before a pause.", "",
                               attempts_left)
            return self.tr("That code was not recognised.")
        return ""

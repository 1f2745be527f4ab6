"""Pickup by QR code: the live camera picture with a guide frame, why a code was refused, the keypad a tap
away."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import CodeError, PickupScanView, ScreenId
from kiosk.ui.camera_preview import CameraPreview
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import IntentSink, set_button_text, set_label_text, text_label


class PickupScanScreen(ScreenWidget[PickupScanView]):
    screen_id = ScreenId.PICKUP_SCAN
    view_type = PickupScanView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, PickupScanView(), parent)
        self._title = text_label("title_label", "title")
        self._hint = text_label("hint_label", "body")
        self._error = text_label("error_label", "error")
        self.preview = CameraPreview()
        self.beside_picture([self._title, self._hint, self._error], self.preview)
        self.cancel_button = self.footer_cancel_button()
        self.keypad_button = self.footer_keypad_button()
        self.finish_layout()

    def orientation_changed(self, landscape: bool) -> None:
        # As the keypad on pickup_code: beside the text, level with the title; under it, centred in the room.
        self.preview.set_top_aligned(landscape)

    def render_view(self) -> None:
        if self._view.camera_connected:
            set_label_text(self._title, self.tr("Show your QR code to the camera"))
            set_label_text(self._hint, self.tr("Hold the QR code from your message inside the frame, "
                                               "about 20 cm from the screen."))
        else:
            # The placeholder in the picture's place says what to do instead.
            set_label_text(self._title, self.tr("The camera is not working right now"))
            set_label_text(self._hint, "")
        set_label_text(self._error, self._error_text())
        set_button_text(self.keypad_button, self.tr("Type the code instead"))
        set_button_text(self.cancel_button, self.tr("Cancel"))
        self.preview.set_camera_connected(self._view.camera_connected)

    def _error_text(self) -> str:
        view = self._view
        if view.error is CodeError.FOREIGN:
            return self.tr("This QR code is not a pickup code for this locker.")
        if view.error is CodeError.MALFORMED:
            return self.tr("This QR code is not a pickup code. Please show the QR code from your message.")
        if view.error is CodeError.NOT_VERIFIED:
            return self.tr("That QR code was not recognised here, and the parcel service cannot be "
                           "reached to check it. Please check the code, or try again in a few minutes.")
        if view.error is CodeError.WRONG_CODE:
            attempts_left = view.failures_allowed - view.failures_in_a_row
            if attempts_left > 0:
                return self.tr("That QR code was not recognised. %n attempts left before a pause.", "",
                               attempts_left)
            return self.tr("That QR code was not recognised.")
        return ""

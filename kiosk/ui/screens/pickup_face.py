"""Pickup by face: the live camera picture, one big line saying what to do next (look, come closer, blink,
turn the head), and the keypad always one tap away."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import PickupFaceView, ScreenId
from kiosk.core.model import FaceGuidance
from kiosk.ui.camera_preview import FacePreview
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import (
    IntentSink,
    fill,
    set_button_text,
    set_label_text,
    text_label,
)


def face_guidance_text(guidance: FaceGuidance) -> str:
    """What the person in front of the camera should do now, in the current language."""
    translate = QCoreApplication.translate
    texts = {
        FaceGuidance.NO_FACE: translate("FaceGuidance", "Look at the camera"),
        FaceGuidance.COME_CLOSER: translate("FaceGuidance", "Come a little closer"),
        FaceGuidance.ONE_FACE: translate("FaceGuidance", "One person at a time, please"),
        FaceGuidance.HOLD_STILL: translate("FaceGuidance", "Hold still"),
        FaceGuidance.BLINK: translate("FaceGuidance", "Now blink"),
        FaceGuidance.TURN_HEAD: translate("FaceGuidance", "Now turn your head a little"),
        FaceGuidance.CHECKING: translate("FaceGuidance", "Checking…"),
        FaceGuidance.NOT_RECOGNISED: translate("FaceGuidance",
                                               "We do not recognise you. Type your code instead."),
    }
    return texts.get(guidance, texts[FaceGuidance.NO_FACE])


class PickupFaceScreen(ScreenWidget[PickupFaceView]):
    screen_id = ScreenId.PICKUP_FACE
    view_type = PickupFaceView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, PickupFaceView(), parent)
        self._title = text_label("title_label", "subtitle")
        self._guidance = text_label("guidance_label", "title")
        self._error = text_label("error_label", "error")  # "not recognised" in the guidance's place
        self._hint = text_label("hint_label", "body")
        self.preview = FacePreview(offer_keypad=True)
        self.beside_picture([self._title, self._guidance, self._error, self._hint], self.preview)
        # The way out for anyone the camera cannot help: always there, and the screen's main button.
        self.cancel_button = self.footer_cancel_button()
        self.keypad_button = self.footer_keypad_button()
        self.finish_layout()

    def orientation_changed(self, landscape: bool) -> None:
        self.preview.set_top_aligned(landscape)

    def render_view(self) -> None:
        view = self._view
        set_label_text(self._title, self.tr("Pick up with your face"))
        guidance, error, hint = "", "", ""
        if not view.camera_connected:
            # The placeholder in the picture's place points at the keypad.
            guidance = self.tr("The camera is not working right now")
        elif view.guidance is FaceGuidance.NOT_RECOGNISED:
            error = face_guidance_text(view.guidance)
        else:
            guidance = face_guidance_text(view.guidance)
            hint = self.tr("Keep your face inside the oval. We check that you blink and move a little, "
                           "so a photo cannot open a door.")
            if view.can_scan:
                hint = fill(self.tr("%1 You can also show the QR code from your message."), hint)
        set_label_text(self._guidance, guidance)
        set_label_text(self._error, error)
        set_label_text(self._hint, hint)
        set_button_text(self.keypad_button, self.tr("Type my code instead"))
        set_button_text(self.cancel_button, self.tr("Cancel"))
        self.preview.set_camera_connected(view.camera_connected)

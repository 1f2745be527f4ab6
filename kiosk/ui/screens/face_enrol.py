"""Face enrolment: the live camera picture, what to do next, and how far along it is. Honest words: the
pictures are looked at, never kept; only numbers computed from them are."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import FaceEnrolView, ScreenId
from kiosk.core.model import FaceGuidance
from kiosk.ui.camera_preview import FacePreview
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.screens.pickup_face import face_guidance_text
from kiosk.ui.widgets import IntentSink, fill, set_button_text, set_label_text, text_label


class FaceEnrolScreen(ScreenWidget[FaceEnrolView]):
    screen_id = ScreenId.FACE_ENROL
    view_type = FaceEnrolView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, FaceEnrolView(frames_taken=0, frames_needed=5), parent)
        self._title = text_label("title_label", "subtitle")
        self._guidance = text_label("guidance_label", "title")
        self._progress = text_label("progress_label", "card_title")
        self._hint = text_label("hint_label", "body")
        self.preview = FacePreview(offer_keypad=False)
        self.beside_picture([self._title, self._guidance, self._progress, self._hint], self.preview)
        self.cancel_button = self.footer_cancel_button()
        self.footer.addStretch(2)
        self.finish_layout()

    def orientation_changed(self, landscape: bool) -> None:
        self.preview.set_top_aligned(landscape)

    def render_view(self) -> None:
        view = self._view
        set_label_text(self._title, self.tr("Setting up your face"))
        if view.camera_connected:
            set_label_text(self._guidance, self._guidance_text(view.guidance))
            needed = max(view.frames_needed, 1)
            taken = min(max(view.frames_taken, 0), needed)
            # "done", not "saved": each picture is turned into numbers and dropped at once.
            set_label_text(self._progress, fill(self.tr("%1 of %2 done"), str(taken), str(needed)))
            set_label_text(self._hint, self.tr("The pictures are not kept: only numbers computed from "
                                               "them are stored, encrypted, in this locker."))
        else:
            set_label_text(self._guidance, self.tr("The camera is not working right now"))
            set_label_text(self._progress, "")
            set_label_text(self._hint, self.tr("Your face cannot be set up just now. Your code keeps "
                                               "working."))
        set_button_text(self.cancel_button, self.tr("Cancel"))
        self.preview.set_camera_connected(view.camera_connected)

    def _guidance_text(self, guidance: FaceGuidance) -> str:
        if guidance is FaceGuidance.CHECKING:
            return self.tr("Good. Keep looking at the camera.")
        if guidance is FaceGuidance.NOT_RECOGNISED:
            # Nobody is recognised while enrolling; should the engine say so, the useful advice is the same.
            return face_guidance_text(FaceGuidance.NO_FACE)
        return face_guidance_text(guidance)

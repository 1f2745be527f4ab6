"""Thank you: how many parcels were picked up, a last chance to report a problem, and face pickup: the offer
to set it up next time, what became of an enrolment, and "forget my face"."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from kiosk.core.flows.views import FaceNotice, Intent, ScreenId, ThankYouView
from kiosk.core.model import FaceEnrolFailure
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, restyle, set_button_text, set_label_text, text_label, touch_button


class ThankYouScreen(MessageScreen[ThankYouView]):
    screen_id = ScreenId.THANK_YOU
    view_type = ThankYouView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, ThankYouView(parcels_picked_up=0), Symbol.CHECK, parent)
        self.face_notice_label = text_label("face_notice_label", "ok", centered=True)
        self.action_column.addWidget(self.face_notice_label)
        self.offer_face_button = touch_button("offer_face_button", role="secondary")
        self.offer_face_button.clicked.connect(lambda: self._send(Intent.OFFER_FACE))
        self.forget_face_button = touch_button("forget_face_button", role="quiet")
        self.forget_face_button.clicked.connect(lambda: self._send(Intent.FORGET_FACE))
        # Centred under the message, as wide as their words need: offers, not the way on (that is Done).
        face_row = QHBoxLayout()
        face_row.setSpacing(20)
        face_row.addStretch(1)
        for button in (self.offer_face_button, self.forget_face_button):
            button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
            face_row.addWidget(button)
        face_row.addStretch(1)
        self.action_column.addLayout(face_row)

        self.report_button = touch_button("report_button", role="quiet")
        self.report_button.clicked.connect(lambda: self._send(Intent.REPORT_PROBLEM))
        self.done_button = touch_button("done_button", role="primary")
        self.done_button.clicked.connect(lambda: self._send(Intent.DONE))
        self.footer.addWidget(self.report_button, 1)
        self.footer.addWidget(self.done_button, 1)
        self.finish_layout()

    def render_view(self) -> None:
        view = self._view
        if view.problem_reported is None:
            title, role = self.tr("Thank you"), "hero"
        else:
            title, role = self.tr("Thank you, we have passed your report on."), "title"
        set_label_text(self.title_label, title)
        _set_role(self.title_label, role)
        if view.parcels_picked_up > 0:
            picked_up = self.tr("You picked up %n parcels.", "", view.parcels_picked_up)
        else:
            picked_up = ""
        set_label_text(self.message_label, picked_up)
        notice = self._face_notice_text()
        # The face notice says what matters now; a parting wish beside it would only push the buttons down.
        set_label_text(self.next_step_label, "" if notice else self.tr("Have a good day!"))
        set_label_text(self.face_notice_label, notice)
        # A reported problem's title is a sentence; with a face notice too, a landscape display has no room
        # left for the symbol (the notice's coloured box says how it went at a glance).
        crowded = self.is_landscape() and bool(notice) and view.problem_reported is not None
        self.icon.setVisible(not crowded)
        not_saved = view.face_notice is FaceNotice.NOT_SAVED
        _set_role(self.face_notice_label, "warning" if not_saved else "ok")
        set_button_text(self.offer_face_button, self.tr("Pick up with your face next time"))
        self.offer_face_button.setVisible(view.can_offer_face)
        set_button_text(self.forget_face_button, self.tr("Forget my face"))
        self.forget_face_button.setVisible(view.can_forget_face)
        set_button_text(self.report_button, self.tr("Report a problem"))
        self.report_button.setVisible(view.problem_reported is None)
        set_button_text(self.done_button, self.tr("Done"))

    def orientation_changed(self, landscape: bool) -> None:
        self.render_view()  # whether the symbol fits depends on the orientation

    def _face_notice_text(self) -> str:
        view = self._view
        if view.face_notice is FaceNotice.SAVED:
            return self.tr("Your face is set up. Next time, just look at the camera.")
        if view.face_notice is FaceNotice.FORGOTTEN:
            return self.tr("Your face data has been deleted.")
        if view.face_notice is not FaceNotice.NOT_SAVED:
            return ""
        if view.enrol_failure is FaceEnrolFailure.TIMED_OUT:
            return self.tr("Your face was not set up: the camera did not see it clearly enough in time. "
                           "Nothing was kept.")
        if view.enrol_failure is FaceEnrolFailure.INCONSISTENT:
            return self.tr("Your face was not set up: the camera did not see the same person the whole "
                           "time. Nothing was kept.")
        if view.enrol_failure is FaceEnrolFailure.UNAVAILABLE:
            return self.tr("Your face could not be set up: face recognition is not available just now. "
                           "Nothing was kept.")
        return self.tr("Your face was not set up. Nothing was kept.")



def _set_role(label: QLabel, role: str) -> None:
    """Switch a label's QSS role, restyling only on a change (a repolish costs time)."""
    if label.property("role") != role:
        label.setProperty("role", role)
        restyle(label)

"""Thank you: how many parcels were picked up, and a last chance to report a problem."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import Intent, ScreenId, ThankYouView
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, restyle, set_button_text, set_label_text, touch_button


class ThankYouScreen(MessageScreen[ThankYouView]):
    screen_id = ScreenId.THANK_YOU
    view_type = ThankYouView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, ThankYouView(parcels_picked_up=0), Symbol.CHECK, parent)
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
        if self.title_label.property("role") != role:
            # A whole sentence in the hero size would fill the screen.
            self.title_label.setProperty("role", role)
            restyle(self.title_label)
        if view.parcels_picked_up > 0:
            picked_up = self.tr("You picked up %n parcels.", "", view.parcels_picked_up)
        else:
            picked_up = ""
        set_label_text(self.message_label, picked_up)
        set_label_text(self.next_step_label, self.tr("Have a good day!"))
        set_button_text(self.report_button, self.tr("Report a problem"))
        self.report_button.setVisible(view.problem_reported is None)
        set_button_text(self.done_button, self.tr("Done"))

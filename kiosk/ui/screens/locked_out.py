"""Locked out after too many wrong codes: how long to wait."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import Intent, LockedOutView, ScreenId
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, fill, minutes_seconds, set_button_text, set_label_text, touch_button


class LockedOutScreen(MessageScreen[LockedOutView]):
    screen_id = ScreenId.LOCKED_OUT
    view_type = LockedOutView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, LockedOutView(seconds_left=0), Symbol.CLOCK, parent)
        self.message_label.setProperty("role", "countdown")
        self.cancel_button = touch_button("cancel_button", role="quiet")
        self.cancel_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.footer.addWidget(self.cancel_button, 1)
        self.footer.addStretch(2)
        self.finish_layout()

    def render_view(self) -> None:
        set_label_text(self.title_label, self.tr("Too many wrong codes."))
        set_label_text(self.message_label,
                       fill(self.tr("Please wait %1"), minutes_seconds(self._view.seconds_left)))
        set_label_text(self.next_step_label, self.tr("Then you can enter your code again."))
        set_button_text(self.cancel_button, self.tr("Back to start"))

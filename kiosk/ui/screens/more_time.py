"""Need more time? Asked before any screen gives up on its user."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import Intent, MoreTimeView, ScreenId
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, set_button_text, set_label_text, touch_button

MORE_TIME_BUTTON_PX = 140


class MoreTimeScreen(MessageScreen[MoreTimeView]):
    screen_id = ScreenId.MORE_TIME
    view_type = MoreTimeView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, MoreTimeView(seconds_left=0, returns_to=ScreenId.HOME), Symbol.CLOCK, parent)
        self.more_time_button = touch_button(
            "more_time_button", role="primary", min_height=MORE_TIME_BUTTON_PX
        )
        self.more_time_button.setProperty("size", "huge")
        self.more_time_button.clicked.connect(lambda: self._send(Intent.MORE_TIME))
        self.action_column.addWidget(self.more_time_button)
        self.home_button = touch_button("home_button", role="quiet")
        self.home_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.footer.addWidget(self.home_button, 1)
        self.footer.addStretch(2)
        self.finish_layout()

    def render_view(self) -> None:
        set_label_text(self.title_label, self.tr("Need more time?"))
        set_label_text(self.message_label,
                       self.tr("Otherwise this screen goes back to the start in %n seconds.", "",
                               max(0, self._view.seconds_left)))
        set_label_text(self.next_step_label, "")
        set_button_text(self.more_time_button, self.tr("Yes, more time please"))
        set_button_text(self.home_button, self.tr("No, back to start"))

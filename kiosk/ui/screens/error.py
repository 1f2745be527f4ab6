"""Errors: what went wrong in plain words, that the parcel is safe, and what to do next."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import ErrorReason, ErrorView, Intent, ScreenId
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, fill, set_button_text, set_label_text, touch_button


class ErrorScreen(MessageScreen[ErrorView]):
    screen_id = ScreenId.ERROR
    view_type = ErrorView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, ErrorView(reason=ErrorReason.BUS_DOWN), Symbol.WARNING, parent)
        self.home_button = touch_button("home_button", role="primary")
        self.home_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.footer.addStretch(1)
        self.footer.addWidget(self.home_button, 2)
        self.footer.addStretch(1)
        self.finish_layout()

    def render_view(self) -> None:
        view = self._view
        if view.reason is ErrorReason.DOOR_FAULT:
            if view.compartment_id:
                title = fill(self.tr("Door %1 could not be opened."), view.compartment_id)
            else:
                title = self.tr("The door could not be opened.")
            message = self.tr("Your parcel is safe and the operator has been told.")
        else:
            title = self.tr("The locker is not responding.")
            message = self.tr("Your parcels are safe inside. Please try again in a few minutes.")
        if view.code_still_valid:
            next_step = self.tr("Your code still works: try again later or call support.")
        else:
            next_step = self.tr("Please call support.")
        set_label_text(self.title_label, title)
        set_label_text(self.message_label, message)
        set_label_text(self.next_step_label, next_step)
        set_button_text(self.home_button, self.tr("Back to start"))

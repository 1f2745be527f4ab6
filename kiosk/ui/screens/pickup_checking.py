"""A code this locker does not know is being checked with the platform: a few seconds, then the door or
the keypad again."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import Intent, PickupCheckingView, ScreenId
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, set_button_text, set_label_text, touch_button


class PickupCheckingScreen(MessageScreen[PickupCheckingView]):
    screen_id = ScreenId.PICKUP_CHECKING
    view_type = PickupCheckingView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, PickupCheckingView(), Symbol.CLOCK, parent)
        self.cancel_button = touch_button("cancel_button", role="quiet")
        self.cancel_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.footer.addWidget(self.cancel_button, 1)
        self.footer.addStretch(2)
        self.finish_layout()

    def render_view(self) -> None:
        set_label_text(self.title_label, self.tr("Checking your code…"))
        set_label_text(self.message_label,
                       self.tr("This QR code is new to this locker. We are asking the parcel service.")
                       if self._view.scanned
                       else self.tr("This code is new to this locker. We are asking the parcel service."))
        set_label_text(self.next_step_label, self.tr("This takes a few seconds."))
        set_button_text(self.cancel_button, self.tr("Cancel"))

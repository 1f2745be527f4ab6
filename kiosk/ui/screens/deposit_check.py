"""A door closed but its sensor disagrees: ask the person at it whether the parcel went in (or came out)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import DepositCheckView, Intent, ScreenId
from kiosk.ui.parcel_text import short_id
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, fill, set_button_text, set_label_text, touch_button


class DepositCheckScreen(MessageScreen[DepositCheckView]):
    screen_id = ScreenId.DEPOSIT_CHECK
    view_type = DepositCheckView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        initial = DepositCheckView(compartment_id="", parcel_id="", still_inside=False, courier=True)
        super().__init__(send, initial, Symbol.WARNING, parent)
        # A question, not a headline: a sentence this long reads better a size smaller than the hero.
        self.title_label.setProperty("role", "title")
        self.reopen_button = touch_button("reopen_button", role="primary")
        self.reopen_button.clicked.connect(lambda: self._send(Intent.REOPEN))
        self.skip_button = touch_button("skip_button", role="secondary")
        self.skip_button.clicked.connect(lambda: self._send(Intent.SKIP))
        self.action_column.addWidget(self.reopen_button)
        self.action_column.addWidget(self.skip_button)
        self.finish_layout()

    def render_view(self) -> None:
        view = self._view
        door = view.compartment_id
        parcel = short_id(view.parcel_id)
        if view.still_inside:
            title = fill(self.tr("The parcel still seems to be in door %1."), door)
            if view.courier and parcel:
                message = fill(self.tr("Open the door again to take parcel %1 out, or leave it in."), parcel)
            else:
                message = self.tr("Open the door again to take the parcel out, or leave it in.")
            skip = self.tr("Leave it")
            skip_accessible = fill(self.tr("Leave the parcel in door %1"), door)
        elif view.courier:
            title = fill(self.tr("Door %1 is closed, but the compartment looks empty."), door)
            message = (fill(self.tr("Did you put parcel %1 in?"), parcel) if parcel
                       else self.tr("Did you put the parcel in?"))
            skip = self.tr("I kept the parcel")
            skip_accessible = skip
        else:
            title = fill(self.tr("Door %1 is closed, but we cannot see a parcel inside."), door)
            message = self.tr("Did you put your parcel in?")
            skip = self.tr("I still have my parcel")
            skip_accessible = skip
        set_label_text(self.title_label, title)
        set_label_text(self.message_label, message)
        set_label_text(self.next_step_label, self.tr("If it is in there, open the door again, push it to the "
                                                     "back and close the door.")
                       if not view.still_inside else "")
        set_button_text(self.reopen_button, fill(self.tr("Open door %1 again"), door))
        set_button_text(self.skip_button, skip, skip_accessible)

"""Courier summary at logout: delivered, not accepted, collected and door faults of the session."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QWidget

from kiosk.core.flows.views import CourierSummaryView, Intent, ScreenId
from kiosk.ui.screens.courier_scan import CountCard
from kiosk.ui.screens.message import MessageScreen
from kiosk.ui.status_icon import Symbol
from kiosk.ui.widgets import IntentSink, fill, set_button_text, set_label_text, text_label, touch_button


class CourierSummaryScreen(MessageScreen[CourierSummaryView]):
    screen_id = ScreenId.COURIER_SUMMARY
    view_type = CourierSummaryView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        initial = CourierSummaryView(courier_name="", delivered=0, refused=0, collected=0, faults=0)
        super().__init__(send, initial, Symbol.CHECK, parent)
        # A name can be long, and the counts need the room more than the greeting does.
        self.title_label.setProperty("role", "title")
        self.delivered_card = CountCard("delivered_count")
        self.refused_card = CountCard("refused_count")
        self.collected_card = CountCard("collected_count")
        self.faults_card = CountCard("faults_count")
        self._cards = (self.delivered_card, self.refused_card, self.collected_card, self.faults_card)
        self._grid = QGridLayout()
        self._grid.setSpacing(24)
        self.action_column.addLayout(self._grid)
        self._faults_note = text_label("faults_label", "body", centered=True)
        self.action_column.addWidget(self._faults_note)
        self.orientation_changed(True)

        self.done_button = touch_button("done_button", role="primary")
        self.done_button.clicked.connect(lambda: self._send(Intent.DONE))
        self.footer.addStretch(1)
        self.footer.addWidget(self.done_button, 2)
        self.footer.addStretch(1)
        self.finish_layout()

    def orientation_changed(self, landscape: bool) -> None:
        # Four in a row side by side; two by two when stacked, where the width is short.
        for index, card in enumerate(self._cards):
            self._grid.removeWidget(card)
            row, column = (0, index) if landscape else divmod(index, 2)
            self._grid.addWidget(card, row, column)

    def render_view(self) -> None:
        view = self._view
        name = " ".join(view.courier_name.split())
        set_label_text(self.title_label, fill(self.tr("Goodbye, %1"), name) if name else self.tr("Goodbye"))
        set_label_text(self.message_label, self.tr("You are logged out. This session:"))
        set_label_text(self.next_step_label, "")
        faults = self.tr("%n doors did not open; they were reported and taken out of use.", "", view.faults)
        set_label_text(self._faults_note, faults if view.faults else "")
        self.delivered_card.set_count(view.delivered, self.tr("Delivered"))
        self.refused_card.set_count(view.refused, self.tr("Not accepted"))
        self.collected_card.set_count(view.collected, self.tr("Collected"))
        self.faults_card.set_count(view.faults, self.tr("Door faults"))
        set_button_text(self.done_button, self.tr("Done"))

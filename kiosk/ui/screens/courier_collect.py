"""Courier collection: expired parcels and returns to take out, one door at a time or all at once."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from kiosk.core.flows.views import CollectItem, CollectReason, CourierCollectView, Intent, ScreenId
from kiosk.ui.parcel_text import short_id, size_name
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import (
    ACTION_BUTTON_PX,
    IntentSink,
    fill,
    restyle,
    set_button_text,
    set_label_text,
    text_label,
    touch_button,
)


class CollectRow(QFrame):
    """One parcel to collect: door, size, why it goes back, and its open button (`open_<parcel_id>`)."""

    def __init__(self, item: CollectItem, send: IntentSink) -> None:
        super().__init__()
        self.item = item
        self.setObjectName(f"collect_{item.parcel_id}")
        self.setProperty("role", "card")
        self._door = text_label(f"door_label_{item.parcel_id}", "card_title")
        self._details = text_label(f"details_label_{item.parcel_id}", "caption")
        self._state = text_label(f"state_label_{item.parcel_id}", "status_ok")
        self.open_button = touch_button(f"open_{item.parcel_id}", role="primary")
        self.open_button.clicked.connect(lambda: send(Intent.OPEN_PARCEL, parcel_id=item.parcel_id))
        text = QVBoxLayout()
        text.setSpacing(4)
        text.addWidget(self._door)
        text.addWidget(self._details)
        text.addWidget(self._state)
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 16, 16, 16)
        row.setSpacing(24)
        row.addLayout(text, 3)
        row.addWidget(self.open_button, 2, Qt.AlignmentFlag.AlignVCenter)
        self.retranslate()

    def retranslate(self) -> None:
        item = self.item
        set_label_text(self._door, fill(self.tr("Door %1"), item.compartment_id))
        reason = (self.tr("expired") if item.reason is CollectReason.EXPIRED
                  else self.tr("returned by a customer"))
        set_label_text(self._details, fill(self.tr("%1 · %2 · %3"), short_id(item.parcel_id),
                                           size_name(item.size), reason))
        if item.collected:
            state, role = self.tr("✓ Collected"), "status_ok"
        elif item.failed:
            state, role = self.tr("Not collected: the door did not open or the parcel is still inside"), \
                "status_warning"
        else:
            state, role = "", "status_ok"
        if self._state.property("role") != role:
            self._state.setProperty("role", role)
            restyle(self._state)
        set_label_text(self._state, state)
        # A collected parcel's row keeps only its tick: nothing is left to tap there.
        self.open_button.setVisible(not item.collected)
        if item.failed:
            set_button_text(self.open_button, self.tr("Try again"),
                            fill(self.tr("Open door %1 again"), item.compartment_id))
        else:
            set_button_text(self.open_button, self.tr("Open"),
                            fill(self.tr("Open door %1"), item.compartment_id))


class CourierCollectScreen(ScreenWidget[CourierCollectView]):
    screen_id = ScreenId.COURIER_COLLECT
    view_type = CourierCollectView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, CourierCollectView(items=()), parent)
        self._title = text_label("title_label", "title")
        self._hint = text_label("hint_label", "body")
        self.outer.addWidget(self._title)
        self.outer.addWidget(self._hint)

        self._rows: list[CollectRow] = []
        self._rows_box = QVBoxLayout()
        self._rows_box.setSpacing(16)
        self._rows_box.setContentsMargins(0, 0, 0, 0)
        rows_widget = QWidget()
        rows_widget.setObjectName("collect_rows")
        rows_layout = QVBoxLayout(rows_widget)
        rows_layout.setContentsMargins(0, 0, 0, 0)
        rows_layout.addLayout(self._rows_box)
        rows_layout.addStretch(1)
        self._scroll = QScrollArea()
        self._scroll.setObjectName("collect_scroll")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(rows_widget)
        self.outer.addWidget(self._scroll, 1)

        self.courier_menu_button = touch_button("courier_menu_button", role="quiet")
        self.courier_menu_button.clicked.connect(lambda: self._send(Intent.COURIER_MENU))
        self.open_all_button = touch_button("open_all_button", role="primary", min_height=ACTION_BUTTON_PX)
        self.open_all_button.clicked.connect(lambda: self._send(Intent.OPEN_ALL))
        self.footer.addWidget(self.courier_menu_button, 1)
        self.footer.addWidget(self.open_all_button, 2)
        self.finish_layout()

    def rows(self) -> list[CollectRow]:
        return list(self._rows)

    def open_buttons(self) -> list[QPushButton]:
        return [row.open_button for row in self._rows]

    def render_view(self) -> None:
        items = self._view.items
        if [row.item.parcel_id for row in self._rows] != [item.parcel_id for item in items]:
            self._rebuild_rows(items)
        # The same parcels in a new state: the rows stay, so the list does not jump back to the top.
        for row, item in zip(self._rows, items, strict=True):
            row.item = item
            row.retranslate()
        waiting = sum(1 for item in items if not item.collected)
        if not items:
            title = self.tr("Nothing to collect")
        elif waiting:
            title = self.tr("%n parcels to collect", "", waiting)
        else:
            title = self.tr("All parcels collected")
        set_label_text(self._title, title)
        set_label_text(self._hint, self.tr("Open the doors one at a time, or all at once. Close each door "
                                           "when the parcel is out.") if waiting else "")
        set_button_text(self.open_all_button, self.tr("Open all %n doors", "", waiting) if waiting
                        else self.tr("Open all doors"))
        self.open_all_button.setEnabled(waiting > 0)
        set_button_text(self.courier_menu_button, self.tr("Back to menu"))

    def _rebuild_rows(self, items: tuple[CollectItem, ...]) -> None:
        for row in self._rows:
            self._rows_box.removeWidget(row)
            row.hide()
            row.setParent(None)
            row.deleteLater()
        self._rows = [CollectRow(item, self._send) for item in items]
        for row in self._rows:
            self._rows_box.addWidget(row)

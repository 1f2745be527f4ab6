"""Several parcels for one code: open them one by one or all at once."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from kiosk.core.flows.views import Intent, ParcelItem, ParcelListView, ScreenId
from kiosk.core.model import Size
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import (
    ACTION_BUTTON_PX,
    IntentSink,
    fill,
    set_button_text,
    set_label_text,
    text_label,
    touch_button,
)


class ParcelRow(QFrame):
    """One parcel: its door, its size and the button that opens that door."""

    def __init__(self, item: ParcelItem, send: IntentSink) -> None:
        super().__init__()
        self.item = item
        self.setObjectName(f"parcel_{item.parcel_id}")
        self.setProperty("role", "card")
        self._door = text_label(f"door_label_{item.parcel_id}", "card_title")
        self._size = text_label(f"size_label_{item.parcel_id}", "caption")
        self.open_button = touch_button(f"open_parcel_{item.parcel_id}", role="primary")
        self.open_button.clicked.connect(lambda: send(Intent.OPEN_PARCEL, parcel_id=item.parcel_id))
        self.open_button.setEnabled(not item.opened)
        text = QVBoxLayout()
        text.setSpacing(4)
        text.addWidget(self._door)
        text.addWidget(self._size)
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 16, 16, 16)
        row.setSpacing(24)
        row.addLayout(text, 3)
        row.addWidget(self.open_button, 2)
        self.retranslate()

    def retranslate(self) -> None:
        item = self.item
        set_label_text(self._door, fill(self.tr("Door %1"), item.compartment_id))
        set_label_text(self._size, self._size_text(item.size))
        if item.opened:
            set_button_text(self.open_button, self.tr("Taken"),
                            fill(self.tr("Door %1: parcel already taken"), item.compartment_id))
        else:
            set_button_text(self.open_button, self.tr("Open"),
                            fill(self.tr("Open door %1"), item.compartment_id))

    def _size_text(self, size: Size) -> str:
        names = {
            Size.S: self.tr("Small parcel"),
            Size.M: self.tr("Medium parcel"),
            Size.L: self.tr("Large parcel"),
            Size.XL: self.tr("Extra large parcel"),
        }
        return names[size]


class ParcelListScreen(ScreenWidget[ParcelListView]):
    screen_id = ScreenId.PARCEL_LIST
    view_type = ParcelListView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, ParcelListView(parcels=()), parent)
        self._title = text_label("title_label", "title")
        self._hint = text_label("hint_label", "body")
        self.outer.addWidget(self._title)
        self.outer.addWidget(self._hint)

        self._rows: list[ParcelRow] = []
        self._rows_box = QVBoxLayout()
        self._rows_box.setSpacing(16)
        self._rows_box.setContentsMargins(0, 0, 0, 0)
        rows_widget = QWidget()
        rows_widget.setObjectName("parcel_rows")
        rows_layout = QVBoxLayout(rows_widget)
        rows_layout.setContentsMargins(0, 0, 0, 0)
        rows_layout.addLayout(self._rows_box)
        rows_layout.addStretch(1)
        self._scroll = QScrollArea()
        self._scroll.setObjectName("parcel_scroll")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(rows_widget)
        self.outer.addWidget(self._scroll, 1)

        self.cancel_button = touch_button("cancel_button", role="quiet")
        self.cancel_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.open_all_button = touch_button("open_all_button", role="primary", min_height=ACTION_BUTTON_PX)
        self.open_all_button.clicked.connect(lambda: self._send(Intent.OPEN_ALL))
        self.footer.addWidget(self.cancel_button, 1)
        self.footer.addWidget(self.open_all_button, 2)
        self.finish_layout()

    def rows(self) -> list[ParcelRow]:
        return list(self._rows)

    def open_buttons(self) -> list[QPushButton]:
        return [row.open_button for row in self._rows]

    def render_view(self) -> None:
        parcels = self._view.parcels
        if tuple(row.item for row in self._rows) != parcels:
            self._rebuild_rows(parcels)
        for row in self._rows:
            row.retranslate()
        waiting = sum(1 for item in parcels if not item.opened)
        set_label_text(self._title, self.tr("You have %n parcels here", "", len(parcels)))
        set_label_text(self._hint, self.tr("Open the doors one at a time, or all at once."))
        set_button_text(self.open_all_button, self.tr("Open all doors"))
        self.open_all_button.setEnabled(waiting > 0)
        set_button_text(self.cancel_button, self.tr("Cancel"))

    def _rebuild_rows(self, parcels: tuple[ParcelItem, ...]) -> None:
        for row in self._rows:
            self._rows_box.removeWidget(row)
            row.hide()
            row.setParent(None)
            row.deleteLater()
        self._rows = [ParcelRow(item, self._send) for item in parcels]
        for row in self._rows:
            self._rows_box.addWidget(row)

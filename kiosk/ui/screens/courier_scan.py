"""Courier drop-off: scan the next label. What became of the last one, and the batch's running counts."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from kiosk.core.flows.views import CourierNotice, CourierScanView, Intent, ScreenId
from kiosk.ui.parcel_text import short_id
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.widgets import (
    IntentSink,
    fill,
    restyle,
    set_button_text,
    set_label_text,
    text_label,
    touch_button,
)

# The notices that mean "all is well, go on"; every other one asks the courier to keep the parcel.
GOOD_NEWS = frozenset({CourierNotice.DEPOSITED})
BAD_NEWS = frozenset({CourierNotice.DOOR_FAULT})


class CountCard(QFrame):
    """A big number with its name under it."""

    def __init__(self, object_name: str) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setProperty("role", "card")
        self.value_label = text_label(f"{object_name}_value", "stat_value", centered=True)
        self.name_label = text_label(f"{object_name}_name", "caption", centered=True)
        box = QVBoxLayout(self)
        box.setContentsMargins(24, 12, 24, 12)
        box.setSpacing(0)
        box.addWidget(self.value_label)
        box.addWidget(self.name_label)

    def set_count(self, value: int, name: str) -> None:
        set_label_text(self.value_label, str(value))
        set_label_text(self.name_label, name)
        self.setAccessibleName(f"{name}: {value}")


class CourierScanScreen(ScreenWidget[CourierScanView]):
    screen_id = ScreenId.COURIER_SCAN
    view_type = CourierScanView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, CourierScanView(delivered=0, refused=0), parent)
        self._title = text_label("title_label", "hero")
        self._hint = text_label("hint_label", "subtitle")
        self._notice = text_label("notice_label", "ok")
        self.delivered_card = CountCard("delivered_count")
        self.refused_card = CountCard("refused_count")
        counts = QHBoxLayout()
        counts.setSpacing(24)
        counts.addWidget(self.delivered_card, 1)
        counts.addWidget(self.refused_card, 1)
        counts.addStretch(1)

        self.outer.addWidget(self._title)
        self.outer.addWidget(self._hint)
        self.outer.addStretch(1)
        self.outer.addWidget(self._notice)
        self.outer.addStretch(1)
        self.outer.addLayout(counts)

        self.courier_menu_button = touch_button("courier_menu_button", role="quiet")
        self.courier_menu_button.clicked.connect(lambda: self._send(Intent.COURIER_MENU))
        self.footer.addWidget(self.courier_menu_button, 1)
        self.footer.addStretch(2)
        self.finish_layout()

    def notice_label(self) -> QLabel:
        return self._notice

    def render_view(self) -> None:
        view = self._view
        set_label_text(self._title, self.tr("Scan the next parcel label"))
        if view.can_scan:
            hint = self.tr("Hold the label's barcode to the scanner or up to the camera. The door opens by "
                           "itself.")
        else:
            hint = self.tr("Hold the label's barcode to the scanner. The door opens by itself.")
        set_label_text(self._hint, hint)
        notice = view.notice
        role = "ok" if notice in GOOD_NEWS else "error" if notice in BAD_NEWS else "warning"
        if self._notice.property("role") != role:
            self._notice.setProperty("role", role)
            restyle(self._notice)
        set_label_text(self._notice, self._notice_text())
        self.delivered_card.set_count(view.delivered, self.tr("Delivered"))
        self.refused_card.set_count(view.refused, self.tr("Not accepted"))
        set_button_text(self.courier_menu_button, self.tr("Back to menu"))

    def _notice_text(self) -> str:
        view = self._view
        parcel = short_id(view.notice_parcel) if view.notice_parcel else ""
        door = view.notice_compartment or ""
        size = view.notice_size.value if view.notice_size is not None else ""
        notice = view.notice
        if notice is None:
            return ""
        if notice is CourierNotice.DEPOSITED:
            if parcel and door:
                return fill(self.tr("Parcel %1 is in door %2. Scan the next one."), parcel, door)
            return self.tr("The parcel is in. Scan the next one.")
        if notice is CourierNotice.UNANNOUNCED_REFUSED:
            if parcel:
                return fill(self.tr("Parcel %1 was not announced for this locker. Please keep it."), parcel)
            return self.tr("This parcel was not announced for this locker. Please keep it.")
        if notice is CourierNotice.LOCKER_FULL:
            if size:
                return fill(self.tr("No free compartment for size %1. Please keep this parcel."), size)
            return self.tr("No free compartment for this parcel. Please keep it.")
        if notice is CourierNotice.NO_BIGGER:
            if size:
                return fill(self.tr("No bigger compartment is free (size %1 or larger). Please keep this "
                                    "parcel."), size)
            return self.tr("No bigger compartment is free. Please keep this parcel.")
        if notice is CourierNotice.NOT_DEPOSITED:
            if parcel:
                return fill(self.tr("Parcel %1 was not delivered. Please keep it."), parcel)
            return self.tr("The parcel was not delivered. Please keep it.")
        if notice is CourierNotice.ALREADY_HERE:
            if parcel:
                return fill(self.tr("Parcel %1 was delivered to this locker already."), parcel)
            return self.tr("This parcel was delivered to this locker already.")
        if notice is CourierNotice.NOT_A_LABEL:
            # What was scanned is not shown: it may be someone's pickup code.
            return self.tr("That was not a parcel label. Please scan the barcode on the label.")
        if parcel:
            return fill(self.tr("No door could be opened for parcel %1. Please keep it; the operator has "
                                "been told."), parcel)
        return self.tr("No door could be opened. Please keep the parcel; the operator has been told.")

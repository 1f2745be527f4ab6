"""Courier size: a label with no size on record; the courier taps S, M, L or XL."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import CourierSizeView, Intent, ScreenId
from kiosk.core.model import Size
from kiosk.ui.parcel_text import short_id, size_name
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.size_picker import SizePicker
from kiosk.ui.widgets import IntentSink, fill, set_button_text, set_label_text, text_label, touch_button


class CourierSizeScreen(ScreenWidget[CourierSizeView]):
    screen_id = ScreenId.COURIER_SIZE
    view_type = CourierSizeView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, CourierSizeView(label="", available=tuple(Size)), parent)
        self._title = text_label("title_label", "title")
        self._label = text_label("label_label", "subtitle")
        self._note = text_label("note_label", "notice")
        self.outer.addWidget(self._title)
        self.outer.addWidget(self._label)
        self.outer.addWidget(self._note)
        self.outer.addStretch(1)
        self.size_picker = SizePicker()
        self.size_picker.chosen.connect(lambda size: self._send(Intent.CHOOSE_SIZE, size=size))
        self.outer.addWidget(self.size_picker, 3)
        self.outer.addStretch(1)

        self.cancel_button = touch_button("cancel_button", role="quiet")
        self.cancel_button.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.footer.addWidget(self.cancel_button, 1)
        self.footer.addStretch(2)
        self.finish_layout()

    def orientation_changed(self, landscape: bool) -> None:
        self.size_picker.set_landscape(landscape)

    def render_view(self) -> None:
        view = self._view
        set_label_text(self._title, self.tr("Which size is this parcel?"))
        set_label_text(self._label, fill(self.tr("Label %1"), short_id(view.label)) if view.label else "")
        if view.unannounced and view.photo_taken:
            note = self.tr("This parcel was not announced for this locker. A photo of it was taken for the "
                           "record.")
        elif view.unannounced:
            note = self.tr("This parcel was not announced for this locker.")
        else:
            note = self.tr("There is no size on record for this parcel.")
        set_label_text(self._note, note)
        for size in Size:
            free = size in view.available
            caption = size_name(size) if free else self.tr("No free compartment")
            accessible = (fill(self.tr("Size %1, %2"), size.value, size_name(size)) if free
                          else fill(self.tr("Size %1: no free compartment"), size.value))
            self.size_picker.set_tile(size, enabled=free, highlighted=False, caption=caption,
                                      accessible=accessible)
        if not view.available:
            set_label_text(self._note, self.tr("No compartment is free for this parcel. Please keep it."))
        set_button_text(self.cancel_button, self.tr("Cancel"))

"""Return size: the return's authorised size is offered first; a bigger one if the parcel is bigger."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import Intent, ReturnSizeView, ScreenId
from kiosk.core.model import Size
from kiosk.ui.parcel_text import size_name
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.size_picker import SizePicker
from kiosk.ui.widgets import IntentSink, fill, set_button_text, set_label_text, text_label, touch_button


class ReturnSizeScreen(ScreenWidget[ReturnSizeView]):
    screen_id = ScreenId.RETURN_SIZE
    view_type = ReturnSizeView

    def __init__(self, send: IntentSink, parent: QWidget | None = None) -> None:
        super().__init__(send, ReturnSizeView(authorised=Size.S, available=tuple(Size)), parent)
        self._title = text_label("title_label", "title")
        self._hint = text_label("hint_label", "body")
        self._notice = text_label("notice_label", "warning")
        self.outer.addWidget(self._title)
        self.outer.addWidget(self._hint)
        self.outer.addWidget(self._notice)
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
        authorised = view.authorised
        title = fill(self.tr("Your return needs a size %1 compartment"), authorised.value)
        set_label_text(self._title, title)
        set_label_text(self._hint, self.tr("Tap the size. If your parcel turned out bigger, choose a bigger "
                                           "one."))
        for size in Size:
            free = size in view.available and authorised <= size
            if size < authorised:
                caption = self.tr("Smaller than your return")
                accessible = fill(self.tr("Size %1: smaller than your return"), size.value)
            elif not free:
                caption = self.tr("No free compartment")
                accessible = fill(self.tr("Size %1: no free compartment"), size.value)
            elif size == authorised:
                caption = self.tr("Your size")
                accessible = fill(self.tr("Size %1, %2: your size"), size.value, size_name(size))
            else:
                caption = size_name(size)
                accessible = fill(self.tr("Size %1, %2"), size.value, size_name(size))
            self.size_picker.set_tile(size, enabled=free, highlighted=size == authorised, caption=caption,
                                      accessible=accessible)
        usable = [size for size in view.available if authorised <= size]
        set_label_text(self._notice, "" if usable else self.tr("No compartment is free for your return right "
                                                                "now. Please try again later."))
        set_button_text(self.cancel_button, self.tr("Cancel"))

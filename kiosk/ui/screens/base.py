"""What every screen shares: its objectName, its view model, live retranslation, landscape/portrait."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from PySide6.QtCore import QEvent
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QSpacerItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.flows.views import Intent, ScreenId
from kiosk.ui.widgets import IntentSink, touch_button

log = logging.getLogger(__name__)

V = TypeVar("V")

SCREEN_MARGIN_PX = 48
SPACING_PX = 24


class ScreenWidget(QWidget, Generic[V]):
    """One page of the main window. Subclasses build widgets once and fill in their texts in render_view().

    render_view() runs for every new view model and on every language change, so a screen never shows text
    from an old view or an old language.
    """

    screen_id: ClassVar[ScreenId]
    view_type: ClassVar[type]

    def __init__(self, send: IntentSink, initial_view: V, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.screen_id.value)
        self._send = send
        self._view = initial_view
        self._flips: list[tuple[QBoxLayout, tuple[int, ...], tuple[int, ...]]] = []
        self._landscape_spacers: list[QSpacerItem] = []
        # Every screen: content above, a row of footer buttons (back, cancel, ...) pinned to the bottom.
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(SCREEN_MARGIN_PX, SCREEN_MARGIN_PX, SCREEN_MARGIN_PX, SCREEN_MARGIN_PX)
        self.outer.setSpacing(SPACING_PX)
        self.footer = QHBoxLayout()
        self.footer.setSpacing(SPACING_PX)

    def finish_layout(self) -> None:
        """Subclasses call this last in __init__: adds the footer and renders the initial view."""
        self.outer.addLayout(self.footer)
        self.render_view()

    @property
    def view(self) -> V:
        return self._view

    def set_view(self, view: object) -> bool:
        if not isinstance(view, self.view_type):
            log.error("Screen %s cannot show %r; keeping what it shows", self.screen_id.value, view)
            return False
        self._view = view  # type: ignore[assignment]  # checked against view_type just above
        self.render_view()
        return True

    def render_view(self) -> None:
        raise NotImplementedError

    def flip_box(
        self, landscape_stretch: tuple[int, ...] = (1, 1), portrait_stretch: tuple[int, ...] = (0, 1)
    ) -> QBoxLayout:
        """A box laid out side by side in landscape and stacked in portrait, with a stretch per item.

        Stacked, the first items usually keep their natural height so the last one gets the room.
        """
        box = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        box.setSpacing(SPACING_PX * 2)
        self._flips.append((box, landscape_stretch, portrait_stretch))
        return box

    def beside_picture(self, words: Sequence[QWidget], picture: QWidget) -> None:
        """The screen's words in a column beside a live camera picture in landscape, above it in portrait:
        side by side the picture takes the larger share, stacked all the height the words leave."""
        column = QVBoxLayout()
        column.setSpacing(20)
        for widget in words:
            column.addWidget(widget)
        column.addItem(self.landscape_spacer())
        body = self.flip_box(landscape_stretch=(4, 5), portrait_stretch=(0, 1))
        body.addLayout(column)
        body.addWidget(picture)
        self.outer.addLayout(body, 1)

    def footer_cancel_button(self) -> QPushButton:
        """Cancel, in the footer's first place (a third of its width)."""
        cancel = touch_button("cancel_button", role="quiet")
        cancel.clicked.connect(lambda: self._send(Intent.CANCEL))
        self.footer.addWidget(cancel, 1)
        return cancel

    def footer_keypad_button(self) -> QPushButton:
        """The way to the keypad for anyone the camera cannot help: the screen's main button, after Cancel."""
        keypad = touch_button("keypad_button", role="primary")
        keypad.clicked.connect(lambda: self._send(Intent.KEYPAD_INSTEAD))
        self.footer.addWidget(keypad, 2)
        return keypad

    def landscape_spacer(self) -> QSpacerItem:
        """Empty space that grows in landscape only; stacked screens have none to give away."""
        spacer = QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding)
        self._landscape_spacers.append(spacer)
        return spacer

    def is_landscape(self) -> bool:
        return self.width() >= self.height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        landscape = event.size().width() >= event.size().height()
        direction = QBoxLayout.Direction.LeftToRight if landscape else QBoxLayout.Direction.TopToBottom
        for box, landscape_stretch, portrait_stretch in self._flips:
            box.setDirection(direction)
            for index, stretch in enumerate(landscape_stretch if landscape else portrait_stretch):
                box.setStretch(index, stretch)
        grow = QSizePolicy.Policy.Expanding if landscape else QSizePolicy.Policy.Fixed
        for spacer in self._landscape_spacers:
            spacer.changeSize(0, 0, QSizePolicy.Policy.Minimum, grow)
        self.orientation_changed(landscape)
        self.outer.invalidate()
        super().resizeEvent(event)

    def orientation_changed(self, landscape: bool) -> None:
        """Hook for screens whose arrangement differs by more than box directions and stretches."""

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.render_view()
        super().changeEvent(event)


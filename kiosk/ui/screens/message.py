"""The layout shared by the screens that mostly say something: a symbol, a title, a few lines of text."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.status_icon import StatusIcon, Symbol
from kiosk.ui.widgets import IntentSink, text_label

V = TypeVar("V")


class MessageScreen(ScreenWidget[V]):
    def __init__(
        self, send: IntentSink, initial_view: V, symbol: Symbol, parent: QWidget | None = None
    ) -> None:
        super().__init__(send, initial_view, parent)
        self.icon = StatusIcon(symbol)
        self.title_label = text_label("title_label", "hero", centered=True)
        self.message_label = text_label("message_label", "subtitle", centered=True)
        self.next_step_label = text_label("next_step_label", "body", centered=True)
        column = QVBoxLayout()
        column.setSpacing(28)
        column.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.title_label)
        column.addWidget(self.message_label)
        column.addWidget(self.next_step_label)
        self.outer.addStretch(1)
        self.outer.addLayout(column)
        self.action_column = QVBoxLayout()
        self.action_column.setSpacing(20)
        self.outer.addSpacing(16)
        self.outer.addLayout(self.action_column)
        self.outer.addStretch(1)

    def labels(self) -> list[QLabel]:
        return [self.title_label, self.message_label, self.next_step_label]

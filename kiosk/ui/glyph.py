"""A fixed-size painted mark in two theme colours: the fill and the mark drawn on it (QSS sets both)."""

from __future__ import annotations

from PySide6.QtCore import Property, QSize
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSizePolicy, QWidget


class TwoToneGlyph(QWidget):
    def __init__(self, side_px: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._side_px = side_px
        self._fill = QColor("#0B57D0")
        self._mark = QColor("#FFFFFF")
        self.setFixedSize(side_px, side_px)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def _get_fill(self) -> QColor:
        return QColor(self._fill)

    def _set_fill(self, color: QColor) -> None:
        self._fill = QColor(color)
        self.update()

    def _get_mark(self) -> QColor:
        return QColor(self._mark)

    def _set_mark(self, color: QColor) -> None:
        self._mark = QColor(color)
        self.update()

    fillColor = Property(QColor, _get_fill, _set_fill)
    markColor = Property(QColor, _get_mark, _set_mark)

    def sizeHint(self) -> QSize:
        return QSize(self._side_px, self._side_px)

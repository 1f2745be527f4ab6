"""The product mark: a small locker bank with one door open, painted so it scales and follows the theme."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPolygonF
from PySide6.QtWidgets import QWidget

from kiosk.ui.glyph import TwoToneGlyph

LOGO_PX = 88


class Logo(TwoToneGlyph):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(LOGO_PX, parent)
        self.setObjectName("logo")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = float(min(self.width(), self.height()))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._fill)
        painter.drawRoundedRect(QRectF(0, 0, side, side), side * 0.22, side * 0.22)
        cell = side * 0.2
        gap = side * 0.06
        left = (side - 3 * cell - 2 * gap) / 2
        top = (side - 3 * cell - 2 * gap) / 2
        painter.setBrush(self._mark)
        painter.setPen(self._fill)
        for row in range(3):
            for column in range(3):
                rect = QRectF(left + column * (cell + gap), top + row * (cell + gap), cell, cell)
                if (row, column) == (1, 2):
                    # The open door: a dark opening and the panel swung out to the right.
                    painter.setBrush(self._fill.darker(160))
                    painter.drawRect(rect)
                    painter.setBrush(self._mark)
                    painter.drawPolygon(QPolygonF([
                        rect.topRight(), rect.bottomRight(),
                        QPointF(rect.right() + cell * 0.45, rect.bottom() + cell * 0.15),
                        QPointF(rect.right() + cell * 0.45, rect.top() - cell * 0.15),
                    ]))
                else:
                    painter.drawRoundedRect(rect, cell * 0.12, cell * 0.12)
        painter.end()

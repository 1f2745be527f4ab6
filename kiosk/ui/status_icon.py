"""A large painted symbol that says at a glance what a screen is about (done, wait, problem)."""

from __future__ import annotations

import enum
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from kiosk.ui.glyph import TwoToneGlyph


class Symbol(enum.Enum):
    CHECK = "check"
    CLOCK = "clock"
    WARNING = "warning"


class StatusIcon(TwoToneGlyph):
    """Painted, not loaded from a file: it scales cleanly and takes its colours from the theme."""

    def __init__(self, symbol: Symbol, parent: QWidget | None = None) -> None:
        super().__init__(120, parent)
        self.setObjectName(f"{symbol.value}_icon")
        self.setProperty("symbol", symbol.value)
        self._symbol = symbol

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height()) - 4
        box = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        pen = QPen(self._mark, side * 0.09)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        if self._symbol is Symbol.WARNING:
            triangle = QPainterPath()
            triangle.moveTo(box.center().x(), box.top() + side * 0.04)
            triangle.lineTo(box.right(), box.bottom() - side * 0.06)
            triangle.lineTo(box.left(), box.bottom() - side * 0.06)
            triangle.closeSubpath()
            painter.setPen(QPen(self._fill, side * 0.06, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                Qt.PenJoinStyle.RoundJoin))
            painter.setBrush(self._fill)
            painter.drawPath(triangle)
            painter.setPen(pen)
            x = box.center().x()
            painter.drawLine(QPointF(x, box.top() + side * 0.36), QPointF(x, box.top() + side * 0.62))
            painter.drawPoint(QPointF(x, box.top() + side * 0.78))
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self._fill)
            painter.drawEllipse(box)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            if self._symbol is Symbol.CHECK:
                check = QPainterPath()
                check.moveTo(box.left() + side * 0.28, box.top() + side * 0.52)
                check.lineTo(box.left() + side * 0.44, box.top() + side * 0.68)
                check.lineTo(box.left() + side * 0.74, box.top() + side * 0.36)
                painter.drawPath(check)
            else:
                center = box.center()
                painter.drawLine(center, QPointF(center.x(), box.top() + side * 0.24))
                angle = math.radians(35)
                hand = side * 0.2
                painter.drawLine(center, QPointF(center.x() + hand * math.cos(angle),
                                                 center.y() + hand * math.sin(angle)))
        painter.end()

"""The locker map: the bank of compartments as seen standing in front of it, the user's doors marked."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import Property, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.core.flows.views import MapCell
from kiosk.core.model import DoorState, Size

# Typical clear heights of parcel locker compartments (InPost A/B/C, Packstation); only for drawing.
NOMINAL_HEIGHT_CM = {Size.S: 20, Size.M: 25, Size.L: 35, Size.XL: 45}
COLUMN_WIDTH_CM = 45
DOOR_SWING = 0.45  # how far an open door reaches out to the left, as a share of its width
MARGIN_PX = 10
CELL_GAP_PX = 3


@dataclass(frozen=True)
class CellGeometry:
    cell: MapCell
    rect: QRectF


def layout_cells(cells: Iterable[MapCell], area: QRectF) -> list[CellGeometry]:
    """Place cells in `area`: x by column, y by the top edge's height from the floor.

    Compartments stack without gaps, as in a real locker bank: a cell reaches down to the top edge of the one
    below it in its column; only the lowest cell of a column takes its height from its size.
    """
    cells = list(cells)
    if not cells:
        return []
    columns = sorted({cell.column for cell in cells})
    spans: list[tuple[MapCell, float, float]] = []  # cell, top cm, bottom cm
    for column in columns:
        stack = sorted((c for c in cells if c.column == column), key=lambda c: c.height_cm, reverse=True)
        for index, cell in enumerate(stack):
            bottom = cell.height_cm - NOMINAL_HEIGHT_CM[cell.size]
            if index + 1 < len(stack) and stack[index + 1].height_cm < cell.height_cm:
                bottom = stack[index + 1].height_cm
            spans.append((cell, cell.height_cm, bottom))
    top_cm = max(top for _, top, _ in spans)
    bottom_cm = min(bottom for _, _, bottom in spans)
    height_cm = max(1.0, top_cm - bottom_cm)
    # Room on the left for the leftmost column's door when it swings open.
    width_cm = (len(columns) + DOOR_SWING) * COLUMN_WIDTH_CM
    scale = min(area.height() / height_cm, area.width() / width_cm)
    column_px = COLUMN_WIDTH_CM * scale
    left = area.left() + (area.width() - width_cm * scale) / 2 + DOOR_SWING * column_px
    top = area.top() + (area.height() - height_cm * scale) / 2
    placed = []
    for cell, cell_top, cell_bottom in spans:
        x = left + columns.index(cell.column) * column_px
        y = top + (top_cm - cell_top) * scale
        rect = QRectF(x, y, column_px, (cell_top - cell_bottom) * scale)
        placed.append(CellGeometry(cell, rect.adjusted(CELL_GAP_PX, CELL_GAP_PX, -CELL_GAP_PX, -CELL_GAP_PX)))
    return placed


def _color_property(attribute: str) -> Property:
    def getter(self: LockerMap) -> QColor:
        return QColor(getattr(self, attribute))

    def setter(self: LockerMap, color: QColor) -> None:
        setattr(self, attribute, QColor(color))
        self.update()

    return Property(QColor, getter, setter)


class LockerMap(QWidget):
    """Custom-painted; colours come from the QSS theme through qproperty-* (see resources/themes)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("locker_map")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 240)
        self._cells: tuple[MapCell, ...] = ()
        self._body = QColor("#D5DBE4")
        self._cell = QColor("#F7F9FC")
        self._cell_border = QColor("#AEB7C4")
        self._label = QColor("#5B6573")
        self._highlight = QColor("#0B57D0")
        self._highlight_text = QColor("#FFFFFF")
        self._interior = QColor("#262B33")
        self._interior_text = QColor("#FFFFFF")

    bodyColor = _color_property("_body")
    cellColor = _color_property("_cell")
    cellBorderColor = _color_property("_cell_border")
    labelColor = _color_property("_label")
    highlightColor = _color_property("_highlight")
    highlightTextColor = _color_property("_highlight_text")
    interiorColor = _color_property("_interior")
    interiorTextColor = _color_property("_interior_text")

    def cells(self) -> tuple[MapCell, ...]:
        return self._cells

    def set_cells(self, cells: Iterable[MapCell]) -> None:
        self._cells = tuple(cells)
        self.update()

    def set_door_state(self, compartment_id: str, state: DoorState) -> None:
        """Follow one door live between view models (the door was opened or closed)."""
        self.set_cells(
            dataclasses.replace(cell, door=state) if cell.compartment_id == compartment_id else cell
            for cell in self._cells
        )

    def cell_geometries(self) -> list[CellGeometry]:
        area = QRectF(self.rect()).adjusted(MARGIN_PX, MARGIN_PX, -MARGIN_PX, -MARGIN_PX)
        return layout_cells(self._cells, area)

    def sizeHint(self) -> QSize:
        return QSize(420, 480)

    def paintEvent(self, event: QPaintEvent) -> None:
        placed = self.cell_geometries()
        if not placed:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        body = QRectF(placed[0].rect)
        for geometry in placed:
            body = body.united(geometry.rect)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._body)
        painter.drawRoundedRect(body.adjusted(-6, -6, 6, 6), 8, 8)
        # Open doors swing out over their neighbours, so they are drawn after every closed one.
        closed = [g for g in placed if g.cell.door != DoorState.OPEN]
        opened = [g for g in placed if g.cell.door == DoorState.OPEN]
        for geometry in closed:
            self._paint_closed(painter, geometry)
        for geometry in opened:
            self._paint_open(painter, geometry)
        painter.end()

    def _paint_closed(self, painter: QPainter, geometry: CellGeometry) -> None:
        rect, cell = geometry.rect, geometry.cell
        if cell.highlighted:
            painter.setPen(QPen(self._highlight, 3))
            painter.setBrush(self._highlight)
        else:
            painter.setPen(QPen(self._cell_border, 1.5))
            painter.setBrush(self._cell)
        painter.drawRoundedRect(rect, 4, 4)
        self._paint_label(painter, rect, cell)

    def _paint_open(self, painter: QPainter, geometry: CellGeometry) -> None:
        rect, cell = geometry.rect, geometry.cell
        painter.setPen(QPen(self._highlight if cell.highlighted else self._cell_border, 3))
        painter.setBrush(self._interior)
        painter.drawRoundedRect(rect, 4, 4)
        # The door panel, hinged on the left edge and swung towards the viewer.
        swing = rect.width() * DOOR_SWING
        lift = min(rect.height() * 0.12, 14.0)
        panel = QPolygonF([
            QPointF(rect.left(), rect.top()),
            QPointF(rect.left(), rect.bottom()),
            QPointF(rect.left() - swing, rect.bottom() + lift),
            QPointF(rect.left() - swing, rect.top() - lift),
        ])
        painter.setPen(QPen(self._highlight.darker(140) if cell.highlighted else self._cell_border, 2))
        painter.setBrush(self._highlight if cell.highlighted else self._cell)
        painter.drawPolygon(panel)
        self._paint_label(painter, rect, cell, on_dark=True)

    def _paint_label(self, painter: QPainter, rect: QRectF, cell: MapCell, *, on_dark: bool = False) -> None:
        strong = cell.highlighted or on_dark
        if on_dark:
            color = self._interior_text
        elif cell.highlighted:
            color = self._highlight_text
        else:
            color = self._label
        font = QFont(self.font())
        base = self.font().pixelSize() if self.font().pixelSize() > 0 else 20
        pixel_size = int(base * (1.1 if strong else 0.7))
        pixel_size = min(pixel_size, int(rect.height() * 0.7), int(rect.width() / 3.2))
        if pixel_size < 9:
            return  # too small to read: a label that cannot be read only adds noise
        font.setPixelSize(pixel_size)
        font.setBold(strong)
        painter.setFont(font)
        painter.setPen(color)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, cell.compartment_id)

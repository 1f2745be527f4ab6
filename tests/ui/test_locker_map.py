"""The locker map: x by column, y by the top edge's height, height by size; the user's doors stand out."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from kiosk.core.flows.views import MapCell
from kiosk.core.model import DoorState, Size
from kiosk.ui.locker_map import CELL_GAP_PX, NOMINAL_HEIGHT_CM, LockerMap, layout_cells
from kiosk.ui.preview import sample_cells

AREA = QRectF(0, 0, 600, 600)


def cell(cid: str, column: int, height: int, size: Size, door: DoorState = DoorState.CLOSED,
         highlighted: bool = False) -> MapCell:
    return MapCell(cid, column, height, size, door, highlighted)


def rects(cells: list[MapCell]) -> dict[str, QRectF]:
    return {g.cell.compartment_id: g.rect for g in layout_cells(cells, AREA)}


def test_columns_go_left_to_right_and_higher_compartments_are_drawn_higher() -> None:
    placed = rects([cell("A01", 0, 180, Size.M), cell("A02", 0, 100, Size.L), cell("B01", 1, 180, Size.S)])
    assert placed["A01"].left() == placed["A02"].left() < placed["B01"].left()
    assert placed["A01"].top() < placed["A02"].top()
    assert placed["A01"].top() == placed["B01"].top()  # same top edge, same y


def test_cell_height_follows_the_size() -> None:
    placed = rects([cell("S", 0, 200, Size.S), cell("XL", 1, 200, Size.XL)])
    # Each drawn cell is inset by the gap on both sides; without it the heights are in proportion.
    ratio = (placed["XL"].height() + 2 * CELL_GAP_PX) / (placed["S"].height() + 2 * CELL_GAP_PX)
    assert abs(ratio - NOMINAL_HEIGHT_CM[Size.XL] / NOMINAL_HEIGHT_CM[Size.S]) < 1e-6


def test_cells_never_overlap_whatever_the_configured_heights() -> None:
    # An L cell configured only 10 cm above the next one would reach into it if drawn at its nominal height.
    placed = rects([cell("A01", 0, 100, Size.L), cell("A02", 0, 90, Size.M), cell("A03", 0, 90, Size.S)])
    for (_, first), (_, second) in itertools.combinations(
            [(k, v) for k, v in placed.items() if k != "A03"], 2):
        assert not first.intersects(second)
    for geometry in layout_cells(sample_cells([]), AREA):
        assert AREA.contains(geometry.rect)


def test_an_empty_or_single_cell_layout_is_drawn_without_error(qtbot: QtBot) -> None:
    locker_map = LockerMap()
    qtbot.addWidget(locker_map)
    locker_map.resize(300, 300)
    for cells in [(), (cell("A01", 0, 0, Size.S),), (cell("A01", 3, -20, Size.XL, DoorState.UNKNOWN),)]:
        locker_map.set_cells(cells)
        assert not locker_map.grab().isNull()


def test_the_users_open_door_is_painted_in_the_highlight_colour(qtbot: QtBot) -> None:
    locker_map = LockerMap()
    qtbot.addWidget(locker_map)
    locker_map.resize(500, 500)
    locker_map.set_cells(sample_cells(["C03"]))
    image = locker_map.grab().toImage()
    geometry = {g.cell.compartment_id: g.rect for g in locker_map.cell_geometries()}

    def colour_near(rect: QRectF, dx: float, dy: float) -> QColor:
        ratio = image.devicePixelRatio()
        return image.pixelColor(int((rect.left() + dx) * ratio), int((rect.top() + dy) * ratio))

    door = geometry["C03"]
    # The panel swung open to the left of the compartment carries the highlight colour.
    panel = colour_near(door, -door.width() * 0.2, door.height() / 2)
    assert panel == locker_map.highlightColor
    # The open compartment shows its dark inside; a closed neighbour stays neutral.
    assert colour_near(door, door.width() - 6, 6) == locker_map.interiorColor
    neighbour = geometry["D01"]
    assert colour_near(neighbour, neighbour.width() - 6, 6) == locker_map.cellColor


def test_a_door_change_reaches_only_that_cell(qtbot: QtBot) -> None:
    locker_map = LockerMap()
    qtbot.addWidget(locker_map)
    locker_map.set_cells(sample_cells(["A07"], waiting=True))
    locker_map.set_door_state("A07", DoorState.OPEN)
    doors = {c.compartment_id: c.door for c in locker_map.cells()}
    assert doors["A07"] is DoorState.OPEN
    assert {door for cid, door in doors.items() if cid != "A07"} == {DoorState.CLOSED}
    locker_map.set_door_state("Z99", DoorState.OPEN)  # not on the map: nothing changes
    assert {c.compartment_id: c.door for c in locker_map.cells()} == doors


def test_theme_colours_reach_the_painted_widget(qtbot: QtBot) -> None:
    locker_map = LockerMap()
    qtbot.addWidget(locker_map)
    locker_map.setStyleSheet("LockerMap { qproperty-highlightColor: #123456; }")
    locker_map.ensurePolished()
    assert locker_map.highlightColor == QColor("#123456")

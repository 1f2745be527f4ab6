"""Four big size tiles, S to XL (`size_S` ... `size_XL`): a row side by side, two by two when stacked."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from kiosk.core.model import Size
from kiosk.ui.widgets import TileButton, restyle

SIZE_TILE_PX = 150
TILE_SPACING_PX = 24


class SizePicker(QWidget):
    """Emits `chosen(Size)`; the screen says per size whether it can be chosen, and why not."""

    chosen = Signal(object)  # a Size

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("size_picker")
        self.tiles: dict[Size, TileButton] = {}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(TILE_SPACING_PX)
        for size in Size:
            tile = TileButton(f"size_{size.value}", role="tile_secondary", min_height=SIZE_TILE_PX)
            tile.clicked.connect(lambda _checked=False, s=size: self.chosen.emit(s))
            self.tiles[size] = tile
        self.set_landscape(True)

    def set_landscape(self, landscape: bool) -> None:
        for index, tile in enumerate(self.tiles.values()):
            self._grid.removeWidget(tile)
            row, column = (0, index) if landscape else divmod(index, 2)
            self._grid.addWidget(tile, row, column)
        for index in range(len(self.tiles)):
            self._grid.setColumnStretch(index, 1 if landscape or index < 2 else 0)

    def set_tile(
        self, size: Size, *, enabled: bool, highlighted: bool, caption: str, accessible: str
    ) -> None:
        tile = self.tiles[size]
        tile.set_texts(size.value, caption)
        tile.setAccessibleName(accessible)
        tile.setEnabled(enabled)
        # A tile that cannot be tapped never looks like the main action.
        role = "tile_primary" if highlighted and enabled else "tile_secondary"
        if tile.property("role") != role:
            tile.setProperty("role", role)
            restyle(tile)
            for label in tile.findChildren(QWidget):
                restyle(label)

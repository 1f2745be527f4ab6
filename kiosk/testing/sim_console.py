"""The simulator console of `make demo`: every door of the simulated bank, and the hands of a tester.

It plays the physical world around the kiosk: close a door the kiosk opened, pull one open, jam a latch,
put a parcel in front of the infrared sensor, cut a board off the bus, or hold a phone with a QR code (or a
parcel label) up to the camera. The door column shows each door and what its infrared sensor sees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hal.lockboard.base import SimulatedBoards
from kiosk.core.model import Compartment

COLUMNS = ("door", "state", "actions")
CAMERA_BUTTONS_PER_ROW = 5

# A developer's tool beside the kiosk: compact, whatever the kiosk's touch theme says.
CONSOLE_STYLE = "* { font-size: 13px; } QPushButton { min-height: 0; padding: 2px 8px; }"


class _SimulatorSignals(QObject):
    """Simulator events arrive on the serving thread; this hops them onto the GUI thread."""

    changed = Signal()


class SimulatorConsole(QWidget):
    """camera_codes: (button label, payload) pairs; hold_up(payload) holds one up, None clears.
    before_close(compartment) runs just before a door is closed here: the place to set the IR sensor as the
    person closing it leaves the compartment (a parcel put in, or taken out)."""

    def __init__(
        self,
        simulator: SimulatedBoards,
        layout: Sequence[Compartment],
        *,
        camera_codes: Sequence[tuple[str, str]] = (),
        hold_up: Callable[[str | None], None] | None = None,
        before_close: Callable[[Compartment], object] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("simulator_console")
        self.setWindowTitle(self.tr("Simulator console"))
        self.simulator = simulator
        self._before_close = before_close
        self.layout_ = tuple(sorted(layout, key=lambda c: c.id))
        self._signals = _SimulatorSignals()
        self._signals.changed.connect(self.refresh, Qt.ConnectionType.QueuedConnection)
        self.simulator.add_listener(self._on_simulator_event)

        intro = QLabel(self.tr("The simulated lock boards. Act here as a person at the locker would."))
        intro.setWordWrap(True)
        self.table = QTableWidget(len(self.layout_), len(COLUMNS))
        self.table.setObjectName("simulator_doors")
        self.table.setAccessibleName(self.tr("Doors of the simulated locker"))
        self.table.setHorizontalHeaderLabels(
            [self.tr("Door (board/lock)"), self.tr("Door"), self.tr("What a person does")]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._door_buttons: dict[str, QPushButton] = {}
        self._jam_boxes: dict[str, QCheckBox] = {}
        self._parcel_boxes: dict[str, QCheckBox] = {}
        for row, compartment in enumerate(self.layout_):
            self.table.setItem(
                row, 0, QTableWidgetItem(f"{compartment.id}  ({compartment.board}/{compartment.lock})")
            )
            actions = QWidget()
            actions_layout = QHBoxLayout(actions)
            actions_layout.setContentsMargins(2, 0, 2, 0)
            door_button = QPushButton()
            door_button.setObjectName(f"sim_door_{compartment.id}")
            door_button.clicked.connect(lambda _=False, c=compartment: self._toggle_door(c))
            jam_box = QCheckBox(self.tr("jammed"))
            jam_box.setObjectName(f"sim_jam_{compartment.id}")
            jam_box.setAccessibleName(self.tr("Latch of door %1 jammed").replace("%1", compartment.id))
            jam_box.toggled.connect(lambda on, c=compartment: self.simulator.jam(c.board, c.lock, on))
            parcel_box = QCheckBox(self.tr("parcel inside"))
            parcel_box.setObjectName(f"sim_parcel_{compartment.id}")
            parcel_box.setAccessibleName(self.tr("Parcel seen in door %1").replace("%1", compartment.id))
            parcel_box.toggled.connect(
                lambda on, c=compartment: self.simulator.set_occupied(c.board, c.lock, on)
            )
            for widget in (door_button, jam_box, parcel_box):
                actions_layout.addWidget(widget)
            self._door_buttons[compartment.id] = door_button
            self._jam_boxes[compartment.id] = jam_box
            self._parcel_boxes[compartment.id] = parcel_box
            self.table.setCellWidget(row, 2, actions)

        boards_row = QHBoxLayout()
        self._board_boxes: list[QCheckBox] = []
        self._boards = sorted({compartment.board for compartment in self.layout_})
        for board in self._boards:
            box = QCheckBox(self.tr("Board %1 connected").replace("%1", str(board)))
            box.setObjectName(f"sim_board_{board}_connected")
            box.setAccessibleName(box.text())
            box.toggled.connect(lambda on, b=board: self.simulator.set_connected(on, b))
            boards_row.addWidget(box)
            self._board_boxes.append(box)
        boards_row.addStretch(1)

        column = QVBoxLayout(self)
        column.addWidget(intro)
        column.addLayout(boards_row)
        if hold_up is not None and camera_codes:
            column.addLayout(self._camera_row(camera_codes, hold_up))
        column.addWidget(self.table)
        self.setStyleSheet(CONSOLE_STYLE)
        self.resize(600, 760)
        self.refresh()

    def _camera_row(
        self, camera_codes: Sequence[tuple[str, str]], hold_up: Callable[[str | None], None]
    ) -> QVBoxLayout:
        rows = QVBoxLayout()
        rows.addWidget(QLabel(self.tr("Show the camera:")))
        buttons = QGridLayout()  # a few to a row: the console stays narrow beside the kiosk
        for index, (label, payload) in enumerate(camera_codes):
            button = QPushButton(label)
            button.setObjectName(f"sim_camera_code_{index}")
            button.setAccessibleName(self.tr("Hold up the code %1").replace("%1", label))
            button.clicked.connect(lambda _=False, p=payload: hold_up(p))
            buttons.addWidget(button, *divmod(index, CAMERA_BUTTONS_PER_ROW))
        nothing = QPushButton(self.tr("Nothing"))
        nothing.setObjectName("sim_camera_clear")
        nothing.setAccessibleName(self.tr("Take the code away from the camera"))
        nothing.clicked.connect(lambda: hold_up(None))
        buttons.addWidget(nothing, *divmod(len(camera_codes), CAMERA_BUTTONS_PER_ROW))
        rows.addLayout(buttons)
        return rows

    def _on_simulator_event(self, _event: object) -> None:
        self._signals.changed.emit()

    def _toggle_door(self, compartment: Compartment) -> None:
        if self.simulator.door_open(compartment.board, compartment.lock):
            if self._before_close is not None:
                self._before_close(compartment)
            self.simulator.close_door(compartment.board, compartment.lock)
        else:
            self.simulator.open_door(compartment.board, compartment.lock)

    def refresh(self) -> None:
        # The jam boxes are the only place latches get jammed in the demo, so they already show the truth.
        for row, compartment in enumerate(self.layout_):
            door_open = self.simulator.door_open(compartment.board, compartment.lock)
            occupied = self.simulator.occupied(compartment.board, compartment.lock)
            door_text = self.tr("OPEN") if door_open else self.tr("closed")
            ir_text = self.tr("IR: parcel") if occupied else self.tr("IR: empty")
            door_item = QTableWidgetItem(f"{door_text}, {ir_text}")
            door_item.setForeground(Qt.GlobalColor.darkRed if door_open else Qt.GlobalColor.darkGreen)
            self.table.setItem(row, 1, door_item)
            button = self._door_buttons[compartment.id]
            button.setText(self.tr("Close door") if door_open else self.tr("Pull open"))
            button.setAccessibleName(
                (self.tr("Close door %1") if door_open else self.tr("Pull door %1 open")).replace(
                    "%1", compartment.id
                )
            )
            parcel_box = self._parcel_boxes[compartment.id]
            parcel_box.blockSignals(True)
            parcel_box.setChecked(occupied)
            parcel_box.blockSignals(False)
        for board, box in zip(self._boards, self._board_boxes, strict=True):
            box.blockSignals(True)
            box.setChecked(self.simulator.connected(board))
            box.blockSignals(False)

    def closeEvent(self, event: object) -> None:
        self.simulator.remove_listener(self._on_simulator_event)
        super().closeEvent(event)  # type: ignore[arg-type]

"""The demo's simulator console: what a tester does there reaches the simulated boards, and back."""

from __future__ import annotations

from PySide6.QtCore import Qt

from hal.lockboard.kerong.simulator import KerongSimulator
from kiosk.config import load_config
from kiosk.testing.plugin import DEMO_CONFIG
from kiosk.testing.sim_console import SimulatorConsole


def test_the_console_plays_the_physical_locker(qtbot):
    layout = load_config(DEMO_CONFIG).compartments
    simulator = KerongSimulator(boards=2)
    console = SimulatorConsole(simulator, layout)
    qtbot.addWidget(console)
    try:
        door = console.findChild(type(console._door_buttons["B03"]), "sim_door_B03")
        qtbot.mouseClick(door, Qt.MouseButton.LeftButton)
        assert simulator.door_open(0, 9)
        qtbot.waitUntil(lambda: door.text() == "Close door")
        qtbot.mouseClick(door, Qt.MouseButton.LeftButton)
        assert not simulator.door_open(0, 9)

        console.findChild(type(console._jam_boxes["C01"]), "sim_jam_C01").setChecked(True)
        assert simulator.snapshot()[1][1].jammed
        console._board_boxes[1].setChecked(False)
        assert not simulator.connected(1)

        simulator.set_occupied(0, 1, True)  # a change made elsewhere shows up in the console
        qtbot.waitUntil(lambda: console._parcel_boxes["A01"].isChecked())
        for widget in (door, *console._jam_boxes.values(), *console._parcel_boxes.values()):
            assert widget.objectName() and widget.accessibleName()
    finally:
        console.close()
        simulator.stop()

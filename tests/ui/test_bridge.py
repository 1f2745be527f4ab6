"""CoreBridge: core's listener calls become Qt signals on the GUI thread; intents go to the flows."""

from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot
from ui_rig import RecordingFlows

from kiosk.core.flows.api import FlowListener
from kiosk.core.flows.views import Intent, LockedOutView, Screen, ScreenId
from kiosk.core.model import DoorState, ProblemKind
from kiosk.ui.bridge import CoreBridge


def test_the_bridge_listens_to_the_flows_it_is_given() -> None:
    flows = RecordingFlows()
    bridge = CoreBridge(flows)
    listener: FlowListener = bridge  # the Protocol is satisfied by the real class
    assert flows._listeners == [listener]
    assert bridge.flows is flows
    assert bridge.current_screen() == flows.screen


def test_screen_and_door_changes_are_reemitted_as_signals(qtbot: QtBot) -> None:
    flows = RecordingFlows()
    bridge = CoreBridge(flows)
    screen = Screen(ScreenId.LOCKED_OUT, LockedOutView(seconds_left=90))
    with qtbot.waitSignal(bridge.screen_changed, timeout=1000) as screen_signal:
        flows.show(screen)
    assert screen_signal.args == [screen]
    with qtbot.waitSignal(bridge.door_changed, timeout=1000) as door_signal:
        bridge.on_door("A07", DoorState.OPEN)
    assert door_signal.args == ["A07", DoorState.OPEN]


def test_a_change_reported_from_another_thread_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    bridge = CoreBridge(RecordingFlows())
    received_on: list[QThread] = []
    bridge.door_changed.connect(lambda _door, _state: received_on.append(QThread.currentThread()))
    worker = threading.Thread(target=bridge.on_door, args=("B02", DoorState.CLOSED))
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive()
    qtbot.waitUntil(lambda: bool(received_on), timeout=2000)
    assert received_on == [bridge.thread()]


def test_send_forwards_the_intent_with_its_arguments() -> None:
    flows = RecordingFlows()
    bridge = CoreBridge(flows)
    bridge.send(Intent.SUBMIT_CODE, code="123456")
    bridge.send(Intent.CHOOSE_PROBLEM, kind=ProblemKind.DAMAGED)
    assert flows.intents == [
        (Intent.SUBMIT_CODE, {"code": "123456"}),
        (Intent.CHOOSE_PROBLEM, {"kind": ProblemKind.DAMAGED}),
    ]


class FailingFlows(RecordingFlows):
    def intent(self, intent: Intent, **arguments: object) -> None:
        raise ValueError("no such parcel")


def test_a_failure_in_the_flows_is_logged_not_raised_into_qt(caplog: pytest.LogCaptureFixture) -> None:
    bridge = CoreBridge(FailingFlows())
    with caplog.at_level(logging.ERROR, logger="kiosk.ui.bridge"):
        bridge.send(Intent.OPEN_PARCEL, parcel_id="p-1")
    assert "OPEN_PARCEL" in caplog.text
    assert "no such parcel" in caplog.text

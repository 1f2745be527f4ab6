"""Camera frames on their way to the screen: from the camera's thread to the GUI thread, one at a time,
only while the scan screen shows; a slow screen drops frames instead of queueing them."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QThread
from pytestqt.qtbot import QtBot
from ui_rig import Kiosk, RecordingFlows

from kiosk.core.flows.views import HomeView, PickupScanView, ScreenId
from kiosk.ui import bridge as bridge_module
from kiosk.ui.bridge import CoreBridge
from kiosk.ui.camera_preview import CameraPreview


def frame(value: int = 128) -> np.ndarray:
    return np.full((480, 640, 3), value, dtype=np.uint8)


def offer_from_a_thread(bridge: CoreBridge, frames: list[np.ndarray]) -> None:
    worker = threading.Thread(target=lambda: [bridge.offer_frame(f) for f in frames], name="camera")
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()


def test_a_frame_offered_on_the_cameras_thread_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    bridge = CoreBridge(RecordingFlows())
    received: list[tuple[object, QThread]] = []
    bridge.frame_ready.connect(lambda image: received.append((image, QThread.currentThread())))
    bridge.set_preview_wanted(True)
    picture = frame()
    offer_from_a_thread(bridge, [picture])
    qtbot.waitUntil(lambda: bool(received), timeout=2000)
    assert received == [(picture, bridge.thread())]


def test_frames_are_dropped_not_queued_until_the_last_one_is_shown(qtbot: QtBot) -> None:
    bridge = CoreBridge(RecordingFlows())
    received: list[object] = []
    bridge.frame_ready.connect(received.append)
    bridge.set_preview_wanted(True)
    offer_from_a_thread(bridge, [frame(v) for v in range(50)])
    qtbot.waitUntil(lambda: bool(received), timeout=2000)
    QCoreApplication.processEvents()
    assert len(received) == 1  # the other 49 never reached the GUI thread's queue
    assert bridge.preview_frames_dropped == 49
    bridge.frame_shown()
    offer_from_a_thread(bridge, [frame(200)])
    qtbot.waitUntil(lambda: len(received) == 2, timeout=2000)


def test_no_frame_travels_while_no_screen_shows_the_camera(qtbot: QtBot) -> None:
    bridge = CoreBridge(RecordingFlows())
    received: list[object] = []
    bridge.frame_ready.connect(received.append)
    offer_from_a_thread(bridge, [frame() for _ in range(5)])
    QCoreApplication.processEvents()
    assert received == []
    assert bridge.preview_frames_dropped == 0  # nobody was waiting: nothing was lost


def test_a_frame_never_painted_does_not_stop_the_preview_for_good(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bridge = CoreBridge(RecordingFlows())
    received: list[object] = []
    bridge.frame_ready.connect(received.append)
    bridge.set_preview_wanted(True)
    monkeypatch.setattr(bridge_module, "FRAME_LOST_AFTER_S", 0.0)
    offer_from_a_thread(bridge, [frame(), frame()])
    qtbot.waitUntil(lambda: len(received) == 2, timeout=2000)


def test_a_camera_thread_still_offering_after_the_bridge_is_gone_does_no_harm(qtbot: QtBot) -> None:
    bridge = CoreBridge(RecordingFlows())
    bridge.set_preview_wanted(True)
    offer = bridge.offer_frame  # what the camera holds on to
    bridge.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    failures: list[BaseException] = []

    def camera() -> None:
        try:
            offer(frame())
        except BaseException as error:  # whatever it is, the test must see it
            failures.append(error)

    worker = threading.Thread(target=camera, name="camera")
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert failures == []


def test_the_scan_screen_paints_every_frame_it_is_sent_and_drops_the_rest(
    kiosk_ui: Kiosk, qtbot: QtBot
) -> None:
    bridge = kiosk_ui.bridge
    assert not bridge.preview_wanted()
    kiosk_ui.show(ScreenId.PICKUP_SCAN, PickupScanView())
    assert bridge.preview_wanted()
    preview = kiosk_ui.widget("camera_preview")
    assert isinstance(preview, CameraPreview)
    sent: list[object] = []
    bridge.frame_ready.connect(sent.append)
    # Twenty frames at a time while the GUI thread is busy (here: waiting for the camera thread to end):
    # the first of each batch goes to the screen, the other nineteen are dropped on the camera's thread.
    for batch in range(1, 11):
        offer_from_a_thread(bridge, [frame(v) for v in range(20)])
        qtbot.waitUntil(lambda: preview.frames_shown == batch, timeout=2000)  # noqa: B023
        assert len(sent) == batch
    assert bridge.preview_frames_dropped == 10 * 19
    kiosk_ui.show(ScreenId.HOME, HomeView())
    assert not bridge.preview_wanted()
    assert not preview.showing_picture()  # the last visitor's picture is gone with the screen

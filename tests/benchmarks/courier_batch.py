"""`make bench`, the courier part: a 20-parcel drop-off batch on the real kiosk, scans only.

The kiosk runs offscreen against two simulated Kerong boards on a real pseudo-terminal at 19200 baud, with a
simulated 30 fps camera decoding the lobby meanwhile, and the door timings a locker ships with (the Timers
defaults, which the demo config repeats: unlock confirmed 350 ms after the pulse, doors polled every 250 ms).
A courier logs in by showing their badge to the camera, taps "drop off", then scans 20 announced parcels of
mixed sizes with a keyboard-wedge scanner; every door the kiosk opens is shut by the simulator with the
parcel inside (the IR sensor reads it) after holding it open a random part of one poll interval, so doors
shut at any moment of the kiosk's polling, as a courier's do (shut at once, they would all land at the same
moment of it, the one the unlock confirmation sets). A fresh kiosk, store and bus for each run.

Per parcel:
- label scanned (the scanner's burst handed to the kiosk) -> unlock frame at the simulated board;
- the scan intent reaching the flows (the wedge has decided it is a scan) -> unlock frame at the board;
- door shut at the board (its sensor flips) -> courier_scan shown with "deposited" for that parcel, the
  kiosk ready for the next label; and the kiosk's own share of that: the board's status reply that shows
  the door shut -> ready (the rest is the wait for the next door poll);
per batch: taps per parcel (target 0: nobody touches the screen between scans), the longest event-loop
stall, and the whole batch's wall time.

Run alone: `uv run python tests/benchmarks/courier_batch.py`.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from run import StallMeter, kerong_bus_on_a_pty  # noqa: E402  (tests/benchmarks/run.py, beside this file)

from kiosk.config import CameraConfig  # noqa: E402
from kiosk.core.flows.views import CourierNotice, CourierScanView, Intent, Screen, ScreenId  # noqa: E402
from kiosk.core.model import DoorState, Timers  # noqa: E402

RUNS = 3
BADGE_SECRET = "BENCHBADGE000000000001"
COURIER_ID = "C-BENCH"
# 20 parcels the demo layout (8 S, 8 M, 4 L, 4 XL) takes each in a compartment of its own size, sizes mixed
# as a van's load comes; every sixth for a recipient who needs a compartment within reach of a wheelchair.
BATCH_SIZES = ("S", "M", "L", "S", "XL", "M", "S", "M", "L", "S", "XL", "M", "S", "M", "XL", "S", "L", "M",
               "S", "M")
SHIPPED = Timers()
DOOR_TIMERS = {
    "unlock_confirm_s": SHIPPED.unlock_confirm_s,
    "door_poll_s": SHIPPED.door_poll_s,
    "board_scan_s": SHIPPED.board_scan_s,
}
CAMERA_FPS = CameraConfig("sim://unused").fps  # the kiosk's default camera rate
KERONG_STATUS_REPLY = 0x35

Report = Callable[[str, list[float], str, str], None]


@dataclasses.dataclass
class BatchFigures:
    handed_to_unlock_ms: list[float] = dataclasses.field(default_factory=list)
    intent_to_unlock_ms: list[float] = dataclasses.field(default_factory=list)
    closed_to_ready_ms: list[float] = dataclasses.field(default_factory=list)
    reply_to_ready_ms: list[float] = dataclasses.field(default_factory=list)
    taps_per_parcel: list[float] = dataclasses.field(default_factory=list)
    stall_ms: list[float] = dataclasses.field(default_factory=list)
    batch_s: list[float] = dataclasses.field(default_factory=list)
    held_s: list[float] = dataclasses.field(default_factory=list)  # of batch_s: doors held open by the bench


class BoardWatch:
    """The moments the simulated boards see a door shut and send status replies, from their event listener
    (called on the serving thread for frames, on the caller's for a door pushed shut)."""

    def __init__(self, simulator: Any) -> None:
        from hal.lockboard.kerong.simulator import EventKind, SimEvent

        self._lock = threading.Lock()
        self._hook_closed_bit = simulator.hook_closed_bit
        self._closed_at: dict[tuple[int, int], float] = {}
        self._replies: list[tuple[int, float, int]] = []  # board, when it left, its hook bits
        door, frame_out = EventKind.DOOR, EventKind.FRAME_OUT

        def on_event(event: SimEvent) -> None:
            frame = event.frame
            if event.kind is door and event.value is False and event.board is not None and event.lock:
                with self._lock:
                    self._closed_at[event.board, event.lock] = event.at
            elif event.kind is frame_out and len(frame) == 9 and frame[2] == KERONG_STATUS_REPLY:
                with self._lock:
                    self._replies.append((frame[1] >> 4, event.at, frame[3] | frame[4] << 8))

        simulator.add_listener(on_event)

    def closed_at(self, board: int, lock: int) -> float | None:
        with self._lock:
            return self._closed_at.get((board, lock))

    def first_reply_showing_shut(self, board: int, lock: int, since: float) -> float | None:
        """When `board` first sent, after `since`, a status reply that reads `lock`'s door shut (announced
        before the kiosk could read it). Not simply the first reply: one to a read that arrived just before
        the door shut still reads it open."""
        with self._lock:
            return next((at for number, at, hooks in self._replies
                         if number == board and at >= since
                         and (hooks >> (lock - 1)) & 1 == self._hook_closed_bit), None)


class FlowsWatch:
    """When the scan intent reached the kiosk's flows, and when courier_scan came back with a label's
    parcel deposited. The intent is timed by wrapping the controller's own intent() on this one instance
    (the bridge looks it up on every call); screens through the controller's listener interface, which
    calls listeners in order, so the window (the bridge came first) already shows what a listener sees."""

    def __init__(self, controller: Any, window_screen: Callable[[], str]) -> None:
        self.scan_intent_at: float | None = None
        self._deposited_at: dict[str, float] = {}
        self._window_screen = window_screen
        self._controller = controller
        handle = controller.intent

        def timed_intent(intent: Intent, **arguments: object) -> None:
            if intent is Intent.SCAN and self.scan_intent_at is None:
                self.scan_intent_at = time.monotonic()
            handle(intent, **arguments)

        controller.intent = timed_intent
        controller.add_listener(self)

    def detach(self) -> None:
        del self._controller.intent  # the class's own method again
        self._controller.remove_listener(self)

    def deposited_at(self, label: str) -> float | None:
        return self._deposited_at.get(label)

    def on_screen(self, screen: Screen) -> None:
        view = screen.view
        if (screen.id is ScreenId.COURIER_SCAN and isinstance(view, CourierScanView)
                and view.notice is CourierNotice.DEPOSITED and view.notice_parcel is not None
                and view.notice_parcel not in self._deposited_at
                and self._window_screen() == ScreenId.COURIER_SCAN.value):
            self._deposited_at[view.notice_parcel] = time.monotonic()

    def on_door(self, compartment_id: str, state: DoorState) -> None:
        pass


def run_batch(figures: BatchFigures, run_number: int) -> None:
    """One fresh kiosk, store and bus; a courier logs in and drops BATCH_SIZES, one parcel a scan."""
    from kiosk.testing.driver import KioskDriver
    from kiosk.testing.plugin import make_test_config

    simulator, device, unlocks = kerong_bus_on_a_pty()
    boards = BoardWatch(simulator)
    with tempfile.TemporaryDirectory() as scratch:
        config = make_test_config(Path(scratch), bus_url=device, timers=DOOR_TIMERS)
        camera = CameraConfig("sim://bench-courier-camera", fps=CAMERA_FPS)
        config = dataclasses.replace(config, camera=camera)
        address = {compartment.id: (compartment.board, compartment.lock)
                   for compartment in config.compartments}
        holding = random.Random(run_number)  # the same hold times every time the bench runs
        kiosk = KioskDriver(config, simulator)
        flows = FlowsWatch(kiosk.app.flows, kiosk.screen)
        try:
            courier = kiosk.seed_courier(badge=BADGE_SECRET, courier_id=COURIER_ID, pin="2468")
            labels = [f"JJD{run_number:02d}{index:08d}" for index in range(len(BATCH_SIZES))]
            parcels = [kiosk.seed_expected(barcode=label, size=size, accessible=index % 6 == 5,
                                           recipient=f"Recipient {index + 1}")
                       for index, (label, size) in enumerate(zip(labels, BATCH_SIZES, strict=True))]
            kiosk.sim.set_ir_on_close(True)
            assert courier.badge_qr is not None
            kiosk.camera.show_qr(courier.badge_qr)
            kiosk.wait_screen("courier_menu", timeout=10)
            kiosk.camera.clear()
            kiosk.tap("courier_dropoff_button")
            kiosk.wait_screen("courier_scan")

            stalls = StallMeter()
            taps_before = kiosk.taps
            stalls.start()
            batch_started = time.monotonic()
            held = 0.0
            for label in labels:
                unlocks.clear()
                flows.scan_intent_at = None
                handed = time.monotonic()
                kiosk.scanner.scan(label)
                kiosk.wait_until(unlocks.seen.is_set, what=f"the unlock frame for label {label}")
                unlocked = unlocks.at[0]
                intent_at = flows.scan_intent_at
                if intent_at is None:
                    raise RuntimeError(f"the door opened for {label} with no scan intent seen")
                figures.handed_to_unlock_ms.append((unlocked - handed) * 1000)
                figures.intent_to_unlock_ms.append((unlocked - intent_at) * 1000)
                in_flight = list(kiosk.app.locker.unfinished())
                if len(in_flight) != 1:
                    raise RuntimeError(f"one door in flight expected for {label}, found {in_flight}")
                compartment = in_flight[0]
                kiosk.wait_door_open(compartment)
                opened = time.monotonic()
                held_until = opened + holding.uniform(0, SHIPPED.door_poll_s)
                kiosk.wait_until(lambda held_until=held_until: time.monotonic() >= held_until,
                                 what="the courier putting the parcel in")
                held += time.monotonic() - opened
                kiosk.sim.close_door(compartment)
                kiosk.wait_until(lambda label=label: flows.deposited_at(label) is not None,
                                 what=f"courier_scan saying {label} is deposited")
                ready = flows.deposited_at(label)
                board, lock = address[compartment]
                closed = boards.closed_at(board, lock)
                assert ready is not None
                if closed is None:
                    raise RuntimeError(f"the simulator never reported door {compartment} shut")
                reply = boards.first_reply_showing_shut(board, lock, closed)
                if reply is None:
                    raise RuntimeError(f"no status reply of board {board} read door {compartment} shut")
                figures.closed_to_ready_ms.append((ready - closed) * 1000)
                figures.reply_to_ready_ms.append((ready - reply) * 1000)
            figures.batch_s.append(time.monotonic() - batch_started)
            figures.held_s.append(held)
            figures.stall_ms.append(stalls.stop())
            figures.taps_per_parcel.append((kiosk.taps - taps_before) / len(labels))

            misplaced = [(parcel.id, kiosk.parcel(parcel.id).state) for parcel in parcels
                         if kiosk.parcel(parcel.id).state != "in_locker"]
            if misplaced:
                raise RuntimeError(f"parcels not deposited after the batch: {misplaced}")
        finally:
            flows.detach()
            kiosk.shutdown()
            simulator.stop()


def measure() -> BatchFigures:
    from PySide6.QtWidgets import QApplication

    from kiosk.testing.driver import qasync_loop_on

    application = QApplication.instance() or QApplication([])
    assert isinstance(application, QApplication)
    figures = BatchFigures()
    with qasync_loop_on(application):
        for run_number in range(RUNS):
            run_batch(figures, run_number)
    return figures


def run(report: Report) -> None:
    figures = measure()
    poll_ms = SHIPPED.door_poll_s * 1000
    parcels = len(BATCH_SIZES)
    print(f"courier batch: {RUNS} runs of {parcels} parcels, scans only; doors polled every {poll_ms:.0f} "
          f"ms, unlock confirmed {SHIPPED.unlock_confirm_s * 1000:.0f} ms after the pulse")
    report("courier: label scanned -> unlock frame", figures.handed_to_unlock_ms, "ms", "p95 <= 15 ms")
    report("courier: scan intent -> unlock frame (pty)", figures.intent_to_unlock_ms, "ms", "p95 <= 15 ms")
    report("courier: door shut -> ready for next scan", figures.closed_to_ready_ms, "ms",
           f"<= poll {poll_ms:.0f} ms + 15 ms")
    report("courier: closed status reply -> ready", figures.reply_to_ready_ms, "ms", "p95 <= 15 ms")
    report("courier: taps per parcel in the batch", figures.taps_per_parcel, "", "0")
    report("courier: longest event-loop stall per batch", figures.stall_ms, "ms", "<= 50 ms")
    report(f"courier: wall time of a {parcels}-parcel batch", figures.batch_s, "s",
           f"of it, doors held open {statistics.median(figures.held_s):.1f} s")


if __name__ == "__main__":
    import os

    import run as bench  # tests/benchmarks/run.py: the shared report format

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    run(bench.report)

"""The QA driver: the real kiosk, offscreen, on a temporary store and a simulated bus, driven as a person
would.

Scenarios use it through the `kiosk` fixture of the pytest plugin (kiosk.testing.plugin):

    def test_pickup(kiosk):
        parcel = kiosk.seed_parcel(size="M", code="123456")
        kiosk.tap("pickup_button")
        kiosk.type_code("123456")
        kiosk.wait_screen("door_open")
        kiosk.sim.close_door(parcel.compartment)
        kiosk.wait_screen("thank_you")
        assert kiosk.parcel(parcel.id).state == "picked_up"
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

from hal.lockboard.base import SimulatedBoards
from kiosk.app import KioskApp
from kiosk.config import KioskConfig
from kiosk.core.clock import ManualClock
from kiosk.core.codes import generate_code
from kiosk.core.inventory import place_parcel
from kiosk.core.model import AuditEntry, Compartment, Size
from kiosk.core.payloads import pickup_payload
from kiosk.ui.bridge import CoreBridge
from kiosk.ui.i18n import Translator
from kiosk.ui.main_window import MainWindow
from kiosk.ui.theme import apply_theme

if TYPE_CHECKING:
    from hal.camera.simulated import SimulatedCamera

T = TypeVar("T")


class ScenarioError(AssertionError):
    """A scenario step could not be done as a person would (no such button, wrong screen, timeout)."""


@dataclass(frozen=True)
class SeededParcel:
    id: str
    compartment: str
    code: str
    size: str
    recipient: str


@dataclass(frozen=True)
class ParcelView:
    id: str
    state: str
    compartment: str | None
    size: str
    recipient: str


@dataclass(frozen=True)
class CompartmentView:
    id: str
    size: str
    height_cm: int
    state: str
    board: int
    lock: int


POLL_MS = 5


@contextlib.contextmanager
def qasync_loop_on(application: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """An asyncio loop (qasync) riding on an application whose Qt loop is driven by someone else (a test, a
    script): asyncio runs whenever Qt processes events. Unlike qasync's own stop(), leaving it does not call
    QApplication.exit(), which would make every later nested Qt event loop of the process return at once."""
    import qasync

    loop = qasync.QEventLoop(application, already_running=True)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        application.aboutToQuit.disconnect(loop._after_run_forever)
        loop._QEventLoop__is_running = False  # what stop() does, minus exit()
        loop._after_run_forever()
        asyncio.events._set_running_loop(None)
        # A callback scheduled for later (a cancelled timeout, a retry not yet due) keeps its Qt timer after
        # close(); firing into a loop that is gone, it crashed a later test. Kill them with the loop.
        timer = loop._timer
        pending = timer._SimpleTimer__callbacks
        for timer_id in list(pending):
            timer.killTimer(timer_id)
        pending.clear()
        loop.close()
        asyncio.set_event_loop(None)


def _run_qt_for(milliseconds: int) -> None:
    """Let Qt (and the qasync loop riding on it) dispatch events for a while. A nested QEventLoop releases
    the GIL while idle; QTest.qWait (and so qtbot.waitUntil) holds it, which would stall the bus worker
    thread for the whole wait and distort every latency the scenarios and benchmarks see."""
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def wait_until(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    """Let Qt and asyncio run until `condition` holds; fail with `describe()` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise ScenarioError(describe())
        _run_qt_for(POLL_MS)


class SimulatorHandle:
    """The simulated boards, addressed by compartment id as a tester thinks of them."""

    def __init__(self, simulator: SimulatedBoards, layout: tuple[Compartment, ...]) -> None:
        self.simulator = simulator
        self._by_id = {compartment.id: compartment for compartment in layout}

    def _address(self, compartment_id: str) -> tuple[int, int]:
        try:
            compartment = self._by_id[compartment_id]
        except KeyError:
            raise ScenarioError(f"no compartment {compartment_id!r}; known: {sorted(self._by_id)}") from None
        return compartment.board, compartment.lock

    def close_door(self, compartment_id: str) -> None:
        self.simulator.close_door(*self._address(compartment_id))

    def open_door(self, compartment_id: str) -> None:
        self.simulator.open_door(*self._address(compartment_id))

    def jam(self, compartment_id: str, jammed: bool = True) -> None:
        self.simulator.jam(*self._address(compartment_id), jammed)

    def ir(self, compartment_id: str, present: bool = True) -> None:
        self.simulator.set_occupied(*self._address(compartment_id), present)

    def disconnect(self) -> None:
        self.simulator.set_connected(False)

    def reconnect(self) -> None:
        self.simulator.set_connected(True)

    def door_open(self, compartment_id: str) -> bool:
        return self.simulator.door_open(*self._address(compartment_id))


class CameraHandle:
    """The simulated camera: hold things up to it as a person in front of the kiosk would."""

    def __init__(self, camera: SimulatedCamera) -> None:
        self.simulator = camera

    def show_qr(self, payload: str) -> None:
        """A phone showing a QR code with this payload (e.g. kiosk.pickup_qr(code))."""
        self.simulator.show_qr(payload)

    def show_code(self, symbology: str, payload: str) -> None:
        """A printed code of any symbology the kiosk reads ("QR", "CODE128", "EAN13", ...)."""
        from hal.codes import Symbology

        try:
            kind = Symbology(symbology.upper())
        except ValueError:
            known = ", ".join(member.value for member in Symbology)
            raise ScenarioError(f"unknown symbology {symbology!r}; known: {known}") from None
        self.simulator.show_code(kind, payload)

    def show_image(self, path: str | Path) -> None:
        self.simulator.show_image(path)

    def clear(self) -> None:
        """Nothing held up: the camera sees the lobby."""
        self.simulator.clear()

    def disconnect(self) -> None:
        self.simulator.set_connected(False)

    def reconnect(self) -> None:
        self.simulator.set_connected(True)


class ScannerHandle:
    """A keyboard-wedge barcode scanner plugged into the kiosk: a scan types a burst of keys and Enter."""

    def __init__(self, driver: KioskDriver) -> None:
        self._driver = driver

    def scan(self, text: str) -> None:
        from kiosk.ui.wedge import send_scanner_burst

        target = QApplication.focusWidget() or self._driver.window
        send_scanner_burst(target, text)
        QCoreApplication.processEvents()


class KioskDriver:
    """One running kiosk with its window; every method acts or looks as a person at the screen would."""

    def __init__(
        self,
        config: KioskConfig,
        simulator: SimulatedBoards | None,
        *,
        clock: ManualClock | None = None,
        size: tuple[int, int] = (1280, 800),
        platform: Any = None,
    ) -> None:
        self.config = config
        self._platform = platform
        # Starting at the real time: a platform (a real server with a real clock) judges the kiosk's times.
        self.clock = clock or ManualClock(start=time.time())
        self.app = KioskApp(config, clock=self.clock, simulator=simulator)
        # None when the boards are real or served by another process: the sim handle is then unusable.
        self._sim = SimulatorHandle(simulator, config.compartments) if simulator is not None else None
        application = QApplication.instance()
        assert isinstance(application, QApplication), (
            "the kiosk fixture needs a QApplication (pytest-qt qapp)"
        )
        self.application = application
        apply_theme(application, "light")
        self.translator = Translator(application)
        self.bridge = CoreBridge(self.app.flows)
        self.window = MainWindow(
            self.bridge,
            translator=self.translator,
            default_language=config.locker.default_language,
            windowed=True,
        )
        self.window.resize(*size)
        self.app.add_frame_listener(self.bridge.offer_frame)
        self.window.show()
        self.run(self.app.start())
        self.run(self.app.camera_ready.wait(), timeout=30.0)  # the first kiosk of a run imports OpenCV
        self.scanner = ScannerHandle(self)

    @property
    def platform(self) -> Any:
        """The fake platform this kiosk syncs with (kiosk_factory(platform=True)): add_expected_parcel,
        add_courier, add_return, add_command, events(), heartbeats(), set_faults(...)."""
        if self._platform is None:
            raise ScenarioError("this kiosk has no platform: make it with kiosk_factory(platform=True)")
        return self._platform

    @property
    def camera(self) -> CameraHandle:
        if self.app.sim_camera is None:
            raise ScenarioError("this kiosk has no simulated camera (config [camera] source = \"sim://NAME\")")
        return CameraHandle(self.app.sim_camera)

    def pickup_qr(self, code: str) -> str:
        """The payload of the pickup QR code that the recipient of `code` gets in their message."""
        return pickup_payload(self.config.locker.id, code)

    @property
    def sim(self) -> SimulatorHandle:
        if self._sim is None:
            raise ScenarioError("this kiosk runs without an in-process simulator")
        return self._sim

    # running ------------------------------------------------------------------------------------
    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the kiosk's event loop while Qt keeps processing events."""
        future = asyncio.ensure_future(coroutine)
        wait_until(future.done, timeout, lambda: f"coroutine {coroutine!r} did not finish in {timeout} s")
        return future.result()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        wait_until(condition, timeout, lambda: f"timed out after {timeout} s waiting for {what or condition}")

    def shutdown(self) -> None:
        self.window.close()
        self.window.deleteLater()
        self.run(self.app.stop())
        self.translator.uninstall()  # the translator belongs to the application, which outlives this kiosk
        self.bridge.deleteLater()
        QCoreApplication.processEvents()

    # the screen ---------------------------------------------------------------------------------
    def screen(self) -> str:
        return self.window.current_screen_id()

    def wait_screen(self, screen_id: str, timeout: float = 5.0) -> None:
        wait_until(
            lambda: self.screen() == screen_id,
            timeout,
            lambda: f"expected screen {screen_id!r} within {timeout} s, still on {self.screen()!r}",
        )

    def _current_screen_widget(self) -> QWidget:
        widget = self.window.findChild(QWidget, self.screen())
        assert widget is not None
        return widget

    def widget(self, object_name: str) -> QWidget:
        """The visible widget with this objectName on the current screen (or anywhere in the window)."""
        screen = self._current_screen_widget()
        candidates = [w for w in screen.findChildren(QWidget, object_name) if w.isVisible()]
        if not candidates:
            candidates = [w for w in self.window.findChildren(QWidget, object_name) if w.isVisible()]
        if not candidates:
            visible = sorted(
                {
                    w.objectName()
                    for w in screen.findChildren(QAbstractButton)
                    if w.isVisible() and w.objectName()
                }
            )
            raise ScenarioError(
                f"no visible {object_name!r} on screen {self.screen()!r}; buttons there: {visible}"
            )
        return candidates[0]

    def text(self, object_name: str | None = None) -> str:
        """All visible text of the current screen (or of one widget): what a person can read."""
        from PySide6.QtWidgets import QLabel

        root = self.widget(object_name) if object_name else self._current_screen_widget()
        parts = []
        for child in [root, *root.findChildren(QWidget)]:
            if not child.isVisible():
                continue
            if isinstance(child, QLabel | QAbstractButton):
                parts.append(child.text())
        return "\n".join(part for part in parts if part)

    def visible_names(self) -> set[str]:
        """objectNames of every visible widget on the current screen."""
        return {w.objectName() for w in self._current_screen_widget().findChildren(QWidget) if w.isVisible()}

    def tap(self, object_name: str) -> None:
        widget = self.widget(object_name)
        if not widget.isEnabled():
            raise ScenarioError(f"{object_name!r} on screen {self.screen()!r} is disabled")
        QTest.mouseClick(
            widget,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            QPoint(widget.width() // 2, widget.height() // 2),
        )
        QCoreApplication.processEvents()

    def type_code(self, code: str) -> None:
        for digit in code:
            self.tap(f"key_{digit}")
        self.tap("key_ok")

    # the locker ---------------------------------------------------------------------------------
    def seed_parcel(
        self, size: str = "M", code: str | None = None, recipient: str = "Test Recipient",
        parcel_id: str | None = None, resident_id: int | None = None,
    ) -> SeededParcel:
        code = code or generate_code()
        parcel = place_parcel(
            self.app.store,
            self.clock,
            self.app.secrets.code_key,
            size=Size(size),
            code=code,
            recipient=recipient,
            parcel_id=parcel_id,
            notify_resident=resident_id,
            locker_id=self.config.locker.id,
        )
        self.app.nudge()  # its events (and a resident's mail) go at once
        assert parcel.compartment_id is not None
        if self._sim is not None:
            self._sim.ir(parcel.compartment_id, True)
        return SeededParcel(parcel.id, parcel.compartment_id, code, size, recipient)

    def parcel(self, parcel_id: str) -> ParcelView:
        parcel = self.app.store.parcel(parcel_id)
        return ParcelView(
            parcel.id, parcel.state.value, parcel.compartment_id, parcel.size.value, parcel.recipient
        )

    def compartments(self) -> list[str]:
        return [compartment.id for compartment in self.config.compartments]

    def compartment(self, compartment_id: str) -> CompartmentView:
        status = self.app.store.compartment(compartment_id)
        layout = status.compartment
        return CompartmentView(
            layout.id, layout.size.value, layout.height_cm, status.state.value, layout.board, layout.lock
        )

    def door(self, compartment_id: str) -> str:
        """The physical door, as the simulated board's sensors see it."""
        return "open" if self.sim.door_open(compartment_id) else "closed"

    def wait_door_open(self, compartment_id: str, timeout: float = 5.0) -> None:
        """Wait until the door is physically open AND the kiosk has confirmed it by a status read, the moment
        a person at the locker would see "door A07 is open" and reach for the parcel."""
        from kiosk.core.model import JournalPhase

        self.wait_until(
            lambda: (
                (self._sim is None or self._sim.door_open(compartment_id))
                and self.app.locker.unfinished().get(compartment_id) is JournalPhase.OPENED
            ),
            timeout,
            what=f"door {compartment_id} open and confirmed by the kiosk",
        )

    def open_doors(self) -> list[str]:
        return [cid for cid in self.compartments() if self.sim.door_open(cid)]

    def audit(self) -> list[AuditEntry]:
        return list(self.app.store.audit_log())

    def audit_kinds(self) -> list[str]:
        return [entry.kind for entry in self.audit()]

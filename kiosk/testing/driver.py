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

Courier mode and returns are seeded the way the platform announces them (through the store's sync path, or,
for a kiosk_factory(platform=True) kiosk, on the fake platform and then synced):

    def test_a_courier_drops_a_parcel(kiosk):
        kiosk.seed_courier(badge="QABADGE000000001", courier_id="C-7", pin="2468")
        parcel = kiosk.seed_expected(barcode="JJD000111", size="M")
        kiosk.sim.set_ir_on_close(True)       # a deposit door closed by the simulator has the parcel in it
        kiosk.camera.show_qr(kiosk.badge_qr("C-7", "QABADGE000000001"))
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

from hal.lockboard.base import SimulatedBoards
from kiosk.app import KioskApp, courier_password_hash
from kiosk.config import KioskConfig
from kiosk.core.clock import ManualClock
from kiosk.core.codes import generate_code
from kiosk.core.couriers import return_code_hash
from kiosk.core.inventory import place_parcel
from kiosk.core.model import AuditEntry, Compartment, ExpectedParcel, PickupWindow, Size
from kiosk.core.payloads import courier_badge_payload, pickup_payload, return_payload
from kiosk.store import StoreError
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
    state: str  # expected, in_locker, picked_up, expired, collected, returned
    compartment: str | None
    size: str
    recipient: str
    barcode: str | None = None
    accessible: bool = False


@dataclass(frozen=True)
class SeededCourier:
    courier_id: str
    pin: str
    badge: str | None  # the secret printed in the badge's QR code
    display_name: str
    badge_qr: str | None  # the payload of the badge's QR code (None without a badge)


@dataclass(frozen=True)
class SeededReturn:
    return_id: str
    parcel_id: str  # the id the returned parcel will carry once deposited
    code: str
    size: str
    qr: str  # the payload of the return QR code


@dataclass(frozen=True)
class CompartmentView:
    id: str
    size: str
    height_cm: int
    state: str
    board: int
    lock: int


POLL_MS = 5
_COURIER_ID = re.compile(r"[A-Z0-9-]{1,32}")  # the contract's CourierId, as a badge carries it
_BADGE_SECRET = re.compile(r"[A-Z0-9]{16,64}")
_RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # the contract's ParcelId and RecordId


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
    """The simulated boards, addressed by compartment id as a tester thinks of them.

    `prepare_close(compartment_id)` sets the IR sensor as the person closing that door leaves it (the kiosk's
    KioskApp.prepare_ir_for_closing); close_door() calls it first once set_ir_on_close(True) was called.
    """

    def __init__(
        self, simulator: SimulatedBoards, layout: tuple[Compartment, ...],
        prepare_close: Callable[[str], object] | None = None,
    ) -> None:
        self.simulator = simulator
        self._by_id = {compartment.id: compartment for compartment in layout}
        self._prepare_close = prepare_close
        self._ir_on_close = False

    def _address(self, compartment_id: str) -> tuple[int, int]:
        try:
            compartment = self._by_id[compartment_id]
        except KeyError:
            raise ScenarioError(f"no compartment {compartment_id!r}; known: {sorted(self._by_id)}") from None
        return compartment.board, compartment.lock

    def close_door(self, compartment_id: str, *, ir: bool | None = None) -> None:
        """Shut the door. `ir` sets what its IR sensor reads first (True: a parcel inside), whatever
        set_ir_on_close says: e.g. a courier who shut a deposit door without putting the parcel in."""
        address = self._address(compartment_id)
        # Before the door shuts: the kiosk's next status read must see the door and the sensor together.
        if ir is not None:
            self.simulator.set_occupied(*address, ir)
        elif self._ir_on_close and self._prepare_close is not None:
            self._prepare_close(compartment_id)
        self.simulator.close_door(*address)

    def set_ir_on_close(self, enabled: bool = True) -> None:
        """From now on, a door closed here reads occupied when the kiosk had it open for a deposit or a
        return, and empty when it had it open for a pickup or a collection (doors it had not opened keep
        what their IR sensor read). Off by default: scenarios then set the sensor with ir()."""
        if enabled and self._prepare_close is None:
            raise ScenarioError("these simulated boards are not the kiosk's: it cannot tell them what a "
                                "closed door holds")
        self._ir_on_close = enabled

    def open_door(self, compartment_id: str) -> None:
        self.simulator.open_door(*self._address(compartment_id))

    def jam(self, compartment_id: str, jammed: bool = True) -> None:
        self.simulator.jam(*self._address(compartment_id), jammed)

    def ir(self, compartment_id: str, present: bool = True) -> None:
        self.simulator.set_occupied(*self._address(compartment_id), present)

    def ir_reads(self, compartment_id: str) -> bool:
        """What the compartment's IR sensor reads now: True for a parcel."""
        return self.simulator.occupied(*self._address(compartment_id))

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

    def show_image(self, path: str | Path, *, height_fraction: float = 0.75) -> None:
        """A still picture held up (a printed photo of a face, say): it never passes face pickup's liveness
        check, however sharp."""
        self.simulator.show_image(path, height_fraction=height_fraction)

    def show_live_face(self, path: str | Path, *, height_fraction: float = 0.75) -> None:
        """The person in this picture standing at the kiosk: a looping sequence made from it, with a blink
        painted over the eyes and a small movement of the head. The kiosk sees only these pixels."""
        try:
            self.simulator.show_live_face(path, height_fraction=height_fraction)
        except ValueError as error:
            raise ScenarioError(f"cannot show a live face from {str(path)!r}: {error}") from None

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
        self._sim = (SimulatorHandle(simulator, config.compartments, self.app.prepare_ir_for_closing)
                     if simulator is not None else None)
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
        # Every tap() made on this kiosk: a benchmark or scenario counts what a flow costs a person in taps.
        self.taps = 0

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

    def badge_qr(self, courier_id: str, secret: str) -> str:
        """The payload of a courier badge's QR code (LK1:C:<COURIER-ID>:<SECRET>)."""
        try:
            return courier_badge_payload(courier_id, secret)
        except ValueError as error:
            raise ScenarioError(f"{error}: a courier id is 1-32 letters, digits or dashes, a badge secret "
                                "16-64 letters or digits") from None

    def return_qr(self, code: str) -> str:
        """The payload of a return QR code (LK1:R:<RETURN-CODE>)."""
        try:
            return return_payload(code)
        except ValueError as error:
            raise ScenarioError(f"{error}: a return code is 8-16 letters or digits") from None

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

    def advance(self, seconds: float) -> None:
        """Move the kiosk's clock on (inactivity, lockouts, pickup windows: `kiosk.advance(73 * 3600)`) and
        let the kiosk handle what fell due, as kiosk.clock.advance() followed by one round of events."""
        self.clock.advance(seconds)
        QCoreApplication.processEvents()

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
        self.taps += 1
        QCoreApplication.processEvents()

    def type_code(self, code: str) -> None:
        for digit in code:
            self.tap(f"key_{digit}")
        self.tap("key_ok")

    # the locker ---------------------------------------------------------------------------------
    def seed_parcel(
        self, size: str = "M", code: str | None = None, recipient: str = "Test Recipient",
        parcel_id: str | None = None, resident_id: int | None = None, *, recipient_ref: str | None = None,
    ) -> SeededParcel:
        """A parcel in the locker with a pickup code. `recipient_ref` is the recipient's stable key, the one a
        face enrolment (seed_face) is made for."""
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
            recipient_ref=recipient_ref,
        )
        self.app.nudge()  # its events (and a resident's mail) go at once
        self.app.follow_face_target()  # as a deposit's door closing would
        assert parcel.compartment_id is not None
        if self._sim is not None:
            self._sim.ir(parcel.compartment_id, True)
        return SeededParcel(parcel.id, parcel.compartment_id, code, size, recipient)

    def seed_courier(
        self, badge: str | None = None, courier_id: str = "C-QA-1", pin: str = "1234", *,
        can_collect: bool = True, display_name: str | None = None,
    ) -> SeededCourier:
        """A courier the kiosk knows as if synced: `pin` kept as a scrypt hash, `badge` (the secret printed in
        the badge's QR code; None for a PIN-only courier) as its keyed hash. Seeding the same id again
        replaces the courier."""
        courier_id = courier_id.upper()  # as in a badge; the kiosk compares ids without regard to case
        if not _COURIER_ID.fullmatch(courier_id):
            raise ScenarioError(f"{courier_id!r} is not a courier id: 1-32 letters, digits or dashes")
        if badge is not None and not _BADGE_SECRET.fullmatch(badge.upper()):
            raise ScenarioError(f"a badge secret is 16-64 letters or digits, not {len(badge)} characters "
                                f"like {badge!r}")
        shown_name = display_name or f"Courier {courier_id}"
        badge_qr = None if badge is None else courier_badge_payload(courier_id, badge)
        if not pin:
            raise ScenarioError("a courier PIN must not be empty")
        if self._platform is not None:
            self._platform.add_courier(courier_id=courier_id, pin=pin, badge_secret=badge,
                                       display_name=shown_name, can_collect=can_collect)
            self._sync_from_platform(f"courier {courier_id}",
                                     lambda: self.app.store.courier(courier_id) is not None)
        else:
            credential = self.app.courier_credential(courier_id, courier_password_hash(pin),
                                                     badge_secret=badge, display_name=shown_name,
                                                     can_collect=can_collect)
            self._apply_locally(couriers=[credential])
        return SeededCourier(courier_id, pin, None if badge is None else badge.upper(), shown_name, badge_qr)

    def seed_expected(
        self, barcode: str, size: str = "M", accessible: bool = False, recipient: str = "Test Recipient", *,
        parcel_id: str | None = None, pickup_window_hours: int | None = None,
    ) -> ParcelView:
        """A parcel the platform announced and a courier will deposit, with the barcode on its label;
        `accessible`: its recipient needs a compartment within reach from a wheelchair. The pickup window is
        the locker's ([courier] pickup_window_hours) unless given. Returns the parcel (state "expected")."""
        size_value = _size(size).value
        if not isinstance(barcode, str) or not barcode.strip():
            raise ScenarioError("a parcel label's barcode must not be empty")
        parcel_id = _record_id(parcel_id or f"PX-QA-{secrets.token_hex(4).upper()}", "parcel id")
        hours = pickup_window_hours
        if hours is None:
            hours = self.config.courier.pickup_window_hours
        if self._platform is not None:
            self._platform.add_expected_parcel(parcel_id=parcel_id, barcode=barcode, size=size_value,
                                               accessible=accessible, recipient=recipient,
                                               pickup_window_hours=hours)
            self._sync_from_platform(f"announced parcel {parcel_id}",
                                     lambda: self.app.store.expected_parcel_by_barcode(barcode) is not None)
        else:
            self._apply_locally(parcels=[ExpectedParcel(parcel_id, barcode, Size(size_value), accessible,
                                                        recipient, PickupWindow(hours, None))])
        return self.parcel(parcel_id)

    def seed_return(
        self, code: str, size: str = "S", *, return_id: str | None = None, parcel_id: str | None = None
    ) -> SeededReturn:
        """A return authorisation for `code` (8-16 letters or digits) as if synced. Returns its ids (the
        parcel id is the one the returned parcel will carry), the code and its QR payload."""
        size_value = _size(size).value
        code_hash = return_code_hash(self.app.secrets.code_key, code)
        if code_hash is None:
            raise ScenarioError(f"{code!r} is not a return code: 8-16 letters or digits")
        suffix = secrets.token_hex(4).upper()
        return_id = _record_id(return_id or f"ret-qa-{suffix.lower()}", "return id")
        parcel_id = _record_id(parcel_id or f"RX-QA-{suffix}", "parcel id")
        if self._platform is not None:
            self._platform.add_return(code=code, size=size_value, return_id=return_id, parcel_id=parcel_id)
            self._sync_from_platform(f"return {return_id}",
                                     lambda: self.app.store.return_by_code_hash(code_hash) is not None)
        else:
            self._apply_locally(return_authorisations=[
                self.app.return_authorisation(code, Size(size_value), return_id, parcel_id)])
        return SeededReturn(return_id, parcel_id, code.upper(), size_value, return_payload(code))

    def seed_face(self, recipient: str, image_paths: Sequence[str | Path]) -> None:
        """Recipient `recipient` (a recipient_ref) consented to face pickup and was enrolled from these
        pictures: one face each, encoded as the kiosk's enrolment would, sealed with the locker's face key."""
        faces = self.app.face_pickup
        if faces is None or faces.vault is None:
            raise ScenarioError("this kiosk has no face pickup: it needs [camera] and a face_key")
        if not image_paths:
            raise ScenarioError("seed_face needs at least one picture")
        import cv2
        import numpy as np

        from hal.face import FaceEncoder

        encoder = FaceEncoder()
        encodings = []
        for path in image_paths:
            image = cv2.imread(str(path)) if Path(path).is_file() else None
            if image is None:
                raise ScenarioError(f"cannot read {str(path)!r} as an image")
            found = encoder.encode(np.asarray(image, dtype=np.uint8))
            if len(found) != 1:
                raise ScenarioError(f"{str(path)!r} shows {len(found)} faces; an enrolment picture shows one")
            encodings.append(tuple(float(value) for value in found[0].encoding))
        self.app.store.save_face(recipient, faces.vault.seal(encodings), self.clock.now())
        self.app.follow_face_target()  # as a deposit's door closing would

    def face_enrolled(self, recipient: str) -> bool:
        """The database holds encodings for this recipient (read with a connection of its own)."""
        import sqlite3

        connection = sqlite3.connect(self.config.locker.database)
        try:
            row = connection.execute("SELECT count(*) FROM face_profiles WHERE recipient_ref = ?",
                                     (recipient,)).fetchone()
        finally:
            connection.close()
        return bool(row[0])

    def _apply_locally(self, **records: Any) -> None:
        try:
            self.app.apply_local_records(**records)
        except (StoreError, ValueError) as error:
            raise ScenarioError(f"the kiosk refused the seeded record: {error}") from None

    def _sync_from_platform(self, what: str, arrived: Callable[[], bool], timeout: float = 15.0) -> None:
        """Have the kiosk sync now and check that `what` came with it."""
        from kiosk.backend.link import SyncFailed

        link = self.app.link
        if link is None:
            raise ScenarioError("this kiosk has a platform but no platform link")
        try:
            self.run(link.sync(), timeout=timeout)
        except SyncFailed as error:
            raise ScenarioError(f"{what}: the kiosk could not sync with the platform: {error}") from None
        if not arrived():
            raise ScenarioError(f"{what} did not reach the kiosk with a completed sync")

    def parcel(self, parcel_id: str) -> ParcelView:
        try:
            parcel = self.app.store.parcel(parcel_id)
        except StoreError as error:
            raise ScenarioError(f"no parcel {parcel_id!r} in the kiosk's store: {error}") from None
        return ParcelView(parcel.id, parcel.state.value, parcel.compartment_id, parcel.size.value,
                          parcel.recipient, parcel.barcode, parcel.accessible)

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


def _size(size: str) -> Size:
    try:
        return Size(size)
    except ValueError:
        raise ScenarioError(f"unknown size {size!r}; one of: {', '.join(s.value for s in Size)}") from None


def _record_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _RECORD_ID.fullmatch(value):
        raise ScenarioError(f"{value!r} is not a {what}: 1-64 letters, digits, '.', '_' or '-', starting "
                            "with a letter or digit")
    return value

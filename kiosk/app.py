"""Composition root: config -> hal, store, flows, ui; the qasync loop.

`KioskApp` wires one kiosk together and is what both `main()` and the QA fixture run, so the tests drive
the same object the locker runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from hal.lockboard import board_range, make_simulator, open_driver, simulator_options
from hal.lockboard.base import SimulatedBoards
from hal.lockboard.simulator_registry import register_simulator, unregister_simulator
from kiosk.backend.standalone import LocalRecord
from kiosk.config import (
    BusConfig,
    ConfigError,
    KioskConfig,
    load_config,
    load_or_create_secrets,
    mail_password,
)
from kiosk.core.clock import AsyncioClock
from kiosk.core.codes import hash_code
from kiosk.core.flows.controller import KioskController
from kiosk.core.flows.views import Intent, PlatformConnection, Screen
from kiosk.core.inventory import place_parcel
from kiosk.core.locker import Locker
from kiosk.core.model import CompartmentState, DoorState, ParcelState, Size
from kiosk.core.ports import Clock
from kiosk.hardware import HalLockBus
from kiosk.store import SqliteStore, StoreError
from kiosk.store.sqlite_store import DEFAULT_OUTBOX_ALARM_DEPTH

if TYPE_CHECKING:  # numpy, OpenCV and the decoders load in the background once the screen is up
    from hal.camera.simulated import SimulatedCamera
    from hal.scanner.serial_scanner import SerialScanner
    from kiosk.backend.delivery import OutboxDelivery
    from kiosk.backend.link import PlatformLink
    from kiosk.backend.remote import CameraHealth
    from kiosk.backend.status import LinkState, LinkStatus
    from kiosk.mail import MailDelivery
    from kiosk.scanning import CameraScanner

log = logging.getLogger("kiosk")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO_ROOT / "resources" / "config" / "demo.toml"
SIM_SCHEME = "sim"


@dataclass(frozen=True)
class DemoParcel:
    parcel_id: str  # fixed, so that `make demo-online`'s platform can name them
    code: str
    size: Size
    recipient: str


# Fixed, printed codes: the demo must be usable by anyone watching, and codes are stored only as hashes.
DEMO_PARCELS = (
    DemoParcel("DEMO-1", "111111", Size.S, "Ada Lovelace"),
    DemoParcel("DEMO-2", "222222", Size.M, "Grace Hopper"),
    DemoParcel("DEMO-3", "222222", Size.L, "Grace Hopper"),
    DemoParcel("DEMO-4", "333333", Size.XL, "Alan Turing"),
)


def simulator_name(bus_url: str) -> str | None:
    """The in-process simulator a `sim://NAME` bus URL asks for, or None for real hardware."""
    parsed = urlparse(bus_url)
    return (parsed.netloc or parsed.path.lstrip("/")) if parsed.scheme == SIM_SCHEME else None


def first_board(protocol: str) -> int:
    """The lowest board address of a protocol's bus (BU boards count from 1; board 0 is not addressable)."""
    return board_range(protocol).start


def driver_options(bus: BusConfig) -> dict[str, object]:
    options: dict[str, object] = {"timeout": bus.timeout_s, "retries": bus.retries, **dict(bus.options)}
    if bus.hook_closed_bit is not None:
        options["hook_closed_bit"] = bus.hook_closed_bit
    return options


def simulator_for(config: KioskConfig) -> SimulatedBoards:
    """A simulated bus of the configured protocol with every board the layout names."""
    # The simulated boards behave as configured: same polarity, same number of locks, same speed.
    accepted = simulator_options(config.bus.protocol)
    options: dict[str, object] = {name: value for name, value in config.bus.options if name in accepted}
    if config.bus.hook_closed_bit is not None:
        options["hook_closed_bit"] = config.bus.hook_closed_bit
    highest = max(compartment.board for compartment in config.compartments)
    boards = highest + 1 - first_board(config.bus.protocol)
    simulator: SimulatedBoards = make_simulator(config.bus.protocol, boards=boards, **options)
    return simulator


@dataclass
class KioskApp:
    """One kiosk: store, bus, flows, and (when a Qt application exists) its window.

    With a [camera], the camera and its decoder start in the background after start(): importing OpenCV and
    the decoders takes longer than showing the home screen. `camera_ready` is set once frames are decoded
    (or once it is clear the camera could not be set up, which is logged).
    """

    config: KioskConfig
    clock: Clock = field(default_factory=AsyncioClock)
    simulator: SimulatedBoards | None = None
    sim_camera: SimulatedCamera | None = None

    def __post_init__(self) -> None:
        self.secrets = load_or_create_secrets(self.config.locker.secrets_file)
        self._own_simulator = False
        name = simulator_name(self.config.bus.url)
        if name is not None and self.simulator is None:
            self.simulator = simulator_for(self.config)
            self._own_simulator = True
        if name is not None and self.simulator is not None:
            register_simulator(name, self.simulator)
        platform = self.config.platform
        if platform is not None and self.secrets.platform_secret is None:
            raise ConfigError(self.secrets.path, "platform_secret",
                              "missing: [platform] is configured, and its requests must be signed")
        alarm_depth = platform.outbox_alarm_depth if platform is not None else DEFAULT_OUTBOX_ALARM_DEPTH
        self.store = SqliteStore.open(self.config.locker.database, self.config.compartments,
                                      outbox_alarm_depth=alarm_depth, now=self.clock.now)
        driver = open_driver(self.config.bus.url, self.config.bus.protocol, **driver_options(self.config.bus))
        self.bus = HalLockBus(driver)
        self.locker = Locker(self.store, self.bus, self.clock, self.config.timers, self.config.compartments)
        self.link_status: LinkStatus | None = None
        self.link: PlatformLink | None = None
        self.delivery = self._make_delivery()
        self.mail: MailDelivery | None = None
        if platform is None and self.config.mail is not None:
            from kiosk.mail import MailDelivery

            self.mail = MailDelivery(self.store, self.config, clock=self.clock,
                                     password=mail_password(self.config, self.secrets))
        self.flows = KioskController(
            self.store,
            self.locker,
            self.clock,
            self.config.timers,
            self.secrets.code_key,
            self.config.compartments,
            locker_id=self.config.locker.id,
            camera=self if self.config.camera is not None else None,
            verifier=self.link,
        )
        self.flows.platform_changed(PlatformConnection.STANDALONE if platform is None
                                    else PlatformConnection.CONNECTING)
        if self.link_status is not None:
            self.link_status.add_listener(self._link_changed)
        self.camera_scanner: CameraScanner | None = None
        self.serial_scanner: SerialScanner | None = None
        self.camera_ready = asyncio.Event()
        self._camera_setup: asyncio.Task[None] | None = None
        self._frame_listeners: list[Callable[[Any], None]] = []
        self.flows.add_listener(_ScanTargetFollower(self))
        self.flows.add_listener(_OutboxNudger(self))

    def _make_delivery(self) -> OutboxDelivery | LocalRecord:
        """The events' way out: the platform, or (standalone) the locker's own record."""
        platform = self.config.platform
        if platform is None or self.secrets.platform_secret is None:
            return LocalRecord(self.store)
        # requests loads only where a platform is configured: the standalone kiosk starts without it.
        from kiosk.backend.delivery import OutboxDelivery
        from kiosk.backend.link import PlatformLink
        from kiosk.backend.remote import PlatformClient
        from kiosk.backend.status import LinkStatus
        from kiosk.online import HealthReport, KioskCommands

        def client() -> PlatformClient:
            assert platform is not None and self.secrets.platform_secret is not None
            return PlatformClient(
                platform.url, self.config.locker.id, self.secrets.platform_secret,
                ca_bundle=str(platform.ca_bundle) if platform.ca_bundle is not None else None,
                connect_timeout_s=platform.connect_timeout_s, read_timeout_s=platform.read_timeout_s,
            )

        self.link_status = LinkStatus(self.clock)
        # Each service owns its client: closing it is how a stopping service aborts its calls in flight.
        self.link = PlatformLink(
            self.store, client(), clock=self.clock, status=self.link_status,
            health=HealthReport(self.store, self.locker, self.clock, self._camera_health),
            commands=KioskCommands(lambda: self.flows),
            sync_interval_s=platform.sync_s, heartbeat_interval_s=platform.heartbeat_s,
        )
        return OutboxDelivery(self.store, client(), clock=self.clock, status=self.link_status)

    def _link_changed(self, state: LinkState) -> None:
        if state.online is None:
            link = PlatformConnection.CONNECTING
        else:
            link = PlatformConnection.ONLINE if state.online else PlatformConnection.OFFLINE
        self.flows.platform_changed(link)
        if state.online:
            self.delivery.nudge()  # the platform is back: whatever waits goes now

    def _camera_health(self) -> CameraHealth | None:
        if self.config.camera is None:
            return None
        from kiosk.backend.remote import CameraHealth

        if self.camera_scanner is None:
            detail = "starting" if not self.camera_ready.is_set() else "could not be set up"
            return CameraHealth("front", "missing", detail)
        if not self.camera_scanner.connected:
            return CameraHealth("front", "failing", "no frames")
        return CameraHealth("front", "ok")

    async def start(self) -> None:
        await self.flows.start()
        await self.delivery.start()
        if self.link is not None:
            await self.link.start()
        if self.mail is not None:
            await self.mail.start()
        if self.config.scanner is not None:
            from hal.scanner.serial_scanner import SerialScanner

            self.serial_scanner = SerialScanner(
                self.config.scanner.url,
                self._scanned_from_thread("serial"),
                on_problem=lambda problem: log.warning("serial scanner %s: %s", self.config.scanner, problem),
            )
            self.serial_scanner.start()
        if self.config.camera is not None:
            loop = asyncio.get_running_loop()
            self._camera_setup = loop.create_task(self._start_camera(), name="camera-setup")
        else:
            self.camera_ready.set()

    async def _start_camera(self) -> None:
        camera_config = self.config.camera
        assert camera_config is not None
        loaded: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        loader = threading.Thread(target=_load_camera_modules, args=(loaded,), name="camera-import")
        loader.start()
        try:
            modules = await loaded
        except Exception:
            log.exception("the camera modules cannot be loaded; scanning is off, the keypad still works")
            self.camera_ready.set()
            return
        finally:
            loader.join()
        try:
            camera = self._open_camera(modules)
            decoder = modules.make_decoder(camera_config.decoder)
        except (ValueError, OSError) as error:
            log.error("camera %s: %s; scanning is off, the keypad still works", camera_config.source, error)
            self.camera_ready.set()
            return
        scanner = modules.CameraScanner(camera, decoder, self._scanned_on_loop("camera"),
                                        on_connection=lambda _connected: self.flows.camera_changed())
        for listener in self._frame_listeners:
            scanner.add_frame_listener(listener)
        scanner.set_target(self.flows.scan_target())
        scanner.start()
        self.camera_scanner = scanner
        self.camera_ready.set()

    def _open_camera(self, modules: Any) -> Any:
        camera_config = self.config.camera
        assert camera_config is not None
        name = simulator_name(camera_config.source)
        if name is not None:
            if self.sim_camera is None:
                self.sim_camera = modules.SimulatedCamera(camera_config.width, camera_config.height,
                                                          camera_config.fps, name=name)
            modules.register_camera(name, self.sim_camera)
        return modules.open_camera(camera_config.source, camera_config.width, camera_config.height,
                                   camera_config.fps)

    def add_frame_listener(self, listener: Callable[[Any], None]) -> None:
        """Every camera frame (a BGR numpy array), on the camera's thread: for the scan screen's preview."""
        self._frame_listeners.append(listener)
        if self.camera_scanner is not None:
            self.camera_scanner.add_frame_listener(listener)

    def demo_camera_codes(self) -> list[tuple[str, str]]:
        """The demo's QR codes for the simulator console: each demo pickup code, and a stranger's code."""
        from kiosk.core.payloads import pickup_payload

        codes = sorted({demo.code for demo in DEMO_PARCELS})
        return [*((code, pickup_payload(self.config.locker.id, code)) for code in codes),
                ("another locker", pickup_payload("SOME-OTHER-LOCKER", codes[0]))]

    def hold_up_to_camera(self, payload: str | None) -> None:
        """Demo: the simulated camera sees a phone showing this QR code (None: nothing)."""
        if self.sim_camera is None:
            log.warning("no simulated camera (yet); nothing to hold up")
        elif payload is None:
            self.sim_camera.clear()
        else:
            self.sim_camera.show_qr(payload)

    def camera_connected(self) -> bool:
        return self.camera_scanner is not None and self.camera_scanner.connected

    def _scanned_on_loop(self, source: str) -> Callable[[bytes], None]:
        def deliver(payload: bytes, _source: str = source) -> None:
            self.flows.intent(Intent.SCAN, payload=payload, source=_source)

        return deliver

    def _scanned_from_thread(self, source: str) -> Callable[[bytes], None]:
        loop = asyncio.get_running_loop()
        deliver = self._scanned_on_loop(source)

        def from_thread(payload: bytes) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the kiosk is shutting down
                loop.call_soon_threadsafe(deliver, payload)

        return from_thread

    async def stop(self) -> None:
        if self.link_status is not None:
            # A report still on its way from a worker thread must find nobody: the screens are going.
            self.link_status.remove_listener(self._link_changed)
        if self._camera_setup is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._camera_setup
            self._camera_setup = None
        if self.camera_scanner is not None:
            self.camera_scanner.stop()
            self.camera_scanner = None
        camera_config = self.config.camera
        if camera_config is not None and simulator_name(camera_config.source) is not None:
            from hal.camera.registry import unregister_camera

            unregister_camera(simulator_name(camera_config.source) or "")
        if self.serial_scanner is not None:
            self.serial_scanner.stop()
            self.serial_scanner = None
        if self.mail is not None:
            await self.mail.stop()
        if self.link is not None:
            await self.link.stop()
        await self.delivery.stop()
        await self.flows.stop()
        self.bus.close()
        self.store.close()
        name = simulator_name(self.config.bus.url)
        if name is not None:
            unregister_simulator(name)

    def nudge(self) -> None:
        """Something may have been written for the platform or a resident: deliver it now."""
        self.delivery.nudge()
        if self.mail is not None:
            self.mail.nudge()

    def _free_demo_id(self, parcel_id: str) -> str:
        """The demo id itself while it is unused or only announced; after its pickup, DEMO-1.2, DEMO-1.3..."""
        for candidate in (parcel_id, *(f"{parcel_id}.{n}" for n in range(2, 10_000))):
            try:
                state = self.store.parcel(candidate).state
            except StoreError:  # no such parcel
                return candidate
            if state is ParcelState.EXPECTED:
                return candidate
        raise StoreError(f"no free demo parcel id left for {parcel_id}")

    def seed_demo_parcels(self) -> list[DemoParcel]:
        """Make sure every demo code has its parcels in the locker; return the ones placed now."""
        placed = []
        for demo in DEMO_PARCELS:
            waiting = [
                parcel
                for parcel in self.store.parcels_for_code_hash(hash_code(self.secrets.code_key, demo.code))
                if parcel.size == demo.size
            ]
            if waiting:
                continue
            place_parcel(
                self.store,
                self.clock,
                self.secrets.code_key,
                size=demo.size,
                code=demo.code,
                recipient=demo.recipient,
                parcel_id=self._free_demo_id(demo.parcel_id),
            )
            placed.append(demo)
        if self.simulator is not None:
            # The simulated boards start empty each run; their IR sensors must see what the store holds.
            for status in self.store.compartments():
                if status.state is CompartmentState.OCCUPIED:
                    compartment = status.compartment
                    self.simulator.set_occupied(compartment.board, compartment.lock, True)
        return placed


class _OutboxNudger:
    """Every event the outbox gets comes with a door or screen change: each one is a moment to deliver."""

    def __init__(self, kiosk: KioskApp) -> None:
        self._kiosk = kiosk

    def on_screen(self, screen: Screen) -> None:
        self._kiosk.nudge()

    def on_door(self, compartment_id: str, state: DoorState) -> None:
        self._kiosk.nudge()


class _ScanTargetFollower:
    """Tells the camera what the screen shown now wants read (nothing while a door is open)."""

    def __init__(self, kiosk: KioskApp) -> None:
        self._kiosk = kiosk

    def on_screen(self, screen: Screen) -> None:
        scanner = self._kiosk.camera_scanner
        if scanner is not None:
            scanner.set_target(self._kiosk.flows.scan_target())

    def on_door(self, compartment_id: str, state: DoorState) -> None:
        del compartment_id, state


BENCHMARK_DECODED_FRAMES = 30  # a second of a 30 fps camera: the memory a kiosk holds while it reads codes


async def _frames_decoded(kiosk: KioskApp, count: int, timeout_s: float = 10.0) -> None:
    """For `make bench`: until the home screen has decoded `count` frames (at once without a camera)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        scanner = kiosk.camera_scanner
        if scanner is None or scanner.frames_decoded >= count:
            return
        await asyncio.sleep(0.05)


def _load_camera_modules(loaded: asyncio.Future[Any]) -> None:
    """Import OpenCV, the decoders and the camera code off the GUI thread; hand them to the loop."""
    import types

    loop = loaded.get_loop()
    try:
        from hal.camera.capture import open_camera
        from hal.camera.registry import register_camera
        from hal.camera.simulated import SimulatedCamera
        from hal.codes.decode import make_decoder
        from kiosk.scanning import CameraScanner

        modules: Any = types.SimpleNamespace(
            open_camera=open_camera, register_camera=register_camera, SimulatedCamera=SimulatedCamera,
            make_decoder=make_decoder, CameraScanner=CameraScanner,
        )
    except Exception as error:
        loop.call_soon_threadsafe(_settle, loaded, None, error)
        return
    loop.call_soon_threadsafe(_settle, loaded, modules, None)


def _settle(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.done():  # the kiosk stopped while the modules were loading
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="The touchscreen application of a parcel locker."
    )
    parser.add_argument(
        "--config", type=Path, help="kiosk.toml (default with --demo: the bundled demo config)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="standalone demo: simulated boards, demo parcels, a simulator console window",
    )
    parser.add_argument("--windowed", action="store_true", help="a normal window instead of full screen")
    parser.add_argument("--verbose", action="store_true")
    # For `make bench`: print "ready" once interactive, quit when standard input closes.
    parser.add_argument("--benchmark-start", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.config is None:
        if not arguments.demo:
            parser.error("--config is required (or --demo for the bundled demo)")
        arguments.config = DEMO_CONFIG
    return arguments


async def run_kiosk(kiosk: KioskApp, arguments: argparse.Namespace, started_at: float) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from kiosk.ui.bridge import CoreBridge
    from kiosk.ui.i18n import Translator
    from kiosk.ui.main_window import MainWindow
    from kiosk.ui.theme import apply_theme

    application = QApplication.instance()
    assert isinstance(application, QApplication)
    apply_theme(application, "light")
    translator = Translator(application)
    bridge = CoreBridge(kiosk.flows)
    kiosk.add_frame_listener(bridge.offer_frame)
    window = MainWindow(
        bridge,
        translator=translator,
        default_language=kiosk.config.locker.default_language,
        windowed=arguments.windowed,
    )
    demo = arguments.demo
    console = None
    if demo and kiosk.simulator is not None:
        from kiosk.testing.sim_console import SimulatorConsole

        console = SimulatorConsole(kiosk.simulator, kiosk.config.compartments,
                                   camera_codes=kiosk.demo_camera_codes(), hold_up=kiosk.hold_up_to_camera)
        # Closing the kiosk ends the demo; the console alone does not keep it running.
        console.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        console.show()
    window.show()
    if console is not None:
        # Beside the kiosk, not under it: both must be visible to play the locker.
        console.move(window.frameGeometry().right() + 16, window.frameGeometry().top())
    await kiosk.start()
    log.info("interactive after %.2f s", time.perf_counter() - started_at)
    if demo:
        for demo_parcel in kiosk.seed_demo_parcels():
            log.debug("placed demo parcel for %s", demo_parcel.recipient)
        print(
            "Demo pickup codes: 111111 (one parcel), 222222 (two parcels), 333333 (one XL parcel)", flush=True
        )
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, closed.set)
    if arguments.benchmark_start:
        await asyncio.sleep(0)  # one turn of the loop: the home screen is painted and serving
        print("ready", flush=True)

        def on_input() -> None:
            if not os.read(sys.stdin.fileno(), 4096):
                closed.set()

        loop.add_reader(sys.stdin.fileno(), on_input)
        await kiosk.camera_ready.wait()
        print("camera ready", flush=True)
        await _frames_decoded(kiosk, BENCHMARK_DECODED_FRAMES)
        print("decoding", flush=True)
    try:
        await closed.wait()
    finally:
        if console is not None:
            console.close()
        window.close()
        await kiosk.stop()


def main(argv: Sequence[str] | None = None) -> int:
    started_at = time.perf_counter()
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["residents"]:
        # The building manager's command: it needs no screen, so it is answered before Qt is touched.
        from kiosk.residents import residents_main

        return residents_main(given[1:])
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # python-barcode announces at import that it draws no images without Pillow; the kiosk draws its own.
    logging.getLogger("pyBarcode").setLevel(logging.WARNING)
    try:
        config = load_config(arguments.config)
    except ConfigError as error:
        print(f"kiosk: configuration error: {error}", file=sys.stderr)
        return 2

    if not any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        print(
            "kiosk: no screen to show the kiosk on (DISPLAY and WAYLAND_DISPLAY are unset); run it in a "
            "desktop session, or headless with `xvfb-run -a make demo`",
            file=sys.stderr,
        )
        return 2

    import qasync
    from PySide6.QtWidgets import QApplication

    application = QApplication(sys.argv[:1])
    application.setApplicationName("Locker Kiosk")
    # run_kiosk ends the kiosk (stopping its services cleanly) when the window closes; Qt quitting on its
    # own would stop the loop under it.
    application.setQuitOnLastWindowClosed(False)
    try:
        kiosk = KioskApp(config)
    except (ConfigError, StoreError) as error:
        print(f"kiosk: cannot start: {error}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        qasync.run(run_kiosk(kiosk, arguments, started_at))
    return 0


if __name__ == "__main__":
    sys.exit(main())

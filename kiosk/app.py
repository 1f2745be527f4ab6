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
import secrets as secrets_random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
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
from kiosk.core.couriers import badge_hash, return_code_hash, scrypt_hash
from kiosk.core.flows.controller import KioskController
from kiosk.core.flows.views import Intent, PlatformConnection, Screen
from kiosk.core.inventory import place_parcel
from kiosk.core.locker import Locker
from kiosk.core.model import (
    DEPOSIT_PURPOSES,
    CompartmentState,
    CourierCredential,
    DoorPurpose,
    DoorState,
    ExpectedParcel,
    ParcelState,
    PickupWindow,
    ReturnAuthorisation,
    Size,
    SyncPage,
    SyncTally,
)
from kiosk.core.ports import Clock
from kiosk.hardware import FramePhotographer, HalLockBus
from kiosk.store import SqliteStore, StoreError
from kiosk.store.sqlite_store import DEFAULT_OUTBOX_ALARM_DEPTH

if TYPE_CHECKING:  # numpy, OpenCV and the decoders load in the background once the screen is up
    from hal.camera.simulated import SimulatedCamera
    from hal.scanner.serial_scanner import SerialScanner
    from kiosk.backend.delivery import OutboxDelivery
    from kiosk.backend.link import PlatformLink
    from kiosk.backend.remote import CameraHealth
    from kiosk.backend.status import LinkState, LinkStatus
    from kiosk.faces import FacePickup
    from kiosk.mail import MailDelivery
    from kiosk.scanning import CameraScanner

log = logging.getLogger("kiosk")

_T = TypeVar("_T")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO_ROOT / "resources" / "config" / "demo.toml"
SIM_SCHEME = "sim"


@dataclass(frozen=True)
class DemoParcel:
    parcel_id: str  # fixed, so that `make demo-online`'s platform can name them
    code: str
    size: Size
    recipient: str
    recipient_ref: str  # whom a face enrolment made after picking it up is for




# Fixed, printed codes: the demo must be usable by anyone watching, and codes are stored only as hashes.
DEMO_PARCELS = (
    DemoParcel("DEMO-1", "111111", Size.S, "Ada Lovelace", "demo-ada"),
    DemoParcel("DEMO-2", "222222", Size.M, "Grace Hopper", "demo-grace"),
    DemoParcel("DEMO-3", "222222", Size.L, "Grace Hopper", "demo-grace"),
    DemoParcel("DEMO-4", "333333", Size.XL, "Alan Turing", "demo-alan"),
)
# Faces the simulator console can hold up to the demo's camera: committed test pictures (their sources are in
# tests/data/faces/SOURCES.md). "Live" plays a sequence with a painted blink and a small head movement; a
# photo is a still, which face pickup must refuse.
DEMO_FACES_DIR = REPO_ROOT / "tests" / "data" / "faces"
DEMO_FACES = (("astronaut", "the astronaut"), ("tom_hanks", "Tom Hanks"))
FACE_PAYLOAD = "face:"  # demo console payloads: "face:live:NAME" or "face:photo:NAME"


@dataclass(frozen=True)
class DemoCourier:
    courier_id: str
    pin: str = field(repr=False)
    badge_secret: str = field(repr=False)  # what the badge's QR code carries (LK1:C:<id>:<secret>)
    display_name: str


@dataclass(frozen=True)
class DemoLabel:
    """An announced parcel waiting for the demo courier, with the barcode printed on its label."""

    parcel_id: str
    barcode: str
    size: Size
    accessible: bool  # the recipient needs a compartment within reach from a wheelchair
    recipient: str
    recipient_ref: str


@dataclass(frozen=True)
class DemoReturn:
    code: str
    size: Size
    return_id: str
    parcel_id: str  # the id the returned parcel will carry


# The standalone demo's courier and return are those of the fake platform's --demo (make demo-online), so one
# set of printed credentials works in both demos.
DEMO_COURIER = DemoCourier("C-100", "1234", "DEMOBADGE00000001", "Demo courier C-100")
# Label S is a second parcel for Ada (111111): pick hers up with the code, set up face pickup on the
# thank-you screen, let the courier deliver label S, and her face opens its door.
DEMO_LABELS = (
    DemoLabel("DEMO-EXP-1", "DEMO-LABEL-1", Size.S, False, "Ada Lovelace", "demo-ada"),
    DemoLabel("DEMO-EXP-2", "DEMO-LABEL-2", Size.M, True, "Katherine Johnson", "demo-katherine"),
    DemoLabel("DEMO-EXP-3", "DEMO-LABEL-3", Size.L, False, "Edsger Dijkstra", "demo-edsger"),
)
DEMO_RETURN = DemoReturn("RETURN0001", Size.S, "ret-demo-1", "RX-DEMO-1")
# The cursor of records made on this locker (the demo, QA seeding) when the platform never gave one: a
# platform does not know it, so the first real sync after it is a full one (the contract's rule).
LOCAL_SYNC_CURSOR = "local-seed"


def courier_password_hash(pin: str) -> str:
    """A courier's PIN as the platform syncs it (openapi.yaml, CourierCredential): a PHC scrypt string with
    ln=15, r=8, p=1 and a fresh salt. About 0.1 s of CPU and 32 MiB: keep it off the event loop."""
    if not isinstance(pin, str) or not pin:
        raise ValueError("a courier PIN must not be empty")
    return scrypt_hash(pin, secrets_random.token_bytes(16), ln=15, r=8, p=1)


async def in_own_thread(name: str, function: Callable[..., _T], *arguments: object) -> _T:
    """`function(*arguments)` on a thread of its own, joined before this returns. Not the loop's default
    executor: qasync's keeps its threads for good, and no thread may outlive the kiosk (or a test)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[_T] = loop.create_future()

    def work() -> None:
        try:
            result = function(*arguments)
        except BaseException as error:  # handed to the awaiting coroutine, whatever it is
            loop.call_soon_threadsafe(_settle, done, None, error)
        else:
            loop.call_soon_threadsafe(_settle, done, result, None)

    thread = threading.Thread(target=work, name=name)
    thread.start()
    try:
        return await done
    finally:
        thread.join()


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
        self._frame_listeners: list[Callable[[Any], None]] = []
        self._demo_face: threading.Thread | None = None
        # A courier holds an unannounced parcel up to the same camera recipients show their QR codes to.
        self.parcel_camera: FramePhotographer | None = None
        if self.config.camera is not None:
            self.parcel_camera = FramePhotographer()
            self._frame_listeners.append(self.parcel_camera.offer_frame)
        self.face_pickup = self._make_face_pickup()
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
            parcel_camera=self.parcel_camera,
            courier_policy=self.config.courier,
            faces=self.face_pickup,
            face_policy=self.config.face,
        )
        if self.face_pickup is not None:
            self.face_pickup.attach(self.flows)
        self.flows.platform_changed(PlatformConnection.STANDALONE if platform is None
                                    else PlatformConnection.CONNECTING)
        if self.link_status is not None:
            self.link_status.add_listener(self._link_changed)
        self.camera_scanner: CameraScanner | None = None
        self.serial_scanner: SerialScanner | None = None
        self.camera_ready = asyncio.Event()
        self._camera_setup: asyncio.Task[None] | None = None
        self.flows.add_listener(_ScanTargetFollower(self))
        self.flows.add_listener(_OutboxNudger(self))

    def _make_face_pickup(self) -> FacePickup | None:
        """Face pickup, where a camera is configured and [face] does not turn it off. Without a face key in
        the secrets file nobody can be enrolled (logged); codes and QR codes work either way."""
        if self.config.camera is None or not self.config.face.enabled:
            return None
        from kiosk.faces import FacePickup

        if self.secrets.face_key is None:
            log.warning("face pickup is off: %s (%s)", self.secrets.face_key_problem or "no face_key",
                        self.secrets.path)
        faces = FacePickup(self.store, self.config.face, self.secrets.face_key, self.clock,
                           camera_present=self.camera_connected)
        self._frame_listeners.append(faces.offer_frame)
        return faces

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
            commands=KioskCommands(lambda: self.flows, self.store, self.clock),
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
        if self.face_pickup is not None:
            self.face_pickup.start()
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
                                        on_connection=self._camera_connection_changed)
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

    def _camera_connection_changed(self, _connected: bool) -> None:
        self.flows.camera_changed()
        self.follow_face_target()  # face pickup needs frames: home starts (or stops) watching for faces

    def follow_face_target(self) -> None:
        """Tell face pickup what the screen wants now. The screens' changes do this; so must anything else
        that changes whom home may watch for without changing the screen (the camera coming up, a seeded
        parcel or face)."""
        if self.face_pickup is not None:
            self.face_pickup.set_target(self.flows.face_target())

    def add_frame_listener(self, listener: Callable[[Any], None]) -> None:
        """Every camera frame (a BGR numpy array), on the camera's thread: for the scan screen's preview."""
        self._frame_listeners.append(listener)
        if self.camera_scanner is not None:
            self.camera_scanner.add_frame_listener(listener)

    def demo_camera_codes(self) -> list[tuple[str, str]]:
        """The demo's codes for the simulator console: each demo pickup code, a stranger's code, the demo
        courier's badge and the demo return code (the online demo's platform has the same two), and, when
        standalone, the labels of the parcels announced for the courier."""
        from kiosk.core.payloads import courier_badge_payload, pickup_payload, return_payload

        codes = sorted({demo.code for demo in DEMO_PARCELS})
        shown = [*((code, pickup_payload(self.config.locker.id, code)) for code in codes),
                 ("another locker", pickup_payload("SOME-OTHER-LOCKER", codes[0])),
                 (f"badge {DEMO_COURIER.courier_id}",
                  courier_badge_payload(DEMO_COURIER.courier_id, DEMO_COURIER.badge_secret)),
                 (f"return {DEMO_RETURN.code}", return_payload(DEMO_RETURN.code))]
        if self.config.platform is None:
            shown += [(f"label {label.size.value}", label.barcode) for label in DEMO_LABELS]
        if self.face_pickup is not None and DEMO_FACES_DIR.is_dir():
            for name, label in DEMO_FACES:
                shown += [(f"{label}, live", f"{FACE_PAYLOAD}live:{name}"),
                          (f"{label}, photo", f"{FACE_PAYLOAD}photo:{name}")]
        return shown

    def hold_up_to_camera(self, payload: str | None) -> None:
        """Demo: the simulated camera sees this code (None: nothing). Our own payloads (LK1:...) are QR codes
        on a phone; anything else is a parcel label's barcode (Code 128)."""
        if self.sim_camera is None:
            log.warning("no simulated camera (yet); nothing to hold up")
        elif payload is None:
            self.sim_camera.clear()
        elif payload.startswith(FACE_PAYLOAD):
            self._hold_up_face(self.sim_camera, payload)
        elif payload.upper().startswith("LK1:"):
            self.sim_camera.show_qr(payload)
        else:
            from hal.codes import Symbology

            self.sim_camera.show_code(Symbology.CODE128, payload)

    def _hold_up_face(self, camera: SimulatedCamera, payload: str) -> None:
        """Demo: a person (live) or their photo in front of the camera. Making a live sequence finds the
        face's landmarks first (a second or two, with dlib in this process): on a thread of its own, so the
        screen keeps going; the console is a development tool, the kiosk never does this."""
        kind, _, name = payload[len(FACE_PAYLOAD):].partition(":")
        picture = DEMO_FACES_DIR / f"{name}.jpg"

        def hold_up() -> None:
            try:
                if kind == "live":
                    camera.show_live_face(picture)
                else:
                    camera.show_image(picture, height_fraction=0.75)
            except ValueError as error:
                log.warning("cannot show %s to the camera: %s", picture.name, error)

        if self._demo_face is not None and self._demo_face.is_alive():
            log.warning("still preparing the last face for the camera; press again in a moment")
            return
        self._demo_face = threading.Thread(target=hold_up, name="demo-face")
        self._demo_face.start()

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
        if self.parcel_camera is not None:
            self.parcel_camera.close()
        if self.face_pickup is not None:
            await self.face_pickup.stop()
        if self._demo_face is not None:
            await in_own_thread("demo-face-join", self._demo_face.join)
            self._demo_face = None
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

    def _free_demo_id(self, parcel_id: str, *, announced_is_free: bool = True) -> str:
        """The demo id itself while it is unused (or, with `announced_is_free`, only announced); after its
        parcel came, DEMO-1.2, DEMO-1.3..."""
        for candidate in (parcel_id, *(f"{parcel_id}.{n}" for n in range(2, 10_000))):
            try:
                state = self.store.parcel(candidate).state
            except StoreError:  # no such parcel
                return candidate
            if announced_is_free and state is ParcelState.EXPECTED:
                return candidate
        raise StoreError(f"no free demo parcel id left for {parcel_id}")

    # records made on this locker -------------------------------------------------------------------
    def apply_local_records(
        self,
        *,
        parcels: Iterable[ExpectedParcel] = (),
        couriers: Iterable[CourierCredential] = (),
        return_authorisations: Iterable[ReturnAuthorisation] = (),
    ) -> SyncTally:
        """Announced parcels, couriers and return authorisations made here (the standalone demo, QA seeding)
        stored through the sync path, so they behave exactly like synced data.

        The page continues the store's cursor (LOCAL_SYNC_CURSOR when there is none), so a later sync with
        a platform is not confused, and it never ends a sync: has_more stays true, so it cannot complete a
        full sync under way (which would forget what that sync has not sent yet) nor date a sync that never
        happened. Raises StoreError for an invalid record (nothing is stored then)."""
        page = SyncPage(reset=False, parcels=tuple(parcels), pickup_credentials=(), couriers=tuple(couriers),
                        return_authorisations=tuple(return_authorisations), deletions=(),
                        next_cursor=self.store.sync_status().cursor or LOCAL_SYNC_CURSOR, has_more=True)
        return self.store.apply_sync_page(page, self.clock.now())

    def courier_credential(
        self, courier_id: str, password_hash: str, *, badge_secret: str | None = None,
        display_name: str | None = None, can_collect: bool = True,
    ) -> CourierCredential:
        """A courier as the platform syncs one: the badge secret (as printed in the badge's QR code, any
        case) only as its keyed hash under this locker's code key."""
        badge = None if badge_secret is None else badge_hash(self.secrets.code_key, badge_secret)
        return CourierCredential(courier_id, display_name or f"Courier {courier_id}", password_hash, badge,
                                 can_collect, None)

    def return_authorisation(
        self, code: str, size: Size, return_id: str, parcel_id: str
    ) -> ReturnAuthorisation:
        """A return authorisation as the platform syncs one: the code (8-16 letters and digits, any case)
        only as its keyed hash. ValueError for a code that is none."""
        code_hash = return_code_hash(self.secrets.code_key, code)
        if code_hash is None:
            raise ValueError(f"{code!r} is not a return code: 8 to 16 letters and digits")
        return ReturnAuthorisation(return_id, parcel_id, code_hash, size, None)

    async def seed_demo_deliveries(self) -> list[str]:
        """Standalone demo: make sure the demo courier, an announced parcel for each demo label and the demo
        return are there; the lines to print about what is there (credentials printed on purpose). Records
        already there are left alone; a label whose parcel was deposited, or a return code that was used, is
        announced again under a new id (DEMO-EXP-1.2, ...), so every demo run can deliver."""
        couriers: list[CourierCredential] = []
        if self.store.courier(DEMO_COURIER.courier_id) is None:
            password_hash = await in_own_thread("demo-courier-pin", courier_password_hash, DEMO_COURIER.pin)
            couriers.append(self.courier_credential(
                DEMO_COURIER.courier_id, password_hash, badge_secret=DEMO_COURIER.badge_secret,
                display_name=DEMO_COURIER.display_name))
        window = PickupWindow(self.config.courier.pickup_window_hours, None)
        parcels = [
            ExpectedParcel(self._free_demo_id(label.parcel_id), label.barcode, label.size, label.accessible,
                           label.recipient, window, recipient_ref=label.recipient_ref)
            for label in DEMO_LABELS if self.store.expected_parcel_by_barcode(label.barcode) is None
        ]
        returns: list[ReturnAuthorisation] = []
        demo_return_hash = return_code_hash(self.secrets.code_key, DEMO_RETURN.code)
        if demo_return_hash is not None and self.store.return_by_code_hash(demo_return_hash) is None:
            parcel_id = self._free_demo_id(DEMO_RETURN.parcel_id, announced_is_free=False)
            return_id = DEMO_RETURN.return_id + parcel_id.removeprefix(DEMO_RETURN.parcel_id)
            returns.append(self.return_authorisation(DEMO_RETURN.code, DEMO_RETURN.size, return_id,
                                                     parcel_id))
        if couriers or parcels or returns:
            self.apply_local_records(parcels=parcels, couriers=couriers, return_authorisations=returns)
        reach = {True: ", recipient needs wheelchair reach", False: ""}
        labels = ", ".join(f"{label.barcode} (size {label.size.value}{reach[label.accessible]})"
                           for label in DEMO_LABELS)
        return [
            f"Demo courier {DEMO_COURIER.courier_id}: PIN {DEMO_COURIER.pin}, badge QR "
            f"LK1:C:{DEMO_COURIER.courier_id}:{DEMO_COURIER.badge_secret}",
            f"Demo parcel labels: {labels}",
            f"Demo return code: {DEMO_RETURN.code} (size {DEMO_RETURN.size.value}, "
            f"QR LK1:R:{DEMO_RETURN.code})",
        ]

    # the simulated boards ------------------------------------------------------------------------------
    def ir_after_closing(self, compartment_id: str) -> bool | None:
        """What an IR sensor reads once a person shuts this door now: a parcel inside when the kiosk has it
        open to put one in (a deposit, a return), empty when to take parcels out (a pickup, a collection);
        None when no unfinished door transaction says (the sensor keeps what it reads)."""
        for entry in self.store.unfinished_journal():
            if entry.compartment_id != compartment_id:
                continue
            if entry.purpose in DEPOSIT_PURPOSES:
                return True
            if entry.purpose in (DoorPurpose.PICKUP, DoorPurpose.COLLECT):
                return False
        return None

    def prepare_ir_for_closing(self, compartment_id: str) -> bool | None:
        """Simulated boards: set the IR sensor of this compartment as ir_after_closing says, before the door
        closes, so the kiosk's next status read sees the closed door and the sensor together. Returns what
        was set (None: nothing, also on real boards or for an unknown compartment)."""
        if self.simulator is None:
            return None
        compartment = next((c for c in self.config.compartments if c.id == compartment_id), None)
        if compartment is None:
            return None
        occupied = self.ir_after_closing(compartment_id)
        if occupied is not None:
            self.simulator.set_occupied(compartment.board, compartment.lock, occupied)
        return occupied

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
                recipient_ref=demo.recipient_ref,
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
        self._kiosk.follow_face_target()

    def on_door(self, compartment_id: str, state: DoorState) -> None:
        del compartment_id, state
        self._kiosk.follow_face_target()  # a door closing on a pickup or a deposit changes whom home sees


BENCHMARK_FACE_ENGINE_S = 60.0  # the face engine's process loads its models (1-2 s; far longer when busy)
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

        console = SimulatorConsole(
            kiosk.simulator, kiosk.config.compartments, camera_codes=kiosk.demo_camera_codes(),
            hold_up=kiosk.hold_up_to_camera,
            # A deposit door a person shuts has the parcel in it: the IR sensor must say so.
            before_close=lambda compartment: kiosk.prepare_ir_for_closing(compartment.id),
        )
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
        if kiosk.config.platform is None:  # online, the platform announces couriers, parcels and returns
            try:
                for line in await kiosk.seed_demo_deliveries():
                    print(line, flush=True)
            except StoreError as error:  # the pickup demo still works
                log.warning("the demo courier, labels and return could not be set up: %s", error)
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
        faces = kiosk.face_pickup
        if faces is not None and faces.engine_working is not None and faces.face_pickup_ready():
            # An enrolled recipient's parcel waits: the face bench reads memory once the engine works.
            try:
                await asyncio.wait_for(faces.engine_working.wait(), BENCHMARK_FACE_ENGINE_S)
                print("face engine working", flush=True)
            except TimeoutError:
                print("face engine not working", flush=True)
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

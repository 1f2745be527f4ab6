"""The flow tests' harness: a real kiosk core without Qt.

SqliteStore on tmp_path, the Kerong simulator on sim://, HalLockBus, a Locker, a KioskController and a
ManualClock for the flow timers. Hardware waits are real but tiny. Couriers, announced parcels and return
authorisations are seeded as the platform syncs them (Store.apply_sync_page)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hal.lockboard import open_driver
from hal.lockboard.kerong.simulator import EventKind, KerongSimulator, SimEvent
from hal.transport import register_simulator, unregister_simulator
from kiosk.core.clock import ManualClock
from kiosk.core.codes import KeypadLimiter, hash_code
from kiosk.core.couriers import badge_hash, return_code_hash, scrypt_hash
from kiosk.core.flows.controller import KioskController
from kiosk.core.flows.pickup import PickupFaces
from kiosk.core.flows.views import DoorOpenView, Intent, Screen, ScreenId
from kiosk.core.inventory import place_parcel
from kiosk.core.locker import DoorFinish, Locker
from kiosk.core.model import (
    Compartment,
    CourierCredential,
    CourierPolicy,
    DoorState,
    ExpectedParcel,
    FacePolicy,
    Parcel,
    PickupCredential,
    PickupWindow,
    ReturnAuthorisation,
    Size,
    SyncPage,
    Timers,
)
from kiosk.core.ports import ParcelCamera
from kiosk.hardware import HalLockBus
from kiosk.store import SqliteStore

CODE_KEY = b"flow-tests-secret-key-0123456789"
LOCKER_ID = "flow-locker-7"
FAST = Timers(unlock_confirm_s=0.02, door_poll_s=0.02)
WAIT_S = 5.0

# Two boards, sizes mixed so that "smallest that fits" and "lowest first" both matter.
LAYOUT = (
    Compartment("A1", Size.S, board=0, lock=1, height_cm=150, column=1),
    Compartment("A2", Size.S, board=0, lock=2, height_cm=120, column=1),
    Compartment("A3", Size.M, board=0, lock=3, height_cm=90, column=1),
    Compartment("A4", Size.L, board=0, lock=4, height_cm=50, column=1),
    Compartment("B1", Size.M, board=1, lock=1, height_cm=150, column=2),
    Compartment("B2", Size.XL, board=1, lock=5, height_cm=70, column=2),
)
BY_ID = {compartment.id: compartment for compartment in LAYOUT}

_names = itertools.count()
_cursors = itertools.count()
# Seeded PIN hashes are cheap (ln=4) so tests stay fast; the kiosk checks them like any other scrypt hash.
TEST_SCRYPT_LN = 4


@dataclass
class Recorder:
    """A FlowListener / LockerListener that keeps everything it hears."""

    screens: list[Screen] = field(default_factory=list)
    doors: list[tuple[str, DoorState]] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    finished: list[tuple[str, DoorFinish]] = field(default_factory=list)

    def on_screen(self, screen: Screen) -> None:
        self.screens.append(screen)

    def on_door_finished(self, entry: Any, finish: DoorFinish) -> None:
        self.finished.append((entry.compartment_id, finish))

    def on_bus_changed(self, bus_down: bool) -> None:
        pass

    def on_door(self, compartment_id: str, state: DoorState) -> None:
        self.doors.append((compartment_id, state))

    def on_pickup_completed(self, entry: Any) -> None:
        self.completed.append(entry.id)


class Rig:
    """Everything below the UI, wired as app.py wires it; `run(scenario)` runs it on a fresh event loop."""

    def __init__(self, directory: Path, *, timers: Timers = FAST, infrared: bool = True,
                 simulator: KerongSimulator | None = None, database: Path | None = None,
                 full_scan_s: float = 2.0, camera: bool = False, verifier: Any = None,
                 layout: tuple[Compartment, ...] = LAYOUT, courier_policy: CourierPolicy | None = None,
                 parcel_camera: ParcelCamera | None = None, faces: PickupFaces | None = None,
                 face_policy: FacePolicy | None = None) -> None:
        self.directory = directory
        self.timers = timers
        self.layout = layout
        self.by_id = {compartment.id: compartment for compartment in layout}
        self.sim = simulator or KerongSimulator(boards=2, baudrate=None)
        self.name = f"flows-{next(_names)}"
        self.url = f"sim://{self.name}"
        register_simulator(self.name, self.sim)
        self.events: list[SimEvent] = []
        self.sim.add_listener(self.events.append)
        self.database = database or directory / "kiosk.sqlite"
        self.clock = ManualClock()
        self.store = SqliteStore.open(self.database, layout, now=self.clock.now)
        driver = open_driver(self.url, "kerong-cu16", timeout=0.05, retries=0)
        self.bus = HalLockBus(driver, infrared=infrared)
        self.locker = Locker(self.store, self.bus, self.clock, timers, layout, full_scan_s=full_scan_s)
        # With `camera`, the rig stands in for the camera port: tests set `camera_is_connected`.
        self.camera_is_connected = True
        self.courier_policy = courier_policy or CourierPolicy()
        self.controller = KioskController(self.store, self.locker, self.clock, timers, CODE_KEY, layout,
                                          locker_id=LOCKER_ID, camera=self if camera else None,
                                          verifier=verifier, parcel_camera=parcel_camera,
                                          courier_policy=self.courier_policy, faces=faces,
                                          face_policy=face_policy or FacePolicy())
        self.recorder = Recorder()
        self.controller.add_listener(self.recorder)
        self.locker.add_listener(self.recorder)
        self.closed = False

    def camera_connected(self) -> bool:
        return self.camera_is_connected

    # setting up the world -----------------------------------------------------------------------------------
    def place(self, code: str, size: Size = Size.S, recipient: str = "Ada Lovelace",
              parcel_id: str | None = None, recipient_ref: str | None = None) -> Parcel:
        """A parcel deposited as a courier would leave it: in the compartment, seen by its IR sensor."""
        parcel = place_parcel(self.store, self.clock, CODE_KEY, size=size, code=code, recipient=recipient,
                              parcel_id=parcel_id, recipient_ref=recipient_ref)
        assert parcel.compartment_id is not None
        self.sim.set_occupied(*self.address(parcel.compartment_id), True)
        return parcel

    def address(self, compartment_id: str) -> tuple[int, int]:
        compartment = self.by_id[compartment_id]
        return compartment.board, compartment.lock

    def take_parcel_and_close(self, compartment_id: str) -> None:
        self.sim.set_occupied(*self.address(compartment_id), False)
        self.sim.close_door(*self.address(compartment_id))

    def put_parcel_and_close(self, compartment_id: str) -> None:
        """A parcel put in and the door closed: the IR sensor reads it."""
        self.sim.set_occupied(*self.address(compartment_id), True)
        self.sim.close_door(*self.address(compartment_id))

    close_empty = take_parcel_and_close  # the door closed with nothing in it (or everything taken out)

    # what the platform syncs --------------------------------------------------------------------------------
    def sync(self, *, parcels: tuple[ExpectedParcel, ...] = (), couriers: tuple[CourierCredential, ...] = (),
             returns: tuple[ReturnAuthorisation, ...] = (),
             credentials: tuple[PickupCredential, ...] = ()) -> None:
        page = SyncPage(False, parcels, credentials, couriers, returns, (), f"flows-{next(_cursors)}", False)
        self.store.apply_sync_page(page, self.clock.now())

    def seed_courier(self, courier_id: str = "K-7", pin: str = "2468", *, badge: str | None = None,
                     can_collect: bool = True, valid_until: float | None = None,
                     password_hash: str | None = None,
                     display_name: str = "Kim Courier") -> CourierCredential:
        credential = CourierCredential(
            courier_id=courier_id,
            display_name=display_name,
            password_hash=password_hash or scrypt_hash(pin, b"flow-salt-" + courier_id.encode(),
                                                       ln=TEST_SCRYPT_LN),
            badge_secret_hash=None if badge is None else badge_hash(CODE_KEY, badge),
            can_collect=can_collect,
            valid_until=valid_until,
        )
        self.sync(couriers=(credential,))
        return credential

    def seed_expected(self, barcode: str, size: Size = Size.M, *, accessible: bool = False,
                      parcel_id: str | None = None, recipient: str = "Grace Hopper",
                      platform_code: str | None = None) -> Parcel:
        """An announced parcel; with `platform_code`, the platform issued its pickup credential too."""
        parcel_id = parcel_id or f"PX-{barcode}"
        announced = ExpectedParcel(parcel_id, barcode, size, accessible, recipient, PickupWindow(72, None))
        credentials: tuple[PickupCredential, ...] = ()
        if platform_code is not None:
            credentials = (PickupCredential(f"cred-{parcel_id}", hash_code(CODE_KEY, platform_code),
                                            (parcel_id,), None),)
        self.sync(parcels=(announced,), credentials=credentials)
        return self.store.parcel(parcel_id)

    def seed_return(self, code: str, size: Size = Size.S, *, return_id: str | None = None,
                    parcel_id: str | None = None, expires_at: float | None = None) -> ReturnAuthorisation:
        code_hash = return_code_hash(CODE_KEY, code)
        assert code_hash is not None, f"not a return code: {code!r}"
        authorisation = ReturnAuthorisation(return_id or f"ret-{code.lower()}", parcel_id or f"RX-{code}",
                                            code_hash, size, expires_at)
        self.sync(returns=(authorisation,))
        return authorisation

    def unlock_pulses(self, compartment_id: str) -> int:
        board, lock = self.address(compartment_id)
        return sum(1 for event in list(self.events)
                   if event.kind is EventKind.UNLOCK and (event.board, event.lock) == (board, lock))

    def audit_kinds(self) -> list[str]:
        return [entry.kind for entry in reversed(self.store.audit_log())]

    # driving ------------------------------------------------------------------------------------------------
    def intent(self, intent: Intent, **arguments: object) -> None:
        self.controller.intent(intent, **arguments)

    @property
    def screen(self) -> Screen:
        return self.controller.screen

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        """Let the loop run until `condition()` holds; fail after `timeout` seconds saying `what`."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen is {self.screen}")
            await asyncio.sleep(0.002)

    async def screen_is(self, screen_id: ScreenId, timeout: float = WAIT_S) -> Screen:
        await self.until(lambda: self.screen.id is screen_id, f"screen {screen_id.value}", timeout)
        return self.screen

    async def door_confirmed(self) -> None:
        """The door screen no longer waits for its unlock to be confirmed."""
        await self.until(
            lambda: isinstance(self.screen.view, DoorOpenView) and not self.screen.view.waiting_for_unlock,
            "the door screen to confirm its doors")

    async def door_seen(self, compartment_id: str, state: DoorState) -> None:
        await self.until(lambda: self.controller.door_states().get(compartment_id) is state,
                         f"door {compartment_id} {state.value}")

    def run(self, scenario: Callable[[], Coroutine[Any, Any, None]], *, start: bool = True) -> None:
        """Run `scenario` on a fresh loop (controller started around it); no task may outlive it."""

        async def main() -> None:
            if start:
                await self.controller.start()
            try:
                await asyncio.wait_for(scenario(), timeout=20)
            finally:
                await self.controller.stop()
            leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
            assert not leftover, f"tasks outlived the controller: {leftover}"

        asyncio.run(main())

    # courier mode ------------------------------------------------------------------------------------------
    async def log_in(self, courier_id: str = "K-7", pin: str = "2468") -> None:
        """From home: the courier button, id and PIN, and the menu once the PIN is checked."""
        self.intent(Intent.START_COURIER)
        self.intent(Intent.COURIER_LOGIN, courier_id=courier_id, pin=pin)
        await self.screen_is(ScreenId.COURIER_MENU)

    async def deliver(self, label: str) -> str:
        """On courier_scan: scan `label`, wait for its door, put the parcel in and close it; back on
        courier_scan, the compartment it went into."""
        self.intent(Intent.SCAN, payload=label, source="wedge")
        await self.door_confirmed()
        view = self.screen.view
        assert isinstance(view, DoorOpenView) and len(view.compartment_ids) == 1, self.screen
        compartment_id = view.compartment_ids[0]
        self.put_parcel_and_close(compartment_id)
        await self.until(lambda: self.screen.id is ScreenId.COURIER_SCAN, f"{label} deposited")
        return compartment_id

    def limiter(self) -> KeypadLimiter:
        return KeypadLimiter(self.store, self.timers)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.bus.close()
        self.store.close()
        unregister_simulator(self.name)

"""The flow tests' harness: a real kiosk core without Qt.

SqliteStore on tmp_path, the Kerong simulator on sim://, HalLockBus, a Locker, a KioskController and a
ManualClock for the flow timers. Hardware waits are real but tiny."""

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
from kiosk.core.codes import KeypadLimiter
from kiosk.core.flows.controller import KioskController
from kiosk.core.flows.views import DoorOpenView, Intent, Screen, ScreenId
from kiosk.core.inventory import place_parcel
from kiosk.core.locker import Locker
from kiosk.core.model import Compartment, DoorState, Parcel, Size, Timers
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


@dataclass
class Recorder:
    """A FlowListener / LockerListener that keeps everything it hears."""

    screens: list[Screen] = field(default_factory=list)
    doors: list[tuple[str, DoorState]] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)

    def on_screen(self, screen: Screen) -> None:
        self.screens.append(screen)

    def on_door(self, compartment_id: str, state: DoorState) -> None:
        self.doors.append((compartment_id, state))

    def on_pickup_completed(self, entry: Any) -> None:
        self.completed.append(entry.id)


class Rig:
    """Everything below the UI, wired as app.py wires it; `run(scenario)` runs it on a fresh event loop."""

    def __init__(self, directory: Path, *, timers: Timers = FAST, infrared: bool = True,
                 simulator: KerongSimulator | None = None, database: Path | None = None,
                 full_scan_s: float = 2.0, camera: bool = False, verifier: Any = None) -> None:
        self.directory = directory
        self.timers = timers
        self.sim = simulator or KerongSimulator(boards=2, baudrate=None)
        self.name = f"flows-{next(_names)}"
        self.url = f"sim://{self.name}"
        register_simulator(self.name, self.sim)
        self.events: list[SimEvent] = []
        self.sim.add_listener(self.events.append)
        self.database = database or directory / "kiosk.sqlite"
        self.store = SqliteStore.open(self.database, LAYOUT)
        self.clock = ManualClock()
        driver = open_driver(self.url, "kerong-cu16", timeout=0.05, retries=0)
        self.bus = HalLockBus(driver, infrared=infrared)
        self.locker = Locker(self.store, self.bus, self.clock, timers, LAYOUT, full_scan_s=full_scan_s)
        # With `camera`, the rig stands in for the camera port: tests set `camera_is_connected`.
        self.camera_is_connected = True
        self.controller = KioskController(self.store, self.locker, self.clock, timers, CODE_KEY, LAYOUT,
                                          locker_id=LOCKER_ID, camera=self if camera else None,
                                          verifier=verifier)
        self.recorder = Recorder()
        self.controller.add_listener(self.recorder)
        self.locker.add_listener(self.recorder)
        self.closed = False

    def camera_connected(self) -> bool:
        return self.camera_is_connected

    # setting up the world -----------------------------------------------------------------------------------
    def place(self, code: str, size: Size = Size.S, recipient: str = "Ada Lovelace",
              parcel_id: str | None = None) -> Parcel:
        """A parcel deposited as a courier would leave it: in the compartment, seen by its IR sensor."""
        parcel = place_parcel(self.store, self.clock, CODE_KEY, size=size, code=code, recipient=recipient,
                              parcel_id=parcel_id)
        assert parcel.compartment_id is not None
        self.sim.set_occupied(*self.address(parcel.compartment_id), True)
        return parcel

    def address(self, compartment_id: str) -> tuple[int, int]:
        compartment = BY_ID[compartment_id]
        return compartment.board, compartment.lock

    def take_parcel_and_close(self, compartment_id: str) -> None:
        self.sim.set_occupied(*self.address(compartment_id), False)
        self.sim.close_door(*self.address(compartment_id))

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

    def limiter(self) -> KeypadLimiter:
        return KeypadLimiter(self.store, self.timers)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.bus.close()
        self.store.close()
        unregister_simulator(self.name)

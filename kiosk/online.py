"""The kiosk's side of the platform's requests: remote commands run on the locker, and its health.

PlatformLink (kiosk.backend.link) fetches commands and sends heartbeats; this module answers them from the
kiosk's own parts: the door transaction and the compartments (through KioskController), the store, the
lock boards and the camera.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib import metadata

from kiosk.backend.link import CommandOutcome, RunnableCommand
from kiosk.backend.remote import (
    CameraHealth,
    CommandStatus,
    ForgetFaceCommand,
    Health,
    OpenDoorCommand,
    OutOfServiceCommand,
)
from kiosk.core.flows.controller import KioskController
from kiosk.core.locker import DoorOutcome, Locker
from kiosk.core.model import CompartmentState, DoorState
from kiosk.core.ports import Clock, Store

log = logging.getLogger(__name__)

_OPEN_DOOR_OUTCOMES = {
    DoorOutcome.OPENED: CommandOutcome(CommandStatus.DONE),
    DoorOutcome.FAULT: CommandOutcome(CommandStatus.FAILED, "door_did_not_open",
                                      "the door was not seen open after a retry; it is out of order now"),
    DoorOutcome.BUS_DOWN: CommandOutcome(CommandStatus.FAILED, "bus_down",
                                         "the lock board did not answer; nothing was opened"),
    DoorOutcome.BUSY: CommandOutcome(CommandStatus.FAILED, "door_busy",
                                     "a recipient or courier is using this door right now"),
}


def app_version() -> str:
    try:
        return metadata.version("locker-kiosk")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


class KioskCommands:
    """kiosk.backend.link.CommandRunner over the kiosk's controller (given as a getter: the controller is
    built after the link, which it uses to verify codes). Faces are forgotten in `store`, at `clock`'s
    time."""

    def __init__(self, flows: Callable[[], KioskController], store: Store, clock: Clock) -> None:
        self._get_flows = flows
        self._store = store
        self._clock = clock

    @property
    def _flows(self) -> KioskController:
        return self._get_flows()

    async def run_command(self, command: RunnableCommand) -> CommandOutcome:
        if isinstance(command, OpenDoorCommand):
            try:
                outcome = await self._flows.open_for_support(command.compartment_id, command.support_ticket)
            except ValueError as error:
                return CommandOutcome(CommandStatus.REFUSED, "unknown_compartment", str(error))
            return _OPEN_DOOR_OUTCOMES[outcome]
        if isinstance(command, OutOfServiceCommand):
            try:
                status = self._flows.set_out_of_service(command.compartment_id, command.out_of_service,
                                                        command.reason)
            except ValueError as error:
                return CommandOutcome(CommandStatus.REFUSED, "unknown_compartment", str(error))
            return CommandOutcome(CommandStatus.DONE, message=f"compartment {command.compartment_id} is "
                                                              f"{status.state.value}")
        if isinstance(command, ForgetFaceCommand):
            # The recipient withdrew consent through the operator: their encodings go now, whether or not
            # they have a parcel here. Unknown parcels are no error: the face may never have been enrolled.
            forgotten = self._store.forget_faces_of_parcels(command.parcel_ids, self._clock.now(), "platform")
            return CommandOutcome(CommandStatus.DONE,
                                  message=f"face data of {forgotten} recipient(s) deleted")
        return CommandOutcome(CommandStatus.REFUSED, "invalid_command",
                              f"not a command this locker runs: {type(command).__name__}")


class HealthReport:
    """Builds the heartbeat's Health on the event-loop thread (it reads the store)."""

    def __init__(self, store: Store, locker: Locker, clock: Clock,
                 camera: Callable[[], CameraHealth | None]) -> None:
        self._store = store
        self._locker = locker
        self._clock = clock
        self._camera = camera
        self._started = time.monotonic()
        self._version = app_version()

    def __call__(self) -> Health:
        answering, total = self._locker.boards_answering()
        compartments = self._store.compartments()
        camera = self._camera()
        sync = self._store.sync_status()
        return Health(
            locker_clock=self._clock.now(),
            app_version=self._version,
            uptime_s=int(time.monotonic() - self._started),
            boards_answering=answering,
            boards_total=total,
            doors_open=tuple(sorted(door for door, state in self._locker.door_states().items()
                                    if state is DoorState.OPEN)),
            out_of_order=tuple((status.compartment.id, status.out_of_order_reason or "unknown")
                               for status in compartments if status.state is CompartmentState.OUT_OF_ORDER),
            cameras=() if camera is None else (camera,),
            outbox_depth=self._store.outbox_depth(),
            outbox_oldest_at=self._store.outbox_oldest_at(),
            outbox_parked=self._store.outbox_parked_count(),
            last_sync_at=sync.last_complete_at,
        )

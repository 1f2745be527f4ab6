"""What every lock-board driver offers, whatever its protocol. Locks are numbered from 1 as printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class HalError(Exception):
    """Base of every hardware error; the message is one readable line for a technician."""


class NoReply(HalError):
    """The board did not answer within the timeout, after the retries."""


class BadFrame(HalError):
    """A reply arrived but was garbled: bad checksum, wrong length, unexpected command."""


class PortGone(HalError):
    """The serial port (or TCP link) vanished or cannot be opened; the driver keeps trying to reconnect."""


@dataclass(frozen=True)
class LockStatus:
    door_open: bool
    occupied: bool | None  # infrared parcel sensor; None when the board has none


@dataclass(frozen=True)
class BoardStatus:
    board: int
    locks: dict[int, LockStatus]  # lock number (from 1) -> status


class LockBoardDriver(Protocol):
    """Blocking calls, safe from any one thread at a time (each driver holds one lock per bus)."""

    protocol: str

    def unlock(self, board: int, lock: int) -> None: ...

    def status(self, board: int) -> BoardStatus: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DoorChange:
    """A door that changed, as pushed unprompted by a board (or seen by a poll that compares readings)."""

    board: int
    lock: int
    door_open: bool
    at: float  # time.monotonic() when the driver received it


class BoardFamilyDriver(LockBoardDriver, Protocol):
    """Everything a technician's tool needs; every protocol's driver offers it."""

    def unlock_all(self, board: int) -> None: ...


class PushingDriver(BoardFamilyDriver, Protocol):
    """A driver whose boards report door changes unprompted; a reader thread delivers them here.

    Listeners run on the reader thread and must be quick; `close()` joins that thread."""

    def add_door_listener(self, callback: Callable[[DoorChange], None]) -> None: ...

    def remove_door_listener(self, callback: Callable[[DoorChange], None]) -> None: ...


class SimulatedBoards(Protocol):
    """The control surface every protocol's simulator offers (QA, the demo console and the CLI use it).

    Boards are numbered as on the bus (from 0 for Kerong; each protocol documents its range), locks from 1.
    Listeners get the simulator's own event objects with at least `.kind` (a str enum: "frame-in",
    "frame-out", "noise", "unlock", "door", "latch", "occupied", "jam", "connected"), `.at`
    (time.monotonic()), `.board`, `.lock`, `.value` and `.frame`.
    """

    protocol: str
    boards: int

    def close_door(self, board: int, lock: int) -> None: ...

    def open_door(self, board: int, lock: int) -> None: ...

    def jam(self, board: int, lock: int, jammed: bool = True) -> None: ...

    def set_occupied(self, board: int, lock: int, occupied: bool) -> None: ...

    def set_connected(self, connected: bool, board: int | None = None) -> None: ...

    def set_reply_delay(self, seconds: float) -> None: ...

    def garble_replies(self, count: int = 1) -> None: ...

    def door_open(self, board: int, lock: int) -> bool: ...

    def occupied(self, board: int, lock: int) -> bool: ...

    def connected(self, board: int) -> bool: ...

    def add_listener(self, callback: Callable[[Any], None]) -> None: ...

    def remove_listener(self, callback: Callable[[Any], None]) -> None: ...

    def serve_pty(self) -> str: ...

    def serve_tcp(self, port: int = 0, host: str = "127.0.0.1") -> int: ...

    def attach(self, link: Any) -> Callable[[], None]:
        """Serve an in-process link (hal.lockboard.simulator_registry.SimLink) for the sim:// transport."""
        ...

    def stop(self) -> None: ...

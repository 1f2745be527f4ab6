"""What every lock-board driver offers, whatever its protocol. Locks are numbered from 1 as printed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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

"""hal -> core: a blocking lock-board driver seen as core's async LockBus.

All device I/O runs on one dedicated worker thread, so the event loop never waits on the bus and the driver
is only ever touched from a single thread. hal's errors become core's BusError with the same message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from hal.lockboard.base import DoorChange, HalError, LockBoardDriver
from kiosk.core.model import LockReading
from kiosk.core.ports import BusError

T = TypeVar("T")

log = logging.getLogger(__name__)


class HalLockBus:
    """Implements kiosk.core.ports.LockBus over a hal LockBoardDriver. Lock numbers pass through (from 1).

    `infrared=False` is for boards whose parcel sensors are not fitted: a Kerong board then still sends
    zero bits, which would read as "empty" and let reconciliation believe a parcel was taken.
    """

    def __init__(self, driver: LockBoardDriver, *, infrared: bool = True) -> None:
        self._driver = driver
        self._infrared = infrared
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lockbus")
        self._closed = False
        self._push_listener: Callable[[DoorChange], None] | None = None
        self._close_lock = threading.Lock()

    @property
    def protocol(self) -> str:
        return self._driver.protocol

    async def unlock(self, board: int, lock: int) -> None:
        await self._call(self._driver.unlock, board, lock)

    async def read_board(self, board: int) -> Mapping[int, LockReading]:
        status = await self._call(self._driver.status, board)
        return {
            number: LockReading(door_open=lock.door_open, occupied=lock.occupied if self._infrared else None)
            for number, lock in status.locks.items()
        }

    def subscribe_door_changes(self, callback: Callable[[int, int, bool], None]) -> bool:
        add_listener = getattr(self._driver, "add_door_listener", None)
        if add_listener is None:
            return False
        loop = asyncio.get_running_loop()

        def on_push(change: DoorChange) -> None:  # on the driver's reader thread
            with contextlib.suppress(RuntimeError):  # the loop already closed: the kiosk is shutting down
                loop.call_soon_threadsafe(callback, change.board, change.lock, change.door_open)

        add_listener(on_push)
        self._push_listener = on_push
        return True

    def close(self) -> None:
        """Wait for the call in flight, close the driver on the worker thread, stop the thread. Idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        remove_listener = getattr(self._driver, "remove_door_listener", None)
        if remove_listener is not None and self._push_listener is not None:
            remove_listener(self._push_listener)
        try:
            self._executor.submit(self._driver.close).result()
        except (HalError, OSError) as error:
            log.warning("closing the lock bus driver failed: %s", error)
        finally:
            self._executor.shutdown(wait=True)

    async def _call(self, function: Callable[..., T], *arguments: int) -> T:
        if self._closed:
            raise BusError("the lock bus is closed")
        try:
            future = self._executor.submit(self._guarded, function, *arguments)
        except RuntimeError as error:  # submitted while close() shuts the executor down
            raise BusError("the lock bus is closed") from error
        return await asyncio.wrap_future(future)

    @staticmethod
    def _guarded(function: Callable[..., T], *arguments: int) -> T:
        # Translated on the worker thread so the loop side sees only BusError (or a real bug).
        try:
            return function(*arguments)
        except HalError as error:
            raise BusError(str(error)) from error
        except OSError as error:  # a driver that let a serial/socket error through: still the bus
            raise BusError(f"bus I/O error: {error}") from error

"""hal -> core: a blocking lock-board driver seen as core's async LockBus, and the camera's frames seen as
core's ParcelCamera.

All device I/O runs on one dedicated worker thread, so the event loop never waits on the bus and the driver
is only ever touched from a single thread. hal's errors become core's BusError with the same message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from hal.lockboard.base import DoorChange, HalError, LockBoardDriver
from kiosk.core.model import LockReading
from kiosk.core.ports import BusError

if TYPE_CHECKING:  # numpy and OpenCV load with the camera, in the background, never with this module
    from hal.camera import Image

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


PHOTO_MAX_WIDTH = 640
PHOTO_JPEG_QUALITY = 80
# A frame older than this is not "the picture now": the camera stopped delivering (unplugged, reopening).
PHOTO_MAX_AGE_S = 2.0


class FramePhotographer:
    """Implements kiosk.core.ports.ParcelCamera over the frames the kiosk's camera delivers anyway.

    `offer_frame` (a frame listener, on the camera's thread) only keeps a reference to the newest frame, so
    it costs the camera nothing; `take_photo` downsizes and JPEG-encodes that frame on a worker thread of its
    own. The worker is this object's, not the loop's default executor, so close() can join it: no thread
    outlives the kiosk. `clock` is monotonic seconds (the frames' age), injectable for tests.
    """

    def __init__(self, *, max_width: int = PHOTO_MAX_WIDTH, quality: int = PHOTO_JPEG_QUALITY,
                 max_age_s: float = PHOTO_MAX_AGE_S, clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(max_width, bool) or not isinstance(max_width, int) or max_width < 16:
            raise ValueError(f"max_width must be a whole number of pixels, 16 or more, not {max_width!r}")
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ValueError(f"quality must be a JPEG quality from 1 to 100, not {quality!r}")
        self._max_width = max_width
        self._quality = quality
        self._max_age_s = max_age_s
        self._clock = clock
        self._latest: tuple[Image, float] | None = None  # replaced whole: one reference swap, no lock needed
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._executor_lock = threading.Lock()

    def offer_frame(self, image: Image) -> None:
        """The camera's newest frame (BGR, never written to after delivery); called on the camera's thread."""
        self._latest = (image, self._clock())

    async def take_photo(self) -> bytes | None:
        """A JPEG of the newest frame, at most max_width wide; None with no recent frame, after close(), or
        when the frame cannot be encoded (logged). Never blocks the event loop."""
        latest = self._latest
        if latest is None or self._clock() - latest[1] > self._max_age_s:
            return None
        executor = self._worker()
        if executor is None:
            return None
        try:
            future = executor.submit(encode_photo, latest[0], self._max_width, self._quality)
        except RuntimeError:  # submitted while close() shuts the worker down
            return None
        try:
            return await asyncio.wrap_future(future)
        except Exception:
            log.exception("the parcel photo could not be made")
            return None

    def close(self) -> None:
        """Wait for a photo being encoded and stop the worker thread. Idempotent."""
        with self._executor_lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _worker(self) -> ThreadPoolExecutor | None:
        with self._executor_lock:
            if self._closed:
                return None
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parcel-photo")
            return self._executor


def encode_photo(image: Image, max_width: int = PHOTO_MAX_WIDTH, quality: int = PHOTO_JPEG_QUALITY) -> bytes:
    """A JPEG of a BGR (or grey) frame, shrunk to at most `max_width` pixels wide, aspect kept. Blocking: call
    it off the event loop. Raises ValueError for an image OpenCV cannot encode."""
    import cv2  # loaded with the camera; imported here so that loading this module never loads OpenCV

    height, width = image.shape[:2]
    if not height or not width:
        raise ValueError(f"an empty {width}x{height} frame is no photo")
    photo: Any = image  # OpenCV's own array type after a resize
    try:
        if width > max_width:
            new_height = max(1, round(height * max_width / width))
            photo = cv2.resize(image, (max_width, new_height), interpolation=cv2.INTER_AREA)
        encoded, buffer = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, quality])
    except cv2.error as error:
        raise ValueError(f"OpenCV could not encode a {width}x{height} frame as JPEG: {error}") from None
    if not encoded:
        raise ValueError(f"OpenCV could not encode a {width}x{height} frame as JPEG")
    return bytes(buffer.tobytes())

"""The port of a request/response bus driver: opened on first use, dropped when it vanishes, reopened after.

Shared by the drivers that write a request and read its answer on the calling thread (Kerong, BU). The
driver serialises the calls (one lock per bus); this class holds no lock of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hal.lockboard.base import PortGone
from hal.transport import SerialLike, open_transport

__all__ = ["RequestPort"]

log = logging.getLogger(__name__)


class RequestPort:
    """One bus port at `url` (see hal.transport for the URL forms), opened by the first send or read.

    A send or read that finds the port gone drops it and raises PortGone; the next one reopens it.
    `on_drop` is called whenever the port is dropped or closed, for state that belongs to one opened port.
    """

    def __init__(self, url: str, *, baudrate: int, timeout: float,
                 on_drop: Callable[[], None] | None = None) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self._on_drop = on_drop
        self._port: SerialLike | None = None
        self._closed = False
        # After a failed call a late reply may still be on its way; the next request waits until then.
        self._quiet_until = 0.0

    def send(self, request: bytes) -> None:
        """Write `request` after discarding what is already in the input buffer. Raises PortGone."""
        port = self._connected()
        late_reply_window = self._quiet_until - time.monotonic()
        if late_reply_window > 0:
            # Only after a failed call: a slow board's answer to it could otherwise pass for the answer to
            # this request. Waiting lets it arrive, and the reset below throws it away.
            time.sleep(late_reply_window)
        try:
            # Bytes still in the input buffer belong to an earlier exchange (a late reply, line noise);
            # discarding them costs one ioctl and keeps them from passing for the answer to this request.
            port.reset_input_buffer()
            port.write(request)
        except PortGone:
            self.drop()
            raise

    def read(self, size: int) -> bytes:
        """Up to `size` bytes, fewer (or none) once one timeout passed. Raises PortGone."""
        port = self._connected()
        try:
            return port.read(size)
        except PortGone:
            self.drop()
            raise

    def hold_quiet(self, seconds: float) -> None:
        """Make the next send wait until `seconds` from now, so a late reply arrives and is discarded."""
        self._quiet_until = time.monotonic() + seconds

    def drop(self) -> None:
        """Close the port until the next send or read reopens it."""
        if self._on_drop is not None:
            self._on_drop()
        if self._port is not None:
            self._port.close()
            self._port = None

    def close(self) -> None:
        """Close the port for good; later sends and reads raise PortGone. Closing twice is harmless."""
        self._closed = True
        self.drop()

    def _connected(self) -> SerialLike:
        if self._closed:
            raise PortGone(f"{self.url}: driver closed")
        if self._port is None:
            self._port = open_transport(self.url, baudrate=self.baudrate, timeout=self.timeout)
            log.info("opened %s", self.url)
        return self._port

"""A URL -> a serial-like byte stream.

- `/dev/ttyUSB0`, `/dev/pts/5`: a serial device, opened exclusively so two programs cannot share a bus;
- `socket://host:port`, `rfc2217://host:port`, ...: anything pyserial's serial_for_url understands
  (RS-485 to Ethernet converters);
- `sim://NAME`: an in-process simulator registered with `register_simulator(NAME, simulator)`.

Every port returned here raises PortGone (with one readable line) instead of pyserial's or the OS's own
exceptions, both when opening and when the device vanishes later.
"""

from __future__ import annotations

import errno
import logging
import termios
import threading
import time
from collections.abc import Callable
from typing import Protocol

import serial

from hal.lockboard.base import PortGone
from hal.lockboard.simulator_registry import (
    SimulatedDevice,
    register_simulator,
    registered_simulator,
    unregister_simulator,
)

__all__ = [
    "SIM_SCHEME",
    "SerialLike",
    "SimulatedPort",
    "open_transport",
    "register_simulator",
    "unregister_simulator",
]

log = logging.getLogger(__name__)

SIM_SCHEME = "sim://"
WRITE_TIMEOUT_S = 1.0  # a 5-byte frame takes 2.6 ms at 19200 baud; a second means the port is stuck


class SerialLike(Protocol):
    """What a lock-board driver needs from a port. Every method may raise PortGone."""

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes: returns when it has them all or when the port's timeout has passed."""
        ...

    def write(self, data: bytes) -> int | None: ...

    def reset_input_buffer(self) -> None:
        """Throw away whatever has arrived but was not read yet."""
        ...

    def close(self) -> None:
        """Never raises; closing twice is harmless."""
        ...


def open_transport(url: str, *, baudrate: int, timeout: float) -> SerialLike:
    """Open `url` at 8N1 `baudrate`; reads wait at most `timeout` seconds. Raises PortGone."""
    if not url or not url.strip():
        raise PortGone("no port given")
    if baudrate <= 0:
        raise ValueError(f"baudrate must be positive, got {baudrate!r}")
    if timeout < 0:
        raise ValueError(f"timeout must not be negative, got {timeout!r}")
    if url.startswith(SIM_SCHEME):
        return _open_simulator(url, timeout)
    try:
        if "://" in url:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout,
                                         write_timeout=WRITE_TIMEOUT_S)
        else:
            port = serial.Serial(url, baudrate=baudrate, timeout=timeout, write_timeout=WRITE_TIMEOUT_S,
                                 exclusive=True)
    except (serial.SerialException, OSError, ValueError, termios.error) as exc:
        raise PortGone(f"cannot open {url}: {_open_failure_reason(exc)}") from exc
    return _SerialPort(port, url)


def _errno_of(exc: BaseException) -> int | None:
    """pyserial keeps the OS error number on some paths and only in the chained exception on others."""
    seen: BaseException | None = exc
    while seen is not None:
        number = getattr(seen, "errno", None)
        if isinstance(number, int):
            return number
        seen = seen.__cause__ or seen.__context__
    return None


def _open_failure_reason(exc: BaseException) -> str:
    number = _errno_of(exc)
    text = str(exc)
    if number in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return "no such device"
    if number in (errno.EACCES, errno.EPERM):
        return "permission denied (is this user in the dialout group?)"
    if number in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
        return "port busy (another program has it open)"
    if number == errno.ECONNREFUSED:
        return "connection refused"
    if number == errno.ETIMEDOUT or "timed out" in text:
        return "connection timed out"
    if "Could not configure port" in text:
        return "not a serial port"
    if isinstance(exc, ValueError):
        return f"invalid port URL or setting ({text})"
    return text.splitlines()[0] if text else type(exc).__name__


class _SerialPort:
    """A pyserial port whose failures come out as PortGone."""

    def __init__(self, port: serial.SerialBase, url: str) -> None:
        self._port = port
        self._url = url

    def read(self, size: int = 1) -> bytes:
        try:
            return bytes(self._port.read(size))
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._gone("read", exc) from exc

    def write(self, data: bytes) -> int | None:
        try:
            written: int | None = self._port.write(data)
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._gone("write", exc) from exc
        return written

    def reset_input_buffer(self) -> None:
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._gone("reset", exc) from exc

    def close(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError, termios.error) as exc:
            log.debug("closing %s: %s", self._url, exc)

    def _gone(self, action: str, exc: BaseException) -> PortGone:
        if isinstance(exc, serial.SerialTimeoutException):
            return PortGone(f"{self._url}: {action} timed out (port stuck)")
        # termios errors are bare (errno, text) tuples
        bare = isinstance(exc, termios.error) and len(exc.args) == 2
        reason = str(exc.args[1]) if bare else str(exc)
        return PortGone(f"{self._url} vanished ({action} failed: {reason})")


def _open_simulator(url: str, timeout: float) -> SimulatedPort:
    name = url[len(SIM_SCHEME) :].strip("/")
    device = registered_simulator(name)
    if device is None:
        raise PortGone(f"cannot open {url}: no simulator registered as {name!r}")
    return SimulatedPort(device, url, timeout=timeout)


class SimulatedPort:
    """A serial-like port to an in-process simulator.

    Bytes written go to the simulator's thread through a buffer; its replies are readable with the same
    read(n)-with-timeout behaviour as pyserial. When the simulator stops (hangs up), reads and writes raise
    PortGone, like an unplugged adapter.
    """

    def __init__(self, device: SimulatedDevice, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._changed = threading.Condition()
        self._to_host = bytearray()
        self._to_device = bytearray()
        self._closed = False
        self._hung_up = False
        self._detach: Callable[[], None] = _nothing
        self._detach = device.attach(_DeviceEnd(self))

    # the host's side ---------------------------------------------------------------------------------
    def read(self, size: int = 1) -> bytes:
        deadline = time.monotonic() + self.timeout
        with self._changed:
            while len(self._to_host) < size and not (self._hung_up or self._closed):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            if self._closed:
                raise PortGone(f"{self.url} is closed")
            if self._hung_up and not self._to_host:
                raise PortGone(f"{self.url} vanished (the simulator stopped)")
            data = bytes(self._to_host[:size])
            del self._to_host[:size]
            return data

    def write(self, data: bytes) -> int:
        with self._changed:
            if self._closed:
                raise PortGone(f"{self.url} is closed")
            if self._hung_up:
                raise PortGone(f"{self.url} vanished (the simulator stopped)")
            self._to_device.extend(data)
            self._changed.notify_all()
        return len(data)

    def reset_input_buffer(self) -> None:
        with self._changed:
            if self._hung_up and not self._closed:
                raise PortGone(f"{self.url} vanished (the simulator stopped)")
            self._to_host.clear()

    def close(self) -> None:
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
        self._detach()

    # the simulator's side ----------------------------------------------------------------------------
    def _device_receive(self) -> bytes:
        with self._changed:
            while not self._to_device and not (self._closed or self._hung_up):
                self._changed.wait()
            if self._closed or self._hung_up:
                return b""
            data = bytes(self._to_device)
            self._to_device.clear()
            return data

    def _device_send(self, data: bytes) -> None:
        with self._changed:
            if not (self._closed or self._hung_up):
                self._to_host.extend(data)
                self._changed.notify_all()

    def _device_hang_up(self) -> None:
        with self._changed:
            self._hung_up = True
            self._changed.notify_all()


class _DeviceEnd:
    """The SimLink a simulator holds: the far end of a SimulatedPort."""

    def __init__(self, port: SimulatedPort) -> None:
        self._port = port

    def receive(self) -> bytes:
        return self._port._device_receive()

    def send(self, data: bytes) -> None:
        self._port._device_send(data)

    def hang_up(self) -> None:
        self._port._device_hang_up()


def _nothing() -> None:
    return None

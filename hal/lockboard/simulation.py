"""What every protocol's lock-board simulator shares: the event vocabulary and the serving of links.

A simulator models its boards and answers requests in its own protocol; this module serves it on a
pseudo-terminal, a TCP port or an in-process `sim://` link (`LinkServer`, exposed as `ServesLinks`), one
thread per link running the simulator's handler (plus, where replies are timed, one that sends them when
due), and gives listeners the same events whatever the protocol (`EventKind`, `SimEvent`, `SimLockState`),
so one QA fixture or demo console drives any of them.

It knows no protocol: nothing here frames, checks or answers bytes.
"""

from __future__ import annotations

import enum
import errno
import heapq
import itertools
import logging
import os
import random
import select
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hal.lockboard.simulator_registry import SimLink

__all__ = [
    "EventKind",
    "LineNoise",
    "LinkServer",
    "Listener",
    "ListenerList",
    "LockModel",
    "ModelReadings",
    "ServedLink",
    "ServesLinks",
    "SimEvent",
    "SimLockState",
    "garbled",
    "notify",
    "wire_time",
]

log = logging.getLogger(__name__)

_BITS_PER_BYTE_ON_WIRE = 10  # 8N1: start bit, 8 data bits, stop bit


class EventKind(enum.StrEnum):
    FRAME_IN = "frame-in"  # a well-formed request arrived (frame = its bytes)
    FRAME_OUT = "frame-out"  # a reply left (frame = its bytes)
    NOISE = "noise"  # bytes that were no well-formed request, or line noise sent around a reply (board set)
    UNLOCK = "unlock"  # a lock got an unlock pulse (value = whether its door sprang open)
    DOOR = "door"  # value = door open
    LATCH = "latch"  # value = latched
    OCCUPIED = "occupied"  # value = a parcel is seen by the infrared sensor
    JAM = "jam"  # value = jammed
    CONNECTED = "connected"  # value = the board answers at all


@dataclass(frozen=True)
class SimEvent:
    kind: EventKind
    at: float  # time.monotonic() when it happened; for frames, when the bytes were read off the link
    board: int | None = None
    lock: int | None = None
    value: bool | None = None
    frame: bytes = b""


@dataclass(frozen=True)
class SimLockState:
    door_open: bool
    occupied: bool
    jammed: bool
    latched: bool
    sticks: bool = False  # the door does not latch when pushed shut


Listener = Callable[[SimEvent], None]


@dataclass
class LockModel:
    """One simulated lock as its simulator keeps it (changed only under the simulator's lock)."""

    door_open: bool = False
    occupied: bool = False
    jammed: bool = False
    latched: bool = True
    sticks: bool = False

    def reading(self) -> SimLockState:
        return SimLockState(self.door_open, self.occupied, self.jammed, self.latched, self.sticks)


class ListenerList:
    """A simulator's listeners, changed under the simulator's own lock (so never in the middle of the
    events it sends while holding that lock)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._listeners: list[Listener] = []

    def add(self, callback: Listener) -> None:
        with self._lock:
            self._listeners.append(callback)

    def remove(self, callback: Listener) -> None:
        """Forget `callback`; one never added is ignored."""
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def notify(self, events: Iterable[SimEvent]) -> None:
        """Tell every listener (as they are when this starts) about every event, in order."""
        with self._lock:
            listeners = list(self._listeners)
        notify(listeners, events)


def notify(listeners: Iterable[Listener], events: Iterable[SimEvent]) -> None:
    """Call every listener with every event; a listener that raises is logged and the rest still hear it."""
    listeners = list(listeners)
    for event in events:
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("simulator listener %r failed on %s", listener, event.kind)


def wire_time(length: int, baudrate: int | None) -> float:
    """Seconds that `length` bytes take on an 8N1 line at `baudrate`; 0 for None (no wire time at all)."""
    return 0.0 if baudrate is None else length * _BITS_PER_BYTE_ON_WIRE / baudrate


def garbled(frame: bytes) -> bytes:
    """`frame` with a wrong checksum (its last byte inverted)."""
    return frame[:-1] + bytes([frame[-1] ^ 0xFF])


class LineNoise:
    """The line noise queued around coming replies (used under the simulator's lock)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)  # seeded for repeatable runs
        self._queue: list[tuple[bytes | None, bytes | None]] = []  # (before, after) per coming reply

    def add(self, count: int, before: bytes | None, after: bytes | None) -> None:
        """The next `count` replies go between `before` and `after`, or, where None, 1-8 random bytes."""
        self._queue.extend([(before, after)] * count)

    def around(self) -> tuple[bytes, bytes]:
        """The noise to send before and after the next reply (b"" if none is queued)."""
        if not self._queue:
            return b"", b""
        before, after = self._queue.pop(0)
        return (self._random_noise() if before is None else before,
                self._random_noise() if after is None else after)

    def _random_noise(self) -> bytes:
        return self._random.randbytes(self._random.randint(1, 8))


class ServedLink:
    """One served link as a simulator's handler sees it: `receive()` (b"" once it is to stop), `send(data)`
    and `stopping`. The handler runs on the link's own thread. With `scheduled`, `later(due, action)` runs
    actions on a second thread when they fall due (a board answering after its pulse).
    stop() is idempotent."""

    def __init__(self, name: str, receive: Callable[[], bytes], send: Callable[[bytes], None],
                 wake: Callable[[], object], cleanup: Callable[[], None] | None, *,
                 handler: Callable[[ServedLink], None], scheduled: bool,
                 forget: Callable[[ServedLink], None]) -> None:
        self.receive = receive
        self.send = send
        self.stopping = threading.Event()
        self._wake = wake
        self._cleanup = cleanup
        self._forget = forget
        self._due = threading.Condition()
        self._outbox: list[tuple[float, int, Callable[[], None]]] = []  # a heap of (due, order, action)
        self._order = itertools.count()
        self._threads = [threading.Thread(target=handler, args=(self,), name=name, daemon=True)]
        if scheduled:
            # started first, so nothing the handler schedules waits for it to come up
            self._threads.insert(0, threading.Thread(target=self._run_when_due, name=f"{name} replies",
                                                     daemon=True))
        self._scheduled = scheduled
        self._stopped = threading.Lock()
        self._done = False

    def chunks(self) -> Iterator[tuple[bytes, float]]:
        """What the host writes, as it arrives, each with the time.monotonic() it was read, until the link
        stops or closes."""
        while not self.stopping.is_set():
            data = self.receive()
            received_at = time.monotonic()
            if not data:
                return
            yield data, received_at

    def later(self, due: float, action: Callable[[], None]) -> None:
        """Run `action` on this link's second thread at time.monotonic() `due`, in the order they fall due
        (actions still waiting when the link stops are dropped)."""
        if not self._scheduled:
            raise RuntimeError("this link was served without scheduled=True")
        with self._due:
            heapq.heappush(self._outbox, (due, next(self._order), action))
            self._due.notify_all()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._stopped:
            if self._done:
                return
            self._done = True
            self.stopping.set()
            with self._due:
                self._due.notify_all()
            try:
                self._wake()
            except OSError as exc:
                if exc.errno != errno.EBADF:
                    raise
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()
            # Forgotten before cleanup, so nothing is sent to every link on one whose descriptors are closing.
            self._forget(self)
            if self._cleanup is not None:
                self._cleanup()

    def _run_when_due(self) -> None:
        while True:
            with self._due:
                while True:
                    if self.stopping.is_set():
                        return
                    wait = self._outbox[0][0] - time.monotonic() if self._outbox else None
                    if wait is not None and wait <= 0:
                        _, _, action = heapq.heappop(self._outbox)
                        break
                    self._due.wait(wait)
            action()


class LinkServer:
    """The links a simulator serves, each running `handler(link)` on a thread named `name` + the link.

    `lock` guards the list of links and the TCP client; a simulator that sends on every link while holding
    its model lock (`send_to_all`) passes that lock, so no link is forgotten or closed under it."""

    def __init__(self, name: str, handler: Callable[[ServedLink], None], *, lock: threading.RLock,
                 scheduled: bool = False) -> None:
        self._name = name
        self._handler = handler
        self._lock = lock
        self._scheduled = scheduled
        self._links: list[ServedLink] = []

    def serve_pty(self) -> str:
        """Serve on a new pseudo-terminal (raw mode) and return its device path, e.g. /dev/pts/5."""
        master, slave = os.openpty()
        try:
            # Raw at once: with the default echo on, our own replies would come back to us as requests.
            tty.setraw(slave)
            os.set_blocking(master, False)
            path = os.ttyname(slave)
        except OSError:
            os.close(master)
            os.close(slave)
            raise
        wake_read, wake_write = os.pipe()
        poller = select.poll()
        poller.register(master, select.POLLIN)
        poller.register(wake_read, select.POLLIN)

        def receive() -> bytes:
            while True:
                if any(fd == wake_read for fd, _ in poller.poll()):
                    return b""
                try:
                    return os.read(master, 4096)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    # We keep the slave end open, so EIO (no slave left) should not happen; stop if it does.
                    log.warning("pty %s failed: %s", path, exc)
                    return b""

        def send(data: bytes) -> None:
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(master, view) :]
                except BlockingIOError:
                    log.debug("pty %s: nobody reads, %d byte(s) lost", path, len(view))
                    return
                except OSError as exc:
                    log.debug("pty %s: write failed: %s", path, exc)
                    return

        def close() -> None:
            for fd in (master, slave, wake_read, wake_write):
                os.close(fd)

        self._start(f"pty {path}", receive, send, wake=lambda: os.write(wake_write, b"x"), cleanup=close)
        return path

    def serve_tcp(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Serve one client at a time on a TCP port (0 picks a free one); returns the port number."""
        listener = socket.create_server((host, port))
        listener.setblocking(False)
        bound_port: int = listener.getsockname()[1]
        wake_read, wake_write = os.pipe()
        clients: list[socket.socket] = []  # at most one: the connection being served

        def receive() -> bytes:
            while True:
                poller = select.poll()
                poller.register(wake_read, select.POLLIN)
                poller.register(clients[0] if clients else listener, select.POLLIN)
                if any(fd == wake_read for fd, _ in poller.poll()):
                    return b""
                if not clients:
                    try:
                        connection, _ = listener.accept()
                    except BlockingIOError:
                        continue
                    connection.setblocking(False)
                    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    with self._lock:  # sends to every link from other threads look at `clients` under it
                        clients.append(connection)
                    continue
                try:
                    data = clients[0].recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    return data
                with self._lock:
                    clients.pop().close()  # the client left; wait for the next one

        def send(data: bytes) -> None:
            if clients:
                try:
                    clients[0].send(data)
                except OSError as exc:
                    log.debug("tcp %d: send failed: %s", bound_port, exc)

        def close() -> None:
            for client in clients:
                client.close()
            clients.clear()
            listener.close()
            os.close(wake_read)
            os.close(wake_write)

        self._start(f"tcp {host}:{bound_port}", receive, send, wake=lambda: os.write(wake_write, b"x"),
                    cleanup=close)
        return bound_port

    def attach(self, link: SimLink) -> Callable[[], None]:
        """Serve an in-process link (the `sim://` transport); returns the function that detaches it."""
        return self._start("in-process link", link.receive, link.send, wake=link.hang_up, cleanup=None)

    def stop(self) -> None:
        """Stop serving everywhere and join every serving thread."""
        with self._lock:
            links = list(self._links)
        for link in links:
            link.stop()

    def send_to_all(self, data: bytes) -> None:
        """Send `data` on every link being served (a board's unprompted frame is heard on all of them)."""
        with self._lock:
            for link in self._links:
                link.send(data)

    def _start(self, description: str, receive: Callable[[], bytes], send: Callable[[bytes], None],
               wake: Callable[[], object], cleanup: Callable[[], None] | None) -> Callable[[], None]:
        link = ServedLink(f"{self._name} {description}", receive, send, wake, cleanup, handler=self._handler,
                          scheduled=self._scheduled, forget=self._forget)
        with self._lock:
            self._links.append(link)
        link.start()
        return link.stop

    def _forget(self, link: ServedLink) -> None:
        with self._lock:
            if link in self._links:
                self._links.remove(link)


class ServesLinks:
    """The serving half of a simulator's public surface, for a simulator that keeps a `LinkServer` in
    `self._served`."""

    _served: LinkServer

    def serve_pty(self) -> str:
        """Serve on a new pseudo-terminal (raw mode) and return its device path, e.g. /dev/pts/5."""
        return self._served.serve_pty()

    def serve_tcp(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Serve one client at a time on a TCP port (0 picks a free one); returns the port number."""
        return self._served.serve_tcp(port, host)

    def attach(self, link: SimLink) -> Callable[[], None]:
        """Serve an in-process link (the `sim://` transport); returns the function that detaches it."""
        return self._served.attach(link)

    def stop(self) -> None:
        """Stop serving everywhere and join the serving threads. Ports served become dead, like an unplugged
        adapter; replies not yet sent are lost. The model keeps its state, and serving can start again."""
        self._served.stop()


class ModelReadings:
    """Readings and controls every simulator has in the same words, over its own model: `_state` (the
    model's lock), `_lock(board, lock)`, `_check_board(board)` (the key of that board in `_connected` and
    `_busy_left`) and `_unlock_ack`. What a busy board does is each protocol's (see its module)."""

    _state: threading.RLock
    _connected: Any
    _busy_left: Any
    _unlock_ack: bool

    def _lock(self, board: int, lock: int) -> LockModel:
        raise NotImplementedError

    def _check_board(self, board: int) -> int:
        raise NotImplementedError

    def door_open(self, board: int, lock: int) -> bool:
        with self._state:
            return self._lock(board, lock).door_open

    def occupied(self, board: int, lock: int) -> bool:
        with self._state:
            return self._lock(board, lock).occupied

    def connected(self, board: int) -> bool:
        with self._state:
            return bool(self._connected[self._check_board(board)])

    def set_busy(self, board: int, requests: int) -> None:
        """`board` is busy for its next `requests` requests (0 ends it)."""
        if isinstance(requests, bool) or not isinstance(requests, int) or requests < 0:
            raise ValueError(f"requests must be a whole number >= 0, got {requests!r}")
        with self._state:
            self._busy_left[self._check_board(board)] = requests

    def busy(self, board: int) -> int:
        """How many more requests `board` will be busy for."""
        with self._state:
            return int(self._busy_left[self._check_board(board)])

    def set_unlock_ack(self, enabled: bool) -> None:
        """Whether unlocks are acknowledged at all (some firmware stays silent)."""
        with self._state:
            self._unlock_ack = enabled

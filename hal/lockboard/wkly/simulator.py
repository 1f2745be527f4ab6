"""A bus of WKLY lock boards that push door changes, modelled from the protocol table (DESIGN.md section 5).

This module deliberately does not import the driver's codec: it frames and checks bytes on its own, so a
codec bug cannot pass its own tests. It shares the event vocabulary (EventKind, SimEvent, SimLockState) of
the Kerong simulator, so one QA fixture or demo console drives either.

    every frame   57 4B 4C 59 LEN ADDR CMD DATA.. XOR    LEN = whole frame; XOR over every byte before it
    0x82 LOCK     pulse one lock       -> 0B ADDR 82 STATUS LOCK DOOR   (DOOR read after the pulse)
    0x83 LOCK     query one lock       -> 0B ADDR 83 STATUS LOCK DOOR
    0x84          query all locks      -> LEN ADDR 84 STATUS N DOOR1..DOORN
    0x86          pulse every lock     -> 09 ADDR 86 STATUS
    0x85          unprompted, whenever a door opens or closes: 0A ADDR 85 LOCK DOOR
    STATUS 00 done / FF failed;  DOOR 00 open / 01 closed

Model: boards at addresses 0..boards-1, each with `locks` locks (default 24); per lock a latch and a door
(and a parcel flag kept for the common control surface, never reported: these boards have no parcel
sensor). A pulse releases the latch and the door springs open unless the latch is jammed; the door stays
open until someone closes it, and closing it latches it again (unless the door sticks).

A door change is pushed at once on every link being served, before the reply to the command that caused it:
a board acknowledges an open only after its pulse (`set_pulse_time`; open-all pulses lock after lock). A
reply trickles out at the baud rate, a few bytes at a time, as on a real line. Replies are built from the
state at the moment they start to leave, and a frame once started is finished before any other frame (a
push) goes out, so pushes and replies never contradict each other on the wire.

Faults: `set_connected(False)` (silent: no replies, no pushes, changes meanwhile are never pushed),
`garble_replies` / `garble_pushes` (wrong checksum), `noise_replies` (line noise around replies),
`set_reply_delay` (a slow board), `set_busy` (the next N requests are refused with status FF: this
protocol's way of saying so, where a Kerong or BU board stays silent), `jam` (a stuck latch: status 00,
door still closed), `set_door_sticks` (a door left open: it does not latch when pushed shut),
`set_unlock_ack(False)` (firmware that does not acknowledge opens), and `inject` (bytes from nowhere). A
board answers FF for a lock it does not have.

Serving: on a pseudo-terminal (`serve_pty`), a TCP port (`serve_tcp`) or in-process through `sim://NAME`
(`hal.transport.register_simulator`). Each served link has one thread; `stop()` ends and joins them all.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from hal.lockboard.kerong.simulator import EventKind, SimEvent, SimLockState
from hal.lockboard.simulator_registry import SimLink

__all__ = ["EventKind", "SimEvent", "SimLockState", "WklySimulator"]

log = logging.getLogger(__name__)

_HEADER = bytes([0x57, 0x4B, 0x4C, 0x59])
_OPEN = 0x82
_QUERY = 0x83
_QUERY_ALL = 0x84
_PUSH = 0x85
_OPEN_ALL = 0x86
_OK = 0x00
_FAILED = 0xFF
_DOOR_OPEN = 0x00
_DOOR_CLOSED = 0x01
_SHORTEST_FRAME = 8
_REQUEST_LENGTHS = {_OPEN: 9, _QUERY: 9, _QUERY_ALL: 8, _OPEN_ALL: 8}
_MAX_BOARDS = 256
_MAX_LOCKS = 245
_BITS_PER_BYTE_ON_WIRE = 10  # 8N1: start bit, 8 data bits, stop bit
_BYTES_PER_PIECE = 8  # a reply leaves in pieces this big, each when its last byte would have arrived
# A board drops a partial request after this much silence, as real boards do after an inter-byte timeout
# (generous here: a pseudo-terminal or TCP link may deliver one frame in two pieces).
_REQUEST_GAP_S = 0.1


@dataclass
class _Lock:
    door_open: bool = False
    occupied: bool = False
    jammed: bool = False
    latched: bool = True
    sticks: bool = False


Listener = Callable[[SimEvent], None]


def _xor(data: bytes | bytearray) -> int:
    return reduce(lambda total, byte: total ^ byte, data, 0)


def _frame(board: int, command: int, data: bytes) -> bytes:
    body = _HEADER + bytes([len(data) + _SHORTEST_FRAME, board, command]) + data
    return body + bytes([_xor(body)])


class WklySimulator:
    """`boards` WKLY boards at addresses 0..boards-1 with `locks` locks each, all closed, latched and empty.

    `baudrate`: replies take their wire time at this rate; None answers at once."""

    protocol = "wkly"

    def __init__(self, boards: int = 2, *, locks: int = 24, baudrate: int | None = 9600) -> None:
        if isinstance(boards, bool) or not isinstance(boards, int) or not 1 <= boards <= _MAX_BOARDS:
            raise ValueError(f"boards must be 1-{_MAX_BOARDS}, got {boards!r}")
        if isinstance(locks, bool) or not isinstance(locks, int) or not 1 <= locks <= _MAX_LOCKS:
            raise ValueError(f"locks must be 1-{_MAX_LOCKS}, got {locks!r}")
        if baudrate is not None and (isinstance(baudrate, bool) or not isinstance(baudrate, int)
                                     or baudrate <= 0):
            raise ValueError(f"baudrate must be a positive whole number or None, got {baudrate!r}")
        self.boards = boards
        self.locks = locks
        self._baudrate = baudrate
        # The model's lock, held to build and send a frame so that frames leave in model order; and the
        # wire's, held (after the model's) while a reply trickles out, so that nothing cuts into it.
        self._state = threading.RLock()
        self._wire = threading.RLock()
        self._locks = {(board, lock): _Lock() for board in range(boards) for lock in range(1, locks + 1)}
        self._connected = [True] * boards
        self._busy_left = [0] * boards
        self._reply_delay_s = 0.0
        self._pulse_s = 0.0
        self._unlock_ack = True
        self._garble_replies_left = 0
        self._garble_pushes_left = 0
        self._noise: list[tuple[bytes | None, bytes | None]] = []  # (before, after) for the coming replies
        self._random = random.Random()
        self._listeners: list[Listener] = []
        self._servers: list[_Server] = []

    # control: the physical world -------------------------------------------------------------------
    def close_door(self, board: int, lock: int) -> None:
        """Someone pushes the door shut; the latch catches it (unless it sticks: see set_door_sticks).
        Pushed to the host if the door moved."""
        with self._state:
            if self._lock(board, lock).sticks:
                return
            self._change(board, lock, door_open=False, latched=True)

    def open_door(self, board: int, lock: int) -> None:
        """Someone pulls the door open (forced, or left unlatched). Pushed to the host if the door moved."""
        self._change(board, lock, door_open=True, latched=False)

    def jam(self, board: int, lock: int, jammed: bool = True) -> None:
        """A jammed latch ignores unlock pulses."""
        self._change(board, lock, jammed=jammed)

    def set_door_sticks(self, board: int, lock: int, sticks: bool = True) -> None:
        """Door left open: pushed shut, it does not latch and swings back open, so it keeps reading open."""
        with self._state:
            self._lock(board, lock).sticks = sticks

    def set_occupied(self, board: int, lock: int, occupied: bool) -> None:
        """A parcel behind the door. Kept in the model only: these boards have no sensor to report it."""
        self._change(board, lock, occupied=occupied)

    def set_connected(self, connected: bool, board: int | None = None) -> None:
        """Cut a board (or, with board=None, every board) off the bus: no replies, no pushes."""
        boards = range(self.boards) if board is None else [self._check_board(board)]
        with self._state:
            for number in boards:
                if self._connected[number] != connected:
                    self._connected[number] = connected
                    self._emit(SimEvent(EventKind.CONNECTED, time.monotonic(), number, value=connected))

    # control: faults --------------------------------------------------------------------------------
    def set_reply_delay(self, seconds: float) -> None:
        """A slow board: every reply waits this long (on top of its wire time). Pushes are not delayed."""
        if not seconds >= 0:
            raise ValueError(f"reply delay must not be negative, got {seconds!r}")
        with self._state:
            self._reply_delay_s = seconds

    def garble_replies(self, count: int = 1) -> None:
        """The next `count` replies go out with a wrong checksum."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count!r}")
        with self._state:
            self._garble_replies_left = count

    def garble_pushes(self, count: int = 1) -> None:
        """The next `count` door-change pushes go out with a wrong checksum."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count!r}")
        with self._state:
            self._garble_pushes_left = count

    def noise_replies(self, count: int = 1, *, before: bytes | None = None,
                      after: bytes | None = None) -> None:
        """The next `count` replies go out between line noise: `before` and `after` as given, or, where None,
        1-8 random bytes each time. Calls add up (one queue of coming replies)."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count!r}")
        with self._state:
            self._noise.extend([(before, after)] * count)

    def set_busy(self, board: int, requests: int) -> None:
        """A busy board refuses its next `requests` requests with status 0xFF and does nothing (0 ends it)."""
        if isinstance(requests, bool) or not isinstance(requests, int) or requests < 0:
            raise ValueError(f"requests must be a whole number >= 0, got {requests!r}")
        with self._state:
            self._busy_left[self._check_board(board)] = requests

    def busy(self, board: int) -> int:
        """How many more requests `board` will refuse."""
        with self._state:
            return self._busy_left[self._check_board(board)]

    def set_pulse_time(self, seconds: float) -> None:
        """How long a lock's pulse lasts; an open is acknowledged after it (open-all: after every pulse, one
        lock after another). 0 by default, so tests run fast; real boards take about 0.35 s."""
        if not seconds >= 0:
            raise ValueError(f"pulse time must not be negative, got {seconds!r}")
        with self._state:
            self._pulse_s = seconds

    def set_unlock_ack(self, enabled: bool) -> None:
        """Whether opens (0x82, 0x86) are acknowledged at all (some firmware stays silent)."""
        with self._state:
            self._unlock_ack = enabled

    def inject(self, data: bytes) -> None:
        """Bytes on the line from nowhere (noise, another device), sent on every served link."""
        with self._state:
            self._emit(SimEvent(EventKind.FRAME_OUT, time.monotonic(), frame=bytes(data)))
            self._broadcast(bytes(data))

    # reading the model -------------------------------------------------------------------------------
    def door_open(self, board: int, lock: int) -> bool:
        with self._state:
            return self._lock(board, lock).door_open

    def occupied(self, board: int, lock: int) -> bool:
        with self._state:
            return self._lock(board, lock).occupied

    def connected(self, board: int) -> bool:
        with self._state:
            return self._connected[self._check_board(board)]

    def snapshot(self) -> dict[int, dict[int, SimLockState]]:
        """board -> lock (from 1) -> state, taken atomically."""
        with self._state:
            states = {key: SimLockState(lock.door_open, lock.occupied, lock.jammed, lock.latched, lock.sticks)
                      for key, lock in self._locks.items()}
        return {board: {lock: states[board, lock] for lock in range(1, self.locks + 1)}
                for board in range(self.boards)}

    def add_listener(self, callback: Listener) -> None:
        """`callback(event)` for every change and frame, called on the thread that caused it (the serving
        thread for requests, the caller for control calls) while the simulator holds its lock, so events
        arrive in wire order and a listener has seen a frame before the host can read it. It must be quick
        and must not wait for another thread that uses this simulator."""
        with self._state:
            self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        with self._state:
            if callback in self._listeners:
                self._listeners.remove(callback)

    # serving ----------------------------------------------------------------------------------------
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
                    with self._state:  # pushes from other threads look at `clients` under this lock
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
                with self._state:
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
        """Stop serving everywhere and join the serving threads. Ports served become dead, like an unplugged
        adapter. The model keeps its state, and serving can start again."""
        with self._state:
            servers = list(self._servers)
        for server in servers:
            server.stop()

    # internals: serving -----------------------------------------------------------------------------
    def _start(self, description: str, receive: Callable[[], bytes], send: Callable[[bytes], None],
               wake: Callable[[], object], cleanup: Callable[[], None] | None) -> Callable[[], None]:
        stopping = threading.Event()
        thread = threading.Thread(target=self._serve, args=(receive, send, stopping),
                                  name=f"wkly-sim {description}", daemon=True)
        server = _Server(thread, stopping, send, wake, cleanup, self._forget)
        with self._state:
            self._servers.append(server)
        thread.start()
        return server.stop

    def _forget(self, server: _Server) -> None:
        with self._state:
            if server in self._servers:
                self._servers.remove(server)

    def _serve(self, receive: Callable[[], bytes], send: Callable[[bytes], None],
               stopping: threading.Event) -> None:
        splitter = _RequestSplitter()
        while not stopping.is_set():
            data = receive()
            received_at = time.monotonic()
            if not data:
                return
            for piece, is_request in splitter.feed(data, received_at):
                if not is_request:
                    with self._state:
                        self._emit(SimEvent(EventKind.NOISE, received_at, frame=piece))
                    continue
                if not self._answer(piece, received_at, send, stopping):
                    return

    def _answer(self, request: bytes, received_at: float, send: Callable[[bytes], None],
                stopping: threading.Event) -> bool:
        """Act on one well-formed request and send the reply; False if serving stopped meanwhile."""
        board, command = request[5], request[6]
        lock = request[7] if command in (_OPEN, _QUERY) else None
        with self._state:
            self._emit(SimEvent(EventKind.FRAME_IN, received_at, board, lock, frame=request))
            if not self._on_bus(board):
                return True
            refused = self._refuses(board, lock)
            pulsed = 0
            if not refused and command == _OPEN:
                assert lock is not None
                self._pulse(board, lock, received_at)
                pulsed = 1
            elif not refused and command == _OPEN_ALL:
                for each in range(1, self.locks + 1):
                    self._pulse(board, each, received_at)
                pulsed = self.locks
            if command in (_OPEN, _OPEN_ALL) and not self._unlock_ack:
                return True
            delay = self._reply_delay_s + pulsed * self._pulse_s
        if delay > 0 and stopping.wait(delay):
            return False
        with self._state:
            if not self._on_bus(board):
                return True  # cut off while it was working
            reply = self._reply(board, command, lock, refused)
            if self._garble_replies_left:
                self._garble_replies_left -= 1
                reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
            before, after = self._noise_around()
            self._emit(SimEvent(EventKind.FRAME_OUT, time.monotonic(), board, lock, frame=reply))
            self._wire.acquire()  # before the model is let go: no push can slip in ahead with newer news
        try:
            return self._trickle(before + reply + after, send, stopping)
        finally:
            self._wire.release()

    def _trickle(self, data: bytes, send: Callable[[bytes], None], stopping: threading.Event) -> bool:
        """Send `data` at the baud rate, piece by piece; False if serving stopped meanwhile."""
        if self._baudrate is None:
            send(data)
            return True
        for start in range(0, len(data), _BYTES_PER_PIECE):
            piece = data[start : start + _BYTES_PER_PIECE]
            if stopping.wait(self._wire_time(len(piece))):
                return False
            send(piece)
        return True

    def _refuses(self, board: int, lock: int | None) -> bool:
        """Whether `board` answers this request with status FF (counting a busy board's request)."""
        if self._busy_left[board]:
            self._busy_left[board] -= 1
            return True
        return lock is not None and not 1 <= lock <= self.locks

    def _noise_around(self) -> tuple[bytes, bytes]:
        if not self._noise:
            return b"", b""
        before, after = self._noise.pop(0)
        return (self._random_noise() if before is None else before,
                self._random_noise() if after is None else after)

    def _random_noise(self) -> bytes:
        return self._random.randbytes(self._random.randint(1, 8))

    def _reply(self, board: int, command: int, lock: int | None, refused: bool) -> bytes:
        status = _FAILED if refused else _OK
        if command in (_OPEN, _QUERY):
            assert lock is not None
            door = 0xFF if refused else self._door_byte(board, lock)
            return _frame(board, command, bytes([status, lock, door]))
        if command == _QUERY_ALL:
            doors = b"" if refused else bytes(self._door_byte(board, each)
                                              for each in range(1, self.locks + 1))
            return _frame(board, command, bytes([status, len(doors)]) + doors)
        return _frame(board, command, bytes([status]))

    def _door_byte(self, board: int, lock: int) -> int:
        return _DOOR_OPEN if self._locks[board, lock].door_open else _DOOR_CLOSED

    def _wire_time(self, length: int) -> float:
        return 0.0 if self._baudrate is None else length * _BITS_PER_BYTE_ON_WIRE / self._baudrate

    def _on_bus(self, board: int) -> bool:
        return board < self.boards and self._connected[board]

    # internals: the model (called with self._state held) ----------------------------------------------
    def _pulse(self, board: int, lock: int, at: float) -> None:
        state = self._locks[board, lock]
        if state.jammed:
            self._emit(SimEvent(EventKind.UNLOCK, at, board, lock, value=False))
            return
        self._emit(SimEvent(EventKind.UNLOCK, at, board, lock, value=True))
        if state.latched:
            state.latched = False
            self._emit(SimEvent(EventKind.LATCH, at, board, lock, value=False))
        if not state.door_open:
            state.door_open = True  # the door's spring pushes it open once the latch lets go
            self._door_moved(board, lock, at)

    def _door_moved(self, board: int, lock: int, at: float) -> None:
        door_open = self._locks[board, lock].door_open
        self._emit(SimEvent(EventKind.DOOR, at, board, lock, value=door_open))
        if not self._connected[board]:
            return  # nobody hears a board cut off the bus, and it does not repeat itself later
        push = _frame(board, _PUSH, bytes([lock, _DOOR_OPEN if door_open else _DOOR_CLOSED]))
        if self._garble_pushes_left:
            self._garble_pushes_left -= 1
            push = push[:-1] + bytes([push[-1] ^ 0xFF])
        self._emit(SimEvent(EventKind.FRAME_OUT, time.monotonic(), board, lock, frame=push))
        self._broadcast(push)

    def _broadcast(self, data: bytes) -> None:
        with self._wire:  # after any reply under way
            for server in self._servers:
                server.send(data)

    def _change(self, board: int, lock: int, **changes: bool) -> None:
        kinds = {"latched": EventKind.LATCH, "jammed": EventKind.JAM, "occupied": EventKind.OCCUPIED}
        with self._state:
            state = self._lock(board, lock)
            now = time.monotonic()
            for name, value in changes.items():
                if getattr(state, name) == value:
                    continue
                setattr(state, name, value)
                if name == "door_open":
                    self._door_moved(board, lock, now)
                else:
                    self._emit(SimEvent(kinds[name], now, board, lock, value=value))

    def _emit(self, event: SimEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("simulator listener %r failed on %s", listener, event.kind)

    def _check_board(self, board: int) -> int:
        if isinstance(board, bool) or not isinstance(board, int) or not 0 <= board < self.boards:
            raise ValueError(f"board must be 0-{self.boards - 1} on this simulator, got {board!r}")
        return board

    def _lock(self, board: int, lock: int) -> _Lock:
        self._check_board(board)
        if isinstance(lock, bool) or not isinstance(lock, int) or not 1 <= lock <= self.locks:
            raise ValueError(f"lock must be 1-{self.locks}, got {lock!r}")
        return self._locks[board, lock]


class _Server:
    """One served link: its thread, how to send on it, and how to wake, stop and clean it up (idempotent)."""

    def __init__(self, thread: threading.Thread, stopping: threading.Event, send: Callable[[bytes], None],
                 wake: Callable[[], object], cleanup: Callable[[], None] | None,
                 forget: Callable[[_Server], None]) -> None:
        self._thread = thread
        self._stopping = stopping
        self.send = send
        self._wake = wake
        self._cleanup = cleanup
        self._forget = forget
        self._stopped = threading.Lock()
        self._done = False

    def stop(self) -> None:
        with self._stopped:
            if self._done:
                return
            self._done = True
            self._stopping.set()
            try:
                self._wake()
            except OSError as exc:
                if exc.errno != errno.EBADF:
                    raise
            if self._thread is not threading.current_thread():
                self._thread.join()
            # Forgotten before cleanup, so no push is sent on a link whose descriptors are being closed.
            self._forget(self)
            if self._cleanup is not None:
                self._cleanup()


class _RequestSplitter:
    """Cuts the host's byte stream into well-formed requests; anything else is noise a board ignores."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._last_at = 0.0

    def feed(self, data: bytes, at: float) -> list[tuple[bytes, bool]]:
        """(bytes, True) for each well-formed request, (bytes, False) for noise thrown away."""
        buffer = self._buffer
        out: list[tuple[bytes, bool]] = []
        if buffer and at - self._last_at > _REQUEST_GAP_S:
            out.append((bytes(buffer), False))
            buffer.clear()
        self._last_at = at
        buffer.extend(data)
        while buffer:
            start = buffer.find(_HEADER)
            if start != 0:
                end = start if start > 0 else len(buffer) - self._header_start_at_end()
                if end == 0:
                    break
                out.append((bytes(buffer[:end]), False))
                del buffer[:end]
                continue
            if len(buffer) <= 4:
                break
            length = buffer[4]
            if length < _SHORTEST_FRAME:
                out.append((bytes(buffer[:1]), False))
                del buffer[:1]
                continue
            if len(buffer) < length:
                break
            candidate = bytes(buffer[:length])
            if candidate[-1] == _xor(candidate[:-1]) and _REQUEST_LENGTHS.get(candidate[6]) == length:
                out.append((candidate, True))
                del buffer[:length]
            else:
                out.append((bytes(buffer[:1]), False))
                del buffer[:1]
        return out

    def _header_start_at_end(self) -> int:
        for size in range(min(len(_HEADER) - 1, len(self._buffer)), 0, -1):
            if self._buffer.endswith(_HEADER[:size]):
                return size
        return 0

"""A bus of "BU" lock boards, modelled from the protocol table in DESIGN.md section 5.

This module deliberately does not import the driver's codec: it frames and checks bytes on its own, so a
codec bug cannot pass its own tests.

    request     HEAD BOARD LOCK CODE XOR        XOR = exclusive-or of the four bytes before it
    unlock      8A BOARD LOCK 11 XOR   -> once the pulse is over: 8A BOARD LOCK STATE XOR
    query one   80 BOARD LOCK 33 XOR   -> 80 BOARD LOCK STATE XOR
    query all   80 BOARD 00   33 XOR   -> 80 BOARD S17-24 S9-16 S1-8 33 XOR   (XOR of the six bytes before it)
    STATE       0x11 door closed, 0x00 open; in S.. a set bit is a closed door, bit 0 of S1-8 is lock 1
                (both inverted with closed_bit=0, for feedback switches wired the other way)

Boards answer at addresses 1..boards, with `locks_per_board` locks each (24 at most; bits of locks a board
does not have read closed). A board stays silent for an address or lock it does not have, for the lock byte
0 in an unlock (the sheets disagree on an open-all frame, so it is not modelled) and for anything that is
not a well-formed request (reported to listeners as noise).

Per lock the model keeps a latch, the door and a parcel flag. The boards have no parcel sensor: set_occupied
is recorded for the QA surface but never reported on the wire. An unlock drives the lock for the pulse time
(`set_pulse_time`, 0 by default so tests run at full speed; about 1 s on real boards): the latch lets go and
the door springs open at once (unless the latch is jammed or the board is cut off), the echo goes out when
the pulse is over, and meanwhile the board is busy and ignores requests. The door stays open until someone
closes it, and closing it latches it again.

Faults, each as a real bus shows it (the same calls as the Kerong simulator's):
- no reply: `set_connected(False, board)` (a board cut off the bus, or every board);
- garbled reply: `garble_replies(n)` (wrong checksum), `noise_replies(n)` (line noise around the reply);
- slow reply: `set_reply_delay(seconds)`;
- busy board: `set_busy(board, requests)`: the board neither acts on nor answers its next `requests`
  requests; and for the pulse time after every unlock (`set_pulse_time`) it ignores what it hears;
- stuck latch: `jam(board, lock)`: unlock pulses do nothing;
- door left open: `set_door_sticks(board, lock)`: pushed shut, the door does not latch and swings back open.

Listeners get kerong's SimEvent with its EventKind, so any protocol's simulator feeds the same consoles. A
request that a busy board ignored comes as a "frame-in" event with value=False (value is None otherwise);
line noise sent around a reply comes as a "noise" event naming the board.

Serving: on a pseudo-terminal (`serve_pty`), a TCP port (`serve_tcp`) or in-process through `sim://NAME`
(`hal.transport.register_simulator`). Each served link has a thread that reads requests and one that sends
replies when they are due; `stop()` ends and joins them all.
"""

from __future__ import annotations

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
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from hal.lockboard.kerong.simulator import EventKind, SimEvent, SimLockState
from hal.lockboard.simulator_registry import SimLink

__all__ = ["BuSimulator", "EventKind", "SimEvent", "SimLockState"]

log = logging.getLogger(__name__)

_UNLOCK = 0x8A
_QUERY = 0x80
_UNLOCK_CODE = 0x11
_QUERY_CODE = 0x33
_CLOSED = 0x11
_OPEN = 0x00
_EVERY_LOCK = 0x00
_REQUEST_LENGTH = 5
_MAX_BOARDS = 64
_MAX_LOCKS = 24
_BITS_PER_BYTE_ON_WIRE = 10  # 8N1: start bit, 8 data bits, stop bit


def _xor(data: bytes) -> int:
    return reduce(int.__xor__, data, 0)


@dataclass
class _Lock:
    door_open: bool = False
    occupied: bool = False
    jammed: bool = False
    latched: bool = True
    sticks: bool = False


Listener = Callable[[SimEvent], None]


class BuSimulator:
    """`boards` BU boards at addresses 1..boards, all doors closed, latched and empty."""

    protocol = "bu"

    def __init__(self, boards: int = 2, *, baudrate: int | None = 9600, closed_bit: int = 1,
                 locks_per_board: int = _MAX_LOCKS, seed: int | None = None) -> None:
        if isinstance(boards, bool) or not isinstance(boards, int) or not 1 <= boards <= _MAX_BOARDS:
            raise ValueError(f"boards must be 1-{_MAX_BOARDS}, got {boards!r}")
        if baudrate is not None and (isinstance(baudrate, bool) or not isinstance(baudrate, int)
                                     or baudrate <= 0):
            raise ValueError(f"baudrate must be a positive whole number or None, got {baudrate!r}")
        if closed_bit not in (0, 1) or isinstance(closed_bit, bool):
            raise ValueError(f"closed_bit must be 0 or 1, got {closed_bit!r}")
        if isinstance(locks_per_board, bool) or not isinstance(locks_per_board, int) \
                or not 1 <= locks_per_board <= _MAX_LOCKS:
            raise ValueError(f"locks_per_board must be 1-{_MAX_LOCKS}, got {locks_per_board!r}")
        self.boards = boards
        self.closed_bit = closed_bit
        self.locks_per_board = locks_per_board
        self._baudrate = baudrate  # replies take their wire time at this rate; None answers at once
        self._state = threading.RLock()
        self._locks = {(board, lock): _Lock() for board in self._addresses()
                       for lock in range(1, locks_per_board + 1)}
        self._connected = dict.fromkeys(self._addresses(), True)
        self._busy_until = dict.fromkeys(self._addresses(), 0.0)  # pulsing until then
        self._busy_left = dict.fromkeys(self._addresses(), 0)  # requests a busy board will still miss
        self._random = random.Random(seed)  # line noise; seeded for repeatable runs
        self._noise: list[tuple[bytes | None, bytes | None]] = []  # (before, after) per coming reply
        self._pulse_s = 0.0
        self._reply_delay_s = 0.0
        self._garble_left = 0
        self._unlock_ack = True
        self._listeners: list[Listener] = []
        self._links: list[_ServedLink] = []

    # control: the physical world -------------------------------------------------------------------
    def close_door(self, board: int, lock: int) -> None:
        """Someone pushes the door shut; the latch catches it (unless it sticks: see set_door_sticks)."""
        self._change(board, lock, unless_sticks=True, door_open=False, latched=True)

    def open_door(self, board: int, lock: int) -> None:
        """Someone pulls the door open (forced, or left unlatched) and leaves it open."""
        self._change(board, lock, door_open=True, latched=False)

    def jam(self, board: int, lock: int, jammed: bool = True) -> None:
        """A jammed (stuck) latch ignores unlock pulses."""
        self._change(board, lock, jammed=jammed)

    def set_door_sticks(self, board: int, lock: int, sticks: bool = True) -> None:
        """Door left open: pushed shut, it does not latch and swings back open, so it keeps reading open."""
        self._change(board, lock, sticks=sticks)

    def set_occupied(self, board: int, lock: int, occupied: bool) -> None:
        """A parcel behind the door; recorded for the QA surface, never on the wire (no sensor)."""
        self._change(board, lock, occupied=occupied)

    def set_connected(self, connected: bool, board: int | None = None) -> None:
        """Cut a board (or, with board=None, every board) off the bus: no replies at all."""
        boards = self._addresses() if board is None else [self._check_board(board)]
        events = []
        with self._state:
            for number in boards:
                if self._connected[number] != connected:
                    self._connected[number] = connected
                    events.append(SimEvent(EventKind.CONNECTED, time.monotonic(), number, value=connected))
        self._emit(events)

    # control: faults and timing ---------------------------------------------------------------------
    def set_reply_delay(self, seconds: float) -> None:
        """A slow board: every reply waits this long (on top of the pulse and its wire time)."""
        with self._state:
            self._reply_delay_s = self._seconds(seconds, "reply delay")

    def set_pulse_time(self, seconds: float) -> None:
        """How long an unlock drives the lock: the echo waits for it, and the board ignores requests
        meanwhile (busy)."""
        with self._state:
            self._pulse_s = self._seconds(seconds, "pulse time")

    def set_busy(self, board: int, requests: int) -> None:
        """A busy board neither acts on nor answers its next `requests` requests (0 ends it)."""
        if isinstance(requests, bool) or not isinstance(requests, int) or requests < 0:
            raise ValueError(f"requests must be a whole number >= 0, got {requests!r}")
        with self._state:
            self._busy_left[self._check_board(board)] = requests

    def busy(self, board: int) -> int:
        """How many more requests `board` will miss (the pulse-time busy window aside)."""
        with self._state:
            return self._busy_left[self._check_board(board)]

    def garble_replies(self, count: int = 1) -> None:
        """The next `count` replies go out with a wrong checksum."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a whole number >= 0, got {count!r}")
        with self._state:
            self._garble_left = count

    def noise_replies(self, count: int = 1, *, before: bytes | None = None,
                      after: bytes | None = None) -> None:
        """The next `count` replies go out between line noise: `before` and `after` as given, or, where None,
        1-8 random bytes each time. Calls add up (one queue of coming replies)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a whole number >= 0, got {count!r}")
        with self._state:
            self._noise.extend([(before, after)] * count)

    def set_unlock_ack(self, enabled: bool) -> None:
        """Whether an unlock is echoed with the lock's state (firmware that stays silent exists)."""
        with self._state:
            self._unlock_ack = enabled

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
            return {board: {lock: SimLockState(state.door_open, state.occupied, state.jammed, state.latched,
                                               sticks=state.sticks)
                            for (number, lock), state in self._locks.items() if number == board}
                    for board in self._addresses()}

    def add_listener(self, callback: Listener) -> None:
        """`callback(event)` for every change and frame, called on the thread that caused it (a serving
        thread for frames, the caller for control calls). It must be quick and must not raise."""
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
                    log.debug("pty %s: nobody reads, %d byte(s) of reply lost", path, len(view))
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
        adapter; replies not yet sent are lost. The model keeps its state, and serving can start again."""
        with self._state:
            links = list(self._links)
        for link in links:
            link.stop()

    # internals: the boards ----------------------------------------------------------------------------
    def _start(self, description: str, receive: Callable[[], bytes], send: Callable[[bytes], None],
               wake: Callable[[], object], cleanup: Callable[[], None] | None) -> Callable[[], None]:
        link = _ServedLink(description, receive, send, wake, cleanup, simulator=self)
        with self._state:
            self._links.append(link)
        link.start()
        return link.stop

    def _forget(self, link: _ServedLink) -> None:
        with self._state:
            if link in self._links:
                self._links.remove(link)

    def _answer(self, request: bytes, received_at: float) -> list[_Reply]:
        """Apply one well-formed request to the model: the replies, each with the time it is due."""
        head, board, lock = request[0], request[1], request[2]
        events: list[SimEvent] = []
        answers: list[tuple[float, bytes]] = []  # (seconds after the request, reply)
        named_lock = lock if 1 <= lock <= self.locks_per_board else None
        replies = []
        with self._state:
            on_bus = self._connected.get(board, False)
            busy = on_bus and (received_at < self._busy_until[board] or self._missed_by_busy(board))
            events.append(SimEvent(EventKind.FRAME_IN, received_at, board, named_lock,
                                   value=False if busy else None, frame=request))
            answering = on_bus and not busy
            if answering and head == _UNLOCK and named_lock is not None:
                events.extend(self._pulse(board, lock, received_at))
                self._busy_until[board] = received_at + self._pulse_s
                if self._unlock_ack:
                    answers.append((self._pulse_s, self._state_reply(_UNLOCK, board, lock)))
            elif answering and head == _QUERY and lock == _EVERY_LOCK:
                answers.append((0.0, self._status_all_reply(board)))
            elif answering and head == _QUERY and named_lock is not None:
                answers.append((0.0, self._state_reply(_QUERY, board, lock)))
            for after_s, answer in answers:
                if self._garble_left:
                    self._garble_left -= 1
                    answer = answer[:-1] + bytes([answer[-1] ^ 0xFF])
                before, after = self._noise_around()
                wire_s = self._wire_time(len(before) + len(answer) + len(after))
                due = received_at + after_s + self._reply_delay_s + wire_s
                replies.append(_Reply(due, board, before, answer, after))
        self._emit(events)
        return replies

    def _missed_by_busy(self, board: int) -> bool:
        """Whether a busy `board` misses this request (counting it); called holding the state lock."""
        if not self._busy_left[board]:
            return False
        self._busy_left[board] -= 1
        return True

    def _noise_around(self) -> tuple[bytes, bytes]:
        """The line noise to send before and after the next reply (called holding the state lock)."""
        if not self._noise:
            return b"", b""
        before, after = self._noise.pop(0)
        return (self._random_noise() if before is None else before,
                self._random_noise() if after is None else after)

    def _random_noise(self) -> bytes:
        return self._random.randbytes(self._random.randint(1, 8))

    def _deliver(self, reply: _Reply, send: Callable[[bytes], None]) -> None:
        # announced first, so that a listener has seen the reply before the host can read it
        now = time.monotonic()
        self._emit([SimEvent(EventKind.NOISE, now, reply.board, frame=noise)
                    for noise in (reply.before, reply.after) if noise])
        self._emit([SimEvent(EventKind.FRAME_OUT, now, reply.board, frame=reply.frame)])
        send(reply.before + reply.frame + reply.after)

    def _pulse(self, board: int, lock: int, at: float) -> list[SimEvent]:
        state = self._locks[board, lock]
        if state.jammed:
            return [SimEvent(EventKind.UNLOCK, at, board, lock, value=False)]
        events = [SimEvent(EventKind.UNLOCK, at, board, lock, value=True)]
        if state.latched:
            state.latched = False
            events.append(SimEvent(EventKind.LATCH, at, board, lock, value=False))
        if not state.door_open:
            state.door_open = True  # the door's spring pushes it open once the latch lets go
            events.append(SimEvent(EventKind.DOOR, at, board, lock, value=True))
        return events

    def _closed_reading(self, board: int, lock: int) -> bool:
        """What the feedback switch of a lock says: True for a closed door (and for a lock not fitted)."""
        state = self._locks.get((board, lock))
        return state is None or not state.door_open

    def _state_reply(self, head: int, board: int, lock: int) -> bytes:
        closed = self._closed_reading(board, lock)
        state = _CLOSED if closed == bool(self.closed_bit) else _OPEN
        body = bytes([head, board, lock, state])
        return body + bytes([_xor(body)])

    def _status_all_reply(self, board: int) -> bytes:
        bits = 0
        for lock in range(1, _MAX_LOCKS + 1):
            bit = self.closed_bit if self._closed_reading(board, lock) else 1 - self.closed_bit
            bits |= bit << (lock - 1)
        body = bytes([_QUERY, board, bits >> 16, bits >> 8 & 0xFF, bits & 0xFF, _QUERY_CODE])
        return body + bytes([_xor(body)])

    def _wire_time(self, length: int) -> float:
        return 0.0 if self._baudrate is None else length * _BITS_PER_BYTE_ON_WIRE / self._baudrate

    def _change(self, board: int, lock: int, *, unless_sticks: bool = False, **changes: bool) -> None:
        kinds = {"door_open": EventKind.DOOR, "latched": EventKind.LATCH, "jammed": EventKind.JAM,
                 "occupied": EventKind.OCCUPIED}
        events = []
        with self._state:
            state = self._lock(board, lock)
            now = time.monotonic()
            if unless_sticks and state.sticks:
                changes = {}
            for field, value in changes.items():
                if getattr(state, field) != value:
                    setattr(state, field, value)
                    if field in kinds:  # whether a door sticks is a setting, not an event on the bus
                        events.append(SimEvent(kinds[field], now, board, lock, value=value))
        self._emit(events)

    def _emit(self, events: list[SimEvent]) -> None:
        if not events:
            return
        with self._state:
            listeners = list(self._listeners)
        for event in events:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("simulator listener %r failed on %s", listener, event.kind)

    def _emit_noise(self, noise: bytes, at: float) -> None:
        self._emit([SimEvent(EventKind.NOISE, at, frame=noise)])

    def _addresses(self) -> range:
        return range(1, self.boards + 1)

    def _check_board(self, board: int) -> int:
        if isinstance(board, bool) or not isinstance(board, int) or not 1 <= board <= self.boards:
            raise ValueError(f"board must be 1-{self.boards} on this simulator, got {board!r}")
        return board

    def _lock(self, board: int, lock: int) -> _Lock:
        self._check_board(board)
        if isinstance(lock, bool) or not isinstance(lock, int) or not 1 <= lock <= self.locks_per_board:
            raise ValueError(f"lock must be 1-{self.locks_per_board}, got {lock!r}")
        return self._locks[board, lock]

    @staticmethod
    def _seconds(seconds: float, what: str) -> float:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
            raise ValueError(f"{what} must be seconds >= 0, got {seconds!r}")
        return float(seconds)


@dataclass(frozen=True)
class _Reply:
    due: float  # time.monotonic() when its last byte is on the wire
    board: int
    before: bytes  # line noise, if any
    frame: bytes
    after: bytes


class _ServedLink:
    """One served link: a thread reading requests, one sending replies when due; stop() is idempotent."""

    def __init__(self, description: str, receive: Callable[[], bytes], send: Callable[[bytes], None],
                 wake: Callable[[], object], cleanup: Callable[[], None] | None, *,
                 simulator: BuSimulator) -> None:
        self._receive = receive
        self._send = send
        self._wake = wake
        self._cleanup = cleanup
        self._simulator = simulator
        self._stopping = threading.Event()
        self._due = threading.Condition()
        self._outbox: list[tuple[float, int, _Reply]] = []  # a heap of (due, order, reply)
        self._order = itertools.count()
        self._reader = threading.Thread(target=self._read_requests, name=f"bu-sim {description}",
                                        daemon=True)
        self._writer = threading.Thread(target=self._send_replies, name=f"bu-sim {description} replies",
                                        daemon=True)
        self._stopped = threading.Lock()
        self._done = False

    def start(self) -> None:
        self._writer.start()
        self._reader.start()

    def stop(self) -> None:
        with self._stopped:
            if self._done:
                return
            self._done = True
            self._stopping.set()
            with self._due:
                self._due.notify_all()
            try:
                self._wake()
            except OSError as exc:
                if exc.errno != errno.EBADF:
                    raise
            for thread in (self._reader, self._writer):
                if thread is not threading.current_thread():
                    thread.join()
            if self._cleanup is not None:
                self._cleanup()
            self._simulator._forget(self)

    def _read_requests(self) -> None:
        splitter = _RequestSplitter()
        while not self._stopping.is_set():
            data = self._receive()
            received_at = time.monotonic()
            if not data:
                return
            for piece, is_request in splitter.feed(data):
                if not is_request:
                    self._simulator._emit_noise(piece, received_at)
                    continue
                for reply in self._simulator._answer(piece, received_at):
                    with self._due:
                        heapq.heappush(self._outbox, (reply.due, next(self._order), reply))
                        self._due.notify_all()

    def _send_replies(self) -> None:
        while True:
            with self._due:
                while True:
                    if self._stopping.is_set():
                        return
                    wait = self._outbox[0][0] - time.monotonic() if self._outbox else None
                    if wait is not None and wait <= 0:
                        _, _, reply = heapq.heappop(self._outbox)
                        break
                    self._due.wait(wait)
            self._simulator._deliver(reply, self._send)


class _RequestSplitter:
    """Cuts a byte stream into well-formed five-byte requests; anything else is noise a board ignores."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """(bytes, True) for each well-formed request, (bytes, False) for each run of noise thrown away."""
        buffer = self._buffer
        buffer.extend(data)
        out: list[tuple[bytes, bool]] = []
        noise_from = position = 0
        while position < len(buffer):
            if buffer[position] not in (_UNLOCK, _QUERY):
                position += 1
                continue
            if len(buffer) - position < _REQUEST_LENGTH:
                break
            candidate = bytes(buffer[position : position + _REQUEST_LENGTH])
            code = _UNLOCK_CODE if candidate[0] == _UNLOCK else _QUERY_CODE
            if candidate[3] != code or candidate[4] != _xor(candidate[:4]):
                position += 1  # a false start: the byte is noise, the next head may begin a request
                continue
            if noise_from < position:
                out.append((bytes(buffer[noise_from:position]), False))
            out.append((candidate, True))
            position += _REQUEST_LENGTH
            noise_from = position
        if noise_from < position:
            out.append((bytes(buffer[noise_from:position]), False))
        del buffer[:position]
        return out

"""A bus of WKLY lock boards that push door changes, modelled from the protocol table (DESIGN.md section 5).

This module deliberately does not import the driver's codec: it frames and checks bytes on its own, so a
codec bug cannot pass its own tests. It shares the event vocabulary (EventKind, SimEvent, SimLockState) and
the serving of links with the other simulators (hal.lockboard.simulation), so one QA fixture or demo
console drives any of them.

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

import threading
import time
from collections.abc import Callable
from functools import reduce

from hal.lockboard.simulation import (
    EventKind,
    LineNoise,
    LinkServer,
    Listener,
    ListenerList,
    LockModel,
    ModelReadings,
    ServedLink,
    ServesLinks,
    SimEvent,
    SimLockState,
    garbled,
    wire_time,
)

__all__ = ["EventKind", "SimEvent", "SimLockState", "WklySimulator"]

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
_BYTES_PER_PIECE = 8  # a reply leaves in pieces this big, each when its last byte would have arrived
# A board drops a partial request after this much silence, as real boards do after an inter-byte timeout
# (generous here: a pseudo-terminal or TCP link may deliver one frame in two pieces).
_REQUEST_GAP_S = 0.1


def _xor(data: bytes | bytearray) -> int:
    return reduce(lambda total, byte: total ^ byte, data, 0)


def _frame(board: int, command: int, data: bytes) -> bytes:
    body = _HEADER + bytes([len(data) + _SHORTEST_FRAME, board, command]) + data
    return body + bytes([_xor(body)])


class WklySimulator(ServesLinks, ModelReadings):
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
        self._locks = {(board, lock): LockModel() for board in range(boards) for lock in range(1, locks + 1)}
        self._connected = [True] * boards
        self._busy_left = [0] * boards
        self._reply_delay_s = 0.0
        self._pulse_s = 0.0
        self._unlock_ack = True
        self._garble_replies_left = 0
        self._garble_pushes_left = 0
        self._noise = LineNoise()
        self._listeners = ListenerList(self._state)
        self._served = LinkServer("wkly-sim", self._serve, lock=self._state)

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
            self._noise.add(count, before, after)

    def set_pulse_time(self, seconds: float) -> None:
        """How long a lock's pulse lasts; an open is acknowledged after it (open-all: after every pulse, one
        lock after another). 0 by default, so tests run fast; real boards take about 0.35 s."""
        if not seconds >= 0:
            raise ValueError(f"pulse time must not be negative, got {seconds!r}")
        with self._state:
            self._pulse_s = seconds

    def inject(self, data: bytes) -> None:
        """Bytes on the line from nowhere (noise, another device), sent on every served link."""
        with self._state:
            self._emit(SimEvent(EventKind.FRAME_OUT, time.monotonic(), frame=bytes(data)))
            self._broadcast(bytes(data))

    # reading the model -------------------------------------------------------------------------------
    def snapshot(self) -> dict[int, dict[int, SimLockState]]:
        """board -> lock (from 1) -> state, taken atomically."""
        with self._state:
            states = {key: lock.reading() for key, lock in self._locks.items()}
        return {board: {lock: states[board, lock] for lock in range(1, self.locks + 1)}
                for board in range(self.boards)}

    def add_listener(self, callback: Listener) -> None:
        """`callback(event)` for every change and frame, called on the thread that caused it (the serving
        thread for requests, the caller for control calls) while the simulator holds its lock, so events
        arrive in wire order and a listener has seen a frame before the host can read it. It must be quick
        and must not wait for another thread that uses this simulator."""
        self._listeners.add(callback)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    # internals: serving -----------------------------------------------------------------------------
    def _serve(self, link: ServedLink) -> None:
        splitter = _RequestSplitter()
        for data, received_at in link.chunks():
            for piece, is_request in splitter.feed(data, received_at):
                if not is_request:
                    with self._state:
                        self._emit(SimEvent(EventKind.NOISE, received_at, frame=piece))
                    continue
                if not self._answer(piece, received_at, link):
                    return

    def _answer(self, request: bytes, received_at: float, link: ServedLink) -> bool:
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
        if delay > 0 and link.stopping.wait(delay):
            return False
        with self._state:
            if not self._on_bus(board):
                return True  # cut off while it was working
            reply = self._reply(board, command, lock, refused)
            if self._garble_replies_left:
                self._garble_replies_left -= 1
                reply = garbled(reply)
            before, after = self._noise.around()
            self._emit(SimEvent(EventKind.FRAME_OUT, time.monotonic(), board, lock, frame=reply))
            self._wire.acquire()  # before the model is let go: no push can slip in ahead with newer news
        try:
            return self._trickle(before + reply + after, link.send, link.stopping)
        finally:
            self._wire.release()

    def _trickle(self, data: bytes, send: Callable[[bytes], None], stopping: threading.Event) -> bool:
        """Send `data` at the baud rate, piece by piece; False if serving stopped meanwhile."""
        if self._baudrate is None:
            send(data)
            return True
        for start in range(0, len(data), _BYTES_PER_PIECE):
            piece = data[start : start + _BYTES_PER_PIECE]
            if stopping.wait(wire_time(len(piece), self._baudrate)):
                return False
            send(piece)
        return True

    def _refuses(self, board: int, lock: int | None) -> bool:
        """Whether `board` answers this request with status FF (counting a busy board's request)."""
        if self._busy_left[board]:
            self._busy_left[board] -= 1
            return True
        return lock is not None and not 1 <= lock <= self.locks

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
            push = garbled(push)
        self._emit(SimEvent(EventKind.FRAME_OUT, time.monotonic(), board, lock, frame=push))
        self._broadcast(push)

    def _broadcast(self, data: bytes) -> None:
        with self._wire:  # after any reply under way
            self._served.send_to_all(data)

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
        self._listeners.notify([event])

    def _check_board(self, board: int) -> int:
        if isinstance(board, bool) or not isinstance(board, int) or not 0 <= board < self.boards:
            raise ValueError(f"board must be 0-{self.boards - 1} on this simulator, got {board!r}")
        return board

    def _lock(self, board: int, lock: int) -> LockModel:
        self._check_board(board)
        if isinstance(lock, bool) or not isinstance(lock, int) or not 1 <= lock <= self.locks:
            raise ValueError(f"lock must be 1-{self.locks}, got {lock!r}")
        return self._locks[board, lock]


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

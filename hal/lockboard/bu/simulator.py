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

Listeners get the shared SimEvent with its EventKind (hal.lockboard.simulation), so any protocol's
simulator feeds the same consoles. A
request that a busy board ignored comes as a "frame-in" event with value=False (value is None otherwise);
line noise sent around a reply comes as a "noise" event naming the board.

Serving: on a pseudo-terminal (`serve_pty`), a TCP port (`serve_tcp`) or in-process through `sim://NAME`
(`hal.transport.register_simulator`). Each served link has a thread that reads requests and one that sends
replies when they are due; `stop()` ends and joins them all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial, reduce

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

__all__ = ["BuSimulator", "EventKind", "SimEvent", "SimLockState"]

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


def _xor(data: bytes) -> int:
    return reduce(int.__xor__, data, 0)


class BuSimulator(ServesLinks, ModelReadings):
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
        self._locks = {(board, lock): LockModel() for board in self._addresses()
                       for lock in range(1, locks_per_board + 1)}
        self._connected = dict.fromkeys(self._addresses(), True)
        self._busy_until = dict.fromkeys(self._addresses(), 0.0)  # pulsing until then
        self._busy_left = dict.fromkeys(self._addresses(), 0)  # requests a busy board will still miss
        self._noise = LineNoise(seed)  # seeded for repeatable runs
        self._pulse_s = 0.0
        self._reply_delay_s = 0.0
        self._garble_left = 0
        self._unlock_ack = True
        self._listeners = ListenerList(self._state)
        # A second thread per link sends each reply when it is due, so a slow echo never holds up reading.
        self._served = LinkServer("bu-sim", self._serve, lock=self._state, scheduled=True)

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
            self._noise.add(count, before, after)

    # reading the model -------------------------------------------------------------------------------
    def snapshot(self) -> dict[int, dict[int, SimLockState]]:
        """board -> lock (from 1) -> state, taken atomically."""
        with self._state:
            return {board: {lock: state.reading()
                            for (number, lock), state in self._locks.items() if number == board}
                    for board in self._addresses()}

    def add_listener(self, callback: Listener) -> None:
        """`callback(event)` for every change and frame, called on the thread that caused it (a serving
        thread for frames, the caller for control calls). It must be quick and must not raise."""
        self._listeners.add(callback)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    # internals: the boards ----------------------------------------------------------------------------
    def _serve(self, link: ServedLink) -> None:
        """Read requests off `link` and schedule each reply on it for when it is due."""
        splitter = _RequestSplitter()
        for data, received_at in link.chunks():
            for piece, is_request in splitter.feed(data):
                if not is_request:
                    self._emit([SimEvent(EventKind.NOISE, received_at, frame=piece)])
                    continue
                for reply in self._answer(piece, received_at):
                    link.later(reply.due, partial(self._deliver, reply, link.send))

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
                    answer = garbled(answer)
                before, after = self._noise.around()
                wire_s = wire_time(len(before) + len(answer) + len(after), self._baudrate)
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
        if events:
            self._listeners.notify(events)

    def _addresses(self) -> range:
        return range(1, self.boards + 1)

    def _check_board(self, board: int) -> int:
        if isinstance(board, bool) or not isinstance(board, int) or not 1 <= board <= self.boards:
            raise ValueError(f"board must be 1-{self.boards} on this simulator, got {board!r}")
        return board

    def _lock(self, board: int, lock: int) -> LockModel:
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

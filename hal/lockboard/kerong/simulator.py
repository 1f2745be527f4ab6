"""A bus of Kerong KR-CU16 boards, modelled from the protocol table in DESIGN.md section 5.

This module deliberately does not import the driver's codec: it frames and checks bytes on its own, so a
codec bug cannot pass its own tests.

    request       02 ADDR CMD 03 SUM      ADDR = board << 4 | (lock - 1); SUM = low byte of the sum before it
    0x30          status of one board     -> that board answers with a status reply
    0x31          pulse one lock          -> the board acknowledges with its status reply (switchable)
    0x32          status of all boards    -> every connected board answers, lowest address first, each at
                                             address board << 4 (the request's address byte is ignored unless
                                             `query_all_address` is set)
    0x33          pulse every lock of one board -> status reply
    status reply  02 ADDR 35 H1-8 H9-16 IR1-8 IR9-16 03 SUM   (lowest bit = lock 1)

Per lock the model keeps a latch, the door and the infrared parcel sensor. An unlock pulse releases the
latch and the door springs open (unless the latch is jammed or the board is cut off); the door stays open
until someone closes it, and closing it latches it again.

Faults, each as a real bus shows it:
- no reply: `set_connected(False, board)` (a board cut off the bus, or every board);
- garbled reply: `garble_replies(n)` (wrong checksum), `noise_replies(n)` (line noise around the reply);
- slow reply: `set_reply_delay(seconds)`;
- busy board: `set_busy(board, requests)`. The KR-CU16 has no "busy" reply: a board whose controller is busy
  (driving a pulse, restarting after a brown-out) misses what is on the bus, so it neither acts on nor
  answers its next `requests` requests, the broadcast included;
- stuck latch: `jam(board, lock)`: unlock pulses do nothing;
- door left open: `set_door_sticks(board, lock)`: the door does not latch when pushed shut and swings back
  open, so it keeps reading open.

Serving: on a pseudo-terminal (`serve_pty`), a TCP port (`serve_tcp`) or in-process through `sim://NAME`
(`hal.transport.register_simulator`). Each served link has one thread; `stop()` ends and joins them all.
"""

from __future__ import annotations

import threading
import time

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

# The event vocabulary lives in hal.lockboard.simulation; it is still importable from here.
__all__ = ["EventKind", "KerongSimulator", "SimEvent", "SimLockState"]

_STX = 0x02
_ETX = 0x03
_STATUS = 0x30
_UNLOCK = 0x31
_STATUS_ALL = 0x32
_UNLOCK_ALL = 0x33
_STATUS_REPLY = 0x35
_REQUEST_LENGTH = 5
_LOCKS_PER_BOARD = 16
_MAX_BOARDS = 16


class KerongSimulator(ServesLinks, ModelReadings):
    """`boards` KR-CU16 boards at addresses 0..boards-1, all doors closed, latched and empty."""

    protocol = "kerong-cu16"

    def __init__(self, boards: int = 2, hook_closed_bit: int = 1, *, baudrate: int | None = 19200,
                 query_all_address: int | None = None, seed: int | None = None) -> None:
        if isinstance(boards, bool) or not isinstance(boards, int) or not 1 <= boards <= _MAX_BOARDS:
            raise ValueError(f"boards must be 1-{_MAX_BOARDS}, got {boards!r}")
        if hook_closed_bit not in (0, 1) or isinstance(hook_closed_bit, bool):
            raise ValueError(f"hook_closed_bit must be 0 or 1, got {hook_closed_bit!r}")
        if baudrate is not None and baudrate <= 0:
            raise ValueError(f"baudrate must be positive or None, got {baudrate!r}")
        if query_all_address is not None and not 0 <= query_all_address <= 0xFF:
            raise ValueError(f"query_all_address must be 0-255 or None, got {query_all_address!r}")
        self.boards = boards
        self.hook_closed_bit = hook_closed_bit
        self.query_all_address = query_all_address  # None: the boards answer 0x32 whatever its address byte
        self._baudrate = baudrate  # replies take their wire time at this rate; None answers at once
        self._noise = LineNoise(seed)  # seeded for repeatable runs
        self._busy_left = [0] * boards
        self._state = threading.RLock()
        self._locks = {(board, lock): LockModel() for board in range(boards) for lock in range(1, 17)}
        self._connected = [True] * boards
        self._reply_delay_s = 0.0
        self._garble_left = 0
        self._unlock_ack = True
        self._listeners = ListenerList(self._state)
        self._served = LinkServer("kerong-sim", self._serve, lock=self._state)

    # control: the physical world -------------------------------------------------------------------
    def close_door(self, board: int, lock: int) -> None:
        """Someone pushes the door shut; the latch catches it (unless it sticks: see set_door_sticks)."""
        self._change(board, lock, unless_sticks=True, door_open=False, latched=True)

    def open_door(self, board: int, lock: int) -> None:
        """Someone pulls the door open (forced or left unlatched)."""
        self._change(board, lock, door_open=True, latched=False)

    def jam(self, board: int, lock: int, jammed: bool = True) -> None:
        """A jammed latch ignores unlock pulses."""
        self._change(board, lock, jammed=jammed)

    def set_door_sticks(self, board: int, lock: int, sticks: bool = True) -> None:
        """Door left open: pushed shut, it does not latch and swings back open, so it keeps reading open."""
        self._change(board, lock, sticks=sticks)

    def set_occupied(self, board: int, lock: int, occupied: bool) -> None:
        self._change(board, lock, occupied=occupied)

    def set_connected(self, connected: bool, board: int | None = None) -> None:
        """Cut a board (or, with board=None, every board) off the bus: no replies at all."""
        boards = range(self.boards) if board is None else [self._check_board(board)]
        events = []
        with self._state:
            for number in boards:
                if self._connected[number] != connected:
                    self._connected[number] = connected
                    events.append(SimEvent(EventKind.CONNECTED, time.monotonic(), number, value=connected))
        self._emit(events)

    # control: faults --------------------------------------------------------------------------------
    def set_reply_delay(self, seconds: float) -> None:
        """A slow board: every reply waits this long (on top of its wire time)."""
        if seconds < 0:
            raise ValueError(f"reply delay must not be negative, got {seconds!r}")
        with self._state:
            self._reply_delay_s = seconds

    def garble_replies(self, count: int = 1) -> None:
        """The next `count` replies go out with a wrong checksum."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count!r}")
        with self._state:
            self._garble_left = count

    def noise_replies(self, count: int = 1, *, before: bytes | None = None,
                      after: bytes | None = None) -> None:
        """The next `count` replies go out between line noise: `before` and `after` as given, or, where None,
        1-8 random bytes each time. Calls add up (one queue of coming replies)."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count!r}")
        with self._state:
            self._noise.add(count, before, after)

    # reading the model -------------------------------------------------------------------------------
    def snapshot(self) -> dict[int, dict[int, SimLockState]]:
        """board -> lock (from 1) -> state, taken atomically."""
        with self._state:
            states = {key: lock.reading() for key, lock in self._locks.items()}
        return {board: {lock: states[board, lock] for lock in range(1, _LOCKS_PER_BOARD + 1)}
                for board in range(self.boards)}

    def add_listener(self, callback: Listener) -> None:
        """`callback(event)` for every change and frame, called on the thread that caused it (the serving
        thread for frames, the caller for control calls). It must be quick and must not raise."""
        self._listeners.add(callback)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    # internals --------------------------------------------------------------------------------------
    def _serve(self, link: ServedLink) -> None:
        splitter = _RequestSplitter()
        for data, received_at in link.chunks():
            for request, is_frame in splitter.feed(data):
                if not is_frame:
                    self._emit([SimEvent(EventKind.NOISE, received_at, frame=request)])
                    continue
                for reply in self._answer(request, received_at):
                    with self._state:
                        if self._garble_left:
                            self._garble_left -= 1
                            reply = garbled(reply)
                        before, after = self._noise.around()
                        delay = self._reply_delay_s + wire_time(len(before) + len(reply) + len(after),
                                                                self._baudrate)
                    if delay > 0 and link.stopping.wait(delay):
                        return
                    # announced first, so that a listener has seen the reply before the host can read it
                    board = reply[1] >> 4
                    now = time.monotonic()
                    self._emit([SimEvent(EventKind.NOISE, now, board, frame=noise)
                                for noise in (before, after) if noise])
                    self._emit([SimEvent(EventKind.FRAME_OUT, now, board, frame=reply)])
                    link.send(before + reply + after)

    def _answer(self, request: bytes, received_at: float) -> list[bytes]:
        """Apply one well-formed request to the model; the replies the boards send back."""
        address, command = request[1], request[2]
        board, lock = address >> 4, (address & 0x0F) + 1
        events = [SimEvent(EventKind.FRAME_IN, received_at, board, lock if command == _UNLOCK else None,
                           frame=request)]
        replies: list[bytes] = []
        with self._state:
            on_bus = (command != _STATUS_ALL and board < self.boards and self._connected[board]
                      and not self._missed_by_busy(board))
            if command == _STATUS and on_bus:
                replies.append(self._status_reply(board, address))
            elif command == _STATUS_ALL:
                if self.query_all_address in (None, address):
                    replies.extend(self._status_reply(number, number << 4) for number in range(self.boards)
                                   if self._connected[number] and not self._missed_by_busy(number))
            elif command in (_UNLOCK, _UNLOCK_ALL) and on_bus:
                for pulsed in [lock] if command == _UNLOCK else range(1, _LOCKS_PER_BOARD + 1):
                    events.extend(self._pulse(board, pulsed, received_at))
                if self._unlock_ack:
                    replies.append(self._status_reply(board, address))
        self._emit(events)
        return replies

    def _missed_by_busy(self, board: int) -> bool:
        """Whether a busy `board` misses this request (counting it); called holding the state lock."""
        if not self._busy_left[board]:
            return False
        self._busy_left[board] -= 1
        return True

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

    def _status_reply(self, board: int, address: int) -> bytes:
        hooks = infrared = 0
        for bit in range(_LOCKS_PER_BOARD):
            state = self._locks[board, bit + 1]
            hook = self.hook_closed_bit if not state.door_open else 1 - self.hook_closed_bit
            hooks |= hook << bit
            infrared |= int(state.occupied) << bit
        body = bytes([_STX, address, _STATUS_REPLY, hooks & 0xFF, hooks >> 8, infrared & 0xFF, infrared >> 8,
                      _ETX])
        return body + bytes([sum(body) % 256])

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

    def _check_board(self, board: int) -> int:
        if isinstance(board, bool) or not isinstance(board, int) or not 0 <= board < self.boards:
            raise ValueError(f"board must be 0-{self.boards - 1} on this simulator, got {board!r}")
        return board

    def _lock(self, board: int, lock: int) -> LockModel:
        self._check_board(board)
        if isinstance(lock, bool) or not isinstance(lock, int) or not 1 <= lock <= _LOCKS_PER_BOARD:
            raise ValueError(f"lock must be 1-{_LOCKS_PER_BOARD}, got {lock!r}")
        return self._locks[board, lock]


class _RequestSplitter:
    """Cuts a byte stream into well-formed 5-byte requests; anything else is noise a board ignores."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """(bytes, True) for each well-formed request, (bytes, False) for noise thrown away."""
        buffer = self._buffer
        buffer.extend(data)
        out: list[tuple[bytes, bool]] = []
        while buffer:
            start = buffer.find(_STX)
            if start != 0:
                end = len(buffer) if start < 0 else start
                out.append((bytes(buffer[:end]), False))
                del buffer[:end]
                continue
            if len(buffer) < _REQUEST_LENGTH:
                break
            candidate = bytes(buffer[:_REQUEST_LENGTH])
            if candidate[3] == _ETX and candidate[4] == sum(candidate[:4]) % 256:
                out.append((candidate, True))
                del buffer[:_REQUEST_LENGTH]
            else:
                out.append((bytes(buffer[:1]), False))
                del buffer[:1]
        return out

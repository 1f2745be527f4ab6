"""WKLY lock-board frames: a pure codec, bytes in and frames out (DESIGN.md section 5).

Every frame, in both directions:

    57 4B 4C 59  LEN  ADDR  CMD  DATA..  XOR

- `57 4B 4C 59` is "WKLY" in ASCII, the start of every frame;
- LEN is the length of the whole frame, header and checksum included (8 + the number of data bytes). The
  published demo frames agree: an unlock request `57 4B 4C 59 09 00 82 01 83` is 9 bytes long;
- ADDR is the board address (0-255, set on the board's DIP switches); CMD the command;
- XOR is the exclusive or of every byte before it, header included.

    command                 request (host -> board)    reply (board -> host)
    0x82 open one lock      09 ADDR 82 LOCK          0B ADDR 82 STATUS LOCK DOOR
    0x83 query one lock     09 ADDR 83 LOCK          0B ADDR 83 STATUS LOCK DOOR
    0x84 query all locks    08 ADDR 84               LEN ADDR 84 STATUS N DOOR(1) .. DOOR(N)    LEN = 10 + N
    0x85 a door changed     (never sent by host)     0A ADDR 85 LOCK DOOR   unprompted, whenever a door moves
    0x86 open all locks     08 ADDR 86               09 ADDR 86 STATUS

STATUS 0x00 = done, 0xFF = failed (no such lock, board busy); DOOR 0x00 = open, 0x01 = closed. Locks are
numbered from 1 on the wire as on the board. The 0x82 reply gives the door as read after the pulse.

Choices where the tables are silent:
- The host does not acknowledge a 0x85 push: no source shows an acknowledgement.
- A reply with STATUS 0xFF may carry anything in its LOCK and DOOR bytes (a board that failed has nothing
  to report); only replies with STATUS 0x00 must have DOOR bytes of 0x00 or 0x01.
- Requests and replies share their command byte; the length tells them apart (see the table).
- A frame with a well-formed length and checksum but a command this codec does not know (0x80, 0x81, 0x87,
  0x88 exist on some boards) is reported and skipped whole, not taken apart byte by byte.
- A frame that has another header inside it was cut short (bytes were lost) and is rejected even if its
  checksum happens to match, so a damaged frame can never swallow the start of the good frame behind it.
  When the bytes that would settle this have not arrived yet, the decoder waits for them or for `flush()`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

from hal.lockboard.base import BoardStatus, LockStatus

HEADER = b"WKLY"  # 57 4B 4C 59
_LENGTH_AT = 4
_ADDRESS_AT = 5
_COMMAND_AT = 6
_DATA_AT = 7
SHORTEST_FRAME = 8  # header, length, address, command, checksum
LONGEST_FRAME = 0xFF  # the most one length byte can say
ALL_REPLY_BASE_LENGTH = 10  # a query-all reply without door bytes: + STATUS and N
MAX_LOCKS = LONGEST_FRAME - ALL_REPLY_BASE_LENGTH  # door bytes one query-all reply can carry
BOARDS = range(256)
LOCKS = range(1, MAX_LOCKS + 1)

STATUS_OK = 0x00
STATUS_FAILED = 0xFF
DOOR_OPEN = 0x00
DOOR_CLOSED = 0x01


class Command(enum.IntEnum):
    OPEN = 0x82  # pulse one lock
    QUERY = 0x83  # the door of one lock
    QUERY_ALL = 0x84  # the doors of every lock of one board
    DOOR_CHANGED = 0x85  # pushed by the board, unprompted
    OPEN_ALL = 0x86  # pulse every lock of one board


class Kind(enum.StrEnum):
    REQUEST = "request"
    REPLY = "reply"
    PUSH = "push"


# command -> {data length: what a frame of that length is}; the query-all reply is variable (below)
_LAYOUTS: dict[int, dict[int, Kind]] = {
    Command.OPEN: {1: Kind.REQUEST, 3: Kind.REPLY},
    Command.QUERY: {1: Kind.REQUEST, 3: Kind.REPLY},
    Command.QUERY_ALL: {0: Kind.REQUEST},
    Command.DOOR_CHANGED: {2: Kind.PUSH},
    Command.OPEN_ALL: {0: Kind.REQUEST, 1: Kind.REPLY},
}


def _kind_of(command: int, data_length: int) -> Kind | None:
    if command == Command.QUERY_ALL and data_length >= 2:
        return Kind.REPLY
    return _LAYOUTS.get(command, {}).get(data_length)


def _allowed_lengths(command: int) -> str:
    if command == Command.QUERY_ALL:
        return f"{SHORTEST_FRAME} or {ALL_REPLY_BASE_LENGTH}+N"
    return " or ".join(str(SHORTEST_FRAME + size) for size in _LAYOUTS[command])


def check_board(board: int) -> None:
    if isinstance(board, bool) or not isinstance(board, int) or board not in BOARDS:
        raise ValueError(f"board must be 0-255, got {board!r}")


def check_lock(lock: int) -> None:
    if isinstance(lock, bool) or not isinstance(lock, int) or lock not in LOCKS:
        raise ValueError(f"lock must be 1-{MAX_LOCKS} (as printed on the board), got {lock!r}")


def checksum(data: bytes | bytearray) -> int:
    return reduce(lambda total, byte: total ^ byte, data, 0)


def _hex(data: bytes | bytearray) -> str:
    return data.hex(" ").upper()


def encode(board: int, command: int, data: bytes = b"") -> bytes:
    """Any frame: header, length, address, command, data and checksum."""
    check_board(board)
    if not 0 <= command <= 0xFF:
        raise ValueError(f"command must be one byte, got {command!r}")
    length = SHORTEST_FRAME + len(data)
    if length > LONGEST_FRAME:
        raise ValueError(f"{len(data)} data bytes do not fit one frame (at most {LONGEST_FRAME - 8})")
    body = HEADER + bytes([length, board, command]) + data
    return body + bytes([checksum(body)])


# requests ------------------------------------------------------------------------------------------------
def open_request(board: int, lock: int) -> bytes:
    check_lock(lock)
    return encode(board, Command.OPEN, bytes([lock]))


def query_request(board: int, lock: int) -> bytes:
    check_lock(lock)
    return encode(board, Command.QUERY, bytes([lock]))


def query_all_request(board: int) -> bytes:
    return encode(board, Command.QUERY_ALL)


def open_all_request(board: int) -> bytes:
    return encode(board, Command.OPEN_ALL)


# what the boards send ------------------------------------------------------------------------------------
def _door(door_open: bool) -> int:
    return DOOR_OPEN if door_open else DOOR_CLOSED


def _status(ok: bool) -> int:
    return STATUS_OK if ok else STATUS_FAILED


def lock_reply(command: int, board: int, lock: int, door_open: bool, *, ok: bool = True) -> bytes:
    """The reply to an open (0x82) or query (0x83) of one lock."""
    if command not in (Command.OPEN, Command.QUERY):
        raise ValueError(f"0x{command:02X} has no one-lock reply")
    check_lock(lock)
    return encode(board, command, bytes([_status(ok), lock, _door(door_open)]))


def query_all_reply(board: int, doors: Sequence[bool], *, ok: bool = True) -> bytes:
    """The reply to a query-all: `doors[0]` is lock 1, True = open."""
    if len(doors) > MAX_LOCKS:
        raise ValueError(f"at most {MAX_LOCKS} locks fit one reply, got {len(doors)}")
    return encode(board, Command.QUERY_ALL,
                  bytes([_status(ok), len(doors)]) + bytes(_door(door) for door in doors))


def open_all_reply(board: int, *, ok: bool = True) -> bytes:
    return encode(board, Command.OPEN_ALL, bytes([_status(ok)]))


def door_push(board: int, lock: int, door_open: bool) -> bytes:
    """What a board sends, unprompted, when a door opens or closes."""
    check_lock(lock)
    return encode(board, Command.DOOR_CHANGED, bytes([lock, _door(door_open)]))


def encode_status(status: BoardStatus) -> bytes:
    """A board's doors as its query-all reply would carry them (locks 1..highest; a gap reads closed)."""
    highest = max(status.locks, default=0)
    closed = LockStatus(door_open=False, occupied=None)
    return query_all_reply(status.board,
                           [status.locks.get(lock, closed).door_open for lock in range(1, highest + 1)])


# decoded frames ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """One well-formed frame: header, length, checksum and layout verified by the decoder."""

    board: int
    command: Command
    kind: Kind
    data: bytes
    raw: bytes

    @property
    def is_request(self) -> bool:
        return self.kind is Kind.REQUEST

    @property
    def is_push(self) -> bool:
        return self.kind is Kind.PUSH

    @property
    def is_reply(self) -> bool:
        return self.kind is Kind.REPLY

    @property
    def ok(self) -> bool:
        """A reply's status: True for 0x00 (done), False for 0xFF (failed). Other frames are always ok."""
        return not self.is_reply or self.data[0] == STATUS_OK

    @property
    def lock(self) -> int | None:
        """The lock a one-lock request, reply or push is about."""
        if self.command in (Command.OPEN, Command.QUERY):
            return self.data[0] if self.is_request else self.data[1]
        if self.command == Command.DOOR_CHANGED:
            return self.data[0]
        return None

    @property
    def door_open(self) -> bool | None:
        """The door of a one-lock reply or push; None for other frames and for failed replies."""
        if not self.ok:
            return None
        if self.is_reply and self.command in (Command.OPEN, Command.QUERY):
            return self.data[2] == DOOR_OPEN
        if self.is_push:
            return self.data[1] == DOOR_OPEN
        return None

    @property
    def doors(self) -> dict[int, bool]:
        """A query-all reply's doors: lock (from 1) -> open. Empty for any other frame."""
        if not (self.is_reply and self.command == Command.QUERY_ALL and self.ok):
            return {}
        return {lock: byte == DOOR_OPEN for lock, byte in enumerate(self.data[2:], start=1)}


@dataclass(frozen=True)
class FrameError:
    """Bytes the decoder threw away, and why (one line)."""

    reason: str
    data: bytes


def decode_status(frame: Frame) -> BoardStatus:
    """A query-all reply as a BoardStatus (these boards have no parcel sensor: occupied is None).
    Raises ValueError for any other frame, a failed reply included."""
    if not (frame.is_reply and frame.command == Command.QUERY_ALL):
        raise ValueError(f"not a query-all reply: {describe(frame)}")
    if not frame.ok:
        raise ValueError(f"board {frame.board} answered the query with status 0xFF (failed)")
    return BoardStatus(
        board=frame.board,
        locks={lock: LockStatus(door_open=door_open, occupied=None)
               for lock, door_open in frame.doors.items()},
    )


def _content_problem(command: int, kind: Kind, data: bytes) -> str | None:
    """Why a frame with a good checksum still cannot be right, or None."""
    if kind is Kind.REPLY:
        if data[0] not in (STATUS_OK, STATUS_FAILED):
            return f"status 0x{data[0]:02X} is neither 0x00 (done) nor 0xFF (failed)"
        if data[0] == STATUS_FAILED:
            return None
        if command in (Command.OPEN, Command.QUERY):
            lock, doors = data[1], data[2:]
        else:
            lock, doors = 1, data[2:]
    elif kind is Kind.PUSH:
        lock, doors = data[0], data[1:]
    else:
        lock, doors = (data[0] if data else 1), b""
    if lock == 0:
        return "lock 0 does not exist (locks count from 1)"
    bad = [door for door in doors if door not in (DOOR_OPEN, DOOR_CLOSED)]
    if bad:
        return f"door state 0x{bad[0]:02X} is neither 0x00 (open) nor 0x01 (closed)"
    return None


class FrameDecoder:
    """Incremental decoder: feed it bytes as they arrive, get frames and errors back.

    It never raises for bad input. Noise, impossible lengths, bad checksums, frames cut short and impossible
    contents each come back as a FrameError, and decoding resumes at the next "WKLY" header. Every byte fed
    comes back in exactly one Frame.raw or FrameError.data, or is still `pending`.

    Call `flush()` when the line has gone quiet: a frame still incomplete then will never be completed.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> bytes:
        """Bytes held back, waiting for the rest of a frame."""
        return bytes(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()

    def bytes_wanted(self) -> int:
        """How many more bytes could complete the frame under way (at least 1)."""
        buffer = self._buffer
        if len(buffer) <= _LENGTH_AT:
            return max(1, SHORTEST_FRAME - len(buffer))
        length = buffer[_LENGTH_AT]
        if len(buffer) < length:
            return length - len(buffer)
        return max(1, self._tail_header_end(length) - len(buffer))

    def feed(self, data: bytes | bytearray) -> list[Frame | FrameError]:
        self._buffer.extend(data)
        return self._drain(final=False)

    def flush(self) -> list[Frame | FrameError]:
        """The line is quiet: decide about every byte held back. Afterwards nothing is pending."""
        return self._drain(final=True)

    # internals --------------------------------------------------------------------------------------------
    def _drain(self, *, final: bool) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        while self._buffer:
            item = self._step(final)
            if item is None:
                break
            out.append(item)
        return out

    def _step(self, final: bool) -> Frame | FrameError | None:
        """One frame or error off the front of the buffer, or None while more bytes are needed."""
        buffer = self._buffer
        if not buffer.startswith(HEADER):
            start = buffer.find(HEADER)
            end = start if start > 0 else len(buffer) - (0 if final else _header_prefix_at_end(buffer))
            if end == 0:
                return None  # only the start of a header so far
            return self._drop(end, _noise_reason(buffer, end))
        if len(buffer) <= _LENGTH_AT:
            return self._incomplete() if final else None
        length = buffer[_LENGTH_AT]
        if length < SHORTEST_FRAME:
            return self._reject(f"length byte {length} is shorter than any frame ({SHORTEST_FRAME})")
        if len(buffer) > _COMMAND_AT:
            problem = self._length_problem(length)
            if problem:
                return self._reject(problem)
        cut_at = buffer.find(HEADER, 1, length + len(HEADER) - 1)
        if cut_at > 0:
            return self._reject(f"frame cut short: a new frame starts at byte {cut_at} of {length}")
        if len(buffer) < length:
            return self._incomplete() if final else None
        if not final and len(buffer) < self._tail_header_end(length):
            return None  # the last bytes might begin a header: the next byte or two will tell
        expected = checksum(buffer[: length - 1])
        if buffer[length - 1] != expected:
            found, shown = buffer[length - 1], _hex(buffer[:length])
            return self._reject(f"bad checksum 0x{found:02X}, expected 0x{expected:02X}: {shown}")
        raw = bytes(buffer[:length])
        command = raw[_COMMAND_AT]
        data = raw[_DATA_AT:-1]
        kind = _kind_of(command, len(data))
        if kind is None:
            return self._drop(length, f"unsupported command 0x{command:02X} from board {raw[_ADDRESS_AT]}, "
                                      f"skipped: {_hex(raw)}")
        problem = _content_problem(command, kind, data)
        if problem:
            return self._drop(length, f"{problem}: {_hex(raw)}")
        del buffer[:length]
        return Frame(board=raw[_ADDRESS_AT], command=Command(command), kind=kind, data=data, raw=raw)

    def _length_problem(self, length: int) -> str | None:
        command = self._buffer[_COMMAND_AT]
        if command not in _LAYOUTS:
            return None  # unknown: its own length and checksum decide whether to skip it whole
        if _kind_of(command, length - SHORTEST_FRAME) is None:
            return f"length {length} does not fit command 0x{command:02X} ({_allowed_lengths(command)})"
        count_at = _DATA_AT + 1
        if command == Command.QUERY_ALL and length > SHORTEST_FRAME and len(self._buffer) > count_at:
            count = self._buffer[count_at]
            if self._buffer[_DATA_AT] == STATUS_OK and length != ALL_REPLY_BASE_LENGTH + count:
                return f"length {length} does not fit a query-all reply of {count} locks"
        return None

    def _tail_header_end(self, length: int) -> int:
        """Where the buffer must reach before a frame of `length` can be accepted: past any header that might
        begin in its last bytes (that would mean the frame lost bytes and swallowed the next one's start)."""
        buffer = self._buffer
        for start in range(max(1, length - len(HEADER) + 1), length):
            if HEADER.startswith(buffer[start : start + len(HEADER)]):
                return start + len(HEADER)
        return length

    def _drop(self, end: int, reason: str) -> FrameError:
        dropped = bytes(self._buffer[:end])
        del self._buffer[:end]
        return FrameError(reason, dropped)

    def _reject(self, reason: str) -> FrameError:
        """Drop a false start: everything up to the next header (or the start of one at the very end)."""
        buffer = self._buffer
        next_start = buffer.find(HEADER, 1)
        end = next_start if next_start > 0 else len(buffer) - _header_prefix_at_end(buffer, skip=1)
        return self._drop(end, reason)

    def _incomplete(self) -> FrameError:
        return self._reject(f"incomplete frame: {_hex(self._buffer)}")


def _header_prefix_at_end(buffer: bytearray, *, skip: int = 0) -> int:
    """How many bytes at the end of the buffer (not counting its first `skip`) could begin a header."""
    for size in range(min(len(HEADER) - 1, len(buffer) - skip), 0, -1):
        if buffer.endswith(HEADER[:size]):
            return size
    return 0


def _noise_reason(buffer: bytearray, end: int) -> str:
    if buffer.startswith(HEADER[: min(len(buffer), len(HEADER))]) and end == len(buffer):
        return f"incomplete frame: {_hex(buffer)}"
    shown = _hex(buffer[: min(end, 16)]) + (" .." if end > 16 else "")
    return f"{end} byte(s) of noise outside any frame: {shown}"


def decode_frames(data: bytes) -> list[Frame | FrameError]:
    """Everything in `data`, as if the line went quiet after it: a trailing partial frame is an error."""
    decoder = FrameDecoder()
    return decoder.feed(data) + decoder.flush()


def describe(frame: Frame) -> str:
    """A frame in a technician's words, e.g. "open board 1 lock 3" or "board 0: door 5 closed"."""
    board = f"board {frame.board}"
    if frame.is_push:
        return f"{board}: door {frame.lock} {'opened' if frame.door_open else 'closed'}"
    if frame.is_request:
        return {
            Command.OPEN: f"open {board} lock {frame.lock}",
            Command.QUERY: f"query {board} lock {frame.lock}",
            Command.QUERY_ALL: f"query all locks of {board}",
            Command.OPEN_ALL: f"open all locks of {board}",
        }[frame.command]
    what = {Command.OPEN: "open", Command.QUERY: "query", Command.QUERY_ALL: "query-all",
            Command.OPEN_ALL: "open-all"}[frame.command]
    if not frame.ok:
        return f"{board}: {what} failed (status 0xFF)"
    if frame.command == Command.QUERY_ALL:
        open_locks = [lock for lock, door_open in frame.doors.items() if door_open]
        opened = ", ".join(map(str, open_locks)) or "none"
        return f"{board}: {len(frame.doors)} locks, open: {opened}"
    if frame.command == Command.OPEN_ALL:
        return f"{board}: open-all done"
    return f"{board}: {what} lock {frame.lock}, door {'open' if frame.door_open else 'closed'}"

""""BU" lock-board frames: a pure codec, bytes in and frames out (DESIGN.md section 5).

Every request is five bytes, and the board answers with a frame of the same shape carrying the state:

    unlock        8A BOARD LOCK 11 XOR   ->  8A BOARD LOCK STATE XOR   (sent once the pulse is over)
    query one     80 BOARD LOCK 33 XOR   ->  80 BOARD LOCK STATE XOR
    query all     80 BOARD 00   33 XOR   ->  80 BOARD S17-24 S9-16 S1-8 33 XOR

XOR is the exclusive-or of every byte before it (bytes 0-3 of a five-byte frame, 0-5 of the query-all reply).
Unlock 1/1 is `8A 01 01 11 9B`; the query-all request for board 1 is `80 01 00 33 B2`.

Choices where the vendors' sheets are silent or disagree:
- Boards are addressed 1-64 (0x01-0x40, as the sheets number them, set by DIP switches); address 0 is
  refused: no sheet gives it to a board, and a broadcast would have every board answer at once.
- Up to 24 locks per board, numbered from 1 as printed; the query-all request is the query with lock byte 0.
- STATE 0x11 and a set bit mean "closed", STATE 0x00 and a clear bit mean "open", as the vendors' examples
  show. The sheets add that this depends on how the lock's feedback switch is wired, and integrators' code
  has both, so the value meaning "closed" is a parameter (`closed_bit`, 1 by default, 0 inverts both).
- In the bitmask the lowest bit of each byte is the lowest lock of that byte (bit 0 of S1-8 is lock 1).
  Sheets for 32-lock boards add an S25-32 byte in front; those boards are not supported here.
- Some firmware answers an unlock with an 80 head instead of echoing 8A; the frame decodes the same way
  and the driver accepts either.
- These boards have no infrared parcel sensors: every LockStatus has occupied=None.

Frames carry no length byte, and a five-byte query reply and the seven-byte query-all reply both start with
80, so the decoder must know which one it is waiting for (`FrameDecoder(expect_status_all=...)`): on a
request/response bus the host always does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from hal.lockboard.base import BoardStatus, LockStatus

UNLOCK = 0x8A  # head of an unlock request and of its echo
QUERY = 0x80  # head of a query request, its reply, and the query-all reply
UNLOCK_CODE = 0x11
QUERY_CODE = 0x33  # also the trailer of the query-all reply
CLOSED_STATE = 0x11  # with the default closed_bit=1
OPEN_STATE = 0x00
ALL_LOCKS = 0x00  # the lock byte naming every lock of a board
HEADS = frozenset({UNLOCK, QUERY})
STATES = frozenset({OPEN_STATE, CLOSED_STATE})
BOARDS = range(1, 65)
LOCKS = range(1, 25)
SHORT_LENGTH = 5
STATUS_ALL_LENGTH = 7
_CODES = {UNLOCK: STATES, QUERY: STATES | {QUERY_CODE}}


def check_board(board: int) -> None:
    if isinstance(board, bool) or not isinstance(board, int) or board not in BOARDS:
        raise ValueError(f"board must be 1-64 (BU boards are addressed from 1), got {board!r}")


def check_lock(lock: int, locks_per_board: int = len(LOCKS)) -> None:
    if isinstance(lock, bool) or not isinstance(lock, int) or not 1 <= lock <= locks_per_board:
        raise ValueError(f"lock must be 1-{locks_per_board} (as printed on the board), got {lock!r}")


def check_locks_per_board(locks_per_board: int) -> None:
    if isinstance(locks_per_board, bool) or not isinstance(locks_per_board, int) \
            or locks_per_board not in LOCKS:
        raise ValueError(f"locks_per_board must be 1-{len(LOCKS)}, got {locks_per_board!r}")


def check_closed_bit(closed_bit: int) -> None:
    if closed_bit not in (0, 1) or isinstance(closed_bit, bool):
        raise ValueError(f"closed_bit must be 0 or 1, got {closed_bit!r}")


def xor(data: bytes | bytearray) -> int:
    return reduce(int.__xor__, data, 0)


def _seal(body: bytes) -> bytes:
    return body + bytes([xor(body)])


def unlock_request(board: int, lock: int) -> bytes:
    check_board(board)
    check_lock(lock)
    return _seal(bytes([UNLOCK, board, lock, UNLOCK_CODE]))


def query_request(board: int, lock: int) -> bytes:
    """The state of one lock."""
    check_board(board)
    check_lock(lock)
    return _seal(bytes([QUERY, board, lock, QUERY_CODE]))


def status_all_request(board: int) -> bytes:
    """Every lock of one board, answered with the seven-byte query-all reply."""
    check_board(board)
    return _seal(bytes([QUERY, board, ALL_LOCKS, QUERY_CODE]))


def state_byte(door_open: bool, *, closed_bit: int = 1) -> int:
    check_closed_bit(closed_bit)
    return CLOSED_STATE if door_open != bool(closed_bit) else OPEN_STATE


def state_reply(head: int, board: int, lock: int, door_open: bool, *, closed_bit: int = 1) -> bytes:
    """A board's answer to an unlock (head 8A) or a query (head 80) of one lock."""
    if head not in HEADS:
        raise ValueError(f"head must be 0x8A or 0x80, got {head!r}")
    check_board(board)
    check_lock(lock)
    return _seal(bytes([head, board, lock, state_byte(door_open, closed_bit=closed_bit)]))


def status_all_reply(board: int, bits: int) -> bytes:
    """The raw query-all reply: `bits` is a 24-bit field, bit 0 = lock 1."""
    check_board(board)
    if isinstance(bits, bool) or not isinstance(bits, int) or not 0 <= bits <= 0xFFFFFF:
        raise ValueError(f"bits must be a 24-bit field, got {bits!r}")
    return _seal(bytes([QUERY, board, bits >> 16, bits >> 8 & 0xFF, bits & 0xFF, QUERY_CODE]))


def encode_status(status: BoardStatus, *, closed_bit: int = 1) -> bytes:
    """A board's status as the board would send it; locks missing from `status` read closed."""
    check_closed_bit(closed_bit)
    bits = 0
    for lock in LOCKS:
        reading = status.locks.get(lock, LockStatus(door_open=False, occupied=None))
        bits |= (closed_bit ^ int(reading.door_open)) << (lock - 1)
    return status_all_reply(status.board, bits)


@dataclass(frozen=True)
class Frame:
    """One well-formed frame: head, code and XOR verified. What it means depends on what was asked:
    `8A 01 01 11 9B` is both the unlock request and the board's "still closed" answer to it."""

    head: int  # UNLOCK or QUERY
    board: int
    lock: int  # the lock byte (0: every lock); 0 in a query-all reply
    code: int  # byte 3 of a five-byte frame: UNLOCK_CODE, QUERY_CODE or a state; 0x33 in a query-all reply
    bits: int | None  # query-all reply: 24 bits, bit 0 = lock 1; None in a five-byte frame
    raw: bytes

    @property
    def is_status_all_reply(self) -> bool:
        return self.bits is not None

    @property
    def state(self) -> int | None:
        """The state byte of a five-byte answer (0x00 or 0x11); None when byte 3 is a command code."""
        return self.code if self.bits is None and self.code in STATES else None


@dataclass(frozen=True)
class FrameError:
    """Bytes the decoder threw away, and why (one line)."""

    reason: str
    data: bytes


def door_open(frame: Frame, *, closed_bit: int = 1) -> bool:
    """The door of a five-byte answer. Raises ValueError if the frame carries no state."""
    check_closed_bit(closed_bit)
    if frame.state is None:
        raise ValueError(f"no lock state in {_hex(frame.raw)}")
    return (frame.state == CLOSED_STATE) != bool(closed_bit)


def decode_status(frame: Frame, *, closed_bit: int = 1, locks_per_board: int = len(LOCKS)) -> BoardStatus:
    """Locks 1..locks_per_board of a query-all reply. Raises ValueError if it is not one."""
    check_closed_bit(closed_bit)
    check_locks_per_board(locks_per_board)
    if frame.bits is None:
        raise ValueError(f"not a query-all reply: {_hex(frame.raw)}")
    locks = {
        lock: LockStatus(door_open=(frame.bits >> (lock - 1) & 1) != closed_bit, occupied=None)
        for lock in range(1, locks_per_board + 1)
    }
    return BoardStatus(board=frame.board, locks=locks)


def _hex(data: bytes | bytearray) -> str:
    return data.hex(" ").upper()


def _short_problem(candidate: bytes | bytearray) -> str | None:
    """Why five bytes starting with a head are not a frame, or None if they are one."""
    head, code = candidate[0], candidate[3]
    if code not in _CODES[head]:
        return f"unknown code 0x{code:02X} after head 0x{head:02X}: {_hex(candidate)}"
    expected = xor(candidate[:4])
    if candidate[4] != expected:
        return f"bad checksum 0x{candidate[4]:02X}, expected 0x{expected:02X}: {_hex(candidate)}"
    return None


def _status_all_problem(candidate: bytes | bytearray) -> str | None:
    """Why seven bytes starting with 80 are not a query-all reply, or None if they are one."""
    if candidate[5] != QUERY_CODE:
        return f"no 0x33 trailer in the query-all reply: {_hex(candidate)}"
    expected = xor(candidate[:6])
    if candidate[6] != expected:
        return f"bad checksum 0x{candidate[6]:02X}, expected 0x{expected:02X}: {_hex(candidate)}"
    return None


def _next_head(buffer: bytearray, start: int) -> int:
    """Index of the first head byte at or after `start`, or len(buffer)."""
    return next((index for index in range(start, len(buffer)) if buffer[index] in HEADS), len(buffer))


class FrameDecoder:
    """Incremental decoder: feed it bytes as they arrive, get frames and errors back.

    It never raises for bad input. Noise before a head byte, unknown codes and bad checksums each come back
    as one FrameError, after which the decoder resynchronises on the next 8A or 80. With
    `expect_status_all`, a frame starting with 80 is read as the seven-byte query-all reply when it is one,
    else as a five-byte frame (our own query echoed by a half-duplex adapter, say).
    """

    def __init__(self, *, expect_status_all: bool = False) -> None:
        self.expect_status_all = expect_status_all
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
        if buffer and buffer[0] not in HEADS:
            return 1
        return max(1, self._length_at_head(buffer) - len(buffer))

    def feed(self, data: bytes | bytearray) -> list[Frame | FrameError]:
        self._buffer.extend(data)
        return self._decode(expect_status_all=self.expect_status_all)

    def flush(self) -> list[Frame | FrameError]:
        """No more bytes are coming: decode what is held back as far as it goes and report the rest."""
        buffer = self._buffer
        out: list[Frame | FrameError] = []
        if len(buffer) >= SHORT_LENGTH and _short_problem(buffer[:SHORT_LENGTH]) is None:
            # held back only in case it was the start of a query-all reply
            out.append(self._take(SHORT_LENGTH))
            out += self._decode(expect_status_all=False)
        if buffer:
            out.append(FrameError(f"incomplete frame: {_hex(buffer)}", bytes(buffer)))
            buffer.clear()
        return out

    def _length_at_head(self, buffer: bytearray) -> int:
        if self.expect_status_all and (not buffer or buffer[0] == QUERY):
            return STATUS_ALL_LENGTH
        return SHORT_LENGTH

    def _decode(self, *, expect_status_all: bool) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        buffer = self._buffer
        while buffer:
            if buffer[0] not in HEADS:
                end = _next_head(buffer, 0)
                out.append(FrameError(f"{end} byte(s) of noise before a head byte", bytes(buffer[:end])))
                del buffer[:end]
                continue
            long_problem = None
            if expect_status_all and buffer[0] == QUERY:
                if len(buffer) < STATUS_ALL_LENGTH:
                    break
                long_problem = _status_all_problem(buffer[:STATUS_ALL_LENGTH])
                if long_problem is None:
                    out.append(self._take(STATUS_ALL_LENGTH))
                    continue
            if len(buffer) < SHORT_LENGTH:
                break
            problem = _short_problem(buffer[:SHORT_LENGTH])
            if problem is None:
                out.append(self._take(SHORT_LENGTH))
                continue
            # a bad query-all reply is worth naming as such, not as a bad five-byte frame
            out.append(self._reject(long_problem if long_problem and buffer[5] == QUERY_CODE else problem))
        return out

    def _take(self, length: int) -> Frame:
        raw = bytes(self._buffer[:length])
        del self._buffer[:length]
        if length == STATUS_ALL_LENGTH:
            bits = raw[2] << 16 | raw[3] << 8 | raw[4]
            return Frame(head=raw[0], board=raw[1], lock=0, code=raw[5], bits=bits, raw=raw)
        return Frame(head=raw[0], board=raw[1], lock=raw[2], code=raw[3], bits=None, raw=raw)

    def _reject(self, reason: str) -> FrameError:
        """Drop the false head byte and everything up to the next head byte."""
        end = _next_head(self._buffer, 1)
        dropped = bytes(self._buffer[:end])
        del self._buffer[:end]
        return FrameError(reason, dropped)


def decode_frames(data: bytes, *, expect_status_all: bool = False) -> list[Frame | FrameError]:
    """Everything in `data`; a trailing partial frame is reported as an error."""
    decoder = FrameDecoder(expect_status_all=expect_status_all)
    return decoder.feed(data) + decoder.flush()


def describe(frame: Frame) -> str:
    """A frame in a technician's words, e.g. "unlock board 1 lock 3"."""
    where = f"board {frame.board} lock {frame.lock}"
    if frame.bits is not None:
        return f"query-all reply from board {frame.board} (bits {frame.bits:06X})"
    if frame.head == QUERY and frame.code == QUERY_CODE:
        return f"query all locks of board {frame.board}" if frame.lock == ALL_LOCKS else f"query {where}"
    if frame.head == UNLOCK and frame.code == UNLOCK_CODE:
        if frame.lock == ALL_LOCKS:
            return f"unlock every lock of board {frame.board}"
        return f"unlock {where} (or its answer: state 0x11)"
    return f"{'unlock' if frame.head == UNLOCK else 'query'} answer from {where}: state 0x{frame.code:02X}"

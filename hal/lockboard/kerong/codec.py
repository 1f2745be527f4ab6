"""Kerong KR-CU16 frames: a pure codec, bytes in and frames out (DESIGN.md section 5).

Request:       02 ADDR CMD 03 SUM                     ADDR = board << 4 | (lock - 1)
Status reply:  02 ADDR 35 H1-8 H9-16 IR1-8 IR9-16 03 SUM
SUM is the low byte of the sum of every byte before it. In the bit fields the lowest bit is lock 1.

Choices where the sources are silent or disagree:
- Which hook-bit value means "door closed" differs between sources, so it is a parameter here
  (`hook_closed_bit`, default 1: a closed door presses its hook switch).
- The query-all request (0x32) is a broadcast; the sources do not agree on its address byte (0x00 in most,
  0xFF in some), so `status_all_request` takes it as a parameter, default 0x00.
- Each board answers 0x32 with its own status reply at address board << 4.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from hal.lockboard.base import BoardStatus, LockStatus

STX = 0x02
ETX = 0x03
BOARDS = range(16)  # the address byte has four bits for the board
LOCKS = range(1, 17)  # locks as printed on the board
REQUEST_LENGTH = 5
STATUS_REPLY_LENGTH = 9
QUERY_ALL_ADDRESS = 0x00  # the address byte of the 0x32 broadcast unless configured otherwise


class Command(enum.IntEnum):
    STATUS = 0x30  # status of one board
    UNLOCK = 0x31  # pulse one lock
    STATUS_ALL = 0x32  # status of every board on the bus, each answering with its own status reply
    UNLOCK_ALL = 0x33  # pulse every lock of one board
    STATUS_REPLY = 0x35


FRAME_LENGTHS: Mapping[int, int] = {
    Command.STATUS: REQUEST_LENGTH,
    Command.UNLOCK: REQUEST_LENGTH,
    Command.STATUS_ALL: REQUEST_LENGTH,
    Command.UNLOCK_ALL: REQUEST_LENGTH,
    Command.STATUS_REPLY: STATUS_REPLY_LENGTH,
}
REQUEST_COMMANDS = frozenset({Command.STATUS, Command.UNLOCK, Command.STATUS_ALL, Command.UNLOCK_ALL})
_SHORTEST_FRAME = min(FRAME_LENGTHS.values())


def check_board(board: int) -> None:
    if isinstance(board, bool) or not isinstance(board, int) or board not in BOARDS:
        raise ValueError(f"board must be 0-15, got {board!r}")


def check_lock(lock: int) -> None:
    if isinstance(lock, bool) or not isinstance(lock, int) or lock not in LOCKS:
        raise ValueError(f"lock must be 1-16 (as printed on the board), got {lock!r}")


def check_hook_closed_bit(hook_closed_bit: int) -> None:
    if hook_closed_bit not in (0, 1) or isinstance(hook_closed_bit, bool):
        raise ValueError(f"hook_closed_bit must be 0 or 1, got {hook_closed_bit!r}")


def checksum(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


def address(board: int, lock: int = 1) -> int:
    check_board(board)
    check_lock(lock)
    return board << 4 | (lock - 1)


def _seal(body: bytes) -> bytes:
    """Close a frame: ETX and the checksum over everything before it."""
    framed = body + bytes([ETX])
    return framed + bytes([checksum(framed)])


def check_address_byte(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise ValueError(f"an address byte must be 0-255 (0x00-0xFF), got {value!r}")


def encode_request(command: Command, board: int, lock: int = 1) -> bytes:
    if command not in REQUEST_COMMANDS:
        raise ValueError(f"0x{int(command):02X} is not a request command")
    return _seal(bytes([STX, address(board, lock), command]))


def unlock_request(board: int, lock: int) -> bytes:
    return encode_request(Command.UNLOCK, board, lock)


def status_request(board: int) -> bytes:
    return encode_request(Command.STATUS, board)


def unlock_all_request(board: int) -> bytes:
    return encode_request(Command.UNLOCK_ALL, board)


def status_all_request(address_byte: int = QUERY_ALL_ADDRESS) -> bytes:
    """The broadcast every board answers, each with its own status reply; `address_byte` as the boards
    expect it (see the module docstring)."""
    check_address_byte(address_byte)
    return _seal(bytes([STX, address_byte, Command.STATUS_ALL]))


def status_reply(board: int, hooks: int, infrared: int, *, lock: int = 1) -> bytes:
    """The raw reply: `hooks` and `infrared` are 16-bit fields, bit 0 = lock 1."""
    for name, bits in (("hooks", hooks), ("infrared", infrared)):
        if not 0 <= bits <= 0xFFFF:
            raise ValueError(f"{name} must be a 16-bit field, got {bits!r}")
    body = bytes([STX, address(board, lock), Command.STATUS_REPLY,
                  hooks & 0xFF, hooks >> 8, infrared & 0xFF, infrared >> 8])
    return _seal(body)


def encode_status(status: BoardStatus, *, hook_closed_bit: int = 1) -> bytes:
    """A board's status as the board would send it; a lock without an infrared reading sends 0."""
    check_hook_closed_bit(hook_closed_bit)
    hooks = infrared = 0
    for lock in LOCKS:
        reading = status.locks.get(lock, LockStatus(door_open=False, occupied=None))
        hook_bit = hook_closed_bit ^ int(reading.door_open)
        hooks |= hook_bit << (lock - 1)
        infrared |= int(bool(reading.occupied)) << (lock - 1)
    return status_reply(status.board, hooks, infrared)


@dataclass(frozen=True)
class Frame:
    """One well-formed frame: start, end and checksum verified."""

    address: int
    command: int
    payload: bytes  # the bytes between the command and ETX
    raw: bytes

    @property
    def board(self) -> int:
        return self.address >> 4

    @property
    def lock(self) -> int:
        """The lock a request names, as printed (nibble + 1)."""
        return (self.address & 0x0F) + 1

    @property
    def is_request(self) -> bool:
        return self.command in REQUEST_COMMANDS


@dataclass(frozen=True)
class FrameError:
    """Bytes the decoder threw away, and why (one line)."""

    reason: str
    data: bytes


def decode_status(frame: Frame, *, hook_closed_bit: int = 1) -> BoardStatus:
    """The 16 locks of a status reply. Raises ValueError if the frame is not a status reply."""
    check_hook_closed_bit(hook_closed_bit)
    if frame.command != Command.STATUS_REPLY or len(frame.payload) != 4:
        raise ValueError(
            f"not a status reply: command 0x{frame.command:02X}, {len(frame.payload)} data bytes")
    hooks = frame.payload[0] | frame.payload[1] << 8
    infrared = frame.payload[2] | frame.payload[3] << 8
    locks = {
        lock: LockStatus(
            door_open=(hooks >> (lock - 1) & 1) != hook_closed_bit,
            occupied=bool(infrared >> (lock - 1) & 1),
        )
        for lock in LOCKS
    }
    return BoardStatus(board=frame.board, locks=locks)


def _hex(data: bytes | bytearray) -> str:
    return data.hex(" ").upper()


class FrameDecoder:
    """Incremental decoder: feed it bytes as they arrive, get frames and errors back.

    It never raises for bad input. Noise before a start byte, unknown commands, a missing end byte and bad
    checksums each come back as one FrameError, after which the decoder resynchronises on the next 0x02.
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
        if not buffer:
            return _SHORTEST_FRAME
        if buffer[0] != STX:
            return 1
        if len(buffer) < 3:
            return _SHORTEST_FRAME - len(buffer)
        length = FRAME_LENGTHS.get(buffer[2], 0)
        return max(1, length - len(buffer))

    def feed(self, data: bytes | bytearray) -> list[Frame | FrameError]:
        self._buffer.extend(data)
        out: list[Frame | FrameError] = []
        buffer = self._buffer
        while buffer:
            if buffer[0] != STX:
                start = buffer.find(STX)
                end = len(buffer) if start < 0 else start
                out.append(FrameError(f"{end} byte(s) of noise before a start byte", bytes(buffer[:end])))
                del buffer[:end]
                continue
            if len(buffer) < 3:
                break
            command = buffer[2]
            length = FRAME_LENGTHS.get(command)
            if length is None:
                out.append(self._reject(f"unknown command 0x{command:02X}"))
                continue
            if len(buffer) < length:
                break
            if buffer[length - 2] != ETX:
                out.append(self._reject(
                    f"no end byte after {length - 2} bytes (length wrong for command 0x{command:02X}): "
                    f"{_hex(buffer[:length])}"))
                continue
            expected = checksum(buffer[: length - 1])
            if buffer[length - 1] != expected:
                found = buffer[length - 1]
                out.append(self._reject(
                    f"bad checksum 0x{found:02X}, expected 0x{expected:02X}: {_hex(buffer[:length])}"))
                continue
            raw = bytes(buffer[:length])
            del buffer[:length]
            out.append(Frame(address=raw[1], command=command, payload=raw[3 : length - 2], raw=raw))
        return out

    def _reject(self, reason: str) -> FrameError:
        """Drop the false start byte and everything up to the next start byte."""
        buffer = self._buffer
        next_start = buffer.find(STX, 1)
        end = len(buffer) if next_start < 0 else next_start
        dropped = bytes(buffer[:end])
        del buffer[:end]
        return FrameError(reason, dropped)


def decode_frames(data: bytes) -> list[Frame | FrameError]:
    """Everything complete in `data`; a trailing partial frame is reported as an error."""
    decoder = FrameDecoder()
    out = decoder.feed(data)
    if decoder.pending:
        out.append(FrameError(f"incomplete frame: {_hex(decoder.pending)}", decoder.pending))
    return out


def describe(frame: Frame) -> str:
    """A frame in a technician's words, e.g. "unlock board 1 lock 3"."""
    if frame.command == Command.UNLOCK:
        return f"unlock board {frame.board} lock {frame.lock}"
    if frame.command == Command.STATUS:
        return f"status of board {frame.board}"
    if frame.command == Command.STATUS_ALL:
        return "status of all boards"
    if frame.command == Command.UNLOCK_ALL:
        return f"unlock all locks of board {frame.board}"
    return f"status reply from board {frame.board}"

"""The Kerong KR-CU16 driver: request/response over one RS-485 bus, with timeouts, retries and reconnect.

Up to 16 boards share the bus (addresses 0-15, set on each board's DIP switch), 16 locks each.

Choices where the protocol table is silent:
- An unlock (0x31) or unlock-all (0x33) is acknowledged with a status reply by most firmware and not at all by
  some, so the acknowledgement is waited for but optional; an unlock is never repeated (a second pulse could
  open a door the customer has just closed). Confirm with status() after the pulse time.
- Status of all boards (0x32) is a broadcast: every board on the bus answers with its own status reply, one
  after another. The driver collects replies until the bus has been quiet for one timeout (each reply
  restarts that wait), so a bus of 16 boards fits in the default timeout. Its address byte is configurable
  (`query_all_address`, default 0x00) because sources disagree.
- Every byte read that is not part of a good frame is reported: logged, counted in `frame_errors` and passed
  to the listeners of add_frame_error_listener. Requests echoed by a half-duplex adapter are expected and
  skipped silently. Bytes arriving after the reply a call waited for are dropped unread before the next
  request (see `RequestPort.send` in hal.lockboard.port).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from hal.lockboard.base import BadFrame, BoardStatus, NoReply
from hal.lockboard.kerong.codec import (
    BOARDS,
    QUERY_ALL_ADDRESS,
    STATUS_REPLY_LENGTH,
    Command,
    Frame,
    FrameDecoder,
    FrameError,
    check_address_byte,
    check_board,
    check_hook_closed_bit,
    check_lock,
    decode_status,
    status_all_request,
    status_request,
    unlock_all_request,
    unlock_request,
)
from hal.lockboard.port import RequestPort

__all__ = ["PROTOCOL", "FrameErrorListener", "KerongDriver"]

log = logging.getLogger(__name__)

PROTOCOL = "kerong-cu16"

FrameErrorListener = Callable[[FrameError], None]


class KerongDriver:
    """A BoardFamilyDriver for one bus of KR-CU16 boards at `url` (see hal.transport for the URL forms).

    The port opens on the first call. If it vanishes, that call raises PortGone and the next call reopens it.
    All calls are serialised by one lock per bus, so any thread may call, one at a time on the wire.
    Requests are written at once; only the call after a failed one first waits out one more timeout, so a
    late answer to the failed request cannot be taken for the answer to the new one.
    """

    protocol = PROTOCOL
    board_range = BOARDS  # the addresses a scan probes
    lock_range = range(1, 17)  # as printed: lock L is address nibble L-1

    def __init__(self, url: str, *, hook_closed_bit: int = 1, timeout: float = 0.15, retries: int = 2,
                 baudrate: int = 19200, query_all_address: int = QUERY_ALL_ADDRESS) -> None:
        check_hook_closed_bit(hook_closed_bit)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"timeout must be positive (seconds), got {timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError(f"baudrate must be a positive whole number, got {baudrate!r}")
        try:
            check_address_byte(query_all_address)
        except ValueError as exc:
            raise ValueError(f"query_all_address: {exc}") from None
        self.url = url
        self.hook_closed_bit = hook_closed_bit
        self.timeout = float(timeout)
        self.retries = retries
        self.baudrate = baudrate
        self.query_all_address = query_all_address
        self.frame_errors = 0  # bad frames and stray bytes read since the driver was made
        self._bus = threading.Lock()
        self._port = RequestPort(url, baudrate=baudrate, timeout=self.timeout)
        self._error_listeners: list[FrameErrorListener] = []

    def __repr__(self) -> str:
        return f"KerongDriver({self.url!r})"

    def __enter__(self) -> KerongDriver:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # BoardFamilyDriver --------------------------------------------------------------------------------
    def unlock(self, board: int, lock: int) -> None:
        """Pulse one lock. Sent once, never repeated: confirm the door with status() after the pulse time.

        The acknowledgement is waited for (so it cannot be mistaken for the next reply) but not required.
        """
        check_board(board)
        check_lock(lock)
        self._send_unacknowledged(unlock_request(board, lock), board, f"unlock board {board} lock {lock}")

    def unlock_all(self, board: int) -> None:
        """Pulse every lock of one board (0x33); sent once, acknowledgement optional, like unlock()."""
        check_board(board)
        self._send_unacknowledged(unlock_all_request(board), board, f"unlock all of board {board}")

    def status(self, board: int) -> BoardStatus:
        """All 16 locks of one board. Raises NoReply or BadFrame after 1 + retries attempts, or PortGone."""
        check_board(board)
        request = status_request(board)
        attempts = 1 + self.retries
        with self._bus:
            failure: NoReply | BadFrame = NoReply(f"board {board}: no attempt made")
            for attempt in range(1, attempts + 1):
                self._port.send(request)
                try:
                    frame = self._receive(board, first_read=STATUS_REPLY_LENGTH)
                    if frame.command != Command.STATUS_REPLY:
                        raise BadFrame(f"board {board} answered with command 0x{frame.command:02X}, "
                                       "not a status reply")
                except (NoReply, BadFrame) as exc:
                    log.debug("status board %d, attempt %d/%d: %s", board, attempt, attempts, exc)
                    failure = exc
                    continue
                return decode_status(frame, hook_closed_bit=self.hook_closed_bit)
            self._port.hold_quiet(self.timeout)
        suffix = f" ({attempts} attempts)" if attempts > 1 else ""
        raise type(failure)(f"{failure}{suffix}") from failure

    def status_all(self) -> dict[int, BoardStatus]:
        """Every board on the bus that answers the 0x32 broadcast: board -> its 16 locks, lowest first.

        An attempt that saw garbled bytes is repeated (up to `retries` times) and the answers merged, the
        latest reading of a board winning. Raises NoReply when no board answered at all, BadFrame when only
        garbage came back, PortGone when the port vanished.
        """
        request = status_all_request(self.query_all_address)
        attempts = 1 + self.retries
        found: dict[int, BoardStatus] = {}
        problems: list[str] = []
        with self._bus:
            for attempt in range(1, attempts + 1):
                self._port.send(request)
                frames, problems = self._collect()
                for frame in frames:
                    found[frame.board] = decode_status(frame, hook_closed_bit=self.hook_closed_bit)
                log.debug("status of all boards, attempt %d/%d: boards %s, problems %s", attempt, attempts,
                          sorted(found), problems)
                if not problems and found:
                    break
            if problems or not found:
                self._port.hold_quiet(self.timeout)
        if found:
            if problems:
                log.warning("status of all boards: %s (kept the %d good replies)", problems[0], len(found))
            return dict(sorted(found.items()))
        suffix = f" ({attempts} attempts)" if attempts > 1 else ""
        if problems:
            more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
            raise BadFrame(f"status of all boards: {problems[0]}{more}{suffix}")
        raise NoReply(
            f"no board answered the status of all boards within {self.timeout * 1000:.0f} ms{suffix}")

    def close(self) -> None:
        """Close the port; later calls raise PortGone. Closing twice is harmless."""
        with self._bus:
            self._port.close()

    # reporting -------------------------------------------------------------------------------------------
    def add_frame_error_listener(self, callback: FrameErrorListener) -> None:
        """`callback(error)` for every bad frame or stray bytes read, on the calling thread while the bus is
        held: it must be quick and must not call the driver."""
        self._error_listeners.append(callback)

    def remove_frame_error_listener(self, callback: FrameErrorListener) -> None:
        if callback in self._error_listeners:
            self._error_listeners.remove(callback)

    def _report(self, error: FrameError) -> None:
        self.frame_errors += 1
        log.debug("%s: %s", self.url, error.reason)
        for listener in list(self._error_listeners):
            try:
                listener(error)
            except Exception:
                log.exception("frame error listener %r failed", listener)

    # the wire ---------------------------------------------------------------------------------------
    def _send_unacknowledged(self, request: bytes, board: int, what: str) -> None:
        with self._bus:
            self._port.send(request)
            try:
                self._receive(board, first_read=STATUS_REPLY_LENGTH)
            except (NoReply, BadFrame) as exc:
                log.debug("%s: no acknowledgement (%s)", what, exc)

    def _receive(self, board: int, *, first_read: int) -> Frame:
        """The first frame from `board` within the timeout, skipping echoed requests and other boards."""
        decoder = FrameDecoder()
        deadline = time.monotonic() + self.timeout
        problems: list[str] = []
        wanted = first_read
        answer: Frame | None = None
        while answer is None:
            chunk = self._port.read(wanted)
            for item in decoder.feed(chunk):
                if isinstance(item, FrameError):
                    self._report(item)
                    problems.append(item.reason)
                elif answer is not None:
                    self._report(FrameError(f"a frame after the reply: {_hex(item.raw)}", item.raw))
                elif item.is_request:
                    pass  # our own request, echoed by a half-duplex adapter
                elif item.board != board:
                    problems.append(f"a reply from board {item.board}")
                else:
                    answer = item
            if answer is not None or not chunk or time.monotonic() >= deadline:
                break
            wanted = decoder.bytes_wanted()
        leftover = decoder.pending
        if leftover:
            self._report(FrameError(f"{len(leftover)} stray byte(s): {_hex(leftover)}", leftover))
        if answer is not None:
            return answer
        if problems:
            more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
            raise BadFrame(f"board {board}: {problems[0]}{more}")
        if leftover:
            raise BadFrame(f"board {board}: incomplete reply {_hex(leftover)}")
        raise NoReply(f"board {board} did not answer within {self.timeout * 1000:.0f} ms")

    def _collect(self) -> tuple[list[Frame], list[str]]:
        """Status replies to a broadcast until the bus has been quiet for one timeout, and what went wrong.

        A read returns empty once a whole timeout passed without the bytes it asked for; the hard deadline
        only stops a bus that never falls quiet (a babbling board)."""
        decoder = FrameDecoder()
        hard_deadline = time.monotonic() + self.timeout * (len(BOARDS) + 1)
        frames: list[Frame] = []
        problems: list[str] = []
        answered: set[int] = set()
        wanted = STATUS_REPLY_LENGTH
        while len(answered) < len(BOARDS):
            chunk = self._port.read(wanted)
            for item in decoder.feed(chunk):
                if isinstance(item, FrameError):
                    self._report(item)
                    problems.append(item.reason)
                elif item.is_request:
                    pass  # echoed
                elif item.command != Command.STATUS_REPLY:
                    problems.append(f"board {item.board} answered with command 0x{item.command:02X}")
                else:
                    frames.append(item)
                    answered.add(item.board)
            if not chunk or time.monotonic() >= hard_deadline:
                break
            wanted = decoder.bytes_wanted()
        leftover = decoder.pending
        if leftover:
            self._report(FrameError(f"incomplete reply: {_hex(leftover)}", leftover))
            problems.append(f"incomplete reply {_hex(leftover)}")
        return frames, problems


def _hex(data: bytes) -> str:
    return data.hex(" ").upper()

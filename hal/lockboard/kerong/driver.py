"""The Kerong KR-CU16 driver: request/response over one RS-485 bus, with timeouts, retries and reconnect."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

from hal.lockboard.base import BadFrame, BoardStatus, NoReply, PortGone
from hal.lockboard.kerong.codec import (
    STATUS_REPLY_LENGTH,
    Command,
    Frame,
    FrameDecoder,
    FrameError,
    check_board,
    check_hook_closed_bit,
    check_lock,
    decode_status,
    status_request,
    unlock_request,
)
from hal.transport import SerialLike, open_transport

log = logging.getLogger(__name__)

PROTOCOL = "kerong-cu16"


class KerongDriver:
    """A LockBoardDriver for one bus of KR-CU16 boards at `url` (see hal.transport for the URL forms).

    The port opens on the first call. If it vanishes, that call raises PortGone and the next call reopens it.
    All calls are serialised by one lock per bus, so any thread may call, one at a time on the wire.
    Requests are written at once; only the call after a failed one first waits out one more timeout, so a
    late answer to the failed request cannot be taken for the answer to the new one.
    """

    protocol = PROTOCOL

    def __init__(self, url: str, *, hook_closed_bit: int = 1, timeout: float = 0.15, retries: int = 2,
                 baudrate: int = 19200) -> None:
        check_hook_closed_bit(hook_closed_bit)
        if not timeout > 0:
            raise ValueError(f"timeout must be positive (seconds), got {timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError(f"baudrate must be a positive whole number, got {baudrate!r}")
        self.url = url
        self.hook_closed_bit = hook_closed_bit
        self.timeout = timeout
        self.retries = retries
        self.baudrate = baudrate
        self._bus = threading.Lock()
        self._port: SerialLike | None = None
        self._closed = False
        # After a failed call a late reply may still be on its way; the next request waits until then.
        self._quiet_until = 0.0

    def __repr__(self) -> str:
        return f"KerongDriver({self.url!r})"

    def __enter__(self) -> KerongDriver:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # LockBoardDriver ----------------------------------------------------------------------------------
    def unlock(self, board: int, lock: int) -> None:
        """Pulse one lock. Sent once, never repeated: confirm the door with status() after the pulse time.

        The acknowledgement is waited for (so it cannot be mistaken for the next reply) but not required.
        """
        check_board(board)
        check_lock(lock)
        request = unlock_request(board, lock)
        with self._bus:
            port = self._connected_port()
            self._send(port, request)
            try:
                self._receive(port, board, first_read=STATUS_REPLY_LENGTH)
            except (NoReply, BadFrame) as exc:
                log.debug("unlock board %d lock %d: no acknowledgement (%s)", board, lock, exc)

    def status(self, board: int) -> BoardStatus:
        """All 16 locks of one board. Raises NoReply or BadFrame after 1 + retries attempts, or PortGone."""
        check_board(board)
        request = status_request(board)
        attempts = 1 + self.retries
        with self._bus:
            failure: NoReply | BadFrame = NoReply(f"board {board}: no attempt made")
            for attempt in range(1, attempts + 1):
                port = self._connected_port()
                self._send(port, request)
                try:
                    frame = self._receive(port, board, first_read=STATUS_REPLY_LENGTH)
                    if frame.command != Command.STATUS_REPLY:
                        raise BadFrame(f"board {board} answered with command 0x{frame.command:02X}, "
                                       "not a status reply")
                except (NoReply, BadFrame) as exc:
                    log.debug("status board %d, attempt %d/%d: %s", board, attempt, attempts, exc)
                    failure = exc
                    continue
                return decode_status(frame, hook_closed_bit=self.hook_closed_bit)
            self._quiet_until = time.monotonic() + self.timeout
        suffix = f" ({attempts} attempts)" if attempts > 1 else ""
        raise type(failure)(f"{failure}{suffix}") from failure

    def close(self) -> None:
        """Close the port; later calls raise PortGone. Closing twice is harmless."""
        with self._bus:
            self._closed = True
            self._drop_port()

    # the wire ---------------------------------------------------------------------------------------
    def _connected_port(self) -> SerialLike:
        if self._closed:
            raise PortGone(f"{self.url}: driver closed")
        if self._port is None:
            self._port = open_transport(self.url, baudrate=self.baudrate, timeout=self.timeout)
            log.info("opened %s", self.url)
        return self._port

    def _drop_port(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def _send(self, port: SerialLike, request: bytes) -> None:
        late_reply_window = self._quiet_until - time.monotonic()
        if late_reply_window > 0:
            # Only after a failed call: a slow board's answer to it could otherwise pass for the answer to
            # this request. Waiting lets it arrive, and the reset below throws it away.
            time.sleep(late_reply_window)
        try:
            # Bytes still in the input buffer belong to an earlier exchange (a late reply, line noise);
            # discarding them costs one ioctl and keeps them from passing for the answer to this request.
            port.reset_input_buffer()
            port.write(request)
        except PortGone:
            self._drop_port()
            raise

    def _receive(self, port: SerialLike, board: int, *, first_read: int) -> Frame:
        """The first frame from `board` within the timeout, skipping echoed requests and other boards."""
        decoder = FrameDecoder()
        deadline = time.monotonic() + self.timeout
        problems: list[str] = []
        wanted = first_read
        while True:
            try:
                chunk = port.read(wanted)
            except PortGone:
                self._drop_port()
                raise
            for item in decoder.feed(chunk):
                if isinstance(item, FrameError):
                    problems.append(item.reason)
                elif item.is_request:
                    pass  # our own request, echoed by a half-duplex adapter
                elif item.board != board:
                    problems.append(f"a reply from board {item.board}")
                else:
                    return item
            if not chunk or time.monotonic() >= deadline:
                break
            wanted = decoder.bytes_wanted()
        if problems:
            more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
            raise BadFrame(f"board {board}: {problems[0]}{more}")
        if decoder.pending:
            raise BadFrame(f"board {board}: incomplete reply {decoder.pending.hex(' ').upper()}")
        raise NoReply(f"board {board} did not answer within {self.timeout * 1000:.0f} ms")

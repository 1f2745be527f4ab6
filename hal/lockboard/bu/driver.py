"""The "BU" board driver: request/response over one RS-485 bus (9600 8N1), with timeouts, retries, reconnect.

- status(board) is one query-all (`80 BOARD 00 33 XOR`), retried up to `retries` times.
- unlock(board, lock) sends `8A BOARD LOCK 11 XOR` once, never repeated, and waits up to `unlock_timeout` for
  the board's echo, which real boards send only once the pulse is over (about a second, by the vendor's
  sheet). The echo paces the next command (a board busy pulsing ignores what it hears), but it is not
  required: silence is logged, not raised. Confirm the door with status(), as with every board family.
- unlock_all(board) pulses each lock in turn, each waiting for its echo; the sheets disagree on an open-all
  frame, and one lock at a time keeps the solenoids' current within what a locker's supply gives. When a
  lock gets no echo, one status read tells a board that is gone (NoReply, the rest left alone) from one that
  merely does not echo (carry on).
- A half-duplex adapter that echoes our own bytes is learnt from the query-all request (which can never be a
  reply); an unlock request looks exactly like the board's "still closed" answer, so once the port is known
  to echo, the first copy of it is skipped as the echo. (An unlock sent before any status read on a freshly
  opened echoing port takes the echo for the answer: harmless, the answer only paces and is logged.)

Options beyond timeout, retries and baudrate: `unlock_timeout` (seconds to wait for an unlock's echo,
rounded up to a whole read `timeout`), `locks_per_board` (1-24, the locks status and unlock_all cover) and
`closed_bit` (1, or 0 for feedback switches wired the other way round; see the codec).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from hal.lockboard.base import BadFrame, BoardStatus, NoReply
from hal.lockboard.bu.codec import (
    BOARDS,
    SHORT_LENGTH,
    STATUS_ALL_LENGTH,
    UNLOCK,
    Frame,
    FrameDecoder,
    FrameError,
    check_board,
    check_closed_bit,
    check_lock,
    check_locks_per_board,
    decode_status,
    describe,
    door_open,
    status_all_request,
    unlock_request,
)
from hal.lockboard.port import RequestPort

log = logging.getLogger(__name__)

PROTOCOL = "bu"


class BuDriver:
    """A BoardFamilyDriver for one bus of BU boards at `url` (see hal.transport for the URL forms).

    Boards are addressed 1-64, locks 1-`locks_per_board` (at most 24). `closed_bit` is the bit value (and,
    as 0x11 / 0x00, the state) meaning "door closed": 1 for feedback switches wired as the vendor's sheet
    shows, 0 for the other wiring. The port opens on the first call; if it vanishes, that call raises
    PortGone and the next call reopens it. One lock per bus serialises the calls, so any thread may call.
    """

    protocol = PROTOCOL
    board_range = BOARDS  # the addresses a scan probes
    lock_range = range(1, 25)  # as printed; `locks_per_board` narrows what status and unlock_all cover

    def __init__(self, url: str, *, timeout: float = 0.2, retries: int = 2, baudrate: int = 9600,
                 unlock_timeout: float = 1.5, locks_per_board: int = 24, closed_bit: int = 1) -> None:
        for name, seconds in (("timeout", timeout), ("unlock_timeout", unlock_timeout)):
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
                raise ValueError(f"{name} must be positive (seconds), got {seconds!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError(f"baudrate must be a positive whole number, got {baudrate!r}")
        check_locks_per_board(locks_per_board)
        check_closed_bit(closed_bit)
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.baudrate = baudrate
        self.unlock_timeout = unlock_timeout
        self.locks_per_board = locks_per_board
        self.closed_bit = closed_bit
        self._bus = threading.Lock()
        self._port_echoes: bool | None = None  # learnt per opened port; None until a query tells
        self._port = RequestPort(url, baudrate=baudrate, timeout=timeout, on_drop=self._forget_echoes)

    def __repr__(self) -> str:
        return f"BuDriver({self.url!r})"

    def __enter__(self) -> BuDriver:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # BoardFamilyDriver ---------------------------------------------------------------------------------
    def unlock(self, board: int, lock: int) -> None:
        """Pulse one lock (sent once). Waits for the board's echo, but silence or a garbled echo is no
        error: confirm the door with status(). Raises PortGone, or ValueError for a bad board or lock."""
        check_board(board)
        check_lock(lock, self.locks_per_board)
        self._pulse(board, lock)

    def unlock_all(self, board: int) -> None:
        """Pulse every lock of one board in turn. Raises NoReply if the board stops answering (the locks
        after that one are then left alone), or PortGone."""
        check_board(board)
        for lock in range(1, self.locks_per_board + 1):
            if self._pulse(board, lock):
                continue
            try:
                self.status(board)
            except NoReply as exc:
                raise NoReply(f"board {board} does not answer: unlock of all locks stopped at lock {lock} "
                              f"of {self.locks_per_board}") from exc
            except BadFrame:
                pass  # a garbled answer is still an answer: the board is there

    def status(self, board: int) -> BoardStatus:
        """Locks 1..locks_per_board of one board (occupied=None: no parcel sensors). Raises NoReply or
        BadFrame after 1 + retries attempts, or PortGone."""
        check_board(board)
        request = status_all_request(board)
        attempts = 1 + self.retries
        with self._bus:
            failure: NoReply | BadFrame = NoReply(f"board {board}: no attempt made")
            for attempt in range(1, attempts + 1):
                self._port.send(request)
                try:
                    frame = self._receive(request, board, wait=self.timeout, expect_status_all=True,
                                          answers=lambda frame: frame.is_status_all_reply)
                except (NoReply, BadFrame) as exc:
                    log.debug("status board %d, attempt %d/%d: %s", board, attempt, attempts, exc)
                    failure = exc
                    continue
                return decode_status(frame, closed_bit=self.closed_bit, locks_per_board=self.locks_per_board)
            self._port.hold_quiet(self.timeout)
        suffix = f" ({attempts} attempts)" if attempts > 1 else ""
        raise type(failure)(f"{failure}{suffix}") from failure

    def close(self) -> None:
        """Close the port; later calls raise PortGone. Closing twice is harmless."""
        with self._bus:
            self._port.close()

    # one lock -----------------------------------------------------------------------------------------
    def _pulse(self, board: int, lock: int) -> bool:
        """Send one unlock and wait for its echo; whether the board answered."""
        request = unlock_request(board, lock)

        def answers(frame: Frame) -> bool:
            # some firmware answers an unlock with an 80 head rather than echoing 8A
            return frame.lock == lock and frame.state is not None

        with self._bus:
            self._port.send(request)
            try:
                echo = self._receive(request, board, wait=self.unlock_timeout, expect_status_all=False,
                                     answers=answers)
            except (NoReply, BadFrame) as exc:
                log.info("unlock board %d lock %d: no answer (%s)", board, lock, exc)
                return False
        opened = door_open(echo, closed_bit=self.closed_bit)
        log.debug("unlock board %d lock %d: the board reports the door %s", board, lock,
                  "open" if opened else "still closed")
        return True

    # the wire ---------------------------------------------------------------------------------------
    def _forget_echoes(self) -> None:
        self._port_echoes = None  # the port may come back through another adapter

    def _receive(self, request: bytes, board: int, *, wait: float, expect_status_all: bool,
                 answers: Callable[[Frame], bool]) -> Frame:
        """The first answer from `board` within `wait` seconds (rounded up to a whole read timeout),
        skipping our own request echoed by the adapter and anything meant for another exchange."""
        decoder = FrameDecoder(expect_status_all=expect_status_all)
        deadline = time.monotonic() + wait
        problems: list[str] = []
        skip_echo = self._port_echoes is True and request[0] == UNLOCK
        wanted = STATUS_ALL_LENGTH if expect_status_all else SHORT_LENGTH
        echo_seen = False
        while True:
            chunk = self._port.read(wanted)
            for item in decoder.feed(chunk):
                if isinstance(item, FrameError):
                    problems.append(item.reason)
                elif item.raw == request and (expect_status_all or skip_echo) and not echo_seen:
                    # A query-all request can never be an answer, so seeing it means the adapter echoes.
                    echo_seen = True
                    self._port_echoes = True
                elif item.board == board and answers(item):
                    if expect_status_all and not echo_seen:
                        self._port_echoes = False
                    return item
                else:
                    problems.append(f"unexpected {describe(item)}")
            if time.monotonic() >= deadline:
                break
            wanted = decoder.bytes_wanted()
        if problems:
            more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
            raise BadFrame(f"board {board}: {problems[0]}{more}")
        if decoder.pending:
            raise BadFrame(f"board {board}: incomplete reply {decoder.pending.hex(' ').upper()}")
        raise NoReply(f"board {board} did not answer within {wait * 1000:.0f} ms")

"""The WKLY driver: boards that push door changes unprompted, so one reader thread owns the port's input.

The reader thread (started by the first call or the first door listener) reads everything the bus sends,
cuts it into frames with the codec, and
- hands a reply to the request waiting for it, matched by board and command (and lock, for one-lock
  commands); echoes of our own requests are skipped;
- turns 0x85 pushes into DoorChange events for the door listeners, also while a request is waiting;
- reports every damaged frame to the frame-error listeners, and resynchronises on the next "WKLY" header;
- when the port vanishes, fails the waiting request with PortGone and reopens the port every
  `reconnect_interval` seconds (at once when a call is waiting) until it is back or the driver is closed.

Requests are serialised by one lock per bus and written by the calling thread; the caller then waits on
the reader for at most `timeout` for the reply to begin (a reply already under way then gets the wire time
it needs: a 24-lock status reply alone takes 35 ms at 9600 baud). Reads (status, lock_status) are repeated
up to `retries` times; unlocks are sent once, never repeated, because a second pulse is not what anyone
asked for.

Choices, each documented where the protocol tables are silent:
- DoorChange is sent whenever the driver learns that a door differs from what it last knew: from a push,
  or from any reply carrying door states (open, query, query-all). A push about a door not seen before
  is news; a reply about a door not seen before only sets the baseline (a first status read would
  otherwise report every door). So a push lost to line noise is made good by the next status read, and a
  push repeating what a reply already said is not delivered twice.
- A late reply to an earlier attempt of the same request (same board, command and lock) may answer a
  retry: it answers the same question, at most `timeout` x attempts old.
- The unlock acknowledgement is optional by default (one source's boards do not answer 0x82):
  `require_unlock_ack=True` turns silence or a garbled acknowledgement into NoReply/BadFrame.
- A board acknowledges an unlock only after its pulse (one integrator budgets ~350 ms for 0x82, against
  ~100 ms for a query), so unlock() and unlock_all() wait `unlock_timeout` (0.7 s) for it. An
  acknowledgement later still (open-all may pulse lock after lock) is a late reply and does no harm.
- Boards are addressed 0-255 (the whole address byte); `board_range` says so to a bus scan.
- A reply with status 0xFF raises BoardRefused at once, without retries: the board heard and said no
  (no such lock, or busy), and asking again at once would not change its mind.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from hal.lockboard.base import BadFrame, BoardStatus, DoorChange, HalError, LockStatus, NoReply, PortGone
from hal.lockboard.wkly.codec import (
    BOARDS,
    LOCKS,
    LONGEST_FRAME,
    Command,
    Frame,
    FrameDecoder,
    FrameError,
    check_board,
    check_lock,
    decode_status,
    open_all_request,
    open_request,
    query_all_request,
    query_request,
)
from hal.transport import SerialLike, open_transport

log = logging.getLogger(__name__)

PROTOCOL = "wkly"
# How long the reader blocks in one read: close() waits at most about this long for the reader.
READ_SLICE_S = 0.02
# A line quiet this long ends any frame under way: at 9600 baud that is ~48 characters, and a board never
# pauses that long inside a frame (a USB adapter's 16 ms latency timer included).
QUIET_LINE_S = 0.05

DoorListener = Callable[[DoorChange], None]
FrameErrorListener = Callable[[FrameError], None]


class BoardRefused(HalError):
    """A board answered with status 0xFF: it heard the command and could not do it (no such lock, busy)."""


@dataclass
class _Pending:
    """The one request on the wire, and what the reader has found for it so far."""

    board: int
    command: Command
    lock: int | None
    done: threading.Event = field(default_factory=threading.Event)
    reply: Frame | None = None
    gone: PortGone | None = None
    problems: list[str] = field(default_factory=list)
    receiving_until: float = 0.0  # while a frame is under way: when its last byte is due

    def answered_by(self, frame: Frame) -> bool:
        if frame.board != self.board or frame.command != self.command:
            return False
        if self.lock is not None and frame.ok and frame.lock != self.lock:
            self.problems.append(f"a reply about lock {frame.lock}, not lock {self.lock}")
            return False
        return True


class WklyDriver:
    """A PushingDriver for one bus of WKLY boards at `url` (see hal.transport for the URL forms).

    Options beyond the common ones:
    - `unlock_timeout`: seconds unlock() and unlock_all() wait for the acknowledgement (default 0.7);
    - `require_unlock_ack`: an unlock that is not acknowledged raises (NoReply/BadFrame); default False;
    - `reconnect_interval`: seconds between attempts to reopen a vanished port (default 0.25).

    Nothing happens at construction; the reader starts with the first call, `start()` or door listener.
    """

    protocol = PROTOCOL
    board_range = BOARDS  # the addresses a bus scan probes
    lock_range = LOCKS  # as many as one query-all reply can carry

    def __init__(self, url: str, *, timeout: float = 0.2, retries: int = 2, baudrate: int = 9600,
                 unlock_timeout: float = 0.7, require_unlock_ack: bool = False,
                 reconnect_interval: float = 0.25) -> None:
        for name, seconds in (("timeout", timeout), ("unlock_timeout", unlock_timeout)):
            if (isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0
                    or not math.isfinite(seconds)):
                raise ValueError(f"{name} must be positive (seconds), got {seconds!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError(f"baudrate must be a positive whole number, got {baudrate!r}")
        if not isinstance(reconnect_interval, int | float) or not 0 < reconnect_interval <= 2:
            raise ValueError(
                f"reconnect_interval must be more than 0 and at most 2 s, got {reconnect_interval!r}")
        self.url = url
        self.timeout = float(timeout)
        self.unlock_timeout = float(unlock_timeout)
        self.retries = retries
        self.baudrate = baudrate
        self.require_unlock_ack = bool(require_unlock_ack)
        self.reconnect_interval = float(reconnect_interval)
        self._bus = threading.Lock()  # one request on the wire at a time
        # Held to write and to close: a write can never reach a closed port whose descriptor was reused.
        self._port_io = threading.Lock()
        self._changed = threading.Condition()  # guards everything below; notified when the port comes or goes
        self._port: SerialLike | None = None
        self._port_error = ""
        self._open_attempts = 0
        self._pending: _Pending | None = None
        self._door_listeners: list[DoorListener] = []
        self._error_listeners: list[FrameErrorListener] = []
        self._reader: threading.Thread | None = None
        self._closed = False
        self._stopping = threading.Event()
        self._retry_now = threading.Event()
        self._frame_errors = 0
        self._known_doors: dict[tuple[int, int], bool] = {}  # only the reader thread touches it

    def __repr__(self) -> str:
        return f"WklyDriver({self.url!r})"

    def __enter__(self) -> WklyDriver:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # the board family ---------------------------------------------------------------------------------
    def unlock(self, board: int, lock: int) -> None:
        """Pulse one lock, once. Raises BoardRefused if the board says it failed, PortGone if the port is
        gone; a missing or garbled acknowledgement only raises with `require_unlock_ack`."""
        check_board(board)
        check_lock(lock)
        reply = self._unlock_exchange(open_request(board, lock), board, Command.OPEN, lock)
        if reply is None:
            return
        self._check_ok(reply, f"to open lock {lock}")
        if not reply.door_open:
            log.info("board %d lock %d: pulsed, but the door still reads closed (jammed latch?)", board, lock)

    def unlock_all(self, board: int) -> None:
        """Pulse every lock of one board, once; the doors that open are pushed as DoorChange."""
        check_board(board)
        reply = self._unlock_exchange(open_all_request(board), board, Command.OPEN_ALL, None)
        if reply is not None:
            self._check_ok(reply, "to open all locks")

    def status(self, board: int) -> BoardStatus:
        """Every lock of one board (as many as the board reports; occupied is None: no parcel sensors).
        Raises NoReply or BadFrame after 1 + retries attempts, BoardRefused, or PortGone."""
        check_board(board)
        reply = self._exchange(query_all_request(board), board, Command.QUERY_ALL, None,
                               attempts=1 + self.retries)
        self._check_ok(reply, "the status query")
        return decode_status(reply)

    def lock_status(self, board: int, lock: int) -> LockStatus:
        """One lock's door (0x83), cheaper than a whole board on a slow bus. Raises like status()."""
        check_board(board)
        check_lock(lock)
        reply = self._exchange(query_request(board, lock), board, Command.QUERY, lock,
                               attempts=1 + self.retries)
        self._check_ok(reply, f"the query of lock {lock}")
        return LockStatus(door_open=bool(reply.door_open), occupied=None)

    def close(self) -> None:
        """Stop and join the reader, close the port; later calls raise PortGone. Closing twice is harmless."""
        with self._changed:
            self._closed = True
            reader = self._reader
            self._fail_pending(PortGone(f"{self.url}: driver closed"))
            self._stopping.set()
            self._changed.notify_all()
        self._retry_now.set()
        if reader is not None and reader is not threading.current_thread():
            reader.join()

    # pushes and problems --------------------------------------------------------------------------------
    def add_door_listener(self, callback: DoorListener) -> None:
        """`callback(change)` on the reader thread for every door change; it must be quick.
        Starts the reader, so pushes flow even before the first call; raises PortGone once closed."""
        self.start()
        with self._changed:
            self._door_listeners.append(callback)

    def remove_door_listener(self, callback: DoorListener) -> None:
        with self._changed:
            if callback in self._door_listeners:
                self._door_listeners.remove(callback)

    def add_frame_error_listener(self, callback: FrameErrorListener) -> None:
        """`callback(error)` on the reader thread for every damaged frame or burst of noise on the bus."""
        with self._changed:
            self._error_listeners.append(callback)

    def remove_frame_error_listener(self, callback: FrameErrorListener) -> None:
        with self._changed:
            if callback in self._error_listeners:
                self._error_listeners.remove(callback)

    @property
    def frame_errors(self) -> int:
        """How many damaged frames (or bursts of noise) the reader has thrown away so far."""
        with self._changed:
            return self._frame_errors

    @property
    def connected(self) -> bool:
        with self._changed:
            return self._port is not None

    def start(self) -> None:
        """Start the reader thread (idempotent). Raises PortGone once the driver is closed."""
        with self._changed:
            if self._closed:
                raise PortGone(f"{self.url}: driver closed")
            if self._reader is None:
                self._reader = threading.Thread(target=self._read_loop, name=f"wkly-reader {self.url}",
                                                daemon=True)
                self._reader.start()

    def wait_connected(self, timeout: float) -> bool:
        """Start the reader if need be and wait until the port is open; False if not within `timeout`."""
        self.start()
        self._retry_now.set()
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._port is None and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._port is not None

    # requests ----------------------------------------------------------------------------------------------
    def _unlock_exchange(self, request: bytes, board: int, command: Command,
                         lock: int | None) -> Frame | None:
        try:
            return self._exchange(request, board, command, lock, attempts=1, timeout=self.unlock_timeout)
        except (NoReply, BadFrame) as exc:
            if self.require_unlock_ack:
                raise
            log.debug("board %d: unlock not acknowledged (%s)", board, exc)
            return None

    def _check_ok(self, reply: Frame, what: str) -> None:
        if not reply.ok:
            raise BoardRefused(f"board {reply.board} refused {what} (status 0xFF: no such lock, or busy)")

    def _exchange(self, request: bytes, board: int, command: Command, lock: int | None, *,
                  attempts: int, timeout: float | None = None) -> Frame:
        timeout = self.timeout if timeout is None else timeout
        with self._bus:
            failure: NoReply | BadFrame = NoReply(f"board {board}: no attempt made")
            for attempt in range(1, attempts + 1):
                port = self._await_port()
                pending = _Pending(board, command, lock)
                with self._changed:
                    self._pending = pending
                try:
                    try:
                        with self._port_io:
                            port.write(request)
                    except PortGone as exc:
                        self._write_failed(port, exc)
                        raise
                    self._await_reply(pending, timeout)
                finally:
                    with self._changed:
                        if self._pending is pending:
                            self._pending = None
                if pending.reply is not None:
                    return pending.reply
                if pending.gone is not None:
                    raise pending.gone
                failure = self._failure(board, pending.problems, timeout)
                log.debug("board %d command 0x%02X, attempt %d/%d: %s", board, command, attempt, attempts,
                          failure)
        suffix = f" ({attempts} attempts)" if attempts > 1 else ""
        raise type(failure)(f"{failure}{suffix}") from failure

    def _await_reply(self, pending: _Pending, timeout: float) -> None:
        """Wait `timeout` for the reply; longer only while a frame that began in time is still arriving, and
        never longer than the longest frame takes (a line full of noise must not hold a call forever)."""
        deadline = time.monotonic() + timeout
        limit = deadline + self._wire_time(LONGEST_FRAME)
        while not pending.done.wait(max(0.0, deadline - time.monotonic())):
            with self._changed:
                receiving_until = min(pending.receiving_until, limit)
            if receiving_until <= deadline:
                return
            deadline = receiving_until

    def _failure(self, board: int, problems: list[str], timeout: float) -> NoReply | BadFrame:
        if problems:
            more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
            return BadFrame(f"board {board}: {problems[0]}{more}")
        return NoReply(f"board {board} did not answer within {timeout * 1000:.0f} ms")

    def _await_port(self) -> SerialLike:
        """The open port; waits up to `timeout` for the reader to (re)open it, then raises PortGone."""
        self.start()
        deadline = time.monotonic() + self.timeout
        with self._changed:
            attempts_before = self._open_attempts
            while self._port is None:
                if self._closed:
                    raise PortGone(f"{self.url}: driver closed")
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._open_attempts > attempts_before:
                    raise PortGone(self._port_error or f"{self.url}: not connected")
                self._retry_now.set()
                self._changed.wait(remaining)
            return self._port

    def _write_failed(self, port: SerialLike, error: PortGone) -> None:
        """A failed write means the port is gone even if reads have not noticed yet: the reader drops it."""
        with self._changed:
            if self._port is port:
                self._port_error = str(error)
                self._port = None
                self._changed.notify_all()

    def _fail_pending(self, error: PortGone) -> None:
        pending = self._pending
        if pending is not None:
            pending.gone = error
            pending.done.set()

    # the reader thread --------------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        decoder = FrameDecoder()
        port: SerialLike | None = None
        last_byte_at = 0.0
        try:
            while not self._stopping.is_set():
                if port is None or not self._still_current(port):
                    if port is not None:
                        self._close_port(port)
                    port = self._reopen()
                    decoder.reset()
                    continue
                try:
                    chunk = port.read(decoder.bytes_wanted())
                except PortGone as exc:
                    self._lose(port, exc)
                    port = None
                    continue
                received_at = time.monotonic()
                if chunk:
                    last_byte_at = received_at
                    items = decoder.feed(chunk)
                    if decoder.pending:
                        self._frame_under_way(received_at + self._wire_time(decoder.bytes_wanted()))
                elif decoder.pending and received_at - last_byte_at >= QUIET_LINE_S:
                    items = decoder.flush()
                else:
                    continue
                for item in items:
                    self._dispatch(item, received_at)
        except Exception:  # a bug here must not leave callers waiting on a dead reader without a word
            log.exception("wkly reader for %s failed", self.url)
            with self._changed:
                self._closed = True
                self._fail_pending(PortGone(f"{self.url}: the reader failed (see the log)"))
                self._changed.notify_all()
        finally:
            with self._changed:
                self._port = None
                self._changed.notify_all()
            if port is not None:
                self._close_port(port)

    def _close_port(self, port: SerialLike) -> None:
        with self._port_io:
            port.close()

    def _wire_time(self, size: int) -> float:
        """How long `size` more bytes take at the bus's baud rate (8N1: 10 bits a byte), plus a quiet line's
        worth for a USB adapter's latency."""
        return size * 10 / self.baudrate + QUIET_LINE_S

    def _frame_under_way(self, due: float) -> None:
        with self._changed:
            if self._pending is not None:
                self._pending.receiving_until = max(self._pending.receiving_until, due)

    def _still_current(self, port: SerialLike) -> bool:
        with self._changed:
            return self._port is port

    def _reopen(self) -> SerialLike | None:
        try:
            port = open_transport(self.url, baudrate=self.baudrate, timeout=READ_SLICE_S)
        except PortGone as exc:
            with self._changed:
                first = self._open_attempts == 0 or not self._port_error
                self._port_error = str(exc)
                self._open_attempts += 1
                self._changed.notify_all()
            (log.warning if first else log.debug)("%s", exc)
            self._retry_now.wait(self.reconnect_interval)
            self._retry_now.clear()
            return None
        with self._changed:
            if self._closed:
                self._close_port(port)
                return None
            was_lost = bool(self._port_error)
            self._port = port
            self._port_error = ""
            self._open_attempts += 1
            self._changed.notify_all()
        (log.info if was_lost else log.debug)("opened %s", self.url)
        return port

    def _lose(self, port: SerialLike, error: PortGone) -> None:
        log.warning("%s", error)
        with self._changed:
            if self._port is port:
                self._port = None
            self._port_error = str(error)
            self._fail_pending(error)
            self._changed.notify_all()
        self._close_port(port)

    def _dispatch(self, item: Frame | FrameError, received_at: float) -> None:
        if isinstance(item, FrameError):
            self._report(item)
            return
        if item.is_request:
            return  # our own request, echoed by a half-duplex adapter
        if item.is_push:
            assert item.lock is not None and item.door_open is not None  # the codec checked the layout
            self._observe(item.board, item.lock, item.door_open, received_at, pushed=True)
            return
        if item.ok:
            doors = item.doors or ({item.lock: item.door_open}
                                   if item.lock is not None and item.door_open is not None else {})
            for lock, door_open in doors.items():
                self._observe(item.board, lock, door_open, received_at, pushed=False)
        with self._changed:
            pending = self._pending
            matched = pending is not None and pending.reply is None and pending.answered_by(item)
        if pending is not None and matched:
            pending.reply = item
            pending.done.set()
        else:
            log.debug("a reply nobody waits for (late?): %s", item.raw.hex(" ").upper())

    def _report(self, error: FrameError) -> None:
        log.debug("bad frame: %s", error.reason)
        with self._changed:
            self._frame_errors += 1
            if self._pending is not None:
                self._pending.problems.append(error.reason)
            listeners = list(self._error_listeners)
        for listener in listeners:
            try:
                listener(error)
            except Exception:
                log.exception("frame-error listener %r failed", listener)

    def _observe(self, board: int, lock: int, door_open: bool, at: float, *, pushed: bool) -> None:
        before = self._known_doors.get((board, lock))
        self._known_doors[board, lock] = door_open
        if before == door_open or (before is None and not pushed):
            return
        change = DoorChange(board=board, lock=lock, door_open=door_open, at=at)
        with self._changed:
            listeners = list(self._door_listeners)
        for listener in listeners:
            try:
                listener(change)
            except Exception:
                log.exception("door listener %r failed on %s", listener, change)

"""A barcode scanner on a serial port or a TCP link: each scan is a line of bytes ending in CR, LF or CRLF.

Scanners in serial (or USB-CDC) mode send the code's bytes followed by a suffix, usually CR. The payload is
passed on as bytes, exactly as received: it may be anything, and the kiosk parses it strictly later.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

from hal.lockboard.base import PortGone
from hal.transport import SerialLike, open_transport

__all__ = ["DEFAULT_BAUDRATE", "SerialScanner"]

log = logging.getLogger(__name__)

DEFAULT_BAUDRATE = 9600  # what serial barcode scanners ship with (8N1)
READ_TIMEOUT_S = 0.02  # how long one read waits: the latency a scan can gain, and how soon stop() is noticed
READ_SIZE = 4096
FIRST_RETRY_S = 0.2
LAST_RETRY_S = 5.0
STOP_JOIN_S = 2.0
_LINE_END = re.compile(rb"[\r\n]")


class SerialScanner:
    """Reads scans from `url` (see hal.transport: /dev/ttyACM0, socket://host:port, ...) on a worker thread
    named "scanner-<url>", calling `on_scan(payload)` for each non-empty line.

    `on_problem(message)` hears, once each, of a line longer than `max_length` bytes (dropped up to its end,
    never held whole in memory), of the port going away (it is then reopened, after 0.2 s doubling up to 5 s,
    until it is back), and of a partial line left `stale_after` seconds without its end (dropped, so it cannot
    prefix the next scan; usually a scanner set up without a CR or LF suffix). Both callbacks run on the
    worker thread; an exception they raise is logged and the scanner carries on.
    """

    def __init__(self, url: str, on_scan: Callable[[bytes], None], *,
                 on_problem: Callable[[str], None] | None = None, max_length: int = 4096,
                 baudrate: int = DEFAULT_BAUDRATE, stale_after: float = 1.0) -> None:
        if not url or not url.strip():
            raise ValueError("no scanner port given (e.g. /dev/ttyACM0 or socket://host:port)")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a whole number of bytes, at least 1, got {max_length!r}")
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate < 1:
            raise ValueError(f"baudrate must be a positive whole number, got {baudrate!r}")
        if not stale_after > 0:
            raise ValueError(f"stale_after must be more than 0 seconds, got {stale_after!r}")
        self.url = url
        self.max_length = max_length
        self.baudrate = baudrate
        self.stale_after = stale_after
        self._on_scan = on_scan
        self._on_problem = on_problem
        self._state = threading.Lock()  # guards the fields below
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connected = False
        # The line being received; owned by the worker thread.
        self._pending = bytearray()
        self._last_data_at = 0.0
        self._discarding = False  # inside a line already too long: drop up to its end

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        with self._state:
            return self._connected

    def start(self) -> None:
        """Start the worker thread and return at once (the port is opened on that thread)."""
        with self._state:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError(f"scanner {self.url} is already started")
            self._stopping = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stopping,),
                                            name=f"scanner-{self.url}", daemon=False)
            self._thread.start()

    def stop(self) -> None:
        """Stop the worker thread, join it and close the port. Stopping twice is harmless."""
        with self._state:
            thread = self._thread
            self._stopping.set()
        if thread is None or thread is threading.current_thread():
            return
        thread.join(STOP_JOIN_S)
        if thread.is_alive():  # a read longer than its timeout: the port itself is stuck
            log.warning("scanner %s: the worker did not stop within %.0f s", self.url, STOP_JOIN_S)
        with self._state:
            if self._thread is thread:
                self._thread = None

    # ----------------------------------------------------------------------------------------------------

    def _run(self, stopping: threading.Event) -> None:
        try:
            self._serve(stopping)
        except Exception:  # a bug must not pass silently
            log.exception("scanner %s: the worker thread failed", self.url)

    def _serve(self, stopping: threading.Event) -> None:
        retry_in = FIRST_RETRY_S
        reported = False  # one problem report per outage, not one per attempt
        while not stopping.is_set():
            try:
                port = open_transport(self.url, baudrate=self.baudrate, timeout=READ_TIMEOUT_S)
            except PortGone as exc:
                if not reported:
                    self._problem(f"scanner: {exc}; retrying until it is back")
                    reported = True
                else:
                    log.debug("scanner %s: still unavailable: %s", self.url, exc)
                if stopping.wait(retry_in):
                    return
                retry_in = min(retry_in * 2, LAST_RETRY_S)
                continue
            with self._state:
                self._connected = True
            if reported:
                log.info("scanner %s: back", self.url)
            reported = False
            retry_in = FIRST_RETRY_S
            try:
                self._read_until_stopped(port, stopping)
            except PortGone as exc:
                self._problem(f"scanner: {exc}; retrying until it is back")
                reported = True
            finally:
                with self._state:
                    self._connected = False
                port.close()
                self._forget_partial()
            if not stopping.is_set() and reported and stopping.wait(retry_in):
                return

    def _read_until_stopped(self, port: SerialLike, stopping: threading.Event) -> None:
        while not stopping.is_set():
            chunk = port.read(READ_SIZE)
            if chunk:
                self._last_data_at = time.monotonic()
                self._feed(chunk)
                continue
            idle = time.monotonic() - self._last_data_at
            if (self._pending or self._discarding) and idle > self.stale_after:
                if self._pending:
                    shown = bytes(self._pending[:40])
                    self._problem(f"scanner {self.url}: dropped {len(self._pending)} bytes that came without "
                                  f"an end of line ({shown!r}); is the scanner's suffix set to CR or LF?")
                self._forget_partial()

    def _feed(self, chunk: bytes) -> None:
        start = 0
        for end in _LINE_END.finditer(chunk):
            piece = chunk[start:end.start()]
            start = end.end()
            if self._discarding:
                self._discarding = False  # the too-long line ends here
                continue
            if len(self._pending) + len(piece) > self.max_length:
                self._report_too_long()
                self._forget_partial()
                continue
            line = bytes(self._pending) + piece if self._pending else bytes(piece)
            self._forget_partial()
            if line:
                self._scan(line)
        rest = chunk[start:]
        if not rest or self._discarding:
            return
        if len(self._pending) + len(rest) > self.max_length:
            self._report_too_long()
            self._forget_partial()
            self._discarding = True
            return
        self._pending += rest

    def _forget_partial(self) -> None:
        self._pending.clear()
        self._discarding = False

    def _report_too_long(self) -> None:
        self._problem(f"scanner {self.url}: dropped a scan longer than {self.max_length} bytes")

    def _scan(self, payload: bytes) -> None:
        try:
            self._on_scan(payload)
        except Exception:
            log.exception("scanner %s: the scan callback raised; scanning goes on", self.url)

    def _problem(self, message: str) -> None:
        log.warning("%s", message)
        if self._on_problem is None:
            return
        try:
            self._on_problem(message)
        except Exception:
            log.exception("scanner %s: the problem callback raised", self.url)

"""A serial barcode scanner over a real pseudo-terminal and over TCP (socket://) to a server in the test:
line splitting, binary payloads, oversized lines in bounded memory, the port vanishing and coming back."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hal.lockboard.simulator_registry import SimLink
from hal.scanner import SerialScanner
from hal.transport import open_transport, register_simulator, unregister_simulator


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        tick.wait(0.01)


class Heard:
    """The scanner's callbacks: scans and problems, each on a queue the test waits on."""

    def __init__(self) -> None:
        self.scans: queue.Queue[bytes] = queue.Queue()
        self.problems: queue.Queue[str] = queue.Queue()

    def on_scan(self, payload: bytes) -> None:
        self.scans.put(payload)

    def on_problem(self, message: str) -> None:
        self.problems.put(message)

    def scan(self, timeout: float = 10.0) -> bytes:
        try:
            return self.scans.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no scan within {timeout} s") from None

    def problem(self, timeout: float = 10.0) -> str:
        try:
            return self.problems.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no problem reported within {timeout} s") from None

    def no_more_scans(self) -> list[bytes]:
        found = []
        while not self.scans.empty():
            found.append(self.scans.get_nowait())
        return found

    def no_more_problems(self) -> list[str]:
        found = []
        while not self.problems.empty():
            found.append(self.problems.get_nowait())
        return found


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def scanners() -> Iterator[Callable[..., SerialScanner]]:
    made: list[SerialScanner] = []

    def make(url: str, heard: Heard, **options: object) -> SerialScanner:
        scanner = SerialScanner(url, heard.on_scan, on_problem=heard.on_problem, **options)  # type: ignore[arg-type]
        made.append(scanner)
        scanner.start()
        return scanner

    yield make
    for scanner in made:
        scanner.stop()


class Pty:
    """A real pseudo-terminal: the scanner opens the device end, the test writes as the scanner would."""

    def __init__(self) -> None:
        self.master, self._device_fd = os.openpty()
        self.path = os.ttyname(self._device_fd)
        self._closed = False

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        # Once only: a closed descriptor's number may already belong to another file (the scanner's port).
        if not self._closed:
            self._closed = True
            os.close(self.master)
            os.close(self._device_fd)


@pytest.fixture
def pty() -> Iterator[Pty]:
    terminal = Pty()
    yield terminal
    terminal.close()


class ScannerServer:
    """A TCP server on 127.0.0.1 standing in for a scanner behind a serial-to-Ethernet converter."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(10)
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self.link: socket.socket | None = None

    def accept(self) -> socket.socket:
        self.link, _ = self._listener.accept()
        return self.link

    def send(self, data: bytes) -> None:
        assert self.link is not None
        self.link.sendall(data)

    def drop(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None

    def close(self) -> None:
        self.drop()
        self._listener.close()


@pytest.fixture
def server() -> Iterator[ScannerServer]:
    serving = ScannerServer()
    yield serving
    serving.close()


# over a pseudo-terminal ------------------------------------------------------------------------------------
def test_scans_end_in_cr_lf_or_crlf_and_pass_as_bytes(pty: Pty, heard: Heard,
                                                      scanners: Callable[..., SerialScanner]) -> None:
    scanner = scanners(pty.path, heard)
    wait_until(lambda: scanner.connected, what="the scanner opening the pty")
    pty.write(b"PICKUP:1234\r")
    pty.write(b"5901234123457\n")
    pty.write(b"1Z999AA10123456784\r\n")
    pty.write(b"\r\n\r\n\n")  # empty lines are no scans
    pty.write(b"\x00\xff\x1b[binary\x7f\r")
    pty.write(b"SPL")
    assert [heard.scan() for _ in range(4)] == [b"PICKUP:1234", b"5901234123457", b"1Z999AA10123456784",
                                                b"\x00\xff\x1b[binary\x7f"]
    pty.write(b"IT\rA\rB\r")  # a scan split across reads is joined; several in one read are split
    assert [heard.scan() for _ in range(3)] == [b"SPLIT", b"A", b"B"]
    assert heard.no_more_problems() == []


def test_the_port_vanishing_is_one_problem_and_stop_is_prompt(tmp_path: Path, pty: Pty, heard: Heard,
                                                             scanners: Callable[..., SerialScanner],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hal.scanner")
    # Through a link, as udev names a scanner: once the pty is gone its /dev/pts number may go to another
    # program's pty, which the scanner's retries must not open.
    link = tmp_path / "ttyScanner"
    link.symlink_to(pty.path)
    scanner = scanners(str(link), heard)
    wait_until(lambda: scanner.connected, what="the scanner opening the pty")
    pty.write(b"BEFORE\r")
    assert heard.scan() == b"BEFORE"
    link.unlink()  # the adapter is unplugged: its device and its name are gone
    pty.close()
    assert "vanished" in heard.problem()
    wait_until(lambda: not scanner.connected, what="the scanner noticing")
    # It keeps trying to reopen, quietly: the attempts are logged at debug level, not reported again.
    wait_until(lambda: any("still unavailable" in record.message for record in caplog.records),
               what="a reopening attempt after the first")
    began = time.monotonic()
    scanner.stop()
    assert time.monotonic() - began < 0.5
    assert heard.no_more_problems() == []


def test_a_port_that_appears_later_is_opened_then(tmp_path: Path, pty: Pty, heard: Heard,
                                                  scanners: Callable[..., SerialScanner],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hal.scanner")
    link = tmp_path / "ttyScanner"  # as udev would name it once the scanner is plugged in
    scanner = scanners(str(link), heard)
    assert "no such device" in heard.problem()
    wait_until(lambda: any("still unavailable" in record.message for record in caplog.records),
               what="a second attempt")
    link.symlink_to(pty.path)
    wait_until(lambda: scanner.connected, what="the scanner opening the port once it exists")
    pty.write(b"HELLO\r")
    assert heard.scan() == b"HELLO"
    assert heard.no_more_problems() == []  # one report for the whole time it was missing


def test_stop_closes_the_port(pty: Pty, heard: Heard, scanners: Callable[..., SerialScanner]) -> None:
    scanner = scanners(pty.path, heard)
    wait_until(lambda: scanner.connected, what="the scanner opening the pty")
    scanner.stop()
    assert not scanner.connected
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("scanner-")]
    open_transport(pty.path, baudrate=9600, timeout=0.05).close()  # exclusive: only possible once closed
    scanner.stop()  # twice is harmless


def test_a_partial_scan_left_without_an_end_is_dropped(pty: Pty, heard: Heard,
                                                       scanners: Callable[..., SerialScanner]) -> None:
    scanner = scanners(pty.path, heard, stale_after=0.1)
    wait_until(lambda: scanner.connected, what="the scanner opening the pty")
    pty.write(b"NO-SUFFIX")
    assert "without an end of line" in heard.problem()
    pty.write(b"NEXT\r")
    assert heard.scan() == b"NEXT"  # not NO-SUFFIXNEXT


def test_a_callback_that_raises_does_not_stop_scanning(pty: Pty, scanners: Callable[..., SerialScanner],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    heard = Heard()
    first = threading.Event()

    def on_scan(payload: bytes) -> None:
        if not first.is_set():
            first.set()
            raise RuntimeError("the kiosk broke")
        heard.on_scan(payload)

    scanner = SerialScanner(pty.path, on_scan)
    scanner.start()
    try:
        wait_until(lambda: scanner.connected, what="the scanner opening the pty")
        pty.write(b"ONE\rTWO\r")
        assert heard.scan() == b"TWO"
    finally:
        scanner.stop()
    assert any("scan callback raised" in record.message for record in caplog.records)


# over TCP --------------------------------------------------------------------------------------------------
def test_scans_over_tcp_and_the_link_dropped_and_back(server: ScannerServer, heard: Heard,
                                                      scanners: Callable[..., SerialScanner]) -> None:
    scanner = scanners(server.url, heard)
    server.accept()
    # pyserial empties the input as it finishes opening: bytes sent before then would be lost.
    wait_until(lambda: scanner.connected, what="the scanner finishing its connection")
    server.send(b"FIRST\r\n")
    assert heard.scan() == b"FIRST"
    server.send(b"HALF-A-SC")
    server.drop()  # the converter reboots mid-scan
    assert "vanished" in heard.problem()
    server.accept()  # the scanner reconnects by itself
    wait_until(lambda: scanner.connected, what="the scanner finishing its connection")
    server.send(b"AN\rSECOND\r")
    assert heard.scan() == b"AN"  # the half scan from before the drop was not glued on
    assert heard.scan() == b"SECOND"
    assert heard.no_more_problems() == []


def test_an_oversized_line_is_dropped_in_bounded_memory(server: ScannerServer, heard: Heard,
                                                        scanners: Callable[..., SerialScanner]) -> None:
    scanner = scanners(server.url, heard, max_length=64)
    server.accept()
    wait_until(lambda: scanner.connected, what="the scanner finishing its connection")
    server.send(b"C" * 64 + b"\r")  # exactly the limit: a scan
    assert heard.scan() == b"C" * 64
    server.send(b"B" * 65 + b"\r")  # one over, ended in the same read
    assert "longer than 64 bytes" in heard.problem()

    block = b"A" * 65536
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(5 * 1024 * 1024 // len(block)):  # 5 MB with no end of line
            server.send(block)
        server.send(b"\rAFTER\r")
        assert heard.scan() == b"AFTER"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 1024 * 1024, f"memory grew by {peak - before} bytes"
    assert "longer than 64 bytes" in heard.problem()
    assert heard.no_more_problems() == []  # one message for the whole 5 MB line
    assert heard.no_more_scans() == []


def test_a_refused_connection_is_reported_once(heard: Heard, scanners: Callable[..., SerialScanner]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    scanner = scanners(f"socket://127.0.0.1:{free_port}", heard)
    assert "connection refused" in heard.problem()
    assert not scanner.connected


# in-process ------------------------------------------------------------------------------------------------
class ScannerDevice:
    """A scanner as an in-process device behind sim://NAME (hal.transport): the QA way, with no pty."""

    def __init__(self) -> None:
        self.link: SimLink | None = None
        self.attached = threading.Event()

    def attach(self, link: SimLink) -> Callable[[], None]:
        self.link = link
        self.attached.set()
        return lambda: None


def test_a_scanner_behind_a_sim_url(heard: Heard, scanners: Callable[..., SerialScanner]) -> None:
    device = ScannerDevice()
    register_simulator("test-scanner", device)
    try:
        scanner = scanners("sim://test-scanner", heard)
        assert device.attached.wait(10)
        wait_until(lambda: scanner.connected, what="the scanner opening the simulated port")
        assert device.link is not None
        device.link.send(b"RETURN:42\r")
        assert heard.scan() == b"RETURN:42"
        device.link.hang_up()
        assert "vanished" in heard.problem()
    finally:
        unregister_simulator("test-scanner")


# arguments -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "options", "complaint"), [
    ("", {}, "no scanner port"),
    ("/dev/ttyACM0", {"max_length": 0}, "max_length"),
    ("/dev/ttyACM0", {"baudrate": -9600}, "baudrate"),
    ("/dev/ttyACM0", {"stale_after": 0}, "stale_after"),
])
def test_bad_arguments(url: str, options: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        SerialScanner(url, lambda payload: None, **options)  # type: ignore[arg-type]


def test_starting_twice_is_refused(pty: Pty, heard: Heard, scanners: Callable[..., SerialScanner]) -> None:
    scanner = scanners(pty.path, heard)
    with pytest.raises(RuntimeError, match="already started"):
        scanner.start()

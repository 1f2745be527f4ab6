"""URLs to ports: real pseudo-terminals, TCP, the in-process simulator, and every way opening can fail."""

from __future__ import annotations

import errno
import socket
import time
from pathlib import Path

import pytest
import serial

from hal.lockboard import register_simulator as register_from_lockboard
from hal.lockboard.base import PortGone
from hal.lockboard.kerong.simulator import KerongSimulator
from hal.transport import _open_failure_reason, open_transport, register_simulator, unregister_simulator

STATUS_BOARD_0 = bytes.fromhex("02 00 30 03 35")
ALL_CLOSED_BOARD_0 = bytes.fromhex("02 00 35 FF FF 00 00 03 38")


def test_a_missing_device_is_port_gone_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(PortGone, match=r"cannot open .*ttyUSB-none: no such device"):
        open_transport(str(tmp_path / "ttyUSB-none"), baudrate=19200, timeout=0.05)


def test_a_file_that_is_not_a_serial_port(tmp_path: Path) -> None:
    plain = tmp_path / "plain-file"
    plain.write_bytes(b"")
    with pytest.raises(PortGone, match="not a serial port"):
        open_transport(str(plain), baudrate=19200, timeout=0.05)


def test_a_port_in_use_is_busy(pty_path: str) -> None:
    first = open_transport(pty_path, baudrate=19200, timeout=0.05)
    try:
        with pytest.raises(PortGone, match="port busy"):
            open_transport(pty_path, baudrate=19200, timeout=0.05)
    finally:
        first.close()
    open_transport(pty_path, baudrate=19200, timeout=0.05).close()  # free again once closed


def test_permission_denied_is_named() -> None:
    # The tests run as root, which no file mode stops; this is the exception pyserial raises for EACCES.
    denied = serial.SerialException(errno.EACCES,
                                    "could not open port /dev/ttyS0: [Errno 13] Permission denied")
    assert _open_failure_reason(denied).startswith("permission denied")


def test_a_refused_tcp_connection() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with pytest.raises(PortGone, match="connection refused"):
        open_transport(f"socket://127.0.0.1:{free_port}", baudrate=19200, timeout=0.05)


def test_an_unknown_url_scheme() -> None:
    with pytest.raises(PortGone, match="invalid port URL"):
        open_transport("carrier-pigeon://loft", baudrate=19200, timeout=0.05)


def test_tcp_to_a_served_simulator(simulator: KerongSimulator) -> None:
    port = simulator.serve_tcp(0)
    link = open_transport(f"socket://127.0.0.1:{port}", baudrate=19200, timeout=0.5)
    try:
        link.write(STATUS_BOARD_0)
        assert link.read(9) == ALL_CLOSED_BOARD_0
    finally:
        link.close()


def test_a_pty_whose_simulator_stops_is_port_gone(simulator: KerongSimulator, pty_path: str) -> None:
    link = open_transport(pty_path, baudrate=19200, timeout=0.05)
    try:
        simulator.stop()
        with pytest.raises(PortGone, match="vanished"):
            link.write(STATUS_BOARD_0)
            link.read(9)
    finally:
        link.close()


# the in-process sim:// transport ------------------------------------------------------------------------
def test_an_unregistered_simulator_name() -> None:
    with pytest.raises(PortGone, match="no simulator registered as 'nobody-home'"):
        open_transport("sim://nobody-home", baudrate=19200, timeout=0.05)


def test_the_registry_refuses_a_second_simulator_under_one_name(simulator: KerongSimulator,
                                                                sim_url: str) -> None:
    name = sim_url.removeprefix("sim://")
    register_simulator(name, simulator)  # the same one again is harmless
    register_from_lockboard(name, simulator)  # and both import paths share one registry
    other = KerongSimulator(boards=1)
    with pytest.raises(ValueError, match="already registered"):
        register_simulator(name, other)
    unregister_simulator("never-registered")


def test_read_returns_what_arrived_when_the_timeout_passes(sim_url: str) -> None:
    link = open_transport(sim_url, baudrate=19200, timeout=0.05)
    try:
        started = time.monotonic()
        assert link.read(1) == b""
        assert time.monotonic() - started >= 0.045
        link.write(STATUS_BOARD_0)
        assert link.read(20) == ALL_CLOSED_BOARD_0, "fewer bytes than asked for, after the timeout"
        link.write(STATUS_BOARD_0)
        assert link.read(4) + link.read(5) == ALL_CLOSED_BOARD_0
    finally:
        link.close()


def test_reset_input_buffer_drops_unread_bytes(simulator: KerongSimulator, sim_url: str) -> None:
    link = open_transport(sim_url, baudrate=19200, timeout=0.05)
    try:
        link.write(STATUS_BOARD_0)
        assert link.read(1) == b"\x02"
        link.reset_input_buffer()
        assert link.read(1) == b""
    finally:
        link.close()


def test_a_stopped_simulator_hangs_up_the_in_process_port(simulator: KerongSimulator, sim_url: str) -> None:
    link = open_transport(sim_url, baudrate=19200, timeout=0.05)
    simulator.stop()
    with pytest.raises(PortGone, match="vanished"):
        link.read(1)
    with pytest.raises(PortGone, match="vanished"):
        link.write(STATUS_BOARD_0)
    link.close()
    link.close()
    with pytest.raises(PortGone, match="closed"):
        link.read(1)


def test_bad_settings_are_refused(sim_url: str) -> None:
    with pytest.raises(ValueError, match="baudrate"):
        open_transport(sim_url, baudrate=0, timeout=0.05)
    with pytest.raises(PortGone, match="no port given"):
        open_transport(" ", baudrate=19200, timeout=0.05)

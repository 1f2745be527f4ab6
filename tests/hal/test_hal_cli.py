"""`python -m hal`: the simulator served on a pty by one process, status and open from others."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hal.__main__ import main
from hal.lockboard.kerong.simulator import KerongSimulator
from hal.transport import open_transport

REPO = Path(__file__).resolve().parents[2]


def run_hal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hal", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=20)


def read_line(process: subprocess.Popen[str], deadline_s: float = 10) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(deadline_s), "the simulator printed nothing"
    return process.stdout.readline()


@pytest.fixture
def served_simulator() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen([sys.executable, "-m", "hal", "sim", "kerong-cu16", "--boards", "2", "--pty"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(process)
        prefix = "serving kerong-cu16 (2 boards) on "
        assert line.startswith(prefix), line
        yield process, line.removeprefix(prefix).strip()
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def test_status_and_open_against_a_simulator_served_by_another_process(
    served_simulator: tuple[subprocess.Popen[str], str],
) -> None:
    process, path = served_simulator
    assert path.startswith("/dev/pts/") and os.path.exists(path)

    status = run_hal("--port", path, "status", "--board", "1")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == f"board 1 on {path}"
    assert lines[1].split() == ["lock", "door", "parcel"]
    assert lines[2].split() == ["1", "closed", "no"]
    assert len(lines) == 2 + 16

    opened = run_hal("open", "--board", "1", "--lock", "3", "--port", path)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == "board 1 lock 3: unlock sent, door is open"

    after = run_hal("--port", path, "status", "--board", "1")
    assert after.stdout.splitlines()[4].split() == ["3", "OPEN", "no"]

    silent = run_hal("--port", path, "--timeout", "0.05", "--retries", "0", "status", "--board", "5")
    assert silent.returncode == 1
    assert silent.stderr == "locker-hal: no reply: board 5 did not answer within 50 ms\n"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_ctrl_c_stops_the_simulator_cleanly(served_simulator: tuple[subprocess.Popen[str], str]) -> None:
    process, _ = served_simulator
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    assert process.stderr is not None and process.stderr.read() == ""


def test_the_simulator_can_also_serve_tcp() -> None:
    command = [sys.executable, "-m", "hal", "sim", "kerong-cu16", "--boards", "1", "--tcp", "0"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(process)
        assert line.startswith("serving kerong-cu16 (1 board) on socket://127.0.0.1:"), line
        url = line.split(" on ")[1].strip()
        assert main(["--port", url, "status", "--board", "0"]) == 0
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()


# in-process: quicker, for the many small cases ------------------------------------------------------------
def test_open_reports_a_door_that_stays_shut(simulator: KerongSimulator, pty_path: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    simulator.jam(0, 2)
    assert main(["--port", pty_path, "open", "--board", "0", "--lock", "2", "--confirm", "0.1"]) == 3
    error = capsys.readouterr().err
    assert error.startswith(
        "locker-hal: board 0 lock 2: unlock sent, but the door still reads closed after 0.1 s")
    assert error.count("\n") == 1


def test_open_without_confirmation(simulator: KerongSimulator, pty_path: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", pty_path, "open", "--board", "1", "--lock", "16", "--confirm", "0"]) == 0
    assert capsys.readouterr().out == "board 1 lock 16: unlock sent\n"
    assert simulator.door_open(1, 16)


def test_a_busy_port_is_named(pty_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    holder = open_transport(pty_path, baudrate=19200, timeout=0.05)
    try:
        assert main(["--port", pty_path, "status", "--board", "0"]) == 1
    finally:
        holder.close()
    assert capsys.readouterr().err == (
        f"locker-hal: port: cannot open {pty_path}: port busy (another program has it open)\n")


def test_a_missing_port_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "ttyUSB7")
    assert main(["--port", missing, "status", "--board", "0"]) == 1
    assert capsys.readouterr().err == f"locker-hal: port: cannot open {missing}: no such device\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "/dev/null", "--protocol", "bu-24", "status", "--board", "0"],
         "locker-hal: unknown lock-board protocol 'bu-24' (known: kerong-cu16)\n"),
        (["sim", "bu-24"], "locker-hal: unknown lock-board protocol 'bu-24' (known: kerong-cu16)\n"),
        (["status", "--board", "0"], "locker-hal: status needs --port (e.g. --port /dev/ttyUSB0)\n"),
        (["--port", "/dev/null", "--retries", "-1", "status", "--board", "0"],
         "locker-hal: retries must be a whole number >= 0, got -1\n"),
        (["sim", "kerong-cu16", "--boards", "17"], "locker-hal: boards must be 1-16, got 17\n"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err == message


def test_argument_errors_come_from_argparse_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "/dev/null", "open", "--board", "0", "--lock", "17"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal open: argument --lock: lock must be 1-16, got 17 (see --help)\n")
    assert main(["status"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal status: the following arguments are required: --board (see --help)\n")
    assert main([]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_help_from_the_module_and_the_console_script() -> None:
    help_run = run_hal("--help")
    assert help_run.returncode == 0
    assert "status" in help_run.stdout and "sim" in help_run.stdout
    script = Path(sys.executable).parent / "locker-hal"
    if script.exists():  # installed by uv sync; absent when the package is not installed
        scripted = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=20)
        assert scripted.returncode == 0
        assert scripted.stdout == help_run.stdout

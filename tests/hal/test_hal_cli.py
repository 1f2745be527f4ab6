"""`python -m hal`: the technician's command line, over real pseudo-terminals.

Three set-ups: the simulator served by another process (`python -m hal sim`); the simulator in this process
served on a pty and the CLI called in-process (quick, for the many small cases); and, for the long-running
`watch` and `test`, the CLI as a subprocess against a pty this test serves, closing doors while the CLI
waits (the test waits on the CLI's lines, never on the clock).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import hal.lockboard as lockboard
from hal.__main__ import main
from hal.cli.faults import Fault, FaultSpecError, apply_faults, parse_faults
from hal.lockboard import ProtocolUnavailable, SimulatedBoards, board_range, known_protocols, make_simulator
from hal.lockboard.kerong.simulator import KerongSimulator
from hal.transport import open_transport

REPO = Path(__file__).resolve().parents[2]
QUICK = ["--timeout", "0.02"]  # each address a scan finds empty costs two of these (a late reply is let by)
NEAR = ["--range", "0-3"]  # the simulators have boards 0 and 1: probing 16 addresses every time is slow
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"


def run_hal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hal", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=30)


class Cli:
    """A `python -m hal` subprocess; its stdout lines arrive on a queue as it prints them."""

    def __init__(self, *args: str, prefix: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen([*prefix, sys.executable, "-m", "hal", *args], cwd=REPO,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="cli stdout", daemon=True)
        self._reader.start()
        # Drained as it comes: a CLI that logs a lot would otherwise fill the pipe and block, never exit.
        self._errors: list[str] = []
        self._error_reader = threading.Thread(target=self._read_errors, name="cli stderr", daemon=True)
        self._error_reader.start()

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._errors.append(line)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def line(self, deadline_s: float = 15) -> str:
        try:
            line = self._lines.get(timeout=deadline_s)
        except queue.Empty:
            raise AssertionError(f"the CLI printed nothing within {deadline_s} s") from None
        if line is None:
            self._lines.put(None)
            code = self.process.wait(timeout=10)
            raise AssertionError(f"the CLI ended (exit {code}): {self.stderr()}")
        return line

    def record(self, deadline_s: float = 15) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.line(deadline_s))
        return value

    def finish(self, deadline_s: float = 15) -> tuple[int, list[str], str]:
        """Wait for the end: exit status, the lines not read yet, stderr."""
        code = self.process.wait(timeout=deadline_s)
        self._reader.join(timeout=deadline_s)
        rest = []
        while (line := self._lines.get_nowait()) is not None:
            rest.append(line)
        return code, rest, self.stderr()

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        self._error_reader.join(timeout=10)
        return "".join(self._errors)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        self._error_reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def cli() -> Iterator[Callable[..., Cli]]:
    started: list[Cli] = []

    def start(*args: str, prefix: tuple[str, ...] = ()) -> Cli:
        started.append(Cli(*args, prefix=prefix))
        return started[-1]

    yield start
    for process in started:
        process.close()


def hal_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["--json", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


# the simulator served by another process ----------------------------------------------------------------
@pytest.fixture
def served_simulator(cli: Callable[..., Cli]) -> tuple[Cli, str]:
    process = cli("sim", "kerong-cu16", "--boards", "2", "--pty")
    line = process.line()
    prefix = "serving kerong-cu16 (2 boards) on "
    assert line.startswith(prefix), line
    return process, line.removeprefix(prefix)


def test_status_and_open_against_a_simulator_served_by_another_process(
    served_simulator: tuple[Cli, str],
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

    process.process.send_signal(signal.SIGTERM)
    assert process.finish() == (0, [], "")


def test_ctrl_c_stops_the_simulator_cleanly(served_simulator: tuple[Cli, str]) -> None:
    process, _ = served_simulator
    process.process.send_signal(signal.SIGINT)
    assert process.finish() == (0, [], "")


def test_the_simulator_can_also_serve_tcp(cli: Callable[..., Cli]) -> None:
    process = cli("sim", "kerong-cu16", "--boards", "1", "--tcp", "0")
    line = process.line()
    assert line.startswith("serving kerong-cu16 (1 board) on socket://127.0.0.1:"), line
    assert main(["--port", line.split(" on ")[1], "status", "--board", "0"]) == 0
    process.process.terminate()
    assert process.finish()[0] == 0


def test_the_simulator_starts_with_the_faults_asked_for(cli: Callable[..., Cli],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    process = cli("sim", "kerong-cu16", "--boards", "2", "--pty", "--faults",
                  "silent=1,jam=0:2,open=0:5,parcel=0:6,stick=0:5")
    path = process.line().split(" on ")[1]
    assert process.line() == "faults: silent=1, jam=0:2, open=0:5, parcel=0:6, stick=0:5"

    code, [found], _ = hal_json(capsys, "--port", path, *QUICK, "scan", *NEAR)
    assert (code, found["boards"]) == (0, [0])
    code, [status], _ = hal_json(capsys, "--port", path, "status", "--board", "0")
    locks = {lock["lock"]: lock for lock in status["boards"][0]["locks"]}
    assert locks[5] == {"lock": 5, "door_open": True, "occupied": False}
    assert locks[6] == {"lock": 6, "door_open": False, "occupied": True}
    assert main(["--port", path, "open", "--board", "0", "--lock", "2", "--confirm", "0.1"]) == 3
    process.process.terminate()
    assert process.finish()[0] == 0


# the fault spec -----------------------------------------------------------------------------------------
def test_a_fault_spec_names_simulator_calls() -> None:
    assert parse_faults("silent=1, garble=3,delay=0.05,jam=1:2,busy=0:4,noise=2,stick=1:9,open=0:1,"
                        "parcel=0:16,silent=all") == [
        Fault("silent=1", "set_connected", {"connected": False, "board": 1}),
        Fault("garble=3", "garble_replies", {"count": 3}),
        Fault("delay=0.05", "set_reply_delay", {"seconds": 0.05}),
        Fault("jam=1:2", "jam", {"board": 1, "lock": 2}),
        Fault("busy=0:4", "set_busy", {"board": 0, "requests": 4}),
        Fault("noise=2", "noise_replies", {"count": 2}),
        Fault("stick=1:9", "set_door_sticks", {"board": 1, "lock": 9}),
        Fault("open=0:1", "open_door", {"board": 0, "lock": 1}),
        Fault("parcel=0:16", "set_occupied", {"board": 0, "lock": 16, "occupied": True}),
        Fault("silent=all", "set_connected", {"connected": False}),
    ]


def test_every_fault_takes_effect_on_the_simulator(simulator: KerongSimulator) -> None:
    apply_faults(simulator, parse_faults("silent=1,jam=0:2,busy=0:3,stick=0:4,open=0:5,parcel=0:6,delay=0.5"))
    assert not simulator.connected(1) and simulator.connected(0)
    assert simulator.snapshot()[0][2].jammed
    assert simulator.busy(0) == 3
    assert simulator.snapshot()[0][4].sticks
    assert simulator.door_open(0, 5)
    assert simulator.occupied(0, 6)
    apply_faults(simulator, parse_faults("silent=all"))
    assert not simulator.connected(0)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("jam=1", "--faults 'jam=1': jam takes BOARD:LOCK, e.g. jam=1:2"),
        ("busy=0", "--faults 'busy=0': busy takes BOARD:N, e.g. busy=1:3"),
        ("garble=many", "--faults 'garble=many': garble takes a whole number, e.g. garble=3"),
        ("delay=-1", "--faults 'delay=-1': delay takes seconds >= 0, e.g. delay=0.05"),
        ("delay=nan", "--faults 'delay=nan': delay takes seconds >= 0, e.g. delay=0.05"),
        ("silent=one", "--faults 'silent=one': silent takes a board number or 'all', e.g. silent=1"),
        ("silent", "--faults 'silent': silent needs a value "
                   "(silent takes a board number or 'all', e.g. silent=1)"),
        ("frobnicate=1", "unknown fault 'frobnicate' in --faults "
                         "(known: busy, delay, garble, jam, noise, open, parcel, silent, stick)"),
        ("garble=1,,jam=0:1", "empty item in --faults 'garble=1,,jam=0:1'"),
        (" ", "no faults given (e.g. --faults garble=3,jam=0:2; "
              "known: busy, delay, garble, jam, noise, open, parcel, silent, stick)"),
        ("jam=5:1", "--faults 'jam=5:1': board must be 0-1 on this simulator, got 5"),
        ("open=0:17", "--faults 'open=0:17': lock must be 1-16, got 17"),
    ],
)
def test_a_bad_fault_spec_is_one_line_and_exit_2(spec: str, message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "kerong-cu16", "--boards", "2", "--faults", spec]) == 2
    assert capsys.readouterr().err == f"locker-hal: {message}\n"


def test_a_fault_the_simulator_does_not_offer_is_named() -> None:
    class Plain:
        protocol = "plain"

    with pytest.raises(FaultSpecError, match="--faults 'stick=0:1': the plain simulator has no such fault"):
        apply_faults(Plain(), parse_faults("stick=0:1"))  # type: ignore[arg-type]


# scan, status, open, open-all in-process ------------------------------------------------------------------
def test_scan_lists_the_boards_that_answer(simulator: KerongSimulator, pty_path: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    simulator.open_door(1, 4)
    assert main(["--port", pty_path, *QUICK, "scan", *NEAR]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "board 0 answers: 16 locks, open: none",
        "board 1 answers: 16 locks, open: 4",
        f"2 boards found on {pty_path} (kerong-cu16): 0, 1",
    ]
    simulator.set_connected(False, board=0)
    code, [found], error = hal_json(capsys, "--port", pty_path, *QUICK, "scan", "--range", "1-3")
    assert (code, error) == (0, "")
    assert found == {"port": pty_path, "protocol": "kerong-cu16", "probed": [1, 3], "boards": [1],
                     "failed": {}}
    code, [found, _], _ = hal_json(capsys, "--port", pty_path, *QUICK, "scan", "--range", "15-99")
    assert (code, found["probed"], found["boards"]) == (1, [15, 15], []), "cut to what the protocol can have"


def test_scan_uses_no_retries_and_names_a_garbled_board(simulator: KerongSimulator, pty_path: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    simulator.garble_replies(1)  # board 0, the first probed; a retry would have hidden it
    code, [found, failure], error = hal_json(capsys, "--port", pty_path, *QUICK, "scan", *NEAR)
    assert code == 1
    assert found["boards"] == [1]
    assert found["failed"] == {"0": "board 0: bad checksum 0xC7, expected 0x38: 02 00 35 FF FF 00 00 03 C7"}
    assert failure == {"error": "bad reply", "message": f"bad reply: {found['failed']['0']}"}
    assert error == f"locker-hal: bad reply: {found['failed']['0']}\n"


def test_scan_of_a_silent_bus(simulator: KerongSimulator, pty_path: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    simulator.set_connected(False)
    # nothing can answer late on a silent bus, so the shortest timeout costs no certainty here
    assert main(["--port", pty_path, "--timeout", "0.01", "scan"]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"0 boards found on {pty_path} (kerong-cu16): none\n"
    assert captured.err == (f"locker-hal: no reply: no board answered on {pty_path} "
                            "(kerong-cu16, boards 0-15 probed)\n")


def test_status_of_every_board_found(simulator: KerongSimulator, pty_path: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    simulator.open_door(1, 16)
    simulator.set_occupied(0, 1, True)
    assert main(["--port", pty_path, *QUICK, "status", *NEAR]) == 0
    blocks = capsys.readouterr().out.split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == [f"board 0 on {pty_path}", f"board 1 on {pty_path}"]
    assert blocks[0].splitlines()[2].split() == ["1", "closed", "yes"]
    assert blocks[1].splitlines()[17].split() == ["16", "OPEN", "no"]

    code, [status], _ = hal_json(capsys, "--port", pty_path, *QUICK, "status", *NEAR)
    assert code == 0
    assert [board["board"] for board in status["boards"]] == [0, 1]
    assert status["boards"][1]["locks"][15] == {"lock": 16, "door_open": True, "occupied": False}
    assert all(len(board["locks"]) == 16 for board in status["boards"])

    code, [one], _ = hal_json(capsys, "--port", pty_path, "status", "--board", "0")
    assert (code, one["boards"]) == (0, status["boards"][:1])


def test_open_confirms_by_reading_the_door(simulator: KerongSimulator, pty_path: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, [opened], _ = hal_json(capsys, "--port", pty_path, "open", "--board", "1", "--lock", "2")
    assert (code, opened) == (0, {"board": 1, "lock": 2, "unlock_sent": True, "door_open": True})
    simulator.jam(0, 2)
    code, [stayed, failure], error = hal_json(capsys, "--port", pty_path, "open", "--board", "0",
                                              "--lock", "2", "--confirm", "0.1")
    assert (code, stayed["door_open"], failure["error"]) == (3, False, "door stayed shut")
    assert error.startswith(
        "locker-hal: board 0 lock 2: unlock sent, but the door still reads closed after 0.1 s")


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


def test_open_all_confirms_every_door(simulator: KerongSimulator, pty_path: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", pty_path, "open-all", "--board", "1"]) == 0
    assert capsys.readouterr().out == "board 1: unlock-all sent, all 16 doors are open\n"
    assert all(simulator.door_open(1, lock) for lock in range(1, 17))
    simulator.jam(0, 3)
    simulator.jam(0, 9)
    code, [result, failure], error = hal_json(capsys, "--port", pty_path, "open-all", "--board", "0",
                                              "--confirm", "0.1")
    assert code == 3
    assert result == {"board": 0, "unlock_sent": True, "closed": [3, 9],
                      "open": [lock for lock in range(1, 17) if lock not in (3, 9)]}
    assert failure["error"] == "door stayed shut"
    assert error == "locker-hal: board 0: unlock-all sent, but locks 3, 9 still read closed after 0.1 s\n"


# failures: one line each ----------------------------------------------------------------------------------
def test_no_reply_in_json_too(pty_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, [failure], error = hal_json(capsys, "--port", pty_path, "--retries", "0", "--timeout", "0.05",
                                      "status", "--board", "9")
    assert code == 1
    assert failure == {"error": "no reply", "message": "no reply: board 9 did not answer within 50 ms"}
    assert error == "locker-hal: no reply: board 9 did not answer within 50 ms\n"


def test_a_bad_checksum_is_named(simulator: KerongSimulator, pty_path: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    simulator.garble_replies(3)
    assert main(["--port", pty_path, "--timeout", "0.05", "status", "--board", "0"]) == 1
    assert capsys.readouterr().err == ("locker-hal: bad reply: board 0: bad checksum 0xC7, expected 0x38: "
                                       "02 00 35 FF FF 00 00 03 C7 (3 attempts)\n")


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


def test_permission_denied_on_the_device_is_named(pty_path: str, cli: Callable[..., Cli]) -> None:
    # A real refusal by the kernel: the pty is made unreadable, and a root test run gives the CLI up its
    # power to override file modes (as the kiosk user, without the dialout group, would lack it).
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv, so no file mode can refuse the device")
        prefix = (setpriv, "--bounding-set", "-dac_override,-dac_read_search")
    mode = os.stat(pty_path).st_mode
    os.chmod(pty_path, 0)
    try:
        code, lines, error = cli("--port", pty_path, "status", "--board", "0", prefix=prefix).finish()
    finally:
        os.chmod(pty_path, mode)
    assert (code, lines) == (1, [])
    assert error == (f"locker-hal: port: cannot open {pty_path}: permission denied (is this user in the "
                     "dialout group?)\n")


KNOWN = "known: bu, kerong-cu16, wkly"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "/dev/null", "--protocol", "bu-24", "status", "--board", "0"],
         f"locker-hal: unknown lock-board protocol 'bu-24' ({KNOWN})\n"),
        (["sim", "bu-24"], f"locker-hal: unknown lock-board protocol 'bu-24' ({KNOWN})\n"),
        (["status", "--board", "0"], "locker-hal: status needs --port (e.g. --port /dev/ttyUSB0)\n"),
        (["--port", "/dev/null", "status", "--board", "16"], "locker-hal: board must be 0-15, got 16\n"),
        (["--port", "/dev/null", "open", "--board", "0", "--lock", "17"],
         "locker-hal: lock must be 1-16 (as printed on the board), got 17\n"),
        (["sim", "kerong-cu16", "--boards", "17"], "locker-hal: boards must be 1-16, got 17\n"),
        (["--port", "/dev/null", "scan", "--range", "20-30"],
         "locker-hal: boards 20-30 are outside the kerong-cu16 range 0-15\n"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err == message


def test_argument_errors_come_from_argparse_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "/dev/null", "open", "--board", "0", "--lock", "0"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal open: argument --lock: lock must be 1-255, got 0 (see --help)\n")
    assert main(["--port", "/dev/null", "--retries", "-1", "status", "--board", "0"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal: argument --retries: retries must be 0 or more, got -1 (see --help)\n")
    assert main(["status", "--board", "x"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal status: argument --board: board must be a whole number, got 'x' (see --help)\n")
    assert main(["open"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal open: the following arguments are required: --board, --lock (see --help)\n")
    assert main(["scan", "--range", "5-2"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal scan: argument --range: FIRST must not be above LAST, got '5-2' (see --help)\n")
    assert main(["watch", "--range", "all"]) == 2
    assert capsys.readouterr().err == ("locker-hal watch: argument --range: expected FIRST-LAST board "
                                       "addresses such as 0-3, got 'all' (see --help)\n")
    assert main([]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_any_option_of_the_protocol_can_be_given(pty_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", pty_path, "--option", "retries=0", "status", "--board", "9",
                 "--option", "timeout=0.05"]) == 1
    assert capsys.readouterr().err == "locker-hal: no reply: board 9 did not answer within 50 ms\n"
    assert main(["--port", pty_path, "--option", "query_all_address=0xFF", "status", "--board", "0"]) == 0
    capsys.readouterr()
    takes = "baudrate, hook_closed_bit, query_all_address, retries, timeout"
    assert main(["--port", pty_path, "--option", "parity=E", "status", "--board", "0"]) == 2
    assert capsys.readouterr().err == (
        f"locker-hal: --option parity: the kerong-cu16 driver has no such option (it takes: {takes})\n")
    assert main(["--port", pty_path, "--option", "query_all_address=0x100", "status", "--board", "0"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal: query_all_address: an address byte must be 0-255 (0x00-0xFF), got 256\n")
    assert main(["sim", "kerong-cu16", "--option", "locks=8"]) == 2
    assert capsys.readouterr().err.startswith(
        "locker-hal: --option locks: the kerong-cu16 simulator has no such option (it takes: baudrate, ")
    assert main(["--port", pty_path, "--option", "retries", "status", "--board", "0"]) == 2
    assert capsys.readouterr().err == ("locker-hal: argument --option: expected NAME=VALUE such as "
                                       "timeout=0.3, got 'retries' (see --help)\n")


def test_a_protocol_whose_modules_are_missing_is_named(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(lockboard._PROTOCOLS, "ghost", lockboard._Protocol("hal.lockboard.ghost:GhostDriver",
                                                                           "hal.lockboard.ghost:GhostSimulator"))
    assert main(["--port", "/dev/null", "--protocol", "ghost", "scan"]) == 2
    assert capsys.readouterr().err == (
        "locker-hal: lock-board protocol 'ghost' is not available: "
        "cannot import hal.lockboard.ghost:GhostDriver (No module named 'hal.lockboard.ghost')\n")
    assert main(["sim", "ghost"]) == 2
    assert "lock-board protocol 'ghost' is not available" in capsys.readouterr().err


def test_an_option_of_another_protocol_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        make_simulator("bu", boards=1).stop()
    except ProtocolUnavailable:
        pytest.skip("the bu protocol is not in this tree yet")
    assert main(["--port", "/dev/null", "--protocol", "bu", "--hook-closed-bit", "1", "scan"]) == 2
    assert capsys.readouterr().err == "locker-hal: --hook-closed-bit does not apply to protocol bu\n"
    assert main(["sim", "bu", "--hook-closed-bit", "0"]) == 2
    assert capsys.readouterr().err == "locker-hal: --hook-closed-bit does not apply to protocol bu\n"


def test_help_from_the_module_and_the_console_script() -> None:
    help_run = run_hal("--help")
    assert help_run.returncode == 0
    for command in ("scan", "status", "open", "open-all", "watch", "test", "sim"):
        assert command in help_run.stdout
    sim_help = run_hal("sim", "--help")
    assert "--faults" in sim_help.stdout and "silent=1,garble=3" in sim_help.stdout
    script = Path(sys.executable).parent / "locker-hal"
    if script.exists():  # installed by uv sync; absent when the package is not installed
        scripted = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=20)
        assert scripted.returncode == 0
        assert scripted.stdout == help_run.stdout


# watch and test: the CLI waits while this test moves the doors ---------------------------------------------
def test_watch_prints_each_door_change_as_json_until_sigterm(simulator: KerongSimulator, pty_path: str,
                                                            cli: Callable[..., Cli]) -> None:
    watch = cli("--port", pty_path, "watch", "--board", "0", "--board", "1", "--interval", "0.02", "--json")
    started = watch.record()
    assert {key: started[key] for key in ("event", "boards", "mode", "interval", "protocol")} == {
        "event": "watching", "boards": [0, 1], "mode": "poll", "interval": 0.02, "protocol": "kerong-cu16"}
    simulator.open_door(1, 3)
    opened = watch.record()
    assert {key: opened[key] for key in ("event", "board", "lock", "door_open")} == {
        "event": "door", "board": 1, "lock": 3, "door_open": True}
    assert datetime.fromisoformat(opened["at"]) >= datetime.fromisoformat(started["at"])
    simulator.set_occupied(1, 3, True)
    assert {key: value for key, value in watch.record().items() if key != "at"} == {
        "event": "parcel", "board": 1, "lock": 3, "occupied": True}
    simulator.close_door(1, 3)
    assert watch.record()["door_open"] is False
    watch.process.send_signal(signal.SIGTERM)
    assert watch.finish() == (0, [], "")


def test_watch_finds_the_boards_itself_and_says_when_one_falls_silent(
    simulator: KerongSimulator, pty_path: str, cli: Callable[..., Cli]
) -> None:
    watch = cli("--port", pty_path, *QUICK, "--retries", "0", "watch", "--interval", "0.02", *NEAR)
    assert watch.line() == (f"watching boards 0, 1 on {pty_path} (kerong-cu16, polling every 0.02 s); "
                            "Ctrl-C to stop")
    simulator.open_door(0, 12)
    assert re.fullmatch(rf"{STAMP}  board 0 lock 12  door OPEN", watch.line())
    simulator.set_connected(False, board=1)
    assert re.fullmatch(rf"{STAMP}  board 1  no reply: board 1 did not answer within 20 ms", watch.line())
    simulator.set_connected(True, board=1)
    assert re.fullmatch(rf"{STAMP}  board 1  answers again", watch.line())
    simulator.close_door(0, 12)
    assert re.fullmatch(rf"{STAMP}  board 0 lock 12  door closed", watch.line())
    watch.process.send_signal(signal.SIGINT)
    assert watch.finish() == (0, [], "")


def test_test_reports_the_doors_that_did_not_open_or_close(simulator: KerongSimulator, pty_path: str,
                                                          cli: Callable[..., Cli]) -> None:
    simulator.open_door(0, 1)  # left open before the test: it is waited for first
    simulator.jam(0, 2)
    simulator.set_door_sticks(0, 5)
    run = cli("--port", pty_path, "test", "--board", "0", "--lock", "1", "--lock", "2", "--lock", "5",
              "--lock", "6", "--confirm", "0.1", "--wait-close", "1", "--json")
    assert run.record() == {"event": "start", "board": 0, "locks": [1, 2, 5, 6], "wait_close": 1.0}
    assert run.record() == {"event": "already-open", "board": 0, "lock": 1, "wait_close": 1.0}
    simulator.close_door(0, 1)
    for lock, closes in ((1, True), (5, False), (6, True)):
        if lock == 5:
            assert run.record() == {"event": "did-not-open", "board": 0, "lock": 2}
        assert run.record() == {"event": "opened", "board": 0, "lock": lock, "wait_close": 1.0}
        simulator.close_door(0, lock)  # lock 5's door sticks: it swings open again
        expected = "closed" if closes else "did-not-close"
        assert run.record() == {"event": expected, "board": 0, "lock": lock}
    assert run.record() == {"event": "result", "board": 0, "ok": False, "interrupted": False,
                            "passed": [1, 6], "did_not_open": [2], "did_not_close": [5], "errors": {}}
    code, [failure], error = run.finish()
    assert (code, json.loads(failure)["error"]) == (3, "test failed")
    assert error == "locker-hal: board 0: 2 of 4 locks passed; did not open: 2; did not close: 5\n"


def test_test_of_a_whole_board_that_passes(simulator: KerongSimulator, pty_path: str,
                                           cli: Callable[..., Cli]) -> None:
    run = cli("--port", pty_path, "test", "--board", "1")
    all_locks = ", ".join(map(str, range(1, 17)))
    assert run.line() == (f"testing board 1 on {pty_path} (kerong-cu16): locks {all_locks}, one after "
                          "another; close each door after it opens (up to 30 s)")
    for lock in range(1, 17):
        assert run.line() == f"lock {lock}: open; close it (waiting up to 30 s)"
        assert simulator.door_open(1, lock)
        simulator.close_door(1, lock)
        assert run.line() == f"lock {lock}: closed, ok"
    assert run.finish() == (0, ["board 1: 16 of 16 locks passed"], "")


def test_test_stops_cleanly_on_sigterm(simulator: KerongSimulator, pty_path: str,
                                       cli: Callable[..., Cli]) -> None:
    run = cli("--port", pty_path, "test", "--board", "0", "--json")
    assert run.record()["event"] == "start"
    assert run.record() == {"event": "opened", "board": 0, "lock": 1, "wait_close": 30.0}
    run.process.send_signal(signal.SIGTERM)
    result = run.record()
    assert (result["event"], result["interrupted"], result["passed"]) == ("result", True, [])
    code, [failure], error = run.finish()
    assert (code, json.loads(failure)["error"], error) == (130, "interrupted", "locker-hal: interrupted\n")


# every registered protocol --------------------------------------------------------------------------------
@pytest.fixture(params=known_protocols())
def any_simulator(request: pytest.FixtureRequest) -> Iterator[SimulatedBoards]:
    try:
        simulator = make_simulator(request.param, boards=1)
    except ProtocolUnavailable as exc:
        pytest.skip(f"{request.param} is not in this tree yet: {exc}")
    yield simulator
    simulator.stop()


def test_every_protocol_through_the_cli(any_simulator: SimulatedBoards, cli: Callable[..., Cli],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    protocol = any_simulator.protocol
    path = any_simulator.serve_pty()
    bus = ["--port", path, "--protocol", protocol]

    first = board_range(protocol).start  # a simulator's one board is the first its protocol can have
    code, [found], error = hal_json(capsys, *bus, "--timeout", "0.05", "scan", "--range",
                                    f"{first}-{first + 3}")
    assert (code, error, len(found["boards"])) == (0, "", 1), found
    board = found["boards"][0]
    code, [status], _ = hal_json(capsys, *bus, "status", "--board", str(board))
    assert code == 0
    locks = status["boards"][0]["locks"]
    assert locks[0]["lock"] == 1 and not any(lock["door_open"] for lock in locks)

    code, [opened], _ = hal_json(capsys, *bus, "open", "--board", str(board), "--lock", "1")
    assert (code, opened["door_open"]) == (0, True)
    assert any_simulator.door_open(board, 1)
    code, [all_open], _ = hal_json(capsys, *bus, "open-all", "--board", str(board))
    assert (code, all_open["closed"]) == (0, [])
    for lock in locks:
        any_simulator.close_door(board, lock["lock"])

    watch = cli(*bus, "watch", "--board", str(board), "--interval", "0.02", "--json")
    assert watch.record()["event"] == "watching"
    any_simulator.open_door(board, 2)
    change = watch.record()
    assert (change["event"], change["board"], change["lock"], change["door_open"]) == ("door", board, 2, True)
    watch.process.send_signal(signal.SIGTERM)
    assert watch.finish()[0] == 0


def test_every_protocol_can_be_served_by_the_cli(any_simulator: SimulatedBoards,
                                                 cli: Callable[..., Cli]) -> None:
    protocol = any_simulator.protocol
    served = cli("sim", protocol, "--boards", "1", "--pty", "--faults", "garble=1,delay=0")
    assert served.line().startswith(f"serving {protocol} (1 board) on /dev/pts/")
    assert served.line() == "faults: garble=1, delay=0"
    served.process.send_signal(signal.SIGTERM)
    assert served.finish() == (0, [], "")


def test_the_command_line_loads_no_numpy_until_a_camera_or_decode_command_runs() -> None:
    """numpy's BLAS starts threads at import that do not block SIGTERM: one of them would take the signal
    meant for `sim`'s sigwait and the process would die (exit -15) instead of stopping its simulator."""
    check = "import sys, hal.cli; sys.exit(1 if {'numpy', 'cv2'} & set(sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", check], cwd=REPO, timeout=30).returncode == 0

"""The BU driver against the simulator, over a real pseudo-terminal and the in-process transport; and
against scripted boards that answer with whatever a property test hands them."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hal.lockboard.base import BadFrame, BoardFamilyDriver, BoardStatus, LockStatus, NoReply, PortGone
from hal.lockboard.bu import BuDriver, BuSimulator
from hal.lockboard.bu.simulator import EventKind, SimEvent
from hal.lockboard.simulator_registry import SimLink
from hal.transport import register_simulator, unregister_simulator

TIMEOUT = 0.05
_names = itertools.count()


@pytest.fixture
def simulator() -> Iterator[BuSimulator]:
    sim = BuSimulator(boards=2, baudrate=None)  # at once: the tests of one board keep the 9600 baud wire time
    yield sim
    sim.stop()


@pytest.fixture
def sim_url(simulator: BuSimulator) -> Iterator[str]:
    name = f"bu-driver-test-{next(_names)}"
    register_simulator(name, simulator)
    yield f"sim://{name}"
    unregister_simulator(name)


@pytest.fixture(params=["pty", "sim"])
def url(request: pytest.FixtureRequest, simulator: BuSimulator) -> str:
    if request.param == "pty":
        return simulator.serve_pty()
    value: str = request.getfixturevalue("sim_url")
    return value


@pytest.fixture
def driver(url: str) -> Iterator[BuDriver]:
    with BuDriver(url, timeout=TIMEOUT, retries=1, unlock_timeout=0.2) as bus:
        yield bus


@pytest.fixture
def sim_driver(sim_url: str) -> Iterator[BuDriver]:
    """For the faults, whose handling does not depend on the transport (the pty runs the door's life)."""
    with BuDriver(sim_url, timeout=TIMEOUT, retries=1, unlock_timeout=0.2) as bus:
        yield bus


def open_locks(driver: BuDriver, board: int) -> list[int]:
    return [lock for lock, reading in driver.status(board).locks.items() if reading.door_open]


def frames_in(simulator: BuSimulator) -> list[bytes]:
    """A list that fills with every request the simulated boards receive."""
    received: list[bytes] = []

    def on_event(event: SimEvent) -> None:
        if event.kind == EventKind.FRAME_IN:
            received.append(event.frame)

    simulator.add_listener(on_event)
    return received


# the door's life -------------------------------------------------------------------------------------------
def test_a_closed_board_reads_24_closed_locks_and_no_parcel_sensor(driver: BuDriver) -> None:
    family: BoardFamilyDriver = driver  # checked by mypy
    assert (family.protocol, driver.board_range) == ("bu", range(1, 65))
    status = driver.status(1)
    assert status == BoardStatus(board=1, locks={lock: LockStatus(False, None) for lock in range(1, 25)})


def test_unlock_then_status_shows_the_door_open_until_closed(driver: BuDriver,
                                                             simulator: BuSimulator) -> None:
    driver.unlock(2, 17)
    assert open_locks(driver, 2) == [17]
    assert open_locks(driver, 1) == []
    simulator.close_door(2, 17)
    assert open_locks(driver, 2) == []


def test_parcels_are_never_reported(driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.set_occupied(1, 9, True)
    assert driver.status(1).locks[9] == LockStatus(door_open=False, occupied=None)


def test_a_jammed_latch_stays_closed(driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.jam(1, 24)
    driver.unlock(1, 24)
    assert open_locks(driver, 1) == []


def test_doors_pulled_open_or_left_open_read_open(driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.open_door(1, 2)
    simulator.set_door_sticks(1, 5)
    driver.unlock(1, 5)
    simulator.close_door(1, 5)
    assert open_locks(driver, 1) == [2, 5]


def test_an_unlock_is_sent_once_even_unanswered(url: str, simulator: BuSimulator) -> None:
    received = frames_in(simulator)
    simulator.set_unlock_ack(False)
    with BuDriver(url, timeout=TIMEOUT, unlock_timeout=0.02) as quick:
        quick.unlock(1, 1)
        assert received == [bytes.fromhex("8A 01 01 11 9B")]
        assert open_locks(quick, 1) == [1]


def test_unlock_all_opens_every_lock_but_a_jammed_one(driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.jam(2, 8)
    driver.unlock_all(2)
    assert open_locks(driver, 2) == [lock for lock in range(1, 25) if lock != 8]
    assert open_locks(driver, 1) == []


def test_unlock_all_waits_for_each_echo_so_a_pulsing_board_is_never_talked_over(
        sim_url: str, simulator: BuSimulator) -> None:
    simulator.set_pulse_time(0.01)
    events: list[SimEvent] = []
    simulator.add_listener(events.append)
    with BuDriver(sim_url, timeout=TIMEOUT, retries=0, unlock_timeout=0.5, locks_per_board=6) as driver:
        started = time.monotonic()
        driver.unlock_all(1)
        assert time.monotonic() - started >= 6 * 0.01
    assert [event.lock for event in events if event.kind == EventKind.UNLOCK] == [1, 2, 3, 4, 5, 6]
    assert not [event for event in events if event.kind == EventKind.FRAME_IN and event.value is False]


def test_unlock_all_on_a_board_that_does_not_echo_carries_on() -> None:
    small = BuSimulator(boards=1, locks_per_board=4, baudrate=None)
    small.set_unlock_ack(False)
    register_simulator("bu-driver-no-echo", small)
    try:
        with BuDriver("sim://bu-driver-no-echo", timeout=TIMEOUT, unlock_timeout=0.01,
                      locks_per_board=4) as driver:
            driver.unlock_all(1)
            assert open_locks(driver, 1) == [1, 2, 3, 4]
    finally:
        unregister_simulator("bu-driver-no-echo")
        small.stop()


def test_unlock_all_on_a_silent_board_is_no_reply_and_stops(sim_driver: BuDriver,
                                                            simulator: BuSimulator) -> None:
    received = frames_in(simulator)
    simulator.set_connected(False, board=2)
    with pytest.raises(NoReply, match="board 2 does not answer: unlock of all locks stopped at lock 1 of 24"):
        sim_driver.unlock_all(2)
    unlocks = [frame for frame in received if frame[0] == 0x8A]
    assert unlocks == [bytes.fromhex("8A 02 01 11 98")], "no more pulses once the board is known gone"


def test_a_twelve_lock_board() -> None:
    small = BuSimulator(boards=1, locks_per_board=12)
    path = small.serve_pty()
    try:
        with BuDriver(path, timeout=TIMEOUT, locks_per_board=12) as driver:
            driver.unlock_all(1)
            assert open_locks(driver, 1) == list(range(1, 13))
            with pytest.raises(ValueError, match="lock must be 1-12"):
                driver.unlock(1, 13)
    finally:
        small.stop()


@pytest.mark.parametrize("closed_bit", [0, 1])
def test_both_switch_wirings(closed_bit: int) -> None:
    simulator = BuSimulator(boards=1, closed_bit=closed_bit)
    path = simulator.serve_pty()
    try:
        with BuDriver(path, closed_bit=closed_bit, timeout=TIMEOUT) as driver:
            driver.unlock(1, 4)
            assert open_locks(driver, 1) == [4]
        # the wrong setting reads every door inverted: why the setting exists
        with BuDriver(path, closed_bit=1 - closed_bit, timeout=TIMEOUT) as driver:
            assert len(open_locks(driver, 1)) == 23
    finally:
        simulator.stop()


# failures ---------------------------------------------------------------------------------------------
def test_a_disconnected_bus_is_no_reply_quickly(driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.set_connected(False)
    started = time.monotonic()
    with pytest.raises(NoReply, match=r"^board 1 did not answer within 50 ms \(2 attempts\)$"):
        driver.status(1)
    assert time.monotonic() - started < 0.5


def test_a_board_that_is_not_on_the_bus_is_no_reply(sim_driver: BuDriver) -> None:
    with pytest.raises(NoReply, match="board 7"):
        sim_driver.status(7)


def test_one_garbled_reply_is_retried(sim_driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.garble_replies(1)
    assert sim_driver.status(1).board == 1


def test_garbled_replies_beyond_the_retries_are_bad_frame(sim_driver: BuDriver,
                                                          simulator: BuSimulator) -> None:
    simulator.garble_replies(2)
    with pytest.raises(BadFrame, match=r"^board 1: bad checksum 0xB2, expected 0x4D: 80 01 FF FF FF 33 B2 "
                                       r"\(2 attempts\)$"):
        sim_driver.status(1)
    assert sim_driver.status(1).board == 1


def test_line_noise_around_replies_is_skipped(sim_driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.noise_replies(3, before=b"\x8a\x00\x80", after=b"\x80\x01")
    simulator.noise_replies(3, before=b"\x11\x33", after=b"\x8a")
    sim_driver.unlock(1, 6)
    for _ in range(6):
        assert open_locks(sim_driver, 1) == [6]


def test_a_slow_board_is_no_reply_and_its_late_answers_do_no_harm(sim_driver: BuDriver,
                                                                   simulator: BuSimulator) -> None:
    kinds: list[EventKind] = []
    simulator.add_listener(lambda event: kinds.append(event.kind))
    simulator.open_door(1, 5)  # before the slow reads, so that their late answers hold the same news
    simulator.set_reply_delay(0.25)
    with pytest.raises(NoReply):
        sim_driver.status(1)
    simulator.set_reply_delay(0)
    deadline = time.monotonic() + 5
    while kinds.count(EventKind.FRAME_OUT) < kinds.count(EventKind.FRAME_IN) and time.monotonic() < deadline:
        # the late answers arrive during these reads: thrown away, or taken as the answer they are
        assert open_locks(sim_driver, 1) == [5]
    assert kinds.count(EventKind.FRAME_OUT) == kinds.count(EventKind.FRAME_IN), "every request answered"
    assert open_locks(sim_driver, 1) == [5]


def test_a_busy_board_is_retried(sim_driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.set_busy(1, 1)
    assert sim_driver.status(1).board == 1, "the retry reaches the board once it is free"
    simulator.set_busy(1, 2)
    with pytest.raises(NoReply, match="2 attempts"):
        sim_driver.status(1)


def test_unlock_waits_out_the_pulse(sim_url: str, simulator: BuSimulator) -> None:
    simulator.set_pulse_time(0.1)
    with BuDriver(sim_url, timeout=TIMEOUT, retries=0, unlock_timeout=1.0) as driver:
        started = time.monotonic()
        driver.unlock(1, 1)
        assert time.monotonic() - started >= 0.1
        assert open_locks(driver, 1) == [1], "answered at once: the board is no longer busy"


def test_arguments_are_checked_before_anything_is_sent(sim_driver: BuDriver) -> None:
    calls: list[Callable[[], object]] = [
        lambda: sim_driver.unlock(0, 1), lambda: sim_driver.unlock(65, 1), lambda: sim_driver.unlock(1, 0),
        lambda: sim_driver.unlock(1, 25), lambda: sim_driver.status(0), lambda: sim_driver.unlock_all(65),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="must be"):
            call()
    for options, message in [({"timeout": 0}, "timeout"), ({"unlock_timeout": -1}, "unlock_timeout"),
                             ({"retries": -1}, "retries"), ({"baudrate": 0}, "baudrate"),
                             ({"locks_per_board": 25}, "locks_per_board"), ({"closed_bit": 2}, "closed_bit")]:
        with pytest.raises(ValueError, match=message):
            BuDriver("sim://x", **options)


def test_a_closed_driver_refuses_calls(sim_driver: BuDriver) -> None:
    sim_driver.close()
    sim_driver.close()
    with pytest.raises(PortGone, match="driver closed"):
        sim_driver.status(1)
    with pytest.raises(PortGone, match="driver closed"):
        sim_driver.unlock(1, 1)


def test_calls_from_many_threads_take_turns_on_the_bus(driver: BuDriver, simulator: BuSimulator) -> None:
    simulator.open_door(2, 1)
    failures: list[BaseException] = []

    def read_repeatedly(board: int) -> None:
        try:
            for _ in range(10):
                assert open_locks(driver, board) == ([1] if board == 2 else [])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=read_repeatedly, args=(board % 2 + 1,)) for board in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert failures == []


# the port vanishing and coming back -----------------------------------------------------------------------
def test_a_stopped_pty_simulator_is_port_gone(simulator: BuSimulator) -> None:
    with BuDriver(simulator.serve_pty(), timeout=TIMEOUT) as driver:
        assert driver.status(1).board == 1
        simulator.stop()
        with pytest.raises(PortGone, match="vanished"):
            driver.status(1)
        # The pty number is free now and another program may take it; the reconnect is shown below.


def test_the_driver_reconnects_on_the_next_call_after_the_port_vanished(simulator: BuSimulator,
                                                                       sim_url: str) -> None:
    with BuDriver(sim_url, timeout=TIMEOUT) as driver:
        driver.unlock(1, 1)
        simulator.stop()  # the adapter is unplugged...
        with pytest.raises(PortGone, match="vanished"):
            driver.status(1)
        started = time.monotonic()
        assert open_locks(driver, 1) == [1], "...and plugged back: reopened on the next call"
        assert time.monotonic() - started < 2
        simulator.stop()
        with pytest.raises(PortGone, match="vanished"):
            driver.unlock(1, 2)
        unregister_simulator(sim_url.removeprefix("sim://"))
        with pytest.raises(PortGone, match="no simulator registered"):
            driver.unlock_all(1)


def test_a_missing_port_is_port_gone_on_first_use(tmp_path: Path) -> None:
    with BuDriver(str(tmp_path / "ttyUSB9"), timeout=TIMEOUT) as driver:
        for call in (lambda: driver.status(1), lambda: driver.unlock(1, 1), lambda: driver.unlock_all(1)):
            with pytest.raises(PortGone, match="no such device"):
                call()


# adapters that add bytes of their own --------------------------------------------------------------------
class _EchoingLink:
    """A half-duplex adapter: every byte written comes back to the host before the board's answer."""

    def __init__(self, link: SimLink) -> None:
        self._link = link

    def receive(self) -> bytes:
        data = self._link.receive()
        self._link.send(data)
        return data

    def send(self, data: bytes) -> None:
        self._link.send(data)

    def hang_up(self) -> None:
        self._link.hang_up()


class _EchoingAdapter:
    def __init__(self, simulator: BuSimulator) -> None:
        self._simulator = simulator

    def attach(self, link: SimLink) -> Callable[[], None]:
        return self._simulator.attach(_EchoingLink(link))


def test_an_echoing_adapter_is_learnt_and_the_echo_never_taken_for_the_answer(simulator: BuSimulator) -> None:
    register_simulator("bu-driver-echo", _EchoingAdapter(simulator))
    simulator.set_pulse_time(0.05)
    simulator.jam(1, 3)  # the board's answer is then byte for byte the unlock request, as is its echo
    try:
        with BuDriver("sim://bu-driver-echo", timeout=TIMEOUT, retries=0, unlock_timeout=1.0) as driver:
            assert driver.status(1).board == 1, "the echoed query-all request is skipped"
            started = time.monotonic()
            driver.unlock(1, 3)
            assert time.monotonic() - started >= 0.05, "waited for the board, not taken in by the echo"
            driver.unlock(1, 4)
            assert open_locks(driver, 1) == [4]
    finally:
        unregister_simulator("bu-driver-echo")


# scripted boards: whatever bytes a test wants, in answer to each request ------------------------------------
class _ScriptedBoard:
    """Answers each request with the next script entry (nothing once the script runs out)."""

    def __init__(self) -> None:
        self.script: list[bytes] = []
        self.requests: list[bytes] = []
        self._lock = threading.Lock()

    def attach(self, link: SimLink) -> Callable[[], None]:
        def answer() -> None:
            while data := link.receive():
                with self._lock:
                    self.requests.append(data)
                    reply = self.script.pop(0) if self.script else b""
                link.send(reply)

        thread = threading.Thread(target=answer, name="bu-scripted-board", daemon=True)
        thread.start()

        def detach() -> None:
            link.hang_up()
            thread.join()

        return detach

    def will_answer(self, *replies: bytes) -> None:
        with self._lock:
            self.script[:] = replies


@pytest.fixture
def scripted() -> Iterator[tuple[_ScriptedBoard, str]]:
    board = _ScriptedBoard()
    name = f"bu-scripted-{next(_names)}"
    register_simulator(name, board)
    yield board, f"sim://{name}"
    unregister_simulator(name)


def test_an_unlock_answered_with_an_80_head_is_accepted(scripted: tuple[_ScriptedBoard, str],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    board, url = scripted
    board.will_answer(bytes.fromhex("80 01 03 00 82"))  # some firmware answers an unlock so
    caplog.set_level(logging.DEBUG, logger="hal.lockboard.bu.driver")
    with BuDriver(url, timeout=TIMEOUT, unlock_timeout=5.0) as driver:
        started = time.monotonic()
        driver.unlock(1, 3)
        assert time.monotonic() - started < 2.5, "taken as the answer, not waited past"
    assert "unlock board 1 lock 3: the board reports the door open" in caplog.messages
    assert board.requests == [bytes.fromhex("8A 01 03 11 99")]


def test_an_answer_from_another_board_is_not_taken(scripted: tuple[_ScriptedBoard, str]) -> None:
    board, url = scripted
    board.will_answer(bytes.fromhex("80 02 FF FF FF 33 4E"))
    expected = r"^board 1: unexpected query-all reply from board 2 \(bits FFFFFF\)$"
    with BuDriver(url, timeout=TIMEOUT, retries=0) as driver, pytest.raises(BadFrame, match=expected):
        driver.status(1)


def test_an_incomplete_reply_is_bad_frame(scripted: tuple[_ScriptedBoard, str]) -> None:
    board, url = scripted
    board.will_answer(bytes.fromhex("80 01 FF FF"))
    expected = r"^board 1: incomplete reply 80 01 FF FF$"
    with BuDriver(url, timeout=TIMEOUT, retries=0) as driver, pytest.raises(BadFrame, match=expected):
        driver.status(1)


def _status_reply(board: int, bits: int) -> bytes:
    body = bytes([0x80, board, bits >> 16, bits >> 8 & 0xFF, bits & 0xFF, 0x33])
    return body + bytes([body[0] ^ body[1] ^ body[2] ^ body[3] ^ body[4] ^ body[5]])


def _bad_frames(rnd: random.Random, count: int) -> bytes:
    """`count` frames, each a good one of any kind with one byte changed, dropped, added or cut off."""
    out = bytearray()
    for _ in range(count):
        board, lock = rnd.randint(1, 64), rnd.randint(1, 24)
        body = rnd.choice([[0x8A, board, lock, rnd.choice([0x00, 0x11])],
                           [0x80, board, lock, rnd.choice([0x00, 0x11, 0x33])]])
        frame = bytearray([*body, body[0] ^ body[1] ^ body[2] ^ body[3]])
        if rnd.random() < 0.3:
            frame = bytearray(_status_reply(board, rnd.getrandbits(24)))
        where = rnd.randrange(len(frame))
        kind = rnd.randrange(4)
        if kind == 0:
            frame[where] ^= rnd.randint(1, 255)
        elif kind == 1:
            del frame[where]
        elif kind == 2:
            frame.insert(where, rnd.randrange(256))
        else:
            del frame[max(1, where) :]
        out += frame
    return bytes(out)


def _could_hide(garbage: bytes, good: bytes, board: int) -> bool:
    """Whether garbage could keep the driver from the good reply: a well-formed query-all reply from `board`
    anywhere in it (taken first), or one of any frame starting in it and reaching into the good reply."""
    stream = garbage + good
    for start, byte in enumerate(garbage):
        if byte not in (0x80, 0x8A):
            continue
        for length in (7, 5) if byte == 0x80 else (5,):
            window = stream[start : start + length]
            codes = (0x00, 0x11, 0x33) if byte == 0x80 else (0x00, 0x11)
            checks = window[-1] == _xor_all(window[:-1]) and len(window) == length
            well_formed = checks and (window[5] == 0x33 if length == 7 else window[3] in codes)
            if well_formed and (start + length > len(garbage) or (length == 7 and window[1] == board)):
                return True
    return False


def _xor_all(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def test_ten_thousand_bad_frames_before_the_reply_are_skipped(scripted: tuple[_ScriptedBoard, str]) -> None:
    """200 exchanges, each answered by 50 bad frames and then the good reply, through one driver."""
    board, url = scripted
    with BuDriver(url, timeout=0.5, retries=0) as driver:
        @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.integers(0, 2**32 - 1), st.integers(1, 64), st.integers(0, 0xFFFFFF))
        def check(seed: int, address: int, bits: int) -> None:
            garbage = _bad_frames(random.Random(seed), 50)
            good = _status_reply(address, bits)
            if _could_hide(garbage, good, address):
                return  # no checksum can tell such garbage from a reply (see _could_hide)
            board.will_answer(garbage + good)
            status = driver.status(address)
            assert [lock for lock, reading in status.locks.items() if not reading.door_open] == [
                lock for lock in range(1, 25) if bits >> (lock - 1) & 1]

        check()


def test_random_answers_never_crash_or_hang_the_driver(scripted: tuple[_ScriptedBoard, str]) -> None:
    board, url = scripted
    with BuDriver(url, timeout=0.005, retries=1, unlock_timeout=0.005) as driver:
        @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(st.binary(max_size=40), min_size=2, max_size=2), st.booleans())
        def check(answers: list[bytes], unlocking: bool) -> None:
            board.will_answer(*answers)
            started = time.monotonic()
            try:
                if unlocking:
                    driver.unlock(1, 1)  # answered or not, an unlock never fails but for the port
                else:
                    driver.status(1)
            except (NoReply, BadFrame):
                pass
            assert time.monotonic() - started < 1.0

        check()

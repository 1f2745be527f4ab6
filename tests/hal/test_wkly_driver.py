"""The WKLY driver against its simulator over a real pseudo-terminal, TCP and sim://, and its reader thread
fed random and damaged frames."""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.lockboard.base import BadFrame, DoorChange, LockStatus, NoReply, PortGone, PushingDriver
from hal.lockboard.simulator_registry import SimLink
from hal.lockboard.wkly import codec
from hal.lockboard.wkly.codec import FrameError
from hal.lockboard.wkly.driver import BoardRefused, WklyDriver
from hal.lockboard.wkly.simulator import EventKind, SimEvent, WklySimulator
from hal.transport import register_simulator, unregister_simulator

TIMEOUT = 0.1
H = "57 4B 4C 59"
_names = itertools.count()
T = TypeVar("T")


class Recorder(Generic[T]):
    """A listener that remembers what it was given and lets a test wait for it, with a deadline."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.items: list[T] = []

    def __call__(self, item: T) -> None:
        with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[T]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.items) >= count, timeout)
            return list(self.items)


def doors(changes: list[DoorChange]) -> list[tuple[int, int, bool]]:
    return [(change.board, change.lock, change.door_open) for change in changes]


@pytest.fixture
def sim() -> Iterator[WklySimulator]:
    simulator = WklySimulator(boards=2, baudrate=None)  # 24 locks a board; answers without wire time
    yield simulator
    simulator.stop()


def _register(simulator: object) -> str:
    name = f"wkly-driver-test-{next(_names)}"
    register_simulator(name, simulator)  # type: ignore[arg-type]
    return name


@pytest.fixture
def sim_url(sim: WklySimulator) -> Iterator[str]:
    name = _register(sim)
    yield f"sim://{name}"
    unregister_simulator(name)


@pytest.fixture(params=["pty", "sim"])
def url(request: pytest.FixtureRequest, sim: WklySimulator) -> str:
    if request.param == "pty":
        return sim.serve_pty()
    value: str = request.getfixturevalue("sim_url")
    return value


@pytest.fixture
def driver(url: str) -> Iterator[WklyDriver]:
    with WklyDriver(url, timeout=TIMEOUT, retries=1, unlock_timeout=TIMEOUT) as bus:
        yield bus


@pytest.fixture
def changes(driver: WklyDriver) -> Recorder[DoorChange]:
    recorder: Recorder[DoorChange] = Recorder()
    driver.add_door_listener(recorder)
    assert driver.wait_connected(2), "pushes only reach a driver whose port is open"
    return recorder


@contextlib.contextmanager
def sim_stopped(simulator: WklySimulator) -> Iterator[WklySimulator]:
    try:
        yield simulator
    finally:
        simulator.stop()


def open_locks(driver: WklyDriver, board: int) -> list[int]:
    return [lock for lock, reading in driver.status(board).locks.items() if reading.door_open]


# the family contract ----------------------------------------------------------------------------------------
def test_it_is_a_pushing_driver_and_does_nothing_until_used() -> None:
    before = threading.active_count()
    driver: PushingDriver = WklyDriver("sim://nothing-registered-here")
    assert driver.protocol == "wkly"
    assert threading.active_count() == before, "no reader thread before the first use"
    driver.close()


def test_a_closed_board_reads_24_closed_doors_and_no_parcel_sensor(driver: WklyDriver) -> None:
    status = driver.status(0)
    assert status.board == 0
    assert status.locks == {lock: LockStatus(door_open=False, occupied=None) for lock in range(1, 25)}


def test_unlock_then_the_door_reads_open_until_closed(driver: WklyDriver, sim: WklySimulator) -> None:
    driver.unlock(1, 3)
    assert open_locks(driver, 1) == [3]
    assert driver.lock_status(1, 3) == LockStatus(door_open=True, occupied=None)
    assert open_locks(driver, 0) == []
    sim.close_door(1, 3)
    assert open_locks(driver, 1) == []
    assert driver.lock_status(1, 3).door_open is False


# pushes -----------------------------------------------------------------------------------------------------
def test_doors_moved_by_hand_are_pushed_while_idle(driver: WklyDriver, sim: WklySimulator,
                                                   changes: Recorder[DoorChange]) -> None:
    before = time.monotonic()
    sim.open_door(0, 5)
    sim.close_door(0, 5)
    got = changes.wait_for(2)
    assert doors(got) == [(0, 5, True), (0, 5, False)]
    assert before <= got[0].at <= got[1].at <= time.monotonic()


def test_an_unlock_is_reported_once_even_though_push_and_reply_both_say_so(
        driver: WklyDriver, changes: Recorder[DoorChange]) -> None:
    driver.unlock(1, 3)
    # the board pushes before it replies, and the reader hands both over in wire order
    assert doors(changes.items) == [(1, 3, True)]
    assert open_locks(driver, 1) == [3]
    assert doors(changes.items) == [(1, 3, True)]


def test_a_push_while_a_request_waits_is_delivered_and_the_reply_still_matched(
        driver: WklyDriver, sim: WklySimulator, changes: Recorder[DoorChange]) -> None:
    def door_opens_meanwhile(event: SimEvent) -> None:
        if event.kind == EventKind.FRAME_IN and event.frame == codec.query_all_request(0):
            sim.open_door(0, 7)  # pushed at once, while the board is still working on the reply

    sim.add_listener(door_opens_meanwhile)
    assert open_locks(driver, 0) == [7]
    assert doors(changes.items) == [(0, 7, True)], "delivered before status() returned"


def test_unlock_all_pushes_every_door_that_opens(driver: WklyDriver, sim: WklySimulator,
                                                 changes: Recorder[DoorChange]) -> None:
    sim.jam(0, 2)
    driver.unlock_all(0)
    got = changes.wait_for(23)
    assert sorted(change.lock for change in got) == [lock for lock in range(1, 25) if lock != 2]
    assert all(change.board == 0 and change.door_open for change in got)
    assert len(open_locks(driver, 0)) == 23


def test_a_push_lost_to_noise_is_made_good_by_the_next_status_read(
        driver: WklyDriver, sim: WklySimulator, changes: Recorder[DoorChange]) -> None:
    errors: Recorder[FrameError] = Recorder()
    driver.add_frame_error_listener(errors)
    assert open_locks(driver, 0) == []  # the driver now knows every door of board 0
    sim.garble_pushes(1)
    sim.open_door(0, 4)
    assert [error.reason.split(",")[0] for error in errors.wait_for(1)] == ["bad checksum 0x7D"]
    assert changes.items == []
    assert open_locks(driver, 0) == [4]
    assert doors(changes.items) == [(0, 4, True)]
    assert driver.frame_errors == 1


def test_a_change_while_a_board_was_cut_off_shows_up_at_the_next_read(
        driver: WklyDriver, sim: WklySimulator, changes: Recorder[DoorChange]) -> None:
    assert open_locks(driver, 1) == []
    sim.set_connected(False, board=1)
    sim.open_door(1, 9)
    with pytest.raises(NoReply):
        driver.status(1)
    sim.set_connected(True)
    assert changes.items == []
    assert open_locks(driver, 1) == [9]
    assert doors(changes.items) == [(1, 9, True)]


def test_a_failing_listener_does_not_stop_the_reader(driver: WklyDriver, sim: WklySimulator,
                                                     changes: Recorder[DoorChange]) -> None:
    def broken(change: DoorChange) -> None:
        raise RuntimeError("the screen went away")

    driver.add_door_listener(broken)
    driver.add_frame_error_listener(broken)  # type: ignore[arg-type]
    sim.inject(b"\x00")
    sim.open_door(1, 1)
    assert doors(changes.wait_for(1)) == [(1, 1, True)]
    driver.remove_door_listener(changes)
    driver.remove_door_listener(changes)  # harmless twice
    sim.close_door(1, 1)
    assert open_locks(driver, 1) == []
    assert doors(changes.items) == [(1, 1, True)]


def test_garbage_between_frames_is_reported_and_skipped(driver: WklyDriver, sim: WklySimulator,
                                                        changes: Recorder[DoorChange]) -> None:
    errors: Recorder[FrameError] = Recorder()
    driver.add_frame_error_listener(errors)
    sim.inject(b"\x00\xffWK\x13")
    sim.open_door(0, 1)
    sim.inject(bytes.fromhex(f"{H} 0A 00 85 01"))  # a push cut off after eight bytes...
    sim.close_door(0, 1)  # ... cannot take this one with it
    assert doors(changes.wait_for(2)) == [(0, 1, True), (0, 1, False)]
    assert [error.reason for error in errors.wait_for(2)] == [
        "5 byte(s) of noise outside any frame: 00 FF 57 4B 13",
        "frame cut short: a new frame starts at byte 8 of 10"]
    driver.remove_frame_error_listener(errors)
    assert open_locks(driver, 0) == []


# failures ---------------------------------------------------------------------------------------------------
def test_a_disconnected_bus_is_no_reply_quickly(driver: WklyDriver, sim: WklySimulator) -> None:
    sim.set_connected(False)
    started = time.monotonic()
    with pytest.raises(NoReply, match=r"^board 0 did not answer within 100 ms \(2 attempts\)$"):
        driver.status(0)
    assert time.monotonic() - started < 1
    driver.unlock(0, 1)  # the acknowledgement is optional, so silence is no error here
    sim.set_connected(True)
    assert open_locks(driver, 0) == [], "the pulse never reached a board cut off the bus"


def test_an_unacknowledged_unlock_raises_when_acknowledgements_are_required(sim: WklySimulator,
                                                                            sim_url: str) -> None:
    with WklyDriver(sim_url, timeout=TIMEOUT, unlock_timeout=TIMEOUT, require_unlock_ack=True) as driver:
        driver.unlock(0, 1)
        sim.set_connected(False, board=0)
        with pytest.raises(NoReply, match=r"^board 0 did not answer within 100 ms$"):
            driver.unlock(0, 2)
        sim.set_connected(True)
        sim.garble_replies(1)
        with pytest.raises(BadFrame, match="bad checksum"):
            driver.unlock_all(0)


def test_a_board_that_is_not_on_the_bus_is_no_reply(driver: WklyDriver) -> None:
    with pytest.raises(NoReply, match="board 7"):
        driver.lock_status(7, 1)


def test_one_garbled_reply_is_retried(driver: WklyDriver, sim: WklySimulator) -> None:
    sim.garble_replies(1)
    assert driver.status(0).board == 0


def test_garbled_replies_beyond_the_retries_are_bad_frame(driver: WklyDriver, sim: WklySimulator) -> None:
    sim.garble_replies(2)
    with pytest.raises(BadFrame, match=r"^board 0: bad checksum 0x48, expected 0xB7: .*\(2 attempts\)$"):
        driver.status(0)
    assert driver.status(0).board == 0


def test_status_ff_is_a_clear_refusal(driver: WklyDriver, sim: WklySimulator) -> None:
    refusal = r"^board 0 refused to open lock 30 \(status 0xFF: no such lock, or busy\)$"
    with pytest.raises(BoardRefused, match=refusal):
        driver.unlock(0, 30)
    sim.set_busy(board=1, requests=4)
    for call, what in ((lambda: driver.status(1), "the status query"),
                       (lambda: driver.lock_status(1, 2), "the query of lock 2"),
                       (lambda: driver.unlock(1, 2), "to open lock 2"),
                       (lambda: driver.unlock_all(1), "to open all locks")):
        with pytest.raises(BoardRefused, match=f"^board 1 refused {what} "):
            call()
    assert not sim.door_open(1, 2)
    assert open_locks(driver, 1) == [], "busy no more"


def test_a_jammed_latch_is_no_error_and_the_door_stays_shut(driver: WklyDriver, sim: WklySimulator,
                                                             changes: Recorder[DoorChange]) -> None:
    sim.jam(0, 16)
    driver.unlock(0, 16)
    assert driver.lock_status(0, 16).door_open is False
    assert changes.items == []


def test_a_reply_late_for_its_attempt_answers_the_retry(driver: WklyDriver, sim: WklySimulator) -> None:
    sim.set_reply_delay(TIMEOUT * 1.3)
    assert driver.status(1).board == 1


def test_a_long_reply_that_begins_in_time_is_waited_for() -> None:
    sim = WklySimulator(boards=1, locks=245, baudrate=9600)  # 255 bytes: 266 ms on the wire
    with sim_stopped(sim), WklyDriver(sim.serve_pty(), timeout=0.1, retries=0) as driver:
        started = time.monotonic()
        assert len(driver.status(0).locks) == 245
        assert time.monotonic() - started > 0.25


def test_unlock_waits_for_the_acknowledgement_that_follows_the_pulse(sim: WklySimulator,
                                                                     sim_url: str) -> None:
    sim.set_pulse_time(0.2)
    with WklyDriver(sim_url, timeout=0.5, require_unlock_ack=True) as driver:
        recorder: Recorder[DoorChange] = Recorder()
        driver.add_door_listener(recorder)
        started = time.monotonic()
        driver.unlock(0, 3)
        assert time.monotonic() - started >= 0.2
        assert doors(recorder.items) == [(0, 3, True)], "pushed as the latch let go, before the reply"
    with WklyDriver(sim_url, timeout=0.5, unlock_timeout=0.05) as impatient:
        started = time.monotonic()
        impatient.unlock(0, 4)  # gives up on the acknowledgement, which is optional
        assert time.monotonic() - started < 0.2
        assert impatient.lock_status(0, 4).door_open, "and the late acknowledgement did no harm"


def test_a_board_slower_than_every_attempt_is_no_reply_and_its_late_answers_do_no_harm(
        driver: WklyDriver, sim: WklySimulator) -> None:
    sim.set_reply_delay(TIMEOUT * 3)
    with pytest.raises(NoReply):
        driver.status(0)
    sim.set_reply_delay(0)
    sim.open_door(0, 5)
    assert open_locks(driver, 0) == [5]
    assert driver.lock_status(0, 5).door_open


def test_arguments_are_checked_before_anything_is_sent(driver: WklyDriver) -> None:
    for call in (lambda: driver.unlock(256, 1), lambda: driver.unlock(0, 0), lambda: driver.unlock(0, 246),
                 lambda: driver.status(-1), lambda: driver.unlock_all(True),
                 lambda: driver.lock_status(0, 0)):
        with pytest.raises(ValueError, match="must be"):
            call()
    for option, value in (("timeout", 0), ("retries", -1), ("baudrate", 0), ("reconnect_interval", 5),
                          ("unlock_timeout", -1)):
        with pytest.raises(ValueError, match=option):
            WklyDriver("sim://x", **{option: value})  # type: ignore[arg-type]


def test_a_closed_driver_refuses_calls_and_its_reader_is_gone(driver: WklyDriver) -> None:
    driver.status(0)
    assert any(thread.name.startswith("wkly-reader") for thread in threading.enumerate())
    driver.close()
    driver.close()
    assert not any(thread.name.startswith("wkly-reader") for thread in threading.enumerate())
    with pytest.raises(PortGone, match="driver closed"):
        driver.status(0)
    with pytest.raises(PortGone, match="driver closed"):
        driver.add_door_listener(print)


def test_calls_from_many_threads_take_turns_on_the_bus(driver: WklyDriver, sim: WklySimulator) -> None:
    sim.open_door(1, 1)
    failures: list[BaseException] = []

    def read_repeatedly(board: int) -> None:
        try:
            for _ in range(3):
                assert open_locks(driver, board) == ([1] if board else [])
                assert driver.lock_status(board, 1).door_open == bool(board)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=read_repeatedly, args=(number % 2,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert failures == []


def test_over_tcp_at_the_real_baud_rate_with_the_default_timeout() -> None:
    sim = WklySimulator(boards=2, baudrate=9600)  # a 24-lock status reply takes 35 ms on the wire
    port = sim.serve_tcp(0)
    with sim_stopped(sim), WklyDriver(f"socket://127.0.0.1:{port}") as driver:
        assert driver.timeout == 0.2
        assert driver.status(1).board == 1
        recorder: Recorder[DoorChange] = Recorder()
        driver.add_door_listener(recorder)
        driver.unlock(1, 2)
        assert doors(recorder.items) == [(1, 2, True)]
        sim.close_door(1, 2)
        assert doors(recorder.wait_for(2)) == [(1, 2, True), (1, 2, False)]


# the port vanishing and coming back -------------------------------------------------------------------------
def test_an_unplugged_bus_fails_the_waiting_call_at_once(sim: WklySimulator, sim_url: str) -> None:
    arrived = threading.Event()
    sim.add_listener(lambda event: arrived.set() if event.kind == EventKind.FRAME_IN else None)
    sim.set_reply_delay(5)
    with WklyDriver(sim_url, timeout=3) as driver:
        unplug = threading.Thread(target=lambda: arrived.wait(2) and sim.stop())
        unplug.start()
        started = time.monotonic()
        try:
            with pytest.raises(PortGone, match="vanished"):
                driver.status(0)
        finally:
            unplug.join()
        assert time.monotonic() - started < 1, "not after the 3 s timeout"


def test_the_reader_reconnects_on_its_own_within_two_seconds_over_sim(sim: WklySimulator) -> None:
    name = _register(sim)
    try:
        with WklyDriver(f"sim://{name}", timeout=TIMEOUT) as driver:
            recorder: Recorder[DoorChange] = Recorder()
            driver.add_door_listener(recorder)
            driver.unlock(0, 1)
            unregister_simulator(name)
            sim.stop()  # the adapter is unplugged, and nothing answers under its name
            with pytest.raises(PortGone):
                driver.status(0)
            assert not driver.connected
            register_simulator(name, sim)  # plugged back in
            plugged_at = time.monotonic()
            assert driver.wait_connected(2)
            assert time.monotonic() - plugged_at < 2
            assert open_locks(driver, 0) == [1]
            sim.close_door(0, 1)
            assert doors(recorder.wait_for(2)) == [(0, 1, True), (0, 1, False)], "pushes flow again"
    finally:
        unregister_simulator(name)


def test_the_reader_reconnects_on_its_own_within_two_seconds_over_a_real_pty(sim: WklySimulator,
                                                                            tmp_path: Path) -> None:
    # A udev-style symlink (like /dev/serial/by-id/...) names the adapter wherever the kernel puts it.
    adapter = tmp_path / "ttyUSB-wkly"
    adapter.symlink_to(sim.serve_pty())
    with WklyDriver(str(adapter), timeout=TIMEOUT) as driver:
        recorder: Recorder[DoorChange] = Recorder()
        driver.add_door_listener(recorder)
        driver.unlock(1, 5)
        sim.stop()  # unplugged
        with pytest.raises(PortGone):
            driver.status(1)
        adapter.unlink()
        adapter.symlink_to(sim.serve_pty())  # plugged back in, maybe as another tty
        plugged_at = time.monotonic()
        assert driver.wait_connected(2)
        assert time.monotonic() - plugged_at < 2
        assert open_locks(driver, 1) == [5]
        sim.close_door(1, 5)
        assert doors(recorder.wait_for(2)) == [(1, 5, True), (1, 5, False)]


def test_a_missing_port_is_port_gone_at_once_and_found_when_it_appears(sim: WklySimulator,
                                                                      tmp_path: Path) -> None:
    adapter = tmp_path / "ttyUSB9"
    with WklyDriver(str(adapter), timeout=TIMEOUT) as driver:
        started = time.monotonic()
        with pytest.raises(PortGone, match="no such device"):
            driver.status(0)
        with pytest.raises(PortGone, match="no such device"):
            driver.unlock(0, 1)
        assert time.monotonic() - started < 1
        adapter.symlink_to(sim.serve_pty())
        assert driver.wait_connected(2)
        assert driver.status(0).board == 0


# adapters that add bytes of their own -----------------------------------------------------------------------
class _AddingLink:
    """A link whose adapter adds bytes: echoes the request back (half-duplex), and bytes before or after
    everything the boards send (noise, or another board's push)."""

    def __init__(self, link: SimLink, adapter: _AddingAdapter) -> None:
        self._link = link
        self._adapter = adapter

    def receive(self) -> bytes:
        data = self._link.receive()
        if data and self._adapter.echo:
            self._link.send(data)
        return data

    def send(self, data: bytes) -> None:
        self._link.send(self._adapter.before + data + self._adapter.after)

    def hang_up(self) -> None:
        self._link.hang_up()


class _AddingAdapter:
    def __init__(self, simulator: WklySimulator, *, echo: bool = False, before: bytes = b"",
                 after: bytes = b"") -> None:
        self._simulator = simulator
        self.echo = echo
        self.before = before
        self.after = after

    def attach(self, link: SimLink) -> Callable[[], None]:
        return self._simulator.attach(_AddingLink(link, self))


PUSH_BOARD_1_LOCK_2_OPEN = codec.door_push(1, 2, door_open=True)


@pytest.mark.parametrize(
    ("echo", "before", "after"),
    [
        (True, b"", b""),
        (False, b"\x00\xff\x85", b""),
        (True, b"\x57\x4b\x99", b"\x57"),
        (False, PUSH_BOARD_1_LOCK_2_OPEN, b""),  # a push glued in front of every reply
        (True, b"", PUSH_BOARD_1_LOCK_2_OPEN),  # ... and behind it
    ],
)
def test_echoes_noise_and_glued_pushes_are_sorted_out(sim: WklySimulator, echo: bool, before: bytes,
                                                      after: bytes) -> None:
    sim.open_door(1, 2)  # what the glued push says: before anyone listens, so only the glued copies tell
    name = _register(_AddingAdapter(sim, echo=echo, before=before, after=after))
    try:
        with WklyDriver(f"sim://{name}", timeout=TIMEOUT, retries=0) as driver:
            recorder: Recorder[DoorChange] = Recorder()
            driver.add_door_listener(recorder)
            driver.unlock(1, 3)
            assert open_locks(driver, 1) == [2, 3]
            expected = [(1, 3, True)]
            if PUSH_BOARD_1_LOCK_2_OPEN in (before, after):
                expected.insert(0 if before else 1, (1, 2, True))
            assert doors(recorder.wait_for(len(expected))) == expected
    finally:
        unregister_simulator(name)


# properties: random and damaged frames through the reader ---------------------------------------------------
class _Wire:
    """A sim:// device that is nothing but a wire: the test puts bytes on it for the driver to read."""

    def __init__(self) -> None:
        self._links: list[SimLink] = []

    def attach(self, link: SimLink) -> Callable[[], None]:
        self._links.append(link)
        return lambda: self._links.remove(link)

    def send(self, data: bytes) -> None:
        for link in self._links:
            link.send(data)


def test_a_quiet_line_ends_a_frame_cut_off_and_lets_a_push_ending_in_0x57_through() -> None:
    wire = _Wire()
    name = _register(wire)
    try:
        with WklyDriver(f"sim://{name}", timeout=TIMEOUT) as driver:
            pushed: Recorder[DoorChange] = Recorder()
            errors: Recorder[FrameError] = Recorder()
            driver.add_door_listener(pushed)
            driver.add_frame_error_listener(errors)
            assert driver.wait_connected(2)
            wire.send(codec.door_push(0, 1, door_open=True)[:6])  # and then the board fell silent
            assert [error.reason for error in errors.wait_for(1)] == ["incomplete frame: 57 4B 4C 59 0A 00"]
            ends_in_0x57 = codec.door_push(0xD0, 1, door_open=True)  # 86 ^ D0 ^ 01 ^ 00 = 57
            assert ends_in_0x57[-1] == 0x57
            wire.send(ends_in_0x57)  # the last byte could begin a header: only silence settles it
            assert doors(pushed.wait_for(1)) == [(0xD0, 1, True)]
            assert len(errors.items) == 1
    finally:
        unregister_simulator(name)


def random_frame(rng: random.Random) -> bytes:
    board, lock, door_open = rng.randrange(256), rng.randint(1, 24), rng.random() < 0.5
    ok = rng.random() < 0.8
    one_lock_command = rng.choice([codec.Command.OPEN, codec.Command.QUERY])
    return rng.choice([
        lambda: codec.open_request(board, lock),
        lambda: codec.query_all_request(board),
        lambda: codec.lock_reply(one_lock_command, board, lock, door_open, ok=ok),
        lambda: codec.query_all_reply(board, [rng.random() < 0.5 for _ in range(rng.randint(0, 24))], ok=ok),
        lambda: codec.open_all_reply(board, ok=ok),
        lambda: codec.door_push(board, lock, door_open),
    ])()


def random_damage(rng: random.Random) -> bytes:
    """Noise, or line damage an 8-bit XOR always catches: a flipped byte, or a frame cut off."""
    if rng.random() < 0.3:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 24))).replace(b"\x57", b"\x00")
    frame = random_frame(rng)
    if rng.random() < 0.5:
        at = rng.randrange(len(frame))
        return frame[:at] + bytes([frame[at] ^ rng.randint(1, 255)]) + frame[at + 1 :]
    return frame[: rng.randint(1, len(frame) - 1)]


def test_the_reader_reports_every_damaged_frame_and_delivers_every_push() -> None:
    wire = _Wire()
    name = _register(wire)
    fed = 0
    try:
        with WklyDriver(f"sim://{name}", timeout=TIMEOUT) as driver:
            pushed: Recorder[DoorChange] = Recorder()
            errors: Recorder[FrameError] = Recorder()
            driver.add_door_listener(pushed)
            driver.add_frame_error_listener(errors)
            assert driver.wait_connected(2)
            last_known: dict[tuple[int, int], bool] = {}

            # Hypothesis picks the seed and the length; the frames come from a generator seeded with it,
            # many times faster than drawing 10,000 frames one strategy at a time (the codec's own
            # properties draw them one by one).
            @settings(max_examples=200, deadline=None)
            @given(st.integers(0, 2**32 - 1), st.integers(20, 40))
            def check(seed: int, count: int) -> None:
                nonlocal fed
                rng = random.Random(seed)
                known = dict(last_known)
                stream, expected = b"", []
                for index in range(count + 1):
                    # the last push, board 255 lock 1, is the end marker
                    key = (rng.randrange(4), rng.randint(1, 24)) if index < count else (255, 1)
                    door_open = not known.get(key, False)  # always news, so always delivered
                    known[key] = door_open
                    damage = random_damage(rng) if index < count else b""
                    stream += damage + codec.door_push(*key, door_open)
                    expected.append((*key, door_open))
                changes_before, errors_before = len(pushed.items), len(errors.items)
                wire.send(stream)
                got = pushed.wait_for(changes_before + len(expected))[changes_before:]
                for change in got:
                    last_known[change.board, change.lock] = change.door_open
                assert doors(got) == expected
                assert len(errors.items) - errors_before >= count, "a damaged frame went unreported"
                fed += 2 * count

            check()
    finally:
        unregister_simulator(name)
    assert fed >= 10_000, f"only {fed} frames went through the reader"


boards = st.integers(0, 255)
locks = st.integers(1, 24)
any_frame = st.one_of(
    st.builds(codec.open_request, boards, locks),
    st.builds(codec.query_all_request, boards),
    st.builds(codec.lock_reply, st.sampled_from([codec.Command.OPEN, codec.Command.QUERY]), boards, locks,
              st.booleans(), ok=st.booleans()),
    st.builds(codec.query_all_reply, boards, st.lists(st.booleans(), max_size=24), ok=st.booleans()),
    st.builds(codec.open_all_reply, boards, ok=st.booleans()),
    st.builds(codec.door_push, boards, locks, st.booleans()),
)


@st.composite
def damaged_frames(draw: st.DrawFn) -> bytes:
    """Line damage an 8-bit XOR always catches: a flipped byte, or a frame cut off."""
    frame = draw(any_frame)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(frame) - 1))
        return frame[:at] + bytes([frame[at] ^ draw(st.integers(1, 255))]) + frame[at + 1 :]
    return frame[: draw(st.integers(1, len(frame) - 1))]


damage = st.one_of(st.binary(min_size=1, max_size=24).map(lambda data: data.replace(b"\x57", b"\x00")),
                   damaged_frames())


def test_random_bytes_before_every_reply_never_stop_a_request(sim: WklySimulator) -> None:
    adapter = _AddingAdapter(WklySimulator(boards=1, locks=4, baudrate=None))
    name = _register(adapter)
    try:
        with WklyDriver(f"sim://{name}", timeout=0.5, retries=0) as driver:
            errors: Recorder[FrameError] = Recorder()
            driver.add_frame_error_listener(errors)

            @settings(max_examples=100, deadline=None)
            @given(st.lists(damage, min_size=1, max_size=5))
            def check(garbage: list[bytes]) -> None:
                adapter.before = b"".join(garbage)
                errors_before = len(errors.items)
                assert driver.status(0).locks == {lock: LockStatus(False, None) for lock in range(1, 5)}
                assert len(errors.items) > errors_before

            check()
    finally:
        unregister_simulator(name)
        adapter._simulator.stop()

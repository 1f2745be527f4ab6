"""kiosk.hardware.HalLockBus: the blocking Kerong driver seen as core's async LockBus, on the simulator."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from hal.lockboard import NoReply, PortGone, open_driver
from hal.lockboard.kerong.simulator import KerongSimulator
from hal.transport import register_simulator, unregister_simulator
from kiosk.core.model import LockReading
from kiosk.core.ports import BusError
from kiosk.hardware import HalLockBus

_names = itertools.count()


@pytest.fixture(autouse=True)
def no_thread_outlives_the_test() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leftover = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"


@pytest.fixture
def sim() -> Iterator[KerongSimulator]:
    simulator = KerongSimulator(boards=2, baudrate=None)
    yield simulator
    simulator.stop()


@pytest.fixture
def url(sim: KerongSimulator) -> Iterator[str]:
    name = f"lockbus-{next(_names)}"
    register_simulator(name, sim)
    yield f"sim://{name}"
    unregister_simulator(name)


@pytest.fixture
def bus(url: str) -> Iterator[HalLockBus]:
    adapter = HalLockBus(open_driver(url, "kerong-cu16", timeout=0.05, retries=0))
    yield adapter
    adapter.close()


def lockbus_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("lockbus")]


def test_unlock_and_read_with_locks_numbered_from_one(bus: HalLockBus, sim: KerongSimulator) -> None:
    sim.set_occupied(1, 16, True)

    async def scenario() -> None:
        await bus.unlock(1, 3)
        reading = await bus.read_board(1)
        assert sorted(reading) == list(range(1, 17))
        assert reading[3] == LockReading(door_open=True, occupied=False)
        assert reading[16] == LockReading(door_open=False, occupied=True)
        assert not any(reading[lock].door_open for lock in reading if lock != 3)

    asyncio.run(scenario())
    assert sim.door_open(1, 3) and not sim.door_open(0, 3)
    assert bus.protocol == "kerong-cu16"


def test_without_infrared_the_parcel_sensor_reads_none(url: str, sim: KerongSimulator) -> None:
    bus = HalLockBus(open_driver(url, "kerong-cu16", timeout=0.05, retries=0), infrared=False)
    sim.set_occupied(0, 1, True)
    try:
        reading = asyncio.run(bus.read_board(0))
    finally:
        bus.close()
    assert reading[1] == LockReading(door_open=False, occupied=None)


def test_hal_errors_become_bus_errors_with_the_same_message(url: str, bus: HalLockBus,
                                                          sim: KerongSimulator) -> None:
    sim.set_connected(False, board=1)
    direct = open_driver(url, "kerong-cu16", timeout=0.05, retries=0)
    try:
        with pytest.raises(NoReply) as raised:
            direct.status(1)
    finally:
        direct.close()
    with pytest.raises(BusError) as translated:
        asyncio.run(bus.read_board(1))
    assert str(translated.value) == str(raised.value)
    assert isinstance(translated.value.__cause__, NoReply)


def test_a_programming_error_is_not_disguised_as_a_bus_error(bus: HalLockBus) -> None:
    with pytest.raises(ValueError, match="lock"):
        asyncio.run(bus.unlock(0, 17))


def test_the_event_loop_keeps_running_during_slow_io(bus: HalLockBus, sim: KerongSimulator) -> None:
    sim.set_reply_delay(0.03)  # under the driver's 0.05 s timeout

    async def scenario() -> int:
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        counting = asyncio.create_task(ticker())
        await asyncio.gather(*(bus.read_board(board % 2) for board in range(4)))
        done = True
        await counting
        return ticks

    started = time.monotonic()
    ticks = asyncio.run(scenario())
    assert time.monotonic() - started >= 4 * 0.03  # one call at a time on the wire
    assert ticks > 20
    assert len(lockbus_threads()) == 1  # every call ran on the one worker


def test_close_stops_the_worker_and_the_driver(url: str) -> None:
    driver = open_driver(url, "kerong-cu16", timeout=0.05, retries=0)
    bus = HalLockBus(driver)
    asyncio.run(bus.read_board(0))
    assert len(lockbus_threads()) == 1
    bus.close()
    bus.close()  # twice is harmless
    assert lockbus_threads() == []
    with pytest.raises(BusError, match="closed"):
        asyncio.run(bus.read_board(0))
    with pytest.raises(PortGone):
        driver.status(0)

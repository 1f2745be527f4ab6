"""Shared fixtures for the hal tests: a simulated Kerong bus served on a real pty or in-process."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest

from hal.lockboard.kerong.simulator import KerongSimulator
from hal.transport import register_simulator, unregister_simulator

_names = itertools.count()


@pytest.fixture(autouse=True)
def no_thread_outlives_the_test() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leftover = [thread.name for thread in threading.enumerate() if thread not in before and thread.is_alive()]
    assert not leftover, f"threads left running: {leftover}"


@pytest.fixture
def simulator() -> Iterator[KerongSimulator]:
    sim = KerongSimulator(boards=2)
    yield sim
    sim.stop()


@pytest.fixture
def pty_path(simulator: KerongSimulator) -> str:
    return simulator.serve_pty()


@pytest.fixture
def sim_url(simulator: KerongSimulator) -> Iterator[str]:
    name = f"hal-test-{next(_names)}"
    register_simulator(name, simulator)
    yield f"sim://{name}"
    unregister_simulator(name)

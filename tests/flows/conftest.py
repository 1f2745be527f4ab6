"""Fixtures of the flow tests (the harness itself is flow_rig.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flow_rig import Rig

from hal.lockboard.kerong.simulator import KerongSimulator


@pytest.fixture(autouse=True)
def no_thread_outlives_the_test() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leftover:
        thread.join(timeout=2)
    leftover = [t.name for t in leftover if t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []
    simulators: list[KerongSimulator] = []

    def make(**options: Any) -> Rig:
        rig = Rig(tmp_path, **options)
        rigs.append(rig)
        if rig.sim not in simulators:
            simulators.append(rig.sim)
        return rig

    yield make
    for rig in rigs:
        rig.close()
    for simulator in simulators:
        simulator.stop()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()

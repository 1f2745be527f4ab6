"""pytest plugin (entry point `pytest11: kiosk`): the `kiosk` fixture and its friends.

- `kiosk`: a KioskDriver on the demo layout, a fresh SQLite file, an in-process simulated Kerong bus, a
  ManualClock (`kiosk.clock.advance(60)`), fast hardware timers. Shut down after the test; a thread or
  asyncio task that outlives the test, or an exception nobody handled in a task, fails the test.
- `kiosk_factory(**options)`: more kiosks, e.g. a restart on the same database and simulator.
- `kiosk_config(tmp_path, **changes)`: the config the fixture uses, to start a kiosk in a subprocess.

Options of both (make_test_config): `timers={...}`, `courier={"accept_unannounced": True, ...}` (or a
CourierPolicy), `protocol="bu"`, `camera=False`, `database=...`, `bus_url=...`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import HOOK_BIT_PROTOCOLS, CameraConfig, KioskConfig, load_config
from kiosk.core.model import CourierPolicy, FacePolicy, Timers

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "resources" / "config" / "demo.toml"

# Hardware waits are real time (the simulator answers in microseconds); flow timers run on the ManualClock.
FAST_HARDWARE = {"unlock_confirm_s": 0.02, "door_poll_s": 0.02, "board_scan_s": 0.1}
# Enough frames to scan from, few enough that a suite of kiosks leaves the CPU to the tests.
TEST_CAMERA_FPS = 15.0

_bus_numbers = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    # Scenarios run headless unless the tester asks for a real screen (QT_QPA_PLATFORM=xcb under Xvfb).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_test_config(
    directory: Path,
    *,
    database: Path | None = None,
    bus_url: str | None = None,
    timers: dict[str, Any] | None = None,
    base: Path = DEMO_CONFIG,
    protocol: str | None = None,
    camera: bool = True,
    courier: CourierPolicy | dict[str, Any] | None = None,
    face: FacePolicy | dict[str, Any] | None = None,
) -> KioskConfig:
    """The demo layout, with its database, secrets and bus moved into `directory`; with `protocol`, the same
    doors wired to boards of that family (board numbers shifted to its first address). With `camera`, a
    simulated camera of its own (kiosk.camera); without, no camera at all. `courier`: the [courier] policy,
    whole or as changed fields (e.g. {"accept_unannounced": True}); `face` likewise, the [face] policy."""
    config = load_config(base)
    if protocol is not None and protocol != config.bus.protocol:
        from kiosk.app import first_board

        shift = first_board(protocol) - first_board(config.bus.protocol)
        config = dataclasses.replace(
            config,
            bus=dataclasses.replace(
                config.bus, protocol=protocol, hook_closed_bit=1 if protocol in HOOK_BIT_PROTOCOLS else None
            ),
            compartments=tuple(dataclasses.replace(c, board=c.board + shift) for c in config.compartments),
        )
    locker = dataclasses.replace(
        config.locker,
        database=database or directory / "kiosk.sqlite",
        secrets_file=directory / "secrets.toml",
    )
    bus = dataclasses.replace(config.bus, url=bus_url or f"sim://qa-{next(_bus_numbers)}")
    merged_timers = dataclasses.replace(Timers(), **{**FAST_HARDWARE, **(timers or {})})
    camera_config = None
    if camera:
        camera_config = CameraConfig(f"sim://qa-camera-{next(_bus_numbers)}", fps=TEST_CAMERA_FPS)
    policy = courier if isinstance(courier, CourierPolicy) else dataclasses.replace(config.courier,
                                                                                    **(courier or {}))
    face_policy = face if isinstance(face, FacePolicy) else dataclasses.replace(config.face, **(face or {}))
    return dataclasses.replace(config, locker=locker, bus=bus, timers=merged_timers, camera=camera_config,
                               courier=policy, face=face_policy)


PLATFORM_CODE_KEY = bytes(range(0x40, 0x60))  # the locker's code key, shared with its platform


def start_platform_for(config: KioskConfig, database: Path) -> Any:
    """A running fake platform (a real HTTP server on 127.0.0.1) that knows this kiosk's locker."""
    from kiosk.testing.fake_platform import FakePlatform

    fake = FakePlatform(secrets.token_bytes(32), database=database, locker_id=config.locker.id,
                        code_key=PLATFORM_CODE_KEY)
    fake.start()
    return fake


def connect_to_platform(config: KioskConfig, platform: Any) -> KioskConfig:
    """`config` with a [platform] table pointing at `platform`, and a secrets file (0600) holding the shared
    request secret and code key."""
    from kiosk.config import PlatformConfig

    secrets_file = config.locker.secrets_file
    secrets_file.write_text(f'code_key = "{platform.code_key.hex()}"\n'
                            f'platform_secret = "{platform.secret.hex()}"\n', encoding="ascii")
    secrets_file.chmod(0o600)
    # Short timeouts: a scenario that takes the platform down must not wait out production timeouts.
    return dataclasses.replace(config, platform=PlatformConfig(platform.url, connect_timeout_s=1.0,
                                                               read_timeout_s=2.0))


@pytest.fixture
def kiosk_event_loop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop riding on the test's QApplication: asyncio runs whenever Qt processes events."""
    from kiosk.testing.driver import qasync_loop_on

    failures: list[str] = []

    def record_failure(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        failures.append(f"{context.get('message')}: {context.get('exception')!r}")

    with qasync_loop_on(qapp) as loop:
        loop.set_exception_handler(record_failure)
        yield loop
        leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in leftover:
            task.cancel()
    if leftover:
        pytest.fail(f"asyncio tasks outlived the test: {leftover}")
    if failures:
        pytest.fail("unhandled exceptions in asyncio tasks:\n" + "\n".join(failures))


@pytest.fixture
def kiosk_config(tmp_path: Path) -> Callable[..., KioskConfig]:
    def make(**changes: Any) -> KioskConfig:
        return make_test_config(tmp_path, **changes)

    return make


@pytest.fixture
def kiosk_factory(
    qapp: Any, kiosk_event_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> Iterator[Callable[..., Any]]:
    from hal.lockboard.base import SimulatedBoards
    from kiosk.app import simulator_for
    from kiosk.testing.driver import KioskDriver

    threads_before = set(threading.enumerate())
    running: list[KioskDriver] = []
    simulators: list[SimulatedBoards] = []
    platforms: list[Any] = []

    def make(
        *,
        simulator: SimulatedBoards | None = None,
        config: KioskConfig | None = None,
        size: tuple[int, int] = (1280, 800),
        platform: Any = False,
        **config_changes: Any,
    ) -> KioskDriver:
        config = config or make_test_config(tmp_path, **config_changes)
        fake_platform = None
        if platform:
            # True: a fresh fake platform for this kiosk; or a FakePlatform the test made (and stops).
            if platform is True:
                fake_platform = start_platform_for(config, tmp_path / f"platform-{len(platforms)}.sqlite")
                platforms.append(fake_platform)
            else:
                fake_platform = platform
            config = connect_to_platform(config, fake_platform)
        if simulator is None:
            simulator = simulator_for(config)
            simulators.append(simulator)
        driver = KioskDriver(config, simulator, size=size, platform=fake_platform)
        running.append(driver)
        return driver

    def stop(driver: KioskDriver) -> None:
        if driver in running:
            running.remove(driver)
            driver.shutdown()

    make.stop = stop  # type: ignore[attr-defined]
    yield make
    for driver in reversed(running):
        driver.shutdown()
    for fake_platform in platforms:
        fake_platform.stop()
    for simulator in simulators:
        simulator.stop()
    lingering = [
        thread
        for thread in set(threading.enumerate()) - threads_before
        if thread.is_alive() and not isinstance(thread, threading._DummyThread)
    ]
    for thread in lingering:
        thread.join(timeout=2)
    lingering = [thread for thread in lingering if thread.is_alive()]
    if lingering:
        pytest.fail(f"threads outlived the test: {lingering}")


@pytest.fixture
def kiosk(kiosk_factory: Callable[..., Any]) -> Any:
    """The real kiosk, offscreen, on a temporary store and a simulated bus (see kiosk.testing.driver)."""
    return kiosk_factory()

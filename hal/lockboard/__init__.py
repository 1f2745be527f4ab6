"""Lock boards: one codec, driver and simulator per protocol, chosen by name.

    driver = open_driver("/dev/ttyUSB0", "kerong-cu16", hook_closed_bit=1, timeout=0.15, retries=2)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol

from hal.lockboard.base import (
    BadFrame,
    BoardStatus,
    HalError,
    LockBoardDriver,
    LockStatus,
    NoReply,
    PortGone,
)
from hal.lockboard.simulator_registry import register_simulator, unregister_simulator

__all__ = [
    "BadFrame",
    "BoardSimulator",
    "BoardStatus",
    "HalError",
    "LockBoardDriver",
    "LockStatus",
    "NoReply",
    "PortGone",
    "known_protocols",
    "make_simulator",
    "open_driver",
    "register_simulator",
    "unregister_simulator",
]


class BoardSimulator(Protocol):
    """What the CLI needs of a protocol's simulator (each simulator offers much more)."""

    boards: int

    def add_listener(self, callback: Callable[[Any], None]) -> None: ...

    def serve_pty(self) -> str: ...

    def serve_tcp(self, port: int = 0, host: str = "127.0.0.1") -> int: ...

    def stop(self) -> None: ...


def _kerong_driver() -> Callable[..., LockBoardDriver]:
    from hal.lockboard.kerong.driver import KerongDriver

    return KerongDriver


def _kerong_simulator() -> Callable[..., BoardSimulator]:
    from hal.lockboard.kerong.simulator import KerongSimulator

    return KerongSimulator


# Imported on demand so that naming a protocol never loads the others.
_DRIVERS: dict[str, Callable[[], Callable[..., LockBoardDriver]]] = {"kerong-cu16": _kerong_driver}
_SIMULATORS: dict[str, Callable[[], Callable[..., BoardSimulator]]] = {"kerong-cu16": _kerong_simulator}


def known_protocols() -> list[str]:
    return sorted(_DRIVERS)


def _unknown_protocol(protocol: str) -> ValueError:
    return ValueError(f"unknown lock-board protocol {protocol!r} (known: {', '.join(known_protocols())})")


def _check_options(factory: Callable[..., object], protocol: str, options: dict[str, object]) -> None:
    accepted = [
        parameter.name
        for parameter in inspect.signature(factory).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        or (parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            and parameter.default is not parameter.empty)
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"unknown option(s) for {protocol}: {', '.join(unknown)} (known: {', '.join(accepted)})")


def open_driver(url: str, protocol: str, **options: object) -> LockBoardDriver:
    """A driver for the boards speaking `protocol` on the bus at `url`. Raises ValueError naming the known
    protocols or options when one is wrong. The port itself opens on the first call."""
    loader = _DRIVERS.get(protocol)
    if loader is None:
        raise _unknown_protocol(protocol)
    factory = loader()
    _check_options(factory, protocol, options)
    return factory(url, **options)


def make_simulator(protocol: str, **options: object) -> BoardSimulator:
    """A simulated bus for `protocol`, e.g. make_simulator("kerong-cu16", boards=2)."""
    loader = _SIMULATORS.get(protocol)
    if loader is None:
        raise _unknown_protocol(protocol)
    factory = loader()
    _check_options(factory, protocol, options)
    return factory(**options)

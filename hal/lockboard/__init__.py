"""Lock boards: one codec, driver and simulator per protocol, chosen by name.

    driver = open_driver("/dev/ttyUSB0", "kerong-cu16", hook_closed_bit=1, timeout=0.15, retries=2)
    options = driver_options("bu")            # the keyword options that protocol's driver takes
    simulator = make_simulator("wkly", boards=2)

Each protocol's modules are imported only when that protocol is used, so naming or listing protocols never
loads them, and a protocol whose modules are missing or broken fails with ProtocolUnavailable (an
ImportError) only when it is asked for.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from hal.lockboard.base import (
    BadFrame,
    BoardFamilyDriver,
    BoardStatus,
    DoorChange,
    HalError,
    LockBoardDriver,
    LockStatus,
    NoReply,
    PortGone,
    PushingDriver,
    SimulatedBoards,
)
from hal.lockboard.simulator_registry import register_simulator, unregister_simulator

__all__ = [
    "DEFAULT_BOARD_RANGE",
    "BadFrame",
    "BoardFamilyDriver",
    "BoardSimulator",
    "BoardStatus",
    "DoorChange",
    "HalError",
    "LockBoardDriver",
    "LockStatus",
    "NoReply",
    "PortGone",
    "ProtocolUnavailable",
    "PushingDriver",
    "SimulatedBoards",
    "board_range",
    "driver_options",
    "known_protocols",
    "lock_range",
    "make_simulator",
    "open_driver",
    "register_simulator",
    "simulator_options",
    "unregister_simulator",
]

# Kept for callers written before the common simulator contract existed.
BoardSimulator = SimulatedBoards

# What a scan probes when a driver does not say (a `board_range` class attribute): one address nibble.
DEFAULT_BOARD_RANGE = range(16)
# The locks a board has when its driver does not say (a `lock_range` class attribute): one nibble.
DEFAULT_LOCK_RANGE = range(1, 17)


class ProtocolUnavailable(ImportError):
    """A known protocol whose modules cannot be imported (not installed, or broken)."""


@dataclass(frozen=True)
class _Protocol:
    driver: str  # "package.module:ClassName", imported on first use
    simulator: str


_PROTOCOLS: dict[str, _Protocol] = {
    "bu": _Protocol("hal.lockboard.bu.driver:BuDriver", "hal.lockboard.bu.simulator:BuSimulator"),
    "kerong-cu16": _Protocol("hal.lockboard.kerong.driver:KerongDriver",
                             "hal.lockboard.kerong.simulator:KerongSimulator"),
    "wkly": _Protocol("hal.lockboard.wkly.driver:WklyDriver", "hal.lockboard.wkly.simulator:WklySimulator"),
}


def known_protocols() -> list[str]:
    return sorted(_PROTOCOLS)


def _entry(protocol: str) -> _Protocol:
    entry = _PROTOCOLS.get(protocol)
    if entry is None:
        raise ValueError(f"unknown lock-board protocol {protocol!r} (known: {', '.join(known_protocols())})")
    return entry


def _load(protocol: str, target: str) -> Callable[..., object]:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise ProtocolUnavailable(
            f"lock-board protocol {protocol!r} is not available: cannot import {target} ({exc})") from exc
    if not callable(factory):
        raise ProtocolUnavailable(
            f"lock-board protocol {protocol!r} is not available: {target} is not callable")
    return cast(Callable[..., object], factory)


def _keyword_options(factory: Callable[..., object]) -> list[str]:
    """What may be passed by keyword: keyword-only parameters and those with a default."""
    return sorted(
        parameter.name
        for parameter in inspect.signature(factory).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        or (parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            and parameter.default is not parameter.empty)
    )


def _check_options(factory: Callable[..., object], protocol: str, what: str,
                   options: dict[str, object]) -> None:
    accepted = _keyword_options(factory)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"the {protocol} {what} does not take {', '.join(unknown)} "
                         f"(it takes: {', '.join(accepted) or 'no options'})")


def driver_options(protocol: str) -> list[str]:
    """The keyword options `open_driver(url, protocol, ...)` accepts, sorted; e.g. for kerong-cu16
    ["baudrate", "hook_closed_bit", "query_all_address", "retries", "timeout"]. Imports the protocol."""
    return _keyword_options(_load(protocol, _entry(protocol).driver))


def simulator_options(protocol: str) -> list[str]:
    """The keyword options `make_simulator(protocol, ...)` accepts, sorted. Imports the protocol."""
    return _keyword_options(_load(protocol, _entry(protocol).simulator))


def board_range(protocol: str) -> range:
    """The board addresses a bus of `protocol` can have, as its driver declares them (`board_range`), else
    DEFAULT_BOARD_RANGE. Imports the protocol."""
    declared = getattr(_load(protocol, _entry(protocol).driver), "board_range", None)
    return declared if isinstance(declared, range) else DEFAULT_BOARD_RANGE


def lock_range(protocol: str) -> range:
    """The lock numbers (as printed, from 1) a board of `protocol` can have, as its driver declares them
    (`lock_range`), else DEFAULT_LOCK_RANGE. Imports the protocol."""
    declared = getattr(_load(protocol, _entry(protocol).driver), "lock_range", None)
    return declared if isinstance(declared, range) else DEFAULT_LOCK_RANGE


def open_driver(url: str, protocol: str, **options: object) -> BoardFamilyDriver:
    """A driver for the boards speaking `protocol` on the bus at `url`. Raises ValueError naming the known
    protocols, or the options this protocol takes, when one is wrong; ProtocolUnavailable when the protocol's
    modules cannot be imported. The port itself opens on the first call."""
    factory = _load(protocol, _entry(protocol).driver)
    _check_options(factory, protocol, "driver", options)
    return cast(BoardFamilyDriver, factory(url, **options))


def make_simulator(protocol: str, **options: object) -> SimulatedBoards:
    """A simulated bus for `protocol`, e.g. make_simulator("kerong-cu16", boards=2). Errors as open_driver."""
    factory = _load(protocol, _entry(protocol).simulator)
    _check_options(factory, protocol, "simulator", options)
    return cast(SimulatedBoards, factory(**options))

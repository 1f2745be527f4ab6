"""In-process simulators reachable as `sim://NAME` transports.

A simulator registers under a name; `hal.transport.open_transport("sim://NAME", ...)` then gives a serial-like
port whose far end is that simulator. This module holds only the names and the two small interfaces the
transport and a simulator agree on, so it imports nothing else of ours.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class SimLink(Protocol):
    """The simulator's end of an in-process port."""

    def receive(self) -> bytes:
        """Block until the host writes; b"" once the port is closed or hung up."""
        ...

    def send(self, data: bytes) -> None:
        """Bytes for the host to read (dropped if the host has closed the port)."""
        ...

    def hang_up(self) -> None:
        """The device vanished: the host's next read or write raises PortGone."""
        ...


class SimulatedDevice(Protocol):
    def attach(self, link: SimLink) -> Callable[[], None]:
        """Start answering on `link`; the returned function stops answering and joins any thread."""
        ...


_lock = threading.Lock()
_simulators: dict[str, SimulatedDevice] = {}


def register_simulator(name: str, simulator: SimulatedDevice) -> None:
    """Make `simulator` reachable as sim://name. Registering the same simulator again is harmless."""
    if not name or "/" in name:
        raise ValueError(f"simulator name must be non-empty without '/', got {name!r}")
    with _lock:
        current = _simulators.get(name)
        if current is not None and current is not simulator:
            raise ValueError(f"another simulator is already registered as {name!r}")
        _simulators[name] = simulator


def unregister_simulator(name: str) -> None:
    """Forget a name; ports already open keep working until the simulator stops. Unknown names are ignored."""
    with _lock:
        _simulators.pop(name, None)


def registered_simulator(name: str) -> SimulatedDevice | None:
    with _lock:
        return _simulators.get(name)


def registered_names() -> list[str]:
    with _lock:
        return sorted(_simulators)

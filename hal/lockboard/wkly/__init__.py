"""WKLY lock boards (RS-485, 9600 8N1) that push door changes unprompted: codec, driver and simulator.

    from hal.lockboard.wkly.driver import WklyDriver          # registered as protocol "wkly"
    from hal.lockboard.wkly.simulator import WklySimulator

The simulator is loaded only when asked for, so that using the driver does not load the simulators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hal.lockboard.wkly.driver import PROTOCOL, BoardRefused, WklyDriver

if TYPE_CHECKING:
    from hal.lockboard.wkly.simulator import WklySimulator

__all__ = ["PROTOCOL", "BoardRefused", "WklyDriver", "WklySimulator"]


def __getattr__(name: str) -> object:
    if name == "WklySimulator":
        from hal.lockboard.wkly.simulator import WklySimulator

        return WklySimulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

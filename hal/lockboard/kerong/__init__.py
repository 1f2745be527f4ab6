"""Kerong KR-CU16 lock boards (RS-485, 19200 8N1): codec, driver and simulator."""

from hal.lockboard.kerong.driver import PROTOCOL, KerongDriver
from hal.lockboard.kerong.simulator import KerongSimulator

__all__ = ["PROTOCOL", "KerongDriver", "KerongSimulator"]

""""BU" lock boards (RS-485, 9600 8N1; 8A unlock, 80 query, XOR check): codec, driver and simulator."""

from hal.lockboard.bu.driver import PROTOCOL, BuDriver
from hal.lockboard.bu.simulator import BuSimulator

__all__ = ["PROTOCOL", "BuDriver", "BuSimulator"]

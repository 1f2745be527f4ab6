"""Barcode scanners that are not cameras.

- Serial scanners (RS-232, USB-CDC, or behind a TCP converter): `hal.scanner.serial_scanner.SerialScanner`,
  through the same port URLs as the lock boards (hal.transport).
- Keyboard-wedge scanners type the code as keystrokes; they reach the kiosk as key events, so they are told
  apart from typing where the key events are (the UI), not here.
"""

from __future__ import annotations

from hal.scanner.serial_scanner import SerialScanner

__all__ = ["SerialScanner"]

"""The installed PySide6 must not leak references to None (PySide6 6.12.0 does under CPython 3.11 and aborts
the kiosk after a few screens: "Fatal Python error: none_dealloc"). Guards the pin in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from PySide6.QtCore import QObject
probe = QObject()
before = sys.getrefcount(None)
for _ in range(10_000):
    probe.setObjectName("probe")
print(before - sys.getrefcount(None))
"""


def test_void_qt_calls_keep_none_alive() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # A broken build loses one reference per call (10,000 here); a stray one-off reference is noise.
    lost = int(result.stdout)
    assert lost < 100, f"this PySide6 lost {lost} references to None in 10,000 void calls: keep the pin"

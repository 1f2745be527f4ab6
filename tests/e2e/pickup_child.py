"""A kiosk process for the kill -9 scenario: it opens a door for a pickup, says so, then waits to be killed.

    python tests/e2e/pickup_child.py SCRATCH_DIR DATABASE BUS_URL CODE

It runs the same KioskApp as the locker (through the QA driver, offscreen) against a simulator that the
test process serves on a pseudo-terminal, so the simulated door outlives this process.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from kiosk.testing.driver import KioskDriver
    from kiosk.testing.plugin import make_test_config

    scratch, database, bus_url, code = sys.argv[1:5]
    application = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(application, already_running=True)
    asyncio.set_event_loop(loop)
    config = make_test_config(Path(scratch), database=Path(database), bus_url=bus_url)
    kiosk = KioskDriver(config, None)
    parcel = kiosk.seed_parcel(size="M", code=code)
    print(f"SEEDED {parcel.id} {parcel.compartment}", flush=True)
    kiosk.tap("pickup_button")
    kiosk.type_code(code)
    kiosk.wait_screen("door_open")
    kiosk.wait_door_open(parcel.compartment)
    print(f"DOOR_OPEN {parcel.compartment}", flush=True)
    sys.stdin.read()  # killed here with SIGKILL; nothing after this line runs in the scenario
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A kiosk process for the kill -9 during an upload scenario: it delivers its outbox to the platform.

    python tests/e2e/outbox_child.py SCRATCH_DIR DATABASE PLATFORM_URL

The secrets file (SCRATCH_DIR/secrets.toml) is written by the test. The kiosk prints STARTED once running,
then DRAINED when its outbox is empty, and exits cleanly; the test may kill it with SIGKILL at any moment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from kiosk.config import PlatformConfig
    from kiosk.testing.driver import KioskDriver
    from kiosk.testing.plugin import make_test_config

    scratch, database, platform_url = sys.argv[1:4]
    application = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(application, already_running=True)
    asyncio.set_event_loop(loop)
    config = make_test_config(Path(scratch), database=Path(database), camera=False)
    config = dataclasses.replace(config, platform=PlatformConfig(platform_url, connect_timeout_s=1.0,
                                                                 read_timeout_s=5.0))
    kiosk = KioskDriver(config, None)
    print(f"STARTED {kiosk.app.store.outbox_depth()}", flush=True)
    kiosk.wait_until(lambda: kiosk.app.store.outbox_depth() == 0, timeout=120, what="the outbox drained")
    print("DRAINED", flush=True)
    kiosk.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

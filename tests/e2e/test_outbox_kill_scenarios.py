"""kill -9 of the kiosk while it uploads a batch of events: after a restart every event reaches the platform,
and the platform holds each exactly once (it keeps the first copy of an idempotency key)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kiosk.core.model import ProblemKind
from kiosk.store import SqliteStore
from kiosk.testing.fake_platform import FakePlatform
from kiosk.testing.plugin import PLATFORM_CODE_KEY, make_test_config

CHILD = Path(__file__).with_name("outbox_child.py")
EVENTS = 450  # a few of the kiosk's batches of 100


def start_child(scratch: Path, database: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(scratch), str(database), url],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )


def finish(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(timeout=30)
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()


def test_kill_9_during_a_batch_upload_loses_and_doubles_nothing(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite"
    config = make_test_config(tmp_path, database=database, camera=False)
    with SqliteStore.open(database, config.compartments) as store:
        for number in range(EVENTS):
            store.report_problem(ProblemKind.DAMAGED, [], 1_800_000_000.0 + number)
        written = [event.idempotency_key for event in store.outbox_batch(EVENTS)]
    assert len(written) == EVENTS
    platform = FakePlatform(b"k" * 32, database=tmp_path / "platform.sqlite", locker_id=config.locker.id,
                            code_key=PLATFORM_CODE_KEY)
    platform.start()
    try:
        config.locker.secrets_file.write_text(
            f'code_key = "{PLATFORM_CODE_KEY.hex()}"\nplatform_secret = "{platform.secret.hex()}"\n',
            encoding="ascii")
        config.locker.secrets_file.chmod(0o600)
        # Each batch takes a while to be answered: the kill lands while one is on the wire.
        platform.set_faults(latency_s=0.4, operations={"postEvents"})
        child = start_child(tmp_path, database, platform.url)
        try:
            assert child.stdout is not None
            started = child.stdout.readline()
            assert started.startswith("STARTED"), (started, child.stderr.read() if child.stderr else "")
            # Another process's progress: looked at every 10 ms until it shows or 30 s have passed.
            between_looks = threading.Event()  # never set
            deadline = time.monotonic() + 30
            while platform.event_deliveries() < 2 and time.monotonic() < deadline:
                between_looks.wait(0.01)
            assert platform.event_deliveries() >= 2, "the kiosk never posted a second batch"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            finish(child)
        before_restart = len(platform.events())
        assert before_restart < EVENTS  # the kill did interrupt the upload

        platform.set_faults()
        child = start_child(tmp_path, database, platform.url)
        try:
            assert child.stdout is not None
            lines = [child.stdout.readline(), child.stdout.readline()]
            assert lines[1].strip() == "DRAINED", (lines, child.stderr.read() if child.stderr else "")
            assert child.wait(timeout=30) == 0
        finally:
            finish(child)
    finally:
        platform.stop()
    keys = [event["idempotency_key"] for event in platform.events()]
    assert sorted(keys) == sorted(written)  # every event, each exactly once
    assert platform.event_deliveries() > EVENTS // 100 + 1  # some batch really was sent again
    with SqliteStore.open(database, config.compartments) as store:
        assert store.outbox_depth() == 0

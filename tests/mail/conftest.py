from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mail_rig import DirectoryStore, RecordingHandler, SmtpServer, open_store


@pytest.fixture(autouse=True)
def qt_application_as_in_the_kiosk(qapp: Any) -> None:
    """The mail service renders QR images and translates with Qt, always inside the kiosk's QApplication.
    Qt objects made before any application exists set process-wide state that later broke the UI tests'
    synthetic key events (a wedge burst read as typing), so the application comes first here too."""


@pytest.fixture(autouse=True)
def no_thread_outlives_the_test() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leftover = [thread for thread in threading.enumerate() if thread not in before and thread.is_alive()]
    for thread in leftover:
        thread.join(timeout=2)
    names = [thread.name for thread in leftover if thread.is_alive()]
    assert not names, f"threads left running: {names}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DirectoryStore]:
    with open_store(tmp_path / "kiosk.sqlite") as opened:
        yield opened


@pytest.fixture
def servers() -> Iterator[Callable[..., SmtpServer]]:
    """Start real SMTP servers on 127.0.0.1: `servers(port, handler=None, **aiosmtpd_options)`; all are
    stopped (their threads joined) after the test."""
    started: list[SmtpServer] = []

    def start(port: int, handler: RecordingHandler | None = None, **options: Any) -> SmtpServer:
        server = SmtpServer(handler or RecordingHandler(), port, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

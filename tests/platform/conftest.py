"""Fixtures of the fake platform's tests: a running platform on 127.0.0.1 (any free port) over a database
file in tmp_path, a signing client, and a check that no thread outlives a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from platform_client import CODE_KEY, LOCKER, SECRET, SignedClient

from kiosk.testing.fake_platform import FakePlatform


@pytest.fixture(autouse=True)
def no_thread_outlives_the_test() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    left = [thread for thread in threading.enumerate() if thread not in before and thread.is_alive()]
    assert left == [], f"threads outlived the test: {[thread.name for thread in left]}"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[FakePlatform]:
    fake = FakePlatform(SECRET, database=tmp_path / "platform.sqlite", locker_id=LOCKER, code_key=CODE_KEY)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def client(platform: FakePlatform) -> Iterator[SignedClient]:
    signed = SignedClient(platform)
    try:
        yield signed
    finally:
        signed.close()

"""Fixtures of the store tests: a fresh database file, and a second connection to it. Each test module
opens its own `store` fixture on the layout it needs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.sqlite"


@pytest.fixture
def raw(database: Path, store: object) -> Iterator[sqlite3.Connection]:
    """A second, independent connection to the same file (opened after `store`): what another process would
    see."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from directory_rig import DirectoryStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DirectoryStore]:
    with open_store(tmp_path / "kiosk.sqlite") as opened:
        yield opened

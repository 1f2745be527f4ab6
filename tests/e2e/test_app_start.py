"""The kiosk refuses to start on a bad configuration, with one line naming the file, key and reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.testing.plugin import DEMO_CONFIG


def start_kiosk(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.app", "--config", str(config), "--windowed"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )


def broken_demo(tmp_path: Path, old: str, new: str) -> Path:
    text = DEMO_CONFIG.read_text()
    assert old in text
    text = text.replace('"../../var/', f'"{tmp_path}/').replace(old, new, 1)
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "[timers]",
            "[timers]\ninactivty_s = 30",
            "timers.inactivty_s: unknown key (did you mean inactivity_s?)",
        ),
        (
            "lock =  2,",
            "lock =  1,",
            "compartments[1].lock: board 0 lock 1 is already used by compartments[0] (A01)",
        ),
        (
            'protocol = "kerong-cu16"',
            'protocol = "kerong-cu61"',
            "bus.protocol: unknown lock-board protocol 'kerong-cu61' (did you mean kerong-cu16?)",
        ),
        ("height_cm = 190", 'height_cm = "high"', "compartments[0].height_cm"),
    ],
    ids=["unknown-key", "same-board-and-lock", "unknown-protocol", "wrong-type"],
)
def test_a_bad_config_stops_the_kiosk_with_one_clear_line(tmp_path, old, new, expected):
    config = broken_demo(tmp_path, old, new)
    result = start_kiosk(config)
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()[-1]
    assert str(config) in message
    assert expected in message
    assert "Traceback" not in result.stderr


def test_with_no_screen_the_kiosk_says_how_to_run_it():
    environment = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.app", "--demo", "--windowed"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=environment,
    )
    assert result.returncode == 2
    assert "xvfb-run" in result.stderr


def test_a_board_the_bus_cannot_address_stops_the_kiosk(tmp_path):
    config = broken_demo(tmp_path, 'protocol = "kerong-cu16"\nhook_closed_bit = 1', 'protocol = "bu"')
    result = start_kiosk(config)
    assert result.returncode == 2
    assert "compartments[0].board: 0 is not a bu board address (1..64)" in result.stderr

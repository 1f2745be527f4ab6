"""Board and lock numbers are checked against the configured board family's own ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config

TEMPLATE = """
compartments = [{{ id = "A01", size = "S", board = {board}, lock = {lock}, height_cm = 100, column = 1 }}]

[locker]
id = "family-test"
database = "kiosk.sqlite"
secrets_file = "secrets.toml"

[bus]
url = "sim://family"
protocol = "{protocol}"
{extra}
"""


def write(tmp_path: Path, protocol: str, board: int, lock: int) -> Path:
    extra = "hook_closed_bit = 1" if protocol == "kerong-cu16" else ""
    path = tmp_path / "kiosk.toml"
    path.write_text(TEMPLATE.format(protocol=protocol, board=board, lock=lock, extra=extra))
    return path


@pytest.mark.parametrize(
    ("protocol", "board", "lock"),
    [
        ("kerong-cu16", 0, 16),
        ("kerong-cu16", 15, 1),
        ("bu", 1, 24),
        ("bu", 64, 1),
        ("wkly", 0, 24),
        ("wkly", 255, 1),
    ],
)
def test_each_family_accepts_its_own_numbers(tmp_path, protocol, board, lock):
    assert load_config(write(tmp_path, protocol, board, lock)).compartments[0].lock == lock


@pytest.mark.parametrize(
    ("protocol", "board", "lock", "message"),
    [
        ("kerong-cu16", 0, 17, "compartments[0].lock: 17 is out of range 1..16"),
        ("kerong-cu16", 16, 1, "compartments[0].board: 16 is not a kerong-cu16 board address (0..15)"),
        ("bu", 0, 1, "compartments[0].board: 0 is not a bu board address (1..64)"),
        ("bu", 1, 25, "compartments[0].lock: 25 is out of range 1..24"),
    ],
)
def test_numbers_outside_the_family_are_refused_with_the_range(tmp_path, protocol, board, lock, message):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, protocol, board, lock))
    assert str(raised.value).endswith(message)


def write_with_options(tmp_path: Path, protocol: str, options: str) -> Path:
    path = write(tmp_path, protocol, 1, 1)
    path.write_text(path.read_text() + "\n[bus.options]\n" + options + "\n")
    return path


def test_a_family_s_own_driver_settings_go_in_bus_options(tmp_path):
    config = load_config(write_with_options(tmp_path, "bu", "closed_bit = 0\nunlock_timeout = 1.0"))
    assert dict(config.bus.options) == {"closed_bit": 0, "unlock_timeout": 1.0}


@pytest.mark.parametrize(
    ("protocol", "options", "message"),
    [
        (
            "bu",
            "closed_bti = 0",
            "bus.options.closed_bti: not an option of bu boards (did you mean closed_bit?)",
        ),
        (
            "bu",
            "hook_closed_bit = 0",
            "bus.options.hook_closed_bit: set it in [bus] itself, not in [bus.options]",
        ),
        ("wkly", "closed_bit = 0", "bus.options.closed_bit: not an option of wkly boards"),
        ("bu", "closed_bit = [0]", "bus.options.closed_bit: expected a number, true/false or text"),
    ],
)
def test_bus_options_are_checked_against_the_family(tmp_path, protocol, options, message):
    with pytest.raises(ConfigError) as raised:
        load_config(write_with_options(tmp_path, protocol, options))
    assert message in str(raised.value)

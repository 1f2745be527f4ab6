"""kiosk.config: the bundled configs load; every kind of mistake is one line naming file, key and why."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from hal.codes import DEFAULT_DECODER
from kiosk.config import (
    BusConfig,
    CameraConfig,
    ConfigError,
    KioskConfig,
    LockerConfig,
    PlatformConfig,
    ScannerConfig,
    config_with_overrides,
    load_config,
)
from kiosk.core.model import Compartment, Size, Timers

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "config" / "demo.toml"
EXAMPLE = REPO / "resources" / "config" / "example.toml"

VALID = """\
[locker]
id = "test-locker"
default_language = "de"
database = "var/kiosk.sqlite"
secrets_file = "~/secrets.toml"

[bus]
url = "sim://test"
protocol = "kerong-cu16"
hook_closed_bit = 0
timeout_ms = 200
retries = 3

[timers]
inactivity_s = 20
lockout_after_failures = 3

[[compartments]]
id = "A01"
size = "S"
board = 0
lock = 1
height_cm = 190
column = 1

[[compartments]]
id = "A02"
size = "XL"
board = 0
lock = 2
height_cm = 60
column = 1

[[compartments]]
id = "B01"
size = "M"
board = 1
lock = 16
height_cm = 100
column = 2

[[compartments]]
id = "B02"
size = "L"
board = 15
lock = 3
height_cm = 40
column = 2
"""


def write(tmp_path: Path, text: str, name: str = "kiosk.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str, *, count: int = 1) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, count)


# the bundled configs -------------------------------------------------------------------------------

def test_the_demo_config_is_a_realistic_locker_bank() -> None:
    config = load_config(DEMO)
    assert config.path == DEMO
    assert config.locker == LockerConfig("demo-locker", "en", REPO / "var" / "demo.sqlite",
                                         REPO / "var" / "secrets.toml")
    assert config.bus == BusConfig("sim://demo", "kerong-cu16", 1, 0.15, 2)
    assert config.timers.inactivity_s == 30
    compartments = config.compartments
    assert len(compartments) == 24
    assert {(c.board, c.lock) for c in compartments} == {(b, lock) for b in (0, 1) for lock in range(1, 13)}
    assert {c.size for c in compartments} == set(Size)
    columns = {column: [c for c in compartments if c.column == column] for column in (1, 2, 3, 4)}
    assert all(len(column) == 6 for column in columns.values())
    for column in columns.values():  # listed top to bottom, so the top edges fall
        heights = [c.height_cm for c in column]
        assert heights == sorted(heights, reverse=True)
    assert min(c.height_cm for c in compartments) >= 40 and max(c.height_cm for c in compartments) <= 190
    assert sum(c.height_cm <= 120 for c in compartments) >= 6
    assert 0 < config.timers.unlock_confirm_s < 1 and config.timers.thank_you_s >= 3


def test_the_example_config_loads_for_a_real_serial_port() -> None:
    config = load_config(EXAMPLE)
    assert config.bus.url == "/dev/ttyUSB0"
    assert config.locker.database == Path("/var/lib/locker-kiosk/kiosk.sqlite")
    assert config.compartments[0] == Compartment("01", Size.M, 0, 1, 180, 1)


def test_every_key_of_the_example_is_commented() -> None:
    """Each key has a comment line above it; the compartment keys are explained once, above the first."""
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines()
    compartment_keys = ("id", "size", "board", "lock", "height_cm", "column")
    first_compartment = lines.index("[[compartments]]")
    for key in compartment_keys:
        assert any(line.startswith(f"#   {key} ") for line in lines[:first_compartment]), key
    for number, line in enumerate(lines[:first_compartment]):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[number - 1].startswith("#"), f"line {number + 1} has no comment: {line}"


# a valid file ---------------------------------------------------------------------------------------

def test_a_valid_file_becomes_frozen_dataclasses(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    config = load_config(path)
    assert config.path == path
    assert config.locker == LockerConfig("test-locker", "de", tmp_path / "var" / "kiosk.sqlite",
                                         Path("~/secrets.toml").expanduser())
    assert config.bus == BusConfig("sim://test", "kerong-cu16", 0, 0.2, 3)
    assert config.timers == Timers(inactivity_s=20.0, lockout_after_failures=3)
    assert isinstance(config.timers.lockout_after_failures, int)
    assert config.compartments == (
        Compartment("A01", Size.S, 0, 1, 190, 1), Compartment("A02", Size.XL, 0, 2, 60, 1),
        Compartment("B01", Size.M, 1, 16, 100, 2), Compartment("B02", Size.L, 15, 3, 40, 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.locker.id = "other"  # type: ignore[misc]


def test_optional_keys_have_defaults(tmp_path: Path) -> None:
    text = VALID
    for line in ('default_language = "de"\n', "timeout_ms = 200\n", "retries = 3\n",
                 "[timers]\ninactivity_s = 20\nlockout_after_failures = 3\n"):
        text = text.replace(line, "")
    config = load_config(write(tmp_path, text))
    assert (config.locker.default_language, config.bus.timeout_s, config.bus.retries) == ("en", 0.15, 2)
    assert config.timers == Timers()


def test_camera_and_scanner_are_optional_and_checked(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, VALID)).camera is None
    text = edited("[timers]\n", '[camera]\nsource = "frames"\nfps = 15\n[scanner]\nurl = "/dev/ttyACM0"\n'
                                 "[timers]\n")
    config = load_config(write(tmp_path, text))
    assert config.camera == CameraConfig(str(tmp_path / "frames"), 640, 480, 15.0, DEFAULT_DECODER)
    assert config.scanner == ScannerConfig("/dev/ttyACM0")
    device = load_config(write(tmp_path, edited("[timers]\n", '[camera]\nsource = "0"\n[timers]\n')))
    assert device.camera is not None and device.camera.source == "0"


def test_the_platform_is_optional_and_checked(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, VALID)).platform is None  # standalone
    text = edited("[timers]\n", '[platform]\nurl = "https://platform.example.com/"\nca_bundle = "ca.pem"\n'
                                 "heartbeat_s = 30\n[timers]\n")
    platform = load_config(write(tmp_path, text)).platform
    assert platform == PlatformConfig("https://platform.example.com/", tmp_path / "ca.pem", heartbeat_s=30.0)
    local = edited("[timers]\n", '[platform]\nurl = "http://127.0.0.1:8080"\n[timers]\n')
    assert load_config(write(tmp_path, local)).platform is not None  # the fake platform, on this machine


def test_the_config_path_may_be_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, VALID)
    monkeypatch.chdir(tmp_path)
    config = load_config("kiosk.toml")
    assert config.path == tmp_path / "kiosk.toml"
    assert config.locker.database == tmp_path / "var" / "kiosk.sqlite"


# every mistake --------------------------------------------------------------------------------------

SECOND_LOCK = "lock = 2\n"

MISTAKES = [
    # unknown keys at every level, with a suggestion when one is close
    (edited("[timers]\ninactivity_s", "[timers]\ninactivty_s"),
     "timers.inactivty_s: unknown key (did you mean inactivity_s?)"),
    (edited("[bus]\n", "[buss]\n"), "buss: unknown key (did you mean bus?)"),
    (edited("retries = 3\n", "retries = 3\nbaud = 9600\n"),
     "bus.baud: unknown key (expected one of: url, protocol, hook_closed_bit, timeout_ms, retries, options)"),
    (edited('id = "test-locker"\n', 'id = "test-locker"\nlanguage = "en"\n'),
     "locker.language: unknown key (did you mean default_language?)"),
    (edited("height_cm = 60\n", "heigth_cm = 60\n"),
     "compartments[1].heigth_cm: unknown key (did you mean height_cm?)"),
    # missing required keys
    (edited('id = "test-locker"\n', ""), "locker.id: missing required key"),
    (edited('url = "sim://test"\n', ""), "bus.url: missing required key"),
    (edited("hook_closed_bit = 0\n", ""), "bus.hook_closed_bit: missing required key"),
    (edited("column = 2\n", "", count=2).replace("height_cm = 40\n", "height_cm = 40\ncolumn = 2\n"),
     "compartments[2].column: missing required key"),
    (VALID.split("[bus]")[0], "bus: missing required key"),
    (VALID.split("[[compartments]]")[0], "compartments: missing required key"),
    # wrong types, and a boolean is no number
    (edited("board = 1\n", "board = true\n"),
     "compartments[2].board: expected a whole number, got true (a boolean)"),
    (edited("timeout_ms = 200", "timeout_ms = 0.2"),
     "bus.timeout_ms: expected a whole number, got 0.2 (a number)"),
    (edited("retries = 3", 'retries = "3"'), 'bus.retries: expected a whole number, got "3" (text)'),
    (edited("inactivity_s = 20", "inactivity_s = false"),
     "timers.inactivity_s: expected a number, got false (a boolean)"),
    (edited("inactivity_s = 20", "inactivity_s = inf"),
     "timers.inactivity_s: expected a finite number, got inf"),
    (edited("lockout_after_failures = 3", "lockout_after_failures = 2.5"),
     "timers.lockout_after_failures: expected a whole number, got 2.5 (a number)"),
    (edited('id = "A01"', "id = 1"), "compartments[0].id: expected text in quotes, got 1 (a whole number)"),
    (edited('url = "sim://test"', "url = ['sim://test']"), "bus.url: expected text in quotes, got an array"),
    ("locker = 1\n" + VALID[VALID.index("[bus]"):], "locker: expected a table, got 1 (a whole number)"),
    (VALID.split("[[compartments]]")[0].replace("[locker]", "compartments = [1]\n[locker]"),
     "compartments[0]: expected a table, got 1 (a whole number)"),
    (VALID.split("[[compartments]]")[0].replace("[locker]", 'compartments = "A01"\n[locker]'),
     'compartments: expected [[compartments]] tables, got "A01" (text)'),
    # out of range
    (edited(SECOND_LOCK, "lock = 17\n"), "compartments[1].lock: 17 is out of range 1..16"),
    (edited(SECOND_LOCK, "lock = 0\n"), "compartments[1].lock: 0 is out of range 1..16"),
    (edited("board = 15", "board = 16"),
     "compartments[3].board: 16 is not a kerong-cu16 board address (0..15)"),
    (edited("board = 1\n", "board = -1\n"),
     "compartments[2].board: -1 is not a kerong-cu16 board address (0..15)"),
    (edited("height_cm = 190", "height_cm = 301"), "compartments[0].height_cm: 301 is out of range 1..300"),
    (edited("height_cm = 190", "height_cm = 0"), "compartments[0].height_cm: 0 is out of range 1..300"),
    (edited("column = 1\n", "column = 0\n"), "compartments[0].column: 0 is out of range 1..64"),
    (edited("hook_closed_bit = 0", "hook_closed_bit = 2"), "bus.hook_closed_bit: 2 is out of range 0..1"),
    (edited("timeout_ms = 200", "timeout_ms = 0"), "bus.timeout_ms: 0 is out of range: must be 1 or more"),
    (edited("retries = 3", "retries = -1"), "bus.retries: -1 is out of range: must be 0 or more"),
    (edited("inactivity_s = 20", "inactivity_s = 0"),
     "timers.inactivity_s: 0 is out of range: must be greater than 0"),
    (edited("inactivity_s = 20", "inactivity_s = -1.5"),
     "timers.inactivity_s: -1.5 is out of range: must be greater than 0"),
    (edited("lockout_after_failures = 3", "lockout_after_failures = 0"),
     "timers.lockout_after_failures: 0 is out of range: must be 1 or more"),
    # unknown values
    (edited('size = "XL"', 'size = "XXL"'), "compartments[1].size: unknown size 'XXL' (one of: S, M, L, XL)"),
    (edited('size = "S"', 'size = "s"'), "compartments[0].size: unknown size 's' (one of: S, M, L, XL)"),
    (edited('default_language = "de"', 'default_language = "fr"'),
     "locker.default_language: unknown language 'fr' (supported: en, de)"),
    (edited('id = "A01"', 'id = "A 01"'),
     "compartments[0].id: 'A 01' is not a compartment id: use 1 to 16 letters, digits, '-' or '_'"),
    (edited('id = "test-locker"', 'id = "  "'), "locker.id: must not be empty"),
    (edited('database = "var/kiosk.sqlite"', 'database = ""'), "locker.database: must not be empty"),
    (edited('url = "sim://test"', 'url = ""'),
     "bus.url: '' is not a transport URL: expected a device path, socket://host:port, rfc2217://host:port "
     "or sim://NAME"),
    (edited('protocol = "kerong-cu16"', 'protocol = "Kerong CU16"'),
     "bus.protocol: 'Kerong CU16' is not a protocol name such as \"kerong-cu16\""),
    # the layout
    (edited('id = "A02"', 'id = "A01"'),
     "compartments[1].id: duplicate compartment id 'A01' (also compartments[0])"),
    (edited("board = 15\nlock = 3", "board = 0\nlock = 1"),
     "compartments[3].lock: board 0 lock 1 is already used by compartments[0] (A01)"),
    (VALID.split("[[compartments]]")[0].replace("[locker]", "compartments = []\n[locker]"),
     "compartments: no compartments: at least one is required"),
    # the camera, the locker id it puts in QR codes, and a serial scanner
    (edited('id = "test-locker"', 'id = "test locker"'),
     "locker.id: 'test locker' must be 1-40 letters, digits or dashes"),
    (edited("[timers]\n", '[camera]\n[timers]\n'), "camera.source: missing required key"),
    (edited("[timers]\n", '[camera]\nsource = " "\n[timers]\n'),
     "camera.source: must not be empty: a device index such as \"0\", a device path, a video file, "
     "a folder of images or sim://NAME"),
    (edited("[timers]\n", '[camera]\nsource = "0"\nfsp = 30\n[timers]\n'),
     "camera.fsp: unknown key (did you mean fps?)"),
    (edited("[timers]\n", '[camera]\nsource = "0"\nfps = 0\n[timers]\n'),
     "camera.fps: 0 is out of range 1..120"),
    (edited("[timers]\n", '[camera]\nsource = "0"\nwidth = 8\n[timers]\n'),
     "camera.width: 8 is out of range 16..4096"),
    (edited("[timers]\n", '[camera]\nsource = "0"\ndecoder = "zabr"\n[timers]\n'),
     "camera.decoder: unknown decoder 'zabr' (did you mean zbar?)"),
    (edited("[timers]\n", '[scanner]\nurl = ""\n[timers]\n'),
     "scanner.url: '' is not a transport URL: expected a device path, socket://host:port, "
     "rfc2217://host:port or sim://NAME"),
    # the platform
    (edited("[timers]\n", '[platform]\n[timers]\n'), "platform.url: missing required key"),
    (edited("[timers]\n", '[platform]\nurl = "http://platform.example.com"\n[timers]\n'),
     "platform.url: plain http:// is allowed only to this machine (127.0.0.1); use https:// so the "
     "platform's certificate is checked"),
    (edited("[timers]\n", '[platform]\nurl = "ftp://x"\n[timers]\n'),
     "platform.url: 'ftp://x' is not an https:// address of the platform"),
    (edited("[timers]\n", '[platform]\nurl = "https://p.example.com"\nsync_s = 0\n[timers]\n'),
     "platform.sync_s: 0 is out of range: must be greater than 0"),
    (edited("[timers]\n", '[platform]\nurl = "https://p.example.com"\nheartbeat = 5\n[timers]\n'),
     "platform.heartbeat: unknown key (did you mean heartbeat_s?)"),
    # TOML syntax, with the line
    (edited("retries = 3", "retries 3"),
     "line 12: invalid TOML: Expected '=' after a key in a key/value pair"),
    (edited('id = "A01"', 'id = "A01'), "line 19: invalid TOML: Illegal character '\\n'"),
    (edited("retries = 3", "retries = 3\nretries = 4"), "line 13: invalid TOML: Cannot overwrite a value"),
    (VALID + "notes = [1,", "line 49 (end of file): invalid TOML: Invalid value"),
]


@pytest.mark.parametrize(("text", "message"), MISTAKES, ids=[message.split(":")[0] + "-" + str(number)
                                                            for number, (_, message) in enumerate(MISTAKES)])
def test_each_mistake_is_one_line_naming_file_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {message}"
    assert "\n" not in str(raised.value)
    assert raised.value.file == str(path)


def test_the_file_is_named_as_the_caller_named_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, edited(SECOND_LOCK, "lock = 17\n"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        load_config("kiosk.toml")
    assert str(raised.value) == "kiosk.toml: compartments[1].lock: 17 is out of range 1..16"


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: file not found"
    assert (raised.value.key, raised.value.reason) == ("", "file not found")


def test_a_folder_and_a_binary_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a file"):
        load_config(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'[locker]\nid = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match=r"binary.toml: not UTF-8 text \(byte 15\)$"):
        load_config(binary)


# overrides -------------------------------------------------------------------------------------------

def test_overrides_point_the_database_and_bus_elsewhere(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    changed = config_with_overrides(config, database=tmp_path / "other.sqlite", bus_url="sim://qa-7",
                                    timers_inactivity_s=5, secrets_file="private/secrets.toml",
                                    bus_timeout_s=0.05, locker_default_language="en")
    assert changed.locker.database == tmp_path / "other.sqlite"
    assert changed.locker.secrets_file == tmp_path / "private" / "secrets.toml"
    assert (changed.bus.url, changed.bus.timeout_s) == ("sim://qa-7", 0.05)
    assert changed.timers == dataclasses.replace(config.timers, inactivity_s=5.0)
    assert changed.locker.default_language == "en"
    assert changed.compartments == config.compartments
    assert config.bus.url == "sim://test"  # the original is untouched
    assert dataclasses.replace(config, timers=Timers()).timers == Timers()  # plain replace works too


def test_whole_sections_and_the_layout_can_be_replaced(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    layout = (Compartment("X1", Size.M, 3, 4, 100, 1),)
    changed = config_with_overrides(config, compartments=layout, timers=Timers(thank_you_s=1))
    assert changed.compartments == layout
    assert changed.timers.thank_you_s == 1
    assert isinstance(changed, KioskConfig)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bus_ulr": "sim://x"}, r"bus_ulr: unknown override \(did you mean bus_url\?\)"),
        ({"timers_inactivity_s": 0}, "timers.inactivity_s: 0 is out of range: must be greater than 0"),
        ({"bus_hook_closed_bit": True},
         r"bus.hook_closed_bit: expected a whole number, got true \(a boolean\)"),
        ({"locker_default_language": "fr"}, "locker.default_language: unknown language 'fr'"),
        ({"database": 5}, r"locker.database: expected text in quotes, got 5 \(a whole number\)"),
        ({"timers": {"inactivity_s": 5}}, "timers: expected a Timers, got a table"),
        ({"compartments": (Compartment("A", Size.S, 0, 1, 1, 1), Compartment("B", Size.S, 0, 1, 1, 1))},
         r"compartments\[1\].lock: board 0 lock 1 is already used by compartments\[0\] \(A\)"),
    ],
)
def test_bad_overrides_are_config_errors(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    config = load_config(write(tmp_path, VALID))
    with pytest.raises(ConfigError, match=rf"\(override\): {message}"):
        config_with_overrides(config, **changes)


def test_importing_the_module_has_no_side_effects(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import kiosk.config, os; print(sorted(os.listdir('.')))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

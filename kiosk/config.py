"""The kiosk's configuration: one TOML file validated strictly into frozen dataclasses, plus secrets.

Every problem is a ConfigError whose message names the file, the key path and the reason, e.g.
``kiosk.toml: compartments[3].lock: 17 is out of range 1..16``. Compartments are counted from 0
in key paths, in the order of their ``[[compartments]]`` tables. Importing this module has no
side effects.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import fcntl
import ipaddress
import math
import os
import re
import secrets as secrets_random
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hal.codes import DECODER_NAMES, DEFAULT_DECODER
from hal.lockboard import board_range, driver_options, known_protocols, lock_range
from kiosk.core.model import Compartment, CourierPolicy, FacePolicy, Size, Timers
from kiosk.core.payloads import LOCKER_ID_PATTERN
from kiosk.store.residents import email_problem

SUPPORTED_LANGUAGES = ("en", "de")
HEIGHT_RANGE_CM = (1, 300)
COLUMN_RANGE = (1, 64)
CODE_KEY_BYTES = 32

_COMPARTMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_PROTOCOL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TOML_POSITION = re.compile(r"^(?P<reason>.*) \((?P<where>at line (?P<line>\d+), column (?P<column>\d+)|"
                            r"at end of document)\)$", re.DOTALL)


class ConfigError(Exception):
    """A configuration or secrets file is unusable. `str()` is one line: file, key path, reason."""

    def __init__(self, file: str | Path, key: str, reason: str) -> None:
        self.file = str(file)
        self.key = key
        self.reason = reason
        super().__init__(f"{self.file}: {key}: {reason}" if key else f"{self.file}: {reason}")


@dataclass(frozen=True)
class LockerConfig:
    id: str
    default_language: str  # one of SUPPORTED_LANGUAGES
    database: Path  # absolute
    secrets_file: Path  # absolute


@dataclass(frozen=True)
class BusConfig:
    url: str  # a device path, socket://host:port, rfc2217://host:port or sim://NAME
    protocol: str  # the lock-board protocol, e.g. "kerong-cu16"
    hook_closed_bit: int | None  # Kerong: the hook bit's value when the door is closed (0 or 1); else None
    timeout_s: float
    retries: int
    # [bus.options]: the protocol's own driver settings (e.g. closed_bit = 0 for BU boards, baudrate),
    # as (name, value) pairs checked against what that protocol's driver takes
    options: tuple[tuple[str, bool | int | float | str], ...] = ()


@dataclass(frozen=True)
class CameraConfig:
    """[camera]: the camera people show QR codes to. Absent: no camera, the keypad only."""

    # a device index ("0") or path ("/dev/video0"), a video file, a folder of images, or sim://NAME
    source: str
    width: int = 640
    height: int = 480
    fps: float = 30.0
    decoder: str = DEFAULT_DECODER  # one of hal.codes.DECODER_NAMES


@dataclass(frozen=True)
class ScannerConfig:
    """[scanner]: a serial barcode scanner (keyboard-wedge scanners need no configuration)."""

    url: str  # a device path or socket://host:port


@dataclass(frozen=True)
class KioskConfig:
    path: Path  # the TOML file it was read from, absolute
    locker: LockerConfig
    bus: BusConfig
    timers: Timers
    compartments: tuple[Compartment, ...]
    camera: CameraConfig | None = None
    scanner: ScannerConfig | None = None
    platform: PlatformConfig | None = None
    mail: MailConfig | None = None
    courier: CourierPolicy = field(default_factory=CourierPolicy)  # [courier]; absent: the defaults
    # [face]; absent: the defaults. Offered only with a [camera] and a face_key in the secrets file.
    face: FacePolicy = field(default_factory=FacePolicy)


@dataclass(frozen=True)
class PlatformConfig:
    """[platform]: the operator's platform. Absent: the locker runs standalone, its own system of record."""

    url: str  # https://...; http:// only to this machine (the fake platform in tests and `make demo-online`)
    ca_bundle: Path | None = None  # a CA bundle to verify the platform's certificate with; None: the system's
    connect_timeout_s: float = 3.05
    read_timeout_s: float = 10.0
    heartbeat_s: float = 60.0
    sync_s: float = 300.0
    outbox_alarm_depth: int = 10_000  # an alarm event (once) when this many events wait for delivery


@dataclass(frozen=True)
class MailConfig:
    """[mail]: the SMTP server that e-mails residents their pickup codes (standalone mode). Absent: none."""

    host: str  # a host name or IP address, without a port
    from_address: str  # the sender of every mail, e.g. "locker@building.example"
    security: str = "starttls"  # one of MAIL_SECURITY; "none" only to this machine
    port: int = 587  # default: 587 for "starttls", 465 for "tls", 25 for "none"
    username: str | None = None  # log in as this user; the password is smtp_password in the secrets file
    timeout_s: float = 10.0  # for connecting and for each reply of the server
    ca_bundle: Path | None = None  # verify the server's certificate against this CA; None: the system's


@dataclass(frozen=True)
class Secrets:
    path: Path
    code_key: bytes = field(repr=False)  # keys the pickup-code hashes
    platform_secret: bytes | None = field(default=None, repr=False)  # signs requests to the platform
    smtp_password: str | None = field(default=None, repr=False)  # for [mail] username
    # Encrypts the stored face encodings: a Fernet key as Fernet() takes it (44 URL-safe base64 characters,
    # 32 bytes). None when the file has none and none could be added: face enrolment is then off.
    face_key: bytes | None = field(default=None, repr=False)
    # Why face_key is None, in one line for the log (never the key); None when there is a face_key.
    face_key_problem: str | None = None


# loading ----------------------------------------------------------------------------------------


def _new_face_key() -> bytes:
    """A fresh Fernet key, as cryptography's Fernet.generate_key() makes one (32 random bytes, URL-safe
    base64), without importing cryptography: the kiosk loads it only once a face is sealed or unsealed."""
    return base64.urlsafe_b64encode(os.urandom(32))


def load_config(path: str | Path) -> KioskConfig:
    """Read and validate a kiosk TOML file. Raises ConfigError on any problem."""
    label = str(path)
    file = Path(path).expanduser()
    text = ""
    try:
        text = file.read_bytes().decode("utf-8")
        document = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(label, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(label, "", "is a folder, not a file") from None
    except PermissionError:
        raise ConfigError(label, "", "permission denied: the kiosk user cannot read it") from None
    except UnicodeDecodeError as error:
        raise ConfigError(label, "", f"not UTF-8 text (byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(label, *_toml_error_position(str(error), text)) from None
    except OSError as error:
        raise ConfigError(label, "", f"cannot read: {error.strerror or error}") from None
    try:
        return _parse(document, file.absolute())
    except _Invalid as invalid:
        raise ConfigError(label, invalid.key, invalid.reason) from None


def config_with_overrides(config: KioskConfig, **changes: object) -> KioskConfig:
    """A copy of `config` with some values replaced, validated like the file.

    Keys: a whole section (`locker`, `bus`, `timers`, `courier`, `face`, `compartments`, `path`); one field
    of a section as `<section>_<field>` (`bus_url="sim://test"`, `timers_inactivity_s=5`,
    `courier_accept_unannounced=True`, `face_match_threshold=0.4`, `locker_database=tmp_path / "k.sqlite"`);
    or the shortcuts
    `database` and `secrets_file`.
    Relative paths are taken relative to the config file's folder, like in the file.
    """
    label = f"{config.path} (override)"
    sections: dict[str, Any] = {
        "locker": config.locker, "bus": config.bus, "timers": config.timers, "courier": config.courier,
        "face": config.face,
    }
    top: dict[str, Any] = {"path": config.path, "compartments": config.compartments,
                           "camera": config.camera, "scanner": config.scanner, "platform": config.platform,
                           "mail": config.mail}
    try:
        for name, value in changes.items():
            if name in ("database", "secrets_file"):
                name = f"locker_{name}"
            if name in sections:
                expected = type(sections[name])
                if not isinstance(value, expected):
                    raise _Invalid(name, f"expected a {expected.__name__}, got {_describe(value)}")
                sections[name] = value
            elif name in top:
                top[name] = _override_top(name, value)
            else:
                section, _, field_name = name.partition("_")
                if section not in sections or field_name not in _field_names(sections[section]):
                    raise _Invalid(name, "unknown override" + _suggestion(name, _override_names(config)))
                sections[section] = dataclasses.replace(
                    sections[section],
                    **{field_name: _override_field(section, field_name, value, Path(top["path"]).parent)})
        _check_layout_conflicts(top["compartments"])
    except _Invalid as invalid:
        raise ConfigError(label, invalid.key, invalid.reason) from None
    return KioskConfig(Path(top["path"]), sections["locker"], sections["bus"], sections["timers"],
                       tuple(top["compartments"]), top["camera"], top["scanner"], top["platform"],
                       top["mail"], sections["courier"], sections["face"])


def load_or_create_secrets(path: str | Path, create: bool = True) -> Secrets:
    """Read the secrets file, or (with `create`) make one with a fresh random code key and face key.

    A new file gets mode 0600, in a folder created with mode 0700 when missing. An existing file
    that group or others may access is refused: the codes' key must stay private.
    An existing file without a face_key gets one added (with `create`; atomically, keeping its mode). If
    that is impossible (a read-only file or folder, a full disk), the result has face_key None and
    face_key_problem says why: the caller logs that face enrolment is off, and everything else works.
    """
    label = str(path)
    file = Path(path).expanduser().absolute()
    try:
        status = file.stat()
    except FileNotFoundError:
        if not create:
            raise ConfigError(label, "", "file not found") from None
        _create_secrets(file, label)
        status = file.stat()
    except OSError as error:
        raise ConfigError(label, "", f"cannot read: {error.strerror or error}") from None
    if not stat.S_ISREG(status.st_mode):
        raise ConfigError(label, "", "is not a regular file")
    if status.st_mode & 0o077:
        mode = stat.S_IMODE(status.st_mode)
        raise ConfigError(label, "", f"group or others may access it (mode {mode:04o}); "
                                     f"fix it with: chmod 600 {file}")
    document = _read_secrets(file, label)[1]
    try:
        _reject_unknown(document, "", _SECRETS_KEYS)
        hex_key = _text(_require(document, "", "code_key"), "code_key")
        # Never echo the values: they are the keys.
        if len(hex_key) != 2 * CODE_KEY_BYTES or not re.fullmatch(r"[0-9a-fA-F]*", hex_key):
            raise _Invalid("code_key", f"expected {2 * CODE_KEY_BYTES} hexadecimal digits "
                                       f"({CODE_KEY_BYTES} bytes), got {len(hex_key)} characters")
        platform_secret = None
        if "platform_secret" in document:
            hex_secret = _text(document["platform_secret"], "platform_secret")
            if (len(hex_secret) < 2 * PLATFORM_SECRET_MIN_BYTES or len(hex_secret) % 2
                    or not re.fullmatch(r"[0-9a-fA-F]*", hex_secret)):
                raise _Invalid("platform_secret", f"expected at least {2 * PLATFORM_SECRET_MIN_BYTES} "
                                                  f"hexadecimal digits ({PLATFORM_SECRET_MIN_BYTES} bytes or "
                                                  f"more), got {len(hex_secret)} characters")
            platform_secret = bytes.fromhex(hex_secret)
        smtp_password = None
        if "smtp_password" in document:
            smtp_password = _text(document["smtp_password"], "smtp_password")
            if not smtp_password:
                raise _Invalid("smtp_password", "must not be empty; remove the key if the server needs none")
        face_key = _face_key(document["face_key"]) if "face_key" in document else None
    except _Invalid as invalid:
        raise ConfigError(label, invalid.key, invalid.reason) from None
    face_key_problem = None
    if face_key is None:
        if create:
            face_key, face_key_problem = _add_face_key(file, label)
        else:
            face_key_problem = "the secrets file has no face_key"
    return Secrets(file, bytes.fromhex(hex_key), platform_secret, smtp_password, face_key, face_key_problem)


def mail_password(config: KioskConfig, secrets: Secrets) -> str | None:
    """The SMTP password to log in to [mail] with: None when no username is configured. A username without
    a smtp_password in the secrets file is a ConfigError naming the secrets file."""
    if config.mail is None or config.mail.username is None:
        return None
    if secrets.smtp_password is None:
        raise ConfigError(secrets.path, "smtp_password",
                          f"missing: {config.path} sets mail.username, so the SMTP password must be here")
    return secrets.smtp_password


# parsing ------------------------------------------------------------------------------------------

class _Invalid(Exception):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


_TOP_KEYS = ("locker", "bus", "timers", "compartments", "camera", "scanner", "platform", "mail", "courier",
             "face")
_FACE_KEYS = tuple(face_field.name for face_field in dataclasses.fields(FacePolicy))
# Inclusive ranges of the [face] numbers. The threshold stops at face_recognition's own 0.6: anything looser
# lets strangers' faces match (false accepts open doors).
FACE_RANGES: dict[str, tuple[float, float]] = {
    "match_threshold": (0.2, 0.6),
    "frames_to_agree": (2, 10),
    "liveness_window_s": (3.0, 30.0),
    "attempt_s": (5.0, 120.0),
    "enrol_frames": (3, 10),
    "enrol_timeout_s": (5.0, 120.0),
    "forget_after_days": (1, 3650),
}
_COURIER_KEYS = ("unannounced", "pickup_window_hours", "max_login_failures")
UNANNOUNCED_POLICIES = ("refuse", "accept")
PICKUP_WINDOW_HOURS_RANGE = (1, 720)  # up to 30 days
MAX_LOGIN_FAILURES_RANGE = (3, 20)
_MAIL_KEYS = tuple(mail_field.name for mail_field in dataclasses.fields(MailConfig))
MAIL_SECURITY = ("starttls", "tls", "none")
_MAIL_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
MAIL_TIMEOUT_RANGE_S = (0.1, 300.0)
_HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(\.{_HOST_LABEL})*\.?")
_PLATFORM_KEYS = tuple(platform_field.name for platform_field in dataclasses.fields(PlatformConfig))
PLATFORM_SECRET_MIN_BYTES = 32
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_CAMERA_KEYS = tuple(camera_field.name for camera_field in dataclasses.fields(CameraConfig))
_SCANNER_KEYS = ("url",)
CAMERA_SIZE_RANGE = (16, 4096)
CAMERA_FPS_RANGE = (1.0, 120.0)
_LOCKER_KEYS = ("id", "default_language", "database", "secrets_file")
# Protocols whose status replies carry a hook bit of board-dependent polarity (DESIGN.md section 5).
HOOK_BIT_PROTOCOLS = ("kerong-cu16",)

_BUS_KEYS = ("url", "protocol", "hook_closed_bit", "timeout_ms", "retries", "options")
# Driver settings with a key of their own in [bus]; [bus.options] holds the rest.
_BUS_OWN_OPTIONS = ("hook_closed_bit", "timeout", "retries")
_COMPARTMENT_KEYS = ("id", "size", "board", "lock", "height_cm", "column")
_TIMER_KEYS = tuple(timer_field.name for timer_field in dataclasses.fields(Timers))


def _parse(document: Mapping[str, Any], file: Path) -> KioskConfig:
    _reject_unknown(document, "", _TOP_KEYS)
    folder = file.parent
    locker = _table(_require(document, "", "locker"), "locker")
    bus = _table(_require(document, "", "bus"), "bus")
    timers = _table(document.get("timers", {}), "timers")
    compartments = _require(document, "", "compartments")
    parsed_bus = _parse_bus(bus)
    layout = _parse_compartments(compartments)
    _check_boards_on_bus(layout, parsed_bus.protocol)
    camera = _parse_camera(_table(document["camera"], "camera"), folder) if "camera" in document else None
    scanner = _parse_scanner(_table(document["scanner"], "scanner")) if "scanner" in document else None
    platform = (_parse_platform(_table(document["platform"], "platform"), folder)
                if "platform" in document else None)
    mail = _parse_mail(_table(document["mail"], "mail"), folder) if "mail" in document else None
    courier = _parse_courier(_table(document["courier"], "courier")) if "courier" in document \
        else CourierPolicy()
    face = _parse_face(_table(document["face"], "face")) if "face" in document else FacePolicy()
    return KioskConfig(file, _parse_locker(locker, folder), parsed_bus, _parse_timers(timers), layout,
                       camera, scanner, platform, mail, courier, face)


def _parse_face(table: Mapping[str, Any]) -> FacePolicy:
    _reject_unknown(table, "face", _FACE_KEYS)
    values: dict[str, Any] = {name: _face_value(name, value) for name, value in table.items()}
    return FacePolicy(**values)


def _face_value(name: str, value: object) -> bool | int | float:
    key = f"face.{name}"
    default = getattr(FacePolicy(), name)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _Invalid(key, f"expected true or false, got {_describe(value)}")
        return value
    low, high = FACE_RANGES[name]
    if isinstance(default, int):
        return _in_range(_integer(value, key), key, int(low), int(high))
    number = _number(value, key)
    if number > high and name == "match_threshold":
        raise _Invalid(key, f"{number:g} is out of range {low:g}..{high:g}: looser than face_recognition's "
                            f"own {high:g} means false accepts (a stranger's face opening a door)")
    if not low <= number <= high:
        raise _Invalid(key, f"{number:g} is out of range {low:g}..{high:g}")
    return number


def _parse_courier(table: Mapping[str, Any]) -> CourierPolicy:
    _reject_unknown(table, "courier", _COURIER_KEYS)
    defaults = CourierPolicy()
    accept = defaults.accept_unannounced
    if "unannounced" in table:
        accept = _unannounced(table["unannounced"], "courier.unannounced")
    window = _courier_number("pickup_window_hours", table.get("pickup_window_hours",
                                                               defaults.pickup_window_hours))
    failures = _courier_number("max_login_failures", table.get("max_login_failures",
                                                              defaults.max_login_failures))
    return CourierPolicy(accept, window, failures)


def _unannounced(value: object, key: str) -> bool:
    policy = _text(value, key)
    if policy not in UNANNOUNCED_POLICIES:
        raise _Invalid(key, f"unknown policy {policy!r}: \"refuse\" (a courier keeps a parcel the platform "
                            "never announced) or \"accept\" (it is deposited, with a photo)")
    return policy == "accept"


def _courier_number(name: str, value: object) -> int:
    key = f"courier.{name}"
    low, high = PICKUP_WINDOW_HOURS_RANGE if name == "pickup_window_hours" else MAX_LOGIN_FAILURES_RANGE
    return _in_range(_integer(value, key), key, low, high)


def _parse_mail(table: Mapping[str, Any], folder: Path) -> MailConfig:
    _reject_unknown(table, "mail", _MAIL_KEYS)
    host = _mail_host(_require(table, "mail", "host"))
    security = _text(table.get("security", "starttls"), "mail.security")
    if security not in MAIL_SECURITY:
        raise _Invalid("mail.security", f"unknown security {security!r} (one of: {', '.join(MAIL_SECURITY)})")
    if security == "none" and host.casefold() not in _LOCAL_HOSTS:
        raise _Invalid("mail.security", "\"none\" (no encryption) is allowed only to this machine (127.0.0.1 "
                                        "or localhost): the mails carry pickup codes; use \"starttls\" or "
                                        "\"tls\"")
    port = _in_range(_integer(table.get("port", _MAIL_DEFAULT_PORTS[security]), "mail.port"), "mail.port",
                     1, 65535)
    from_address = _text(_require(table, "mail", "from_address"), "mail.from_address").strip()
    problem = email_problem(from_address)
    if problem is not None:
        raise _Invalid("mail.from_address", f"{from_address!r} is not an e-mail address: {problem}")
    username = None
    if "username" in table:
        username = _text(table["username"], "mail.username")
        if not username.strip() or username != username.strip() or not username.isprintable():
            raise _Invalid("mail.username", f"{username!r} is not a user name: no spaces around it, no "
                                            "control characters; leave the key out to send without a login")
    timeout = _number(table.get("timeout_s", MailConfig.timeout_s), "mail.timeout_s")
    if not MAIL_TIMEOUT_RANGE_S[0] <= timeout <= MAIL_TIMEOUT_RANGE_S[1]:
        low, high = MAIL_TIMEOUT_RANGE_S
        raise _Invalid("mail.timeout_s", f"{timeout:g} is out of range {low:g}..{high:g}")
    ca_bundle = _path(table["ca_bundle"], "mail.ca_bundle", folder) if "ca_bundle" in table else None
    return MailConfig(host, from_address, security, port, username, timeout, ca_bundle)


def _mail_host(value: object) -> str:
    host = _text(value, "mail.host").strip()
    if not host:
        raise _Invalid("mail.host", "must not be empty: the SMTP server's name, e.g. smtp.example.com")
    if "://" in host or "/" in host:
        raise _Invalid("mail.host", f"{host!r} is an address, not a host name: give only the name, e.g. "
                                    "smtp.example.com (the port goes in mail.port)")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if ":" in host:
        raise _Invalid("mail.host", f"{host!r}: give the host name alone and the port in mail.port")
    if len(host) > 253 or not _HOST_NAME.fullmatch(host):
        raise _Invalid("mail.host", f"{host!r} is not a host name such as smtp.example.com")
    return host


def _parse_platform(table: Mapping[str, Any], folder: Path) -> PlatformConfig:
    _reject_unknown(table, "platform", _PLATFORM_KEYS)
    url = _text(_require(table, "platform", "url"), "platform.url").strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise _Invalid("platform.url", f"{url!r} is not an https:// address of the platform")
    if parsed.scheme == "http" and parsed.hostname not in _LOCAL_HOSTS:
        raise _Invalid("platform.url", "plain http:// is allowed only to this machine (127.0.0.1); "
                                       "use https:// so the platform's certificate is checked")
    defaults = PlatformConfig(url)
    ca_bundle = _path(table["ca_bundle"], "platform.ca_bundle", folder) if "ca_bundle" in table else None
    seconds: dict[str, float] = {}
    for name in ("connect_timeout_s", "read_timeout_s", "heartbeat_s", "sync_s"):
        key = f"platform.{name}"
        value = _number(table.get(name, getattr(defaults, name)), key)
        if value <= 0:
            raise _Invalid(key, f"{value:g} is out of range: must be greater than 0")
        seconds[name] = value
    depth = _at_least(_integer(table.get("outbox_alarm_depth", defaults.outbox_alarm_depth),
                               "platform.outbox_alarm_depth"), "platform.outbox_alarm_depth", 1)
    return PlatformConfig(url, ca_bundle, outbox_alarm_depth=depth, **seconds)


def _parse_camera(table: Mapping[str, Any], folder: Path) -> CameraConfig:
    _reject_unknown(table, "camera", _CAMERA_KEYS)
    source = _text(_require(table, "camera", "source"), "camera.source").strip()
    if not source:
        raise _Invalid("camera.source", "must not be empty: a device index such as \"0\", a device path, a "
                                        "video file, a folder of images or sim://NAME")
    if not (source.isdigit() or "://" in source or source.startswith("/dev/")):
        source = str(_path(source, "camera.source", folder))  # a file or folder, relative to this file
    defaults = CameraConfig(source)
    width = _in_range(_integer(table.get("width", defaults.width), "camera.width"), "camera.width",
                      *CAMERA_SIZE_RANGE)
    height = _in_range(_integer(table.get("height", defaults.height), "camera.height"), "camera.height",
                       *CAMERA_SIZE_RANGE)
    fps = _number(table.get("fps", defaults.fps), "camera.fps")
    if not CAMERA_FPS_RANGE[0] <= fps <= CAMERA_FPS_RANGE[1]:
        low, high = CAMERA_FPS_RANGE
        raise _Invalid("camera.fps", f"{fps:g} is out of range {low:g}..{high:g}")
    decoder = _text(table.get("decoder", defaults.decoder), "camera.decoder")
    if decoder not in DECODER_NAMES:
        raise _Invalid("camera.decoder",
                       f"unknown decoder {decoder!r}" + _suggestion(decoder, DECODER_NAMES))
    return CameraConfig(source, width, height, fps, decoder)


def _parse_scanner(table: Mapping[str, Any]) -> ScannerConfig:
    _reject_unknown(table, "scanner", _SCANNER_KEYS)
    return ScannerConfig(_url(_require(table, "scanner", "url"), "scanner.url"))


def _check_boards_on_bus(compartments: Sequence[Compartment], protocol: str) -> None:
    addresses = board_range(protocol)
    locks = lock_range(protocol)
    for index, compartment in enumerate(compartments):
        _in_range(compartment.lock, f"compartments[{index}].lock", locks.start, locks.stop - 1)
        if compartment.board not in addresses:
            raise _Invalid(
                f"compartments[{index}].board",
                f"{compartment.board} is not a {protocol} board address "
                f"({addresses.start}..{addresses.stop - 1})",
            )


def _parse_locker(table: Mapping[str, Any], folder: Path) -> LockerConfig:
    _reject_unknown(table, "locker", _LOCKER_KEYS)
    locker_id = _text(_require(table, "locker", "id"), "locker.id")
    if not locker_id.strip():
        raise _Invalid("locker.id", "must not be empty")
    if not LOCKER_ID_PATTERN.fullmatch(locker_id):
        # The id is part of every pickup QR code (kiosk.core.payloads).
        raise _Invalid("locker.id", f"{locker_id!r} must be 1-40 letters, digits or dashes")
    language = _language(table.get("default_language", "en"), "locker.default_language")
    database = _path(_require(table, "locker", "database"), "locker.database", folder)
    secrets_file = _path(_require(table, "locker", "secrets_file"), "locker.secrets_file", folder)
    return LockerConfig(locker_id, language, database, secrets_file)


def _parse_bus(table: Mapping[str, Any]) -> BusConfig:
    _reject_unknown(table, "bus", _BUS_KEYS)
    url = _url(_require(table, "bus", "url"), "bus.url")
    protocol = _protocol(_require(table, "bus", "protocol"), "bus.protocol")
    if protocol not in known_protocols():
        raise _Invalid("bus.protocol", f"unknown lock-board protocol {protocol!r}"
                       + _suggestion(protocol, known_protocols()))
    hook_closed_bit: int | None = None
    if protocol in HOOK_BIT_PROTOCOLS:
        key = "bus.hook_closed_bit"
        hook_closed_bit = _in_range(_integer(_require(table, "bus", "hook_closed_bit"), key), key, 0, 1)
    elif "hook_closed_bit" in table:
        raise _Invalid("bus.hook_closed_bit", f"{protocol} boards have no hook bit; remove this key")
    timeout_ms = _at_least(_integer(table.get("timeout_ms", 150), "bus.timeout_ms"), "bus.timeout_ms", 1)
    retries = _at_least(_integer(table.get("retries", 2), "bus.retries"), "bus.retries", 0)
    options = _parse_bus_options(_table(table.get("options", {}), "bus.options"), protocol)
    return BusConfig(url, protocol, hook_closed_bit, timeout_ms / 1000, retries, options)


def _parse_bus_options(
    table: Mapping[str, Any], protocol: str
) -> tuple[tuple[str, bool | int | float | str], ...]:
    allowed = [name for name in driver_options(protocol) if name not in _BUS_OWN_OPTIONS]
    options: list[tuple[str, bool | int | float | str]] = []
    for name, value in table.items():
        key = f"bus.options.{name}"
        if name in _BUS_OWN_OPTIONS:
            raise _Invalid(key, "set it in [bus] itself, not in [bus.options]")
        if name not in allowed:
            raise _Invalid(key, f"not an option of {protocol} boards" + _suggestion(name, allowed))
        if not isinstance(value, bool | int | float | str):
            raise _Invalid(key, f"expected a number, true/false or text, got {_describe(value)}")
        options.append((name, value))
    return tuple(options)


def _parse_timers(table: Mapping[str, Any]) -> Timers:
    _reject_unknown(table, "timers", _TIMER_KEYS)
    values: dict[str, Any] = {name: _timer_value(name, value) for name, value in table.items()}
    return Timers(**values)


def _parse_compartments(value: object) -> tuple[Compartment, ...]:
    if not isinstance(value, list):
        raise _Invalid("compartments", f"expected [[compartments]] tables, got {_describe(value)}")
    if not value:
        raise _Invalid("compartments", "no compartments: at least one is required")
    compartments = tuple(_parse_compartment(_table(item, f"compartments[{index}]"), f"compartments[{index}]")
                         for index, item in enumerate(value))
    _check_layout_conflicts(compartments)
    return compartments


def _parse_compartment(table: Mapping[str, Any], where: str) -> Compartment:
    _reject_unknown(table, where, _COMPARTMENT_KEYS)
    compartment_id = _text(_require(table, where, "id"), f"{where}.id")
    if not _COMPARTMENT_ID.match(compartment_id):
        raise _Invalid(f"{where}.id", f"{compartment_id!r} is not a compartment id: use 1 to 16 letters, "
                                      "digits, '-' or '_'")
    size = _size(_require(table, where, "size"), f"{where}.size")
    board = _integer(_require(table, where, "board"), f"{where}.board")
    # Board and lock ranges depend on the board family: checked with the bus protocol (_check_boards_on_bus).
    lock = _integer(_require(table, where, "lock"), f"{where}.lock")
    height = _in_range(_integer(_require(table, where, "height_cm"), f"{where}.height_cm"),
                       f"{where}.height_cm", *HEIGHT_RANGE_CM)
    column = _in_range(_integer(_require(table, where, "column"), f"{where}.column"), f"{where}.column",
                       *COLUMN_RANGE)
    return Compartment(compartment_id, size, board, lock, height, column)


def _check_layout_conflicts(compartments: Sequence[Compartment]) -> None:
    first_with_id: dict[str, int] = {}
    first_on_lock: dict[tuple[int, int], int] = {}
    for index, compartment in enumerate(compartments):
        where = f"compartments[{index}]"
        if not isinstance(compartment, Compartment):
            raise _Invalid(where, f"expected a Compartment, got {_describe(compartment)}")
        earlier = first_with_id.setdefault(compartment.id, index)
        if earlier != index:
            raise _Invalid(f"{where}.id", f"duplicate compartment id {compartment.id!r} "
                                          f"(also compartments[{earlier}])")
        place = (compartment.board, compartment.lock)
        earlier = first_on_lock.setdefault(place, index)
        if earlier != index:
            other = compartments[earlier].id
            raise _Invalid(f"{where}.lock", f"board {compartment.board} lock {compartment.lock} is already "
                                            f"used by compartments[{earlier}] ({other})")
    if not compartments:
        raise _Invalid("compartments", "no compartments: at least one is required")


# values -------------------------------------------------------------------------------------------

def _require(table: Mapping[str, Any], where: str, key: str) -> Any:
    if key not in table:
        raise _Invalid(_join(where, key), "missing required key")
    return table[key]


def _reject_unknown(table: Mapping[str, Any], where: str, known: Iterable[str]) -> None:
    known = tuple(known)
    for key in table:
        if key not in known:
            raise _Invalid(_join(where, key), "unknown key" + _suggestion(key, known))


def _suggestion(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (expected one of: {', '.join(known)})"


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _table(value: object, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(key, f"expected a table, got {_describe(value)}")
    return value


def _text(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(key, f"expected text in quotes, got {_describe(value)}")
    return value


def _integer(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(key, f"expected a whole number, got {_describe(value)}")
    return value


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(key, f"expected a number, got {_describe(value)}")
    if not math.isfinite(value):
        raise _Invalid(key, f"expected a finite number, got {value}")
    return float(value)


def _in_range(value: int, key: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise _Invalid(key, f"{value} is out of range {low}..{high}")
    return value


def _at_least(value: int, key: str, low: int) -> int:
    if value < low:
        raise _Invalid(key, f"{value} is out of range: must be {low} or more")
    return value


def _language(value: object, key: str) -> str:
    language = _text(value, key)
    if language not in SUPPORTED_LANGUAGES:
        raise _Invalid(key, f"unknown language {language!r} (supported: {', '.join(SUPPORTED_LANGUAGES)})")
    return language


def _size(value: object, key: str) -> Size:
    text = _text(value, key)
    try:
        return Size(text)
    except ValueError:
        sizes = ", ".join(size.value for size in Size)
        raise _Invalid(key, f"unknown size {text!r} (one of: {sizes})") from None


def _url(value: object, key: str) -> str:
    url = _text(value, key)
    if not url or url != url.strip() or any(character.isspace() for character in url):
        raise _Invalid(key, f"{url!r} is not a transport URL: expected a device path, socket://host:port, "
                            "rfc2217://host:port or sim://NAME")
    return url


def _protocol(value: object, key: str) -> str:
    protocol = _text(value, key)
    if not _PROTOCOL_NAME.match(protocol):
        raise _Invalid(key, f"{protocol!r} is not a protocol name such as \"kerong-cu16\"")
    return protocol


def _path(value: object, key: str, folder: Path) -> Path:
    if isinstance(value, Path):
        value = str(value)
    text = _text(value, key)
    if not text.strip():
        raise _Invalid(key, "must not be empty")
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = folder / path
    return Path(os.path.normpath(path))


def _timer_value(name: str, value: object) -> float | int:
    key = f"timers.{name}"
    default = getattr(Timers(), name)
    if isinstance(default, int):
        return _at_least(_integer(value, key), key, 1)
    number = _number(value, key)
    if number <= 0:
        raise _Invalid(key, f"{value} is out of range: must be greater than 0")
    return number


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (a whole number)"
    if isinstance(value, float):
        return f"{value} (a number)"
    if isinstance(value, str):
        return f'"{value}" (text)'
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _toml_error_position(message: str, text: str) -> tuple[str, str]:
    """tomllib (3.11) puts the position only into its message: '<reason> (at line 3, column 7)'."""
    match = _TOML_POSITION.match(message)
    if match is None:
        return "", f"invalid TOML: {message}"
    if match.group("line"):
        return f"line {match.group('line')}", f"invalid TOML: {match.group('reason')}"
    last_line = max(1, len(text.splitlines()))
    return f"line {last_line} (end of file)", f"invalid TOML: {match.group('reason')}"


# overrides ----------------------------------------------------------------------------------------

def _field_names(section: object) -> tuple[str, ...]:
    return tuple(section_field.name for section_field in dataclasses.fields(section))  # type: ignore[arg-type]


def _override_names(config: KioskConfig) -> list[str]:
    names = ["locker", "bus", "timers", "courier", "compartments", "path", "database", "secrets_file",
             "camera", "scanner", "platform", "mail", "face"]
    for section in ("locker", "bus", "timers", "courier", "face"):
        names += [f"{section}_{name}" for name in _field_names(getattr(config, section))]
    return names


def _override_top(name: str, value: object) -> object:
    optional = {"camera": CameraConfig, "scanner": ScannerConfig, "platform": PlatformConfig,
                "mail": MailConfig}
    if name in optional:
        if value is not None and not isinstance(value, optional[name]):
            raise _Invalid(name, f"expected a {optional[name].__name__} or None, got {_describe(value)}")
        return value
    if name == "path":
        if not isinstance(value, str | Path):
            raise _Invalid(name, f"expected a path, got {_describe(value)}")
        return Path(value).expanduser().absolute()
    if not isinstance(value, list | tuple):
        raise _Invalid(name, f"expected a sequence of Compartment, got {_describe(value)}")
    return tuple(value)


def _override_field(section: str, name: str, value: object, folder: Path) -> object:
    key = f"{section}.{name}"
    if section == "timers":
        return _timer_value(name, value)
    if section == "face":
        return _face_value(name, value)
    if section == "courier":
        if name == "accept_unannounced":
            if not isinstance(value, bool):
                raise _Invalid(key, f"expected true or false, got {_describe(value)}")
            return value
        return _courier_number(name, value)
    if section == "locker":
        if name in ("database", "secrets_file"):
            return _path(value, key, folder)
        if name == "default_language":
            return _language(value, key)
        text = _text(value, key)
        if not text.strip():
            raise _Invalid(key, "must not be empty")
        return text
    if name == "url":
        return _url(value, key)
    if name == "protocol":
        return _protocol(value, key)
    if name == "hook_closed_bit":
        return _in_range(_integer(value, key), key, 0, 1)
    if name == "retries":
        return _at_least(_integer(value, key), key, 0)
    timeout = _number(value, key)
    if timeout <= 0:
        raise _Invalid(key, f"{value} is out of range: must be greater than 0")
    return timeout


# secrets ------------------------------------------------------------------------------------------

_SECRETS_KEYS = ("code_key", "platform_secret", "smtp_password", "face_key")
_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")
FACE_KEY_CHARACTERS = 44
_FACE_KEY_COMMENT = ("# Encrypts the stored face encodings: without it every enrolled face is unreadable,\n"
                     "# and recipients who chose face pickup must enrol again.\n")


def _read_secrets(file: Path, label: str) -> tuple[str, dict[str, Any]]:
    text = ""
    try:
        text = file.read_bytes().decode("utf-8")
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(label, *_toml_error_position(str(error), text)) from None
    except UnicodeDecodeError as error:
        raise ConfigError(label, "", f"not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ConfigError(label, "", f"cannot read: {error.strerror or error}") from None


def _face_key(value: object) -> bytes:
    # Never echo the value, not even a mistyped one: it decrypts every enrolled face.
    if not isinstance(value, str):
        kind = {bool: "a boolean", int: "a whole number", float: "a number", list: "an array",
                dict: "a table"}.get(type(value), f"a {type(value).__name__}")
        raise _Invalid("face_key", f"expected text in quotes, got {kind}")
    key = value
    problem = f"expected a Fernet key: {FACE_KEY_CHARACTERS} characters of URL-safe base64 (32 bytes)"
    if len(key) != FACE_KEY_CHARACTERS:
        raise _Invalid("face_key", f"{problem}, got {len(key)} characters")
    # 43 base64 digits and one "=" are 258 bits: always 32 bytes, which is all Fernet() checks.
    if not _FERNET_KEY.fullmatch(key):
        raise _Invalid("face_key", f"{problem}, got characters other than A-Z a-z 0-9 - _ or a missing "
                                   "final =")
    return key.encode("ascii")


def _add_face_key(file: Path, label: str) -> tuple[bytes | None, str | None]:
    """Append a fresh face_key to an existing secrets file: (the key, None), or (None, why not).

    The file is replaced atomically (a private temporary file in the same folder, fsync, rename) so a crash
    leaves either the old file or the new one, never half of one: the code key in it must survive. The
    folder is locked meanwhile so two processes starting together agree on one face key.
    """
    folder = file.parent
    try:
        folder_descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        return None, f"cannot add a face_key to the secrets file: {error.strerror or error}"
    try:
        fcntl.flock(folder_descriptor, fcntl.LOCK_EX)
        text, document = _read_secrets(file, label)
        if "face_key" in document:  # another process added one while this one waited for the lock
            try:
                return _face_key(document["face_key"]), None
            except _Invalid as invalid:
                raise ConfigError(label, invalid.key, invalid.reason) from None
        status = file.stat()
        if not status.st_mode & stat.S_IWUSR:
            return None, (f"the secrets file is read-only (mode {stat.S_IMODE(status.st_mode):04o}), so no "
                          "face_key can be added to it")
        key = _new_face_key()
        separator = "" if not text or text.endswith("\n") else "\n"
        addition = f'{_FACE_KEY_COMMENT}face_key = "{key.decode("ascii")}"\n'
        _replace_privately(file, (text + separator + addition).encode("utf-8"), status)
        os.fsync(folder_descriptor)
        return key, None
    except OSError as error:
        return None, f"cannot add a face_key to the secrets file: {error.strerror or error}"
    finally:
        os.close(folder_descriptor)  # also releases the lock


def _replace_privately(file: Path, content: bytes, status: os.stat_result) -> None:
    temporary = file.parent / f".{file.name}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)  # left by a crash: the caller holds the folder's lock
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(descriptor, stat.S_IMODE(status.st_mode))
            if os.geteuid() == 0:  # root starting the kiosk user's locker: the file must stay the user's
                os.fchown(descriptor, status.st_uid, status.st_gid)
            view = memoryview(content)
            while view:
                view = view[os.write(descriptor, view):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, file)
    finally:
        temporary.unlink(missing_ok=True)


def _create_secrets(file: Path, label: str) -> None:
    """Write a new secrets file atomically and never over an existing one (another process may race)."""
    folder = file.parent
    try:
        if not folder.exists():
            folder.mkdir(parents=True, mode=0o700)
            os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
        text = ("# Locker Kiosk secrets. Keep this file private (chmod 600); losing it invalidates\n"
                "# every pickup code stored in the database.\n"
                f'code_key = "{secrets_random.token_hex(CODE_KEY_BYTES)}"\n'
                f'{_FACE_KEY_COMMENT}face_key = "{_new_face_key().decode("ascii")}"\n')
        temporary = folder / f".{file.name}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.fchmod(descriptor, 0o600)
                os.write(descriptor, text.encode("ascii"))
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            try:
                os.link(temporary, file)  # fails if the file appeared meanwhile: keep the first one
            except FileExistsError:
                pass
            except OSError:
                # A filesystem without hard links (FAT): rename, unless another process won meanwhile.
                if not file.exists():
                    os.replace(temporary, file)
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as error:
        raise ConfigError(label, "", f"cannot create the secrets file: {error.strerror or error}") from None

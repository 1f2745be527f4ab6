"""Run the fake platform on its own:

    python -m kiosk.testing.fake_platform --host 127.0.0.1 --port 8765 --secret-file secrets.toml

The secret file is TOML, private to its owner (mode 0600; refused when group or others may read it):

    platform_secret = "<hex, at least 16 bytes>"
    code_key = "<hex, 32 bytes>"      # optional: the key of the code hashes; random when left out

The kiosk's own secrets file has this form, so the platform can be started on it. Prints
"serving on http://HOST:PORT" once it listens, and serves until SIGTERM or Ctrl-C (exit 0). A bad command
line or secret file: one line on stderr, exit 2.

With --demo it first seeds the demo network state (kiosk/testing/fake_platform/demo.py: a re-issued pickup
code, announced parcels, couriers, returns) and, after the "serving on" line, prints what it seeded. The
code hashes need the kiosk's code key, so --demo requires code_key in the secret file.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sqlite3
import stat
import sys
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from kiosk.backend.signing import MIN_SECRET_BYTES
from kiosk.testing.fake_platform.demo import seed_demo
from kiosk.testing.fake_platform.server import CODE_KEY_BYTES, FakePlatform

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_SECRET_KEYS = ("platform_secret", "code_key")


class SecretFileError(Exception):
    """The secret file cannot be used. `str()` is one line naming the file and why."""


@dataclass(frozen=True)
class PlatformSecrets:
    platform_secret: bytes
    code_key: bytes | None


def load_secrets(path: Path) -> PlatformSecrets:
    try:
        status = path.stat()
    except FileNotFoundError:
        raise SecretFileError(f"{path}: file not found") from None
    except OSError as error:
        raise SecretFileError(f"{path}: cannot read: {error.strerror or error}") from None
    if not stat.S_ISREG(status.st_mode):
        raise SecretFileError(f"{path}: not a regular file")
    if status.st_mode & 0o077:
        mode = stat.S_IMODE(status.st_mode)
        raise SecretFileError(f"{path}: group or others may access it (mode {mode:04o}); "
                              f"fix it with: chmod 600 {path}")
    try:
        document = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SecretFileError(f"{path}: not TOML: {' '.join(str(error).split())}") from None
    except OSError as error:
        raise SecretFileError(f"{path}: cannot read: {error.strerror or error}") from None
    unknown = sorted(set(document) - set(_SECRET_KEYS))
    if unknown:
        raise SecretFileError(f"{path}: unknown key {unknown[0]!r} (expected {', '.join(_SECRET_KEYS)})")
    if "platform_secret" not in document:
        raise SecretFileError(f"{path}: platform_secret is missing")
    # Never echo the values: they are the keys.
    secret = _hex_value(path, document, "platform_secret")
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretFileError(f"{path}: platform_secret: expected at least {MIN_SECRET_BYTES} bytes "
                              f"({2 * MIN_SECRET_BYTES} hexadecimal digits), got {len(secret)}")
    code_key = None
    if "code_key" in document:
        code_key = _hex_value(path, document, "code_key")
        if len(code_key) != CODE_KEY_BYTES:
            raise SecretFileError(f"{path}: code_key: expected {CODE_KEY_BYTES} bytes "
                                  f"({2 * CODE_KEY_BYTES} hexadecimal digits), got {len(code_key)}")
    return PlatformSecrets(secret, code_key)


def _hex_value(path: Path, document: dict[str, object], key: str) -> bytes:
    value = document[key]
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise SecretFileError(f"{path}: {key}: expected a string of hexadecimal digits")
    return bytes.fromhex(value)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"fake_platform: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m kiosk.testing.fake_platform",
                     description="A fake of the locker platform, serving the API contract on SQLite.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on (0: any free port)")
    parser.add_argument("--secret-file", type=Path, required=True,
                        help="TOML with platform_secret (mode 0600)")
    parser.add_argument("--database", type=Path,
                        help="SQLite file to keep the records in (default: a temporary one)")
    parser.add_argument("--locker-id", default="demo-locker",
                        help="the one locker served (default demo-locker)")
    parser.add_argument("--demo", action="store_true",
                        help="seed the demo network state (needs code_key in the secret file) and print it")
    parser.add_argument("--verbose", action="store_true", help="log every refused request")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if arguments.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not 0 <= arguments.port <= 65535:
        print(f"fake_platform: --port {arguments.port} is not 0-65535", file=sys.stderr)
        return 2
    try:
        loaded = load_secrets(arguments.secret_file)
        if arguments.demo and loaded.code_key is None:
            raise SecretFileError(f"{arguments.secret_file}: --demo needs code_key, the kiosk's key of the "
                                  "code hashes (as in its secrets file)")
        platform = FakePlatform(loaded.platform_secret, database=arguments.database, host=arguments.host,
                                port=arguments.port, locker_id=arguments.locker_id, code_key=loaded.code_key)
    except SecretFileError as error:
        print(f"fake_platform: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"fake_platform: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except sqlite3.Error as error:
        print(f"fake_platform: cannot open the database {arguments.database}: {error}", file=sys.stderr)
        return 2
    seeded: list[str] = []
    if arguments.demo:
        try:
            seeded = seed_demo(platform)
        except sqlite3.Error as error:
            platform.stop()
            print(f"fake_platform: cannot seed the demo into {arguments.database}: {error}", file=sys.stderr)
            return 2

    stop_requested = threading.Event()

    def request_stop(_signal: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        platform.start()
    except OSError as error:
        platform.stop()
        print(f"fake_platform: cannot listen on {arguments.host}:{arguments.port}: {error.strerror or error}",
              file=sys.stderr)
        return 2
    try:
        print(f"serving on {platform.url}", flush=True)
        for line in seeded:
            print(line, flush=True)
        stop_requested.wait()
    finally:
        platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

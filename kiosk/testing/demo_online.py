"""`make demo-online`: the demo kiosk as a locker of an operator's network, against the fake platform.

    python -m kiosk.testing.demo_online [--folder DIR] [--check] [kiosk arguments ...]

In DIR (default var/demo-online/ in the repository) it keeps:

    secrets.toml            the kiosk's secrets (mode 0600): code_key and platform_secret, random on the
                            first run and reused after
    platform-secrets.toml   the same two values for the fake platform (0600), rewritten every run
    kiosk.toml              the bundled demo config (what `kiosk --demo` uses) with its own database and
                            secrets, and a [platform] table for the fake platform; rewritten every run
    demo.sqlite             the kiosk's database
    platform.sqlite         the fake platform's records (the events it received survive the next run)

It starts `python -m kiosk.testing.fake_platform --demo` on a free port of 127.0.0.1, waits until it
answers a signed request, and runs `kiosk --demo --windowed --config DIR/kiosk.toml` in the foreground with
any further arguments. The platform is stopped when the kiosk ends, whatever ends it: its window closed,
Ctrl-C or SIGTERM (passed on to the kiosk, which closes cleanly), a crash. The platform runs in a session
of its own, so a Ctrl-C reaches only the kiosk and the platform hears the kiosk's last words; should this
launcher itself be killed, the kernel sends the platform SIGTERM (Linux).

--check sets everything up, starts the platform, checks that a request signed with the generated secret
gets a verified answer and that the platform hashes codes with the kiosk's code key, stops it and exits 0:
for tests and machines without a screen. Exit status: the kiosk's; 2 for a setup that failed (one line
on stderr saying why).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from kiosk.app import DEMO_CONFIG, REPO_ROOT
from kiosk.backend.remote import PickupVerification, PlatformClient, PlatformError
from kiosk.config import (
    CODE_KEY_BYTES,
    PLATFORM_SECRET_MIN_BYTES,
    ConfigError,
    load_config,
    load_or_create_secrets,
)
from kiosk.core.codes import hash_code
from kiosk.testing.fake_platform.demo import DEMO_HEARTBEAT_INTERVAL_S, DEMO_SYNC_INTERVAL_S, REISSUED_CODE

DEFAULT_FOLDER = REPO_ROOT / "var" / "demo-online"
SECRETS_FILE = "secrets.toml"
PLATFORM_SECRETS_FILE = "platform-secrets.toml"
CONFIG_FILE = "kiosk.toml"
DATABASE_FILE = "demo.sqlite"
PLATFORM_DATABASE_FILE = "platform.sqlite"
PLATFORM_START_S = 60.0  # seeding hashes two courier PINs with scrypt: a second on a slow machine
PLATFORM_STOP_S = 10.0
KIOSK_STOP_S = 15.0  # after Ctrl-C: the kiosk finishes its door transactions and closes its database
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PR_SET_PDEATHSIG = 1


class SetupError(Exception):
    """The demo could not be set up. `str()` is one line saying what and why."""


@dataclass(frozen=True)
class DemoSecrets:
    code_key: bytes
    platform_secret: bytes


# the files --------------------------------------------------------------------------------------

def prepare_secrets(folder: Path) -> DemoSecrets:
    """The kiosk's secrets file in `folder`: made with a random code key and platform secret on the first
    run, read (and checked as the kiosk checks it) after. The platform's copy is rewritten from it."""
    path = folder / SECRETS_FILE
    if not path.exists():
        _write_private(path, _secrets_text(secrets.token_bytes(CODE_KEY_BYTES),
                                           secrets.token_bytes(PLATFORM_SECRET_MIN_BYTES)))
    try:
        loaded = load_or_create_secrets(path, create=False)
    except ConfigError as error:
        raise SetupError(f"{error} (delete it to start the online demo afresh)") from None
    platform_secret = loaded.platform_secret
    if platform_secret is None:  # a secrets file from before the platform: keep its code key, add a secret
        platform_secret = secrets.token_bytes(PLATFORM_SECRET_MIN_BYTES)
        _write_private(path, _secrets_text(loaded.code_key, platform_secret, loaded.face_key))
    found = DemoSecrets(loaded.code_key, platform_secret)
    _write_private(folder / PLATFORM_SECRETS_FILE, _secrets_text(found.code_key, found.platform_secret))
    return found


def write_kiosk_config(folder: Path, platform_url: str) -> Path:
    """kiosk.toml in `folder`: the bundled demo config, with the database and secrets of this folder and a
    [platform] table; checked by the kiosk's own loader before anyone runs it."""
    try:
        document = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SetupError(f"{DEMO_CONFIG}: cannot read the demo config: {error}") from None
    locker = document.setdefault("locker", {})
    locker["database"] = DATABASE_FILE  # relative to kiosk.toml, as the kiosk reads paths
    locker["secrets_file"] = SECRETS_FILE
    document["platform"] = {
        "url": platform_url,
        # As short as the fake platform's own configuration says: a sync shows its effect within seconds.
        "heartbeat_s": float(DEMO_HEARTBEAT_INTERVAL_S),
        "sync_s": float(DEMO_SYNC_INTERVAL_S),
    }
    path = folder / CONFIG_FILE
    header = (f"# Written by `python -m kiosk.testing.demo_online` from {DEMO_CONFIG.name} on every run;\n"
              "# edit that file, not this one.\n")
    _write_private(path, header + to_toml(document))
    try:
        load_config(path)
    except ConfigError as error:
        raise SetupError(f"the online demo config does not load: {error}") from None
    return path


def to_toml(document: Mapping[str, object]) -> str:
    """TOML for a document as tomllib reads it: tables, arrays, text, numbers, booleans (no dates)."""
    return "\n".join(_toml_table(document, ())) + "\n"


def _toml_table(table: Mapping[str, object], prefix: tuple[str, ...]) -> Iterator[str]:
    nested = {key: value for key, value in table.items() if isinstance(value, dict)}
    for key, value in table.items():
        if key not in nested:
            yield f"{_toml_key(key)} = {_toml_value(value)}"
    for key, value in nested.items():
        assert isinstance(value, dict)
        path = (*prefix, key)
        yield ""
        yield f"[{'.'.join(_toml_key(part) for part in path)}]"
        yield from _toml_table(value, path)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    # JSON escapes every control character but DEL, which TOML wants escaped too.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {_toml_value(item)},\n" for item in value) + "]"
    if isinstance(value, dict):
        pairs = ", ".join(f"{_toml_key(key)} = {_toml_value(item)}" for key, item in value.items())
        return "{ " + pairs + " }"
    raise SetupError(f"cannot write {type(value).__name__} values in TOML")


def _secrets_text(code_key: bytes, platform_secret: bytes, face_key: bytes | None = None) -> str:
    # A face key already there is kept: without it, the faces enrolled on this kiosk could not be read.
    kept_face_key = f'face_key = "{face_key.decode("ascii")}"\n' if face_key is not None else ""
    return ("# The online demo's secrets (python -m kiosk.testing.demo_online). Keep private (chmod 600).\n"
            f'code_key = "{code_key.hex()}"\n'
            f'platform_secret = "{platform_secret.hex()}"\n' + kept_face_key)


def _write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, atomically, readable by its owner only from the first byte on."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, text.encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise SetupError(f"{path}: cannot write: {error.strerror or error}") from None


# the platform ------------------------------------------------------------------------------------

class RunningPlatform:
    """The fake platform in a child process; its further output is copied to ours by a thread, line by line
    (say() writes ours the same way, so lines never mix)."""

    def __init__(self, folder: Path, locker_id: str, out: IO[str]) -> None:
        self._out = out
        self._out_lock = threading.Lock()
        command = [
            sys.executable, "-m", "kiosk.testing.fake_platform", "--host", "127.0.0.1", "--port", "0",
            "--secret-file", str(folder / PLATFORM_SECRETS_FILE),
            "--database", str(folder / PLATFORM_DATABASE_FILE), "--locker-id", locker_id, "--demo",
        ]
        # Unbuffered: the first line is read from the pipe itself, so nothing after it is lost to a buffer.
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, bufsize=0, start_new_session=True,
                                        preexec_fn=die_with_parent())
        self._copier: threading.Thread | None = None
        try:
            self.url = self._wait_for_address()
        except BaseException:
            self.stop()
            raise
        self._copier = threading.Thread(target=self._copy_output, name="platform-output")
        self._copier.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _wait_for_address(self) -> str:
        stdout = self.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + PLATFORM_START_S
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                if time.monotonic() >= deadline:
                    raise SetupError(f"the fake platform did not start within {PLATFORM_START_S:.0f} s")
        line = stdout.readline().decode("utf-8", "replace").strip()
        if not line.startswith("serving on "):
            # It printed its reason on stderr, which is ours, and ended (or stop() ends it).
            said = f": it said {line[:200]!r}" if line else ""
            raise SetupError(f"the fake platform did not start{said} (its reason is above)")
        return line.removeprefix("serving on ")

    def _copy_output(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        for raw in iter(stdout.readline, b""):
            self.say(raw.decode("utf-8", "replace").rstrip("\n"))

    def say(self, line: str) -> None:
        with self._out_lock:
            self._out.write(line + "\n")
            self._out.flush()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended in PLATFORM_STOP_S; the output thread is joined."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=PLATFORM_STOP_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._copier is not None:
            self._copier.join()
        if self.process.stdout is not None:
            self.process.stdout.close()


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that has the kernel send the child SIGTERM when this launcher dies, however it dies
    (kill -9 included); None where there is no such thing (not Linux). prctl is looked up here, in the
    parent: between fork and exec the child should only make the call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return in_child


def check_platform(url: str, locker_id: str, demo_secrets: DemoSecrets) -> str:
    """One line on the platform's answers to two signed requests (their signatures verified with the
    kiosk's platform secret): its configuration, and the demo's re-issued code, hashed with the kiosk's code
    key, checked online. Raises SetupError when either is not as the kiosk will need it."""
    try:
        with PlatformClient(url, locker_id, demo_secrets.platform_secret) as client:
            config = client.config()
            found = client.verify_code(hash_code(demo_secrets.code_key, REISSUED_CODE))
    except PlatformError as error:
        raise SetupError(f"the fake platform at {url} did not answer as it should: {error}") from None
    if not isinstance(found, PickupVerification):
        raise SetupError(f"the fake platform does not know code {REISSUED_CODE} by the kiosk's code key: "
                         f"{PLATFORM_SECRETS_FILE} and {SECRETS_FILE} disagree")
    opened = ", ".join(parcel.parcel_id for parcel in found.parcels)
    return (f"the fake platform answers signed requests for locker {config.locker_id}; "
            f"code {REISSUED_CODE} opens {opened} there")


# the kiosk ---------------------------------------------------------------------------------------

def kiosk_command() -> list[str]:
    """The installed `kiosk` command of this environment."""
    beside = Path(sys.executable).with_name("kiosk")
    found = str(beside) if beside.is_file() else shutil.which("kiosk")
    if found is None:
        raise SetupError("the kiosk command is not installed in this environment; run `make bootstrap`")
    return [found]


def run_kiosk(command: Sequence[str], say: Callable[[str], None]) -> int:
    """Run the kiosk in the foreground; SIGINT, SIGTERM and SIGHUP sent to this launcher are passed on to
    it, and it is killed if it has not ended KIOSK_STOP_S after the first. Returns its exit status."""
    kiosk = subprocess.Popen(list(command), preexec_fn=die_with_parent())
    say(f"kiosk (pid {kiosk.pid}) started: {' '.join(command)}")
    asked_at: list[float] = []

    def pass_on(signum: int, _frame: FrameType | None) -> None:
        if kiosk.poll() is None:
            kiosk.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        if not asked_at:
            asked_at.append(time.monotonic())

    previous = {signum: signal.signal(signum, pass_on) for signum in (signal.SIGINT, signal.SIGTERM,
                                                                       signal.SIGHUP)}
    try:
        while True:
            try:
                status = kiosk.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if asked_at and time.monotonic() - asked_at[0] > KIOSK_STOP_S:
                    kiosk.kill()
    finally:
        if kiosk.poll() is None:  # an exception of our own: the kiosk must not outlive the launcher
            kiosk.kill()
            kiosk.wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - status if status < 0 else status


# the command -------------------------------------------------------------------------------------

def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kiosk.testing.demo_online", allow_abbrev=False,
        description="The demo kiosk against the fake platform (`make demo-online`). Arguments it does not "
                    "know are passed to the kiosk.")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER,
                        help=f"where the secrets, config and databases live (default {DEFAULT_FOLDER})")
    parser.add_argument("--check", action="store_true",
                        help="set up, start the platform, check a signed request, stop; no kiosk")
    arguments, kiosk_arguments = parser.parse_known_args(argv)
    folder: Path = arguments.folder.expanduser().absolute()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)  # the finally below stops the platform
    platform: RunningPlatform | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        demo_secrets = prepare_secrets(folder)
        locker_id = str(tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))["locker"]["id"])
        command = [] if arguments.check else [*kiosk_command(), "--demo", "--windowed",
                                              "--config", str(folder / CONFIG_FILE), *kiosk_arguments]
        platform = RunningPlatform(folder, locker_id, sys.stdout)
        platform.say(f"fake platform (pid {platform.pid}) serving on {platform.url}, records in "
                     f"{folder / PLATFORM_DATABASE_FILE}")
        config_path = write_kiosk_config(folder, platform.url)
        platform.say(check_platform(platform.url, locker_id, demo_secrets))
        if arguments.check:
            platform.say(f"online demo ready in {folder} (kiosk config {config_path})")
            return 0
        return run_kiosk(command, platform.say)
    except (SetupError, OSError, KeyError, tomllib.TOMLDecodeError) as error:
        reason = error if isinstance(error, SetupError) else f"cannot set up {folder}: {error}"
        print(f"demo_online: {' '.join(str(reason).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        # A Ctrl-C reaches us more than once (the terminal's process group, and uv passing it on): the
        # platform is stopped whatever else arrives meanwhile.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if platform is not None:
            platform.stop()


if __name__ == "__main__":
    sys.exit(main())

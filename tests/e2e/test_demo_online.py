"""`python -m kiosk.testing.demo_online` (what `make demo-online` runs), as a real process and without a
display: it sets up a folder of private secrets shared by the kiosk and the fake platform, a kiosk config
that the kiosk's own loader accepts, starts the platform and proves a signed request gets a verified answer;
a second run reuses the secrets; the platform never outlives the launcher, however the launcher or the
kiosk ends."""

from __future__ import annotations

import os
import selectors
import signal
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.app import DEMO_CONFIG
from kiosk.config import load_config, load_or_create_secrets
from kiosk.testing.demo_online import SetupError, prepare_secrets, to_toml, write_kiosk_config
from kiosk.testing.fake_platform.__main__ import load_secrets

COMMAND = [sys.executable, "-m", "kiosk.testing.demo_online"]
DEADLINE_S = 60.0


@dataclass
class Finished:
    status: int
    out: str
    err: str

    def platform_pid(self) -> int:
        line = next(line for line in self.out.splitlines() if line.startswith("fake platform (pid "))
        return int(line.removeprefix("fake platform (pid ").split(")", 1)[0])


def _run(*arguments: str, env: dict[str, str] | None = None) -> Finished:
    finished = subprocess.run([*COMMAND, *arguments], capture_output=True, text=True, timeout=DEADLINE_S,
                              check=False, env=env)
    return Finished(finished.returncode, finished.stdout, finished.stderr)


def _gone(pid: int) -> bool:
    """The process has ended: reaped, or a zombie whose new parent has not reaped it yet (a launcher killed
    with -9 leaves that to init, and in a container init may never do it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    pause = selectors.DefaultSelector()  # select() on nothing: a wait with a deadline, not a fixed sleep
    try:
        while not _gone(pid):
            if time.monotonic() > deadline:
                return False
            pause.select(timeout=0.02)
    finally:
        pause.close()
    return True


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_check_sets_up_the_folder_and_proves_a_signed_request_is_answered(tmp_path: Path) -> None:
    folder = tmp_path / "demo-online"
    finished = _run("--folder", str(folder), "--check")
    assert finished.status == 0, finished.err
    assert "the fake platform answers signed requests for locker demo-locker" in finished.out
    assert "code 444444 opens DEMO-1 there" in finished.out  # the platform hashes with the kiosk's code key
    assert "pickup code 444444: re-issued for DEMO-1" in finished.out  # what the platform seeded, relayed
    assert _gone(finished.platform_pid())

    kiosk_secrets = load_or_create_secrets(folder / "secrets.toml", create=False)
    platform_secrets = load_secrets(folder / "platform-secrets.toml")
    assert kiosk_secrets.platform_secret is not None and len(kiosk_secrets.platform_secret) >= 32
    assert (platform_secrets.platform_secret, platform_secrets.code_key) == (
        kiosk_secrets.platform_secret, kiosk_secrets.code_key)
    for name in ("secrets.toml", "platform-secrets.toml", "kiosk.toml"):
        assert _mode(folder / name) == 0o600, name
    assert _mode(folder) & 0o077 == 0

    config = load_config(folder / "kiosk.toml")
    demo = load_config(DEMO_CONFIG)
    assert config.platform is not None and config.platform.url.startswith("http://127.0.0.1:")
    assert config.platform.heartbeat_s <= 15 and config.platform.sync_s <= 10
    assert config.locker.database == folder / "demo.sqlite"
    assert config.locker.secrets_file == folder / "secrets.toml"
    assert (config.locker.id, config.compartments, config.bus, config.timers, config.camera) == (
        demo.locker.id, demo.compartments, demo.bus, demo.timers, demo.camera)
    assert (folder / "platform.sqlite").is_file()


def test_a_second_run_reuses_the_secrets(tmp_path: Path) -> None:
    folder = tmp_path / "demo-online"
    first = _run("--folder", str(folder), "--check")
    assert first.status == 0, first.err
    secrets_text = (folder / "secrets.toml").read_bytes()
    platform_secrets_text = (folder / "platform-secrets.toml").read_bytes()
    second = _run("--folder", str(folder), "--check")
    assert second.status == 0, second.err
    assert (folder / "secrets.toml").read_bytes() == secrets_text
    assert (folder / "platform-secrets.toml").read_bytes() == platform_secrets_text
    assert "code 444444 opens DEMO-1 there" in second.out
    config = load_config(folder / "kiosk.toml")  # rewritten for this run's platform port
    assert config.platform is not None
    assert f"serving on {config.platform.url}," in second.out


def test_a_platform_that_cannot_start_ends_the_demo_with_its_reason(tmp_path: Path) -> None:
    folder = tmp_path / "demo-online"
    (folder / "platform.sqlite").mkdir(parents=True)  # where its database should be: a folder
    finished = _run("--folder", str(folder), "--check")
    assert finished.status == 2
    assert "fake_platform: cannot open the database" in finished.err
    assert "demo_online: the fake platform did not start (its reason is above)" in finished.err
    assert "serving on" not in finished.out


# In-process from here on: the same functions main() calls, without starting anything.

def test_a_kiosk_secrets_file_without_a_platform_secret_gets_one_and_keeps_its_code_key(
    tmp_path: Path
) -> None:
    code_key = load_or_create_secrets(tmp_path / "secrets.toml").code_key  # the kiosk's own first-run file
    prepared = prepare_secrets(tmp_path)
    again = load_or_create_secrets(tmp_path / "secrets.toml", create=False)
    assert again.code_key == prepared.code_key == code_key
    assert again.platform_secret == prepared.platform_secret and len(prepared.platform_secret) >= 32


def test_secrets_others_may_read_are_refused(tmp_path: Path) -> None:
    prepare_secrets(tmp_path)
    (tmp_path / "secrets.toml").chmod(0o644)
    with pytest.raises(SetupError) as refused:
        prepare_secrets(tmp_path)
    message = str(refused.value)
    assert "\n" not in message and "group or others may access it (mode 0644)" in message
    assert "delete it to start the online demo afresh" in message


def test_a_config_the_kiosk_would_refuse_is_refused_before_the_kiosk_starts(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=r"platform\.url: plain http:// is allowed only to this machine"):
        write_kiosk_config(tmp_path, "http://192.0.2.1:8080")  # plain http to another machine


def test_a_kiosk_that_fails_at_once_ends_the_demo_and_the_platform(tmp_path: Path) -> None:
    # An option the kiosk does not know: it exits 2 before it opens a window, as a crash would.
    finished = _run("--folder", str(tmp_path / "demo-online"), "--no-such-kiosk-option")
    assert finished.status == 2
    assert "unrecognized arguments: --no-such-kiosk-option" in finished.err
    assert _gone(finished.platform_pid())


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The launcher running the real kiosk offscreen (no display), its stdout unbuffered for reading lines
    as they come; killed with anything it started if a test leaves it running."""
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen([*COMMAND, "--folder", str(tmp_path / "demo-online")], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, bufsize=0, env=environment)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()  # the platform and the kiosk follow it (their parent-death signal)
        process.communicate(timeout=DEADLINE_S)


def _pid_named(process: subprocess.Popen[bytes], prefix: str) -> int:
    """Read the launcher's lines, with a deadline, until one starts with `prefix` "(pid N)"."""
    assert process.stdout is not None
    deadline = time.monotonic() + DEADLINE_S
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while selector.select(timeout=max(0.0, deadline - time.monotonic())):
            line = process.stdout.readline().decode()
            if not line:
                break
            if line.startswith(f"{prefix} (pid "):
                return int(line.removeprefix(f"{prefix} (pid ").split(")", 1)[0])
    raise AssertionError(f"the launcher never named the {prefix}'s pid")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_neither_the_platform_nor_the_kiosk_outlives_the_launcher(
    launcher: subprocess.Popen[bytes], stop: signal.Signals
) -> None:
    platform_pid = _pid_named(launcher, "fake platform")
    kiosk_pid = _pid_named(launcher, "kiosk")
    assert not _gone(platform_pid)
    launcher.send_signal(stop)
    launcher.wait(timeout=DEADLINE_S)
    assert _wait_gone(platform_pid), "the fake platform outlived the launcher"
    assert _wait_gone(kiosk_pid), "the kiosk outlived the launcher"


def test_a_signal_while_it_sets_up_stops_the_platform_too(launcher: subprocess.Popen[bytes]) -> None:
    platform_pid = _pid_named(launcher, "fake platform")  # said before the config, the check, the kiosk
    launcher.send_signal(signal.SIGINT)
    launcher.wait(timeout=DEADLINE_S)
    assert _wait_gone(platform_pid), "the fake platform outlived the launcher"


def test_the_toml_writer_round_trips_the_demo_config_and_awkward_text() -> None:
    document = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    assert tomllib.loads(to_toml(document)) == document
    awkward = {"a key": 'quote " back\\slash\nnewline \x7f del \x00 nul é ☃', "n": -1.5, "t": True,
               "empty": [], "nested": {"deeper": {"x": [1, 2]}}, "inline": [{"k": "v"}]}
    assert tomllib.loads(to_toml(awkward)) == awkward

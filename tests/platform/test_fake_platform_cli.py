"""`python -m kiosk.testing.fake_platform`: serves until SIGTERM or Ctrl-C (exit 0) after printing its
address; refuses a secret file that others may read, or that is missing or malformed (one line, exit 2)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from platform_client import CODE_KEY, LOCKER, SECRET

from kiosk.backend import signing
from kiosk.testing.fake_platform.__main__ import SecretFileError, load_secrets, main

COMMAND = [sys.executable, "-m", "kiosk.testing.fake_platform"]


def _secret_file(folder: Path, text: str | bytes, mode: int = 0o600) -> Path:
    path = folder / "platform-secrets.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    path.chmod(mode)
    return path


def _good_secrets(folder: Path, mode: int = 0o600) -> Path:
    return _secret_file(folder, f'platform_secret = "{SECRET.hex()}"\ncode_key = "{CODE_KEY.hex()}"\n', mode)


def _first_line(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """The first line the process prints, waiting for it with a deadline."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("the fake platform printed nothing in time")
    return process.stdout.readline().strip()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_it_serves_signed_requests_until_a_signal(tmp_path: Path, stop_signal: signal.Signals) -> None:
    secret_file = _good_secrets(tmp_path)
    process = subprocess.Popen(
        [*COMMAND, "--host", "127.0.0.1", "--port", "0", "--secret-file", str(secret_file),
         "--database", str(tmp_path / "platform.sqlite"), "--locker-id", LOCKER],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = _first_line(process)
        assert line.startswith("serving on http://127.0.0.1:")
        url = line.removeprefix("serving on ")
        path = f"/v1/lockers/{LOCKER}/config"
        headers = signing.sign(SECRET, "GET", path, b"", locker_id=LOCKER)
        response = requests.get(url + path, headers=headers, timeout=10)
        assert response.status_code == 200 and response.json()["locker_id"] == LOCKER
        signing.verify_reply(SECRET, "GET", path, headers[signing.HEADER_NONCE], 200, response.content,
                             response.headers)
        process.send_signal(stop_signal)
        _out, errors = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert errors == ""


def test_a_secret_file_others_may_read_is_refused(tmp_path: Path) -> None:
    secret_file = _good_secrets(tmp_path, mode=0o644)
    finished = subprocess.run(
        [*COMMAND, "--port", "0", "--secret-file", str(secret_file)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert finished.returncode == 2
    assert finished.stdout == ""
    assert finished.stderr.count("\n") == 1
    assert "group or others may access it (mode 0644)" in finished.stderr
    assert f"chmod 600 {secret_file}" in finished.stderr


@pytest.mark.parametrize(("text", "mode", "reason"), [
    (None, 0o600, "file not found"),
    ('platform_secret = "00"', 0o640, "mode 0640"),
    ("platform_secret = ", 0o600, "not TOML"),
    (b'platform_secret = "\xff"', 0o600, "not TOML"),
    ('code_key = "' + "00" * 32 + '"', 0o600, "platform_secret is missing"),
    ('platform_secret = "abcd"', 0o600, "at least 16 bytes"),
    ('platform_secret = "xyz"', 0o600, "hexadecimal"),
    ("platform_secret = 42", 0o600, "hexadecimal"),
    (f'platform_secret = "{"00" * 32}"\ncode_key = "0011"', 0o600, "code_key: expected 32 bytes"),
    (f'platform_secret = "{"00" * 32}"\nsecret = "x"', 0o600, "unknown key 'secret'"),
])
def test_an_unusable_secret_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes | None, mode: int, reason: str
) -> None:
    path = tmp_path / "missing.toml" if text is None else _secret_file(tmp_path, text, mode)
    assert main(["--port", "0", "--secret-file", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("fake_platform: ") and captured.err.count("\n") == 1
    assert reason in captured.err
    assert "0000000000" not in captured.err  # never the key itself


def test_bad_arguments_are_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--secret-file", str(_good_secrets(tmp_path))])
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["--port", "70000", "--secret-file", str(_good_secrets(tmp_path))]) == 2
    secret_file = str(_good_secrets(tmp_path))
    assert main(["--port", "0", "--secret-file", secret_file, "--locker-id", "no spaces"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and "70000" in errors[0] and "locker id" in errors[1]


def test_a_database_that_cannot_be_opened_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "no such folder" / "platform.sqlite"
    secret_file = str(_good_secrets(tmp_path))
    assert main(["--port", "0", "--secret-file", secret_file, "--database", str(database)]) == 2
    errors = capsys.readouterr().err
    assert errors.count("\n") == 1 and "cannot open the database" in errors


def test_the_kiosks_own_secrets_file_serves_as_the_platforms(tmp_path: Path) -> None:
    loaded = load_secrets(_good_secrets(tmp_path))
    assert (loaded.platform_secret, loaded.code_key) == (SECRET, CODE_KEY)
    only_secret = load_secrets(_secret_file(tmp_path, f'platform_secret = "{SECRET.hex()}"'))
    assert only_secret.code_key is None


def test_a_folder_is_no_secret_file(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    with pytest.raises(SecretFileError, match="not a regular file"):
        load_secrets(folder)

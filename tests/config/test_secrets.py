"""The secrets file: created private, read back the same, refused when others can read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_or_create_secrets


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_file_is_created_private_in_a_private_folder(tmp_path: Path) -> None:
    path = tmp_path / "var" / "private" / "secrets.toml"
    secrets = load_or_create_secrets(path)
    assert secrets.path == path
    assert len(secrets.code_key) == 32
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert secrets.code_key.hex() in path.read_text(encoding="ascii")
    assert [entry.name for entry in path.parent.iterdir()] == ["secrets.toml"]  # no temporary left
    assert load_or_create_secrets(path).code_key == secrets.code_key
    assert load_or_create_secrets(path, create=False).code_key == secrets.code_key
    assert secrets.code_key.hex() not in repr(secrets)


def test_each_new_file_has_its_own_key(tmp_path: Path) -> None:
    first = load_or_create_secrets(tmp_path / "one.toml").code_key
    second = load_or_create_secrets(tmp_path / "two.toml").code_key
    assert first != second


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    load_or_create_secrets(folder / "secrets.toml")
    assert mode(folder) == 0o755
    assert mode(folder / "secrets.toml") == 0o600


@pytest.mark.parametrize("loose", [0o640, 0o604, 0o660, 0o620])
def test_a_file_others_can_access_is_refused_with_the_fix(tmp_path: Path, loose: int) -> None:
    path = tmp_path / "secrets.toml"
    load_or_create_secrets(path)
    os.chmod(path, loose)
    with pytest.raises(ConfigError) as raised:
        load_or_create_secrets(path)
    assert str(raised.value) == (f"{path}: group or others may access it (mode {loose:04o}); "
                                 f"fix it with: chmod 600 {path}")
    os.chmod(path, 0o600)
    load_or_create_secrets(path)


def test_a_missing_file_without_create(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    with pytest.raises(ConfigError, match=r"secrets.toml: file not found$"):
        load_or_create_secrets(path, create=False)
    assert not path.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('code_key = "abc123"\n', "code_key: expected 64 hexadecimal digits (32 bytes), got 6 characters"),
        (f'code_key = "{"zz" * 32}"\n',
         "code_key: expected 64 hexadecimal digits (32 bytes), got 64 characters"),
        ("code_key = 5\n", "code_key: expected text in quotes, got 5 (a whole number)"),
        ("", "code_key: missing required key"),
        (f'code_key = "{"ab" * 32}"\ncod_key = "x"\n', "cod_key: unknown key (did you mean code_key?)"),
        ('code_key = "ab', "line 1 (end of file): invalid TOML: Unterminated string"),
    ],
)
def test_a_malformed_file_is_refused_without_echoing_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "secrets.toml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(descriptor, text.encode())
    os.close(descriptor)
    with pytest.raises(ConfigError) as raised:
        load_or_create_secrets(path)
    assert str(raised.value) == f"{path}: {message}"
    assert "abc123" not in str(raised.value) and "zz" not in str(raised.value)
    assert path.read_text() == text  # never replaced: codes stored under the old key would be lost


def test_a_folder_in_place_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "secrets.toml").mkdir(mode=0o700)
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_or_create_secrets(tmp_path / "secrets.toml")


def test_the_platform_secret_is_optional_private_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    secrets = load_or_create_secrets(path)
    assert secrets.platform_secret is None  # standalone: nothing to sign with
    signing = "ab" * 48
    code_key = f'code_key = "{secrets.code_key.hex()}"\n'
    path.write_text(f'{code_key}platform_secret = "{signing}"\n', encoding="ascii")
    path.chmod(0o600)
    loaded = load_or_create_secrets(path)
    assert loaded.platform_secret == bytes.fromhex(signing)
    assert signing not in repr(loaded)
    path.write_text(f'{code_key}platform_secret = "abcd"\n', encoding="ascii")
    with pytest.raises(ConfigError) as refused:
        load_or_create_secrets(path)
    assert "platform_secret: expected at least 64 hexadecimal digits" in str(refused.value)
    assert "abcd" not in str(refused.value)

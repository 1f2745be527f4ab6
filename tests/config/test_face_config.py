"""kiosk.config's [face] table and the secrets file's face_key: defaults, ranges, mistakes, and a key that
is added once, kept after, never echoed, and never costs the file its code key."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from test_config import EXAMPLE, VALID, write

from kiosk.config import ConfigError, config_with_overrides, load_config, load_or_create_secrets
from kiosk.core.model import FacePolicy


def with_face(table: str) -> str:
    return VALID.replace("[timers]\n", f"[face]\n{table}[timers]\n", 1)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, text.encode("utf-8"))
    finally:
        os.close(descriptor)


# [face] ---------------------------------------------------------------------------------------------

def test_without_a_face_table_the_defaults_apply(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    assert config.face == FacePolicy()
    assert config.face == FacePolicy(enabled=True, match_threshold=0.5, frames_to_agree=3,
                                     liveness_window_s=8.0, attempt_s=15.0, enrol_frames=5,
                                     enrol_timeout_s=20.0, forget_after_days=180)


def test_an_empty_face_table_keeps_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, with_face(""))).face == FacePolicy()


def test_every_face_key_is_read(tmp_path: Path) -> None:
    text = with_face("enabled = false\nmatch_threshold = 0.45\nframes_to_agree = 4\nliveness_window_s = 10\n"
                     "attempt_s = 30.5\nenrol_frames = 7\nenrol_timeout_s = 25\nforget_after_days = 90\n")
    face = load_config(write(tmp_path, text)).face
    assert face == FacePolicy(enabled=False, match_threshold=0.45, frames_to_agree=4, liveness_window_s=10.0,
                              attempt_s=30.5, enrol_frames=7, enrol_timeout_s=25.0, forget_after_days=90)
    # whole numbers in seconds become floats; counts stay whole numbers
    assert isinstance(face.liveness_window_s, float) and isinstance(face.enrol_timeout_s, float)
    assert isinstance(face.frames_to_agree, int) and isinstance(face.forget_after_days, int)


@pytest.mark.parametrize("end", ["low", "high"])
def test_the_ranges_include_their_ends(tmp_path: Path, end: str) -> None:
    values = {"match_threshold": (0.2, 0.6), "frames_to_agree": (2, 10), "liveness_window_s": (3, 30),
              "attempt_s": (5, 120), "enrol_frames": (3, 10), "enrol_timeout_s": (5, 120),
              "forget_after_days": (1, 3650)}
    chosen = {name: pair[0 if end == "low" else 1] for name, pair in values.items()}
    text = with_face("".join(f"{name} = {value}\n" for name, value in chosen.items()))
    face = load_config(write(tmp_path, text)).face
    assert {name: getattr(face, name) for name in chosen} == chosen


def test_face_without_a_camera_is_no_error(tmp_path: Path) -> None:
    """Face pickup is simply not offered without a camera: the file is still fine."""
    config = load_config(write(tmp_path, with_face("enabled = true\n")))
    assert config.camera is None and config.face.enabled


def test_the_example_config_documents_the_face_table() -> None:
    assert load_config(EXAMPLE).face == FacePolicy()
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "\n[face]\n" in text
    for name in ("enabled", "match_threshold", "frames_to_agree", "liveness_window_s", "attempt_s",
                 "enrol_frames", "enrol_timeout_s", "forget_after_days"):
        assert f"\n{name} = " in text, name


MISTAKES = [
    ("enable = true\n", "face.enable: unknown key (did you mean enabled?)"),
    ("threshold = 0.5\n", "face.threshold: unknown key (did you mean match_threshold?)"),
    ("tolerance = 0.5\n", "face.tolerance: unknown key (expected one of: enabled, match_threshold, "
                          "frames_to_agree, liveness_window_s, attempt_s, enrol_frames, enrol_timeout_s, "
                          "forget_after_days)"),
    ('enabled = "yes"\n', 'face.enabled: expected true or false, got "yes" (text)'),
    ("enabled = 1\n", "face.enabled: expected true or false, got 1 (a whole number)"),
    ("match_threshold = 0.65\n", "face.match_threshold: 0.65 is out of range 0.2..0.6: looser than "
                                 "face_recognition's own 0.6 means false accepts (a stranger's face opening "
                                 "a door)"),
    ("match_threshold = 1\n", "face.match_threshold: 1 is out of range 0.2..0.6: looser than "
                              "face_recognition's own 0.6 means false accepts (a stranger's face opening a "
                              "door)"),
    ("match_threshold = 0.19\n", "face.match_threshold: 0.19 is out of range 0.2..0.6"),
    ("match_threshold = -0.5\n", "face.match_threshold: -0.5 is out of range 0.2..0.6"),
    ('match_threshold = "0.5"\n', 'face.match_threshold: expected a number, got "0.5" (text)'),
    ("match_threshold = nan\n", "face.match_threshold: expected a finite number, got nan"),
    ("match_threshold = true\n", "face.match_threshold: expected a number, got true (a boolean)"),
    ("frames_to_agree = 1\n", "face.frames_to_agree: 1 is out of range 2..10"),
    ("frames_to_agree = 11\n", "face.frames_to_agree: 11 is out of range 2..10"),
    ("frames_to_agree = 3.0\n", "face.frames_to_agree: expected a whole number, got 3.0 (a number)"),
    ("liveness_window_s = 2.9\n", "face.liveness_window_s: 2.9 is out of range 3..30"),
    ("liveness_window_s = 31\n", "face.liveness_window_s: 31 is out of range 3..30"),
    ("liveness_window_s = inf\n", "face.liveness_window_s: expected a finite number, got inf"),
    ("attempt_s = 4\n", "face.attempt_s: 4 is out of range 5..120"),
    ("attempt_s = 120.5\n", "face.attempt_s: 120.5 is out of range 5..120"),
    ("attempt_s = [15]\n", "face.attempt_s: expected a number, got an array"),
    ("enrol_frames = 2\n", "face.enrol_frames: 2 is out of range 3..10"),
    ("enrol_frames = 11\n", "face.enrol_frames: 11 is out of range 3..10"),
    ("enrol_frames = false\n", "face.enrol_frames: expected a whole number, got false (a boolean)"),
    ("enrol_timeout_s = 0\n", "face.enrol_timeout_s: 0 is out of range 5..120"),
    ("enrol_timeout_s = 121\n", "face.enrol_timeout_s: 121 is out of range 5..120"),
    ("forget_after_days = 0\n", "face.forget_after_days: 0 is out of range 1..3650"),
    ("forget_after_days = 3651\n", "face.forget_after_days: 3651 is out of range 1..3650"),
    ('forget_after_days = "180"\n', 'face.forget_after_days: expected a whole number, got "180" (text)'),
    ("forget_after_days = 1.5\n", "face.forget_after_days: expected a whole number, got 1.5 (a number)"),
    ("[face.extra]\n", "face.extra: unknown key (expected one of: enabled, match_threshold, frames_to_agree, "
                       "liveness_window_s, attempt_s, enrol_frames, enrol_timeout_s, forget_after_days)"),
]


@pytest.mark.parametrize(("table", "message"), MISTAKES,
                         ids=[f"{message.split(':')[0]}-{number}"
                              for number, (_, message) in enumerate(MISTAKES)])
def test_each_face_mistake_is_one_line_naming_file_key_and_reason(
    tmp_path: Path, table: str, message: str
) -> None:
    path = write(tmp_path, with_face(table))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {message}"
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("text", "message"), [
    ("face = true\n" + VALID, "face: expected a table, got true (a boolean)"),
    ('face = "on"\n' + VALID, 'face: expected a table, got "on" (text)'),
    (VALID.replace("[timers]\n", "[[face]]\nenabled = true\n[timers]\n"),
     "face: expected a table, got an array"),
])
def test_a_face_that_is_not_a_table_names_it(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {message}"


def test_overrides_change_the_face_policy_like_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    changed = config_with_overrides(config, face_match_threshold=0.4, face_enabled=False, face_attempt_s=6,
                                    face_forget_after_days=1)
    assert changed.face == FacePolicy(enabled=False, match_threshold=0.4, attempt_s=6.0, forget_after_days=1)
    assert isinstance(changed.face.attempt_s, float)
    whole = config_with_overrides(config, face=FacePolicy(frames_to_agree=2))
    assert whole.face.frames_to_agree == 2
    assert config.face == FacePolicy()  # the original is untouched
    assert changed.courier == config.courier and changed.timers == config.timers


@pytest.mark.parametrize(("changes", "message"), [
    ({"face_match_threshold": 0.7},
     r"face.match_threshold: 0.7 is out of range 0.2..0.6: looser than face_recognition's own 0.6 means "
     r"false accepts"),
    ({"face_enabled": "no"}, r"face.enabled: expected true or false, got \"no\" \(text\)"),
    ({"face_enrol_frames": 5.0}, r"face.enrol_frames: expected a whole number, got 5.0 \(a number\)"),
    ({"face": {"enabled": False}}, "face: expected a FacePolicy, got a table"),
    ({"face_tolerance": 0.5}, r"face_tolerance: unknown override"),
])
def test_bad_face_overrides_are_config_errors(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    config = load_config(write(tmp_path, VALID))
    with pytest.raises(ConfigError, match=rf"\(override\): {message}"):
        config_with_overrides(config, **changes)


# face_key in the secrets file -------------------------------------------------------------------------

CODE_KEY = "ab" * 32
OLD_SECRETS = (f'# written before face pickup existed\ncode_key = "{CODE_KEY}"\n'
               f'platform_secret = "{"cd" * 48}"\n'
               'smtp_password = "s3cret"  # no newline after this comment')


def face_key_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("face_key")]


def test_a_new_secrets_file_gets_a_face_key_that_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "private" / "secrets.toml"
    secrets = load_or_create_secrets(path)
    assert secrets.face_key is not None and secrets.face_key_problem is None
    fernet = Fernet(secrets.face_key)  # a real Fernet key: it encrypts and decrypts
    assert fernet.decrypt(fernet.encrypt(b"encoding")) == b"encoding"
    assert face_key_lines(path) == [f'face_key = "{secrets.face_key.decode()}"']
    assert mode(path) == 0o600
    again = load_or_create_secrets(path)
    assert (again.face_key, again.code_key) == (secrets.face_key, secrets.code_key)
    assert load_or_create_secrets(path, create=False).face_key == secrets.face_key
    assert secrets.face_key.decode() not in repr(secrets)
    assert load_or_create_secrets(tmp_path / "other.toml").face_key != secrets.face_key


def test_an_existing_file_without_a_face_key_gets_one_appended_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    write_private(path, OLD_SECRETS)
    before = load_or_create_secrets(path, create=False)
    assert before.face_key is None and before.face_key_problem == "the secrets file has no face_key"
    assert path.read_text(encoding="utf-8") == OLD_SECRETS  # without create nothing is written

    secrets = load_or_create_secrets(path)
    assert secrets.face_key is not None and secrets.face_key_problem is None
    Fernet(secrets.face_key)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(OLD_SECRETS + "\n")  # every byte of the old file, comments included
    assert text.endswith(f'face_key = "{secrets.face_key.decode()}"\n')
    assert (secrets.code_key, secrets.platform_secret, secrets.smtp_password) == (
        before.code_key, before.platform_secret, before.smtp_password)
    assert mode(path) == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == ["secrets.toml"]  # no temporary file left

    again = load_or_create_secrets(path)
    assert again.face_key == secrets.face_key
    assert len(face_key_lines(path)) == 1


def test_processes_starting_together_agree_on_one_face_key(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    write_private(path, f'code_key = "{CODE_KEY}"\n')
    start = threading.Barrier(4)
    keys: list[bytes | None] = []

    def load() -> None:
        start.wait(timeout=10)
        keys.append(load_or_create_secrets(path).face_key)

    loaders = [threading.Thread(target=load) for _ in range(4)]
    for loader in loaders:
        loader.start()
    for loader in loaders:
        loader.join(timeout=10)
    assert not any(loader.is_alive() for loader in loaders)
    assert len(keys) == 4 and keys[0] is not None and set(keys) == {keys[0]}
    assert face_key_lines(path) == [f'face_key = "{keys[0].decode()}"']


VALID_FACE_KEY = Fernet.generate_key().decode()
BAD_FACE_KEYS = [
    ('"short-key"', "expected a Fernet key: 44 characters of URL-safe base64 (32 bytes), got 9 characters"),
    ('""', "expected a Fernet key: 44 characters of URL-safe base64 (32 bytes), got 0 characters"),
    (f'"{VALID_FACE_KEY}A"',
     "expected a Fernet key: 44 characters of URL-safe base64 (32 bytes), got 45 characters"),
    (f'"{"+" + VALID_FACE_KEY[1:]}"',  # standard base64, not URL-safe
     "expected a Fernet key: 44 characters of URL-safe base64 (32 bytes), got characters other than A-Z a-z "
     "0-9 - _ or a missing final ="),
    (f'"{VALID_FACE_KEY[:-1]}A"',
     "expected a Fernet key: 44 characters of URL-safe base64 (32 bytes), got characters other than A-Z a-z "
     "0-9 - _ or a missing final ="),
    ("4242", "expected text in quotes, got a whole number"),
    ("true", "expected text in quotes, got a boolean"),
    ('["secret-part"]', "expected text in quotes, got an array"),
]


@pytest.mark.parametrize(("value", "reason"), BAD_FACE_KEYS)
def test_an_invalid_face_key_is_refused_without_echoing_it(tmp_path: Path, value: str, reason: str) -> None:
    path = tmp_path / "secrets.toml"
    text = f'code_key = "{CODE_KEY}"\nface_key = {value}\n'
    write_private(path, text)
    with pytest.raises(ConfigError) as raised:
        load_or_create_secrets(path)
    assert str(raised.value) == f"{path}: face_key: {reason}"
    secret_part = value.strip('"[]')[:20]
    assert not secret_part or secret_part not in str(raised.value)
    assert path.read_text(encoding="utf-8") == text  # never replaced: faces encrypted under it would be lost


def test_a_valid_face_key_is_read_as_fernet_takes_it(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    text = f'code_key = "{CODE_KEY}"\nface_key = "{VALID_FACE_KEY}"\n'
    write_private(path, text)
    secrets = load_or_create_secrets(path)
    assert secrets.face_key == VALID_FACE_KEY.encode() and secrets.face_key_problem is None
    assert path.read_text(encoding="utf-8") == text


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make `folder` refuse new files for real: by its mode, or (for root, whom modes do not stop) by the
    immutable attribute."""
    immutable = False
    os.chmod(folder, 0o500)
    try:
        if _accepts_files(folder) and shutil.which("chattr"):
            immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True,
                                       timeout=10).returncode == 0
        if _accepts_files(folder):
            pytest.skip("cannot make a folder read-only here (root on a filesystem without chattr +i)")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True, capture_output=True, timeout=10)
        os.chmod(folder, 0o700)


def _accepts_files(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.touch()
    except OSError:
        return False
    probe.unlink()
    return True


def test_a_read_only_folder_leaves_the_face_key_unset_and_loses_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir(mode=0o700)
    path = folder / "secrets.toml"
    write_private(path, OLD_SECRETS)
    with read_only(folder):
        secrets = load_or_create_secrets(path)
        assert secrets.face_key is None
        assert secrets.face_key_problem is not None
        assert secrets.face_key_problem.startswith("cannot add a face_key to the secrets file: ")
        assert "\n" not in secrets.face_key_problem
        assert secrets.code_key == bytes.fromhex(CODE_KEY) and secrets.smtp_password == "s3cret"
        assert path.read_text(encoding="utf-8") == OLD_SECRETS
        assert [entry.name for entry in folder.iterdir()] == ["secrets.toml"]
    assert load_or_create_secrets(path).face_key is not None  # writable again: the key is added


def test_a_read_only_secrets_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    write_private(path, OLD_SECRETS)
    os.chmod(path, 0o400)
    secrets = load_or_create_secrets(path)
    assert secrets.face_key is None
    assert secrets.face_key_problem == ("the secrets file is read-only (mode 0400), so no face_key can be "
                                        "added to it")
    assert path.read_text(encoding="utf-8") == OLD_SECRETS and mode(path) == 0o400
    assert secrets.code_key == bytes.fromhex(CODE_KEY)

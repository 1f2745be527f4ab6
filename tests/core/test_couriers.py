"""Couriers' and customers' secrets: PHC password hashes (scrypt here, argon2 only with its library), badge
and return-code hashes, receipt codes, parcel labels and the courier login limiter."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import time
from pathlib import Path

import pytest

from kiosk.core.codes import hash_code
from kiosk.core.couriers import (
    COURIER_LIMITER_KEY,
    DUMMY_PASSWORD_HASH,
    MAX_LABEL_CHARS,
    RECEIPT_ALPHABET,
    RECEIPT_LENGTH,
    MalformedHash,
    PasswordHashError,
    UnsupportedHash,
    badge_hash,
    courier_limiter,
    generate_receipt_code,
    normalise_return_code,
    parcel_label,
    return_code_hash,
    scrypt_hash,
    verify_password,
)
from kiosk.core.model import Compartment, CourierPolicy, Size, Timers
from kiosk.store import SqliteStore

KEY = b"courier-tests-key-0123456789abcd"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def phc(pin: str, salt: bytes = b"0123456789abcdef", ln: int = 4, r: int = 8, p: int = 1) -> str:
    """Made with hashlib directly, not with the module under test."""
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**ln, r=r, p=p, dklen=32)
    return f"$scrypt$ln={ln},r={r},p={p}${b64(salt)}${b64(digest)}"


def test_a_scrypt_hash_checks_the_right_pin_only() -> None:
    stored = phc("2468")
    assert verify_password(stored, "2468")
    assert not verify_password(stored, "2469")
    assert not verify_password(stored, "")
    assert verify_password(scrypt_hash("ünïcode", b"salt-salt-salt!!", ln=4), "ünïcode")


def test_scrypt_hashes_as_passlib_writes_them_are_read() -> None:
    # passlib's adapted base64 writes "." where the standard alphabet has "+"; padding may be present.
    salt = bytes(range(250, 256)) * 3  # encodes with "+" and "/"
    stored = phc("1357", salt=salt)
    assert "+" in stored or "/" in stored
    assert verify_password(stored.replace("+", "."), "1357")
    digest = hashlib.scrypt(b"1357", salt=salt, n=16, r=8, p=1, dklen=32)
    padded = f"$scrypt$ln=4,r=8,p=1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert verify_password(padded, "1357")


def test_the_made_hash_is_the_standard_phc_form() -> None:
    made = scrypt_hash("2468", b"0123456789abcdef", ln=4)
    assert made == phc("2468")


@pytest.mark.parametrize(("stored", "error"), [
    ("$scrypt$ln=30,r=8,p=1$c2FsdA$aGFzaA", UnsupportedHash),  # 2**30 * 1 KiB: 128 GiB
    ("$scrypt$ln=20,r=32,p=1$c2FsdA$aGFzaA", UnsupportedHash),  # 4 GiB
    ("$scrypt$ln=16,r=8,p=16$c2FsdGNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", UnsupportedHash),  # too much work
    ("$scrypt$ln=0,r=8,p=1$c2FsdA$aGFzaA", UnsupportedHash),
    ("$scrypt$ln=14,r=8,p=1$c2FsdA", MalformedHash),
    ("$scrypt$ln=14,r=8,p=1$not base64!$aGFzaA", MalformedHash),
    ("$scrypt$ln=4,r=8,p=1$c2FsdA$aGFzaA", MalformedHash),  # a 4-byte hash
    ("$bcrypt$2b$12$abc", UnsupportedHash),
    ("plain text", MalformedHash),
    ("$scrypt$" + "9" * 600, MalformedHash),
])
def test_a_hash_that_cannot_be_checked_raises_at_once(stored: str, error: type[PasswordHashError]) -> None:
    started = time.monotonic()
    with pytest.raises(error):
        verify_password(stored, "2468")
    assert time.monotonic() - started < 0.5  # refused before any work


@pytest.mark.skipif(importlib.util.find_spec("argon2") is not None, reason="an argon2 library is installed")
def test_argon2_without_its_library_is_unsupported_clearly() -> None:
    stored = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
    with pytest.raises(UnsupportedHash, match="no argon2 library"):
        verify_password(stored, "2468")


def test_argon2_parameters_are_bounded_before_anything_else() -> None:
    with pytest.raises(UnsupportedHash, match="beyond"):
        verify_password("$argon2id$v=19$m=99999999,t=3,p=4$c2FsdA$aGFzaA", "2468")
    with pytest.raises(MalformedHash):
        verify_password("$argon2id$v=19$nonsense$c2FsdA$aGFzaA", "2468")


def test_the_dummy_hash_is_checkable_and_matches_nothing() -> None:
    assert not verify_password(DUMMY_PASSWORD_HASH, "0000")
    assert not verify_password(DUMMY_PASSWORD_HASH, "")


def test_badges_and_return_codes_are_hashed_upper_case() -> None:
    assert badge_hash(KEY, "abcdEFGH12345678") == hash_code(KEY, "ABCDEFGH12345678")
    assert return_code_hash(KEY, " rt7q-2m9x ") == hash_code(KEY, "RT7Q2M9X")
    assert return_code_hash(KEY, "short") is None


@pytest.mark.parametrize(("typed", "normalised"), [
    ("RT7Q2M9X", "RT7Q2M9X"),
    ("rt7q 2m9x", "RT7Q2M9X"),
    ("RT7Q-2M9X-ABCD-EFGH", "RT7Q2M9XABCDEFGH"),
    ("RT7Q2M9", None),  # 7
    ("RT7Q2M9XABCDEFGHJ", None),  # 17
    ("RT7Q2M9X!", None),
    ("ŘT7Q2M9X", None),
    ("１２３４５６７８", None),  # full-width digits are not ASCII digits
    ("", None),
    (None, None),
    (12345678, None),
    ("x" * 5_000_000, None),
])
def test_return_codes_are_normalised_or_refused(typed: object, normalised: str | None) -> None:
    assert normalise_return_code(typed) == normalised


def test_receipt_codes_have_no_lookalikes() -> None:
    assert not set("0O1I") & set(RECEIPT_ALPHABET)
    codes = {generate_receipt_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == RECEIPT_LENGTH and set(code) <= set(RECEIPT_ALPHABET) for code in codes)


@pytest.mark.parametrize(("raw", "label"), [
    ("JJD0001234\r\n", "JJD0001234"),
    (b"00340434161234567890", "00340434161234567890"),
    ("A" * MAX_LABEL_CHARS, "A" * MAX_LABEL_CHARS),
    ("A" * (MAX_LABEL_CHARS + 1), None),
    ("", None),
    ("  \r\n", None),
    (b"\x00\x01binary", None),
    (b"\xff\xfe", None),
    ("tab\tinside", None),
    ("caf\u00e9", None),
    ("LK1:P:FLOW-LOCKER-7:123456", None),  # a person's pickup code, not a label
    ("lk1:c:K-7:SECRETSECRETSECRET", None),
    (12345, None),
])
def test_parcel_labels(raw: object, label: str | None) -> None:
    assert parcel_label(raw) == label


def test_a_huge_label_costs_nothing() -> None:
    huge = b"x" * 5_000_000
    started = time.monotonic()
    for _ in range(1000):
        assert parcel_label(huge) is None
    assert time.monotonic() - started < 0.5


def test_the_courier_limiter_counts_apart_with_the_policys_limit(tmp_path: Path) -> None:
    layout = (Compartment("A1", Size.S, 0, 1, 100, 1),)
    with SqliteStore.open(tmp_path / "kiosk.sqlite", layout) as store:
        limiter = courier_limiter(store, Timers(), CourierPolicy(max_login_failures=3))
        now = 1_800_000_000.0
        assert not limiter.record_failure(now).locked
        assert not limiter.record_failure(now).locked
        status = limiter.record_failure(now)
        assert status.locked and status.seconds_left == 60
        assert store.get_state(COURIER_LIMITER_KEY) is not None
        assert store.get_state("keypad_limiter") is None

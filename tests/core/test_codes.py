"""Pickup codes: normalising, hashing, generating."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.codes import generate_code, hash_code, normalise_code

KEY = b"k" * 32


class SeededRandom:
    """A repeatable source with the `secrets.randbelow` signature."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def randbelow(self, exclusive_upper_bound: int, /) -> int:
        return self._random.randrange(exclusive_upper_bound)


class Fixed:
    def __init__(self, value: int) -> None:
        self.value = value

    def randbelow(self, exclusive_upper_bound: int, /) -> int:
        assert exclusive_upper_bound == 1_000_000
        return self.value


def test_hash_is_hmac_sha256_of_the_code() -> None:
    assert hash_code(KEY, "123456") == hmac.new(KEY, b"123456", hashlib.sha256).digest()
    assert len(hash_code(KEY, "123456")) == 32


def test_hash_depends_on_key_and_code() -> None:
    assert hash_code(KEY, "123456") != hash_code(b"j" * 32, "123456")
    assert hash_code(KEY, "123456") != hash_code(KEY, "123457")
    assert hash_code(KEY, "0123456") != hash_code(KEY, "123456")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123456", "123456"),
        ("1234567", "1234567"),
        ("12345678", "12345678"),
        ("012345", "012345"),
        ("  123456\n", "123456"),
        ("123 456", "123456"),
        ("123-456", "123456"),
        ("1234 5678", "12345678"),
    ],
)
def test_normalise_accepts_six_to_eight_digits(text: str, expected: str) -> None:
    assert normalise_code(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "12345", "123456789", "12a456", "12.456", "123_456", "١٢٣٤٥٦", "１２３４５６", "123456\x00",
     "+123456", "-------", None, 123456, b"123456", ["123456"]],
)
def test_normalise_rejects_everything_else(text: object) -> None:
    assert normalise_code(text) is None


@given(st.text(alphabet="0123456789", min_size=6, max_size=8))
def test_any_six_to_eight_digits_survive_normalising(code: str) -> None:
    assert normalise_code(code) == code


@given(st.text(max_size=12))
def test_normalise_never_raises_and_returns_ascii_digits(text: str) -> None:
    result = normalise_code(text)
    assert result is None or (result.isascii() and result.isdigit() and 6 <= len(result) <= 8)


def test_generated_codes_are_six_digits_with_leading_zeros() -> None:
    assert generate_code(Fixed(42)) == "000042"
    assert generate_code(Fixed(999_999)) == "999999"
    codes = [generate_code(SeededRandom(7)) for _ in range(3)]
    assert codes == [generate_code(SeededRandom(7)) for _ in range(3)]
    for code in (generate_code() for _ in range(200)):
        assert normalise_code(code) == code and len(code) == 6

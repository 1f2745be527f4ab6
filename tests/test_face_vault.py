"""kiosk.face_vault: face encodings sealed with the secrets file's Fernet key. A round trip keeps every
encoding (as float32), a wrong key or a tampered token is a clear FaceVaultError, bad encodings and bad keys a
clear ValueError that never quotes the key, and a token holds no encoding in clear."""

from __future__ import annotations

import base64
import math
import struct

import numpy as np
import pytest
from cryptography.fernet import Fernet

from kiosk.face_vault import ENCODING_LENGTH, MAX_ENCODINGS, FaceVault, FaceVaultError

KEY = FaceVault.new_key()


def encoding(seed: int) -> list[float]:
    return [math.sin(seed * 1000 + index) * 0.25 for index in range(ENCODING_LENGTH)]


def as_float32(values: list[float]) -> tuple[float, ...]:
    return struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values))


def test_a_round_trip_keeps_every_encoding_in_order_as_float32() -> None:
    vault = FaceVault(KEY)
    faces = [encoding(seed) for seed in range(5)]
    assert vault.unseal(vault.seal(faces)) == [as_float32(face) for face in faces]
    # As the enrolment hands them over (tuples), and as the encoder makes them (numpy arrays).
    assert vault.unseal(vault.seal([tuple(faces[0])])) == [as_float32(faces[0])]
    from_encoder = [np.array(faces[1], dtype=np.float64)]
    assert vault.unseal(vault.seal(from_encoder)) == [as_float32(faces[1])]  # type: ignore[arg-type]
    assert len(vault.unseal(vault.seal([encoding(0)] * MAX_ENCODINGS))) == MAX_ENCODINGS


def test_the_same_encodings_seal_differently_each_time_and_never_in_clear() -> None:
    vault = FaceVault(KEY)
    face = encoding(3)
    first, second = vault.seal([face]), vault.seal([face])
    assert first != second  # a fresh IV each time: equal faces cannot be spotted by equal tokens
    clear = struct.pack(f"<{ENCODING_LENGTH}f", *face)
    for token in (first, second):
        assert clear[:16] not in token and clear[:16] not in base64.urlsafe_b64decode(token)
        assert base64.urlsafe_b64encode(clear)[:16] not in token
        assert token.startswith(b"gAAAAA")  # a Fernet token: what the store checks for


def test_the_key_is_taken_as_bytes_or_text_even_with_the_secrets_files_newline() -> None:
    sealed = FaceVault(KEY).seal([encoding(1)])
    for key in (KEY.decode("ascii"), KEY + b"\n", bytearray(KEY), " " + KEY.decode("ascii") + "\n"):
        assert FaceVault(key).unseal(sealed) == [as_float32(encoding(1))]  # type: ignore[arg-type]
    assert FaceVault.new_key() != FaceVault.new_key()
    assert len(FaceVault.new_key()) == 44


@pytest.mark.parametrize(("key", "message"), [
    (KEY[:-4], "must be 44 characters of urlsafe base64"),
    (b"", "must be 44 characters"),
    (KEY[:-1] + b"!", "not urlsafe base64"),
    (b"+" + KEY[1:], "not urlsafe base64"),  # standard base64, not urlsafe
    (bytes(range(32)) + b"\x80" * 12, r"urlsafe base64 text \(ASCII\)"),  # 44 raw bytes
    ("\u00e9" * 44, r"urlsafe base64 text \(ASCII\)"),
    (12345, "must be bytes or text, not int"),
    (None, "must be bytes or text, not NoneType"),
])
def test_an_invalid_key_is_a_value_error_naming_the_problem_never_the_key(key: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        FaceVault(key)  # type: ignore[arg-type]
    text = str(refused.value)
    assert "\n" not in text
    if isinstance(key, bytes) and len(key) > 8:
        assert key[4:12].decode("latin-1") not in text


@pytest.mark.parametrize(("encodings", "message"), [
    ([], "1 to 64 encodings, not 0"),
    ([encoding(0)] * (MAX_ENCODINGS + 1), "1 to 64 encodings, not 65"),
    ([encoding(0)[:-1]], "encoding 0 has 127 values"),
    ([encoding(0), [*encoding(1), 0.5]], "encoding 1 has 129 values"),
    ([[*encoding(0)[:5], math.nan, *encoding(0)[6:]]], "encoding 0, value 5 is not a finite"),
    ([[*encoding(0)[:127], math.inf]], "value 127 is not a finite"),
    ([[*encoding(0)[:127], -1e39]], "value 127 is not a finite float32"),
    ([[True, *encoding(0)[1:]]], "value 0 is a boolean"),
    ([[*encoding(0)[:9], "0.5", *encoding(0)[10:]]], "value 9 is not a number"),
    ([[*encoding(0)[:9], None, *encoding(0)[10:]]], "value 9 is not a number"),
    (["x" * 128], "encoding 0 must be a sequence of numbers, not str"),
    ([42], "encoding 0 must be a sequence of numbers, not int"),
    ("not encodings", "must be a sequence of encodings, not str"),
    (b"\x00" * 512, "must be a sequence of encodings, not bytes"),
])
def test_encodings_that_are_not_128_finite_floats_are_refused(encodings: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaceVault(KEY).seal(encodings)  # type: ignore[arg-type]


def test_a_token_sealed_with_another_key_tampered_with_or_cut_short_cannot_be_opened() -> None:
    sealed = FaceVault(KEY).seal([encoding(1), encoding(2)])
    middle = len(sealed) // 2
    flipped = sealed[:middle] + (b"A" if sealed[middle:middle + 1] != b"A" else b"B") + sealed[middle + 1:]
    for token in (sealed[:-10], flipped, b"", b"gAAAAAnot-a-token", b"\xff\xfe binary", sealed + b"AAAA",
                  sealed + b"\n", sealed[:10] + b"+" + sealed[11:]):  # "+": standard base64
        with pytest.raises(FaceVaultError, match="sealed with another face key, tampered with, or not"):
            FaceVault(KEY).unseal(token)
    with pytest.raises(FaceVaultError, match="sealed with another face key"):
        FaceVault(FaceVault.new_key()).unseal(sealed)
    with pytest.raises(FaceVaultError, match="must be bytes, not int"):
        FaceVault(KEY).unseal(7)  # type: ignore[arg-type]
    # A token as text (read back from a text column, say) opens the same.
    assert len(FaceVault(KEY).unseal(sealed.decode("ascii"))) == 2  # type: ignore[arg-type]


def packed(version: int, count: int, *faces: list[float]) -> bytes:
    return struct.pack("<BH", version, count) + b"".join(struct.pack("<128f", *face) for face in faces)


@pytest.mark.parametrize(("plain", "message"), [
    (b"", "shorter than their header"),
    (b"\x01\x01", "shorter than their header"),
    (packed(2, 1, encoding(0)), "in format 2; this kiosk reads format 1"),
    (packed(1, 0), "they claim 0 encodings"),
    (packed(1, 65, encoding(0)), "they claim 65 encodings"),
    (packed(1, 2, encoding(0)), "515 bytes for 2 encodings"),
    (packed(1, 1, encoding(0)) + b"\x00", "516 bytes for 1 encodings"),
    (packed(1, 1, [math.nan] * 128), "not finite"),
])
def test_a_genuine_token_with_a_malformed_payload_is_named_malformed(plain: bytes, message: str) -> None:
    # Only a holder of the key could make one: a bug, or another program using the same key.
    with pytest.raises(FaceVaultError, match=message) as refused:
        FaceVault(KEY).unseal(Fernet(KEY).encrypt(plain))
    assert "\n" not in str(refused.value)

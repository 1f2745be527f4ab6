"""Face encodings sealed at rest: what the store keeps of an enrolled face is a Fernet token, never the
encodings in clear and never a picture.

The key is the secrets file's face_key (a Fernet key: 32 bytes in urlsafe base64, 44 characters), so a copy
of the database alone gives away no biometric data. Inside the token the encodings are packed small and
exactly: a version byte, a count (uint16), then each encoding as 128 float32 little-endian. float32 keeps
far more precision than face distances need (encodings are within [-1, 1]; thresholds are tenths).

    vault = FaceVault(secrets.face_key)
    sealed = vault.seal(encodings)      # bytes, for Store.save_face
    encodings = vault.unseal(sealed)    # FaceVaultError: wrong key, tampered or malformed
"""

from __future__ import annotations

import math
import numbers
import re
import struct
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken

ENCODING_LENGTH = 128  # floats per face encoding (dlib's face descriptor)
FORMAT_VERSION = 1
MAX_ENCODINGS = 64  # an enrolment keeps a handful of frames; far more is a mistake, not an enrolment
_HEADER = struct.Struct("<BH")  # format version, number of encodings
_ENCODING = struct.Struct(f"<{ENCODING_LENGTH}f")
_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")
# Fernet's own decoding ignores whatever follows the padding; a token must be exactly what seal() wrote.
_TOKEN = re.compile(rb"(?:[A-Za-z0-9_-]{4})+(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?")
_FLOAT32_MAX = 3.4028234663852886e38

Encoding = tuple[float, ...]


class FaceVaultError(Exception):
    """Sealed encodings that cannot be opened: a wrong key, a tampered or malformed token. The message says
    which, in one line, and never holds key material or encodings."""


class FaceVault:
    """Seals and unseals face encodings with one Fernet key (urlsafe base64, as bytes or text)."""

    def __init__(self, key: bytes | str) -> None:
        self._fernet = Fernet(_checked_key(key))

    @staticmethod
    def new_key() -> bytes:
        """A fresh random key, as the secrets file keeps it."""
        return Fernet.generate_key()

    def seal(self, encodings: Sequence[Sequence[float]]) -> bytes:
        """One token holding these encodings (1 to MAX_ENCODINGS, each exactly 128 finite floats that fit
        float32). ValueError naming the encoding and the problem otherwise."""
        if isinstance(encodings, str | bytes | bytearray) or not isinstance(encodings, Sequence):
            raise ValueError(f"encodings must be a sequence of encodings, not {type(encodings).__name__}")
        if not 1 <= len(encodings) <= MAX_ENCODINGS:
            raise ValueError(f"an enrolment seals 1 to {MAX_ENCODINGS} encodings, not {len(encodings)}")
        packed = [_HEADER.pack(FORMAT_VERSION, len(encodings))]
        for index, encoding in enumerate(encodings):
            packed.append(_ENCODING.pack(*_checked_encoding(encoding, index)))
        return self._fernet.encrypt(b"".join(packed))

    def unseal(self, token: bytes) -> list[Encoding]:
        """The encodings a token of seal() holds, in the order sealed. FaceVaultError for a token sealed
        with another key, tampered with, or not one of ours."""
        if isinstance(token, str):
            token = token.encode("ascii", "replace")
        if not isinstance(token, bytes | bytearray | memoryview):
            raise FaceVaultError(f"sealed encodings must be bytes, not {type(token).__name__}")
        token = bytes(token)
        try:
            if not _TOKEN.fullmatch(token):
                raise InvalidToken
            plain = self._fernet.decrypt(token)
        except InvalidToken:
            raise FaceVaultError("the sealed encodings cannot be opened: sealed with another face key, "
                                 "tampered with, or not a sealed token") from None
        return _unpacked(plain)


def _checked_key(key: object) -> bytes:
    if isinstance(key, str):
        try:
            key = key.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("the face key must be urlsafe base64 text (ASCII), as Fernet.generate_key() "
                             "makes it") from None
    if isinstance(key, bytearray | memoryview):
        key = bytes(key)
    if not isinstance(key, bytes):
        raise ValueError(f"the face key must be bytes or text, not {type(key).__name__}")
    key = key.strip()
    try:
        text = key.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("the face key must be urlsafe base64 text (ASCII), as Fernet.generate_key() "
                         "makes it") from None
    if len(text) != 44:
        raise ValueError(f"the face key must be 44 characters of urlsafe base64 (32 bytes), not {len(text)}")
    if not _FERNET_KEY.fullmatch(text):
        raise ValueError("the face key holds characters that are not urlsafe base64 (A-Z a-z 0-9 - _, "
                         "ending in '=')")
    return key


def _checked_encoding(encoding: Sequence[float], index: int) -> list[float]:
    if isinstance(encoding, str | bytes | bytearray):
        raise ValueError(f"encoding {index} must be a sequence of numbers, not {type(encoding).__name__}")
    try:
        values = list(encoding)  # tuples, lists, numpy arrays
    except TypeError:
        raise ValueError(f"encoding {index} must be a sequence of numbers, not "
                         f"{type(encoding).__name__}") from None
    if len(values) != ENCODING_LENGTH:
        raise ValueError(f"encoding {index} has {len(values)} values; a face encoding has {ENCODING_LENGTH}")
    checked: list[float] = []
    for position, value in enumerate(values):
        if isinstance(value, bool):
            raise ValueError(f"encoding {index}, value {position} is a boolean, not a number")
        if not isinstance(value, numbers.Real):  # floats, ints and numpy's scalars; never text
            raise ValueError(f"encoding {index}, value {position} is not a number ({type(value).__name__})")
        number = float(value)
        if not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
            raise ValueError(f"encoding {index}, value {position} is not a finite float32 number")
        checked.append(number)
    return checked


def _unpacked(plain: bytes) -> list[Encoding]:
    if len(plain) < _HEADER.size:
        raise FaceVaultError("the sealed encodings are malformed: shorter than their header")
    version, count = _HEADER.unpack_from(plain)
    if version != FORMAT_VERSION:
        raise FaceVaultError(f"the sealed encodings are in format {version}; this kiosk reads format "
                             f"{FORMAT_VERSION}")
    if not 1 <= count <= MAX_ENCODINGS:
        raise FaceVaultError(f"the sealed encodings are malformed: they claim {count} encodings")
    expected = _HEADER.size + count * _ENCODING.size
    if len(plain) != expected:
        raise FaceVaultError(f"the sealed encodings are malformed: {len(plain)} bytes for {count} encodings "
                             f"({expected} expected)")
    encodings: list[Encoding] = [_ENCODING.unpack_from(plain, _HEADER.size + index * _ENCODING.size)
                                 for index in range(count)]
    if not all(math.isfinite(value) for encoding in encodings for value in encoding):
        raise FaceVaultError("the sealed encodings are malformed: they hold a value that is not finite")
    return encodings

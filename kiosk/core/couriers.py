"""Couriers' and customers' secrets: courier PINs (PHC password hashes), badges, return codes, receipts.

PIN hashes arrive from the platform as PHC strings. scrypt is checked with the standard library; argon2id
only when an argon2 library happens to be installed (else UnsupportedHash, which the login screen reports as
a hash this locker cannot check). A synced hash is data from outside: its cost parameters are bounded
before anything is computed, so a hostile or mistaken hash cannot ask this kiosk for gigabytes or minutes.

A PIN check costs ~0.1 s on purpose: callers run `verify_password` off the event loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import re
import secrets
from dataclasses import replace

from kiosk.core.codes import KeypadLimiter, RandomSource, hash_code
from kiosk.core.model import CourierPolicy, Timers
from kiosk.core.ports import Store

COURIER_LIMITER_KEY = "courier_login_limiter"
RETURN_LIMITER_KEY = "return_code_limiter"

# scrypt's memory is 128 * r * 2**ln bytes: 16 MiB at the usual ln=14, r=8; passlib's default ln=16 is 64 MiB.
SCRYPT_MAX_LN = 20
SCRYPT_MAX_R = 32
SCRYPT_MAX_P = 16
SCRYPT_MAX_MEMORY = 128 * 1024 * 1024
# N * r * p: ln=15, r=8, p=1 (what the platform uses, ~0.1 s) is 2**18; allow four times that at most.
SCRYPT_MAX_WORK = 2**20
ARGON2_MAX_MEMORY_KIB = 256 * 1024
ARGON2_MAX_TIME = 10
ARGON2_MAX_LANES = 16
MAX_HASH_BYTES = 128
MAX_PHC_CHARS = 512
MAX_PIN_CHARS = 64

# A hash of nothing anybody knows, checked for an unknown courier id so that the time a failed login takes
# does not tell which ids exist. Same cost as a typical synced hash.
DUMMY_PASSWORD_HASH = (
    "$scrypt$ln=14,r=8,p=1$bG9ja2VyLWtpb3NrLWR1bW15$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

RETURN_CODE_LENGTHS = range(8, 17)
_RETURN_SEPARATORS = re.compile(r"[\s\-]+")
_RETURN_CODE = re.compile(r"[A-Z0-9]+")
_SCRYPT = re.compile(r"\$scrypt\$ln=([0-9]{1,3}),r=([0-9]{1,4}),p=([0-9]{1,4})\$([A-Za-z0-9+/.]+={0,2})"
                     r"\$([A-Za-z0-9+/.]+={0,2})")
_ARGON2_PARAMS = re.compile(r"m=([0-9]{1,10}),t=([0-9]{1,4}),p=([0-9]{1,4})")

# Receipt codes are read off a screen and typed or spoken: no 0/O, 1/I lookalikes.
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECEIPT_LENGTH = 8

# A parcel label as a scanner reads it: printable ASCII, at most this long.
MAX_LABEL_CHARS = 64
_OUR_FORMAT = re.compile(r"LK[0-9]+:", re.IGNORECASE)


class PasswordHashError(ValueError):
    """A stored password hash cannot be checked here; the message says why in one line."""


class UnsupportedHash(PasswordHashError):
    """A hash of a kind (or a cost) this locker cannot check, e.g. argon2 with no argon2 library."""


class MalformedHash(PasswordHashError):
    """Not a PHC string this module understands."""


def verify_password(phc: str, pin: str) -> bool:
    """Whether `pin` matches the PHC hash `phc` (`$scrypt$...`, or `$argon2id$...` with argon2 installed).

    Raises UnsupportedHash or MalformedHash when the hash cannot be checked; a wrong PIN is simply False.
    Slow by design (the hash's cost): never call it on the event loop.
    """
    if not isinstance(phc, str) or not isinstance(pin, str):
        raise MalformedHash("a password hash and a PIN must be text")
    if len(phc) > MAX_PHC_CHARS:
        raise MalformedHash(f"a password hash longer than {MAX_PHC_CHARS} characters")
    if phc.startswith("$scrypt$"):
        return _verify_scrypt(phc, pin)
    if phc.startswith("$argon2"):
        return _verify_argon2(phc, pin)
    scheme = phc.split("$")[1] if phc.count("$") >= 2 else ""
    if scheme.isidentifier():
        raise UnsupportedHash(f"password hashes of kind {scheme!r} cannot be checked here")
    raise MalformedHash("not a PHC password hash")


def scrypt_hash(pin: str, salt: bytes, *, ln: int = 14, r: int = 8, p: int = 1) -> str:
    """A PHC scrypt hash of `pin` (what the platform makes; tests and tools use it)."""
    _check_scrypt_cost(ln, r, p)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=2**ln, r=r, p=p, dklen=32,
                            maxmem=_scrypt_maxmem(ln, r, p))
    return f"$scrypt$ln={ln},r={r},p={p}${_b64(salt)}${_b64(digest)}"


def _verify_scrypt(phc: str, pin: str) -> bool:
    match = _SCRYPT.fullmatch(phc)
    if match is None:
        raise MalformedHash("a scrypt hash must read $scrypt$ln=..,r=..,p=..$salt$hash")
    ln, r, p = (int(match.group(index)) for index in (1, 2, 3))
    _check_scrypt_cost(ln, r, p)
    salt = _unb64(match.group(4))
    expected = _unb64(match.group(5))
    if not 16 <= len(expected) <= MAX_HASH_BYTES:
        raise MalformedHash(f"a scrypt hash of {len(expected)} bytes")
    actual = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=2**ln, r=r, p=p, dklen=len(expected),
                            maxmem=_scrypt_maxmem(ln, r, p))
    return hmac.compare_digest(actual, expected)


def _check_scrypt_cost(ln: int, r: int, p: int) -> None:
    if not (1 <= ln <= SCRYPT_MAX_LN and 1 <= r <= SCRYPT_MAX_R and 1 <= p <= SCRYPT_MAX_P):
        raise UnsupportedHash(f"scrypt parameters ln={ln}, r={r}, p={p} are beyond this locker's bounds")
    if 128 * r * 2**ln > SCRYPT_MAX_MEMORY or 2**ln * r * p > SCRYPT_MAX_WORK:
        raise UnsupportedHash(f"scrypt parameters ln={ln}, r={r}, p={p} cost more than this locker allows")


def _scrypt_maxmem(ln: int, r: int, p: int) -> int:
    # OpenSSL's own estimate adds the p parallel blocks and some slack to 128 * r * N.
    return 128 * r * (2**ln + p + 2) + 1024 * 1024


def _verify_argon2(phc: str, pin: str) -> bool:
    parts = phc.split("$")
    if len(parts) != 6 or parts[1] not in ("argon2id", "argon2i", "argon2d"):
        raise MalformedHash("an argon2 hash must read $argon2id$v=..$m=..,t=..,p=..$salt$hash")
    params = _ARGON2_PARAMS.fullmatch(parts[3])
    if params is None:
        raise MalformedHash("an argon2 hash needs m=..,t=..,p=.. parameters")
    memory, time_cost, lanes = (int(params.group(index)) for index in (1, 2, 3))
    if not (1 <= memory <= ARGON2_MAX_MEMORY_KIB and 1 <= time_cost <= ARGON2_MAX_TIME
            and 1 <= lanes <= ARGON2_MAX_LANES):
        raise UnsupportedHash(f"argon2 parameters m={memory}, t={time_cost}, p={lanes} are beyond this "
                              "locker's bounds")
    try:
        argon2 = importlib.import_module("argon2")
    except ImportError:
        raise UnsupportedHash("argon2 hashes cannot be checked here: no argon2 library is installed"
                              ) from None
    exceptions = importlib.import_module("argon2.exceptions")
    try:
        return bool(argon2.PasswordHasher().verify(phc, pin))
    except exceptions.VerifyMismatchError:
        return False
    except (exceptions.InvalidHashError, exceptions.VerificationError) as error:
        raise MalformedHash(f"an argon2 hash that argon2 refuses: {error}") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    text = text.rstrip("=").replace(".", "+")  # passlib's adapted base64 uses "." for "+"
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedHash("a salt or hash that is not base64") from None


# badges, return codes, receipts -----------------------------------------------------------------------
def badge_hash(code_key: bytes, secret: str) -> bytes:
    """The keyed hash of a badge secret, as the platform syncs it (secrets are compared upper case)."""
    return hash_code(code_key, secret.upper())


def normalise_return_code(text: object) -> str | None:
    """The return code as 8 to 16 upper-case letters and digits; spaces and dashes dropped. None when `text`
    cannot be one."""
    if not isinstance(text, str) or len(text) > 4 * RETURN_CODE_LENGTHS.stop:
        return None
    compact = _RETURN_SEPARATORS.sub("", text).upper()
    if len(compact) not in RETURN_CODE_LENGTHS or not compact.isascii():
        return None
    if not _RETURN_CODE.fullmatch(compact):
        return None
    return compact


def return_code_hash(code_key: bytes, code: object) -> bytes | None:
    """The keyed hash of a (normalised) return code; None for a malformed one."""
    normalised = normalise_return_code(code)
    return None if normalised is None else hash_code(code_key, normalised)


def generate_receipt_code(rng: RandomSource = secrets) -> str:
    """A fresh receipt code: 8 characters with no lookalikes."""
    return "".join(RECEIPT_ALPHABET[rng.randbelow(len(RECEIPT_ALPHABET))] for _ in range(RECEIPT_LENGTH))


def parcel_label(raw: object) -> str | None:
    """A scanned parcel label as text (printable ASCII, 1-64 characters, the scanner's line end dropped);
    None for anything else: binary, too long, empty, or one of our own person codes (LK1:...). A huge
    payload is refused on its length alone."""
    if not isinstance(raw, bytes | str) or len(raw) > 4 * MAX_LABEL_CHARS:
        return None
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
    text = raw.strip()
    if not 1 <= len(text) <= MAX_LABEL_CHARS or not text.isascii() or not text.isprintable():
        return None
    if _OUR_FORMAT.match(text):
        return None  # a pickup, return or badge code: a person's, not a parcel's
    return text


def courier_limiter(store: Store, timers: Timers, policy: CourierPolicy) -> KeypadLimiter:
    """Wrong courier PINs and badges in a row: `policy.max_login_failures` of them lock courier login."""
    return KeypadLimiter(store, replace(timers, lockout_after_failures=policy.max_login_failures),
                         key=COURIER_LIMITER_KEY)


def return_code_limiter(store: Store, timers: Timers) -> KeypadLimiter:
    """Wrong return codes in a row lock the return keypad, like pickup codes, but counted apart."""
    return KeypadLimiter(store, timers, key=RETURN_LIMITER_KEY)

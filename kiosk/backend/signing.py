"""Signing of the requests the locker sends to the operator's platform, and of the platform's replies.

Both sides share one secret per locker (at least 16 bytes; on the locker it lives in the 0600 secrets
file). Every request carries five headers: X-Locker-Id (picks the secret on the platform), X-Timestamp,
X-Nonce, X-Content-SHA256 and X-Signature. Every reply of the platform carries X-Timestamp,
X-Content-SHA256 and X-Signature, bound to the nonce of the request it answers. The rules, word for word
as in openapi.yaml:

    canonical request = METHOD LF PATH LF BODY-SHA256 LF TIMESTAMP LF NONCE
    canonical reply   = "reply" LF STATUS LF METHOD LF PATH LF NONCE LF BODY-SHA256 LF TIMESTAMP
    LF           one line feed (0x0A); no trailing line feed; the whole string is ASCII
    METHOD       the HTTP method in upper case (GET, POST, PUT)
    PATH         the request target exactly as sent on the request line: path and query string with
                 their percent-encoding untouched, no scheme, no host (/v1/lockers/LK-0001/sync?cursor=c1)
    BODY-SHA256  lower-case hex SHA-256 of the body bytes as sent; of the empty string when there is no
                 body (e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)
    TIMESTAMP    the X-Timestamp value: unix time in whole seconds, decimal, no sign, no leading zero
    NONCE        the X-Nonce value of the request: 22 to 64 characters from A-Z a-z 0-9 _ - (at least 128
                 random bits: 32 hex digits or 22 base64url characters), never used twice
    STATUS       the reply's HTTP status code, three digits
    X-Signature  lower-case hex HMAC-SHA256(secret, canonical string as ASCII bytes)

Checks of a request, in this order, each refusal naming its reason: every header present (missing_header);
every header well formed (malformed); X-Content-SHA256 equal to the hash of the body actually received
(bad_body_hash); the signature (bad_signature); the timestamp within `max_skew_s` of the verifier's clock,
either way (stale_timestamp); the nonce not seen before (replayed_nonce). Signatures and hashes are compared
in constant time. Header names are matched without regard to case.

The replay cache remembers each accepted nonce until its timestamp leaves the skew window (after that the
timestamp check refuses the request anyway). Only requests with a valid signature reach it, so only a
holder of the secret can fill it; it has a fixed capacity, and when it is full of unexpired nonces a new
request is refused (nonce_cache_full, with the seconds until a place frees) rather than forgetting a nonce
early, which would open a replay window, or growing without bound. The platform answers that with 429 and
Retry-After.

A reply is bound to the request's method, path and nonce, so a recorded reply cannot be passed off as the
answer to another request; the locker knows which nonce it sent, so it needs no cache of its own. The
reply's timestamp is signed and handed back for clock-skew monitoring; freshness comes from the nonce.

Pure Python: no HTTP library, no Qt. Thread-safe: one Verifier may serve many server threads.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import hmac
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping

HEADER_LOCKER_ID = "X-Locker-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_CONTENT_SHA256 = "X-Content-SHA256"
HEADER_SIGNATURE = "X-Signature"

REQUEST_HEADERS = (HEADER_TIMESTAMP, HEADER_NONCE, HEADER_CONTENT_SHA256, HEADER_SIGNATURE)
REPLY_HEADERS = (HEADER_TIMESTAMP, HEADER_CONTENT_SHA256, HEADER_SIGNATURE)

DEFAULT_MAX_SKEW_S = 300.0
DEFAULT_NONCE_CAPACITY = 10_000  # a locker sends a few requests a minute; this is hours of them
MIN_SECRET_BYTES = 16
MAX_PATH_CHARS = 4096
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()

_METHOD = re.compile(r"[A-Za-z]{1,16}")
# Origin-form request target: printable ASCII without spaces (a raw space or line feed would be a different
# request line, and a line feed inside a field would make two canonical strings alike).
_PATH = re.compile(r"/[\x21-\x7e]*")
_TIMESTAMP = re.compile(r"0|[1-9][0-9]{0,11}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{22,64}")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_STATUS = re.compile(r"[1-5][0-9][0-9]")
_LOCKER_ID = re.compile(r"[A-Za-z0-9-]{1,40}")


class SignatureReason(enum.Enum):
    """Why a signed request or reply is refused (the `code` of the platform's 401/429 Error body)."""

    MISSING_HEADER = "missing_header"
    MALFORMED = "malformed"
    BAD_BODY_HASH = "bad_body_hash"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    REPLAYED_NONCE = "replayed_nonce"
    NONCE_CACHE_FULL = "nonce_cache_full"


class SignatureError(Exception):
    """A request or reply failed verification. `str()` is one line: "<reason>: <detail>"."""

    def __init__(self, reason: SignatureReason, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.retry_after_s = retry_after_s  # set with NONCE_CACHE_FULL: when a place in the cache frees


# canonical strings -------------------------------------------------------------------------------

def body_sha256(body: bytes) -> str:
    """Lower-case hex SHA-256 of the body bytes (of b"" when there is no body)."""
    return hashlib.sha256(bytes(body)).hexdigest()


def canonical_request(method: str, path: str, body_hash: str, timestamp: int, nonce: str) -> str:
    """The string a request's X-Signature is computed over (see the module docstring)."""
    return "\n".join((method.upper(), path, body_hash.lower(), str(timestamp), nonce))


def canonical_reply(
    status: int, request_method: str, request_path: str, request_nonce: str, body_hash: str, timestamp: int
) -> str:
    """The string a reply's X-Signature is computed over (see the module docstring)."""
    return "\n".join(
        ("reply", str(status), request_method.upper(), request_path, request_nonce, body_hash.lower(),
         str(timestamp))
    )


def _hmac_hex(secret: bytes, canonical: str) -> str:
    return hmac.new(secret, canonical.encode("ascii"), hashlib.sha256).hexdigest()


# signing -----------------------------------------------------------------------------------------

def sign(
    secret: bytes,
    method: str,
    path: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
    locker_id: str | None = None,
) -> dict[str, str]:
    """The signing headers of one request: X-Timestamp, X-Nonce, X-Content-SHA256, X-Signature (and
    X-Locker-Id when `locker_id` is given). `path` is the request target exactly as it will be sent, query
    included (with requests: `PreparedRequest.path_url`). A fresh 128-bit nonce and the current time are
    used unless given. Raises ValueError for arguments that could never verify."""
    _check_secret(secret)
    _check_method_and_path(method, path)
    stamp = int(time.time()) if timestamp is None else timestamp
    if isinstance(stamp, bool) or not isinstance(stamp, int) or not _TIMESTAMP.fullmatch(str(stamp)):
        raise ValueError(f"timestamp must be a non-negative whole number of seconds, got {stamp!r}")
    chosen_nonce = secrets.token_hex(16) if nonce is None else nonce
    if not isinstance(chosen_nonce, str) or not _NONCE.fullmatch(chosen_nonce):
        raise ValueError("nonce must be 22 to 64 characters from A-Z a-z 0-9 _ -")
    if locker_id is not None and not _LOCKER_ID.fullmatch(locker_id):
        raise ValueError(f"locker id {locker_id!r} is not 1-40 letters, digits or dashes")
    content_hash = body_sha256(body)
    headers = {
        HEADER_TIMESTAMP: str(stamp),
        HEADER_NONCE: chosen_nonce,
        HEADER_CONTENT_SHA256: content_hash,
    }
    canonical = canonical_request(method, path, content_hash, stamp, chosen_nonce)
    headers[HEADER_SIGNATURE] = _hmac_hex(secret, canonical)
    if locker_id is not None:
        headers = {HEADER_LOCKER_ID: locker_id, **headers}
    return headers


def sign_reply(
    secret: bytes,
    request_method: str,
    request_path: str,
    request_nonce: str,
    status: int,
    body: bytes,
    *,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The signing headers of the platform's reply to one request: X-Timestamp, X-Content-SHA256,
    X-Signature. Raises ValueError for arguments that could never verify."""
    _check_secret(secret)
    _check_method_and_path(request_method, request_path)
    if not isinstance(request_nonce, str) or not _NONCE.fullmatch(request_nonce):
        raise ValueError("request nonce must be 22 to 64 characters from A-Z a-z 0-9 _ -")
    if isinstance(status, bool) or not isinstance(status, int) or not _STATUS.fullmatch(str(status)):
        raise ValueError(f"status must be an HTTP status code from 100 to 599, got {status!r}")
    stamp = int(time.time()) if timestamp is None else timestamp
    if isinstance(stamp, bool) or not isinstance(stamp, int) or not _TIMESTAMP.fullmatch(str(stamp)):
        raise ValueError(f"timestamp must be a non-negative whole number of seconds, got {stamp!r}")
    content_hash = body_sha256(body)
    canonical = canonical_reply(status, request_method, request_path, request_nonce, content_hash, stamp)
    return {
        HEADER_TIMESTAMP: str(stamp),
        HEADER_CONTENT_SHA256: content_hash,
        HEADER_SIGNATURE: _hmac_hex(secret, canonical),
    }


# verifying ---------------------------------------------------------------------------------------

class NonceMemory:
    """The nonces of accepted requests, each kept until its timestamp leaves the skew window.

    Bounded: at most `capacity` nonces. Expired ones are dropped first; when every remembered nonce is still
    live, `remember` refuses (NONCE_CACHE_FULL) instead of forgetting one early. Thread-safe.
    """

    def __init__(self, capacity: int = DEFAULT_NONCE_CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"nonce capacity must be a positive whole number, got {capacity!r}")
        self._capacity = capacity
        self._expiry_by_nonce: dict[str, float] = {}
        self._expiry_heap: list[tuple[float, str]] = []  # the same entries, soonest expiry first
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry_by_nonce)

    def remember(self, nonce: str, expires_at: float, now: float) -> None:
        """Keep `nonce` until `expires_at`; raise SignatureError if it is known already or no room is left."""
        with self._lock:
            self._forget_expired(now)
            if nonce in self._expiry_by_nonce:
                raise SignatureError(SignatureReason.REPLAYED_NONCE, "this nonce was already used")
            if len(self._expiry_by_nonce) >= self._capacity:
                soonest = self._expiry_heap[0][0]
                wait = max(1.0, math.ceil(soonest - now))
                raise SignatureError(
                    SignatureReason.NONCE_CACHE_FULL,
                    f"{self._capacity} recent nonces are remembered already; retry in {wait:.0f} s",
                    retry_after_s=wait,
                )
            self._expiry_by_nonce[nonce] = expires_at
            heapq.heappush(self._expiry_heap, (expires_at, nonce))

    def _forget_expired(self, now: float) -> None:
        while self._expiry_heap and self._expiry_heap[0][0] < now:
            _, nonce = heapq.heappop(self._expiry_heap)
            del self._expiry_by_nonce[nonce]


class Verifier:
    """Checks signed requests from one locker (one secret) on the platform's side."""

    def __init__(
        self,
        secret: bytes,
        *,
        max_skew_s: float = DEFAULT_MAX_SKEW_S,
        clock: Callable[[], float] = time.time,
        nonce_memory: NonceMemory | None = None,
    ) -> None:
        _check_secret(secret)
        if not math.isfinite(max_skew_s) or max_skew_s < 0:
            raise ValueError(f"max_skew_s must be a non-negative number of seconds, got {max_skew_s!r}")
        self._secret = bytes(secret)
        self._max_skew_s = float(max_skew_s)
        self._clock = clock
        self._nonces = NonceMemory() if nonce_memory is None else nonce_memory

    @property
    def nonce_memory(self) -> NonceMemory:
        return self._nonces

    def verify(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> None:
        """Accept the request or raise SignatureError naming the first check it failed (module docstring).
        `path` is the raw request target as received, query included; `body` the bytes received."""
        fields = _signing_fields(headers, REQUEST_HEADERS)
        if not isinstance(method, str) or not _METHOD.fullmatch(method):
            raise SignatureError(SignatureReason.MALFORMED, "the HTTP method is not a plain word")
        if not isinstance(path, str) or len(path) > MAX_PATH_CHARS or not _PATH.fullmatch(path):
            raise SignatureError(SignatureReason.MALFORMED, "the path is not an origin-form request target")
        timestamp = _parse_timestamp(fields[HEADER_TIMESTAMP])
        nonce = fields[HEADER_NONCE]
        if not _NONCE.fullmatch(nonce):
            raise SignatureError(SignatureReason.MALFORMED, "X-Nonce is not 22-64 of A-Z a-z 0-9 _ -")
        content_hash = _check_body_hash(fields[HEADER_CONTENT_SHA256], body)
        expected = _hmac_hex(self._secret, canonical_request(method, path, content_hash, timestamp, nonce))
        _check_signature(fields[HEADER_SIGNATURE], expected)
        now = self._clock()
        skew = now - timestamp
        if abs(skew) > self._max_skew_s:
            direction = "behind" if skew > 0 else "ahead of"
            raise SignatureError(
                SignatureReason.STALE_TIMESTAMP,
                f"X-Timestamp is {abs(skew):.0f} s {direction} the platform's clock "
                f"(at most {self._max_skew_s:.0f} s allowed)",
            )
        self._nonces.remember(nonce, timestamp + self._max_skew_s, now)


def verify_reply(
    secret: bytes,
    request_method: str,
    request_path: str,
    request_nonce: str,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
) -> int:
    """Check the platform's reply to the request sent with `request_nonce`; return the reply's signed
    X-Timestamp (the platform's clock). Raises SignatureError (missing_header, malformed, bad_body_hash,
    bad_signature)."""
    _check_secret(secret)
    fields = _signing_fields(headers, REPLY_HEADERS)
    timestamp = _parse_timestamp(fields[HEADER_TIMESTAMP])
    content_hash = _check_body_hash(fields[HEADER_CONTENT_SHA256], body)
    canonical = canonical_reply(status, request_method, request_path, request_nonce, content_hash, timestamp)
    _check_signature(fields[HEADER_SIGNATURE], _hmac_hex(secret, canonical))
    return timestamp


def requested_locker_id(headers: Mapping[str, str]) -> str:
    """The X-Locker-Id of a request (header names in any case), which picks the secret to verify it with."""
    value = _lookup(headers, HEADER_LOCKER_ID)
    if value is None:
        raise SignatureError(SignatureReason.MISSING_HEADER, f"{HEADER_LOCKER_ID} is missing")
    if not _LOCKER_ID.fullmatch(value):
        raise SignatureError(SignatureReason.MALFORMED, f"{HEADER_LOCKER_ID} is not 1-40 of A-Z a-z 0-9 -")
    return value


# helpers -----------------------------------------------------------------------------------------

def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes | bytearray) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the signing secret must be at least {MIN_SECRET_BYTES} bytes")


def _check_method_and_path(method: str, path: str) -> None:
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise ValueError(f"method {method!r} is not a plain HTTP method")
    if not isinstance(path, str) or len(path) > MAX_PATH_CHARS or not _PATH.fullmatch(path):
        raise ValueError(f"path {path[:80]!r} is not an origin-form request target of printable ASCII")


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    """One header by name in any case; two spellings with different values are refused as malformed."""
    wanted = name.lower()
    found: str | None = None
    for key, value in headers.items():
        if not isinstance(key, str) or key.lower() != wanted:
            continue
        if not isinstance(value, str):
            raise SignatureError(SignatureReason.MALFORMED, f"{name} is not text")
        if found is not None and value != found:
            raise SignatureError(SignatureReason.MALFORMED, f"{name} is given twice with different values")
        found = value
    return found


def _signing_fields(headers: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    values = {name: _lookup(headers, name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise SignatureError(SignatureReason.MISSING_HEADER, f"missing {', '.join(missing)}")
    return {name: value.strip() for name, value in values.items() if value is not None}


def _parse_timestamp(text: str) -> int:
    if not _TIMESTAMP.fullmatch(text):
        raise SignatureError(
            SignatureReason.MALFORMED, "X-Timestamp is not unix seconds (decimal, no sign or leading zero)"
        )
    return int(text)


def _check_body_hash(claimed: str, body: bytes) -> str:
    if not _HEX_DIGEST.fullmatch(claimed):
        raise SignatureError(SignatureReason.MALFORMED, "X-Content-SHA256 is not 64 hexadecimal digits")
    actual = body_sha256(body)
    if not hmac.compare_digest(claimed.lower(), actual):
        raise SignatureError(SignatureReason.BAD_BODY_HASH, "X-Content-SHA256 does not match the body")
    return actual


def _check_signature(claimed: str, expected: str) -> None:
    if not _HEX_DIGEST.fullmatch(claimed):
        raise SignatureError(SignatureReason.MALFORMED, "X-Signature is not 64 hexadecimal digits")
    if not hmac.compare_digest(claimed.lower(), expected):
        raise SignatureError(SignatureReason.BAD_SIGNATURE, "X-Signature does not match")

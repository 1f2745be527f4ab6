"""The locker's side of the wire: a blocking HTTP client for the operator's platform (openapi.yaml).

Every method blocks and is meant for a worker thread, never the event loop. Each call:

1. builds its JSON body by hand from typed values and refuses locally what the contract would refuse;
2. prepares the request, signs it over the request target exactly as it will be sent
   (`PreparedRequest.path_url`, query included) and sends it with connect/read timeouts, certificate
   verification always on, no redirects followed and no compression accepted;
3. reads the reply streaming, cut at `max_reply_bytes` (a longer reply is refused without being loaded)
   and within an overall deadline (a server dripping bytes cannot hold a worker for ever);
4. verifies the reply's signature BEFORE its body is parsed (nothing of an unsigned or wrongly signed
   reply is used);
5. parses the JSON defensively and checks its shape by hand against the contract (jsonschema is a
   development dependency only), turning it into frozen dataclasses.

Anything that goes wrong raises PlatformError(kind, message) with one line saying what and why; `kind`
says what the caller should do about it (see PlatformErrorKind). Ids and hashes are checked with the
contract's own patterns; a reply that carries anything the contract does not allow is refused whole
(MALFORMED_REPLY), with one exception: one malformed item of a command list becomes an InvalidCommand,
so the others still run and the bad one can be answered "refused".

`close()` aborts calls in flight from any thread (their sockets are shut down) and makes later calls
raise PlatformError(CLOSED): that is how a stopping service gets its worker thread back at once.
Several threads may share one client (only urllib3's thread-safe connection pool is shared).
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import math
import re
import socket
import threading
import time
import urllib.parse
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import requests
import requests.adapters
import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from kiosk.backend.signing import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    MIN_SECRET_BYTES,
    SignatureError,
    sign,
    verify_reply,
)
from kiosk.core.model import (
    Compartment,
    CourierCredential,
    Deletion,
    EventKind,
    ExpectedParcel,
    OutboxEvent,
    PickupCredential,
    PickupWindow,
    ReturnAuthorisation,
    Size,
    SyncPage,
)

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES: Final = 1024 * 1024  # the contract: bodies over 1 MiB are refused with 413
CONTRACT_MAX_REPLY_BYTES: Final = 4 * 1024 * 1024  # the contract: a locker reads at most 4 MiB of a reply
MAX_EVENTS_PER_BATCH: Final = 200
MAX_WAIT_S: Final = 60
_CHUNK_BYTES = 64 * 1024
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# The contract's patterns, anchored by fullmatch.
_LOCKER_ID = re.compile(r"[A-Za-z0-9-]{1,40}")
_COMPARTMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_PARCEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RECORD_ID = _PARCEL_ID
_COURIER_ID = re.compile(r"[A-Z0-9-]{1,32}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_CURSOR = re.compile(r"[A-Za-z0-9._~-]{1,512}")
_DETAIL_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_REASON_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ONE_LINE = re.compile(r"[^\x00-\x1f\x7f]+")
_BARCODE = re.compile(r"[\x21-\x7e]{1,64}")
_RECIPIENT_REF = re.compile(r"[\x21-\x7e]{1,128}")  # a pseudonymous key: visible ASCII, no spaces
_TIMEZONE = re.compile(r"[A-Za-z0-9_+/-]{1,64}")
_APP_VERSION = re.compile(r"[0-9A-Za-z.+-]{1,40}")
_CAMERA_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_SUPPORT_TICKET = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PASSWORD_HASH = re.compile(
    r"\$(scrypt\$ln=[0-9]{1,2},r=[0-9]{1,3},p=[0-9]{1,3}|argon2(id|i|d)\$v=19\$m=[0-9]{1,8},t=[0-9]{1,3},"
    r"p=[0-9]{1,3})\$[A-Za-z0-9+/]{11,88}\$[A-Za-z0-9+/]{22,88}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

_DETAIL_METHODS = frozenset({"code", "qr", "face"})
_PROBLEMS = frozenset({"damaged", "not_mine", "door_did_not_open"})
_ALARMS = frozenset({"outbox_over_threshold", "door_forced_open", "door_left_open", "board_not_answering",
                     "camera_failed", "layout_mismatch", "clock_skew", "tamper"})
_REJECTION_REASONS = frozenset({"unknown_parcel", "unknown_compartment", "not_allowed", "contradicts_state"})
_ERROR_CODES = frozenset({
    "missing_header", "malformed", "bad_body_hash", "bad_signature", "stale_timestamp", "replayed_nonce",
    "nonce_cache_full", "unknown_locker", "locker_mismatch", "locker_disabled", "invalid_request",
    "not_found", "conflict", "payload_too_large", "rate_limited", "internal_error", "unavailable"})
_DELETION_KINDS = frozenset({"parcel", "pickup_credential", "courier", "return_authorisation"})
_ABOUT_A_PARCEL = frozenset({EventKind.DEPOSITED, EventKind.PICKED_UP, EventKind.RETURNED,
                             EventKind.COLLECTED})

LOCAL_REJECTION: Final = "invalid_event"  # Rejection.reason of an event refused before sending


# errors --------------------------------------------------------------------------------------------

class PlatformErrorKind(enum.StrEnum):
    """What went wrong, and so what a caller does about it."""

    UNREACHABLE = "unreachable"  # no connection, or it dropped: retry later
    TIMEOUT = "timeout"  # connect, read or the whole exchange took too long: retry later
    TLS = "tls"  # certificate or TLS handshake refused: a configuration problem, retry later
    HTTP_STATUS = "http_status"  # a verified 5xx, 429 or unexpected status: retry later (Retry-After)
    UNAUTHORIZED = "unauthorized"  # 401/403: secret, clock or locker id wrong; retry later, alarm
    REJECTED = "rejected"  # this request itself is refused (404, 409, 413, 422): resending it will not help
    BAD_SIGNATURE = "bad_signature"  # the reply is unsigned or does not verify: nothing of it was used
    MALFORMED_REPLY = "malformed_reply"  # signed, but not JSON or not the contract's shape
    TOO_LARGE = "too_large"  # the reply is longer than max_reply_bytes: refused unread
    CLOSED = "closed"  # the client was closed (the service is stopping)


class PlatformError(Exception):
    """A call to the platform failed. `str()` is one line: "<kind>: <message>"."""

    def __init__(
        self,
        kind: PlatformErrorKind,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        line = _one_line(message)
        super().__init__(f"{kind.value}: {line}")
        self.kind = kind
        self.message = line
        self.status = status  # the HTTP status of a verified reply
        self.code = code  # the Error.code of a verified error reply
        self.retry_after_s = retry_after_s  # from a verified reply's Retry-After

    @property
    def retryable(self) -> bool:
        """Whether sending the same request later may succeed."""
        return self.kind not in (PlatformErrorKind.REJECTED, PlatformErrorKind.CLOSED)


class UnsendableEvent(ValueError):
    """An outbox event the contract would refuse (the message says which field and why)."""


class _Malformed(ValueError):
    """A reply field is not what the contract allows; the message names it."""


# what the platform answers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Rejection:
    """An event the platform will never accept (or that could not be sent: reason LOCAL_REJECTION)."""

    idempotency_key: str
    reason: str
    message: str


@dataclass(frozen=True)
class EventsReply:
    """The outcome of post_events. Keys are canonical lower-case uuids. `sent` counts the events that went
    over the wire (events refused locally are in `rejected` and not sent)."""

    accepted: tuple[str, ...]
    duplicates: tuple[str, ...]
    rejected: tuple[Rejection, ...]
    sent: int


@dataclass(frozen=True)
class PickupVerification:
    credential: PickupCredential
    parcels: tuple[ExpectedParcel, ...]


@dataclass(frozen=True)
class ReturnVerification:
    return_authorisation: ReturnAuthorisation


@dataclass(frozen=True)
class CameraHealth:
    camera_id: str
    state: str  # ok, failing, missing
    detail: str | None = None


@dataclass(frozen=True)
class Health:
    """What a heartbeat tells the platform. Times are unix seconds; free text is made one line."""

    locker_clock: float
    app_version: str
    uptime_s: int
    boards_answering: int
    boards_total: int
    doors_open: tuple[str, ...] = ()
    out_of_order: tuple[tuple[str, str], ...] = ()  # (compartment id, reason)
    cameras: tuple[CameraHealth, ...] = ()
    outbox_depth: int = 0
    outbox_oldest_at: float | None = None
    outbox_parked: int = 0
    last_sync_at: float | None = None


@dataclass(frozen=True)
class LockerConfig:
    """What the platform wants of this locker. `timers` holds only the timers it sets (seconds)."""

    locker_id: str
    display_name: str
    timezone: str
    config_version: int
    layout_compartments: int
    layout_by_size: dict[Size, int]
    timers: dict[str, int]
    pickup_window_hours: int
    unannounced_parcels: str  # accept or refuse
    outbox_alarm_threshold: int
    heartbeat_interval_s: int
    sync_interval_s: int


@dataclass(frozen=True)
class HeartbeatAck:
    server_time: float
    commands_pending: int


@dataclass(frozen=True)
class OpenDoorCommand:
    command_id: str
    issued_at: float
    expires_at: float
    compartment_id: str
    support_ticket: str


@dataclass(frozen=True)
class SyncNowCommand:
    command_id: str
    issued_at: float
    expires_at: float


@dataclass(frozen=True)
class OutOfServiceCommand:
    command_id: str
    issued_at: float
    expires_at: float
    compartment_id: str
    out_of_service: bool
    reason: str


@dataclass(frozen=True)
class ForgetFaceCommand:
    command_id: str
    issued_at: float
    expires_at: float
    parcel_ids: tuple[str, ...]


@dataclass(frozen=True)
class InvalidCommand:
    """A command of a verified list that the contract does not allow (an unknown kind, a bad field). It is
    never run; when `command_id` is known the caller answers it "refused"."""

    command_id: str | None
    kind: str | None
    problem: str


Command = OpenDoorCommand | SyncNowCommand | OutOfServiceCommand | ForgetFaceCommand | InvalidCommand


class CommandStatus(enum.Enum):
    DONE = "done"
    FAILED = "failed"
    REFUSED = "refused"
    EXPIRED = "expired"


# the client ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    server_time: int


class PlatformClient:
    """The platform's API for one locker. Blocking: call from a worker thread.

    `base_url` is https://host[:port][/prefix]; plain http:// is refused unless the host is 127.0.0.1,
    localhost or ::1 (tests and the fake platform). Certificates are always verified, against `ca_bundle`
    when given. `max_reply_bytes` may not exceed the contract's 4 MiB (CONTRACT_MAX_REPLY_BYTES); a sync
    page asked with a `limit` above 500 can approach 2 MiB, so a syncing client should allow 4 MiB. Raises
    ValueError for a configuration that could never work.

    A `session` passed in is used with its own adapters: close() then cannot abort a call in flight
    (its sockets are not tracked), and a stopping service waits up to the read timeout.
    """

    def __init__(
        self,
        base_url: str,
        locker_id: str,
        secret: bytes,
        *,
        ca_bundle: str | None = None,
        connect_timeout_s: float = 3.05,
        read_timeout_s: float = 10.0,
        max_reply_bytes: int = 2 * 1024 * 1024,
        session: requests.Session | None = None,
    ) -> None:
        self._base_url, self._base_path = _check_base_url(base_url)
        if not isinstance(locker_id, str) or not _LOCKER_ID.fullmatch(locker_id):
            raise ValueError(f"locker id {locker_id!r} is not 1-40 letters, digits or dashes")
        if not isinstance(secret, bytes | bytearray) or len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the platform secret must be at least {MIN_SECRET_BYTES} bytes")
        for name, value in (("connect_timeout_s", connect_timeout_s), ("read_timeout_s", read_timeout_s)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if isinstance(max_reply_bytes, bool) or not isinstance(max_reply_bytes, int) \
                or not 1024 <= max_reply_bytes <= CONTRACT_MAX_REPLY_BYTES:
            raise ValueError(f"max_reply_bytes must be from 1024 to {CONTRACT_MAX_REPLY_BYTES}, "
                             f"not {max_reply_bytes!r}")
        if ca_bundle is not None and not Path(ca_bundle).is_file():
            raise ValueError(f"the CA bundle {ca_bundle} is not a readable file")
        self._locker_id = locker_id
        self._secret = bytes(secret)
        self._verify: str | bool = ca_bundle if ca_bundle is not None else True
        self._connect_timeout_s = float(connect_timeout_s)
        self._read_timeout_s = float(read_timeout_s)
        self._max_reply_bytes = max_reply_bytes
        self._sockets = _SocketRegistry()
        if session is None:
            session = requests.Session()
            session.trust_env = False  # proxies and CA come from the kiosk's config, never the environment
            adapter = _TrackingAdapter(self._sockets)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session
        self._session.headers.update({
            "User-Agent": "locker-kiosk",
            "Accept": "application/json",
            "Accept-Encoding": "identity",  # the signature covers the bytes sent; no decompression bombs
        })
        self._closed = False
        self._lock = threading.Lock()
        self.last_server_time: int | None = None  # the signed X-Timestamp of the last verified reply
        self.last_clock_skew_s: float | None = None  # platform clock minus ours, at that reply

    @property
    def locker_id(self) -> str:
        return self._locker_id

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Abort every call in flight (any thread) and refuse later ones with PlatformError(CLOSED)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._sockets.close_all()
        self._session.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # the API ------------------------------------------------------------------------------------------

    def register(self, app_version: str, compartments: Sequence[Compartment]) -> LockerConfig:
        """Tell the platform this locker's layout and version; it answers with the configuration. 409
        (the layout drops a compartment that holds a parcel) raises PlatformError(REJECTED)."""
        if not isinstance(app_version, str) or not _APP_VERSION.fullmatch(app_version):
            raise ValueError(f"app version {app_version!r} does not match the contract's pattern")
        if not 1 <= len(compartments) <= 500:
            raise ValueError(f"a layout has 1 to 500 compartments, not {len(compartments)}")
        layout = []
        for compartment in compartments:
            if not _COMPARTMENT_ID.fullmatch(compartment.id):
                raise ValueError(f"compartment id {compartment.id!r} does not match the contract's pattern")
            layout.append({"compartment_id": compartment.id, "size": Size(compartment.size).value,
                           "column": min(max(compartment.column, 1), 100),
                           "height_cm": min(max(compartment.height_cm, 0), 300)})
        payload = {"app_version": app_version, "layout": {"compartments": layout}}
        reply = self._exchange("PUT", "registration", "register", payload=payload)
        try:
            return _parse_config(_parse_json(reply.body))
        except _Malformed as error:
            raise _malformed("register", error) from None

    def config(self) -> LockerConfig:
        """The configuration the platform sets for this locker."""
        reply = self._exchange("GET", "config", "get the configuration")
        try:
            return _parse_config(_parse_json(reply.body))
        except _Malformed as error:
            raise _malformed("get the configuration", error) from None

    def post_events(self, events: Sequence[OutboxEvent]) -> EventsReply:
        """Send a batch (at most 200) of outbox events. Events the contract would refuse are not sent and
        come back in `rejected` with reason LOCAL_REJECTION. Raises PlatformError; REJECTED (422, 413, or
        too big to send) means the batch was refused whole and nothing of it applied."""
        if len(events) > MAX_EVENTS_PER_BATCH:
            raise ValueError(f"at most {MAX_EVENTS_PER_BATCH} events go in one batch, not {len(events)}")
        payloads: list[dict[str, object]] = []
        local: list[Rejection] = []
        sent_keys: dict[str, None] = {}
        for event in events:
            try:
                payload = event_payload(event)
            except UnsendableEvent as error:
                local.append(Rejection(_canonical_key(event.idempotency_key), LOCAL_REJECTION, str(error)))
                continue
            key = _canonical_key(event.idempotency_key)
            if key not in sent_keys:
                sent_keys[key] = None
                payloads.append(payload)
        if not payloads:
            return EventsReply((), (), tuple(local), 0)
        reply = self._exchange("POST", "events", "post events", payload={"events": payloads})
        try:
            result = _parse_events_reply(_parse_json(reply.body), set(sent_keys))
        except _Malformed as error:
            raise _malformed("post events", error) from None
        return EventsReply(result.accepted, result.duplicates, result.rejected + tuple(local), len(payloads))

    def sync(self, cursor: str | None, limit: int = 500) -> SyncPage:
        """One page of changes since `cursor` (None: start a full sync)."""
        query: list[tuple[str, str]] = []
        if cursor is not None:
            if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
                raise ValueError("a sync cursor is 1-512 of A-Z a-z 0-9 . _ ~ -")
            query.append(("cursor", cursor))
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError(f"a sync limit is from 1 to 1000, not {limit!r}")
        query.append(("limit", str(limit)))
        reply = self._exchange("GET", "sync", "sync", query=query)
        try:
            return _parse_sync_page(_parse_json(reply.body), limit)
        except _Malformed as error:
            raise _malformed("sync", error) from None

    def verify_code(
        self, code_hash: bytes, kind: str = "pickup"
    ) -> PickupVerification | ReturnVerification | None:
        """Check online a code the locker does not know, by its keyed hash (32 bytes). None: the platform
        knows no such code (404 not_found)."""
        if not isinstance(code_hash, bytes | bytearray) or len(code_hash) != 32:
            raise ValueError("a code hash is the 32 bytes of an HMAC-SHA256")
        if kind not in ("pickup", "return"):
            raise ValueError(f"a code to verify is for a pickup or a return, not {kind!r}")
        payload = {"code_hash": bytes(code_hash).hex(), "kind": kind}
        reply = self._exchange("POST", "verify", "verify a code", payload=payload, expect=(200, 404))
        try:
            document = _parse_json(reply.body)
            if reply.status == 404:
                code, _message, _retry = _parse_error(document)
                if code != "not_found":
                    raise _Malformed(f"a 404 reply must say not_found, not {code}")
                return None
            return _parse_verify_result(document, kind)
        except _Malformed as error:
            raise _malformed("verify a code", error) from None

    def heartbeat(self, health: Health) -> HeartbeatAck:
        """Send the locker's health; the platform answers with its time and how many commands wait."""
        payload = heartbeat_payload(health)
        reply = self._exchange("POST", "heartbeat", "heartbeat", payload=payload)
        try:
            return _parse_heartbeat_ack(_parse_json(reply.body))
        except _Malformed as error:
            raise _malformed("heartbeat", error) from None

    def poll_commands(self, wait_s: int = 30) -> list[Command]:
        """Pending remote commands, oldest first; the platform holds the request up to `wait_s` seconds
        when none is pending. The read timeout is `wait_s` plus the client's read timeout."""
        if isinstance(wait_s, bool) or not isinstance(wait_s, int) or not 0 <= wait_s <= MAX_WAIT_S:
            raise ValueError(f"a command poll waits 0 to {MAX_WAIT_S} whole seconds, not {wait_s!r}")
        reply = self._exchange("GET", "commands", "poll commands", query=[("wait", str(wait_s))],
                               read_timeout_s=wait_s + self._read_timeout_s)
        try:
            return _parse_command_list(_parse_json(reply.body))
        except _Malformed as error:
            raise _malformed("poll commands", error) from None

    def post_command_result(
        self,
        command_id: str,
        status: CommandStatus,
        finished_at: float,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        """Say how a command ended. `reason` is a reason code (door_did_not_open); `message` one line for
        support staff (made one line and cut to 500 characters). 409 (a different result was recorded
        before) and 404 (unknown command) raise PlatformError(REJECTED)."""
        if not isinstance(command_id, str) or not _UUID.fullmatch(command_id):
            raise ValueError(f"a command id is a uuid, not {command_id!r}")
        if reason is not None and not _REASON_CODE.fullmatch(reason):
            raise ValueError(f"a reason code is 1-40 of a-z 0-9 _ starting with a letter, not {reason!r}")
        payload = {
            "status": CommandStatus(status).value,
            "finished_at": format_date_time(finished_at),
            "reason": reason,
            "message": _one_line_text(message, 500),
        }
        self._exchange("POST", f"commands/{command_id.lower()}/result", "post a command result",
                       payload=payload, expect=(204,))

    # the exchange -------------------------------------------------------------------------------------

    def _exchange(
        self,
        method: str,
        resource: str,
        operation: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        payload: Mapping[str, object] | None = None,
        expect: tuple[int, ...] = (200,),
        read_timeout_s: float | None = None,
    ) -> _Reply:
        if self._closed:
            raise PlatformError(PlatformErrorKind.CLOSED, f"{operation}: the platform client is closed")
        url = f"{self._base_url}{self._base_path}/v1/lockers/{self._locker_id}/{resource}"
        if query:
            url += "?" + urllib.parse.urlencode(list(query))
        body: bytes | None = None
        headers = {}
        if payload is not None:
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
            if len(body) > MAX_REQUEST_BYTES:
                raise PlatformError(PlatformErrorKind.REJECTED,
                                    f"{operation}: the request is {len(body)} bytes; the platform accepts at "
                                    f"most {MAX_REQUEST_BYTES}", code="payload_too_large")
            headers["Content-Type"] = "application/json"
        prepared = self._session.prepare_request(requests.Request(method, url, data=body, headers=headers))
        path = prepared.path_url
        sent = prepared.body if isinstance(prepared.body, bytes) else b""
        signing_headers = sign(self._secret, method, path, sent, locker_id=self._locker_id)
        prepared.headers.update(signing_headers)
        read_timeout = self._read_timeout_s if read_timeout_s is None else read_timeout_s
        deadline = time.monotonic() + self._connect_timeout_s + 2 * read_timeout
        where = f"{operation} ({method} {self._base_url}{path.split('?', 1)[0]})"
        try:
            response = self._session.send(prepared, stream=True, verify=self._verify, allow_redirects=False,
                                          timeout=(self._connect_timeout_s, read_timeout))
        except requests.exceptions.SSLError as error:
            raise self._failure(PlatformErrorKind.TLS, f"{where}: TLS failed: {_root_cause(error)}") from None
        except requests.exceptions.ConnectTimeout:
            raise self._failure(PlatformErrorKind.TIMEOUT, f"{where}: no connection within "
                                f"{self._connect_timeout_s:g} s") from None
        except requests.exceptions.Timeout:
            raise self._failure(PlatformErrorKind.TIMEOUT, f"{where}: no reply within {read_timeout:g} s") \
                from None
        except requests.exceptions.RequestException as error:
            raise self._failure(PlatformErrorKind.UNREACHABLE, f"{where}: {_root_cause(error)}") from None
        try:
            status = response.status_code
            content = self._read_body(response, deadline, where, read_timeout)
            headers_received = response.headers
        finally:
            response.close()
        try:
            server_time = verify_reply(self._secret, method, path, signing_headers[HEADER_NONCE], status,
                                       content, headers_received)
        except SignatureError as error:
            if status == 401 and HEADER_SIGNATURE not in headers_received:
                raise PlatformError(PlatformErrorKind.UNAUTHORIZED,
                                    f"{where}: an unsigned 401: the platform does not know locker "
                                    f"{self._locker_id} (nothing of the reply was used)",
                                    status=401) from None
            raise PlatformError(PlatformErrorKind.BAD_SIGNATURE,
                                f"{where}: the HTTP {status} reply did not verify ({error}); nothing of it "
                                f"was used") from None
        self.last_server_time = server_time
        self.last_clock_skew_s = server_time - time.time()
        if status in expect:
            return _Reply(status, content, server_time)
        raise self._status_error(where, status, content, headers_received)

    def _failure(self, kind: PlatformErrorKind, message: str) -> PlatformError:
        if self._closed:
            return PlatformError(PlatformErrorKind.CLOSED, f"{message} (the client was closed)")
        return PlatformError(kind, message)

    def _read_body(
        self, response: requests.Response, deadline: float, where: str, read_timeout: float
    ) -> bytes:
        limit = self._max_reply_bytes
        declared = response.headers.get("Content-Length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise PlatformError(PlatformErrorKind.MALFORMED_REPLY,
                                    f"{where}: Content-Length {declared[:40]!r} is not a number")
            if int(declared) > limit:
                raise PlatformError(PlatformErrorKind.TOO_LARGE,
                                    f"{where}: the reply is {int(declared)} bytes; at most {limit} are read")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise PlatformError(PlatformErrorKind.MALFORMED_REPLY,
                                f"{where}: the reply is {encoding[:40]}-encoded; only identity is accepted")
        chunks: list[bytes] = []
        total = 0
        raw = response.raw
        try:
            while True:
                if time.monotonic() > deadline:
                    raise PlatformError(PlatformErrorKind.TIMEOUT,
                                        f"{where}: the reply was still arriving after {total} bytes")
                chunk = raw.read1(_CHUNK_BYTES, decode_content=False)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise PlatformError(PlatformErrorKind.TOO_LARGE,
                                        f"{where}: the reply is over {limit} bytes; the rest was not read")
                chunks.append(chunk)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            raise self._failure(PlatformErrorKind.TIMEOUT, f"{where}: the reply stopped for "
                                f"{read_timeout:g} s after {total} bytes") from None
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
            raise self._failure(PlatformErrorKind.UNREACHABLE, f"{where}: the connection dropped after "
                                f"{total} bytes of the reply ({_root_cause(error)})") from None
        if self._closed:  # the reply may have been cut short by close(): it is not the platform's
            raise PlatformError(PlatformErrorKind.CLOSED, f"{where}: the client was closed during the reply")
        return b"".join(chunks)

    def _status_error(
        self, where: str, status: int, content: bytes, headers: Mapping[str, str]
    ) -> PlatformError:
        code: str | None = None
        detail = "no readable error body"
        retry_after: float | None = None
        try:
            code, message, retry_after = _parse_error(_parse_json(content))
            detail = f"{code}: {message}"
        except _Malformed as error:
            detail = f"an unreadable error body ({error})"
        header = headers.get("Retry-After")
        if header is not None and header.strip().isdigit() and 1 <= int(header) <= 86400:
            retry_after = float(int(header))
        text = f"{where}: HTTP {status}, {detail}"
        if code == "stale_timestamp" and self.last_clock_skew_s is not None:
            text += f" (the platform's clock is {self.last_clock_skew_s:+.0f} s from ours)"
        if status in (401, 403):
            kind = PlatformErrorKind.UNAUTHORIZED
        elif status in (404, 409, 413, 422):
            kind = PlatformErrorKind.REJECTED
        else:
            kind = PlatformErrorKind.HTTP_STATUS
        return PlatformError(kind, text, status=status, code=code, retry_after_s=retry_after)


# the event -> JSON mapping -------------------------------------------------------------------------

def event_payload(event: OutboxEvent) -> dict[str, object]:
    """The contract's Event for one outbox event; raises UnsendableEvent naming what the contract would
    refuse (so one bad event never gets a whole batch refused with 422)."""
    try:
        return _event_payload(event)
    except (_Malformed, ValueError, OverflowError, OSError) as error:
        raise UnsendableEvent(f"event {event.idempotency_key!s:.40}: {_one_line(str(error))}") from None


def _event_payload(event: OutboxEvent) -> dict[str, object]:
    if not isinstance(event.idempotency_key, str) or not _UUID.fullmatch(event.idempotency_key):
        raise _Malformed("idempotency_key is not a uuid")
    kind = EventKind(event.kind)
    compartment_id = _optional_id(event.compartment_id, _COMPARTMENT_ID, "compartment_id")
    parcel_id = _optional_id(event.parcel_id, _PARCEL_ID, "parcel_id")
    if kind in _ABOUT_A_PARCEL and (compartment_id is None or parcel_id is None):
        raise _Malformed(f"a {kind.value} event names its compartment and parcel")
    if kind is EventKind.DOOR_FAULT and compartment_id is None:
        raise _Malformed("a door_fault event names its compartment")
    if not isinstance(event.details, dict):
        raise _Malformed("details is not a mapping")
    details = dict(event.details)
    if len(details) > 20:
        raise _Malformed(f"details has {len(details)} entries; at most 20")
    for name, value in details.items():
        _check_detail(name, value)
    required = {EventKind.DOOR_FAULT: "reason", EventKind.PROBLEM_REPORT: "problem", EventKind.ALARM: "alarm"}
    if kind in required and required[kind] not in details:
        raise _Malformed(f"a {kind.value} event has details.{required[kind]}")
    return {
        "idempotency_key": event.idempotency_key.lower(),
        "kind": kind.value,
        "occurred_at": format_date_time(event.occurred_at),
        "compartment_id": compartment_id,
        "parcel_id": parcel_id,
        "details": details,
    }


def _optional_id(value: object, pattern: re.Pattern[str], name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _Malformed(f"{name} {str(value)[:40]!r} does not match the contract's pattern")
    return value


def _check_detail(name: object, value: object) -> None:
    if not isinstance(name, str) or not _DETAIL_NAME.fullmatch(name):
        raise _Malformed(f"detail name {str(name)[:40]!r} is not snake_case (1-40 of a-z 0-9 _)")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Malformed(f"details.{name} is not a finite number")
    if not (value is None or isinstance(value, str | int | float | bool)):
        raise _Malformed(f"details.{name} is a {type(value).__name__}, not a single value")
    if isinstance(value, str):
        if len(value) > 500:
            raise _Malformed(f"details.{name} is {len(value)} characters; at most 500")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Malformed(f"details.{name} is not valid Unicode text") from None
    check = _TYPED_DETAILS.get(name)
    if check is not None and not check(value):
        raise _Malformed(f"details.{name} {str(value)[:60]!r} is not what the contract allows")


# The detail names the contract types wherever they appear (components/schemas/Event).
_TYPED_DETAILS: dict[str, Callable[[object], bool]] = {
    "courier_id": lambda value: isinstance(value, str) and bool(_COURIER_ID.fullmatch(value)),
    "method": lambda value: isinstance(value, str) and value in _DETAIL_METHODS,
    "return_id": lambda value: isinstance(value, str) and bool(_RECORD_ID.fullmatch(value)),
    "reason": lambda value: isinstance(value, str) and 1 <= len(value) <= 200,
    "problem": lambda value: isinstance(value, str) and value in _PROBLEMS,
    "alarm": lambda value: isinstance(value, str) and value in _ALARMS,
}


def heartbeat_payload(health: Health) -> dict[str, object]:
    """The contract's Heartbeat. Free text is made one line and cut to fit; ids and counts that could
    never be valid raise ValueError."""
    for name in ("uptime_s", "boards_answering", "boards_total", "outbox_depth", "outbox_parked"):
        value = getattr(health, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"health.{name} must be a whole number >= 0, not {value!r}")
    if health.boards_answering > 64 or health.boards_total > 64:
        raise ValueError("a locker has at most 64 boards")
    if not _APP_VERSION.fullmatch(health.app_version):
        raise ValueError(f"app version {health.app_version!r} does not match the contract's pattern")
    doors = list(dict.fromkeys(health.doors_open))[:500]
    for compartment_id in doors + [entry[0] for entry in health.out_of_order]:
        if not _COMPARTMENT_ID.fullmatch(compartment_id):
            raise ValueError(f"compartment id {compartment_id!r} does not match the contract's pattern")
    cameras: list[dict[str, object]] = []
    for camera in health.cameras[:8]:
        if not _CAMERA_ID.fullmatch(camera.camera_id) or camera.state not in ("ok", "failing", "missing"):
            raise ValueError(f"camera {camera.camera_id!r} in state {camera.state!r} is not valid")
        entry: dict[str, object] = {"camera_id": camera.camera_id, "state": camera.state}
        detail = _one_line_text(camera.detail, 200)
        if detail is not None:
            entry["detail"] = detail
        cameras.append(entry)
    return {
        "locker_clock": format_date_time(health.locker_clock),
        "app_version": health.app_version,
        "uptime_s": health.uptime_s,
        "boards": {"answering": health.boards_answering, "total": health.boards_total},
        "doors_open": doors,
        "out_of_order": [
            {"compartment_id": compartment_id, "reason": _one_line_text(reason, 200) or "unknown"}
            for compartment_id, reason in health.out_of_order[:500]],
        "cameras": cameras,
        "outbox": {
            "depth": health.outbox_depth,
            "oldest_at": _optional_format(health.outbox_oldest_at),
            "parked": health.outbox_parked,
        },
        "last_sync_at": _optional_format(health.last_sync_at),
    }


def _optional_format(timestamp: float | None) -> str | None:
    return None if timestamp is None else format_date_time(timestamp)


def format_date_time(timestamp: float) -> str:
    """RFC 3339 in UTC: 2026-03-11T08:14:03Z, with microseconds when there are any. ValueError when
    `timestamp` is not a finite time between the years 1 and 9999."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float) or not math.isfinite(timestamp):
        raise ValueError(f"time {timestamp!r} is not a finite number of seconds")
    try:
        moment = datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"time {timestamp!r} is out of range") from None
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


# reading replies -----------------------------------------------------------------------------------

def _parse_json(body: bytes) -> object:
    """JSON from a verified reply; refuses what Python's json would quietly accept (NaN, duplicate keys,
    invalid UTF-8) or choke on (deep nesting, huge numbers)."""
    def no_constants(name: str) -> object:
        raise _Malformed(f"{name} is not JSON")

    def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
        document = dict(pairs)
        if len(document) != len(pairs):
            raise _Malformed("an object names one key twice")
        return document

    try:
        text = body.decode("utf-8")
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=unique_keys)
    except _Malformed:
        raise
    except UnicodeDecodeError:
        raise _Malformed("the body is not UTF-8") from None
    except RecursionError:
        raise _Malformed("the body nests too deep") from None
    except ValueError as error:
        raise _Malformed(f"the body is not JSON ({_one_line(str(error))[:120]})") from None


def _malformed(operation: str, error: Exception) -> PlatformError:
    return PlatformError(PlatformErrorKind.MALFORMED_REPLY,
                         f"{operation}: the reply does not match the contract: {error}")


def _object(value: object, where: str, required: set[str], optional: frozenset[str] = frozenset()
            ) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where} is not an object")
    missing = sorted(required - value.keys())
    if missing:
        raise _Malformed(f"{where} lacks {', '.join(missing)}")
    unknown = sorted(value.keys() - required - optional)
    if unknown:
        raise _Malformed(f"{where} has unknown field {unknown[0][:40]!r}")
    return value


def _string(value: object, where: str, pattern: re.Pattern[str] | None = None, *, min_length: int = 0,
            max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise _Malformed(f"{where} is not text")
    if len(value) < min_length or (max_length is not None and len(value) > max_length):
        raise _Malformed(f"{where} is {len(value)} characters long")
    if pattern is not None and not pattern.fullmatch(value):
        raise _Malformed(f"{where} {value[:40]!r} does not match the contract's pattern")
    return value


def _enum(value: object, where: str, allowed: frozenset[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise _Malformed(f"{where} {str(value)[:40]!r} is not one of {', '.join(sorted(allowed))}")
    return value


def _integer(value: object, where: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"{where} is not a whole number")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _Malformed(f"{where} {value} is out of range")
    return value


def _boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Malformed(f"{where} is not true or false")
    return value


def _array(value: object, where: str, max_items: int, min_items: int = 0, *, unique: bool = False
           ) -> list[object]:
    if not isinstance(value, list):
        raise _Malformed(f"{where} is not a list")
    if not min_items <= len(value) <= max_items:
        raise _Malformed(f"{where} has {len(value)} items; {min_items} to {max_items} allowed")
    if unique and len({json.dumps(item, sort_keys=True) for item in value}) != len(value):
        raise _Malformed(f"{where} repeats an item")
    return value


def _date_time(value: object, where: str) -> float:
    if not isinstance(value, str) or len(value) > 40 or not _DATE_TIME.fullmatch(value):
        raise _Malformed(f"{where} is not an RFC 3339 date-time with a time zone")
    try:
        moment = datetime.fromisoformat(value.upper())
        return moment.timestamp()
    except (ValueError, OverflowError, OSError):
        raise _Malformed(f"{where} {value!r} is not a valid date-time") from None


def _optional_date_time(value: object, where: str) -> float | None:
    return None if value is None else _date_time(value, where)


def _hash(value: object, where: str) -> bytes:
    return bytes.fromhex(_string(value, where, _HEX_SHA256))


def _uuid(value: object, where: str) -> str:
    return _string(value, where, _UUID).lower()


def _parse_error(document: object) -> tuple[str, str, float | None]:
    error = _object(document, "$", {"code", "message"}, frozenset({"retry_after_s"}))
    code = _enum(error["code"], "$.code", _ERROR_CODES)
    message = _string(error["message"], "$.message", min_length=1, max_length=500)
    if "retry_after_s" not in error:
        return code, message, None
    return code, message, float(_integer(error["retry_after_s"], "$.retry_after_s", 1, 86400))


@dataclass(frozen=True)
class _EventsResult:
    accepted: tuple[str, ...]
    duplicates: tuple[str, ...]
    rejected: tuple[Rejection, ...]


def _parse_events_reply(document: object, sent: set[str]) -> _EventsResult:
    reply = _object(document, "$", {"accepted", "duplicates", "rejected"})
    seen: set[str] = set()

    def claim(key: str, where: str) -> str:
        if key not in sent:
            raise _Malformed(f"{where} {key} is not a key of this batch")
        if key in seen:
            raise _Malformed(f"{where} {key} is listed twice")
        seen.add(key)
        return key

    accepted = tuple(claim(_uuid(item, f"$.accepted[{index}]"), f"$.accepted[{index}]")
                     for index, item in enumerate(_array(reply["accepted"], "$.accepted", 200)))
    duplicates = tuple(claim(_uuid(item, f"$.duplicates[{index}]"), f"$.duplicates[{index}]")
                       for index, item in enumerate(_array(reply["duplicates"], "$.duplicates", 200)))
    rejected = []
    for index, item in enumerate(_array(reply["rejected"], "$.rejected", 200)):
        where = f"$.rejected[{index}]"
        entry = _object(item, where, {"idempotency_key", "reason", "message"})
        key = claim(_uuid(entry["idempotency_key"], f"{where}.idempotency_key"), where)
        reason = _enum(entry["reason"], f"{where}.reason", _REJECTION_REASONS)
        message = _string(entry["message"], f"{where}.message", min_length=1, max_length=500)
        rejected.append(Rejection(key, reason, message))
    return _EventsResult(accepted, duplicates, tuple(rejected))


def _ids(values: list[object], where: str) -> tuple[str, ...]:
    return tuple(_string(item, f"{where}[{index}]", _PARCEL_ID) for index, item in enumerate(values))


def _parse_parcel(value: object, where: str) -> ExpectedParcel:
    parcel = _object(value, where, {"parcel_id", "barcode", "size", "accessible", "recipient_display_name",
                                    "pickup_window"}, frozenset({"recipient_ref"}))
    window = _object(parcel["pickup_window"], f"{where}.pickup_window", {"hours", "not_after"})
    recipient_ref = parcel.get("recipient_ref")
    return ExpectedParcel(
        _string(parcel["parcel_id"], f"{where}.parcel_id", _PARCEL_ID),
        _string(parcel["barcode"], f"{where}.barcode", _BARCODE),
        Size(_enum(parcel["size"], f"{where}.size", frozenset(size.value for size in Size))),
        _boolean(parcel["accessible"], f"{where}.accessible"),
        _string(parcel["recipient_display_name"], f"{where}.recipient_display_name", _ONE_LINE, min_length=1,
                max_length=80),
        PickupWindow(_integer(window["hours"], f"{where}.pickup_window.hours", 1, 720),
                     _optional_date_time(window["not_after"], f"{where}.pickup_window.not_after")),
        None if recipient_ref is None else _string(recipient_ref, f"{where}.recipient_ref", _RECIPIENT_REF),
    )


def _parse_credential(value: object, where: str) -> PickupCredential:
    credential = _object(value, where, {"credential_id", "code_hash", "parcel_ids", "expires_at"})
    parcel_ids = _array(credential["parcel_ids"], f"{where}.parcel_ids", 20, 1, unique=True)
    return PickupCredential(
        _string(credential["credential_id"], f"{where}.credential_id", _RECORD_ID),
        _hash(credential["code_hash"], f"{where}.code_hash"),
        _ids(parcel_ids, f"{where}.parcel_ids"),
        _optional_date_time(credential["expires_at"], f"{where}.expires_at"),
    )


def _parse_courier(value: object, where: str) -> CourierCredential:
    courier = _object(value, where, {"courier_id", "display_name", "password_hash", "badge_secret_hash",
                                     "can_collect", "valid_until"})
    badge = courier["badge_secret_hash"]
    return CourierCredential(
        _string(courier["courier_id"], f"{where}.courier_id", _COURIER_ID),
        _string(courier["display_name"], f"{where}.display_name", _ONE_LINE, min_length=1, max_length=120),
        _string(courier["password_hash"], f"{where}.password_hash", _PASSWORD_HASH, max_length=256),
        None if badge is None else _hash(badge, f"{where}.badge_secret_hash"),
        _boolean(courier["can_collect"], f"{where}.can_collect"),
        _optional_date_time(courier["valid_until"], f"{where}.valid_until"),
    )


def _parse_return(value: object, where: str) -> ReturnAuthorisation:
    authorisation = _object(value, where, {"return_id", "parcel_id", "code_hash", "size", "expires_at"})
    return ReturnAuthorisation(
        _string(authorisation["return_id"], f"{where}.return_id", _RECORD_ID),
        _string(authorisation["parcel_id"], f"{where}.parcel_id", _PARCEL_ID),
        _hash(authorisation["code_hash"], f"{where}.code_hash"),
        Size(_enum(authorisation["size"], f"{where}.size", frozenset(size.value for size in Size))),
        _optional_date_time(authorisation["expires_at"], f"{where}.expires_at"),
    )


def _parse_deletion(value: object, where: str) -> Deletion:
    deletion = _object(value, where, {"kind", "id"})
    return Deletion(_enum(deletion["kind"], f"{where}.kind", _DELETION_KINDS),
                    _string(deletion["id"], f"{where}.id", _RECORD_ID))


_Item = TypeVar("_Item")


def _items(document: dict[str, object], name: str, limit: int, parse: Callable[[object, str], _Item]
           ) -> tuple[_Item, ...]:
    values = _array(document[name], f"$.{name}", min(limit, 1000))
    return tuple(parse(value, f"$.{name}[{index}]") for index, value in enumerate(values))


def _parse_sync_page(document: object, limit: int) -> SyncPage:
    page = _object(document, "$", {"reset", "parcels", "pickup_credentials", "couriers",
                                   "return_authorisations", "deletions", "next_cursor", "has_more"})
    return SyncPage(
        _boolean(page["reset"], "$.reset"),
        _items(page, "parcels", limit, _parse_parcel),
        _items(page, "pickup_credentials", limit, _parse_credential),
        _items(page, "couriers", limit, _parse_courier),
        _items(page, "return_authorisations", limit, _parse_return),
        _items(page, "deletions", limit, _parse_deletion),
        _string(page["next_cursor"], "$.next_cursor", _CURSOR),
        _boolean(page["has_more"], "$.has_more"),
    )


def _parse_verify_result(document: object, asked: str) -> PickupVerification | ReturnVerification:
    if not isinstance(document, dict):
        raise _Malformed("$ is not an object")
    kind = document.get("kind")
    if kind != asked:
        raise _Malformed(f"$.kind {str(kind)[:20]!r} does not answer a {asked} code")
    if kind == "pickup":
        result = _object(document, "$", {"kind", "credential", "parcels"})
        parcels = _array(result["parcels"], "$.parcels", 20, 1)
        return PickupVerification(_parse_credential(result["credential"], "$.credential"),
                                  tuple(_parse_parcel(item, f"$.parcels[{index}]")
                                        for index, item in enumerate(parcels)))
    result = _object(document, "$", {"kind", "return_authorisation"})
    return ReturnVerification(_parse_return(result["return_authorisation"], "$.return_authorisation"))


_TIMER_RANGES = {"inactivity_s": (10, 600), "more_time_s": (5, 120), "thank_you_s": (2, 60),
                 "error_s": (5, 300), "lockout_base_s": (10, 3600), "lockout_after_failures": (3, 20)}


def _parse_config(document: object) -> LockerConfig:
    config = _object(document, "$", {
        "locker_id", "display_name", "timezone", "config_version", "layout_summary", "timers",
        "pickup_window_hours", "unannounced_parcels", "outbox_alarm_threshold", "heartbeat_interval_s",
        "sync_interval_s"})
    summary = _object(config["layout_summary"], "$.layout_summary", {"compartments", "by_size"})
    by_size = _object(summary["by_size"], "$.layout_summary.by_size", {size.value for size in Size})
    timers = _object(config["timers"], "$.timers", set(), frozenset(_TIMER_RANGES))
    return LockerConfig(
        _string(config["locker_id"], "$.locker_id", _LOCKER_ID),
        _string(config["display_name"], "$.display_name", _ONE_LINE, min_length=1, max_length=120),
        _string(config["timezone"], "$.timezone", _TIMEZONE),
        _integer(config["config_version"], "$.config_version", 0),
        _integer(summary["compartments"], "$.layout_summary.compartments", 0, 500),
        {size: _integer(by_size[size.value], f"$.layout_summary.by_size.{size.value}", 0, 500)
         for size in Size},
        {name: _integer(value, f"$.timers.{name}", *_TIMER_RANGES[name]) for name, value in timers.items()},
        _integer(config["pickup_window_hours"], "$.pickup_window_hours", 1, 720),
        _enum(config["unannounced_parcels"], "$.unannounced_parcels", frozenset({"accept", "refuse"})),
        _integer(config["outbox_alarm_threshold"], "$.outbox_alarm_threshold", 10, 1_000_000),
        _integer(config["heartbeat_interval_s"], "$.heartbeat_interval_s", 15, 3600),
        _integer(config["sync_interval_s"], "$.sync_interval_s", 10, 3600),
    )


def _parse_heartbeat_ack(document: object) -> HeartbeatAck:
    ack = _object(document, "$", {"server_time", "commands_pending"})
    return HeartbeatAck(_date_time(ack["server_time"], "$.server_time"),
                        _integer(ack["commands_pending"], "$.commands_pending", 0))


def _parse_command_list(document: object) -> list[Command]:
    items = _array(_object(document, "$", {"commands"})["commands"], "$.commands", 50)
    return [_parse_command(item, f"$.commands[{index}]") for index, item in enumerate(items)]


def check_reply_document(operation_id: str, status: int, document: object) -> object:
    """The client's own hand checks of a reply body, by the contract's operationId (for contract tests:
    what this accepts, the schema must accept too). Returns what the client makes of it; raises ValueError
    naming what is wrong. For postEvents every key the reply names counts as sent."""
    try:
        if status >= 300:
            return _parse_error(document)
        if operation_id == "postEvents":
            keys: set[str] = set()
            if isinstance(document, dict):
                for name in ("accepted", "duplicates", "rejected"):
                    for item in document.get(name) or []:
                        key = item.get("idempotency_key") if isinstance(item, dict) else item
                        if isinstance(key, str):
                            keys.add(key.lower())
            return _parse_events_reply(document, keys)
        parsers: dict[str, Callable[[object], object]] = {
            "registerLocker": _parse_config,
            "getLockerConfig": _parse_config,
            "syncLocker": lambda value: _parse_sync_page(value, 1000),
            "verifyCode": lambda value: _parse_verify_result(
                value, "return" if isinstance(value, dict) and value.get("kind") == "return" else "pickup"),
            "postHeartbeat": _parse_heartbeat_ack,
            "pollCommands": _parse_command_list,
        }
        if operation_id not in parsers:
            raise ValueError(f"no reply body to check for {operation_id} {status}")
        return parsers[operation_id](document)
    except _Malformed as error:
        raise ValueError(str(error)) from None


_COMMAND_FIELDS: dict[str, set[str]] = {
    "open_door": {"compartment_id", "support_ticket"},
    "sync_now": set(),
    "compartment_out_of_service": {"compartment_id", "out_of_service", "reason"},
    "forget_face": {"parcel_ids"},
}


def _parse_command(value: object, where: str) -> Command:
    command_id: str | None = None
    kind: str | None = None
    if isinstance(value, dict):
        raw_id, raw_kind = value.get("command_id"), value.get("kind")
        command_id = raw_id.lower() if isinstance(raw_id, str) and _UUID.fullmatch(raw_id) else None
        kind = raw_kind[:40] if isinstance(raw_kind, str) else None
    try:
        fields = _COMMAND_FIELDS.get(kind or "")
        if fields is None:
            raise _Malformed(f"{where}.kind {kind!r} is not a command this locker knows")
        command = _object(value, where, {"command_id", "kind", "issued_at", "expires_at"} | fields)
        identity = _uuid(command["command_id"], f"{where}.command_id")
        issued = _date_time(command["issued_at"], f"{where}.issued_at")
        expires = _date_time(command["expires_at"], f"{where}.expires_at")
        if kind == "open_door":
            return OpenDoorCommand(
                identity, issued, expires,
                _string(command["compartment_id"], f"{where}.compartment_id", _COMPARTMENT_ID),
                _string(command["support_ticket"], f"{where}.support_ticket", _SUPPORT_TICKET))
        if kind == "sync_now":
            return SyncNowCommand(identity, issued, expires)
        if kind == "compartment_out_of_service":
            return OutOfServiceCommand(
                identity, issued, expires,
                _string(command["compartment_id"], f"{where}.compartment_id", _COMPARTMENT_ID),
                _boolean(command["out_of_service"], f"{where}.out_of_service"),
                _string(command["reason"], f"{where}.reason", _ONE_LINE, min_length=1, max_length=200))
        parcel_ids = _array(command["parcel_ids"], f"{where}.parcel_ids", 100, 1, unique=True)
        return ForgetFaceCommand(identity, issued, expires, _ids(parcel_ids, f"{where}.parcel_ids"))
    except _Malformed as error:
        log.warning("a command from the platform is not valid and will not run: %s", error)
        return InvalidCommand(command_id, kind, str(error))


# plumbing ------------------------------------------------------------------------------------------

def _check_base_url(base_url: str) -> tuple[str, str]:
    """(scheme://host[:port], /prefix without a trailing slash); ValueError for anything else."""
    if not isinstance(base_url, str):
        raise ValueError("the platform URL must be text")
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"the platform URL {base_url!r} is not https://host[:port][/path]")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"the platform URL {base_url!r} may not carry a user, query or fragment")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise ValueError(f"the platform URL {base_url!r} is plain http: only https is allowed (http only "
                         "for 127.0.0.1, localhost and ::1)")
    try:
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise ValueError(f"the platform URL {base_url!r} has an invalid port") from None
    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")


def _canonical_key(key: object) -> str:
    text = str(key)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text.lower()


def _root_cause(error: BaseException) -> str:
    """The innermost useful reason of a requests/urllib3 exception chain, one line."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        reason = getattr(current, "reason", None)
        current = reason if isinstance(reason, BaseException) else nested or current.__cause__ \
            or current.__context__
    for candidate in reversed(seen):
        if isinstance(candidate, OSError) and candidate.strerror:
            return candidate.strerror
        text = str(candidate)
        if text:
            return _one_line(text)[:200]
    return type(error).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _one_line_text(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot go on the wire
    line = " ".join(_CONTROL.sub(" ", text).split())
    if not line:
        return None
    return line if len(line) <= limit else line[: limit - 3] + "..."


class _SocketRegistry:
    """The sockets of a client's connections, so that close() can shut them down under a blocked read in
    another thread (closing a requests Session only closes idle pooled connections)."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if not self._closed:
                self._sockets.add(sock)
                return
        _shut_down(sock)

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: only the file descriptor, so that the thread reading
    # it sees EOF at once, while its TLS state stays that thread's to tear down.
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _TrackingAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter (no retries: the callers back off themselves) whose connections register their
    sockets with a _SocketRegistry."""

    def __init__(self, registry: _SocketRegistry) -> None:
        self._registry = registry
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        registry = self._registry

        class TrackedHTTPConnection(HTTPConnection):
            def connect(self) -> None:
                super().connect()
                registry.add(self.sock)

        class TrackedHTTPSConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                registry.add(sock)  # the bare socket covers the TLS handshake
                return sock

            def connect(self) -> None:
                super().connect()
                registry.add(self.sock)

        class TrackedHTTPPool(HTTPConnectionPool):
            ConnectionCls = TrackedHTTPConnection

        class TrackedHTTPSPool(HTTPSConnectionPool):
            ConnectionCls = TrackedHTTPSConnection

        self.poolmanager.pool_classes_by_scheme = {"http": TrackedHTTPPool, "https": TrackedHTTPSPool}

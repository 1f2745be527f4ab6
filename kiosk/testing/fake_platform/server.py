"""The fake platform: a real HTTP server that implements kiosk/backend/openapi.yaml on SQLite.

For QA scenarios and the platform client's tests: the kiosk talks to it exactly as to the operator's
platform (signed requests, signed replies, idempotent event batches, paged sync, long-polled commands),
and a test reads what arrived and injects faults (see faults.py).

    platform = FakePlatform(secret, code_key=code_key, locker_id="LK-0001")
    platform.start()                      # listening when it returns; platform.url is its address
    platform.add_expected_parcel(parcel_id="PX-1", code="123456")
    ...                                   # the kiosk syncs, deposits, picks up
    assert [event["kind"] for event in platform.events()] == ["deposited", "picked_up"]
    platform.stop()                       # ends waiting long polls, joins every thread, closes the DB

Every request is checked in the contract's order ("Order of checks" in openapi.yaml): X-Locker-Id and
X-Nonce first (without a known locker and a usable nonce no reply can be signed: an unsigned 401, the only
unsigned replies it sends); the body's size (413); the route (404, or 405 with Allow); the signature
(kiosk.backend.signing.Verifier; 401 naming the reason); X-Locker-Id against the path (403); then the body
and query against the contract (422 naming what is wrong). `refusals()` lists every such answer, so a test
can assert the kiosk never earned one. Every other reply is signed with sign_reply, and checked against the
contract before it is sent; a reply that fails is replaced by a 500 naming why, so a bug of this fake shows
up as a failed call rather than as a silently wrong answer.
"""

from __future__ import annotations

import contextlib
import email.message
import hashlib
import hmac
import json
import logging
import re
import secrets
import socket
import tempfile
import threading
import time
import urllib.parse
import uuid
from base64 import b64encode
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kiosk.backend import contract, signing
from kiosk.backend.contract import ContractError
from kiosk.backend.signing import SignatureError, SignatureReason
from kiosk.testing.fake_platform.faults import CountedFault, FaultInjector, Faults, RequestFaults
from kiosk.testing.fake_platform.store import PlatformStore

log = logging.getLogger(__name__)

MAX_REQUEST_BODY = 1024 * 1024  # the contract's limit; 413 above it
MAX_COMMANDS_PER_POLL = 50
DEFAULT_WAIT_S = 30
DEFAULT_SYNC_LIMIT = 500
CODE_KEY_BYTES = 32
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1  # the contract's PHC parameters: ln=15,r=8,p=1
COMMAND_LIFETIME_S = 3600.0
# An idle keep-alive connection holds one server thread; it ends on its own after this, and at once on stop().
IDLE_CONNECTION_TIMEOUT_S = 90.0
_LOCKER_ID = re.compile(r"[A-Za-z0-9-]{1,40}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{22,64}")
_PICKUP_CODE = re.compile(r"[0-9]{6,8}")
_RETURN_CODE = re.compile(r"[A-Z0-9]{8,16}")
_BADGE_SECRET = re.compile(r"[A-Z0-9]{16,64}")
_SIZES = ("S", "M", "L", "XL")
_MALFORMED_JSON = b'{"accepted": ["46551468-5433-4418-ad72-18629d447b33", }, "duplicates": [tru'


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split()) or "-"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def hash_code(code_key: bytes, code: str) -> str:
    """The contract's keyed hash of a pickup code, return code or badge secret (lower-case hex)."""
    return hmac.new(code_key, code.encode("ascii"), hashlib.sha256).hexdigest()


def scrypt_phc(password: str, *, salt: bytes | None = None) -> str:
    """A PHC string as the contract has it: $scrypt$ln=15,r=8,p=1$<salt>$<hash>, base64 without padding."""
    chosen_salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=chosen_salt, n=2**SCRYPT_LOG2_N, r=SCRYPT_R, p=SCRYPT_P,
        maxmem=256 * 1024 * 1024, dklen=32,
    )

    def b64(data: bytes) -> str:
        return b64encode(data).decode("ascii").rstrip("=")

    return f"$scrypt$ln={SCRYPT_LOG2_N},r={SCRYPT_R},p={SCRYPT_P}${b64(chosen_salt)}${b64(digest)}"


@dataclass
class _Reply:
    status: int
    payload: object | None = None  # the JSON body; None for no body
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False  # close the connection after it (the request's body was not read)

    def body(self) -> bytes:
        if self.payload is None:
            return b""
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class _Outcome:
    reply: _Reply
    nonce: str | None  # the request nonce the reply is signed for; None: unsigned
    method: str
    target: str
    faults: RequestFaults = field(default_factory=RequestFaults)


def _error(status: int, code: str, message: str, **headers: str) -> _Reply:
    return _Reply(status, {"code": code, "message": _one_line(message)}, dict(headers))


class FakePlatform:
    """The operator's platform for one locker, served on a real socket. Thread-safe.

    `secret` signs and verifies (at least 16 bytes); `code_key` keys the code hashes it announces (32 bytes;
    random when not given, then read it from `code_key`). `database`: the SQLite file of its records (a
    temporary one when not given); either way they survive stop() and start(), which comes back on the same
    port. `check_replies=False` skips checking each reply against the contract (benchmarks; requests are
    always checked). `nonce_capacity`: how many recent nonces it remembers before answering 429.

    Beyond the records the contract carries, the platform follows what the events tell it: a picked_up
    event deletes its parcel (and a credential left with no parcel), a returned event uses up its return
    authorisation, and once a layout is registered, events on other compartments are rejected and a new
    layout may not drop a compartment that holds a parcel (409).
    """

    def __init__(
        self,
        secret: bytes,
        *,
        database: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        locker_id: str = "demo-locker",
        code_key: bytes | None = None,
        check_replies: bool = True,
        nonce_capacity: int = signing.DEFAULT_NONCE_CAPACITY,
    ) -> None:
        if not isinstance(locker_id, str) or not _LOCKER_ID.fullmatch(locker_id):
            raise ValueError(f"locker id {locker_id!r} is not 1-40 of A-Z a-z 0-9 -")
        if code_key is not None and (not isinstance(code_key, bytes) or len(code_key) != CODE_KEY_BYTES):
            raise ValueError(f"code_key must be {CODE_KEY_BYTES} bytes")
        self._faults = FaultInjector()
        # Checks the secret too. The nonces outlive a stop() and start(): a restart opens no replay window.
        nonces = signing.NonceMemory(nonce_capacity)
        self._verifier = signing.Verifier(secret, clock=self._now, nonce_memory=nonces)
        self._secret = bytes(secret)
        self._locker_id = locker_id
        self._code_key = secrets.token_bytes(CODE_KEY_BYTES) if code_key is None else bytes(code_key)
        self._host = host
        self._port = port
        self._check_replies = check_replies
        # Without a file the records still survive a stop() and start(): a scenario may take the platform
        # down and bring it back.
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if database is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="fake-platform-")
            database = Path(self._scratch.name) / "platform.sqlite"
        self._database = Path(database)
        self._store: PlatformStore | None = PlatformStore(self._database)
        self._config_overrides: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._commands_changed = threading.Condition()
        self._stopping = threading.Event()
        self._http: _HttpServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._requests_seen = 0
        self._event_deliveries = 0
        self._refusals: list[dict[str, Any]] = []

    # life cycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and serve in a background thread; returns once the socket listens."""
        with self._lock:
            if self._http is not None:
                raise RuntimeError("the fake platform is running already")
            if self._store is None:
                self._store = PlatformStore(self._database)
            self._stopping.clear()
            self._http = _HttpServer((self._host, self._port), self)
            # A restart comes back on the same port, where the locker expects its platform.
            self._port = int(self._http.server_address[1])
            self._serve_thread = threading.Thread(
                target=self._http.serve_forever, kwargs={"poll_interval": 0.01},
                name=f"fake-platform-{self._http.server_address[1]}",
            )
            self._serve_thread.start()
        log.info("fake platform for %s serving on %s", self._locker_id, self.url)

    def stop(self) -> None:
        """Stop serving: waiting long polls answer at once, idle connections close, every thread is joined,
        the database is closed. Safe to call twice; start() may follow."""
        with self._lock:
            http, thread = self._http, self._serve_thread
            self._http = self._serve_thread = None
        with self._commands_changed:
            self._stopping.set()
            self._commands_changed.notify_all()
        if http is not None and thread is not None:
            http.shutdown()
            thread.join()
            with self._lock:
                connections = list(self._connections)
            for connection in connections:
                # Reading ends (an idle keep-alive connection sees end of file); a reply being written still
                # goes out whole.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)
            http.server_close()  # joins every request thread
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()

    def __enter__(self) -> FakePlatform:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        with self._lock:
            if self._http is None:
                raise RuntimeError("the fake platform is not running: call start() first")
            host, port = self._http.server_address[:2]
        shown = str(host) if isinstance(host, str) else bytes(host).decode("ascii")
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{port}"

    @property
    def locker_id(self) -> str:
        return self._locker_id

    @property
    def secret(self) -> bytes:
        """The locker's request-signing secret, as the locker's secrets file must hold it."""
        return self._secret

    @property
    def code_key(self) -> bytes:
        """The key of the code hashes (random unless given): the locker needs the same one."""
        return self._code_key

    @property
    def database(self) -> Path:
        return self._database

    # what the platform announces -------------------------------------------------------------------

    def add_expected_parcel(
        self,
        *,
        parcel_id: str,
        code: str | None = None,
        size: str = "M",
        barcode: str | None = None,
        accessible: bool = False,
        recipient: str = "Test Recipient",
        pickup_window_hours: int = 72,
        recipient_ref: str | None = None,
    ) -> None:
        """An expected parcel and, with a `code`, its pickup credential (the code's keyed hash, never the
        code). Without one the parcel is announced only: its code is made when it is deposited.
        `recipient_ref` is the recipient's pseudonymous key (face pickup keys an enrolment to it); without one
        the parcel goes out without the field, as from an operator that has none. Announcing the same
        parcel_id again replaces the record, so a later sync brings the new values."""
        if code is not None and (not isinstance(code, str) or not _PICKUP_CODE.fullmatch(code)):
            raise ValueError("a pickup code is 6 to 8 digits")
        parcel = {
            "parcel_id": parcel_id,
            "barcode": parcel_id if barcode is None else barcode,
            "size": size,
            "accessible": accessible,
            "recipient_display_name": recipient,
            "pickup_window": {"hours": pickup_window_hours, "not_after": None},
        }
        if recipient_ref is not None:
            parcel["recipient_ref"] = recipient_ref
        contract.validate("ExpectedParcel", parcel)
        with self._using_store() as store:
            store.upsert_record("parcel", parcel_id, parcel)
        if code is not None:
            self.add_pickup_credential(code=code, parcel_ids=[parcel_id],
                                       credential_id=self._credential_id(parcel_id))

    def add_pickup_credential(
        self, *, code: str, parcel_ids: Sequence[str], credential_id: str | None = None
    ) -> str:
        """A pickup credential: `code` (6-8 digits, sent as its keyed hash) opens these parcels, besides any
        credential they have already (a code re-issued to the recipient, say). Returns its credential_id
        (made from the parcel ids unless given); the same id again replaces that credential."""
        if not isinstance(code, str) or not _PICKUP_CODE.fullmatch(code):
            raise ValueError("a pickup code is 6 to 8 digits")
        if isinstance(parcel_ids, str):
            raise ValueError("parcel_ids must be a list of parcel ids, not one string")
        chosen_id = self._credential_id(",".join(parcel_ids)) if credential_id is None else credential_id
        credential = {
            "credential_id": chosen_id,
            "code_hash": hash_code(self._code_key, code),
            "parcel_ids": list(parcel_ids),
            "expires_at": None,
        }
        contract.validate("PickupCredential", credential)
        with self._using_store() as store:
            store.upsert_record("pickup_credential", chosen_id, credential)
        return chosen_id

    def remove_expected_parcel(self, parcel_id: str) -> None:
        """The operator withdraws a parcel: its record and credential go (sync sends deletions)."""
        with self._using_store() as store:
            if not store.delete_record("parcel", parcel_id):
                raise KeyError(f"no expected parcel {parcel_id!r}")
            store.delete_record("pickup_credential", self._credential_id(parcel_id))

    def add_courier(self, *, courier_id: str, pin: str, badge_secret: str | None = None,
                    display_name: str | None = None, can_collect: bool = True) -> None:
        """A courier: the PIN as an scrypt PHC hash, the badge secret (if any) as a keyed hash."""
        if not isinstance(pin, str) or not pin:
            raise ValueError("a courier PIN must not be empty")
        if badge_secret is not None and not _BADGE_SECRET.fullmatch(badge_secret.upper()):
            raise ValueError("a badge secret is 16-64 of A-Z 0-9")
        courier = {
            "courier_id": courier_id,
            "display_name": f"Courier {courier_id}" if display_name is None else display_name,
            "password_hash": scrypt_phc(pin),
            "badge_secret_hash": None if badge_secret is None
            else hash_code(self._code_key, badge_secret.upper()),
            "can_collect": can_collect,
            "valid_until": None,
        }
        contract.validate("CourierCredential", courier)
        with self._using_store() as store:
            store.upsert_record("courier", courier_id, courier)

    def add_return(
        self, *, code: str, size: str = "S", return_id: str | None = None, parcel_id: str | None = None
    ) -> None:
        """A return authorisation for a return code (8-16 of A-Z 0-9). Its return id and the id the returned
        parcel will carry are ret-N and RX-N unless given; the same return id again replaces it."""
        if not isinstance(code, str) or not _RETURN_CODE.fullmatch(code.upper()):
            raise ValueError("a return code is 8 to 16 of A-Z 0-9")
        if size not in _SIZES:
            raise ValueError(f"size must be one of {', '.join(_SIZES)}, got {size!r}")
        with self._using_store() as store:
            number = store.next_number("return")
            chosen_id = f"ret-{number}" if return_id is None else return_id
            authorisation = {
                "return_id": chosen_id,
                "parcel_id": f"RX-{number}" if parcel_id is None else parcel_id,
                "code_hash": hash_code(self._code_key, code.upper()),
                "size": size,
                "expires_at": None,
            }
            contract.validate("ReturnAuthorisation", authorisation)
            store.upsert_record("return_authorisation", chosen_id, authorisation)

    def add_command(self, kind: str, **fields: Any) -> str:
        """Queue a remote command (open_door, sync_now, compartment_out_of_service, forget_face) with its
        fields as in the contract; returns its command_id. issued_at and expires_at default to now and an
        hour from now (the platform's clock); open_door gets a support ticket and compartment_out_of_service
        a reason unless given. A waiting long poll answers with it at once."""
        now = self._now()
        command: dict[str, Any] = {
            "command_id": str(uuid.uuid4()),
            "kind": kind,
            "issued_at": _rfc3339(now),
            "expires_at": _rfc3339(now + COMMAND_LIFETIME_S),
        }
        if kind == "open_door":
            command["support_ticket"] = "SUP-FAKE-0001"
        if kind == "compartment_out_of_service":
            command["reason"] = "set by the fake platform"
        command.update(fields)
        mapping = contract.load_spec()["components"]["schemas"]["Command"]["discriminator"]["mapping"]
        if kind not in mapping:
            raise ValueError(f"unknown command kind {kind!r}; the contract has {', '.join(sorted(mapping))}")
        contract.validate(mapping[kind].rsplit("/", 1)[-1], command)  # names the missing field, unlike oneOf
        expires_at = datetime.fromisoformat(command["expires_at"]).timestamp()
        with self._using_store() as store:
            store.add_command(command, expires_at)
        with self._commands_changed:
            self._commands_changed.notify_all()
        return str(command["command_id"])

    def set_config(self, **fields: Any) -> None:
        """Override fields of the LockerConfig the platform answers with (timers, intervals, ...)."""
        candidate = {**self._base_config(), **self._config_overrides, **fields}
        contract.validate("LockerConfig", candidate)
        with self._lock:
            self._config_overrides.update(fields)

    # what the platform received --------------------------------------------------------------------

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every event accepted (of `kind`, e.g. "deposited", when given), in arrival order, each once (as
        the locker sent it)."""
        with self._using_store() as store:
            received = store.events()
        return received if kind is None else [event for event in received if event["kind"] == kind]

    def pickup_codes(self) -> dict[str, str]:
        """parcel id -> the pickup code the locker made for it (the deposited events' pickup_code), which
        the platform passes on to the recipient. Parcels whose code the platform issued have none here."""
        return {event["parcel_id"]: event["details"]["pickup_code"] for event in self.events("deposited")
                if isinstance(event["details"].get("pickup_code"), str)}

    def returned_receipts(self) -> dict[str, str]:
        """return id -> the receipt code the customer was shown (the returned events' receipt_code)."""
        return {event["details"]["return_id"]: event["details"]["receipt_code"]
                for event in self.events("returned")
                if isinstance(event["details"].get("return_id"), str)
                and isinstance(event["details"].get("receipt_code"), str)}

    def occupancy(self) -> dict[str, str]:
        """compartment id -> parcel id: where the events say parcels are (deposited and returned put one
        in, picked_up and collected take it out)."""
        with self._using_store() as store:
            return store.occupancy()

    def event_deliveries(self) -> int:
        """How many times events were POSTed (every POST to the events path, duplicates and failures too)."""
        with self._lock:
            return self._event_deliveries

    def heartbeats(self) -> list[dict[str, Any]]:
        with self._using_store() as store:
            return store.heartbeats()

    def command_results(self) -> list[dict[str, Any]]:
        """Each recorded result as {"command_id", "status", "finished_at", "reason", "message"}."""
        with self._using_store() as store:
            return store.command_results()

    def registration(self) -> dict[str, Any] | None:
        """The last accepted LockerRegistration, or None."""
        with self._using_store() as store:
            return store.registration()[0]

    def requests_seen(self) -> int:
        """Every HTTP request received, whatever became of it."""
        with self._lock:
            return self._requests_seen

    def refusals(self) -> list[dict[str, Any]]:
        """Every 4xx and 5xx answer: {"method", "path", "status", "code", "message"}, in order."""
        with self._lock:
            return list(self._refusals)

    # faults ----------------------------------------------------------------------------------------

    def set_faults(
        self,
        *,
        latency_s: float = 0.0,
        status_500: int = 0,
        drop_connections: int = 0,
        malformed_json: int = 0,
        bad_signature: int = 0,
        clock_skew_s: float = 0.0,
        huge_body_bytes: int = 0,
        operations: Collection[str] | None = None,
    ) -> None:
        """Replace every fault setting (no arguments: no faults). See faults.py for when each acts.
        `operations`: the operationIds they apply to (e.g. {"postEvents"}); None for all."""
        self._faults.set(
            latency_s=latency_s, status_500=status_500, drop_connections=drop_connections,
            malformed_json=malformed_json, bad_signature=bad_signature, clock_skew_s=clock_skew_s,
            huge_body_bytes=huge_body_bytes, operations=operations,
        )

    def faults(self) -> Faults:
        """The fault settings now, counted faults as still to come."""
        return self._faults.current

    # internals -------------------------------------------------------------------------------------

    def _now(self) -> float:
        """The platform's clock: the real one, skewed by the clock_skew_s fault."""
        return time.time() + self._faults.clock_skew_s

    @staticmethod
    def _credential_id(parcel_id: str) -> str:
        return f"cred-{hashlib.sha256(parcel_id.encode('utf-8')).hexdigest()[:24]}"

    @contextlib.contextmanager
    def _using_store(self) -> Iterator[PlatformStore]:
        """The open store; after stop(), a short-lived one, so results can still be read."""
        with self._lock:
            store = self._store
        if store is not None:
            yield store
            return
        transient = PlatformStore(self._database)
        try:
            yield transient
        finally:
            transient.close()

    def _live_store(self) -> PlatformStore:
        store = self._store
        if store is None:
            raise RuntimeError("the fake platform is stopped")
        return store

    def _connection_opened(self, connection: socket.socket) -> bool:
        """Track a connection; False when the platform is stopping (the connection should end now)."""
        with self._lock:
            if self._stopping.is_set():
                return False
            self._connections.add(connection)
            return True

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _note_request(self, method: str, target: str) -> None:
        with self._lock:
            self._requests_seen += 1
            if method == "POST" and urllib.parse.urlsplit(target).path.endswith("/events"):
                self._event_deliveries += 1

    def _note_reply(self, outcome: _Outcome) -> None:
        reply = outcome.reply
        if reply.status < 400:
            return
        payload = reply.payload if isinstance(reply.payload, dict) else {}
        with self._lock:
            self._refusals.append({
                "method": outcome.method,
                "path": outcome.target,
                "status": reply.status,
                "code": payload.get("code"),
                "message": payload.get("message"),
            })
        log.info("fake platform answered %s %s with %d: %s", outcome.method, outcome.target[:200],
                 reply.status, payload.get("message"))

    def _identify(self, headers: email.message.Message) -> str | _Reply:
        """The nonce a reply to this request can be signed for, or the unsigned 401 that refuses it: only a
        request that names this locker (the secret) and carries one usable nonce (the canonical reply holds
        it) can be answered signed. The contract's first check, made before the body's size is looked at."""
        fields: dict[str, str] = {}
        for name in (signing.HEADER_LOCKER_ID, signing.HEADER_NONCE):
            values = {value.strip() for value in headers.get_all(name) or []}
            if len(values) > 1:
                return _error(401, SignatureReason.MALFORMED.value,
                              f"{name} is given twice with different values")
            if values:
                fields[name] = values.pop()
        try:
            locker = signing.requested_locker_id(fields)
        except SignatureError as error:
            return _error(401, error.reason.value, error.detail)
        if locker != self._locker_id:
            return _error(401, "unknown_locker", f"this platform does not know locker {locker}")
        nonce = fields.get(signing.HEADER_NONCE)
        if nonce is None:
            missing = [name for name in signing.REQUEST_HEADERS if not headers.get_all(name)]
            return _error(401, SignatureReason.MISSING_HEADER.value,
                          f"missing {', '.join(missing)}; without X-Nonce the reply cannot be signed")
        if not _NONCE.fullmatch(nonce):
            return _error(401, SignatureReason.MALFORMED.value,
                          "X-Nonce is not 22-64 of A-Z a-z 0-9 _ -; the reply cannot be signed")
        return nonce

    # request handling ------------------------------------------------------------------------------

    def _process(
        self, method: str, target: str, headers: email.message.Message, body: bytes, nonce: str
    ) -> _Outcome:
        outcome = _Outcome(_Reply(500), nonce, method, target)
        try:
            outcome.reply = self._answer(method, target, headers, body, outcome)
        except Exception as error:  # a bug here must still reach the locker as a signed 500, not a hang
            log.exception("fake platform failed on %s %s", method, target[:200])
            outcome.reply = _error(500, "internal_error", f"the fake platform failed: {error!r}")
            outcome.faults = RequestFaults()
        return outcome

    def _answer(
        self, method: str, target: str, headers: email.message.Message, body: bytes, outcome: _Outcome
    ) -> _Reply:
        split = urllib.parse.urlsplit(target)
        matched = [(operation, match) for operation in contract.operations()
                   if (match := _template_regex(operation.template).fullmatch(split.path)) is not None]
        if not matched:
            return _error(404, "not_found", f"no such path in the contract: {split.path[:200]}")
        chosen = next(((operation, match) for operation, match in matched if operation.method == method),
                      None)
        if chosen is None:
            allowed = ", ".join(sorted({operation.method for operation, _ in matched}))
            reply = _error(405, "invalid_request", f"{method} is not allowed here; use {allowed}")
            reply.headers["Allow"] = allowed
            return reply
        operation, match = chosen

        refusal = self._check_signature(method, target, headers, body)
        if refusal is not None:
            return refusal
        path_locker = urllib.parse.unquote(match.group("locker_id"))
        if path_locker != self._locker_id:
            return _error(403, "locker_mismatch",
                          f"X-Locker-Id {self._locker_id} cannot act for locker {path_locker[:60]}")

        faults = self._faults.take(operation.operation_id)
        outcome.faults = faults
        if faults.latency_s > 0:
            self._stopping.wait(faults.latency_s)
        if faults.counted is CountedFault.STATUS_500:
            return _error(500, "internal_error", "injected fault: the platform failed (status_500)")

        document: object | None = None
        if body:
            try:
                document = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
            except (UnicodeDecodeError, ValueError) as error:
                return _error(422, "invalid_request", f"the body is not JSON: {error}")
        try:
            contract.validate_request(method, target, document)
        except ContractError as error:
            return _error(422, "invalid_request", str(error))

        reply = self._dispatch(operation.operation_id, match, split.query, document)
        if self._check_replies:
            try:
                contract.validate_response(method, target, reply.status, reply.payload)
            except ContractError as error:
                log.error("fake platform broke the contract: %s", error)
                return _error(500, "internal_error", f"the fake platform broke the contract: {error}")
        return reply

    def _check_signature(
        self, method: str, target: str, headers: email.message.Message, body: bytes
    ) -> _Reply | None:
        """None when the request is signed by this locker; otherwise the 401 (or 429) to answer."""
        fields: dict[str, str] = {}
        for name in (signing.HEADER_LOCKER_ID, *signing.REQUEST_HEADERS):
            values = headers.get_all(name) or []
            if len({value.strip() for value in values}) > 1:
                return _error(401, SignatureReason.MALFORMED.value,
                              f"{name} is given twice with different values")
            if values:
                fields[name] = values[0]
        try:
            locker = signing.requested_locker_id(fields)
        except SignatureError as error:
            return _error(401, error.reason.value, error.detail)
        if locker != self._locker_id:
            return _error(401, "unknown_locker", f"this platform does not know locker {locker}")
        try:
            self._verifier.verify(method, target, body, fields)
        except SignatureError as error:
            if error.reason is SignatureReason.NONCE_CACHE_FULL:
                retry_after = max(1, min(86400, int(error.retry_after_s or 1)))
                reply = _error(429, error.reason.value, error.detail, **{"Retry-After": str(retry_after)})
                assert isinstance(reply.payload, dict)
                reply.payload["retry_after_s"] = retry_after
                return reply
            return _error(401, error.reason.value, error.detail)
        return None

    def _dispatch(self, operation_id: str, match: re.Match[str], query: str, document: object) -> _Reply:
        parameters = {name: values[0] for name, values in urllib.parse.parse_qs(query).items()}
        body: Any = document
        store = self._live_store()
        if operation_id == "registerLocker":
            _version, occupied = store.register(body)
            if occupied:
                return _error(409, "conflict",
                              f"the new layout drops compartments that hold parcels: {', '.join(occupied)}")
            return _Reply(200, self._config())
        if operation_id == "getLockerConfig":
            return _Reply(200, self._config())
        if operation_id == "syncLocker":
            limit = int(parameters.get("limit", DEFAULT_SYNC_LIMIT))
            return _Reply(200, store.sync_page(parameters.get("cursor"), limit).as_json())
        if operation_id == "postEvents":
            outcome = store.apply_events(body["events"], self._now())
            return _Reply(200, {"accepted": outcome.accepted, "duplicates": outcome.duplicates,
                                "rejected": outcome.rejected})
        if operation_id == "verifyCode":
            return self._verify(store, body["kind"], body["code_hash"])
        if operation_id == "postHeartbeat":
            store.add_heartbeat(body, self._now())
            now = self._now()
            pending = store.count_pending_commands(now)
            return _Reply(200, {"server_time": _rfc3339(now), "commands_pending": pending})
        if operation_id == "pollCommands":
            wait_s = int(parameters.get("wait", DEFAULT_WAIT_S))
            return _Reply(200, {"commands": self._long_poll(store, wait_s)})
        if operation_id == "postCommandResult":
            command_id = urllib.parse.unquote(match.group("command_id"))
            verdict = store.record_command_result(command_id, body, self._now())
            if verdict == "unknown":
                return _error(404, "not_found", f"no command {command_id} was issued to this locker")
            if verdict == "conflict":
                earlier = store.command_result(command_id) or {}
                return _error(409, "conflict",
                              f"command {command_id} has already ended with status {earlier.get('status')}")
            return _Reply(204)
        raise AssertionError(f"no handler for {operation_id}")

    def _verify(self, store: PlatformStore, kind: str, code_hash: str) -> _Reply:
        if kind == "pickup":
            for credential in store.live_records("pickup_credential"):
                if not hmac.compare_digest(credential["code_hash"], code_hash):
                    continue
                parcels = [parcel for parcel_id in credential["parcel_ids"]
                           if (parcel := store.record("parcel", parcel_id)) is not None]
                if parcels:
                    return _Reply(200, {"kind": "pickup", "credential": credential, "parcels": parcels})
            return _error(404, "not_found", "No parcel matches this code.")
        for authorisation in store.live_records("return_authorisation"):
            if hmac.compare_digest(authorisation["code_hash"], code_hash):
                return _Reply(200, {"kind": "return", "return_authorisation": authorisation})
        return _error(404, "not_found", "No return matches this code.")

    def _long_poll(self, store: PlatformStore, wait_s: int) -> list[dict[str, Any]]:
        """Pending commands at once, else wait (on a condition, not by polling) up to `wait_s` for one."""
        deadline = time.monotonic() + wait_s
        with self._commands_changed:
            while True:
                pending = store.pending_commands(self._now(), MAX_COMMANDS_PER_POLL)
                remaining = deadline - time.monotonic()
                if pending or remaining <= 0 or self._stopping.is_set():
                    return pending
                self._commands_changed.wait(remaining)

    def _base_config(self) -> dict[str, Any]:
        return {
            "locker_id": self._locker_id,
            "display_name": f"Locker {self._locker_id} (fake platform)",
            "timezone": "UTC",
            "config_version": 0,
            "layout_summary": {"compartments": 0, "by_size": dict.fromkeys(_SIZES, 0)},
            "timers": {},
            "pickup_window_hours": 72,
            "unannounced_parcels": "accept",
            "outbox_alarm_threshold": 1000,
            "heartbeat_interval_s": 60,
            "sync_interval_s": 120,
        }

    def _config(self) -> dict[str, Any]:
        registration, version = self._live_store().registration()
        config = self._base_config()
        config["config_version"] = version
        if registration is not None:
            compartments = registration["layout"]["compartments"]
            by_size = dict.fromkeys(_SIZES, 0)
            for compartment in compartments:
                by_size[compartment["size"]] += 1
            config["layout_summary"] = {"compartments": len(compartments), "by_size": by_size}
        with self._lock:
            config.update(self._config_overrides)
        return config

    # replies on the wire ---------------------------------------------------------------------------

    def _reply_bytes(self, outcome: _Outcome) -> tuple[int, dict[str, str], bytes] | None:
        """Status, headers and body to send, with the reply faults applied; None: drop the connection."""
        reply, counted = outcome.reply, outcome.faults.counted
        if counted is CountedFault.DROP_CONNECTION:
            return None
        status, body = reply.status, reply.body()
        headers = dict(reply.headers)
        if counted is CountedFault.MALFORMED_JSON:
            status, body, headers = 200, _MALFORMED_JSON, {}
        elif counted is None and outcome.faults.huge_body_bytes > 0:
            status, body, headers = 200, _huge_body(outcome.faults.huge_body_bytes), {}
        if body:
            headers["Content-Type"] = "application/json"
        if outcome.nonce is not None:
            try:
                stamp = max(0, int(self._now()))
                key = self._secret if counted is not CountedFault.BAD_SIGNATURE else self._secret + b"-wrong"
                headers.update(signing.sign_reply(
                    key, outcome.method, outcome.target, outcome.nonce, status, body, timestamp=stamp
                ))
            except ValueError:
                pass  # a request target the canonical reply cannot hold: unsigned, like any 401 of that kind
        return status, headers, body


def _huge_body(size: int) -> bytes:
    """A JSON document of exactly `size` bytes (as near as JSON allows below 13 bytes)."""
    prefix, suffix = b'{"padding":"', b'"}'
    if size <= len(prefix) + len(suffix):
        return b" " * size
    return prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_TEMPLATE_CACHE: dict[str, re.Pattern[str]] = {}


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = _TEMPLATE_CACHE.get(template)
    if pattern is None:
        parts = re.split(r"\{([a-z_]+)\}", template)
        pattern = re.compile("".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts)
        ))
        _TEMPLATE_CACHE[template] = pattern
    return pattern


# the socket side --------------------------------------------------------------------------------

class _HttpServer(ThreadingHTTPServer):
    # Request threads are joined by server_close(), so none outlives stop().
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], platform: FakePlatform) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.platform = platform
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_TIMEOUT_S
    server_version = "FakePlatform/1"

    def _platform(self) -> FakePlatform:
        server = self.server
        assert isinstance(server, _HttpServer)
        return server.platform

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; with Nagle's algorithm the second waits for the client's
        # delayed ACK, 40 ms a reply on a kept-alive connection.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self._platform()._connection_opened(self.connection):
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RD)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._platform()._connection_closed(self.connection)

    def __getattr__(self, name: str) -> Any:
        # Every method, the contract's and any other (HEAD, QUERY, ...), goes to the router, which answers
        # an unknown one with 405 and Allow, not the base class's unsigned 501 page.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        platform = self._platform()
        method, target = self.command, self.path
        platform._note_request(method, target)
        identity = platform._identify(self.headers)
        body, early_reply = self._read_body()
        if early_reply is None and body is None:
            self.close_connection = True  # the client went away mid-body
            return
        if isinstance(identity, _Reply):
            identity.close = early_reply is not None  # a body left unread ends the connection
            outcome = _Outcome(identity, None, method, target)
        elif early_reply is not None:
            outcome = _Outcome(early_reply, identity, method, target)
        else:
            assert body is not None
            outcome = platform._process(method, target, self.headers, body, identity)
        platform._note_reply(outcome)
        wire = platform._reply_bytes(outcome)
        if wire is None or outcome.reply.close or platform._stopping.is_set():
            self.close_connection = True
        if wire is None:
            return  # dropped: the socket closes with no reply at all
        status, headers, payload = wire
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if payload and method != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client stopped reading (a huge body, a timeout)

    def _read_body(self) -> tuple[bytes | None, _Reply | None]:
        """(body, None), (None, a reply refusing the request) or (None, None) when the client left."""
        if self.headers.get("Transfer-Encoding"):
            reply = _error(422, "invalid_request", "send the body with a Content-Length, not chunked")
            reply.close = True
            return None, reply
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b"", None
        if len(set(lengths)) != 1 or not re.fullmatch(r"[0-9]{1,12}", lengths[0].strip()):
            reply = _error(422, "invalid_request", "Content-Length is not one whole number")
            reply.close = True
            return None, reply
        length = int(lengths[0])
        if length > MAX_REQUEST_BODY:
            reply = _error(413, "payload_too_large",
                           f"The body is {length} bytes; at most {MAX_REQUEST_BODY} are accepted.")
            reply.close = True  # the body stays unread
            return None, reply
        try:
            body = self.rfile.read(length)
        except OSError:
            return None, None
        return (body, None) if len(body) == length else (None, None)


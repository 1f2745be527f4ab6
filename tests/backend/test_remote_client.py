"""The platform client (kiosk.backend.remote) on the wire: what it sends is signed and valid by the contract,
what it accepts is signed and valid by the contract, and everything else is a clear PlatformError.

Three kinds of counterpart, all real servers on 127.0.0.1 or none at all:
- none: the event -> JSON mapping and the hand-written reply checks, held against the contract's schema
  (jsonschema, the development dependency the client itself never imports);
- ScriptedPlatform (below): a small real HTTP(S) server whose reply each test scripts, for what the fake
  platform does not do (a reply signed for another request, a streamed or dripping body, gzip, redirects,
  TLS); it verifies every request it receives with the platform's Verifier and the contract;
- FakePlatform (kiosk.testing.fake_platform): the whole API, and its fault injection.
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.backend import contract
from kiosk.backend.contract import ContractError
from kiosk.backend.remote import (
    LOCAL_REJECTION,
    CameraHealth,
    CommandStatus,
    Health,
    InvalidCommand,
    OpenDoorCommand,
    PickupVerification,
    PlatformClient,
    PlatformError,
    PlatformErrorKind,
    ReturnVerification,
    SyncNowCommand,
    UnsendableEvent,
    check_reply_document,
    event_payload,
    format_date_time,
    heartbeat_payload,
)
from kiosk.backend.signing import Verifier, sign_reply
from kiosk.core.codes import hash_code
from kiosk.core.model import (
    Compartment,
    DoorPurpose,
    EventKind,
    JournalPhase,
    OutboxEvent,
    Parcel,
    ParcelState,
    ProblemKind,
    Size,
)
from kiosk.store import SqliteStore
from kiosk.testing.fake_platform import FakePlatform

SECRET = bytes(range(32))
LOCKER_ID = "LK-0001"
CODE_KEY = bytes(range(32, 64))
T0 = 1_800_000_000.0
LAYOUT = tuple(Compartment(f"C{index:02d}", Size.M, index // 16, index % 16 + 1, 100, 1 + index // 10)
               for index in range(20))


@pytest.fixture(autouse=True)
def no_thread_outlives_the_test() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leftover = [thread for thread in threading.enumerate() if thread not in before and thread.is_alive()]
    for thread in leftover:
        thread.join(timeout=2)
    names = [thread.name for thread in leftover if thread.is_alive()]
    assert not names, f"threads left running: {names}"


# events as the store writes them ---------------------------------------------------------------------------

def open_store(path: Path, layout: tuple[Compartment, ...] = LAYOUT, **options: Any) -> SqliteStore:
    return SqliteStore.open(path, layout, **options)


def fill_outbox(store: SqliteStore, count: int, *, at: float = T0, prefix: str = "P") -> list[str]:
    """`count` new outbox events as the kiosk writes them: a deposit into every free compartment, then
    problem reports about those parcels (one event per parcel, many per transaction). The keys of every
    event written, in order."""
    before = {event.idempotency_key for event in store.outbox_batch(1_000_000)}
    parcels = [parcel.id for parcel in _parcels_in(store)]
    written = 0
    for index, compartment in enumerate(store.free_compartments()):
        if written == count:
            break
        parcel_id = f"{prefix}{index:03d}-{uuid.uuid4().hex[:6]}"
        store.place_parcel(parcel_id, Size.S, compartment.compartment.id, "Ada Lovelace", b"\x01" * 32,
                           at + written, courier_id="DHL-0042")
        parcels.append(parcel_id)
        written += 1
    while written < count:
        chunk = parcels[: count - written]
        store.report_problem(ProblemKind.DAMAGED, chunk, at + written)
        written += len(chunk)
    keys = [event.idempotency_key for event in store.outbox_batch(1_000_000)
            if event.idempotency_key not in before]
    assert len(keys) >= count  # and the backlog alarm, when this crossed its threshold
    return keys


def _parcels_in(store: SqliteStore) -> list[Parcel]:
    placed = dict.fromkeys(entry.parcel_id for entry in store.audit_log()
                           if entry.kind == "parcel_placed" and entry.parcel_id)
    parcels = [store.parcel(parcel_id) for parcel_id in placed if parcel_id]
    return [parcel for parcel in parcels if parcel.state is ParcelState.IN_LOCKER]


def every_kind_of_event(store: SqliteStore) -> list[OutboxEvent]:
    """One of each event the store writes: deposits (with and without a courier), a pickup, a door fault,
    problem reports about a parcel and about none, and the backlog alarm raised and cleared."""
    store.place_parcel("PX-1", Size.S, "C00", "Ada", b"\x01" * 32, T0)
    store.place_parcel("PX-2", Size.S, "C01", "Bob", b"\x02" * 32, T0 + 1, courier_id="DHL-0042")
    entry = store.journal_intent("C00", DoorPurpose.PICKUP, ["PX-1"], T0 + 2)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, T0 + 3)
    store.journal_advance(entry.id, JournalPhase.OPENED, T0 + 4)
    store.journal_complete_pickup(entry.id, T0 + 5.25)
    fault = store.journal_intent("C01", DoorPurpose.PICKUP, ["PX-2"], T0 + 6)
    store.journal_advance(fault.id, JournalPhase.UNLOCK_SENT, T0 + 7)
    store.journal_fault(fault.id, "door_did_not_open", T0 + 8)
    store.report_problem(ProblemKind.NOT_MINE, ["PX-2"], T0 + 9)
    store.report_problem(ProblemKind.DOOR_DID_NOT_OPEN, [], T0 + 10)
    return list(store.outbox_batch(1000))


# a server whose every reply a test scripts ------------------------------------------------------------------

@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # bytes as they are; anything else as JSON; None for no body
    headers: dict[str, str] = field(default_factory=dict)
    signing: str = "good"  # good, none, wrong_secret, other_nonce, other_path, other_status, bad_hash
    declared_bytes: int = 0  # a body this long with its Content-Length (body ignored)
    streamed_bytes: int = 0  # a body this long, chunked, without a Content-Length (body ignored)
    drip: bool = False  # a body that arrives one byte at a time, for ever (until the server stops)
    drop: bool = False  # close the connection without answering
    hold: bool = False  # answer only when the server stops


def accept_every_event(received: Received) -> Answer:
    if received.path.endswith("/events"):
        keys = [event["idempotency_key"] for event in received.document["events"]]
        return Answer(body={"accepted": keys, "duplicates": [], "rejected": []})
    return Answer(404, {"code": "not_found", "message": "Nothing scripted here."})


class ScriptedPlatform:
    """A real HTTP(S) server on 127.0.0.1. `answer(received)` decides each reply; `received` keeps every
    request; `problems` lists every request that failed the platform's checks (signature, contract)."""

    def __init__(
        self, secret: bytes = SECRET, *, prefix: str = "", tls: ssl.SSLContext | None = None
    ) -> None:
        self.secret = secret
        self.prefix = prefix
        self.verifier = Verifier(secret)
        self.answer: Callable[[Received], Answer] = accept_every_event
        self.received: list[Received] = []
        self.problems: list[str] = []
        self.bytes_written = 0
        self.released = threading.Event()
        self._lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                platform.handle(self)

            do_POST = do_PUT = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False  # server_close() joins every request thread
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}{prefix}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="scripted-platform")

    def start(self) -> ScriptedPlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def requests_to(self, suffix: str) -> list[Received]:
        with self._lock:
            return [received for received in self.received if received.path.split("?")[0].endswith(suffix)]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        received = Received(handler.command, handler.path, dict(handler.headers.items()),
                            handler.rfile.read(length))
        with self._lock:
            self.received.append(received)
        self._check(received)
        try:
            self._write(handler, received, self.answer(received))
        except OSError:  # the client went away: that is often the point of the test
            handler.close_connection = True

    def _check(self, received: Received) -> None:
        try:
            self.verifier.verify(received.method, received.path, received.body, received.headers)
            assert received.path.startswith(self.prefix)
            assert received.headers.get("X-Locker-Id") == LOCKER_ID
            contract.validate_request(received.method, received.path[len(self.prefix):], received.document)
        except Exception as error:
            with self._lock:
                self.problems.append(f"{received.method} {received.path}: {error}")

    def _write(self, handler: BaseHTTPRequestHandler, received: Received, answer: Answer) -> None:
        if answer.hold:
            self.released.wait(timeout=30)
        if answer.drop:
            handler.close_connection = True
            return
        body = answer.body if isinstance(answer.body, bytes) else \
            b"" if answer.body is None else json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        for name, value in {**self._signature(received, answer, body), **answer.headers}.items():
            handler.send_header(name, value)
        if answer.streamed_bytes:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            chunk = b"x" * 65536
            for _ in range(answer.streamed_bytes // len(chunk)):
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.bytes_written += len(chunk)
            handler.wfile.write(b"0\r\n\r\n")
        elif answer.declared_bytes:
            handler.send_header("Content-Length", str(answer.declared_bytes))
            handler.end_headers()
            chunk = b"x" * 65536
            for _ in range(answer.declared_bytes // len(chunk)):
                handler.wfile.write(chunk)
                self.bytes_written += len(chunk)
        elif answer.drip:
            handler.send_header("Content-Length", "100000")
            handler.end_headers()
            while not self.released.wait(0.02):
                handler.wfile.write(b" ")
                handler.wfile.flush()
        else:
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

    def _signature(self, received: Received, answer: Answer, body: bytes) -> dict[str, str]:
        if answer.signing == "none":
            return {}
        secret, path, status = self.secret, received.path, answer.status
        nonce = received.headers.get("X-Nonce", "0" * 32)
        if answer.signing == "wrong_secret":
            secret = bytes(reversed(SECRET))
        elif answer.signing == "other_nonce":
            nonce = uuid.uuid4().hex
        elif answer.signing == "other_path":
            path = received.path.replace("/events", "/heartbeat")
        elif answer.signing == "other_status":
            status = 200 if status != 200 else 500
        headers = sign_reply(secret, received.method, path, nonce, status, body)
        if answer.signing == "bad_hash":
            headers["X-Content-SHA256"] = "0" * 64
        return headers


@pytest.fixture
def scripted() -> Iterator[ScriptedPlatform]:
    platform = ScriptedPlatform().start()
    yield platform
    platform.stop()
    assert not platform.problems, platform.problems


@pytest.fixture
def client(scripted: ScriptedPlatform) -> Iterator[PlatformClient]:
    with PlatformClient(scripted.url, LOCKER_ID, SECRET, connect_timeout_s=1.0, read_timeout_s=2.0) as made:
        yield made


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with open_store(tmp_path / "kiosk.sqlite") as opened:
        yield opened


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.01)


def failure(call: Callable[[], object]) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        call()
    text = str(caught.value)
    assert "\n" not in text and text.startswith(caught.value.kind.value + ": ")
    return caught.value


# configuration ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://platform.example.net", "http://10.0.0.5:8080", "ftp://127.0.0.1", "https://",
    "platform.example.net", "https://user:pw@platform.example.net", "https://platform.example.net/?x=1", "https://host:99999",
])
def test_a_platform_url_that_is_not_https_or_not_plain_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="platform URL"):
        PlatformClient(url, LOCKER_ID, SECRET)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:2",
                                 "https://platform.example.net/api/"])
def test_https_anywhere_and_plain_http_on_this_machine_are_allowed(url: str) -> None:
    PlatformClient(url, LOCKER_ID, SECRET).close()


def test_a_bad_locker_id_secret_ca_bundle_or_limit_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="locker id"):
        PlatformClient("https://p.example", "LK 1", SECRET)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        PlatformClient("https://p.example", LOCKER_ID, b"short")
    with pytest.raises(ValueError, match="CA bundle"):
        PlatformClient("https://p.example", LOCKER_ID, SECRET, ca_bundle=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="max_reply_bytes"):
        PlatformClient("https://p.example", LOCKER_ID, SECRET, max_reply_bytes=5 * 1024 * 1024)
    with pytest.raises(ValueError, match="read_timeout_s"):
        PlatformClient("https://p.example", LOCKER_ID, SECRET, read_timeout_s=math.inf)


# the event -> JSON mapping ---------------------------------------------------------------------------------

def test_times_go_out_as_rfc_3339_utc() -> None:
    assert format_date_time(1_700_000_000) == "2023-11-14T22:13:20Z"
    assert format_date_time(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"
    assert format_date_time(0) == "1970-01-01T00:00:00Z"
    for bad in (math.nan, math.inf, 1e20, True):
        with pytest.raises(ValueError):
            format_date_time(bad)


def test_every_event_the_store_writes_is_a_valid_contract_event(store: SqliteStore) -> None:
    events = every_kind_of_event(store)
    assert {event.kind for event in events} >= {
        EventKind.DEPOSITED, EventKind.PICKED_UP, EventKind.DOOR_FAULT, EventKind.PROBLEM_REPORT}
    payloads = [event_payload(event) for event in events]
    for payload in payloads:
        contract.validate("Event", payload)
    contract.validate_request("POST", f"/v1/lockers/{LOCKER_ID}/events", {"events": payloads})
    picked = payloads[[event.kind for event in events].index(EventKind.PICKED_UP)]
    assert picked["occurred_at"] == "2027-01-15T08:00:05.250000Z"
    assert picked["idempotency_key"] == events[2].idempotency_key
    assert (picked["compartment_id"], picked["parcel_id"]) == ("C00", "PX-1")


def test_the_backlog_alarm_is_a_valid_contract_event(tmp_path: Path) -> None:
    with open_store(tmp_path / "alarm.sqlite", outbox_alarm_depth=3) as small:
        fill_outbox(small, 3)
        alarms = [event for event in small.outbox_batch(100) if event.kind is EventKind.ALARM]
        assert alarms
        for alarm in alarms:
            contract.validate("Event", event_payload(alarm))


def make_event(kind: EventKind = EventKind.DEPOSITED, **changes: Any) -> OutboxEvent:
    fields: dict[str, Any] = {"id": 1, "idempotency_key": str(uuid.uuid4()), "kind": kind, "occurred_at": T0,
                              "compartment_id": "C01", "parcel_id": "PX-1", "details": {}}
    fields.update(changes)
    return OutboxEvent(**fields)


def naive_payload(event: OutboxEvent) -> dict[str, Any]:
    """The mapping without the client's checks: what the contract would be shown."""
    return {"idempotency_key": event.idempotency_key, "kind": event.kind.value,
            "occurred_at": format_date_time(event.occurred_at), "compartment_id": event.compartment_id,
            "parcel_id": event.parcel_id, "details": event.details}


@pytest.mark.parametrize(("event", "why"), [
    (make_event(idempotency_key="not-a-uuid"), "idempotency_key"),
    (make_event(EventKind.DEPOSITED, parcel_id=None), "names its compartment and parcel"),
    (make_event(EventKind.PICKED_UP, compartment_id=None), "names its compartment and parcel"),
    (make_event(EventKind.DOOR_FAULT, details={"journal_id": 4}), "details.reason"),
    (make_event(EventKind.DOOR_FAULT, compartment_id=None, details={"reason": "x"}), "names its compartment"),
    (make_event(EventKind.PROBLEM_REPORT, details={"problem": "smelly"}), "details.problem"),
    (make_event(EventKind.ALARM, details={}), "details.alarm"),
    (make_event(compartment_id="C 01"), "compartment_id"),
    (make_event(parcel_id="-PX"), "parcel_id"),
    (make_event(details={"Size": "S"}), "snake_case"),
    (make_event(details={"size": ["S"]}), "single value"),
    (make_event(details={"size": "S" * 501}), "at most 500"),
    (make_event(details={f"d{index}": index for index in range(21)}), "at most 20"),
    (make_event(details={"courier_id": "dhl-0042"}), "courier_id"),
    (make_event(EventKind.PICKED_UP, details={"method": "telepathy"}), "method"),
    (make_event(details={"reason": ""}), "reason"),
])
def test_an_event_the_contract_would_refuse_is_named_and_never_sent(event: OutboxEvent, why: str) -> None:
    with pytest.raises(UnsendableEvent, match=why) as caught:
        event_payload(event)
    assert "\n" not in str(caught.value)
    with pytest.raises(ContractError):
        contract.validate("Event", naive_payload(event))


def test_an_event_whose_time_cannot_be_written_is_unsendable() -> None:
    for when in (math.nan, math.inf, 1e20):
        with pytest.raises(UnsendableEvent, match="time"):
            event_payload(make_event(occurred_at=when))
    with pytest.raises(UnsendableEvent, match="finite"):
        event_payload(make_event(details={"ratio": math.nan}))
    with pytest.raises(UnsendableEvent, match="Unicode"):
        event_payload(make_event(details={"recipient": "\ud800"}))


_names = st.one_of(
    st.sampled_from(["courier_id", "method", "return_id", "reason", "problem", "alarm", "size",
                     "journal_id"]),
    st.from_regex(r"[a-z][a-z0-9_]{0,39}", fullmatch=True),
    st.text(alphabet="abzZ09_-. ", min_size=0, max_size=42),
)
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
    st.sampled_from(["code", "qr", "face", "damaged", "not_mine", "tamper", "clock_skew", "DHL-0042",
                     "dhl-0042", "", "ret-5521", "-ret", "door_did_not_open", "x" * 200, "x" * 201]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"), max_size=520),
    st.lists(st.integers(), max_size=1),
)
_ids = st.one_of(st.none(), st.sampled_from(["C01", "c_1-2", "A" * 16, "A" * 17, "C 1", "", "PX-1", ".PX"]))


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(list(EventKind)), compartment_id=_ids, parcel_id=_ids,
       details=st.dictionaries(_names, _values, max_size=22))
def test_the_event_checks_agree_with_the_schema(
    kind: EventKind, compartment_id: str | None, parcel_id: str | None, details: dict[str, object]
) -> None:
    event = make_event(kind, compartment_id=compartment_id, parcel_id=parcel_id, details=details)
    try:
        payload = event_payload(event)
        sendable = True
    except UnsendableEvent:
        sendable = False
    try:
        naive = json.loads(json.dumps(naive_payload(event), allow_nan=False))  # what JSON can carry at all
        contract.validate("Event", naive)
        valid = True
    except (ContractError, ValueError):
        valid = False
    assert sendable == valid, (sendable, valid, naive_payload(event))
    if sendable:
        contract.validate("Event", payload)


def test_a_heartbeat_is_valid_and_its_free_text_one_line() -> None:
    health = Health(T0, "0.1.0", 86_400, 1, 2, doors_open=("C01", "C01", "C02"),
                    out_of_order=(("C03", "hinge\nbroken\x00"), ("C04", "   ")),
                    cameras=(CameraHealth("front", "failing", "no frame\tfor 30 s" + "!" * 300),),
                    outbox_depth=1480, outbox_oldest_at=T0 - 3600, outbox_parked=1, last_sync_at=None)
    payload = heartbeat_payload(health)
    contract.validate("Heartbeat", payload)
    assert payload["doors_open"] == ["C01", "C02"]
    assert payload["out_of_order"] == [{"compartment_id": "C03", "reason": "hinge broken"},
                                       {"compartment_id": "C04", "reason": "unknown"}]
    camera = payload["cameras"][0]  # type: ignore[index]
    assert len(camera["detail"]) == 200 and camera["detail"].startswith("no frame for 30 s")
    with pytest.raises(ValueError, match="compartment id"):
        heartbeat_payload(Health(T0, "0.1.0", 1, 1, 1, doors_open=("bad id",)))
    with pytest.raises(ValueError, match="uptime_s"):
        heartbeat_payload(Health(T0, "0.1.0", -1, 1, 1))


# the reply checks against the contract's schema ---------------------------------------------------------

def contract_reply_examples() -> list[tuple[str, int, str, Any]]:
    """(operationId, status, schema pointer, example) for every JSON reply example of the contract."""
    found = []
    for operation in contract.operations():
        responses = contract.resolve_pointer(operation.pointer)["responses"]
        for status, declared in responses.items():
            response, pointer = contract.follow_reference(declared, f"{operation.pointer}/responses/{status}")
            media = response.get("content", {}).get("application/json")
            if media is None:
                continue
            schema_pointer = f"{pointer}/content/{contract.pointer_token('application/json')}/schema"
            for example in media.get("examples", {}).values():
                value, _ = contract.follow_reference(example, "")
                found.append((operation.operation_id, int(status), schema_pointer, value["value"]))
    return found


def accepted_by_client(operation_id: str, status: int, document: Any) -> bool:
    try:
        result = check_reply_document(operation_id, status, document)
    except ValueError:
        return False
    return not (isinstance(result, list) and any(isinstance(item, InvalidCommand) for item in result))


def accepted_by_schema(schema_pointer: str, document: Any) -> bool:
    try:
        contract.validate_at(schema_pointer, document)
    except ContractError:
        return False
    return True


def test_the_client_accepts_every_reply_example_of_the_contract() -> None:
    examples = contract_reply_examples()
    assert {operation for operation, *_ in examples} >= {"postEvents", "syncLocker", "verifyCode",
                                                          "postHeartbeat", "pollCommands", "getLockerConfig"}
    for operation_id, status, _pointer, document in examples:
        assert accepted_by_client(operation_id, status, document), (operation_id, status, document)


def mutants(value: Any, path: tuple[object, ...] = ()) -> Iterator[tuple[tuple[object, ...], Any]]:
    """Every one-step change of a JSON document: a field added or removed, a list emptied, a value of another
    type or out of bounds."""
    if isinstance(value, dict):
        yield (*path, "+unknown"), {**value, "zz_unknown": 1}
        for key in value:
            yield (*path, f"-{key}"), {name: item for name, item in value.items() if name != key}
            for sub_path, sub in mutants(value[key], (*path, key)):
                yield sub_path, {**value, key: sub}
    elif isinstance(value, list):
        if value:
            yield (*path, "emptied"), []
            yield (*path, "doubled"), [*value, copy.deepcopy(value[0])]
        for index, item in enumerate(value):
            for sub_path, sub in mutants(item, (*path, index)):
                yield sub_path, [*value[:index], sub, *value[index + 1:]]
    else:
        replacements: list[Any]
        if isinstance(value, bool):
            replacements = ["true", 1, None]
        elif isinstance(value, int):
            replacements = [str(value), -1, 10**9, 1.5, True, None]
        elif isinstance(value, str):
            replacements = [7, "", "x" * 600, value + "\x00", value.upper(), " " + value, None]
        elif value is None:
            replacements = [7, "x", False]
        else:
            replacements = ["1", None]
        for replacement in replacements:
            yield (*path, f"={replacement!r:.20}"), replacement


def test_the_client_accepts_exactly_the_replies_the_schema_accepts() -> None:
    checked = 0
    stricter = []
    for operation_id, status, pointer, document in contract_reply_examples():
        for where, mutant in mutants(document):
            by_client = accepted_by_client(operation_id, status, mutant)
            by_schema = accepted_by_schema(pointer, mutant)
            if by_client:
                assert by_schema, f"{operation_id} {status} {where}: the client accepts what the schema " \
                    "refuses"
            elif by_schema:
                stricter.append((operation_id, where[-1]))
            checked += 1
    assert checked > 1000
    # The one rule a schema cannot say: an event batch's reply names each key once.
    assert set(stricter) == {("postEvents", "doubled")}, stricter


# signing and verifying, on the wire ---------------------------------------------------------------------

def test_requests_are_signed_over_the_target_as_sent_and_valid(
    scripted: ScriptedPlatform, client: PlatformClient, store: SqliteStore
) -> None:
    scripted.answer = lambda received: Answer(body={
        "reset": False, "parcels": [], "pickup_credentials": [], "couriers": [], "return_authorisations": [],
        "deletions": [], "next_cursor": "c.43~x", "has_more": False}) if "/sync" in received.path \
        else accept_every_event(received)
    page = client.sync("c-42.~_x", limit=3)
    assert page.next_cursor == "c.43~x"
    events = every_kind_of_event(store)
    reply = client.post_events(events)
    assert reply.sent == len(reply.accepted) == len(events) == 6
    [sync] = scripted.requests_to("/sync")
    assert sync.path == f"/v1/lockers/{LOCKER_ID}/sync?cursor=c-42.~_x&limit=3"
    assert sync.headers["Accept-Encoding"] == "identity"
    assert client.last_server_time is not None and abs(client.last_clock_skew_s or 99) < 5
    # scripted's fixture asserts that the Verifier and the contract accepted every request


def test_a_path_prefix_is_part_of_what_is_signed(store: SqliteStore) -> None:
    platform = ScriptedPlatform(prefix="/api/platform").start()
    try:
        with PlatformClient(platform.url + "/", LOCKER_ID, SECRET) as prefixed:
            assert prefixed.post_events(every_kind_of_event(store)).sent == 6
        assert platform.received[0].path == f"/api/platform/v1/lockers/{LOCKER_ID}/events"
    finally:
        platform.stop()
    assert not platform.problems, platform.problems


@pytest.mark.parametrize("signing", ["none", "wrong_secret", "other_nonce", "other_path", "other_status",
                                     "bad_hash"])
def test_a_reply_that_does_not_verify_is_refused_before_it_is_read(
    scripted: ScriptedPlatform, client: PlatformClient, store: SqliteStore, signing: str
) -> None:
    keys = fill_outbox(store, 3)
    scripted.answer = lambda received: Answer(body={"accepted": keys, "duplicates": [], "rejected": []},
                                              signing=signing)
    error = failure(lambda: client.post_events(store.outbox_batch(10)))
    assert error.kind is PlatformErrorKind.BAD_SIGNATURE
    assert "nothing of it was used" in error.message
    assert client.last_server_time is None


def test_an_unsigned_401_says_the_platform_does_not_know_the_locker(
    scripted: ScriptedPlatform, client: PlatformClient
) -> None:
    scripted.answer = lambda received: Answer(401, {"code": "unknown_locker", "message": "Who?"},
                                              signing="none")
    error = failure(lambda: client.heartbeat(Health(time.time(), "0.1.0", 1, 1, 1)))
    assert error.kind is PlatformErrorKind.UNAUTHORIZED and "does not know locker LK-0001" in error.message


# replies too large, too slow, or not what was asked for ----------------------------------------------------

@pytest.mark.parametrize("how", ["declared", "streamed"])
def test_a_10_mb_reply_is_refused_without_being_loaded(
    scripted: ScriptedPlatform, client: PlatformClient, store: SqliteStore, how: str
) -> None:
    fill_outbox(store, 2)
    size = 10 * 1024 * 1024
    scripted.answer = lambda received: Answer(declared_bytes=size if how == "declared" else 0,
                                              streamed_bytes=size if how == "streamed" else 0)
    tracemalloc.start()
    try:
        started = time.monotonic()
        error = failure(lambda: client.post_events(store.outbox_batch(10)))
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind is PlatformErrorKind.TOO_LARGE
    assert "2097152" in error.message
    assert elapsed < 2.0
    assert peak < 4 * 1024 * 1024  # the server's chunks and the client's 2 MiB at most, never 10 MB


def test_a_reply_that_drips_is_cut_at_the_overall_deadline(scripted: ScriptedPlatform) -> None:
    scripted.answer = lambda received: Answer(drip=True)
    with PlatformClient(scripted.url, LOCKER_ID, SECRET, connect_timeout_s=0.1, read_timeout_s=0.2) as slow:
        started = time.monotonic()
        error = failure(lambda: slow.poll_commands(0))
        assert time.monotonic() - started < 2.0
    assert error.kind is PlatformErrorKind.TIMEOUT and "still arriving" in error.message


def test_no_reply_within_the_read_timeout_is_a_timeout(scripted: ScriptedPlatform) -> None:
    scripted.answer = lambda received: Answer(hold=True)
    with PlatformClient(scripted.url, LOCKER_ID, SECRET, read_timeout_s=0.2) as impatient:
        error = failure(lambda: impatient.config())
    assert error.kind is PlatformErrorKind.TIMEOUT and "no reply within 0.2 s" in error.message


def test_a_compressed_reply_is_refused(scripted: ScriptedPlatform, client: PlatformClient) -> None:
    scripted.answer = lambda received: Answer(body=gzip.compress(b'{"commands":[]}'),
                                              headers={"Content-Encoding": "gzip"})
    error = failure(lambda: client.poll_commands(0))
    assert error.kind is PlatformErrorKind.MALFORMED_REPLY and "gzip" in error.message


def test_a_redirect_is_not_followed(scripted: ScriptedPlatform, client: PlatformClient) -> None:
    scripted.answer = lambda received: Answer(302, headers={"Location": "http://127.0.0.1:1/elsewhere"})
    error = failure(lambda: client.poll_commands(0))
    assert error.kind is PlatformErrorKind.HTTP_STATUS and "HTTP 302" in error.message
    assert len(scripted.received) == 1


@pytest.mark.parametrize(("body", "why"), [
    (b"<html>oops</html>", "not JSON"),
    (b'{"accepted": [], "duplicates": [], "rejected": [], "x": NaN}', "NaN is not JSON"),
    (b'{"accepted": [], "accepted": [], "duplicates": [], "rejected": []}', "one key twice"),
    (b'{"accepted": ["\xff"], "duplicates": [], "rejected": []}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nests too deep"),
    (b'{"accepted": [], "duplicates": []}', "lacks rejected"),
    (b'{"accepted": ["46551468-5433-4418-ad72-18629d447b33"], "duplicates": [], "rejected": []}',
     "not a key of this batch"),
    (b'{"accepted": 7, "duplicates": [], "rejected": []}', "not a list"),
])
def test_a_signed_reply_that_is_not_the_contract_is_malformed(
    scripted: ScriptedPlatform, client: PlatformClient, store: SqliteStore, body: bytes, why: str
) -> None:
    fill_outbox(store, 2)
    scripted.answer = lambda received: Answer(body=body)
    error = failure(lambda: client.post_events(store.outbox_batch(10)))
    assert error.kind is PlatformErrorKind.MALFORMED_REPLY
    assert why in error.message


def test_a_key_answered_twice_is_malformed(
    scripted: ScriptedPlatform, client: PlatformClient, store: SqliteStore
) -> None:
    [key] = fill_outbox(store, 1)
    scripted.answer = lambda received: Answer(body={"accepted": [key], "duplicates": [key.upper()],
                                                    "rejected": []})
    assert "listed twice" in failure(lambda: client.post_events(store.outbox_batch(10))).message


@pytest.mark.parametrize(("status", "body", "headers", "kind", "retry_after"), [
    (500, {"code": "internal_error", "message": "The database did not answer."}, {}, "http_status", None),
    (503, {"code": "unavailable", "message": "Maintenance."}, {"Retry-After": "600"}, "http_status", 600.0),
    (429, {"code": "rate_limited", "message": "Slow down.", "retry_after_s": 60}, {"Retry-After": "60"},
     "http_status", 60.0),
    (401, {"code": "stale_timestamp", "message": "X-Timestamp is 412 s behind"}, {}, "unauthorized", None),
    (403, {"code": "locker_disabled", "message": "Disabled."}, {}, "unauthorized", None),
    (422, {"code": "invalid_request", "message": "events[0]: bad"}, {}, "rejected", None),
    (413, {"code": "payload_too_large", "message": "Too big."}, {}, "rejected", None),
    (502, b"<html>Bad gateway</html>", {}, "http_status", None),
])
def test_an_error_status_is_named_with_the_platform_s_reason(
    scripted: ScriptedPlatform, client: PlatformClient, store: SqliteStore, status: int, body: Any,
    headers: dict[str, str], kind: str, retry_after: float | None,
) -> None:
    fill_outbox(store, 2)
    scripted.answer = lambda received: Answer(status, body, headers)
    error = failure(lambda: client.post_events(store.outbox_batch(10)))
    assert (error.kind.value, error.status, error.retry_after_s) == (kind, status, retry_after)
    assert f"HTTP {status}" in error.message
    if isinstance(body, dict):
        assert error.code == body["code"] and body["message"] in error.message
    else:
        assert "unreadable error body" in error.message
    assert error.retryable is (kind != "rejected")


def test_a_dropped_connection_is_unreachable(
    scripted: ScriptedPlatform, client: PlatformClient, store: SqliteStore
) -> None:
    fill_outbox(store, 2)
    scripted.answer = lambda received: Answer(drop=True)
    error = failure(lambda: client.post_events(store.outbox_batch(10)))
    assert error.kind is PlatformErrorKind.UNREACHABLE
    assert "closed connection" in error.message


def test_nothing_listening_is_unreachable_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with PlatformClient(f"http://127.0.0.1:{port}", LOCKER_ID, SECRET) as client:
        started = time.monotonic()
        error = failure(lambda: client.poll_commands(0))
    assert error.kind is PlatformErrorKind.UNREACHABLE and "refused" in error.message.lower()
    assert time.monotonic() - started < 1.0


def test_a_request_over_1_mib_is_refused_before_sending(
    scripted: ScriptedPlatform, client: PlatformClient
) -> None:
    events = [make_event(details={f"note_{index}": "n" * 500 for index in range(20)}) for _ in range(150)]
    error = failure(lambda: client.post_events(events))
    assert (error.kind, error.code) == (PlatformErrorKind.REJECTED, "payload_too_large")
    assert scripted.received == []


def test_unsendable_events_come_back_rejected_and_the_rest_go(
    scripted: ScriptedPlatform, client: PlatformClient
) -> None:
    good, bad = make_event(), make_event(EventKind.DOOR_FAULT, details={})
    reply = client.post_events([bad, good])
    assert reply.accepted == (good.idempotency_key,) and reply.sent == 1
    [rejection] = reply.rejected
    assert (rejection.idempotency_key, rejection.reason) == (bad.idempotency_key, LOCAL_REJECTION)
    assert len(scripted.requests_to("/events")[0].document["events"]) == 1
    assert client.post_events([bad]).sent == 0
    assert len(scripted.received) == 1  # nothing sendable, nothing sent


def test_close_aborts_a_call_in_flight_from_another_thread(
    scripted: ScriptedPlatform, store: SqliteStore
) -> None:
    fill_outbox(store, 2)
    batch = store.outbox_batch(10)
    scripted.answer = lambda received: Answer(hold=True)
    client = PlatformClient(scripted.url, LOCKER_ID, SECRET, read_timeout_s=30.0)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.post_events(batch)
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=call, name="caller")
    caller.start()
    wait_until(lambda: bool(scripted.received), "the request to arrive")
    started = time.monotonic()
    client.close()
    caller.join(timeout=5)
    assert not caller.is_alive() and time.monotonic() - started < 1.0
    [error] = outcome
    assert isinstance(error, PlatformError) and error.kind is PlatformErrorKind.CLOSED
    assert failure(lambda: client.poll_commands(0)).kind is PlatformErrorKind.CLOSED


# commands the client cannot run --------------------------------------------------------------------------

def test_one_bad_command_is_kept_apart_and_the_others_run(
    scripted: ScriptedPlatform, client: PlatformClient
) -> None:
    good = {"command_id": str(uuid.uuid4()), "kind": "sync_now", "issued_at": "2026-03-11T09:20:05Z",
            "expires_at": "2026-03-11T10:20:05+01:00"}
    unknown = {**good, "command_id": str(uuid.uuid4()), "kind": "self_destruct"}
    bad_field = {**good, "command_id": str(uuid.uuid4()), "kind": "open_door", "compartment_id": "C 1",
                 "support_ticket": "SUP-1"}
    scripted.answer = lambda received: Answer(body={"commands": [unknown, good, bad_field, "junk"]})
    first, second, third, fourth = client.poll_commands(5)
    assert isinstance(first, InvalidCommand) and first.command_id == unknown["command_id"]
    assert first.kind == "self_destruct" and "not a command this locker knows" in first.problem
    assert second == SyncNowCommand(good["command_id"], 1_773_220_805.0, 1_773_220_805.0)
    assert isinstance(third, InvalidCommand) and "compartment_id" in third.problem
    assert fourth == InvalidCommand(None, None, "$.commands[3].kind None is not a command this locker knows")
    assert scripted.received[0].path.endswith("/commands?wait=5")


# TLS --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "platform.pem", directory / "platform.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert, key


def test_https_is_verified_against_the_configured_ca_bundle(
    certificate: tuple[Path, Path], store: SqliteStore
) -> None:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    platform = ScriptedPlatform(tls=context).start()
    try:
        assert platform.url.startswith("https://")
        with PlatformClient(platform.url, LOCKER_ID, SECRET) as default_trust:
            error = failure(lambda: default_trust.post_events(every_kind_of_event(store)))
            assert error.kind is PlatformErrorKind.TLS and "certificate" in error.message.lower()
        with PlatformClient(platform.url, LOCKER_ID, SECRET, ca_bundle=str(cert)) as trusting:
            assert trusting.post_events(store.outbox_batch(100)).sent == 6
    finally:
        platform.stop()
    assert not platform.problems, platform.problems


# the whole API against the fake platform ------------------------------------------------------------------

@pytest.fixture
def fake() -> Iterator[FakePlatform]:
    platform = FakePlatform(SECRET, locker_id=LOCKER_ID, code_key=CODE_KEY)
    platform.start()
    yield platform
    platform.stop()


def test_the_whole_api_against_the_fake_platform(fake: FakePlatform, store: SqliteStore) -> None:
    fake.add_expected_parcel(parcel_id="PX-7", code="123456", size="S")
    with PlatformClient(fake.url, LOCKER_ID, SECRET) as client:
        config = client.register("0.1.0", LAYOUT)
        assert config.locker_id == LOCKER_ID and config.layout_compartments == len(LAYOUT)
        assert client.config() == config
        pages = [client.sync(None)]
        while pages[-1].has_more:
            pages.append(client.sync(pages[-1].next_cursor))
        assert pages[0].reset
        parcels = [parcel for page in pages for parcel in page.parcels]
        credentials = [credential for page in pages for credential in page.pickup_credentials]
        assert [(parcel.parcel_id, parcel.size) for parcel in parcels] == [("PX-7", Size.S)]
        assert [credential.code_hash for credential in credentials] == [hash_code(CODE_KEY, "123456")]
        verified = client.verify_code(hash_code(CODE_KEY, "123456"))
        assert isinstance(verified, PickupVerification) and verified.parcels[0].parcel_id == "PX-7"
        assert client.verify_code(hash_code(CODE_KEY, "999999")) is None
        fake.add_return(code="RET12345", size="L")
        returned = client.verify_code(hash_code(CODE_KEY, "RET12345"), "return")
        assert isinstance(returned, ReturnVerification) and returned.return_authorisation.size is Size.L
        ack = client.heartbeat(Health(time.time(), "0.1.0", 10, 2, 2, outbox_depth=3))
        assert abs(ack.server_time - time.time()) < 5 and ack.commands_pending == 0
        assert fake.heartbeats()[0]["outbox"]["depth"] == 3
        command_id = fake.add_command("open_door", compartment_id="C01", support_ticket="SUP-1")
        [command] = client.poll_commands(0)
        assert isinstance(command, OpenDoorCommand) and command.command_id == command_id
        finished = time.time()
        client.post_command_result(command_id, CommandStatus.DONE, finished, None, "Door C01\nopened.")
        client.post_command_result(command_id, CommandStatus.DONE, finished, None, "Door C01\nopened.")
        assert fake.command_results()[0]["message"] == "Door C01 opened."
        error = failure(lambda: client.post_command_result(command_id, CommandStatus.FAILED, time.time(),
                                                           "door_did_not_open", "No."))
        assert (error.kind, error.status, error.code) == (PlatformErrorKind.REJECTED, 409, "conflict")
        events = every_kind_of_event(store)
        first = client.post_events(events)
        again = client.post_events(events)
    assert (len(first.accepted), first.duplicates, first.rejected) == (6, (), ())
    assert (again.accepted, len(again.duplicates)) == ((), 6)
    assert [event["idempotency_key"] for event in fake.events()] == [
        event.idempotency_key for event in events]
    assert [refusal["status"] for refusal in fake.refusals()] == [404, 409]  # the unknown code, the conflict


@pytest.mark.parametrize(("faults", "kind", "applied"), [
    ({"status_500": 1}, PlatformErrorKind.HTTP_STATUS, False),
    ({"drop_connections": 1}, PlatformErrorKind.UNREACHABLE, True),
    ({"malformed_json": 1}, PlatformErrorKind.MALFORMED_REPLY, True),
    ({"bad_signature": 1}, PlatformErrorKind.BAD_SIGNATURE, True),
    ({"huge_body_bytes": 10 * 1024 * 1024}, PlatformErrorKind.TOO_LARGE, True),
    ({"clock_skew_s": 1000.0}, PlatformErrorKind.UNAUTHORIZED, False),
    ({"latency_s": 1.0}, PlatformErrorKind.TIMEOUT, True),
])
def test_each_fault_of_the_fake_platform_is_a_clear_error_and_a_resend_is_safe(
    fake: FakePlatform, store: SqliteStore, faults: dict[str, Any], kind: PlatformErrorKind, applied: bool
) -> None:
    keys = fill_outbox(store, 5)
    batch = store.outbox_batch(10)
    fake.set_faults(**faults)
    with PlatformClient(fake.url, LOCKER_ID, SECRET, read_timeout_s=0.3) as client:
        error = failure(lambda: client.post_events(batch))
        assert error.kind is kind
        fake.set_faults()
        if kind is PlatformErrorKind.TIMEOUT:  # the platform finishes what it was sent after our timeout
            wait_until(lambda: len(fake.events()) == len(keys), "the platform to apply the slow batch")
        reply = client.post_events(batch)
    assert set(reply.duplicates if applied else reply.accepted) == set(keys)
    assert [event["idempotency_key"] for event in fake.events()] == keys


def test_the_locker_id_picks_the_secret(fake: FakePlatform) -> None:
    with PlatformClient(fake.url, "LK-0002", SECRET) as stranger:
        error = failure(lambda: stranger.poll_commands(0))
    assert error.kind is PlatformErrorKind.UNAUTHORIZED

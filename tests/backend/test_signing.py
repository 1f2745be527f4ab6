"""Request and reply signing (kiosk.backend.signing): round trips, every tamper, skew, replay, the bounded
nonce cache, header case, and the golden vectors that openapi.yaml publishes."""

from __future__ import annotations

import threading
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.backend import signing
from kiosk.backend.signing import (
    NonceMemory,
    SignatureError,
    SignatureReason,
    Verifier,
    sign,
    sign_reply,
    verify_reply,
)
from kiosk.core.codes import hash_code

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))
NOW = 1_700_000_000
EVENTS_PATH = "/v1/lockers/LK-0001/events"
BODY = b'{"events":[{"kind":"deposited"}]}'


class ManualClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_verifier(clock: ManualClock | None = None, capacity: int = 1000, secret: bytes = SECRET) -> Verifier:
    return Verifier(secret, clock=clock or ManualClock(), nonce_memory=NonceMemory(capacity))


def refusal(
    verifier: Verifier, method: str, path: str, body: bytes, headers: dict[str, str]
) -> SignatureReason:
    with pytest.raises(SignatureError) as caught:
        verifier.verify(method, path, body, headers)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(caught.value.reason.value + ": ")
    return caught.value.reason


# round trips -------------------------------------------------------------------------------------

def test_a_signed_post_verifies() -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    assert set(headers) == {"X-Timestamp", "X-Nonce", "X-Content-SHA256", "X-Signature"}
    make_verifier().verify("POST", EVENTS_PATH, BODY, headers)


def test_a_signed_get_with_a_query_and_no_body_verifies() -> None:
    path = "/v1/lockers/LK-0001/sync?cursor=c-42&limit=500"
    headers = sign(SECRET, "GET", path, b"", timestamp=NOW)
    assert headers["X-Content-SHA256"] == signing.EMPTY_BODY_SHA256
    make_verifier().verify("GET", path, b"", headers)


def test_sign_adds_the_locker_id_when_asked_and_the_platform_reads_it_in_any_case() -> None:
    headers = sign(SECRET, "GET", "/v1/lockers/LK-0001/config", b"", locker_id="LK-0001")
    assert headers["X-Locker-Id"] == "LK-0001"
    assert signing.requested_locker_id({"x-locker-id": "LK-0001"}) == "LK-0001"
    with pytest.raises(SignatureError) as caught:
        signing.requested_locker_id({})
    assert caught.value.reason is SignatureReason.MISSING_HEADER
    with pytest.raises(SignatureError) as caught:
        signing.requested_locker_id({"X-LOCKER-ID": "LK 0001"})
    assert caught.value.reason is SignatureReason.MALFORMED


def test_fresh_nonces_and_the_current_time_are_used_by_default() -> None:
    first = sign(SECRET, "GET", "/v1/lockers/LK-0001/config", b"")
    second = sign(SECRET, "GET", "/v1/lockers/LK-0001/config", b"")
    assert first["X-Nonce"] != second["X-Nonce"]
    assert len(first["X-Nonce"]) == 32 and int(first["X-Nonce"], 16) >= 0  # 128 bits as hex
    Verifier(SECRET).verify("GET", "/v1/lockers/LK-0001/config", b"", first)  # real clock


@pytest.mark.parametrize("spelling", [str.lower, str.upper, lambda name: name.swapcase()])
def test_header_names_match_in_any_case(spelling: object) -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    assert callable(spelling)
    respelled = {spelling(name): value for name, value in headers.items()}
    make_verifier().verify("POST", EVENTS_PATH, BODY, respelled)


def test_upper_case_hex_and_surrounding_spaces_in_header_values_are_accepted() -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    headers["X-Signature"] = headers["X-Signature"].upper()
    headers["X-Content-SHA256"] = f" {headers['X-Content-SHA256'].upper()} "
    make_verifier().verify("POST", EVENTS_PATH, BODY, headers)


def test_a_base64url_nonce_is_accepted() -> None:
    nonce = "AAECAwQFBgcICQoLDA0ODw"  # the 16 bytes 00..0f in base64url
    headers = sign(SECRET, "GET", "/v1/lockers/LK-0001/config", b"", timestamp=NOW, nonce=nonce)
    make_verifier().verify("GET", "/v1/lockers/LK-0001/config", b"", headers)


def test_the_method_is_compared_in_upper_case() -> None:
    headers = sign(SECRET, "post", EVENTS_PATH, BODY, timestamp=NOW)
    make_verifier().verify("POST", EVENTS_PATH, BODY, headers)


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=2048),
    path=st.from_regex(r"/v1/[\x21-\x7e]{0,80}", fullmatch=True),
    method=st.sampled_from(["GET", "POST", "PUT"]),
    offset=st.integers(min_value=-300, max_value=300),
)
def test_any_body_and_path_round_trip(body: bytes, path: str, method: str, offset: int) -> None:
    headers = sign(SECRET, method, path, body, timestamp=NOW + offset)
    make_verifier().verify(method, path, body, headers)


@settings(max_examples=60, deadline=None)
@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_any_changed_byte_of_the_body_is_caught(body: bytes, data: st.DataObject) -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, body, timestamp=NOW)
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    changed = body[:index] + bytes([body[index] ^ flip]) + body[index + 1:]
    assert refusal(make_verifier(), "POST", EVENTS_PATH, changed, headers) is SignatureReason.BAD_BODY_HASH


# tampering ---------------------------------------------------------------------------------------

def _flip_hex_digit(text: str) -> str:
    return ("0" if text[0] != "0" else "1") + text[1:]


TAMPERS = {
    "method": ("PUT", EVENTS_PATH, BODY, {}),
    "path": ("POST", "/v1/lockers/LK-0002/events", BODY, {}),
    "query added": ("POST", EVENTS_PATH + "?x=1", BODY, {}),
    "path case": ("POST", EVENTS_PATH.upper(), BODY, {}),
    "timestamp by one second": ("POST", EVENTS_PATH, BODY, {"X-Timestamp": str(NOW + 1)}),
    "timestamp far off": ("POST", EVENTS_PATH, BODY, {"X-Timestamp": str(NOW - 10_000)}),
    "nonce": ("POST", EVENTS_PATH, BODY, {"X-Nonce": "ffeeddccbbaa99887766554433221100"}),
}


@pytest.mark.parametrize("tamper", TAMPERS, ids=list(TAMPERS))
def test_a_tampered_request_is_refused_as_a_bad_signature(tamper: str) -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW, nonce="00112233445566778899aabbccddeeff")
    method, path, body, replaced = TAMPERS[tamper]
    headers.update(replaced)
    assert refusal(make_verifier(), method, path, body, headers) is SignatureReason.BAD_SIGNATURE


def test_a_tampered_query_value_is_refused() -> None:
    headers = sign(SECRET, "GET", "/v1/lockers/LK-0001/sync?cursor=c-42", b"", timestamp=NOW)
    verifier = make_verifier()
    path = "/v1/lockers/LK-0001/sync?cursor=c-41"
    assert refusal(verifier, "GET", path, b"", headers) is SignatureReason.BAD_SIGNATURE


def test_percent_encoding_is_part_of_what_is_signed() -> None:
    headers = sign(SECRET, "GET", "/v1/lockers/LK-0001/sync?cursor=a%7Eb", b"", timestamp=NOW)
    verifier = make_verifier()
    assert refusal(verifier, "GET", "/v1/lockers/LK-0001/sync?cursor=a~b", b"", headers) is (
        SignatureReason.BAD_SIGNATURE
    )


def test_a_changed_body_is_refused_as_a_bad_body_hash() -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    reason = refusal(make_verifier(), "POST", EVENTS_PATH, BODY + b" ", headers)
    assert reason is SignatureReason.BAD_BODY_HASH


def test_a_changed_body_with_a_recomputed_hash_is_refused_as_a_bad_signature() -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    forged = b'{"events":[]}'
    headers["X-Content-SHA256"] = signing.body_sha256(forged)
    assert refusal(make_verifier(), "POST", EVENTS_PATH, forged, headers) is SignatureReason.BAD_SIGNATURE


def test_a_changed_signature_is_refused() -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    headers["X-Signature"] = _flip_hex_digit(headers["X-Signature"])
    assert refusal(make_verifier(), "POST", EVENTS_PATH, BODY, headers) is SignatureReason.BAD_SIGNATURE


def test_a_request_signed_with_another_secret_is_refused() -> None:
    headers = sign(OTHER_SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    assert refusal(make_verifier(), "POST", EVENTS_PATH, BODY, headers) is SignatureReason.BAD_SIGNATURE


@pytest.mark.parametrize("name", ["X-Timestamp", "X-Nonce", "X-Content-SHA256", "X-Signature"])
def test_a_missing_header_is_named(name: str) -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    del headers[name]
    with pytest.raises(SignatureError) as caught:
        make_verifier().verify("POST", EVENTS_PATH, BODY, headers)
    assert caught.value.reason is SignatureReason.MISSING_HEADER
    assert name in str(caught.value)


MALFORMED_HEADERS = {
    "negative timestamp": ("X-Timestamp", "-1700000000"),
    "leading zero": ("X-Timestamp", "01700000000"),
    "fractional timestamp": ("X-Timestamp", "1700000000.5"),
    "timestamp in words": ("X-Timestamp", "yesterday"),
    "huge timestamp": ("X-Timestamp", "9" * 40),
    "short nonce": ("X-Nonce", "00112233"),
    "padded base64 nonce": ("X-Nonce", "AAECAwQFBgcICQoLDA0ODw=="),
    "nonce with a line feed": ("X-Nonce", "0011223344556677\n8899aabbccddeeff"),
    "short body hash": ("X-Content-SHA256", "ab" * 31),
    "signature not hex": ("X-Signature", "zz" * 32),
    "empty signature": ("X-Signature", ""),
}


@pytest.mark.parametrize("case", MALFORMED_HEADERS, ids=list(MALFORMED_HEADERS))
def test_a_malformed_header_is_refused(case: str) -> None:
    name, value = MALFORMED_HEADERS[case]
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    headers[name] = value
    assert refusal(make_verifier(), "POST", EVENTS_PATH, BODY, headers) is SignatureReason.MALFORMED


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "v1/lockers/LK-0001/config"),  # not origin-form
        ("GET", "https://platform.example.net/v1/lockers/LK-0001/config"),
        ("GET", "/v1/lockers/LK-0001/config\nX"),
        ("GET", "/v1/lockers/LK 0001/config"),
        ("GET", "/v1/lockers/LK-0001/cönfig"),
        ("GET", "/" + "a" * signing.MAX_PATH_CHARS),
        ("G3T", "/v1/lockers/LK-0001/config"),
        ("", "/v1/lockers/LK-0001/config"),
    ],
)
def test_a_malformed_method_or_path_is_refused(method: str, path: str) -> None:
    headers = sign(SECRET, "GET", "/v1/lockers/LK-0001/config", b"", timestamp=NOW)
    assert refusal(make_verifier(), method, path, b"", headers) is SignatureReason.MALFORMED


def test_the_same_header_twice_with_different_values_is_malformed() -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    doubled = {**headers, "x-nonce": "ffeeddccbbaa99887766554433221100"}
    assert refusal(make_verifier(), "POST", EVENTS_PATH, BODY, doubled) is SignatureReason.MALFORMED
    same = {**headers, "x-nonce": headers["X-Nonce"]}
    make_verifier().verify("POST", EVENTS_PATH, BODY, same)


def test_a_header_value_that_is_not_text_is_malformed() -> None:
    headers: dict[str, object] = dict(sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW))
    headers["X-Timestamp"] = NOW
    assert refusal(make_verifier(), "POST", EVENTS_PATH, BODY, headers) is SignatureReason.MALFORMED  # type: ignore[arg-type]


# skew --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_within_the_skew_window_are_accepted(offset: int) -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW + offset)
    make_verifier(ManualClock(NOW)).verify("POST", EVENTS_PATH, BODY, headers)


@pytest.mark.parametrize(("offset", "word"), [(-301, "behind"), (301, "ahead of"), (-86_400, "behind")])
def test_timestamps_beyond_the_skew_window_are_stale_either_way(offset: int, word: str) -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW + offset)
    with pytest.raises(SignatureError) as caught:
        make_verifier(ManualClock(NOW)).verify("POST", EVENTS_PATH, BODY, headers)
    assert caught.value.reason is SignatureReason.STALE_TIMESTAMP
    assert f"{abs(offset)} s {word}" in str(caught.value)


def test_the_skew_window_is_configurable() -> None:
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW - 31)
    strict = Verifier(SECRET, max_skew_s=30, clock=ManualClock(NOW))
    assert refusal(strict, "POST", EVENTS_PATH, BODY, headers) is SignatureReason.STALE_TIMESTAMP


# replay ------------------------------------------------------------------------------------------

def test_a_replayed_request_is_refused() -> None:
    verifier = make_verifier()
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    verifier.verify("POST", EVENTS_PATH, BODY, headers)
    assert refusal(verifier, "POST", EVENTS_PATH, BODY, headers) is SignatureReason.REPLAYED_NONCE


def test_a_replay_stays_refused_for_the_whole_window_and_is_stale_after_it() -> None:
    clock = ManualClock(NOW)
    verifier = make_verifier(clock)
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    verifier.verify("POST", EVENTS_PATH, BODY, headers)
    for now in (NOW + 1, NOW + 150, NOW + 300):
        clock.now = now
        assert refusal(verifier, "POST", EVENTS_PATH, BODY, headers) is SignatureReason.REPLAYED_NONCE
    clock.now = NOW + 301
    assert refusal(verifier, "POST", EVENTS_PATH, BODY, headers) is SignatureReason.STALE_TIMESTAMP


def test_a_request_from_the_future_is_remembered_until_it_is_stale() -> None:
    clock = ManualClock(NOW)
    verifier = make_verifier(clock)
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW + 299)
    verifier.verify("POST", EVENTS_PATH, BODY, headers)
    clock.now = NOW + 599
    assert refusal(verifier, "POST", EVENTS_PATH, BODY, headers) is SignatureReason.REPLAYED_NONCE


def test_refused_requests_leave_no_nonce_behind() -> None:
    verifier = make_verifier()
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    forged = {**headers, "X-Signature": _flip_hex_digit(headers["X-Signature"])}
    for _ in range(50):
        refusal(verifier, "POST", EVENTS_PATH, BODY, forged)
    assert len(verifier.nonce_memory) == 0
    verifier.verify("POST", EVENTS_PATH, BODY, headers)  # the genuine request still gets through


def test_a_request_sent_by_many_threads_at_once_is_accepted_exactly_once() -> None:
    verifier = make_verifier()
    headers = sign(SECRET, "POST", EVENTS_PATH, BODY, timestamp=NOW)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait(timeout=5)
        try:
            verifier.verify("POST", EVENTS_PATH, BODY, headers)
            outcome = "accepted"
        except SignatureError as error:
            outcome = error.reason.value
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(outcomes) == ["accepted"] + ["replayed_nonce"] * 7


# the bounded nonce cache -------------------------------------------------------------------------

def test_a_full_cache_refuses_new_requests_with_a_retry_time_and_frees_as_nonces_expire() -> None:
    clock = ManualClock(NOW)
    verifier = make_verifier(clock, capacity=100)
    for index in range(100):
        headers = sign(SECRET, "GET", f"/v1/lockers/LK-0001/config?n={index}", b"", timestamp=NOW + index)
        verifier.verify("GET", f"/v1/lockers/LK-0001/config?n={index}", b"", headers)
    late = sign(SECRET, "GET", "/v1/lockers/LK-0001/config", b"", timestamp=NOW)
    with pytest.raises(SignatureError) as caught:
        verifier.verify("GET", "/v1/lockers/LK-0001/config", b"", late)
    assert caught.value.reason is SignatureReason.NONCE_CACHE_FULL
    assert caught.value.retry_after_s == 300  # the first nonce (timestamp NOW) lives until NOW + 300
    assert len(verifier.nonce_memory) == 100
    clock.now = NOW + 300.5  # the first nonce has left the window, and so has the refused request
    stale = refusal(verifier, "GET", "/v1/lockers/LK-0001/config", b"", late)
    assert stale is SignatureReason.STALE_TIMESTAMP
    retry = sign(SECRET, "GET", "/v1/lockers/LK-0001/config", b"", timestamp=NOW + 300)
    verifier.verify("GET", "/v1/lockers/LK-0001/config", b"", retry)
    assert len(verifier.nonce_memory) == 100


def test_the_cache_stays_within_its_capacity_under_a_flood() -> None:
    clock = ManualClock(NOW)
    memory = NonceMemory(capacity=500)
    accepted = refused = 0
    for index in range(5000):
        clock.now = NOW + index * 0.5  # 2 requests a second against a 300 s window: more than 500 live
        try:
            memory.remember(f"{index:032x}", expires_at=clock.now + 300, now=clock.now)
            accepted += 1
        except SignatureError as error:
            assert error.reason is SignatureReason.NONCE_CACHE_FULL
            refused += 1
        assert len(memory) <= 500
    assert accepted >= 500 and refused > 0


def test_the_cache_memory_does_not_grow_with_refused_or_expired_nonces() -> None:
    clock = ManualClock(NOW)
    tracemalloc.start()
    try:
        memory = NonceMemory(capacity=2000)
        for index in range(2000):
            memory.remember(f"a{index:031x}", expires_at=NOW + 300, now=clock.now)
        baseline, _ = tracemalloc.get_traced_memory()  # a full cache
        refused = 0
        for index in range(20_000):  # a flood against a full cache
            try:
                memory.remember(f"b{index:031x}", expires_at=NOW + 300, now=clock.now)
            except SignatureError:
                refused += 1
        for round_number in range(5):  # and rounds of expiry and refill
            clock.now += 301
            for index in range(2000):
                memory.remember(f"c{round_number}{index:030x}", expires_at=clock.now + 300, now=clock.now)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused == 20_000 and len(memory) == 2000
    assert baseline > 0
    assert after - baseline < baseline // 10, f"a full cache of {baseline} bytes grew by {after - baseline}"


def test_nonce_memory_arguments_are_checked() -> None:
    for capacity in (0, -1, True, 1.5):
        with pytest.raises(ValueError):
            NonceMemory(capacity)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Verifier(SECRET, max_skew_s=-1)
    with pytest.raises(ValueError):
        Verifier(b"short")


# replies -----------------------------------------------------------------------------------------

NONCE = "00112233445566778899aabbccddeeff"


def test_a_signed_reply_verifies_and_hands_back_the_platform_time() -> None:
    body = b'{"accepted":[],"duplicates":[],"rejected":[]}'
    headers = sign_reply(SECRET, "POST", EVENTS_PATH, NONCE, 200, body, timestamp=NOW + 5)
    assert set(headers) == {"X-Timestamp", "X-Content-SHA256", "X-Signature"}
    lowered = {name.lower(): value for name, value in headers.items()}
    assert verify_reply(SECRET, "POST", EVENTS_PATH, NONCE, 200, body, lowered) == NOW + 5


def test_an_empty_reply_verifies() -> None:
    headers = sign_reply(SECRET, "POST", "/v1/lockers/LK-0001/commands/x/result", NONCE, 204, b"")
    verify_reply(SECRET, "POST", "/v1/lockers/LK-0001/commands/x/result", NONCE, 204, b"", headers)


REPLY_TAMPERS = {
    "another request's nonce": ("POST", EVENTS_PATH, "ffeeddccbbaa99887766554433221100", 200),
    "another path": ("POST", "/v1/lockers/LK-0001/heartbeat", NONCE, 200),
    "another method": ("GET", EVENTS_PATH, NONCE, 200),
    "another status": ("POST", EVENTS_PATH, NONCE, 500),
}


@pytest.mark.parametrize("tamper", REPLY_TAMPERS, ids=list(REPLY_TAMPERS))
def test_a_reply_cannot_be_replayed_for_another_request(tamper: str) -> None:
    body = b'{"commands":[]}'
    headers = sign_reply(SECRET, "POST", EVENTS_PATH, NONCE, 200, body, timestamp=NOW)
    method, path, nonce, status = REPLY_TAMPERS[tamper]
    with pytest.raises(SignatureError) as caught:
        verify_reply(SECRET, method, path, nonce, status, body, headers)
    assert caught.value.reason is SignatureReason.BAD_SIGNATURE


def test_a_tampered_or_forged_reply_is_refused() -> None:
    body = b'{"commands":[]}'
    headers = sign_reply(SECRET, "GET", "/v1/lockers/LK-0001/commands", NONCE, 200, body, timestamp=NOW)

    def reason(body: bytes, headers: dict[str, str], secret: bytes = SECRET) -> SignatureReason:
        with pytest.raises(SignatureError) as caught:
            verify_reply(secret, "GET", "/v1/lockers/LK-0001/commands", NONCE, 200, body, headers)
        return caught.value.reason

    assert reason(b'{"commands":[{}]}', headers) is SignatureReason.BAD_BODY_HASH
    assert reason(body, {**headers, "X-Timestamp": str(NOW + 1)}) is SignatureReason.BAD_SIGNATURE
    assert reason(body, headers, secret=OTHER_SECRET) is SignatureReason.BAD_SIGNATURE
    unsigned = {name: value for name, value in headers.items() if name != "X-Signature"}
    assert reason(body, unsigned) is SignatureReason.MISSING_HEADER
    assert reason(body, {}) is SignatureReason.MISSING_HEADER
    assert reason(body, {**headers, "X-Timestamp": "soon"}) is SignatureReason.MALFORMED


def test_a_request_signature_is_never_a_valid_reply_signature() -> None:
    request = sign(SECRET, "GET", "/v1/lockers/LK-0001/commands", b"", timestamp=NOW, nonce=NONCE)
    with pytest.raises(SignatureError) as caught:
        verify_reply(SECRET, "GET", "/v1/lockers/LK-0001/commands", NONCE, 200, b"", request)
    assert caught.value.reason is SignatureReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    "arguments",
    [
        {"secret": b"too short"},
        {"method": "GE T"},
        {"path": "no-slash"},
        {"path": "/with space"},
        {"timestamp": -1},
        {"timestamp": True},
        {"nonce": "short"},
        {"nonce": "has/a/slash/which/is/not/base64url"},
        {"locker_id": "LK_0001"},
    ],
)
def test_sign_refuses_arguments_that_could_never_verify(arguments: dict[str, object]) -> None:
    call: dict[str, object] = {"secret": SECRET, "method": "GET", "path": "/v1/x", "body": b""}
    call.update(arguments)
    with pytest.raises(ValueError):
        sign(**call)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [99, 600, True])
def test_sign_reply_refuses_a_status_that_is_not_http(status: int) -> None:
    with pytest.raises(ValueError):
        sign_reply(SECRET, "GET", "/v1/x", NONCE, status, b"")


# golden vectors (also published in openapi.yaml's description) ------------------------------------

GOLDEN_CODE_KEY = bytes(range(32, 64))
GOLDEN_CODE_HASH = "e0274d210ae0c2d1d93c6d9861991885fc9ba88c551e972ad5df7a706492d896"
GOLDEN_VERIFY_BODY = b'{"code_hash":"' + GOLDEN_CODE_HASH.encode() + b'","kind":"pickup"}'


def test_golden_code_hash() -> None:
    assert hash_code(GOLDEN_CODE_KEY, "123456").hex() == GOLDEN_CODE_HASH


def test_golden_vector_of_a_post() -> None:
    headers = sign(SECRET, "POST", "/v1/lockers/LK-0001/verify", GOLDEN_VERIFY_BODY,
                   timestamp=1700000000, nonce="00112233445566778899aabbccddeeff", locker_id="LK-0001")
    assert len(GOLDEN_VERIFY_BODY) == 96
    assert headers == {
        "X-Locker-Id": "LK-0001",
        "X-Timestamp": "1700000000",
        "X-Nonce": "00112233445566778899aabbccddeeff",
        "X-Content-SHA256": "7290af15f21e0ca402ff886795c75f456e6f32bf9c3b14aaef3890b6597f3f91",
        "X-Signature": "2d53467dffa94bd12262daceecade6421d6d764c6a2d0ff6f6404037cba448b8",
    }


def test_golden_vector_of_a_get_with_a_base64url_nonce() -> None:
    headers = sign(SECRET, "GET", "/v1/lockers/LK-0001/sync?cursor=c-42&limit=500", b"",
                   timestamp=1700000001, nonce="AAECAwQFBgcICQoLDA0ODw")
    assert headers["X-Content-SHA256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert headers["X-Signature"] == "2b9047d00049bf10814d9f952087949c9403c1d903243ab84f01c3781d3527d8"


def test_golden_vector_of_a_reply() -> None:
    body = b'{"code":"not_found","message":"No parcel matches this code."}'
    headers = sign_reply(SECRET, "POST", "/v1/lockers/LK-0001/verify", "00112233445566778899aabbccddeeff",
                         404, body, timestamp=1700000002)
    assert headers == {
        "X-Timestamp": "1700000002",
        "X-Content-SHA256": "ad306a99161d99814e03e268a8b931fd4133564ca4bd80e90a3fadf9b514a6ad",
        "X-Signature": "59ca933610f3354ca5f008a73872425f36accb216d20efacd0fe39c060f1c3e3",
    }


def test_the_canonical_strings_are_as_documented() -> None:
    assert signing.canonical_request("get", "/v1/x?a=1", "AB" * 32, 5, "n" * 22) == (
        "GET\n/v1/x?a=1\n" + "ab" * 32 + "\n5\n" + "n" * 22
    )
    assert signing.canonical_reply(204, "post", "/v1/x", "n" * 22, "ab" * 32, 7) == (
        "reply\n204\nPOST\n/v1/x\n" + "n" * 22 + "\n" + "ab" * 32 + "\n7"
    )

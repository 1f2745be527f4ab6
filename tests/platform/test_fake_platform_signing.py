"""The fake platform's signing: signed requests accepted and answered with replies signed for their nonce;
unsigned, tampered, stale, replayed and foreign requests refused with 401 naming the reason, signed wherever
the contract says the platform can sign."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from platform_client import BASE, LOCKER, SECRET, SignedClient

from kiosk.backend import signing
from kiosk.backend.signing import SignatureError, SignatureReason
from kiosk.testing.fake_platform import FakePlatform

CONFIG = f"{BASE}/config"
VERIFY = f"{BASE}/verify"
REPLY_HEADERS = (signing.HEADER_TIMESTAMP, signing.HEADER_CONTENT_SHA256, signing.HEADER_SIGNATURE)


def test_a_signed_request_gets_a_reply_signed_for_its_nonce(
    platform: FakePlatform, client: SignedClient
) -> None:
    before = int(time.time())
    exchange = client.call("GET", CONFIG)
    assert exchange.status == 200
    assert exchange.json()["locker_id"] == LOCKER
    assert exchange.reply_timestamp is not None and before - 1 <= exchange.reply_timestamp <= time.time() + 1
    # The same reply does not verify as the answer to another request: it is bound to method, path, nonce.
    response = exchange.response
    other_nonce = "f" * 32
    with pytest.raises(SignatureError) as refused:
        signing.verify_reply(SECRET, "GET", CONFIG, other_nonce, 200, response.content, response.headers)
    assert refused.value.reason is SignatureReason.BAD_SIGNATURE
    with pytest.raises(SignatureError):
        signing.verify_reply(SECRET, "GET", f"{BASE}/sync", exchange.nonce or "", 200, response.content,
                             response.headers)


def test_the_golden_vector_request_is_accepted_as_signed(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_expected_parcel(parcel_id="PX-2026-000184", code="123456")
    body = b'{"code_hash":"e0274d210ae0c2d1d93c6d9861991885fc9ba88c551e972ad5df7a706492d896","kind":"pickup"}'
    exchange = client.call("POST", VERIFY, raw_body=body)
    assert exchange.status == 200
    assert exchange.json()["parcels"][0]["parcel_id"] == "PX-2026-000184"


def _refusal(exchange_json: dict[str, object], reason: str) -> None:
    assert exchange_json["code"] == reason
    assert isinstance(exchange_json["message"], str) and exchange_json["message"]


def test_an_unsigned_request_is_refused_unsigned(client: SignedClient) -> None:
    exchange = client.call("GET", CONFIG, sign=False, verify=False)
    assert exchange.status == 401
    _refusal(exchange.json(), "missing_header")
    assert "X-Locker-Id" in exchange.json()["message"]
    # It names no locker, so the platform has no secret to sign with.
    assert not any(name in exchange.response.headers for name in REPLY_HEADERS)


def test_a_request_without_its_signature_is_refused_and_the_refusal_signed(client: SignedClient) -> None:
    def drop_signature(headers: dict[str, str]) -> None:
        del headers[signing.HEADER_SIGNATURE]

    exchange = client.call("GET", CONFIG, tamper=drop_signature)  # the reply still verifies
    assert exchange.status == 401
    _refusal(exchange.json(), "missing_header")
    assert "X-Signature" in exchange.json()["message"]


def test_an_unknown_locker_is_refused_unsigned(platform: FakePlatform) -> None:
    stranger = SignedClient(platform, locker_id="LK-9999")
    try:
        exchange = stranger.call("GET", "/v1/lockers/LK-9999/config", verify=False)
    finally:
        stranger.close()
    assert exchange.status == 401
    _refusal(exchange.json(), "unknown_locker")
    assert not any(name in exchange.response.headers for name in REPLY_HEADERS)


def test_a_request_signed_with_another_secret_is_refused(platform: FakePlatform) -> None:
    impostor = SignedClient(platform, secret=b"\x55" * 32)
    try:
        exchange = impostor.call("GET", CONFIG, verify=False)
    finally:
        impostor.close()
    assert exchange.status == 401
    _refusal(exchange.json(), "bad_signature")
    # Signed with the locker's real secret, so the impostor cannot verify it and the locker could.
    signing.verify_reply(SECRET, "GET", CONFIG, exchange.nonce or "", 401, exchange.response.content,
                         exchange.response.headers)


def test_a_tampered_body_is_refused(client: SignedClient) -> None:
    body = {"code_hash": "a" * 64, "kind": "pickup"}
    signed = signing.sign(SECRET, "POST", VERIFY, b'{"code_hash":"' + b"a" * 64 + b'","kind":"pickup"}',
                          locker_id=LOCKER)
    exchange = client.call("POST", VERIFY, {**body, "kind": "return"}, sign=False, headers=signed)
    assert exchange.status == 401
    _refusal(exchange.json(), "bad_body_hash")


def test_a_tampered_path_is_refused(client: SignedClient) -> None:
    signed = signing.sign(SECRET, "GET", f"{BASE}/sync?limit=5", b"", locker_id=LOCKER)
    exchange = client.call("GET", f"{BASE}/sync?limit=6", sign=False, headers=signed)
    assert exchange.status == 401
    _refusal(exchange.json(), "bad_signature")


def test_malformed_signing_headers_are_refused(client: SignedClient) -> None:
    def bad_timestamp(headers: dict[str, str]) -> None:
        headers[signing.HEADER_TIMESTAMP] = "0170000000"

    exchange = client.call("GET", CONFIG, tamper=bad_timestamp)
    assert exchange.status == 401
    _refusal(exchange.json(), "malformed")


def test_a_malformed_nonce_is_refused_unsigned(client: SignedClient) -> None:
    def short_nonce(headers: dict[str, str]) -> None:
        headers[signing.HEADER_NONCE] = "abc"

    # The canonical reply holds the request's nonce: with none usable, the reply cannot be signed.
    exchange = client.call("GET", CONFIG, tamper=short_nonce, verify=False)
    assert exchange.status == 401
    _refusal(exchange.json(), "malformed")
    assert signing.HEADER_SIGNATURE not in exchange.response.headers


@pytest.mark.parametrize("offset_s", [-400, 400])
def test_a_stale_timestamp_is_refused_either_way(client: SignedClient, offset_s: int) -> None:
    exchange = client.call("GET", CONFIG, timestamp=int(time.time()) + offset_s)
    assert exchange.status == 401
    _refusal(exchange.json(), "stale_timestamp")
    assert ("behind" if offset_s < 0 else "ahead of") in exchange.json()["message"]


def test_a_timestamp_within_the_window_is_accepted(client: SignedClient) -> None:
    assert client.call("GET", CONFIG, timestamp=int(time.time()) - 250).status == 200


def test_a_replayed_request_is_refused(client: SignedClient) -> None:
    headers = signing.sign(SECRET, "GET", CONFIG, b"", locker_id=LOCKER)
    assert client.call("GET", CONFIG, sign=False, headers=headers, verify=False).status == 200
    replay = client.call("GET", CONFIG, sign=False, headers=headers, verify=False)
    assert replay.status == 401
    _refusal(replay.json(), "replayed_nonce")
    signing.verify_reply(SECRET, "GET", CONFIG, headers[signing.HEADER_NONCE], 401, replay.response.content,
                         replay.response.headers)


def test_another_lockers_path_is_forbidden(client: SignedClient) -> None:
    exchange = client.call("GET", "/v1/lockers/LK-0002/config")
    assert exchange.status == 403
    _refusal(exchange.json(), "locker_mismatch")


def test_a_full_nonce_cache_answers_429_with_retry_after(tmp_path: Path) -> None:
    with FakePlatform(SECRET, database=tmp_path / "p.sqlite", locker_id=LOCKER, nonce_capacity=2) as platform:
        client = SignedClient(platform)
        try:
            assert [client.call("GET", CONFIG).status for _ in range(2)] == [200, 200]
            exchange = client.call("GET", CONFIG)
        finally:
            client.close()
    assert exchange.status == 429
    _refusal(exchange.json(), "nonce_cache_full")
    retry_after = int(exchange.response.headers["Retry-After"])
    assert 1 <= retry_after <= 301 and exchange.json()["retry_after_s"] == retry_after


def test_every_refusal_is_listed(platform: FakePlatform, client: SignedClient) -> None:
    client.call("GET", CONFIG, sign=False, verify=False)
    client.call("GET", "/v1/lockers/LK-0002/config")
    assert [(refusal["status"], refusal["code"]) for refusal in platform.refusals()] == [
        (401, "missing_header"), (403, "locker_mismatch")]
    assert platform.requests_seen() == 2

"""Fault injection: latency, 500s, dropped connections, malformed JSON, wrong reply signatures, clock skew and
huge bodies, each counted down per request, and what the platform kept of a request whose reply was spoilt."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
import requests
from platform_client import BASE, SECRET, SignedClient, event, wait_until

from kiosk.backend import signing
from kiosk.backend.signing import SignatureError, SignatureReason
from kiosk.testing.fake_platform import FakePlatform, Faults

CONFIG = f"{BASE}/config"
EVENTS = f"{BASE}/events"


def _batch() -> dict[str, list[dict[str, object]]]:
    return {"events": [event(key=str(uuid.uuid4()))]}


def test_latency_delays_every_reply(platform: FakePlatform, client: SignedClient) -> None:
    platform.set_faults(latency_s=0.5)
    started = time.monotonic()
    assert client.call("GET", CONFIG).status == 200
    assert time.monotonic() - started >= 0.5
    platform.set_faults()
    started = time.monotonic()
    client.call("GET", CONFIG)
    assert time.monotonic() - started < 0.5


def test_stop_cuts_latency_short(platform: FakePlatform, client: SignedClient) -> None:
    platform.set_faults(latency_s=60)
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(client.call("GET", CONFIG).status))
    thread.start()
    try:
        wait_until(lambda: platform.requests_seen() == 1)
        started = time.monotonic()
        platform.stop()
        assert time.monotonic() - started < 3
    finally:
        thread.join(timeout=10)
    assert outcome == [200]


def test_status_500_answers_the_next_requests_and_applies_nothing(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.set_faults(status_500=2)
    batch = _batch()
    for _ in range(2):
        exchange = client.call("POST", EVENTS, batch)  # signed, and as the contract has it
        assert exchange.status == 500 and exchange.json()["code"] == "internal_error"
        assert "status_500" in exchange.json()["message"]
    assert platform.events() == []
    assert client.call("POST", EVENTS, batch).json()["accepted"] == [batch["events"][0]["idempotency_key"]]
    assert platform.event_deliveries() == 3
    assert platform.faults() == Faults()


def test_a_dropped_connection_loses_the_reply_not_the_events(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.set_faults(drop_connections=1)
    batch = _batch()
    with pytest.raises(requests.ConnectionError):
        client.call("POST", EVENTS, batch)
    # The platform applied the batch before the connection dropped: the resend is a duplicate.
    assert platform.events() == batch["events"]
    assert client.call("POST", EVENTS, batch).json()["duplicates"] == [batch["events"][0]["idempotency_key"]]
    assert platform.events() == batch["events"] and platform.event_deliveries() == 2


def test_malformed_json_is_correctly_signed_so_only_parsing_catches_it(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.set_faults(malformed_json=1)
    exchange = client.call("GET", CONFIG, check_contract=False)  # the signature verifies
    assert exchange.status == 200 and exchange.response.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(exchange.response.content)
    assert client.call("GET", CONFIG).status == 200


def test_a_wrong_reply_signature_fails_verification(platform: FakePlatform, client: SignedClient) -> None:
    platform.set_faults(bad_signature=1)
    batch = _batch()
    exchange = client.call("POST", EVENTS, batch, verify=False)
    assert exchange.status == 200
    with pytest.raises(SignatureError) as refused:
        signing.verify_reply(SECRET, "POST", EVENTS, exchange.nonce or "", 200, exchange.response.content,
                             exchange.response.headers)
    assert refused.value.reason is SignatureReason.BAD_SIGNATURE
    assert platform.events() == batch["events"]  # applied; a locker that distrusts the reply resends
    assert client.call("POST", EVENTS, batch).json()["duplicates"] == [batch["events"][0]["idempotency_key"]]


def test_a_command_with_a_wrong_signature_does_not_verify(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_command("open_door", compartment_id="02")
    platform.set_faults(bad_signature=1)
    forged = client.call("GET", f"{BASE}/commands?wait=0", verify=False)
    with pytest.raises(SignatureError):
        signing.verify_reply(SECRET, "GET", f"{BASE}/commands?wait=0", forged.nonce or "", 200,
                             forged.response.content, forged.response.headers)
    assert len(client.call("GET", f"{BASE}/commands?wait=0").json()["commands"]) == 1  # listed again


def test_clock_skew_moves_the_platforms_clock(platform: FakePlatform, client: SignedClient) -> None:
    platform.set_faults(clock_skew_s=120)
    exchange = client.call("POST", f"{BASE}/heartbeat", {
        "locker_clock": "2026-03-11T09:10:00Z", "app_version": "0.1.0", "uptime_s": 1,
        "boards": {"answering": 1, "total": 1}, "doors_open": [], "out_of_order": [], "cameras": [],
        "outbox": {"depth": 0, "oldest_at": None, "parked": 0}, "last_sync_at": None})
    assert exchange.reply_timestamp is not None and exchange.reply_timestamp - time.time() > 100
    # Beyond the 300 s window the locker's requests are stale to the platform.
    platform.set_faults(clock_skew_s=-400)
    stale = client.call("GET", CONFIG)
    assert stale.status == 401 and stale.json()["code"] == "stale_timestamp"
    assert "ahead of" in stale.json()["message"]


def test_a_huge_body_is_sent_whole_and_signed(platform: FakePlatform, client: SignedClient) -> None:
    size = 10 * 1024 * 1024
    platform.set_faults(huge_body_bytes=size)
    exchange = client.call("GET", CONFIG, check_contract=False, timeout=30)
    assert exchange.status == 200 and len(exchange.response.content) == size
    assert json.loads(exchange.response.content).keys() == {"padding"}
    platform.set_faults()
    assert client.call("GET", CONFIG).status == 200


def test_a_client_that_stops_reading_a_huge_body_does_not_hurt_the_platform(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.set_faults(huge_body_bytes=50 * 1024 * 1024)
    headers = signing.sign(SECRET, "GET", CONFIG, b"", locker_id="LK-0001")
    with requests.get(platform.url + CONFIG, headers=headers, stream=True, timeout=10) as response:
        assert len(response.raw.read(4 * 1024 * 1024)) == 4 * 1024 * 1024  # then hang up, as a locker does
    platform.set_faults()
    assert client.call("GET", CONFIG).status == 200


def test_counted_faults_play_out_in_order_drop_500_malformed_bad_signature(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.set_faults(bad_signature=1, malformed_json=1, status_500=1, drop_connections=1)
    with pytest.raises(requests.ConnectionError):
        client.call("GET", CONFIG)
    assert client.call("GET", CONFIG).status == 500
    malformed = client.call("GET", CONFIG, check_contract=False)
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    with pytest.raises(SignatureError):
        client.call("GET", CONFIG)
    assert client.call("GET", CONFIG).status == 200
    assert platform.requests_seen() == 5


def test_faults_can_be_aimed_at_some_operations(platform: FakePlatform, client: SignedClient) -> None:
    platform.set_faults(status_500=1, operations={"postEvents"})
    assert client.call("GET", CONFIG).status == 200
    assert client.call("POST", EVENTS, _batch()).status == 500
    assert client.call("POST", EVENTS, _batch()).status == 200


def test_faults_spare_requests_that_fail_their_signature(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.set_faults(status_500=1)
    assert client.call("GET", CONFIG, sign=False, verify=False).status == 401
    assert platform.faults().status_500 == 1
    assert client.call("GET", CONFIG).status == 500


@pytest.mark.parametrize("settings", [
    {"status_500": -1}, {"latency_s": -0.5}, {"latency_s": float("nan")}, {"huge_body_bytes": 1.5},
    {"drop_connections": True}, {"operations": "postEvents"},
])
def test_nonsense_fault_settings_are_refused(platform: FakePlatform, settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        platform.set_faults(**settings)  # type: ignore[arg-type]
    assert platform.faults() == Faults()

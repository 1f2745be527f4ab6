"""Every operation of the contract on the fake platform, happy paths and the refusals the contract names;
every reply is checked against the contract and its signature by the client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import uuid
from pathlib import Path

import pytest
from platform_client import (
    BASE,
    CODE_KEY,
    GOLDEN_CODE_HASH,
    LOCKER,
    SECRET,
    SignedClient,
    event,
    heartbeat,
    layout,
    wait_until,
)

from kiosk.testing.fake_platform import FakePlatform, scrypt_phc


def _key() -> str:
    return str(uuid.uuid4())


def _code_hash(code: str) -> str:
    return hmac.new(CODE_KEY, code.encode("ascii"), hashlib.sha256).hexdigest()


# registration and configuration ------------------------------------------------------------------

def test_registration_answers_the_configuration_with_the_layout_summary(
    platform: FakePlatform, client: SignedClient
) -> None:
    registration = layout(("01", "S"), ("02", "M"), ("03", "M"), ("04", "XL"))
    first = client.call("PUT", f"{BASE}/registration", registration)
    assert first.status == 200
    config = first.json()
    assert config["layout_summary"] == {"compartments": 4, "by_size": {"S": 1, "M": 2, "L": 0, "XL": 1}}
    assert platform.registration() == registration
    # The same body again changes nothing; a new layout is a new configuration version.
    assert client.call("PUT", f"{BASE}/registration", registration).json() == config
    changed = client.call("PUT", f"{BASE}/registration", layout(("01", "S"), ("02", "M"))).json()
    assert changed["config_version"] == config["config_version"] + 1
    assert client.call("GET", f"{BASE}/config").json() == changed


def test_a_layout_dropping_a_compartment_that_holds_a_parcel_conflicts(
    platform: FakePlatform, client: SignedClient
) -> None:
    client.call("PUT", f"{BASE}/registration", layout(("01", "S"), ("02", "M")))
    client.call("POST", f"{BASE}/events", {"events": [event("deposited", key=_key(), compartment="02")]})
    refused = client.call("PUT", f"{BASE}/registration", layout(("01", "S")))
    assert refused.status == 409
    assert refused.json()["code"] == "conflict" and "02 (PX-1)" in refused.json()["message"]
    assert len(platform.registration()["layout"]["compartments"]) == 2  # type: ignore[index]
    # Once the parcel is picked up, the compartment may go.
    client.call("POST", f"{BASE}/events", {"events": [event("picked_up", key=_key(), compartment="02",
                                                             method="code")]})
    assert client.call("PUT", f"{BASE}/registration", layout(("01", "S"))).status == 200


def test_config_before_any_registration_and_operator_overrides(
    platform: FakePlatform, client: SignedClient
) -> None:
    config = client.call("GET", f"{BASE}/config").json()
    assert config["locker_id"] == LOCKER and config["timers"] == {}
    platform.set_config(timers={"inactivity_s": 30}, sync_interval_s=15)
    config = client.call("GET", f"{BASE}/config").json()
    assert config["timers"] == {"inactivity_s": 30} and config["sync_interval_s"] == 15
    with pytest.raises(ValueError, match="sync_interval_s"):
        platform.set_config(sync_interval_s=1)


# sync and verification ---------------------------------------------------------------------------

def test_sync_carries_parcels_credentials_couriers_and_returns(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_expected_parcel(parcel_id="PX-1", code="123456", size="L", barcode="JJD0001",
                                 accessible=True, recipient="M. de Vries")
    platform.add_courier(courier_id="DHL-0042", pin="4711", badge_secret="abcdefghijklmnop")
    platform.add_return(code="RET12345", size="S")
    page = client.call("GET", f"{BASE}/sync").json()
    assert page["reset"] is True and page["has_more"] is False
    assert page["parcels"] == [{
        "parcel_id": "PX-1", "barcode": "JJD0001", "size": "L", "accessible": True,
        "recipient_display_name": "M. de Vries", "pickup_window": {"hours": 72, "not_after": None},
    }]
    [credential] = page["pickup_credentials"]
    assert credential["code_hash"] == GOLDEN_CODE_HASH and credential["parcel_ids"] == ["PX-1"]
    [courier] = page["couriers"]
    assert courier["courier_id"] == "DHL-0042"
    assert courier["badge_secret_hash"] == _code_hash("ABCDEFGHIJKLMNOP")
    [authorisation] = page["return_authorisations"]
    assert authorisation["code_hash"] == _code_hash("RET12345") and authorisation["size"] == "S"
    assert page["deletions"] == []


def test_the_courier_pin_is_an_scrypt_phc_string_the_locker_can_check(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_courier(courier_id="DHL-0042", pin="4711")
    password_hash = client.call("GET", f"{BASE}/sync").json()["couriers"][0]["password_hash"]
    empty, algorithm, parameters, salt, digest = password_hash.split("$")
    assert (empty, algorithm, parameters) == ("", "scrypt", "ln=15,r=8,p=1")
    # What a locker does with its standard library: recompute with the salt and compare.
    raw_salt = base64.b64decode(salt + "=" * (-len(salt) % 4))
    assert scrypt_phc("4711", salt=raw_salt) == password_hash
    assert scrypt_phc("4712", salt=raw_salt) != password_hash
    assert len(base64.b64decode(digest + "=" * (-len(digest) % 4))) == 32


def test_verify_finds_a_pickup_code_and_a_return_code(platform: FakePlatform, client: SignedClient) -> None:
    platform.add_expected_parcel(parcel_id="PX-7", code="123456")
    platform.add_return(code="ret12345", size="M")
    pickup = client.call("POST", f"{BASE}/verify", {"code_hash": GOLDEN_CODE_HASH, "kind": "pickup"})
    assert pickup.status == 200
    assert pickup.json()["kind"] == "pickup"
    assert [parcel["parcel_id"] for parcel in pickup.json()["parcels"]] == ["PX-7"]
    returned = client.call("POST", f"{BASE}/verify", {"code_hash": _code_hash("RET12345"), "kind": "return"})
    assert returned.status == 200 and returned.json()["return_authorisation"]["size"] == "M"


def test_verify_answers_404_for_an_unknown_code(platform: FakePlatform, client: SignedClient) -> None:
    platform.add_expected_parcel(parcel_id="PX-7", code="123456")
    unknown = client.call("POST", f"{BASE}/verify", {"code_hash": _code_hash("654321"), "kind": "pickup"})
    assert unknown.status == 404 and unknown.json()["code"] == "not_found"
    # A pickup code is no return code.
    wrong_kind = client.call("POST", f"{BASE}/verify", {"code_hash": GOLDEN_CODE_HASH, "kind": "return"})
    assert wrong_kind.status == 404


def test_a_picked_up_parcel_is_deleted_from_sync_and_no_longer_verifies(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_expected_parcel(parcel_id="PX-1", code="123456")
    cursor = client.call("GET", f"{BASE}/sync").json()["next_cursor"]
    client.call("POST", f"{BASE}/events", {"events": [event("deposited", key=_key())]})
    client.call("POST", f"{BASE}/events", {"events": [event("picked_up", key=_key(), method="code")]})
    page = client.call("GET", f"{BASE}/sync?cursor={cursor}").json()
    assert page["reset"] is False
    assert sorted(deletion["kind"] for deletion in page["deletions"]) == ["parcel", "pickup_credential"]
    verify = client.call("POST", f"{BASE}/verify", {"code_hash": GOLDEN_CODE_HASH, "kind": "pickup"})
    assert verify.status == 404


def test_a_returned_event_uses_up_its_return_authorisation(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_return(code="RET12345")
    authorisation = client.call("GET", f"{BASE}/sync").json()["return_authorisations"][0]
    client.call("POST", f"{BASE}/events", {"events": [event(
        "returned", key=_key(), parcel=authorisation["parcel_id"], return_id=authorisation["return_id"])]})
    verify = client.call("POST", f"{BASE}/verify", {"code_hash": _code_hash("RET12345"), "kind": "return"})
    assert verify.status == 404


def test_announcements_are_checked_against_the_contract(platform: FakePlatform) -> None:
    with pytest.raises(ValueError, match="6 to 8 digits"):
        platform.add_expected_parcel(parcel_id="PX-1", code="12a456")
    with pytest.raises(ValueError, match="size"):
        platform.add_expected_parcel(parcel_id="PX-1", code="123456", size="XXL")
    with pytest.raises(ValueError, match="parcel_id"):
        platform.add_expected_parcel(parcel_id="bad id", code="123456", barcode="JJD1")
    with pytest.raises(ValueError, match="courier_id"):
        platform.add_courier(courier_id="lower-case", pin="1")
    with pytest.raises(ValueError, match="return code"):
        platform.add_return(code="SHORT")
    with pytest.raises(ValueError, match="compartment_id"):
        platform.add_command("open_door")
    with pytest.raises(ValueError, match="unknown command kind 'self_destruct'"):
        platform.add_command("self_destruct")


# events ------------------------------------------------------------------------------------------

def test_events_are_stored_once_and_a_resent_batch_is_acknowledged_as_duplicates(
    platform: FakePlatform, client: SignedClient
) -> None:
    batch = {"events": [event("deposited", key=_key()), event("alarm", key=_key(), compartment=None,
                                                             parcel=None, alarm="tamper", state="raised")]}
    keys = [item["idempotency_key"] for item in batch["events"]]
    first = client.call("POST", f"{BASE}/events", batch).json()
    assert first == {"accepted": keys, "duplicates": [], "rejected": []}
    second = client.call("POST", f"{BASE}/events", batch).json()
    assert second == {"accepted": [], "duplicates": keys, "rejected": []}
    assert platform.events() == batch["events"]
    assert platform.event_deliveries() == 2


def test_a_key_twice_in_one_batch_is_applied_and_listed_once(
    platform: FakePlatform, client: SignedClient
) -> None:
    key = _key()
    reply = client.call("POST", f"{BASE}/events", {"events": [event(key=key), event(key=key)]}).json()
    assert reply == {"accepted": [key], "duplicates": [], "rejected": []}
    assert len(platform.events()) == 1


def test_events_on_a_compartment_outside_the_registered_layout_are_rejected(
    platform: FakePlatform, client: SignedClient
) -> None:
    client.call("PUT", f"{BASE}/registration", layout(("01", "S")))
    good, bad = event(key=_key(), compartment="01"), event(key=_key(), compartment="99")
    reply = client.call("POST", f"{BASE}/events", {"events": [good, bad]}).json()
    assert reply["accepted"] == [good["idempotency_key"]]
    assert reply["rejected"] == [{"idempotency_key": bad["idempotency_key"], "reason": "unknown_compartment",
                                  "message": "Compartment 99 is not in this locker's registered layout."}]
    assert platform.events() == [good]


def test_an_invalid_batch_is_refused_whole_with_422(platform: FakePlatform, client: SignedClient) -> None:
    good = event(key=_key())
    bad = {**event(key=_key()), "occurred_at": "yesterday"}
    exchange = client.call("POST", f"{BASE}/events", {"events": [good, bad]})
    assert exchange.status == 422 and exchange.json()["code"] == "invalid_request"
    assert "events[1].occurred_at" in exchange.json()["message"]
    assert platform.events() == []
    assert [(refusal["status"], refusal["code"]) for refusal in platform.refusals()] == [
        (422, "invalid_request")]


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "not JSON"),
    (b'{"events": [NaN]}', "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[]", "is not of type 'object'"),
    (b'{"events": []}', "should be non-empty"),
])
def test_a_body_that_is_not_a_batch_is_refused_with_422(
    client: SignedClient, body: bytes, reason: str
) -> None:
    exchange = client.call("POST", f"{BASE}/events", raw_body=body)
    assert exchange.status == 422 and reason in exchange.json()["message"]


def test_a_body_over_one_mebibyte_is_refused_with_413(platform: FakePlatform, client: SignedClient) -> None:
    exchange = client.call("POST", f"{BASE}/events", raw_body=b" " * (1024 * 1024 + 1))
    assert exchange.status == 413 and exchange.json()["code"] == "payload_too_large"
    assert client.call("GET", f"{BASE}/config").status == 200  # a new connection serves on


def test_unknown_query_parameters_and_bodies_on_a_get_are_refused(client: SignedClient) -> None:
    assert client.call("GET", f"{BASE}/sync?since=3").status == 422
    assert client.call("GET", f"{BASE}/sync?limit=0").status == 422
    assert client.call("GET", f"{BASE}/config", {"x": 1}).status == 422


def test_unknown_paths_and_methods(client: SignedClient) -> None:
    missing = client.call("GET", f"{BASE}/parcels", check_contract=False)
    assert missing.status == 404 and missing.json()["code"] == "not_found"
    not_allowed = client.call("DELETE", f"{BASE}/events")
    assert not_allowed.status == 405 and not_allowed.response.headers["Allow"] == "POST"
    # Methods http.server knows nothing of get the same answer, signed, not its unsigned 501 page.
    query = client.call("QUERY", f"{BASE}/config", check_contract=False)
    assert query.status == 405 and query.response.headers["Allow"] == "GET"
    head = client.call("HEAD", f"{BASE}/sync", check_contract=False, verify=False)
    assert head.status == 405 and head.response.content == b""


# heartbeat and commands --------------------------------------------------------------------------

def test_heartbeats_are_stored_and_acknowledged_with_pending_commands(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_command("sync_now")
    beat = heartbeat(doors_open=["02"])
    ack = client.call("POST", f"{BASE}/heartbeat", beat).json()
    assert ack["commands_pending"] == 1
    assert platform.heartbeats() == [beat]


def test_command_results_are_recorded_idempotently(platform: FakePlatform, client: SignedClient) -> None:
    command_id = platform.add_command("open_door", compartment_id="02", support_ticket="SUP-1")
    result = {"status": "done", "finished_at": "2026-03-11T09:21:40Z", "reason": None,
              "message": "Door 02 opened."}
    path = f"{BASE}/commands/{command_id}/result"
    assert client.call("POST", path, result).status == 204
    assert client.call("POST", path, result).status == 204  # the same result again
    other = client.call("POST", path, {**result, "status": "failed", "reason": "door_did_not_open"})
    assert other.status == 409 and "status done" in other.json()["message"]
    assert platform.command_results() == [{"command_id": command_id, **result}]
    unknown = client.call("POST", f"{BASE}/commands/{uuid.uuid4()}/result", result)
    assert unknown.status == 404
    assert client.call("POST", f"{BASE}/commands/not-a-uuid/result", result).status == 422


# life cycle --------------------------------------------------------------------------------------

def test_a_restart_keeps_the_records_and_the_port(tmp_path: Path) -> None:
    platform = FakePlatform(SECRET, database=tmp_path / "p.sqlite", locker_id=LOCKER, code_key=CODE_KEY)
    platform.add_expected_parcel(parcel_id="PX-1", code="123456")  # before start: announced already
    platform.start()
    client = SignedClient(platform)
    try:
        url = platform.url
        batch = {"events": [event(key=_key())]}
        client.call("POST", f"{BASE}/events", batch)
        platform.stop()
        assert platform.events() == batch["events"]  # readable while stopped
        platform.start()
        assert platform.url == url
        assert client.call("POST", f"{BASE}/events", batch).json()["duplicates"] == [
            batch["events"][0]["idempotency_key"]]
        assert len(client.call("GET", f"{BASE}/sync").json()["parcels"]) == 1
    finally:
        client.close()
        platform.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = platform.url


def test_without_a_database_file_the_records_survive_a_restart_too() -> None:
    with FakePlatform(SECRET, locker_id=LOCKER) as platform:
        platform.add_return(code="RET12345")
    platform.start()
    try:
        client = SignedClient(platform)
        try:
            assert len(client.call("GET", f"{BASE}/sync").json()["return_authorisations"]) == 1
        finally:
            client.close()
    finally:
        platform.stop()


def test_a_client_that_leaves_mid_body_does_not_hurt_the_platform(
    platform: FakePlatform, client: SignedClient
) -> None:
    host, port = platform.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(f"POST {BASE}/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"ev".encode())
    wait_until(lambda: platform.requests_seen() == 1)
    assert client.call("GET", f"{BASE}/config").status == 200
    assert platform.events() == []


@pytest.mark.parametrize(("arguments", "reason"), [
    ({"secret": b"short"}, "at least 16 bytes"),
    ({"secret": "not bytes"}, "at least 16 bytes"),
    ({"locker_id": "no spaces"}, "locker id"),
    ({"code_key": b"\x00" * 16}, "code_key must be 32 bytes"),
])
def test_a_platform_with_unusable_settings_is_refused(arguments: dict[str, object], reason: str) -> None:
    settings: dict[str, object] = {"secret": SECRET, **arguments}
    secret = settings.pop("secret")
    with pytest.raises(ValueError, match=reason):
        FakePlatform(secret, **settings)  # type: ignore[arg-type]

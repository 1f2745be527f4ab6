"""The fake platform and courier mode: deposited events with the locker's pickup code, the label's barcode and
the unannounced flag, returned events with their receipt, collections that empty a compartment; and the
standalone demo's courier and return are the platform demo's."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest
from platform_client import BASE, CODE_KEY, SignedClient, event, layout

from kiosk.app import DEMO_COURIER, DEMO_RETURN
from kiosk.testing.fake_platform import FakePlatform
from kiosk.testing.fake_platform.demo import COURIERS, RETURNS


def _key() -> str:
    return str(uuid.uuid4())


def _code_hash(code: str) -> str:
    return hmac.new(CODE_KEY, code.encode("ascii"), hashlib.sha256).hexdigest()


def test_a_courier_deposit_with_its_pickup_code_barcode_and_unannounced_flag_is_accepted(
    platform: FakePlatform, client: SignedClient
) -> None:
    client.call("PUT", f"{BASE}/registration", layout(("01", "S"), ("02", "M"), ("03", "L")))
    platform.add_expected_parcel(parcel_id="PX-ANN", barcode="JJD0001", size="M")
    announced = event("deposited", key=_key(), compartment="02", parcel="PX-ANN", size="M",
                      recipient="K. Johnson", announced=True, courier_id="C-100", barcode="JJD0001",
                      pickup_code="48151623", unannounced=False)
    unannounced = event("deposited", key=_key(), compartment="03", parcel="PX-NEW", size="L",
                        recipient="", announced=False, courier_id="C-100", barcode="UNKNOWN-LABEL-7",
                        pickup_code="90210333", unannounced=True)
    # The platform issued this parcel's code: none travels.
    issued = event("deposited", key=_key(), compartment="01", parcel="PX-ISSUED", size="S",
                   courier_id="C-100", barcode="JJD0002", unannounced=False)
    reply = client.call("POST", f"{BASE}/events", {"events": [announced, unannounced, issued]}).json()
    assert reply["accepted"] == [announced["idempotency_key"], unannounced["idempotency_key"],
                                 issued["idempotency_key"]]
    assert reply["rejected"] == [] and reply["duplicates"] == []
    assert platform.events("deposited") == [announced, unannounced, issued]
    assert platform.pickup_codes() == {"PX-ANN": "48151623", "PX-NEW": "90210333"}
    assert platform.occupancy() == {"01": "PX-ISSUED", "02": "PX-ANN", "03": "PX-NEW"}


def test_a_return_with_its_receipt_is_accepted_and_uses_up_the_authorisation(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_return(code="RETURN0042", size="S", return_id="ret-42", parcel_id="RX-42")
    returned = event("returned", key=_key(), compartment="01", parcel="RX-42", return_id="ret-42",
                     receipt_code="K7PQ2M9X", size="S")
    reply = client.call("POST", f"{BASE}/events", {"events": [returned]}).json()
    assert reply["accepted"] == [returned["idempotency_key"]]
    assert platform.returned_receipts() == {"ret-42": "K7PQ2M9X"}
    assert platform.occupancy() == {"01": "RX-42"}
    verify = client.call("POST", f"{BASE}/verify", {"code_hash": _code_hash("RETURN0042"), "kind": "return"})
    assert verify.status == 404  # used up: the same code cannot return a second parcel


def test_a_collection_empties_the_compartment_and_events_filter_by_kind(
    platform: FakePlatform, client: SignedClient
) -> None:
    deposited = event("deposited", key=_key(), compartment="01", parcel="PX-OLD", pickup_code="11223344")
    returned = event("returned", key=_key(), compartment="02", parcel="RX-9", return_id="ret-9",
                     receipt_code="ABCDEFGH")
    client.call("POST", f"{BASE}/events", {"events": [deposited, returned]})
    assert platform.occupancy() == {"01": "PX-OLD", "02": "RX-9"}
    collected = [event("collected", key=_key(), compartment="01", parcel="PX-OLD", courier_id="C-100",
                       reason="expired"),
                 event("collected", key=_key(), compartment="02", parcel="RX-9", courier_id="C-100",
                       reason="returned")]
    reply = client.call("POST", f"{BASE}/events", {"events": collected}).json()
    assert reply["accepted"] == [item["idempotency_key"] for item in collected]
    assert platform.occupancy() == {}
    assert platform.events("collected") == collected
    assert [item["kind"] for item in platform.events()] == ["deposited", "returned", "collected", "collected"]
    assert platform.events("picked_up") == []


@pytest.mark.parametrize(("details", "problem"), [
    ({"pickup_code": ["1", "2"]}, "pickup_code"),  # single values only
    ({"receipt_code": {"code": "X"}}, "receipt_code"),
    ({"courier_id": "lower-case"}, "courier_id"),  # a typed detail keeps its type
])
def test_a_detail_that_is_not_a_single_value_is_refused(
    platform: FakePlatform, client: SignedClient, details: dict[str, object], problem: str
) -> None:
    bad = event("deposited", key=_key(), **details)
    reply = client.call("POST", f"{BASE}/events", {"events": [bad]})
    assert reply.status == 422 and problem in reply.json()["message"]
    assert platform.events() == []


def test_the_standalone_demo_has_the_platform_demos_courier_and_return() -> None:
    platform_courier = next(courier for courier in COURIERS if courier.courier_id == DEMO_COURIER.courier_id)
    assert (platform_courier.pin, platform_courier.badge_secret, platform_courier.display_name) == (
        DEMO_COURIER.pin, DEMO_COURIER.badge_secret, DEMO_COURIER.display_name)
    platform_return = next(item for item in RETURNS if item.code == DEMO_RETURN.code)
    assert (platform_return.size, platform_return.return_id, platform_return.parcel_id) == (
        DEMO_RETURN.size.value, DEMO_RETURN.return_id, DEMO_RETURN.parcel_id)

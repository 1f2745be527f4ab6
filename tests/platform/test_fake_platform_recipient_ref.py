"""The fake platform announces a parcel's recipient_ref (face pickup keys an enrolment to it) on the wire as
the contract says: present when the operator has one, absent when not, changed by a re-announcement, and every
sync reply valid against the contract."""

from __future__ import annotations

from platform_client import BASE, SignedClient

from kiosk.backend import contract
from kiosk.testing.fake_platform import FakePlatform


def test_the_sync_reply_carries_the_ref_only_where_the_operator_has_one(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_expected_parcel(parcel_id="PX-1", code="123456", recipient_ref="rcp-a1")
    platform.add_expected_parcel(parcel_id="PX-2")
    reply = client.call("GET", f"{BASE}/sync")
    page = reply.json()
    contract.validate("SyncPage", page)
    by_id = {parcel["parcel_id"]: parcel for parcel in page["parcels"]}
    assert by_id["PX-1"]["recipient_ref"] == "rcp-a1"
    assert "recipient_ref" not in by_id["PX-2"]

    platform.add_expected_parcel(parcel_id="PX-2", recipient_ref="rcp-b2")
    changes = client.call("GET", f"{BASE}/sync?cursor={page['next_cursor']}").json()
    contract.validate("SyncPage", changes)
    assert [(parcel["parcel_id"], parcel.get("recipient_ref")) for parcel in changes["parcels"]] == [
        ("PX-2", "rcp-b2")]

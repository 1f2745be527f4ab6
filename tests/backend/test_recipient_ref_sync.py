"""The recipient_ref of expected parcels (face pickup keys an enrolment to it) from the platform into the
store: through real sync pages of the fake platform on 127.0.0.1, over a real SQLite file; and a malformed one
in a signed reply is a clear malformed-reply error naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_remote_client import (
    LAYOUT,
    LOCKER_ID,
    SECRET,
    Answer,
    ScriptedPlatform,
    failure,
    no_thread_outlives_the_test,  # noqa: F401  (the autouse fixture applies here too)
    open_store,
)

from kiosk.backend import contract
from kiosk.backend.remote import PlatformClient, PlatformErrorKind
from kiosk.core.model import ParcelState, Size
from kiosk.store import SqliteStore
from kiosk.testing.fake_platform import FakePlatform
from kiosk.testing.fake_platform.demo import ANNOUNCED_PARCELS, seed_demo

T0 = 1_800_000_000.0
CODE_HASH = b"\x05" * 32


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[FakePlatform]:
    fake = FakePlatform(SECRET, database=tmp_path / "platform.sqlite", locker_id=LOCKER_ID)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def client(platform: FakePlatform) -> Iterator[PlatformClient]:
    with PlatformClient(platform.url, LOCKER_ID, SECRET, connect_timeout_s=1.0, read_timeout_s=5.0) as made:
        yield made


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with open_store(tmp_path / "kiosk.sqlite") as opened:
        yield opened


def sync_all(client: PlatformClient, store: SqliteStore, at: float) -> None:
    """Every page the platform has for the locker's cursor, applied as the platform link applies them."""
    while True:
        page = client.sync(store.sync_status().cursor)
        store.apply_sync_page(page, at)
        if not page.has_more:
            return


def test_the_recipient_ref_travels_from_the_platform_into_the_store_and_follows_changes(
    platform: FakePlatform, client: PlatformClient, store: SqliteStore
) -> None:
    platform.add_expected_parcel(parcel_id="PX-1", code="123456", recipient_ref="rcp-7c1e")
    platform.add_expected_parcel(parcel_id="PX-2", recipient_ref="~!" * 64)  # the longest: 128
    platform.add_expected_parcel(parcel_id="PX-3")  # an operator that has no key for this recipient

    page = client.sync(None)
    assert {parcel.parcel_id: parcel.recipient_ref for parcel in page.parcels} == {
        "PX-1": "rcp-7c1e", "PX-2": "~!" * 64, "PX-3": None}
    store.apply_sync_page(page, T0)
    assert [store.parcel(parcel_id).recipient_ref for parcel_id in ("PX-1", "PX-2", "PX-3")] == [
        "rcp-7c1e", "~!" * 64, None]

    # The operator re-keys expected parcels: the next page brings the change.
    platform.add_expected_parcel(parcel_id="PX-1", code="123456", recipient_ref="rcp-9d2f")
    platform.add_expected_parcel(parcel_id="PX-3", recipient_ref="rcp-3")
    sync_all(client, store, T0 + 1)
    assert (store.parcel("PX-1").recipient_ref, store.parcel("PX-3").recipient_ref) == ("rcp-9d2f", "rcp-3")

    # Deposited, a parcel keeps the key it came with, whatever a later page says.
    store.place_parcel("PX-1", Size.M, LAYOUT[0].id, "Test Recipient", CODE_HASH, T0 + 2)
    platform.add_expected_parcel(parcel_id="PX-1", code="123456", recipient_ref="rcp-someone-else")
    sync_all(client, store, T0 + 3)
    parcel = store.parcel("PX-1")
    assert (parcel.state, parcel.recipient_ref) == (ParcelState.IN_LOCKER, "rcp-9d2f")
    assert [found.id for found in store.parcels_for_recipient("rcp-9d2f")] == ["PX-1"]


def test_the_demo_platform_gives_each_announced_recipient_a_distinct_ref(
    platform: FakePlatform, client: PlatformClient, store: SqliteStore
) -> None:
    seed_demo(platform)
    sync_all(client, store, T0)
    refs = {parcel.parcel_id: store.parcel(parcel.parcel_id).recipient_ref for parcel in ANNOUNCED_PARCELS}
    assert refs == {parcel.parcel_id: parcel.recipient_ref for parcel in ANNOUNCED_PARCELS}
    assert len(set(refs.values())) == len(ANNOUNCED_PARCELS)


@pytest.mark.parametrize("ref", ["has space", "", "x" * 129, "caf\u00e9", "tab\there", 42])
def test_the_fake_platform_refuses_to_announce_a_malformed_ref(platform: FakePlatform, ref: object) -> None:
    with pytest.raises(contract.ContractError, match="recipient_ref"):
        platform.add_expected_parcel(parcel_id="PX-1", recipient_ref=ref)  # type: ignore[arg-type]


def parcel_document(**changes: object) -> dict[str, object]:
    return {"parcel_id": "PX-1", "barcode": "JJD1", "size": "M", "accessible": False,
            "recipient_display_name": "M. de Vries", "pickup_window": {"hours": 72, "not_after": None},
            **changes}


def sync_reply(*parcels: dict[str, object]) -> dict[str, object]:
    return {"reset": True, "parcels": list(parcels), "pickup_credentials": [], "couriers": [],
            "return_authorisations": [], "deletions": [], "next_cursor": "c-1", "has_more": False}


def test_a_null_ref_is_no_ref() -> None:
    contract.validate("ExpectedParcel", parcel_document(recipient_ref=None))
    scripted = ScriptedPlatform().start()
    try:
        scripted.answer = lambda received: Answer(body=sync_reply(parcel_document(recipient_ref=None)))
        with PlatformClient(scripted.url, LOCKER_ID, SECRET) as client:
            [parcel] = client.sync(None).parcels
    finally:
        scripted.stop()
    assert not scripted.problems, scripted.problems
    assert parcel.recipient_ref is None


@pytest.mark.parametrize(("ref", "why"), [
    ("has space", "does not match the contract's pattern"),
    ("", "does not match the contract's pattern"),
    ("x" * 129, "does not match the contract's pattern"),
    ("line\nbreak", "does not match the contract's pattern"),
    (17, "is not text"),
    (["rcp-1"], "is not text"),
])
def test_a_malformed_ref_in_a_signed_reply_is_a_malformed_reply_naming_it(ref: object, why: str) -> None:
    scripted = ScriptedPlatform().start()
    try:
        scripted.answer = lambda received: Answer(body=sync_reply(parcel_document(),
                                                                  parcel_document(parcel_id="PX-2",
                                                                                  recipient_ref=ref)))
        with PlatformClient(scripted.url, LOCKER_ID, SECRET) as client:
            error = failure(lambda: client.sync(None))
    finally:
        scripted.stop()
    assert not scripted.problems, scripted.problems
    assert error.kind is PlatformErrorKind.MALFORMED_REPLY
    assert "$.parcels[1].recipient_ref" in error.message and why in error.message
    # The client and the contract agree.
    with pytest.raises(contract.ContractError):
        contract.validate("ExpectedParcel", parcel_document(recipient_ref=ref))

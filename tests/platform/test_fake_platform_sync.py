"""Sync on the fake platform: a full sync paged by `limit` with `has_more`, then only the changes since the
cursor, deletions included; an unknown cursor starts a full sync again."""

from __future__ import annotations

from typing import Any

from platform_client import BASE, SignedClient

from kiosk.testing.fake_platform import FakePlatform


def _pages(client: SignedClient, cursor: str | None, limit: int) -> list[dict[str, Any]]:
    """Pages until has_more is false, as a locker asks for them."""
    pages = []
    while True:
        query = f"?limit={limit}" + ("" if cursor is None else f"&cursor={cursor}")
        page = client.call("GET", f"{BASE}/sync{query}").json()
        pages.append(page)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return pages


def _ids(pages: list[dict[str, Any]], array: str, key: str) -> list[str]:
    return [record[key] for page in pages for record in page[array]]


def test_a_full_sync_pages_by_limit_then_only_changes_follow(
    platform: FakePlatform, client: SignedClient
) -> None:
    for number in range(7):
        platform.add_expected_parcel(parcel_id=f"PX-{number}", code=f"{100000 + number}")
    pages = _pages(client, None, limit=3)
    # 7 parcels and 7 credentials: 14 records, 3 a page.
    assert [page["reset"] for page in pages] == [True] + [False] * 4
    assert [page["has_more"] for page in pages] == [True] * 4 + [False]
    for page in pages:
        assert sum(len(page[array]) for array in ("parcels", "pickup_credentials", "deletions")) <= 3
    assert sorted(_ids(pages, "parcels", "parcel_id")) == [f"PX-{number}" for number in range(7)]
    assert len(_ids(pages, "pickup_credentials", "credential_id")) == 7

    cursor = pages[-1]["next_cursor"]
    quiet = client.call("GET", f"{BASE}/sync?cursor={cursor}").json()
    assert (quiet["reset"], quiet["has_more"], quiet["parcels"]) == (False, False, [])
    assert quiet["next_cursor"] == cursor

    platform.add_expected_parcel(parcel_id="PX-3", code="999999", size="XL")  # changed
    platform.remove_expected_parcel("PX-5")
    changes = client.call("GET", f"{BASE}/sync?cursor={cursor}").json()
    assert changes["reset"] is False
    assert [(parcel["parcel_id"], parcel["size"]) for parcel in changes["parcels"]] == [("PX-3", "XL")]
    assert len(changes["pickup_credentials"]) == 1
    assert sorted(deletion["kind"] for deletion in changes["deletions"]) == ["parcel", "pickup_credential"]
    assert {"kind": "parcel", "id": "PX-5"} in changes["deletions"]


def test_an_unknown_cursor_starts_a_full_sync_without_tombstones(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_expected_parcel(parcel_id="PX-1", code="123456")
    platform.add_expected_parcel(parcel_id="PX-2", code="234567")
    platform.remove_expected_parcel("PX-1")
    for cursor in ("c-999999", "nonsense"):
        page = client.call("GET", f"{BASE}/sync?cursor={cursor}").json()
        assert page["reset"] is True and page["deletions"] == []
        assert [parcel["parcel_id"] for parcel in page["parcels"]] == ["PX-2"]


def test_a_record_deleted_during_a_full_sync_is_deleted_on_a_later_page(
    platform: FakePlatform, client: SignedClient
) -> None:
    platform.add_expected_parcel(parcel_id="PX-1", code="123456")
    platform.add_expected_parcel(parcel_id="PX-2", code="234567")
    first = client.call("GET", f"{BASE}/sync?limit=1").json()
    assert first["reset"] is True and [parcel["parcel_id"] for parcel in first["parcels"]] == ["PX-1"]
    platform.remove_expected_parcel("PX-1")
    rest = _pages(client, first["next_cursor"], limit=10)
    assert {"kind": "parcel", "id": "PX-1"} in rest[-1]["deletions"]
    assert all(page["reset"] is False for page in rest)


def test_an_empty_platform_answers_one_empty_full_sync_page(client: SignedClient) -> None:
    page = client.call("GET", f"{BASE}/sync").json()
    assert page == {"reset": True, "parcels": [], "pickup_credentials": [], "couriers": [],
                    "return_authorisations": [], "deletions": [], "next_cursor": "c-0", "has_more": False}

"""Placing parcels: the compartment chosen, the credential stored, clear refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.codes import hash_code
from kiosk.core.inventory import (
    ACCESSIBLE_MAX_HEIGHT_CM,
    InventoryError,
    LockerFull,
    choose_compartment,
    place_parcel,
)
from kiosk.core.model import Compartment, CompartmentState, CompartmentStatus, ParcelState, Size
from kiosk.store import SqliteStore

KEY = b"inventory-test-key"
LAYOUT = (
    Compartment("M-high", Size.M, board=0, lock=1, height_cm=180, column=1),
    Compartment("S-high", Size.S, board=0, lock=2, height_cm=170, column=1),
    Compartment("S-low", Size.S, board=0, lock=3, height_cm=40, column=1),
    Compartment("M-low", Size.M, board=0, lock=4, height_cm=60, column=2),
    Compartment("XL", Size.XL, board=0, lock=5, height_cm=100, column=2),
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(tmp_path / "kiosk.sqlite", LAYOUT) as opened:
        yield opened


def place(store: SqliteStore, size: Size, code: str = "123456", **options: object) -> str | None:
    parcel = place_parcel(store, ManualClock(), KEY, size=size, code=code, recipient="Ada", **options)
    return parcel.compartment_id


def test_smallest_that_fits_then_lowest(store: SqliteStore) -> None:
    assert place(store, Size.S) == "S-low"
    assert place(store, Size.S) == "S-high"
    assert place(store, Size.S) == "M-low"  # no S left: the smallest bigger one
    assert place(store, Size.M) == "M-high"
    assert place(store, Size.L) == "XL"
    with pytest.raises(LockerFull, match="size S"):
        place(store, Size.S)


def test_the_parcel_is_in_the_locker_under_its_code(store: SqliteStore) -> None:
    clock = ManualClock()
    parcel = place_parcel(store, clock, KEY, size=Size.M, code="123 456", recipient=" Grace ",
                          parcel_id="P-42")
    assert parcel.id == "P-42" and parcel.state is ParcelState.IN_LOCKER and parcel.recipient == "Grace"
    assert parcel.created_at == clock.now()
    assert [p.id for p in store.parcels_for_code_hash(hash_code(KEY, "123456"))] == ["P-42"]
    assert store.compartment("M-low").state is CompartmentState.OCCUPIED


def test_generated_parcel_ids_are_unique(store: SqliteStore) -> None:
    ids = {place_parcel(store, ManualClock(), KEY, size=Size.S, code="123456", recipient="Ada").id
           for _ in range(3)}
    assert len(ids) == 3


def test_out_of_order_compartments_are_skipped(store: SqliteStore) -> None:
    store.mark_out_of_order("S-low", "test", 0.0)
    assert place(store, Size.S) == "S-high"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": Size.S, "code": "12345", "recipient": "Ada"}, "6 to 8 digits"),
        ({"size": Size.S, "code": "123456", "recipient": "  "}, "recipient"),
        ({"size": "S", "code": "123456", "recipient": "Ada"}, "size"),
    ],
)
def test_bad_input_is_refused_clearly(store: SqliteStore, options: dict[str, object], message: str) -> None:
    with pytest.raises(InventoryError, match=message):
        place_parcel(store, ManualClock(), KEY, **options)  # type: ignore[arg-type]
    assert all(status.state is CompartmentState.FREE for status in store.compartments())


# choosing for a courier's deposit ---------------------------------------------------------------------------
def free(store: SqliteStore) -> list[CompartmentStatus]:
    return list(store.free_compartments())


def chosen(store: SqliteStore, size: Size, **options: Any) -> str | None:
    status = choose_compartment(free(store), size, **options)
    return None if status is None else status.compartment.id


def test_an_accessible_recipient_gets_one_within_reach_first(store: SqliteStore) -> None:
    assert ACCESSIBLE_MAX_HEIGHT_CM == 120
    assert chosen(store, Size.S, accessible=True) == "S-low"
    store.mark_out_of_order("S-low", "test", 0.0)
    # S-high (170 cm) would fit best, but is out of reach: the smallest reachable one that fits
    assert chosen(store, Size.S) == "S-high"
    assert chosen(store, Size.S, accessible=True) == "M-low"
    assert chosen(store, Size.M, accessible=True) == "M-low"
    store.mark_out_of_order("M-low", "test", 0.0)
    assert chosen(store, Size.M, accessible=True) == "XL"  # 100 cm
    store.mark_out_of_order("XL", "test", 0.0)
    assert chosen(store, Size.M, accessible=True) == "M-high"  # none in reach: any that fits


def test_compartments_can_be_excluded(store: SqliteStore) -> None:
    assert chosen(store, Size.S, exclude={"S-low"}) == "S-high"
    assert chosen(store, Size.S, exclude=("S-low", "S-high", "M-low", "M-high")) == "XL"
    assert chosen(store, Size.L, exclude=["XL"]) is None


def test_bigger_than_skips_that_size_and_smaller(store: SqliteStore) -> None:
    assert chosen(store, Size.S, bigger_than=Size.S) == "M-low"
    assert chosen(store, Size.S, bigger_than=Size.M) == "XL"
    assert chosen(store, Size.S, bigger_than=Size.XL) is None
    assert chosen(store, Size.S, bigger_than=Size.S, accessible=True, exclude={"M-low"}) == "XL"


def test_the_existing_call_still_works(store: SqliteStore) -> None:
    status = choose_compartment(free(store), Size.M)
    assert status is not None and status.compartment.id == "M-low"

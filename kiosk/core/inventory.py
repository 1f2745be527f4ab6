"""Putting parcels into compartments: the choice of compartment and the stored credential."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from kiosk.core.codes import hash_code, normalise_code
from kiosk.core.model import CompartmentState, CompartmentStatus, Parcel, PickupNotice, Size
from kiosk.core.ports import Clock, Store


class InventoryError(ValueError):
    """A parcel cannot be placed; the message says why in one line."""


class LockerFull(InventoryError):
    def __init__(self, size: Size) -> None:
        super().__init__(f"no free compartment fits a parcel of size {size.value}")
        self.size = size


# A compartment whose top edge is at most this high can be reached from a wheelchair (DESIGN.md section 1).
ACCESSIBLE_MAX_HEIGHT_CM = 120


def choose_compartment(
    free: Sequence[CompartmentStatus],
    size: Size,
    *,
    accessible: bool = False,
    exclude: Collection[str] = (),
    bigger_than: Size | None = None,
) -> CompartmentStatus | None:
    """The smallest free compartment the parcel fits in; ties go to the lowest, then to the smallest id.

    `accessible`: the recipient needs one within reach (top edge at most ACCESSIBLE_MAX_HEIGHT_CM): those
    come first, and only when none fits, any. `exclude`: compartment ids not to use (a door with a
    transaction, one that failed). `bigger_than`: only compartments strictly bigger than that size (the
    parcel did not fit one of that size).
    """
    fitting = [
        status
        for status in free
        if status.state is CompartmentState.FREE
        and size <= status.compartment.size
        and status.compartment.id not in exclude
        and (bigger_than is None or bigger_than < status.compartment.size)
    ]
    if accessible:
        reachable = [status for status in fitting if status.compartment.height_cm <= ACCESSIBLE_MAX_HEIGHT_CM]
        fitting = reachable or fitting
    if not fitting:
        return None
    return min(
        fitting,
        key=lambda status: (
            status.compartment.size.rank, status.compartment.height_cm, status.compartment.id
        ),
    )


def place_parcel(
    store: Store,
    clock: Clock,
    code_key: bytes,
    *,
    size: Size,
    code: str,
    recipient: str,
    parcel_id: str | None = None,
    courier_id: str | None = None,
    notify_resident: int | None = None,
    locker_id: str = "",
    recipient_ref: str | None = None,
) -> Parcel:
    """Deposit a parcel in the best free compartment, with `code` (kept only as a hash) to pick it up.

    The store writes the deposited event for the platform (naming `courier_id`, when a courier deposited
    it) in the same transaction; with `notify_resident` (standalone mode), that resident's pickup mail too,
    carrying the code and the QR code for `locker_id`. `recipient_ref` keys the recipient's opt-in face
    enrolment (default: the resident's, with `notify_resident`). Raises InventoryError for a malformed code or
    recipient, LockerFull when
    nothing fits.
    """
    if not isinstance(size, Size):
        raise InventoryError(f"size must be one of {[s.value for s in Size]}, got {size!r}")
    normalised = normalise_code(code)
    if normalised is None:
        raise InventoryError("a pickup code must be 6 to 8 digits")
    if not isinstance(recipient, str) or not recipient.strip():
        raise InventoryError("a parcel needs a recipient name")
    chosen = choose_compartment(store.free_compartments(), size)
    if chosen is None:
        raise LockerFull(size)
    parcel_id = parcel_id or f"P-{uuid.uuid4().hex[:12].upper()}"
    notice = None
    if notify_resident is not None:
        notice = PickupNotice(notify_resident, parcel_id, normalised, chosen.compartment.id, size, locker_id)
    return store.place_parcel(
        parcel_id,
        size,
        chosen.compartment.id,
        recipient.strip(),
        hash_code(code_key, normalised),
        clock.now(),
        courier_id=courier_id,
        notice=notice,
        recipient_ref=recipient_ref,
    )

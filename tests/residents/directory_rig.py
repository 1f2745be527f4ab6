"""What the resident-directory tests share: a real store with the directory on a small layout, parcels
deposited and picked up through the store's real door transaction, and config files on disk."""

from __future__ import annotations

from pathlib import Path

from kiosk.core.model import Compartment, DoorPurpose, JournalPhase, PickupNotice, Size
from kiosk.store import SqliteStore
from kiosk.store.residents import ResidentRow

T0 = 1_800_000_000.0
LOCKER_ID = "house-a-lobby"
LAYOUT = tuple(Compartment(f"{number:02d}", Size.M, 0, number, 100, 1 + number // 5)
               for number in range(1, 9))


DirectoryStore = SqliteStore  # the store, seen from the resident directory's tests


def open_store(path: Path) -> DirectoryStore:
    store = DirectoryStore.open(path, LAYOUT)
    assert isinstance(store, DirectoryStore)
    return store


def row(name: str, unit: str, email: str, language: str | None = None,
        phone: str | None = None) -> ResidentRow:
    return ResidentRow(name, unit, email, language, phone)


def deposit(store: DirectoryStore, parcel_id: str, compartment_id: str, at: float = T0) -> None:
    store.place_parcel(parcel_id, Size.S, compartment_id, "resident", f"hash-{parcel_id}".encode(), at)


def pick_up(store: DirectoryStore, parcel_id: str, at: float = T0 + 60) -> None:
    """Through the real door transaction: intent, unlock sent, door closed."""
    compartment_id = store.parcel(parcel_id).compartment_id
    assert compartment_id is not None
    entry = store.journal_intent(compartment_id, DoorPurpose.PICKUP, [parcel_id], at)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, at)
    store.journal_complete_pickup(entry.id, at)


def notice(resident_id: int, parcel_id: str, compartment_id: str, code: str = "482913") -> PickupNotice:
    return PickupNotice(resident_id, parcel_id, code, compartment_id, Size.S, LOCKER_ID)


def deposit_for(store: DirectoryStore, resident_id: int, parcel_id: str, compartment_id: str,
                code: str = "482913", at: float = T0) -> int:
    """A parcel deposited for a resident and its pickup notice queued; the mail's id."""
    deposit(store, parcel_id, compartment_id, at)
    return store.queue_pickup_notice(notice(resident_id, parcel_id, compartment_id, code), at)


CONFIG = """\
[locker]
id = "{locker_id}"
default_language = "en"
database = "kiosk.sqlite"
secrets_file = "secrets.toml"

[bus]
url = "sim://residents"
protocol = "kerong-cu16"
hook_closed_bit = 1

{extra}
"""


def write_config(folder: Path, extra: str = "") -> Path:
    compartments = "".join(
        f"[[compartments]]\nid = \"{c.id}\"\nsize = \"{c.size.value}\"\nboard = {c.board}\nlock = {c.lock}\n"
        f"height_cm = {c.height_cm}\ncolumn = {c.column}\n\n" for c in LAYOUT)
    path = folder / "kiosk.toml"
    path.write_text(CONFIG.format(locker_id=LOCKER_ID, extra=extra) + compartments, encoding="utf-8")
    return path

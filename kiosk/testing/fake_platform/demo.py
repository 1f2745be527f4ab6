"""The network state `make demo-online` shows: what the operator's platform knows about the demo locker.

The kiosk places its own demo parcels (`kiosk --demo`): DEMO-1 (code 111111), DEMO-2 and DEMO-3 (one code,
222222, for both) and DEMO-4 (333333). The platform adds what only a platform can:

- a second pickup code, 444444, re-issued for DEMO-1 (say the recipient lost the first one): the kiosk
  learns it by sync, so after the first sync 444444 opens DEMO-1 too, which shows sync working;
- parcels announced but not yet deposited, for a courier to drop off (one needs a compartment within
  reach from a wheelchair), each for a recipient with a distinct recipient_ref (face pickup keys to it);
- two couriers, one with a badge;
- two return authorisations.

Seeding is idempotent: every record has a fixed id, so seeding a platform database again (a second demo
run) replaces the records instead of adding more.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.testing.fake_platform.server import FakePlatform

REISSUED_CODE = "444444"
REISSUED_FOR = "DEMO-1"
REISSUED_CREDENTIAL_ID = "cred-DEMO-1-reissued"
# As the kiosk places DEMO-1 (kiosk.app.DEMO_PARCELS: code 111111, size S, Ada Lovelace).
REISSUED_PARCEL_SIZE = "S"
REISSUED_PARCEL_RECIPIENT = "A. Lovelace"
DEMO_HEARTBEAT_INTERVAL_S = 15  # the contract's shortest
DEMO_SYNC_INTERVAL_S = 10  # the contract's shortest


@dataclass(frozen=True)
class AnnouncedParcel:
    parcel_id: str
    barcode: str
    size: str
    accessible: bool
    recipient: str
    recipient_ref: str  # the recipient's pseudonymous key at the operator (face pickup keys enrolments to it)


@dataclass(frozen=True)
class DemoCourier:
    courier_id: str
    pin: str
    badge_secret: str | None
    display_name: str


@dataclass(frozen=True)
class DemoReturn:
    code: str
    size: str
    return_id: str
    parcel_id: str


ANNOUNCED_PARCELS = (
    AnnouncedParcel("PX-DEMO-101", "JJD0001234567101", "S", False, "B. Liskov", "demo-rcp-7f3a01"),
    AnnouncedParcel("PX-DEMO-102", "JJD0001234567102", "M", True, "K. Johnson", "demo-rcp-7f3a02"),
    AnnouncedParcel("PX-DEMO-103", "00340434161094042103", "L", False, "E. Dijkstra", "demo-rcp-7f3a03"),
    AnnouncedParcel("PX-DEMO-104", "JJD0001234567104", "XL", False, "D. Knuth", "demo-rcp-7f3a04"),
    AnnouncedParcel("PX-DEMO-105", "00340434161094042105", "S", False, "M. Hamilton", "demo-rcp-7f3a05"),
)
COURIERS = (
    DemoCourier("C-100", "1234", "DEMOBADGE00000001", "Demo courier C-100"),
    DemoCourier("C-200", "5678", None, "Demo courier C-200"),
)
RETURNS = (
    DemoReturn("RETURN0001", "S", "ret-demo-1", "RX-DEMO-1"),
    DemoReturn("RETURN0002", "M", "ret-demo-2", "RX-DEMO-2"),
)


def seed_demo(platform: FakePlatform) -> list[str]:
    """Put the demo network state into `platform` (running or not); return what was seeded, one line per
    item, for people to read (codes, PINs and badge contents are the demo's, printed on purpose)."""
    platform.set_config(display_name="Demo locker (fake platform)",
                        heartbeat_interval_s=DEMO_HEARTBEAT_INTERVAL_S, sync_interval_s=DEMO_SYNC_INTERVAL_S)
    platform.add_expected_parcel(parcel_id=REISSUED_FOR, size=REISSUED_PARCEL_SIZE,
                                 recipient=REISSUED_PARCEL_RECIPIENT)
    platform.add_pickup_credential(code=REISSUED_CODE, parcel_ids=[REISSUED_FOR],
                                   credential_id=REISSUED_CREDENTIAL_ID)
    lines = [f"demo network state of locker {platform.locker_id}:",
             f"  pickup code {REISSUED_CODE}: re-issued for {REISSUED_FOR} (the kiosk's 111111 opens it "
             "too); it works once the kiosk has synced"]
    for parcel in ANNOUNCED_PARCELS:
        platform.add_expected_parcel(parcel_id=parcel.parcel_id, barcode=parcel.barcode, size=parcel.size,
                                     accessible=parcel.accessible, recipient=parcel.recipient,
                                     recipient_ref=parcel.recipient_ref)
        reach = ", needs a compartment within wheelchair reach" if parcel.accessible else ""
        lines.append(f"  announced parcel {parcel.parcel_id}: barcode {parcel.barcode}, size {parcel.size}"
                     f"{reach} (for a courier to drop off)")
    for courier in COURIERS:
        platform.add_courier(courier_id=courier.courier_id, pin=courier.pin,
                             badge_secret=courier.badge_secret, display_name=courier.display_name)
        badge = (f", badge QR LK1:C:{courier.courier_id}:{courier.badge_secret}"
                 if courier.badge_secret is not None else "")
        lines.append(f"  courier {courier.courier_id}: PIN {courier.pin}{badge}")
    for authorisation in RETURNS:
        platform.add_return(code=authorisation.code, size=authorisation.size,
                            return_id=authorisation.return_id, parcel_id=authorisation.parcel_id)
        lines.append(f"  return code {authorisation.code}: size {authorisation.size}, "
                     f"QR LK1:R:{authorisation.code}")
    return lines

"""QA scenarios for courier mode (issue 6, "Must show"), on the real kiosk: real widgets offscreen, a real
SQLite file, simulated Kerong boards with IR sensors, a simulated camera, label scans through the
keyboard-wedge scanner, taps by objectName only, and waits on conditions, never fixed sleeps.

Where a scenario checks the events the locker sends, the kiosk is connected to the fake platform (a real HTTP
server): standalone, the outbox is emptied into the local record at once, the pickup codes in clear with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from kiosk.core.inventory import ACCESSIBLE_MAX_HEIGHT_CM

BADGE = "QABADGE000000001"
COURIER_ID = "C-7"
PIN = "2468"
SIZE_RANK = {"S": 0, "M": 1, "L": 2, "XL": 3}


# the courier's moves ----------------------------------------------------------------------------------------

def log_in_by_badge(kiosk: Any, *, camera: bool = True) -> None:
    """A courier holds the badge up to the camera (or to the hand scanner) on the home screen: courier mode
    opens with no tap. The camera counts a code shown again only once it was out of sight for 3 s
    (hal.codes.repeat), so a courier back within seconds uses the scanner."""
    courier = kiosk.seed_courier(badge=BADGE, courier_id=COURIER_ID, pin=PIN)
    assert kiosk.screen() == "home"
    if camera:
        kiosk.camera.show_qr(courier.badge_qr)
    else:
        kiosk.scanner.scan(courier.badge_qr)
    kiosk.wait_screen("courier_menu", timeout=10)
    if camera:
        kiosk.camera.clear()  # the badge goes back in the pocket


def start_dropoff(kiosk: Any) -> None:
    """Doors closed by the simulator hold what was put in; the courier logs in by badge and starts a batch."""
    kiosk.sim.set_ir_on_close(True)
    log_in_by_badge(kiosk)
    kiosk.tap("courier_dropoff_button")
    kiosk.wait_screen("courier_scan")


def deposit_door(kiosk: Any, parcel_id: str | None = None, *, not_in: tuple[str, ...] = (),
                 timeout: float = 5.0) -> str:
    """The compartment the kiosk asked to open for this parcel (None: for whichever parcel is going in), once
    its door is open and the kiosk has seen it so: what the courier reads on the door screen."""
    found: list[str] = []

    def asked() -> bool:
        found[:] = [entry.compartment_id for entry in kiosk.app.store.unfinished_journal()
                    if entry.purpose.value == "deposit" and entry.compartment_id not in not_in
                    and (parcel_id is None or parcel_id in entry.parcel_ids)]
        return len(found) == 1
    kiosk.wait_until(asked, timeout, what=f"a door asked for parcel {parcel_id or '(any)'}")
    kiosk.wait_door_open(found[0], timeout)
    return found[0]


def deposit(kiosk: Any, parcel_id: str) -> str:
    """The door is open for the parcel: the courier puts it in and pushes the door shut (the IR sensor reads
    it, set_ir_on_close); the kiosk is ready for the next label."""
    compartment = deposit_door(kiosk, parcel_id)
    kiosk.sim.close_door(compartment)
    kiosk.wait_until(lambda: kiosk.parcel(parcel_id).state == "in_locker", what=f"{parcel_id} deposited")
    kiosk.wait_screen("courier_scan")
    return compartment


def log_out(kiosk: Any, **counts: str) -> None:
    """Back to the menu, log out, read the session's counts on the summary (delivered="1", faults="0", ...)
    and leave it."""
    if kiosk.screen() != "courier_menu":
        kiosk.tap("courier_menu_button")
        kiosk.wait_screen("courier_menu")
    kiosk.tap("courier_logout_button")
    kiosk.wait_screen("courier_summary")
    for name, value in counts.items():
        assert kiosk.text(f"{name}_count_value") == value, name
    kiosk.tap("done_button")
    kiosk.wait_screen("home")


def pick_up_by_keypad(kiosk: Any, parcel_id: str, code: str) -> None:
    compartment = kiosk.parcel(parcel_id).compartment
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.type_code(code)
    kiosk.wait_door_open(compartment)
    kiosk.sim.close_door(compartment)  # set_ir_on_close: a pickup door closes empty
    kiosk.wait_screen("thank_you")
    assert kiosk.parcel(parcel_id).state == "picked_up"
    kiosk.tap("done_button")
    kiosk.wait_screen("home")


class TapCounter(QObject):
    """Every press of a finger (mouse button) anywhere in the application, counted."""

    def __init__(self) -> None:
        super().__init__()
        self.taps = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin):
            self.taps += 1
        return False


@contextmanager
def counting_taps() -> Iterator[TapCounter]:
    application = QApplication.instance()
    assert application is not None
    counter = TapCounter()
    application.installEventFilter(counter)
    try:
        yield counter
    finally:
        application.removeEventFilter(counter)


def platform_deposits(kiosk: Any, count: int) -> list[dict[str, Any]]:
    kiosk.wait_until(lambda: len(kiosk.platform.events("deposited")) >= count, timeout=10,
                     what=f"{count} deposited events on the platform")
    return kiosk.platform.events("deposited")


# 1. the batch -----------------------------------------------------------------------------------------------

BATCH_SIZES = ["S"] * 7 + ["M"] * 7 + ["L"] * 3 + ["XL"] * 3  # 20 of the 24 compartments


def test_twenty_parcels_in_one_batch_with_scans_only(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(platform=True)
    parcels = [kiosk.seed_expected(barcode=f"JJD{index:010d}", size=size)
               for index, size in enumerate(BATCH_SIZES, start=1)]
    kiosk.sim.set_ir_on_close(True)
    log_in_by_badge(kiosk)
    with counting_taps() as counter:  # every finger on the screen, not only the driver's taps
        kiosk.tap("courier_dropoff_button")
        kiosk.wait_screen("courier_scan")
        assert counter.taps == 1
        taps_before = kiosk.taps
        used: list[str] = []
        for parcel in parcels:
            kiosk.scanner.scan(parcel.barcode)
            used.append(deposit(kiosk, parcel.id))
            assert f"is in door {used[-1]}" in kiosk.text("notice_label")
    assert counter.taps == 1 and kiosk.taps == taps_before  # none after the drop-off button
    assert len(set(used)) == 20
    assert kiosk.text("delivered_count_value") == "20"
    for parcel, compartment in zip(parcels, used, strict=True):
        placed = kiosk.parcel(parcel.id)
        assert (placed.state, placed.compartment) == ("in_locker", compartment)
        assert SIZE_RANK[kiosk.compartment(compartment).size] >= SIZE_RANK[parcel.size]
    events = platform_deposits(kiosk, 20)
    assert sorted(event["parcel_id"] for event in events) == sorted(parcel.id for parcel in parcels)
    assert all(event["details"]["courier_id"] == COURIER_ID for event in events)
    codes = kiosk.platform.pickup_codes()
    assert sorted(codes) == sorted(parcel.id for parcel in parcels)
    assert len(set(codes.values())) == 20
    log_out(kiosk)
    # Each code really opens its parcel: the recipients of the first and the last come by.
    for parcel in (parcels[0], parcels[-1]):
        pick_up_by_keypad(kiosk, parcel.id, codes[parcel.id])


# 2. accessibility -------------------------------------------------------------------------------------------

def reachable(kiosk: Any, compartment: str) -> bool:
    return kiosk.compartment(compartment).height_cm <= ACCESSIBLE_MAX_HEIGHT_CM


def test_an_accessible_recipients_parcel_lands_within_reach_and_others_leave_the_last_low_one(
    kiosk: Any,
) -> None:
    # Two of the three M compartments within reach of a wheelchair are taken: one is left.
    for _ in range(2):
        assert reachable(kiosk, kiosk.seed_parcel(size="M").compartment)
    free_low_m = [cid for cid in kiosk.compartments() if kiosk.compartment(cid).size == "M"
                  and reachable(kiosk, cid) and kiosk.compartment(cid).state == "free"]
    assert len(free_low_m) == 1
    first = kiosk.seed_expected(barcode="JJD-ANYONE-1", size="M")
    second = kiosk.seed_expected(barcode="JJD-ANYONE-2", size="M")
    wheelchair = kiosk.seed_expected(barcode="JJD-WHEELCHAIR-M", size="M", accessible=True)
    wheelchair_small = kiosk.seed_expected(barcode="JJD-WHEELCHAIR-S", size="S", accessible=True)
    kiosk.sim.set_ir_on_close(True)
    log_in_by_badge(kiosk)
    kiosk.tap("courier_dropoff_button")
    kiosk.wait_screen("courier_scan")
    for parcel in (first, second):  # recipients who can reach any door: out of reach, the low M stays free
        kiosk.scanner.scan(parcel.barcode)
        assert not reachable(kiosk, deposit(kiosk, parcel.id))
    assert kiosk.compartment(free_low_m[0]).state == "free"
    kiosk.scanner.scan(wheelchair.barcode)
    assert deposit(kiosk, wheelchair.id) == free_low_m[0]
    kiosk.scanner.scan(wheelchair_small.barcode)
    placed = deposit(kiosk, wheelchair_small.id)
    assert kiosk.compartment(placed).size == "S" and reachable(kiosk, placed)
    for parcel in (wheelchair, wheelchair_small):
        assert kiosk.compartment(kiosk.parcel(parcel.id).compartment).height_cm <= 120


# 3. too small -----------------------------------------------------------------------------------------------

def test_too_small_moves_the_parcel_to_a_bigger_compartment_and_the_first_stays_free(kiosk: Any) -> None:
    parcel = kiosk.seed_expected(barcode="JJD-BULKY-1", size="S")
    start_dropoff(kiosk)
    kiosk.scanner.scan(parcel.barcode)
    small = deposit_door(kiosk, parcel.id)
    assert kiosk.compartment(small).size == "S"
    kiosk.tap("too_small_button")
    bigger = deposit_door(kiosk, parcel.id, not_in=(small,))
    assert kiosk.screen() == "door_open"
    assert f"Moved from door {small}." in kiosk.text()
    assert SIZE_RANK[kiosk.compartment(bigger).size] > SIZE_RANK["S"]
    kiosk.sim.close_door(small)  # the courier took the parcel back out of the small one and shut it
    kiosk.sim.close_door(bigger)
    kiosk.wait_screen("courier_scan")
    placed = kiosk.parcel(parcel.id)
    assert (placed.state, placed.compartment) == ("in_locker", bigger)
    assert kiosk.compartment(small).state == "free"
    assert kiosk.compartment(bigger).state == "occupied"
    assert kiosk.audit_kinds().count("courier_too_small") == 1
    assert not kiosk.sim.ir_reads(small)


# 4. doors that do not open ----------------------------------------------------------------------------------

def test_a_jammed_door_sends_the_parcel_to_another_compartment_and_is_taken_out_of_order(kiosk: Any) -> None:
    parcel = kiosk.seed_expected(barcode="JJD-JAM-1", size="S")
    # An S parcel for a recipient who needs no reach goes to the lowest S out of reach: C03 (130 cm).
    jammed = "C03"
    kiosk.sim.jam(jammed)
    start_dropoff(kiosk)
    kiosk.scanner.scan(parcel.barcode)
    other = deposit_door(kiosk, parcel.id, not_in=(jammed,))
    assert f"Moved from door {jammed}." in kiosk.text()
    assert kiosk.compartment(jammed).state == "out_of_order"
    assert not kiosk.sim.door_open(jammed)
    kiosk.sim.close_door(other)
    kiosk.wait_screen("courier_scan")
    assert kiosk.parcel(parcel.id).compartment == other
    faults = [entry for entry in kiosk.audit() if entry.kind == "door_fault"]
    assert [entry.compartment_id for entry in faults] == [jammed]
    log_out(kiosk, delivered="1", faults="1")


def test_door_did_not_open_moves_the_parcel_and_marks_the_first_door(kiosk: Any) -> None:
    parcel = kiosk.seed_expected(barcode="JJD-STUCK-1", size="M")
    start_dropoff(kiosk)
    kiosk.scanner.scan(parcel.barcode)
    first = deposit_door(kiosk, parcel.id)
    kiosk.tap("door_failed_button")  # seen open by the kiosk, but the courier cannot get it open
    other = deposit_door(kiosk, parcel.id, not_in=(first,))
    assert f"Moved from door {first}." in kiosk.text()
    assert kiosk.compartment(first).state == "out_of_order"
    kiosk.sim.close_door(other)
    kiosk.wait_screen("courier_scan")
    assert kiosk.parcel(parcel.id).compartment == other
    assert "courier_door_failed" in kiosk.audit_kinds()
    kiosk.sim.close_door(first)  # whatever the courier does with that door now, nothing is recorded for it
    assert kiosk.compartment(first).state == "out_of_order"
    log_out(kiosk, delivered="1", faults="1")


# 5. a full locker -------------------------------------------------------------------------------------------

def test_a_full_locker_tells_the_courier_plainly_who_keeps_the_parcel(kiosk: Any) -> None:
    for _ in range(4):  # every XL compartment holds a parcel
        kiosk.seed_parcel(size="XL")
    parcel = kiosk.seed_expected(barcode="JJD-TOO-BIG-1", size="XL")
    start_dropoff(kiosk)
    assert kiosk.text("refused_count_value") == "0"
    kiosk.scanner.scan(parcel.barcode)
    kiosk.wait_until(lambda: "No free compartment for size XL. Please keep this parcel." in kiosk.text(),
                     what="the locker-full notice")
    assert kiosk.screen() == "courier_scan"
    assert kiosk.text("refused_count_value") == "1"
    assert kiosk.parcel(parcel.id).state == "expected"
    assert kiosk.open_doors() == [] and kiosk.app.store.unfinished_journal() == []
    refused = [entry.details for entry in kiosk.audit() if entry.kind == "courier_parcel_refused"]
    assert [(details["reason"], details["barcode"]) for details in refused] == [
        ("locker_full", parcel.barcode)]


# 6. unannounced parcels -------------------------------------------------------------------------------------

def test_an_unannounced_parcel_is_refused_plainly_by_default(kiosk: Any) -> None:
    start_dropoff(kiosk)
    kiosk.scanner.scan("3SNEVERANNOUNCED1")
    kiosk.wait_until(lambda: "was not announced for this locker. Please keep it." in kiosk.text(),
                     what="the refusal")
    assert kiosk.text("refused_count_value") == "1"
    assert kiosk.open_doors() == [] and kiosk.app.store.unfinished_journal() == []
    assert kiosk.app.store.parcel_by_barcode("3SNEVERANNOUNCED1") is None


def test_an_unannounced_parcel_is_accepted_by_policy_with_a_size_tap_and_a_photo(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(platform=True, courier={"accept_unannounced": True})
    label = "3SNEVERANNOUNCED2"
    start_dropoff(kiosk)
    kiosk.scanner.scan(label)
    kiosk.wait_screen("courier_size")
    kiosk.wait_until(lambda: kiosk.widget("size_M").isEnabled(), what="the sizes offered")
    kiosk.tap("size_M")
    compartment = deposit_door(kiosk)
    assert kiosk.compartment(compartment).size == "M"
    kiosk.sim.close_door(compartment)
    kiosk.wait_screen("courier_scan")
    parcel = kiosk.app.store.parcel_by_barcode(label)
    assert parcel is not None and parcel.compartment_id == compartment
    [event] = platform_deposits(kiosk, 1)
    assert event["parcel_id"] == parcel.id
    assert event["details"]["unannounced"] is True and event["details"]["barcode"] == label
    assert event["details"]["courier_id"] == COURIER_ID
    with closing(sqlite3.connect(kiosk.config.locker.database)) as database:
        rows = database.execute("SELECT jpeg FROM parcel_photos WHERE parcel_id = ?", (parcel.id,)).fetchall()
    assert len(rows) == 1
    photo = bytes(rows[0][0])
    assert photo[:2] == b"\xff\xd8" and photo[-2:] == b"\xff\xd9"  # a JPEG


# 7. the IR sensor reads empty -------------------------------------------------------------------------------

def test_a_door_closed_on_nothing_asks_the_courier_and_records_nothing_or_opens_again(
    kiosk_factory: Any,
) -> None:
    kiosk = kiosk_factory(platform=True)
    parcel = kiosk.seed_expected(barcode="JJD-EMPTY-1", size="S")
    start_dropoff(kiosk)
    kiosk.scanner.scan(parcel.barcode)
    compartment = deposit_door(kiosk, parcel.id)
    kiosk.sim.close_door(compartment, ir=False)  # shut without the parcel in it
    kiosk.wait_screen("deposit_check")
    assert f"Door {compartment} is closed, but the compartment looks empty." in kiosk.text()
    kiosk.tap("skip_button")
    kiosk.wait_screen("courier_scan")
    assert "was not delivered. Please keep it." in kiosk.text()
    assert kiosk.text("delivered_count_value") == "0" and kiosk.text("refused_count_value") == "1"
    assert kiosk.parcel(parcel.id).state == "expected"
    assert kiosk.compartment(compartment).state == "free"

    kiosk.scanner.scan(parcel.barcode)  # found it in the van after all
    again = deposit_door(kiosk, parcel.id)
    kiosk.sim.close_door(again, ir=False)
    kiosk.wait_screen("deposit_check")
    kiosk.tap("reopen_button")  # it is in there, pushed to the back
    kiosk.wait_screen("door_open")
    assert deposit_door(kiosk, parcel.id) == again
    kiosk.sim.close_door(again)
    kiosk.wait_screen("courier_scan")
    assert kiosk.parcel(parcel.id).state == "in_locker"
    [event] = platform_deposits(kiosk, 1)  # the skipped door sent nothing
    assert event["parcel_id"] == parcel.id and event["compartment_id"] == again
    kiosk.wait_until(lambda: kiosk.app.store.outbox_depth() == 0, what="the outbox delivered")
    assert len(kiosk.platform.events("deposited")) == 1


# 8. collection ----------------------------------------------------------------------------------------------

def test_expired_parcels_and_a_return_are_collected_one_and_then_all(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(platform=True)
    expired = [kiosk.seed_parcel(size="S"), kiosk.seed_parcel(size="L")]
    returned = kiosk.seed_return(code="RETURN0800", size="M")
    hand_in_return_by_qr(kiosk, returned.qr)
    kiosk.advance(73 * 3600)  # past the 72 h pickup window
    kiosk.sim.set_ir_on_close(True)
    log_in_by_badge(kiosk)
    assert "3 parcels waiting" in kiosk.text("courier_collect_button")
    kiosk.tap("courier_collect_button")
    kiosk.wait_screen("courier_collect")
    for parcel_id in [parcel.id for parcel in expired] + [returned.parcel_id]:
        assert f"open_{parcel_id}" in kiosk.visible_names()
    assert [kiosk.parcel(parcel.id).state for parcel in expired] == ["expired", "expired"]

    first = expired[0]
    kiosk.tap(f"open_{first.id}")
    kiosk.wait_screen("door_open")
    kiosk.wait_door_open(first.compartment)
    assert kiosk.parcel(first.id).state == "expired"  # not collected while the door is open
    kiosk.sim.close_door(first.compartment)  # taken out: the IR reads empty
    kiosk.wait_screen("courier_collect")
    assert kiosk.parcel(first.id).state == "collected"

    kiosk.tap("open_all_button")
    kiosk.wait_screen("door_open")
    rest = [(expired[1].id, expired[1].compartment),
            (returned.parcel_id, kiosk.parcel(returned.parcel_id).compartment)]
    for _, compartment in rest:
        kiosk.wait_door_open(compartment)
    assert sorted(kiosk.open_doors()) == sorted(compartment for _, compartment in rest)
    for parcel_id, compartment in rest:
        kiosk.sim.close_door(compartment)
        kiosk.wait_until(lambda parcel_id=parcel_id: kiosk.parcel(parcel_id).state == "collected",
                         what=f"{parcel_id} collected")
    kiosk.wait_screen("courier_collect")
    assert "All parcels collected" in kiosk.text()
    for _, compartment in [(first.id, first.compartment), *rest]:
        assert kiosk.compartment(compartment).state == "free"
    kiosk.wait_until(lambda: len(kiosk.platform.events("collected")) == 3, timeout=10,
                     what="three collected events on the platform")
    reasons = {event["parcel_id"]: event["details"]["reason"] for event in kiosk.platform.events("collected")}
    assert reasons == {expired[0].id: "expired", expired[1].id: "expired", returned.parcel_id: "returned"}
    assert {event["details"]["courier_id"] for event in kiosk.platform.events("collected")} == {COURIER_ID}
    log_out(kiosk, collected="3", faults="0")


def hand_in_return_by_qr(kiosk: Any, qr: str) -> None:
    """A customer shows the return QR on the home screen, takes the offered size and drops the parcel in."""
    kiosk.sim.set_ir_on_close(True)
    kiosk.camera.show_qr(qr)
    kiosk.wait_screen("return_size", timeout=10)
    kiosk.camera.clear()
    size = next(name for name in ("size_S", "size_M", "size_L", "size_XL") if kiosk.widget(name).isEnabled())
    kiosk.tap(size)
    compartment = return_door(kiosk)
    kiosk.sim.close_door(compartment)
    kiosk.wait_screen("receipt")
    kiosk.tap("done_button")
    kiosk.wait_screen("home")
    kiosk.sim.set_ir_on_close(False)


def return_door(kiosk: Any) -> str:
    found: list[str] = []

    def asked() -> bool:
        found[:] = [entry.compartment_id for entry in kiosk.app.store.unfinished_journal()
                    if entry.purpose.value == "return"]
        return len(found) == 1
    kiosk.wait_until(asked, what="the door asked for the return")
    kiosk.wait_door_open(found[0])
    return found[0]


def test_door_did_not_open_in_a_collection_gives_up_the_doors_still_open(kiosk: Any) -> None:
    parcels = [kiosk.seed_parcel(size=size) for size in ("S", "M", "L")]
    kiosk.advance(73 * 3600)
    kiosk.sim.set_ir_on_close(True)
    log_in_by_badge(kiosk)
    kiosk.tap("courier_collect_button")
    kiosk.wait_screen("courier_collect")
    kiosk.tap("open_all_button")
    kiosk.wait_screen("door_open")
    for parcel in parcels:
        kiosk.wait_door_open(parcel.compartment)
    emptied, *stuck = parcels
    kiosk.sim.close_door(emptied.compartment)
    kiosk.wait_until(lambda: kiosk.parcel(emptied.id).state == "collected", what="the first one collected")
    assert kiosk.screen() == "door_open"
    kiosk.tap("door_failed_button")  # two doors still open; the courier says they did not open
    kiosk.wait_screen("courier_collect")
    for parcel in stuck:
        assert kiosk.compartment(parcel.compartment).state == "out_of_order"
        assert kiosk.parcel(parcel.id).state == "expired"  # still recorded where it was, to be checked
    assert kiosk.audit_kinds().count("courier_door_failed") == 2
    assert "Not collected" in kiosk.text()
    log_out(kiosk, collected="1", faults="2")


# 10. login by id and PIN, and the summary (9, returns: test_return_scenarios.py) ----------------------------

def type_text(kiosk: Any, text: str) -> None:
    for character in text:
        kiosk.tap("key_dash" if character == "-" else f"key_{character}")


def test_login_by_id_and_pin_counts_a_wrong_pin_and_the_summary_counts_the_session(kiosk: Any) -> None:
    kiosk.seed_courier(courier_id=COURIER_ID, pin=PIN)  # no badge: id and PIN only
    to_collect = kiosk.seed_parcel(size="S")
    kiosk.advance(73 * 3600)
    parcel = kiosk.seed_expected(barcode="JJD-SESSION-1", size="M")
    kiosk.tap("courier_button")
    kiosk.wait_screen("courier_login")
    type_text(kiosk, COURIER_ID)
    kiosk.tap("key_ok")  # on to the PIN
    type_text(kiosk, "1111")
    kiosk.tap("key_ok")
    kiosk.wait_until(lambda: "not recognised. 4 attempts left" in kiosk.text(), timeout=10,
                     what="the wrong PIN refused")
    assert kiosk.screen() == "courier_login"
    failed = [entry.details for entry in kiosk.audit() if entry.kind == "courier_login_failed"]
    assert [(details["method"], details["failures_in_a_row"]) for details in failed] == [("pin", 1)]
    assert kiosk.widget("courier_id_field").text() == COURIER_ID and kiosk.widget("pin_field").text() == ""
    type_text(kiosk, PIN)
    kiosk.tap("key_ok")
    kiosk.wait_screen("courier_menu", timeout=10)
    assert "1 parcel" in kiosk.text("courier_collect_button")  # expired on the way in: to collect

    kiosk.sim.set_ir_on_close(True)
    kiosk.tap("courier_dropoff_button")
    kiosk.wait_screen("courier_scan")
    kiosk.scanner.scan(parcel.barcode)
    first = deposit_door(kiosk, parcel.id)
    kiosk.tap("door_failed_button")
    other = deposit_door(kiosk, parcel.id, not_in=(first,))
    kiosk.sim.close_door(other)
    kiosk.wait_screen("courier_scan")
    kiosk.scanner.scan("3SNEVERANNOUNCED3")
    kiosk.wait_until(lambda: kiosk.text("refused_count_value") == "1", what="the refusal counted")
    kiosk.tap("courier_menu_button")
    kiosk.wait_screen("courier_menu")
    kiosk.tap("courier_collect_button")
    kiosk.wait_screen("courier_collect")
    kiosk.tap(f"open_{to_collect.id}")
    kiosk.wait_door_open(to_collect.compartment)
    kiosk.sim.close_door(to_collect.compartment)
    kiosk.wait_screen("courier_collect")
    kiosk.tap("courier_menu_button")
    kiosk.wait_screen("courier_menu")
    log_out(kiosk, delivered="1", refused="1", collected="1", faults="1")
    logout = [entry.details for entry in kiosk.audit() if entry.kind == "courier_logout"]
    assert [(d["delivered"], d["refused"], d["collected"], d["faults"]) for d in logout] == [(1, 1, 1, 1)]


# a label delivered before -----------------------------------------------------------------------------------

def test_a_label_delivered_before_is_already_here_in_any_later_session(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(platform=True)
    parcel = kiosk.seed_expected(barcode="JJD-TWICE-1", size="S")
    start_dropoff(kiosk)
    kiosk.scanner.scan(parcel.barcode)
    compartment = deposit(kiosk, parcel.id)
    log_out(kiosk)

    def scan_in_a_new_session() -> None:
        log_in_by_badge(kiosk, camera=False)
        kiosk.tap("courier_dropoff_button")
        kiosk.wait_screen("courier_scan")
        kiosk.scanner.scan(parcel.barcode)
        already = f"Parcel {parcel.barcode} was delivered to this locker already."
        kiosk.wait_until(lambda: already in kiosk.text(), what="already here")
        assert kiosk.app.store.unfinished_journal() == [] and kiosk.open_doors() == []
        assert kiosk.text("refused_count_value") == "0"
        log_out(kiosk)

    scan_in_a_new_session()  # in the locker
    platform_deposits(kiosk, 1)
    pick_up_by_keypad(kiosk, parcel.id, kiosk.platform.pickup_codes()[parcel.id])
    scan_in_a_new_session()  # picked up since
    assert kiosk.parcel(parcel.id).compartment == compartment

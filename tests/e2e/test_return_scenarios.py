"""QA scenarios for customer returns (issue 6, "Must show"), on the real kiosk: real widgets offscreen, a real
SQLite file, simulated Kerong boards with IR sensors, a simulated camera, the fake platform (a real HTTP
server) for the returned events, taps by objectName only, and waits on conditions.
"""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.testing.driver import ScenarioError

SIZES = ("size_S", "size_M", "size_L", "size_XL")


def type_on_keyboard(kiosk: Any, text: str) -> None:
    for character in text:
        kiosk.tap(f"key_{character}")


def return_door(kiosk: Any, timeout: float = 5.0) -> str:
    """The compartment the kiosk asked to open for the return, once its door is open and seen so."""
    found: list[str] = []

    def asked() -> bool:
        found[:] = [entry.compartment_id for entry in kiosk.app.store.unfinished_journal()
                    if entry.purpose.value == "return"]
        return len(found) == 1
    kiosk.wait_until(asked, timeout, what="the door asked for the return")
    kiosk.wait_door_open(found[0], timeout)
    return found[0]


def enter_code(kiosk: Any, code: str) -> None:
    kiosk.tap("return_button")
    kiosk.wait_screen("return_code")
    type_on_keyboard(kiosk, code)
    kiosk.tap("submit_button")


def shown_receipt(kiosk: Any) -> str:
    return "".join(kiosk.text("receipt_code_label").split())


def test_a_return_typed_on_the_keyboard_end_to_end_reaches_the_platform(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(platform=True)
    seeded = kiosk.seed_return(code="RETURN0901", size="S")
    kiosk.sim.set_ir_on_close(True)
    enter_code(kiosk, seeded.code)
    kiosk.wait_screen("return_size")
    assert "Your return needs a size S compartment" in kiosk.text()
    kiosk.tap("size_S")
    compartment = return_door(kiosk)
    assert kiosk.screen() == "door_open"
    assert f"Put your parcel in door {compartment} and close it." in kiosk.text()
    assert kiosk.compartment(compartment).size == "S"
    kiosk.sim.close_door(compartment)  # the parcel in: the IR sensor reads it
    kiosk.wait_screen("receipt")
    receipt = shown_receipt(kiosk)
    assert len(receipt) >= 6 and receipt.isalnum()
    assert compartment in kiosk.text()
    returned = kiosk.parcel(seeded.parcel_id)
    assert (returned.state, returned.compartment) == ("returned", compartment)
    kiosk.tap("done_button")
    kiosk.wait_screen("home")
    kiosk.wait_until(lambda: seeded.return_id in kiosk.platform.returned_receipts(), timeout=10,
                     what="the returned event on the platform")
    assert kiosk.platform.returned_receipts() == {seeded.return_id: receipt}
    [event] = kiosk.platform.events("returned")
    assert (event["parcel_id"], event["compartment_id"]) == (seeded.parcel_id, compartment)


def test_a_return_qr_on_the_home_screen_starts_the_return_with_no_tap(kiosk_factory: Any) -> None:
    kiosk = kiosk_factory(platform=True)
    seeded = kiosk.seed_return(code="RETURN0902", size="M")
    kiosk.sim.set_ir_on_close(True)
    assert kiosk.screen() == "home"
    kiosk.camera.show_qr(seeded.qr)
    kiosk.wait_screen("return_size", timeout=10)
    kiosk.camera.clear()
    assert not kiosk.widget("size_S").isEnabled()  # smaller than the return
    kiosk.tap("size_L")  # it turned out bigger
    compartment = return_door(kiosk)
    assert kiosk.compartment(compartment).size in ("L", "XL")
    kiosk.sim.close_door(compartment)
    kiosk.wait_screen("receipt")
    receipt = shown_receipt(kiosk)
    kiosk.tap("done_button")
    kiosk.wait_screen("home")
    kiosk.wait_until(lambda: kiosk.platform.returned_receipts() == {seeded.return_id: receipt}, timeout=10,
                     what="the returned event on the platform")
    scanned = [entry.details for entry in kiosk.audit() if entry.kind == "return_code_accepted"]
    assert [details["scanned"] for details in scanned] == [True]


def test_a_used_return_code_and_a_wrong_one_are_refused_plainly(kiosk: Any) -> None:
    seeded = kiosk.seed_return(code="RETURN0903", size="S")
    kiosk.sim.set_ir_on_close(True)
    enter_code(kiosk, "RETURN9999")
    kiosk.wait_until(lambda: "was not recognised, or it was used already" in kiosk.text(),
                     what="the wrong code refused")
    assert "4 attempts left" in kiosk.text()
    kiosk.tap("cancel_button")
    kiosk.wait_screen("home")
    enter_code(kiosk, seeded.code)
    kiosk.wait_screen("return_size")
    kiosk.tap("size_S")
    kiosk.sim.close_door(return_door(kiosk))
    kiosk.wait_screen("receipt")
    kiosk.tap("done_button")
    kiosk.wait_screen("home")
    enter_code(kiosk, seeded.code)  # once in the locker, the code is spent
    kiosk.wait_until(lambda: "was not recognised, or it was used already" in kiosk.text(),
                     what="the used code refused")
    assert kiosk.screen() == "return_code" and kiosk.open_doors() == []


@pytest.mark.parametrize("answer", ["skip", "reopen"])
def test_a_return_door_closed_on_nothing_asks_and_records_nothing_unless_reopened(
    kiosk: Any, answer: str
) -> None:
    seeded = kiosk.seed_return(code="RETURN0904", size="S")
    kiosk.sim.set_ir_on_close(True)
    enter_code(kiosk, seeded.code)
    kiosk.wait_screen("return_size")
    kiosk.tap("size_S")
    compartment = return_door(kiosk)
    kiosk.sim.close_door(compartment, ir=False)  # shut with the parcel still in hand
    kiosk.wait_screen("deposit_check")
    assert "we cannot see a parcel inside" in kiosk.text()
    if answer == "skip":
        kiosk.tap("skip_button")
        kiosk.wait_screen("home")
        assert kiosk.compartment(compartment).state == "free"
        with pytest.raises(ScenarioError, match="no parcel"):
            kiosk.parcel(seeded.parcel_id)  # never went in
        assert "return_not_deposited" in kiosk.audit_kinds()
        # Nothing was recorded: the code still works.
        enter_code(kiosk, seeded.code)
        kiosk.wait_screen("return_size")
        kiosk.tap("cancel_button")
        kiosk.wait_screen("home")
        return
    kiosk.tap("reopen_button")
    assert return_door(kiosk) == compartment
    kiosk.sim.close_door(compartment)
    kiosk.wait_screen("receipt")
    assert kiosk.parcel(seeded.parcel_id).state == "returned"

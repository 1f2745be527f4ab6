"""QA scenarios for pickup by PIN, written with the kiosk.testing plugin as QA would write them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hal.lockboard.kerong.simulator import KerongSimulator

CHILD = Path(__file__).with_name("pickup_child.py")


def pick_up(kiosk, parcel) -> None:
    """A recipient at an open door: takes the parcel out and pushes the door shut."""
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.ir(parcel.compartment, False)
    kiosk.sim.close_door(parcel.compartment)


def test_pickup_by_pin(kiosk):
    parcel = kiosk.seed_parcel(size="M", code="123456", recipient="Ada Lovelace")
    assert kiosk.screen() == "home"
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.type_code("123456")
    kiosk.wait_screen("door_open")
    kiosk.wait_door_open(parcel.compartment)
    assert kiosk.open_doors() == [parcel.compartment]
    assert parcel.compartment in kiosk.text()
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")
    assert kiosk.parcel(parcel.id).state == "picked_up"
    assert kiosk.compartment(parcel.compartment).state == "free"
    assert kiosk.audit_kinds().count("parcel_picked_up") == 1
    kiosk.tap("done_button")
    kiosk.wait_screen("home")


def test_the_same_code_does_not_open_twice(kiosk):
    parcel = kiosk.seed_parcel(size="S", code="555123")
    kiosk.tap("pickup_button")
    kiosk.type_code("555123")
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")
    kiosk.tap("done_button")
    kiosk.tap("pickup_button")
    kiosk.type_code("555123")
    kiosk.wait_screen("pickup_code")
    assert kiosk.open_doors() == []
    assert "not recognised" in kiosk.text()


def test_two_parcels_on_one_code_one_after_the_other(kiosk):
    first = kiosk.seed_parcel(size="S", code="246810", recipient="Grace")
    second = kiosk.seed_parcel(size="L", code="246810", recipient="Grace")
    kiosk.tap("pickup_button")
    kiosk.type_code("246810")
    kiosk.wait_screen("parcel_list")
    kiosk.tap(f"open_parcel_{first.id}")
    kiosk.wait_screen("door_open")
    pick_up(kiosk, first)
    kiosk.wait_screen("parcel_list")
    assert kiosk.parcel(first.id).state == "picked_up"
    assert kiosk.parcel(second.id).state == "in_locker"
    kiosk.tap(f"open_parcel_{second.id}")
    kiosk.wait_screen("door_open")
    pick_up(kiosk, second)
    kiosk.wait_screen("thank_you")
    assert [kiosk.parcel(p.id).state for p in (first, second)] == ["picked_up", "picked_up"]


def test_two_parcels_on_one_code_all_at_once(kiosk):
    parcels = [kiosk.seed_parcel(size="M", code="135246"), kiosk.seed_parcel(size="XL", code="135246")]
    kiosk.tap("pickup_button")
    kiosk.type_code("135246")
    kiosk.wait_screen("parcel_list")
    kiosk.tap("open_all_button")
    kiosk.wait_screen("door_open")
    for parcel in parcels:
        kiosk.wait_door_open(parcel.compartment)
    assert sorted(kiosk.open_doors()) == sorted(p.compartment for p in parcels)
    pick_up(kiosk, parcels[0])
    kiosk.wait_until(lambda: kiosk.parcel(parcels[0].id).state == "picked_up")
    assert kiosk.screen() == "door_open"  # one door still open: still waiting at the locker
    pick_up(kiosk, parcels[1])
    kiosk.wait_screen("thank_you")
    assert all(kiosk.compartment(p.compartment).state == "free" for p in parcels)


def test_five_wrong_codes_lock_the_keypad_until_the_wait_is_over(kiosk):
    parcel = kiosk.seed_parcel(size="M", code="424242")
    kiosk.tap("pickup_button")
    for _ in range(4):
        kiosk.type_code("111111")
        kiosk.wait_screen("pickup_code")
    kiosk.type_code("111111")
    kiosk.wait_screen("locked_out")
    assert "1:00" in kiosk.text()
    kiosk.clock.advance(20)
    assert "0:40" in kiosk.text()
    kiosk.tap("cancel_button")
    kiosk.wait_screen("home")
    kiosk.tap("pickup_button")  # the lock is the locker's, not the screen's: going home does not lift it
    kiosk.wait_screen("locked_out")
    kiosk.clock.advance(29)
    assert "0:11" in kiosk.text()
    kiosk.clock.advance(1)  # nobody touched the screen for 30 s: it asks before it gives up
    kiosk.wait_screen("more_time")
    kiosk.tap("more_time_button")
    kiosk.wait_screen("locked_out")
    assert "0:10" in kiosk.text()
    kiosk.clock.advance(10)
    kiosk.wait_screen("pickup_code")
    kiosk.type_code("424242")
    kiosk.wait_screen("door_open")
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")


def test_a_second_lockout_lasts_twice_as_long(kiosk):
    kiosk.tap("pickup_button")
    for lockout_s in (60, 120):
        kiosk.wait_screen("pickup_code")
        for _ in range(5):
            kiosk.type_code("999999")
        kiosk.wait_screen("locked_out")
        kiosk.tap("cancel_button")
        kiosk.clock.advance(lockout_s - 1)
        kiosk.tap("pickup_button")
        kiosk.wait_screen("locked_out")
        assert "0:01" in kiosk.text()
        kiosk.clock.advance(1)
        kiosk.wait_screen("pickup_code")


def test_a_jammed_door_is_retried_once_then_reported_and_taken_out_of_order(kiosk):
    parcel = kiosk.seed_parcel(size="M", code="777777")
    unlocks = []
    kiosk.sim.simulator.add_listener(lambda event: unlocks.append(event) if event.kind == "unlock" else None)
    kiosk.sim.jam(parcel.compartment)
    kiosk.tap("pickup_button")
    kiosk.type_code("777777")
    kiosk.wait_screen("error")
    assert len(unlocks) == 2  # the first pulse and exactly one retry
    assert kiosk.door(parcel.compartment) == "closed"
    assert kiosk.parcel(parcel.id).state == "in_locker"
    assert kiosk.compartment(parcel.compartment).state == "out_of_order"
    text = kiosk.text()
    assert parcel.compartment in text
    assert "safe" in text  # tells the recipient the parcel is safe and what to do next
    assert "door_fault" in kiosk.audit_kinds()
    kiosk.tap("home_button")
    kiosk.wait_screen("home")


def test_a_board_cut_off_the_bus_shows_a_clear_error_and_marks_nothing(kiosk):
    parcel = kiosk.seed_parcel(size="S", code="808080")
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.sim.disconnect()  # while the recipient types
    kiosk.type_code("808080")
    kiosk.wait_screen("error")
    assert kiosk.parcel(parcel.id).state == "in_locker"
    assert kiosk.compartment(parcel.compartment).state == "occupied"
    assert "not responding" in kiosk.text()
    kiosk.sim.reconnect()
    kiosk.tap("home_button")
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), what="the locker back in service")
    kiosk.tap("pickup_button")
    kiosk.type_code("808080")
    kiosk.wait_screen("door_open")
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")


def test_inactivity_asks_for_more_time_then_goes_home(kiosk):
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.clock.advance(kiosk.config.timers.inactivity_s)
    kiosk.wait_screen("more_time")
    kiosk.tap("more_time_button")
    kiosk.wait_screen("pickup_code")
    kiosk.clock.advance(kiosk.config.timers.inactivity_s - 1)
    assert kiosk.screen() == "pickup_code"
    kiosk.clock.advance(1)
    kiosk.wait_screen("more_time")
    kiosk.clock.advance(kiosk.config.timers.more_time_s)
    kiosk.wait_screen("home")


def test_report_a_problem_after_pickup(kiosk):
    parcel = kiosk.seed_parcel(size="M", code="314159")
    kiosk.tap("pickup_button")
    kiosk.type_code("314159")
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")
    kiosk.tap("report_button")
    kiosk.wait_screen("report_problem")
    kiosk.tap("problem_damaged")
    kiosk.wait_screen("thank_you")
    reports = [
        entry for entry in kiosk.audit() if entry.parcel_id == parcel.id or "damaged" in str(entry.details)
    ]
    assert any("damaged" in str(entry.details) for entry in reports)


def test_language_switches_live_and_returns_to_default_when_idle(kiosk):
    english = kiosk.text()
    kiosk.tap("language_button")
    assert kiosk.text() != english
    assert "abholen" in kiosk.text().lower()
    kiosk.tap("pickup_button")
    kiosk.wait_screen("pickup_code")
    kiosk.clock.advance(kiosk.config.timers.inactivity_s + kiosk.config.timers.more_time_s + 1)
    kiosk.wait_screen("home")
    kiosk.wait_until(lambda: kiosk.text() == english, what="the default language")


@pytest.mark.parametrize(
    "door_closed_while_down", [False, True], ids=["door-still-open", "closed-while-down"]
)
def test_kill_9_with_a_door_open_loses_nothing_and_doubles_nothing(
    kiosk_factory, tmp_path, door_closed_while_down
):
    simulator = KerongSimulator(boards=2)
    device = simulator.serve_pty()
    database = tmp_path / "kiosk.sqlite"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp_path), str(database), device, "918273"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        assert child.stdout is not None
        seeded = child.stdout.readline().split()
        opened = child.stdout.readline().split()
        if not opened or opened[0] != "DOOR_OPEN":
            child.kill()
            pytest.fail(f"child kiosk did not open the door: {seeded} {opened} {child.stderr.read()}")
        parcel_id, compartment_id = seeded[1], seeded[2]
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    try:
        if door_closed_while_down:
            board, lock = _address(kiosk_factory, compartment_id)
            simulator.set_occupied(board, lock, False)
            simulator.close_door(board, lock)
        kiosk = kiosk_factory(simulator=simulator, database=database, bus_url=device)
        if not door_closed_while_down:
            assert kiosk.door(compartment_id) == "open"
            assert kiosk.parcel(parcel_id).state == "in_locker"
            kiosk.sim.ir(compartment_id, False)
            kiosk.sim.close_door(compartment_id)
        kiosk.wait_until(
            lambda: kiosk.parcel(parcel_id).state == "picked_up", what="the pickup to be committed"
        )
        assert kiosk.compartment(compartment_id).state == "free"
        assert kiosk.app.store.unfinished_journal() == []
        assert kiosk.audit_kinds().count("parcel_picked_up") == 1
        kiosk_factory.stop(kiosk)
        again = kiosk_factory(simulator=simulator, database=database, bus_url=device)
        assert again.audit_kinds().count("parcel_picked_up") == 1
        assert again.screen() == "home"
    finally:
        simulator.stop()


def _address(kiosk_factory, compartment_id):
    from kiosk.config import load_config
    from kiosk.testing.plugin import DEMO_CONFIG

    compartment = next(c for c in load_config(DEMO_CONFIG).compartments if c.id == compartment_id)
    return compartment.board, compartment.lock


def test_a_door_that_did_not_open_is_reported_at_the_door_and_pulsed_again(kiosk):
    parcel = kiosk.seed_parcel(size="M", code="271828")
    unlocks = []
    kiosk.sim.simulator.add_listener(lambda event: unlocks.append(event) if event.kind == "unlock" else None)
    kiosk.tap("pickup_button")
    kiosk.type_code("271828")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.tap("door_problem_button")
    kiosk.wait_screen("report_problem")
    kiosk.tap("cancel_button")  # changed their mind: back at the open door
    kiosk.wait_screen("door_open")
    kiosk.tap("door_problem_button")
    kiosk.wait_screen("report_problem")
    kiosk.tap("problem_door_did_not_open")
    kiosk.wait_screen("door_open")
    kiosk.wait_until(lambda: "door_unlock_repeated" in kiosk.audit_kinds(), what="a second unlock pulse")
    assert len(unlocks) == 2
    assert any(e.kind == "problem_reported" and e.details.get("problem") == "door_did_not_open"
               for e in kiosk.audit())
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")
    assert kiosk.parcel(parcel.id).state == "picked_up"
    assert "report" in kiosk.text().lower()


def test_send_or_return_asks_for_the_return_code_and_cancel_goes_home(kiosk):
    kiosk.tap("return_button")
    kiosk.wait_screen("return_code")
    kiosk.tap("cancel_button")
    kiosk.wait_screen("home")


def test_the_door_screen_speaks_only_of_the_doors_still_open(kiosk):
    parcels = [kiosk.seed_parcel(size="S", code="161803"), kiosk.seed_parcel(size="L", code="161803")]
    kiosk.tap("pickup_button")
    kiosk.type_code("161803")
    kiosk.tap("open_all_button")
    for parcel in parcels:
        kiosk.wait_door_open(parcel.compartment)
    first, second = parcels
    kiosk.wait_until(lambda: first.compartment in kiosk.text() and second.compartment in kiosk.text())
    pick_up(kiosk, first)
    kiosk.wait_until(lambda: first.compartment not in kiosk.text("title_label"), what="the title to update")
    assert second.compartment in kiosk.text("title_label")


def test_a_silent_bus_puts_the_locker_out_of_service_until_the_boards_answer_again(kiosk):
    parcel = kiosk.seed_parcel(size="S", code="414243")
    kiosk.sim.disconnect()
    kiosk.wait_until(lambda: "out_of_service_label" in kiosk.visible_names(), what="out of service")
    assert not kiosk.widget("pickup_button").isEnabled()
    assert "bus_down" in kiosk.audit_kinds()
    kiosk.sim.reconnect()
    kiosk.wait_until(lambda: "out_of_service_label" not in kiosk.visible_names(), what="recovery")
    assert "bus_restored" in kiosk.audit_kinds()
    kiosk.tap("pickup_button")
    kiosk.type_code("414243")
    pick_up(kiosk, parcel)
    kiosk.wait_screen("thank_you")
    assert kiosk.parcel(parcel.id).state == "picked_up"

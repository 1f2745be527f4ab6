"""The foundation's pickup scenarios on every lock-board family: only the config's bus protocol changes."""

from __future__ import annotations

import pytest

from hal.lockboard import known_protocols

PROTOCOLS = known_protocols()


@pytest.fixture(params=PROTOCOLS)
def kiosk_on(request, kiosk_factory):
    return kiosk_factory(protocol=request.param)


def test_pickup_by_pin_on_every_board_family(kiosk_on):
    kiosk = kiosk_on
    parcel = kiosk.seed_parcel(size="M", code="123456")
    kiosk.tap("pickup_button")
    kiosk.type_code("123456")
    kiosk.wait_screen("door_open")
    kiosk.wait_door_open(parcel.compartment)
    assert kiosk.open_doors() == [parcel.compartment]
    kiosk.sim.ir(parcel.compartment, False)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")
    assert kiosk.parcel(parcel.id).state == "picked_up"
    assert kiosk.compartment(parcel.compartment).state == "free"


def test_a_jammed_door_is_a_fault_on_every_board_family(kiosk_on):
    kiosk = kiosk_on
    parcel = kiosk.seed_parcel(size="M", code="654321")
    kiosk.sim.jam(parcel.compartment)
    kiosk.tap("pickup_button")
    kiosk.type_code("654321")
    kiosk.wait_screen("error", timeout=10)
    assert kiosk.parcel(parcel.id).state == "in_locker"
    assert kiosk.compartment(parcel.compartment).state == "out_of_order"


def test_a_silent_bus_is_out_of_service_and_recovers_on_every_board_family(kiosk_on):
    kiosk = kiosk_on
    parcel = kiosk.seed_parcel(size="S", code="111222")
    kiosk.sim.disconnect()
    kiosk.wait_until(lambda: "out_of_service_label" in kiosk.visible_names(), timeout=10, what="no service")
    assert kiosk.parcel(parcel.id).state == "in_locker"
    kiosk.sim.reconnect()
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), timeout=10, what="recovery")
    kiosk.tap("pickup_button")
    kiosk.type_code("111222")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")


def test_the_converter_unplugged_and_back_the_kiosk_recovers_by_itself(kiosk_factory, kiosk_config):
    """An RS-485-to-Ethernet converter (socket://) drops off the network mid-session and comes back."""
    from kiosk.app import simulator_for

    config = kiosk_config()
    simulator = simulator_for(config)
    port = simulator.serve_tcp(0)
    kiosk = kiosk_factory(simulator=simulator, bus_url=f"socket://127.0.0.1:{port}")
    parcel = kiosk.seed_parcel(size="M", code="909090")
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), what="the boards read once")
    simulator.stop()  # unplugged
    kiosk.wait_until(lambda: "out_of_service_label" in kiosk.visible_names(), timeout=10, what="no service")
    assert simulator.serve_tcp(port) == port  # plugged back, same address
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), timeout=10, what="recovery")
    kiosk.tap("pickup_button")
    kiosk.type_code("909090")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")
    simulator.stop()


def test_garbage_on_the_line_takes_the_locker_out_of_service_and_it_recovers(kiosk):
    parcel = kiosk.seed_parcel(size="M", code="373737")
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), what="the boards read once")
    kiosk.sim.simulator.garble_replies(1_000_000)  # every reply now fails its checksum
    kiosk.wait_until(lambda: "out_of_service_label" in kiosk.visible_names(), timeout=10, what="no service")
    assert kiosk.parcel(parcel.id).state == "in_locker"
    assert kiosk.compartment(parcel.compartment).state == "occupied"  # no door was confirmed: nothing marked
    kiosk.sim.simulator.garble_replies(0)
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), timeout=10, what="recovery")
    kiosk.tap("pickup_button")
    kiosk.type_code("373737")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")


def test_boards_that_push_are_heard_at_once_without_waiting_for_a_poll(kiosk_factory):
    # Polling once a minute: only the board's own push can tell the kiosk in time that the door closed.
    kiosk = kiosk_factory(protocol="wkly", timers={"door_poll_s": 60.0, "board_scan_s": 60.0})
    parcel = kiosk.seed_parcel(size="M", code="585858")
    kiosk.tap("pickup_button")
    kiosk.type_code("585858")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you", timeout=5)
    assert kiosk.parcel(parcel.id).state == "picked_up"


def test_bu_boards_wired_with_the_other_polarity_work_once_the_config_says_so(kiosk_factory, kiosk_config):
    import dataclasses

    config = kiosk_config(protocol="bu")
    config = dataclasses.replace(config, bus=dataclasses.replace(config.bus, options=(("closed_bit", 0),)))
    kiosk = kiosk_factory(config=config)
    parcel = kiosk.seed_parcel(size="M", code="246246")
    kiosk.wait_until(lambda: kiosk.widget("pickup_button").isEnabled(), what="the boards read once")
    assert kiosk.door(parcel.compartment) == "closed"
    kiosk.tap("pickup_button")
    kiosk.type_code("246246")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")

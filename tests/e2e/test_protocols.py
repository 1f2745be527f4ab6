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

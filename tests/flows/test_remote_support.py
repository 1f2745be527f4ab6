"""What the platform's support staff can do to a locker from afar, below the UI: open a door for a support
call (journaled, changing no parcel), take a compartment out of service and back. And how a pickup was
authorised reaches the platform (the picked_up event's method)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flow_rig import LOCKER_ID, Rig

from kiosk.core.flows.views import Intent, ScreenId
from kiosk.core.locker import DoorOutcome
from kiosk.core.model import (
    CompartmentState,
    DoorPurpose,
    DoorState,
    EventKind,
    JournalPhase,
    ParcelState,
    Size,
)
from kiosk.core.payloads import pickup_payload

CODE = "271828"


def test_a_support_opening_is_journaled_and_changes_no_parcel(rig: Rig) -> None:
    parcel = rig.place(CODE)
    compartment = parcel.compartment_id or ""

    async def scenario() -> None:
        assert await rig.controller.open_for_support(compartment, "SUP-1") is DoorOutcome.OPENED
        await rig.door_seen(compartment, DoorState.OPEN)
        rig.sim.close_door(*rig.address(compartment))  # the parcel is still in it
        await rig.until(lambda: rig.locker.unfinished() == {}, "the support opening to complete")

    rig.run(scenario)
    [opened] = [audit for audit in rig.store.audit_log() if audit.kind == "support_open"]
    assert opened.details["ticket"] == "SUP-1"
    entry = rig.store.journal_entry(int(str(opened.details["entry_id"])))
    assert entry.purpose is DoorPurpose.REMOTE_SUPPORT
    assert entry.phase is JournalPhase.COMPLETED
    assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER
    assert rig.store.compartment(compartment).state is CompartmentState.OCCUPIED
    assert [event.kind for event in rig.store.outbox_batch(10)] == [EventKind.DEPOSITED]
    assert rig.unlock_pulses(compartment) == 1


def test_support_can_open_a_door_that_is_out_of_order(rig: Rig) -> None:
    rig.store.mark_out_of_order("A3", "door_did_not_open", rig.clock.now())

    async def scenario() -> None:
        assert await rig.controller.open_for_support("A3", "SUP-2") is DoorOutcome.OPENED
        rig.sim.close_door(*rig.address("A3"))
        await rig.until(lambda: rig.locker.unfinished() == {}, "the support opening to complete")

    rig.run(scenario)
    assert rig.store.compartment("A3").state is CompartmentState.OUT_OF_ORDER  # the technician decides


def test_support_does_not_touch_a_door_a_recipient_has_open(rig: Rig) -> None:
    parcel = rig.place(CODE)
    compartment = parcel.compartment_id or ""

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=CODE)
        await rig.door_confirmed()
        assert await rig.controller.open_for_support(compartment, "SUP-3") is DoorOutcome.BUSY
        rig.take_parcel_and_close(compartment)
        await rig.screen_is(ScreenId.THANK_YOU)

    rig.run(scenario)
    assert rig.unlock_pulses(compartment) == 1
    assert "support_open_refused_busy" in rig.audit_kinds()


def test_an_unknown_compartment_is_refused_clearly(rig: Rig) -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="Z9"):
            await rig.controller.open_for_support("Z9", "SUP-4")
        with pytest.raises(ValueError, match="Z9"):
            rig.controller.set_out_of_service("Z9", True, "broken hinge")

    rig.run(scenario)


def test_out_of_service_and_back_keeps_the_parcel(rig: Rig) -> None:
    parcel = rig.place(CODE, size=Size.M)
    compartment = parcel.compartment_id or ""

    async def scenario() -> None:
        status = rig.controller.set_out_of_service(compartment, True, "broken hinge")
        assert status.state is CompartmentState.OUT_OF_ORDER
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=CODE)
        await rig.screen_is(ScreenId.ERROR)  # the door is not opened while out of service
        rig.intent(Intent.DONE)
        status = rig.controller.set_out_of_service(compartment, False, "")
        assert status.state is CompartmentState.OCCUPIED
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=CODE)
        await rig.door_confirmed()
        rig.take_parcel_and_close(compartment)
        await rig.screen_is(ScreenId.THANK_YOU)

    rig.run(scenario)
    assert rig.unlock_pulses(compartment) == 1
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP


@pytest.mark.parametrize("by_qr", [False, True])
def test_the_picked_up_event_says_how_the_pickup_was_authorised(
    make_rig: Callable[..., Rig], by_qr: bool
) -> None:
    rig = make_rig(camera=True)
    parcel = rig.place(CODE)

    async def scenario() -> None:
        if by_qr:
            rig.intent(Intent.SCAN, payload=pickup_payload(LOCKER_ID, CODE), source="camera")
        else:
            rig.intent(Intent.START_PICKUP)
            rig.intent(Intent.SUBMIT_CODE, code=CODE)
        await rig.door_confirmed()
        rig.take_parcel_and_close(parcel.compartment_id or "")
        await rig.screen_is(ScreenId.THANK_YOU)

    rig.run(scenario)
    picked = [event for event in rig.store.outbox_batch(10) if event.kind is EventKind.PICKED_UP]
    assert [event.details.get("method") for event in picked] == ["qr" if by_qr else "code"]

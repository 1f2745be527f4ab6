"""Courier collection below the UI: parcels past their pickup window and deposited returns, listed, opened
one by one or all together, each confirmed removed by the closing door and the IR sensor.

Real store, real Kerong simulator with IR sensors, real Locker and controller; the flow timers on a
ManualClock, which also moves the parcels past their pickup window.
"""

from __future__ import annotations

from flow_rig import Rig

from kiosk.core.flows.views import (
    CollectItem,
    CollectReason,
    CourierCollectView,
    CourierMenuView,
    CourierSummaryView,
    DepositCheckView,
    DoorAudience,
    DoorOpenView,
    Intent,
    ScreenId,
)
from kiosk.core.model import CompartmentState, EventKind, ParcelState, Size

PIN = "2468"
HOUR = 3600.0


def collect_view(rig: Rig) -> CourierCollectView:
    view = rig.screen.view
    assert rig.screen.id is ScreenId.COURIER_COLLECT and isinstance(view, CourierCollectView), rig.screen
    return view


def door_view(rig: Rig) -> DoorOpenView:
    view = rig.screen.view
    assert rig.screen.id is ScreenId.DOOR_OPEN and isinstance(view, DoorOpenView), rig.screen
    return view


async def return_a_parcel(rig: Rig, code: str, parcel_id: str) -> str:
    """A customer's return through the returns flow; the compartment it went into."""
    rig.seed_return(code, Size.S, parcel_id=parcel_id)
    rig.intent(Intent.START_RETURN)
    rig.intent(Intent.SUBMIT_RETURN_CODE, code=code)
    rig.intent(Intent.CHOOSE_SIZE, size="S")
    await rig.door_confirmed()
    compartment_id = door_view(rig).compartment_ids[0]
    rig.put_parcel_and_close(compartment_id)
    await rig.screen_is(ScreenId.RECEIPT)
    rig.intent(Intent.DONE)
    return compartment_id


def test_expired_parcels_and_returns_are_collected_one_by_one(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    old = rig.place("111111", Size.M, parcel_id="P-OLD")  # A3
    fresh = rig.place("222222", Size.S, parcel_id="P-FRESH")  # A2

    async def scenario() -> None:
        returned_in = await return_a_parcel(rig, "RETURNCODE1", "RX-1")
        assert returned_in == "A1"
        rig.clock.advance(73 * HOUR)  # past the 72 h window of both placed parcels
        rig.place("333333", Size.L, parcel_id="P-NEW")  # deposited just now: not expired
        await rig.log_in()
        menu = rig.screen.view
        assert isinstance(menu, CourierMenuView) and menu.collectable == 3  # expired on entering the menu
        rig.intent(Intent.COURIER_COLLECT)
        assert collect_view(rig).items == (
            CollectItem("RX-1", "A1", Size.S, CollectReason.RETURNED, collected=False),
            CollectItem("P-FRESH", "A2", Size.S, CollectReason.EXPIRED, collected=False),
            CollectItem("P-OLD", "A3", Size.M, CollectReason.EXPIRED, collected=False),
        )
        for parcel_id, compartment_id in (("P-OLD", "A3"), ("RX-1", "A1")):
            rig.intent(Intent.OPEN_PARCEL, parcel_id=parcel_id)
            view = door_view(rig)
            assert view.compartment_ids == (compartment_id,) and view.audience is DoorAudience.COURIER_COLLECT
            await rig.door_confirmed()
            rig.take_parcel_and_close(compartment_id)
            await rig.screen_is(ScreenId.COURIER_COLLECT)
        collected = {item.parcel_id for item in collect_view(rig).items if item.collected}
        assert collected == {"P-OLD", "RX-1"}
        rig.intent(Intent.COURIER_MENU)
        menu = rig.screen.view
        assert isinstance(menu, CourierMenuView) and (menu.collectable, menu.collected) == (1, 2)
        rig.intent(Intent.LOGOUT)
        assert rig.screen.view == CourierSummaryView("Kim Courier", delivered=0, refused=0, collected=2,
                                                     faults=0)

    rig.run(scenario)
    assert rig.store.parcel(old.id).state is ParcelState.COLLECTED
    assert rig.store.parcel("RX-1").state is ParcelState.COLLECTED
    assert rig.store.parcel(fresh.id).state is ParcelState.EXPIRED
    assert rig.store.parcel("P-NEW").state is ParcelState.IN_LOCKER
    assert rig.store.compartment("A3").state is CompartmentState.FREE
    events = {event.parcel_id: event.details for event in rig.store.outbox_batch(50)
              if event.kind is EventKind.COLLECTED}
    assert events["P-OLD"]["reason"] == "expired" and events["RX-1"]["reason"] == "returned"
    assert events["P-OLD"]["courier_id"] == "K-7"


def test_open_all_opens_every_door_at_once_and_asks_about_a_parcel_still_inside(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    rig.place("111111", Size.S, parcel_id="P-1")  # A2
    rig.place("222222", Size.S, parcel_id="P-2")  # A1
    rig.place("333333", Size.M, parcel_id="P-3")  # A3

    async def scenario() -> None:
        rig.clock.advance(73 * HOUR)
        await rig.log_in()
        rig.intent(Intent.COURIER_COLLECT)
        rig.intent(Intent.OPEN_ALL)
        assert set(door_view(rig).compartment_ids) == {"A1", "A2", "A3"}
        await rig.door_confirmed()
        rig.take_parcel_and_close("A1")
        rig.sim.close_door(*rig.address("A2"))  # P-1 left inside: the IR sensor still reads it
        check = await rig.screen_is(ScreenId.DEPOSIT_CHECK)
        assert check.view == DepositCheckView("A2", "P-1", still_inside=True, courier=True)
        rig.intent(Intent.REOPEN)
        assert rig.screen.id is ScreenId.DOOR_OPEN
        await rig.door_confirmed()
        rig.sim.close_door(*rig.address("A2"))  # still there
        await rig.screen_is(ScreenId.DEPOSIT_CHECK)
        rig.intent(Intent.SKIP)  # the courier leaves it: the batch goes on with A3, still open
        assert rig.screen.id is ScreenId.DOOR_OPEN
        rig.take_parcel_and_close("A3")
        await rig.screen_is(ScreenId.COURIER_COLLECT)
        items = {item.parcel_id: item for item in collect_view(rig).items}
        assert items["P-2"].collected and items["P-3"].collected
        assert not items["P-1"].collected and items["P-1"].failed
        rig.intent(Intent.OPEN_ALL)  # nothing left that has not been tried
        assert rig.screen.id is ScreenId.COURIER_COLLECT
        rig.intent(Intent.OPEN_PARCEL, parcel_id="P-1")  # but one can be tried again on purpose
        await rig.door_confirmed()
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.COURIER_COLLECT)
        assert all(item.collected for item in collect_view(rig).items)

    rig.run(scenario)
    assert {rig.store.parcel(pid).state for pid in ("P-1", "P-2", "P-3")} == {ParcelState.COLLECTED}
    assert "courier_collect_skipped" in rig.audit_kinds() and "courier_collect_reopened" in rig.audit_kinds()


def test_a_collection_door_that_did_not_open_is_marked_and_its_parcel_stays_listed(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN)
    rig.place("111111", Size.S, parcel_id="P-1")  # A2
    rig.place("222222", Size.M, parcel_id="P-2")  # A3
    rig.sim.jam(*rig.address("A3"))

    async def scenario() -> None:
        rig.clock.advance(73 * HOUR)
        await rig.log_in()
        rig.intent(Intent.COURIER_COLLECT)
        rig.intent(Intent.OPEN_ALL)
        await rig.until(lambda: rig.screen.id is ScreenId.DOOR_OPEN and not door_view(rig).waiting_for_unlock,
                        "the doors' answers")
        rig.intent(Intent.DOOR_FAILED, compartment_id="A2")  # seen open, the courier says it is not
        await rig.screen_is(ScreenId.COURIER_COLLECT)
        items = {item.parcel_id: item for item in collect_view(rig).items}
        assert items["P-1"].failed and items["P-2"].failed
        rig.intent(Intent.LOGOUT)
        view = rig.screen.view
        assert isinstance(view, CourierSummaryView) and (view.collected, view.faults) == (0, 2)

    rig.run(scenario)
    assert rig.store.compartment("A2").state is CompartmentState.OUT_OF_ORDER
    assert rig.store.compartment("A3").state is CompartmentState.OUT_OF_ORDER
    assert rig.store.parcel("P-1").state is ParcelState.EXPIRED  # still there, still to collect


def test_a_courier_without_the_right_to_collect_sees_no_collection(rig: Rig) -> None:
    rig.seed_courier("K-7", PIN, can_collect=False)
    rig.place("111111", Size.S)

    async def scenario() -> None:
        rig.clock.advance(73 * HOUR)
        await rig.log_in()
        rig.intent(Intent.COURIER_COLLECT)
        assert rig.screen.id is ScreenId.COURIER_MENU

    rig.run(scenario)

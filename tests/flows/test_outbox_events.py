"""What the flows and the door transaction leave in the outbox for the platform: one event per fact, written
with the state change, on the real store and the simulated boards."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import pytest
from flow_rig import CODE_KEY, Rig

from kiosk.core.flows.views import ErrorReason, ErrorView, Intent, ScreenId, ThankYouView
from kiosk.core.inventory import place_parcel
from kiosk.core.locker import DoorOutcome
from kiosk.core.model import (
    CompartmentState,
    DoorPurpose,
    DoorState,
    EventKind,
    JournalPhase,
    ParcelState,
    ProblemKind,
    Size,
)

CODE = "314159"


def facts(rig: Rig) -> list[tuple[EventKind, str | None, str | None]]:
    return [(event.kind, event.compartment_id, event.parcel_id) for event in rig.store.outbox_batch(1000)]


async def open_by_code(rig: Rig) -> None:
    rig.intent(Intent.START_PICKUP)
    rig.intent(Intent.SUBMIT_CODE, code=CODE)


def test_a_pickup_at_the_screen_leaves_deposited_then_picked_up(rig: Rig) -> None:
    parcel = rig.place(CODE)
    assert facts(rig) == [(EventKind.DEPOSITED, "A2", parcel.id)]

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        assert facts(rig) == [(EventKind.DEPOSITED, "A2", parcel.id)]  # an open door is no pickup yet
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.THANK_YOU)

    rig.run(scenario)
    assert facts(rig) == [(EventKind.DEPOSITED, "A2", parcel.id), (EventKind.PICKED_UP, "A2", parcel.id)]
    picked = rig.store.outbox_batch(2)[1]
    assert picked.occurred_at == rig.store.parcel(parcel.id).picked_up_at


def test_a_courier_deposit_names_the_courier(rig: Rig) -> None:
    parcel = place_parcel(rig.store, rig.clock, CODE_KEY, size=Size.M, code=CODE, recipient="Ada",
                          courier_id="DHL-0042")
    [event] = rig.store.outbox_batch(10)
    assert (event.kind, event.parcel_id, event.details["courier_id"]) == (EventKind.DEPOSITED, parcel.id,
                                                                          "DHL-0042")


def test_a_jammed_door_leaves_one_door_fault(rig: Rig) -> None:
    parcel = rig.place(CODE)
    rig.sim.jam(*rig.address("A2"))

    async def scenario() -> None:
        await open_by_code(rig)
        error = await rig.screen_is(ScreenId.ERROR)
        assert error.view == ErrorView(ErrorReason.DOOR_FAULT, "A2", code_still_valid=True)

    rig.run(scenario)
    assert facts(rig) == [(EventKind.DEPOSITED, "A2", parcel.id), (EventKind.DOOR_FAULT, "A2", parcel.id)]
    fault = rig.store.outbox_batch(2)[1]
    assert fault.details["reason"] == "door_did_not_open" and fault.details["unlock_attempts"] == 2
    assert rig.store.compartment("A2").state is CompartmentState.OUT_OF_ORDER


def test_a_problem_reported_after_pickup_reaches_the_outbox(rig: Rig) -> None:
    parcel = rig.place(CODE)

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.THANK_YOU)
        rig.intent(Intent.REPORT_PROBLEM)
        rig.intent(Intent.CHOOSE_PROBLEM, kind=ProblemKind.DAMAGED)
        assert rig.screen.view == ThankYouView(parcels_picked_up=1, problem_reported=ProblemKind.DAMAGED)

    rig.run(scenario)
    report = rig.store.outbox_batch(10)[-1]
    assert (report.kind, report.compartment_id, report.parcel_id, report.details) == (
        EventKind.PROBLEM_REPORT, "A2", parcel.id, {"problem": "damaged"})
    audited = [entry for entry in rig.store.audit_log() if entry.kind == "problem_reported"]
    assert [(entry.parcel_id, entry.at) for entry in audited] == [(parcel.id, report.occurred_at)]


def test_a_door_reported_at_the_door_is_one_report_and_the_pickup_still_completes(rig: Rig) -> None:
    rig.place(CODE)

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        rig.intent(Intent.REPORT_PROBLEM)
        rig.intent(Intent.CHOOSE_PROBLEM, kind=ProblemKind.DOOR_DID_NOT_OPEN)
        assert rig.screen.id is ScreenId.DOOR_OPEN
        await rig.until(lambda: rig.unlock_pulses("A2") == 2, "the extra unlock pulse")
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.THANK_YOU)

    rig.run(scenario)
    assert [kind for kind, _, _ in facts(rig)] == [
        EventKind.DEPOSITED, EventKind.PROBLEM_REPORT, EventKind.PICKED_UP]


def test_a_pickup_settled_by_reconciliation_leaves_exactly_one_picked_up(
    make_rig: Callable[..., Rig]
) -> None:
    first = make_rig()
    parcel = first.place(CODE)
    entry = first.store.journal_intent("A2", DoorPurpose.PICKUP, [parcel.id], first.clock.now())
    first.store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, first.clock.now())
    first.close()  # the kiosk died here; the parcel is taken while it is down
    first.sim.set_occupied(*first.address("A2"), False)

    again = make_rig(simulator=first.sim, database=first.database)

    async def scenario() -> None:
        assert again.store.journal_entry(entry.id).phase is JournalPhase.COMPLETED

    again.run(scenario)
    third = make_rig(simulator=first.sim, database=first.database)
    third.run(scenario)  # another restart settles nothing twice
    assert facts(third) == [(EventKind.DEPOSITED, "A2", parcel.id), (EventKind.PICKED_UP, "A2", parcel.id)]


def test_a_store_failure_when_the_door_closes_is_retried_and_recorded_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk refuses the pickup's commit: neither the pickup nor its event is there; the monitor tries
    again each round and, once the disk takes it, both commit together, once."""
    parcel = rig.place(CODE)
    raw = sqlite3.connect(rig.database, isolation_level=None)
    try:
        raw.execute("CREATE TRIGGER injected_failure BEFORE INSERT ON outbox WHEN NEW.kind = 'picked_up' "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")

        async def scenario() -> None:
            assert await rig.locker.open_for_pickup("A2", [parcel.id]) is DoorOutcome.OPENED
            with caplog.at_level(logging.ERROR, logger="kiosk.core.locker"):
                rig.take_parcel_and_close("A2")
                await rig.until(lambda: sum("could not record what the door did" in record.getMessage()
                                            for record in caplog.records) >= 2, "two failed attempts")
            assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER
            assert [kind for kind, _, _ in facts(rig)] == [EventKind.DEPOSITED]
            raw.execute("DROP TRIGGER injected_failure")
            await rig.until(lambda: rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP, "the pickup")

        rig.run(scenario)
    finally:
        raw.close()
    assert facts(rig) == [(EventKind.DEPOSITED, "A2", parcel.id), (EventKind.PICKED_UP, "A2", parcel.id)]
    assert rig.audit_kinds().count("parcel_picked_up") == 1

"""The door transaction and its reconciliation, on the real store and the simulated boards.

Reconciliation tests build the state a crash would leave (a journal entry in some phase, doors and IR
sensors in some state), then start the kiosk as after a restart and check what it made of it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flow_rig import Rig

from kiosk.core.locker import DoorOutcome
from kiosk.core.model import (
    CompartmentState,
    DoorPurpose,
    DoorState,
    JournalEntry,
    JournalPhase,
    ParcelState,
    Size,
)

CODE = "246810"


def journal(rig: Rig, compartment_id: str, parcel_id: str, phase: JournalPhase) -> JournalEntry:
    """A journal entry left in `phase`, as if the kiosk died right after writing it."""
    entry = rig.store.journal_intent(compartment_id, DoorPurpose.PICKUP, [parcel_id], rig.clock.now())
    if phase in (JournalPhase.UNLOCK_SENT, JournalPhase.OPENED):
        entry = rig.store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, rig.clock.now())
    if phase is JournalPhase.OPENED:
        entry = rig.store.journal_advance(entry.id, JournalPhase.OPENED, rig.clock.now())
    assert entry.phase is phase
    return entry


def phase_of(rig: Rig, entry: JournalEntry) -> JournalPhase:
    return rig.store.journal_entry(entry.id).phase


def cancel_reason(rig: Rig, entry: JournalEntry) -> object:
    return next(a.details.get("reason") for a in rig.store.audit_log()
                if a.kind == "journal_cancelled" and a.details.get("journal_id") == entry.id)


# the transaction ------------------------------------------------------------------------------------------
def test_open_confirm_watch_complete(rig: Rig) -> None:
    parcel = rig.place(CODE)

    async def scenario() -> None:
        outcome = await rig.locker.open_for_pickup("A2", [parcel.id])
        assert outcome is DoorOutcome.OPENED
        assert rig.locker.unfinished() == {"A2": JournalPhase.OPENED}
        assert rig.controller.door_states()["A2"] is DoorState.OPEN
        # asking again while it is open opens nothing more and writes nothing more
        assert await rig.locker.open_for_pickup("A2", [parcel.id]) is DoorOutcome.OPENED
        rig.take_parcel_and_close("A2")
        await rig.until(lambda: rig.recorder.completed != [], "the pickup to complete")
        assert rig.locker.unfinished() == {}

    rig.run(scenario)
    assert rig.unlock_pulses("A2") == 1
    assert len(rig.recorder.completed) == 1
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP
    assert rig.audit_kinds().count("door_intent") == 1


def test_unknown_compartment_is_a_clear_error(rig: Rig) -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="Z9"):
            await rig.locker.open_for_pickup("Z9", ["P-1"])

    rig.run(scenario)


def test_the_monitor_reports_every_door_change(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(full_scan_s=0.02)

    async def scenario() -> None:
        await rig.until(lambda: set(rig.controller.door_states().values()) == {DoorState.CLOSED},
                        "every door read once")
        rig.sim.open_door(*rig.address("B2"))  # forced open: no transaction, still on the map
        await rig.door_seen("B2", DoorState.OPEN)
        rig.sim.set_connected(False, board=1)
        await rig.door_seen("B1", DoorState.UNKNOWN)
        assert rig.controller.door_states()["A1"] is DoorState.CLOSED  # board 0 still answers
        rig.sim.set_connected(True, board=1)
        await rig.door_seen("B1", DoorState.CLOSED)

    rig.run(scenario)
    assert ("B2", DoorState.OPEN) in rig.recorder.doors
    assert ("B2", DoorState.UNKNOWN) in rig.recorder.doors


def test_a_failing_listener_does_not_stop_the_monitor(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(full_scan_s=0.02)

    class Broken:
        def on_door(self, compartment_id: str, state: DoorState) -> None:
            raise RuntimeError("listener bug")

        def on_pickup_completed(self, entry: JournalEntry) -> None:
            raise RuntimeError("listener bug")

    rig.locker.add_listener(Broken())
    parcel = rig.place(CODE)

    async def scenario() -> None:
        assert await rig.locker.open_for_pickup("A2", [parcel.id]) is DoorOutcome.OPENED
        rig.take_parcel_and_close("A2")
        await rig.until(lambda: rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP, "the pickup")

    rig.run(scenario)


# reconciliation on start ------------------------------------------------------------------------------------
def test_an_intent_never_sent_is_cancelled(rig: Rig) -> None:
    parcel = rig.place(CODE)
    entry = journal(rig, "A2", parcel.id, JournalPhase.INTENT)

    async def scenario() -> None:
        assert phase_of(rig, entry) is JournalPhase.CANCELLED

    rig.run(scenario)
    assert cancel_reason(rig, entry) == "never_sent"
    assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER
    assert rig.unlock_pulses("A2") == 0


@pytest.mark.parametrize("phase", [JournalPhase.UNLOCK_SENT, JournalPhase.OPENED])
def test_a_door_found_open_is_watched_and_completes_when_closed(rig: Rig, phase: JournalPhase) -> None:
    parcel = rig.place(CODE)
    entry = journal(rig, "A2", parcel.id, phase)
    rig.sim.open_door(*rig.address("A2"))

    async def scenario() -> None:
        assert phase_of(rig, entry) is JournalPhase.OPENED
        assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER
        rig.take_parcel_and_close("A2")
        await rig.until(lambda: phase_of(rig, entry) is JournalPhase.COMPLETED, "completion")

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP
    assert rig.store.compartment("A2").state is CompartmentState.FREE
    assert rig.unlock_pulses("A2") == 0  # reconciliation never unlocks


def test_opened_and_closed_since_is_a_completed_pickup(rig: Rig) -> None:
    parcel = rig.place(CODE)
    entry = journal(rig, "A2", parcel.id, JournalPhase.OPENED)

    async def scenario() -> None:
        assert phase_of(rig, entry) is JournalPhase.COMPLETED

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP


def test_unlock_sent_closed_with_the_parcel_seen_is_cancelled(rig: Rig) -> None:
    parcel = rig.place(CODE)  # the IR sensor sees it
    entry = journal(rig, "A2", parcel.id, JournalPhase.UNLOCK_SENT)

    async def scenario() -> None:
        assert phase_of(rig, entry) is JournalPhase.CANCELLED

    rig.run(scenario)
    assert cancel_reason(rig, entry) == "reconciled_parcel_present"
    assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER
    assert rig.store.compartment("A2").state is CompartmentState.OCCUPIED


def test_unlock_sent_closed_and_empty_is_a_completed_pickup(rig: Rig) -> None:
    parcel = rig.place(CODE)
    entry = journal(rig, "A2", parcel.id, JournalPhase.UNLOCK_SENT)
    rig.sim.set_occupied(*rig.address("A2"), False)  # taken while the kiosk was down

    async def scenario() -> None:
        assert phase_of(rig, entry) is JournalPhase.COMPLETED

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP
    assert "reconciled_by_ir" in rig.audit_kinds()


def test_unlock_sent_closed_without_ir_is_never_guessed_a_pickup(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(infrared=False)
    parcel = rig.place(CODE)
    entry = journal(rig, "A2", parcel.id, JournalPhase.UNLOCK_SENT)
    rig.sim.set_occupied(*rig.address("A2"), False)  # would say "empty" if the sensor were fitted

    async def scenario() -> None:
        assert phase_of(rig, entry) is JournalPhase.CANCELLED

    rig.run(scenario)
    assert cancel_reason(rig, entry) == "reconciled_unconfirmed"
    unconfirmed = [a for a in rig.store.audit_log() if a.kind == "reconciled_unconfirmed"]
    assert len(unconfirmed) == 1 and unconfirmed[0].details["parcel_ids"] == [parcel.id]
    assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER


def test_an_unreachable_board_is_retried_until_it_answers(rig: Rig) -> None:
    near = rig.place(CODE, Size.S)  # board 0
    far = rig.place("135790", Size.XL)  # board 1
    assert far.compartment_id == "B2"
    near_entry = journal(rig, "A2", near.id, JournalPhase.OPENED)
    far_entry = journal(rig, "B2", far.id, JournalPhase.UNLOCK_SENT)
    rig.sim.open_door(*rig.address("B2"))
    rig.sim.set_connected(False, board=1)

    async def scenario() -> None:
        assert phase_of(rig, near_entry) is JournalPhase.COMPLETED  # its board answered
        assert phase_of(rig, far_entry) is JournalPhase.UNLOCK_SENT  # left for later
        assert rig.locker.unfinished() == {"B2": JournalPhase.UNLOCK_SENT}
        rig.sim.set_connected(True, board=1)
        await rig.until(lambda: phase_of(rig, far_entry) is JournalPhase.OPENED, "the far door found open")
        rig.take_parcel_and_close("B2")
        await rig.until(lambda: phase_of(rig, far_entry) is JournalPhase.COMPLETED, "the far pickup")

    rig.run(scenario)
    assert rig.store.parcel(far.id).state is ParcelState.PICKED_UP


def test_nothing_is_applied_twice_across_restarts(make_rig: Callable[..., Rig]) -> None:
    first = make_rig()
    parcel = first.place(CODE)
    journal(first, "A2", parcel.id, JournalPhase.OPENED)

    async def nothing() -> None:
        pass

    first.run(nothing)
    first.close()
    for _ in range(2):
        again = make_rig(simulator=first.sim, database=first.database)
        again.run(nothing)
        assert again.store.unfinished_journal() == []
        again.close()
    final = make_rig(simulator=first.sim, database=first.database)
    kinds = final.audit_kinds()
    assert kinds.count("parcel_picked_up") == 1 and kinds.count("door_closed") == 1


def test_a_bus_down_entry_is_settled_before_the_door_is_tried_again(rig: Rig) -> None:
    parcel = rig.place(CODE)
    rig.sim.set_connected(False)

    async def scenario() -> None:
        await rig.locker.stop()  # no monitor: the retry itself must settle the old entry
        assert await rig.locker.open_for_pickup("A2", [parcel.id]) is DoorOutcome.BUS_DOWN
        assert rig.locker.unfinished() == {"A2": JournalPhase.UNLOCK_SENT}
        assert await rig.locker.open_for_pickup("A2", [parcel.id]) is DoorOutcome.BUS_DOWN
        rig.sim.set_connected(True)
        assert await rig.locker.open_for_pickup("A2", [parcel.id]) is DoorOutcome.OPENED

    rig.run(scenario)
    assert rig.audit_kinds().count("door_intent") == 2  # the first was cancelled (parcel still seen)
    assert rig.unlock_pulses("A2") == 1


def test_reconciling_again_while_running_leaves_live_transactions_alone(rig: Rig) -> None:
    parcel = rig.place(CODE)

    async def scenario() -> None:
        assert await rig.locker.open_for_pickup("A2", [parcel.id]) is DoorOutcome.OPENED
        await rig.locker.reconcile()
        assert rig.locker.unfinished() == {"A2": JournalPhase.OPENED}
        rig.take_parcel_and_close("A2")
        await rig.until(lambda: rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP, "the pickup")

    rig.run(scenario)
    assert "journal_cancelled" not in rig.audit_kinds()

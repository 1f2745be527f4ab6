"""Deposits, returns and collections as door transactions: committed when the door closes, as the IR sensor
allows; settled on reconciliation after a crash; given up when a courier moves the parcel elsewhere.

Real store, real Kerong simulator (with IR sensors, or without: `infrared=False`), real Locker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flow_rig import CODE_KEY, Rig

from kiosk.core.codes import hash_code
from kiosk.core.locker import DoorFinish, DoorOutcome
from kiosk.core.model import (
    CompartmentState,
    Deposit,
    DoorPurpose,
    DoorState,
    EventKind,
    JournalEntry,
    JournalPhase,
    ParcelState,
    Size,
)

COURIER = "C-7"


@dataclass
class Finishes:
    """A LockerListener that keeps how each non-pickup transaction ended."""

    seen: list[tuple[int, DoorFinish]] = field(default_factory=list)

    def on_door(self, compartment_id: str, state: object) -> None:
        pass

    def on_pickup_completed(self, entry: JournalEntry) -> None:
        pass

    def on_bus_changed(self, bus_down: bool) -> None:
        pass

    def on_door_finished(self, entry: JournalEntry, finish: DoorFinish) -> None:
        self.seen.append((entry.id, finish))

    def kinds(self) -> list[DoorFinish]:
        return [finish for _, finish in self.seen]


def delivery(parcel_id: str = "P-NEW-1", size: Size = Size.S, code: str = "135790") -> Deposit:
    return Deposit(parcel_id=parcel_id, size=size, recipient="Grace Hopper",
                   code_hash=hash_code(CODE_KEY, code), pickup_code=code, courier_id=COURIER,
                   barcode="LABEL-" + parcel_id)


def listening(rig: Rig) -> Finishes:
    finishes = Finishes()
    rig.locker.add_listener(finishes)
    return finishes


def put_in_and_close(rig: Rig, compartment_id: str, *, ir: bool | None = True) -> None:
    if ir is not None:
        rig.sim.set_occupied(*rig.address(compartment_id), ir)
    rig.sim.close_door(*rig.address(compartment_id))


def events_of(rig: Rig, kind: EventKind) -> list[dict[str, object]]:
    return [event.details for event in rig.store.outbox_batch(1000) if event.kind is kind]


# deposits ---------------------------------------------------------------------------------------------
def test_a_deposit_is_committed_when_the_door_closes_on_the_parcel(rig: Rig) -> None:
    finishes = listening(rig)

    async def scenario() -> None:
        assert await rig.locker.open_for_deposit("A1", DoorPurpose.DEPOSIT, delivery()) is DoorOutcome.OPENED
        assert rig.locker.unfinished() == {"A1": JournalPhase.OPENED}
        with pytest.raises(Exception, match="P-NEW-1"):
            rig.store.parcel("P-NEW-1")  # nothing is recorded while the door is open
        put_in_and_close(rig, "A1")
        await rig.until(lambda: finishes.seen != [], "the deposit to finish")

    rig.run(scenario)
    assert finishes.kinds() == [DoorFinish.DEPOSITED]
    parcel = rig.store.parcel("P-NEW-1")
    assert (parcel.state, parcel.compartment_id) == (ParcelState.IN_LOCKER, "A1")
    assert rig.store.compartment("A1").state is CompartmentState.OCCUPIED
    assert [p.id for p in rig.store.parcels_for_code_hash(hash_code(CODE_KEY, "135790"))] == ["P-NEW-1"]
    [deposited] = events_of(rig, EventKind.DEPOSITED)
    assert deposited["courier_id"] == COURIER and deposited["pickup_code"] == "135790"


def test_a_deposit_door_closed_on_an_empty_compartment_records_nothing(rig: Rig) -> None:
    finishes = listening(rig)

    async def scenario() -> None:
        assert await rig.locker.open_for_deposit("A1", DoorPurpose.DEPOSIT, delivery()) is DoorOutcome.OPENED
        put_in_and_close(rig, "A1", ir=False)
        await rig.until(lambda: finishes.seen != [], "the deposit to finish")

    rig.run(scenario)
    assert finishes.kinds() == [DoorFinish.EMPTY]
    assert rig.store.compartment("A1").state is CompartmentState.FREE
    assert events_of(rig, EventKind.DEPOSITED) == []
    with pytest.raises(Exception, match="P-NEW-1"):
        rig.store.parcel("P-NEW-1")


def test_without_an_ir_sensor_a_closed_deposit_door_is_a_deposit(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(infrared=False)
    finishes = listening(rig)

    async def scenario() -> None:
        assert await rig.locker.open_for_deposit("A1", DoorPurpose.DEPOSIT, delivery()) is DoorOutcome.OPENED
        put_in_and_close(rig, "A1", ir=None)
        await rig.until(lambda: finishes.seen != [], "the deposit to finish")

    rig.run(scenario)
    assert finishes.kinds() == [DoorFinish.DEPOSITED]
    assert rig.store.parcel("P-NEW-1").state is ParcelState.IN_LOCKER


def test_a_door_with_a_transaction_is_busy_for_a_deposit(rig: Rig) -> None:
    async def scenario() -> None:
        assert await rig.locker.open_for_deposit("A1", DoorPurpose.DEPOSIT, delivery()) is DoorOutcome.OPENED
        second = delivery("P-NEW-2")
        assert await rig.locker.open_for_deposit("A1", DoorPurpose.DEPOSIT, second) is DoorOutcome.BUSY
        put_in_and_close(rig, "A1")
        await rig.until(lambda: rig.locker.unfinished() == {}, "the deposit to finish")

    rig.run(scenario)


def test_a_jammed_door_faults_and_the_compartment_goes_out_of_order(rig: Rig) -> None:
    rig.sim.jam(*rig.address("A1"))

    async def scenario() -> None:
        assert await rig.locker.open_for_deposit("A1", DoorPurpose.DEPOSIT, delivery()) is DoorOutcome.FAULT

    rig.run(scenario)
    assert rig.store.compartment("A1").state is CompartmentState.OUT_OF_ORDER
    assert rig.unlock_pulses("A1") == 2
    assert rig.store.unfinished_journal() == []
    # and an out-of-order compartment is refused at once, with nothing sent
    rig.run(lambda: _deposit_refused(rig))
    assert rig.unlock_pulses("A1") == 2


async def _deposit_refused(rig: Rig) -> None:
    outcome = await rig.locker.open_for_deposit("A1", DoorPurpose.DEPOSIT, delivery("P-NEW-3"))
    assert outcome is DoorOutcome.FAULT


def test_abandoning_a_deposit_frees_the_door_or_takes_it_out_of_service(rig: Rig) -> None:
    finishes = listening(rig)

    async def scenario() -> None:
        assert await rig.locker.open_for_deposit("A1", DoorPurpose.DEPOSIT, delivery()) is DoorOutcome.OPENED
        assert rig.locker.abandon("A1", "too_small")
        assert rig.locker.unfinished() == {}
        assert not rig.locker.abandon("A1", "too_small")  # nothing left to give up
        assert await rig.locker.open_for_deposit("A3", DoorPurpose.DEPOSIT, delivery()) is DoorOutcome.OPENED
        assert rig.locker.abandon("A3", "courier_reported_door_did_not_open", out_of_order=True)
        put_in_and_close(rig, "A1", ir=False)
        put_in_and_close(rig, "A3", ir=False)
        await rig.door_seen("A1", DoorState.CLOSED)
        await rig.door_seen("A3", DoorState.CLOSED)

    rig.run(scenario)
    assert finishes.seen == []  # an abandoned transaction does not finish when its door closes
    assert rig.store.compartment("A1").state is CompartmentState.FREE
    assert rig.store.compartment("A3").state is CompartmentState.OUT_OF_ORDER
    faults = [event["reason"] for event in events_of(rig, EventKind.DOOR_FAULT)]
    assert faults == ["courier_reported_door_did_not_open"]


# returns and collections ----------------------------------------------------------------------------------
def test_a_collection_completes_when_the_parcel_is_gone_and_not_while_it_is_seen(rig: Rig) -> None:
    finishes = listening(rig)
    first = rig.place("111111")
    second = rig.place("222222")
    rig.clock.advance(100 * 3600)
    assert {p.id for p in rig.store.expire_overdue(rig.clock.now(), 72)} == {first.id, second.id}

    async def scenario() -> None:
        assert first.compartment_id is not None and second.compartment_id is not None
        opened = await rig.locker.open_for_collection(first.compartment_id, [first.id], COURIER)
        assert opened is DoorOutcome.OPENED
        put_in_and_close(rig, first.compartment_id, ir=False)
        await rig.until(lambda: len(finishes.seen) == 1, "the first collection to finish")
        opened = await rig.locker.open_for_collection(second.compartment_id, [second.id], COURIER)
        assert opened is DoorOutcome.OPENED
        put_in_and_close(rig, second.compartment_id, ir=True)  # the courier left it inside
        await rig.until(lambda: len(finishes.seen) == 2, "the second collection to finish")

    rig.run(scenario)
    assert finishes.kinds() == [DoorFinish.COLLECTED, DoorFinish.STILL_INSIDE]
    assert rig.store.parcel(first.id).state is ParcelState.COLLECTED
    assert rig.store.parcel(second.id).state is ParcelState.EXPIRED
    assert [e["reason"] for e in events_of(rig, EventKind.COLLECTED)] == ["expired"]


# reconciliation after a crash -----------------------------------------------------------------------------
def _unsent_deposit(rig: Rig, compartment_id: str, phase: JournalPhase) -> JournalEntry:
    entry = rig.store.journal_intent_deposit(compartment_id, DoorPurpose.DEPOSIT, delivery(), rig.clock.now())
    entry = rig.store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, rig.clock.now())
    if phase is JournalPhase.OPENED:
        entry = rig.store.journal_advance(entry.id, JournalPhase.OPENED, rig.clock.now())
    return entry


@pytest.mark.parametrize(
    ("phase", "ir", "state", "deposited"),
    [
        (JournalPhase.OPENED, True, CompartmentState.OCCUPIED, True),
        (JournalPhase.OPENED, False, CompartmentState.FREE, False),
        (JournalPhase.UNLOCK_SENT, True, CompartmentState.OCCUPIED, True),
        (JournalPhase.UNLOCK_SENT, False, CompartmentState.FREE, False),
    ],
)
def test_a_deposit_cut_short_by_a_crash_is_settled_by_the_ir_sensor(
    rig: Rig, phase: JournalPhase, ir: bool, state: CompartmentState, deposited: bool
) -> None:
    entry = _unsent_deposit(rig, "A1", phase)
    rig.sim.set_occupied(*rig.address("A1"), ir)  # the door is closed, as the simulator starts

    async def scenario() -> None:
        await rig.until(lambda: rig.locker.unfinished() == {}, "reconciliation")

    rig.run(scenario)
    assert rig.store.journal_entry(entry.id).phase in (JournalPhase.COMPLETED, JournalPhase.CANCELLED)
    assert rig.store.compartment("A1").state is state
    assert len(events_of(rig, EventKind.DEPOSITED)) == (1 if deposited else 0)
    assert rig.store.pending_deposit(entry.id) is None


def test_an_unseen_deposit_with_no_ir_sensor_takes_the_compartment_out_of_service(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig(infrared=False)
    entry = _unsent_deposit(rig, "A1", JournalPhase.UNLOCK_SENT)

    async def scenario() -> None:
        await rig.until(lambda: rig.locker.unfinished() == {}, "reconciliation")

    rig.run(scenario)
    assert rig.store.journal_entry(entry.id).phase is JournalPhase.CANCELLED
    assert rig.store.compartment("A1").state is CompartmentState.OUT_OF_ORDER
    assert rig.store.compartment("A1").out_of_order_reason == "deposit_unconfirmed"

"""Random interleavings of deposits, pickups, door faults, problem reports, deliveries (acknowledged or
failed) and restarts against a real SQLite file, checked against a model of the outbox: the pending events
are exactly the ones written and not acknowledged, in the order written; keys are never reused; the
backlog alarm is raised and cleared exactly when the depth crosses its levels."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import event as tally
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kiosk.core.model import Compartment, DoorPurpose, EventKind, JournalPhase, ProblemKind, Size
from kiosk.store import SqliteStore

LAYOUT = tuple(Compartment(f"C{n}", Size.M, 0, n, 100, 1) for n in range(1, 4))
ALARM_DEPTH = 5
CODE = b"\x07" * 32


@dataclass
class Expected:
    """One event the model expects to be pending; its key is learnt the first time the store shows it."""

    kind: EventKind
    parcel_id: str | None
    key: str | None = None
    attempts: int = 0


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory(prefix="outbox-machine-")
        self.database = Path(self.folder.name) / "kiosk.sqlite"
        self.store = SqliteStore.open(self.database, LAYOUT, outbox_alarm_depth=ALARM_DEPTH)
        self.holding: dict[str, str] = {}  # compartment -> parcel inside
        self.broken: set[str] = set()
        self.known_parcels: list[str] = []
        self.pending: list[Expected] = []
        self.written = 0
        self.acknowledged = 0
        self.forgotten_keys: set[str] = set()
        self.alarm_raised = False
        self.clock = 1_000.0
        self.parcel_numbers = 0

    def teardown(self) -> None:
        self.store.close()
        self.folder.cleanup()

    # the model -------------------------------------------------------------------------------------------
    def now(self) -> float:
        self.clock += 1.0
        return self.clock

    def expect(self, kind: EventKind, parcel_id: str | None) -> None:
        """One event written, then the alarm the store raises right after it if the depth reaches it."""
        self.pending.append(Expected(kind, parcel_id))
        self.written += 1
        if not self.alarm_raised and len(self.pending) >= ALARM_DEPTH:
            self.alarm_raised = True
            tally("the backlog alarm raised")
            self.pending.append(Expected(EventKind.ALARM, None))
            self.written += 1

    def free(self) -> list[str]:
        return [c.id for c in LAYOUT if c.id not in self.holding and c.id not in self.broken]

    def openable(self) -> list[str]:
        return sorted(set(self.holding) - self.broken)

    # rules -----------------------------------------------------------------------------------------------
    @precondition(lambda self: bool(self.free()))
    @rule(pick=st.integers(min_value=0, max_value=10))
    def deposit(self, pick: int) -> None:
        compartment_id = self.free()[pick % len(self.free())]
        self.parcel_numbers += 1
        parcel_id = f"P{self.parcel_numbers}"
        self.store.place_parcel(parcel_id, Size.S, compartment_id, "Ada", CODE, self.now())
        self.holding[compartment_id] = parcel_id
        self.known_parcels.append(parcel_id)
        self.expect(EventKind.DEPOSITED, parcel_id)

    @precondition(lambda self: bool(self.openable()))
    @rule(pick=st.integers(min_value=0, max_value=10), door_opens=st.booleans())
    def open_door(self, pick: int, door_opens: bool) -> None:
        compartment_id = self.openable()[pick % len(self.openable())]
        parcel_id = self.holding[compartment_id]
        entry = self.store.journal_intent(compartment_id, DoorPurpose.PICKUP, [parcel_id], self.now())
        self.store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, self.now())
        if door_opens:
            self.store.journal_advance(entry.id, JournalPhase.OPENED, self.now())
            self.store.journal_complete_pickup(entry.id, self.now())
            del self.holding[compartment_id]
            self.expect(EventKind.PICKED_UP, parcel_id)
        else:
            self.store.journal_fault(entry.id, "door_did_not_open", self.now())
            self.broken.add(compartment_id)
            self.expect(EventKind.DOOR_FAULT, parcel_id)

    @precondition(lambda self: bool(self.broken))
    @rule(pick=st.integers(min_value=0, max_value=10))
    def repair(self, pick: int) -> None:
        compartment_id = sorted(self.broken)[pick % len(self.broken)]
        self.store.return_to_service(compartment_id, self.now())
        self.broken.discard(compartment_id)

    @rule(data=st.data(), problem=st.sampled_from(ProblemKind))
    def report(self, data: st.DataObject, problem: ProblemKind) -> None:
        parcels = data.draw(st.lists(st.sampled_from(self.known_parcels), unique=True, max_size=2)
                            if self.known_parcels else st.just([]))
        self.store.report_problem(problem, parcels, self.now())
        about: list[str | None] = list(parcels) or [None]
        for parcel_id in about:
            self.expect(EventKind.PROBLEM_REPORT, parcel_id)

    @rule(data=st.data(), limit=st.integers(min_value=0, max_value=8), strangers=st.integers(0, 2))
    def deliver(self, data: st.DataObject, limit: int, strangers: int) -> None:
        """A sender reads a batch; the platform confirms some of it, and perhaps keys it already confirmed."""
        batch = self.store.outbox_batch(limit)
        confirmed = data.draw(
            st.lists(st.sampled_from(batch), unique_by=lambda event: event.id) if batch else st.just([]))
        keys = [event.idempotency_key for event in confirmed]
        keys += sorted(self.forgotten_keys)[:strangers] + [f"{n:032x}" for n in range(strangers)]
        assert self.store.outbox_acknowledge(keys, at=self.now()) == len(confirmed)
        gone = {event.idempotency_key for event in confirmed}
        self.pending = [expected for expected in self.pending if expected.key not in gone]
        self.acknowledged += len(gone)
        self.forgotten_keys |= gone
        if gone and self.alarm_raised and len(self.pending) <= ALARM_DEPTH // 2:
            self.alarm_raised = False
            tally("the backlog alarm cleared")
            self.pending.append(Expected(EventKind.ALARM, None))
            self.written += 1

    @rule(limit=st.integers(min_value=1, max_value=8))
    def fail_delivery(self, limit: int) -> None:
        batch = self.store.outbox_batch(limit)
        keys = [event.idempotency_key for event in batch]
        assert self.store.outbox_record_failure(keys, self.now(), "HTTP 503") == len(batch)
        for expected in self.pending[:len(batch)]:
            expected.attempts += 1

    @rule()
    def restart(self) -> None:
        self.store.close()
        self.store = SqliteStore.open(self.database, LAYOUT, outbox_alarm_depth=ALARM_DEPTH)

    # invariants ------------------------------------------------------------------------------------------
    @invariant()
    def the_outbox_is_what_was_written_and_not_acknowledged(self) -> None:
        events = self.store.outbox_batch(10_000)
        assert self.store.outbox_depth() == len(events) == self.written - self.acknowledged
        assert [(event.kind, event.parcel_id, event.attempts) for event in events] == [
            (expected.kind, expected.parcel_id, expected.attempts) for expected in self.pending]
        for event, expected in zip(events, self.pending, strict=True):
            if expected.key is None:
                assert event.idempotency_key not in self.forgotten_keys  # never a key used before
                expected.key = event.idempotency_key
            assert event.idempotency_key == expected.key
        assert len({event.idempotency_key for event in events}) == len(events)
        assert [event.id for event in events] == sorted(event.id for event in events)
        assert self.store.outbox_backlog_alarm() is self.alarm_raised
        assert self.store.outbox_oldest_at() == (events[0].occurred_at if events else None)


OutboxMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_outbox_against_its_model = OutboxMachine.TestCase

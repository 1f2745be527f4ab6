"""The door transaction (DESIGN.md section 4): journal, unlock, confirm, watch, complete, reconcile.

Every door opening is a journal entry in the store, advanced step by step, so a power cut at any instant
leaves an entry that `reconcile()` settles against the doors' real state on the next start:

    INTENT -> UNLOCK_SENT -> (status read sees the door open) OPENED -> (door closed) COMPLETED
                          -> (never seen open after one retry) FAULT: compartment out of order

A bus failure is not a door fault: the entry stays UNLOCK_SENT, nothing is marked, and the door monitor
settles it once the board answers again. Hardware waits (the unlock pulse, the poll interval) are real time
on the event loop; records carry the injected Clock's wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kiosk.core.model import (
    DEPOSIT_PURPOSES,
    Compartment,
    CompartmentState,
    Deposit,
    DoorPurpose,
    DoorState,
    JournalEntry,
    JournalPhase,
    LockReading,
    PickupMethod,
    Timers,
)
from kiosk.core.ports import BusError, Clock, LockBus, Store

log = logging.getLogger(__name__)

FAULT_DOOR_DID_NOT_OPEN = "door_did_not_open"
CANCEL_NEVER_SENT = "never_sent"
CANCEL_PARCEL_STILL_THERE = "reconciled_parcel_present"
CANCEL_UNCONFIRMED = "reconciled_unconfirmed"
CANCEL_NOT_IN_LAYOUT = "compartment_not_in_layout"
CANCEL_DUPLICATE = "duplicate_entry"
CANCEL_CLOSED_EMPTY = "closed_empty"  # a deposit door closed and the IR sensor reads the compartment empty
CANCEL_STILL_INSIDE = "parcel_still_inside"  # a collection door closed and the IR sensor still reads a parcel
ABANDON_DEPOSIT_UNCONFIRMED = "deposit_unconfirmed"  # nobody saw whether the parcel went in: go and look


class DoorOutcome(enum.Enum):
    OPENED = "opened"  # the door was seen open; the monitor completes the pickup when it closes
    FAULT = "fault"  # not open after one retry (or already out of order): the compartment is out of order
    BUS_DOWN = "bus_down"  # the boards did not answer; the entry waits for reconciliation, nothing marked
    BUSY = "busy"  # (support openings only) another transaction has this door; nothing was sent


class DoorFinish(enum.Enum):
    """How a door transaction other than a pickup ended when its door closed."""

    DEPOSITED = "deposited"  # a deposit or return door closed on its parcel: committed
    EMPTY = "empty"  # a deposit or return door closed and the IR sensor reads it empty: nothing recorded
    COLLECTED = "collected"  # a collection door closed (IR empty, or no IR): the parcels are collected
    STILL_INSIDE = "still_inside"  # a collection door closed and the IR sensor still reads a parcel
    CLOSED = "closed"  # any other opening (a support call) closed


class LockerListener(Protocol):
    """Told about doors, on the event-loop thread. Exceptions raised here are logged and swallowed."""

    def on_door(self, compartment_id: str, state: DoorState) -> None: ...

    def on_pickup_completed(self, entry: JournalEntry) -> None:
        """The door closed and the pickup is committed (parcels picked up, compartment free)."""
        ...

    def on_bus_changed(self, bus_down: bool) -> None:
        """Every board stopped answering (True), or one answers again after that (False)."""
        ...

    def on_door_finished(self, entry: JournalEntry, finish: DoorFinish) -> None:
        """A transaction other than a pickup ended with its door closed (or was settled on reconciliation)."""
        ...


class _Stage(enum.Enum):
    OPENING = "opening"  # open_for_pickup is sending and confirming; nobody else touches it
    WATCHING = "watching"  # seen open: completes when seen closed
    UNRESOLVED = "unresolved"  # outcome unknown (bus down, restart): settled when the board answers


class _Settled(enum.Enum):
    WATCHING = "watching"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    PENDING = "pending"


@dataclass
class _Transaction:
    entry: JournalEntry
    compartment: Compartment
    stage: _Stage
    # Reads started before this number cannot have seen the door after it opened.
    first_valid_read: int = 0


class Locker:
    """Opens doors for pickups as journaled transactions and watches them close.

    One unfinished transaction per compartment at most. `reconcile()` once before `start()`;
    `stop()` cancels and awaits the monitor task, the only task this class creates.
    """

    def __init__(
        self,
        store: Store,
        bus: LockBus,
        clock: Clock,
        timers: Timers,
        layout: Sequence[Compartment],
        *,
        full_scan_s: float | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._timers = timers
        self._compartments: dict[str, Compartment] = {compartment.id: compartment for compartment in layout}
        self._boards = sorted({compartment.board for compartment in layout})
        self._full_scan_s = timers.board_scan_s if full_scan_s is None else full_scan_s
        self._doors: dict[str, DoorState] = dict.fromkeys(self._compartments, DoorState.UNKNOWN)
        self._active: dict[str, _Transaction] = {}
        self._busy: dict[str, asyncio.Lock] = {}
        self._listeners: list[LockerListener] = []
        self._monitor: asyncio.Task[None] | None = None
        self._reads_started = 0
        self._silent_boards: set[int] = set()
        self._pushed_boards: set[int] = set()
        self._wake: asyncio.Event | None = None

    # public surface -------------------------------------------------------------------------------
    def add_listener(self, listener: LockerListener) -> None:
        self._listeners.append(listener)

    def door_states(self) -> dict[str, DoorState]:
        return dict(self._doors)

    def unfinished(self) -> dict[str, JournalPhase]:
        """Compartments with a transaction in flight or awaiting reconciliation, and its journal phase."""
        return {compartment_id: tx.entry.phase for compartment_id, tx in self._active.items()}

    @property
    def running(self) -> bool:
        return self._monitor is not None and not self._monitor.done()

    async def start(self) -> None:
        if self.running:
            return
        self._wake = asyncio.Event()
        if self._bus.subscribe_door_changes(self._door_pushed):
            log.info("the lock boards push door changes; polling stays as a safety net")
        self._monitor = asyncio.get_running_loop().create_task(self._monitor_doors(), name="door-monitor")

    async def stop(self) -> None:
        monitor, self._monitor = self._monitor, None
        if monitor is None:
            return
        monitor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await monitor

    async def open_for_pickup(
        self, compartment_id: str, parcel_ids: Iterable[str], method: PickupMethod | None = None
    ) -> DoorOutcome:
        """Unlock one door for a pickup and confirm it opened (retrying the unlock once).

        Raises ValueError for a compartment that is not in the layout; store errors propagate.
        """
        compartment = self._layout_compartment(compartment_id)
        parcels = tuple(parcel_ids)
        async with self._busy_lock(compartment_id):
            current = self._active.get(compartment_id)
            if current is not None:
                settled = await self._settle_before_reopening(current)
                if settled is _Settled.PENDING:
                    return DoorOutcome.BUS_DOWN
                if settled in (_Settled.WATCHING, _Settled.COMPLETED):
                    # The earlier transaction covers this compartment's parcel: its door is open, or it
                    # has been emptied and the pickup committed.
                    if set(parcels) - set(current.entry.parcel_ids):
                        log.warning("compartment %s: opened for %s, asked for %s", compartment_id,
                                    current.entry.parcel_ids, parcels)
                    return DoorOutcome.OPENED
            if self._store.compartment(compartment_id).state is CompartmentState.OUT_OF_ORDER:
                self._store.audit("door_refused_out_of_order", self._clock.now(), compartment_id,
                                  parcel_ids=list(parcels))
                return DoorOutcome.FAULT
            entry = self._store.journal_intent(compartment_id, DoorPurpose.PICKUP, parcels, self._clock.now(),
                                               method=method)
            return await self._send_and_confirm(entry, compartment)

    async def open_for_support(self, compartment_id: str, ticket: str) -> DoorOutcome:
        """Unlock one door for a support call (a remote command), journaled like a pickup but changing no
        parcel when it closes. It opens a compartment that is out of order too (that is often why support
        is called); it does not touch a door another transaction has (BUSY).

        Raises ValueError for a compartment that is not in the layout; store errors propagate.
        """
        compartment = self._layout_compartment(compartment_id)
        async with self._busy_lock(compartment_id):
            if compartment_id in self._active:
                self._store.audit("support_open_refused_busy", self._clock.now(), compartment_id,
                                  ticket=ticket)
                return DoorOutcome.BUSY
            entry = self._store.journal_intent(compartment_id, DoorPurpose.REMOTE_SUPPORT, (),
                                               self._clock.now())
            self._store.audit("support_open", self._clock.now(), compartment_id, ticket=ticket,
                              entry_id=entry.id)
            return await self._send_and_confirm(entry, compartment)

    async def open_for_deposit(
        self, compartment_id: str, purpose: DoorPurpose, deposit: Deposit
    ) -> DoorOutcome:
        """Unlock a free compartment for a courier's deposit or a customer's return (`purpose` DEPOSIT or
        RETURN) and confirm it opened (retrying the unlock once). The deposit is committed when the door is
        seen closed with the IR sensor (where there is one) not reading the compartment empty; listeners hear
        DoorFinish.DEPOSITED or EMPTY. BUSY when the door has a transaction already.

        Raises ValueError for a compartment not in the layout or a purpose that puts nothing in; store
        refusals (StoreError: not free, too small, a parcel already known) propagate.
        """
        if purpose not in DEPOSIT_PURPOSES:
            raise ValueError(f"a deposit opens a door for a deposit or a return, not {purpose.value}")
        compartment = self._layout_compartment(compartment_id)
        async with self._busy_lock(compartment_id):
            if compartment_id in self._active:
                return DoorOutcome.BUSY
            if self._store.compartment(compartment_id).state is CompartmentState.OUT_OF_ORDER:
                self._store.audit("door_refused_out_of_order", self._clock.now(), compartment_id,
                                  parcel_ids=[deposit.parcel_id])
                return DoorOutcome.FAULT
            entry = self._store.journal_intent_deposit(compartment_id, purpose, deposit, self._clock.now())
            return await self._send_and_confirm(entry, compartment)

    async def open_for_collection(
        self, compartment_id: str, parcel_ids: Sequence[str], courier_id: str
    ) -> DoorOutcome:
        """Unlock a door for a courier to take expired or returned parcels out. A compartment out of order
        is opened all the same: its parcel must leave. Committed when the door is seen closed and the IR
        sensor (where there is one) no longer reads a parcel; listeners hear COLLECTED or STILL_INSIDE.

        Raises ValueError for a compartment not in the layout; store refusals propagate.
        """
        compartment = self._layout_compartment(compartment_id)
        async with self._busy_lock(compartment_id):
            if compartment_id in self._active:
                return DoorOutcome.BUSY
            entry = self._store.journal_intent(compartment_id, DoorPurpose.COLLECT, tuple(parcel_ids),
                                               self._clock.now(), courier_id=courier_id)
            return await self._send_and_confirm(entry, compartment)

    def abandon(self, compartment_id: str, reason: str, *, out_of_order: bool = False) -> bool:
        """A courier gives up the deposit or collection at this door (the parcel is too small for it, or the
        door did not really open): its journal entry is cancelled, and with `out_of_order` the compartment is
        taken out of service. False when the door has no such transaction, or is still being unlocked."""
        tx = self._active.get(compartment_id)
        if tx is None or tx.stage is _Stage.OPENING:
            return False
        if tx.entry.purpose not in DEPOSIT_PURPOSES and tx.entry.purpose is not DoorPurpose.COLLECT:
            return False
        tx.entry = self._store.journal_abandon(tx.entry.id, reason, self._clock.now(),
                                               out_of_order=out_of_order)
        self._forget(tx)
        return True

    def _layout_compartment(self, compartment_id: str) -> Compartment:
        compartment = self._compartments.get(compartment_id)
        if compartment is None:
            raise ValueError(f"compartment {compartment_id!r} is not in the layout")
        return compartment

    async def _send_and_confirm(self, entry: JournalEntry, compartment: Compartment) -> DoorOutcome:
        tx = _Transaction(entry, compartment, _Stage.OPENING)
        self._active[compartment.id] = tx
        try:
            tx.entry = self._store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, self._clock.now())
            return await self._unlock_and_confirm(tx)
        finally:
            if tx.stage is _Stage.OPENING:  # cancelled or a store error: leave it to reconciliation
                tx.stage = _Stage.UNRESOLVED

    async def pulse_again(self, compartment_id: str) -> bool:
        """Send one more unlock pulse to a door the kiosk saw open and is waiting to see closed, when the
        person at it says it did not open (a sticking latch, a door held by friction). The journal entry
        is unchanged: the transaction still completes when the door is seen closed. False if there is no
        such door or the bus is down."""
        tx = self._active.get(compartment_id)
        if tx is None or tx.stage is not _Stage.WATCHING:
            return False
        async with self._busy_lock(compartment_id):
            try:
                await self._bus.unlock(tx.compartment.board, tx.compartment.lock)
            except BusError as error:
                log.warning("compartment %s: repeated unlock failed (%s)", compartment_id, error)
                return False
        self._store.audit("door_unlock_repeated", self._clock.now(), compartment_id, entry_id=tx.entry.id)
        return True

    async def reconcile(self) -> None:
        """Settle every unfinished journal entry against the boards (run once on start, before `start()`).

        An entry whose board does not answer stays unfinished; the monitor retries it every round.
        """
        readings: dict[int, Mapping[int, LockReading] | None] = {}
        for entry in self._store.unfinished_journal():
            try:
                await self._reconcile_entry(entry, readings)
            except Exception:
                log.exception("could not reconcile journal entry %s (%s, %s); left as it is",
                              entry.id, entry.compartment_id, entry.phase.value)

    # the transaction --------------------------------------------------------------------------------
    async def _unlock_and_confirm(self, tx: _Transaction) -> DoorOutcome:
        compartment = tx.compartment
        for attempt in (1, 2):
            if attempt == 2:
                log.info("compartment %s: not open after the unlock pulse, retrying once", compartment.id)
                # Recorded before the second pulse: UNLOCK_SENT again counts the retry.
                now = self._clock.now()
                tx.entry = self._store.journal_advance(tx.entry.id, JournalPhase.UNLOCK_SENT, now)
            try:
                await self._bus.unlock(compartment.board, compartment.lock)
                await asyncio.sleep(self._timers.unlock_confirm_s)
                reading = await self._read(compartment.board)
            except BusError as error:
                tx.stage = _Stage.UNRESOLVED
                log.warning("compartment %s: bus down while opening (%s)", compartment.id, error)
                self._store.audit("door_bus_down", self._clock.now(), compartment.id,
                                  entry_id=tx.entry.id, message=str(error))
                return DoorOutcome.BUS_DOWN
            lock = reading.get(compartment.lock)
            if lock is not None and lock.door_open:
                tx.entry = self._store.journal_advance(tx.entry.id, JournalPhase.OPENED, self._clock.now())
                self._watch(tx)
                return DoorOutcome.OPENED
        tx.entry = self._store.journal_fault(tx.entry.id, FAULT_DOOR_DID_NOT_OPEN, self._clock.now())
        self._forget(tx)
        log.warning("compartment %s: door did not open after a retry; out of order", compartment.id)
        return DoorOutcome.FAULT

    async def _settle_before_reopening(self, tx: _Transaction) -> _Settled:
        if tx.stage is _Stage.WATCHING:
            return _Settled.WATCHING
        try:
            reading = await self._read(tx.compartment.board)
        except BusError:
            return _Settled.PENDING
        return self._settle(tx, reading)

    def _settle(self, tx: _Transaction, reading: Mapping[int, LockReading]) -> _Settled:
        """Apply what the board says to an entry whose outcome is unknown (the reconciliation rules)."""
        if tx.entry.phase is JournalPhase.INTENT:  # the unlock was never sent
            self._cancel(tx, CANCEL_NEVER_SENT)
            return _Settled.CANCELLED
        lock = reading.get(tx.compartment.lock)
        if lock is None:
            log.warning("board %s does not report lock %s (compartment %s)", tx.compartment.board,
                        tx.compartment.lock, tx.compartment.id)
            return _Settled.PENDING
        if lock.door_open:
            if tx.entry.phase is not JournalPhase.OPENED:
                tx.entry = self._store.journal_advance(tx.entry.id, JournalPhase.OPENED, self._clock.now())
            self._watch(tx)
            return _Settled.WATCHING
        if tx.entry.phase is JournalPhase.OPENED:
            # It was seen open and is closed now: the person had the door.
            self._complete(tx, lock.occupied)
            return _Settled.COMPLETED
        # UNLOCK_SENT and closed: did it open and close while nobody watched? Only the IR sensor knows.
        if tx.entry.purpose is not DoorPurpose.PICKUP:
            return self._settle_unobserved(tx, lock.occupied)
        if lock.occupied is False:
            self._store.audit("reconciled_by_ir", self._clock.now(), tx.compartment.id,
                              entry_id=tx.entry.id, parcel_ids=list(tx.entry.parcel_ids), occupied=False)
            self._complete(tx, False)
            return _Settled.COMPLETED
        if lock.occupied is True:
            self._cancel(tx, CANCEL_PARCEL_STILL_THERE)
            return _Settled.CANCELLED
        self._cancel(tx, CANCEL_UNCONFIRMED)
        self._store.audit(CANCEL_UNCONFIRMED, self._clock.now(), tx.compartment.id,
                          entry_id=tx.entry.id, parcel_ids=list(tx.entry.parcel_ids))
        return _Settled.CANCELLED

    def _settle_unobserved(self, tx: _Transaction, occupied: bool | None) -> _Settled:
        """A deposit, collection or support opening whose door may have opened and closed unseen."""
        purpose = tx.entry.purpose
        if occupied is not None:
            self._store.audit("reconciled_by_ir", self._clock.now(), tx.compartment.id, entry_id=tx.entry.id,
                              parcel_ids=list(tx.entry.parcel_ids), occupied=occupied, purpose=purpose.value)
        if purpose in DEPOSIT_PURPOSES:
            if occupied is True:  # it opened, and the parcel went in
                self._complete(tx, True)
                return _Settled.COMPLETED
            if occupied is None:
                # Nobody can tell whether the parcel went in: the compartment must not be given to another
                # parcel until someone has looked.
                tx.entry = self._store.journal_abandon(tx.entry.id, ABANDON_DEPOSIT_UNCONFIRMED,
                                                       self._clock.now(), out_of_order=True)
                self._forget(tx)
                self._finished(tx.entry, DoorFinish.EMPTY)
                return _Settled.CANCELLED
            self._cancel(tx, CANCEL_CLOSED_EMPTY)
            self._finished(tx.entry, DoorFinish.EMPTY)
            return _Settled.CANCELLED
        if purpose is DoorPurpose.COLLECT and occupied is False:  # it opened, and the parcels came out
            self._complete(tx, False)
            return _Settled.COMPLETED
        self._cancel(tx, CANCEL_UNCONFIRMED)
        if purpose is DoorPurpose.COLLECT:
            self._finished(tx.entry, DoorFinish.STILL_INSIDE)
        return _Settled.CANCELLED

    async def _reconcile_entry(
        self, entry: JournalEntry, readings: dict[int, Mapping[int, LockReading] | None]
    ) -> None:
        compartment = self._compartments.get(entry.compartment_id)
        if compartment is None:
            self._store.journal_cancel(entry.id, CANCEL_NOT_IN_LAYOUT, self._clock.now())
            log.warning("journal entry %s: compartment %s is not in the layout; cancelled",
                        entry.id, entry.compartment_id)
            return
        if entry.phase is JournalPhase.INTENT:
            self._store.journal_cancel(entry.id, CANCEL_NEVER_SENT, self._clock.now())
            return
        current = self._active.get(entry.compartment_id)
        if current is not None and current.entry.id == entry.id:
            return  # already in hand (reconcile called again while running)
        if current is not None:
            self._store.journal_cancel(entry.id, CANCEL_DUPLICATE, self._clock.now())
            log.warning("journal entry %s duplicates an unfinished one for %s; cancelled",
                        entry.id, entry.compartment_id)
            return
        tx = _Transaction(entry, compartment, _Stage.UNRESOLVED)
        self._active[compartment.id] = tx
        if compartment.board not in readings:
            try:
                readings[compartment.board] = await self._read(compartment.board)
            except BusError as error:
                readings[compartment.board] = None
                log.warning("board %s unreachable while reconciling (%s); retrying later",
                            compartment.board, error)
        reading = readings[compartment.board]
        if reading is not None:
            self._settle(tx, reading)

    def _watch(self, tx: _Transaction) -> None:
        tx.stage = _Stage.WATCHING
        tx.first_valid_read = self._reads_started + 1

    def _complete(self, tx: _Transaction, occupied: bool | None) -> None:
        """The door closed: commit what the transaction was for. `occupied` is the IR sensor's reading taken
        with the closed door (None: no sensor)."""
        now = self._clock.now()
        purpose = tx.entry.purpose
        if purpose is DoorPurpose.PICKUP:
            tx.entry = self._store.journal_complete_pickup(tx.entry.id, now)
            self._forget(tx)
            for listener in list(self._listeners):
                try:
                    listener.on_pickup_completed(tx.entry)
                except Exception:
                    log.exception("a locker listener failed on a completed pickup")
            return
        if purpose in DEPOSIT_PURPOSES:
            if occupied is False:
                tx.entry = self._store.journal_cancel(tx.entry.id, CANCEL_CLOSED_EMPTY, now)
                finish = DoorFinish.EMPTY
            else:
                tx.entry = self._store.journal_complete_deposit(tx.entry.id, now,
                                                                confirmed_by_ir=occupied is True)
                finish = DoorFinish.DEPOSITED
        elif purpose is DoorPurpose.COLLECT:
            if occupied is True:
                tx.entry = self._store.journal_cancel(tx.entry.id, CANCEL_STILL_INSIDE, now)
                finish = DoorFinish.STILL_INSIDE
            else:
                tx.entry = self._store.journal_complete_collection(tx.entry.id, now)
                finish = DoorFinish.COLLECTED
        else:
            tx.entry = self._store.journal_complete(tx.entry.id, now)
            finish = DoorFinish.CLOSED
        self._forget(tx)
        self._finished(tx.entry, finish)

    def _finished(self, entry: JournalEntry, finish: DoorFinish) -> None:
        for listener in list(self._listeners):
            try:
                listener.on_door_finished(entry, finish)
            except Exception:
                log.exception("a locker listener failed on a finished door transaction")

    def _cancel(self, tx: _Transaction, reason: str) -> None:
        tx.entry = self._store.journal_cancel(tx.entry.id, reason, self._clock.now())
        self._forget(tx)

    def _forget(self, tx: _Transaction) -> None:
        if self._active.get(tx.compartment.id) is tx:
            del self._active[tx.compartment.id]

    def _busy_lock(self, compartment_id: str) -> asyncio.Lock:
        return self._busy.setdefault(compartment_id, asyncio.Lock())

    # reading doors ------------------------------------------------------------------------------------
    def boards_answering(self) -> tuple[int, int]:
        """(boards that answered their last read, boards in the layout), for the heartbeat."""
        return len(set(self._boards) - self._silent_boards), len(self._boards)

    @property
    def bus_down(self) -> bool:
        """No board of the layout answered its last read: nothing can be opened now."""
        return bool(self._boards) and self._silent_boards.issuperset(self._boards)

    async def _read(self, board: int) -> Mapping[int, LockReading]:
        self._reads_started += 1
        try:
            reading = await self._bus.read_board(board)
        except BusError:
            self._board_answered(board, False)
            self._update_doors(board, None)
            raise
        self._board_answered(board, True)
        self._update_doors(board, reading)
        return reading

    def _board_answered(self, board: int, answered: bool) -> None:
        was_down = self.bus_down
        if answered:
            self._silent_boards.discard(board)
        else:
            self._silent_boards.add(board)
        if self.bus_down != was_down:
            if self.bus_down:
                log.warning("no lock board answers: the locker is out of service until one does")
            else:
                log.info("the lock boards answer again")
            self._store.audit("bus_down" if self.bus_down else "bus_restored", self._clock.now())
            for listener in list(self._listeners):
                try:
                    listener.on_bus_changed(self.bus_down)
                except Exception:
                    log.exception("a locker listener failed on a bus change")

    def _update_doors(self, board: int, reading: Mapping[int, LockReading] | None) -> None:
        for compartment in self._compartments.values():
            if compartment.board != board:
                continue
            lock = None if reading is None else reading.get(compartment.lock)
            if lock is None:
                state = DoorState.UNKNOWN
            else:
                state = DoorState.OPEN if lock.door_open else DoorState.CLOSED
            if self._doors[compartment.id] is not state:
                self._doors[compartment.id] = state
                for listener in list(self._listeners):
                    try:
                        listener.on_door(compartment.id, state)
                    except Exception:
                        log.exception("a locker listener failed on a door change")

    async def _monitor_doors(self) -> None:
        loop = asyncio.get_running_loop()
        next_full_scan = loop.time()
        while True:
            try:
                boards = {
                    tx.compartment.board for tx in self._active.values() if tx.stage is not _Stage.OPENING
                }
                if loop.time() >= next_full_scan:
                    boards.update(self._boards)
                    next_full_scan = loop.time() + self._full_scan_s
                boards.update(self._pushed_boards)
                self._pushed_boards.clear()
                for board in sorted(boards):
                    await self._poll_board(board)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("door monitor round failed; trying again")
            await self._rest()

    async def _rest(self) -> None:
        """Wait for the next polling round, or less when a board pushes a door change."""
        if self._wake is None:
            await asyncio.sleep(self._timers.door_poll_s)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._timers.door_poll_s)
        self._wake.clear()

    def _door_pushed(self, board: int, lock: int, door_open: bool) -> None:
        # A push says which door moved; the status read it triggers is what the journal relies on.
        log.debug("board %s lock %s pushed: %s", board, lock, "open" if door_open else "closed")
        if board in self._boards:
            self._pushed_boards.add(board)
            if self._wake is not None:
                self._wake.set()

    async def _poll_board(self, board: int) -> None:
        read_number = self._reads_started + 1
        try:
            reading = await self._read(board)
        except BusError as error:
            log.debug("board %s: %s", board, error)
            return
        for tx in list(self._active.values()):
            if tx.compartment.board != board or self._busy_lock(tx.compartment.id).locked():
                continue
            try:
                if tx.stage is _Stage.WATCHING and read_number >= tx.first_valid_read:
                    lock = reading.get(tx.compartment.lock)
                    if lock is not None and not lock.door_open:
                        self._complete(tx, lock.occupied)
                elif tx.stage is _Stage.UNRESOLVED:
                    self._settle(tx, reading)
            except Exception:
                log.exception("compartment %s: could not record what the door did; trying again next round",
                              tx.compartment.id)

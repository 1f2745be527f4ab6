"""Placing a parcel in a compartment: what courier mode and returns share between choosing a compartment and
the door closing on the parcel.

A `Placement` is where one parcel is going (a courier's DepositAttempt, a customer's ReturnSession): the
compartment chosen, how far its door has got, the compartments not to offer again, and whether the person
asked to reopen the same one. A `DepositChart` asks for doors through a DepositDoors port, hears back
through `door_outcome()` and `door_finished()`, and moves the placement on: the same compartment again after
"reopen", another one after a fault, a busy door or a parcel that did not fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from kiosk.core.flows.base import (
    PROGRESS_OF_FINISH,
    PROGRESS_OF_OUTCOME,
    DepositDoors,
    DoorProgress,
    FlowChart,
    map_cells,
)
from kiosk.core.flows.views import DoorAudience, DoorOpenView
from kiosk.core.locker import DoorFinish, DoorOutcome
from kiosk.core.model import Compartment, CompartmentStatus, Deposit, DoorPurpose
from kiosk.core.ports import Store


class Placement(Protocol):
    """Where one parcel is going, as far as its chart knows."""

    compartment_id: str | None  # the compartment asked for last
    progress: DoorProgress | None  # its door; None before it is asked for (again)
    excluded: set[str]  # compartments not to offer this parcel again
    retry_same: bool  # reopen: the same compartment again, if it is still free


class DepositChart(FlowChart):
    """A FlowChart that places parcels. Subclasses set `_store`, `_layout` and `_doors` before calling
    FlowChart's __init__, and implement `_placement` and `_door_news`."""

    _store: Store
    _layout: tuple[Compartment, ...]
    _doors: DepositDoors

    # outside news ------------------------------------------------------------------------------------------
    def door_outcome(self, compartment_id: str, outcome: DoorOutcome) -> None:
        """What the door transaction answered for a door this chart asked for."""
        if self._door_news(compartment_id, PROGRESS_OF_OUTCOME[outcome]):
            self.dispatch("doors_changed")

    def door_finished(self, compartment_id: str, finish: DoorFinish) -> None:
        """How a door this chart asked for ended when it closed."""
        if self._door_news(compartment_id, PROGRESS_OF_FINISH[finish]):
            self.dispatch("doors_changed")

    # for subclasses ----------------------------------------------------------------------------------------
    def _placement(self) -> Placement | None:
        """The parcel being placed now, if any."""
        raise NotImplementedError

    def _door_news(self, compartment_id: str, progress: DoorProgress) -> bool:
        """Record what a door did; True when it was a door this chart waits at (the chart moves on)."""
        raise NotImplementedError

    def _free(self, excluded: Iterable[str]) -> list[CompartmentStatus]:
        """Free compartments that may be offered now, but for `excluded`."""
        busy = set(self._doors.busy_compartments()).union(excluded)
        return [status for status in self._store.free_compartments() if status.compartment.id not in busy]

    def _choose(self, placement: Placement,
                choose: Callable[[Sequence[CompartmentStatus]], CompartmentStatus | None]
                ) -> CompartmentStatus | None:
        """The compartment to open for `placement`: after "reopen" the same one while it is free, else the
        one `choose` picks from the free ones (None: none is left)."""
        free = self._free(placement.excluded)
        chosen: CompartmentStatus | None = None
        if placement.retry_same:
            chosen = next((status for status in free if status.compartment.id == placement.compartment_id),
                          None)
            placement.retry_same = False
        return chosen if chosen is not None else choose(free)

    def _open_for_deposit(self, placement: Placement, chosen: CompartmentStatus, purpose: DoorPurpose,
                          deposit: Deposit) -> None:
        placement.compartment_id = chosen.compartment.id
        placement.progress = DoorProgress.REQUESTED
        # Last: a request that cannot even start answers at once, into the placement just set.
        self._doors.request_deposit(chosen.compartment.id, purpose, deposit)

    def _move_on(self, placement: Placement) -> None:
        """Not this compartment: the next placing chooses another."""
        assert placement.compartment_id is not None
        placement.excluded.add(placement.compartment_id)
        placement.progress = None

    def _reopen(self, placement: Placement) -> None:
        """The door closed with nothing seen inside: the next placing opens the same compartment."""
        placement.retry_same = True
        placement.progress = None

    def _door_open_view(self, audience: DoorAudience, parcel_id: str | None,
                        moved_from: str | None = None) -> DoorOpenView:
        placement = self._placement()
        compartments = (placement.compartment_id,) if placement and placement.compartment_id else ()
        return DoorOpenView(
            compartment_ids=compartments,
            cells=map_cells(self._layout, self._doors.door_states(), compartments),
            waiting_for_unlock=bool(placement and placement.progress is DoorProgress.REQUESTED),
            audience=audience,
            parcel_id=parcel_id,
            moved_from=moved_from,
        )

    # guards on the door of the parcel being placed --------------------------------------------------------
    def _progress_is(self, *progress: DoorProgress) -> bool:
        placement = self._placement()
        return placement is not None and placement.progress in progress

    def door_requested(self) -> bool:
        placement = self._placement()
        return placement is not None and placement.progress is not None

    def door_not_open_yet(self) -> bool:
        return self._progress_is(DoorProgress.REQUESTED)

    def door_is_open(self) -> bool:
        return self._progress_is(DoorProgress.OPEN)

    def deposited(self) -> bool:
        return self._progress_is(DoorProgress.DEPOSITED)

    def closed_empty(self) -> bool:
        return self._progress_is(DoorProgress.EMPTY)

    def door_faulted(self) -> bool:
        return self._progress_is(DoorProgress.FAULT)

    def door_busy(self) -> bool:
        return self._progress_is(DoorProgress.BUSY)

    def bus_down_at_door(self) -> bool:
        return self._progress_is(DoorProgress.BUS_DOWN)

    # actions -----------------------------------------------------------------------------------------------
    def try_after_busy(self) -> None:
        """Another transaction has that door, or the store refused it: try another compartment."""
        placement = self._placement()
        assert placement is not None  # door_busy holds
        self._move_on(placement)

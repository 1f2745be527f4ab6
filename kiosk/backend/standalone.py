"""Standalone mode: no platform is configured, so the locker is its own system of record.

Every event the store writes to the outbox is already in the audit log, written in the same transaction;
with nobody to deliver to, this service acknowledges the events locally so the outbox stays empty (and its
backlog alarm quiet). It has the same start/stop/nudge surface as kiosk.backend.delivery.OutboxDelivery.
"""

from __future__ import annotations

import logging

from kiosk.core.ports import Store

log = logging.getLogger(__name__)

BATCH = 500


class LocalRecord:
    """Runs on the event-loop thread, as the store requires."""

    online: bool | None = None  # there is no platform to be on or off line with

    def __init__(self, store: Store) -> None:
        self._store = store
        self.recorded = 0

    async def start(self) -> None:
        self.nudge()

    async def stop(self) -> None:
        return None

    def nudge(self) -> None:
        """New events were written: take them into the local record."""
        while True:
            batch = self._store.outbox_batch(BATCH)
            if not batch:
                return
            self.recorded += self._store.outbox_acknowledge([event.idempotency_key for event in batch])

"""`make bench`, the platform part: the outbox delivered to the fake platform, and a sync of 5,000 parcels.

- 10,000 queued events (deposits, then problem reports about those parcels, as the store writes them)
  delivered by OutboxDelivery to kiosk.testing.fake_platform on 127.0.0.1: events per second, and the
  longest event-loop stall meanwhile (an asyncio heartbeat's worst lateness);
- a sync of 5,000 expected parcels by the kiosk's PlatformLink: every page fetched, signed and verified by
  PlatformClient in a worker thread, then stored on the event loop (one transaction a page): seconds, and
  the loop's longest stall meanwhile.

Run alone: `uv run python tests/benchmarks/outbox_sync.py`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from kiosk.backend.delivery import OutboxDelivery  # noqa: E402
from kiosk.backend.link import CommandOutcome, PlatformLink  # noqa: E402
from kiosk.backend.remote import Health, PlatformClient  # noqa: E402
from kiosk.backend.status import LinkStatus  # noqa: E402
from kiosk.core.clock import AsyncioClock  # noqa: E402
from kiosk.core.model import Compartment, ProblemKind, Size  # noqa: E402
from kiosk.store import SqliteStore  # noqa: E402
from kiosk.testing.fake_platform import FakePlatform  # noqa: E402

SECRET = bytes(range(64))
LOCKER_ID = "bench-locker"
EVENTS = 10_000
PARCELS = 5_000
# A page is parsed in one json.loads that holds the GIL: 500 parcels a page stalled the loop ~50 ms in the
# full bench (Qt and OpenCV loaded); 100 a page keeps it short at a few more round trips.
SYNC_PAGE = 100
RUNS = 3
LAYOUT = tuple(Compartment(f"C{index:02d}", Size.S, 0, index + 1, 100, 1) for index in range(16))
HEARTBEAT_S = 0.005

Report = Callable[[str, list[float], str, str], None]


class LoopStalls:
    """The worst lateness of a 5 ms asyncio heartbeat: how long the loop was kept from everything else."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.worst_ms

    async def _beat(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(HEARTBEAT_S)
            self.worst_ms = max(self.worst_ms, (time.perf_counter() - before - HEARTBEAT_S) * 1000)


def queue_events(store: SqliteStore, count: int) -> None:
    parcels = []
    for index, status in enumerate(store.free_compartments()):
        parcel_id = f"B{index:03d}"
        store.place_parcel(parcel_id, Size.S, status.compartment.id, "Ada Lovelace", b"\x01" * 32,
                           1.8e9 + index)
        parcels.append(parcel_id)
    written = len(parcels)
    while written < count:
        chunk = parcels[: count - written]
        store.report_problem(ProblemKind.DAMAGED, chunk, 1.8e9 + written)
        written += len(chunk)


async def deliver_all(store: SqliteStore, platform: FakePlatform) -> tuple[float, float]:
    client = PlatformClient(platform.url, LOCKER_ID, SECRET)
    delivery = OutboxDelivery(store, client, clock=AsyncioClock())  # the kiosk's own batch size
    stalls = LoopStalls()
    stalls.start()
    started = time.perf_counter()
    await delivery.start()
    try:
        while store.outbox_depth():
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
    finally:
        await delivery.stop()
    return seconds, await stalls.stop()


class _NoCommands:
    async def run_command(self, command: object) -> CommandOutcome:
        raise AssertionError(f"the bench platform sends no commands: {command}")


async def sync_all(store: SqliteStore, platform: FakePlatform) -> tuple[float, int, float]:
    """The kiosk's own sync (PlatformLink): pages fetched in its worker, each stored on the loop."""
    clock = AsyncioClock()

    def health() -> Health:
        return Health(locker_clock=clock.now(), app_version="0.1.0", uptime_s=0, boards_answering=1,
                      boards_total=1)

    link = PlatformLink(store, PlatformClient(platform.url, LOCKER_ID, SECRET), clock=clock,
                        status=LinkStatus(clock), health=health, commands=_NoCommands(),
                        sync_interval_s=3600, heartbeat_interval_s=3600, page_size=SYNC_PAGE)
    stalls = LoopStalls()
    stalls.start()
    started = time.perf_counter()
    await link.start()
    try:
        while link.syncs_completed < 1:
            if link.last_sync_error is not None:
                raise RuntimeError(f"the sync failed: {link.last_sync_error}")
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
    finally:
        await link.stop()
    expected = sum(1 for index in range(PARCELS) if store.expected_parcel_by_barcode(f"P{index:05d}"))
    return seconds, expected, await stalls.stop()


def run(report: Report) -> None:
    rates, delivery_stalls, sync_seconds, sync_stalls = [], [], [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            store = SqliteStore.open(folder / "kiosk.sqlite", LAYOUT, outbox_alarm_depth=EVENTS * 2)
            platform = FakePlatform(SECRET, database=folder / "platform.sqlite", locker_id=LOCKER_ID)
            platform.start()
            try:
                queue_events(store, EVENTS)
                seconds, stall = asyncio.run(deliver_all(store, platform))
                assert len(platform.events()) == EVENTS, "every event once"
                rates.append(EVENTS / seconds)
                delivery_stalls.append(stall)
                for index in range(PARCELS):
                    platform.add_expected_parcel(parcel_id=f"P{index:05d}", code=f"{100000 + index}")
                seconds, parcels, stall = asyncio.run(sync_all(store, platform))
                assert parcels == PARCELS, f"synced {parcels} of {PARCELS}"
                sync_seconds.append(seconds)
                sync_stalls.append(stall)
            finally:
                platform.stop()
                store.close()
    report(f"{EVENTS} queued events -> fake platform", rates, "ev/s", "")
    report("longest event-loop stall while delivering", delivery_stalls, "ms", "<= 50 ms")
    report(f"sync of {PARCELS} expected parcels, fetched and stored", sync_seconds, "s", "")
    report("longest event-loop stall while syncing", sync_stalls, "ms", "<= 50 ms")


if __name__ == "__main__":
    import run as bench  # tests/benchmarks/run.py: the shared report format

    run(bench.report)

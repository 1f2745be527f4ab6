"""Outbox delivery (kiosk.backend.delivery) on real SQLite files against real servers: every event reaches
the platform exactly once through faults, outages, duplicates, rejections and locker-side failures; the
network runs in the service's one worker thread and the store on the loop thread; stop() is prompt and
leaves no thread behind.

Backoff waits run on a ManualClock, so a test decides when a retry is due and never sleeps; the network
and the store are real, and every wait on them has a deadline."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from test_remote_client import (
    LAYOUT,
    LOCKER_ID,
    SECRET,
    T0,
    Answer,
    Received,
    ScriptedPlatform,
    accept_every_event,
    fill_outbox,
    no_thread_outlives_the_test,  # noqa: F401  (the autouse fixture applies here too)
)

from kiosk.backend.delivery import Backoff, Jitter, OutboxDelivery
from kiosk.backend.remote import EventsReply, PlatformClient, PlatformErrorKind
from kiosk.core.clock import ManualClock
from kiosk.core.model import OutboxEvent, ProblemKind
from kiosk.store import SqliteStore
from kiosk.testing.fake_platform import FakePlatform

WAIT_S = 15.0
_T = TypeVar("_T")


class LoopThreadStore(SqliteStore):
    """A real SqliteStore that notes which threads touch its outbox."""

    outbox_threads: set[str]

    def _note(self) -> None:
        if not hasattr(self, "outbox_threads"):
            self.outbox_threads = set()
        self.outbox_threads.add(threading.current_thread().name)

    def outbox_batch(self, limit: int) -> Sequence[OutboxEvent]:
        self._note()
        return super().outbox_batch(limit)

    def outbox_acknowledge(self, keys: Any, at: float | None = None) -> int:
        self._note()
        return super().outbox_acknowledge(keys, at)

    def outbox_record_failure(self, keys: Any, at: float, error: str) -> int:
        self._note()
        return super().outbox_record_failure(keys, at, error)

    def outbox_park(self, key: str, reason: str, at: float) -> bool:
        self._note()
        return super().outbox_park(key, reason, at)


class ThreadNotingClient(PlatformClient):
    """A real PlatformClient that notes which threads post events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.post_threads: set[str] = set()

    def post_events(self, events: Sequence[OutboxEvent]) -> EventsReply:
        self.post_threads.add(threading.current_thread().name)
        return super().post_events(events)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LoopThreadStore]:
    with LoopThreadStore.open(tmp_path / "kiosk.sqlite", LAYOUT) as opened:
        assert isinstance(opened, LoopThreadStore)
        yield opened


@pytest.fixture
def fake() -> Iterator[FakePlatform]:
    platform = FakePlatform(SECRET, locker_id=LOCKER_ID)
    platform.start()
    yield platform
    platform.stop()


@pytest.fixture
def scripted() -> Iterator[ScriptedPlatform]:
    platform = ScriptedPlatform().start()
    yield platform
    platform.stop()
    assert not platform.problems, platform.problems


def run(scenario: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    return asyncio.run(asyncio.wait_for(scenario(), 60))


async def until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def delivered_keys(platform: FakePlatform) -> list[str]:
    return [event["idempotency_key"] for event in platform.events()]


def make_delivery(store: SqliteStore, client: Any, clock: ManualClock, **options: Any) -> OutboxDelivery:
    options.setdefault("backoff", Backoff(base_s=1, cap_s=300, jitter=Jitter.FULL, rng=random.Random(5)))
    return OutboxDelivery(store, client, clock=clock, **options)


# backoff ------------------------------------------------------------------------------------------

def test_the_backoff_ceiling_doubles_to_its_cap() -> None:
    backoff = Backoff(base_s=1, cap_s=300, jitter=Jitter.NONE)
    assert [backoff.delay(failures) for failures in range(0, 12)] == [
        0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff.delay(10_000) == 300  # no overflow after a long outage


def test_full_jitter_is_uniform_below_the_ceiling_and_repeatable_with_a_seed() -> None:
    first = Backoff(jitter=Jitter.FULL, rng=random.Random(42))
    second = Backoff(jitter=Jitter.FULL, rng=random.Random(42))
    delays = [first.delay(failures) for failures in range(1, 200)]
    assert delays == [second.delay(failures) for failures in range(1, 200)]
    assert all(0 <= delay <= first.ceiling(failures)
               for failures, delay in zip(range(1, 200), delays, strict=True))
    capped = [first.delay(50) for _ in range(2000)]
    assert 130 < sum(capped) / len(capped) < 170  # mean of uniform(0, 300)
    assert min(capped) < 10 and max(capped) > 290
    assert delays[:4] == [0.6394267984578837, 0.05002151044533387, 1.100117273476477, 1.785685905190582]


def test_equal_jitter_keeps_at_least_half_the_ceiling() -> None:
    backoff = Backoff(base_s=2, cap_s=60, jitter=Jitter.EQUAL, rng=random.Random(1))
    for failures in range(1, 30):
        assert backoff.ceiling(failures) / 2 <= backoff.delay(failures) <= backoff.ceiling(failures)


@pytest.mark.parametrize("options", [{"base_s": 0}, {"base_s": -1}, {"cap_s": float("nan")},
                                     {"base_s": 10, "cap_s": 5}, {"base_s": True}])
def test_a_backoff_that_makes_no_sense_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**options)


def test_a_batch_size_beyond_the_contract_is_refused(store: SqliteStore) -> None:
    client = PlatformClient("http://127.0.0.1:1", LOCKER_ID, SECRET)
    for size in (0, 201, True):
        with pytest.raises(ValueError, match="batch_size"):
            OutboxDelivery(store, client, clock=ManualClock(), batch_size=size)
    client.close()


# exactly once --------------------------------------------------------------------------------------

def test_a_thousand_events_arrive_exactly_once_and_in_order(
    store: LoopThreadStore, fake: FakePlatform
) -> None:
    keys = fill_outbox(store, 1000)
    client = ThreadNotingClient(fake.url, LOCKER_ID, SECRET)
    heard: list[tuple[bool | None, int]] = []
    stalls: list[float] = []

    async def scenario() -> OutboxDelivery:
        ticking = asyncio.create_task(measure_stalls(stalls))
        delivery = make_delivery(store, client, ManualClock())
        delivery.add_listener(lambda online, depth: heard.append((online, depth)))
        await delivery.start()
        try:
            await until(lambda: store.outbox_depth() == 0, "the outbox to empty")
        finally:
            await delivery.stop()
            ticking.cancel()
        return delivery

    delivery = run(scenario)
    assert delivered_keys(fake) == keys
    assert fake.event_deliveries() == 10  # batches of 100, none resent
    assert (delivery.online, delivery.last_error, delivery.delivered) == (True, None, 1000)
    assert delivery.parked == 0
    assert heard[0] == (None, 1000) and heard[-1] == (True, 0)
    assert [depth for _, depth in heard] == sorted((depth for _, depth in heard), reverse=True)
    assert client.post_threads == {"outbox-delivery"}  # the network never on the loop
    assert store.outbox_threads == {threading.current_thread().name}  # the store only on the loop
    assert client.closed  # stop() closed it
    assert max(stalls) < 0.25, f"the event loop stalled {max(stalls) * 1000:.0f} ms"


async def measure_stalls(stalls: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(0.005)
        stalls.append(loop.time() - before - 0.005)


@pytest.mark.parametrize(("faults", "kind"), [
    ({"status_500": 1}, "http_status"),
    ({"drop_connections": 1}, "unreachable"),
    ({"malformed_json": 1}, "malformed_reply"),
    ({"bad_signature": 1}, "bad_signature"),
    ({"huge_body_bytes": 10 * 1024 * 1024}, "too_large"),
    ({"latency_s": 1.0}, "timeout"),
    ({"clock_skew_s": 900.0}, "unauthorized"),
])
def test_a_failed_delivery_acknowledges_nothing_and_the_retry_delivers_each_event_once(
    store: SqliteStore, fake: FakePlatform, faults: dict[str, Any], kind: str
) -> None:
    keys = fill_outbox(store, 30)
    fake.set_faults(**faults, operations={"postEvents"})
    clock = ManualClock()
    client = PlatformClient(fake.url, LOCKER_ID, SECRET, read_timeout_s=0.3)
    statuses: list[bool | None] = []

    async def scenario() -> OutboxDelivery:
        delivery = make_delivery(store, client, clock)
        delivery.add_listener(lambda online, depth: statuses.append(online))
        await delivery.start()
        try:
            await until(lambda: delivery.online is False, "the failure")
            assert (delivery.last_error or "").startswith(f"{kind}: ")
            assert store.outbox_depth() == 30  # nothing acknowledged
            waiting = store.outbox_batch(100)
            assert {event.idempotency_key for event in waiting} == set(keys)
            assert all(event.attempts == 1 and (event.last_error or "").startswith(kind) for event in waiting)
            assert clock.pending() == 1  # a retry is booked, not made
            fake.set_faults()
            clock.advance(300)
            await until(lambda: store.outbox_depth() == 0, "the retry")
        finally:
            await delivery.stop()
        return delivery

    delivery = run(scenario)
    if kind == "timeout":  # the platform applied the slow batch after the locker had given up on it
        assert fake.event_deliveries() == 2
    assert sorted(delivered_keys(fake)) == sorted(keys)
    assert len(delivered_keys(fake)) == 30
    assert (delivery.online, delivery.last_error, delivery.failures_in_a_row) == (True, None, 0)
    changes = [status for index, status in enumerate(statuses) if index == 0 or status != statuses[index - 1]]
    assert changes == [None, False, True]


def test_the_platform_down_for_a_while_then_back_gets_everything_once(
    store: SqliteStore, fake: FakePlatform
) -> None:
    port = urllib.parse.urlsplit(fake.url).port
    url = fake.url
    first = fill_outbox(store, 150)
    clock = ManualClock()
    client = PlatformClient(url, LOCKER_ID, SECRET, connect_timeout_s=0.5)
    platforms = [fake]

    async def scenario() -> None:
        delivery = make_delivery(store, client, clock)
        await delivery.start()
        try:
            await until(lambda: store.outbox_depth() == 0, "the first events")
            fake.stop()  # the outage: pickups and deposits go on meanwhile
            fill_outbox(store, 40, prefix="Q")
            delivery.nudge()
            await until(lambda: delivery.online is False, "the outage to be noticed")
            assert "unreachable" in (delivery.last_error or "")
            for _ in range(5):  # retries come and fail; each counts
                await retried(delivery, clock)
            assert store.outbox_depth() == 40
            assert {event.attempts for event in store.outbox_batch(100)} == {6}
            back = FakePlatform(SECRET, locker_id=LOCKER_ID, database=fake.database, port=port or 0)
            back.start()
            platforms.append(back)
            assert back.url == url
            delivery.nudge()  # as a heartbeat that got through would
            await until(lambda: store.outbox_depth() == 0, "the backlog")
            assert delivery.online is True
        finally:
            await delivery.stop()

    try:
        run(scenario)
        assert len(platforms) == 2
        assert len(delivered_keys(platforms[-1])) == 190
        assert delivered_keys(platforms[-1])[:150] == first
    finally:
        for platform in platforms[1:]:
            platform.stop()


async def retried(delivery: OutboxDelivery, clock: ManualClock) -> None:
    wanted = delivery.failures_in_a_row + 1
    clock.advance(300)
    await until(lambda: delivery.failures_in_a_row == wanted, "a retry")


def test_events_the_platform_already_has_are_acknowledged_as_duplicates(
    store: SqliteStore, fake: FakePlatform
) -> None:
    keys = fill_outbox(store, 120)
    with PlatformClient(fake.url, LOCKER_ID, SECRET) as earlier:  # a run that crashed before acknowledging
        assert len(earlier.post_events(store.outbox_batch(70)).accepted) == 70
    client = PlatformClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> OutboxDelivery:
        delivery = make_delivery(store, client, ManualClock(), batch_size=50)
        await delivery.start()
        try:
            await until(lambda: store.outbox_depth() == 0, "the outbox to empty")
        finally:
            await delivery.stop()
        return delivery

    delivery = run(scenario)
    assert delivered_keys(fake) == keys
    assert delivery.delivered == 120  # 70 duplicates and 50 new, all acknowledged


def test_rejected_events_are_parked_for_good_and_never_block_the_queue(
    store: SqliteStore, fake: FakePlatform
) -> None:
    with PlatformClient(fake.url, LOCKER_ID, SECRET) as setup:
        setup.register("0.1.0", LAYOUT[1:])  # the platform does not know compartment C00
    keys = fill_outbox(store, 25)  # C00's deposit first, and a problem report about its parcel
    on_c00 = [event.idempotency_key for event in store.outbox_batch(100) if event.compartment_id == "C00"]
    assert len(on_c00) == 2 and keys[0] == on_c00[0]
    clock = ManualClock()

    async def scenario() -> OutboxDelivery:
        delivery = make_delivery(store, PlatformClient(fake.url, LOCKER_ID, SECRET), clock, batch_size=10)
        await delivery.start()
        try:
            await until(lambda: store.outbox_depth() == 0 and delivery.parked == 2,
                        "everything delivered but the rejected, which are parked")
            assert delivery.online is True and clock.pending() == 0
            for _ in range(3):
                store.report_problem(ProblemKind.NOT_MINE, [], clock.now())
            delivery.nudge()
            await until(lambda: store.outbox_depth() == 0, "later events past the parked ones")
        finally:
            await delivery.stop()
        return delivery

    delivery = run(scenario)
    assert delivery.parked == 2
    parked = store.outbox_parked()
    assert [event.idempotency_key for event in parked] == on_c00
    assert all("rejected: unknown_compartment" in (event.parked_reason or "") for event in parked)
    assert store.outbox_batch(100) == []  # never in a batch again
    assert len(delivered_keys(fake)) == 26
    deliveries = fake.event_deliveries()

    async def restart() -> OutboxDelivery:  # parked is for good: a restart does not send them again
        again = make_delivery(store, PlatformClient(fake.url, LOCKER_ID, SECRET), ManualClock())
        await again.start()
        try:
            store.report_problem(ProblemKind.NOT_MINE, [], T0)
            again.nudge()
            await until(lambda: store.outbox_depth() == 0, "a new event after the restart")
        finally:
            await again.stop()
        return again

    again = run(restart)
    assert again.parked == 2 and fake.event_deliveries() == deliveries + 1
    assert len(delivered_keys(fake)) == 27
    assert [event.idempotency_key for event in store.outbox_parked()] == on_c00


def test_a_batch_refused_whole_is_split_until_the_bad_event_stands_alone(
    store: SqliteStore, scripted: ScriptedPlatform
) -> None:
    keys = fill_outbox(store, 16)
    poison = keys[5]

    def answer(received: Received) -> Answer:
        sent = [event["idempotency_key"] for event in received.document["events"]]
        if poison in sent:
            return Answer(422, {"code": "invalid_request", "message": f"events: {poison} is not acceptable"})
        return accept_every_event(received)

    scripted.answer = answer
    clock = ManualClock()

    async def scenario() -> OutboxDelivery:
        delivery = make_delivery(store, PlatformClient(scripted.url, LOCKER_ID, SECRET), clock, batch_size=16)
        await delivery.start()
        try:
            await until(lambda: store.outbox_depth() == 0, "all but the bad event")
        finally:
            await delivery.stop()
        return delivery

    delivery = run(scenario)
    assert delivery.parked == 1
    [left] = store.outbox_parked()
    assert left.idempotency_key == poison and "HTTP 422" in (left.parked_reason or "")
    assert store.outbox_batch(10) == []
    sizes = [len(received.document["events"]) for received in scripted.requests_to("/events")]
    assert sizes == [16, 8, 4, 4, 2, 1, 1, 2, 8]
    assert clock.pending() == 0  # a refused event is no reason to back off


def test_retry_after_holds_off_even_a_nudge(store: SqliteStore, scripted: ScriptedPlatform) -> None:
    fill_outbox(store, 3)
    busy = [True]
    maintenance = Answer(503, {"code": "unavailable", "message": "Maintenance."}, {"Retry-After": "120"})
    scripted.answer = lambda received: maintenance if busy[0] else accept_every_event(received)
    clock = ManualClock()

    async def scenario() -> None:
        delivery = make_delivery(store, PlatformClient(scripted.url, LOCKER_ID, SECRET), clock,
                                 backoff=Backoff(base_s=1, cap_s=300, jitter=Jitter.NONE))
        await delivery.start()
        try:
            await until(lambda: delivery.online is False, "the 503")
            busy[0] = False
            delivery.nudge()
            for _ in range(20):  # let the loop run the nudge through
                await asyncio.sleep(0)
            assert len(scripted.requests_to("/events")) == 1 and clock.pending() == 1
            clock.advance(119)
            for _ in range(20):
                await asyncio.sleep(0)
            assert len(scripted.requests_to("/events")) == 1
            clock.advance(2)
            await until(lambda: store.outbox_depth() == 0, "the delivery after Retry-After")
        finally:
            await delivery.stop()

    run(scenario)


def test_a_nudge_delivers_a_new_event_at_once(store: SqliteStore, fake: FakePlatform) -> None:
    clock = ManualClock()

    async def scenario() -> None:
        delivery = make_delivery(store, PlatformClient(fake.url, LOCKER_ID, SECRET), clock)
        await delivery.start()
        try:
            await until(lambda: delivery.running, "the start")
            assert clock.pending() == 0  # idle: no timer that could wake it
            for round_number in range(3):
                fill_outbox(store, 1, prefix=f"N{round_number}")
                delivery.nudge()
                await until(lambda: store.outbox_depth() == 0, "the nudged delivery")
        finally:
            await delivery.stop()

    run(scenario)
    assert len(delivered_keys(fake)) == 3 and fake.event_deliveries() == 3


def test_a_nudge_from_another_thread_is_safe(store: SqliteStore, fake: FakePlatform) -> None:
    async def scenario() -> None:
        delivery = make_delivery(store, PlatformClient(fake.url, LOCKER_ID, SECRET), ManualClock())
        await delivery.start()
        try:
            await until(lambda: delivery.running, "the start")
            fill_outbox(store, 2)
            nudger = threading.Thread(target=delivery.nudge, name="nudger")
            nudger.start()
            nudger.join()
            await until(lambda: store.outbox_depth() == 0, "the nudged delivery")
        finally:
            await delivery.stop()

    run(scenario)


# stopping -----------------------------------------------------------------------------------------

def test_stop_during_a_long_call_is_prompt_and_joins_the_worker(
    store: SqliteStore, fake: FakePlatform
) -> None:
    keys = fill_outbox(store, 10)
    fake.set_faults(latency_s=30.0, operations={"postEvents"})
    client = PlatformClient(fake.url, LOCKER_ID, SECRET, read_timeout_s=60.0)

    async def scenario() -> float:
        delivery = make_delivery(store, client, ManualClock())
        await delivery.start()
        await until(lambda: fake.requests_seen() >= 1, "the call to be under way")
        started = time.monotonic()
        await delivery.stop()
        assert not delivery.running
        return time.monotonic() - started

    took = run(scenario)
    assert took < 1.0, f"stop took {took:.2f} s"
    assert not [thread for thread in threading.enumerate() if thread.name == "outbox-delivery"]
    assert [event.idempotency_key for event in store.outbox_batch(100)] == keys  # nothing acknowledged
    fake.set_faults()


def test_stop_before_start_and_twice_is_harmless(store: SqliteStore) -> None:
    async def scenario() -> None:
        unused = PlatformClient("http://127.0.0.1:1", LOCKER_ID, SECRET)
        unstarted = make_delivery(store, unused, ManualClock())
        await unstarted.stop()  # closes the client it was given all the same
        assert unused.closed
        with pytest.raises(RuntimeError, match="starts once"):
            await unstarted.start()
        client = PlatformClient("http://127.0.0.1:1", LOCKER_ID, SECRET)
        delivery = make_delivery(store, client, ManualClock())
        await delivery.start()
        with pytest.raises(RuntimeError, match="starts once"):
            await delivery.start()
        await delivery.stop()
        await delivery.stop()
        assert not delivery.running

    run(scenario)


# the locker's own failures ---------------------------------------------------------------------------

def test_an_acknowledgement_the_disk_refuses_is_retried_and_lands_once(
    tmp_path: Path, fake: FakePlatform
) -> None:
    database = tmp_path / "disk.sqlite"
    with SqliteStore.open(database, LAYOUT) as store:
        keys = fill_outbox(store, 20)
        raw = sqlite3.connect(database, isolation_level=None)
        raw.execute("CREATE TRIGGER full_disk BEFORE DELETE ON outbox "
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        clock = ManualClock()
        listened: list[int] = []

        def flaky_listener(online: bool | None, depth: int) -> None:
            listened.append(depth)
            raise RuntimeError("a listener bug")

        async def scenario() -> OutboxDelivery:
            delivery = make_delivery(store, PlatformClient(fake.url, LOCKER_ID, SECRET), clock)
            delivery.add_listener(flaky_listener)
            await delivery.start()
            try:
                await until(lambda: clock.pending() == 1, "the failed acknowledgement to be retried later")
                assert "disk full" in (delivery.last_error or "")
                assert store.outbox_depth() == 20 and len(delivered_keys(fake)) == 20
                raw.execute("DROP TRIGGER full_disk")
                clock.advance(300)
                await until(lambda: store.outbox_depth() == 0, "the acknowledgement")
            finally:
                await delivery.stop()
                raw.close()
            return delivery

        delivery = run(scenario)
    assert delivered_keys(fake) == keys and fake.event_deliveries() == 2
    assert delivery.delivered == 20 and listened[-1] == 0


def test_a_listener_can_be_removed(store: SqliteStore, fake: FakePlatform) -> None:
    heard: list[int] = []

    def listener(online: bool | None, depth: int) -> None:
        heard.append(depth)

    async def scenario() -> None:
        delivery = make_delivery(store, PlatformClient(fake.url, LOCKER_ID, SECRET), ManualClock())
        delivery.add_listener(listener)
        delivery.remove_listener(listener)
        delivery.remove_listener(listener)
        await delivery.start()
        try:
            fill_outbox(store, 2)
            delivery.nudge()
            await until(lambda: store.outbox_depth() == 0, "the delivery")
        finally:
            await delivery.stop()

    run(scenario)
    assert heard == []


def test_the_kinds_the_delivery_backs_off_from_are_the_retryable_ones() -> None:
    retryable = {kind for kind in PlatformErrorKind
                 if kind not in (PlatformErrorKind.REJECTED, PlatformErrorKind.CLOSED)}
    assert {kind.value for kind in retryable} == {
        "unreachable", "timeout", "tls", "http_status", "unauthorized", "bad_signature", "malformed_reply",
        "too_large"}

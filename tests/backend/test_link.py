"""The platform link (kiosk.backend.link) on real SQLite files against real servers: sync lands in the store
page by page, heartbeats carry the health, remote commands run once and are answered, a command list that
does not verify runs nothing, online verification answers within its deadline, and stop() is prompt and
leaves no thread behind.

Intervals and backoffs run on a ManualClock started at the real time (commands expire by it), so a test
decides when the next round is due and never sleeps; the network, the store and the threads are real, and
every wait on them has a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from test_remote_client import (
    LAYOUT,
    LOCKER_ID,
    SECRET,
    Answer,
    Received,
    ScriptedPlatform,
    no_thread_outlives_the_test,  # noqa: F401  (the autouse fixture applies here too)
)

from kiosk.backend.delivery import Backoff, Jitter
from kiosk.backend.link import CommandOutcome, PlatformLink, RunnableCommand, SyncFailed
from kiosk.backend.remote import (
    Command,
    CommandStatus,
    Health,
    HeartbeatAck,
    OpenDoorCommand,
    OutOfServiceCommand,
    PickupVerification,
    PlatformClient,
    ReturnVerification,
    SyncPage,
    format_date_time,
)
from kiosk.backend.status import LinkState, LinkStatus
from kiosk.core.clock import ManualClock
from kiosk.core.model import AuditEntry, ParcelState, Size, SyncTally
from kiosk.core.ports import VerificationUnavailable
from kiosk.store import SqliteStore
from kiosk.testing.fake_platform import FakePlatform, hash_code

WAIT_S = 15.0
LINK_THREADS = ("platform-sync", "platform-heartbeat", "platform-commands", "platform-verify-0",
                "platform-verify-1")
_T = TypeVar("_T")


# real parts that note who calls them ----------------------------------------------------------------

class NotingStore(SqliteStore):
    """A real SqliteStore that notes the threads that apply sync pages."""

    sync_threads: set[str]

    def apply_sync_page(self, page: SyncPage, at: float) -> SyncTally:
        if not hasattr(self, "sync_threads"):
            self.sync_threads = set()
        self.sync_threads.add(threading.current_thread().name)
        return super().apply_sync_page(page, at)


class NotingClient(PlatformClient):
    """A real PlatformClient that notes each call (operation, argument, thread); `polling` is set while a
    command poll is on the wire."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, object, str]] = []
        self.polling = threading.Event()
        self._noted = threading.Lock()

    def _note(self, operation: str, argument: object = None) -> None:
        with self._noted:
            self.calls.append((operation, argument, threading.current_thread().name))

    def count(self, operation: str) -> int:
        with self._noted:
            return sum(1 for name, _, _ in self.calls if name == operation)

    def arguments(self, operation: str) -> list[object]:
        with self._noted:
            return [argument for name, argument, _ in self.calls if name == operation]

    def threads(self, operation: str) -> set[str]:
        with self._noted:
            return {thread for name, _, thread in self.calls if name == operation}

    def sync(self, cursor: str | None, limit: int = 500) -> SyncPage:
        self._note("sync", cursor)
        return super().sync(cursor, limit)

    def heartbeat(self, health: Health) -> HeartbeatAck:
        self._note("heartbeat", health)
        return super().heartbeat(health)

    def poll_commands(self, wait_s: int = 30) -> list[Command]:
        self._note("poll", wait_s)
        self.polling.set()
        try:
            return super().poll_commands(wait_s)
        finally:
            self.polling.clear()

    def post_command_result(self, command_id: str, status: CommandStatus, finished_at: float,
                            reason: str | None = None, message: str | None = None) -> None:
        self._note("result", command_id)
        super().post_command_result(command_id, status, finished_at, reason, message)

    def verify_code(self, code_hash: bytes, kind: str = "pickup"
                    ) -> PickupVerification | ReturnVerification | None:
        self._note("verify", kind)
        return super().verify_code(code_hash, kind)


class LockerRunner:
    """Runs commands the way the kiosk does, as far as the link can tell: against the store's layout. An
    open door or out-of-service on a compartment the locker has is done, any other is refused."""

    def __init__(self, store: SqliteStore, *, failure: Exception | None = None) -> None:
        self.store = store
        self.failure = failure
        self.runs: list[RunnableCommand] = []
        self.threads: set[str] = set()

    async def run_command(self, command: RunnableCommand) -> CommandOutcome:
        self.runs.append(command)
        self.threads.add(threading.current_thread().name)
        if self.failure is not None:
            raise self.failure
        if isinstance(command, OpenDoorCommand | OutOfServiceCommand):
            known = {status.compartment.id for status in self.store.compartments()}
            if command.compartment_id not in known:
                return CommandOutcome(CommandStatus.REFUSED, "unknown_compartment",
                                      f"No compartment {command.compartment_id} here.")
        return CommandOutcome(CommandStatus.DONE)


class HealthReader:
    """The heartbeat's health, read from the store as the kiosk does; notes the threads it runs on."""

    def __init__(self, store: SqliteStore, clock: ManualClock) -> None:
        self.store = store
        self.clock = clock
        self.threads: set[str] = set()
        self.broken_times = 0

    def __call__(self) -> Health:
        self.threads.add(threading.current_thread().name)
        if self.broken_times:
            self.broken_times -= 1
            raise OSError("the board bus is gone")
        return Health(self.clock.now(), "0.3.0", 120, 1, 2, doors_open=("C01",),
                      out_of_order=(("C05", "hinge broken"),), outbox_depth=self.store.outbox_depth())


@dataclass
class Rig:
    store: NotingStore
    clock: ManualClock
    status: LinkStatus = field(init=False)
    runner: LockerRunner = field(init=False)
    health: HealthReader = field(init=False)

    def __post_init__(self) -> None:
        self.status = LinkStatus(self.clock)
        self.runner = LockerRunner(self.store)
        self.health = HealthReader(self.store, self.clock)

    def link(self, client: PlatformClient, **options: Any) -> PlatformLink:
        options.setdefault("backoff", Backoff(base_s=1, cap_s=300, jitter=Jitter.NONE))
        return PlatformLink(self.store, client, clock=self.clock, status=self.status, health=self.health,
                            commands=self.runner, **options)

    def audits(self, kind: str) -> list[AuditEntry]:
        return [entry for entry in self.store.audit_log() if entry.kind == kind]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[NotingStore]:
    with NotingStore.open(tmp_path / "kiosk.sqlite", LAYOUT) as opened:
        assert isinstance(opened, NotingStore)
        yield opened


@pytest.fixture
def rig(store: NotingStore) -> Rig:
    return Rig(store, ManualClock(start=time.time()))


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


async def until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S,
                *, tick: Callable[[], None] | None = None) -> None:
    """Wait for `condition`; `tick` (e.g. moving the manual clock on) runs before each look."""
    deadline = time.monotonic() + timeout_s
    while True:
        if tick is not None:
            tick()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def settle() -> None:
    """Let the loop run what is ready now (a woken task reaching its worker), without waiting for time."""
    for _ in range(50):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(link: PlatformLink) -> AsyncIterator[PlatformLink]:
    await link.start()
    try:
        yield link
    finally:
        await link.stop()


def add_parcels(platform: FakePlatform, count: int, *, first: int = 0) -> list[str]:
    ids = [f"PX-{number:04d}" for number in range(first, first + count)]
    for number, parcel_id in enumerate(ids, start=first):
        platform.add_expected_parcel(parcel_id=parcel_id, code=f"{10_000_000 + number}")
    return ids


def result_of(platform: FakePlatform, command_id: str) -> dict[str, Any] | None:
    return next((result for result in platform.command_results() if result["command_id"] == command_id), None)


def link_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("platform-")]


def closed_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


# sync ------------------------------------------------------------------------------------------------

def test_a_full_sync_of_250_parcels_lands_in_the_store_page_by_page(
    rig: Rig, fake: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.backend.link")
    ids = add_parcels(fake, 250)  # a parcel and its pickup credential each: 500 records
    client = NotingClient(fake.url, LOCKER_ID, SECRET)
    stalls: list[float] = []

    async def scenario() -> None:
        ticking = asyncio.create_task(measure_stalls(stalls))
        async with running(rig.link(client, page_size=100)) as link:
            await until(lambda: link.syncs_completed == 1, "the first sync")
            assert link.last_sync_error is None
            assert link.last_sync.last_complete_at == rig.clock.now()
            assert not link.last_sync.full_sync_in_progress and link.last_sync.cursor
        ticking.cancel()

    run(scenario)
    cursors = client.arguments("sync")
    assert len(cursors) == 5 and cursors[0] is None and None not in cursors[1:]
    assert len(set(cursors)) == 5  # each page from the cursor the last one gave
    assert client.threads("sync") == {"platform-sync"}  # the network never on the loop
    assert rig.store.sync_threads == {threading.current_thread().name}  # the store only on the loop
    for parcel_id in (ids[0], ids[123], ids[-1]):
        parcel = rig.store.expected_parcel_by_barcode(parcel_id)
        assert parcel is not None and parcel.id == parcel_id and parcel.state is ParcelState.EXPECTED
    complete = [record.getMessage() for record in caplog.records if "sync complete" in record.getMessage()]
    assert len(complete) == 1 and complete[0].startswith("sync complete: 250 parcels, 250 pickup credentials")
    assert max(stalls) < 0.25, f"the event loop stalled {max(stalls) * 1000:.0f} ms"


async def measure_stalls(stalls: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(0.005)
        stalls.append(loop.time() - before - 0.005)


def test_a_delta_sync_brings_new_parcels_and_withdrawals(rig: Rig, fake: FakePlatform) -> None:
    add_parcels(fake, 3)
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> SyncTally:
        async with running(rig.link(client)) as link:
            await until(lambda: link.syncs_completed == 1, "the first sync")
            assert rig.store.expected_parcel_by_barcode("PX-0001") is not None
            fake.remove_expected_parcel("PX-0001")
            add_parcels(fake, 1, first=100)
            return await link.sync()

    tally = run(scenario)
    assert (tally.parcels, tally.pickup_credentials) == (1, 1) and tally.deleted >= 1
    assert rig.store.expected_parcel_by_barcode("PX-0001") is None
    assert rig.store.expected_parcel_by_barcode("PX-0100") is not None
    assert rig.store.expected_parcel_by_barcode("PX-0002") is not None
    cursors = client.arguments("sync")
    assert cursors[0] is None and cursors[1] is not None  # the delta asked from the stored cursor


def test_sync_runs_again_every_interval_and_at_once_on_sync_now(rig: Rig, fake: FakePlatform) -> None:
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> None:
        async with running(rig.link(client, sync_interval_s=300)) as link:
            await until(lambda: link.syncs_completed == 1, "the first sync")
            rig.clock.advance(299)
            await settle()
            assert client.count("sync") == 1
            rig.clock.advance(1)
            await until(lambda: link.syncs_completed == 2, "the sync at the interval")
            add_parcels(fake, 1)
            asker = threading.Thread(target=link.sync_now, name="service-menu")
            asker.start()
            asker.join()
            await until(lambda: link.syncs_completed == 3, "the sync asked for")
            assert rig.store.expected_parcel_by_barcode("PX-0000") is not None

    run(scenario)
    assert client.count("sync") == 3


def test_a_failing_sync_backs_off_logs_once_and_recovers(
    rig: Rig, fake: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.backend.link")
    add_parcels(fake, 2)
    fake.set_faults(malformed_json=3, operations={"syncLocker"})
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> None:
        async with running(rig.link(client)) as link:
            await until(lambda: link.last_sync_error is not None, "the failure")
            assert (link.last_sync_error or "").startswith("malformed_reply: ")
            for attempts, wait_s in ((2, 1), (3, 2)):  # 1 s, then 2 s: no retry before its time
                rig.clock.advance(wait_s - 0.5)
                await settle()
                assert client.count("sync") == attempts - 1
                rig.clock.advance(0.5)
                await until(lambda attempts=attempts: link.sync_failures_in_a_row == attempts, "a retry")
            assert client.count("sync") == 3
            rig.clock.advance(4)
            await until(lambda: link.syncs_completed == 1, "the sync after the outage")
            assert link.last_sync_error is None

    run(scenario)
    warnings = [record for record in caplog.records
                if record.levelno == logging.WARNING and "sync failed" in record.getMessage()]
    assert len(warnings) == 1 and "malformed_reply" in warnings[0].getMessage()
    assert any("sync works again after 3 failed attempts" in record.getMessage() for record in caplog.records)
    assert rig.store.expected_parcel_by_barcode("PX-0001") is not None


def test_a_sync_now_command_syncs_and_answers_done(rig: Rig, fake: FakePlatform) -> None:
    async def scenario() -> str:
        async with running(rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))) as link:
            await until(lambda: link.syncs_completed == 1, "the first sync")
            add_parcels(fake, 1, first=7)
            command_id = fake.add_command("sync_now")
            await until(lambda: result_of(fake, command_id) is not None, "the command's result")
            return command_id

    command_id = run(scenario)
    result = result_of(fake, command_id)
    assert result is not None and result["status"] == "done" and "1 parcels" in (result["message"] or "")
    assert rig.store.expected_parcel_by_barcode("PX-0007") is not None
    [audit] = rig.audits("remote_command")
    assert audit.details["command_id"] == command_id and audit.details["command_kind"] == "sync_now"
    assert audit.details["outcome"] == "done"


def test_a_sync_now_command_during_a_sync_outage_answers_failed_with_the_reason(
    rig: Rig, fake: FakePlatform
) -> None:
    async def scenario() -> str:
        async with running(rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))) as link:
            await until(lambda: link.syncs_completed == 1, "the first sync")
            fake.set_faults(status_500=100, operations={"syncLocker"})
            command_id = fake.add_command("sync_now")
            await until(lambda: result_of(fake, command_id) is not None, "the command's result")
            with pytest.raises(SyncFailed, match="http_status"):
                await link.sync()
            return command_id

    command_id = run(scenario)
    result = result_of(fake, command_id)
    assert result is not None and (result["status"], result["reason"]) == ("failed", "sync_failed")
    assert "http_status" in (result["message"] or "")
    fake.set_faults()


# heartbeat -------------------------------------------------------------------------------------------

def test_heartbeats_carry_the_health_and_keep_their_interval(rig: Rig, fake: FakePlatform) -> None:
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> None:
        async with running(rig.link(client, heartbeat_interval_s=60)) as link:
            await until(lambda: link.heartbeats_sent == 1, "the first heartbeat")
            rig.clock.advance(59)
            await settle()
            assert client.count("heartbeat") == 1
            rig.clock.advance(1)
            await until(lambda: len(fake.heartbeats()) == 2, "the next heartbeat")
            await until(lambda: link.heartbeats_sent == 2, "its acknowledgement")
            assert link.online() and rig.status.last_contact_at == rig.clock.now()

    run(scenario)
    first, second = fake.heartbeats()
    assert first["app_version"] == "0.3.0" and first["boards"] == {"answering": 1, "total": 2}
    assert first["doors_open"] == ["C01"]
    assert first["out_of_order"] == [{"compartment_id": "C05", "reason": "hinge broken"}]
    assert first["locker_clock"] != second["locker_clock"]  # read afresh each time
    assert rig.health.threads == {threading.current_thread().name}  # health read on the loop thread
    assert client.threads("heartbeat") == {"platform-heartbeat"}


def test_a_health_that_cannot_be_read_skips_one_heartbeat_only(
    rig: Rig, fake: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    rig.health.broken_times = 2

    async def scenario() -> None:
        async with running(rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))) as link:
            await until(lambda: link.syncs_completed == 1, "the link to be up")
            rig.clock.advance(60)
            await settle()
            assert fake.heartbeats() == []
            rig.clock.advance(60)
            await until(lambda: len(fake.heartbeats()) == 1, "the heartbeat once the health reads again")

    run(scenario)
    logged = [record for record in caplog.records if "health could not be read" in record.getMessage()]
    assert len(logged) == 1  # once, not once per beat


def test_a_heartbeat_saying_commands_wait_wakes_the_poller_out_of_its_backoff(
    rig: Rig, fake: FakePlatform
) -> None:
    fake.set_faults(status_500=1, operations={"pollCommands"})

    async def scenario() -> str:
        link = rig.link(NotingClient(fake.url, LOCKER_ID, SECRET),
                        backoff=Backoff(base_s=1000, cap_s=1000, jitter=Jitter.NONE))
        async with running(link):
            await until(lambda: link.command_failures_in_a_row == 1, "the failed poll")
            await until(lambda: link.heartbeats_sent == 1, "the first heartbeat")
            command_id = fake.add_command("open_door", compartment_id="C02")
            rig.clock.advance(60)  # the next heartbeat, long before the poller's 1000 s backoff
            await until(lambda: result_of(fake, command_id) is not None, "the command's result")
            return command_id

    command_id = run(scenario)
    assert [command.command_id for command in rig.runner.runs] == [command_id]


# commands --------------------------------------------------------------------------------------------

def test_an_open_door_command_runs_once_on_the_loop_and_its_result_is_posted(
    rig: Rig, fake: FakePlatform
) -> None:
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> tuple[str, str]:
        async with running(rig.link(client)) as link:
            opened = fake.add_command("open_door", compartment_id="C03", support_ticket="SUP-42")
            refused = fake.add_command("compartment_out_of_service", compartment_id="Z99",
                                       out_of_service=True)
            await until(lambda: result_of(fake, opened) and result_of(fake, refused), "both results")
            await until(lambda: client.polling.is_set(), "the next long poll")
            assert link.commands_handled == 2 and link.command_results_waiting == 0
            return opened, refused

    opened, refused = run(scenario)
    assert [command.command_id for command in rig.runner.runs] == [opened, refused]
    door = rig.runner.runs[0]
    assert isinstance(door, OpenDoorCommand)
    assert (door.compartment_id, door.support_ticket) == ("C03", "SUP-42")
    assert rig.runner.threads == {threading.current_thread().name}
    assert (result_of(fake, opened) or {})["status"] == "done"
    assert [(result_of(fake, refused) or {}).get(name) for name in ("status", "reason")] == [
        "refused", "unknown_compartment"]
    assert client.threads("poll") == client.threads("result") == {"platform-commands"}
    audits = {entry.details["command_id"]: entry for entry in rig.audits("remote_command")}
    assert audits[opened].compartment_id == "C03" and audits[opened].details["support_ticket"] == "SUP-42"
    assert audits[opened].details["outcome"] == "done"
    assert audits[opened].details["command_kind"] == "open_door"
    assert audits[refused].details["outcome"] == "refused"
    assert audits[refused].details["reason"] == "unknown_compartment"


def test_a_command_the_runner_fails_on_is_answered_failed(rig: Rig, fake: FakePlatform) -> None:
    rig.runner.failure = RuntimeError("the lock bus is\ngone")

    async def scenario() -> str:
        async with running(rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))):
            command_id = fake.add_command("forget_face", parcel_ids=["PX-1"])
            await until(lambda: result_of(fake, command_id) is not None, "the result")
            return command_id

    result = result_of(fake, run(scenario)) or {}
    assert (result["status"], result["reason"], result["message"]) == (
        "failed", "locker_error", "the lock bus is gone")


@pytest.mark.parametrize("faults", [{"status_500": 2}, {"drop_connections": 1}, {"bad_signature": 1}])
def test_a_result_that_fails_to_post_is_posted_again_and_the_command_never_runs_twice(
    rig: Rig, fake: FakePlatform, faults: dict[str, int]
) -> None:
    fake.set_faults(**faults, operations={"postCommandResult"})
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> str:
        async with running(rig.link(client)) as link:
            command_id = fake.add_command("open_door", compartment_id="C04")
            await until(lambda: client.count("result") >= 1, "the first post")
            await until(lambda: link.command_results_waiting == 0 and client.polling.is_set(),
                        "the result to get through", tick=lambda: rig.clock.advance(1))
            return command_id

    command_id = run(scenario)
    assert [command.command_id for command in rig.runner.runs] == [command_id]
    assert client.count("result") == sum(faults.values()) + 1
    assert [result["command_id"] for result in fake.command_results()] == [command_id]
    assert len(rig.audits("remote_command")) == 1


def answer_commands(polls: list[list[dict[str, Any]]]) -> Callable[[Received], Answer]:
    """A platform that answers the given polls in turn, then holds every further poll until it stops;
    results are taken, heartbeats acknowledged, sync pages empty."""
    remaining = list(polls)
    lock = threading.Lock()

    def answer(received: Received) -> Answer:
        path = received.path.split("?")[0]
        if path.endswith("/commands"):
            with lock:
                if remaining:
                    return Answer(body={"commands": remaining.pop(0)})
            return Answer(body={"commands": []}, hold=True)
        if path.endswith("/result"):
            return Answer(204)
        if path.endswith("/heartbeat"):
            return Answer(body={"server_time": format_date_time(time.time()), "commands_pending": 0})
        if path.endswith("/sync"):
            return Answer(body={"reset": False, "parcels": [], "pickup_credentials": [], "couriers": [],
                                "return_authorisations": [], "deletions": [], "next_cursor": "c-0",
                                "has_more": False})
        return Answer(404, {"code": "not_found", "message": "Nothing scripted here."})

    return answer


def command(kind: str, **fields: Any) -> dict[str, Any]:
    now = time.time()
    return {"command_id": str(uuid.uuid4()), "kind": kind, "issued_at": format_date_time(int(now)),
            "expires_at": format_date_time(int(now) + 3600), **fields}


def test_a_command_listed_again_is_answered_again_but_never_run_twice(
    rig: Rig, scripted: ScriptedPlatform
) -> None:
    door = command("open_door", compartment_id="C01", support_ticket="SUP-7")
    scripted.answer = answer_commands([[door], [door]])  # as a platform that lost the first result would

    async def scenario() -> None:
        async with running(rig.link(NotingClient(scripted.url, LOCKER_ID, SECRET))) as link:
            await until(lambda: len(scripted.requests_to("/result")) == 2
                        and link.command_results_waiting == 0, "the result posted twice")
            await settle()
            assert len(scripted.requests_to("/commands")) == 2  # nothing new came: the next poll waits
            assert rig.clock.pending() >= 1
            rig.clock.advance(1)
            await until(lambda: len(scripted.requests_to("/commands")) == 3, "the next long poll")

    run(scenario)
    assert [command.command_id for command in rig.runner.runs] == [door["command_id"]]
    first, second = (received.document for received in scripted.requests_to("/result"))
    assert first == second and first["status"] == "done"
    assert len(rig.audits("remote_command")) == 1


def test_invalid_commands_are_refused_and_audited_and_the_valid_one_still_runs(
    rig: Rig, scripted: ScriptedPlatform
) -> None:
    unknown = command("self_destruct")
    nameless = {key: value for key, value in command("open_door", compartment_id="C01",
                                                     support_ticket="S").items() if key != "command_id"}
    good = command("open_door", compartment_id="C02", support_ticket="SUP-8")
    scripted.answer = answer_commands([[unknown, nameless, good], [unknown, nameless]])

    async def scenario() -> None:
        async with running(rig.link(NotingClient(scripted.url, LOCKER_ID, SECRET))):
            await until(lambda: len(scripted.requests_to("/commands")) == 2
                        and len(scripted.requests_to("/result")) == 3, "both polls answered")
            await settle()

    run(scenario)
    assert [command.command_id for command in rig.runner.runs] == [good["command_id"]]
    results = {received.path.split("/")[-2]: received.document
               for received in scripted.requests_to("/result")}
    assert results[unknown["command_id"]]["status"] == "refused"
    assert results[unknown["command_id"]]["reason"] == "invalid_command"
    assert "self_destruct" in results[unknown["command_id"]]["message"]
    assert results[good["command_id"]]["status"] == "done"
    refused = rig.audits("remote_command_refused")
    assert len(refused) == 2  # the one with an id, and the one without (once, though listed twice)
    assert {entry.details.get("command_id") for entry in refused} == {unknown["command_id"], None}
    assert len(rig.audits("remote_command")) == 1


MAINTENANCE = Answer(503, {"code": "unavailable", "message": "Maintenance.", "retry_after_s": 120},
                     {"Retry-After": "120"})


def test_a_retry_after_on_the_command_poll_holds_off_even_a_heartbeat_wake_up(
    rig: Rig, scripted: ScriptedPlatform
) -> None:
    script = answer_commands([])
    busy = [True]

    def answer(received: Received) -> Answer:
        path = received.path.split("?")[0]
        if path.endswith("/commands") and busy[0]:
            busy[0] = False
            return MAINTENANCE
        if path.endswith("/heartbeat"):  # "a command waits": wakes the poller
            return Answer(body={"server_time": format_date_time(time.time()), "commands_pending": 1})
        return script(received)

    scripted.answer = answer

    async def scenario() -> None:
        async with running(rig.link(NotingClient(scripted.url, LOCKER_ID, SECRET))) as link:
            await until(lambda: link.command_failures_in_a_row == 1 and link.heartbeats_sent == 1, "the 503")
            rig.clock.advance(60)
            await until(lambda: link.heartbeats_sent == 2, "the next heartbeat")
            await settle()
            assert len(scripted.requests_to("/commands")) == 1
            rig.clock.advance(61)
            await until(lambda: len(scripted.requests_to("/commands")) == 2, "the poll after Retry-After")

    run(scenario)


def test_a_sync_asked_for_within_a_retry_after_fails_at_once_and_the_sync_comes_after(
    rig: Rig, scripted: ScriptedPlatform
) -> None:
    script = answer_commands([])
    busy = [True]

    def answer(received: Received) -> Answer:
        if received.path.split("?")[0].endswith("/sync") and busy[0]:
            busy[0] = False
            return MAINTENANCE
        return script(received)

    scripted.answer = answer

    async def scenario() -> None:
        async with running(rig.link(NotingClient(scripted.url, LOCKER_ID, SECRET))) as link:
            await until(lambda: link.sync_failures_in_a_row == 1, "the 503")
            assert "HTTP 503" in (link.last_sync_error or "")
            with pytest.raises(SyncFailed, match="asked for no sync for 120 s more"):
                await link.sync()
            assert len(scripted.requests_to("/sync")) == 1
            rig.clock.advance(120)
            await until(lambda: link.syncs_completed == 1, "the sync after Retry-After")

    run(scenario)


def test_an_expired_command_is_answered_expired_and_not_run(store: NotingStore, fake: FakePlatform) -> None:
    rig = Rig(store, ManualClock(start=time.time() + 7200))  # the locker's clock is two hours on

    async def scenario() -> str:
        async with running(rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))):
            command_id = fake.add_command("open_door", compartment_id="C01")  # expires in an hour
            await until(lambda: result_of(fake, command_id) is not None, "the result")
            return command_id

    command_id = run(scenario)
    assert rig.runner.runs == []
    assert (result_of(fake, command_id) or {})["status"] == "expired"
    [audit] = rig.audits("remote_command")
    assert audit.details["outcome"] == "expired" and audit.details["command_id"] == command_id


def test_a_command_list_that_fails_its_signature_runs_nothing_and_is_audited_once(
    rig: Rig, fake: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    command_id = fake.add_command("open_door", compartment_id="C01")
    fake.set_faults(bad_signature=3, operations={"pollCommands"})
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> None:
        async with running(rig.link(client)):
            await until(lambda: bool(rig.audits("remote_commands_refused")), "the refusal")
            assert rig.runner.runs == []
            # Retries (a heartbeat saying a command waits may also wake the poller): each gets a reply that
            # does not verify, until the platform's replies are good again.
            await until(lambda: fake.faults().bad_signature == 0, "three refused polls",
                        tick=lambda: rig.clock.advance(1))
            assert rig.runner.runs == []
            await until(lambda: result_of(fake, command_id) is not None, "the command, from a verified poll",
                        tick=lambda: rig.clock.advance(1))

    run(scenario)
    [refusal] = rig.audits("remote_commands_refused")
    assert "bad_signature" in str(refusal.details["reason"])
    assert client.count("poll") >= 4
    assert [command.command_id for command in rig.runner.runs] == [command_id]
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING
                and record.name == "kiosk.backend.link" and "did not verify" in record.getMessage()]
    assert len(warnings) == 1


# online verification ---------------------------------------------------------------------------------

def test_verify_pickup_finds_a_code_the_locker_does_not_know_even_during_a_long_poll(
    rig: Rig, fake: FakePlatform
) -> None:
    fake.add_expected_parcel(parcel_id="PX-LATE", code="73914820")
    code_hash = bytes.fromhex(hash_code(fake.code_key, "73914820"))
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> tuple[Any, Any, float]:
        async with running(rig.link(client, poll_wait_s=30)) as link:
            await until(client.polling.is_set, "the long poll")
            started = time.monotonic()
            found = await link.verify_pickup(code_hash)
            took = time.monotonic() - started
            unknown = await link.verify_pickup(bytes(32))
            assert client.polling.is_set()  # the long poll still waits
            assert link.online() and rig.status.state.source == "verify"
            return found, unknown, took

    found, unknown, took = run(scenario)
    assert found is not None and found.parcel_ids == ("PX-LATE",) and found.code_hash == code_hash
    assert unknown is None
    assert took < 2.0, f"verification took {took:.2f} s beside a long poll"
    assert client.threads("verify") <= {"platform-verify-0", "platform-verify-1"}


def test_verify_pickup_with_the_platform_down_fails_quickly_and_says_why(rig: Rig) -> None:
    client = NotingClient(f"http://127.0.0.1:{closed_port()}", LOCKER_ID, SECRET, connect_timeout_s=1.0)

    async def scenario() -> float:
        async with running(rig.link(client)) as link:
            started = time.monotonic()
            with pytest.raises(VerificationUnavailable, match="unreachable"):
                await link.verify_pickup(bytes(32))
            took = time.monotonic() - started
            assert not link.online() and rig.status.online is False
            return took

    took = run(scenario)
    assert took < 1.0, f"took {took:.2f} s"


def test_verify_pickup_refuses_a_reply_that_does_not_verify(rig: Rig, fake: FakePlatform) -> None:
    fake.add_expected_parcel(parcel_id="PX-SIG", code="55512345")
    fake.set_faults(bad_signature=1, operations={"verifyCode"})

    async def scenario() -> None:
        async with running(rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))) as link:
            with pytest.raises(VerificationUnavailable, match="bad_signature"):
                await link.verify_pickup(bytes.fromhex(hash_code(fake.code_key, "55512345")))
            assert rig.status.state.online is False and rig.status.state.source == "verify"

    run(scenario)


def test_verify_pickup_gives_up_at_its_deadline_and_a_stuck_platform_is_not_asked_more(
    rig: Rig, fake: FakePlatform
) -> None:
    fake.set_faults(latency_s=30.0, operations={"verifyCode"})
    client = NotingClient(fake.url, LOCKER_ID, SECRET, read_timeout_s=60.0)

    async def scenario() -> tuple[list[float], float]:
        took: list[float] = []
        async with running(rig.link(client, verify_timeout_s=0.3)) as link:
            for _ in range(2):  # both verification workers end up waiting on the stuck platform
                started = time.monotonic()
                with pytest.raises(VerificationUnavailable, match=r"did not answer within 0\.3 s"):
                    await link.verify_pickup(bytes(32))
                took.append(time.monotonic() - started)
            started = time.monotonic()
            with pytest.raises(VerificationUnavailable, match="has not answered the last verifications"):
                await link.verify_pickup(bytes(32))
            took.append(time.monotonic() - started)
            assert rig.status.online is False
            stopping = time.monotonic()
        return took, time.monotonic() - stopping

    took, stop_took = run(scenario)
    assert all(0.3 <= seconds < 1.5 for seconds in took[:2]) and took[2] < 0.1, took
    assert stop_took < 1.0, f"stop took {stop_took:.2f} s with verifications in flight"
    assert link_threads() == []
    fake.set_faults()


def test_verify_pickup_outside_a_running_link_or_with_a_bad_hash_is_unavailable(
    rig: Rig, fake: FakePlatform
) -> None:
    async def scenario() -> None:
        link = rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))
        with pytest.raises(VerificationUnavailable, match="not running"):
            await link.verify_pickup(bytes(32))
        async with running(link):
            with pytest.raises(VerificationUnavailable, match="32 bytes"):
                await link.verify_pickup(b"short")
        with pytest.raises(VerificationUnavailable, match="not running"):
            await link.verify_pickup(bytes(32))

    run(scenario)


def test_verify_return_finds_a_return_code_the_locker_does_not_know_and_only_as_a_return(
    rig: Rig, fake: FakePlatform
) -> None:
    fake.add_return(code="RETLATE0001", size="L", return_id="ret-late", parcel_id="RX-LATE")
    fake.add_expected_parcel(parcel_id="PX-PICK", code="73914821")
    code_hash = bytes.fromhex(hash_code(fake.code_key, "RETLATE0001"))
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> tuple[Any, Any, Any, Any]:
        async with running(rig.link(client, poll_wait_s=30)) as link:
            await until(client.polling.is_set, "the long poll")
            found = await link.verify_return(code_hash)
            unknown = await link.verify_return(bytes(32))
            # A pickup code is no return code, and a return code opens no parcel.
            pickup_as_return = await link.verify_return(bytes.fromhex(hash_code(fake.code_key, "73914821")))
            return_as_pickup = await link.verify_pickup(code_hash)
            assert link.online() and rig.status.state.source == "verify"
            return found, unknown, pickup_as_return, return_as_pickup

    found, unknown, pickup_as_return, return_as_pickup = run(scenario)
    assert found is not None
    assert (found.return_id, found.parcel_id, found.size, found.code_hash, found.expires_at) == (
        "ret-late", "RX-LATE", Size.L, code_hash, None)
    assert unknown is None and pickup_as_return is None and return_as_pickup is None
    assert client.arguments("verify") == ["return", "return", "return", "pickup"]
    assert client.threads("verify") <= {"platform-verify-0", "platform-verify-1"}


def test_verify_return_with_the_platform_down_fails_quickly_and_says_why(rig: Rig) -> None:
    client = NotingClient(f"http://127.0.0.1:{closed_port()}", LOCKER_ID, SECRET, connect_timeout_s=1.0)

    async def scenario() -> float:
        async with running(rig.link(client)) as link:
            started = time.monotonic()
            with pytest.raises(VerificationUnavailable, match="unreachable"):
                await link.verify_return(bytes(32))
            took = time.monotonic() - started
            assert not link.online() and rig.status.online is False
            assert rig.status.state.source == "verify"
            return took

    took = run(scenario)
    assert took < 1.0, f"took {took:.2f} s"


def test_verify_return_gives_up_at_its_deadline_and_shares_the_workers_with_pickups(
    rig: Rig, fake: FakePlatform
) -> None:
    fake.set_faults(latency_s=30.0, operations={"verifyCode"})
    client = NotingClient(fake.url, LOCKER_ID, SECRET, read_timeout_s=60.0)

    async def scenario() -> tuple[list[float], float]:
        took: list[float] = []
        async with running(rig.link(client, verify_timeout_s=0.3)) as link:
            for verify in (link.verify_return, link.verify_pickup):  # both workers stuck on the platform
                started = time.monotonic()
                with pytest.raises(VerificationUnavailable, match=r"did not answer within 0\.3 s"):
                    await verify(bytes(32))
                took.append(time.monotonic() - started)
            started = time.monotonic()
            with pytest.raises(VerificationUnavailable, match="has not answered the last verifications"):
                await link.verify_return(bytes(32))
            took.append(time.monotonic() - started)
            assert rig.status.online is False
            stopping = time.monotonic()
        return took, time.monotonic() - stopping

    took, stop_took = run(scenario)
    assert all(0.3 <= seconds < 1.5 for seconds in took[:2]) and took[2] < 0.1, took
    assert stop_took < 1.0, f"stop took {stop_took:.2f} s with verifications in flight"
    assert link_threads() == []
    fake.set_faults()


def test_verify_return_refuses_a_reply_that_does_not_verify(rig: Rig, fake: FakePlatform) -> None:
    fake.add_return(code="RETSIGNED001", size="S")
    fake.set_faults(bad_signature=1, operations={"verifyCode"})

    async def scenario() -> None:
        async with running(rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))) as link:
            with pytest.raises(VerificationUnavailable, match="bad_signature"):
                await link.verify_return(bytes.fromhex(hash_code(fake.code_key, "RETSIGNED001")))
            assert rig.status.state.online is False and rig.status.state.source == "verify"

    run(scenario)


def test_verify_return_outside_a_running_link_or_with_a_bad_hash_is_unavailable(
    rig: Rig, fake: FakePlatform
) -> None:
    async def scenario() -> None:
        link = rig.link(NotingClient(fake.url, LOCKER_ID, SECRET))
        with pytest.raises(VerificationUnavailable, match="not running"):
            await link.verify_return(bytes(32))
        async with running(link):
            with pytest.raises(VerificationUnavailable, match="32 bytes"):
                await link.verify_return(b"short")
            with pytest.raises(VerificationUnavailable, match="32 bytes"):
                await link.verify_return("00" * 32)  # type: ignore[arg-type]
        with pytest.raises(VerificationUnavailable, match="not running"):
            await link.verify_return(bytes(32))

    run(scenario)


# the link status, end to end --------------------------------------------------------------------------

def test_the_link_status_follows_the_platform_away_and_back(rig: Rig, fake: FakePlatform) -> None:
    port = int(fake.url.rsplit(":", 1)[1])
    heard: list[tuple[LinkState, str]] = []
    platforms = [fake]

    async def scenario() -> None:
        rig.status.add_listener(lambda state: heard.append((state, threading.current_thread().name)))
        client = NotingClient(fake.url, LOCKER_ID, SECRET, connect_timeout_s=0.5)
        async with running(rig.link(client)) as link:
            assert rig.status.online is None
            await until(lambda: rig.status.online is True and link.heartbeats_sent == 1, "the first answers")
            fake.stop()
            with pytest.raises(VerificationUnavailable):
                await link.verify_pickup(bytes(32))
            assert rig.status.online is False and not link.online()
            back = FakePlatform(SECRET, locker_id=LOCKER_ID, database=fake.database, port=port)
            back.start()
            platforms.append(back)
            rig.clock.advance(60)  # the next heartbeat gets through
            await until(lambda: rig.status.online is True, "the platform back")
            await until(lambda: bool(heard) and heard[-1][0].online is True, "the listener")

    try:
        run(scenario)
    finally:
        for platform in platforms[1:]:
            platform.stop()
    onlines = [state.online for state, _ in heard]
    changes = [online for index, online in enumerate(onlines) if index == 0 or online != onlines[index - 1]]
    assert changes == [True, False, True]
    assert {thread for _, thread in heard} == {threading.current_thread().name}


# life ------------------------------------------------------------------------------------------------

def test_stop_during_a_long_poll_returns_at_once_and_leaves_no_thread(rig: Rig, fake: FakePlatform) -> None:
    client = NotingClient(fake.url, LOCKER_ID, SECRET)

    async def scenario() -> float:
        link = rig.link(client, poll_wait_s=30)
        await link.start()
        assert sorted(link_threads()) == sorted(LINK_THREADS)
        await until(lambda: link.syncs_completed == 1 and link.heartbeats_sent == 1, "the link to be up")
        await until(client.polling.is_set, "the long poll")
        started = time.monotonic()
        await link.stop()
        took = time.monotonic() - started
        assert not link.running
        await link.stop()  # twice: harmless
        with pytest.raises(RuntimeError, match="starts once"):
            await link.start()
        return took

    took = run(scenario)
    assert took < 1.0, f"stop took {took:.2f} s"
    assert link_threads() == []
    assert client.closed  # the link owns its client


def test_stop_before_start_closes_the_client_and_starts_nothing(rig: Rig) -> None:
    client = PlatformClient("http://127.0.0.1:1", LOCKER_ID, SECRET)

    async def scenario() -> None:
        link = rig.link(client)
        link.sync_now()  # before start: nothing to wake, no error
        with pytest.raises(SyncFailed, match="not running"):
            await link.sync()
        await link.stop()
        with pytest.raises(RuntimeError, match="starts once"):
            await link.start()

    run(scenario)
    assert client.closed and link_threads() == []


@pytest.mark.parametrize(("options", "message"), [
    ({"sync_interval_s": 0}, "sync_interval_s"),
    ({"heartbeat_interval_s": float("nan")}, "heartbeat_interval_s"),
    ({"verify_timeout_s": -1}, "verify_timeout_s"),
    ({"page_size": 0}, "page_size"),
    ({"page_size": 1001}, "page_size"),
    ({"poll_wait_s": 61}, "poll_wait_s"),
    ({"poll_wait_s": 0}, "poll_wait_s"),
    ({"poll_wait_s": 2.5}, "poll_wait_s"),
    ({"sync_interval_s": True}, "sync_interval_s"),
])
def test_settings_that_make_no_sense_are_refused(rig: Rig, options: dict[str, Any], message: str) -> None:
    client = PlatformClient("http://127.0.0.1:1", LOCKER_ID, SECRET)
    with pytest.raises(ValueError, match=message):
        rig.link(client, **options)
    client.close()


def test_a_command_outcome_with_a_reason_the_contract_refuses_is_refused() -> None:
    with pytest.raises(ValueError, match="reason code"):
        CommandOutcome(CommandStatus.FAILED, "Door Stuck!")
    with pytest.raises(ValueError, match="CommandStatus"):
        CommandOutcome("done")  # type: ignore[arg-type]
    assert CommandOutcome(CommandStatus.DONE).reason is None

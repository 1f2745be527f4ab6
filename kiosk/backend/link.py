"""The kiosk's link to its platform, beside outbox delivery: sync, heartbeat, remote commands and online
verification of codes the locker does not know yet.

Four independent activities, each with its own worker thread(s), so that a 30 s long poll for commands
never delays a recipient's verification, and a slow sync never delays a heartbeat:

- sync: on start, every `sync_interval_s`, and at once on sync_now(). Pages of `page_size` are fetched in
  the worker from the store's cursor and each is applied on the loop thread with store.apply_sync_page (one
  transaction per page) before the next is fetched. Failures back off with full jitter and are logged once
  per outage; a reply the client refuses (garbage, a bad signature) backs off the same way, never hot.
- heartbeat: every `heartbeat_interval_s`, `health()` is called on the loop thread (it reads the store) and
  sent from the worker. An ack that says commands are pending wakes the command poller.
- commands: a long poll in its own worker. Each command runs on the loop thread through the CommandRunner,
  at most once per command id in this run (the platform lists a command until it has its result, so a
  result that failed to post is posted again, and the action is never repeated). sync_now is the link's
  own; an expired command is answered `expired` without running; an invalid one `refused`. A poll whose
  reply does not verify runs nothing, and is audited ("remote_commands_refused") once per outage.
- verification: verify_pickup() and verify_return() ask the platform in one of two verification workers and
  give up after `verify_timeout_s` (the person is waiting at the screen); they implement core's
  OnlineVerifier.

Threads and the store: the store is touched on the event-loop thread only; the workers only talk HTTP.

Ownership: the link OWNS its `client` and closes it in stop(). Closing is what aborts a long poll or any
other call in flight at once, so stop() returns promptly and joins every thread it started. Give the link a
PlatformClient of its own (not the outbox delivery's, which OutboxDelivery closes itself). The link closes
nothing else: the store and the LinkStatus belong to the caller.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import math
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final, Protocol

from kiosk.backend.delivery import Backoff, WorkerThread, on_loop_thread, one_line
from kiosk.backend.remote import (
    MAX_WAIT_S,
    Command,
    CommandStatus,
    ForgetFaceCommand,
    Health,
    HeartbeatAck,
    InvalidCommand,
    OpenDoorCommand,
    OutOfServiceCommand,
    PickupVerification,
    PlatformError,
    PlatformErrorKind,
    ReturnVerification,
    SyncNowCommand,
)
from kiosk.backend.status import LinkStatus
from kiosk.core.model import PickupCredential, ReturnAuthorisation, SyncPage, SyncStatus, SyncTally
from kiosk.core.ports import Clock, Store, TimerHandle, VerificationUnavailable

log = logging.getLogger(__name__)

VERIFY_WORKERS: Final = 2  # a third recipient in a row while the platform hangs is told at once
MAX_SYNC_PAGES: Final = 10_000  # a platform whose has_more never ends cannot hold the sync for ever
MIN_POLL_GAP_S: Final = 1.0  # a platform that answers a long poll at once with nothing is not hammered
MAX_IDLE_GAP_S: Final = 30.0
REMEMBERED_COMMANDS: Final = 1000
_REASON_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")

RunnableCommand = OpenDoorCommand | OutOfServiceCommand | ForgetFaceCommand


# what the link needs of the rest of the kiosk --------------------------------------------------------

@dataclass(frozen=True)
class CommandOutcome:
    """How a remote command ended, as posted to the platform. `reason` is a reason code (a-z 0-9 _, e.g.
    door_did_not_open, unknown_compartment); `message` one line for the platform's support staff."""

    status: CommandStatus
    reason: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, CommandStatus):
            raise ValueError(f"a command outcome's status is a CommandStatus, not {self.status!r}")
        if self.reason is not None and not _REASON_CODE.fullmatch(self.reason):
            raise ValueError(f"a reason code is 1-40 of a-z 0-9 _ starting with a letter, "
                             f"not {self.reason!r}")


class CommandRunner(Protocol):
    """Runs the platform's commands on the kiosk (the door transaction, the compartments, the faces). Called
    on the event-loop thread, one command at a time; an exception counts as FAILED (reason locker_error)."""

    async def run_command(self, command: RunnableCommand) -> CommandOutcome: ...


class PlatformApi(Protocol):
    """What the link needs of a platform client (kiosk.backend.remote.PlatformClient is one). Blocking;
    called from the link's worker threads."""

    def sync(self, cursor: str | None, limit: int = 500) -> SyncPage: ...

    def heartbeat(self, health: Health) -> HeartbeatAck: ...

    def poll_commands(self, wait_s: int = 30) -> list[Command]: ...

    def post_command_result(self, command_id: str, status: CommandStatus, finished_at: float,
                            reason: str | None = None, message: str | None = None) -> None: ...

    def verify_code(self, code_hash: bytes, kind: str = "pickup"
                    ) -> PickupVerification | ReturnVerification | None: ...

    def close(self) -> None:
        """Abort calls in flight in other threads; later calls raise PlatformError(CLOSED)."""
        ...


class SyncFailed(Exception):
    """A sync did not complete; the message (one line) says why."""


@dataclass(frozen=True)
class _Result:
    command_id: str
    outcome: CommandOutcome
    finished_at: float


# the link ---------------------------------------------------------------------------------------------

class PlatformLink:
    """Sync, heartbeat, remote commands and online verification for one locker (see the module docstring).

    Use from the event-loop thread: `await start()`, then `await stop()` (closes `client`: the link owns it).
    sync_now() is safe from any thread. `backoff` paces the retries of every activity (the same settings,
    separate counts); intervals and backoffs run on `clock`, the verification deadline on the loop's own
    time (it is a real wait at the screen).
    """

    def __init__(
        self,
        store: Store,
        client: PlatformApi,
        *,
        clock: Clock,
        status: LinkStatus,
        health: Callable[[], Health],
        commands: CommandRunner,
        sync_interval_s: float = 300,
        heartbeat_interval_s: float = 60,
        page_size: int = 100,
        poll_wait_s: int = 30,
        backoff: Backoff | None = None,
        verify_timeout_s: float = 4.0,
    ) -> None:
        durations = (("sync_interval_s", sync_interval_s), ("heartbeat_interval_s", heartbeat_interval_s),
                     ("verify_timeout_s", verify_timeout_s))
        for name, value in durations:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 1000:
            raise ValueError(f"page_size must be from 1 to 1000 (the contract's most), not {page_size!r}")
        if isinstance(poll_wait_s, bool) or not isinstance(poll_wait_s, int) \
                or not 1 <= poll_wait_s <= MAX_WAIT_S:
            raise ValueError(f"poll_wait_s must be whole seconds from 1 to {MAX_WAIT_S}, not {poll_wait_s!r}")
        self._store = store
        self._client = client
        self._clock = clock
        self._status = status
        self._health = health
        self._runner = commands
        self._sync_interval_s = float(sync_interval_s)
        self._heartbeat_interval_s = float(heartbeat_interval_s)
        self._page_size = page_size
        self._poll_wait_s = poll_wait_s
        self._backoff = backoff or Backoff()
        self._verify_timeout_s = float(verify_timeout_s)

        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[WorkerThread] = []
        self._sync_worker: WorkerThread | None = None
        self._heartbeat_worker: WorkerThread | None = None
        self._command_worker: WorkerThread | None = None
        self._verify_workers: list[WorkerThread] = []
        self._verify_busy: set[int] = set()  # indexes of verify workers with a call in hand

        # sync
        self._sync_wake: asyncio.Event | None = None
        self._sync_waiters: list[asyncio.Future[SyncTally]] = []  # for the next sync run
        self._sync_running_waiters: list[asyncio.Future[SyncTally]] = []  # for the run under way
        self._sync_failures = 0
        self._sync_not_before = 0.0  # clock time: the platform's Retry-After
        self._last_sync_error: str | None = None
        self._syncs_completed = 0
        # heartbeat
        self._heartbeat_wake: asyncio.Event | None = None
        self._heartbeat_problem: str | None = None
        self._heartbeats_sent = 0
        # commands
        self._command_wake: asyncio.Event | None = None
        self._command_failures = 0
        self._command_outage_kinds: set[str] = set()  # failure kinds logged in this outage
        self._refusal_audited = False  # one "remote_commands_refused" per outage
        self._idle_polls = 0  # polls in a row answered at once with nothing new
        self._unanswerable: collections.OrderedDict[tuple[str | None, str], None] = collections.OrderedDict()
        self._handled: collections.OrderedDict[str, _Result] = collections.OrderedDict()
        self._unposted: dict[str, _Result] = {}

    # status ------------------------------------------------------------------------------------------

    def online(self) -> bool:
        """The platform answered the last exchange (of any service reporting to the LinkStatus)."""
        return self._status.online is True

    @property
    def status(self) -> LinkStatus:
        return self._status

    @property
    def last_sync(self) -> SyncStatus:
        """The store's sync status (cursor, last page, last complete sync). Read on the loop thread."""
        return self._store.sync_status()

    @property
    def last_sync_error(self) -> str | None:
        """Why the last sync failed (one line); None once a sync completes."""
        return self._last_sync_error

    @property
    def syncs_completed(self) -> int:
        """Syncs completed (every page applied) since start()."""
        return self._syncs_completed

    @property
    def heartbeats_sent(self) -> int:
        """Heartbeats the platform acknowledged since start()."""
        return self._heartbeats_sent

    @property
    def commands_handled(self) -> int:
        """Distinct commands answered (run, refused or expired) since start()."""
        return len(self._handled)

    @property
    def sync_failures_in_a_row(self) -> int:
        return self._sync_failures

    @property
    def command_failures_in_a_row(self) -> int:
        """Polls or result posts that failed in a row (the poller backs off by this count)."""
        return self._command_failures

    @property
    def command_results_waiting(self) -> int:
        """Results of commands already handled that have not reached the platform yet."""
        return len(self._unposted)

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not self._stopping and not any(task.done() for task in self._tasks)

    # life --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._loop is not None or self._stopping:
            raise RuntimeError("a PlatformLink starts once")
        loop = self._loop = asyncio.get_running_loop()
        self._status.bind_loop(loop)  # its listeners (the screens) must run here, never on a worker
        self._sync_wake = asyncio.Event()
        self._heartbeat_wake = asyncio.Event()
        self._command_wake = asyncio.Event()
        self._sync_worker = WorkerThread("platform-sync", loop)
        self._heartbeat_worker = WorkerThread("platform-heartbeat", loop)
        self._command_worker = WorkerThread("platform-commands", loop)
        self._verify_workers = [WorkerThread(f"platform-verify-{index}", loop)
                                for index in range(VERIFY_WORKERS)]
        self._workers = [self._sync_worker, self._heartbeat_worker, self._command_worker,
                         *self._verify_workers]
        self._tasks = [
            loop.create_task(self._guarded("sync", self._sync_loop), name="platform-sync"),
            loop.create_task(self._guarded("heartbeat", self._heartbeat_loop), name="platform-heartbeat"),
            loop.create_task(self._guarded("commands", self._command_loop), name="platform-commands"),
        ]

    async def stop(self) -> None:
        """Stop at once, even with a long poll or any other call in flight: the client is closed (the link
        owns it), every task is cancelled and every worker thread joined. A command being run is cancelled
        with its task; a sync stops between pages (each page is its own transaction)."""
        if self._stopping:
            return
        self._stopping = True
        self._client.close()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        _settle_waiters([*self._sync_running_waiters, *self._sync_waiters],
                        SyncFailed("the platform link stopped"))
        self._sync_running_waiters, self._sync_waiters = [], []
        for worker in self._workers:
            await worker.close()

    def sync_now(self) -> None:
        """Sync at once (within a Retry-After the platform gave, once it has passed). Safe from any
        thread; nothing before start() or after stop()."""
        self._call_on_loop(self._request_sync)

    async def sync(self) -> SyncTally:
        """Sync now and wait for it: the totals of every page applied. Raises SyncFailed (one line why)."""
        if self._loop is None or self._stopping:
            raise SyncFailed("the platform link is not running")
        return await self._request_sync()

    # online verification (core's OnlineVerifier) -------------------------------------------------------

    async def verify_pickup(self, code_hash: bytes) -> PickupCredential | None:
        """The credential the platform knows for this keyed hash, or None when it knows no such code. Raises
        VerificationUnavailable (the message says why) when the platform cannot say within
        verify_timeout_s, or the link is not running. Never blocks the event loop."""
        result = await self._verify(code_hash, "pickup")
        if result is None:
            return None
        if not isinstance(result, PickupVerification):
            raise VerificationUnavailable("the platform answered a pickup code with a return")
        return result.credential

    async def verify_return(self, code_hash: bytes) -> ReturnAuthorisation | None:
        """The return authorisation the platform knows for this keyed hash of a return code, or None when it
        knows no such code; otherwise exactly like verify_pickup (same workers, deadline and errors)."""
        result = await self._verify(code_hash, "return")
        if result is None:
            return None
        if not isinstance(result, ReturnVerification):
            raise VerificationUnavailable("the platform answered a return code with a pickup")
        return result.return_authorisation

    async def _verify(self, code_hash: bytes, kind: str) -> PickupVerification | ReturnVerification | None:
        """Ask the platform about a code of `kind` in an idle verification worker, within the deadline."""
        if self._loop is None or self._stopping:
            raise VerificationUnavailable("the platform link is not running")
        if not isinstance(code_hash, bytes | bytearray) or len(code_hash) != 32:
            log.error("verify_%s was given %r, not a 32-byte code hash", kind, type(code_hash).__name__)
            raise VerificationUnavailable("the code could not be checked online: its hash is not 32 bytes")
        idle = [index for index in range(len(self._verify_workers)) if index not in self._verify_busy]
        if not idle:
            raise VerificationUnavailable("the platform has not answered the last verifications yet")
        index = idle[0]
        self._verify_busy.add(index)
        future = self._verify_workers[index].run(self._client.verify_code, bytes(code_hash), kind)
        future.add_done_callback(lambda done: self._verification_ended(index, done))
        try:
            result = await asyncio.wait_for(asyncio.shield(future), self._verify_timeout_s)
        except TimeoutError:
            reason = f"verify a code: the platform did not answer within {self._verify_timeout_s:g} s"
            self._status.failed("verify", reason)
            raise VerificationUnavailable(reason) from None
        except PlatformError as error:
            self._status.report_error("verify", error)
            raise VerificationUnavailable(str(error)) from None
        except Exception as error:  # the client refused our own request: say so, never crash the flow
            log.exception("verify_%s failed on the locker's side", kind)
            raise VerificationUnavailable(f"the code could not be checked online: {one_line(str(error))}") \
                from None
        self._status.succeeded("verify")
        verification: PickupVerification | ReturnVerification | None = result
        return verification

    def _verification_ended(self, index: int, future: asyncio.Future[Any]) -> None:
        self._verify_busy.discard(index)
        if not future.cancelled():
            future.exception()  # retrieved here: after a timeout nobody else awaits it

    # sync --------------------------------------------------------------------------------------------

    def _request_sync(self) -> asyncio.Future[SyncTally]:
        assert self._loop is not None and self._sync_wake is not None
        waiter: asyncio.Future[SyncTally] = self._loop.create_future()
        if self._stopping:
            waiter.set_exception(SyncFailed("the platform link stopped"))
            waiter.exception()
            return waiter
        self._sync_waiters.append(waiter)
        self._sync_wake.set()
        return waiter

    async def _sync_loop(self) -> None:
        assert self._sync_wake is not None
        while not self._stopping:
            self._sync_wake.clear()
            # A request made during this run waits for the next one: the platform may have changed meanwhile.
            waiters, self._sync_waiters = self._sync_waiters, []
            self._sync_running_waiters = waiters
            retry_after: float | None = None
            try:
                tally = await self._sync_pages()
            except PlatformError as error:
                if error.kind is PlatformErrorKind.CLOSED:
                    _settle_waiters(waiters, SyncFailed("the platform link stopped"))
                    return
                self._status.report_error("sync", error)
                retry_after = error.retry_after_s
                self._sync_failed(str(error), waiters)
            except SyncFailed as error:
                self._sync_failed(str(error), waiters)
            except Exception as error:  # the store refused a page, or the disk failed: keep the service alive
                if not self._sync_failures:
                    log.exception("sync failed on the locker's side")
                self._sync_failed(f"locker-side failure: {one_line(str(error))}", waiters)
            else:
                self._sync_succeeded(tally, waiters)
            if self._stopping:
                return
            if self._sync_failures:
                delay = self._backoff.delay(self._sync_failures)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                    self._sync_not_before = self._clock.now() + retry_after
            else:
                delay = self._sync_interval_s
            await _sleep(self._clock, self._sync_wake, delay)
            while not self._stopping and self._clock.now() < self._sync_not_before:
                # The platform asked for quiet: a sync requested now is answered now, not in an hour.
                quiet_s = self._sync_not_before - self._clock.now()
                _settle_waiters(self._sync_waiters,
                                SyncFailed(f"the platform asked for no sync for {quiet_s:.0f} s more"))
                self._sync_waiters = []
                self._sync_wake.clear()
                await _sleep(self._clock, self._sync_wake, self._sync_not_before - self._clock.now())

    async def _sync_pages(self) -> SyncTally:
        assert self._sync_worker is not None
        total = SyncTally()
        cursor = self._store.sync_status().cursor
        for _ in range(MAX_SYNC_PAGES):
            page: SyncPage = await self._sync_worker.run(self._client.sync, cursor, self._page_size)
            self._status.succeeded("sync")
            if self._stopping:
                raise PlatformError(PlatformErrorKind.CLOSED, "sync: the link is stopping")
            if page.has_more and page.next_cursor == cursor:
                raise SyncFailed(f"sync: the platform announced more pages but gave the same cursor {cursor}")
            total = _plus(total, self._store.apply_sync_page(page, self._clock.now()))
            if not page.has_more:
                return total
            cursor = page.next_cursor
        raise SyncFailed(f"sync: the platform still had more after {MAX_SYNC_PAGES} pages")

    def _sync_succeeded(self, tally: SyncTally, waiters: list[asyncio.Future[SyncTally]]) -> None:
        if self._sync_failures:
            log.info("sync works again after %d failed attempts", self._sync_failures)
        self._sync_failures = 0
        self._sync_not_before = 0.0
        self._last_sync_error = None
        self._syncs_completed += 1
        log.info("sync complete: %d parcels, %d pickup credentials, %d couriers, %d return authorisations "
                 "added or updated; %d deleted, %d forgotten, %d kept because they are in the locker",
                 tally.parcels, tally.pickup_credentials, tally.couriers, tally.return_authorisations,
                 tally.deleted, tally.forgotten, tally.kept_in_locker)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(tally)

    def _sync_failed(self, reason: str, waiters: list[asyncio.Future[SyncTally]]) -> None:
        if not self._sync_failures:  # once per outage; the service menu shows the latest reason
            log.warning("sync failed, will retry with backoff: %s", reason)
        else:
            log.debug("sync failed again (%d in a row): %s", self._sync_failures + 1, reason)
        self._sync_failures += 1
        self._last_sync_error = reason
        _settle_waiters(waiters, SyncFailed(reason))

    # heartbeat ---------------------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        assert self._heartbeat_wake is not None and self._heartbeat_worker is not None
        while not self._stopping:
            self._heartbeat_wake.clear()
            health = self._collect_health()
            if health is not None:
                try:
                    ack: HeartbeatAck = await self._heartbeat_worker.run(self._client.heartbeat, health)
                except PlatformError as error:
                    if error.kind is PlatformErrorKind.CLOSED:
                        return
                    self._status.report_error("heartbeat", error)
                    self._heartbeat_trouble(f"the heartbeat failed: {error}", logging.WARNING)
                except ValueError as error:  # the health does not fit the contract: a bug to fix, not retry
                    self._heartbeat_trouble(f"the heartbeat was not sent: {one_line(str(error))}",
                                            logging.ERROR)
                else:
                    self._status.succeeded("heartbeat")
                    self._heartbeats_sent += 1
                    if self._heartbeat_problem is not None:
                        log.info("heartbeats reach the platform again")
                        self._heartbeat_problem = None
                    if ack.commands_pending > 0 and self._command_wake is not None:
                        self._command_wake.set()
            await _sleep(self._clock, self._heartbeat_wake, self._heartbeat_interval_s)

    def _collect_health(self) -> Health | None:
        try:
            return self._health()
        except Exception as error:
            if self._heartbeat_problem is None:
                log.exception("the locker's health could not be read; no heartbeat this time")
            self._heartbeat_problem = f"health: {one_line(str(error))}"
            return None

    def _heartbeat_trouble(self, problem: str, level: int) -> None:
        if self._heartbeat_problem is None:  # once per outage
            log.log(level, "%s", problem)
        self._heartbeat_problem = problem

    # commands ----------------------------------------------------------------------------------------

    async def _command_loop(self) -> None:
        assert self._command_wake is not None and self._command_worker is not None
        while not self._stopping:
            self._command_wake.clear()
            error = await self._post_results()
            if error is None:
                started = time.monotonic()
                try:
                    commands: list[Command] = await self._command_worker.run(self._client.poll_commands,
                                                                             self._poll_wait_s)
                except PlatformError as poll_error:
                    error = poll_error
                    if error.kind is PlatformErrorKind.BAD_SIGNATURE:
                        self._refuse_unverified(error)
                else:
                    self._status.succeeded("commands")
                    self._commands_reachable()
                    new = 0
                    for command in commands:
                        if self._stopping:
                            return
                        new += await self._handle(command)
                    error = await self._post_results()
                    if error is None:
                        await self._pace_polls(new > 0 or time.monotonic() - started >= MIN_POLL_GAP_S)
                        continue
            if error.kind is PlatformErrorKind.CLOSED:
                return
            self._command_failed(error)
            delay = self._backoff.delay(self._command_failures)
            not_before = 0.0
            if error.retry_after_s is not None:
                delay = max(delay, error.retry_after_s)
                not_before = self._clock.now() + error.retry_after_s
            await _sleep(self._clock, self._command_wake, delay)
            while not self._stopping and self._clock.now() < not_before:
                self._command_wake.clear()  # the platform asked for quiet: a heartbeat's wake-up waits too
                await _sleep(self._clock, self._command_wake, not_before - self._clock.now())

    async def _pace_polls(self, worthwhile: bool) -> None:
        """Poll again at once after a poll that brought something new or waited as a long poll should. A
        platform that answers at once with nothing new (no long poll, or a command listed again that cannot
        be answered) is polled less and less often instead, up to MAX_IDLE_GAP_S apart."""
        assert self._command_wake is not None
        if worthwhile:
            self._idle_polls = 0
            return
        self._idle_polls += 1
        gap = min(MIN_POLL_GAP_S * 2.0 ** min(self._idle_polls - 1, 16), MAX_IDLE_GAP_S)
        await _sleep(self._clock, self._command_wake, gap)

    async def _handle(self, command: Command) -> bool:
        """Answer one command of a verified list; False when it was not new (listed again, or unanswerable
        and seen before)."""
        command_id = command.command_id
        if command_id is None:  # an invalid command without an id cannot be answered; remote.py logged it
            assert isinstance(command, InvalidCommand)
            seen = (command.kind, command.problem)
            if seen in self._unanswerable:
                return False
            self._unanswerable[seen] = None
            while len(self._unanswerable) > REMEMBERED_COMMANDS:
                self._unanswerable.popitem(last=False)
            self._audit("remote_command_refused", command_kind=command.kind, problem=command.problem)
            return True
        earlier = self._handled.get(command_id)
        if earlier is not None:  # listed again: its result has not reached the platform yet
            self._unposted.setdefault(command_id, earlier)
            return False
        outcome = await self._outcome_of(command)
        result = _Result(command_id, outcome, self._clock.now())
        self._handled[command_id] = result
        while len(self._handled) > REMEMBERED_COMMANDS:
            self._handled.popitem(last=False)
        self._unposted[command_id] = result
        return True

    async def _outcome_of(self, command: Command) -> CommandOutcome:
        if isinstance(command, InvalidCommand):
            log.warning("remote command %s refused: %s", command.command_id, command.problem)
            outcome = CommandOutcome(CommandStatus.REFUSED, "invalid_command", command.problem[:500])
            self._audit("remote_command_refused", command_id=command.command_id, command_kind=command.kind,
                        problem=command.problem)
            return outcome
        kind = _command_kind(command)
        if command.expires_at <= self._clock.now():
            log.info("remote command %s %s expired before it arrived; not run", kind, command.command_id)
            outcome = CommandOutcome(CommandStatus.EXPIRED, None, "The command expired before it ran.")
        elif isinstance(command, SyncNowCommand):
            outcome = await self._sync_for_command()
        else:
            outcome = await self._run(command)
        details: dict[str, object] = {}
        if isinstance(command, OpenDoorCommand):
            details["support_ticket"] = command.support_ticket
        if isinstance(command, OutOfServiceCommand):
            details["out_of_service"] = command.out_of_service
        log.info("remote command %s %s: %s%s", kind, command.command_id, outcome.status.value,
                 f" ({outcome.reason})" if outcome.reason else "")
        self._audit("remote_command", compartment_id=getattr(command, "compartment_id", None),
                    command_id=command.command_id, command_kind=kind, outcome=outcome.status.value,
                    reason=outcome.reason, message=outcome.message, **details)
        return outcome

    async def _run(self, command: RunnableCommand) -> CommandOutcome:
        try:
            outcome = await self._runner.run_command(command)
            if not isinstance(outcome, CommandOutcome):
                raise TypeError(f"run_command returned {type(outcome).__name__}, not a CommandOutcome")
            return outcome
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("remote command %s failed on the locker", command.command_id)
            return CommandOutcome(CommandStatus.FAILED, "locker_error", one_line(str(error))[:500] or None)

    async def _sync_for_command(self) -> CommandOutcome:
        try:
            tally = await self._request_sync()
        except SyncFailed as error:
            return CommandOutcome(CommandStatus.FAILED, "sync_failed", str(error)[:500])
        return CommandOutcome(CommandStatus.DONE, None,
                              f"synced: {tally.parcels} parcels, {tally.pickup_credentials} pickup "
                              f"credentials, {tally.couriers} couriers, {tally.return_authorisations} "
                              f"returns, {tally.deleted + tally.forgotten} removed")

    async def _post_results(self) -> PlatformError | None:
        """Post every result the platform does not have yet; the first retryable failure is returned (the
        rest wait for the next round). A result the platform refuses (409: another one was recorded, 404:
        no such command) will never be taken, so it is dropped."""
        assert self._command_worker is not None
        for command_id, result in list(self._unposted.items()):
            outcome = result.outcome
            try:
                await self._command_worker.run(self._client.post_command_result, command_id, outcome.status,
                                               result.finished_at, outcome.reason, outcome.message)
            except PlatformError as error:
                if error.kind is not PlatformErrorKind.REJECTED:
                    return error
                self._status.report_error("commands", error)
                log.warning("the platform refused the result of command %s: %s", command_id, error)
            except ValueError as error:  # cannot be put in the contract's shape: it never will be
                log.error("the result of command %s cannot be sent: %s", command_id, error)
            else:
                self._status.succeeded("commands")
            self._unposted.pop(command_id, None)
        return None

    def _refuse_unverified(self, error: PlatformError) -> None:
        """A command list that does not verify is not the platform's: nothing of it ran."""
        if self._refusal_audited:
            return
        self._refusal_audited = True
        log.warning("remote commands refused: the platform's reply did not verify; nothing of it ran (%s)",
                    error)
        self._command_outage_kinds.add(error.kind.value)
        self._audit("remote_commands_refused", reason=str(error))

    def _command_failed(self, error: PlatformError) -> None:
        self._status.report_error("commands", error)
        self._command_failures += 1
        if error.kind.value not in self._command_outage_kinds:  # once per kind of failure and outage
            self._command_outage_kinds.add(error.kind.value)
            log.warning("remote commands cannot be fetched or answered, will retry: %s", error)
        else:
            log.debug("remote commands failed again (%d in a row): %s", self._command_failures, error)

    def _commands_reachable(self) -> None:
        if self._command_failures:
            log.info("remote commands reach the locker again")
        self._command_failures = 0
        self._command_outage_kinds.clear()
        self._refusal_audited = False

    def _audit(self, kind: str, *, compartment_id: str | None = None, **details: object) -> None:
        try:
            self._store.audit(kind, self._clock.now(), compartment_id, None, **details)
        except Exception:  # a command's answer never waits on the audit log
            log.exception("could not write the audit entry %s", kind)

    # plumbing ----------------------------------------------------------------------------------------

    async def _guarded(self, name: str, activity: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """One activity; a bug in it is logged, never left as an unretrieved task exception."""
        try:
            await activity()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the platform link's %s stopped on an unexpected error", name)

    def _call_on_loop(self, function: Callable[[], object]) -> None:
        loop = self._loop
        if loop is None or self._stopping:
            return
        if on_loop_thread(loop):
            function()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to do
                loop.call_soon_threadsafe(function)


def _command_kind(command: SyncNowCommand | RunnableCommand) -> str:
    kinds: dict[type, str] = {OpenDoorCommand: "open_door", SyncNowCommand: "sync_now",
                              OutOfServiceCommand: "compartment_out_of_service",
                              ForgetFaceCommand: "forget_face"}
    return kinds[type(command)]


async def _sleep(clock: Clock, wake: asyncio.Event, delay_s: float) -> None:
    """Wait `delay_s` on `clock`, or until `wake` is set."""
    timer: TimerHandle = clock.call_later(delay_s, wake.set)
    try:
        await wake.wait()
    finally:
        timer.cancel()


def _settle_waiters(waiters: list[asyncio.Future[SyncTally]], error: SyncFailed) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_exception(error)
            waiter.exception()  # retrieved: a waiter whose caller gave up must not warn at collection


def _plus(total: SyncTally, page: SyncTally) -> SyncTally:
    return SyncTally(**{field.name: getattr(total, field.name) + getattr(page, field.name)
                        for field in dataclasses.fields(SyncTally)})


"""Outbox delivery: the service that empties the store's outbox into the platform, each event exactly once.

Threads: the store (SQLite, single-threaded by design) is read and written on the event-loop thread only;
each network call runs in ONE worker thread that this service owns, starts and joins. A round is:

    read a batch (loop) -> post it (worker) -> acknowledge accepted and duplicate keys (loop)

so the loop thread never waits on the network, and the worker never touches SQLite. The platform applies a
key once and lists it as a duplicate after that, so a batch may be resent after any failure: a crash or a
lost reply between posting and acknowledging only means the same keys go again.

Failures:
- a call that fails (no connection, timeout, 5xx, a reply that does not verify, garbage, a reply too
  large): the batch's events get `outbox_record_failure` with the reason, nothing is acknowledged, and the
  next try waits an exponential backoff with jitter (at least the platform's Retry-After, when a verified
  reply gave one). `nudge()` (a new event was written, or another service saw the platform come back)
  wakes it at once, except within a Retry-After;
- a batch the platform refuses whole (422, 413): it is split in halves until the events it refuses stand
  alone, so one bad event never holds up the others;
- an event the platform rejects (its reply's `rejected`, or a 422 for it alone), or one the client cannot
  put into the contract's shape: parked for good with `store.outbox_park` and its reason. A parked event
  is kept (the service menu shows it, the heartbeat counts it in `outbox.parked`) but never sent again,
  across restarts too: resending what the platform refused for good would only be refused again.

Every exchange is also reported to the kiosk's LinkStatus, when one is given (see kiosk.backend.status).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import queue
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from kiosk.backend.remote import EventsReply, PlatformError, PlatformErrorKind
from kiosk.backend.status import LinkStatus
from kiosk.core.model import OutboxEvent
from kiosk.core.ports import Clock, Store, TimerHandle

log = logging.getLogger(__name__)

StatusListener = Callable[[bool | None, int], None]  # (online, outbox depth)
_Result = TypeVar("_Result")


class EventSender(Protocol):
    """What the delivery needs of a platform client (PlatformClient is one)."""

    def post_events(self, events: Sequence[OutboxEvent]) -> EventsReply: ...

    def close(self) -> None:
        """Abort a call in flight in another thread and refuse later ones (PlatformError CLOSED)."""
        ...


class Jitter(enum.Enum):
    NONE = "none"  # exactly the exponential ceiling
    FULL = "full"  # uniform between 0 and the ceiling (spreads lockers best after an outage)
    EQUAL = "equal"  # half the ceiling plus uniform up to the other half


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: after n failures in a row the wait is drawn below
    min(cap_s, base_s * 2**(n-1)). `rng` makes it deterministic in tests."""

    base_s: float = 1.0
    cap_s: float = 300.0
    jitter: Jitter = Jitter.FULL
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("base_s", "cap_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or value <= 0:
                raise ValueError(f"backoff {name} must be a positive number of seconds, not {value!r}")
        if self.cap_s < self.base_s:
            raise ValueError(f"backoff cap_s ({self.cap_s}) must not be below base_s ({self.base_s})")

    def ceiling(self, failures: int) -> float:
        """The longest wait after `failures` failures in a row (0 after none)."""
        if failures <= 0:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** min(failures - 1, 64))

    def delay(self, failures: int) -> float:
        ceiling = self.ceiling(failures)
        if self.jitter is Jitter.FULL:
            return self.rng.uniform(0.0, ceiling)
        if self.jitter is Jitter.EQUAL:
            return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
        return ceiling


@dataclass(frozen=True)
class _Outcome:
    """How a round ended: everything sendable delivered, or a failure to back off from."""

    failed: bool = False
    retry_after_s: float | None = None  # a verified Retry-After of the platform


class OutboxDelivery:
    """Delivers the outbox through `client` (closed by stop(): the delivery owns it) while the loop runs.

    Use from the event-loop thread: `await start()`, `nudge()` after writing an event, `await stop()`.
    `online` is None before the first exchange, then whether the last one reached the platform and was
    answered by it; `last_error` is the one-line reason of the last failure (None after a success). Each
    exchange is reported to `status` (source "delivery") too, when given.
    """

    def __init__(
        self,
        store: Store,
        client: EventSender,
        *,
        clock: Clock,
        batch_size: int = 100,
        backoff: Backoff | None = None,
        status: LinkStatus | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= 200:
            raise ValueError(f"batch_size must be from 1 to 200 (the contract's most), not {batch_size!r}")
        self._store = store
        self._client = client
        self._clock = clock
        self._batch_size = batch_size
        self._backoff = backoff or Backoff()
        self._status = status
        self._listeners: list[StatusListener] = []
        self._online: bool | None = None
        self._last_error: str | None = None
        # Keys the store could not park (it no longer had them pending): skipped for this run, so that they
        # can never hold up the queue.
        self._skipped: set[str] = set()
        self._failures = 0  # in a row
        self._not_before = 0.0  # clock time before which the platform asked us not to call (Retry-After)
        self._delivered = 0
        self._worker: WorkerThread | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    # status -------------------------------------------------------------------------------------------

    @property
    def online(self) -> bool | None:
        return self._online

    @property
    def last_error(self) -> str | None:
        return self._last_error

    @property
    def parked(self) -> int:
        """How many events are parked for good (the platform refused them, or they cannot be sent):
        store.outbox_parked_count(), what the heartbeat reports as outbox.parked. Read on the loop thread."""
        return self._store.outbox_parked_count()

    @property
    def delivered(self) -> int:
        """Events acknowledged by the platform since start()."""
        return self._delivered

    @property
    def failures_in_a_row(self) -> int:
        return self._failures

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def add_listener(self, callback: StatusListener) -> None:
        """Call `callback(online, depth)` on the loop thread when the status or the outbox depth changes."""
        self._listeners.append(callback)

    def remove_listener(self, callback: StatusListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    # life ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None or self._stopping:
            raise RuntimeError("an OutboxDelivery starts once")
        self._loop = asyncio.get_running_loop()
        if self._status is not None:
            self._status.bind_loop(self._loop)  # its listeners (the screens) must run here, never on a worker
        self._wake = asyncio.Event()
        self._worker = WorkerThread("outbox-delivery", self._loop)
        self._task = self._loop.create_task(self._run(), name="outbox-delivery")

    async def stop(self) -> None:
        """Stop at once, even in the middle of an HTTP call (the client is closed under it), and join the
        worker thread. Events in flight stay in the outbox and go again next time."""
        if self._stopping:
            return
        self._stopping = True
        self._client.close()
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.wait([self._task])
        if self._worker is not None:
            await self._worker.close()

    def nudge(self) -> None:
        """Deliver now: an event was written, or the platform is known to be back. Safe from any thread."""
        if self._wake is None or self._loop is None or self._stopping:
            return
        if on_loop_thread(self._loop):
            self._wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to wake
                self._loop.call_soon_threadsafe(self._wake.set)

    # the loop -----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        self._notify()
        while not self._stopping:
            self._wake.clear()
            try:
                outcome = await self._deliver_pending()
            except PlatformError as error:  # only CLOSED gets here
                if not self._stopping:
                    log.warning("outbox delivery ends: its platform client was closed (%s)", error)
                return
            except Exception as error:  # the store failed (disk full, ...): keep the service alive
                log.exception("outbox delivery failed on the locker's side")
                self._last_error = f"locker-side failure: {one_line(str(error))}"
                outcome = _Outcome(failed=True)
            if self._stopping:
                return
            if outcome.failed:
                self._failures += 1
                delay = self._backoff.delay(self._failures)
                if outcome.retry_after_s is not None:
                    delay = max(delay, outcome.retry_after_s)
                    self._not_before = self._clock.now() + outcome.retry_after_s
                log.debug("next outbox delivery in %.1f s (%d failures in a row)", delay, self._failures)
                await self._sleep(delay)
                while not self._stopping and self._clock.now() < self._not_before:
                    self._wake.clear()  # the platform asked for quiet: a nudge within Retry-After waits
                    await self._sleep(self._not_before - self._clock.now())
            else:
                self._failures = 0
                await self._wake.wait()

    async def _sleep(self, delay_s: float) -> None:
        """Wait `delay_s` on the service's clock, or until nudge(). A nudge that came while the last attempt
        was on the wire counts too (the wake flag is cleared before each attempt, not here): it may say the
        platform is back."""
        assert self._wake is not None
        timer: TimerHandle = self._clock.call_later(delay_s, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            timer.cancel()

    async def _deliver_pending(self) -> _Outcome:
        while not self._stopping:
            batch = self._next_batch()
            if not batch:
                return _Outcome()
            outcome = await self._deliver(batch)
            self._notify()
            if outcome.failed:
                return outcome
        return _Outcome()

    def _next_batch(self) -> list[OutboxEvent]:
        # Parked events are out of outbox_batch(); only a key the store failed to park is read past here.
        events = self._store.outbox_batch(self._batch_size + len(self._skipped))
        sendable = [event for event in events if _key(event.idempotency_key) not in self._skipped]
        return sendable[: self._batch_size]

    async def _deliver(self, batch: list[OutboxEvent]) -> _Outcome:
        assert self._worker is not None
        parts = [batch]
        while parts:
            part = parts.pop(0)
            try:
                reply = await self._worker.run(self._client.post_events, part)
            except PlatformError as error:
                if error.kind is PlatformErrorKind.CLOSED:
                    raise
                if error.kind is PlatformErrorKind.REJECTED:
                    self._set_online(True, None)
                    if self._status is not None:
                        self._status.report_error("delivery", error)
                    if len(part) > 1:  # refused whole: find the event(s) it refuses
                        half = len(part) // 2
                        parts[0:0] = [part[:half], part[half:]]
                    else:
                        self._park(part[0].idempotency_key, str(error))
                    continue
                undelivered = [event for remaining in [part, *parts] for event in remaining]
                return self._failed(undelivered, error)
            outcome = self._apply(part, reply)
            if outcome.failed:
                return outcome
        return _Outcome()

    def _apply(self, part: list[OutboxEvent], reply: EventsReply) -> _Outcome:
        now = self._clock.now()
        done = [*reply.accepted, *reply.duplicates]
        if done:
            self._store.outbox_acknowledge(done, at=now)
            self._delivered += len(done)
        stored_keys = {_key(event.idempotency_key): event.idempotency_key for event in part}
        for rejection in reply.rejected:
            key = stored_keys.get(_key(rejection.idempotency_key), rejection.idempotency_key)
            self._park(key, f"rejected: {rejection.reason}: {rejection.message}")
        if reply.sent:
            self._failures = 0  # the platform answers: the next failure starts the backoff afresh
            self._set_online(True, None)
            if self._status is not None:
                self._status.succeeded("delivery")
        answered = {_key(key) for key in done}
        answered.update(_key(rejection.idempotency_key) for rejection in reply.rejected)
        unanswered = [event for event in part if _key(event.idempotency_key) not in answered]
        if unanswered:  # the contract lists every key; a reply that forgets some is retried later
            error = PlatformError(PlatformErrorKind.MALFORMED_REPLY, "post events: the reply did not mention "
                                  f"{len(unanswered)} of the keys sent")
            return self._failed(unanswered, error)
        return _Outcome()

    def _failed(self, events: Sequence[OutboxEvent], error: PlatformError) -> _Outcome:
        self._store.outbox_record_failure([event.idempotency_key for event in events], self._clock.now(),
                                          str(error))
        if str(error) != self._last_error:  # once per reason, not once per retry
            log.warning("outbox delivery failed, will retry (%d events of this batch wait): %s", len(events),
                        error)
        self._set_online(False, str(error))
        if self._status is not None:
            self._status.report_error("delivery", error)
        return _Outcome(failed=True, retry_after_s=error.retry_after_s)

    def _park(self, key: str, reason: str) -> None:
        reason = one_line(reason)
        if self._store.outbox_park(key, reason, self._clock.now()):
            log.warning("outbox event %s is parked for good (kept, never sent again): %s", key, reason)
            return
        self._skipped.add(_key(key))
        log.error("outbox event %s was refused (%s) but the store could not park it: skipped until the next "
                  "start", key, reason)

    def _set_online(self, online: bool, error: str | None) -> None:
        changed = online != self._online
        self._online = online
        self._last_error = error
        if changed:
            if online:
                log.info("the platform takes events (%d delivered since start)", self._delivered)
            self._notify()

    def _notify(self) -> None:
        try:
            depth = self._store.outbox_depth()
        except Exception:  # a status update never stops delivery
            log.exception("cannot read the outbox depth")
            return
        for listener in list(self._listeners):
            try:
                listener(self._online, depth)
            except Exception:
                log.exception("an outbox status listener failed")


def one_line(text: str) -> str:
    """A failure's reason as one short line, for logs, the outbox and the status."""
    return " ".join(text.split())[:300]


def _key(key: str) -> str:
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return key.lower()


def on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


_Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]


class WorkerThread:
    """One thread running blocking calls in order, handing results back to the loop as futures. Not the
    loop's default executor: this thread ends with the service that owns it (close() joins it). Make it and
    use it on the loop thread."""

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._finished: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def run(self, function: Callable[..., _Result], *args: Any) -> asyncio.Future[_Result]:
        future: asyncio.Future[_Result] = self._loop.create_future()
        self._jobs.put((function, args, future))
        return future

    async def close(self) -> None:
        """Let the call in hand finish (close the client first to make that quick), then join."""
        self._jobs.put(None)
        await asyncio.shield(self._finished)
        self._thread.join()

    def _serve(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                function, args, future = job
                try:
                    result = function(*args)
                except BaseException as error:  # handed to the awaiting coroutine, which decides
                    self._hand_back(future, None, error)
                else:
                    self._hand_back(future, result, None)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(_settle, self._finished, None, None)

    def _hand_back(self, future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.done():  # the awaiting task was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

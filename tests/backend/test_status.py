"""The link status (kiosk.backend.status): one online/offline truth, reported from any thread, heard on the
event-loop thread. Which failures mean "offline" is checked on real exchanges with the fake platform and
its faults, not on errors made up for the test."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from test_remote_client import (
    LOCKER_ID,
    SECRET,
    T0,
    no_thread_outlives_the_test,  # noqa: F401  (the autouse fixture applies here too)
)

from kiosk.backend.remote import CommandStatus, Health, PlatformClient, PlatformError, PlatformErrorKind
from kiosk.backend.status import LinkState, LinkStatus, platform_answered
from kiosk.core.clock import ManualClock
from kiosk.testing.fake_platform import FakePlatform

WAIT_S = 10.0
HEALTH = Health(T0, "0.1.0", 60, 1, 1)


@pytest.fixture
def fake() -> Iterator[FakePlatform]:
    platform = FakePlatform(SECRET, locker_id=LOCKER_ID)
    platform.start()
    yield platform
    platform.stop()


async def until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


# the state -------------------------------------------------------------------------------------------

def test_a_new_status_knows_nothing_yet() -> None:
    status = LinkStatus(ManualClock())
    assert status.state == LinkState()
    assert (status.online, status.last_error, status.last_contact_at) == (None, None, None)


def test_success_is_online_and_dates_the_contact_failure_keeps_the_last_contact() -> None:
    clock = ManualClock()
    status = LinkStatus(clock)
    status.succeeded("heartbeat")
    assert status.state == LinkState(True, None, clock.now(), "heartbeat")
    contact = clock.now()
    clock.advance(30)
    status.failed("sync", "sync (GET http://x/sync):\n  no route\tto host")
    assert status.state == LinkState(False, "sync (GET http://x/sync): no route to host", contact, "sync")
    clock.advance(30)
    status.succeeded("verify")
    assert status.state == LinkState(True, None, clock.now(), "verify")


def test_a_long_reason_is_cut_to_one_short_line() -> None:
    status = LinkStatus(ManualClock())
    status.failed("sync", "x" * 1000 + "\n" + "y")
    assert status.last_error == "x" * 300
    status.failed("sync", "   ")
    assert status.last_error == "unknown failure"


# listeners -------------------------------------------------------------------------------------------

def test_listeners_run_on_the_loop_thread_in_order_and_only_on_a_change() -> None:
    clock = ManualClock()
    heard: list[tuple[LinkState, str]] = []
    reporters_done = threading.Event()

    def report_from_worker_threads(status: LinkStatus) -> None:
        steps: list[Callable[[], None]] = [
            lambda: status.succeeded("heartbeat"),
            lambda: status.succeeded("sync"),  # no change: still online, no error
            lambda: status.failed("delivery", "unreachable: refused"),
            lambda: status.failed("delivery", "unreachable: refused"),  # no change
            lambda: status.failed("sync", "timeout: slow"),  # another reason: a change
            lambda: status.succeeded("commands"),
        ]
        for step in steps:  # one thread per report, one after the other, as the services' workers would
            worker = threading.Thread(target=step, name="some-worker")
            worker.start()
            worker.join()
        reporters_done.set()

    async def scenario() -> LinkStatus:
        status = LinkStatus(clock)
        status.add_listener(lambda state: heard.append((state, threading.current_thread().name)))
        reporter = threading.Thread(target=report_from_worker_threads, args=(status,), name="reporter")
        reporter.start()
        await until(reporters_done.is_set, "the reports")
        reporter.join()
        await until(lambda: len(heard) >= 4, "the listeners")
        return status

    status = asyncio.run(scenario())
    loop_thread = threading.current_thread().name
    assert [(state.online, state.last_error, state.source) for state, _ in heard] == [
        (True, None, "heartbeat"),
        (False, "unreachable: refused", "delivery"),
        (False, "timeout: slow", "sync"),
        (True, None, "commands"),
    ]
    assert {thread for _, thread in heard} == {loop_thread}
    assert status.state.source == "commands"


def test_many_threads_reporting_at_once_leave_a_consistent_state() -> None:
    clock = ManualClock()
    heard: list[LinkState] = []

    async def scenario() -> LinkStatus:
        status = LinkStatus(clock)
        status.add_listener(heard.append)

        def hammer(index: int) -> None:
            for round_number in range(200):
                if (index + round_number) % 2:
                    status.succeeded(f"worker-{index}")
                else:
                    status.failed(f"worker-{index}", f"unreachable: round {round_number % 3}")

        workers = [threading.Thread(target=hammer, args=(index,), name=f"hammer-{index}")
                   for index in range(8)]
        for worker in workers:
            worker.start()
        while any(worker.is_alive() for worker in workers):
            await asyncio.sleep(0.001)
        for worker in workers:
            worker.join()
        status.failed("last", "a reason nobody gave before")
        await until(lambda: bool(heard) and heard[-1].source == "last", "the last report to be heard")
        return status

    status = asyncio.run(scenario())
    assert status.state == LinkState(False, "a reason nobody gave before", clock.now(), "last")
    assert all((before.online, before.last_error) != (after.online, after.last_error)
               for before, after in itertools.pairwise(heard))


def test_a_failing_listener_does_not_stop_the_others_and_a_removed_one_hears_nothing() -> None:
    heard: list[bool | None] = []
    removed: list[bool | None] = []

    def broken(state: LinkState) -> None:
        raise RuntimeError("a listener bug")

    def gone(state: LinkState) -> None:
        removed.append(state.online)

    async def scenario() -> None:
        status = LinkStatus(ManualClock())
        status.add_listener(broken)
        status.add_listener(lambda state: heard.append(state.online))
        status.add_listener(gone)
        status.remove_listener(gone)
        status.remove_listener(gone)  # twice: harmless
        status.succeeded("heartbeat")
        status.failed("heartbeat", "unreachable: gone")
        await until(lambda: len(heard) == 2, "both changes")

    asyncio.run(scenario())
    assert heard == [True, False] and removed == []


def test_without_any_event_loop_listeners_are_called_directly() -> None:
    status = LinkStatus(ManualClock())
    heard: list[tuple[bool | None, str]] = []
    status.add_listener(lambda state: heard.append((state.online, threading.current_thread().name)))
    status.succeeded("script")
    assert heard == [(True, threading.current_thread().name)]


def test_reports_after_the_loop_closed_are_kept_and_harmless() -> None:
    async def make() -> LinkStatus:
        status = LinkStatus(ManualClock())
        status.add_listener(lambda state: None)
        return status

    status = asyncio.run(make())
    status.failed("delivery", "unreachable: shutting down")  # the loop is closed: nobody to tell
    assert status.online is False


# what counts as online: real exchanges --------------------------------------------------------------

def failure_of(call: Callable[[], Any]) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(("faults", "kind", "answered"), [
    ({"status_500": 1}, "http_status", False),
    ({"drop_connections": 1}, "unreachable", False),
    ({"malformed_json": 1}, "malformed_reply", False),
    ({"bad_signature": 1}, "bad_signature", False),
    ({"huge_body_bytes": 3 * 1024 * 1024}, "too_large", False),
    ({"latency_s": 1.0}, "timeout", False),
    ({"clock_skew_s": 900.0}, "unauthorized", True),  # a signed 401: the platform is there, it says no
])
def test_what_a_failed_exchange_says_about_the_platform(
    fake: FakePlatform, faults: dict[str, Any], kind: str, answered: bool
) -> None:
    fake.set_faults(**faults)
    with PlatformClient(fake.url, LOCKER_ID, SECRET, read_timeout_s=0.3) as client:
        error = failure_of(lambda: client.heartbeat(HEALTH))
    fake.set_faults()
    assert error.kind.value == kind
    assert platform_answered(error) is answered
    status = LinkStatus(ManualClock())
    status.report_error("heartbeat", error)
    assert status.online is answered
    assert status.last_error == (None if answered else str(error))


def test_a_refusal_the_platform_signed_is_online(fake: FakePlatform) -> None:
    with PlatformClient(fake.url, LOCKER_ID, SECRET) as client:
        error = failure_of(lambda: client.post_command_result(
            "00000000-0000-4000-8000-000000000000", CommandStatus.DONE, time.time()))
    assert (error.kind, error.status) == (PlatformErrorKind.REJECTED, 404)
    status = LinkStatus(ManualClock())
    status.report_error("commands", error)
    assert status.state.online is True and status.last_error is None


def test_no_platform_at_the_address_is_offline() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with PlatformClient(f"http://127.0.0.1:{port}", LOCKER_ID, SECRET, connect_timeout_s=0.5) as client:
        error = failure_of(lambda: client.heartbeat(HEALTH))
    assert error.kind is PlatformErrorKind.UNREACHABLE and platform_answered(error) is False
    status = LinkStatus(ManualClock())
    status.report_error("heartbeat", error)
    assert status.online is False and (status.last_error or "").startswith("unreachable: ")


def test_nothing_over_the_wire_changes_nothing() -> None:
    client = PlatformClient("http://127.0.0.1:1", LOCKER_ID, SECRET)
    client.close()
    closed = failure_of(lambda: client.heartbeat(HEALTH))
    assert closed.kind is PlatformErrorKind.CLOSED
    too_big_to_send = PlatformError(PlatformErrorKind.REJECTED, "post events: the request is 2000000 bytes",
                                    code="payload_too_large")  # as the client raises it, before sending
    status = LinkStatus(ManualClock())
    status.succeeded("heartbeat")
    for error in (closed, too_big_to_send):
        assert platform_answered(error) is None
        status.report_error("delivery", error)
    assert status.state.online is True and status.state.source == "heartbeat"


def test_a_status_made_before_its_loop_runs_hands_worker_reports_to_the_loop_once_bound() -> None:
    """The kiosk builds its LinkStatus before the loop runs; its listeners update screens, so a worker's
    report must still reach them on the loop thread (the services bind it in start())."""
    status = LinkStatus(ManualClock())
    heard_on: list[threading.Thread] = []
    status.add_listener(lambda _state: heard_on.append(threading.current_thread()))

    async def scenario() -> None:
        status.bind_loop(asyncio.get_running_loop())
        done = asyncio.Event()
        status.add_listener(lambda _state: done.set())
        worker = threading.Thread(target=status.failed, args=("sync", "connection refused"))
        worker.start()
        await asyncio.wait_for(done.wait(), 5)
        worker.join()

    asyncio.run(scenario())
    assert heard_on == [threading.main_thread()]

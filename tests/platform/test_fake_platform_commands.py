"""Remote commands by long poll: answered at once when one is pending, woken by a new one while waiting,
empty after `wait` otherwise, listed again until a result is posted, never after expiry; stop() ends a
waiting poll at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from platform_client import BASE, Exchange, SignedClient, wait_until

from kiosk.testing.fake_platform import FakePlatform

COMMANDS = f"{BASE}/commands"


@contextmanager
def polling(client: SignedClient, wait_s: int) -> Iterator[dict[str, object]]:
    """A long poll running in a thread; the dict gets "exchange" (or "error") and "elapsed" when it ends.
    The thread is joined on leaving."""
    outcome: dict[str, object] = {}

    def poll() -> None:
        started = time.monotonic()
        try:
            outcome["exchange"] = client.call("GET", f"{COMMANDS}?wait={wait_s}", timeout=wait_s + 10)
        except (requests.RequestException, AssertionError) as error:
            outcome["error"] = error
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=poll, name="test-long-poll")
    thread.start()
    try:
        yield outcome
    finally:
        thread.join(timeout=wait_s + 15)
        assert not thread.is_alive()


def _commands(exchange: object) -> list[dict[str, object]]:
    assert isinstance(exchange, Exchange) and exchange.status == 200
    commands: list[dict[str, object]] = exchange.json()["commands"]
    return commands


def _listed(client: SignedClient) -> list[object]:
    """The ids of the commands a poll with no wait lists now."""
    return [command["command_id"] for command in _commands(client.call("GET", f"{COMMANDS}?wait=0"))]


def test_a_pending_command_is_answered_at_once(platform: FakePlatform, client: SignedClient) -> None:
    command_id = platform.add_command("open_door", compartment_id="02", support_ticket="SUP-88213")
    started = time.monotonic()
    [command] = _commands(client.call("GET", f"{COMMANDS}?wait=30"))
    assert time.monotonic() - started < 5
    assert command["command_id"] == command_id and command["kind"] == "open_door"
    assert command["support_ticket"] == "SUP-88213"


def test_a_command_added_while_polling_wakes_the_poll(platform: FakePlatform, client: SignedClient) -> None:
    with polling(client, wait_s=30) as outcome:
        wait_until(lambda: platform.requests_seen() == 1)
        command_id = platform.add_command("sync_now")
    assert [command["command_id"] for command in _commands(outcome["exchange"])] == [command_id]
    assert isinstance(outcome["elapsed"], float) and outcome["elapsed"] < 10


def test_a_waiting_poll_holds_up_no_other_request(platform: FakePlatform, client: SignedClient) -> None:
    other = SignedClient(platform)
    try:
        with polling(client, wait_s=30) as outcome:
            wait_until(lambda: platform.requests_seen() == 1)
            assert other.call("GET", f"{BASE}/config").status == 200
            assert "elapsed" not in outcome  # still waiting
            platform.add_command("sync_now")
    finally:
        other.close()
    assert len(_commands(outcome["exchange"])) == 1


def test_with_nothing_pending_the_poll_answers_empty_after_wait(client: SignedClient) -> None:
    started = time.monotonic()
    assert _commands(client.call("GET", f"{COMMANDS}?wait=1")) == []
    assert 0.9 <= time.monotonic() - started < 5
    started = time.monotonic()
    assert _commands(client.call("GET", f"{COMMANDS}?wait=0")) == []
    assert time.monotonic() - started < 1


def test_stop_ends_a_waiting_poll_at_once(platform: FakePlatform, client: SignedClient) -> None:
    with polling(client, wait_s=60) as outcome:
        wait_until(lambda: platform.requests_seen() == 1)
        started = time.monotonic()
        platform.stop()
        assert time.monotonic() - started < 3
    # The waiting poll was answered (empty) before the platform went away, not cut off.
    assert _commands(outcome["exchange"]) == []
    assert isinstance(outcome["elapsed"], float) and outcome["elapsed"] < 10


def test_a_command_is_listed_until_its_result_is_posted(platform: FakePlatform, client: SignedClient) -> None:
    first = platform.add_command("sync_now")
    second = platform.add_command("compartment_out_of_service", compartment_id="03", out_of_service=True,
                                  reason="hinge broken")
    assert _listed(client) == [first, second]
    assert _listed(client) == [first, second]
    result = {"status": "done", "finished_at": "2026-03-11T09:21:40Z", "reason": None, "message": None}
    assert client.call("POST", f"{COMMANDS}/{first}/result", result).status == 204
    assert _listed(client) == [second]


def test_an_expired_command_is_not_listed(platform: FakePlatform, client: SignedClient) -> None:
    platform.add_command("sync_now", issued_at="2026-01-01T09:00:00Z", expires_at="2026-01-01T10:00:00Z")
    forget = platform.add_command("forget_face", parcel_ids=["PX-1", "PX-2"])
    assert _listed(client) == [forget]


def test_the_wait_is_bounded_by_the_contract(client: SignedClient) -> None:
    exchange = client.call("GET", f"{COMMANDS}?wait=61")
    assert exchange.status == 422 and "wait" in exchange.json()["message"]

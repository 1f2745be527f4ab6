"""What the fake platform's tests share: the locker's secrets, a client that signs requests as the kiosk does
and checks every reply, and builders of contract bodies."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from kiosk.backend import contract, signing
from kiosk.testing.fake_platform import FakePlatform

SECRET = bytes(range(32))  # the contract's golden-vector secret
CODE_KEY = bytes(range(0x20, 0x40))  # the contract's golden-vector code key: code 123456 -> e0274d21...
GOLDEN_CODE_HASH = "e0274d210ae0c2d1d93c6d9861991885fc9ba88c551e972ad5df7a706492d896"
LOCKER = "LK-0001"
BASE = f"/v1/lockers/{LOCKER}"


@dataclass
class Exchange:
    """One request and the platform's reply; `reply_timestamp` is the reply's verified X-Timestamp, or None
    when the reply was not checked (unsigned replies, `verify=False`)."""

    response: requests.Response
    nonce: str | None
    reply_timestamp: int | None

    @property
    def status(self) -> int:
        return self.response.status_code

    def json(self) -> Any:
        return self.response.json()


class SignedClient:
    """Sends requests signed with the locker's secret, as the kiosk does, and checks every reply: signed for
    this request's nonce, and (unless told otherwise) conforming to the contract."""

    def __init__(self, platform: FakePlatform, secret: bytes = SECRET, locker_id: str = LOCKER) -> None:
        self.platform = platform
        self.secret = secret
        self.locker_id = locker_id
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def call(
        self,
        method: str,
        path: str,
        body: object | None = None,
        *,
        raw_body: bytes | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        tamper: Callable[[dict[str, str]], None] | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
        verify: bool = True,
        check_contract: bool = True,
        timeout: float = 10.0,
    ) -> Exchange:
        data = raw_body if raw_body is not None else b"" if body is None else json.dumps(body).encode()
        sent: dict[str, str] = {}
        if sign:
            sent.update(signing.sign(self.secret, method, path, data, timestamp=timestamp, nonce=nonce,
                                     locker_id=self.locker_id))
        if data:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        if tamper is not None:
            tamper(sent)
        response = self.session.request(method, self.platform.url + path, data=data or None, headers=sent,
                                        timeout=timeout)
        used_nonce = sent.get(signing.HEADER_NONCE)
        reply_timestamp = None
        if verify:
            assert used_nonce is not None, "only a signed request gets a reply that can be verified"
            status, content = response.status_code, response.content
            reply_timestamp = signing.verify_reply(
                self.secret, method, path, used_nonce, status, content, response.headers
            )
        if check_contract:
            document = response.json() if response.content else None
            contract.validate_response(method, path, response.status_code, document, response.headers)
        return Exchange(response, used_nonce, reply_timestamp)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for `condition` with a deadline, checking it every few milliseconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        pause.wait(0.005)


def event(kind: str = "deposited", *, key: str, compartment: str | None = "01", parcel: str | None = "PX-1",
          **details: object) -> dict[str, Any]:
    """One Event of the contract."""
    return {
        "idempotency_key": key,
        "kind": kind,
        "occurred_at": "2026-03-11T08:14:03Z",
        "compartment_id": compartment,
        "parcel_id": parcel,
        "details": details,
    }


def heartbeat(**changes: object) -> dict[str, Any]:
    body: dict[str, Any] = {
        "locker_clock": "2026-03-11T09:10:00Z",
        "app_version": "0.1.0",
        "uptime_s": 86400,
        "boards": {"answering": 2, "total": 2},
        "doors_open": [],
        "out_of_order": [],
        "cameras": [{"camera_id": "front", "state": "ok"}],
        "outbox": {"depth": 0, "oldest_at": None, "parked": 0},
        "last_sync_at": None,
    }
    body.update(changes)
    return body


def layout(*compartments: tuple[str, str]) -> dict[str, Any]:
    """A LockerRegistration with these (id, size) compartments."""
    return {
        "app_version": "0.1.0",
        "layout": {"compartments": [
            {"compartment_id": compartment_id, "size": size, "column": 1, "height_cm": 100}
            for compartment_id, size in compartments
        ]},
    }

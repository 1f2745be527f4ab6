"""Fault injection for the fake platform: what a real platform and network do to a locker on a bad day.

Settings (latency, clock skew, a huge body) hold until changed. Counted faults (500s, dropped connections,
malformed JSON, wrong signatures) each answer that many requests, then stop. One request gets at most one
counted fault, taken in the order drop, 500, malformed JSON, wrong signature, so "2 drops and a 500" plays
out as drop, drop, 500.

When each acts, so that a scenario knows what the platform kept:
- latency: before the request is handled (a stop() cuts it short);
- a 500: instead of handling the request, so nothing of it is applied;
- a dropped connection, malformed JSON, a wrong signature, a huge body: after the request was applied;
  only the reply is lost or spoilt. The locker must resend, and its events must then come back as
  duplicates, never as new ones.

Faults apply to requests that reached an operation of the contract with a valid signature (what the
kiosk itself sends), optionally only to some operations (by operationId).
"""

from __future__ import annotations

import enum
import math
import threading
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any


class CountedFault(enum.Enum):
    DROP_CONNECTION = "drop_connections"
    STATUS_500 = "status_500"
    MALFORMED_JSON = "malformed_json"
    BAD_SIGNATURE = "bad_signature"


@dataclass(frozen=True)
class Faults:
    latency_s: float = 0.0
    status_500: int = 0
    drop_connections: int = 0
    malformed_json: int = 0
    bad_signature: int = 0
    clock_skew_s: float = 0.0
    huge_body_bytes: int = 0
    operations: frozenset[str] | None = None  # operationIds the faults apply to; None: every operation

    def __post_init__(self) -> None:
        for name in ("latency_s", "clock_skew_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
        if self.latency_s < 0:
            raise ValueError(f"latency_s must not be negative, got {self.latency_s!r}")
        for name in ("status_500", "drop_connections", "malformed_json", "bad_signature", "huge_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of at least 0, got {value!r}")

    def counted(self, fault: CountedFault) -> int:
        count: int = getattr(self, fault.value)
        return count


@dataclass(frozen=True)
class RequestFaults:
    """What happens to one request."""

    latency_s: float = 0.0
    counted: CountedFault | None = None
    huge_body_bytes: int = 0


@dataclass
class FaultInjector:
    """Thread-safe: one request takes its faults atomically."""

    _faults: Faults = field(default_factory=Faults)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set(
        self,
        *,
        latency_s: float = 0.0,
        status_500: int = 0,
        drop_connections: int = 0,
        malformed_json: int = 0,
        bad_signature: int = 0,
        clock_skew_s: float = 0.0,
        huge_body_bytes: int = 0,
        operations: Collection[str] | None = None,
    ) -> None:
        if isinstance(operations, str):
            raise ValueError("operations must be a collection of operationIds, not one string")
        faults = Faults(latency_s, status_500, drop_connections, malformed_json, bad_signature, clock_skew_s,
                        huge_body_bytes, None if operations is None else frozenset(operations))
        with self._lock:
            self._faults = faults

    @property
    def current(self) -> Faults:
        with self._lock:
            return self._faults

    @property
    def clock_skew_s(self) -> float:
        with self._lock:
            return self._faults.clock_skew_s

    def take(self, operation_id: str) -> RequestFaults:
        """The faults of one request to `operation_id`, counting down the counted one it takes."""
        with self._lock:
            faults = self._faults
            if faults.operations is not None and operation_id not in faults.operations:
                return RequestFaults()
            taken = next((fault for fault in CountedFault if faults.counted(fault) > 0), None)
            if taken is not None:
                remaining: dict[str, Any] = {taken.value: faults.counted(taken) - 1}
                self._faults = replace(faults, **remaining)
            return RequestFaults(faults.latency_s, taken, faults.huge_body_bytes)

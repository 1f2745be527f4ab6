"""The `--faults` spec of `locker-hal sim`: a comma-separated list of KEY=VALUE items, applied in order.

    silent=B        board B does not answer at all (silent=all: no board answers)
    garble=N        the next N replies go out with a wrong checksum
    noise=N         the next N replies go out between random line noise
    delay=S         every reply waits S seconds (a slow board)
    busy=B:N        board B misses its next N requests (neither acts nor answers)
    jam=B:L         lock L of board B is stuck: unlock pulses do nothing
    stick=B:L       the door of lock L does not latch when pushed shut (a door left open)
    open=B:L        the door of lock L starts open
    parcel=B:L      the infrared sensor of lock L sees a parcel

e.g. `--faults silent=1,garble=3,delay=0.05,jam=0:2`. Boards are numbered as on the bus of the protocol,
locks from 1. Every simulator offers silent, garble, delay, jam, open and parcel (the methods of
hal.lockboard.base.SimulatedBoards); busy, noise and stick where its protocol's simulator has them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hal.lockboard.base import SimulatedBoards


class FaultSpecError(ValueError):
    """A --faults spec that cannot be read; the message is one line naming the item and the right form."""


@dataclass(frozen=True)
class Fault:
    item: str  # as written, for messages
    method: str  # the simulator method that sets it
    arguments: dict[str, object]  # by keyword, so a simulator whose method means something else refuses them


Arguments = dict[str, object]


def _count(key: str, value: str) -> Arguments:
    if not value.isdigit():
        raise FaultSpecError(f"{key} takes a whole number, e.g. {key}=3")
    return {"count": int(value)}


def _seconds(key: str, value: str) -> Arguments:
    try:
        seconds = float(value)
    except ValueError:
        raise FaultSpecError(f"{key} takes seconds, e.g. {key}=0.05") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise FaultSpecError(f"{key} takes seconds >= 0, e.g. {key}=0.05")
    return {"seconds": seconds}


def _pair(key: str, value: str, second: str) -> tuple[int, int]:
    first, separator, rest = value.partition(":")
    if not (separator and first.isdigit() and rest.isdigit()):
        example = "1:2" if second == "LOCK" else "1:3"
        raise FaultSpecError(f"{key} takes BOARD:{second}, e.g. {key}={example}")
    return int(first), int(rest)


def _board(key: str, value: str) -> Arguments:
    if value == "all":
        return {"connected": False}
    if not value.isdigit():
        raise FaultSpecError(f"{key} takes a board number or 'all', e.g. {key}=1")
    return {"connected": False, "board": int(value)}


def _board_lock(key: str, value: str) -> Arguments:
    board, lock = _pair(key, value, "LOCK")
    return {"board": board, "lock": lock}


def _board_requests(key: str, value: str) -> Arguments:
    board, requests = _pair(key, value, "N")
    return {"board": board, "requests": requests}


def _board_lock_occupied(key: str, value: str) -> Arguments:
    return {**_board_lock(key, value), "occupied": True}


# key -> (simulator method, how to read the value into its keyword arguments)
_FAULTS: dict[str, tuple[str, Callable[[str, str], Arguments]]] = {
    "busy": ("set_busy", _board_requests),
    "delay": ("set_reply_delay", _seconds),
    "garble": ("garble_replies", _count),
    "jam": ("jam", _board_lock),
    "noise": ("noise_replies", _count),
    "open": ("open_door", _board_lock),
    "parcel": ("set_occupied", _board_lock_occupied),
    "silent": ("set_connected", _board),
    "stick": ("set_door_sticks", _board_lock),
}
FAULT_KEYS = sorted(_FAULTS)


def parse_faults(spec: str) -> list[Fault]:
    """The faults of a spec such as "silent=1,garble=3,delay=0.05,jam=1:2". Raises FaultSpecError."""
    items = [item.strip() for item in spec.split(",")]
    if not any(items):
        raise FaultSpecError(
            f"no faults given (e.g. --faults garble=3,jam=0:2; known: {', '.join(FAULT_KEYS)})")
    faults = []
    for item in items:
        if not item:
            raise FaultSpecError(f"empty item in --faults {spec!r}")
        key, separator, value = (part.strip() for part in item.partition("="))
        if key not in _FAULTS:
            raise FaultSpecError(f"unknown fault {key!r} in --faults (known: {', '.join(FAULT_KEYS)})")
        if not separator or not value:
            raise FaultSpecError(f"--faults {item!r}: {key} needs a value ({_example(key)})")
        method, read = _FAULTS[key]
        try:
            arguments = read(key, value)
        except FaultSpecError as exc:
            raise FaultSpecError(f"--faults {item!r}: {exc}") from None
        faults.append(Fault(item, method, arguments))
    return faults


def _example(key: str) -> str:
    read = _FAULTS[key][1]
    try:
        read(key, "")
    except FaultSpecError as exc:
        return str(exc)
    return f"e.g. {key}=1"  # pragma: no cover - every reader refuses an empty value


def apply_faults(simulator: SimulatedBoards, faults: list[Fault]) -> None:
    """Set each fault on `simulator`. Raises FaultSpecError naming the item when the simulator does not offer
    that fault or refuses its values (a board or lock it does not have)."""
    for fault in faults:
        setter = getattr(simulator, fault.method, None)
        if not callable(setter):
            raise FaultSpecError(
                f"--faults {fault.item!r}: the {simulator.protocol} simulator has no such fault")
        try:
            setter(**fault.arguments)
        except (ValueError, TypeError) as exc:
            raise FaultSpecError(f"--faults {fault.item!r}: {exc}") from None

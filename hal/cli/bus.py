"""The CLI commands that talk to a bus: scan, status, open, open-all, watch and test.

Each works for every registered protocol through open_driver; what differs between protocols (the board
addresses a scan probes, whether boards push door changes) is asked of the protocol, not assumed.
"""

from __future__ import annotations

import argparse
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, cast

from hal.cli.output import Output, json_time, numbers, plain_time, wall_clock
from hal.lockboard import (
    BadFrame,
    BoardFamilyDriver,
    BoardStatus,
    DoorChange,
    HalError,
    LockStatus,
    NoReply,
    PortGone,
    PushingDriver,
    board_range,
    driver_options,
    open_driver,
)

EXIT_OK = 0
EXIT_HARDWARE = 1
EXIT_USAGE = 2
EXIT_DOOR = 3  # a door did not do what it was told: stayed shut after an unlock, or did not close in a test
EXIT_INTERRUPTED = 130

SCAN_TIMEOUT_S = 0.05  # per board when scanning, unless --timeout says otherwise; no retries
POLL_S = 0.05  # how often a door is read while waiting for it to open or close

# command-line option -> driver keyword option
BUS_OPTIONS = {"timeout": "--timeout", "retries": "--retries", "baudrate": "--baudrate",
               "hook_closed_bit": "--hook-closed-bit"}


class UsageError(ValueError):
    """Bad input on the command line that only shows once the protocol is known; exit 2."""


def error_kind(exc: HalError) -> str:
    if isinstance(exc, NoReply):
        return "no reply"
    if isinstance(exc, PortGone):
        return "port"
    if isinstance(exc, BadFrame):
        return "bad reply"
    return "error"


def describe_error(exc: HalError) -> str:
    return f"{error_kind(exc)}: {exc}"


# opening the bus ---------------------------------------------------------------------------------------
def _options(args: argparse.Namespace, protocol: str, *, quick: bool) -> dict[str, Any]:
    accepted = driver_options(protocol)
    options: dict[str, Any] = {}
    for name, flag in BUS_OPTIONS.items():
        if hasattr(args, name):
            if name not in accepted:
                raise UsageError(f"{flag} does not apply to protocol {protocol}")
            options[name] = getattr(args, name)
    for name, value in getattr(args, "option", []):
        if name not in accepted:
            raise UsageError(f"--option {name}: the {protocol} driver has no such option "
                             f"(it takes: {', '.join(accepted) or 'none'})")
        options[name] = value
    if quick:
        # A scan asks every address once: an absent board must cost little, and a retry would only double it.
        if "timeout" in accepted and "timeout" not in options:
            options["timeout"] = SCAN_TIMEOUT_S
        if "retries" in accepted:
            options["retries"] = 0
    return options


@contextmanager
def bus(args: argparse.Namespace, *, quick: bool = False) -> Iterator[BoardFamilyDriver]:
    driver = open_driver(args.port, args.protocol, **_options(args, args.protocol, quick=quick))
    try:
        yield driver
    finally:
        driver.close()


# scan ------------------------------------------------------------------------------------------------
@dataclass
class ScanResult:
    probed: range
    found: dict[int, BoardStatus] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)  # boards that answered, but garbled or refusing


def probe(driver: BoardFamilyDriver, boards: range,
          on_board: Callable[[int, BoardStatus | None, str | None], None] | None = None) -> ScanResult:
    """Read each board once; PortGone stops the scan (it would fail the same way for every board)."""
    result = ScanResult(boards)
    for board in boards:
        try:
            status = driver.status(board)
        except NoReply:
            continue
        except PortGone:
            raise
        except HalError as exc:  # something answered: a garbled reply, or a board refusing the request
            result.failed[board] = str(exc)
            if on_board:
                on_board(board, None, str(exc))
            continue
        except ValueError:
            continue  # the driver says this protocol has no such address
        result.found[board] = status
        if on_board:
            on_board(board, status, None)
    return result


def _span(boards: range) -> str:
    return f"{boards.start}-{boards.stop - 1}" if len(boards) else "none"


def _scan(args: argparse.Namespace, out: Output, *, verbose: bool) -> ScanResult:
    boards = board_range(args.protocol)
    asked: range | None = getattr(args, "range", None)
    if asked is not None:
        narrowed = range(max(asked.start, boards.start), min(asked.stop, boards.stop))
        if not narrowed:
            raise UsageError(f"boards {_span(asked)} are outside the {args.protocol} range {_span(boards)}")
        boards = narrowed

    def on_board(board: int, status: BoardStatus | None, problem: str | None) -> None:
        if not verbose:
            return
        if status is not None:
            opened = [lock for lock, reading in sorted(status.locks.items()) if reading.door_open]
            out.say(f"board {board} answers: {len(status.locks)} locks, open: {numbers(opened)}")
        else:
            out.say(f"board {board} answers, but: {problem}")

    with bus(args, quick=True) as driver:
        return probe(driver, boards, on_board)


def _no_board(args: argparse.Namespace, result: ScanResult) -> str:
    return (f"no reply: no board answered on {args.port} ({args.protocol}, boards {_span(result.probed)} "
            "probed)")


def scan(args: argparse.Namespace, out: Output) -> int:
    result = _scan(args, out, verbose=True)
    found = sorted(result.found)
    out.say(f"{len(found)} board{'' if len(found) == 1 else 's'} found on {args.port} ({args.protocol}): "
            f"{numbers(found)}",
            {"port": args.port, "protocol": args.protocol,
             "probed": [result.probed.start, result.probed.stop - 1], "boards": found,
             "failed": {str(board): text for board, text in sorted(result.failed.items())}})
    if result.failed:
        return out.fail(EXIT_HARDWARE, f"bad reply: {min(result.failed.items())[1]}", error="bad reply")
    if not found:
        return out.fail(EXIT_HARDWARE, _no_board(args, result), error="no reply")
    return EXIT_OK


# status ----------------------------------------------------------------------------------------------
def _status_record(status: BoardStatus) -> dict[str, Any]:
    return {"board": status.board,
            "locks": [{"lock": lock, "door_open": reading.door_open, "occupied": reading.occupied}
                      for lock, reading in sorted(status.locks.items())]}


def _status_text(status: BoardStatus, port: str) -> str:
    lines = [f"board {status.board} on {port}", "lock  door    parcel"]
    for lock, reading in sorted(status.locks.items()):
        parcel = "?" if reading.occupied is None else ("yes" if reading.occupied else "no")
        lines.append(f"{lock:>4}  {'OPEN' if reading.door_open else 'closed':<6}  {parcel}")
    return "\n".join(lines)


def status(args: argparse.Namespace, out: Output) -> int:
    """One board with --board, else every board a scan finds."""
    failed: dict[int, str] = {}
    if args.board is not None:
        with bus(args) as driver:
            readings = [driver.status(args.board)]
    else:
        result = _scan(args, out, verbose=False)
        failed = result.failed
        if not result.found and not failed:
            return out.fail(EXIT_HARDWARE, _no_board(args, result), error="no reply")
        readings = [result.found[board] for board in sorted(result.found)]
    if readings:
        out.say("\n\n".join(_status_text(reading, args.port) for reading in readings),
                {"port": args.port, "protocol": args.protocol,
                 "boards": [_status_record(reading) for reading in readings]})
    if failed:
        return out.fail(EXIT_HARDWARE, f"bad reply: {min(failed.items())[1]}", error="bad reply")
    return EXIT_OK


# open, open-all ---------------------------------------------------------------------------------------
def _wait_for(driver: BoardFamilyDriver, board: int, seconds: float, done: Callable[[BoardStatus], bool],
              stop: threading.Event | None = None) -> BoardStatus:
    """Read the board until `done(reading)` or `seconds` have passed (or `stop` is set); the last reading."""
    deadline = time.monotonic() + seconds
    while True:
        reading = driver.status(board)
        if done(reading) or time.monotonic() >= deadline:
            return reading
        # the latch needs its pulse time and a person a moment; reading the board faster gains nothing
        if stop is not None:
            if stop.wait(POLL_S):
                return reading
        else:
            time.sleep(POLL_S)


def open_one(args: argparse.Namespace, out: Output) -> int:
    board, lock = args.board, args.lock
    with bus(args) as driver:
        driver.unlock(board, lock)
        if args.confirm <= 0:
            out.say(f"board {board} lock {lock}: unlock sent",
                    {"board": board, "lock": lock, "unlock_sent": True, "door_open": None})
            return EXIT_OK
        reading = _wait_for(driver, board, args.confirm, lambda status: _lock_of(status, lock).door_open)
    door_open = _lock_of(reading, lock).door_open
    record = {"board": board, "lock": lock, "unlock_sent": True, "door_open": door_open}
    if door_open:
        out.say(f"board {board} lock {lock}: unlock sent, door is open", record)
        return EXIT_OK
    out.say(None, record)
    return out.fail(EXIT_DOOR,
                    f"board {board} lock {lock}: unlock sent, but the door still reads closed after "
                    f"{args.confirm:g} s (jammed latch, blocked door or wrong lock number?)",
                    error="door stayed shut")


def _lock_of(status: BoardStatus, lock: int) -> LockStatus:
    reading = status.locks.get(lock)
    if reading is None:
        raise UsageError(f"board {status.board} has no lock {lock} (it has {_span_of(status)})")
    return reading


def _span_of(status: BoardStatus) -> str:
    locks = sorted(status.locks)
    return f"locks {locks[0]}-{locks[-1]}" if locks else "no locks"


def open_all(args: argparse.Namespace, out: Output) -> int:
    board = args.board
    with bus(args) as driver:
        driver.unlock_all(board)
        if args.confirm <= 0:
            out.say(f"board {board}: unlock-all sent", {"board": board, "unlock_sent": True})
            return EXIT_OK
        reading = _wait_for(driver, board, args.confirm,
                            lambda status: all(lock.door_open for lock in status.locks.values()))
    opened = sorted(lock for lock, state in reading.locks.items() if state.door_open)
    shut = sorted(lock for lock, state in reading.locks.items() if not state.door_open)
    record = {"board": board, "unlock_sent": True, "open": opened, "closed": shut}
    if not shut:
        out.say(f"board {board}: unlock-all sent, all {len(opened)} doors are open", record)
        return EXIT_OK
    out.say(f"board {board}: unlock-all sent, {len(opened)} of {len(reading.locks)} doors open", record)
    return out.fail(EXIT_DOOR, f"board {board}: unlock-all sent, but lock{'' if len(shut) == 1 else 's'} "
                               f"{numbers(shut)} still read{'s' if len(shut) == 1 else ''} closed after "
                               f"{args.confirm:g} s", error="door stayed shut")


# stopping long-running commands -----------------------------------------------------------------------
@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM while the block runs, so a command can finish and clean up."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


# watch -----------------------------------------------------------------------------------------------
class _Doors:
    """The last known state of every watched lock; turns readings and pushes into changes worth a line."""

    def __init__(self, out: Output, boards: list[int]) -> None:
        self._out = out
        self._boards = set(boards)
        self._known: dict[tuple[int, int], LockStatus] = {}
        self._failing: dict[int, str] = {}

    def baseline(self, status: BoardStatus) -> None:
        for lock, reading in status.locks.items():
            self._known[status.board, lock] = reading

    def reading(self, status: BoardStatus, at: float) -> None:
        self.answering(status.board, at)
        for lock, reading in sorted(status.locks.items()):
            before = self._known.get((status.board, lock))
            self._known[status.board, lock] = reading
            if before is None:
                continue
            if before.door_open != reading.door_open:
                self._door(status.board, lock, reading.door_open, at)
            if before.occupied != reading.occupied and reading.occupied is not None:
                self._parcel(status.board, lock, reading.occupied, at)

    def pushed(self, change: DoorChange) -> None:
        if change.board not in self._boards:
            return
        before = self._known.get((change.board, change.lock))
        if before is not None and before.door_open == change.door_open:
            return  # already seen
        occupied = before.occupied if before is not None else None
        self._known[change.board, change.lock] = LockStatus(door_open=change.door_open, occupied=occupied)
        self._door(change.board, change.lock, change.door_open, change.at)

    def failed(self, board: int, exc: HalError, at: float) -> None:
        text = describe_error(exc)
        if self._failing.get(board) == text:
            return
        self._failing[board] = text
        when = wall_clock(at)
        self._out.say(f"{plain_time(when)}  board {board}  {text}",
                      {"event": "error", "at": json_time(when), "board": board, "error": error_kind(exc),
                       "message": str(exc)})

    def answering(self, board: int, at: float) -> None:
        if self._failing.pop(board, None) is None:
            return
        when = wall_clock(at)
        self._out.say(f"{plain_time(when)}  board {board}  answers again",
                      {"event": "answering", "at": json_time(when), "board": board})

    def _door(self, board: int, lock: int, door_open: bool, at: float) -> None:
        when = wall_clock(at)
        state = "OPEN" if door_open else "closed"
        self._out.say(f"{plain_time(when)}  board {board} lock {lock}  door {state}",
                      {"event": "door", "at": json_time(when), "board": board, "lock": lock,
                       "door_open": door_open})

    def _parcel(self, board: int, lock: int, occupied: bool, at: float) -> None:
        when = wall_clock(at)
        self._out.say(f"{plain_time(when)}  board {board} lock {lock}  parcel {'in' if occupied else 'out'}",
                      {"event": "parcel", "at": json_time(when), "board": board, "lock": lock,
                       "occupied": occupied})


def _boards_to_watch(args: argparse.Namespace, out: Output) -> list[int] | int:
    if args.board:
        return sorted(set(args.board))
    result = _scan(args, out, verbose=False)
    if not result.found:
        return out.fail(EXIT_HARDWARE, _no_board(args, result), error="no reply")
    return sorted(result.found)


def watch(args: argparse.Namespace, out: Output) -> int:
    boards = _boards_to_watch(args, out)
    if isinstance(boards, int):
        return boards
    with stop_on_signals() as stop, bus(args) as driver:
        doors = _Doors(out, boards)
        pushing = callable(getattr(driver, "add_door_listener", None))
        # Listening starts before the baseline and the "watching" line: a push right after either is kept.
        changes: queue.SimpleQueue[DoorChange] = queue.SimpleQueue()
        if pushing:
            cast(PushingDriver, driver).add_door_listener(changes.put)
        for board in boards:
            doors.baseline(driver.status(board))
        mode = "pushed by the boards" if pushing else f"polling every {args.interval:g} s"
        out.say(f"watching board{'' if len(boards) == 1 else 's'} {numbers(boards)} on {args.port} "
                f"({args.protocol}, {mode}); Ctrl-C to stop",
                {"event": "watching", "at": json_time(wall_clock()), "port": args.port,
                 "protocol": args.protocol, "boards": boards, "mode": "push" if pushing else "poll",
                 "interval": None if pushing else args.interval})
        if pushing:
            _watch_pushes(cast(PushingDriver, driver), changes, doors, stop)
        else:
            _watch_by_polling(driver, doors, boards, args.interval, stop)
    return EXIT_OK


def _watch_pushes(driver: PushingDriver, changes: queue.SimpleQueue[DoorChange], doors: _Doors,
                  stop: threading.Event) -> None:
    # Listeners run on the driver's reader thread: they hand the changes to this thread, which prints them.
    try:
        while not stop.is_set():
            try:
                doors.pushed(changes.get(timeout=0.1))
            except queue.Empty:
                continue
    finally:
        driver.remove_door_listener(changes.put)


def _watch_by_polling(driver: BoardFamilyDriver, doors: _Doors, boards: list[int], interval: float,
                      stop: threading.Event) -> None:
    while not stop.is_set():
        for board in boards:
            try:
                reading = driver.status(board)
            except HalError as exc:  # PortGone too: the driver reopens the port on the next call
                doors.failed(board, exc, time.monotonic())
                continue
            doors.reading(reading, time.monotonic())
        stop.wait(interval)


# test ------------------------------------------------------------------------------------------------
@dataclass
class _TestResult:
    board: int
    passed: list[int] = field(default_factory=list)
    did_not_open: list[int] = field(default_factory=list)
    did_not_close: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.did_not_open or self.did_not_close or self.errors)

    def record(self, interrupted: bool) -> dict[str, Any]:
        return {"event": "result", "board": self.board, "ok": self.ok and not interrupted,
                "interrupted": interrupted, "passed": self.passed, "did_not_open": self.did_not_open,
                "did_not_close": self.did_not_close,
                "errors": {str(lock): text for lock, text in sorted(self.errors.items())}}

    def summary(self, total: int, interrupted: bool) -> str:
        parts = [f"board {self.board}: {len(self.passed)} of {total} locks passed"]
        if self.did_not_open:
            parts.append(f"did not open: {numbers(self.did_not_open)}")
        if self.did_not_close:
            parts.append(f"did not close: {numbers(self.did_not_close)}")
        if self.errors:
            parts.append(f"errors: {numbers(sorted(self.errors))}")
        if interrupted:
            parts.append("interrupted")
        return "; ".join(parts)


def run_test(args: argparse.Namespace, out: Output) -> int:
    board = args.board
    with stop_on_signals() as stop, bus(args) as driver:
        present = driver.status(board).locks
        locks = sorted(set(args.lock)) if args.lock else sorted(present)
        missing = [lock for lock in locks if lock not in present]
        if missing:
            raise UsageError(f"board {board} has no lock {numbers(missing)} (it has locks "
                             f"{min(present)}-{max(present)})")
        out.say(f"testing board {board} on {args.port} ({args.protocol}): locks {numbers(locks)}, one after "
                f"another; close each door after it opens (up to {args.wait_close:g} s)",
                {"event": "start", "board": board, "locks": locks, "wait_close": args.wait_close})
        result = _TestResult(board)
        for lock in locks:
            if stop.is_set():
                break
            try:
                _test_lock(driver, args, out, result, lock, stop)
            except (NoReply, BadFrame) as exc:
                result.errors[lock] = describe_error(exc)
                out.say(f"lock {lock}: {describe_error(exc)}",
                        {"event": "error", "board": board, "lock": lock, "error": error_kind(exc),
                         "message": str(exc)})
    interrupted = stop.is_set()
    out.say(result.summary(len(locks), interrupted), result.record(interrupted))
    if interrupted:
        return out.fail(EXIT_INTERRUPTED, "interrupted", error="interrupted")
    if not result.ok:
        return out.fail(EXIT_DOOR, result.summary(len(locks), interrupted), error="test failed")
    return EXIT_OK


def _test_lock(driver: BoardFamilyDriver, args: argparse.Namespace, out: Output, result: _TestResult,
               lock: int, stop: threading.Event) -> None:
    board = args.board

    def is_closed(status: BoardStatus) -> bool:
        return not status.locks[lock].door_open

    if not is_closed(driver.status(board)):
        out.say(f"lock {lock}: already open; close it to test it (waiting up to {args.wait_close:g} s)",
                {"event": "already-open", "board": board, "lock": lock, "wait_close": args.wait_close})
        if not is_closed(_wait_for(driver, board, args.wait_close, is_closed, stop)):
            _did_not_close(out, result, board, lock, args.wait_close, stop)
            return
    driver.unlock(board, lock)
    if is_closed(_wait_for(driver, board, args.confirm, lambda status: not is_closed(status), stop)):
        if stop.is_set():
            return
        result.did_not_open.append(lock)
        out.say(f"lock {lock}: did not open (still reads closed after {args.confirm:g} s)",
                {"event": "did-not-open", "board": board, "lock": lock})
        return
    out.say(f"lock {lock}: open; close it (waiting up to {args.wait_close:g} s)",
            {"event": "opened", "board": board, "lock": lock, "wait_close": args.wait_close})
    if not is_closed(_wait_for(driver, board, args.wait_close, is_closed, stop)):
        _did_not_close(out, result, board, lock, args.wait_close, stop)
        return
    result.passed.append(lock)
    out.say(f"lock {lock}: closed, ok", {"event": "closed", "board": board, "lock": lock})


def _did_not_close(out: Output, result: _TestResult, board: int, lock: int, seconds: float,
                   stop: threading.Event) -> None:
    if stop.is_set():
        return
    result.did_not_close.append(lock)
    out.say(f"lock {lock}: did not close within {seconds:g} s",
            {"event": "did-not-close", "board": board, "lock": lock})

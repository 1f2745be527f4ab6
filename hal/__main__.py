"""The technician's command line (console script `locker-hal`).

    python -m hal sim kerong-cu16 --boards 2 --pty       serve a simulated bus until Ctrl-C / SIGTERM
    python -m hal --port /dev/ttyUSB0 status --board 0   read the 16 locks of board 0
    python -m hal --port /dev/ttyUSB0 open --board 0 --lock 3

Exit status: 0 done; 1 the hardware failed (no reply, garbled reply, port gone or busy); 2 bad usage
(unknown protocol, bad option); 3 an unlock was sent but the door never read open; 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from hal.lockboard import (
    BoardStatus,
    HalError,
    LockBoardDriver,
    NoReply,
    PortGone,
    known_protocols,
    make_simulator,
    open_driver,
)

PROG = "locker-hal"
EXIT_OK = 0
EXIT_HARDWARE = 1
EXIT_USAGE = 2
EXIT_DOOR_STAYED_SHUT = 3
EXIT_INTERRUPTED = 130
CONFIRM_POLL_S = 0.05


def _board(text: str) -> int:
    return _number(text, 0, 15, "board")


def _lock(text: str) -> int:
    return _number(text, 1, 16, "lock")


def _number(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{what} must be {low}-{high}, got {value}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    # The bus options are accepted before or after the command; SUPPRESS keeps a later default from
    # overwriting an earlier explicit value.
    bus = _OneLineParser(add_help=False)
    bus.add_argument("--port", default=argparse.SUPPRESS,
                     help="the bus: /dev/ttyUSB0, socket://host:port, rfc2217://host:port")
    bus.add_argument("--protocol", default=argparse.SUPPRESS,
                     help=f"board protocol (default kerong-cu16; known: {', '.join(known_protocols())})")
    bus.add_argument("--timeout", type=_positive, default=argparse.SUPPRESS,
                     help="seconds to wait for each reply (default 0.15)")
    bus.add_argument("--retries", type=int, default=argparse.SUPPRESS,
                     help="extra attempts per read (default 2)")
    bus.add_argument("--baudrate", type=int, default=argparse.SUPPRESS, help="default 19200")
    bus.add_argument("--hook-closed-bit", type=int, choices=(0, 1), default=argparse.SUPPRESS,
                     help="the hook bit value that means 'door closed' (default 1)")

    parser = _OneLineParser(prog=PROG, parents=[bus],
                                     description="Lock boards, from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status = commands.add_parser("status", parents=[bus], help="read every lock of one board")
    status.add_argument("--board", type=_board, required=True, help="board address, 0-15")

    unlock = commands.add_parser("open", parents=[bus], help="unlock one lock and confirm the door opened")
    unlock.add_argument("--board", type=_board, required=True, help="board address, 0-15")
    unlock.add_argument("--lock", type=_lock, required=True, help="lock number as printed, 1-16")
    unlock.add_argument("--confirm", type=float, default=1.0, metavar="SECONDS",
                        help="how long to wait for the door to read open (0: do not check; default 1)")

    sim = commands.add_parser("sim", parents=[bus], help="serve a simulated bus until Ctrl-C or SIGTERM")
    sim.add_argument("sim_protocol", metavar="PROTOCOL", help=f"one of: {', '.join(known_protocols())}")
    sim.add_argument("--boards", type=int, default=2, help="how many boards, addresses from 0 (default 2)")
    sim.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (the default)")
    sim.add_argument("--tcp", type=int, metavar="PORT", help="serve on a TCP port (0: any free port)")
    sim.add_argument("--host", default="127.0.0.1", help="address for --tcp (default 127.0.0.1)")
    sim.add_argument("-v", "--verbose", action="store_true", help="print every frame and state change")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed its one-line message
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        if args.command == "sim":
            return _serve_simulator(args)
        return _talk_to_bus(args)
    except ValueError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "interrupted")


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def _talk_to_bus(args: argparse.Namespace) -> int:
    port = getattr(args, "port", None)
    if not port:
        return _fail(EXIT_USAGE, f"{args.command} needs --port (e.g. --port /dev/ttyUSB0)")
    options: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("timeout", "retries", "baudrate", "hook_closed_bit")
        if hasattr(args, name)
    }
    driver = open_driver(port, getattr(args, "protocol", "kerong-cu16"), **options)
    try:
        if args.command == "status":
            _print_status(driver.status(args.board), port)
            return EXIT_OK
        return _open(driver, args.board, args.lock, args.confirm)
    except HalError as exc:
        return _fail(EXIT_HARDWARE, f"{_kind(exc)}: {exc}")
    finally:
        driver.close()


def _kind(exc: HalError) -> str:
    if isinstance(exc, NoReply):
        return "no reply"
    if isinstance(exc, PortGone):
        return "port"
    return "bad reply"


def _print_status(status: BoardStatus, port: str) -> None:
    print(f"board {status.board} on {port}")
    print("lock  door    parcel")
    for lock, reading in sorted(status.locks.items()):
        parcel = "?" if reading.occupied is None else ("yes" if reading.occupied else "no")
        print(f"{lock:>4}  {'OPEN' if reading.door_open else 'closed':<6}  {parcel}")


def _open(driver: LockBoardDriver, board: int, lock: int, confirm_s: float) -> int:
    driver.unlock(board, lock)
    if confirm_s <= 0:
        print(f"board {board} lock {lock}: unlock sent")
        return EXIT_OK
    deadline = time.monotonic() + confirm_s
    while True:
        if driver.status(board).locks[lock].door_open:
            print(f"board {board} lock {lock}: unlock sent, door is open")
            return EXIT_OK
        if time.monotonic() >= deadline:
            return _fail(EXIT_DOOR_STAYED_SHUT,
                         f"board {board} lock {lock}: unlock sent, but the door still reads closed after "
                         f"{confirm_s:g} s (jammed latch, blocked door or wrong lock number?)")
        time.sleep(CONFIRM_POLL_S)  # the latch needs its pulse time; reading the board faster gains nothing


def _serve_simulator(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {"boards": args.boards}
    if hasattr(args, "hook_closed_bit"):
        options["hook_closed_bit"] = args.hook_closed_bit
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # Blocked before any serving thread starts, so every thread inherits the mask and sigwait below is
    # the one place the signal lands.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    simulator = None
    try:
        simulator = make_simulator(args.sim_protocol, **options)
        if args.verbose:
            simulator.add_listener(_print_event)
        where = []
        if args.pty or args.tcp is None:
            where.append(simulator.serve_pty())
        if args.tcp is not None:
            where.append(f"socket://{args.host}:{simulator.serve_tcp(args.tcp, args.host)}")
        boards = f"{simulator.boards} board{'' if simulator.boards == 1 else 's'}"
        for place in where:
            print(f"serving {args.sim_protocol} ({boards}) on {place}", flush=True)
        signal.sigwait(stop_signals)
        return EXIT_OK
    except OSError as exc:
        return _fail(EXIT_HARDWARE, f"cannot serve: {exc}")
    finally:
        if simulator is not None:
            simulator.stop()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _print_event(event: Any) -> None:
    parts = [f"{event.at:.3f}", str(event.kind)]
    if event.board is not None:
        parts.append(f"board {event.board}")
    if event.lock is not None:
        parts.append(f"lock {event.lock}")
    if event.value is not None:
        parts.append(str(event.value).lower())
    if event.frame:
        parts.append(event.frame.hex(" ").upper())
    print(" ".join(parts), flush=True)


if __name__ == "__main__":
    sys.exit(main())

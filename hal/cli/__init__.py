"""The technician's command line: `python -m hal` or the console script `locker-hal`.

    locker-hal --port URL [--protocol NAME] COMMAND [--json]

    scan                      find the boards on the bus (each address once, short timeout, no retries)
    status [--board B]        every lock of one board, or of every board a scan finds
    open --board B --lock L   unlock one lock, then read the board until the door reads open (--confirm S)
    open-all --board B        unlock every lock of one board, then confirm them the same way
    watch [--board B ...]     door changes as they happen, one timed line each, until Ctrl-C or SIGTERM:
                              pushed by the boards where the protocol does, else read every --interval S
    test --board B            open each lock in turn (or each --lock L), wait up to --wait-close S for it
                              to be closed again, report which doors did not open or did not close
    sim PROTOCOL --boards N (--pty | --tcp PORT) [--faults SPEC]
                              serve a simulated bus until Ctrl-C or SIGTERM (SPEC: see hal.cli.faults)
    camera list               the cameras this machine has (/dev/video*), with their frame size
    camera test --device D    frames, frame size and frames per second of a camera, a video file or a
                              folder of images, for --seconds S
    decode FILE...            the codes in image files, one line each: SYMBOLOGY<TAB>PAYLOAD
                              (--symbology NAME ... to look for some only, --decoder zbar|zxing|dual)

scan, and status and watch without --board, probe every address the protocol can have (0-15 for
kerong-cu16), or only --range FIRST-LAST.

URL (every command but camera and decode): /dev/ttyUSB0, socket://host:port, rfc2217://host:port, or a
pty a simulator serves. Locks are numbered from 1 as printed on the board. --json prints one JSON object
per line instead of text; when a command fails, its last line is {"error": KIND, "message": TEXT}.

Exit status: 0 done; 1 the hardware failed (no reply, bad reply such as a bad checksum, port gone, busy or
not permitted); 2 bad usage (unknown protocol, bad option or fault spec); 3 a door did not do what it was
told (stayed shut after an unlock, or failed a test); 130 interrupted. Every failure prints one line on
stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from hal.cli import bus as bus_commands
from hal.cli.camera import add_camera_command
from hal.cli.decode import add_decode_command
from hal.cli.faults import FAULT_KEYS
from hal.cli.output import PROG, Output
from hal.cli.simulate import serve
from hal.lockboard import HalError, ProtocolUnavailable, known_protocols

__all__ = ["main"]

DEFAULT_PROTOCOL = "kerong-cu16"
EXIT_USAGE = bus_commands.EXIT_USAGE
EXIT_HARDWARE = bus_commands.EXIT_HARDWARE
EXIT_INTERRUPTED = bus_commands.EXIT_INTERRUPTED


def _whole(low: int, high: int | None, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 16) if text.strip().lower().startswith("0x") else int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            limit = f"{low}-{high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{what} must be {limit}, got {value}")
        return value

    return parse


def _seconds(*, zero_ok: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
        if not (value >= 0 if zero_ok else value > 0) or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be {'0 or more' if zero_ok else 'more than 0'} seconds, "
                                             f"got {text}")
        return value

    return parse


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


_BOARD = _whole(0, 255, "board")  # the protocol's driver checks its own range
_LOCK = _whole(1, 255, "lock")


def _board_span(text: str) -> range:
    """FIRST-LAST or a single board, e.g. "0-3"."""
    first, separator, last = text.partition("-")
    try:
        low = _BOARD(first)
        high = _BOARD(last) if separator else low
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected FIRST-LAST board addresses such as 0-3, got {text!r}") from None
    if high < low:
        raise argparse.ArgumentTypeError(f"FIRST must not be above LAST, got {text!r}")
    return range(low, high + 1)


def _option(text: str) -> tuple[str, object]:
    """NAME=VALUE: a whole number (0x.. too), a number, true/false, or else the text itself."""
    name, separator, value = text.partition("=")
    if not separator or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as timeout=0.3, got {text!r}")
    value = value.strip()
    parsed: object = value
    if value.lower() in ("true", "false"):
        parsed = value.lower() == "true"
    else:
        for parse in (int, lambda number: int(number, 0), float):
            try:
                parsed = parse(value)
                break
            except ValueError:
                continue
    return name.strip(), parsed


def _add_range(command: argparse.ArgumentParser) -> None:
    command.add_argument("--range", type=_board_span, metavar="FIRST-LAST",
                         help="the board addresses to probe (default: all the protocol can have, e.g. 0-15)")


def _common(option_dest: str) -> _OneLineParser:
    """The options accepted before or after the command. SUPPRESS keeps a later default from overwriting an
    earlier explicit value; --option collects into `option_dest`, a different list before and after the
    command, because a subcommand's value would otherwise replace the list given before it."""
    common = _OneLineParser(add_help=False)
    common.add_argument("--port", default=argparse.SUPPRESS,
                        help="the bus: /dev/ttyUSB0, socket://host:port, rfc2217://host:port")
    common.add_argument("--protocol", default=argparse.SUPPRESS,
                        help=f"board protocol (default {DEFAULT_PROTOCOL}; "
                             f"known: {', '.join(known_protocols())})")
    common.add_argument("--timeout", type=_seconds(zero_ok=False), default=argparse.SUPPRESS,
                        help="seconds to wait for each reply (the protocol's default; scan: 0.05)")
    common.add_argument("--retries", type=_whole(0, None, "retries"), default=argparse.SUPPRESS,
                        help="extra attempts per read (the protocol's default; scan: 0)")
    common.add_argument("--baudrate", type=_whole(1, None, "baudrate"), default=argparse.SUPPRESS,
                        help="the protocol's default unless given")
    common.add_argument("--hook-closed-bit", type=int, choices=(0, 1), default=argparse.SUPPRESS,
                        help="kerong-cu16: the hook bit value that means 'door closed' (default 1)")
    common.add_argument("--option", type=_option, action="append", default=argparse.SUPPRESS,
                        dest=option_dest, metavar="NAME=VALUE",
                        help="any other option of the protocol's driver (of its simulator for sim), e.g. "
                             "--option query_all_address=0xFF (repeatable)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="one JSON object per line instead of text")
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common("options_before")

    parser = _OneLineParser(prog=PROG, parents=[common], description="Lock boards, from the command line.",
                            epilog="Exit status: 0 done, 1 hardware failed, 2 bad usage, 3 a door did not "
                                   "do as told, 130 interrupted.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common("options_after")

    scan = commands.add_parser("scan", parents=[common], help="find the boards on the bus")
    _add_range(scan)

    status = commands.add_parser("status", parents=[common], help="read every lock of a board")
    status.add_argument("--board", type=_BOARD, help="board address (default: every board a scan finds)")
    _add_range(status)

    def confirm(command: argparse.ArgumentParser) -> None:
        command.add_argument("--confirm", type=_seconds(zero_ok=True), default=1.0, metavar="SECONDS",
                             help="how long to read the board until the door reads open (0: do not check; "
                                  "default 1)")

    unlock = commands.add_parser("open", parents=[common], help="unlock one lock and confirm the door opened")
    unlock.add_argument("--board", type=_BOARD, required=True, help="board address")
    unlock.add_argument("--lock", type=_LOCK, required=True, help="lock number as printed, from 1")
    confirm(unlock)

    unlock_all = commands.add_parser("open-all", parents=[common],
                                     help="unlock every lock of one board and confirm the doors opened")
    unlock_all.add_argument("--board", type=_BOARD, required=True, help="board address")
    confirm(unlock_all)

    watch = commands.add_parser("watch", parents=[common], help="print door changes until Ctrl-C")
    watch.add_argument("--board", type=_BOARD, action="append",
                       help="a board to watch (repeatable; default: every board a scan finds)")
    _add_range(watch)
    watch.add_argument("--interval", type=_seconds(zero_ok=False), default=0.2, metavar="SECONDS",
                       help="how often to read the boards when they do not push changes (default 0.2)")

    test = commands.add_parser("test", parents=[common],
                               help="open each lock of a board in turn and wait for it to be closed again")
    test.add_argument("--board", type=_BOARD, required=True, help="board address")
    test.add_argument("--lock", type=_LOCK, action="append",
                      help="a lock to test (repeatable; default: every lock of the board, in order)")
    test.add_argument("--wait-close", type=_seconds(zero_ok=False), default=30.0, metavar="SECONDS",
                      help="how long to wait for each door to be closed again (default 30)")
    confirm(test)

    sim = commands.add_parser(
        "sim", parents=[common], help="serve a simulated bus until Ctrl-C or SIGTERM",
        description="Serve a simulated bus of PROTOCOL on a pseudo-terminal or a TCP port.",
        epilog=f"--faults: comma-separated KEY=VALUE items, keys {', '.join(FAULT_KEYS)}; e.g. "
               "silent=1,garble=3,noise=2,delay=0.05,busy=0:2,jam=1:2,stick=0:3,open=0:1,parcel=0:5 "
               "(B = board, L = lock, N = a count, S = seconds; silent=all silences every board).")
    sim.add_argument("sim_protocol", metavar="PROTOCOL", help=f"one of: {', '.join(known_protocols())}")
    sim.add_argument("--boards", type=_whole(1, None, "boards"), default=2,
                     help="how many boards, numbered as the protocol numbers them (default 2)")
    sim.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (the default)")
    sim.add_argument("--tcp", type=_whole(0, 65535, "TCP port"), metavar="PORT",
                     help="serve on a TCP port (0: any free port)")
    sim.add_argument("--host", default="127.0.0.1", help="address for --tcp (default 127.0.0.1)")
    sim.add_argument("--faults", metavar="SPEC", help="faults to start with, e.g. silent=1,garble=3,jam=0:2")
    sim.add_argument("-v", "--verbose", action="store_true", help="print every frame and state change")

    # Cameras and codes need no bus: each sets `handler` to run instead of a bus command.
    add_camera_command(commands, common)
    add_decode_command(commands, common)
    return parser


_BUS_COMMANDS: dict[str, Callable[[argparse.Namespace, Output], int]] = {
    "scan": bus_commands.scan,
    "status": bus_commands.status,
    "open": bus_commands.open_one,
    "open-all": bus_commands.open_all,
    "watch": bus_commands.watch,
    "test": bus_commands.run_test,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed its one-line message (or the help)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    out = Output(json_mode=getattr(args, "json", False))
    args.option = [*getattr(args, "options_before", []), *getattr(args, "options_after", [])]
    try:
        if args.command == "sim":
            return serve(args, out)
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args, out))
        args.protocol = getattr(args, "protocol", DEFAULT_PROTOCOL)
        args.port = getattr(args, "port", None)
        if not args.port:
            return out.fail(EXIT_USAGE, f"{args.command} needs --port (e.g. --port /dev/ttyUSB0)",
                            error="usage")
        return _BUS_COMMANDS[args.command](args, out)
    except ProtocolUnavailable as exc:
        return out.fail(EXIT_USAGE, str(exc), error="usage")
    except ValueError as exc:
        return out.fail(EXIT_USAGE, str(exc), error="usage")
    except HalError as exc:
        return out.fail(EXIT_HARDWARE, bus_commands.describe_error(exc), error=bus_commands.error_kind(exc))
    except KeyboardInterrupt:
        return out.fail(EXIT_INTERRUPTED, "interrupted", error="interrupted")


if __name__ == "__main__":  # pragma: no cover - `python -m hal` runs hal/__main__.py
    sys.exit(main())

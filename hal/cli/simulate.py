"""`locker-hal sim PROTOCOL`: a simulated bus of any registered protocol, served until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from hal.cli.faults import apply_faults, parse_faults
from hal.cli.output import Output
from hal.lockboard import SimulatedBoards, make_simulator, simulator_options

EXIT_OK = 0
EXIT_CANNOT_SERVE = 1


def serve(args: argparse.Namespace, out: Output) -> int:
    # Read before anything starts, so a bad spec costs nothing.
    faults = parse_faults(args.faults) if args.faults is not None else []
    options: dict[str, Any] = {"boards": args.boards}
    accepted = simulator_options(args.sim_protocol)
    if hasattr(args, "hook_closed_bit"):
        if "hook_closed_bit" not in accepted:
            raise ValueError(f"--hook-closed-bit does not apply to protocol {args.sim_protocol}")
        options["hook_closed_bit"] = args.hook_closed_bit
    for name, value in getattr(args, "option", []):
        if name not in accepted:
            raise ValueError(f"--option {name}: the {args.sim_protocol} simulator has no such option "
                             f"(it takes: {', '.join(accepted)})")
        options[name] = value
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # Blocked before any serving thread starts, so every thread inherits the mask and sigwait below is the one
    # place the signal lands.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    simulator: SimulatedBoards | None = None
    try:
        simulator = make_simulator(args.sim_protocol, **options)
        apply_faults(simulator, faults)
        if args.verbose:
            simulator.add_listener(lambda event: _print_event(out, event))
        where = []
        if args.pty or args.tcp is None:
            where.append(simulator.serve_pty())
        if args.tcp is not None:
            where.append(f"socket://{args.host}:{simulator.serve_tcp(args.tcp, args.host)}")
        boards = f"{simulator.boards} board{'' if simulator.boards == 1 else 's'}"
        for place in where:
            out.say(f"serving {args.sim_protocol} ({boards}) on {place}",
                    {"event": "serving", "protocol": args.sim_protocol, "boards": simulator.boards,
                     "url": place})
        if faults:
            out.say(f"faults: {', '.join(fault.item for fault in faults)}",
                    {"event": "faults", "faults": [fault.item for fault in faults]})
        signal.sigwait(stop_signals)
        return EXIT_OK
    except OSError as exc:
        return out.fail(EXIT_CANNOT_SERVE, f"cannot serve: {exc}", error="cannot serve")
    finally:
        if simulator is not None:
            simulator.stop()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _print_event(out: Output, event: Any) -> None:
    parts = [f"{event.at:.3f}", str(event.kind)]
    if event.board is not None:
        parts.append(f"board {event.board}")
    if event.lock is not None:
        parts.append(f"lock {event.lock}")
    if event.value is not None:
        parts.append(str(event.value).lower())
    if event.frame:
        parts.append(event.frame.hex(" ").upper())
    out.say(" ".join(parts),
            {"event": str(event.kind), "at": event.at, "board": event.board, "lock": event.lock,
             "value": event.value, "frame": event.frame.hex(" ").upper() if event.frame else None})

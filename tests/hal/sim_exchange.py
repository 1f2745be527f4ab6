"""Talking to a simulated board over a port, as a driver would, for the simulator tests."""

from __future__ import annotations

import time

from hal.transport import SerialLike

REPLY_PATIENCE_S = 5.0  # a loaded machine may answer late; a reply that comes ends the wait at once


def exchange(port: SerialLike, request: bytes, reply_length: int) -> bytes:
    """Send, wait up to REPLY_PATIENCE_S for the reply to begin, then read up to `reply_length` bytes until
    a read of the port's short timeout brings nothing more (a reply may be shorter than asked for)."""
    port.write(request)
    deadline = time.monotonic() + REPLY_PATIENCE_S
    reply = port.read(reply_length)
    while not reply and time.monotonic() < deadline:
        reply = port.read(reply_length)
    while reply and len(reply) < reply_length:
        more = port.read(reply_length - len(reply))
        if not more:
            break
        reply += more
    return reply


def no_reply(port: SerialLike, request: bytes, reply_length: int) -> bytes:
    """Send, then one read of the port's own (short) timeout: what a driver waiting for a reply would get."""
    port.write(request)
    return port.read(reply_length)

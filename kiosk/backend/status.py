"""The one online/offline truth about the platform that the kiosk shows.

Every service that talks to the platform (outbox delivery, sync, heartbeat, remote commands, online
verification) reports each exchange here, from whatever thread it runs on. The rule:

- the platform answered (a verified reply, even a 4xx it signed: it is there, it just said no): online;
- no connection, a timeout, a 5xx, a reply that does not verify, garbage, a reply too large: offline.

The latest report wins, whichever service made it: the network is one, and a locker that could not reach
the platform a second ago is offline for the recipient at the screen now.

Listeners run on the event-loop thread (handed over with loop.call_soon_threadsafe), in the order the
changes happened, and only when `online` or `last_error` differ from before: a successful exchange every
few seconds does not repaint the screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.backend.remote import PlatformError, PlatformErrorKind
from kiosk.core.ports import Clock

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class LinkState:
    """`online`: None before any exchange; `last_error`: why the last exchange failed (one line), None once
    one succeeds; `last_contact_at`: when the platform last answered (clock time); `source`: the service
    whose report made this state (delivery, sync, heartbeat, commands, verify)."""

    online: bool | None = None
    last_error: str | None = None
    last_contact_at: float | None = None
    source: str | None = None


LinkListener = Callable[[LinkState], None]


def platform_answered(error: PlatformError) -> bool | None:
    """Whether a failed call still shows the platform is there: True when it answered with a verified
    refusal (4xx), False when it could not be reached or its reply cannot be trusted, None when nothing
    went over the wire (the client was closed, or refused the request itself)."""
    if error.kind is PlatformErrorKind.CLOSED:
        return None
    if error.status is None:
        # Only a request refused before sending is REJECTED without a status (e.g. too large to send).
        return None if error.kind is PlatformErrorKind.REJECTED else False
    if error.kind is PlatformErrorKind.UNAUTHORIZED and error.code is None:
        return False  # an unsigned 401: nothing of it verified, it may not be our platform at all
    return error.status < 500


class LinkStatus:
    """Thread-safe. `clock` dates the contacts. Listeners run on `loop` when given, else on the loop that
    was running where the LinkStatus was made, or where add_listener() was first called; with no loop at all
    (a script without asyncio) they are called directly by the reporting thread."""

    def __init__(self, clock: Clock, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._state = LinkState()
        self._listeners: list[LinkListener] = []
        self._loop = loop if loop is not None else _running_loop()

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the listeners run on, when the status was made before it ran (the kiosk is built before
        its loop starts). The services call this from their start(), before any worker thread reports."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = loop

    # what the services report ---------------------------------------------------------------------------

    def succeeded(self, source: str) -> None:
        """`source` exchanged with the platform: it answered."""
        self._change(source, online=True, error=None)

    def failed(self, source: str, reason: str) -> None:
        """`source` could not exchange with the platform; `reason` is made one line."""
        line = " ".join(str(reason).split())[:MAX_ERROR_CHARS] or "unknown failure"
        self._change(source, online=False, error=line)

    def report_error(self, source: str, error: PlatformError) -> None:
        """A call failed with `error`: succeeded() or failed() by the rule above; nothing when nothing went
        over the wire."""
        answered = platform_answered(error)
        if answered is True:
            self.succeeded(source)
        elif answered is False:
            self.failed(source, str(error))

    # what the screen reads -------------------------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        with self._lock:
            return self._state

    @property
    def online(self) -> bool | None:
        return self.state.online

    @property
    def last_error(self) -> str | None:
        return self.state.last_error

    @property
    def last_contact_at(self) -> float | None:
        return self.state.last_contact_at

    def add_listener(self, callback: LinkListener) -> None:
        """Call `callback(state)` on the event-loop thread whenever the state changes (not on every
        exchange)."""
        with self._lock:
            if self._loop is None:
                self._loop = _running_loop()
            self._listeners.append(callback)

    def remove_listener(self, callback: LinkListener) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    # ----------------------------------------------------------------------------------------------------

    def _change(self, source: str, *, online: bool, error: str | None) -> None:
        with self._lock:
            before = self._state
            contact = self._clock.now() if online else before.last_contact_at
            self._state = state = LinkState(online, error, contact, source)
            if (before.online, before.last_error) == (online, error):  # only the contact time moved
                return
            if before.online is not online:
                if online:
                    log.info("the platform is reachable (%s)", source)
                else:
                    log.info("the platform is unreachable (%s): %s", source, error)
            if not self._listeners:
                return
            if self._loop is None:
                listeners = list(self._listeners)
            else:
                # Scheduled under the lock, so listeners see the changes in the order they happened.
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
                    self._loop.call_soon_threadsafe(self._notify, state)
                return
        for listener in listeners:
            _call(listener, state)

    def _notify(self, state: LinkState) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            _call(listener, state)


def _call(listener: LinkListener, state: LinkState) -> None:
    try:
        listener(state)
    except Exception:  # a listener's bug never stops the services that report
        log.exception("a link status listener failed")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None

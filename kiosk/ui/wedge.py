"""Keyboard-wedge scanners anywhere in the kiosk: a scan becomes Intent.SCAN, typing still types.

A USB scanner in keyboard mode "types" what it read, a few milliseconds a key, and presses Enter. The
WedgeFilter, installed on the QApplication, holds back every printable key press (and Enter) for a moment
and lets kiosk.core.wedge decide: a burst that ends in Enter is a scan, and none of its keys reaches any
widget; anything else is typing, delivered in order to the widget it was meant for within about 50 ms.

Taps on the on-screen keypad are clicks, not key events, so a scan never disturbs digits tapped there.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

from kiosk.core.flows.views import Intent
from kiosk.core.wedge import (
    DEFAULT_MAX_GAP_S,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MIN_LENGTH,
    Decision,
    Dropped,
    Scanned,
    Typed,
    WedgeBurstDetector,
)
from kiosk.ui.widgets import IntentSink

log = logging.getLogger(__name__)

SCAN_SOURCE = "wedge"
# The decision about held keys falls due max_gap after the last one; the timer wakes this much later so a
# key that is about to arrive (already in the window system's queue) is still counted in.
DECISION_SLACK_MS = 5
MIN_POLL_MS = 5
RELEASE_LOOKBACK = 8
_ENTER_KEYS = frozenset({Qt.Key.Key_Return.value, Qt.Key.Key_Enter.value})
# Keys that only change what the next key types: they neither join nor break a burst.
_MODIFIER_KEYS = frozenset(key.value for key in (
    Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr, Qt.Key.Key_Meta,
    Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock, Qt.Key.Key_Super_L, Qt.Key.Key_Super_R,
))


def copy_key_event(event: QKeyEvent) -> QKeyEvent:
    """A fresh (so not spontaneous: the ActivityFilter has counted the original already) copy to replay."""
    copy = QKeyEvent(event.type(), event.key(), event.modifiers(), event.nativeScanCode(),
                     event.nativeVirtualKey(), event.nativeModifiers(), event.text(), event.isAutoRepeat(),
                     event.count())
    copy.setTimestamp(event.timestamp())
    return copy


@dataclass(eq=False)
class HeldKey:
    """A key press held back while the detector decides, with the releases of that key that came since."""

    target: QWidget
    press: QKeyEvent
    releases: list[QKeyEvent] = field(default_factory=list)

    @property
    def key(self) -> int:
        return self.press.key()

    @property
    def released(self) -> bool:
        return bool(self.releases)


class WedgeFilter(QObject):
    """Install on the QApplication. Scans go to `send` as Intent.SCAN(payload=text, source="wedge").

    It acts on key events delivered to widgets whether or not they are spontaneous: a scanner's keys arrive
    through the window system, send_scanner_burst() posts them. Its own replays carry a mark (their address,
    while they are being delivered) so they pass untouched.

    clock: monotonic seconds; tests pass their own to type "at human speed" without sleeping.
    """

    def __init__(
        self,
        send: IntentSink,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        min_length: int = DEFAULT_MIN_LENGTH,
        max_length: int = DEFAULT_MAX_LENGTH,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._send = send
        self.clock = clock
        self._detector: WedgeBurstDetector[HeldKey] = WedgeBurstDetector(max_gap_s, min_length, max_length)
        self._replaying: set[int] = set()
        # Keys of the last scan whose releases are still to come: swallowed like the presses were.
        self._scan_keys_down: collections.Counter[int] = collections.Counter()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._decide_held_keys)
        self.scans = 0
        self.keys_replayed = 0

    @property
    def holding(self) -> int:
        """Key presses held back now."""
        return self._detector.holding

    def flush(self) -> None:
        """Deliver everything held back now, as typing (e.g. before the filter is removed)."""
        self._timer.stop()
        self._apply(self._detector.flush())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(watched, QWidget):
            return False
        if not isinstance(event, QKeyEvent) or self._address(event) in self._replaying:
            return False
        try:
            if kind == QEvent.Type.KeyPress:
                return self._key_pressed(watched, event)
            return self._key_released(event)
        except Exception:
            # A filter that raises would lose the key; a failure here must never cost the visitor a key.
            log.exception("The keyboard-wedge filter failed on a key; delivering it as it is")
            return False

    def _key_pressed(self, target: QWidget, event: QKeyEvent) -> bool:
        key = event.key()
        if key in _MODIFIER_KEYS:
            return False
        is_enter = key in _ENTER_KEYS
        text = event.text()
        if event.isAutoRepeat() or not (is_enter or (text and text.isprintable())):
            # A key held down, Backspace, Escape, an arrow ...: no scanner sends those inside a scan. What is
            # held was typing, then, and goes first so the order stays as typed.
            self.flush()
            return False
        self._scan_keys_down.clear()
        held = HeldKey(target, copy_key_event(event))
        now = self.clock()
        if is_enter:
            decisions = self._detector.feed_enter(now, held)
        else:
            decisions = self._detector.feed_char(text, now, held)
        self._apply(decisions)
        if self._detector.last_swallowed:
            self._scan_keys_down[key] += 1
        self._schedule()
        event.accept()
        return True

    def _key_released(self, event: QKeyEvent) -> bool:
        if event.isAutoRepeat():
            return False
        key = event.key()
        # A key is let go right after it is pressed (or the next one, rolling over): look at the last few.
        for held in reversed(self._detector.held_tokens(last=RELEASE_LOOKBACK)):
            if held.key == key and not held.released:
                held.releases.append(copy_key_event(event))
                event.accept()
                return True
        if self._scan_keys_down[key] > 0:
            self._scan_keys_down[key] -= 1
            event.accept()
            return True
        return False

    def _decide_held_keys(self) -> None:
        self._apply(self._detector.poll(self.clock()))
        self._schedule()

    def _schedule(self) -> None:
        deadline = self._detector.deadline()
        if deadline is None:
            self._timer.stop()
            return
        wait_ms = math.ceil((deadline - self.clock()) * 1000) + DECISION_SLACK_MS
        self._timer.start(max(MIN_POLL_MS, wait_ms))

    def _apply(self, decisions: Sequence[Decision[HeldKey]]) -> None:
        for decision in decisions:
            if isinstance(decision, Scanned):
                self._scanned(decision.text, decision.tokens)
            elif isinstance(decision, Typed):
                for held in decision.tokens:
                    self._replay(held)
            elif isinstance(decision, Dropped):
                log.warning("Dropped a keyboard-wedge burst of more than %d characters (no scan is that "
                            "long)", self._detector.max_length)

    def _scanned(self, text: str, keys: Sequence[HeldKey]) -> None:
        self._scan_keys_down.update(held.key for held in keys if not held.released)
        self.scans += 1
        self._send(Intent.SCAN, payload=text, source=SCAN_SOURCE)

    def _replay(self, held: HeldKey) -> None:
        if not shiboken6.isValid(held.target):
            log.info("A key typed into a widget that has gone since is dropped")
            return
        for event in (held.press, *held.releases):
            address = self._address(event)
            self._replaying.add(address)
            try:
                QCoreApplication.sendEvent(held.target, event)
            finally:
                self._replaying.discard(address)
        self.keys_replayed += 1

    @staticmethod
    def _address(event: QEvent) -> int:
        address = shiboken6.getCppPointer(event)[0]
        assert isinstance(address, int)
        return address


def _key_for(char: str) -> tuple[int, Qt.KeyboardModifier]:
    """The Qt key code and modifiers a US-layout keyboard (as wedge scanners emulate) gives `char`."""
    modifiers = Qt.KeyboardModifier.NoModifier
    if char.isalpha() and char.isascii():
        if char.isupper():
            modifiers = Qt.KeyboardModifier.ShiftModifier
        return ord(char.upper()), modifiers
    code = ord(char)
    # Qt's key codes for Latin-1 characters are their code points; anything else has no key of its own.
    return (code if 0x20 <= code <= 0xFF else Qt.Key.Key_unknown.value), modifiers


def send_scanner_burst(target: QWidget, text: str) -> None:
    """Post the key events a USB keyboard-wedge scanner produces for `text`: each character, then Enter.

    They arrive as posted (not spontaneous) events on `target` and go the same way real scanner keys go:
    through the WedgeFilter, which turns them into one Intent.SCAN.
    """
    for char in text:
        key, modifiers = _key_for(char)
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QCoreApplication.postEvent(target, QKeyEvent(kind, key, modifiers, char))
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QCoreApplication.postEvent(target, QKeyEvent(kind, Qt.Key.Key_Return.value,
                                                     Qt.KeyboardModifier.NoModifier, "\r"))

"""The one QObject between core and Qt: core's listener calls become Qt signals on the GUI thread."""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, Signal

from kiosk.core.flows.api import Flows
from kiosk.core.flows.views import Intent, Screen
from kiosk.core.model import DoorState

log = logging.getLogger(__name__)

# A frame the preview has not painted by then is taken as lost (the window was covered, say), so a missed
# paint can never stop the preview for good; at worst one extra frame a second is in flight.
FRAME_LOST_AFTER_S = 1.0


class _FrameGate:
    """The state offer_frame shares between the camera's thread and the GUI thread, behind one lock.

    A plain Python object, not part of the QObject: it outlives the bridge's C++ side, so a camera thread
    still offering frames while the bridge is being destroyed finds the gate closed instead of a dead object.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()  # re-entrant: a directly connected slot may offer again
        self.wanted = False
        self.sent_at: float | None = None  # monotonic time of the frame not yet shown, if any
        self.dropped = 0
        self.closed = False

    def close(self) -> None:
        with self.lock:
            self.closed = True


class CoreBridge(QObject):
    """Listens to the flows (FlowListener) and forwards the user's intents to them.

    Signals are delivered on the thread this object lives in (the GUI thread): Qt queues an emission
    made from any other thread, so core may call on_screen/on_door from wherever its loop runs.

    Camera frames take the same road (offer_frame), but only while a screen shows the camera picture and
    only one at a time: a frame offered while the last one is still on its way to the screen is dropped, so
    frames never pile up on the GUI thread however slow it is.
    """

    screen_changed = Signal(object)  # Screen
    door_changed = Signal(str, object)  # compartment id, DoorState
    frame_ready = Signal(object)  # the latest camera picture: a BGR uint8 numpy array, height x width x 3

    def __init__(self, flows: Flows, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._flows = flows
        gate = self._frames = _FrameGate()
        # Emitted while the C++ object is still whole; once it has run, no thread emits on it again.
        self.destroyed.connect(gate.close)
        flows.add_listener(self)

    @property
    def flows(self) -> Flows:
        return self._flows

    def current_screen(self) -> Screen:
        return self._flows.screen

    # FlowListener
    def on_screen(self, screen: Screen) -> None:
        self.screen_changed.emit(screen)

    def on_door(self, compartment_id: str, state: DoorState) -> None:
        self.door_changed.emit(compartment_id, state)

    def send(self, intent: Intent, /, **arguments: object) -> None:
        """Forward one intent; a failure in the flows is logged, never allowed to take the screen down."""
        try:
            self._flows.intent(intent, **arguments)
        except Exception:
            log.exception("The flows failed on intent %s with %r", intent.name, arguments)

    # Camera preview
    @property
    def preview_frames_dropped(self) -> int:
        """Frames the camera offered while the one before was still on its way to the screen."""
        return self._frames.dropped

    def set_preview_wanted(self, wanted: bool) -> None:
        """Whether a screen is showing the camera picture now (the main window says so on screen changes)."""
        with self._frames.lock:
            self._frames.wanted = wanted
            # A frame sent to a preview that has gone will never be painted: start afresh either way.
            self._frames.sent_at = None

    def preview_wanted(self) -> bool:
        return self._frames.wanted

    def offer_frame(self, image: object) -> None:
        """Pass a camera frame on to the preview; safe to call from any thread (the camera's worker).

        Emits frame_ready only while a preview is wanted and the frame before has been shown; otherwise the
        frame is dropped (and counted in preview_frames_dropped when a preview was waiting for it).
        """
        now = time.monotonic()
        gate = self._frames
        with gate.lock:
            if gate.closed or not gate.wanted:
                return
            if gate.sent_at is not None and now - gate.sent_at < FRAME_LOST_AFTER_S:
                gate.dropped += 1
                return
            gate.sent_at = now
            # Under the lock, so the bridge cannot be destroyed halfway through (close() waits for it); from
            # another thread this only posts an event, it does not wait for the GUI thread.
            self.frame_ready.emit(image)

    def frame_shown(self) -> None:
        """The preview has painted (or set aside) the last frame: the next one may come."""
        with self._frames.lock:
            self._frames.sent_at = None

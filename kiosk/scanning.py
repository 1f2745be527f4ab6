"""Cameras and serial scanners -> the flows: decoding off the GUI thread, each code delivered once.

The camera's own thread hands every frame to the preview (when one is showing) and to a one-frame mailbox; a
decoder thread takes the newest frame from it, so decoding never holds up the camera or the screen, and a
slow decode skips frames instead of queueing them. What the screen shown now expects (ScanTarget) decides
which symbologies are looked for; while a door is open nothing is decoded at all. A code still in view is
delivered once (hal.codes.repeat.RepeatFilter); deliveries are scheduled on the asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hal.camera import Camera, Frame, Image
from hal.codes import LABEL_CODES, PERSON_CODES, Decoded, Symbology
from hal.codes.decode import CodeDecoder
from hal.codes.repeat import RepeatFilter
from kiosk.core.payloads import ScanTarget

log = logging.getLogger(__name__)

SYMBOLOGIES_FOR: dict[ScanTarget, frozenset[Symbology]] = {
    ScanTarget.NONE: frozenset(),
    ScanTarget.PERSON_CODES: PERSON_CODES,
    ScanTarget.PARCEL_LABELS: LABEL_CODES,
}
CONNECTION_CHECK_S = 0.25  # how often the decoder thread looks at the camera while no frame arrives
RECENT_READS = 64

Deliver = Callable[[bytes, str], None]  # payload, source ("camera" or "serial")


@dataclass(frozen=True)
class CodeRead:
    """One code handed to the flows, with the frame it came from (for the benchmarks and the service menu)."""

    decoded: Decoded
    frame_sequence: int
    captured_at: float  # time.monotonic() of the frame
    delivered_at: float  # time.monotonic() when it was handed to the event loop


class CameraScanner:
    """One camera and one decoder, feeding the flows. `start()` and `stop()` on the event-loop thread."""

    def __init__(
        self,
        camera: Camera,
        decoder: CodeDecoder,
        deliver: Deliver,
        *,
        on_connection: Callable[[bool], None] | None = None,
        repeat_window_s: float = 3.0,
    ) -> None:
        self.camera = camera
        self.decoder = decoder
        self._deliver = deliver
        self._on_connection = on_connection
        self._repeats = RepeatFilter(repeat_window_s)
        self._symbologies: frozenset[Symbology] = frozenset()
        self._frame_listeners: list[Callable[[Image], None]] = []
        self._mailbox: Frame | None = None
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = False
        self.frames_seen = 0
        self.frames_decoded = 0
        self.recent_reads: deque[CodeRead] = deque(maxlen=RECENT_READS)

    # configuration, from the event-loop thread ----------------------------------------------------------
    def set_target(self, target: ScanTarget) -> None:
        self._symbologies = SYMBOLOGIES_FOR[target]  # one reference swap: the decoder thread reads it as is

    def add_frame_listener(self, listener: Callable[[Image], None]) -> None:
        """Called with every frame on the camera's thread; must return quickly (the preview drops frames)."""
        self._frame_listeners.append(listener)

    @property
    def connected(self) -> bool:
        return self._connected

    # running ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._thread = threading.Thread(target=self._decode_forever, name="code-decoder", daemon=False)
        self._thread.start()
        self.camera.start(self._on_frame)

    def stop(self) -> None:
        self.camera.stop()
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # the camera's thread ---------------------------------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:
        for listener in self._frame_listeners:
            try:
                listener(frame.image)
            except Exception:
                log.exception("a camera frame listener failed")
        with self._wake:
            self._mailbox = frame  # an undecoded older frame is simply replaced
            self._wake.notify()

    # the decoder's thread --------------------------------------------------------------------------------
    def _decode_forever(self) -> None:
        while True:
            with self._wake:
                if not self._stopping and self._mailbox is None:
                    self._wake.wait(CONNECTION_CHECK_S)
                if self._stopping:
                    return
                frame, self._mailbox = self._mailbox, None
            self._check_connection()
            if frame is None:
                continue
            self.frames_seen += 1
            symbologies = self._symbologies
            if not symbologies:
                continue
            try:
                found = self.decoder.decode(frame.image, symbologies)
            except Exception:
                log.exception("decoding frame %d failed", frame.sequence)
                continue
            self.frames_decoded += 1
            for decoded in found:
                if self._repeats.fresh(decoded.symbology, decoded.payload, frame.captured_at):
                    self._hand_over(decoded, frame)

    def _check_connection(self) -> None:
        connected = self.camera.connected
        if connected != self._connected:
            self._connected = connected
            log.log(logging.INFO if connected else logging.WARNING, "camera %s %s", self.camera.source,
                    "delivers frames" if connected else "gives no frames")
            if self._on_connection is not None:
                self._call_on_loop(self._on_connection, connected)

    def _hand_over(self, decoded: Decoded, frame: Frame) -> None:
        self.recent_reads.append(CodeRead(decoded, frame.sequence, frame.captured_at, time.monotonic()))
        self._call_on_loop(self._deliver, decoded.payload, "camera")

    def _call_on_loop(self, function: Callable[..., None], *arguments: object) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(function, *arguments)
        except RuntimeError:  # the loop is closed: the kiosk is shutting down
            log.debug("event loop closed; dropped a camera event")

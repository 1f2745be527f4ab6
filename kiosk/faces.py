"""Face pickup on the kiosk: camera frames -> the face engine (a child process) -> quality, liveness and
agreement -> the flows. Implements kiosk.core.flows.pickup.PickupFaces.

The camera's thread only drops its newest frame into a one-frame mailbox (`offer_frame`); this object's own
thread takes it, asks the engine (hal.face.worker.FaceWorker, so dlib's GIL-holding work never stalls the
event loop), and reports to the flows on the event loop. What it does with a frame follows the screen
(`set_target`, from the flows' FaceTarget):
- WATCH (home, while an enrolled recipient has a parcel here): a usable face in a few frames in a row brings
  up pickup_face, with no tap.
- MATCH (pickup_face): every frame's landmarks feed the liveness check (a blink and a small head movement
  within a window); frames are encoded until `frames_to_agree` in a row name the same waiting recipient at or
  under the threshold; the face is tracked from frame to frame, and losing it starts everything again. Only a
  live, agreed face is reported (`face_matched`), after one more encoding of it still agrees.
- ENROL (face_enrol, after the recipient consented): good frames (one face, big and sharp enough) are encoded
  until `enrol_frames` are taken; they must agree with each other; the encodings are sealed (Fernet) and
  stored. Frames themselves are never kept: not in memory beyond the frame being analysed, never on disk.

The gallery is only the enrolled recipients with a parcel in this locker now, read and unsealed when
pickup_face is shown and dropped when it is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from kiosk.core.flows.views import FaceTarget
from kiosk.core.model import FaceEnrolFailure, FaceGuidance, FacePolicy
from kiosk.core.ports import Clock, Store

if TYPE_CHECKING:  # numpy and the face engine's parent side load only where face pickup is configured
    from hal.camera import Image
    from hal.face import Encoding, FaceBox, LocatedFace
    from hal.face.liveness import LivenessTracker
    from hal.face.worker import FaceAnalysis, FaceWorker
    from kiosk.face_vault import FaceVault

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.25  # home: how often a frame is searched for a face (each search costs ~30 ms of CPU)
WATCH_FRAMES = 2  # consecutive searches with a usable face before pickup_face comes up
ENROL_SPACING_S = 0.25  # between enrolment frames, so the person's small movements vary them a little
IDLE_CHECK_S = 0.25  # how often the thread looks at deadlines while no frame arrives
TRACK_MAX_JUMP = 0.6  # a face whose centre moved more than this many face widths between frames is another
ENGINE_IDLE_S = 600.0  # the engine's process (~180 MB) stops after this long with no face screen needing it
ENGINE_FAILURES_ALLOWED = 3  # failures in a row (it will not load, it keeps dying) before face pickup is off
RETENTION_CHECK_S = 6 * 3600.0  # how often unused enrolments are looked for (and once at start)
DAY_S = 86400.0


class FaceFlows(Protocol):
    """What this service tells the flows (KioskController), on the event loop."""

    def face_seen(self) -> None: ...

    def face_guidance(self, guidance: FaceGuidance) -> None: ...

    def face_matched(self, recipient_ref: str) -> None: ...

    def face_enrol_progress(self, frames_taken: int, guidance: FaceGuidance) -> None: ...

    def face_enrolled(self, attempt: int) -> None: ...

    def face_enrol_failed(self, attempt: int, failure: FaceEnrolFailure) -> None: ...


@dataclass
class _Enrolment:
    attempt: int
    recipient_ref: str
    started_at: float
    encodings: list[Encoding] = field(default_factory=list)
    last_taken_at: float = 0.0
    guidance: FaceGuidance | None = None


@dataclass
class _Matching:
    """One pickup_face visit: the gallery it may match, and what the frames so far have shown."""

    gallery: Mapping[str, Sequence[Encoding]]
    liveness: LivenessTracker
    agreed: list[str | None] = field(default_factory=list)  # the latest encoded frames' best matches
    last_box: FaceBox | None = None
    guidance: FaceGuidance | None = None
    reported: bool = False


@dataclass
class _Watching:
    in_a_row: int = 0
    last_search_at: float = 0.0
    reported: bool = False


class FacePickup:
    """Face pickup for one kiosk. `attach(flows)` before `start()`; `start()` and `stop()` on the event loop.

    `worker` is the face engine (a hal.face.worker.FaceWorker; made on first need when None). `face_key` (the
    secrets file's) makes the vault that seals the encodings at rest; without one nobody can be enrolled and
    faces enrolled before cannot be read, so face pickup is off.
    """

    def __init__(
        self,
        store: Store,
        policy: FacePolicy,
        face_key: bytes | None,
        clock: Clock,
        *,
        worker: FaceWorker | None = None,
        camera_present: Callable[[], bool] = lambda: True,
        engine_idle_s: float = ENGINE_IDLE_S,
    ) -> None:
        self._store = store
        self._policy = policy
        self._face_key = face_key
        self._vault: FaceVault | None = None  # made on first use: cryptography costs the idle kiosk ~10 MB
        self._clock = clock
        self._worker = worker
        self._owns_worker = worker is None  # one it makes, it closes; one it is given belongs to the giver
        self._camera_present = camera_present
        self._flows: FaceFlows | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Condition()
        self._stopping = False
        self._mailbox: tuple[Image, float] | None = None
        self._target = FaceTarget.NONE
        self._matching: _Matching | None = None
        self._enrolment: _Enrolment | None = None
        self._watching = _Watching()
        self._engine_failed = False
        self._engine_failures = 0
        self._engine_ready = False
        self._engine_idle_s = engine_idle_s
        self._unneeded_since: float | None = None
        self._retention: asyncio.TimerHandle | None = None
        self.frames_analysed = 0
        # Set (on the event loop) when the engine first analyses a frame: models loaded, working memory.
        self.engine_working: asyncio.Event | None = None
        self.longest_analysis_s = 0.0

    # wiring ------------------------------------------------------------------------------------------------
    def attach(self, flows: FaceFlows) -> None:
        self._flows = flows

    @property
    def vault(self) -> FaceVault | None:
        """The vault sealing enrolments at rest; None without a face key."""
        if self._vault is None and self._face_key is not None:
            from kiosk.face_vault import FaceVault

            self._vault = FaceVault(self._face_key)
        return self._vault

    @property
    def engine_ready(self) -> bool:
        """The face engine's models are loaded in its process."""
        return self._engine_ready

    @property
    def engine_pid(self) -> int | None:
        return self._worker.pid if self._worker is not None else None

    @property
    def usable(self) -> bool:
        """Face pickup can run here at all: enabled, a camera, a key, and the engine has not failed."""
        return (self._policy.enabled and self._face_key is not None and self._camera_present()
                and not self._engine_failed)

    # PickupFaces (the pickup chart asks) --------------------------------------------------------------------
    def face_pickup_ready(self) -> bool:
        if not self.usable:
            return False
        return bool(self._store.face_gallery())

    def can_enrol_faces(self) -> bool:
        return self.usable

    def request_enrolment(self, attempt: int, recipient_ref: str) -> None:
        if not self.usable:
            self._report(self._failed, attempt, FaceEnrolFailure.UNAVAILABLE)
            return
        with self._wake:
            self._enrolment = _Enrolment(attempt, recipient_ref, time.monotonic())
            self._wake.notify_all()

    def cancel_enrolment(self) -> None:
        with self._wake:
            self._enrolment = None

    # the screen (FlowListener via the app) ------------------------------------------------------------------
    def set_target(self, target: FaceTarget) -> None:
        """What the screen shown now wants; on the event loop. Entering pickup_face reads the gallery."""
        matching = None
        if target is FaceTarget.MATCH and (self._target is not FaceTarget.MATCH or self._matching is None):
            matching = self._new_matching()
            if matching is None:
                target = FaceTarget.NONE
        with self._wake:
            if target is self._target and matching is None:
                return
            self._target = target
            if target is FaceTarget.MATCH:
                self._matching = matching
            else:
                self._matching = None  # the gallery is dropped as soon as pickup_face is left
            if target is FaceTarget.WATCH:
                self._watching = _Watching()
            self._mailbox = None  # a frame taken for the last screen is not this one's
            self._wake.notify_all()  # the face thread starts the engine if this screen needs it

    def _new_matching(self) -> _Matching | None:
        from hal.face.liveness import LivenessTracker

        gallery = self._unsealed_gallery()
        if not gallery:
            return None
        return _Matching(gallery, LivenessTracker(window_s=self._policy.liveness_window_s))

    def _unsealed_gallery(self) -> dict[str, list[Encoding]]:
        from kiosk.face_vault import FaceVaultError

        vault = self.vault
        if vault is None:
            return {}
        gallery: dict[str, list[Encoding]] = {}
        for recipient_ref, sealed in self._store.face_gallery().items():
            try:
                gallery[recipient_ref] = [_as_array(encoding) for encoding in vault.unseal(sealed)]
            except FaceVaultError as error:
                log.error("the enrolled face of one recipient cannot be read (%s); it is skipped", error)
        return gallery

    # frames (the camera's thread) ---------------------------------------------------------------------------
    def offer_frame(self, image: Image) -> None:
        """The camera's newest frame; costs the camera nothing when no face screen is shown."""
        if self._target is FaceTarget.NONE:
            return
        with self._wake:
            self._mailbox = (image, time.monotonic())
            self._wake.notify()

    # running ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self.engine_working = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="face-pickup")
        self._thread.start()
        self._forget_unused()

    async def stop(self) -> None:
        if self._retention is not None:
            self._retention.cancel()
            self._retention = None
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        thread, self._thread = self._thread, None
        from kiosk.app import in_own_thread

        def finish() -> None:
            if thread is not None:
                thread.join()
            # Read only now: the face thread may have made the engine until the moment it ended.
            if self._owns_worker and self._worker is not None:
                self._worker.close()

        await in_own_thread("face-pickup-stop", finish)

    def _forget_unused(self) -> None:
        """Enrolments unused for `forget_after_days` are deleted: now, and every few hours."""
        now = self._clock.now()
        try:
            forgotten = self._store.forget_unused_faces(now - self._policy.forget_after_days * DAY_S, now)
        except Exception:
            log.exception("looking for unused face enrolments failed; trying again later")
        else:
            if forgotten:
                log.info("deleted %d face enrolment(s) unused for %d days", forgotten,
                         self._policy.forget_after_days)
        if self._loop is not None and not self._stopping:
            self._retention = self._loop.call_later(RETENTION_CHECK_S, self._forget_unused)

    def _engine_for(self, needed: bool, now: float) -> FaceWorker | None:
        """On the face thread, the only one that starts and stops the engine: started while a screen needs it
        (the models load while the recipient walks up), closed after `engine_idle_s` without need, which
        gives its memory back once nobody enrolled has a parcel here."""
        worker = self._worker
        if self._engine_failed:
            needed = False
            self._unneeded_since = now - self._engine_idle_s  # closed at once: it will not be used again
        if not needed:
            if worker is not None and worker.running:
                if self._unneeded_since is None:
                    self._unneeded_since = now
                if now - self._unneeded_since >= self._engine_idle_s:
                    log.info("face engine unused for %.0f s: stopped until a face screen needs it",
                             now - self._unneeded_since)
                    worker.close()
                    self._engine_ready = False
                    self._unneeded_since = None
            return None
        self._unneeded_since = None
        if worker is None:
            from hal.face.worker import FaceWorker

            worker = self._worker = FaceWorker()
        if not worker.running:
            self._engine_ready = False
            worker.start()
        return worker

    # the face thread ----------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._stopping and self._mailbox is None:
                    self._wake.wait(IDLE_CHECK_S)
                if self._stopping:
                    return
                taken, self._mailbox = self._mailbox, None
                target = self._target
                matching = self._matching
                enrolment = self._enrolment
            if target is FaceTarget.ENROL and enrolment is not None and self._enrolment_overdue(enrolment):
                continue
            try:
                worker = self._engine_for(target is not FaceTarget.NONE or enrolment is not None,
                                          time.monotonic())
                if worker is None or taken is None or target is FaceTarget.NONE:
                    continue
                image, seen_at = taken
                if not self._engine_ready:
                    # Frames that come while the models load are dropped ("look at the camera" meanwhile).
                    self._engine_ready = worker.wait_ready(IDLE_CHECK_S)
                    continue
                if target is FaceTarget.WATCH:
                    self._watch(image, seen_at)
                elif target is FaceTarget.MATCH and matching is not None:
                    self._match(matching, image, seen_at)
                elif target is FaceTarget.ENROL and enrolment is not None:
                    self._enrol(enrolment, image, seen_at)
            except ValueError as error:
                log.warning("a camera frame could not be analysed: %s", error)
            except Exception as error:  # the engine died or failed to load: FaceEngineUnavailable, OSError...
                self._engine_gone(error, enrolment if target is FaceTarget.ENROL else None)

    def _analyse(self, image: Image, *, encode: bool) -> FaceAnalysis:
        assert self._worker is not None
        analysis = self._worker.analyse(image, encode=encode)
        self._engine_failures = 0
        if self.frames_analysed == 0 and self.engine_working is not None:
            self._on_loop(self.engine_working.set)
        self.frames_analysed += 1
        self.longest_analysis_s = max(self.longest_analysis_s, analysis.took_s)
        return analysis

    def _engine_gone(self, error: Exception, enrolment: _Enrolment | None) -> None:
        self._engine_ready = False
        self._engine_failures += 1
        if self._engine_failures >= ENGINE_FAILURES_ALLOWED:
            log.error("the face engine failed %d times in a row (%s); face pickup is off until the kiosk "
                      "restarts, codes and QR codes still work", self._engine_failures, error)
            self._engine_failed = True
        else:
            log.error("the face engine failed (%s); it starts again with the next frame", error)
        with self._wake:
            matching = self._matching
        if matching is not None:
            self._lost(matching)  # what the dead engine saw counts for nothing
        if enrolment is not None:
            self._finish_enrolment(enrolment, FaceEnrolFailure.UNAVAILABLE)

    # WATCH -------------------------------------------------------------------------------------------------
    def _watch(self, image: Image, seen_at: float) -> None:
        watching = self._watching
        if watching.reported or seen_at - watching.last_search_at < WATCH_INTERVAL_S:
            return
        watching.last_search_at = seen_at
        analysis = self._analyse(image, encode=False)
        if self._guidance_for(analysis) in (FaceGuidance.NO_FACE, FaceGuidance.COME_CLOSER):
            watching.in_a_row = 0
            return
        watching.in_a_row += 1
        if watching.in_a_row >= WATCH_FRAMES:
            watching.reported = True
            self._report(lambda flows: flows.face_seen())

    # MATCH -------------------------------------------------------------------------------------------------
    def _match(self, matching: _Matching, image: Image, seen_at: float) -> None:
        if matching.reported:
            return
        needs_identity = len(matching.agreed) < self._policy.frames_to_agree
        analysis = self._analyse(image, encode=needs_identity)
        guidance = self._guidance_for(analysis)
        if guidance is not None:
            if guidance in (FaceGuidance.NO_FACE, FaceGuidance.ONE_FACE):
                # Whoever comes next (or who is in front now) starts from nothing.
                self._lost(matching)
            # Too far or blurred for a moment (a turn of the head blurs): skip the frame, keep what was seen.
            self._guide(matching, guidance)
            return
        face = analysis.faces[0]
        if not self._same_face(matching, face.box):
            self._lost(matching)  # someone else stepped in: nothing of the last face counts for this one
        matching.last_box = face.box
        status = matching.liveness.observe(face.landmarks, seen_at)
        if needs_identity:
            matching.agreed.append(self._best_recipient(matching, face))
        recipient = self._agreed_recipient(matching)
        if recipient is None:
            if len(matching.agreed) >= self._policy.frames_to_agree:
                if all(name is None for name in matching.agreed):
                    self._guide(matching, FaceGuidance.NOT_RECOGNISED)
                matching.agreed = matching.agreed[1:]  # keep encoding: the next frames may agree
            else:
                self._guide(matching, FaceGuidance.CHECKING)
            return
        if not status.blinked:
            self._guide(matching, FaceGuidance.BLINK)
            return
        if not status.moved:
            self._guide(matching, FaceGuidance.TURN_HEAD)
            return
        # Live and agreed: one more encoding of the face in view now must still be this recipient, so a live
        # face cannot borrow the identity of a photo shown a moment before.
        confirm = self._analyse(image, encode=True)
        if (self._guidance_for(confirm) is not None or not self._same_face(matching, confirm.faces[0].box)
                or self._best_recipient(matching, confirm.faces[0]) != recipient):
            self._lost(matching)
            return
        matching.reported = True
        self._report(lambda flows: flows.face_matched(recipient))

    def _best_recipient(self, matching: _Matching, face: LocatedFace) -> str | None:
        from hal.face import EncodedFace, best_match

        if not isinstance(face, EncodedFace):
            return None
        match = best_match(face.encoding, matching.gallery)
        if match is None or match.distance > self._policy.match_threshold:
            return None
        return match.key

    def _agreed_recipient(self, matching: _Matching) -> str | None:
        needed = self._policy.frames_to_agree
        latest = matching.agreed[-needed:]
        if len(latest) < needed or latest[0] is None or any(name != latest[0] for name in latest):
            return None
        return latest[0]

    @staticmethod
    def _same_face(matching: _Matching, box: FaceBox) -> bool:
        last = matching.last_box
        if last is None:
            return True
        (x0, y0), (x1, y1) = last.centre, box.centre
        jump = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        return jump <= TRACK_MAX_JUMP * max(last.width, 1) and 0.5 <= box.width / max(last.width, 1) <= 2.0

    @staticmethod
    def _lost(matching: _Matching) -> None:
        matching.agreed = []
        matching.last_box = None
        matching.liveness.reset()

    def _guide(self, matching: _Matching, guidance: FaceGuidance) -> None:
        if guidance is not matching.guidance:
            matching.guidance = guidance
            self._report(lambda flows: flows.face_guidance(guidance))

    # ENROL -------------------------------------------------------------------------------------------------
    def _enrol(self, enrolment: _Enrolment, image: Image, seen_at: float) -> None:
        if seen_at - enrolment.last_taken_at < ENROL_SPACING_S:
            return
        analysis = self._analyse(image, encode=True)
        guidance = self._guidance_for(analysis)
        face = analysis.faces[0] if analysis.faces else None
        from hal.face import EncodedFace

        if guidance is None and isinstance(face, EncodedFace):
            enrolment.encodings.append(face.encoding)
            enrolment.last_taken_at = seen_at
            guidance = FaceGuidance.CHECKING
        taken = len(enrolment.encodings)
        if guidance is not enrolment.guidance or guidance is FaceGuidance.CHECKING:
            enrolment.guidance = guidance
            shown = guidance or FaceGuidance.CHECKING
            self._report(lambda flows: flows.face_enrol_progress(taken, shown))
        if taken >= self._policy.enrol_frames:
            if self._consistent(enrolment.encodings):
                self._finish_enrolment(enrolment, None)
            else:
                self._finish_enrolment(enrolment, FaceEnrolFailure.INCONSISTENT)

    def _consistent(self, encodings: Sequence[Encoding]) -> bool:
        from hal.face import distance

        return all(distance(a, b) <= self._policy.match_threshold
                   for index, a in enumerate(encodings) for b in encodings[index + 1:])

    def _enrolment_overdue(self, enrolment: _Enrolment) -> bool:
        if time.monotonic() - enrolment.started_at <= self._policy.enrol_timeout_s:
            return False
        self._finish_enrolment(enrolment, FaceEnrolFailure.TIMED_OUT)
        return True

    def _finish_enrolment(self, enrolment: _Enrolment, failure: FaceEnrolFailure | None) -> None:
        with self._wake:
            if self._enrolment is not enrolment:
                return  # cancelled meanwhile
            self._enrolment = None
        if failure is not None:
            self._report(self._failed, enrolment.attempt, failure)
            return
        encodings = [tuple(float(value) for value in encoding) for encoding in enrolment.encodings]
        enrolment.encodings.clear()
        self._on_loop(self._save_enrolment, enrolment.attempt, enrolment.recipient_ref, encodings)

    def _save_enrolment(self, attempt: int, recipient_ref: str, encodings: list[tuple[float, ...]]) -> None:
        """On the event loop: seal and store; then the flows hear of it."""
        flows = self._flows
        if flows is None:
            return
        try:
            vault = self.vault
            assert vault is not None  # no enrolment starts without one
            self._store.save_face(recipient_ref, vault.seal(encodings), self._clock.now())
        except Exception:
            log.exception("an enrolled face could not be stored")
            flows.face_enrol_failed(attempt, FaceEnrolFailure.UNAVAILABLE)
            return
        flows.face_enrolled(attempt)

    @staticmethod
    def _failed(flows: FaceFlows, attempt: int, failure: FaceEnrolFailure) -> None:
        flows.face_enrol_failed(attempt, failure)

    # quality ------------------------------------------------------------------------------------------------
    @staticmethod
    def _guidance_for(analysis: FaceAnalysis) -> FaceGuidance | None:
        """What stops this frame being used, in words for the person; None: a good frame."""
        from hal.face.quality import FaceProblem, judge_analysis

        problem = judge_analysis(analysis)
        if problem is None:
            return None
        return {
            FaceProblem.NO_FACE: FaceGuidance.NO_FACE,
            FaceProblem.TOO_SMALL: FaceGuidance.COME_CLOSER,
            FaceProblem.SEVERAL: FaceGuidance.ONE_FACE,
            FaceProblem.BLURRED: FaceGuidance.HOLD_STILL,
        }[problem]

    # reporting to the flows (from the face thread) ----------------------------------------------------------
    def _report(self, call: Callable[..., None], *arguments: object) -> None:
        def deliver() -> None:
            if self._flows is not None and not self._stopping:
                call(self._flows, *arguments)

        self._on_loop(deliver)

    def _on_loop(self, function: Callable[..., None], *arguments: object) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the kiosk is shutting down
            loop.call_soon_threadsafe(function, *arguments)


def _as_array(encoding: Sequence[float]) -> Encoding:
    from hal.face.encoding import as_encoding

    return as_encoding(encoding)

"""kiosk.faces.FacePickup on its own: frames handed in as the camera's thread would, the real face engine in
its child process, a real SQLite store, and a recorder in place of the flows (it only notes what it is told).

The kiosk scenarios (tests/e2e/test_face_scenarios.py) cover pickup and enrolment through the screens; these
cover what a person at the screen cannot easily cause: frames of two people in one enrolment, an enrolment
that never gets a face, the engine dying mid-way, the retention clean-up, and a kiosk with no face key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from hal.camera import Image
from hal.face.worker import FaceWorker
from kiosk.core.clock import ManualClock
from kiosk.core.flows.views import FaceTarget
from kiosk.core.model import Compartment, FaceEnrolFailure, FaceGuidance, FacePolicy, Size
from kiosk.face_vault import FaceVault
from kiosk.faces import DAY_S, FacePickup
from kiosk.store import SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent / "hal" / "face"))
from face_augment import in_frame, load_face

LAYOUT = tuple(Compartment(f"A0{index}", Size.M, 0, index, 100, 1) for index in range(1, 4))
POLICY = FacePolicy(enrol_frames=3, enrol_timeout_s=20.0)
WAIT_S = 40.0  # the engine's child loads its models first (1-2 s; far longer on a busy machine)


def framed(person: str) -> Image:
    """The person's photo, enlarged as a face at arm's length is, in a camera-sized frame."""
    face = load_face(person)
    face = np.asarray(cv2.resize(face, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
    return in_frame(face, (640 - face.shape[1]) // 2, (480 - face.shape[0]) // 2)


EMPTY = np.full((480, 640, 3), 118, dtype=np.uint8)


class RecordingFlows:
    """What the face service told the flows, in order (it is called on the event loop)."""

    def __init__(self) -> None:
        self.told: list[tuple[str, object]] = []
        self.progress: list[tuple[int, FaceGuidance]] = []

    def face_seen(self) -> None:
        self.told.append(("seen", None))

    def face_guidance(self, guidance: FaceGuidance) -> None:
        self.told.append(("guidance", guidance))

    def face_matched(self, recipient_ref: str) -> None:
        self.told.append(("matched", recipient_ref))

    def face_enrol_progress(self, frames_taken: int, guidance: FaceGuidance) -> None:
        self.told.append(("progress", (frames_taken, guidance)))
        self.progress.append((frames_taken, guidance))

    def face_enrolled(self, attempt: int) -> None:
        self.told.append(("enrolled", attempt))

    def face_enrol_failed(self, attempt: int, failure: FaceEnrolFailure) -> None:
        self.told.append(("failed", (attempt, failure)))

    def of(self, kind: str) -> list[object]:
        return [value for told, value in self.told if told == kind]


@pytest.fixture(scope="module")
def worker() -> Iterator[FaceWorker]:
    """One engine for the module: each service under test uses it, and only the last test may end it."""
    engine = FaceWorker()
    engine.start()
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(tmp_path / "kiosk.sqlite", LAYOUT) as opened:
        yield opened


@dataclasses.dataclass
class Rig:
    service: FacePickup
    flows: RecordingFlows
    store: SqliteStore
    vault: FaceVault | None
    clock: ManualClock


def run_with(rig: Rig, scenario: Callable[[], object]) -> None:
    """Run the service on an event loop while `scenario` (a coroutine function) drives it; stop it after."""

    async def main() -> None:
        rig.service.start()
        try:
            await scenario()  # type: ignore[misc]
        finally:
            await rig.service.stop()

    asyncio.run(main())


async def until(condition: Callable[[], bool], what: str, feed: Callable[[], None] | None = None,
                timeout: float = WAIT_S) -> None:
    """Keep the loop (and, with `feed`, the camera) going until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if feed is not None:
            feed()
        await asyncio.sleep(0.02)  # one camera frame's worth of the loop's time, then look again


def make_rig(store: SqliteStore, worker: FaceWorker, *, policy: FacePolicy = POLICY,
             with_vault: bool = True) -> Rig:
    key = FaceVault.new_key() if with_vault else None
    clock = ManualClock()
    service = FacePickup(store, policy, key, clock, worker=worker)
    vault = service.vault
    flows = RecordingFlows()
    service.attach(flows)
    return Rig(service, flows, store, vault, clock)


# ---------------------------------------------------------------------------------------------------------

def test_an_enrolment_keeps_only_sealed_encodings_of_the_frames_taken(store: SqliteStore,
                                                                     worker: FaceWorker) -> None:
    rig = make_rig(store, worker)
    frame = framed("astronaut")

    async def scenario() -> None:
        rig.service.request_enrolment(7, "R-1")
        rig.service.set_target(FaceTarget.ENROL)
        await until(lambda: bool(rig.flows.of("enrolled") or rig.flows.of("failed")), "the enrolment",
                    feed=lambda: rig.service.offer_frame(frame))

    run_with(rig, scenario)
    assert rig.flows.of("enrolled") == [7]
    assert rig.flows.progress[-1][0] == POLICY.enrol_frames
    assert store.has_face("R-1")
    store.place_parcel("P-1", Size.M, "A01", "Ada", b"\x01" * 32, rig.clock.now(), recipient_ref="R-1")
    sealed = store.face_gallery()["R-1"]
    assert rig.vault is not None
    encodings = rig.vault.unseal(sealed)
    assert len(encodings) == POLICY.enrol_frames and all(len(encoding) == 128 for encoding in encodings)


def test_an_enrolment_of_two_different_people_saves_nothing(store: SqliteStore, worker: FaceWorker) -> None:
    rig = make_rig(store, worker)
    frames = [framed("astronaut"), framed("tom_hanks")]
    shown = [0]

    def feed() -> None:
        shown[0] += 1
        rig.service.offer_frame(frames[shown[0] // 8 % 2])  # about a third of a second each, in turn

    async def scenario() -> None:
        rig.service.request_enrolment(1, "R-1")
        rig.service.set_target(FaceTarget.ENROL)
        await until(lambda: bool(rig.flows.of("enrolled") or rig.flows.of("failed")), "the enrolment",
                    feed=feed)

    run_with(rig, scenario)
    assert rig.flows.of("failed") == [(1, FaceEnrolFailure.INCONSISTENT)]
    assert not store.has_face("R-1")


def test_an_enrolment_that_never_sees_a_face_times_out(store: SqliteStore, worker: FaceWorker) -> None:
    rig = make_rig(store, worker, policy=dataclasses.replace(POLICY, enrol_timeout_s=1.5))

    async def scenario() -> None:
        rig.service.request_enrolment(3, "R-1")
        rig.service.set_target(FaceTarget.ENROL)
        await until(lambda: bool(rig.flows.of("failed")), "the enrolment to give up",
                    feed=lambda: rig.service.offer_frame(EMPTY))

    run_with(rig, scenario)
    assert rig.flows.of("failed") == [(3, FaceEnrolFailure.TIMED_OUT)]
    assert FaceGuidance.NO_FACE in [guidance for _taken, guidance in rig.flows.progress]
    assert not store.has_face("R-1")


def test_a_cancelled_enrolment_saves_nothing_and_says_nothing(store: SqliteStore, worker: FaceWorker) -> None:
    rig = make_rig(store, worker)
    frame = framed("astronaut")

    async def scenario() -> None:
        rig.service.request_enrolment(4, "R-1")
        rig.service.cancel_enrolment()
        rig.service.set_target(FaceTarget.ENROL)
        fed = [0]

        def feed() -> None:
            fed[0] += 1
            rig.service.offer_frame(frame)

        await until(lambda: fed[0] > 50, "frames offered", feed=feed)

    run_with(rig, scenario)
    assert rig.flows.told == []
    assert not store.has_face("R-1")


def test_home_watches_for_a_face_and_says_so_once(store: SqliteStore, worker: FaceWorker) -> None:
    rig = make_rig(store, worker)
    frame = framed("tom_hanks")

    async def scenario() -> None:
        rig.service.set_target(FaceTarget.WATCH)
        await until(lambda: bool(rig.flows.of("seen")), "the face seen",
                    feed=lambda: rig.service.offer_frame(frame))
        fed = [0]

        def feed() -> None:  # the face stays in view a while longer
            fed[0] += 1
            rig.service.offer_frame(frame)

        await until(lambda: fed[0] > 30, "frames offered", feed=feed)

    run_with(rig, scenario)
    assert rig.flows.of("seen") == [None]


def test_without_a_face_key_nobody_is_enrolled(store: SqliteStore, worker: FaceWorker) -> None:
    rig = make_rig(store, worker, with_vault=False)

    async def scenario() -> None:
        assert not rig.service.can_enrol_faces()
        assert not rig.service.face_pickup_ready()
        rig.service.request_enrolment(2, "R-1")
        await until(lambda: bool(rig.flows.told), "the answer")

    run_with(rig, scenario)
    assert rig.flows.of("failed") == [(2, FaceEnrolFailure.UNAVAILABLE)]


def test_enrolments_unused_for_the_configured_days_are_deleted_at_start(store: SqliteStore,
                                                                       worker: FaceWorker) -> None:
    rig = make_rig(store, worker, policy=dataclasses.replace(POLICY, forget_after_days=30))
    assert rig.vault is not None
    sealed = rig.vault.seal([[0.01] * 128])
    now = rig.clock.now()
    store.save_face("R-OLD", sealed, now - 31 * DAY_S)
    store.save_face("R-RECENT", sealed, now - 29 * DAY_S)

    async def scenario() -> None:
        return None

    run_with(rig, scenario)
    assert not store.has_face("R-OLD")
    assert store.has_face("R-RECENT")
    assert [entry.details["reason"] for entry in store.audit_log() if entry.kind == "face_forgotten"] == [
        "unused"]


def test_the_engine_dying_fails_the_enrolment_and_a_new_one_starts_it_again(store: SqliteStore,
                                                                            worker: FaceWorker) -> None:
    rig = make_rig(store, worker)
    frame = framed("astronaut")
    killed = threading.Event()

    def feed() -> None:
        pid = worker.pid
        if not killed.is_set() and pid is not None and rig.service.engine_ready:
            os.kill(pid, signal.SIGKILL)
            killed.set()
        rig.service.offer_frame(frame)

    async def scenario() -> None:
        rig.service.set_target(FaceTarget.ENROL)
        rig.service.request_enrolment(5, "R-1")
        await until(lambda: bool(rig.flows.of("failed") or rig.flows.of("enrolled")), "the first enrolment",
                    feed=feed)
        rig.flows.told.clear()
        rig.service.request_enrolment(6, "R-1")
        await until(lambda: bool(rig.flows.of("failed") or rig.flows.of("enrolled")), "the second enrolment",
                    feed=lambda: rig.service.offer_frame(frame))

    run_with(rig, scenario)
    assert killed.is_set()
    assert rig.flows.of("enrolled") == [6]
    assert store.has_face("R-1")


def test_an_engine_no_screen_needs_stops_after_a_while_and_starts_again_when_one_does(
        store: SqliteStore) -> None:
    service = FacePickup(store, POLICY, FaceVault.new_key(), ManualClock(), engine_idle_s=0.5)
    rig = Rig(service, RecordingFlows(), store, service.vault, ManualClock())
    service.attach(rig.flows)
    frame = framed("tom_hanks")
    pids: list[int | None] = []

    async def scenario() -> None:
        service.set_target(FaceTarget.WATCH)
        await until(lambda: service.engine_ready, "the engine loaded",
                    feed=lambda: service.offer_frame(frame))
        pids.append(service.engine_pid)
        service.set_target(FaceTarget.NONE)  # home with nobody enrolled waiting: no face screen at all
        await until(lambda: service.engine_pid is None, "the engine stopped",
                    feed=lambda: service.offer_frame(frame))
        pids.append(service.engine_pid)
        service.set_target(FaceTarget.WATCH)
        await until(lambda: bool(rig.flows.of("seen")), "a face seen by a new engine",
                    feed=lambda: service.offer_frame(frame))
        pids.append(service.engine_pid)

    run_with(rig, scenario)
    assert pids[0] is not None and pids[1] is None and pids[2] not in (None, pids[0])
    assert service.engine_pid is None  # stop() closed the engine it made

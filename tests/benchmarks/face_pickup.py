"""`make bench`, the face part: error rates on the test set, face-in-frame -> unlock, stalls, memory.

- False accepts and false rejects of face matching on the committed test set (tests/data/faces: eight people)
  at a range of thresholds and at the shipped one ([face] match_threshold). Genuine pairs come from each
  person's photo changed as a kiosk camera changes faces (mirrored, lighter, darker, smaller, larger,
  blurred, tilted, all at once: tests/hal/face/face_augment.py) and from frames of the synthetic live
  sequence (a painted blink, a small head movement); impostor pairs are every pair of different people
  across all of those images.
- Face pickup on the real kiosk (offscreen, Kerong boards on a pseudo-terminal at 19200 baud, a 30 fps
  simulated camera): an enrolled recipient with a parcel waiting steps in front of the camera (a live
  sequence appears in the frames) -> the unlock frame at the board; no tap. The face engine runs in its
  child process, started by the kiosk as soon as an enrolled recipient has a parcel here; the runs start
  once it is loaded. The longest event-loop stall meanwhile.
- Resident memory of the kiosk process and of the face engine's process with the models loaded.

Run alone: `uv run python tests/benchmarks/face_pickup.py`.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "hal" / "face"))

from face_augment import AUGMENTATIONS, PEOPLE, load_face  # noqa: E402
from run import StallMeter, kerong_bus_on_a_pty, resident_kib, write_config  # noqa: E402

from kiosk.config import CameraConfig  # noqa: E402
from kiosk.core.model import FacePolicy  # noqa: E402

RUNS = 6
FACES = REPO / "tests" / "data" / "faces"
ENROLLED = ("astronaut", "tom_hanks")  # whose live sequences pass liveness (hal/face/live.py), in turn
LIVE_FRAMES_PER_PERSON = 6  # frames of each person's live sequence taken into the genuine pairs
THRESHOLDS = tuple(round(0.30 + 0.025 * step, 3) for step in range(13))  # 0.30 .. 0.60
CAMERA_FPS = CameraConfig("sim://unused").fps

Report = Callable[[str, list[float], str, str], None]


@dataclasses.dataclass(frozen=True)
class ErrorRates:
    threshold: float
    false_accepts: int
    impostor_pairs: int
    false_rejects: int
    genuine_pairs: int

    @property
    def far(self) -> float:
        return self.false_accepts / self.impostor_pairs

    @property
    def frr(self) -> float:
        return self.false_rejects / self.genuine_pairs


def test_set_encodings() -> dict[str, list[Any]]:
    """Per person: encodings of the photo, of each changed copy, and of frames of the live sequence."""
    from hal.face import FaceEncoder
    from hal.face.live import live_face_frames

    encoder = FaceEncoder()
    encodings: dict[str, list[Any]] = {}
    for person in PEOPLE:
        photo = load_face(person)
        images = [photo, *(augment(photo) for augment in AUGMENTATIONS.values())]
        sequence = live_face_frames(photo, encoder=encoder)
        step = max(1, len(sequence) // LIVE_FRAMES_PER_PERSON)
        images += sequence[::step][:LIVE_FRAMES_PER_PERSON]
        found = []
        for image in images:
            faces = encoder.encode(image)
            if len(faces) == 1:
                found.append(faces[0].encoding)
        encodings[person] = found
    return encodings


def error_rate_curve(encodings: dict[str, list[Any]]) -> list[ErrorRates]:
    from hal.face import distance

    genuine = [distance(a, b) for person in encodings
               for a, b in itertools.combinations(encodings[person], 2)]
    impostor = [distance(a, b) for first, second in itertools.combinations(encodings, 2)
                for a in encodings[first] for b in encodings[second]]
    return [ErrorRates(threshold, sum(value <= threshold for value in impostor), len(impostor),
                       sum(value > threshold for value in genuine), len(genuine))
            for threshold in sorted({*THRESHOLDS, FacePolicy().match_threshold})]


@dataclasses.dataclass(frozen=True)
class FaceMaterial:
    """What the QA side needs of the face engine, made in a process of its own so that the kiosk's process
    (this one) never loads dlib and its memory is the kiosk's own: the error-rate curve, each enrolled
    person's encoding, and their live sequences."""

    curve: list[ErrorRates]
    enrolments: dict[str, list[tuple[float, ...]]]
    live: dict[str, list[Any]]


def make_face_material() -> FaceMaterial:
    import cv2

    from hal.face import FaceEncoder
    from hal.face.live import live_face_frames

    encoder = FaceEncoder()
    enrolments, live = {}, {}
    for person in ENROLLED:
        photo = cv2.imread(str(FACES / f"{person}.jpg"))
        enrolments[person] = [tuple(float(value) for value in encoder.encode(photo)[0].encoding)]
        live[person] = live_face_frames(photo, encoder=encoder)
    return FaceMaterial(error_rate_curve(test_set_encodings()), enrolments, live)


def face_material() -> FaceMaterial:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(make_face_material).result()


@dataclasses.dataclass
class UnlockFigures:
    in_frame_to_unlock_ms: list[float] = dataclasses.field(default_factory=list)
    stall_ms: list[float] = dataclasses.field(default_factory=list)
    taps: list[float] = dataclasses.field(default_factory=list)
    engine_ready_s: float = 0.0


MEMORY_RUNS = 3


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def measure_memory(material: FaceMaterial) -> tuple[list[float], list[float]]:
    """The real kiosk (`kiosk.app --benchmark-start`, the demo layout, a camera decoding on home) with one
    enrolled recipient's parcel waiting, so it starts its face engine: resident memory of the kiosk's process
    and of the engine's, once the engine has analysed a frame (the kiosk says so on its standard output)."""
    from kiosk.config import load_config, load_or_create_secrets
    from kiosk.face_vault import FaceVault
    from kiosk.store import SqliteStore

    kiosk_mb: list[float] = []
    engine_mb: list[float] = []
    environment = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    for _ in range(MEMORY_RUNS):
        with tempfile.TemporaryDirectory() as scratch:
            config_path = write_config(Path(scratch))
            config = load_config(config_path)
            secrets = load_or_create_secrets(config.locker.secrets_file)
            assert secrets.face_key is not None
            person, encodings = next(iter(material.enrolments.items()))
            with SqliteStore.open(config.locker.database, config.compartments) as store:
                store.place_parcel("P-BENCH", config.compartments[0].size, config.compartments[0].id,
                                   "Bench Recipient", b"\x01" * 32, time.time(), recipient_ref=f"R-{person}")
                store.save_face(f"R-{person}", FaceVault(secrets.face_key).seal(encodings), time.time())
            process = subprocess.Popen(
                [sys.executable, "-m", "kiosk.app", "--config", str(config_path), "--windowed",
                 "--benchmark-start"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.PIPE, env=environment,
                text=True, cwd=REPO)
            assert process.stdout is not None and process.stdin is not None
            try:
                for expected in ("ready", "camera ready", "decoding", "face engine working"):
                    line = process.stdout.readline()
                    if not line.startswith(expected):
                        raise RuntimeError(f"kiosk did not report {expected!r}: {line!r}")
                engines = children_of(process.pid)
                if len(engines) != 1:
                    raise RuntimeError(f"one face engine process expected, found {engines}")
                engine_mb.append(resident_kib(engines[0]) / 1024)
                kiosk_mb.append(resident_kib(process.pid) / 1024)
            finally:
                process.stdin.close()  # the kiosk quits when its standard input closes
                process.wait(timeout=30)
    return kiosk_mb, engine_mb


def measure_unlocks(material: FaceMaterial) -> UnlockFigures:
    from PySide6.QtWidgets import QApplication

    from kiosk.testing.driver import KioskDriver, qasync_loop_on
    from kiosk.testing.plugin import make_test_config

    application = QApplication.instance() or QApplication([])
    assert isinstance(application, QApplication)
    figures = UnlockFigures()
    simulator, device, unlocks = kerong_bus_on_a_pty()
    with tempfile.TemporaryDirectory() as scratch, qasync_loop_on(application):
        config = make_test_config(Path(scratch), bus_url=device)
        config = dataclasses.replace(config, camera=CameraConfig("sim://bench-face-camera", fps=CAMERA_FPS))
        kiosk = KioskDriver(config, simulator)
        try:
            faces = kiosk.app.face_pickup
            assert faces is not None and faces.vault is not None
            for person, encodings in material.enrolments.items():
                kiosk.app.store.save_face(f"R-{person}", faces.vault.seal(encodings), kiosk.clock.now())
            started = time.monotonic()
            parcel = kiosk.seed_parcel("S", recipient="Bench Recipient", recipient_ref=f"R-{ENROLLED[0]}")
            kiosk.wait_until(lambda: faces.engine_ready, timeout=60, what="the face engine loaded")
            figures.engine_ready_s = time.monotonic() - started
            for run_number in range(RUNS):
                person = ENROLLED[run_number % len(ENROLLED)]
                if run_number:
                    parcel = kiosk.seed_parcel("S", recipient="Bench Recipient", recipient_ref=f"R-{person}")
                camera = kiosk.camera.simulator
                kiosk.wait_screen("home")
                unlocks.clear()
                stalls = StallMeter()
                taps = kiosk.taps
                # Scaled on this thread: the person walking up, not the kiosk's work.
                camera.show_sequence(material.live[person], height_fraction=0.75)
                shown = camera.latest_change_at
                stalls.start()
                kiosk.wait_until(unlocks.seen.is_set, timeout=30, what=f"the door for {person}'s face")
                figures.stall_ms.append(stalls.stop())
                figures.in_frame_to_unlock_ms.append((unlocks.at[0] - shown) * 1000)
                figures.taps.append(float(kiosk.taps - taps))
                kiosk.camera.clear()
                kiosk.wait_door_open(parcel.compartment)
                kiosk.sim.close_door(parcel.compartment)
                kiosk.wait_screen("thank_you")
                kiosk.tap("done_button")
        finally:
            kiosk.shutdown()
            simulator.stop()
    return figures


def run(report: Report) -> None:
    material = face_material()
    curve = material.curve
    shipped = FacePolicy().match_threshold
    first = curve[0]
    print(f"face matching on the test set: {len(PEOPLE)} people, {first.genuine_pairs} genuine and "
          f"{first.impostor_pairs} impostor pairs (face_recognition's own threshold is 0.6)")
    for rates in curve:
        marker = "  <- shipped" if rates.threshold == shipped else ""
        print(f"  threshold {rates.threshold:.3f}: false accepts {rates.far:7.3%} ({rates.false_accepts}), "
              f"false rejects {rates.frr:7.3%} ({rates.false_rejects}){marker}")
    figures = measure_unlocks(material)
    print(f"face engine started and loaded in {figures.engine_ready_s:.2f} s (a child process)")
    report("face in frame -> unlock frame (30 fps, pty)", figures.in_frame_to_unlock_ms, "ms",
           "blink and head turn included")
    report("face: longest event-loop stall per pickup", figures.stall_ms, "ms", "<= 50 ms")
    report("face: taps per pickup", figures.taps, "", "0")
    kiosk_mb, engine_mb = measure_memory(material)
    report("face: kiosk's process, models loaded", kiosk_mb, "MB", "the idle figure: models are not in it")
    report("face: the face engine's process", engine_mb, "MB", "")
    report("face: the two together", [a + b for a, b in zip(kiosk_mb, engine_mb, strict=True)], "MB", "")


if __name__ == "__main__":
    import os

    import run as bench  # tests/benchmarks/run.py: the shared report format

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    run(bench.report)

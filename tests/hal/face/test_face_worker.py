"""FaceWorker against a real child process: the same answers as the in-process encoder, a parent that never
stalls, clear errors, and no child or thread left behind.

Children that load the models (~1.5-2.5 s each): the module's worker, its restart after it is killed, and
one more started only if a test runs after the one that stops it. Two more are started and ended within a
fraction of a second while still loading, for the load timeout and close().
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from multiprocessing import Pipe
from pathlib import Path

import cv2
import numpy as np
import pytest
from face_augment import PEOPLE, in_frame, load_face

from hal.camera import Image
from hal.face import (
    EncodedFace,
    FaceAnalysis,
    FaceEncoder,
    FaceEngineUnavailable,
    FaceProblem,
    FaceWorker,
    judge_analysis,
    sharpness,
)
from hal.face.worker import serve

READY_TIMEOUT_S = 60.0


def enlarged(image: Image, factor: float) -> Image:
    return np.asarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC))


def process_gone(pid: int) -> bool:
    """True when no process (not even an unreaped zombie) has this id."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def engine() -> Iterator[FaceWorker]:
    """One worker for the module. The kill test leaves it stopped; the next test to need it starts it."""
    threads_before = set(threading.enumerate())
    worker = FaceWorker()
    yield worker
    pid = worker.pid
    worker.close()
    assert not worker.running and worker.pid is None
    assert pid is None or process_gone(pid)
    assert set(threading.enumerate()) <= threads_before


@pytest.fixture
def worker(engine: FaceWorker) -> FaceWorker:
    engine.start()
    assert engine.wait_ready(READY_TIMEOUT_S)
    return engine


def test_importing_hal_face_and_making_a_worker_load_neither_face_recognition_nor_dlib() -> None:
    code = """
        import sys
        import hal.face
        from hal.face import FaceWorker, judge, sharpness
        from hal.face.worker import FaceAnalysis
        worker = FaceWorker()
        assert worker.pid is None and not worker.running
        heavy = sorted(name for name in sys.modules if name.split(".")[0] in
                       ("face_recognition", "face_recognition_models", "dlib", "_dlib_pybind11", "PIL"))
        print(heavy)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("person", PEOPLE)
def test_each_face_is_found_and_encoded_as_the_in_process_encoder_does(
    worker: FaceWorker, encoder: FaceEncoder, person: str
) -> None:
    frame = in_frame(load_face(person), 200, 100)
    (expected,) = encoder.encode(frame)

    analysis = worker.analyse(frame, encode=True)

    assert isinstance(analysis, FaceAnalysis)
    (face,) = analysis.faces
    assert isinstance(face, EncodedFace)
    assert face.box == expected.box
    assert dict(face.landmarks) == dict(expected.landmarks)
    assert np.max(np.abs(face.encoding - expected.encoding)) < 1e-6
    assert analysis.sharpness == pytest.approx(sharpness(frame, expected.box))
    assert (analysis.width, analysis.height) == (640, 480)
    assert 0.0 < analysis.took_s < 5.0


def test_without_encode_the_faces_are_located_only(worker: FaceWorker, encoder: FaceEncoder) -> None:
    frame = in_frame(enlarged(load_face("t1_6"), 1.5), 150, 60)
    (expected,) = encoder.locate(frame)

    analysis = worker.analyse(frame, encode=False)

    (face,) = analysis.faces
    assert not isinstance(face, EncodedFace)
    assert face.box == expected.box
    assert judge_analysis(analysis) is None


def test_two_faces_side_by_side_are_several_and_only_the_biggest_is_encoded(
    worker: FaceWorker, encoder: FaceEncoder
) -> None:
    frame = np.full((480, 640, 3), 118, np.uint8)
    smaller, bigger = enlarged(load_face("t1_1"), 1.3), enlarged(load_face("t1_5"), 1.5)
    frame[40 : 40 + smaller.shape[0], 10 : 10 + smaller.shape[1]] = smaller
    frame[40 : 40 + bigger.shape[0], 320 : 320 + bigger.shape[1]] = bigger
    in_process = {face.box: face for face in encoder.encode(frame)}

    analysis = worker.analyse(frame, encode=True)

    assert len(analysis.faces) == 2
    first, second = analysis.faces
    assert first.box.left >= 320 and first.box.width > second.box.width  # biggest first, not left first
    assert isinstance(first, EncodedFace) and not isinstance(second, EncodedFace)
    assert np.max(np.abs(first.encoding - in_process[first.box].encoding)) < 1e-6
    assert judge_analysis(analysis) is FaceProblem.SEVERAL


def test_a_face_across_the_lobby_is_too_small(worker: FaceWorker) -> None:
    analysis = worker.analyse(in_frame(enlarged(load_face("t1_3"), 0.75), 300, 200), encode=False)
    assert len(analysis.faces) == 1
    assert judge_analysis(analysis) is FaceProblem.TOO_SMALL


def test_a_blurred_face_is_blurred(worker: FaceWorker) -> None:
    blurred = np.asarray(cv2.GaussianBlur(load_face("t1_4"), (0, 0), 1.5), dtype=np.uint8)
    analysis = worker.analyse(in_frame(enlarged(blurred, 1.5), 150, 60), encode=True)
    assert len(analysis.faces) == 1
    assert judge_analysis(analysis) is FaceProblem.BLURRED


def test_an_empty_frame_has_no_face_and_no_sharpness(worker: FaceWorker) -> None:
    analysis = worker.analyse(np.full((480, 640, 3), 118, np.uint8), encode=True)
    assert analysis.faces == () and analysis.sharpness == 0.0 and analysis.biggest is None
    assert judge_analysis(analysis) is FaceProblem.NO_FACE


def test_a_mirrored_view_and_an_odd_size_are_sent_as_they_look(
    worker: FaceWorker, encoder: FaceEncoder
) -> None:
    photo = load_face("t1_2")
    mirrored = photo[:, ::-1]  # not contiguous: copied before it is sent
    (expected,) = encoder.locate(mirrored)
    (face,) = worker.analyse(mirrored, encode=False).faces
    assert face.box == expected.box
    assert worker.analyse(np.zeros((1, 1, 3), np.uint8), encode=True).faces == ()


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((48, 64, 3), np.float32), "a frame must be 8-bit (uint8), not float32"),
        (np.zeros((48, 64), np.uint8), "a frame must be HxWx3 BGR colour, not shape (48, 64)"),
        (np.zeros((48, 64, 4), np.uint8), "a frame must be HxWx3 BGR colour, not shape (48, 64, 4)"),
        (np.zeros((0, 0, 3), np.uint8), "a frame must have pixels, not shape (0, 0, 3)"),
        ([[[0, 0, 0]]], "a frame must be a numpy array, not list"),
        (None, "a frame must be a numpy array, not NoneType"),
    ],
    ids=["float", "grey", "BGRA", "empty", "list", "None"],
)
def test_a_bad_frame_is_refused_with_the_encoders_message_and_the_worker_keeps_serving(
    worker: FaceWorker, encoder: FaceEncoder, frame: object, message: str
) -> None:
    pid = worker.pid
    with pytest.raises(ValueError) as in_worker:
        worker.analyse(frame, encode=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as in_process:
        encoder.encode(frame)  # type: ignore[arg-type]
    assert str(in_worker.value) == str(in_process.value) == message
    assert worker.pid == pid
    assert len(worker.analyse(load_face("t1_1"), encode=False).faces) == 1


def test_a_frame_the_child_cannot_read_is_a_value_error_there_and_the_child_keeps_serving(
    worker: FaceWorker,
) -> None:
    # The parent checks every frame, so only a damaged request reaches the child with a bad frame; sent here
    # through the worker's own request path.
    pid = worker.pid
    with worker._lock, pytest.raises(ValueError) as raised:
        worker._exchange(("analyse", 10, 10, True), b"short", time.monotonic() + 5.0, 5.0)
    assert str(raised.value) == "a frame of 5 bytes is not 10x10 BGR pixels"
    assert worker.pid == pid
    assert len(worker.analyse(load_face("t1_1"), encode=True).faces) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda worker: worker.analyse(np.zeros((4, 4, 3), np.uint8), encode=False, timeout_s=0),
         "timeout_s must be a number of seconds above 0, not 0"),
        (lambda worker: worker.analyse(np.zeros((4, 4, 3), np.uint8), encode=False, timeout_s=float("inf")),
         "timeout_s must be a number of seconds above 0, not inf"),
        (lambda worker: worker.wait_ready(-1), "timeout_s must be a number of seconds at least 0, not -1"),
        (lambda worker: FaceWorker(load_timeout_s=0), "load_timeout_s must be a number of seconds above 0"),
        (lambda worker: FaceWorker(detection_width=10), "detection_width must be a whole number of at least"),
    ],
    ids=["zero timeout", "endless timeout", "negative wait", "zero load timeout", "tiny detection width"],
)
def test_bad_settings_are_refused_with_one_line(worker: FaceWorker, call: object, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        call(worker)  # type: ignore[operator]
    assert str(raised.value).startswith(message)


def test_a_worker_not_started_says_so() -> None:
    idle = FaceWorker()
    with pytest.raises(FaceEngineUnavailable, match=r"^the face engine is not running: call start\(\)$"):
        idle.analyse(load_face("t1_1"), encode=False)
    with pytest.raises(FaceEngineUnavailable, match="not running"):
        idle.wait_ready(0)
    idle.close()  # nothing to close: no error


def test_the_child_holds_only_its_own_end_of_the_pipe(worker: FaceWorker) -> None:
    # Were a copy of the parent's end open in the child, the child would never see the pipe close when the
    # parent dies, and would stay an orphan.
    pid = worker.pid
    assert pid is not None
    fd_dir = Path(f"/proc/{pid}/fd")
    sockets = [fd for fd in fd_dir.iterdir() if os.readlink(fd).startswith("socket:")]
    assert len(sockets) == 1, [os.readlink(fd) for fd in fd_dir.iterdir()]


def test_loading_too_long_is_a_failure_while_a_short_wait_is_only_still_loading() -> None:
    threads_before = set(threading.enumerate())
    slow = FaceWorker(load_timeout_s=0.3)  # a child needs well over a second to import face_recognition
    slow.start()
    loading = slow.pid
    assert loading is not None
    with pytest.raises(FaceEngineUnavailable, match=r"^the face engine is still loading its models after"):
        slow.analyse(load_face("t1_1"), encode=False, timeout_s=0.05)
    assert slow.pid == loading  # still loading is no failure: the child is kept
    with pytest.raises(FaceEngineUnavailable, match=r"^the face engine did not load its models within 0.3"):
        slow.wait_ready(5.0)
    assert slow.pid is None and process_gone(loading)
    assert set(threading.enumerate()) <= threads_before


def test_close_ends_the_child_leaves_no_thread_and_may_be_repeated() -> None:
    threads_before = set(threading.enumerate())
    with FaceWorker() as worker:
        pid = worker.pid
        assert pid is not None and worker.running
        worker.start()  # idempotent: the same child
        assert worker.pid == pid
    assert worker.pid is None and not worker.running and process_gone(pid)
    worker.close()
    assert set(threading.enumerate()) <= threads_before


def test_the_serving_loop_leaves_when_the_parents_end_closes_or_the_parent_changes(
    encoder: FaceEncoder,
) -> None:
    # The child's loop, run on a thread of this process on a real pipe (the models are loaded here already).
    for parent_pid, close_parent_end in ((os.getpid(), True), (os.getpid() + 1_000_000, False)):
        parent_end, child_end = Pipe(duplex=True)
        loop = threading.Thread(
            target=serve, args=(child_end, parent_pid, 320), kwargs={"check_every_s": 0.02}
        )
        loop.start()
        try:
            assert parent_end.poll(READY_TIMEOUT_S)
            assert parent_end.recv()[0] == "ready"
            if close_parent_end:
                parent_end.close()  # what the kernel does to a dead parent's descriptors
            loop.join(5.0)
            assert not loop.is_alive()
        finally:
            if not parent_end.closed:
                parent_end.close()
            loop.join(5.0)
            child_end.close()


def test_the_parents_loop_never_stalls_while_the_engine_works(worker: FaceWorker) -> None:
    frame = in_frame(enlarged(load_face("t1_3"), 1.3), 120, 60)
    done = threading.Event()
    errors: list[BaseException] = []

    def analyse_ten_frames() -> None:
        try:
            for _ in range(10):
                worker.analyse(frame, encode=True)
        except BaseException as error:
            errors.append(error)
        finally:
            done.set()

    analyser = threading.Thread(target=analyse_ten_frames)
    longest_gap = 0.0
    last = time.perf_counter()
    analyser.start()
    while not done.wait(0.001):  # the event loop's tick: what a GUI thread would do meanwhile
        now = time.perf_counter()
        longest_gap = max(longest_gap, now - last)
        last = now
    analyser.join(READY_TIMEOUT_S)
    assert not errors
    assert longest_gap < 0.040, f"the main thread stalled {longest_gap * 1000:.0f} ms"


def test_a_killed_or_stuck_child_is_reported_forgotten_and_replaced_by_the_next_start(
    worker: FaceWorker,
) -> None:
    frame = load_face("t1_4")
    killed = worker.pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)

    with pytest.raises(FaceEngineUnavailable, match=r"^the face engine process died \(SIGKILL\)$"):
        worker.analyse(frame, encode=True)
    assert worker.pid is None and not worker.running and process_gone(killed)
    stopped_because = r"not running: call start\(\); it stopped because .*\(SIG"
    with pytest.raises(FaceEngineUnavailable, match=stopped_because):
        worker.analyse(frame, encode=True)

    worker.start()
    assert worker.wait_ready(READY_TIMEOUT_S)
    stuck = worker.pid
    assert stuck is not None and stuck != killed
    assert len(worker.analyse(frame, encode=True).faces) == 1

    os.kill(stuck, signal.SIGSTOP)  # alive, but it neither reads the frame nor answers
    asked_at = time.monotonic()
    no_answer = r"^the face engine did not (take a frame|answer) within 0.5 s"
    with pytest.raises(FaceEngineUnavailable, match=no_answer):
        worker.analyse(in_frame(frame, 100, 100), encode=True, timeout_s=0.5)
    assert time.monotonic() - asked_at < 3.0
    assert worker.pid is None and process_gone(stuck)

    # Left stopped: the `worker` fixture starts it again for any test that follows.

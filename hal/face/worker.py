"""FaceWorker: the face encoder in a child process, so dlib never holds the parent's GIL.

dlib holds the GIL for up to ~80 ms at a time; in the kiosk's process that would stall the Qt event loop
however the work is threaded. The child is a fresh interpreter (what multiprocessing's "spawn" starts), never
a fork: the parent runs Qt and other threads, and a forked copy of them is not safe to use.

    worker = FaceWorker()
    worker.start()                                        # returns at once; the child loads the models
    analysis = worker.analyse(frame.image, encode=True)   # from a worker thread: blocks ~30-130 ms
    ...
    worker.close()

Frames go down a socket pair (a 640x480 frame is 0.9 MB; never a file: no frame is ever written to disk); the
answers come back as plain tuples, rebuilt here into LocatedFace/EncodedFace. The child leaves by itself when
the parent's end of the pipe closes, which the kernel does when the parent dies, so no orphan stays.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from hal.camera import Image
from hal.face.encoder import (
    DEFAULT_DETECTION_WIDTH,
    FaceEncoder,
    FaceEngineUnavailable,
    _css,
    _dlib_lock,
    _load_engine,
    _rgb_of,
)
from hal.face.encoding import EncodedFace, FaceBox, LocatedFace, Point, as_encoding
from hal.face.quality import biggest_first, sharpness

__all__ = ["FaceAnalysis", "FaceWorker"]

DEFAULT_LOAD_TIMEOUT_S = 60.0
DEFAULT_ANALYSE_TIMEOUT_S = 5.0
# How often an idle child checks that its parent is still the one that started it, should the pipe somehow
# stay open after the parent's death (a copy of its end leaked into another process).
PARENT_CHECK_S = 1.0
# close(): how long a child is given to leave when asked, then to die when terminated.
STOP_GRACE_S = 2.0

# A fresh interpreter, as multiprocessing's "spawn" starts one, but without its re-import of the parent's
# __main__: `python -m kiosk` would start a second kiosk in the child, and any script without a main guard
# would run again there.
_CHILD_CODE = "import sys; from hal.face.worker import _child_main; _child_main(*sys.argv[1:])"

# One face as it crosses the pipe: left, top, right, bottom, landmarks, and the encoding or None.
_PlainFace = tuple[int, int, int, int, dict[str, tuple[Point, ...]], list[float] | None]


@dataclass(frozen=True)
class FaceAnalysis:
    """What the engine saw in one frame."""

    faces: tuple[LocatedFace, ...]  # biggest first; faces[0] is an EncodedFace when encoding was asked for
    sharpness: float  # hal.face.quality.sharpness of faces[0]; 0.0 when there is no face
    width: int  # the frame's size in pixels
    height: int
    took_s: float  # the child's compute time for this frame, without the trip through the pipe

    @property
    def biggest(self) -> LocatedFace | None:
        return self.faces[0] if self.faces else None


class FaceWorker:
    """The face engine in a child process. `analyse` and `wait_ready` block: call them from a worker thread.

    Thread-safe: one request is in the child at a time; other callers wait their turn. When the child fails
    to load, dies, or does not answer in time, the call raises FaceEngineUnavailable saying why, the child is
    killed and forgotten, and the next `start()` makes a fresh one.
    """

    def __init__(
        self,
        *,
        detection_width: int = DEFAULT_DETECTION_WIDTH,
        load_timeout_s: float = DEFAULT_LOAD_TIMEOUT_S,
    ) -> None:
        FaceEncoder(detection_width=detection_width)  # refuses a bad width here, not in the child
        _check_timeout("load_timeout_s", load_timeout_s)
        self.detection_width = detection_width
        self.load_timeout_s = float(load_timeout_s)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._send_socket: socket.socket | None = None  # the pipe's socket, to bound how long a send blocks
        self._ready = False
        self._load_deadline = 0.0
        self._last_failure: str | None = None
        self._request_ids = itertools.count(1)

    # lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the child if none is running; returns at once (the child then loads the models, ~1-2 s)."""
        with self._lock:
            if self._process is not None:
                return
            parent_socket, child_socket = socket.socketpair()
            try:
                process = subprocess.Popen(
                    [sys.executable, "-c", _CHILD_CODE, str(child_socket.fileno()), str(os.getpid()),
                     str(self.detection_width)],
                    pass_fds=(child_socket.fileno(),),
                    stdin=subprocess.DEVNULL,
                    env=_child_environment(),
                )
            except BaseException:
                parent_socket.close()
                raise
            finally:
                child_socket.close()  # the child has its copy; ours would keep the pipe open after it dies
            self._process = process
            self._connection = Connection(os.dup(parent_socket.fileno()))
            self._send_socket = parent_socket
            self._ready = False
            self._load_deadline = time.monotonic() + self.load_timeout_s
            self._last_failure = None

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until the child has loaded the models: True; False if still loading after timeout_s.

        Raises FaceEngineUnavailable when the worker is not started, the models failed to load, the child
        died, or load_timeout_s has passed since start().
        """
        _check_timeout("timeout_s", timeout_s, allow_zero=True)
        with self._lock:
            return self._await_ready(time.monotonic() + timeout_s)

    def close(self) -> None:
        """Stop the child and wait for it to go (asked, then terminated, then killed). Idempotent.

        Waits for a request in progress to finish first (at most its timeout).
        """
        with self._lock:
            process, connection = self._process, self._connection
            if process is None or connection is None:
                return
            if self._ready and process.poll() is None:
                try:
                    connection.send(("stop",))
                except OSError:
                    pass  # already gone
                else:
                    _wait(process, STOP_GRACE_S)
            self._end_child()
            self._last_failure = None

    def __enter__(self) -> FaceWorker:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        process = self._process
        return process is not None and process.poll() is None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs; None otherwise."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    # work ----------------------------------------------------------------------------------------
    def analyse(
        self, image: Image, *, encode: bool, timeout_s: float = DEFAULT_ANALYSE_TIMEOUT_S
    ) -> FaceAnalysis:
        """Find every face in the BGR frame (biggest first), encode the biggest one when `encode`, and measure
        its sharpness. Blocks for at most about timeout_s, including any wait for the models to load.

        Raises ValueError (one line) for anything that is not a non-empty HxWx3 uint8 frame, and
        FaceEngineUnavailable when the engine is not started, still loading after timeout_s, failed to load,
        died, or did not answer within timeout_s.
        """
        frame = _checked_frame(image)
        _check_timeout("timeout_s", timeout_s)
        height, width = frame.shape[:2]
        with self._lock:
            deadline = time.monotonic() + timeout_s
            if not self._await_ready(deadline):
                raise FaceEngineUnavailable(
                    f"the face engine is still loading its models after {timeout_s:g} s; try again shortly"
                )
            header = ("analyse", height, width, bool(encode))
            reply = self._exchange(header, frame.reshape(-1).data, deadline, timeout_s)
        return _analysis_of(reply)

    # inside the lock -----------------------------------------------------------------------------
    def _await_ready(self, deadline: float) -> bool:
        connection = self._connection
        if self._process is None or connection is None:
            reason = f"; it stopped because {self._last_failure}" if self._last_failure else ""
            raise FaceEngineUnavailable(f"the face engine is not running: call start(){reason}")
        if self._ready:
            return True
        wait_until = min(deadline, self._load_deadline)
        if not connection.poll(max(0.0, wait_until - time.monotonic())):
            if time.monotonic() >= self._load_deadline:
                raise self._fail(f"the face engine did not load its models within {self.load_timeout_s:g} s")
            return False
        message = self._receive()
        if message[0] == "ready":
            self._ready = True
            return True
        if message[0] == "failed":
            raise self._fail(str(message[1]))
        raise self._fail(f"the face engine sent {message[0]!r} before it was ready")

    def _exchange(
        self, header: tuple[Any, ...], payload: Any, deadline: float, timeout_s: float
    ) -> tuple[Any, ...]:
        """One request and its reply. `header` is (kind, *fields); the child gets (kind, request id, *fields)
        and then `payload` as raw bytes."""
        connection, send_socket = self._connection, self._send_socket
        assert connection is not None and send_socket is not None
        request_id = next(self._request_ids)
        try:
            # A stopped or wedged child stops reading, and a 0.9 MB frame does not fit in the pipe: bound the
            # send as well as the wait for the answer.
            # Half the time left: a send that times out part-way is retried once by Connection for the rest.
            _set_send_timeout(send_socket, max(0.001, (deadline - time.monotonic()) / 2))
            connection.send((header[0], request_id, *header[1:]))
            connection.send_bytes(payload)
        except OSError:
            reason = f"the face engine did not take a frame within {timeout_s:g} s"
            raise self._fail(self._death_or(reason)) from None
        if not connection.poll(max(0.0, deadline - time.monotonic())):
            raise self._fail(self._death_or(f"the face engine did not answer within {timeout_s:g} s"))
        reply = self._receive()
        if len(reply) < 2 or reply[1] != request_id:
            raise self._fail(f"the face engine answered {reply[:2]!r} to request {request_id}")
        if reply[0] == "value_error":
            raise ValueError(str(reply[2]))
        if reply[0] == "error":
            raise FaceEngineUnavailable(f"the face engine failed on this frame: {reply[2]}")
        if reply[0] != "result":
            raise self._fail(f"the face engine answered {reply[0]!r}")
        return reply

    def _receive(self) -> tuple[Any, ...]:
        assert self._connection is not None
        try:
            message = self._connection.recv()
        except (EOFError, OSError):
            raise self._fail(self._death_or("the face engine closed its pipe")) from None
        if not isinstance(message, tuple) or not message:
            raise self._fail(f"the face engine sent {type(message).__name__}, not a message")
        return message

    def _death_or(self, reason: str) -> str:
        """Why the child stopped answering: its exit when it has died, else `reason`."""
        process = self._process
        if process is None:
            return reason
        code = _wait(process, 0.2)  # a child that just died is reaped at once; a live one costs this much
        if code is None:
            return reason
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the face engine process died ({name})"
        return f"the face engine process exited with code {code}"

    def _fail(self, reason: str) -> FaceEngineUnavailable:
        """Kill and forget the child; the error to raise."""
        self._end_child()
        self._last_failure = reason
        return FaceEngineUnavailable(reason)

    def _end_child(self) -> None:
        process, connection, send_socket = self._process, self._connection, self._send_socket
        self._process = self._connection = self._send_socket = None
        self._ready = False
        if process is not None:
            if process.poll() is None:
                process.terminate()
                _wait(process, STOP_GRACE_S)
            if process.poll() is None:
                process.kill()  # a stopped (SIGSTOP) child does not act on SIGTERM until it is continued
                process.wait()
        if send_socket is not None:
            send_socket.close()
        if connection is not None:
            connection.close()


# the parent's side of the pipe ------------------------------------------------------------------
def _checked_frame(image: object) -> np.ndarray:
    """The frame, C-contiguous, or ValueError with the same one-line messages as FaceEncoder's."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"a frame must be a numpy array, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"a frame must be 8-bit (uint8), not {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"a frame must be HxWx3 BGR colour, not shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"a frame must have pixels, not shape {image.shape}")
    return np.ascontiguousarray(image)


def _check_timeout(name: str, value: object, *, allow_zero: bool = False) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not number or value < 0 or (value == 0 and not allow_zero):  # type: ignore[operator]
        bound = "at least 0" if allow_zero else "above 0"
        raise ValueError(f"{name} must be a number of seconds {bound}, not {value!r}")


def _child_environment() -> dict[str, str]:
    """The parent's environment, with this copy of `hal` first on the child's path, installed or not."""
    environment = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    paths = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = root + (os.pathsep + paths if paths else "")
    return environment


def _wait(process: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    """The child's exit code once it has exited within timeout_s, else None."""
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return None


def _set_send_timeout(send_socket: socket.socket, seconds: float) -> None:
    whole = int(seconds)
    send_socket.setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    )


def _analysis_of(reply: tuple[Any, ...]) -> FaceAnalysis:
    _, _, plain_faces, face_sharpness, width, height, took_s = reply
    faces: list[LocatedFace] = []
    for left, top, right, bottom, landmarks, encoding in plain_faces:
        box = FaceBox(left, top, right, bottom)
        if encoding is None:
            faces.append(LocatedFace(box, landmarks))
        else:
            faces.append(EncodedFace(box, landmarks, as_encoding(encoding)))
    return FaceAnalysis(tuple(faces), float(face_sharpness), int(width), int(height), float(took_s))


# the child --------------------------------------------------------------------------------------
def _child_main(connection_fd: str, parent_pid: str, detection_width: str) -> None:
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when the engine stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(Connection(int(connection_fd)), int(parent_pid), int(detection_width))


def serve(
    connection: Connection, parent_pid: int, detection_width: int, *, check_every_s: float = PARENT_CHECK_S
) -> None:
    """The child's loop: load the models, say so, then answer requests until asked to stop, the pipe closes,
    or the parent is gone (checked every `check_every_s` while idle). Runs in the child; public only so that
    it can be tested on a thread."""
    encoder = FaceEncoder(detection_width=detection_width)
    started = time.perf_counter()
    try:
        encoder.load()
    except FaceEngineUnavailable as error:
        _send_quietly(connection, ("failed", str(error)))
        return
    if not _send_quietly(connection, ("ready", time.perf_counter() - started)):
        return
    while True:
        try:
            if not connection.poll(check_every_s):
                if os.getppid() != parent_pid:
                    return
                continue
            request = connection.recv()
        except (EOFError, OSError):
            return
        if not isinstance(request, tuple) or not request or request[0] == "stop":
            return
        try:
            payload = connection.recv_bytes()
        except (EOFError, OSError):
            return
        kind, request_id, *fields = request
        if kind == "analyse":
            reply = _answer(encoder, request_id, payload, *fields)
        else:
            reply = ("error", request_id, f"unknown request {kind!r}")
        if not _send_quietly(connection, reply):
            return


def _answer(
    encoder: FaceEncoder, request_id: int, payload: bytes, height: int, width: int, encode: bool
) -> tuple[Any, ...]:
    started = time.perf_counter()
    try:
        faces, face_sharpness = _analyse_here(encoder, payload, height, width, encode)
    except ValueError as error:
        return ("value_error", request_id, str(error))
    except Exception as error:  # dlib's own failures: the frame is lost, the engine keeps serving
        return ("error", request_id, f"{type(error).__name__}: {error}")
    return ("result", request_id, faces, face_sharpness, width, height, time.perf_counter() - started)


def _analyse_here(
    encoder: FaceEncoder, payload: bytes, height: int, width: int, encode: bool
) -> tuple[list[_PlainFace], float]:
    if len(payload) != height * width * 3:
        raise ValueError(f"a frame of {len(payload)} bytes is not {height}x{width} BGR pixels")
    image = np.frombuffer(payload, dtype=np.uint8).reshape(height, width, 3)
    faces = biggest_first(encoder.locate(image))
    if not faces:
        return [], 0.0
    biggest_encoding: list[float] | None = None
    if encode:
        # Only the biggest face is encoded (~100 ms a face): a passer-by behind costs nothing. Its box and
        # full frame are what FaceEncoder.encode gives dlib, so the encoding is the same as in-process.
        engine = _load_engine()
        rgb = _rgb_of(image)
        with _dlib_lock:
            (encoding,) = engine.face_encodings(
                rgb, [_css(faces[0].box)], num_jitters=encoder.jitters, model="small"
            )
        biggest_encoding = as_encoding(encoding).tolist()
    plain = [_plain(face, biggest_encoding if index == 0 else None) for index, face in enumerate(faces)]
    return plain, sharpness(image, faces[0].box)


def _plain(face: LocatedFace, encoding: Sequence[float] | None) -> _PlainFace:
    box = face.box
    landmarks = {feature: tuple(points) for feature, points in face.landmarks.items()}
    return (box.left, box.top, box.right, box.bottom, landmarks, None if encoding is None else list(encoding))


def _send_quietly(connection: Connection, message: tuple[Any, ...]) -> bool:
    """Send; False when the parent's end is gone (the child then leaves)."""
    try:
        connection.send(message)
    except OSError:
        return False
    return True

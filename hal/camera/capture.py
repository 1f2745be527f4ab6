"""Cameras through OpenCV, each read by its own worker thread, and `open_camera` for any source string.

Sources (`open_camera` and `OpenCvCamera`):
- a device index ("0") or a device path ("/dev/video0", or a udev symlink to one): a V4L2 camera, asked for
  width x height at fps (the camera may give something else; its frames are delivered as they come);
- a video file: played at the file's own frame rate (or `fps` when the file does not say) and looped;
- a folder of .png/.jpg/.bmp images, or one image file: shown in name order at `fps`, cycled, each resized
  to width x height if it differs (so a folder of mixed photos still gives one frame size);
- "sim://NAME": the in-process camera registered under NAME (hal.camera.registry), e.g. a SimulatedCamera.

When a source fails (camera unplugged, file or folder gone) the camera reports `connected` False, logs one
warning, and reopens it with a growing pause (0.2 s doubling up to 5 s) until frames flow again. Frame
sequence numbers keep counting across reconnects. Delivered images are read-only.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from hal.camera import Camera, Frame, FrameSink, Image
from hal.camera.registry import registered_camera

__all__ = [
    "IMAGE_SUFFIXES",
    "SIM_SCHEME",
    "CameraInfo",
    "OpenCvCamera",
    "WorkerCamera",
    "as_bgr",
    "check_frame_settings",
    "list_cameras",
    "open_camera",
]

log = logging.getLogger(__name__)

SIM_SCHEME = "sim://"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp"})
FIRST_RETRY_S = 0.2
LAST_RETRY_S = 5.0
# A V4L2 read can block inside the driver (its own timeout is 10 s); stop() waits this long for the thread,
# then returns anyway, and the thread delivers nothing more when the read finally returns.
STOP_JOIN_S = 2.0
CALLBACK_FAILURE_REPORT_S = 10.0  # a callback that raises on every frame is logged once per this period
MAX_VIDEO_FPS = 240.0  # a file claiming more is lying (some containers store 1000 or 90000)
PROBE_TIMEOUT_S = 1.5
_DEVICE_NODE = re.compile(r"^/dev/video(\d+)$")


class _SourceLost(Exception):
    """The source gave no frame; `reason` is one readable line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_frame_settings(width: int, height: int, fps: float) -> None:
    """ValueError with one line unless the frame size and rate are usable."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= 8192:
            raise ValueError(f"camera {name} must be a whole number of pixels from 16 to 8192, got {value!r}")
    usable_rate = isinstance(fps, (int, float)) and not isinstance(fps, bool) and math.isfinite(fps)
    if not (usable_rate and 0 < fps <= 240):
        raise ValueError(f"camera fps must be more than 0 and at most 240, got {fps!r}")


def as_bgr(image: np.ndarray) -> Image:
    """`image` as BGR uint8 height x width x 3, from grey, one-channel, BGR or BGRA, 8 or 16 bits a pixel.

    Raises ValueError for anything else (an empty array, floats, a stack of images).
    """
    if image.size == 0:
        raise ValueError("the image is empty")
    if image.dtype == np.uint16:  # some cameras and PNGs: keep the top 8 bits
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"expected 8- or 16-bit pixels, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    raise ValueError(f"expected a grey, BGR or BGRA image, got an array of shape {image.shape}")


def _fit(image: Image, width: int, height: int) -> Image:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = image.shape[1] > width or image.shape[0] > height
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), dtype=np.uint8)


class _Run:
    """One start() .. stop() of a camera's worker thread."""

    def __init__(self) -> None:
        self.stopping = threading.Event()


class WorkerCamera:
    """What every camera here shares: one worker thread per start(), frame delivery, `connected`, sequence.

    A subclass implements `_produce(run, on_frame)`, which makes frames until `run.stopping` is set, handing
    each to `_deliver`.
    """

    def __init__(self, source: str) -> None:
        self._source = source
        # Guards the fields below and the subclasses' shared state; notified whenever any of it changes.
        self._state = threading.Condition()
        self._connected = False
        self._next_sequence = 0
        self._thread: threading.Thread | None = None
        self._run: _Run | None = None
        # Held while a frame is handed to on_frame, so stop() can wait out a callback that is running.
        self._delivering = threading.Lock()
        self._failed_callbacks = 0
        self._next_failure_report = 0.0

    @property
    def source(self) -> str:
        return self._source

    @property
    def connected(self) -> bool:
        with self._state:
            return self._connected

    def start(self, on_frame: FrameSink) -> None:
        """Start the worker thread and return at once; frames then go to `on_frame` on that thread."""
        with self._state:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError(f"camera {self._source} is already started")
            run = _Run()
            thread = threading.Thread(target=self._work, args=(run, on_frame), name=f"camera-{self._source}",
                                      daemon=False)
            self._run, self._thread = run, thread
        thread.start()

    def stop(self) -> None:
        """Stop and join the worker thread; no callback runs after this returns. Stopping twice is harmless.

        Called from inside `on_frame`, it returns at once and the thread ends when the callback returns.
        """
        with self._state:
            thread, run = self._thread, self._run
            if thread is None or run is None:
                return
            run.stopping.set()
            self._state.notify_all()
        if thread is threading.current_thread():
            return
        thread.join(STOP_JOIN_S)
        if thread.is_alive():
            log.warning("camera %s: the driver is stuck in a read; its thread ends when the read returns",
                        self._source)
            with self._delivering:  # a callback running now finishes; the thread delivers nothing after it
                pass
        with self._state:
            if self._thread is thread:
                self._thread = None
                self._run = None
            self._connected = False

    def _work(self, run: _Run, on_frame: FrameSink) -> None:
        try:
            self._produce(run, on_frame)
        except Exception:  # a bug here must not pass silently; the camera then simply stays disconnected
            log.exception("camera %s: the worker thread failed", self._source)
        finally:
            with self._state:
                self._connected = False
                self._state.notify_all()

    def _produce(self, run: _Run, on_frame: FrameSink) -> None:
        raise NotImplementedError

    def _take_sequence(self) -> int:
        """The next frame's sequence number; from here on the camera counts as connected."""
        with self._state:
            sequence = self._next_sequence
            self._next_sequence += 1
            self._connected = True
            return sequence

    def _deliver(self, run: _Run, frame: Frame, on_frame: FrameSink) -> None:
        frame.image.flags.writeable = False
        with self._delivering:
            if run.stopping.is_set():
                return
            try:
                on_frame(frame)
            except Exception:
                self._report_callback_failure()

    def _report_callback_failure(self) -> None:
        self._failed_callbacks += 1
        now = time.monotonic()
        if now >= self._next_failure_report:
            log.exception("camera %s: the frame callback raised (%d time(s) since the last report); "
                          "frames go on", self._source, self._failed_callbacks)
            self._failed_callbacks = 0
            self._next_failure_report = now + CALLBACK_FAILURE_REPORT_S


# ---------------------------------------------------------------------------------------------------------
# Sources


class _Reader(Protocol):
    # Seconds between frames to pace at; None when the device paces itself (its read blocks until a frame).
    frame_interval: float | None

    def read(self) -> Image:
        """The next frame, BGR; raises _SourceLost."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Source:
    kind: str  # "device", "video" or "images"
    path: Path | None  # device node, file or folder
    index: int | None  # a device index given as a number


def _classify(source: str) -> _Source:
    text = source.strip()
    if not text:
        raise ValueError("no camera source given (expected a device index such as 0, a device such as "
                         "/dev/video0, a video file or a folder of images)")
    if text.startswith(SIM_SCHEME):
        raise ValueError(f"{text} is a simulated camera: open it with open_camera()")
    if text.isdigit():
        return _Source("device", None, int(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return _Source("images", path, None)
    if path.is_file():
        return _Source("images" if path.suffix.lower() in IMAGE_SUFFIXES else "video", path, None)
    if text.startswith("/dev/"):  # a camera that is unplugged now may be plugged in later
        return _Source("device", path, None)
    raise ValueError(f"camera source {text!r} does not exist: expected a device index such as 0, a device "
                     f"such as /dev/video0, a video file or a folder of images")


def _device_capture(source: _Source) -> cv2.VideoCapture:
    """An opened capture of a camera device; raises _SourceLost."""
    if source.index is not None:
        node: str | None = f"/dev/video{source.index}"
        index: int | None = source.index
    else:
        assert source.path is not None
        node = os.path.realpath(source.path)  # /dev/v4l/by-id/... and udev names are symlinks to /dev/videoN
        match = _DEVICE_NODE.match(node)
        index = int(match.group(1)) if match else None
    on_linux = sys.platform.startswith("linux")
    # Checking first keeps OpenCV from printing its own warnings for a camera that is simply unplugged.
    if on_linux and node is not None and not os.path.exists(node):
        raise _SourceLost("no such device (unplugged?)")
    if index is not None:
        # This OpenCV's V4L2 backend opens cameras by index only, not by path.
        capture = cv2.VideoCapture(index, cv2.CAP_V4L2 if on_linux else cv2.CAP_ANY)
    else:
        capture = cv2.VideoCapture(str(source.path), cv2.CAP_ANY)
    if not capture.isOpened():
        capture.release()
        raise _SourceLost("the device does not open as a camera (busy, or not a capture device?)")
    return capture


class _DeviceReader:
    frame_interval: float | None = None

    def __init__(self, source: _Source, width: int, height: int, fps: float) -> None:
        self._capture = _device_capture(source)
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._capture.set(cv2.CAP_PROP_FPS, fps)

    def read(self) -> Image:
        ok, image = self._capture.read()
        if not ok or image is None:
            raise _SourceLost("the device stopped delivering frames (unplugged?)")
        return np.asarray(image)

    def close(self) -> None:
        self._capture.release()


class _VideoReader:
    def __init__(self, path: Path, fps: float) -> None:
        self._path = path
        self._capture = self._open()
        self._frames_this_pass = 0
        file_fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        rate = file_fps if 0 < file_fps <= MAX_VIDEO_FPS else fps
        self.frame_interval: float | None = 1.0 / rate

    def _open(self) -> cv2.VideoCapture:
        if not self._path.is_file():
            raise _SourceLost("no such file")
        capture = cv2.VideoCapture(str(self._path))
        if not capture.isOpened():
            capture.release()
            raise _SourceLost("cannot read it as a video")
        return capture

    def read(self) -> Image:
        ok, image = self._capture.read()
        if not ok or image is None:
            if self._frames_this_pass == 0:
                raise _SourceLost("the video has no readable frames")
            # The end: play it again from the file, which also notices a file that is gone meanwhile.
            self._capture.release()
            self._capture = self._open()
            self._frames_this_pass = 0
            ok, image = self._capture.read()
            if not ok or image is None:
                raise _SourceLost("the video has no readable frames")
        self._frames_this_pass += 1
        return np.asarray(image)

    def close(self) -> None:
        self._capture.release()


class _ImagesReader:
    """A folder of images shown in name order and cycled (re-listed each cycle), or a single image file."""

    def __init__(self, path: Path, width: int, height: int, fps: float, source_text: str) -> None:
        self._path = path
        self._folder = path.is_dir()
        self._width = width
        self._height = height
        self._source_text = source_text
        self.frame_interval: float | None = 1.0 / fps
        self._pending: list[Path] = []
        self._listed = 0
        self._unreadable_reported: set[Path] = set()

    def _list(self) -> list[Path]:
        if not self._folder:
            if not self._path.is_file():
                raise _SourceLost("no such file")
            return [self._path]
        try:
            images = sorted(entry for entry in self._path.iterdir()
                            if entry.suffix.lower() in IMAGE_SUFFIXES and entry.is_file())
        except OSError as exc:
            raise _SourceLost(f"cannot list the folder ({exc.strerror or exc})") from exc
        if not images:
            raise _SourceLost("no .png, .jpg or .bmp images in the folder")
        return images

    def read(self) -> Image:
        failures = 0
        while True:
            if not self._pending:
                self._pending = self._list()
                self._listed = len(self._pending)
            path = self._pending.pop(0)
            image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
            if image is not None:
                return _fit(as_bgr(np.asarray(image)), self._width, self._height)
            if not (self._path.is_dir() if self._folder else self._path.is_file()):
                raise _SourceLost("the folder is gone" if self._folder else "no such file")
            if path not in self._unreadable_reported:
                self._unreadable_reported.add(path)
                log.warning("camera %s: cannot read %s as an image; skipping it", self._source_text,
                            path.name)
            failures += 1
            if failures > self._listed:
                raise _SourceLost("none of its images can be read")

    def close(self) -> None:
        self._pending = []


class OpenCvCamera(WorkerCamera):
    """A camera device, a video file or a folder of images (see the module's docstring), read by a worker
    thread named "camera-<source>".

    Raises ValueError when `source` cannot be a camera at all (empty, or a path that is neither a device, a
    file nor a folder); a device that is merely unplugged is waited for.
    """

    def __init__(self, source: str, width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        check_frame_settings(width, height, fps)
        self._kind = _classify(source)
        super().__init__(source.strip())
        self.width = width
        self.height = height
        self.fps = float(fps)
        self._problem: str | None = None

    @property
    def last_problem(self) -> str | None:
        """Why frames are not flowing (one line), while they are not; None once they do."""
        with self._state:
            return self._problem

    def _open_reader(self) -> _Reader:
        if self._kind.kind == "device":
            return _DeviceReader(self._kind, self.width, self.height, self.fps)
        assert self._kind.path is not None
        if self._kind.kind == "video":
            return _VideoReader(self._kind.path, self.fps)
        return _ImagesReader(self._kind.path, self.width, self.height, self.fps, self._source)

    def _produce(self, run: _Run, on_frame: FrameSink) -> None:
        retry_in = FIRST_RETRY_S
        lost_since: float | None = None  # None while frames flow (or before the first attempt)
        while not run.stopping.is_set():
            try:
                reader = self._open_reader()
                try:
                    next_due = time.monotonic()
                    while not run.stopping.is_set():
                        image = as_bgr(reader.read())
                        captured_at = time.monotonic()
                        sequence = self._take_sequence()
                        if lost_since is not None:
                            self._note_back(lost_since)
                            lost_since = None
                            retry_in = FIRST_RETRY_S
                        self._deliver(run, Frame(image, captured_at, sequence), on_frame)
                        if reader.frame_interval is not None:
                            # Behind schedule (a slow callback): carry on from now rather than catch up.
                            next_due = max(next_due + reader.frame_interval, time.monotonic())
                            run.stopping.wait(next_due - time.monotonic())
                finally:
                    reader.close()
            except _SourceLost as lost:
                lost_since = self._note_lost(lost.reason, lost_since)
            except (cv2.error, ValueError, OSError) as exc:  # a driver or a file misbehaving, not our bug
                lost_since = self._note_lost(str(exc).strip().splitlines()[-1] or type(exc).__name__,
                                             lost_since)
            if run.stopping.wait(retry_in):
                return
            retry_in = min(retry_in * 2, LAST_RETRY_S)

    def _note_lost(self, reason: str, lost_since: float | None) -> float:
        with self._state:
            self._connected = False
            self._problem = reason
            self._state.notify_all()
        if lost_since is None:  # one warning per outage, not one per attempt
            log.warning("camera %s: %s; retrying until it is back", self._source, reason)
            return time.monotonic()
        log.debug("camera %s: still unavailable: %s", self._source, reason)
        return lost_since

    def _note_back(self, lost_since: float) -> None:
        with self._state:
            self._problem = None
        log.info("camera %s: frames again after %.1f s", self._source, time.monotonic() - lost_since)


def open_camera(source: str, width: int = 640, height: int = 480, fps: float = 30.0) -> Camera:
    """The camera for `source` (see the module's docstring); not started yet.

    Raises ValueError with one line when the source cannot be a camera (empty, a path that does not exist and
    is no device, a sim:// name nobody registered) or the size or rate is unusable. A sim:// camera keeps its
    own size and rate.
    """
    text = source.strip()
    if text.startswith(SIM_SCHEME):
        name = text[len(SIM_SCHEME):].strip("/")
        camera = registered_camera(name)
        if camera is None:
            raise ValueError(f"no simulated camera registered as {name!r} "
                             f"(sim:// cameras exist only inside the process that registered them)")
        return camera
    return OpenCvCamera(source, width, height, fps)


# ---------------------------------------------------------------------------------------------------------
# Discovery


@dataclass(frozen=True)
class CameraInfo:
    path: str  # what open_camera and `--device` take
    name: str | None = None  # the driver's name for the device, where the system says
    opens: bool = False
    width: int | None = None  # the frame size it opens with
    height: int | None = None
    problem: str | None = None  # why it does not open


def list_cameras(*, device_dir: Path = Path("/dev"), timeout: float = PROBE_TIMEOUT_S) -> list[CameraInfo]:
    """The video devices of this machine, each opened briefly to read its frame size. Never raises.

    On Linux these are `device_dir`/video*; elsewhere, indexes 0-9 that open. A device whose driver does not
    answer within `timeout` is listed as not opening (its probe thread is left to finish on its own).
    """
    try:
        if sys.platform.startswith("linux") or device_dir != Path("/dev"):
            nodes = sorted(device_dir.glob("video*"), key=_node_order)
            return [_probe(str(node), partial(_open_node, node), timeout) for node in nodes]
        found = [_probe(str(index), partial(cv2.VideoCapture, index), timeout) for index in range(10)]
        return [info for info in found if info.opens]
    except Exception as exc:  # listing is a diagnostic: it reports, it does not fail
        log.warning("listing cameras failed: %s", exc)
        return []


def _node_order(node: Path) -> tuple[int, str]:
    digits = re.sub(r"\D", "", node.name)
    return (int(digits) if digits else sys.maxsize, node.name)


def _open_node(node: Path) -> cv2.VideoCapture:
    match = _DEVICE_NODE.match(os.path.realpath(node))
    if match and sys.platform.startswith("linux"):
        return cv2.VideoCapture(int(match.group(1)), cv2.CAP_V4L2)
    return cv2.VideoCapture(str(node), cv2.CAP_ANY)


def _device_name(path: str) -> str | None:
    match = _DEVICE_NODE.match(os.path.realpath(path))
    if not match:
        return None
    try:
        return Path(f"/sys/class/video4linux/video{match.group(1)}/name").read_text().strip() or None
    except OSError:
        return None


def _probe(path: str, opener: Callable[[], cv2.VideoCapture], timeout: float) -> CameraInfo:
    answer: list[CameraInfo] = []

    def probe() -> None:
        name = _device_name(path)
        try:
            capture = opener()
            try:
                if not capture.isOpened():
                    answer.append(CameraInfo(path, name, problem="does not open as a camera"))
                    return
                width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) or None
                height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) or None
                answer.append(CameraInfo(path, name, opens=True, width=width, height=height))
            finally:
                capture.release()
        except Exception as exc:
            answer.append(CameraInfo(path, name, problem=str(exc).strip().splitlines()[-1] or "failed"))

    # A driver can hang in open(); daemon, so a stuck probe never keeps the process from exiting.
    thread = threading.Thread(target=probe, name=f"camera-probe-{path}", daemon=True)
    thread.start()
    thread.join(timeout)
    if answer:
        return answer[0]
    return CameraInfo(path, _device_name(path), problem=f"did not answer within {timeout:g} s")

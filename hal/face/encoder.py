"""FaceEncoder: face_recognition (dlib's HOG detector, 68 landmarks, ResNet encoder), loaded on first use.

Detection, the costly search over the whole frame, runs on a copy downscaled to `detection_width` pixels wide
(320 by default: half of a 640x480 frame), which a face at kiosk distance still fills well; the boxes found
are scaled back, and landmarks and encodings are computed on the full frame, where the eyes have the most
pixels. Measured here (2 cores), a 640x480 frame: `locate` about 30 ms, `encode` about 75 ms more per face.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from types import ModuleType
from typing import Any

import cv2
import numpy as np

from hal.camera import Image
from hal.face.encoding import EncodedFace, FaceBox, LocatedFace, Point, as_encoding

__all__ = ["DEFAULT_DETECTION_WIDTH", "FaceEncoder", "FaceEngineUnavailable"]

DEFAULT_DETECTION_WIDTH = 320
MIN_DETECTION_WIDTH = 64
MAX_UPSAMPLE = 3  # each doubles the detection image; past 3 a frame takes seconds
MAX_JITTERS = 100

_load_lock = threading.Lock()
_engine: ModuleType | None = None
# face_recognition keeps one detector, predictor and encoder for the whole process; dlib does not promise
# that they may run on two threads at once.
_dlib_lock = threading.Lock()


class FaceEngineUnavailable(RuntimeError):
    """face_recognition, dlib or the face models cannot be loaded on this machine."""


def _load_engine() -> ModuleType:
    global _engine
    with _load_lock:
        if _engine is None:
            try:
                with warnings.catch_warnings():
                    # face_recognition_models imports pkg_resources, which warns that it is deprecated.
                    warnings.simplefilter("ignore", UserWarning)
                    warnings.simplefilter("ignore", DeprecationWarning)
                    _engine = importlib.import_module("face_recognition")
            except SystemExit:
                # face_recognition prints a hint and calls quit() when face_recognition_models fails to import
                # (e.g. setuptools 81 or later: no pkg_resources).
                raise FaceEngineUnavailable(
                    "face_recognition cannot load its models: face_recognition_models needs setuptools<81"
                ) from None
            except (ImportError, OSError) as error:  # OSError: a shared library dlib needs is missing
                raise FaceEngineUnavailable(f"face_recognition cannot be loaded: {error}") from None
        return _engine


def _rgb_of(image: object) -> Image:
    """The BGR frame as a new RGB array, what dlib reads; ValueError (one line) for anything else."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"a frame must be a numpy array, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"a frame must be 8-bit (uint8), not {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"a frame must be HxWx3 BGR colour, not shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"a frame must have pixels, not shape {image.shape}")
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2RGB), dtype=np.uint8)


class FaceEncoder:
    """Finds faces in BGR frames and encodes them. Not for the GUI thread: each call takes 30 ms and more.

    Safe to share between threads (calls into dlib are serialised). Construction is cheap and loads nothing;
    the first call, or `load()`, imports face_recognition and dlib and reads the models (about a second).
    """

    def __init__(
        self, *, detection_width: int = DEFAULT_DETECTION_WIDTH, upsample: int = 1, jitters: int = 1
    ) -> None:
        """`detection_width`: frames wider than this are searched for faces at this width.
        `upsample`: how many times dlib doubles the detection image (finds faces down to ~40 px at 1).
        `jitters`: how many perturbed copies of a face are averaged into its encoding (slower, steadier).
        """
        if type(detection_width) is not int or detection_width < MIN_DETECTION_WIDTH:
            raise ValueError(f"detection_width must be a whole number of at least {MIN_DETECTION_WIDTH} px")
        if type(upsample) is not int or not 0 <= upsample <= MAX_UPSAMPLE:
            raise ValueError(f"upsample must be a whole number from 0 to {MAX_UPSAMPLE}")
        if type(jitters) is not int or not 1 <= jitters <= MAX_JITTERS:
            raise ValueError(f"jitters must be a whole number from 1 to {MAX_JITTERS}")
        self.detection_width = detection_width
        self.upsample = upsample
        self.jitters = jitters

    @property
    def loaded(self) -> bool:
        return _engine is not None

    def load(self) -> None:
        """Load face_recognition and its models now (e.g. in a worker at start-up); FaceEngineUnavailable if
        they cannot be loaded."""
        _load_engine()

    def detection_size(self, width: int, height: int) -> tuple[int, int]:
        """The (width, height) a frame of this size is searched for faces at."""
        if width <= self.detection_width:
            return width, height
        return self.detection_width, max(1, round(height * self.detection_width / width))

    def locate(self, image: Image) -> list[LocatedFace]:
        """Each face in the BGR frame with its box and landmarks, left to right; [] when there is none.

        Raises ValueError for anything that is not a non-empty HxWx3 uint8 frame.
        """
        rgb = _rgb_of(image)
        engine = _load_engine()
        with _dlib_lock:
            boxes = self._detect(engine, rgb)
            landmarks = engine.face_landmarks(rgb, [_css(box) for box in boxes], model="large")
        return [LocatedFace(box, _points_of(marks)) for box, marks in zip(boxes, landmarks, strict=True)]

    def encode(self, image: Image) -> list[EncodedFace]:
        """As `locate`, with each face's encoding."""
        rgb = _rgb_of(image)
        engine = _load_engine()
        with _dlib_lock:
            boxes = self._detect(engine, rgb)
            locations = [_css(box) for box in boxes]
            landmarks = engine.face_landmarks(rgb, locations, model="large")
            encodings = engine.face_encodings(rgb, locations, num_jitters=self.jitters, model="small")
        faces = []
        for box, marks, encoding in zip(boxes, landmarks, encodings, strict=True):
            faces.append(EncodedFace(box, _points_of(marks), as_encoding(encoding)))
        return faces

    def _detect(self, engine: Any, rgb: Image) -> list[FaceBox]:
        height, width = rgb.shape[:2]
        small_width, small_height = self.detection_size(width, height)
        small = rgb
        if small_width != width:
            small = np.asarray(cv2.resize(rgb, (small_width, small_height), interpolation=cv2.INTER_AREA))
        x_scale, y_scale = width / small_width, height / small_height
        boxes = []
        for top, right, bottom, left in engine.face_locations(small, self.upsample, model="hog"):
            box = FaceBox(
                left=max(0, round(left * x_scale)),
                top=max(0, round(top * y_scale)),
                right=min(width, round(right * x_scale)),
                bottom=min(height, round(bottom * y_scale)),
            )
            if box.width > 0 and box.height > 0:
                boxes.append(box)
        return sorted(boxes, key=lambda box: (box.left, box.top))


def _css(box: FaceBox) -> tuple[int, int, int, int]:
    """The box in face_recognition's order: (top, right, bottom, left)."""
    return (box.top, box.right, box.bottom, box.left)


def _points_of(marks: dict[str, list[tuple[int, int]]]) -> dict[str, tuple[Point, ...]]:
    return {feature: tuple((int(x), int(y)) for x, y in points) for feature, points in marks.items()}

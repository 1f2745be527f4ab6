"""What the encoder returns for a face, and the comparisons between encodings (plain numpy, no dlib)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

ENCODING_SIZE = 128

Encoding = npt.NDArray[np.float64]  # shape (ENCODING_SIZE,)
Point = tuple[int, int]  # (x, y) in the frame's pixels

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class FaceBox:
    """Where a face is, in the pixels of the full frame given to the encoder (right and bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)


@dataclass(frozen=True)
class LocatedFace:
    box: FaceBox
    # dlib's 68 points grouped by feature, as face_recognition names them: chin, left_eyebrow, right_eyebrow,
    # nose_bridge, nose_tip, left_eye, right_eye, top_lip, bottom_lip. "left_eye" is the one on the image's
    # left (the person's right). Each eye is 6 points clockwise from its corner on the image's left:
    # corner, two on the upper lid, the other corner, two on the lower lid (what a blink test measures).
    landmarks: Mapping[str, tuple[Point, ...]]


@dataclass(frozen=True)
class EncodedFace(LocatedFace):
    encoding: Encoding


@dataclass(frozen=True)
class Match(Generic[Key]):
    key: Key
    distance: float


def as_encoding(value: object) -> Encoding:
    """The value as a float64 encoding; ValueError (one line) for anything that is not one."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        message = f"a face encoding must be {ENCODING_SIZE} numbers, not {type(value).__name__}"
        raise ValueError(message) from None
    if array.shape != (ENCODING_SIZE,):
        raise ValueError(f"a face encoding must be {ENCODING_SIZE} numbers, not shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("a face encoding must be finite numbers, not NaN or infinity")
    return array


def distance(a: Encoding, b: Encoding) -> float:
    """Euclidean distance between two encodings: 0 for the same, smaller means more alike."""
    return float(np.linalg.norm(as_encoding(a) - as_encoding(b)))


def best_match(encoding: Encoding, gallery: Mapping[Key, Sequence[Encoding]]) -> Match[Key] | None:
    """The gallery entry nearest to `encoding`, by its nearest encoding; None when the gallery has none.

    No threshold is applied: whether the nearest is near enough is the caller's decision. Raises ValueError
    when `encoding` or any encoding in the gallery is not one.
    """
    probe = as_encoding(encoding)
    keys: list[Key] = []
    rows: list[Encoding] = []
    for key, encodings in gallery.items():
        for known in encodings:
            keys.append(key)
            rows.append(as_encoding(known))
    if not rows:
        return None
    distances = np.linalg.norm(np.stack(rows) - probe, axis=1)
    nearest = int(np.argmin(distances))
    return Match(keys[nearest], float(distances[nearest]))

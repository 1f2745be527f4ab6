"""Genuine pairs without a second photo: the same face changed as a kiosk camera changes it (OpenCV only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from hal.camera import Image

FACES_DIR = Path(__file__).resolve().parents[2] / "data" / "faces"
PEOPLE = ("astronaut", "t1_1", "t1_2", "t1_3", "t1_4", "t1_5", "t1_6", "tom_hanks")


def load_face(person: str) -> Image:
    image = cv2.imread(str(FACES_DIR / f"{person}.jpg"))
    assert image is not None, f"cannot read {person}.jpg"
    return np.asarray(image, dtype=np.uint8)


def mirrored(image: Image) -> Image:
    return np.asarray(cv2.flip(image, 1))


def brighter(image: Image) -> Image:
    return np.asarray(cv2.convertScaleAbs(image, alpha=1.1, beta=40))


def darker(image: Image) -> Image:
    return np.asarray(cv2.convertScaleAbs(image, alpha=0.55, beta=0))


def smaller(image: Image) -> Image:
    return np.asarray(cv2.resize(image, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA))


def larger(image: Image) -> Image:
    return np.asarray(cv2.resize(image, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC))


def blurred(image: Image) -> Image:
    return np.asarray(cv2.GaussianBlur(image, (5, 5), 1.2))


def tilted(image: Image) -> Image:
    """Rolled 8 degrees clockwise. Not the other way: some of the faces already lean that way, and dlib's HOG
    detector misses a face rolled past about 20 degrees."""
    height, width = image.shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), -8, 1.0)
    return np.asarray(cv2.warpAffine(image, rotation, (width, height), borderMode=cv2.BORDER_REPLICATE))


def all_at_once(image: Image) -> Image:
    return blurred(darker(smaller(mirrored(image))))


AUGMENTATIONS: dict[str, Callable[[Image], Image]] = {
    augment.__name__: augment
    for augment in (mirrored, brighter, darker, smaller, larger, blurred, tilted, all_at_once)
}


def in_frame(face: Image, left: int, top: int, width: int = 640, height: int = 480) -> Image:
    """The face pasted into a plain grey frame of the camera's size, its top-left corner at (left, top)."""
    frame = np.full((height, width, 3), 118, dtype=np.uint8)
    frame[top : top + face.shape[0], left : left + face.shape[1]] = face
    return frame

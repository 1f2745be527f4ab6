"""Is this frame good enough to enrol or match a face? One face, near enough, sharp enough (numpy, OpenCV).

    problem = judge(faces, frame.image)      # faces from FaceEncoder.locate/encode, in any order
    problem = judge_analysis(analysis)       # or a FaceWorker's FaceAnalysis, which carries the sharpness
    if problem is FaceProblem.TOO_SMALL: ... # None: good enough

The defaults are measured (see `QualityRules`); a caller with another camera or mounting passes its own rules.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from hal.camera import Image
from hal.face.encoding import FaceBox, LocatedFace

__all__ = [
    "DEFAULT_RULES",
    "SHARPNESS_WIDTH",
    "AnalysedFrame",
    "FaceProblem",
    "QualityRules",
    "biggest_first",
    "judge",
    "judge_analysis",
    "sharpness",
]

# The face region is resized to this width before its sharpness is measured, so a face's score does not grow
# or shrink with its distance from the camera. A face that passes the default size rule on a 640 px frame is
# at least 102 px wide: it is scaled up by at most 1.25 here, which invents no detail worth the name.
SHARPNESS_WIDTH = 128


class FaceProblem(enum.Enum):
    NO_FACE = "no_face"
    TOO_SMALL = "too_small"  # the person should come closer
    SEVERAL = "several"  # more than one person near enough to matter
    BLURRED = "blurred"  # moving, or out of focus


@dataclass(frozen=True)
class QualityRules:
    """What a usable frame must show. Every rule is about the biggest face, the one the kiosk would use.

    min_face_fraction: the face box's width over the frame's width. A kiosk camera (640x480, about 60
        degrees across) sees a 15 cm wide face at arm's length (60-70 cm) as 0.17-0.2 of the frame, and at
        1 m as 0.12; 0.16 lets in a person standing at the screen and keeps out one crossing the lobby.
    min_sharpness: `sharpness` of the face, below which it is BLURRED. Measured on the eight committed faces
        (tests/data/faces): as they are, 49-143; Gaussian-blurred with sigma 1.0, 12-33; sigma 1.5, 8-17;
        sigma 2, 4-10. 25 refuses every face blurred by 1.5 pixels or more and passes every sharp one, the
        softest (t1_2) with room to spare even when it is enlarged 1.5 times (35).
    several_faces_fraction: a second face counts only when its box is at least this fraction of the biggest
        one's width, so a passer-by well behind the person at the screen does not block them.
    """

    min_face_fraction: float = 0.16
    min_sharpness: float = 25.0
    several_faces_fraction: float = 0.6

    def __post_init__(self) -> None:
        for name in ("min_face_fraction", "several_faces_fraction"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be a number above 0 and at most 1, not {value!r}")
        if not _is_number(self.min_sharpness) or self.min_sharpness < 0.0:
            raise ValueError(f"min_sharpness must be a number of at least 0, not {self.min_sharpness!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


DEFAULT_RULES = QualityRules()


class AnalysedFrame(Protocol):
    """What `judge_analysis` reads: hal.face.worker.FaceAnalysis is one."""

    @property
    def faces(self) -> Sequence[LocatedFace]: ...  # biggest first

    @property
    def sharpness(self) -> float: ...  # of the biggest face

    @property
    def width(self) -> int: ...  # the frame's, in pixels


def sharpness(image: Image, box: FaceBox) -> float:
    """Variance of the Laplacian of the grey face region scaled to SHARPNESS_WIDTH wide: high for crisp edges,
    low for a blurred face. 0.0 when the box holds no pixels of the image.

    `image` is BGR (HxWx3) or grey (HxW), uint8; anything else raises ValueError (one line).
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("an image to measure must be a uint8 numpy array")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"an image to measure must be HxWx3 BGR or HxW grey, not shape {image.shape}")
    height, width = image.shape[:2]
    left, right = max(0, box.left), min(width, box.right)
    top, bottom = max(0, box.top), min(height, box.bottom)
    if right <= left or bottom <= top:
        return 0.0
    region = image[top:bottom, left:right]
    grey = region if region.ndim == 2 else cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    region_height, region_width = grey.shape
    scaled_height = max(1, round(region_height * SHARPNESS_WIDTH / region_width))
    # INTER_AREA averages when shrinking (and so also averages away some sensor noise); it would copy pixels
    # into blocks when enlarging, whose hard edges would read as sharpness.
    interpolation = cv2.INTER_AREA if region_width >= SHARPNESS_WIDTH else cv2.INTER_LINEAR
    scaled = cv2.resize(grey, (SHARPNESS_WIDTH, scaled_height), interpolation=interpolation)
    return float(cv2.Laplacian(scaled, cv2.CV_64F).var())


def biggest_first(faces: Sequence[LocatedFace]) -> list[LocatedFace]:
    """The faces by box area, biggest first; equal ones left to right, so the order is stable."""
    return sorted(faces, key=lambda face: (-face.box.width * face.box.height, face.box.left, face.box.top))


def judge(
    faces: Sequence[LocatedFace], image: Image, rules: QualityRules = DEFAULT_RULES
) -> FaceProblem | None:
    """The first problem that makes this frame unusable, or None when it is good enough to enrol or match.

    `faces` are what the encoder found in `image`, in any order. Problems are checked in the order a person
    can fix them: step up (NO_FACE, TOO_SMALL), then alone (SEVERAL), then hold still (BLURRED). A far-off
    crowd gives TOO_SMALL, not SEVERAL: once the person steps up, the others shrink below the rule.
    """
    if not isinstance(image, np.ndarray) or image.ndim < 2:
        raise ValueError("an image to judge must be a numpy array of HxWx3 BGR or HxW grey pixels")
    ordered = biggest_first(faces)
    problem = _judge_size_and_count(ordered, image.shape[1], rules)
    if problem is not None:
        return problem
    return FaceProblem.BLURRED if sharpness(image, ordered[0].box) < rules.min_sharpness else None


def judge_analysis(analysis: AnalysedFrame, rules: QualityRules = DEFAULT_RULES) -> FaceProblem | None:
    """As `judge`, for a frame the face engine has analysed: its faces (biggest first) and the biggest one's
    sharpness, measured where the frame was."""
    problem = _judge_size_and_count(biggest_first(analysis.faces), analysis.width, rules)
    if problem is not None:
        return problem
    return FaceProblem.BLURRED if analysis.sharpness < rules.min_sharpness else None


def _judge_size_and_count(
    ordered: Sequence[LocatedFace], frame_width: int, rules: QualityRules
) -> FaceProblem | None:
    if not ordered:
        return FaceProblem.NO_FACE
    biggest = ordered[0].box
    if frame_width <= 0 or biggest.width / frame_width < rules.min_face_fraction:
        return FaceProblem.TOO_SMALL
    if len(ordered) > 1 and ordered[1].box.width >= rules.several_faces_fraction * biggest.width:
        return FaceProblem.SEVERAL
    return None

"""Liveness from landmarks alone: a blink (eye aspect ratio falls and recovers) and a small head movement.

Pure Python and numpy, no dlib: it reads the 68 points hal.face's encoder finds, frame by frame. A still
photo, however sharp, has eyes whose shape never changes, so it never blinks; a photo moved by hand changes
its roll (the line between the eyes) but a blink is required as well.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Point = tuple[float, float] | tuple[int, int]
Landmarks = Mapping[str, Sequence[Point]]

__all__ = [
    "CLOSED_FRACTION",
    "MIN_CLOSED_FRAMES",
    "MIN_OPEN_FRAMES",
    "OPEN_FRACTION",
    "ROLL_MOVE_DEG",
    "YAW_MOVE",
    "HeadPose",
    "LivenessStatus",
    "LivenessTracker",
    "eye_aspect_ratio",
    "head_pose",
]

# Eyes count as closed below this fraction of the face's own open baseline (the 80th percentile of its EAR in
# the window). Measured with the real encoder on the committed faces: painted closed eyes reach 0.35-0.62 of
# the open EAR where the painting takes (hal/face/live.py: five of the eight faces), while a still photo's
# EAR never fell below 0.80 of its typical open value frame to frame; 0.7 sits between the two.
CLOSED_FRACTION = 0.7
# ...and back open above this fraction: hysteresis, so noise around one threshold is not a blink.
OPEN_FRACTION = 0.85
# A blink needs at least this many consecutive closed observations: one noisy low frame is not a blink.
MIN_CLOSED_FRAMES = 2
# Observations needed before the open baseline is trusted.
MIN_OPEN_FRAMES = 3
# Head movement: the spread (10th to 90th percentile, so one outlier frame does not count) of roll or yaw in
# the window. Measured on stills held with the camera's tremor and noise: roll spread under 1 degree, yaw
# spread under 0.02 of the inter-ocular distance; the live sequence rolls +-3 degrees.
ROLL_MOVE_DEG = 2.0
YAW_MOVE = 0.04
_OPEN_BASELINE_PERCENTILE = 80
_SPREAD_PERCENTILES = (10, 90)


def eye_aspect_ratio(eye: Sequence[Point]) -> float:
    """Soukupova & Cech's EAR of one eye's six points (corner, two upper, corner, two lower):
    (|p2-p6| + |p3-p5|) / (2 |p1-p4|); about 0.3 open, near 0 closed. ValueError for anything else."""
    points = np.asarray(eye, dtype=np.float64)
    if points.shape != (6, 2) or not np.all(np.isfinite(points)):
        raise ValueError(f"an eye must be 6 finite (x, y) points, not shape {points.shape}")
    p1, p2, p3, p4, p5, p6 = points
    across = float(np.linalg.norm(p1 - p4))
    if across == 0:
        raise ValueError("an eye's corners must be apart")
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2 * across))


@dataclass(frozen=True)
class HeadPose:
    roll_deg: float  # angle of the line from the image-left eye's centre to the other's; 0 level
    yaw: float  # nose tip's offset along that line from the eyes' midpoint, over the inter-ocular distance


def _feature(landmarks: Landmarks, name: str) -> np.ndarray:
    try:
        points = np.asarray(landmarks[name], dtype=np.float64)
    except KeyError:
        raise ValueError(f"landmarks have no {name!r}") from None
    if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] != 2 or not np.all(np.isfinite(points)):
        raise ValueError(f"landmarks {name!r} must be finite (x, y) points")
    return points


def head_pose(landmarks: Landmarks) -> HeadPose:
    """Roll and yaw from the eyes and nose tip (yaw along the eye line, so roll does not leak into it)."""
    left = _feature(landmarks, "left_eye").mean(axis=0)
    right = _feature(landmarks, "right_eye").mean(axis=0)
    nose = _feature(landmarks, "nose_tip").mean(axis=0)
    axis = right - left
    distance = float(np.linalg.norm(axis))
    if distance == 0:
        raise ValueError("the eyes' centres must be apart")
    roll = math.degrees(math.atan2(float(axis[1]), float(axis[0])))
    yaw = float(np.dot(nose - (left + right) / 2, axis / distance) / distance)
    return HeadPose(roll, yaw)


@dataclass(frozen=True)
class LivenessStatus:
    blinked: bool
    moved: bool

    @property
    def live(self) -> bool:
        return self.blinked and self.moved


@dataclass(frozen=True)
class _Observation:
    at: float
    ear: float
    roll_deg: float
    yaw: float


class LivenessTracker:
    """Watches one face's landmarks over a sliding window of `window_s` seconds.

    Feed each frame's landmarks with its time.monotonic(); frames may be irregular and skipped. Not
    thread-safe: one tracker per face, fed from one thread.
    """

    def __init__(self, window_s: float = 8.0, *, closed_fraction: float = CLOSED_FRACTION,
                 open_fraction: float = OPEN_FRACTION, min_closed_frames: int = MIN_CLOSED_FRAMES,
                 roll_move_deg: float = ROLL_MOVE_DEG, yaw_move: float = YAW_MOVE) -> None:
        if not (math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"window_s must be a positive number of seconds, got {window_s!r}")
        if not 0 < closed_fraction < open_fraction <= 1:
            raise ValueError("need 0 < closed_fraction < open_fraction <= 1")
        if min_closed_frames < 1:
            raise ValueError("min_closed_frames must be at least 1")
        self.window_s = window_s
        self.closed_fraction = closed_fraction
        self.open_fraction = open_fraction
        self.min_closed_frames = min_closed_frames
        self.roll_move_deg = roll_move_deg
        self.yaw_move = yaw_move
        self._history: deque[_Observation] = deque()

    def reset(self) -> None:
        self._history.clear()

    def observe(self, landmarks: Landmarks, at: float) -> LivenessStatus:
        """Add one frame's landmarks seen at `at`; the status over the window ending there. A frame older than
        the newest one seen is ignored. ValueError (nothing recorded) for landmarks without eyes and nose."""
        eyes = (eye_aspect_ratio(_feature(landmarks, "left_eye").tolist())
                + eye_aspect_ratio(_feature(landmarks, "right_eye").tolist())) / 2
        pose = head_pose(landmarks)
        if not self._history or at >= self._history[-1].at:
            self._history.append(_Observation(at, eyes, pose.roll_deg, pose.yaw))
        newest = self._history[-1].at
        while self._history and self._history[0].at < newest - self.window_s:
            self._history.popleft()
        return LivenessStatus(self._blinked(), self._moved())

    def _blinked(self) -> bool:
        ears = np.array([seen.ear for seen in self._history])
        if len(ears) < MIN_OPEN_FRAMES + self.min_closed_frames:
            return False
        baseline = float(np.percentile(ears, _OPEN_BASELINE_PERCENTILE))
        closed_below, open_above = self.closed_fraction * baseline, self.open_fraction * baseline
        was_open, closed_run = False, 0
        for ear in ears:
            if ear >= open_above:
                if was_open and closed_run >= self.min_closed_frames:
                    return True
                was_open, closed_run = True, 0
            elif ear < closed_below:
                closed_run += 1 if was_open else 0
            elif closed_run and closed_run < self.min_closed_frames:
                closed_run = 0  # a half-closed frame after a single low one: that one was noise
        return False

    def _moved(self) -> bool:
        if len(self._history) < 2:
            return False
        low, high = _SPREAD_PERCENTILES
        rolls = np.array([seen.roll_deg for seen in self._history])
        yaws = np.array([seen.yaw for seen in self._history])
        roll_spread = float(np.percentile(rolls, high) - np.percentile(rolls, low))
        yaw_spread = float(np.percentile(yaws, high) - np.percentile(yaws, low))
        return roll_spread > self.roll_move_deg or yaw_spread > self.yaw_move

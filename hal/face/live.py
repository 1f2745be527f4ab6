"""A live face made from one photo: a looping frame sequence with a blink and a small head movement.

For tests and the QA surface (`kiosk.camera.show_live_face`): the liveness check sees only the pixels. The
photo is first scaled to the height the simulated camera shows a live face at (SHOWN_HEIGHT), so what is
painted is not resampled again, and the eye landmarks are found once there with the real encoder. In the open
frames the eyes are opened wider (the rows about each eye stretched apart) and in the blink frames each upper
lid is lowered: the skin between the brow and the eye is stretched down over the eye, the rest of the eye
filled with the skin just below it, and a thin dark lash line drawn where the closed lid meets the lower one.
The head rolls and turns slightly over the loop (a rotation and a mild perspective warp), so every frame
differs as a live face's do.

Why the eyes open wider: on photos where the eyes are already half shut (looking down, smiling), dlib's
landmark predictor cannot place a closed eye much lower than the photo's own, so a blink from the photo's
eyes alone stays above the tracker's closed fraction; the open frames are what a face looking at the kiosk
shows. Opened wider, a face's encoding moves 0.11-0.20 from the photo's. Measured through the simulated
camera on the eight committed faces (tests/hal/face/test_live_face.py), the closed frames' median EAR is
0.35-0.62 of the open frames' on five of them, which read as live on every camera seed tried; 0.68 on t1_1
(live on about half); on t1_2 (looking far down) and t1_5 (turned so far that one eye is a sliver) the
predictor keeps it at 0.86-0.89, so they do not read as a blink.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from hal.camera import Image
from hal.face.encoder import FaceEncoder
from hal.face.encoding import Point

__all__ = [
    "BLINK_CLOSED_FRAMES",
    "OPEN_WIDER",
    "SHOWN_HEIGHT",
    "blink_window",
    "live_face_frames",
    "open_eyes_wider",
    "paint_closed_eyes",
]

BLINK_CLOSED_FRAMES = 7  # at 30 fps about 230 ms, a typical blink
SHOWN_HEIGHT = 360  # 0.75 of a 480-line frame: what SimulatedCamera.show_live_face holds a live face at
OPEN_WIDER = 2.5  # the open frames' eyes, as a factor of the photo's opening (measured: see the module doc)
_SHIFT = 4  # OpenCV's fixed-point drawing: 1/16 pixel
_LID_REACH = 0.3  # of the eye's width: the skin this far above the upper lid is stretched down over the eye
_CLOSED_SAG = 0.7  # a closed lid's edge sits this far from the upper lid's landmarks to the lower's
_SIDE_FADE = 0.25  # of the eye's width: past its corners the lowering fades out over this distance
_FILL_DEPTH = 0.12  # of the eye's width: the filled strip reaches this far below the lower lid's landmarks
_LASH_THICKNESS = 0.06  # of the eye's width; thicker lines make the predictor place the eye open (measured)
_LASH_DARKNESS = 0.35  # the lash line's colour, as a fraction of the skin's


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(points * (1 << _SHIFT)).astype(np.int32)


def _eye_points(landmarks: Mapping[str, Sequence[Point]], name: str) -> np.ndarray:
    eye = np.asarray(landmarks[name], dtype=np.float64)
    if eye.shape != (6, 2) or not np.all(np.isfinite(eye)):
        raise ValueError(f"landmarks {name!r} must be 6 finite (x, y) points")
    if eye[0, 0] == eye[3, 0]:
        raise ValueError(f"landmarks {name!r}: the eye's corners must be apart across the image")
    return eye


def _lid_rows(eye: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upper and lower lids' rows at each column (held level past the corners)."""
    corner_a, corner_b = eye[0], eye[3]
    rows = []
    for middle in (eye[[1, 2]], eye[[5, 4]]):
        lid = np.vstack([corner_a, middle, corner_b])
        lid = lid[np.argsort(lid[:, 0])]
        rows.append(np.interp(columns, lid[:, 0], lid[:, 1]))
    return rows[0], rows[1]


def _side_weight(eye: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """1 between the eye's corners, easing to 0 over _SIDE_FADE of its width beyond them."""
    width = float(np.linalg.norm(eye[3] - eye[0]))
    fade = _SIDE_FADE * width
    left, right = min(eye[0, 0], eye[3, 0]) - fade, max(eye[0, 0], eye[3, 0]) + fade
    weight = np.clip(np.minimum(columns - left, right - columns) / fade, 0, 1)
    return weight * weight * (3 - 2 * weight)


def _lower_lid(image: np.ndarray, eye: np.ndarray, closure: float) -> np.ndarray:
    height, width = image.shape[:2]
    eye_width = float(np.linalg.norm(eye[3] - eye[0]))
    columns = np.arange(width, dtype=np.float64)
    upper, lower = _lid_rows(eye, columns)
    edge = upper + (_CLOSED_SAG if closure >= 1 else closure / 2) * (lower - upper)
    reach_top = upper - _LID_REACH * eye_width
    weight = _side_weight(eye, columns)
    rows = np.arange(height, dtype=np.float64)[:, None]
    # Rows from reach_top to the lid's new edge show the skin from reach_top to the upper lid, stretched.
    stretched = reach_top + (rows - reach_top) * (upper - reach_top) / np.maximum(edge - reach_top, 1e-3)
    lid = (rows >= reach_top) & (rows <= edge)
    source_rows = rows + (np.where(lid, stretched, rows) - rows) * weight
    source_columns = np.broadcast_to(columns, (height, width))
    out = np.asarray(cv2.remap(image, source_columns.astype(np.float32), source_rows.astype(np.float32),
                               cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), dtype=np.uint8)
    if closure < 1:
        return out
    # What the lid does not cover, down to just past the lower lid, gets the skin below it, column by column.
    top_row = np.clip(np.round(lower + 0.15 * eye_width).astype(int), 0, height - 1)
    depth = max(1, round(0.15 * eye_width))
    below = np.stack([image[np.clip(top_row + k, 0, height - 1), np.arange(width)] for k in range(depth)])
    skin_by_column = np.median(below, axis=0).astype(np.float32)
    fill = ((rows > edge) & (rows < lower + _FILL_DEPTH * eye_width)).astype(np.float32) * weight
    soft = cv2.GaussianBlur(fill.astype(np.float32), (0, 0), max(1.0, 0.05 * eye_width))[:, :, None]
    painted = out.astype(np.float32) * (1 - soft) + skin_by_column[None, :, :] * soft
    out = np.ascontiguousarray(np.clip(painted, 0, 255).astype(np.uint8))
    steps = np.linspace(eye[0, 0], eye[3, 0], 32)
    lash = np.stack([steps, np.interp(steps, columns, edge)], axis=1)
    lo, hi = sorted((int(eye[0, 0]), int(eye[3, 0])))
    skin = np.median(skin_by_column[max(0, lo):hi + 1], axis=0)
    cv2.polylines(out, [_fixed(lash)], False, tuple(float(v) for v in skin * _LASH_DARKNESS),
                  max(1, round(eye_width * _LASH_THICKNESS)), cv2.LINE_AA, _SHIFT)
    return out


def paint_closed_eyes(image: Image, landmarks: Mapping[str, Sequence[Point]], closure: float = 1.0) -> Image:
    """The image with both upper lids lowered over their landmarks: closed (closure 1) or part way (below 1).

    ValueError for a closure outside (0, 1] or landmarks without two six-point eyes."""
    if not 0 < closure <= 1:
        raise ValueError(f"closure must be more than 0 and at most 1, got {closure!r}")
    out = np.asarray(image, dtype=np.uint8)
    for name in ("left_eye", "right_eye"):
        out = _lower_lid(out, _eye_points(landmarks, name), closure)
    return out


def open_eyes_wider(image: Image, landmarks: Mapping[str, Sequence[Point]],
                    factor: float = OPEN_WIDER) -> Image:
    """The image with each eye's opening stretched `factor` times about its middle, easing off around it.

    ValueError for a factor below 1 or landmarks without two six-point eyes."""
    if not (math.isfinite(factor) and factor >= 1):
        raise ValueError(f"factor must be at least 1, got {factor!r}")
    out = np.asarray(image, dtype=np.uint8)
    height, width = out.shape[:2]
    columns = np.arange(width, dtype=np.float32)[None, :]
    rows = np.arange(height, dtype=np.float32)[:, None]
    for name in ("left_eye", "right_eye"):
        eye = _eye_points(landmarks, name)
        eye_width = float(np.linalg.norm(eye[3] - eye[0]))
        centre_x, centre_y = eye.mean(axis=0)
        across, down = (columns - centre_x) / (0.75 * eye_width), (rows - centre_y) / (0.6 * eye_width)
        weight = np.exp(-2 * (across * across + down * down))
        source_rows = rows - (rows - centre_y) * (1 - 1 / factor) * weight
        out = np.asarray(cv2.remap(out, np.broadcast_to(columns, (height, width)),
                                   np.ascontiguousarray(source_rows, dtype=np.float32), cv2.INTER_CUBIC,
                                   borderMode=cv2.BORDER_REPLICATE), dtype=np.uint8)
    return out


def _posed(image: Image, centre: tuple[float, float], roll_deg: float, yaw: float) -> Image:
    """The image rolled by `roll_deg` about `centre` and turned by a perspective warp: the side towards which
    the head turns shrinks vertically by `yaw` (a fraction), the other grows."""
    height, width = image.shape[:2]
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    cx, cy = centre
    near, far = 1 + yaw, 1 - yaw
    turned = np.array([[0, cy - cy * near], [width, cy - cy * far],
                       [width, cy + (height - cy) * far], [0, cy + (height - cy) * near]], dtype=np.float32)
    perspective = cv2.getPerspectiveTransform(corners, turned)
    rotation = np.vstack([cv2.getRotationMatrix2D((cx, cy), roll_deg, 1.0), [0, 0, 1]])
    warped = cv2.warpPerspective(image, rotation @ perspective, (width, height), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(warped, dtype=np.uint8)


def blink_window(frames: int = 60, blink_at: int | None = None,
                 closed_frames: int = BLINK_CLOSED_FRAMES) -> range:
    """The frames of a `live_face_frames` loop that are not fully open: a half-closed one, the closed ones
    and a half-closed one. ValueError when the settings do not fit the loop."""
    if closed_frames < 1 or frames < closed_frames + 4:
        raise ValueError(f"{frames} frames cannot hold a blink of {closed_frames} closed frames and open ones"
                         )
    start = frames // 2 - (closed_frames + 2) // 2 if blink_at is None else blink_at
    if not 0 <= start <= frames - closed_frames - 2:
        raise ValueError(f"blink_at must be from 0 to {frames - closed_frames - 2}, got {blink_at!r}")
    return range(start, start + closed_frames + 2)


def live_face_frames(image: Image, *, encoder: FaceEncoder | None = None, frames: int = 60,
                     blink_at: int | None = None, closed_frames: int = BLINK_CLOSED_FRAMES,
                     roll_deg: float = 3.0, yaw: float = 0.04, height: int = SHOWN_HEIGHT) -> list[Image]:
    """A looping sequence (meant for 30 fps) made from one BGR face image, scaled to `height` pixels high:
    eyes open most of the time, one blink at frame `blink_at` (default: mid-loop; see `blink_window`) of
    `closed_frames` closed frames with a half-closed one either side, and the head rolling +-`roll_deg` and
    turning by +-`yaw` once over the loop.

    Raises ValueError when the image has no face or more than one, or the settings do not fit the loop.
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3 or min(pixels.shape[:2]) < 1:
        raise ValueError(f"a face image must be HxWx3 uint8 BGR, not {pixels.dtype} {pixels.shape}")
    if isinstance(height, bool) or not isinstance(height, int) or not 32 <= height <= 4096:
        raise ValueError(f"height must be a whole number of pixels from 32 to 4096, got {height!r}")
    window = blink_window(frames, blink_at, closed_frames)
    scale = height / pixels.shape[0]
    if scale != 1:
        size = (max(1, round(pixels.shape[1] * scale)), height)
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        pixels = np.asarray(cv2.resize(pixels, size, interpolation=interpolation), dtype=np.uint8)
    faces = (encoder or FaceEncoder()).locate(pixels)
    if not faces:
        raise ValueError("no face found in the image")
    if len(faces) > 1:
        raise ValueError(f"{len(faces)} faces found in the image; a live face needs exactly one")
    landmarks = faces[0].landmarks
    opened = open_eyes_wider(pixels, landmarks)
    closed = paint_closed_eyes(pixels, landmarks, 1.0)
    half = paint_closed_eyes(pixels, landmarks, 0.5)
    stills = {frame: closed for frame in window}
    stills[window[0]] = stills[window[-1]] = half
    centre = faces[0].box.centre
    sequence = []
    for k in range(frames):
        phase = 2 * math.pi * k / frames
        sequence.append(_posed(stills.get(k, opened), centre, roll_deg * math.sin(phase),
                               yaw * math.sin(phase + math.pi / 3)))
    return sequence

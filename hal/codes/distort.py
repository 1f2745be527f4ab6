"""What a kiosk camera does to a code: a scene behind it, tilt, perspective, blur, glare, noise, low contrast.

The corpus (hal.codes.corpus) builds its frames from these. Every function is deterministic given its
`numpy.random.Generator`, and uses only numpy and OpenCV, so a corpus is rebuilt in memory identically on
every machine instead of being stored.

A frame is made in two steps: `Conditions` say how the shot was taken (every field has the value of an
ordinary shot: a code held up a little tilted, slightly soft, with sensor noise), and `shoot` places a clean
code image into a camera-like scene under those conditions. `conditions_for` gives the conditions of one
named distortion at one level: "mild" is what a phone or a label held up to a kiosk camera really gives;
"harsh" is past what the kiosk is expected to read every time.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from hal.camera import Image

CLEAN = "clean"
DISTORTIONS: tuple[str, ...] = (
    CLEAN, "rotation", "blur", "perspective", "low_contrast", "inverted", "glare", "noise",
)
LEVELS: tuple[str, ...] = ("mild", "harsh")

REFERENCE_HEIGHT = 480  # module sizes below are for a 640x480 frame; a taller frame sees the code larger


@dataclass(frozen=True)
class Conditions:
    """How one shot was taken. The defaults are an ordinary shot, not a perfect one."""

    max_angle_deg: float = 6.0  # in-plane tilt of a 2D code, uniform in +-this
    # ... and of a code read along lines (1D, PDF417): people line a label up roughly, and a line scan
    # cannot read a 1D code tilted past atan(bar height / code length), about 16 degrees for a parcel label.
    max_bars_angle_deg: float = 6.0
    quarter_turns: bool = False  # the code may also be shown turned by 90, 180 or 270 degrees
    perspective: float = 0.02  # each corner moved by up to this fraction of the code's size
    blur_sigma: float = 0.5  # focus, in frame pixels
    noise_sigma: float = 3.0  # sensor noise, grey levels (a webcam in indoor light after its own denoising)
    ink: int = 25  # the code's dark grey level ...
    paper: int = 230  # ... and its light one (a screen or a label under kiosk lighting)
    inverted: bool = False  # light modules on a dark ground (a phone in dark mode)
    glare_radius: float = 0.0  # a lamp's reflection over the code, radius as a fraction of its shorter side
    glare_peak: float = 1.0  # how far towards white the reflection washes the code at its centre (1: white)


# Mild: what a phone or a label held up to a kiosk camera gives on an ordinary day. Harsh: past what the
# kiosk is expected to read every time, to show where each decoder gives up.
_MILD_AND_HARSH: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    CLEAN: ({}, {}),
    "rotation": ({"max_angle_deg": 25.0, "max_bars_angle_deg": 12.0, "quarter_turns": True},
                 {"max_angle_deg": 60.0, "max_bars_angle_deg": 30.0, "quarter_turns": True}),
    "blur": ({"blur_sigma": 1.2}, {"blur_sigma": 2.4}),
    "perspective": ({"perspective": 0.07}, {"perspective": 0.16}),
    "low_contrast": ({"ink": 95, "paper": 175}, {"ink": 115, "paper": 145}),
    "inverted": ({"inverted": True}, {"inverted": True, "ink": 70, "paper": 190, "blur_sigma": 1.0}),
    # A phone screen or label foil reflecting a ceiling lamp: broad and soft (mild), or a burnt-out spot.
    "glare": ({"glare_radius": 0.3, "glare_peak": 0.5}, {"glare_radius": 0.35, "glare_peak": 1.0}),
    "noise": ({"noise_sigma": 7.0}, {"noise_sigma": 20.0}),
}


def conditions_for(distortion: str, level: str) -> Conditions:
    """The conditions of one named distortion at "mild" or "harsh"; ValueError for an unknown name."""
    if distortion not in _MILD_AND_HARSH:
        raise ValueError(f"unknown distortion {distortion!r}; known: {', '.join(DISTORTIONS)}")
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; known: {', '.join(LEVELS)}")
    mild, harsh = _MILD_AND_HARSH[distortion]
    changes = mild if level == "mild" else harsh
    return dataclasses.replace(Conditions(), **changes)  # type: ignore[arg-type]


def camera_background(rng: np.random.Generator, width: int = 640, height: int = 480) -> Image:
    """A soft, cluttered indoor scene in BGR: uneven light, a few objects and edges, a little texture.

    Clutter matters: a decoder that is fast on a flat grey frame can be slow on a real one, and edges are what
    zbar's finder has to reject.
    """
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    columns = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    light = 90 + 80 * rng.random() * rows + 60 * rng.random() * columns
    scene = np.repeat(light[:, :, None], 3, axis=2) * rng.uniform(0.8, 1.1, size=3).astype(np.float32)
    for _ in range(int(rng.integers(4, 9))):
        colour = tuple(float(value) for value in rng.uniform(20, 230, size=3))
        x0, x1 = sorted(int(value) for value in rng.integers(0, width, size=2))
        y0, y1 = sorted(int(value) for value in rng.integers(0, height, size=2))
        if rng.random() < 0.5:
            cv2.rectangle(scene, (x0, y0), (x1, y1), colour, thickness=-1)
        else:
            cv2.line(scene, (x0, y0), (x1, y1), colour, thickness=int(rng.integers(2, 12)))
    soft = np.asarray(cv2.GaussianBlur(scene, (0, 0), 2.0), dtype=np.float32)
    textured = soft + 4.0 * rng.standard_normal(size=soft.shape, dtype=np.float32)
    return np.clip(textured, 0, 255).astype(np.uint8)


def shoot(code: Image, module_px: int, target_module_px: float, conditions: Conditions,
          rng: np.random.Generator, background: Image, *, bars: bool = False) -> Image:
    """`code` (clean grey, black on white, `module_px` pixels a module) seen by the camera in `background`.

    The code is scaled to about `target_module_px` frame pixels a module (less when it would not fit),
    tilted (`bars`: a code read along lines, 1D or PDF417, tilted less), put in perspective and placed at a
    random spot wholly inside the frame; then the frame is glared, blurred and made noisy. Returns a new BGR
    frame of the background's size.
    """
    height, width = background.shape[:2]
    toned = _tone(code, conditions)
    max_angle = conditions.max_bars_angle_deg if bars else conditions.max_angle_deg
    corners = _corners(code.shape[1], code.shape[0], target_module_px / module_px, max_angle,
                       conditions.quarter_turns, conditions.perspective, rng, (width, height))
    # Only the code's bounding box is warped and blended: the rest of the frame is the background as it is.
    left, top = (int(value) for value in np.floor(corners.min(axis=0)))
    right, bottom = (int(value) for value in np.ceil(corners.max(axis=0)) + 1)
    left, top, right, bottom = max(0, left), max(0, top), min(width, right), min(height, bottom)
    source = np.array([[0, 0], [code.shape[1], 0], [code.shape[1], code.shape[0]], [0, code.shape[0]]],
                      dtype=np.float32)
    warp = cv2.getPerspectiveTransform(source, corners - np.array([left, top], dtype=np.float32))
    box = (right - left, bottom - top)
    placed = cv2.warpPerspective(toned, warp, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    coverage = cv2.warpPerspective(np.full(code.shape, 255, np.uint8), warp, box, flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT)
    weight = coverage.astype(np.float32)[:, :, None] / 255.0
    frame: Image = background.copy()
    region = frame[top:bottom, left:right].astype(np.float32)
    frame[top:bottom, left:right] = region * (1.0 - weight) + placed.astype(np.float32)[:, :, None] * weight
    if conditions.glare_radius > 0:
        _glare(frame, corners, conditions.glare_radius, conditions.glare_peak, rng)
    if conditions.blur_sigma > 0:
        frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), conditions.blur_sigma), dtype=np.uint8)
    if conditions.noise_sigma > 0:
        # Sensor noise is mostly in the luminance: one plane of it, shared by the three channels. A random
        # window of one stored field: drawing 300k normal numbers afresh would cost more than the rest.
        field = _noise_field(height + _NOISE_SLACK, width + _NOISE_SLACK)
        dy, dx = (int(value) for value in rng.integers(0, _NOISE_SLACK, size=2))
        plane = field[dy:dy + height, dx:dx + width] * np.float32(conditions.noise_sigma)
        noisy = cv2.add(frame, cv2.merge([plane, plane, plane]), dtype=cv2.CV_8U)  # saturates at 0 and 255
        frame = np.asarray(noisy, dtype=np.uint8)
    return frame


_NOISE_SLACK = 64


@functools.cache
def _noise_field(height: int, width: int) -> np.ndarray:
    field = np.random.default_rng(7).standard_normal(size=(height, width), dtype=np.float32)
    field.setflags(write=False)
    return field


def _tone(code: Image, conditions: Conditions) -> Image:
    dark = code < 128
    if conditions.inverted:
        dark = ~dark
    return np.where(dark, conditions.ink, conditions.paper).astype(np.uint8)


def _corners(code_width: int, code_height: int, scale: float, max_angle_deg: float, quarter_turns: bool,
             perspective: float, rng: np.random.Generator, frame_size: tuple[int, int]) -> np.ndarray:
    """Where the code's four corners land in the frame: a rotated, perspective-jittered quadrilateral that
    lies wholly inside the frame (the code is shrunk until it does)."""
    frame_width, frame_height = frame_size
    angle = math.radians(rng.uniform(-max_angle_deg, max_angle_deg))
    if quarter_turns:
        angle += math.pi / 2 * int(rng.integers(0, 4))
    jitter = rng.uniform(-perspective, perspective, size=(4, 2))
    unit = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) + jitter
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    margin = 4
    for _ in range(40):
        corners = (unit * [code_width * scale, code_height * scale]) @ rotation.T
        span = corners.max(axis=0) - corners.min(axis=0)
        if span[0] <= frame_width - 2 * margin and span[1] <= frame_height - 2 * margin:
            break
        scale *= 0.95
    low = -corners.min(axis=0) + margin
    high = np.array([frame_width, frame_height]) - corners.max(axis=0) - margin
    centre = rng.uniform(low, np.maximum(low, high))
    return np.asarray(corners + centre, dtype=np.float32)


def _glare(frame: Image, corners: np.ndarray, radius_fraction: float, peak: float,
           rng: np.random.Generator) -> None:
    """A lamp's reflection, painted into `frame`: an elliptic blob over the code that washes it `peak` of the
    way to white (saturating over its inner part when `peak` is 1) and fades outwards."""
    sides = np.linalg.norm(corners - np.roll(corners, 1, axis=0), axis=1)
    radius = max(2.0, radius_fraction * float(sides.min()))
    inside = rng.uniform(0.25, 0.75, size=2)
    top_edge = corners[0] + (corners[1] - corners[0]) * inside[0]
    bottom_edge = corners[3] + (corners[2] - corners[3]) * inside[0]
    centre = top_edge + (bottom_edge - top_edge) * inside[1]
    stretch = rng.uniform(0.6, 1.6)
    reach = 3.0 * radius * max(stretch, 1.0 / stretch)  # beyond this the blob adds less than one grey level
    height, width = frame.shape[:2]
    left, right = max(0, int(centre[0] - reach)), min(width, int(centre[0] + reach) + 1)
    top, bottom = max(0, int(centre[1] - reach)), min(height, int(centre[1] + reach) + 1)
    ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32)
    distance = ((xs - centre[0]) / (radius * stretch)) ** 2 + ((ys - centre[1]) * stretch / radius) ** 2
    strength = peak * np.minimum(1.0, 1.6 * np.exp(-1.5 * distance))[:, :, None]
    region = frame[top:bottom, left:right].astype(np.float32)
    frame[top:bottom, left:right] = np.clip(region + (255.0 - region) * strength, 0, 255)

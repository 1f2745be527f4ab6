"""A camera that films a lobby wall and whatever it is told someone holds up to it: a code, an image.

Tests, the demo and the benchmarks use it instead of a real camera: `show_qr("...")` and a real decoder reads
the next frames. Register it (hal.camera.registry) to make it reachable as "sim://NAME".

Frames are cheap: the scene with the held item is composed once per change, for a few hand positions that the
frames cycle through (a slight tremor), with the blur applied then; per frame only pre-made sensor noise is
added. `latest_change_at` and `first_frame_showing` tell a benchmark when a change reached a frame.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from hal.camera import Frame, FrameSink, Image
from hal.camera.capture import WorkerCamera, _Run, as_bgr, check_frame_settings
from hal.codes import Symbology
from hal.codes.render import QUIET_ZONE_MODULES, render_code

__all__ = ["SimulatedCamera"]

HAND_POSITIONS = 8  # frames cycle through this many positions of the held item
NOISE_FIELDS = 5  # and this many noise fields (coprime with the positions, so the pair repeats every 40)
PHONE_CODE_HEIGHT = 0.40  # of the frame height, the symbol without its quiet zone: a phone held up to a kiosk
LABEL_PIXELS_PER_MODULE = 2.6  # a parcel label's bars, held close
LABEL_WIDTH = (0.45, 0.85)  # of the frame width, the range a held label spans
MAX_BLUR_PX = 50
MAX_NOISE_SIGMA = 128.0
_PHONE_CODES = frozenset({Symbology.QR, Symbology.DATAMATRIX})

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _Held:
    """An item at its final size: BGR pixels, and where they are opaque (None: everywhere)."""

    image: Image
    mask: Mask | None
    centre: tuple[int, int] | None = None  # the point (x, y) put at the frame's centre; None: the middle


@dataclass(frozen=True)
class _HeldSequence:
    """A looping sequence of items at their final size, frame k shown from `shown_at + k / fps` on."""

    frames: tuple[Image, ...]
    fps: float
    shown_at: float  # time.monotonic() when it was held up

    def frame_at(self, at: float) -> _Held:
        return _Held(self.frames[int(max(0.0, at - self.shown_at) * self.fps) % len(self.frames)], None)


@dataclass(frozen=True)
class _Scene:
    """What the camera sees; a new object on every change, so the composed frames know when to rebuild."""

    held: _Held | _HeldSequence | None
    blur_px: int
    noise_sigma: float
    item_change: int  # counts changes of the held item


class SimulatedCamera(WorkerCamera):
    """A simulated `Camera` (source "sim://NAME") at width x height, `fps` frames a second.

    The background is a deterministic function of `seed`. Every setter is thread-safe and takes effect from
    the next frame; the worker thread runs only between start() and stop(), but `render()` works any time.
    """

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, seed: int = 0, *,
                 name: str = "simulated", jitter_px: int = 3) -> None:
        check_frame_settings(width, height, fps)
        if not 0 <= jitter_px <= min(width, height) // 8:
            raise ValueError(f"jitter_px must be from 0 to {min(width, height) // 8}, got {jitter_px!r}")
        super().__init__(f"sim://{name}")
        self.width = width
        self.height = height
        self.fps = float(fps)
        self._seed = seed
        self._background = _lobby_wall(width, height, seed)
        self._positions = [(round(jitter_px * math.cos(2 * math.pi * k / HAND_POSITIONS)),
                            round(jitter_px * math.sin(2 * math.pi * k / HAND_POSITIONS)))
                           for k in range(HAND_POSITIONS)]
        # Guarded by self._state (WorkerCamera's condition):
        self._scene = _Scene(held=None, blur_px=0, noise_sigma=0.0, item_change=0)
        self._online = True
        self._latest_change_at = time.monotonic()
        self._first_frame_showing: int | None = None
        # Owned by whichever thread renders (the worker, or a caller of render()), one at a time:
        self._render_lock = threading.Lock()
        self._composed_for: _Scene | None = None
        self._composed: list[Image | None] = [None] * HAND_POSITIONS
        self._noise_sigma = 0.0
        self._noise: list[tuple[Image, Image] | None] = [None] * NOISE_FIELDS

    # ----------------------------------------------------------------------------------------------------
    # What is held up

    def show_code(self, symbology: Symbology, payload: str) -> None:
        """Hold up `payload` encoded as `symbology`: a QR or DataMatrix on a phone, anything else on a label.

        Raises ValueError (from hal.codes.render) when the payload cannot be encoded that way.
        """
        code = render_code(symbology, payload, module_px=1)
        if symbology in _PHONE_CODES:
            held = _on_phone(code, round(PHONE_CODE_HEIGHT * self.height), QUIET_ZONE_MODULES[symbology])
        else:
            held = _on_label(code, self.width, self.height)
        self._hold(held)

    def show_qr(self, payload: str) -> None:
        """Hold up a phone showing `payload` as a QR code."""
        self.show_code(Symbology.QR, payload)

    def show_image(self, image: str | Path | np.ndarray, *, height_fraction: float = 0.6) -> None:
        """Hold up an image file or a BGR / grey array, `height_fraction` of the frame high (narrower when it
        would not fit across). Raises ValueError naming a file that cannot be read as an image."""
        if not 0 < height_fraction <= 1:
            raise ValueError(f"height_fraction must be more than 0 and at most 1, got {height_fraction!r}")
        if isinstance(image, (str, Path)):
            loaded = cv2.imread(str(image), cv2.IMREAD_UNCHANGED) if Path(image).is_file() else None
            if loaded is None:
                raise ValueError(f"cannot read {str(image)!r} as an image")
            pixels = as_bgr(np.asarray(loaded))
        else:
            pixels = as_bgr(np.asarray(image))
        self._hold(_Held(self._held_size(pixels, height_fraction), None))

    def show_sequence(self, frames: Sequence[Image], *, fps: float = 30.0,
                      height_fraction: float = 0.75) -> None:
        """Hold up a looping sequence of same-sized BGR / grey images, `height_fraction` of the frame high:
        the camera's frame at time t shows sequence frame int((t - t0) * fps) % len(frames), t0 being now,
        so a slow consumer skips frames as with a real camera. Raises ValueError for an empty sequence,
        images of different sizes or a bad fps."""
        if not 0 < height_fraction <= 1:
            raise ValueError(f"height_fraction must be more than 0 and at most 1, got {height_fraction!r}")
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if len(frames) == 0:
            raise ValueError("a sequence needs at least one frame")
        pixels = [as_bgr(np.asarray(frame)) for frame in frames]
        if any(frame.shape != pixels[0].shape for frame in pixels):
            raise ValueError("every frame of a sequence must be the same size")
        scaled = tuple(self._held_size(frame, height_fraction) for frame in pixels)  # once, not per frame
        shown_at = time.monotonic()
        self._hold(_HeldSequence(scaled, float(fps), shown_at), at=shown_at)

    def show_live_face(self, image: str | Path | np.ndarray, *, height_fraction: float = 0.75) -> None:
        """Hold up a live face made from one photo (hal.face.live: a painted blink and a small head movement,
        looping at 30 fps). Loads the face engine on first use (about a second); ValueError for a file that
        cannot be read as an image, or an image without exactly one face."""
        from hal.face.live import live_face_frames  # lazily: importing hal.camera must not load the engine

        if isinstance(image, (str, Path)):
            loaded = cv2.imread(str(image), cv2.IMREAD_COLOR) if Path(image).is_file() else None
            if loaded is None:
                raise ValueError(f"cannot read {str(image)!r} as an image")
            pixels = np.asarray(loaded, dtype=np.uint8)
        else:
            pixels = as_bgr(np.asarray(image))
        self.show_sequence(live_face_frames(pixels), fps=30.0, height_fraction=height_fraction)

    def _held_size(self, pixels: Image, height_fraction: float) -> Image:
        scale = min(height_fraction * self.height / pixels.shape[0], 0.95 * self.width / pixels.shape[1])
        size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        return np.asarray(cv2.resize(pixels, size, interpolation=interpolation), dtype=np.uint8)

    def clear(self) -> None:
        """Nothing held up any more: only the background."""
        self._hold(None)

    def _hold(self, held: _Held | _HeldSequence | None, *, at: float | None = None) -> None:
        with self._state:
            self._scene = dataclasses.replace(self._scene, held=held, item_change=self._scene.item_change + 1)
            self._latest_change_at = time.monotonic() if at is None else at
            self._first_frame_showing = None
            self._state.notify_all()

    @property
    def latest_change_at(self) -> float:
        """time.monotonic() when the held item last changed (or the camera was made)."""
        with self._state:
            return self._latest_change_at

    @property
    def first_frame_showing(self) -> int | None:
        """The sequence number of the first frame showing the latest change; None until that frame exists.

        It is set before that frame reaches the frame callback."""
        with self._state:
            return self._first_frame_showing

    # ----------------------------------------------------------------------------------------------------
    # How the camera sees it

    def set_noise(self, sigma: float) -> None:
        """Sensor noise: Gaussian, `sigma` grey levels (0 for none)."""
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and 0 <= sigma <= MAX_NOISE_SIGMA):
            raise ValueError(f"noise sigma must be from 0 to {MAX_NOISE_SIGMA:g}, got {sigma!r}")
        with self._state:
            self._scene = dataclasses.replace(self._scene, noise_sigma=float(sigma))

    def set_blur(self, pixels: int) -> None:
        """Out of focus by about `pixels` (a Gaussian blur of sigma pixels / 2); 0 for sharp."""
        if isinstance(pixels, bool) or not isinstance(pixels, int) or not 0 <= pixels <= MAX_BLUR_PX:
            raise ValueError(f"blur must be a whole number of pixels from 0 to {MAX_BLUR_PX}, got {pixels!r}")
        with self._state:
            self._scene = dataclasses.replace(self._scene, blur_px=pixels)

    def set_connected(self, connected: bool) -> None:
        """False: the camera drops out (no frames, `connected` False) until set True again."""
        with self._state:
            self._online = bool(connected)
            if not connected:
                self._connected = False
            self._state.notify_all()

    def render(self, sequence: int = 0, *, at: float | None = None) -> Image:
        """The image frame number `sequence` shows, as the worker would deliver it (read-only); `at`, the
        time.monotonic() it is taken at (default now), picks the frame of a held sequence."""
        with self._state:
            scene = self._scene
        return self._render(scene, sequence, time.monotonic() if at is None else at)

    # ----------------------------------------------------------------------------------------------------
    # The worker

    def _produce(self, run: _Run, on_frame: FrameSink) -> None:
        interval = 1.0 / self.fps
        next_due = time.monotonic()
        while not run.stopping.is_set():
            with self._state:
                if not self._online:
                    self._connected = False
                    self._state.wait_for(lambda: run.stopping.is_set() or self._online)
                    next_due = time.monotonic()
                    continue
                scene = self._scene
                # Numbered under the same lock as the check above, so a drop-out right now cannot be undone
                # by this frame marking the camera connected again.
                sequence = self._take_sequence()
            image = self._render(scene, sequence, time.monotonic())
            captured_at = time.monotonic()
            with self._state:
                if scene.item_change == self._scene.item_change and self._first_frame_showing is None:
                    self._first_frame_showing = sequence
            self._deliver(run, Frame(image, captured_at, sequence), on_frame)
            next_due = max(next_due + interval, time.monotonic())  # behind: carry on from now, no burst
            run.stopping.wait(next_due - time.monotonic())

    def _render(self, scene: _Scene, sequence: int, at: float) -> Image:
        with self._render_lock:
            if scene is not self._composed_for:
                self._composed_for = scene
                self._composed = [None] * HAND_POSITIONS
            position = sequence % HAND_POSITIONS
            composed = self._composed[position]
            if isinstance(scene.held, _HeldSequence):
                # Composed afresh each frame (a copy and a paste, about a millisecond) rather than keeping
                # positions x frames composed frames of 900 kB each.
                held = scene.held.frame_at(at)
                composed = self._compose(dataclasses.replace(scene, held=held), self._positions[position])
            elif composed is None:  # composed on first use: the cost of a change spreads over a few frames
                composed = self._compose(scene, self._positions[position])
                self._composed[position] = composed
            if scene.noise_sigma == 0:
                return composed  # read-only, so every frame may share it
            if scene.noise_sigma != self._noise_sigma:
                self._noise_sigma = scene.noise_sigma
                self._noise = [None] * NOISE_FIELDS
            field = sequence % NOISE_FIELDS
            noise = self._noise[field]
            if noise is None:
                noise = self._make_noise(scene.noise_sigma, field)
                self._noise[field] = noise
            brighter, darker = noise
            image = np.asarray(cv2.add(composed, brighter), dtype=np.uint8)  # saturating, unlike numpy's +
            cv2.subtract(image, darker, dst=image)
            image.flags.writeable = False
            return image

    def _compose(self, scene: _Scene, offset: tuple[int, int]) -> Image:
        image = self._background.copy()
        if isinstance(scene.held, _Held):
            _paste(image, scene.held, offset)
        if scene.blur_px > 0:
            image = np.asarray(cv2.GaussianBlur(image, (0, 0), sigmaX=scene.blur_px / 2), dtype=np.uint8)
        image.flags.writeable = False
        return image

    def _make_noise(self, sigma: float, field: int) -> tuple[Image, Image]:
        rng = np.random.default_rng((self._seed, field))
        noise = rng.standard_normal((self.height, self.width, 3), dtype=np.float32) * np.float32(sigma)
        brighter = np.clip(noise, 0, 255).astype(np.uint8)
        darker = np.clip(-noise, 0, 255).astype(np.uint8)
        return brighter, darker


# ---------------------------------------------------------------------------------------------------------
# Drawing


def _scaled_code(code: Image, width: int, height: int) -> Image:
    """A grey code image resized to width x height as a sensor would sample it: each pixel the average of the
    modules it covers (rendered finer first, then area-averaged)."""
    fine = max(1, math.ceil(max(width / code.shape[1], height / code.shape[0]) * 2))
    finer = np.kron(code, np.ones((fine, fine), dtype=np.uint8)) if fine > 1 else code
    return np.asarray(cv2.resize(finer, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _on_phone(code: Image, symbol_height: int, quiet_modules: int) -> _Held:
    """The code on a phone's white screen (an app's header above it), in a dark rounded body; the symbol
    itself, without its quiet zone, `symbol_height` pixels high."""
    modules = code.shape[0]  # rendered at one pixel a module
    side = round(symbol_height * modules / max(1, modules - 2 * quiet_modules))
    scaled = _scaled_code(code, side, side)
    margin = max(2, side // 20)  # the code's own quiet zone is most of the screen's margin
    screen_w = side + 2 * margin
    header = side // 6
    screen_h = header + side + side // 10
    bezel = max(3, side // 18)
    body_w, body_h = screen_w + 2 * bezel, screen_h + 3 * bezel
    body = np.zeros((body_h, body_w, 3), dtype=np.uint8)
    body[:] = (38, 34, 32)
    top = 2 * bezel
    body[top:top + screen_h, bezel:bezel + screen_w] = (250, 250, 248)
    # A coloured app header, like a carrier's app showing the pickup code.
    body[top:top + header // 2, bezel:bezel + screen_w] = (150, 90, 20)
    code_top = top + header
    body[code_top:code_top + side, bezel + margin:bezel + margin + side] = scaled[:, :, None]
    mask = np.zeros((body_h, body_w), dtype=np.uint8)
    radius = max(4, body_w // 9)
    cv2.rectangle(mask, (radius, 0), (body_w - 1 - radius, body_h - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (body_w - 1, body_h - 1 - radius), 255, -1)
    for x in (radius, body_w - 1 - radius):
        for y in (radius, body_h - 1 - radius):
            cv2.circle(mask, (x, y), radius, 255, -1)
    return _Held(body, mask > 0, centre=(bezel + margin + side // 2, code_top + side // 2))


def _on_label(code: Image, frame_width: int, frame_height: int) -> _Held:
    """The code on a white parcel label, held close enough for about LABEL_PIXELS_PER_MODULE per module."""
    low, high = LABEL_WIDTH
    width = min(max(code.shape[1] * LABEL_PIXELS_PER_MODULE, low * frame_width), high * frame_width)
    scale = width / code.shape[1]
    scale = min(scale, 0.5 * frame_height / code.shape[0])
    size_w, size_h = max(1, round(code.shape[1] * scale)), max(1, round(code.shape[0] * scale))
    scaled = _scaled_code(code, size_w, size_h)
    margin = max(4, size_h // 8)
    label = np.full((size_h + 2 * margin, size_w + 2 * margin, 3), (236, 240, 242), dtype=np.uint8)
    label[margin:margin + size_h, margin:margin + size_w] = np.minimum(scaled, 242)[:, :, None]
    return _Held(label, None)


def _paste(image: Image, held: _Held, offset: tuple[int, int]) -> None:
    """Put `held` centred on `image`, moved by `offset`, clipped to the frame."""
    frame_h, frame_w = image.shape[:2]
    item_h, item_w = held.image.shape[:2]
    centre_x, centre_y = held.centre if held.centre is not None else (item_w // 2, item_h // 2)
    left = frame_w // 2 - centre_x + offset[0]
    top = frame_h // 2 - centre_y + offset[1]
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(frame_w, left + item_w), min(frame_h, top + item_h)
    if x0 >= x1 or y0 >= y1:
        return
    part = held.image[y0 - top:y1 - top, x0 - left:x1 - left]
    if held.mask is None:
        image[y0:y1, x0:x1] = part
    else:
        np.copyto(image[y0:y1, x0:x1], part, where=held.mask[y0 - top:y1 - top, x0 - left:x1 - left, None])


def _lobby_wall(width: int, height: int, seed: int) -> Image:
    """A still of a lobby: a lit wall with a door, a poster and a lamp, a floor; the layout follows `seed`."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    wall_top = rng.uniform(185, 225, 3).astype(np.float32)
    wall = wall_top * (1 - 0.28 * rows)  # lit from above
    image = np.empty((height, width, 3), dtype=np.float32)
    image[:] = wall
    floor_y = int(height * rng.uniform(0.80, 0.86))
    floor = rng.uniform(70, 110, 3).astype(np.float32)
    image[floor_y:] = floor * (0.85 + 0.3 * rows[floor_y:])
    picture = np.ascontiguousarray(np.clip(image, 0, 255), dtype=np.uint8)
    cv2.line(picture, (0, floor_y), (width - 1, floor_y), (60, 60, 66), max(2, height // 120))

    # A door on one side, a poster on the other, a lamp above: plain shapes, nothing a decoder could read.
    door_left = rng.uniform(0.04, 0.12) if rng.random() < 0.5 else rng.uniform(0.72, 0.80)
    x0, x1 = int(door_left * width), int((door_left + 0.18) * width)
    door = tuple(int(c) for c in rng.uniform(60, 140, 3))
    cv2.rectangle(picture, (x0, int(0.22 * height)), (x1, floor_y), door, -1)
    cv2.rectangle(picture, (x0, int(0.22 * height)), (x1, floor_y), (45, 45, 50), max(2, width // 200))
    cv2.circle(picture, (x1 - (x1 - x0) // 6, (int(0.22 * height) + floor_y) // 2), max(2, width // 120),
               (190, 200, 205), -1)
    poster_x = int((0.62 if door_left < 0.5 else 0.06) * width)
    poster = (poster_x, int(0.18 * height), poster_x + int(0.2 * width), int(0.50 * height))
    cv2.rectangle(picture, poster[:2], poster[2:], tuple(int(c) for c in rng.uniform(120, 230, 3)), -1)
    for _ in range(3):
        centre = (int(rng.uniform(poster[0] + 10, poster[2] - 10)),
                  int(rng.uniform(poster[1] + 10, poster[3] - 10)))
        cv2.circle(picture, centre, int(rng.uniform(0.02, 0.05) * width),
                   tuple(int(c) for c in rng.uniform(20, 200, 3)), -1)
    cv2.rectangle(picture, poster[:2], poster[2:], (40, 40, 40), max(1, width // 320))
    cv2.ellipse(picture, (width // 2, 0), (width // 8, height // 18), 0, 0, 180, (235, 245, 250), -1)

    texture = rng.standard_normal((height, width, 1), dtype=np.float32) * np.float32(2.0)  # plaster
    across = ((np.arange(width, dtype=np.float32) - width / 2) / width) ** 2
    down = ((np.arange(height, dtype=np.float32) - height / 2) / height) ** 2
    vignette = (1.0 - 0.35 * (down[:, None] + across[None, :]))[:, :, None]  # lenses darken the corners
    shaded = picture.astype(np.float32) * vignette + texture
    return np.clip(shaded, 0, 255).astype(np.uint8)

"""Cameras: OpenCV capture in a worker thread, and a simulated camera that holds codes up to itself.

A camera delivers `Frame`s to one callback, on its own worker thread, never on the caller's. Open one from a
source string with `open_camera` (see hal.camera.capture for the sources it understands).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]  # BGR, height x width x 3 (OpenCV's order), or grey height x width


@dataclass(frozen=True)
class Frame:
    image: Image  # BGR, height x width x 3; never written to by anyone after delivery
    captured_at: float  # time.monotonic() when the frame left the camera
    sequence: int  # counts up from 0 for each camera, across reconnects


FrameSink = Callable[[Frame], None]


class Camera(Protocol):
    """A source of frames. `start` returns at once; frames then arrive on the camera's own thread."""

    @property
    def source(self) -> str: ...

    @property
    def connected(self) -> bool:
        """True while frames flow; False while the camera is gone and being reopened."""
        ...

    def start(self, on_frame: FrameSink) -> None: ...

    def stop(self) -> None:
        """Stop and join the worker thread; no callback runs after this returns."""
        ...

"""SimulatedCamera.show_sequence: the frame shown follows time, frames are composed per frame, bad input."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from hal.camera.simulated import SimulatedCamera


def solid_frames(count: int) -> list[np.ndarray]:
    """Frames each a flat grey of its own level: level 20 * (k + 1) identifies frame k."""
    return [np.full((120, 160, 3), 20 * (k + 1), np.uint8) for k in range(count)]


def shown_index(camera: SimulatedCamera, at: float) -> int:
    image = camera.render(0, at=at)
    level = int(image[camera.height // 2, camera.width // 2, 0])
    return round(level / 20) - 1


def test_the_frame_shown_follows_time() -> None:
    camera = SimulatedCamera(jitter_px=0)
    camera.show_sequence(solid_frames(6), fps=10.0)
    start = camera.latest_change_at
    assert [shown_index(camera, start + k / 10 + 0.01) for k in range(14)] == [k % 6 for k in range(14)]
    # A slow consumer skips frames: one look every 0.35 s sees frames 0, 3, 1 (7 % 6), 4 (10 % 6)...
    assert [shown_index(camera, start + k * 0.35 + 0.01) for k in range(4)] == [0, 3, 1, 4]


def test_a_sequence_is_held_at_its_height_and_per_frame_cost_is_small() -> None:
    camera = SimulatedCamera()
    camera.set_noise(3.0)
    magenta = [np.full((120, 160, 3), (255, 0, 255), np.uint8) for _ in range(60)]
    camera.show_sequence(magenta, height_fraction=0.75)
    start = camera.latest_change_at
    began = time.perf_counter()
    for k in range(60):
        camera.render(k, at=start + k / 30)
    per_frame = (time.perf_counter() - began) / 60
    assert per_frame < 0.01  # measured about 0.3 ms at 640x480 with noise
    image = camera.render(0, at=start)
    column = image[:, camera.width // 2].astype(int)
    held_rows = np.count_nonzero(np.abs(column - (255, 0, 255)).max(axis=1) < 20)
    assert abs(held_rows - 0.75 * camera.height) <= 8


@pytest.mark.parametrize(("frames", "settings", "message"), [
    ([], {}, "at least one frame"),
    ([np.zeros((10, 10, 3), np.uint8), np.zeros((12, 10, 3), np.uint8)], {}, "same size"),
    ([np.zeros((10, 10, 3), np.uint8)], {"fps": 0.0}, "fps"),
    ([np.zeros((10, 10, 3), np.uint8)], {"height_fraction": 1.5}, "height_fraction"),
])
def test_bad_sequences_are_refused(frames: list[np.ndarray], settings: dict[str, float],
                                  message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatedCamera().show_sequence(frames, **settings)  # type: ignore[arg-type]


def test_show_live_face_refuses_an_image_without_a_face_and_an_unreadable_path(tmp_path: Path) -> None:
    camera = SimulatedCamera()
    with pytest.raises(ValueError, match="no face"):
        camera.show_live_face(np.full((200, 200, 3), 128, np.uint8))
    garbage = tmp_path / "not-an-image.jpg"
    garbage.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="cannot read"):
        camera.show_live_face(garbage)
    with pytest.raises(ValueError, match="cannot read"):
        camera.show_live_face(tmp_path / "missing.jpg")

"""Fixtures of the camera tests (the helpers themselves are in camera_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from camera_helpers import FrameCollector, wait_until

from hal.camera import Camera


@pytest.fixture
def collector() -> FrameCollector:
    return FrameCollector()


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., None]:
    return wait_until


@pytest.fixture
def stopped_after_test() -> Iterator[Callable[[Camera], Camera]]:
    """Register a camera to be stopped when the test ends, whatever happens in it."""
    cameras: list[Camera] = []

    def keep(camera: Camera) -> Camera:
        cameras.append(camera)
        return camera

    yield keep
    for camera in cameras:
        camera.stop()

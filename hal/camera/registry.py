"""In-process cameras reachable as `sim://NAME` sources.

A simulated camera (or any in-process Camera) registers under a name; `hal.camera.capture.open_camera(
"sim://NAME")` then returns that very object, so configuration can name a camera the tests or the demo hold up
codes to. This module holds only the names, so it imports nothing but the Camera protocol.
"""

from __future__ import annotations

import threading

from hal.camera import Camera

__all__ = ["register_camera", "registered_camera", "registered_camera_names", "unregister_camera"]

_lock = threading.Lock()
_cameras: dict[str, Camera] = {}


def register_camera(name: str, camera: Camera) -> None:
    """Make `camera` reachable as sim://name. Registering the same camera again is harmless."""
    if not name or "/" in name or name != name.strip():
        raise ValueError(f"camera name must be non-empty, without '/' or surrounding spaces, got {name!r}")
    with _lock:
        current = _cameras.get(name)
        if current is not None and current is not camera:
            raise ValueError(f"another camera is already registered as {name!r}")
        _cameras[name] = camera


def unregister_camera(name: str) -> None:
    """Forget a name; whoever already holds the camera keeps it. Unknown names are ignored."""
    with _lock:
        _cameras.pop(name, None)


def registered_camera(name: str) -> Camera | None:
    with _lock:
        return _cameras.get(name)


def registered_camera_names() -> list[str]:
    with _lock:
        return sorted(_cameras)

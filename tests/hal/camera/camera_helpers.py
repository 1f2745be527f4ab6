"""What the camera tests share: a frame callback that records what arrives, and waiting with a deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hal.camera import Frame


class FrameCollector:
    """A frame callback that keeps every frame and lets the test wait for a count, never for a time."""

    def __init__(self) -> None:
        self._arrived = threading.Condition()
        self.frames: list[Frame] = []
        self.threads: set[str] = set()

    def __call__(self, frame: Frame) -> None:
        with self._arrived:
            self.frames.append(frame)
            self.threads.add(threading.current_thread().name)
            self._arrived.notify_all()

    def count(self) -> int:
        with self._arrived:
            return len(self.frames)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Frame]:
        """The first `count` frames, once they have arrived; fails the test after `timeout` seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.frames) >= count, timeout):
                raise AssertionError(f"{len(self.frames)} frame(s) arrived within {timeout} s, "
                                     f"expected {count}")
            return list(self.frames[:count])

    def wait_for_more(self, than: int, timeout: float = 10.0) -> Frame:
        """The first frame after the first `than`."""
        return self.wait_for(than + 1, timeout)[than]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "the condition") -> None:
    """Poll `condition` on an Event's timed wait until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        tick.wait(0.01)

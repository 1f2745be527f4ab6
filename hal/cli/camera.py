"""`python -m hal camera ...`: which cameras this machine has, and whether one delivers frames.

    camera list [--json]        the video devices, each with its frame size where it opens
    camera test --device D [--seconds S] [--width W --height H --fps F] [--json]
                                count D's frames for S seconds (default 3): frame size, frames, measured
                                fps, and whether it dropped out meanwhile

D is anything a camera source can be: 0, /dev/video0, a video file or a folder of images (sim:// cameras live
inside one process, so not here). Exit status 1 when no camera is found or D gave no frame within S.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from hal.cli.output import Output

if TYPE_CHECKING:
    from hal.camera import Frame

# OpenCV and numpy load only when a camera command runs (see hal.cli.decode for why).

EXIT_OK = 0
EXIT_HARDWARE = 1
POLL_S = 0.05  # how often `camera test` looks whether the camera is still connected


def _positive(kind: type, what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{what} must be more than 0, got {text}")
        return value

    return parse


def add_camera_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the `camera` subcommand; it sets `handler(args, out) -> exit status` on the namespace."""
    # Only --json of the bus's common options means anything for a camera.
    json_option = argparse.ArgumentParser(add_help=False)
    json_option.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                             help="one JSON object per line instead of text")

    camera = commands.add_parser("camera", help="list the cameras, or test one",
                                 description="Cameras: list them, or count one's frames.")
    actions = camera.add_subparsers(dest="camera_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[json_option],
                                 help="the video devices and their frame sizes")
    listing.set_defaults(handler=list_command)

    test = actions.add_parser("test", parents=[json_option],
                              help="count a camera's frames for a few seconds: frame size, fps, drop-outs")
    test.add_argument("--device", required=True, metavar="D",
                      help="0, /dev/video0, a video file or a folder of images")
    test.add_argument("--seconds", type=_positive(float, "seconds"), default=3.0, metavar="S",
                      help="how long to count frames (default 3)")
    test.add_argument("--width", type=_positive(int, "width"), default=640, help="frame width to ask for")
    test.add_argument("--height", type=_positive(int, "height"), default=480, help="frame height to ask for")
    test.add_argument("--fps", type=_positive(float, "fps"), default=30.0, help="frame rate to ask for")
    test.set_defaults(handler=run_camera_test)


def list_command(args: argparse.Namespace, out: Output) -> int:
    from hal.camera.capture import list_cameras

    cameras = list_cameras()
    if not cameras:
        return out.fail(EXIT_HARDWARE, "no cameras found", error="no_cameras")
    for info in cameras:
        size = f"{info.width}x{info.height}" if info.width and info.height else None
        if info.opens:
            state = f"opens at {size}" if size else "opens"
        else:
            state = f"does not open: {info.problem}" if info.problem else "does not open"
        named = f" ({info.name})" if info.name else ""
        out.say(f"{info.path}{named}: {state}",
                {"path": info.path, "name": info.name, "opens": info.opens, "width": info.width,
                 "height": info.height, "problem": info.problem})
    if not any(info.opens for info in cameras):
        return out.fail(EXIT_HARDWARE, f"none of the {len(cameras)} video device(s) opens as a camera",
                        error="no_cameras")
    return EXIT_OK


class _Counter:
    """Counts frames on the camera's thread; the command reads it on its own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.size: tuple[int, int] | None = None
        self.first_frame = threading.Event()

    def __call__(self, frame: Frame) -> None:
        with self.lock:
            self.frames += 1
            if self.first_at is None:
                self.first_at = frame.captured_at
                self.size = (frame.image.shape[1], frame.image.shape[0])
            self.last_at = frame.captured_at
        self.first_frame.set()


def run_camera_test(args: argparse.Namespace, out: Output) -> int:
    from hal.camera.capture import OpenCvCamera, open_camera

    camera = open_camera(args.device, args.width, args.height, args.fps)  # ValueError: exit 2, one line
    counter = _Counter()
    dropped = False
    seen_connected = False
    # The camera logs its outages for a kiosk's log; here the summary below says it in one line instead.
    camera_log = logging.getLogger("hal.camera")
    quiet = logging.NullHandler()
    camera_log.addHandler(quiet)
    was_propagating, camera_log.propagate = camera_log.propagate, False
    camera.start(counter)
    try:
        deadline = time.monotonic() + args.seconds
        idle = threading.Event()  # never set: a wait that any other thread could end, unlike sleep()
        while (remaining := deadline - time.monotonic()) > 0:
            idle.wait(min(POLL_S, remaining))
            connected = camera.connected
            if seen_connected and not connected:
                dropped = True
            seen_connected = seen_connected or connected
    finally:
        camera.stop()
        camera_log.removeHandler(quiet)
        camera_log.propagate = was_propagating
    with counter.lock:
        frames, first_at, last_at, size = counter.frames, counter.first_at, counter.last_at, counter.size
    if frames == 0 or size is None or first_at is None or last_at is None:
        problem = camera.last_problem if isinstance(camera, OpenCvCamera) else None
        why = f": {problem}" if problem else ""
        return out.fail(EXIT_HARDWARE, f"no frame from {args.device} within {args.seconds:g} s{why}",
                        error="no_frames")
    span = last_at - first_at
    fps = (frames - 1) / span if frames > 1 and span > 0 else 0.0
    out.say(f"{args.device}: {size[0]}x{size[1]}, {frames} frames in {args.seconds:g} s, {fps:.1f} fps, "
            f"{'dropped out' if dropped else 'no drop-outs'}",
            {"device": args.device, "width": size[0], "height": size[1], "frames": frames,
             "seconds": args.seconds, "fps": round(fps, 2), "dropped_out": dropped})
    return EXIT_OK

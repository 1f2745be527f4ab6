"""OpenCV capture from real sources: folders of PNGs, an MJPG video file, absent devices; reconnects, pacing,
stopping, failing callbacks, and `open_camera` / `list_cameras`."""

from __future__ import annotations

import glob
import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from camera_helpers import FrameCollector

from hal.camera import Camera, Frame
from hal.camera.capture import CameraInfo, OpenCvCamera, as_bgr, list_cameras, open_camera

SMALL = {"width": 160, "height": 120}


def grey_of(frame: Frame) -> int:
    return round(float(np.mean(cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY))))


def write_pngs(folder: Path, levels: list[int], size: tuple[int, int] = (160, 120)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, level in enumerate(levels):
        cv2.imwrite(str(folder / f"{number:02d}.png"), np.full((size[1], size[0], 3), level, dtype=np.uint8))


def write_video(path: Path, levels: list[int], fps: float, size: tuple[int, int] = (160, 120)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    assert writer.isOpened(), "this OpenCV cannot write MJPG"
    for level in levels:
        writer.write(np.full((size[1], size[0], 3), level, dtype=np.uint8))
    writer.release()


@pytest.fixture
def started(stopped_after_test: Callable[[Camera], Camera],
            collector: FrameCollector) -> Callable[..., OpenCvCamera]:
    def start(source: str | Path, **settings: float) -> OpenCvCamera:
        camera = OpenCvCamera(str(source), **settings)  # type: ignore[arg-type]
        stopped_after_test(camera)
        camera.start(collector)
        return camera

    return start


# sources ---------------------------------------------------------------------------------------------------
def test_a_folder_of_images_is_shown_in_name_order_and_cycled(
    tmp_path: Path, started: Callable[..., OpenCvCamera], collector: FrameCollector,
) -> None:
    folder = tmp_path / "frames"
    write_pngs(folder, [40, 120, 200])
    (folder / "notes.txt").write_text("not an image")
    camera = started(folder, fps=120, **SMALL)
    frames = collector.wait_for(7)
    assert [grey_of(frame) for frame in frames] == [40, 120, 200, 40, 120, 200, 40]
    assert [frame.sequence for frame in frames] == list(range(7))
    assert all(frame.image.shape == (120, 160, 3) and frame.image.dtype == np.uint8 for frame in frames)
    assert all(not frame.image.flags.writeable for frame in frames)
    assert all(later.captured_at >= earlier.captured_at for earlier, later in itertools.pairwise(frames))
    assert camera.connected and camera.last_problem is None
    assert collector.threads == {f"camera-{folder}"}


def test_images_of_other_sizes_and_kinds_become_bgr_frames_of_the_asked_size(
    tmp_path: Path, started: Callable[..., OpenCvCamera], collector: FrameCollector,
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    cv2.imwrite(str(folder / "a-grey.png"), np.full((50, 70), 90, dtype=np.uint8))
    cv2.imwrite(str(folder / "b-big.jpg"), np.full((600, 800, 3), 160, dtype=np.uint8))
    cv2.imwrite(str(folder / "c-alpha.png"), np.full((30, 30, 4), 220, dtype=np.uint8))
    cv2.imwrite(str(folder / "d-deep.png"), np.full((40, 40), 50 * 256, dtype=np.uint16))
    cv2.imwrite(str(folder / "e.BMP"), np.full((120, 160, 3), 10, dtype=np.uint8))
    started(folder, fps=120, **SMALL)
    frames = collector.wait_for(5)
    assert all(frame.image.shape == (120, 160, 3) for frame in frames)
    assert [grey_of(frame) for frame in frames] == pytest.approx([90, 160, 220, 50, 10], abs=2)


def test_a_single_image_file_is_a_still(tmp_path: Path, started: Callable[..., OpenCvCamera],
                                        collector: FrameCollector) -> None:
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), np.full((120, 160, 3), 77, dtype=np.uint8))
    started(still, fps=120, **SMALL)
    assert {grey_of(frame) for frame in collector.wait_for(3)} == {77}


def test_a_video_file_plays_and_loops(tmp_path: Path, started: Callable[..., OpenCvCamera],
                                      collector: FrameCollector) -> None:
    video = tmp_path / "clip.avi"
    levels = [30, 90, 150, 210]
    write_video(video, levels, fps=120)
    started(video, fps=5)  # the file's own 120 fps paces it, not this
    frames = collector.wait_for(10)
    # MJPG is lossy: compare with a margin
    assert [grey_of(frame) for frame in frames] == pytest.approx(levels * 2 + levels[:2], abs=4)
    assert frames[0].image.shape == (120, 160, 3)  # a video keeps its own frame size
    assert [frame.sequence for frame in frames] == list(range(10))


def test_frames_are_paced_at_the_rate_asked(tmp_path: Path, started: Callable[..., OpenCvCamera],
                                            collector: FrameCollector) -> None:
    folder = tmp_path / "paced"
    write_pngs(folder, [100])
    fps = 40.0
    began = time.monotonic()
    camera = started(folder, fps=fps, **SMALL)
    collector.wait_for(8)
    camera.stop()
    elapsed = time.monotonic() - began
    # At most one frame per interval (plus the first): a loose bound, never a race.
    assert collector.count() <= fps * elapsed * 1.5 + 2


# losing the source and getting it back ---------------------------------------------------------------------
def test_a_folder_taken_away_and_brought_back_reconnects(
    tmp_path: Path, started: Callable[..., OpenCvCamera], collector: FrameCollector,
    wait_until: Callable[..., None], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="hal.camera")
    folder, away = tmp_path / "frames", tmp_path / "elsewhere"
    write_pngs(folder, [60, 180])
    camera = started(folder, fps=100, **SMALL)
    collector.wait_for(3)

    folder.rename(away)
    wait_until(lambda: not camera.connected, what="the camera noticing the folder is gone")
    assert camera.last_problem == "the folder is gone" or "cannot list" in str(camera.last_problem)
    wait_until(lambda: any("still unavailable" in record.message for record in caplog.records),
               what="a second attempt to reopen")
    before = collector.count()

    away.rename(folder)
    back = collector.wait_for_more(before)
    assert camera.connected and camera.last_problem is None
    assert back.sequence == before  # counting went on across the outage, no number reused or skipped
    outage_warnings = [record for record in caplog.records
                       if record.levelno == logging.WARNING and "retrying" in record.message]
    assert len(outage_warnings) == 1, [record.message for record in outage_warnings]
    assert any("frames again" in record.message for record in caplog.records)


def test_an_empty_folder_waits_for_images(tmp_path: Path, started: Callable[..., OpenCvCamera],
                                          collector: FrameCollector, wait_until: Callable[..., None]) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    camera = started(folder, fps=100, **SMALL)
    wait_until(lambda: camera.last_problem is not None, what="the camera reporting the empty folder")
    assert "no .png, .jpg or .bmp images" in str(camera.last_problem)
    assert not camera.connected
    write_pngs(folder, [128])
    assert grey_of(collector.wait_for(1)[0]) == 128


def test_unreadable_images_are_skipped_with_one_warning(
    tmp_path: Path, started: Callable[..., OpenCvCamera], collector: FrameCollector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "some-broken"
    write_pngs(folder, [50, 150])
    (folder / "01-broken.png").write_bytes(b"\x89PNG but not really")
    started(folder, fps=120, **SMALL)
    frames = collector.wait_for(6)
    assert {grey_of(frame) for frame in frames} == {50, 150}
    named = [record for record in caplog.records if "01-broken.png" in record.message]
    assert len(named) == 1


def test_a_video_file_that_is_not_a_video(tmp_path: Path, started: Callable[..., OpenCvCamera],
                                          wait_until: Callable[..., None]) -> None:
    fake = tmp_path / "fake.avi"
    fake.write_bytes(b"RIFF" + bytes(200))
    camera = started(fake)
    wait_until(lambda: camera.last_problem is not None, what="the camera reporting the bad file")
    assert camera.last_problem in ("cannot read it as a video", "the video has no readable frames")
    assert not camera.connected


def test_an_absent_device_is_waited_for_without_a_crash(started: Callable[..., OpenCvCamera],
                                                        wait_until: Callable[..., None]) -> None:
    camera = started("/dev/locker-test-no-such-camera")
    wait_until(lambda: camera.last_problem is not None, what="the camera reporting the absent device")
    assert camera.last_problem == "no such device (unplugged?)"
    assert not camera.connected


# stopping and callbacks ------------------------------------------------------------------------------------
def test_stop_joins_the_thread_and_no_frame_follows(tmp_path: Path, collector: FrameCollector) -> None:
    folder = tmp_path / "frames"
    write_pngs(folder, [10, 20])
    stopped = threading.Event()
    late: list[int] = []

    def on_frame(frame: Frame) -> None:
        if stopped.is_set():
            late.append(frame.sequence)
        collector(frame)

    camera = OpenCvCamera(str(folder), fps=200, **SMALL)
    camera.start(on_frame)
    collector.wait_for(3)
    camera.stop()
    stopped.set()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("camera-")]
    assert not camera.connected
    camera.stop()  # twice is harmless
    assert late == []


def test_stop_is_prompt_while_waiting_to_reconnect(tmp_path: Path, wait_until: Callable[..., None],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hal.camera")
    folder = tmp_path / "empty"
    folder.mkdir()
    camera = OpenCvCamera(str(folder))
    camera.start(lambda frame: None)
    # Two failed attempts: the camera is now in a longer pause before the third.
    wait_until(lambda: any("still unavailable" in record.message for record in caplog.records),
               what="a second attempt")
    began = time.monotonic()
    camera.stop()
    assert time.monotonic() - began < 0.5


def test_start_returns_at_once_and_restarting_goes_on_counting(tmp_path: Path,
                                                               collector: FrameCollector) -> None:
    folder = tmp_path / "frames"
    write_pngs(folder, [200])
    camera = OpenCvCamera(str(folder), fps=200, **SMALL)
    camera.start(collector)
    try:
        with pytest.raises(RuntimeError, match="already started"):
            camera.start(collector)
        collector.wait_for(2)
    finally:
        camera.stop()
    seen = collector.count()
    camera.start(collector)
    try:
        assert collector.wait_for_more(seen).sequence >= seen
    finally:
        camera.stop()


def test_a_callback_that_raises_is_logged_once_and_frames_go_on(
    tmp_path: Path, stopped_after_test: Callable[[Camera], Camera], caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "frames"
    write_pngs(folder, [99])
    calls = FrameCollector()

    def failing(frame: Frame) -> None:
        calls(frame)
        raise RuntimeError("the decoder broke")

    camera = stopped_after_test(OpenCvCamera(str(folder), fps=200, **SMALL))
    camera.start(failing)
    calls.wait_for(10)
    assert camera.connected
    failures = [record for record in caplog.records if "frame callback raised" in record.message]
    assert len(failures) == 1 and failures[0].exc_info is not None


def test_stop_from_inside_the_callback(tmp_path: Path, wait_until: Callable[..., None]) -> None:
    folder = tmp_path / "frames"
    write_pngs(folder, [99])
    camera = OpenCvCamera(str(folder), fps=200, **SMALL)
    seen: list[int] = []

    def stop_at_once(frame: Frame) -> None:
        seen.append(frame.sequence)
        camera.stop()

    camera.start(stop_at_once)
    wait_until(lambda: not any(thread.name.startswith("camera-") for thread in threading.enumerate()),
               what="the camera thread ending")
    assert seen == [0]
    camera.stop()


# open_camera, list_cameras, as_bgr -------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["", "   ", "/no/such/place/at/all", "not-a-camera.avi", "sim://nobody"])
def test_a_source_that_cannot_be_a_camera_is_one_clear_line(source: str) -> None:
    with pytest.raises(ValueError) as raised:
        open_camera(source)
    message = str(raised.value)
    assert message and "\n" not in message


@pytest.mark.parametrize("settings", [{"width": 0}, {"height": 100000}, {"fps": 0}, {"fps": float("nan")},
                                      {"fps": 1000}, {"width": 64.5}])
def test_unusable_frame_settings(tmp_path: Path, settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"camera (width|height|fps)"):
        open_camera(str(tmp_path), **settings)  # type: ignore[arg-type]


def test_open_camera_takes_indexes_devices_files_and_folders(tmp_path: Path) -> None:
    still = tmp_path / "still.jpg"
    cv2.imwrite(str(still), np.zeros((10, 10, 3), dtype=np.uint8))
    for source in ["0", "/dev/video0", "/dev/locker-camera", str(tmp_path), str(still)]:
        camera = open_camera(source, 320, 240, 15)
        assert isinstance(camera, OpenCvCamera)
        assert camera.source == source and not camera.connected
        assert (camera.width, camera.height, camera.fps) == (320, 240, 15.0)


def test_list_cameras_on_this_machine_never_raises() -> None:
    found = list_cameras()
    assert all(isinstance(info, CameraInfo) for info in found)
    if not glob.glob("/dev/video*"):
        assert found == []


def test_list_cameras_reports_nodes_that_do_not_open(tmp_path: Path) -> None:
    for name in ["video10", "video2", "vbi0"]:
        (tmp_path / name).write_bytes(b"")
    found = list_cameras(device_dir=tmp_path)
    assert [Path(info.path).name for info in found] == ["video2", "video10"]
    assert all(not info.opens and info.problem and info.width is None for info in found)


def test_as_bgr_converts_what_cameras_and_files_give() -> None:
    grey = np.full((4, 5), 7, dtype=np.uint8)
    assert as_bgr(grey).shape == (4, 5, 3) and int(as_bgr(grey)[0, 0, 2]) == 7
    assert as_bgr(grey[:, :, None]).shape == (4, 5, 3)
    assert as_bgr(np.zeros((4, 5, 4), dtype=np.uint8)).shape == (4, 5, 3)
    assert int(as_bgr(np.full((2, 2), 513, dtype=np.uint16))[0, 0, 0]) == 2
    for bad in [np.zeros((4, 5), dtype=np.float32), np.zeros((0, 5), dtype=np.uint8),
                np.zeros((2, 4, 5, 3), dtype=np.uint8), np.zeros((4, 5, 2), dtype=np.uint8)]:
        with pytest.raises(ValueError):
            as_bgr(bad)

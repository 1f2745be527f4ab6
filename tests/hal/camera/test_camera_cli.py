"""`python -m hal camera list` and `camera test`: as subprocesses, and in-process for the many small cases."""

from __future__ import annotations

import glob
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hal.__main__ import main

REPO = Path(__file__).resolve().parents[3]
NO_CAMERAS_HERE = not glob.glob("/dev/video*")


def run_hal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hal", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    frames = tmp_path / "frames"
    frames.mkdir()
    for number in range(3):
        cv2.imwrite(str(frames / f"{number}.png"), np.full((240, 320, 3), 60 * number, dtype=np.uint8))
    return frames


def test_camera_test_on_a_folder_prints_size_frames_and_fps(folder: Path) -> None:
    done = run_hal("camera", "test", "--device", str(folder), "--seconds", "1", "--fps", "20")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    (line,) = done.stdout.splitlines()
    assert line.startswith(f"{folder}: 640x480, ")  # folder images are resized to the size asked for
    assert " frames in 1 s, " in line and line.endswith(" fps, no drop-outs")
    fps = float(line.split(", ")[2].removesuffix(" fps"))
    assert 5 < fps < 30


@pytest.mark.skipif(not NO_CAMERAS_HERE, reason="this machine has video devices")
def test_camera_list_with_no_cameras_says_so_and_fails() -> None:
    done = run_hal("camera", "list")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == "locker-hal: no cameras found"


def test_camera_test_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["camera", "test", "--device", str(folder), "--seconds", "0.5", "--width", "320",
                 "--height", "240", "--fps", "60", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (record,) = [json.loads(line) for line in captured.out.splitlines()]
    assert record["device"] == str(folder)
    assert (record["width"], record["height"]) == (320, 240)
    assert record["frames"] >= 3 and record["fps"] > 0 and record["dropped_out"] is False
    assert record["seconds"] == 0.5


def test_camera_test_counts_a_video_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 50.0, (176, 144))
    for level in range(0, 250, 25):
        writer.write(np.full((144, 176, 3), level, dtype=np.uint8))
    writer.release()
    assert main(["camera", "test", "--device", str(video), "--seconds", "0.5"]) == 0
    assert capsys.readouterr().out.startswith(f"{video}: 176x144, ")


def test_a_source_yielding_no_frame_is_one_line_and_exit_1(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["camera", "test", "--device", str(empty), "--seconds", "0.3"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"locker-hal: no frame from {empty} within 0.3 s: no .png, .jpg or .bmp images in the folder"]


def test_an_unplugged_device_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["camera", "test", "--device", "/dev/locker-test-no-camera", "--seconds", "0.2", "--json"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "error": "no_frames",
        "message": "no frame from /dev/locker-test-no-camera within 0.2 s: no such device (unplugged?)"}
    assert len(captured.err.splitlines()) == 1


@pytest.mark.parametrize(("argv", "complaint"), [
    (["camera"], "required: ACTION"),
    (["camera", "test"], "required: --device"),
    (["camera", "test", "--device", "/no/such/thing"], "does not exist"),
    (["camera", "test", "--device", "sim://lobby"], "no simulated camera registered as 'lobby'"),
    (["camera", "test", "--device", "0", "--seconds", "0"], "must be more than 0"),
    (["camera", "test", "--device", "0", "--fps", "many"], "fps must be a number"),
    (["camera", "test", "--device", "0", "--width", "8"], "camera width must be"),
    (["camera", "list", "--bogus"], "unrecognized arguments"),
])
def test_bad_usage_is_one_line_and_exit_2(argv: list[str], complaint: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and complaint in err


@pytest.mark.skipif(not NO_CAMERAS_HERE, reason="this machine has video devices")
def test_camera_list_json_with_no_cameras(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["camera", "list", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"error": "no_cameras", "message": "no cameras found"}

"""The simulated camera: what it shows is read by a real decoder (pyzbar, called directly), it drops out and
comes back, it registers as sim://NAME, and a frame costs little."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from camera_helpers import FrameCollector
from pyzbar import pyzbar

from hal.camera import Camera, Frame, Image
from hal.camera.capture import open_camera
from hal.camera.registry import register_camera, registered_camera, registered_camera_names, unregister_camera
from hal.camera.simulated import SimulatedCamera
from hal.codes import Symbology

ZBAR_NAMES = {"QRCODE": Symbology.QR, "CODE128": Symbology.CODE128, "EAN13": Symbology.EAN13,
              "CODE39": Symbology.CODE39, "I25": Symbology.I25}


def read_codes(image: Image) -> list[tuple[Symbology, bytes]]:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return [(ZBAR_NAMES[found.type], found.data) for found in pyzbar.decode(grey)]


def qr_box(image: Image) -> tuple[int, int, int, int]:
    (found,) = pyzbar.decode(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    return found.rect.left, found.rect.top, found.rect.width, found.rect.height


@pytest.fixture
def camera(stopped_after_test: Callable[[Camera], Camera]) -> SimulatedCamera:
    made = SimulatedCamera(fps=60, name="lobby")
    stopped_after_test(made)
    return made


# what it shows ---------------------------------------------------------------------------------------------
def test_a_qr_shown_reaches_the_frames_and_a_real_decoder_reads_it(
    camera: SimulatedCamera, collector: FrameCollector,
) -> None:
    camera.start(collector)
    collector.wait_for(2)
    assert camera.connected
    assert read_codes(collector.frames[0].image) == []  # the lobby alone holds no code

    camera.show_qr("PICKUP:4711:Zq8vR2")
    changed_at = camera.latest_change_at
    frame = wait_for_frame_showing_change(camera, collector)
    assert frame.captured_at >= changed_at
    assert read_codes(frame.image) == [(Symbology.QR, b"PICKUP:4711:Zq8vR2")]
    assert frame.image.shape == (480, 640, 3) and frame.image.dtype == np.uint8
    assert not frame.image.flags.writeable
    assert collector.threads == {"camera-sim://lobby"}


def wait_for_frame_showing_change(camera: SimulatedCamera, collector: FrameCollector) -> Frame:
    """The frame whose sequence number `first_frame_showing` names, once it has arrived."""
    deadline = time.monotonic() + 10
    tick = threading.Event()
    while (first := camera.first_frame_showing) is None:
        assert time.monotonic() < deadline, "no frame showed the change"
        tick.wait(0.005)
    earliest = collector.frames[0].sequence
    return collector.wait_for(first - earliest + 1)[first - earliest]


@pytest.mark.parametrize(("symbology", "payload"), [
    (Symbology.QR, "RETURN:XK-99812"),
    (Symbology.CODE128, "PARCEL-12345678"),
    (Symbology.EAN13, "5901234123457"),
    (Symbology.CODE39, "LBL-0042"),
    (Symbology.I25, "00123456789012"),
])
def test_each_symbology_shown_is_read_in_every_hand_position(symbology: Symbology, payload: str) -> None:
    camera = SimulatedCamera()
    camera.show_code(symbology, payload)
    for sequence in range(8):
        assert read_codes(camera.render(sequence)) == [(symbology, payload.encode())], sequence


def test_a_code_128_shown_reaches_the_running_camera(camera: SimulatedCamera,
                                                     collector: FrameCollector) -> None:
    camera.start(collector)
    camera.show_code(Symbology.CODE128, "1Z999AA10123456784")
    frame = wait_for_frame_showing_change(camera, collector)
    assert read_codes(frame.image) == [(Symbology.CODE128, b"1Z999AA10123456784")]


def test_the_qr_is_the_size_of_a_phone_held_up_and_moves_a_little() -> None:
    camera = SimulatedCamera(jitter_px=3)
    camera.show_qr("PICKUP:1:short")
    boxes = [qr_box(camera.render(sequence)) for sequence in range(8)]
    for left, top, width, height in boxes:
        assert 0.35 <= height / 480 <= 0.45
        assert abs(left + width / 2 - 320) < 12 and abs(top + height / 2 - 240) < 12
    assert len({(left, top) for left, top, _, _ in boxes}) > 1  # the hand is not a tripod
    lefts = [left for left, _, _, _ in boxes]
    assert max(lefts) - min(lefts) <= 2 * 3 + 2


def test_noise_and_blur_still_read_but_change_the_frames() -> None:
    camera = SimulatedCamera()
    camera.show_qr("PICKUP:77:noisy")
    sharp = camera.render(0)
    camera.set_noise(6.0)
    camera.set_blur(2)
    noisy = [camera.render(sequence) for sequence in range(5)]
    assert all(read_codes(image) == [(Symbology.QR, b"PICKUP:77:noisy")] for image in noisy)
    assert not np.array_equal(noisy[0], sharp)
    assert not np.array_equal(noisy[0], noisy[1])  # fresh noise each frame, as a sensor's
    camera.set_noise(0)
    camera.set_blur(0)
    assert np.array_equal(camera.render(0), sharp)


def test_an_image_held_up_and_cleared(tmp_path: Path) -> None:
    camera = SimulatedCamera(width=320, height=240)
    background = camera.render(0)
    photo = tmp_path / "label.png"
    cv2.imwrite(str(photo), np.full((100, 50, 3), (255, 0, 0), dtype=np.uint8))
    camera.show_image(photo, height_fraction=0.5)
    shown = camera.render(0)
    assert tuple(int(value) for value in shown[120, 160]) == (255, 0, 0)  # centred, opaque
    assert int(np.count_nonzero(np.all(shown == (255, 0, 0), axis=2))) == pytest.approx(120 * 60, rel=0.1)

    camera.show_image(np.full((30, 30), 200, dtype=np.uint8))  # grey arrays too
    assert tuple(int(value) for value in camera.render(0)[120, 160]) == (200, 200, 200)
    camera.clear()
    assert np.array_equal(camera.render(0), background)


@pytest.mark.parametrize("bad", ["missing.png", "not-an-image.png"])
def test_an_image_that_cannot_be_read_names_the_file(tmp_path: Path, bad: str) -> None:
    (tmp_path / "not-an-image.png").write_text("hello")
    with pytest.raises(ValueError, match=bad):
        SimulatedCamera().show_image(tmp_path / bad)


def test_bad_settings_are_refused() -> None:
    camera = SimulatedCamera()
    with pytest.raises(ValueError, match="EAN13"):
        camera.show_code(Symbology.EAN13, "not digits")
    for bad_call in (lambda: camera.set_noise(-1), lambda: camera.set_noise(float("nan")),
                     lambda: camera.set_blur(-1), lambda: camera.set_blur(1.5),  # type: ignore[arg-type]
                     lambda: camera.show_image(np.zeros((4, 4), dtype=np.float64)),
                     lambda: camera.show_image(np.zeros((4, 4), dtype=np.uint8), height_fraction=0),
                     lambda: SimulatedCamera(width=0), lambda: SimulatedCamera(fps=-5),
                     lambda: SimulatedCamera(jitter_px=500)):
        with pytest.raises(ValueError):
            bad_call()


def test_the_background_is_a_deterministic_still_of_its_seed() -> None:
    first, again, other = SimulatedCamera(seed=3), SimulatedCamera(seed=3), SimulatedCamera(seed=4)
    assert np.array_equal(first.render(0), again.render(0))
    assert np.array_equal(first.render(0), first.render(5))  # nothing held: nothing moves
    assert not np.array_equal(first.render(0), other.render(0))
    image = first.render(0)
    assert float(image.std()) > 10  # a scene, not a flat fill
    assert read_codes(image) == []


# dropping out, pacing, stopping ----------------------------------------------------------------------------
def test_a_camera_that_drops_out_and_comes_back(camera: SimulatedCamera, collector: FrameCollector) -> None:
    camera.start(collector)
    collector.wait_for(3)
    camera.set_connected(False)
    assert not camera.connected
    count = collector.count()
    if wait_for_count_change(collector, count, 0.1):  # the frame being made as it dropped out
        count = collector.count()
    assert not wait_for_count_change(collector, count, 0.2)  # 12 frame times at 60 fps: really silent
    assert not camera.connected
    camera.set_connected(True)
    back = collector.wait_for_more(count)
    assert back.sequence == collector.frames[count - 1].sequence + 1
    assert camera.connected


def wait_for_count_change(collector: FrameCollector, count: int, seconds: float) -> bool:
    try:
        collector.wait_for(count + 1, timeout=seconds)
    except AssertionError:
        return False
    return True


def test_frames_are_paced_at_the_rate_asked(stopped_after_test: Callable[[Camera], Camera],
                                            collector: FrameCollector) -> None:
    camera = SimulatedCamera(width=160, height=120, fps=50)
    stopped_after_test(camera)
    began = time.monotonic()
    camera.start(collector)
    collector.wait_for(10)
    camera.stop()
    elapsed = time.monotonic() - began
    assert collector.count() <= 50 * elapsed * 1.5 + 2
    assert [frame.sequence for frame in collector.frames] == list(range(collector.count()))


def test_setters_from_another_thread_while_frames_flow(camera: SimulatedCamera,
                                                       collector: FrameCollector) -> None:
    camera.start(collector)
    for round_ in range(30):
        camera.show_qr(f"PICKUP:{round_}")
        camera.set_noise(round_ % 4)
        camera.set_blur(round_ % 3)
        if round_ % 10 == 0:
            camera.show_image(np.full((40, 40, 3), round_, dtype=np.uint8))
    camera.show_qr("PICKUP:final")
    camera.set_noise(0)
    camera.set_blur(0)
    frame = wait_for_frame_showing_change(camera, collector)
    assert read_codes(frame.image) == [(Symbology.QR, b"PICKUP:final")]


def test_stop_joins_and_a_raising_callback_does_not_kill_the_camera(caplog: pytest.LogCaptureFixture) -> None:
    camera = SimulatedCamera(fps=120)
    calls = FrameCollector()

    def failing(frame: Frame) -> None:
        calls(frame)
        raise ValueError("a broken decoder")

    camera.start(failing)
    try:
        calls.wait_for(5)
    finally:
        began = time.monotonic()
        camera.stop()
        took = time.monotonic() - began
    assert took < 0.5
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("camera-")]
    assert sum("frame callback raised" in record.message for record in caplog.records) == 1
    assert not camera.connected


def test_one_frame_costs_little() -> None:
    camera = SimulatedCamera()
    camera.show_qr("PICKUP:cost")
    camera.set_noise(8)
    camera.set_blur(1)
    for sequence in range(40):  # every hand position and noise field made once
        camera.render(sequence)
    began = time.perf_counter()
    for sequence in range(40, 340):
        camera.render(sequence)
    per_frame = (time.perf_counter() - began) / 300
    assert per_frame < 0.005  # measured ~0.1 ms; 5 ms would still be 15 % of a 30 fps frame's time


# the registry ----------------------------------------------------------------------------------------------
def test_a_registered_camera_is_opened_by_its_sim_url() -> None:
    camera, other = SimulatedCamera(), SimulatedCamera()
    register_camera("hall", camera)
    try:
        register_camera("hall", camera)  # again: harmless
        assert open_camera("sim://hall") is camera
        assert open_camera("  sim://hall/ ", width=1280, height=720) is camera
        assert registered_camera("hall") is camera and "hall" in registered_camera_names()
        with pytest.raises(ValueError, match="already registered"):
            register_camera("hall", other)
    finally:
        unregister_camera("hall")
    unregister_camera("hall")  # unknown names are ignored
    with pytest.raises(ValueError, match="no simulated camera registered as 'hall'"):
        open_camera("sim://hall")
    for bad_name in ["", "a/b", " padded "]:
        with pytest.raises(ValueError, match="camera name"):
            register_camera(bad_name, camera)

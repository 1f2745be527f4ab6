"""FaceEncoder on the committed faces: found, boxed in full-frame pixels, landmarked; bad frames refused."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from face_augment import PEOPLE, in_frame, load_face

from hal.face import (
    ENCODING_SIZE,
    Encoding,
    FaceBox,
    FaceEncoder,
    FaceEngineUnavailable,
    best_match,
    distance,
)

FEATURES = {
    "chin": 17, "left_eyebrow": 5, "right_eyebrow": 5, "nose_bridge": 4, "nose_tip": 5,
    "left_eye": 6, "right_eye": 6, "top_lip": 12, "bottom_lip": 12,
}


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_making_an_encoder_and_refusing_a_frame_load_neither_face_recognition_nor_dlib() -> None:
    result = run_python("""
        import sys
        import numpy as np
        import hal.face
        from hal.face import FaceEncoder, best_match, distance
        encoder = FaceEncoder()
        assert encoder.detection_size(640, 480) == (320, 240)
        try:
            encoder.locate(np.zeros((48, 64), np.uint8))  # refused before anything is loaded for it
        except ValueError:
            pass
        assert not encoder.loaded
        heavy = sorted(name for name in sys.modules if name.split(".")[0] in
                       ("face_recognition", "face_recognition_models", "dlib", "_dlib_pybind11", "PIL"))
        print(heavy)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_pkg_resources_the_first_use_raises_face_engine_unavailable() -> None:
    # What a venv with setuptools 81 or later looks like to face_recognition_models.
    result = run_python("""
        import sys
        import numpy as np
        sys.modules["pkg_resources"] = None
        from hal.face import FaceEncoder, FaceEngineUnavailable
        try:
            FaceEncoder().locate(np.zeros((48, 64, 3), np.uint8))
        except FaceEngineUnavailable as error:
            print("refused:", error)
    """)
    assert result.returncode == 0, result.stderr
    expected = "refused: face_recognition cannot load its models: face_recognition_models needs setuptools<81"
    assert expected in result.stdout
    assert issubclass(FaceEngineUnavailable, RuntimeError)


@pytest.mark.parametrize("person", PEOPLE)
def test_each_person_is_found_once_with_a_box_around_the_middle_of_the_photo(
    encoder: FaceEncoder, person: str
) -> None:
    photo = load_face(person)
    height, width = photo.shape[:2]

    faces = encoder.locate(photo)

    assert len(faces) == 1
    box = faces[0].box
    assert 0 <= box.left < box.right <= width and 0 <= box.top < box.bottom <= height
    assert 0.35 * width <= box.width <= 0.9 * width, box
    assert 0.8 <= box.width / box.height <= 1.25, box
    centre_x, centre_y = box.centre
    assert abs(centre_x - width / 2) < 0.2 * width and abs(centre_y - height / 2) < 0.25 * height, box


@pytest.mark.parametrize("person", PEOPLE)
def test_landmarks_are_the_68_points_in_their_places(encoder: FaceEncoder, person: str) -> None:
    (face,) = encoder.locate(load_face(person))
    marks = face.landmarks

    assert {feature: len(points) for feature, points in marks.items()} == FEATURES

    def mean(feature: str) -> tuple[float, float]:
        xs, ys = zip(*marks[feature], strict=True)
        return sum(xs) / len(xs), sum(ys) / len(ys)

    box = face.box
    for eye in ("left_eye", "right_eye"):
        assert all(box.left <= x < box.right and box.top <= y < box.bottom for x, y in marks[eye]), eye
    (left_eye_x, left_eye_y), (right_eye_x, right_eye_y) = mean("left_eye"), mean("right_eye")
    assert left_eye_x < right_eye_x
    assert max(left_eye_y, right_eye_y) < mean("nose_tip")[1] < mean("top_lip")[1] < mean("bottom_lip")[1]


def test_a_face_in_a_camera_frame_is_searched_at_half_size_and_boxed_in_the_frames_pixels(
    encoder: FaceEncoder, enrolled: dict[str, Encoding]
) -> None:
    photo = load_face("t1_4")
    (in_photo,) = encoder.encode(photo)
    left, top = 260, 150
    frame = in_frame(photo, left, top)
    assert encoder.detection_size(640, 480) == (320, 240)

    (in_camera,) = encoder.encode(frame)

    expected = FaceBox(
        in_photo.box.left + left, in_photo.box.top + top, in_photo.box.right + left, in_photo.box.bottom + top
    )
    # Found at half size, the box is as exact as two pixels of the full frame, give or take dlib's own jitter.
    for edge in ("left", "top", "right", "bottom"):
        assert abs(getattr(in_camera.box, edge) - getattr(expected, edge)) <= 8, (in_camera.box, expected)
    nose_x, nose_y = in_camera.landmarks["nose_tip"][2]
    photo_nose_x, photo_nose_y = in_photo.landmarks["nose_tip"][2]
    assert abs(nose_x - (photo_nose_x + left)) <= 4 and abs(nose_y - (photo_nose_y + top)) <= 4
    assert distance(in_camera.encoding, in_photo.encoding) < 0.1
    match = best_match(in_camera.encoding, {person: [encoding] for person, encoding in enrolled.items()})
    assert match is not None and match.key == "t1_4"


def test_a_full_size_search_finds_the_same_face() -> None:
    full_size = FaceEncoder(detection_width=640)
    frame = in_frame(load_face("astronaut"), 40, 300)
    assert full_size.detection_size(640, 480) == (640, 480)

    (face,) = full_size.locate(frame)

    assert face.box.left >= 40 and face.box.right <= 40 + 173
    assert face.box.top >= 300 and face.box.bottom <= 480


def test_two_people_in_one_frame_come_left_to_right_each_encoded_as_themselves(
    encoder: FaceEncoder, enrolled: dict[str, Encoding]
) -> None:
    frame = in_frame(load_face("tom_hanks"), 360, 100)
    astronaut = load_face("astronaut")
    frame[20 : 20 + astronaut.shape[0], 30 : 30 + astronaut.shape[1]] = astronaut
    gallery = {person: [encoding] for person, encoding in enrolled.items()}

    faces = encoder.encode(frame)

    assert [face.box.left < 320 for face in faces] == [True, False]
    matches = [best_match(face.encoding, gallery) for face in faces]
    assert [match.key if match else None for match in matches] == ["astronaut", "tom_hanks"]
    assert all(face.encoding.shape == (ENCODING_SIZE,) for face in faces)


@pytest.mark.parametrize(
    "frame",
    [
        np.full((480, 640, 3), 118, np.uint8),
        np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((3, 2000, 3), np.uint8),  # downscaled to less than one row
    ],
    ids=["grey wall", "noise", "one pixel", "a sliver"],
)
def test_a_frame_without_a_face_gives_no_faces(encoder: FaceEncoder, frame: np.ndarray) -> None:
    assert encoder.locate(frame) == []
    assert encoder.encode(frame) == []


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((48, 64, 3), np.float32), "a frame must be 8-bit (uint8), not float32"),
        (np.zeros((48, 64, 3), np.uint16), "a frame must be 8-bit (uint8), not uint16"),
        (np.zeros((48, 64), np.uint8), "a frame must be HxWx3 BGR colour, not shape (48, 64)"),
        (np.zeros((48, 64, 1), np.uint8), "a frame must be HxWx3 BGR colour, not shape (48, 64, 1)"),
        (np.zeros((48, 64, 4), np.uint8), "a frame must be HxWx3 BGR colour, not shape (48, 64, 4)"),
        (np.zeros((2, 48, 64, 3), np.uint8), "a frame must be HxWx3 BGR colour, not shape (2, 48, 64, 3)"),
        (np.zeros((0, 0, 3), np.uint8), "a frame must have pixels, not shape (0, 0, 3)"),
        (np.zeros((48, 0, 3), np.uint8), "a frame must have pixels, not shape (48, 0, 3)"),
        ([[[0, 0, 0]]], "a frame must be a numpy array, not list"),
        (None, "a frame must be a numpy array, not NoneType"),
    ],
    ids=["float", "16-bit", "grey", "grey 1 channel", "BGRA", "batch", "empty", "no columns", "list", "None"],
)
def test_a_bad_frame_raises_a_one_line_value_error(encoder: FaceEncoder, frame: object, message: str) -> None:
    for method in (encoder.locate, encoder.encode):
        with pytest.raises(ValueError) as raised:
            method(frame)  # type: ignore[arg-type]
        assert str(raised.value) == message


def test_a_mirrored_frame_view_is_read_like_any_other(encoder: FaceEncoder) -> None:
    photo = load_face("t1_1")
    assert len(encoder.locate(photo[:, ::-1])) == 1  # negative strides, as a flipped camera view has


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"detection_width": 10}, "detection_width must be a whole number of at least 64 px"),
        ({"detection_width": 320.0}, "detection_width must be a whole number of at least 64 px"),
        ({"upsample": -1}, "upsample must be a whole number from 0 to 3"),
        ({"upsample": 4}, "upsample must be a whole number from 0 to 3"),
        ({"jitters": 0}, "jitters must be a whole number from 1 to 100"),
        ({"upsample": True}, "upsample must be a whole number from 0 to 3"),
    ],
)
def test_bad_settings_are_refused_when_the_encoder_is_made(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaceEncoder(**settings)  # type: ignore[arg-type]


def test_detection_size_halves_a_vga_frame_and_leaves_small_frames_alone() -> None:
    encoder = FaceEncoder()
    assert encoder.detection_size(640, 480) == (320, 240)
    assert encoder.detection_size(1280, 720) == (320, 180)
    assert encoder.detection_size(320, 240) == (320, 240)
    assert encoder.detection_size(200, 150) == (200, 150)
    assert FaceEncoder(detection_width=480).detection_size(640, 480) == (480, 360)

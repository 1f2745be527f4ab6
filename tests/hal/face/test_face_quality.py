"""Frame quality on the committed faces: one face, near enough, sharp enough; measured, not assumed."""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from face_augment import PEOPLE, in_frame, load_face

from hal.camera import Image
from hal.face import FaceEncoder, FaceProblem, LocatedFace, QualityRules, judge, judge_analysis, sharpness
from hal.face.encoding import FaceBox
from hal.face.quality import DEFAULT_RULES, biggest_first


def enlarged(image: Image, factor: float) -> Image:
    return np.asarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC))


def gaussian(image: Image, sigma: float) -> Image:
    return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma))


def at_the_screen(face: Image) -> Image:
    """The photo as a person at arm's length shows it to a 640x480 camera: enlarged 1.5 times (faces 133-232
    px wide, 0.21-0.36 of the frame), on a plain frame."""
    return in_frame(enlarged(face, 1.5), 100, 40)


def face_at(left: int, top: int, width: int) -> LocatedFace:
    return LocatedFace(FaceBox(left, top, left + width, top + width), {})


@pytest.mark.parametrize("person", PEOPLE)
def test_each_committed_face_at_the_screen_is_good_enough(encoder: FaceEncoder, person: str) -> None:
    frame = at_the_screen(load_face(person))
    faces = encoder.locate(frame)
    assert judge(faces, frame) is None, (faces[0].box, sharpness(frame, faces[0].box))


@pytest.mark.parametrize("person", PEOPLE)
def test_the_same_face_blurred_by_one_and_a_half_pixels_is_blurred(encoder: FaceEncoder, person: str) -> None:
    # Blurred as the photo, then shown: 1.5 px of the photo's own face, whatever its size on the screen.
    frame = at_the_screen(gaussian(load_face(person), 1.5))
    faces = encoder.locate(frame)
    assert len(faces) == 1
    assert judge(faces, frame) is FaceProblem.BLURRED, sharpness(frame, faces[0].box)


def test_the_sharpness_threshold_sits_in_the_measured_gap() -> None:
    # The measurement behind QualityRules.min_sharpness, repeated: each face at its own size (box from the
    # committed crop's detection), sharp and blurred: sharp ones clear the bar, blurred ones fall well short.
    encoder = FaceEncoder()
    sharp, soft = [], []
    for person in PEOPLE:
        photo = load_face(person)
        (face,) = encoder.locate(photo)
        sharp.append(sharpness(photo, face.box))
        soft.append(sharpness(gaussian(photo, 1.5), face.box))
    assert min(sharp) > 1.5 * DEFAULT_RULES.min_sharpness, sharp
    assert max(soft) < 0.8 * DEFAULT_RULES.min_sharpness, soft


def test_sharpness_does_not_depend_on_how_near_the_face_is(encoder: FaceEncoder) -> None:
    photo = load_face("t1_3")
    near = at_the_screen(photo)
    far = in_frame(enlarged(photo, 0.85), 100, 40)
    near_face, far_face = encoder.locate(near)[0], encoder.locate(far)[0]
    near_score, far_score = sharpness(near, near_face.box), sharpness(far, far_face.box)
    assert near_face.box.width > 1.6 * far_face.box.width
    assert 0.5 < near_score / far_score < 2.0, (near_score, far_score)


def test_two_faces_side_by_side_are_several(encoder: FaceEncoder) -> None:
    frame = np.full((480, 640, 3), 118, np.uint8)
    left, right = enlarged(load_face("t1_1"), 1.4), enlarged(load_face("t1_5"), 1.4)
    frame[60 : 60 + left.shape[0], 10 : 10 + left.shape[1]] = left
    frame[60 : 60 + right.shape[0], 330 : 330 + right.shape[1]] = right
    faces = encoder.locate(frame)
    assert len(faces) == 2
    assert judge(faces, frame) is FaceProblem.SEVERAL


def test_a_small_face_across_the_lobby_is_too_small(encoder: FaceEncoder) -> None:
    # Small enough to fall under the rule (0.16 of the frame), big enough for the detector still to find it.
    frame = in_frame(enlarged(load_face("t1_3"), 0.75), 300, 200)
    faces = encoder.locate(frame)
    assert len(faces) == 1
    assert faces[0].box.width / 640 < DEFAULT_RULES.min_face_fraction
    assert judge(faces, frame) is FaceProblem.TOO_SMALL


def test_an_empty_frame_has_no_face(encoder: FaceEncoder) -> None:
    frame = np.full((480, 640, 3), 118, np.uint8)
    assert judge(encoder.locate(frame), frame) is FaceProblem.NO_FACE


def test_a_passer_by_far_behind_does_not_block_and_a_neighbour_does() -> None:
    frame = gaussian(np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8), 0.6)
    person = face_at(200, 100, 200)
    assert judge([face_at(20, 20, 100), person], frame) is None  # half the width: far behind
    assert judge([face_at(420, 20, 130), person], frame) is FaceProblem.SEVERAL  # 0.65: beside them
    assert judge([face_at(420, 20, 130), person], frame, QualityRules(several_faces_fraction=0.7)) is None


def test_problems_come_in_the_order_a_person_can_fix_them() -> None:
    smooth = np.full((480, 640, 3), 118, np.uint8)  # no edges at all: as blurred as a frame gets
    assert judge([], smooth) is FaceProblem.NO_FACE
    assert judge([face_at(0, 0, 80), face_at(300, 0, 80)], smooth) is FaceProblem.TOO_SMALL
    assert judge([face_at(0, 0, 200), face_at(300, 0, 200)], smooth) is FaceProblem.SEVERAL
    assert judge([face_at(0, 0, 200)], smooth) is FaceProblem.BLURRED


def test_the_biggest_face_is_judged_whatever_the_order() -> None:
    faces = [face_at(0, 0, 60), face_at(300, 100, 200), face_at(100, 0, 60)]
    assert [face.box.width for face in biggest_first(faces)] == [200, 60, 60]
    assert [face.box.left for face in biggest_first(faces)] == [300, 0, 100]
    noise = np.random.default_rng(5).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert judge(faces, noise) is None
    assert judge(list(reversed(faces)), noise) is None


@dataclass(frozen=True)
class Analysed:
    faces: tuple[LocatedFace, ...]
    sharpness: float
    width: int


def test_judge_analysis_uses_the_sharpness_measured_with_the_frame() -> None:
    person = (face_at(200, 100, 200),)
    assert judge_analysis(Analysed(person, 80.0, 640)) is None
    assert judge_analysis(Analysed(person, 10.0, 640)) is FaceProblem.BLURRED
    assert judge_analysis(Analysed(person, 10.0, 640), QualityRules(min_sharpness=5.0)) is None
    assert judge_analysis(Analysed(person, 80.0, 1920)) is FaceProblem.TOO_SMALL
    assert judge_analysis(Analysed((), 0.0, 640)) is FaceProblem.NO_FACE
    assert judge_analysis(Analysed((*person, face_at(0, 0, 150)), 80.0, 640)) is FaceProblem.SEVERAL


def test_sharpness_of_a_box_partly_or_wholly_outside_the_image() -> None:
    noise = np.random.default_rng(9).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    assert sharpness(noise, FaceBox(-20, -20, 50, 50)) > 0.0
    assert sharpness(noise, FaceBox(150, 150, 200, 200)) == 0.0
    assert sharpness(noise, FaceBox(10, 10, 10, 40)) == 0.0
    grey = noise[:, :, 0]
    assert sharpness(grey, FaceBox(0, 0, 100, 100)) > 0.0


NOT_AN_IMAGE = "an image to measure must be HxWx3 BGR or HxW grey"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((10, 10, 3), np.float32), "an image to measure must be a uint8 numpy array"),
        ([[0]], "an image to measure must be a uint8 numpy array"),
        (np.zeros((10, 10, 4), np.uint8), f"{NOT_AN_IMAGE}, not shape (10, 10, 4)"),
        (np.zeros(10, np.uint8), f"{NOT_AN_IMAGE}, not shape (10,)"),
    ],
)
def test_sharpness_refuses_what_is_not_an_image(image: object, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        sharpness(image, FaceBox(0, 0, 5, 5))  # type: ignore[arg-type]
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_face_fraction": 0.0}, "min_face_fraction must be a number above 0 and at most 1, not 0.0"),
        ({"min_face_fraction": 1.5}, "min_face_fraction must be a number above 0 and at most 1, not 1.5"),
        ({"several_faces_fraction": float("nan")}, "several_faces_fraction must be a number above 0"),
        ({"min_sharpness": -1.0}, "min_sharpness must be a number of at least 0, not -1.0"),
        ({"min_sharpness": "25"}, "min_sharpness must be a number of at least 0, not '25'"),
        ({"min_face_fraction": True}, "min_face_fraction must be a number above 0 and at most 1, not True"),
    ],
)
def test_bad_rules_are_refused_when_made(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        QualityRules(**settings)  # type: ignore[arg-type]

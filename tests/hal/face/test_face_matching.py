"""Distances between encodings: a person's changed photo stays nearer to them than to anyone else.

The eight committed faces are eight people; genuine pairs are made by changing a photo as a kiosk camera
would (face_augment). Run with -s to see the distances, from which the match threshold is chosen.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from face_augment import AUGMENTATIONS, PEOPLE, load_face

from hal.face import ENCODING_SIZE, Encoding, FaceEncoder, Match, best_match, distance


@pytest.mark.parametrize("person", PEOPLE)
def test_every_changed_photo_of_a_person_is_nearer_to_them_than_to_anyone_else(
    encoder: FaceEncoder, enrolled: dict[str, Encoding], person: str
) -> None:
    photo = load_face(person)
    measured = []
    for name, augment in AUGMENTATIONS.items():
        faces = encoder.encode(augment(photo))
        assert len(faces) == 1, f"{person} {name}: {len(faces)} faces"
        probe = faces[0].encoding
        genuine = distance(probe, enrolled[person])
        impostor, nearest_other = min(
            (distance(probe, encoding), other) for other, encoding in enrolled.items() if other != person
        )
        measured.append(f"{name} {genuine:.3f}/{impostor:.3f} ({nearest_other})")
        assert genuine < impostor, measured[-1]
        # The library's usual threshold, 0.6, separates every pair here; the kiosk's will be stricter.
        assert genuine < 0.6 <= impostor, measured[-1]
    print(f"\n{person}: genuine/closest impostor: " + ", ".join(measured))


def test_the_eight_people_are_far_apart(enrolled: dict[str, Encoding]) -> None:
    pairs = [
        (distance(enrolled[first], enrolled[second]), first, second)
        for index, first in enumerate(PEOPLE)
        for second in PEOPLE[index + 1 :]
    ]
    closest, first, second = min(pairs)
    print(f"\nclosest two people: {first} and {second} at {closest:.3f}")
    assert closest > 0.6


def test_best_match_finds_the_changed_photos_owner_in_the_gallery(
    encoder: FaceEncoder, enrolled: dict[str, Encoding]
) -> None:
    gallery = {person: [encoding] for person, encoding in enrolled.items()}
    for person in PEOPLE:
        (face,) = encoder.encode(AUGMENTATIONS["all_at_once"](load_face(person)))
        match = best_match(face.encoding, gallery)
        assert match is not None and match.key == person
        assert match.distance == pytest.approx(distance(face.encoding, enrolled[person]))


def unit(axis: int, length: float = 1.0) -> Encoding:
    vector = np.zeros(ENCODING_SIZE)
    vector[axis] = length
    return vector


def test_best_match_ranks_a_key_by_its_nearest_encoding() -> None:
    probe = unit(0)
    gallery = {"far then near": [unit(1, 5.0), unit(0, 1.1)], "middling": [unit(0, 1.5)], "nobody": []}

    assert best_match(probe, gallery) == Match("far then near", pytest.approx(0.1))
    assert best_match(probe, {"middling": gallery["middling"]}) == Match("middling", pytest.approx(0.5))


def test_best_match_of_an_empty_gallery_is_none() -> None:
    assert best_match(unit(0), {}) is None
    assert best_match(unit(0), {"withdrew consent": []}) is None


def test_distance_is_euclidean_symmetric_and_zero_for_the_same(enrolled: dict[str, Encoding]) -> None:
    a, b = enrolled["t1_1"], enrolled["t1_2"]
    assert distance(a, a) == 0.0
    assert distance(a, b) == distance(b, a) == pytest.approx(math.dist(a.tolist(), b.tolist()))
    assert distance(unit(3), unit(4)) == pytest.approx(math.sqrt(2))
    assert distance(list(unit(3)), unit(3)) == 0.0  # type: ignore[arg-type]  # any 128 numbers will do


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros(127), "a face encoding must be 128 numbers, not shape (127,)"),
        (np.zeros((1, 128)), "a face encoding must be 128 numbers, not shape (1, 128)"),
        (np.zeros(0), "a face encoding must be 128 numbers, not shape (0,)"),
        (unit(5, math.nan), "a face encoding must be finite numbers, not NaN or infinity"),
        (unit(5, math.inf), "a face encoding must be finite numbers, not NaN or infinity"),
        ("0.1, 0.2", "a face encoding must be 128 numbers, not str"),
        (None, "a face encoding must be 128 numbers, not shape ()"),
        ({"a": 1}, "a face encoding must be 128 numbers, not dict"),
    ],
    ids=["127", "a row", "empty", "NaN", "infinity", "text", "None", "dict"],
)
def test_a_bad_encoding_raises_a_one_line_value_error(bad: object, message: str) -> None:
    for call in (
        lambda: distance(bad, unit(0)),  # type: ignore[arg-type]
        lambda: distance(unit(0), bad),  # type: ignore[arg-type]
        lambda: best_match(bad, {"someone": [unit(0)]}),  # type: ignore[arg-type]
        lambda: best_match(unit(0), {"someone": [unit(0)], "corrupt": [bad]}),  # type: ignore[list-item]
    ):
        with pytest.raises(ValueError) as raised:
            call()
        assert str(raised.value) == message

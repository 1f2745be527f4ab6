"""One face encoder and the eight committed faces' encodings, for all face tests (loading takes 1 s)."""

from __future__ import annotations

import pytest
from face_augment import PEOPLE, load_face

from hal.face import Encoding, FaceEncoder


@pytest.fixture(scope="session")
def encoder() -> FaceEncoder:
    encoder = FaceEncoder()
    encoder.load()
    return encoder


@pytest.fixture(scope="session")
def enrolled(encoder: FaceEncoder) -> dict[str, Encoding]:
    """Each person's encoding from their committed photo, as enrolment would store it."""
    encodings = {}
    for person in PEOPLE:
        faces = encoder.encode(load_face(person))
        assert len(faces) == 1, f"{person}: {len(faces)} faces found in the committed photo"
        encodings[person] = faces[0].encoding
    return encodings

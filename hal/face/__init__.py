"""Faces: find them in a camera frame, turn each into a 128-number encoding, compare encodings.

    encoder = FaceEncoder()           # cheap: face_recognition and dlib load on first use (about 1 s)
    for face in encoder.encode(frame.image):
        match = best_match(face.encoding, gallery)   # gallery: {recipient: [encodings...]}
        if match is not None and match.distance <= threshold:
            ...

Importing this package loads neither face_recognition nor dlib, so a kiosk that never uses face pickup never
pays for them. Encoders run on the calling thread and take tens to hundreds of milliseconds a frame: call
them from a worker, never from the GUI thread. Distances are Euclidean between encodings: the same person
is typically under 0.4, face_recognition's own threshold is 0.6; the threshold is the caller's to choose.
"""

from __future__ import annotations

from hal.face.encoder import FaceEncoder, FaceEngineUnavailable
from hal.face.encoding import (
    ENCODING_SIZE,
    EncodedFace,
    Encoding,
    FaceBox,
    LocatedFace,
    Match,
    Point,
    best_match,
    distance,
)
from hal.face.quality import FaceProblem, QualityRules, judge, judge_analysis, sharpness
from hal.face.worker import FaceAnalysis, FaceWorker

__all__ = [
    "ENCODING_SIZE",
    "EncodedFace",
    "Encoding",
    "FaceAnalysis",
    "FaceBox",
    "FaceEncoder",
    "FaceEngineUnavailable",
    "FaceProblem",
    "FaceWorker",
    "LocatedFace",
    "Match",
    "Point",
    "QualityRules",
    "best_match",
    "distance",
    "judge",
    "judge_analysis",
    "sharpness",
]

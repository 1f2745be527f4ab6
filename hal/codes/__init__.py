"""QR codes and parcel barcodes: what a code is, what a decoder finds, and the decoders themselves.

The symbologies a decoder looks for are always given per call: a pickup screen asks for QR only, a courier's
label scan for the label symbologies. Decoding every symbology costs about ten times more per frame.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Symbology(enum.Enum):
    """The codes the kiosk reads. The value is the name the technician CLI prints."""

    QR = "QR"
    CODE128 = "CODE128"
    EAN13 = "EAN13"
    CODE39 = "CODE39"
    I25 = "I25"  # Interleaved 2 of 5
    DATAMATRIX = "DATAMATRIX"
    PDF417 = "PDF417"


# What a recipient, a returning customer or a courier's badge shows: QR codes only.
PERSON_CODES: frozenset[Symbology] = frozenset({Symbology.QR})
# What is printed on parcel labels.
LABEL_CODES: frozenset[Symbology] = frozenset(
    {Symbology.QR, Symbology.CODE128, Symbology.EAN13, Symbology.CODE39, Symbology.I25,
     Symbology.DATAMATRIX, Symbology.PDF417}
)

# The decoders hal.codes.decode.make_decoder builds: pyzbar, zxing-cpp, or zbar with zxing-cpp beside it.
# Here, not in hal.codes.decode, so that checking a config does not load OpenCV.
DECODER_NAMES = ("zbar", "zxing", "dual")
# Chosen by measurement on the generated corpus (`make bench`): zxing-cpp reads 99 % of the mild set and
# decodes a 640x480 QR-only frame in well under a millisecond; zbar reads two thirds at ten times the cost.
DEFAULT_DECODER = "zxing"

# No code the kiosk accepts is longer; a longer payload is refused before anything parses it.
MAX_PAYLOAD_BYTES = 512


@dataclass(frozen=True)
class Decoded:
    """One code found in one image."""

    symbology: Symbology
    payload: bytes  # as encoded; may be anything, including binary: parse it strictly before use
    left: int  # bounding box in the image's pixels
    top: int
    width: int
    height: int

    @property
    def oversized(self) -> bool:
        return len(self.payload) > MAX_PAYLOAD_BYTES

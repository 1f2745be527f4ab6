"""A generated test corpus of camera frames with codes in them, and the read rate of a decoder on it.

Every sample is made from fixed seeds, in memory, in a few milliseconds: a realistic payload of its
symbology (a pickup QR, a courier badge, a parcel label number, ...), drawn by `render_code`, shot into a
camera-like scene under one named distortion (see hal.codes.distort). Nothing is stored: the same call gives
the same frames on every machine.

    for sample in corpus("mild"):
        found = decoder.decode(sample.image, frozenset({sample.symbology}))

`read_rate` counts, per symbology and distortion, the samples whose exact payload the decoder returned.
"""

from __future__ import annotations

import functools
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from hal.camera import Image
from hal.codes import LABEL_CODES, PERSON_CODES, Symbology
from hal.codes.decode import CodeDecoder
from hal.codes.distort import (
    DISTORTIONS,
    LEVELS,
    REFERENCE_HEIGHT,
    Conditions,
    camera_background,
    conditions_for,
    shoot,
)
from hal.codes.render import render_code

SAMPLES_PER_CELL = 6  # per symbology and distortion: 7 x 8 x 6 = 336 frames a level
FRAME_SIZE = (640, 480)
BACKGROUNDS = 8
LABEL_MARGIN_LINEAR_MODULES = 10  # blank label beyond the quiet zone, left and right of a linear code
LABEL_MARGIN_2D_MODULES = 2
_EMPTY_FRAME_SEED = 1000  # apart from the samples' seeds, which start with a level's index

# Frame pixels a module of each symbology gets in a 640x480 frame: a phone held 25-40 cm from a kiosk
# camera shows a QR at 3-5 px a module; a parcel label's bars are thinner, its long codes filling the frame.
_MODULE_PX_RANGE = {
    Symbology.QR: (3.0, 5.0),
    Symbology.DATAMATRIX: (3.5, 5.5),
    Symbology.PDF417: (2.6, 3.6),
    Symbology.CODE128: (2.4, 3.4),
    Symbology.EAN13: (2.6, 3.6),
    Symbology.CODE39: (2.2, 3.0),
    Symbology.I25: (2.2, 3.0),
}

_LINEAR = frozenset({Symbology.CODE128, Symbology.EAN13, Symbology.CODE39, Symbology.I25})
_BARS = _LINEAR | {Symbology.PDF417}  # read along lines: tilt hurts them most
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes people may also type
_BASE32 = string.ascii_uppercase + "234567"
_SURNAMES = ("Kowalski", "Nowak", "Mueller", "Dubois", "Rossi", "Garcia", "Smith", "Jensen")


@dataclass(frozen=True)
class Sample:
    image: Image  # BGR camera frame
    symbology: Symbology
    payload: bytes
    distortion: str
    level: str


@dataclass(frozen=True)
class ReadCount:
    read: int
    total: int

    @property
    def rate(self) -> float:
        return self.read / self.total if self.total else 0.0

    def __add__(self, other: ReadCount) -> ReadCount:
        return ReadCount(self.read + other.read, self.total + other.total)


def corpus(level: str, *, frame_size: tuple[int, int] = FRAME_SIZE, samples_per_cell: int = SAMPLES_PER_CELL,
           symbologies: Iterable[Symbology] = tuple(Symbology),
           distortions: Iterable[str] = DISTORTIONS) -> Iterator[Sample]:
    """The samples of one level ("mild" or "harsh"), each symbology under each distortion.

    `frame_size` is (width, height); a taller frame than 480 shows the same scene at a higher resolution, so
    the code gets proportionally more pixels. A smaller `samples_per_cell` gives a prefix of the same samples.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; known: {', '.join(LEVELS)}")
    width, height = frame_size
    wanted_distortions = tuple(distortions)
    for distortion in wanted_distortions:
        conditions_for(distortion, level)  # an unknown name fails before any sample is made
    for symbology in symbologies:
        for distortion in wanted_distortions:
            conditions = conditions_for(distortion, level)
            for index in range(samples_per_cell):
                rng = np.random.default_rng([LEVELS.index(level), list(Symbology).index(symbology),
                                             DISTORTIONS.index(distortion), index])
                payload = realistic_payload(symbology, rng)
                low, high = _MODULE_PX_RANGE[symbology]
                target = rng.uniform(low, high) * height / REFERENCE_HEIGHT
                module_px = max(1, round(target))
                code = _on_label(render_code(symbology, payload, module_px), symbology, module_px)
                backgrounds = _backgrounds(width, height)
                background = backgrounds[int(rng.integers(0, len(backgrounds)))]
                image = shoot(code, module_px, target, conditions, rng, background, bars=symbology in _BARS)
                yield Sample(image, symbology, payload.encode("ascii"), distortion, level)


def empty_frames(count: int, *, frame_size: tuple[int, int] = FRAME_SIZE) -> list[Image]:
    """Camera frames with no code in them (what a kiosk camera mostly sees), with ordinary sensor noise."""
    width, height = frame_size
    backgrounds = _backgrounds(width, height)
    blank = np.full((1, 1), 255, np.uint8)  # a speck of white paper, so that `shoot` has something to place
    frames = []
    for index in range(count):
        rng = np.random.default_rng([_EMPTY_FRAME_SEED, index])
        frames.append(shoot(blank, 1, 1.0, Conditions(), rng, backgrounds[index % len(backgrounds)]))
    return frames


def _on_label(code: Image, symbology: Symbology, module_px: int) -> Image:
    """The code with the blank label or screen around it. A camera never sees a code cut out at its quiet
    zone, and Interleaved 2 of 5 needs it: render_code's 10-module quiet zone is 5 narrow bars there
    (python-barcode draws ITF with 2-module narrow bars), half what ITF asks for and too little for zbar."""
    if symbology in _LINEAR:
        across, along = LABEL_MARGIN_LINEAR_MODULES * module_px, 4 * module_px
    else:
        across = along = LABEL_MARGIN_2D_MODULES * module_px
    return np.pad(code, ((along, along), (across, across)), constant_values=255)


@functools.cache
def _backgrounds(width: int, height: int) -> tuple[Image, ...]:
    """A few camera scenes, made once per frame size; samples pick one (making one costs more than the rest
    of a sample)."""
    scenes = []
    for seed in range(BACKGROUNDS):
        scene = camera_background(np.random.default_rng([99, seed]), width, height)
        scene.setflags(write=False)
        scenes.append(scene)
    return tuple(scenes)


def realistic_payload(symbology: Symbology, rng: np.random.Generator) -> str:
    """A payload of the kind the kiosk meets in that symbology."""
    if symbology is Symbology.QR:
        kind = int(rng.integers(0, 3))
        if kind == 0:
            locker = f"{_pick(rng, ('WAW', 'KRK', 'BER', 'LYS', 'MAD'))}-{_digits(rng, 3)}"
            return f"LK1:P:{locker}:{_digits(rng, int(rng.integers(6, 9)))}"
        if kind == 1:
            return f"LK1:R:{_text(rng, _CODE_ALPHABET, 10)}"
        return f"LK1:C:C{_digits(rng, 5)}:{_text(rng, _BASE32, 20)}"
    if symbology is Symbology.CODE128:
        if rng.random() < 0.5:
            return f"JD01{_digits(rng, 14)}"
        return f"1Z{_text(rng, string.ascii_uppercase + string.digits, 6)}{_digits(rng, 10)}"
    if symbology is Symbology.EAN13:
        digits = _digits(rng, 12)
        return digits + str(ean13_check_digit(digits))
    if symbology is Symbology.CODE39:
        return f"{_pick(rng, ('PKG', 'RET', 'LBL'))}-{_digits(rng, 6)}"
    if symbology is Symbology.I25:
        return _digits(rng, int(rng.choice([10, 12, 14])))
    if symbology is Symbology.DATAMATRIX:
        return f"JJD{_digits(rng, 14)}|PL|{_digits(rng, 2)}-{_digits(rng, 3)}"
    return (f"LK1:L:JD01{_digits(rng, 14)}:{_pick(rng, ('S', 'M', 'L', 'XL'))}:"
            f"{_pick(rng, _SURNAMES)}:{_digits(rng, 5)}")


def ean13_check_digit(first_twelve: str) -> int:
    weighted = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(first_twelve))
    return (10 - weighted % 10) % 10


def screen_symbologies(symbology: Symbology) -> frozenset[Symbology]:
    """What the screen that meets a code of this symbology asks the decoder for: a QR is shown on the pickup,
    return and courier-login screens (PERSON_CODES); the rest are parcel labels (LABEL_CODES)."""
    return PERSON_CODES if symbology in PERSON_CODES else LABEL_CODES


def read_rate(decoder: CodeDecoder, samples: Iterable[Sample],
              asked: Callable[[Symbology], frozenset[Symbology]] = screen_symbologies,
              ) -> dict[tuple[Symbology, str], ReadCount]:
    """Per (symbology, distortion): how many samples the decoder read, asked for `asked(symbology)`.

    A read counts only when a code of the sample's symbology with exactly its payload came back.
    """
    counts: dict[tuple[Symbology, str], ReadCount] = defaultdict(lambda: ReadCount(0, 0))
    for sample in samples:
        found = decoder.decode(sample.image, asked(sample.symbology))
        hit = any(code.symbology is sample.symbology and code.payload == sample.payload for code in found)
        key = (sample.symbology, sample.distortion)
        counts[key] = counts[key] + ReadCount(int(hit), 1)
    return dict(counts)


def overall(counts: dict[tuple[Symbology, str], ReadCount]) -> ReadCount:
    return sum(counts.values(), ReadCount(0, 0))


def _digits(rng: np.random.Generator, count: int) -> str:
    return "".join(str(int(digit)) for digit in rng.integers(0, 10, size=count))


def _text(rng: np.random.Generator, alphabet: str, count: int) -> str:
    return "".join(alphabet[int(index)] for index in rng.integers(0, len(alphabet), size=count))


def _pick(rng: np.random.Generator, choices: tuple[str, ...]) -> str:
    return choices[int(rng.integers(0, len(choices)))]

"""The generated corpus: deterministic, realistic, and read by the default decoder as the bench promises."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hal.codes import DEFAULT_DECODER, PERSON_CODES, Symbology
from hal.codes.corpus import (
    ReadCount,
    Sample,
    corpus,
    ean13_check_digit,
    empty_frames,
    overall,
    read_rate,
)
from hal.codes.decode import make_decoder
from hal.codes.distort import DISTORTIONS, LEVELS, conditions_for
from hal.codes.render import render_code

PAYLOAD_FORMS = {
    Symbology.QR: r"LK1:(P:[A-Z]{3}-\d{3}:\d{6,8}|R:[A-Z2-9]{10}|C:C\d{5}:[A-Z2-7]{20})",
    Symbology.CODE128: r"JD01\d{14}|1Z[A-Z0-9]{6}\d{10}",
    Symbology.EAN13: r"\d{13}",
    Symbology.CODE39: r"(PKG|RET|LBL)-\d{6}",
    Symbology.I25: r"\d{10}|\d{12}|\d{14}",
    Symbology.DATAMATRIX: r"JJD\d{14}\|PL\|\d{2}-\d{3}",
    Symbology.PDF417: r"LK1:L:JD01\d{14}:(S|M|L|XL):[A-Za-z]+:\d{5}",
}


def test_the_mild_corpus_is_read_by_the_default_decoder() -> None:
    samples = list(corpus("mild"))
    assert len(samples) >= 300
    assert {sample.symbology for sample in samples} == set(Symbology)
    assert {sample.distortion for sample in samples} == set(DISTORTIONS)

    counts = read_rate(make_decoder(DEFAULT_DECODER), samples)

    total = overall(counts)
    missed = {f"{symbology.value}/{distortion}": count.total - count.read
              for (symbology, distortion), count in counts.items() if count.read < count.total}
    assert total.total == len(samples)
    assert total.rate >= 0.98, f"read {total.read} of {total.total}; missed {missed}"


def test_the_same_call_gives_the_same_frames() -> None:
    first = list(corpus("harsh", samples_per_cell=1))
    again = list(corpus("harsh", samples_per_cell=1))
    assert [(s.symbology, s.payload, s.distortion) for s in first] == [
        (s.symbology, s.payload, s.distortion) for s in again]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))


def test_a_smaller_cell_count_gives_a_prefix_of_each_cell() -> None:
    chosen = {"symbologies": [Symbology.CODE39], "distortions": ["blur"]}
    few = list(corpus("mild", samples_per_cell=2, **chosen))  # type: ignore[arg-type]
    more = list(corpus("mild", samples_per_cell=4, **chosen))  # type: ignore[arg-type]
    assert [s.payload for s in few] == [s.payload for s in more[:2]]


def test_samples_are_camera_frames_with_realistic_payloads() -> None:
    for sample in corpus("mild", samples_per_cell=2):
        assert sample.image.shape == (480, 640, 3) and sample.image.dtype == np.uint8
        assert sample.level == "mild"
        text = sample.payload.decode("ascii")
        assert re.fullmatch(PAYLOAD_FORMS[sample.symbology], text), (sample.symbology, text)
        if sample.symbology is Symbology.EAN13:
            assert int(text[-1]) == ean13_check_digit(text[:12])


def test_larger_frames_show_the_codes_larger() -> None:
    small = next(iter(corpus("mild", samples_per_cell=1, symbologies=[Symbology.QR])))
    large = next(iter(corpus("mild", frame_size=(1280, 720), samples_per_cell=1, symbologies=[Symbology.QR])))
    assert large.image.shape == (720, 1280, 3)
    assert large.payload == small.payload
    dark = (small.image.min(axis=2) < 90).sum(), (large.image.min(axis=2) < 90).sum()
    assert dark[1] > 1.8 * dark[0]  # 1.5 times the size each way


def test_empty_frames_are_scenes_without_a_code() -> None:
    frames = empty_frames(4, frame_size=(1280, 720))
    assert len(frames) == 4 and all(frame.shape == (720, 1280, 3) for frame in frames)
    decoder = make_decoder(DEFAULT_DECODER)
    assert all(decoder.decode(frame, frozenset(Symbology)) == [] for frame in frames)


def test_a_read_counts_only_with_the_exact_payload_and_symbology() -> None:
    image = np.pad(render_code(Symbology.QR, "LK1:R:ABCDEF2345", module_px=4), 24, constant_values=255)
    samples = [
        Sample(image, Symbology.QR, b"LK1:R:ABCDEF2345", "clean", "mild"),
        Sample(image, Symbology.QR, b"LK1:R:ABCDEF234", "clean", "mild"),  # a prefix is not a read
        Sample(image, Symbology.DATAMATRIX, b"LK1:R:ABCDEF2345", "clean", "mild"),  # nor another symbology
    ]
    counts = read_rate(make_decoder("zxing"), samples, asked=lambda symbology: PERSON_CODES | {symbology})
    assert counts == {(Symbology.QR, "clean"): ReadCount(1, 2),
                      (Symbology.DATAMATRIX, "clean"): ReadCount(0, 1)}
    assert overall(counts) == ReadCount(1, 3)


@pytest.mark.parametrize(("level", "distortion"), [("mild", "smudge"), ("gentle", "blur")])
def test_unknown_levels_and_distortions_are_refused(level: str, distortion: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        conditions_for(distortion, level)
    with pytest.raises(ValueError, match="unknown"):
        list(corpus(level, distortions=[distortion]))


def test_harsh_is_harsher_than_mild_for_every_distortion_but_clean() -> None:
    for distortion in DISTORTIONS:
        mild, harsh = (conditions_for(distortion, level) for level in LEVELS)
        assert (mild == harsh) == (distortion == "clean"), distortion

"""The decoders on real rendered codes: every symbology each reads, the restriction to the asked symbologies,
light-on-dark codes, one result per code, binary payloads, odd input and concurrent use."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import segno
import zxingcpp
from pyzbar import pyzbar

from hal.codes import DECODER_NAMES, DEFAULT_DECODER, MAX_PAYLOAD_BYTES, Decoded, Symbology
from hal.codes.corpus import empty_frames
from hal.codes.decode import (
    ZBAR_SYMBOLOGIES,
    ZXING_SYMBOLOGIES,
    CodeDecoder,
    DualDecoder,
    ZbarDecoder,
    ZxingDecoder,
    make_decoder,
)
from hal.codes.render import render_code

ALL = frozenset(Symbology)
PAYLOADS = {
    Symbology.QR: "LK1:P:WAW-014:4821937",
    Symbology.CODE128: "JD0146000012345678",
    Symbology.EAN13: "5901234123457",
    Symbology.CODE39: "PKG-204518",
    Symbology.I25: "12345678901231",
    Symbology.DATAMATRIX: "JJD01460000123456|PL|00-950",
    Symbology.PDF417: "LK1:L:JD0146000012345678:M:Kowalski:00950",
}
SUPPORTED = {"zbar": ZBAR_SYMBOLOGIES, "zxing": ZXING_SYMBOLOGIES, "dual": ALL}


def on_label(code: np.ndarray, margin: int = 24) -> np.ndarray:
    """A rendered code with blank label around it, as a BGR frame."""
    padded = np.pad(code, margin, constant_values=255)
    return cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR)


def side_by_side(*codes: np.ndarray, gap: int = 40) -> np.ndarray:
    height = max(code.shape[0] for code in codes)
    columns = []
    for code in codes:
        columns.append(np.pad(code, ((0, height - code.shape[0]), (0, gap)), constant_values=255))
    return on_label(np.hstack(columns))


def qr_of_bytes(payload: bytes, module_px: int = 4) -> np.ndarray:
    matrix = np.array(segno.make_qr(payload, mode="byte", error="m").matrix, dtype=np.uint8)
    modules = np.pad(matrix, 4)
    return np.where(np.kron(modules, np.ones((module_px, module_px), np.uint8)) > 0, 0, 255).astype(np.uint8)


def payloads(found: list[Decoded]) -> list[tuple[Symbology, bytes]]:
    return [(code.symbology, code.payload) for code in found]


@pytest.fixture(params=DECODER_NAMES)
def decoder(request: pytest.FixtureRequest) -> CodeDecoder:
    return make_decoder(request.param)


@pytest.mark.parametrize(("name", "symbology"),
                         [(name, symbology) for name in DECODER_NAMES for symbology in Symbology
                          if symbology in SUPPORTED[name]])
def test_every_symbology_round_trips_through_each_decoder_reading_it(name: str, symbology: Symbology) -> None:
    code = render_code(symbology, PAYLOADS[symbology], module_px=3)
    frame = on_label(code)

    found = make_decoder(name).decode(frame, frozenset({symbology}))

    assert payloads(found) == [(symbology, PAYLOADS[symbology].encode())]
    box = found[0]
    # The box lies on the code, inside its label: within the quiet zone's reach of the drawn code.
    assert box.left >= 0 and box.top >= 0 and box.width > 0 and box.height > 0
    assert box.left + box.width <= frame.shape[1] and box.top + box.height <= frame.shape[0]
    assert box.left < 24 + code.shape[1] and box.top < 24 + code.shape[0]


def test_zbar_ignores_what_it_cannot_read() -> None:
    frame = on_label(render_code(Symbology.DATAMATRIX, PAYLOADS[Symbology.DATAMATRIX], module_px=4))
    assert ZbarDecoder().decode(frame, frozenset({Symbology.DATAMATRIX, Symbology.PDF417})) == []
    found = ZxingDecoder().decode(frame, frozenset({Symbology.DATAMATRIX}))
    assert found[0].symbology is Symbology.DATAMATRIX


def test_only_the_asked_symbologies_come_back(decoder: CodeDecoder) -> None:
    frame = side_by_side(render_code(Symbology.QR, PAYLOADS[Symbology.QR], module_px=4),
                         render_code(Symbology.CODE128, PAYLOADS[Symbology.CODE128], module_px=3))
    qr = (Symbology.QR, PAYLOADS[Symbology.QR].encode())
    label = (Symbology.CODE128, PAYLOADS[Symbology.CODE128].encode())

    assert payloads(decoder.decode(frame, frozenset({Symbology.QR}))) == [qr]
    assert payloads(decoder.decode(frame, frozenset({Symbology.CODE128}))) == [label]
    assert sorted(payloads(decoder.decode(frame, ALL)), key=str) == sorted([qr, label], key=str)
    assert decoder.decode(frame, frozenset({Symbology.EAN13, Symbology.I25})) == []


def test_nothing_asked_is_nothing_found(decoder: CodeDecoder) -> None:
    frame = on_label(render_code(Symbology.QR, "x", module_px=4))
    assert decoder.decode(frame, frozenset()) == []


def test_each_decoder_says_what_it_reads() -> None:
    assert {name: make_decoder(name).symbologies for name in DECODER_NAMES} == SUPPORTED


@pytest.mark.parametrize("symbology", [Symbology.QR, Symbology.CODE128])
def test_a_light_on_dark_code_is_read_on_the_inverted_frame(decoder: CodeDecoder,
                                                            symbology: Symbology) -> None:
    dark_mode = 255 - on_label(render_code(symbology, PAYLOADS[symbology], module_px=4))
    grey = cv2.cvtColor(dark_mode, cv2.COLOR_BGR2GRAY)
    # Neither library reads it as it is: only the retry on the inverted frame can.
    assert zxingcpp.read_barcodes(grey, try_invert=False) == []
    assert pyzbar.decode(grey) == []

    found = decoder.decode(dark_mode, frozenset({symbology}))
    assert payloads(found) == [(symbology, PAYLOADS[symbology].encode())]


def test_the_inverted_frame_is_tried_only_when_nothing_was_found(decoder: CodeDecoder) -> None:
    dark_payload = "LK1:R:DARKMODE2345678"  # as long as the other: the same QR version, the same size
    dark = 255 - on_label(render_code(Symbology.QR, dark_payload, module_px=4))
    light = on_label(render_code(Symbology.QR, PAYLOADS[Symbology.QR], module_px=4))
    qr_only = frozenset({Symbology.QR})
    assert payloads(decoder.decode(dark, qr_only)) == [(Symbology.QR, dark_payload.encode())]
    # Beside a dark-on-light code, the light-on-dark one is not looked for: the first pass found a code.
    found = decoder.decode(np.hstack([light, dark]), qr_only)
    assert payloads(found) == [(Symbology.QR, PAYLOADS[Symbology.QR].encode())]


def test_the_same_code_twice_in_a_frame_comes_back_once(decoder: CodeDecoder) -> None:
    code = render_code(Symbology.QR, PAYLOADS[Symbology.QR], module_px=4)
    other = render_code(Symbology.QR, "LK1:R:ABCDEF2345", module_px=4)
    frame = side_by_side(code, other, code)

    found = decoder.decode(frame, frozenset({Symbology.QR}))

    assert sorted(payloads(found)) == sorted([(Symbology.QR, PAYLOADS[Symbology.QR].encode()),
                                              (Symbology.QR, b"LK1:R:ABCDEF2345")])


def test_dual_reads_labels_zbar_cannot_and_gives_each_code_once() -> None:
    frame = side_by_side(render_code(Symbology.QR, PAYLOADS[Symbology.QR], module_px=4),
                         render_code(Symbology.PDF417, PAYLOADS[Symbology.PDF417], module_px=3))

    found = DualDecoder().decode(frame, ALL)

    expected = [(symbology, PAYLOADS[symbology].encode()) for symbology in (Symbology.QR, Symbology.PDF417)]
    assert sorted(payloads(found), key=str) == sorted(expected, key=str)


@pytest.mark.parametrize("payload", [
    bytes(range(256)),  # every byte, NUL and invalid UTF-8 included
    b"\x00\x01\xfe\xff LK1",
    "ｶﾀｶﾅ".encode("shift_jis"),  # zbar would take it for Shift JIS and hand back UTF-8 unless told not to
    "é".encode("latin-1"),
    "zażółć".encode(),
])
def test_a_binary_qr_comes_back_as_the_exact_bytes(decoder: CodeDecoder, payload: bytes) -> None:
    frame = on_label(qr_of_bytes(payload))
    assert payloads(decoder.decode(frame, frozenset({Symbology.QR}))) == [(Symbology.QR, payload)]


def test_an_oversized_payload_is_returned_and_marked(decoder: CodeDecoder) -> None:
    payload = b"A" * (MAX_PAYLOAD_BYTES + 1)
    found = decoder.decode(on_label(qr_of_bytes(payload, module_px=3)), frozenset({Symbology.QR}))
    assert [code.payload for code in found] == [payload] and found[0].oversized


def test_no_code_is_made_up_from_a_cluttered_scene(decoder: CodeDecoder) -> None:
    for frame in empty_frames(3):
        assert decoder.decode(frame, ALL) == []


class TestOddInput:
    @pytest.mark.parametrize("shape", [(0, 0), (0, 10), (10, 0), (0, 0, 3), (5, 0, 3)])
    def test_an_image_with_no_pixels_has_no_codes(self, decoder: CodeDecoder, shape: tuple[int, ...]) -> None:
        assert decoder.decode(np.zeros(shape, np.uint8), ALL) == []

    @pytest.mark.parametrize("shape", [(1, 1), (2, 2), (1, 500), (500, 1), (3, 3, 3), (1, 1, 4)])
    def test_tiny_images_have_no_codes(self, decoder: CodeDecoder, shape: tuple[int, ...]) -> None:
        assert decoder.decode(np.full(shape, 255, np.uint8), ALL) == []

    @pytest.mark.parametrize("fill", [0, 255])
    def test_flat_frames_have_no_codes(self, decoder: CodeDecoder, fill: int) -> None:
        assert decoder.decode(np.full((480, 640, 3), fill, np.uint8), ALL) == []

    @pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16, np.int8, np.int64, np.bool_])
    def test_a_wrong_pixel_type_is_a_value_error_saying_so(self, decoder: CodeDecoder, dtype: type) -> None:
        with pytest.raises(ValueError, match=r"must be 8-bit \(uint8\)") as raised:
            decoder.decode(np.zeros((48, 64, 3), dtype), ALL)
        assert "\n" not in str(raised.value)

    @pytest.mark.parametrize("shape", [(64,), (8, 8, 2), (8, 8, 5), (2, 8, 8, 3)])
    def test_a_wrong_shape_is_a_value_error_saying_so(self, decoder: CodeDecoder,
                                                      shape: tuple[int, ...]) -> None:
        with pytest.raises(ValueError, match="must be HxW grey, HxWx3 BGR or HxWx4 BGRA"):
            decoder.decode(np.zeros(shape, np.uint8), ALL)

    def test_something_else_than_an_array_is_a_value_error(self, decoder: CodeDecoder) -> None:
        with pytest.raises(ValueError, match="numpy array"):
            decoder.decode([[0, 255], [255, 0]], ALL)  # type: ignore[arg-type]

    def test_grey_bgra_and_one_channel_frames_are_read(self, decoder: CodeDecoder) -> None:
        grey = np.pad(render_code(Symbology.QR, PAYLOADS[Symbology.QR], module_px=4), 24, constant_values=255)
        expected = [(Symbology.QR, PAYLOADS[Symbology.QR].encode())]
        bgra = np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGRA), dtype=np.uint8)
        for image in (grey, grey[:, :, None], bgra):
            assert payloads(decoder.decode(image, frozenset({Symbology.QR}))) == expected

    def test_read_only_frames_are_read(self, decoder: CodeDecoder) -> None:
        frame = on_label(render_code(Symbology.QR, PAYLOADS[Symbology.QR], module_px=4))
        grey = np.ascontiguousarray(frame[:, :, 0])
        for image in (frame, grey):
            image.setflags(write=False)  # a camera's frames are never written to after delivery
            found = decoder.decode(image, frozenset({Symbology.QR}))
            assert payloads(found) == [(Symbology.QR, PAYLOADS[Symbology.QR].encode())]

    def test_non_contiguous_views_are_read(self, decoder: CodeDecoder) -> None:
        frame = on_label(render_code(Symbology.QR, PAYLOADS[Symbology.QR], module_px=4))
        expected = [(Symbology.QR, PAYLOADS[Symbology.QR].encode())]
        wide = np.zeros((frame.shape[0], frame.shape[1] * 2, 3), np.uint8)
        wide[:, ::2] = frame
        for view in (frame[:, :, ::-1], frame.transpose(1, 0, 2), wide[:, ::2], frame[::-1, ::-1]):
            assert not view.flags.c_contiguous
            assert payloads(decoder.decode(view, frozenset({Symbology.QR}))) == expected


def test_decoders_can_be_used_from_several_threads_at_once(decoder: CodeDecoder) -> None:
    frames = [on_label(render_code(Symbology.QR, f"LK1:P:WAW-{index:03d}:123456", module_px=4))
              for index in range(4)]
    expected = [payloads(decoder.decode(frame, frozenset({Symbology.QR}))) for frame in frames]
    results: dict[int, list[list[tuple[Symbology, bytes]]]] = {}
    start = threading.Barrier(len(frames))

    def work(index: int) -> None:
        start.wait(timeout=5)
        results[index] = [payloads(decoder.decode(frame, frozenset({Symbology.QR}))) for frame in frames * 3]

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(frames))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(results[index] == expected * 3 for index in range(len(frames)))


def test_decoders_are_made_by_name() -> None:
    assert DEFAULT_DECODER in DECODER_NAMES
    assert set(DECODER_NAMES) == {"zbar", "zxing", "dual"}
    for name in DECODER_NAMES:
        assert make_decoder(name).name == name


def test_an_unknown_decoder_name_is_one_clear_line() -> None:
    with pytest.raises(ValueError) as raised:
        make_decoder("quagga")
    assert str(raised.value) == "unknown decoder 'quagga'; known decoders: zbar, zxing, dual"


def test_zbar_scan_density_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scan_density"):
        ZbarDecoder(scan_density=0)

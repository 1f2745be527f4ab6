"""Decoders: find the codes of the asked symbologies in one camera frame.

    decoder = make_decoder(DEFAULT_DECODER)
    for code in decoder.decode(frame.image, PERSON_CODES):
        ...

Three decoders share one shape (`CodeDecoder`):
- "zbar": libzbar through pyzbar's bindings. Reads QR and the four 1D label codes; not DataMatrix or PDF417
  (it ignores them when asked).
- "zxing": zxing-cpp. Reads all seven symbologies.
- "dual": zbar for what zbar reads, zxing for DataMatrix and PDF417 (only when they are asked for), and
  zxing on everything asked when zbar found nothing at all (it reads frames zbar cannot, see below).

The default is "zxing", by measurement (tests/benchmarks/decoding.py; 336 generated 640x480 frames a level,
2-core machine): it read 334 of the mild corpus (99.4 %), dual 335 (99.7 %), zbar 224 (66.7 %: zbar loses
1D codes to sensor noise and cannot read DataMatrix or PDF417). The two that pass the 98 % target read the
same within one frame, but zxing does it in a tenth of the time: QR-only median 0.5 ms against dual's 4.7 ms
(zbar's pass, its QR reader, comes first); on a frame with no code, which is what a kiosk camera mostly
sees, 1.5 ms against 9.6 ms QR-only and 12 ms against 31 ms for the label symbologies.

Every decoder reads a grey copy of the frame; when it finds nothing it tries once more on the inverted frame
(light-on-dark codes, a phone in dark mode). A code found twice in one frame (by both passes or both
libraries) is returned once. Payloads are the code's bytes exactly as encoded, binary included: zbar is told
not to turn QR bytes into text, and zxing's raw bytes are used.

Decoders keep no state between calls and may be called from several threads at once.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Iterable
from typing import Protocol

import cv2
import numpy as np
import zxingcpp
from pyzbar import wrapper as zbar

from hal.camera import Image
from hal.codes import DECODER_NAMES, Decoded, Symbology


class CodeDecoder(Protocol):
    name: str  # one of DECODER_NAMES
    symbologies: frozenset[Symbology]  # what it can read; it ignores the others when asked for them

    def decode(self, image: Image, symbologies: frozenset[Symbology]) -> list[Decoded]:
        """The codes of `symbologies` in `image` (BGR HxWx3, BGRA HxWx4 or grey HxW / HxWx1, uint8).

        Returns [] at once when none of `symbologies` is one this decoder reads, and [] for an image with no
        pixels. Otherwise raises ValueError (one line saying what is wrong) for anything that is not a uint8
        image of one of those shapes.
        """
        ...


def grey_of(image: Image) -> Image | None:
    """The image as one contiguous grey uint8 plane; None when it has no pixels.

    Raises ValueError for anything that is not a uint8 image of 1, 3 (BGR) or 4 (BGRA) channels.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f"an image must be a numpy array, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"an image must be 8-bit (uint8), not {image.dtype}")
    channels = image.shape[2] if image.ndim == 3 else 1
    if image.ndim not in (2, 3) or channels not in (1, 3, 4):
        raise ValueError(f"an image must be HxW grey, HxWx3 BGR or HxWx4 BGRA, not shape {image.shape}")
    if image.size == 0:
        return None
    if channels == 1:
        return np.ascontiguousarray(image.reshape(image.shape[0], image.shape[1]))
    conversion = cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(image), conversion), dtype=np.uint8)


def _first_of_each(codes: Iterable[Decoded]) -> list[Decoded]:
    """One Decoded per (symbology, payload): the first one found."""
    seen: set[tuple[Symbology, bytes]] = set()
    unique = []
    for code in codes:
        key = (code.symbology, code.payload)
        if key not in seen:
            seen.add(key)
            unique.append(code)
    return unique


def _with_inverted_retry(grey: Image, read: Callable[[Image], list[Decoded]]) -> list[Decoded]:
    found = read(grey)
    if not found:
        found = read(np.asarray(cv2.bitwise_not(grey), dtype=np.uint8))
    return found


def _box(points: Iterable[tuple[int, int]]) -> tuple[int, int, int, int]:
    """left, top, width, height of the smallest upright rectangle holding every point."""
    xs, ys = zip(*points, strict=True)
    left, top = min(xs), min(ys)
    return left, top, max(xs) - left + 1, max(ys) - top + 1


# --- zbar -------------------------------------------------------------------------------------------------

_ZBAR_TYPES = {
    Symbology.QR: zbar.ZBarSymbol.QRCODE,
    Symbology.CODE128: zbar.ZBarSymbol.CODE128,
    Symbology.EAN13: zbar.ZBarSymbol.EAN13,
    Symbology.CODE39: zbar.ZBarSymbol.CODE39,
    Symbology.I25: zbar.ZBarSymbol.I25,
}
_SYMBOLOGY_OF_ZBAR_TYPE = {int(kind): symbology for symbology, kind in _ZBAR_TYPES.items()}
ZBAR_SYMBOLOGIES: frozenset[Symbology] = frozenset(_ZBAR_TYPES)

# zbar.h's numbers (pyzbar's ZBarConfig lacks BINARY, which zbar 0.23 added).
_ZBAR_ALL_TYPES = 0  # ZBAR_NONE: a setting made on it applies to every symbology
_ZBAR_CFG_ENABLE = 0
_ZBAR_CFG_BINARY = 4  # hand back the bytes as encoded; do not guess a text encoding and convert to UTF-8
_ZBAR_CFG_X_DENSITY = 0x100
_ZBAR_CFG_Y_DENSITY = 0x101
_ZBAR_GREY_FOURCC = 0x30303859  # "Y800": 8-bit grey


class _GreyDecoder:
    """A decoder that works on the grey frame: the conversion happens once, here."""

    symbologies: frozenset[Symbology]

    def decode(self, image: Image, symbologies: frozenset[Symbology]) -> list[Decoded]:
        if not symbologies & self.symbologies:
            return []
        grey = grey_of(image)
        if grey is None:
            return []
        return self.decode_grey(grey, symbologies)

    def decode_grey(self, grey: Image, symbologies: frozenset[Symbology]) -> list[Decoded]:
        raise NotImplementedError


class ZbarDecoder(_GreyDecoder):
    """libzbar through pyzbar's ctypes bindings; one image scanner per call, so threads share nothing.

    `scan_density` N scans every Nth row and column (zbar's default is 1). Measured with 2: the same mild
    corpus read (225 against 224 of 336) in a little over half the time (QR-only median 4.7 ms against
    8.7 ms), but only 23 of the 48 harsh QR codes against 35. The dual decoder uses 2: its zxing fallback
    reads those.
    """

    name = "zbar"
    symbologies: frozenset[Symbology] = ZBAR_SYMBOLOGIES

    def __init__(self, *, scan_density: int = 1) -> None:
        if scan_density < 1:
            raise ValueError(f"scan_density must be 1 or more, not {scan_density}")
        self.scan_density = scan_density

    def decode_grey(self, grey: Image, symbologies: frozenset[Symbology]) -> list[Decoded]:
        kinds = [int(_ZBAR_TYPES[symbology]) for symbology in symbologies & ZBAR_SYMBOLOGIES]
        if not kinds:
            return []
        return _first_of_each(
            _with_inverted_retry(grey, lambda plane: _zbar_scan(plane, kinds, self.scan_density)))


def _zbar_scan(grey: Image, kinds: list[int], density: int) -> list[Decoded]:
    height, width = grey.shape
    scanner = zbar.zbar_image_scanner_create()
    if not scanner:
        raise MemoryError("libzbar could not create an image scanner")
    try:
        zbar.zbar_image_scanner_set_config(scanner, _ZBAR_ALL_TYPES, _ZBAR_CFG_ENABLE, 0)
        for kind in kinds:
            zbar.zbar_image_scanner_set_config(scanner, kind, _ZBAR_CFG_ENABLE, 1)
        zbar.zbar_image_scanner_set_config(scanner, int(zbar.ZBarSymbol.QRCODE), _ZBAR_CFG_BINARY, 1)
        zbar.zbar_image_scanner_set_config(scanner, _ZBAR_ALL_TYPES, _ZBAR_CFG_X_DENSITY, density)
        zbar.zbar_image_scanner_set_config(scanner, _ZBAR_ALL_TYPES, _ZBAR_CFG_Y_DENSITY, density)
        zbar_image = zbar.zbar_image_create()
        if not zbar_image:
            raise MemoryError("libzbar could not create an image")
        try:
            zbar.zbar_image_set_format(zbar_image, _ZBAR_GREY_FOURCC)
            zbar.zbar_image_set_size(zbar_image, width, height)
            # zbar reads the pixels in place, with no cleanup handler: `grey` outlives the scan.
            zbar.zbar_image_set_data(zbar_image, grey.ctypes.data_as(ctypes.c_void_p), grey.size, None)
            if zbar.zbar_scan_image(scanner, zbar_image) <= 0:
                return []
            return list(_zbar_symbols(zbar_image))
        finally:
            zbar.zbar_image_destroy(zbar_image)
    finally:
        zbar.zbar_image_scanner_destroy(scanner)


def _zbar_symbols(zbar_image: object) -> Iterable[Decoded]:
    symbol = zbar.zbar_image_first_symbol(zbar_image)
    while symbol:
        symbology = _SYMBOLOGY_OF_ZBAR_TYPE.get(symbol.contents.type)
        points = [(zbar.zbar_symbol_get_loc_x(symbol, index), zbar.zbar_symbol_get_loc_y(symbol, index))
                  for index in range(zbar.zbar_symbol_get_loc_size(symbol))]
        if symbology is not None and points:
            length = zbar.zbar_symbol_get_data_length(symbol)
            payload = ctypes.string_at(zbar.zbar_symbol_get_data(symbol), length)
            yield Decoded(symbology, payload, *_box(points))
        symbol = zbar.zbar_symbol_next(symbol)


# --- zxing-cpp --------------------------------------------------------------------------------------------

_ZXING_FORMATS = {
    Symbology.QR: zxingcpp.BarcodeFormat.QRCode,
    Symbology.CODE128: zxingcpp.BarcodeFormat.Code128,
    Symbology.EAN13: zxingcpp.BarcodeFormat.EAN13,
    # Standard Code 39 only: the extended reading turns "+A" into "a", which zbar (and the label) does not.
    Symbology.CODE39: zxingcpp.BarcodeFormat.Code39Std,
    Symbology.I25: zxingcpp.BarcodeFormat.ITF,
    Symbology.DATAMATRIX: zxingcpp.BarcodeFormat.DataMatrix,
    Symbology.PDF417: zxingcpp.BarcodeFormat.PDF417,
}
# The formats zxing-cpp reports back (a family asked for comes back as one of its members).
_SYMBOLOGY_OF_ZXING_FORMAT = {
    zxingcpp.BarcodeFormat.QRCode: Symbology.QR,
    zxingcpp.BarcodeFormat.QRCodeModel1: Symbology.QR,
    zxingcpp.BarcodeFormat.QRCodeModel2: Symbology.QR,
    zxingcpp.BarcodeFormat.Code128: Symbology.CODE128,
    zxingcpp.BarcodeFormat.EAN13: Symbology.EAN13,
    zxingcpp.BarcodeFormat.Code39: Symbology.CODE39,
    zxingcpp.BarcodeFormat.Code39Std: Symbology.CODE39,
    zxingcpp.BarcodeFormat.ITF: Symbology.I25,
    zxingcpp.BarcodeFormat.ITF14: Symbology.I25,
    zxingcpp.BarcodeFormat.DataMatrix: Symbology.DATAMATRIX,
    zxingcpp.BarcodeFormat.PDF417: Symbology.PDF417,
    zxingcpp.BarcodeFormat.CompactPDF417: Symbology.PDF417,
}
ZXING_SYMBOLOGIES: frozenset[Symbology] = frozenset(_ZXING_FORMATS)

# Codes whose finders need about 3 px a module. When nothing at all is found, they get one more pass on the
# frame enlarged by ENLARGE (a code held a little too far away). Measured on the mild corpus: PDF417 from 40
# to 47 of 48 read (all symbologies: 97.3 % to 99.4 %), for 0.8 ms more on a 640x480 frame with no code when
# asked for QR only, 3.4 ms for all label symbologies.
SMALL_MODULE_SYMBOLOGIES: frozenset[Symbology] = frozenset(
    {Symbology.QR, Symbology.DATAMATRIX, Symbology.PDF417})
ENLARGE = 1.5


class ZxingDecoder(_GreyDecoder):
    """zxing-cpp, asked for exactly the requested formats: the frame; if nothing, the inverted frame; if still
    nothing, the frame enlarged 1.5x for the 2D and stacked codes asked for.

    The inverted retry is ours, not zxing-cpp's try_invert: that one does not invert for PDF417."""

    name = "zxing"
    symbologies: frozenset[Symbology] = ZXING_SYMBOLOGIES

    def decode_grey(self, grey: Image, symbologies: frozenset[Symbology]) -> list[Decoded]:
        wanted = symbologies & ZXING_SYMBOLOGIES
        if not wanted:
            return []
        formats = _zxing_formats(wanted)
        found = _with_inverted_retry(grey, lambda plane: _zxing_scan(plane, formats))
        small = wanted & SMALL_MODULE_SYMBOLOGIES
        if not found and small:
            resized = cv2.resize(grey, None, fx=ENLARGE, fy=ENLARGE, interpolation=cv2.INTER_LINEAR)
            enlarged = np.asarray(resized, dtype=np.uint8)
            found = [_shrunk(code, ENLARGE) for code in _zxing_scan(enlarged, _zxing_formats(small))]
        return _first_of_each(code for code in found if code.symbology in wanted)


def _zxing_formats(symbologies: frozenset[Symbology]) -> zxingcpp.BarcodeFormats:
    ordered = sorted(symbologies, key=list(Symbology).index)
    return zxingcpp.BarcodeFormats([_ZXING_FORMATS[symbology] for symbology in ordered])


def _zxing_scan(grey: Image, formats: zxingcpp.BarcodeFormats) -> list[Decoded]:
    found = []
    for result in zxingcpp.read_barcodes(grey, formats=formats, try_invert=False):
        symbology = _SYMBOLOGY_OF_ZXING_FORMAT.get(result.format)
        if symbology is None:
            continue
        position = result.position
        corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
        found.append(Decoded(symbology, result.bytes, *_box((corner.x, corner.y) for corner in corners)))
    return found


def _shrunk(code: Decoded, factor: float) -> Decoded:
    """A code found in an enlarged frame, with its box in the original frame's pixels."""
    left, top = int(code.left / factor), int(code.top / factor)
    right = math.ceil((code.left + code.width) / factor)
    bottom = math.ceil((code.top + code.height) / factor)
    return Decoded(code.symbology, code.payload, left, top, max(1, right - left), max(1, bottom - top))


# --- both -------------------------------------------------------------------------------------------------

DUAL_ZBAR_SCAN_DENSITY = 2


class DualDecoder:
    """zbar for what zbar reads; zxing-cpp for DataMatrix and PDF417, and for everything asked when zbar
    found nothing (after its inverted retry) and `zxing_fallback` is on.

    The fallback, measured: 99.7 % of the mild corpus read instead of 95.2 % (zxing reads the 1D codes zbar
    loses to sensor noise), 79.5 % of the harsh instead of 64.9 %, for 1.6 ms more on a frame with no code
    asked for QR only (zbar's own passes take 8 ms)."""

    name = "dual"
    symbologies: frozenset[Symbology] = frozenset(Symbology)

    def __init__(self, *, zxing_fallback: bool = True) -> None:
        self._zbar = ZbarDecoder(scan_density=DUAL_ZBAR_SCAN_DENSITY)
        self._zxing = ZxingDecoder()
        self.zxing_fallback = zxing_fallback

    def decode(self, image: Image, symbologies: frozenset[Symbology]) -> list[Decoded]:
        if not symbologies:
            return []
        grey = grey_of(image)
        if grey is None:
            return []
        found = self._zbar.decode_grey(grey, symbologies)
        for_zxing = symbologies if self.zxing_fallback and not found else symbologies - ZBAR_SYMBOLOGIES
        if for_zxing:
            found += self._zxing.decode_grey(grey, frozenset(for_zxing))
        return _first_of_each(found)


# --- choosing one -----------------------------------------------------------------------------------------

_MAKERS: dict[str, Callable[[], CodeDecoder]] = {
    "zbar": ZbarDecoder,
    "zxing": ZxingDecoder,
    "dual": DualDecoder,
}
assert set(_MAKERS) == set(DECODER_NAMES), "hal.codes.DECODER_NAMES must name every decoder"


def make_decoder(name: str) -> CodeDecoder:
    """A decoder by its name (one of DECODER_NAMES); ValueError naming the known ones otherwise."""
    maker = _MAKERS.get(name)
    if maker is None:
        raise ValueError(f"unknown decoder {name!r}; known decoders: {', '.join(DECODER_NAMES)}")
    return maker()

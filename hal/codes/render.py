"""Draw codes as clean grey images: what the simulated camera holds up and what the test corpus distorts.

QR codes come from segno, the 1D symbologies from python-barcode's module patterns, DataMatrix and PDF417
from zxing-cpp's writer. Every image is uint8 grey, black (0) on white (255), with the symbology's quiet
zone around it.
"""

from __future__ import annotations

import barcode
import numpy as np
import segno
import zxingcpp

from hal.camera import Image
from hal.codes import Symbology

QUIET_ZONE_MODULES = {Symbology.QR: 4, Symbology.DATAMATRIX: 2, Symbology.PDF417: 2}
LINEAR_QUIET_ZONE_MODULES = 10
# python-barcode draws an ITF narrow bar two modules wide: twice the modules for the same ten narrow bars.
I25_QUIET_ZONE_MODULES = 20
LINEAR_HEIGHT_MODULES = 50  # a parcel label's bars are tall; scanners tolerate tilt because of it

_PYTHON_BARCODE_NAMES = {
    Symbology.CODE128: "code128",
    Symbology.EAN13: "ean13",
    Symbology.CODE39: "code39",
    Symbology.I25: "itf",
}
_ZXING_FORMATS = {
    Symbology.DATAMATRIX: zxingcpp.BarcodeFormat.DataMatrix,
    Symbology.PDF417: zxingcpp.BarcodeFormat.PDF417,
}


def render_code(symbology: Symbology, payload: str, module_px: int = 4) -> Image:
    """The code as a grey image, each module `module_px` pixels wide.

    Raises ValueError when the payload cannot be encoded in that symbology (EAN-13 takes 12 or 13 digits,
    Interleaved 2 of 5 an even number of digits, ...).
    """
    if module_px < 1:
        raise ValueError(f"module_px must be at least 1, not {module_px}")
    if symbology is Symbology.QR:
        modules = _qr_modules(payload)
        quiet = QUIET_ZONE_MODULES[symbology]
    elif symbology in _ZXING_FORMATS:
        modules = _zxing_modules(symbology, payload)
        quiet = QUIET_ZONE_MODULES[symbology]
    else:
        modules = _linear_modules(symbology, payload)
        quiet = I25_QUIET_ZONE_MODULES if symbology is Symbology.I25 else LINEAR_QUIET_ZONE_MODULES
    padded = np.pad(modules, quiet, constant_values=0)
    dark = np.kron(padded, np.ones((module_px, module_px), dtype=np.uint8))
    return np.where(dark > 0, 0, 255).astype(np.uint8)


def _qr_modules(payload: str) -> np.ndarray:
    try:
        code = segno.make_qr(payload, error="m")
    except segno.DataOverflowError as error:
        raise ValueError(f"too long for a QR code: {error}") from None
    return np.array(code.matrix, dtype=np.uint8)


def _zxing_modules(symbology: Symbology, payload: str) -> np.ndarray:
    try:
        made = zxingcpp.create_barcode(payload, _ZXING_FORMATS[symbology])
    except Exception as error:  # zxing-cpp raises its own ValueError-like types
        raise ValueError(f"cannot encode {payload!r} as {symbology.value}: {error}") from None
    image = np.asarray(zxingcpp.write_barcode_to_image(made, scale=1, add_quiet_zones=False))
    return (image < 128).astype(np.uint8)


def _linear_modules(symbology: Symbology, payload: str) -> np.ndarray:
    options: dict[str, object] = {"writer": None}
    if symbology is Symbology.CODE39:
        options["add_checksum"] = False
    try:
        code = barcode.get_barcode_class(_PYTHON_BARCODE_NAMES[symbology])(payload, **options)
        pattern = code.build()[0]
    except Exception as error:  # python-barcode raises several unrelated types for bad input
        raise ValueError(f"cannot encode {payload!r} as {symbology.value}: {error}") from None
    row = np.array([1 if bit == "1" else 0 for bit in pattern], dtype=np.uint8)
    return np.tile(row, (LINEAR_HEIGHT_MODULES, 1))

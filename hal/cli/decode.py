"""`python -m hal decode FILE...`: the codes in image files, one line each.

    decode FILE... [--symbology NAME ...] [--decoder zbar|zxing|dual] [--json]

Prints `SYMBOLOGY<TAB>PAYLOAD` for every code found, in the order of the files. The payload is printed as
text when it is printable UTF-8; a backslash, a tab, a newline and any other unprintable character or byte
is escaped (\\\\, \\t, \\n, \\r, \\xNN, \\uNNNN), so each code is one line and the bytes can be recovered.
--json prints {"file", "symbology", "payload", "left", "top", "width", "height"} per code instead, the payload
escaped the same way. --symbology (repeatable, or comma-separated; default: all seven) restricts what is
looked for: QR, CODE128, EAN13, CODE39, I25, DATAMATRIX, PDF417.

A file that cannot be read as an image gets one line on stderr (`FILE: cannot read image`) and the others
are still decoded. Exit status: 0 when every file was read (whether or not it held a code), 1 when any could
not be, 2 for bad usage.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from hal.cli.output import Output
from hal.codes import DECODER_NAMES, DEFAULT_DECODER, Symbology

if TYPE_CHECKING:
    from hal.camera import Image

# numpy, OpenCV and the decoders load only when `decode` runs: numpy's BLAS starts threads that do not block
# SIGTERM, which would kill `locker-hal sim` before it can stop its simulator cleanly, and every other
# command would pay for the imports.

EXIT_OK = 0
EXIT_UNREADABLE = 1

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable_payload(payload: bytes) -> str:
    """The payload as one line of text: UTF-8 as it is where printable, everything else escaped."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_escaped_byte(byte) for byte in payload)
    return "".join(_escaped_character(character) for character in text)


def _escaped_character(character: str) -> str:
    if character in _ESCAPES:
        return _ESCAPES[character]
    if character.isprintable():
        return character
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escaped_byte(byte: int) -> str:
    character = chr(byte)
    if character in _ESCAPES:
        return _ESCAPES[character]
    return character if 0x20 <= byte < 0x7F else f"\\x{byte:02x}"


def _symbologies(text: str) -> frozenset[Symbology]:
    chosen = set()
    for name in text.split(","):
        try:
            chosen.add(Symbology(name.strip().upper()))
        except ValueError:
            known = ", ".join(symbology.value for symbology in Symbology)
            raise argparse.ArgumentTypeError(f"unknown symbology {name.strip()!r}; known: {known}") from None
    return frozenset(chosen)


def add_decode_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the `decode` subcommand; it sets `handler(args, out) -> exit status` on the namespace."""
    # Only --json of the bus's common options means anything here.
    json_option = argparse.ArgumentParser(add_help=False)
    json_option.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                             help="one JSON object per code instead of text")
    decode = commands.add_parser(
        "decode", parents=[json_option], help="print the codes found in image files",
        description="Decode QR codes and barcodes in image files (PNG, JPEG, ...): one line per code, "
                    "SYMBOLOGY<TAB>PAYLOAD.",
        epilog="Exit status: 0 every file read (found codes or not), 1 a file could not be read, "
               "2 bad usage.")
    decode.add_argument("files", nargs="+", metavar="FILE", help="image files")
    decode.add_argument("--symbology", type=_symbologies, action="append", metavar="NAME",
                        help="look only for these (repeatable or comma-separated; default all: "
                             f"{', '.join(symbology.value for symbology in Symbology)})")
    decode.add_argument("--decoder", choices=DECODER_NAMES, default=DEFAULT_DECODER,
                        help=f"which decoder (default {DEFAULT_DECODER})")
    decode.set_defaults(handler=run_decode)


def run_decode(args: argparse.Namespace, out: Output) -> int:
    symbologies = frozenset().union(*args.symbology) if args.symbology else frozenset(Symbology)
    from hal.codes.decode import make_decoder

    decoder = make_decoder(args.decoder)
    status = EXIT_OK
    for path in args.files:
        image = read_image(path)
        if image is None:
            status = out.fail(EXIT_UNREADABLE, f"{path}: cannot read image", error="unreadable")
            continue
        for code in decoder.decode(image, symbologies):
            payload = printable_payload(code.payload)
            out.say(f"{code.symbology.value}\t{payload}",
                    {"file": path, "symbology": code.symbology.value, "payload": payload, "left": code.left,
                     "top": code.top, "width": code.width, "height": code.height})
    return status


def read_image(path: str) -> Image | None:
    """The image in a file as 8-bit BGR or grey (transparency laid over white); None if it cannot be read."""
    import cv2
    import numpy as np

    with _opencv_quiet():
        try:
            image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        except cv2.error:
            return None
    if image is None or image.size == 0 or image.ndim not in (2, 3):
        return None
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = np.clip(np.nan_to_num(image) * 255.0, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        return None
    if image.ndim == 3 and image.shape[2] == 4:
        # A screenshot of a QR is often black on transparent: laid over white, as a screen shows it.
        alpha = image[:, :, 3:].astype(np.float32) / 255.0
        image = (image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.asarray(image, dtype=np.uint8)


@contextmanager
def _opencv_quiet() -> Iterator[None]:
    """OpenCV logs its own warnings for missing or broken files on stderr; the one line we print says it."""
    import cv2

    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)

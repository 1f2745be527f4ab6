"""`python -m hal decode FILE...`: as a subprocess, and in-process through hal.cli.main."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno

from hal.cli import main
from hal.cli.decode import printable_payload
from hal.codes import Symbology
from hal.codes.render import render_code

REPO = Path(__file__).resolve().parents[3]
PICKUP = "LK1:P:WAW-014:4821937"
PARCEL = "JD0146000012345678"


def on_label(*codes: np.ndarray, margin: int = 24) -> np.ndarray:
    height = max(code.shape[0] for code in codes)
    row = np.hstack([np.pad(code, ((0, height - code.shape[0]), (0, margin)), constant_values=255)
                     for code in codes])
    return np.pad(row, margin, constant_values=255)


def qr_of_bytes(payload: bytes) -> np.ndarray:
    modules = np.pad(np.array(segno.make_qr(payload, mode="byte").matrix, dtype=np.uint8), 4)
    return np.where(np.kron(modules, np.ones((4, 4), np.uint8)) > 0, 0, 255).astype(np.uint8)


def write(path: Path, image: np.ndarray) -> str:
    assert cv2.imwrite(str(path), image)
    return str(path)


@pytest.fixture
def pickup_png(tmp_path: Path) -> str:
    return write(tmp_path / "pickup.png", on_label(render_code(Symbology.QR, PICKUP, module_px=4)))


@pytest.fixture
def label_jpeg(tmp_path: Path) -> str:
    image = on_label(render_code(Symbology.QR, PICKUP, module_px=4),
                     render_code(Symbology.CODE128, PARCEL, module_px=3))
    return write(tmp_path / "label.jpg", cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))


def run_hal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hal", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def test_one_line_per_code_as_a_subprocess(pickup_png: str, label_jpeg: str, tmp_path: Path) -> None:
    blank = write(tmp_path / "blank.png", np.full((120, 160), 255, np.uint8))

    done = run_hal("decode", pickup_png, blank, label_jpeg)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert sorted(done.stdout.splitlines()[1:]) == [f"CODE128\t{PARCEL}", f"QR\t{PICKUP}"]
    assert done.stdout.splitlines()[0] == f"QR\t{PICKUP}"


def test_an_unreadable_file_is_one_line_and_the_rest_is_decoded(pickup_png: str, tmp_path: Path) -> None:
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is not a picture\n")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    _, encoded = cv2.imencode(".png", np.full((64, 64), 255, np.uint8))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(encoded.tobytes()[:40])
    missing = tmp_path / "missing.png"

    done = run_hal("decode", str(missing), str(not_an_image), pickup_png, str(empty), str(truncated),
                   str(tmp_path))

    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"QR\t{PICKUP}"]
    assert done.stderr.splitlines() == [f"locker-hal: {path}: cannot read image"
                                        for path in (missing, not_an_image, empty, truncated, tmp_path)]


def test_json_gives_one_object_per_code(label_jpeg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", label_jpeg]) == 0

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((record["symbology"], record["payload"]) for record in records) == [
        ("CODE128", PARCEL), ("QR", PICKUP)]
    for record in records:
        assert set(record) == {"file", "symbology", "payload", "left", "top", "width", "height"}
        assert record["file"] == label_jpeg
        box = [record[key] for key in ("left", "top", "width", "height")]
        assert all(isinstance(value, int) and value >= 0 for value in box)
    qr = next(record for record in records if record["symbology"] == "QR")
    assert 10 <= qr["left"] <= 40 and 10 <= qr["top"] <= 40  # the QR's finder starts at its quiet zone's end


def test_json_before_the_command_works_too(pickup_png: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "decode", pickup_png]) == 0
    assert json.loads(capsys.readouterr().out)["payload"] == PICKUP


def test_json_reports_an_unreadable_file_on_stdout_too(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    gone = tmp_path / "gone.png"
    assert main(["decode", "--json", str(gone)]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"error": "unreadable", "message": f"{gone}: cannot read image"}
    assert captured.err == f"locker-hal: {gone}: cannot read image\n"


def test_symbology_restricts_what_is_printed(label_jpeg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--symbology", "code128", label_jpeg]) == 0
    assert capsys.readouterr().out == f"CODE128\t{PARCEL}\n"
    assert main(["decode", "--symbology", "EAN13,I25", "--symbology", "pdf417", label_jpeg]) == 0
    assert capsys.readouterr().out == ""
    assert main(["decode", "--symbology", "ean13", "--symbology", "QR", label_jpeg]) == 0
    assert capsys.readouterr().out == f"QR\t{PICKUP}\n"


@pytest.mark.parametrize("decoder", ["zbar", "zxing", "dual"])
def test_each_decoder_can_be_chosen(decoder: str, label_jpeg: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--decoder", decoder, label_jpeg]) == 0
    assert sorted(capsys.readouterr().out.splitlines()) == [f"CODE128\t{PARCEL}", f"QR\t{PICKUP}"]


@pytest.mark.parametrize(("args", "complaint"), [
    (["--symbology", "aztec"],
     "unknown symbology 'aztec'; known: QR, CODE128, EAN13, CODE39, I25, DATAMATRIX, PDF417"),
    (["--decoder", "quagga"], "invalid choice: 'quagga'"),
    ([], None),
])
def test_bad_usage_is_one_line_and_exit_2(args: list[str], complaint: str | None, pickup_png: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    files = [pickup_png] if complaint else []
    assert main(["decode", *args, *files]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert (complaint or "FILE") in err


def test_tabs_newlines_and_binary_payloads_keep_one_line_per_code(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    payloads = [b"name\tKowalski\nsize M\r", b"\x00\xff\\x41", "zażółć".encode()]
    files = [write(tmp_path / f"{index}.png", on_label(qr_of_bytes(payload)))
             for index, payload in enumerate(payloads)]

    assert main(["decode", *files]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "QR\tname\\tKowalski\\nsize M\\r", "QR\t\\x00\\xff\\\\x41", "QR\tzażółć"]


def test_transparent_and_16_bit_pngs_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = on_label(render_code(Symbology.QR, PICKUP, module_px=4))
    screenshot = np.zeros((*code.shape, 4), np.uint8)  # black modules on a transparent ground
    screenshot[:, :, 3] = 255 - code
    deep = code.astype(np.uint16) * 257

    assert main(["decode", write(tmp_path / "shot.png", screenshot), write(tmp_path / "deep.png", deep)]) == 0

    assert capsys.readouterr().out.splitlines() == [f"QR\t{PICKUP}", f"QR\t{PICKUP}"]


@pytest.mark.parametrize(("payload", "printed"), [
    (b"LK1:C:C00421:ABCDEFGHIJKLMNOPQRST", "LK1:C:C00421:ABCDEFGHIJKLMNOPQRST"),
    (b"a\\b", "a\\\\b"),  # a backslash is escaped, so every escape reads back one way
    (b"tab\there", "tab\\there"),
    (b"\x1b[31mred", "\\x1b[31mred"),  # a terminal escape sequence is not sent to the terminal
    ("żółw\u200b".encode(), "żółw\\u200b"),
    (b"\xff\xfeab\n", "\\xff\\xfeab\\n"),
    (b"", ""),
])
def test_payloads_are_printed_as_one_line_of_text(payload: bytes, printed: str) -> None:
    assert printable_payload(payload) == printed
